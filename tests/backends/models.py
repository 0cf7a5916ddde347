"""A small Keras 3 model regularized with compat_reg, built the same on every backend."""

import keras
import numpy as np

import compat_reg

INPUTS = np.random.default_rng(3).standard_normal((8, 6)).astype(np.float32)
TARGETS = np.random.default_rng(4).standard_normal((8, 2)).astype(np.float32)


def build():
    """Dense layers with every compat_reg regularizer kind as kernel / bias / activity regularizer."""
    return keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(5, activation="tanh", name="d1", kernel_regularizer=compat_reg.l2_regularizer(0.1),
                           bias_regularizer=compat_reg.l1_l2_regularizer(0.01, 0.02)),
        keras.layers.Dense(4, activation="tanh", name="d2",
                           kernel_regularizer=compat_reg.sum_regularizer(
                               [compat_reg.l1_regularizer(0.03), keras.regularizers.L2(0.01)]),
                           activity_regularizer=compat_reg.l1_regularizer(0.002)),
        keras.layers.Dense(2, name="d3", kernel_regularizer=compat_reg.from_keras(keras.regularizers.L1L2(0.01, 0.05)),
                           bias_regularizer=compat_reg.l2_regularizer(0.0)),
    ], name="regularized")


def seeded_weights(model):
    rng = np.random.default_rng(5)
    return [rng.standard_normal(tuple(w.shape)).astype(np.float32) * 0.5 for w in model.weights]


def losses(model):
    model(INPUTS)
    return [float(keras.ops.convert_to_numpy(l)) for l in model.losses]


def fit(model, epochs=3):
    """Full-batch SGD through ``fit`` (no shuffling); the history's losses."""
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(INPUTS, TARGETS, batch_size=len(INPUTS), epochs=epochs, shuffle=False, verbose=0)
    return [float(v) for v in history.history["loss"]]


def build_unnamed():
    """One auto-named Dense layer: its weights are ``sequential/dense/...`` in a fresh Keras session only."""
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(2, kernel_regularizer=compat_reg.l2_regularizer(0.1))])


def failing_build():
    """A NEW whose builder raises, for the error path of a child-process side."""
    raise RuntimeError("the port's builder failed on purpose")
