"""Q: "How do I train a penalty whose coefficient is itself trainable (and stays positive) in Keras?"

TF1 code wrote ``l2_regularizer(lam)`` with ``lam`` a variable. Keras 3 regularizers refuse
a tensor scale, Keras 3 removed the zero-argument ``add_loss(lambda: ...)`` that tf_keras
users wrote instead, and a coefficient trained on the same loss runs negative (then the
total loss runs to -inf) unless it is parameterized positive.

A, two ways that give the same numbers, in Keras 3 and tf_keras:

1. Keep the TF1 code — ``compat_reg.trainable_coefficient("lam", 0.5, "softplus")`` (the
   graph-mode pattern of ``compat_reg.patterns``) and ``compat_reg.regularize(w,
   l2_regularizer(lam.value))`` — inside a ``compat_reg.keras.TF1Layer``.
2. Keras-native: ``raw = model.add_weight(...)`` (so ``fit`` trains it) and
   ``compat_reg.keras.add_callable_loss(model, lambda: softplus(raw) * l2(kernel))``.

    penalty = softplus(raw) * sum(w ** 2) / 2,   raw0 = softplus^-1(0.5)

Both models start from the same weights and train with ``fit``; the script prints the
coefficient, the data loss and the penalty (``LossSplit``) per epoch for both, and the
largest difference between their weights. The coefficient decays towards 0 but stays > 0.

Note: the script turns Grappler's dependency optimizer off. With it on, TF 2.21 sometimes
computes, inside ``fit``'s traced step, a weight's gradient from the coefficient's already
*updated* value (plain Keras shows it too; see docs/keras_bridge_losses.md, "Known
problems"). Without the workaround the two routes can differ by one such step.

Run: ``python examples/keras_trainable_coefficient.py`` (``TF_USE_LEGACY_KERAS=1`` for tf_keras).
"""

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import compat_reg  # noqa: E402
from compat_reg import _flavor  # noqa: E402
from compat_reg.keras import LossSplit  # noqa: E402
from compat_reg.keras import TF1Layer  # noqa: E402
from compat_reg.keras import add_callable_loss  # noqa: E402

LAM0 = 0.5
RNG = np.random.default_rng(4)
X = RNG.normal(size=(16, 4)).astype(np.float32)
Y = (X @ np.ones((4, 1))).astype(np.float32)
W0 = RNG.normal(scale=0.5, size=(4, 1)).astype(np.float32)


def softplus_inverse(c):
    return c + math.log(-math.expm1(-c))


def tf1_model_fn(x):
    """The TF1 graph-mode code, unchanged."""
    w = tf.compat.v1.get_variable("w", initializer=W0)
    lam = compat_reg.trainable_coefficient("lam", LAM0, parameterization="softplus")
    compat_reg.regularize(w, compat_reg.l2_regularizer(lam.value))  # lam * sum(w**2) / 2
    return tf.matmul(x, w)


def build_tf1_route(keras):
    inp = keras.Input((4,))
    layer = TF1Layer(tf1_model_fn, name="tf1")
    model = keras.Model(inp, layer(inp))
    variables = {v.name.split(":")[0].split("/")[-1]: v for v in model.weights}
    return model, variables["w"], variables["lam"]


def build_keras_route(keras):
    inp = keras.Input((4,))
    dense = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(W0))
    model = keras.Model(inp, dense(inp))
    raw = model.add_weight(
        name="lam_raw", shape=(), initializer=keras.initializers.Constant(softplus_inverse(LAM0))
    )
    add_callable_loss(model, lambda: tf.nn.softplus(raw) * tf.nn.l2_loss(dense.kernel))
    return model, dense.kernel, raw


def train(keras, build, epochs):
    model, kernel, raw = build(keras)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    lams = [float(tf.nn.softplus(tf.convert_to_tensor(raw)))]
    lam_cb = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: lams.append(float(tf.nn.softplus(tf.convert_to_tensor(raw))))
    )
    history = model.fit(X, Y, batch_size=len(X), epochs=epochs, verbose=0, callbacks=[LossSplit(), lam_cb])
    return {
        "history": history.history,
        "lam": lams,
        "kernel": np.asarray(kernel),
        "raw": float(np.asarray(raw)),
    }


def main(epochs=5):
    tf.config.optimizer.set_experimental_options({"dependency_optimization": False})
    keras = _flavor.keras()
    results = {"tf1_layer": train(keras, build_tf1_route, epochs), "keras": train(keras, build_keras_route, epochs)}
    print(f"{_flavor.name()} {_flavor.version()}")
    for route, r in results.items():
        h = r["history"]
        for e in range(epochs):
            print(
                f"{route:9s} epoch {e}: lam={r['lam'][e]:.6f} data_loss={h['loss_no_weight_decay'][e]:.6f} "
                f"penalty={h['regularization_loss'][e]:.6f}"
            )
        print(f"{route:9s} final lam={r['lam'][-1]:.6f} (> 0)")
    diff = float(np.max(np.abs(results["tf1_layer"]["kernel"] - results["keras"]["kernel"])))
    print(f"max |w_tf1_layer - w_keras| after {epochs} epochs: {diff:.3g}")
    return results


if __name__ == "__main__":
    main()
