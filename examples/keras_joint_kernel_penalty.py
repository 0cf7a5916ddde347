"""Q: "How do I put ONE penalty on the kernels of several layers, some of them frozen, in Keras?"

Keras regularizers see one weight at a time, and Keras 3 ignores regularizers of frozen weights.
A: keep the TF1 formulation and bridge it. The model function creates three 1x1 conv kernels (the
middle one frozen, ``trainable=False``) and adds one pairwise-orthogonality penalty over all of
them with ``compat_reg.group_regularizer`` (``penalty = s * sum_{i != j} (W^T W)_ij^2`` over the
concatenated kernels W). Inside ``compat_reg.keras.TF1Layer``:

* the penalty is in ``model.losses`` with the frozen kernel's columns counted (TF1's value);
* ``fit`` moves the trainable kernels and leaves the frozen one exactly as it was.

Run: ``python examples/keras_joint_kernel_penalty.py`` (``TF_USE_LEGACY_KERAS=1`` for tf_keras).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import compat_reg  # noqa: E402
from compat_reg import _flavor  # noqa: E402
from compat_reg.keras import TF1Layer  # noqa: E402

SCALE = 1e-2
FROZEN = ("conv1",)


def three_convs(inputs, is_training=False):
    """TF1-style: three 1x1 convolutions; one orthogonality penalty couples their kernels."""
    del is_training
    kernels, net = [], inputs
    for i in range(3):
        name = f"conv{i}"
        with tf.compat.v1.variable_scope(name):
            kernel = tf.compat.v1.get_variable("kernel", [1, 1, 4, 4], trainable=name not in FROZEN)
        kernels.append(kernel)
        net = tf.nn.relu(tf.nn.conv2d(net, kernel, strides=1, padding="SAME"))
    compat_reg.group_regularizer(compat_reg.orthogonality(SCALE), kernels, name="joint_orthogonality")
    return tf.reduce_mean(net, axis=[1, 2])


def numpy_orthogonality(kernels, scale=SCALE):
    w = np.concatenate([k.reshape(-1, k.shape[-1]) for k in kernels], axis=1).astype(np.float64)
    gram = w.T @ w
    return scale * np.sum(np.square(gram - np.diag(np.diag(gram))))


def main(steps=3, verbose=True):
    keras = _flavor.keras()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3, 3, 4)).astype(np.float32)
    y = rng.standard_normal((8, 4)).astype(np.float32)

    inputs = keras.Input((3, 3, 4))
    layer = TF1Layer(three_convs, name="joint")
    model = keras.Model(inputs, layer(inputs))
    names = [f"conv{i}/kernel" for i in range(3)]
    before = {n: layer.tf1_variables[n].numpy().copy() for n in names}
    model(x)
    bridged = float(tf.add_n(model.losses))
    expected = numpy_orthogonality([before[n] for n in names])
    trainable = sorted(n for n in names if any(layer.tf1_variables[n] is w for w in layer.trainable_weights))
    if verbose:
        print(f"[{_flavor.name()}] one orthogonality penalty over {names}, frozen: {list(FROZEN)}")
        print(f"  TF1Layer model.losses  {bridged:.9g}")
        print(f"  NumPy (all 3 kernels)  {expected:.9g}")
        print(f"  trainable kernels      {trainable}")

    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=steps, verbose=0)
    after = {n: layer.tf1_variables[n].numpy() for n in names}
    moved = {n: bool(not np.array_equal(after[n], before[n])) for n in names}
    model(x)
    penalty_after = float(tf.add_n(model.losses))
    if verbose:
        print(f"  fit {steps} steps: moved {moved}; penalty {bridged:.6g} -> {penalty_after:.6g}")
    return {
        "bridged": bridged,
        "numpy": expected,
        "moved": moved,
        "trainable": trainable,
        "penalty_after": penalty_after,
        "numpy_after": numpy_orthogonality([after[n] for n in names]),
        "losses": history.history["loss"],
    }


if __name__ == "__main__":
    main()
