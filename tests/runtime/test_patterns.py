"""activity_regularize, group_regularizer, trainable_coefficient, split_total_loss in graph mode.

References: NumPy formulas, tf.compat.v1.layers / tf.compat.v1.losses on the same graph,
and (keras-marked) the active Keras flavor's own activity_regularizer.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import compat_reg
from compat_reg import _flavor
from tests.helpers import assert_close, np_l1, np_l2_tf1

REG = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES
RNG = np.random.default_rng(11)
X = RNG.standard_normal((5, 4)).astype(np.float32)
KERNEL = RNG.standard_normal((4, 3)).astype(np.float32)

# ----------------------------------------------------------------------------
# activity_regularize
# ----------------------------------------------------------------------------

# id -> (reduction, regularizer factory, NumPy penalty of the activation)
ACTIVITY_CASES = {
    "l1-batch_mean": ("batch_mean", lambda: compat_reg.l1_regularizer(0.01), lambda h: np_l1(h, 0.01) / len(h)),
    "l1-sum": ("sum", lambda: compat_reg.l1_regularizer(0.01), lambda h: np_l1(h, 0.01)),
    "l2-batch_mean": ("batch_mean", lambda: compat_reg.l2_regularizer(0.3), lambda h: np_l2_tf1(h, 0.3) / len(h)),
    "l2-sum": ("sum", lambda: compat_reg.l2_regularizer(0.3), lambda h: np_l2_tf1(h, 0.3)),
    "slim-l1-sum": ("sum", lambda: slim.l1_regularizer(0.5), lambda h: np_l1(h, 0.5)),
}


@pytest.mark.parametrize("case", list(ACTIVITY_CASES), ids=list(ACTIVITY_CASES))
def test_activity_regularize_value_and_identity(sess, case):
    reduction, make, np_f = ACTIVITY_CASES[case]
    h = tf.nn.relu(tf.matmul(tf.constant(X), tf.constant(KERNEL)))
    out = compat_reg.activity_regularize(h, make(), reduction=reduction)
    assert out is h
    (penalty,) = tf.compat.v1.get_collection(REG)
    h_v, p_v = sess.run([h, penalty])
    assert_close(p_v, np_f(h_v))


def test_batch_mean_matches_tf_compat_v1_layers_activity_regularizer(sess):
    """tf.compat.v1.layers divides by the batch size; reduction='batch_mean' is that convention.

    Under Keras 3, ``tf.compat.v1.layers`` is not exported; its implementation (the one
    tf_slim builds on) is ``tensorflow.python.layers.core``.
    """
    from tensorflow.python.layers import core as v1_layers

    x = tf.constant(X)
    init = tf.compat.v1.constant_initializer(KERNEL)
    h_ref = v1_layers.dense(x, 3, kernel_initializer=init, use_bias=False,
                                      activity_regularizer=slim.l1_regularizer(0.01), name="ref")
    (ref,) = tf.compat.v1.get_collection(REG)
    h = tf.matmul(x, tf.constant(KERNEL))
    compat_reg.activity_regularize(h, compat_reg.l1_regularizer(0.01), reduction="batch_mean")
    ours = tf.compat.v1.get_collection(REG)[1]
    sess.run(tf.compat.v1.global_variables_initializer())
    ref_v, ours_v, h_v = sess.run([ref, ours, h_ref])
    assert_close(ours_v, ref_v)
    assert_close(ours_v, np_l1(h_v, 0.01) / len(X))


@pytest.mark.keras
def test_reduction_matches_the_active_keras_activity_regularizer(keras):
    """tf_keras and Keras >= 3.14 divide activity penalties by the batch (reduction='batch_mean');
    Keras 3 before 3.14 adds the raw sum (reduction='sum'). _flavor says which; the values agree."""
    reduction = "batch_mean" if _flavor.activity_loss_divided_by_batch() else "sum"
    layer = keras.layers.Dense(3, use_bias=False, activity_regularizer=keras.regularizers.L1(0.01),
                               kernel_initializer=keras.initializers.Constant(KERNEL))
    layer(tf.constant(X))
    keras_value = float(np.asarray(layer.losses[0]))
    g = tf.Graph()
    with g.as_default():
        h = tf.matmul(tf.constant(X), tf.constant(KERNEL))
        compat_reg.activity_regularize(h, compat_reg.l1_regularizer(0.01), reduction=reduction)
        with tf.compat.v1.Session() as s:
            ours = s.run(tf.compat.v1.get_collection(REG)[0])
    assert_close(ours, keras_value)


def test_activity_regularize_trains_the_upstream_weights(sess):
    w = tf.compat.v1.get_variable("w", initializer=tf.constant(KERNEL))
    h = compat_reg.activity_regularize(tf.matmul(tf.constant(X), w), compat_reg.l2_regularizer(1.0),
                                       reduction="batch_mean")
    (g,) = tf.compat.v1.gradients(compat_reg.get_regularization_loss(), [w])
    sess.run(tf.compat.v1.global_variables_initializer())
    # d/dW (1/2 * sum((XW)^2) / n) = X^T X W / n
    assert_close(sess.run(g), X.T.astype(np.float64) @ X @ KERNEL / len(X), rtol=1e-5,
                 what="float32 matmul chain: rtol 1e-5")
    del h


def test_activity_regularize_requires_an_explicit_reduction(graph):
    h = tf.constant(X, name="act")
    with pytest.raises(ValueError, match=r"pass `reduction` explicitly.*Received: reduction=None for tensor 'act:0'"):
        compat_reg.activity_regularize(h, compat_reg.l1_regularizer(0.1))
    with pytest.raises(ValueError, match=r"Invalid value for argument `reduction`.*Received: reduction='mean'"):
        compat_reg.activity_regularize(h, compat_reg.l1_regularizer(0.1), reduction="mean")
    assert tf.compat.v1.get_collection(REG) == []


def test_activity_regularize_refuses_non_scalar_penalties(graph):
    h = tf.constant(X, name="act")
    with pytest.raises(ValueError, match=r"penalty of tensor 'act:0' has shape \(5, 4\)"):
        compat_reg.activity_regularize(h, lambda t: t * 2.0, reduction="sum")


def test_activity_regularize_scale_zero_adds_nothing(graph):
    h = tf.constant(X)
    assert compat_reg.activity_regularize(h, compat_reg.l1_regularizer(0.0), reduction="sum") is h
    assert tf.compat.v1.get_collection(REG) == []


# ----------------------------------------------------------------------------
# group_regularizer: ten 1x1 conv kernels, joint orthogonality, some frozen
# ----------------------------------------------------------------------------

N_CONV = 10
FROZEN = {1, 4, 7}
CIN, COUT = 8, 2


def _np_orthogonality(kernels, scale):
    w = np.concatenate([np.asarray(k, np.float64).reshape(-1, k.shape[-1]) for k in kernels], axis=1)
    gram = w.T @ w
    return scale * np.sum((gram - np.diag(np.diag(gram))) ** 2)


def _ten_convs():
    x = tf.constant(RNG.standard_normal((2, 4, 4, CIN)).astype(np.float32))
    kernels = []
    for i in range(N_CONV):
        slim.conv2d(x, COUT, [1, 1], trainable=i not in FROZEN, biases_initializer=None,
                    weights_initializer=tf.compat.v1.random_normal_initializer(seed=i), scope=f"conv{i}")
        (kernel,) = [v for v in tf.compat.v1.global_variables() if v.op.name == f"conv{i}/weights"]
        kernels.append(kernel)
    return kernels


def test_group_orthogonality_over_ten_convs_counts_frozen_but_does_not_update_them(sess):
    kernels = _ten_convs()
    penalty = compat_reg.group_regularizer(compat_reg.orthogonality(1e-2), kernels, name="ortho")
    assert tf.compat.v1.get_collection(REG) == [penalty]
    assert penalty.name.startswith("ortho")
    grads = tf.compat.v1.gradients(penalty, kernels)
    assert [g is None for g in grads] == [i in FROZEN for i in range(N_CONV)]
    step = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(compat_reg.get_regularization_loss())
    sess.run(tf.compat.v1.global_variables_initializer())
    before = sess.run(kernels)
    assert_close(sess.run(penalty), _np_orthogonality(before, 1e-2), rtol=1e-5,
                 what="Gram matrix in float32 over 20 columns: rtol 1e-5")
    sess.run(step)
    after = sess.run(kernels)
    for i in range(N_CONV):
        changed = not np.array_equal(before[i], after[i])
        assert changed == (i not in FROZEN), f"conv{i}"
    assert_close(sess.run(penalty), _np_orthogonality(after, 1e-2), rtol=1e-5)


def test_group_regularizer_without_stop_gradient_still_values_the_same(sess):
    kernels = _ten_convs()
    p_stop = compat_reg.group_regularizer(compat_reg.orthogonality(1.0), kernels)
    p_plain = compat_reg.group_regularizer(compat_reg.orthogonality(1.0), kernels, stop_gradient_frozen=False)
    grads = tf.compat.v1.gradients(p_plain, kernels)
    assert all(g is not None for g in grads)
    sess.run(tf.compat.v1.global_variables_initializer())
    a, b = sess.run([p_stop, p_plain])
    assert_close(a, b)


def test_orthogonal_kernels_have_zero_penalty(sess):
    q = np.linalg.qr(RNG.standard_normal((6, 6)))[0].astype(np.float32)
    ks = [tf.compat.v1.get_variable(f"k{i}", initializer=tf.constant(q[:, 2 * i:2 * i + 2].reshape(1, 1, 6, 2)))
          for i in range(3)]
    penalty = compat_reg.group_regularizer(compat_reg.orthogonality(1.0), ks)
    sess.run(tf.compat.v1.global_variables_initializer())
    assert abs(sess.run(penalty)) < 1e-10


GROUP_ERROR_CASES = {
    "empty": (lambda: [], lambda vs: sum(tf.reduce_sum(v) for v in vs), ValueError, r"`variables` is empty"),
    "tensor": (lambda: [tf.constant([1.0], name="c")], lambda vs: tf.reduce_sum(vs[0]), TypeError,
               r"every item of `variables` must be a tf.Variable. Received: <tf.Tensor 'c:0'"),
    "non-scalar": (lambda: [tf.compat.v1.get_variable("a", [2]), tf.compat.v1.get_variable("b", [2])],
                   lambda vs: vs[0] * vs[1], ValueError, r"penalty of group \[a, b\] has shape \(2,\)"),
    "not-callable": (lambda: [tf.compat.v1.get_variable("a", [2])], 3.0, TypeError,
                     r"^group_regularizer: Invalid value for argument `fn`. Expected a callable .*Received: fn=3.0\.$"),
}


@pytest.mark.parametrize("case", list(GROUP_ERROR_CASES), ids=list(GROUP_ERROR_CASES))
def test_group_regularizer_errors(graph, case):
    make_vars, fn, exc, pattern = GROUP_ERROR_CASES[case]
    with pytest.raises(exc, match=pattern):
        compat_reg.group_regularizer(fn, make_vars())


# ----------------------------------------------------------------------------
# trainable coefficients
# ----------------------------------------------------------------------------

PARAM_CASES = {
    "identity": lambda raw: raw,
    "softplus": lambda raw: np.log1p(np.exp(raw)),
    "exp": lambda raw: np.exp(raw),
}


@pytest.mark.parametrize("param", list(PARAM_CASES), ids=list(PARAM_CASES))
def test_trainable_coefficient_starts_at_initial_value(sess, param):
    coef = compat_reg.trainable_coefficient("lam", 0.25, parameterization=param)
    sess.run(tf.compat.v1.global_variables_initializer())
    raw, value = sess.run([coef.variable, coef.value])
    assert_close(value, 0.25)
    assert_close(PARAM_CASES[param](np.float64(raw)), value)
    assert coef.variable in tf.compat.v1.trainable_variables()


def _train_with_coefficient(param, steps):
    X2 = RNG.standard_normal((16, 4)).astype(np.float32)
    Y2 = X2 @ np.ones(4, np.float32)
    w = tf.compat.v1.get_variable("w", initializer=tf.zeros([4]))
    coef = compat_reg.trainable_coefficient("lam", 0.5, parameterization=param)
    data = tf.reduce_mean(tf.square(tf.linalg.matvec(tf.constant(X2), w) - Y2))
    compat_reg.regularize(w, compat_reg.l2_regularizer(coef.value))
    split = compat_reg.split_total_loss(data)
    step = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(split.total_loss)
    history = []
    with tf.compat.v1.Session() as s:
        s.run(tf.compat.v1.global_variables_initializer())
        for _ in range(steps):
            d, t, lam, w_v = s.run([split.data_loss, split.total_loss, coef.value, w])
            history.append((d, t, lam, np_l2_tf1(w_v, lam)))
            s.run(step)
    return np.array(history, np.float64)


def test_naive_trainable_coefficient_drives_total_loss_to_minus_infinity(graph):
    h = _train_with_coefficient("identity", 60)
    finite = h[np.isfinite(h[:, 1])]
    assert finite[:, 2].min() < 0, "the coefficient went negative"
    assert finite[:, 1].min() < -1e6 or not np.isfinite(h[:, 1]).all()
    assert finite[:, 1].min() < -1e3


@pytest.mark.parametrize("param", ["softplus", "exp"])
def test_positive_trainable_coefficient_keeps_total_loss_bounded(graph, param):
    h = _train_with_coefficient(param, 60)
    assert np.isfinite(h).all()
    assert (h[:, 2] > 0).all()
    assert (h[:, 1] >= h[:, 0]).all()  # total = data + lam * R(w) >= data >= 0
    assert_close(h[:, 1], h[:, 0] + h[:, 3], rtol=1e-5, what="total = data + lam * sum(w^2)/2 (float32)")


def test_trainable_coefficient_is_not_regularized_by_an_enclosing_scope(graph):
    with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(0.1)):
        coef = compat_reg.trainable_coefficient("lam", 1.0, parameterization="softplus")
    assert tf.compat.v1.get_collection(REG) == []
    assert coef.variable.op.name == "net/lam"


def test_trainable_coefficient_errors(graph):
    with pytest.raises(ValueError, match=r"Invalid value for argument `parameterization`.*Received: parameterization='relu'"):
        compat_reg.trainable_coefficient("a", 1.0, parameterization="relu")
    with pytest.raises(ValueError, match=r"trainable_coefficient\('b'\).*must be > 0. Received: initial_value=0.0"):
        compat_reg.trainable_coefficient("b", 0.0, parameterization="exp")


# ----------------------------------------------------------------------------
# split_total_loss
# ----------------------------------------------------------------------------

Y = RNG.standard_normal((5, 3)).astype(np.float32)


def _model_with_losses():
    with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(0.05)):
        w = tf.compat.v1.get_variable("w", initializer=tf.constant(KERNEL))
    pred = tf.matmul(tf.constant(X), w)
    tf.compat.v1.losses.mean_squared_error(tf.constant(Y), pred)  # registers in LOSSES
    return w


def test_split_total_loss_matches_get_total_loss_and_numpy(sess):
    _model_with_losses()
    split = compat_reg.split_total_loss()
    ref_total = tf.compat.v1.losses.get_total_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    d, r, t, ref = sess.run([split.data_loss, split.regularization_loss, split.total_loss, ref_total])
    assert_close(d, np.mean((X.astype(np.float64) @ KERNEL - Y) ** 2), rtol=1e-5, what="float32 matmul + mean")
    assert_close(r, np_l2_tf1(KERNEL, 0.05))
    assert_close(t, ref)
    assert_close(t, np.float64(d) + r)


def test_split_total_loss_with_explicit_data_loss_and_no_regularization(sess):
    data = tf.constant(2.5)
    split = compat_reg.split_total_loss(data)
    d, r, t = sess.run(split)
    assert (d, r, t) == (2.5, 0.0, 2.5)


def test_split_total_loss_scope_filter_is_a_regex_prefix(sess):
    _model_with_losses()
    with compat_reg.regularized_scope("net_b", compat_reg.l1_regularizer(0.5)):
        tf.compat.v1.get_variable("v", initializer=tf.constant(KERNEL))
    with compat_reg.regularized_scope("other", compat_reg.l1_regularizer(0.5)):
        tf.compat.v1.get_variable("v", initializer=tf.constant(KERNEL))
    split = compat_reg.split_total_loss(tf.constant(1.0), scope="net")
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(split.regularization_loss), np_l2_tf1(KERNEL, 0.05) + np_l1(KERNEL, 0.5))


def test_split_total_loss_errors(graph):
    with pytest.raises(ValueError, match=r"no `data_loss` was given and the LOSSES collection is empty"):
        compat_reg.split_total_loss()
    with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(0.05)):
        tf.compat.v1.get_variable("w", [2])
    with pytest.raises(TypeError, match=r"data loss .* is float64 but the regularization loss is float32"):
        compat_reg.split_total_loss(tf.constant(1.0, tf.float64))
