"""Every way TF1 code makes or reaches a variable works inside a TF1Layer, on Keras 3 and tf_keras.

Each case runs the same function in a fresh ``tf.Graph`` (the reference: names,
dtypes, shapes, initial values, regularization loss) and in a ``TF1Layer`` called
twice (build, then a later call that must find the same variables).
"""

import threading

import numpy as np
import pytest
import tensorflow as tf

import compat_reg
from compat_reg import _flavor
from compat_reg.keras.tf1_layer import TF1Layer
from tests.helpers import assert_close

pytestmark = pytest.mark.keras

X = np.random.default_rng(1).standard_normal((3, 2)).astype(np.float32)
get = tf.compat.v1.get_variable


def _optional_args_init(shape=None, dtype=None, partition_info=None):
    del shape, dtype, partition_info
    return [1.5, -2.0]


# (id, get_variable keyword arguments, deterministic initial value or None)
INITIALIZER_FORMS = [
    ("no_arg_lambda", dict(initializer=lambda: [2]), [2]),
    ("optional_args_callable", dict(initializer=_optional_args_init), [1.5, -2.0]),
    ("int_tensor_no_dtype", dict(initializer="tensor:int32:1"), 1),
    ("float_tensor", dict(initializer="tensor:float32:[[1.0, 2.0]]"), [[1.0, 2.0]]),
    ("random_tensor", dict(initializer="random:[2, 3]"), None),
    ("numpy_float64", dict(initializer=np.array([0.5, 0.25])), [0.5, 0.25]),
    ("python_float", dict(initializer=3.0), 3.0),
    ("python_list_int", dict(initializer=[1, 2, 3]), [1, 2, 3]),
    ("tf1_constant_initializer", dict(shape=[2, 2], initializer=tf.compat.v1.constant_initializer(0.5)), [[0.5] * 2] * 2),
    ("tf1_initializer_class", dict(shape=[3], initializer=tf.compat.v1.zeros_initializer), [0.0] * 3),
    ("tf_initializer", dict(shape=[2], initializer=tf.constant_initializer(4.0)), [4.0, 4.0]),
    ("keras_initializer", dict(shape=[2], initializer="keras_constant"), [0.75, 0.75]),
    ("default_float", dict(shape=[2, 3]), None),
    ("default_int", dict(shape=[2], dtype=tf.int64), [0, 0]),
]


def _resolve(kwargs):
    """Initializers that are tensors are made in the graph being built (here, in fn)."""
    kwargs = dict(kwargs)
    init = kwargs.get("initializer")
    if isinstance(init, str) and init == "keras_constant":
        kwargs["initializer"] = _flavor.keras().initializers.Constant(0.75)
    elif isinstance(init, str) and init.startswith("tensor:"):
        _, dtype, value = init.split(":", 2)
        kwargs["initializer"] = tf.constant(eval(value), tf.as_dtype(dtype))  # pylint: disable=eval-used
    elif isinstance(init, str) and init.startswith("random:"):
        kwargs["initializer"] = tf.random.truncated_normal(eval(init[7:]), stddev=0.1, seed=3)  # noqa: S307
    return kwargs


@pytest.mark.parametrize("case_id, kwargs, value", INITIALIZER_FORMS, ids=[c[0] for c in INITIALIZER_FORMS])
def test_every_initializer_form(case_id, kwargs, value):
    def fn(x):
        v = get("v", **_resolve(kwargs))
        fn.seen = v
        return x

    graph = tf.Graph()
    with graph.as_default():
        ref = get("v", **_resolve(kwargs))
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            ref_value = sess.run(ref)
    layer = TF1Layer(fn)
    layer(X)
    layer(X)  # the later call finds the same variable (same dtype, no "Trying to share" error)
    var = layer.tf1_variables["v"]
    assert tf.as_dtype(var.dtype) == ref.dtype.base_dtype, case_id
    assert list(var.shape) == ref.shape.as_list()
    if value is not None:
        np.testing.assert_array_equal(np.asarray(var.numpy()), ref_value)
        np.testing.assert_array_equal(ref_value, np.asarray(value, ref_value.dtype))


def test_scope_constraint_reaches_the_variable(keras):
    def unit_norm(w):
        return w / tf.norm(w)

    def fn(x):
        with tf.compat.v1.variable_scope("s", constraint=unit_norm):
            w = get("w", [2, 2])
        fn.seen = w.constraint
        return tf.matmul(x, w)

    graph = tf.Graph()
    with graph.as_default():
        fn(tf.constant(X))
        assert fn.seen is unit_norm  # TF1
    layer = TF1Layer(fn)
    layer(X)
    assert fn.seen is unit_norm  # what the TF1 code reads; fit applies it below
    inp = keras.Input((2,))
    model = keras.Model(inp, layer(inp))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(X, np.ones((3, 2), np.float32), epochs=1, batch_size=3, verbose=0)
    assert_close(float(tf.norm(layer.tf1_variables["s/w"])), 1.0, rtol=1e-5, what="constraint applied by fit")


def raw_variables(x):
    """tf.compat.v1.Variable inside fn: a regularized use and a non-trainable counter."""
    w = tf.compat.v1.Variable(tf.ones([2, 3]) * 0.5, name="w")
    count = tf.compat.v1.Variable(0, name="count", trainable=False)
    tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES, 0.1 * tf.reduce_sum(w * w))
    with tf.control_dependencies([count.assign_add(1)]):
        return tf.matmul(x, w)


def test_raw_tf1_variable_inside_fn():
    graph = tf.Graph()
    with graph.as_default():
        raw_variables(tf.constant(X))
        ref_names = {v.op.name: v.trainable for v in tf.compat.v1.global_variables()}
    layer = TF1Layer(raw_variables)
    layer(X)
    layer(X)
    assert set(layer.tf1_variables) == set(ref_names) == {"w", "count"}
    assert {n for n, v in layer.tf1_variables.items() if any(v is t for t in layer.trainable_weights)} == {"w"}
    assert int(layer.tf1_variables["count"].numpy()) == 2
    assert_close(float(tf.add_n(layer.losses)), 0.1 * 6 * 0.25)


def test_get_variable_from_a_thread_started_inside_fn():
    def fn(x):
        graph = tf.compat.v1.get_default_graph()
        made = {}

        def worker():
            with graph.as_default():
                made["t"] = get("t", [2, 2], regularizer=compat_reg.l2_regularizer(0.5))

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        return tf.matmul(x, made["t"])

    layer = TF1Layer(fn)
    layer(X)
    y = layer(X)
    t = np.asarray(layer.tf1_variables["t"].numpy())
    np.testing.assert_allclose(np.asarray(y), X @ t, rtol=1e-6)
    assert_close(float(tf.add_n(layer.losses)), 0.5 * np.sum(t * t) / 2)


def test_nested_tf1_layers(keras):
    def inner_fn(x):
        with tf.compat.v1.variable_scope("inner", regularizer=compat_reg.l2_regularizer(0.1)):
            w = get("w", [2, 2])
        h = tf.matmul(x, w)
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES, 0.01 * tf.reduce_sum(tf.abs(h)))
        return h

    inner = TF1Layer(inner_fn)

    def outer_fn(x):
        with tf.compat.v1.variable_scope("outer", regularizer=compat_reg.l1_regularizer(0.2)):
            u = get("u", [2, 2])
        inner(x)  # a first, unused call: its activity entry counts, its weight penalty once in all
        return inner(tf.matmul(x, u))

    outer = TF1Layer(outer_fn)
    inp = keras.Input((2,))
    model = keras.Model(inp, outer(inp))
    model(X)
    model(X)
    u = np.asarray(outer.tf1_variables["outer/u"].numpy())
    w = np.asarray(inner.tf1_variables["inner/w"].numpy())
    h = X @ u @ w
    expected = 0.2 * np.abs(u).sum() + 0.1 * np.sum(w * w) / 2 + 0.01 * (np.abs(X @ w).sum() + np.abs(h).sum())
    # As one TF1 graph: u's and w's penalties once, one activity entry per inner call.
    assert len(model.losses) == 4
    assert_close(float(tf.add_n(model.losses)), expected, rtol=1e-5)
    assert {id(v) for v in model.trainable_weights} >= {id(outer.tf1_variables["outer/u"]), id(inner.tf1_variables["inner/w"])}


def test_template_made_outside_fn_and_called_inside():
    def dense(x):
        return tf.matmul(x, get("k", [2, 2], regularizer=compat_reg.l2_regularizer(0.1)))

    template = tf.compat.v1.make_template("shared", dense)

    def fn(x):
        return template(template(x))

    layer = TF1Layer(fn)
    layer(X)
    y = layer(X)  # the template's second trace reuses its variable
    layer(tf.constant(X))
    k = np.asarray(layer.tf1_variables["shared/k"].numpy())
    assert set(layer.tf1_variables) == {"shared/k"}
    np.testing.assert_allclose(np.asarray(y), X @ k @ k, rtol=1e-5)
    assert_close(float(tf.add_n(layer.losses)), 0.1 * np.sum(k * k) / 2)


def test_other_feature_count_names_both_shapes():
    def fn(x):
        return tf.matmul(x, get("w", [2, 4]))

    layer = TF1Layer(fn)
    layer(X)
    with pytest.raises(ValueError, match=r"built for inputs of shape \[None, 2\].*received shape \[3, 5\]"):
        layer(np.zeros((3, 5), np.float32))
