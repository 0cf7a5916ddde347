"""compat_reg's drop-in regularizers against tf_slim (same graph construction) and NumPy.

Every case builds the same variable twice, once with tf_slim's factory and once with
compat_reg's, each in its own fresh graph, and compares: the ops ``get_variable``
creates (names and types), the collection entries, the values, and NumPy's formula.
"""

import logging
import math

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import compat_reg
from tests.helpers import assert_close, np_l1, np_l2_tf1

SHAPE = (3, 4)
RNG = np.random.default_rng(20)
W = RNG.standard_normal(SHAPE).astype(np.float32)


def _np_l1_l2(w, a, b):
    return np_l1(w, a) + np_l2_tf1(w, b)


# id -> (factory name, args, kwargs, NumPy reference of the penalty)
REGULARIZER_CASES = {
    "l1": ("l1_regularizer", (0.1,), {}, lambda w: np_l1(w, 0.1)),
    "l1-scope": ("l1_regularizer", (0.25,), {"scope": "my_l1"}, lambda w: np_l1(w, 0.25)),
    "l2": ("l2_regularizer", (0.1,), {}, lambda w: np_l2_tf1(w, 0.1)),
    "l2-scope": ("l2_regularizer", (3.0,), {"scope": "decay"}, lambda w: np_l2_tf1(w, 3.0)),
    "l2-float32-scale": ("l2_regularizer", (np.float32(1e-4),), {}, lambda w: np_l2_tf1(w, np.float32(1e-4))),
    "l1_l2": ("l1_l2_regularizer", (0.1, 0.2), {}, lambda w: _np_l1_l2(w, 0.1, 0.2)),
    "l1_l2-defaults": ("l1_l2_regularizer", (), {}, lambda w: _np_l1_l2(w, 1.0, 1.0)),
    "l1_l2-l1-zero": ("l1_l2_regularizer", (0.0, 0.2), {}, lambda w: np_l2_tf1(w, 0.2)),
    "l1_l2-l2-zero": ("l1_l2_regularizer", (0.3, 0.0), {}, lambda w: np_l1(w, 0.3)),
    "l1_l2-scope": ("l1_l2_regularizer", (0.1, 0.2), {"scope": "both"}, lambda w: _np_l1_l2(w, 0.1, 0.2)),
}


def _make(module, case):
    factory, args, kwargs, _ = REGULARIZER_CASES[case]
    return getattr(module, factory)(*args, **kwargs)


def _sum_cases(module):
    """sum_regularizer cases, built from the module's own l1/l2 factories."""
    return {
        "sum": module.sum_regularizer([module.l1_regularizer(0.1), module.l2_regularizer(0.3)]),
        "sum-scope": module.sum_regularizer(
            [module.l2_regularizer(0.5), module.l2_regularizer(0.25)], scope="total"
        ),
        "sum-with-none": module.sum_regularizer([None, module.l1_regularizer(0.2), None]),
        "sum-with-disabled": module.sum_regularizer([module.l2_regularizer(0.0), module.l1_regularizer(0.2)]),
    }


SUM_REFERENCES = {
    "sum": lambda w: np_l1(w, 0.1) + np_l2_tf1(w, 0.3),
    "sum-scope": lambda w: np_l2_tf1(w, 0.5) + np_l2_tf1(w, 0.25),
    "sum-with-none": lambda w: np_l1(w, 0.2),
    "sum-with-disabled": lambda w: np_l1(w, 0.2),
}

ALL_CASES = list(REGULARIZER_CASES) + list(SUM_REFERENCES)


def _regularizer(module, case):
    if case in REGULARIZER_CASES:
        return _make(module, case)
    return _sum_cases(module)[case]


def _reference(case):
    if case in REGULARIZER_CASES:
        return REGULARIZER_CASES[case][3]
    return SUM_REFERENCES[case]


def _build_with_get_variable(module, case, dtype=tf.float32):
    """A fresh graph: one regularized variable in scope ``net``, then the graph's ops."""
    graph = tf.Graph()
    with graph.as_default():
        with tf.compat.v1.variable_scope("net"):
            var = tf.compat.v1.get_variable(
                "w", initializer=tf.constant(W, dtype=dtype), regularizer=_regularizer(module, case)
            )
        ops = [(op.name, op.type) for op in graph.get_operations()]
        losses = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
        names = [loss.name for loss in losses]
        summed = compat_reg.get_regularization_loss() if module is compat_reg else (
            tf.compat.v1.losses.get_regularization_loss()
        )
        with tf.compat.v1.Session() as session:
            session.run(var.initializer)
            value = session.run(summed)
    return ops, names, value


@pytest.mark.parametrize("case", ALL_CASES)
def test_get_variable_ops_names_and_value_match_tf_slim(case):
    ours_ops, ours_names, ours_value = _build_with_get_variable(compat_reg, case)
    slim_ops, slim_names, slim_value = _build_with_get_variable(slim, case)
    assert ours_ops == slim_ops
    assert ours_names == slim_names
    assert ours_names and all(n.startswith("net/w/Regularizer/") for n in ours_names)
    assert_close(ours_value, slim_value, what=case)
    assert_close(ours_value, _reference(case)(W), what=case)


@pytest.mark.parametrize(
    "case,expected_name",
    [
        ("l2", "net/w/Regularizer/l2_regularizer:0"),
        ("l1", "net/w/Regularizer/l1_regularizer:0"),
        ("l2-scope", "net/w/Regularizer/decay:0"),
        ("l1_l2", "net/w/Regularizer/l1_l2_regularizer:0"),
        ("l1_l2-l1-zero", "net/w/Regularizer/l1_l2_regularizer:0"),
        ("sum", "net/w/Regularizer/sum_regularizer:0"),
    ],
)
def test_collection_tensor_name_is_tf_slims(case, expected_name):
    _, names, _ = _build_with_get_variable(compat_reg, case)
    assert names == [expected_name]


@pytest.mark.parametrize("case", ALL_CASES)
def test_direct_call_ops_match_tf_slim(case):
    """``reg(w)`` called by hand in a name scope: the same subgraph as tf_slim's closure."""
    built = {}
    for module in (compat_reg, slim):
        graph = tf.Graph()
        with graph.as_default():
            w = tf.constant(W, name="w")
            with tf.compat.v1.name_scope("outer"):
                penalty = _regularizer(module, case)(w)
            with tf.compat.v1.Session() as session:
                built[module.__name__] = (
                    [(op.name, op.type) for op in graph.get_operations()],
                    penalty.name,
                    penalty.dtype,
                    session.run(penalty),
                )
    ours, theirs = built["compat_reg"], built["tf_slim"]
    assert ours[:3] == theirs[:3]
    assert_close(ours[3], theirs[3])


@pytest.mark.parametrize("dtype", [tf.float16, tf.float64], ids=["float16", "float64"])
def test_other_float_dtypes_keep_the_weights_dtype(sess, dtype):
    w = tf.constant(W, dtype=dtype)
    ours = compat_reg.l2_regularizer(0.1)(w)
    theirs = slim.l2_regularizer(0.1)(w)
    assert ours.dtype == theirs.dtype == dtype
    rtol = 1e-3 if dtype == tf.float16 else 1e-12  # float16 keeps ~3 significant digits
    value, reference = sess.run([ours, theirs])
    assert_close(value, reference, rtol=rtol)
    assert_close(value, np_l2_tf1(W.astype(dtype.as_numpy_dtype), 0.1), rtol=rtol)


# --- scale 0 -----------------------------------------------------------------------

ZERO_CASES = {
    "l1-0": ("l1_regularizer", (0.0,)),
    "l2-0": ("l2_regularizer", (0.0,)),
    "l1_l2-0-0": ("l1_l2_regularizer", (0.0, 0.0)),
}


@pytest.mark.parametrize("case", list(ZERO_CASES))
def test_scale_zero_is_none_in_graph_mode_like_tf_slim(graph, case):
    factory, args = ZERO_CASES[case]
    w = tf.constant(W)
    assert getattr(slim, factory)(*args)(w) is None
    assert getattr(compat_reg, factory)(*args)(w) is None
    tf.compat.v1.get_variable("v", initializer=W, regularizer=getattr(compat_reg, factory)(*args))
    assert tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES) == []


@pytest.mark.parametrize("case", list(ZERO_CASES))
def test_scale_zero_is_a_scalar_zero_outside_graph_mode(case):
    """Eagerly (or in a tf.function) Keras calls it; Keras cannot sum None."""
    factory, args = ZERO_CASES[case]
    reg = getattr(compat_reg, factory)(*args)
    value = reg(tf.constant(W))
    assert value.shape == () and float(value) == 0.0
    traced = tf.function(lambda w: reg(w))(tf.constant(W))
    assert traced.shape == () and float(traced) == 0.0


def test_scale_zero_logs_like_tf_slim(caplog):
    logger = tf.get_logger()
    propagate = logger.propagate
    logger.propagate = True
    try:
        with caplog.at_level(logging.INFO, logger="tensorflow"):
            compat_reg.l2_regularizer(0.0)
    finally:
        logger.propagate = propagate
    assert "Scale of 0 disables regularizer." in caplog.text


def test_sum_of_nothing_is_none_like_tf_slim():
    assert slim.sum_regularizer([]) is None and compat_reg.sum_regularizer([]) is None
    assert slim.sum_regularizer([None]) is None and compat_reg.sum_regularizer([None]) is None


def test_sum_of_only_disabled_members_is_none_in_graph_mode(graph):
    w = tf.constant(W)
    ours = compat_reg.sum_regularizer([compat_reg.l2_regularizer(0.0)])
    theirs = slim.sum_regularizer([slim.l2_regularizer(0.0)])
    assert ours(w) is None and theirs(w) is None


# --- argument validation: same error type and message as tf_slim ----------------------

# id -> (factory name, args); tf_slim raises ValueError for each, and so must we.
INVALID_ARGUMENTS = {
    "l1-int": ("l1_regularizer", (1,)),
    "l1-bool": ("l1_regularizer", (True,)),
    "l1-negative": ("l1_regularizer", (-0.5,)),
    "l2-int": ("l2_regularizer", (2,)),
    "l2-numpy-int": ("l2_regularizer", (np.int64(3),)),
    "l2-negative": ("l2_regularizer", (-1e-4,)),
    "l1_l2-int-l1": ("l1_l2_regularizer", (1, 0.5)),
    "l1_l2-int-l2": ("l1_l2_regularizer", (0.5, 1)),
    "l1_l2-negative-l1": ("l1_l2_regularizer", (-0.5, 0.5)),
    "l1_l2-negative-l2": ("l1_l2_regularizer", (0.5, -0.25)),
    "l1_l2-negative-l1-zero-l2": ("l1_l2_regularizer", (-0.5, 0.0)),
}


@pytest.mark.parametrize("case", list(INVALID_ARGUMENTS))
def test_invalid_arguments_raise_tf_slims_error(case):
    factory, args = INVALID_ARGUMENTS[case]
    with pytest.raises(ValueError) as theirs:
        getattr(slim, factory)(*args)
    with pytest.raises(ValueError) as ours:
        getattr(compat_reg, factory)(*args)
    assert str(ours.value) == str(theirs.value)


def test_invalid_argument_messages_read_as_expected():
    with pytest.raises(ValueError, match=r"^scale cannot be an integer: 1$"):
        compat_reg.l2_regularizer(1)
    with pytest.raises(ValueError, match=r"^Setting a scale less than 0 on a regularizer: -0\.5\.$"):
        compat_reg.l2_regularizer(-0.5)
    with pytest.raises(ValueError, match=r"^Setting a scale less than 0 on a regularizer: -0\.5$"):
        compat_reg.l1_regularizer(-0.5)


# Where tf_slim silently accepted nonsense, we raise ValueError naming the argument.
OUR_EXTRA_VALIDATION = {
    "nan": (lambda: compat_reg.l2_regularizer(float("nan")), r"Received: scale=nan"),
    "inf": (lambda: compat_reg.l1_regularizer(math.inf), r"Received: scale=inf"),
    "nan-l1_l2": (lambda: compat_reg.l1_l2_regularizer(float("nan"), 0.1),
                  r"^l1_l2_regularizer: Invalid value for argument `scale_l1`.*Received: scale_l1=nan\."),
    "vector-tensor": (
        lambda: compat_reg.l2_regularizer(tf.constant([0.1, 0.2])),
        r"^l2_regularizer: Invalid value for argument `scale`. Expected a non-negative scalar float.*shape \(2,\)",
    ),
    "int-tensor": (lambda: compat_reg.l2_regularizer(tf.constant(1)), r"`scale`.*Create it with a float dtype"),
    "negative-constant": (
        lambda: compat_reg.l2_regularizer(tf.constant(-0.1)),
        r"^Setting a scale less than 0 on a regularizer: -0\.1\.$",
    ),
}


@pytest.mark.parametrize("case", list(OUR_EXTRA_VALIDATION))
def test_nonsense_scales_raise_where_tf_slim_accepted_them(graph, case):
    make, pattern = OUR_EXTRA_VALIDATION[case]
    with pytest.raises(ValueError, match=pattern):
        make()


# --- weights that cannot be regularized ---------------------------------------------

@pytest.mark.parametrize("dtype", [tf.int32, tf.int64, tf.bool], ids=["int32", "int64", "bool"])
def test_integer_variable_raises_type_error_naming_it(graph, dtype):
    with pytest.raises(TypeError) as theirs:  # tf_slim: "Expected int32, but got 0.1 ..."
        tf.compat.v1.get_variable(
            "theirs", shape=[3], dtype=dtype, initializer=tf.compat.v1.zeros_initializer(),
            regularizer=slim.l2_regularizer(0.1),
        )
    assert "theirs" not in str(theirs.value)
    with pytest.raises(TypeError, match=r"cannot regularize 'global_step(:0)?'.*dtype is %s" % dtype.name):
        tf.compat.v1.get_variable(
            "global_step", shape=[3], dtype=dtype, initializer=tf.compat.v1.zeros_initializer(),
            regularizer=compat_reg.l2_regularizer(0.1),
        )


def test_integer_tensor_raises_even_in_a_sum(graph):
    reg = compat_reg.l1_l2_regularizer(0.1, 0.2)
    with pytest.raises(TypeError, match=r"cannot regularize 'ids:0'.*int32"):
        reg(tf.constant([1, 2], name="ids"))


# --- tensor and variable scales ------------------------------------------------------

def test_variable_scale_value_and_gradient_in_graph_mode(sess):
    scale = tf.compat.v1.get_variable("coef", initializer=0.1)
    var = tf.compat.v1.get_variable("w", initializer=W, regularizer=compat_reg.l2_regularizer(scale))
    loss = compat_reg.get_regularization_loss()
    reference = slim.l2_regularizer(scale)(var)  # tf_slim accepts a variable scale too
    grad_scale, grad_w = tf.gradients(loss, [scale, var])
    sess.run(tf.compat.v1.global_variables_initializer())
    got, ref, g_scale, g_w = sess.run([loss, reference, grad_scale, grad_w])
    assert_close(got, np_l2_tf1(W, 0.1))
    assert_close(got, ref)
    assert_close(g_scale, np.sum(np.square(W.astype(np.float64))) / 2.0)
    assert_close(g_w, np.float32(0.1) * W)


def test_l1_l2_with_variable_scales_matches_tf_slim(sess):
    a = tf.compat.v1.get_variable("a", initializer=0.1)
    b = tf.compat.v1.get_variable("b", initializer=0.2)
    w = tf.constant(W)
    theirs = slim.l1_l2_regularizer(a, b)(w)
    ours = compat_reg.l1_l2_regularizer(a, b)(w)
    grads = tf.gradients(ours, [a, b])
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(ours), sess.run(theirs))
    assert_close(sess.run(ours), _np_l1_l2(W, np.float32(0.1), np.float32(0.2)))
    g_a, g_b = sess.run(grads)
    assert_close(g_a, np.sum(np.abs(W.astype(np.float64))))
    assert_close(g_b, np.sum(np.square(W.astype(np.float64))) / 2.0)


def test_float32_scale_variable_on_float64_weights_is_cast(sess):
    scale = tf.compat.v1.get_variable("coef", initializer=0.5)
    w = tf.constant(W.astype(np.float64))
    with pytest.raises(ValueError):  # tf_slim: "Tensor conversion requested dtype float64 ..."
        slim.l2_regularizer(scale)(w)
    penalty = compat_reg.l2_regularizer(scale)(w)
    (grad,) = tf.gradients(penalty, [scale])
    sess.run(scale.initializer)
    assert penalty.dtype == tf.float64
    assert_close(sess.run(penalty), np_l2_tf1(W.astype(np.float64), 0.5), rtol=1e-12)
    assert_close(sess.run(grad), np.sum(np.square(W.astype(np.float64))) / 2.0)


# --- object behaviour -----------------------------------------------------------------

def test_objects_compare_by_config_and_hash_consistently():
    a, b = compat_reg.l2_regularizer(0.1), compat_reg.l2_regularizer(0.1)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != compat_reg.l2_regularizer(0.2) and a != compat_reg.l1_regularizer(0.1)
    s1 = compat_reg.l1_l2_regularizer(0.1, 0.2)
    assert s1 == compat_reg.l1_l2_regularizer(0.1, 0.2) and hash(s1) == hash(compat_reg.l1_l2_regularizer(0.1, 0.2))


def test_tensor_scaled_objects_equal_only_themselves(graph):
    scale = tf.constant(0.1)
    a, b = compat_reg.l2_regularizer(scale), compat_reg.l2_regularizer(scale)
    assert a == a and a != b


@pytest.mark.parametrize("case", ["l1", "l2", "l1_l2", "sum"])
def test_partitioned_variable_is_regularized_per_shard_like_tf_slim(case):
    """TF1 calls the regularizer once per shard; for these additive penalties the sum is the whole's."""
    built = {}
    values = RNG.standard_normal((6, 4)).astype(np.float32)
    for module in (compat_reg, slim):
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.get_variable(
                "emb", initializer=tf.constant(values), partitioner=tf.compat.v1.fixed_size_partitioner(3),
                regularizer=_regularizer(module, case),
            )
            losses = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
            total = compat_reg.get_regularization_loss()
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                built[module.__name__] = ([t.name for t in losses], session.run(total))
    names, value = built["compat_reg"]
    assert names == built["tf_slim"][0] and len(names) == 3
    assert names[0].startswith("emb/part_0/Regularizer/")
    assert_close(value, built["tf_slim"][1])
    assert_close(value, _reference(case)(values))
