"""add_callable_loss: tf_keras' zero-argument callable loss, in Keras 3 and tf_keras.

References are NumPy: the penalty ``exp(c) * (l2(W1) + l2(W2))`` (TF1 l2 = sum(w**2)/2)
with its analytic gradients, and plain SGD steps of a two-layer linear model with MSE
computed by hand in float64.
"""

import functools

import numpy as np
import pytest
import tensorflow as tf

from compat_reg.keras import add_callable_loss
from tests.helpers import assert_close

pytestmark = pytest.mark.keras

RNG = np.random.default_rng(7)
X = RNG.normal(size=(8, 3)).astype(np.float32)
Y = RNG.normal(size=(8, 1)).astype(np.float32)
LR = 0.05
# Weight tolerance for SGD steps: float32 matmuls and sums vs a float64 reference.
RTOL_STEP = 2e-5


def _np_l2(w):
    return np.sum(np.square(np.asarray(w, np.float64))) / 2.0


def _build(keras, attach_to):
    """Two linear Dense layers, a trainable log-coefficient, the penalty attached to `attach_to`."""
    inp = keras.Input((3,))
    d1 = keras.layers.Dense(4, name="d1")
    d2 = keras.layers.Dense(1, name="d2")
    model = keras.Model(inp, d2(d1(inp)))
    log_c = model.add_weight(name="log_c", shape=(), initializer=keras.initializers.Constant(-1.0))

    def penalty():
        return tf.exp(log_c) * (tf.nn.l2_loss(d1.kernel) + tf.nn.l2_loss(d2.kernel))

    target = {"model": model, "other_layer": d2}[attach_to]
    add_callable_loss(target, penalty)
    return model, d1, d2, log_c


def _values(d1, d2, log_c):
    return [np.asarray(v, np.float64) for v in (d1.kernel, d1.bias, d2.kernel, d2.bias, log_c)]


def _np_sgd_step(params, x, y):
    """One SGD step of mse(x W1 + b1) W2 + b2, y) + exp(c) (l2(W1) + l2(W2)), float64."""
    w1, b1, w2, b2, c = params
    x = x.astype(np.float64)
    h = x @ w1 + b1
    pred = h @ w2 + b2
    n = pred.size
    dpred = 2.0 * (pred - y) / n
    g_w2 = h.T @ dpred + np.exp(c) * w2
    g_b2 = dpred.sum(0)
    dh = dpred @ w2.T
    g_w1 = x.T @ dh + np.exp(c) * w1
    g_b1 = dh.sum(0)
    g_c = np.exp(c) * (_np_l2(w1) + _np_l2(w2))
    grads = [g_w1, g_b1, g_w2, g_b2, g_c]
    return [p - LR * g for p, g in zip(params, grads)]


ATTACH = [pytest.param("model", id="on-model"), pytest.param("other_layer", id="on-layer-reading-other-layer")]


@pytest.mark.parametrize("attach_to", ATTACH)
def test_value_follows_the_variables(keras, attach_to):
    model, d1, d2, log_c = _build(keras, attach_to)
    w1, _, w2, _, c = _values(d1, d2, log_c)
    assert len(model.losses) == 1
    assert_close(float(model.losses[0]), np.exp(c) * (_np_l2(w1) + _np_l2(w2)))
    d1.kernel.assign(d1.kernel * 3.0)
    log_c.assign(0.5)
    w1, _, w2, _, c = _values(d1, d2, log_c)
    assert_close(float(tf.add_n(model.losses)), np.exp(c) * (_np_l2(w1) + _np_l2(w2)))


@pytest.mark.parametrize("attach_to", ATTACH)
def test_gradients_reach_every_variable_it_reads(keras, attach_to):
    model, d1, d2, log_c = _build(keras, attach_to)
    w1, _, w2, _, c = _values(d1, d2, log_c)
    with tf.GradientTape() as tape:
        total = tf.add_n(model.losses)
    g_w1, g_w2, g_c = tape.gradient(total, [d1.kernel, d2.kernel, log_c])
    assert_close(g_w1.numpy(), np.exp(c) * w1)
    assert_close(g_w2.numpy(), np.exp(c) * w2)
    assert_close(float(g_c), np.exp(c) * (_np_l2(w1) + _np_l2(w2)))


@pytest.mark.parametrize("attach_to", ATTACH)
def test_fit_recomputes_it_every_step(keras, attach_to):
    model, d1, d2, log_c = _build(keras, attach_to)
    params = _values(d1, d2, log_c)
    model.compile(optimizer=keras.optimizers.SGD(LR), loss="mse")
    model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for start in (0, 4):
        params = _np_sgd_step(params, X[start : start + 4], Y[start : start + 4])
    for got, want in zip(_values(d1, d2, log_c), params):
        assert_close(got, want, rtol=RTOL_STEP, atol=1e-7)


def test_custom_loop_in_tf_function(keras):
    model, d1, d2, log_c = _build(keras, "other_layer")
    params = _values(d1, d2, log_c)
    optimizer = keras.optimizers.SGD(LR)
    mse = keras.losses.MeanSquaredError()

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = mse(y, model(x, training=True)) + tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))

    for start in (0, 4):
        step(X[start : start + 4], Y[start : start + 4])
        params = _np_sgd_step(params, X[start : start + 4], Y[start : start + 4])
    for got, want in zip(_values(d1, d2, log_c), params):
        assert_close(got, want, rtol=RTOL_STEP, atol=1e-7)


def test_weights_and_config_unchanged(keras, tmp_path):
    inp = keras.Input((3,))
    dense = keras.layers.Dense(2)
    model = keras.Model(inp, dense(inp))
    config = model.get_config()
    n_weights = len(model.weights)
    add_callable_loss(model, lambda: tf.reduce_sum(tf.abs(dense.kernel)))
    assert model.get_config() == config
    assert len(model.weights) == n_weights
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    dense.kernel.assign(tf.zeros_like(dense.kernel))
    model.load_weights(path)
    assert float(model.losses[0]) > 0.0


def test_same_callable_twice_counts_twice(keras):
    dense = keras.layers.Dense(2)
    dense.build((None, 3))
    fn = functools.partial(tf.nn.l2_loss, dense.kernel)
    add_callable_loss(dense, fn)
    add_callable_loss(dense, fn)
    assert_close(float(tf.add_n(dense.losses)), 2 * _np_l2(dense.kernel.numpy()))


def _untracked_model(keras):
    inp = keras.Input((3,))
    dense = keras.layers.Dense(2)
    model = keras.Model(inp, dense(inp))
    coef = tf.Variable(0.5, name="free_coef")
    return model, lambda: coef * tf.nn.l2_loss(dense.kernel)


ERRORS = [
    pytest.param(lambda k: (object(), lambda: 0.0), TypeError, "`layer_or_model` must be a", id="not-a-layer"),
    pytest.param(lambda k: (k.layers.Dense(1), 1.0), TypeError, "Received: fn=1.0", id="not-callable"),
    pytest.param(lambda k: (k.layers.Dense(1), lambda w: w), TypeError, "requires ['w']", id="takes-args"),
    pytest.param(_untracked_model, ValueError, "reads the trainable variable 'free_coef", id="untracked-coef"),
]


@pytest.mark.parametrize("make,error,text", ERRORS)
def test_errors_name_the_argument(keras, make, error, text):
    layer, fn = make(keras)
    with pytest.raises(error) as info:
        add_callable_loss(layer, fn)
    assert text in str(info.value)


def test_non_scalar_result_is_named(keras):
    dense = keras.layers.Dense(2)
    dense.build((None, 3))

    def per_unit():
        return tf.reduce_sum(dense.kernel, axis=0)

    add_callable_loss(dense, per_unit)
    with pytest.raises(ValueError) as info:
        dense.losses
    assert "per_unit returned a tensor of shape (2,)" in str(info.value)
