"""LossSplit: fit logs loss, regularization_loss and loss_no_weight_decay, per batch and epoch.

Reference: NumPy, from the weights each batch actually started from (recorded by a
callback at ``on_train_batch_begin``): mse, Keras L2 on the kernel, L1 activity
regularizer divided by the batch size (both flavors' convention), and a callable bias
penalty; then Keras' running mean weighted by the batch size.
"""

import numpy as np
import pytest
import tensorflow as tf

from compat_reg import _flavor
from compat_reg.keras import LossSplit
from compat_reg.keras import add_callable_loss
from tests.helpers import assert_close

pytestmark = pytest.mark.keras

RNG = np.random.default_rng(3)
X = RNG.normal(size=(8, 3)).astype(np.float32)
Y = RNG.normal(size=(8, 1)).astype(np.float32)
XV = RNG.normal(size=(5, 3)).astype(np.float32)
YV = RNG.normal(size=(5, 1)).astype(np.float32)
L2, L1_ACT, BIAS_COEF = 0.1, 0.01, 0.3
BATCH = 3  # 8 samples: batches of 3, 3, 2 -> the weighting by batch size matters
# Loss entries are float32 sums of a few terms, averaged in float32 by Keras' Mean;
# regularization_loss is the same float32 arithmetic on smaller magnitudes.
RTOL_LOG = 1e-5


def _build(keras):
    inp = keras.Input((3,))
    dense = keras.layers.Dense(
        1,
        kernel_regularizer=keras.regularizers.L2(L2),
        activity_regularizer=keras.regularizers.L1(L1_ACT),
        kernel_initializer=keras.initializers.Constant(0.4),
        bias_initializer=keras.initializers.Constant(0.2),
    )
    model = keras.Model(inp, dense(inp))
    add_callable_loss(model, lambda: BIAS_COEF * tf.reduce_sum(tf.square(dense.bias)))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model, dense


def _np_terms(w, b, x, y):
    x = x.astype(np.float64)
    pred = x @ w + b
    data = np.mean(np.square(pred - y))
    act_batch = len(x) if _flavor.activity_loss_divided_by_batch() else 1  # Keras < 3.14: the raw sum
    reg = L2 * np.sum(np.square(w)) + L1_ACT * np.sum(np.abs(pred)) / act_batch + BIAS_COEF * np.sum(np.square(b))
    return data, reg


class _Recorder:
    def __init__(self, keras, dense):
        self.starts, self.batch_logs = [], []
        recorder = self

        class Cb(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                recorder.starts.append((dense.kernel.numpy().astype(np.float64), dense.bias.numpy().astype(np.float64)))

            def on_train_batch_end(self, batch, logs=None):
                recorder.batch_logs.append({k: float(v) for k, v in logs.items()})

        self.callback = Cb()


def test_fit_logs_the_split_per_batch_and_per_epoch(keras):
    model, dense = _build(keras)
    rec = _Recorder(keras, dense)
    history = model.fit(
        X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
        validation_data=(XV, YV), callbacks=[LossSplit(), rec.callback],
    )
    assert len(rec.batch_logs) == 6
    for epoch in range(2):
        sums = np.zeros(3)
        weight = 0.0
        for i, start in enumerate(range(0, 8, BATCH)):
            k = epoch * 3 + i
            w, b = rec.starts[k]
            xb, yb = X[start : start + BATCH], Y[start : start + BATCH]
            data, reg = _np_terms(w, b, xb, yb)
            sums += len(xb) * np.array([data + reg, reg, data])
            weight += len(xb)
            want = sums / weight
            logs = rec.batch_logs[k]
            assert_close(logs["loss"], want[0], rtol=RTOL_LOG, what=f"batch {k} loss")
            assert_close(logs["regularization_loss"], want[1], rtol=RTOL_LOG, what=f"batch {k} reg")
            assert_close(logs["loss_no_weight_decay"], want[2], rtol=RTOL_LOG, what=f"batch {k} rest")
        for key, j in (("loss", 0), ("regularization_loss", 1), ("loss_no_weight_decay", 2)):
            assert_close(history.history[key][epoch], want[j], rtol=RTOL_LOG, what=f"epoch {epoch} {key}")
    # Validation: the weights at the end of training, on the validation set in batches of BATCH
    # (fit's default validation_batch_size), averaged weighted by the batch size as Keras does. Under
    # the batch-mean activity convention that is the one-batch value; under the raw sum
    # (Keras 3 < 3.14) each batch's sum enters instead.
    terms = [(len(XV[i : i + BATCH]), _np_terms(dense.kernel.numpy(), dense.bias.numpy(), XV[i : i + BATCH],
                                                YV[i : i + BATCH])) for i in range(0, len(XV), BATCH)]
    data, reg = (sum(n * t[j] for n, t in terms) / len(XV) for j in (0, 1))
    assert_close(history.history["val_regularization_loss"][-1], reg, rtol=RTOL_LOG)
    assert_close(history.history["val_loss_no_weight_decay"][-1], data, rtol=RTOL_LOG)
    assert_close(history.history["val_loss"][-1], data + reg, rtol=RTOL_LOG)


def test_model_is_left_as_it_was(keras):
    model, _ = _build(keras)
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, callbacks=[LossSplit()])
    assert "compute_loss" not in model.__dict__ and "compute_metrics" not in model.__dict__
    history = model.fit(X, Y, batch_size=4, epochs=1, verbose=0)
    assert "regularization_loss" not in history.history
    assert all("regularization" not in m.name for m in model.metrics)


def test_evaluate_alone(keras):
    model, dense = _build(keras)
    logs = model.evaluate(XV, YV, batch_size=5, verbose=0, callbacks=[LossSplit()], return_dict=True)
    data, reg = _np_terms(dense.kernel.numpy(), dense.bias.numpy(), XV, YV)
    assert_close(logs["regularization_loss"], reg, rtol=RTOL_LOG)
    assert_close(logs["loss_no_weight_decay"], data, rtol=RTOL_LOG)
    assert "compute_loss" not in model.__dict__


def test_progress_bar_shows_the_split(keras, capsys):
    model, _ = _build(keras)
    model.fit(X, Y, batch_size=4, epochs=1, verbose=1, callbacks=[LossSplit()])
    out = capsys.readouterr().out
    assert "regularization_loss:" in out and "loss_no_weight_decay:" in out


def test_overridden_train_step_is_reported(keras):
    class OwnStep(keras.Model):
        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self(x, training=True) - y))
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            return {"loss": loss}

    inp = keras.Input((3,))
    model = OwnStep(inp, keras.layers.Dense(1)(inp))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    with pytest.raises(RuntimeError) as info:
        model.fit(X, Y, batch_size=4, epochs=1, verbose=0, callbacks=[LossSplit()])
    assert "its train_step is overridden" in str(info.value)


@pytest.mark.parametrize(
    "kwargs,text",
    [
        pytest.param({"regularization_name": "loss"}, "Received: regularization_name='loss'", id="reg-named-loss"),
        pytest.param({"no_weight_decay_name": ""}, "Received: no_weight_decay_name=''", id="empty-name"),
    ],
)
def test_bad_names(kwargs, text):
    with pytest.raises(ValueError) as info:
        LossSplit(**kwargs)
    assert text in str(info.value)
