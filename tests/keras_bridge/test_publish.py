"""publish_losses: a Keras model's losses in a TF1 graph's REGULARIZATION_LOSSES.

References: NumPy formulas on the weights fetched from the session, the TF1 collection
of the same penalty built with tf.compat.v1.get_variable + tf_slim regularizers, and
a TF1 GradientDescent step checked against a NumPy SGD step.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim

import compat_reg
from compat_reg import _flavor
from compat_reg.keras import Conventions
from compat_reg.keras import add_callable_loss
from compat_reg.keras import publish_losses
from tests.helpers import assert_close

pytestmark = pytest.mark.keras

RNG = np.random.default_rng(11)
X = RNG.normal(size=(6, 3)).astype(np.float32)
Y = RNG.normal(size=(6, 2)).astype(np.float32)
KERNEL_L2, BIAS_L1, ACT_L1, COEF = 0.1, 0.05, 0.01, 0.3


def _v(weight):
    """The fetchable tf.Variable behind a Keras weight (Keras 3 wraps it in `.value`)."""
    return weight if isinstance(weight, tf.Variable) else weight.value


def _run(sess, weights):
    return sess.run([_v(w) for w in weights])


def _reg_sum(sess, feed=None):
    return sess.run(compat_reg.get_regularization_loss(), feed)


def _placeholder():
    return tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")


# Each builder returns (model, feed, numpy_reference(sess) -> expected collection sum).
def _dense_weight_regs(keras):
    x = _placeholder()
    dense = keras.layers.Dense(
        2, kernel_regularizer=keras.regularizers.L2(KERNEL_L2), bias_regularizer=keras.regularizers.L1(BIAS_L1),
        bias_initializer="ones",
    )
    model = keras.Sequential([dense])
    model(x)

    def ref(sess):
        w, b = _run(sess, [dense.kernel, dense.bias])
        return KERNEL_L2 * np.sum(np.square(w)) + BIAS_L1 * np.sum(np.abs(b))

    return model, {x: X}, ref


def _keras_activity(act_l1, out):
    """What this Keras' activity_regularizer L1 adds for the batch ``out``: the batch mean
    (tf_keras, Keras >= 3.14, tf.compat.v1.layers) or the raw sum (Keras 3 < 3.14)."""
    batch = len(out) if _flavor.activity_loss_divided_by_batch() else 1
    return act_l1 * np.sum(np.abs(out)) / batch


def _activity(keras):
    x = _placeholder()
    dense = keras.layers.Dense(2, activity_regularizer=keras.regularizers.L1(ACT_L1))
    model = keras.Sequential([dense])
    y = model(x)

    def ref(sess):
        return _keras_activity(ACT_L1, sess.run(y, {x: X}))

    return model, {x: X}, ref


def _callable_with_coefficient(keras):
    x = _placeholder()
    d1, d2 = keras.layers.Dense(4), keras.layers.Dense(2)
    model = keras.Sequential([d1, d2])
    model(x)
    coef = model.add_weight(name="coef", shape=(), initializer=keras.initializers.Constant(COEF))
    add_callable_loss(model, lambda: coef * (tf.nn.l2_loss(d1.kernel) + tf.nn.l2_loss(d2.kernel)))

    def ref(sess):
        c, w1, w2 = _run(sess, [coef, d1.kernel, d2.kernel])
        return c * (np.sum(np.square(w1)) + np.sum(np.square(w2))) / 2.0

    return model, {x: X}, ref


def _frozen_layer(keras):
    x = _placeholder()
    trained = keras.layers.Dense(4, kernel_regularizer=keras.regularizers.L2(KERNEL_L2))
    frozen = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L2(KERNEL_L2), trainable=False)
    model = keras.Sequential([trained, frozen])
    model(x)

    def ref(sess):  # TF1 convention (default): the frozen kernel's penalty counts
        w1, w2 = _run(sess, [trained.kernel, frozen.kernel])
        return KERNEL_L2 * (np.sum(np.square(w1)) + np.sum(np.square(w2)))

    return model, {x: X}, ref


def _functional_on_input_then_called(keras):
    """A functional model built on keras.Input, then applied to the graph's tensor."""
    inp = keras.Input((3,))
    dense = keras.layers.Dense(2, kernel_regularizer=compat_reg.l2_regularizer(KERNEL_L2))
    model = keras.Model(inp, dense(inp))
    x = _placeholder()
    model(x)

    def ref(sess):  # compat_reg's TF1 L2: scale * sum(w**2) / 2
        (w,) = _run(sess, [dense.kernel])
        return KERNEL_L2 * np.sum(np.square(w)) / 2.0

    return model, {x: X}, ref


MODELS = [
    pytest.param(_dense_weight_regs, id="dense-kernel-l2-bias-l1"),
    pytest.param(_functional_on_input_then_called, id="functional-tf1-l2"),
    pytest.param(_activity, id="activity-l1"),
    pytest.param(_callable_with_coefficient, id="callable-trainable-coef"),
    pytest.param(_frozen_layer, id="frozen-layer-counted"),
]


@pytest.mark.parametrize("build", MODELS)
def test_collection_sum_equals_numpy(keras, graph, sess, build):
    model, feed, ref = build(keras)
    assert compat_reg.get_regularization_losses() == []
    added = publish_losses(model)
    assert len(added) >= 1
    assert tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES) == added
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(_reg_sum(sess, feed), ref(sess))
    # TF1's own reader of the collection agrees.
    assert_close(sess.run(tf.compat.v1.losses.get_regularization_loss(), feed), ref(sess))


@pytest.mark.parametrize("build", MODELS)
def test_publishing_twice_adds_nothing(keras, graph, sess, build):
    model, feed, _ = build(keras)
    first = publish_losses(model)
    assert publish_losses(model) == []
    assert publish_losses(model, graph=graph) == []
    assert tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES) == first


def test_new_call_publishes_only_its_activity_loss(keras, graph, sess):
    model, _, _ = _activity(keras)
    first = publish_losses(model)
    x2 = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x2")
    y2 = model(x2)
    added = publish_losses(model)
    sess.run(tf.compat.v1.global_variables_initializer())
    collection = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
    # Keras 3 keeps the activity loss of the last call only, tf_keras those of every call;
    # either way the first call's loss is already published and only the new one is added.
    assert len(added) == 1 and collection == first + added
    out2 = sess.run(y2, {x2: X[:4]})
    assert_close(sess.run(added[0], {x2: X[:4]}), _keras_activity(ACT_L1, out2))


def test_scope_filter_selects_the_model(keras, graph, sess):
    model, feed, ref = _dense_weight_regs(keras)
    publish_losses(model)
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(compat_reg.get_regularization_loss(scope=model.name + "/"), feed), ref(sess))
    assert sess.run(compat_reg.get_regularization_loss(scope="no_such_scope/")) == 0.0


def test_frozen_weights_skip_convention(keras, graph, sess):
    model, feed, _ = _frozen_layer(keras)
    publish_losses(model, conventions=Conventions(frozen_weights="skip"))
    sess.run(tf.compat.v1.global_variables_initializer())
    trained_kernel = sess.run(_v(model.layers[0].kernel))
    assert_close(_reg_sum(sess, feed), KERNEL_L2 * np.sum(np.square(trained_kernel)))


def test_equals_the_tf1_collection_of_the_same_penalty(keras):
    """get_variable + tf_slim regularizers in one graph; a Keras Dense with the same weights in another."""
    w = RNG.normal(size=(3, 2)).astype(np.float32)
    b = RNG.normal(size=(2,)).astype(np.float32)
    tf1_graph = tf.Graph()
    with tf1_graph.as_default():
        tf.compat.v1.get_variable("w", initializer=w, regularizer=tf_slim.l2_regularizer(KERNEL_L2))
        tf.compat.v1.get_variable("b", initializer=b, regularizer=tf_slim.l1_regularizer(BIAS_L1))
        total = tf.compat.v1.losses.get_regularization_loss()
        with tf.compat.v1.Session() as s:
            s.run(tf.compat.v1.global_variables_initializer())
            expected = s.run(total)
    keras_graph = tf.Graph()
    with keras_graph.as_default():
        dense = keras.layers.Dense(
            2,
            kernel_regularizer=compat_reg.l2_regularizer(KERNEL_L2),
            bias_regularizer=compat_reg.l1_regularizer(BIAS_L1),
            kernel_initializer=keras.initializers.Constant(w),
            bias_initializer=keras.initializers.Constant(b),
        )
        model = keras.Sequential([dense])
        model(_placeholder())
        publish_losses(model)
        total = tf.compat.v1.losses.get_regularization_loss()
        with tf.compat.v1.Session() as s:
            s.run(tf.compat.v1.global_variables_initializer())
            assert_close(s.run(total), expected)


def test_unmodified_tf1_loop_trains_with_the_regularization(keras, graph, sess):
    lr = 0.1
    x = _placeholder()
    y = tf.compat.v1.placeholder(tf.float32, [None, 2])
    dense = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L2(KERNEL_L2))
    model = keras.Sequential([dense])
    pred = model(x)
    publish_losses(model)
    # The TF1 training loop, as it was written:
    tf.compat.v1.losses.mean_squared_error(y, pred)
    total = tf.compat.v1.losses.get_total_loss()
    train_op = tf.compat.v1.train.GradientDescentOptimizer(lr).minimize(total)
    sess.run(tf.compat.v1.global_variables_initializer())
    w, b = (v.astype(np.float64) for v in _run(sess, [dense.kernel, dense.bias]))
    sess.run(train_op, {x: X, y: Y})
    err = X @ w + b - Y
    g_w = X.T @ (2 * err / err.size) + 2 * KERNEL_L2 * w
    g_b = (2 * err / err.size).sum(0)
    new_w, new_b = _run(sess, [dense.kernel, dense.bias])
    assert_close(new_w, w - lr * g_w, rtol=1e-5, atol=1e-7)
    assert_close(new_b, b - lr * g_b, rtol=1e-5, atol=1e-7)


def test_eager_call_without_graph_says_what_to_do(keras):
    model = keras.Sequential([keras.layers.Dense(1)])
    with pytest.raises(RuntimeError) as info:
        publish_losses(model)
    assert "needs a tf.compat.v1 graph" in str(info.value) and "model.fit already adds" in str(info.value)


def test_model_built_eagerly_is_named(keras):
    model = keras.Sequential([keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(0.1))])
    model(tf.ones((1, 3)))
    graph = tf.Graph()
    with pytest.raises(ValueError) as info:
        publish_losses(model, graph=graph)
    assert "was created eagerly" in str(info.value) and "kernel" in str(info.value)


def test_activity_convention_keras_did_not_compute_is_refused(keras, graph):
    """'sum' where Keras divides by the batch (tf_keras, Keras >= 3.14), 'batch_mean' where it does not."""
    model, _, _ = _activity(keras)
    refused = "sum" if _flavor.activity_loss_divided_by_batch() else "batch_mean"
    with pytest.raises(ValueError) as info:
        publish_losses(model, conventions={"activity_loss": refused})
    assert f"activity_loss='{refused}' cannot be applied" in str(info.value)


def test_activity_convention_keras_computed_publishes_the_keras_value(keras, graph, sess):
    model, feed, ref = _activity(keras)
    same = "batch_mean" if _flavor.activity_loss_divided_by_batch() else "sum"
    publish_losses(model, conventions={"activity_loss": same})
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(_reg_sum(sess, feed), ref(sess))


def test_not_a_model(graph):
    with pytest.raises(TypeError) as info:
        publish_losses("model")
    assert "Received: model='model'" in str(info.value)


def test_functional_construction_losses_are_not_published(keras, graph, sess):
    """tf_keras keeps the activity loss of the keras.Input construction call; it is left out, with a warning."""
    inp = keras.Input((3,))
    dense = keras.layers.Dense(2, activity_regularizer=keras.regularizers.L1(ACT_L1))
    model = keras.Model(inp, dense(inp))
    x = _placeholder()
    y = model(x)
    if keras.__name__ == "tf_keras":
        with pytest.warns(UserWarning, match="not publishing the losses of the construction call"):
            publish_losses(model)
    else:  # Keras 3's construction call is symbolic: only the call on x has a loss
        publish_losses(model)
    sess.run(tf.compat.v1.global_variables_initializer())
    out = sess.run(y, {x: X})
    assert_close(_reg_sum(sess, {x: X}), _keras_activity(ACT_L1, out))


def test_model_used_through_its_input_publishes_everything(keras, graph, sess):
    inp = keras.Input((3,))
    dense = keras.layers.Dense(2, activity_regularizer=keras.regularizers.L1(ACT_L1))
    model = keras.Model(inp, dense(inp))
    if keras.__name__ != "tf_keras":
        pytest.skip("Keras 3: a functional model built on keras.Input has no graph placeholder to feed")
    publish_losses(model)
    sess.run(tf.compat.v1.global_variables_initializer())
    out = sess.run(model.output, {model.input: X})
    assert_close(_reg_sum(sess, {model.input: X}), _keras_activity(ACT_L1, out))
