"""Q: "How do I log the loss *without* weight decay during ``model.fit``?"

TF1 scripts logged ``get_total_loss()`` next to the data loss. In Keras the logged ``loss``
already includes ``sum(model.losses)`` (Keras 3's ``compute_loss`` adds it; tf_keras'
``compiled_loss`` gets it as ``regularization_losses``), and the old idiom
``model.total_loss - tf.add_n(model.losses)`` only exists in tf_keras with eager execution
disabled.

A: ``callbacks=[compat_reg.keras.LossSplit()]``. History, progress bar and every callback's
``logs`` then carry ``loss``, ``regularization_loss`` and ``loss_no_weight_decay`` (and
``val_...``), per batch and per epoch, in Keras 3 and tf_keras. The regularization is the one
added to that step's loss (read before the optimizer update).

The script trains a small regularized model for three epochs (one batch each, so each
epoch's ``regularization_loss`` is the penalty of the weights the epoch started from),
prints the history, and checks the first epoch against NumPy.

Run: ``python examples/keras_loss_without_weight_decay.py`` (``TF_USE_LEGACY_KERAS=1`` for tf_keras).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from compat_reg import _flavor  # noqa: E402
from compat_reg.keras import LossSplit  # noqa: E402

L2 = 0.01  # Keras L2: L2 * sum(w ** 2)


def build_model(keras, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(8, activation="relu", kernel_regularizer=keras.regularizers.L2(L2)),
            keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(L2)),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


def data(n=32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 1))).astype(np.float32)
    return x, y


def main(epochs=3, verbose=1):
    keras = _flavor.keras()
    model = build_model(keras)
    x, y = data()
    kernels = [model.layers[0].kernel.numpy(), model.layers[1].kernel.numpy()]
    history = model.fit(x, y, batch_size=len(x), epochs=epochs, verbose=verbose, callbacks=[LossSplit()])
    h = history.history
    print(f"{_flavor.name()} {_flavor.version()}")
    print("epoch        loss  regularization_loss  loss_no_weight_decay")
    for e in range(epochs):
        print(f"{e:5d} {h['loss'][e]:11.6f} {h['regularization_loss'][e]:20.6f} {h['loss_no_weight_decay'][e]:21.6f}")
    numpy_reg = L2 * sum(float(np.sum(np.square(k.astype(np.float64)))) for k in kernels)
    print(f"epoch 0 regularization from NumPy on the starting weights: {numpy_reg:.6f}")
    return h, numpy_reg


if __name__ == "__main__":
    main()
