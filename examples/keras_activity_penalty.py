"""Q: "How do I penalize the activations of an intermediate layer in a Keras model?"

A, two ways that give the same number (batch-mean convention, which tf_keras, Keras >= 3.14 and
``tf.compat.v1.layers`` use):

1. Keep the TF1 code: ``compat_reg.activity_regularize(h, r, reduction="batch_mean")`` inside the
   model function and wrap the function in ``compat_reg.keras.TF1Layer``. The penalty is in
   ``model.losses`` at every call and ``fit`` trains with it.
2. Natively: ``Dense(..., activity_regularizer=compat_reg.to_keras(r))`` on the intermediate layer.
   Keras 3 before 3.14 adds the raw sum there instead (``compat_reg._flavor.
   activity_loss_divided_by_batch()``); the script prints which one this Keras computed.

The script builds both on the same weights and data, prints both penalties next to NumPy, then
trains the TF1Layer model a few steps with ``fit`` and shows the penalty in ``model.losses``.

Run: ``python examples/keras_activity_penalty.py`` (``TF_USE_LEGACY_KERAS=1`` for tf_keras).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import compat_reg  # noqa: E402
from compat_reg import _flavor  # noqa: E402
from compat_reg.keras import TF1Layer  # noqa: E402

SCALE = 0.01


def hidden_then_logits(inputs, units=4, is_training=False):
    """TF1-style model function: a hidden ReLU layer whose activations are L1-penalized."""
    del is_training
    with tf.compat.v1.variable_scope("hidden"):
        w = tf.compat.v1.get_variable("kernel", [inputs.shape[-1], units])
        b = tf.compat.v1.get_variable("bias", [units], initializer=tf.compat.v1.zeros_initializer())
    h = tf.nn.relu(tf.matmul(inputs, w) + b)
    h = compat_reg.activity_regularize(h, compat_reg.l1_regularizer(SCALE), reduction="batch_mean")
    with tf.compat.v1.variable_scope("logits"):
        w2 = tf.compat.v1.get_variable("kernel", [units, 1])
    return tf.matmul(h, w2)


def main(steps=3, verbose=True):
    keras = _flavor.keras()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)

    # 1. The TF1 function in a Keras functional model.
    inputs = keras.Input((5,))
    bridged = TF1Layer(hidden_then_logits, name="tf1_net")
    model = keras.Model(inputs, bridged(inputs))
    model(x)
    bridged_penalty = float(tf.add_n(model.losses))
    w = bridged.tf1_variables["hidden/kernel"].numpy()
    b = bridged.tf1_variables["hidden/bias"].numpy()

    # 2. Native Keras layers with the same weights.
    hidden = keras.layers.Dense(4, activation="relu",
                                activity_regularizer=compat_reg.to_keras(compat_reg.l1_regularizer(SCALE)))
    head = keras.layers.Dense(1, use_bias=False)
    native = keras.Sequential([keras.Input((5,)), hidden, head])
    hidden.set_weights([w, b])
    head.set_weights([bridged.tf1_variables["logits/kernel"].numpy()])
    native(x)
    native_penalty = float(tf.add_n(native.losses))

    h = np.maximum(x.astype(np.float64) @ w + b, 0.0)
    numpy_sum = SCALE * np.abs(h).sum()
    numpy_penalty = numpy_sum / len(x)
    divided = _flavor.activity_loss_divided_by_batch()
    if verbose:
        print(f"[{_flavor.name()}] activity penalty, batch of {len(x)}:")
        print(f"  TF1Layer (activity_regularize)   {bridged_penalty:.9g}")
        print(f"  Keras Dense(activity_regularizer) {native_penalty:.9g}"
              + ("" if divided else f"  (Keras {_flavor.version()}: the raw sum, not divided by the batch)"))
        print(f"  NumPy  {SCALE} * sum|h| / batch   {numpy_penalty:.9g}")

    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=steps, verbose=0)
    model(x)
    after = float(tf.add_n(model.losses))
    if verbose:
        print(f"  fit {steps} steps: loss {history.history['loss'][0]:.5f} -> {history.history['loss'][-1]:.5f}; "
              f"activity penalty now {after:.6g}")
    moved = not np.allclose(bridged.tf1_variables["hidden/kernel"].numpy(), w)
    return {
        "bridged": bridged_penalty,
        "native": native_penalty,
        "numpy": numpy_penalty,
        "numpy_sum": numpy_sum,
        "native_divided_by_batch": divided,
        "losses": history.history["loss"],
        "kernel_moved": moved,
    }


if __name__ == "__main__":
    main()
