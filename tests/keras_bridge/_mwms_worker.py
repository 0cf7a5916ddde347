"""A model with bridged losses and its custom training loop, shared by the distribution tests.

Run as a script it is one MultiWorkerMirroredStrategy worker (``TF_CONFIG`` from the
environment): it trains ``STEPS`` steps on its half of each global batch and writes the
final weights to the ``.npz`` path given as argument. Imported, it gives the test the
same model and loop for the one-device and MirroredStrategy runs.
"""

import contextlib
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if __name__ == "__main__" and os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
    # A worker process needs no JAX, yet importing TensorFlow imports it when installed: tf.lite's
    # tensorflow/lite/python/util.py does ``try: from jax import jit`` for an optional converter
    # (``except ImportError: _jit = None``). A None entry makes that import fail fast: ~0.4 s of CPU
    # less per worker, nothing else changes (TensorFlow and Keras run on their TensorFlow backend).
    sys.modules.setdefault("jax", None)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from compat_reg import _flavor  # noqa: E402
from compat_reg.keras import add_callable_loss  # noqa: E402
from compat_reg.keras import replica_total_loss  # noqa: E402

RNG = np.random.default_rng(5)
X = RNG.normal(size=(16, 3)).astype(np.float32)
Y = RNG.normal(size=(16, 1)).astype(np.float32)
W1 = RNG.normal(size=(3, 4)).astype(np.float32)
W2 = RNG.normal(size=(4, 1)).astype(np.float32)
GLOBAL_BATCH = 8
STEPS = 2
LR = 0.05


@contextlib.contextmanager
def grappler_dependency_optimization_off():
    """Work around a TF 2.21 Grappler issue (docs/keras_bridge_losses.md, "Known problems").

    With Grappler's dependency optimizer on, ``model.fit`` on a model whose loss reads a
    trainable coefficient sometimes (per trace, at random) computes another weight's
    gradient from the coefficient's *updated* value; plain Keras 3 and tf_keras, without
    compat_reg, show it too. The comparisons below are exact only with it off.
    """
    before = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"dependency_optimization": False})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options(
            {"dependency_optimization": before.get("dependency_optimization", True)}
        )


def build_model():
    """Dense (Keras L2 kernel + L1 activity) -> Dense, and a callable penalty with a trainable coefficient."""
    keras = _flavor.keras()
    inp = keras.Input((3,))
    d1 = keras.layers.Dense(
        4,
        activation="tanh",
        kernel_regularizer=keras.regularizers.L2(0.1),
        activity_regularizer=keras.regularizers.L1(0.01),
        kernel_initializer=keras.initializers.Constant(W1),
        bias_initializer="zeros",
    )
    d2 = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(W2), bias_initializer="zeros")
    model = keras.Model(inp, d2(d1(inp)))
    coef = model.add_weight(name="coef", shape=(), initializer=keras.initializers.Constant(0.3))
    add_callable_loss(model, lambda: coef * tf.nn.l2_loss(d2.kernel))
    return model


def weights(model):
    return [np.asarray(w) for w in model.weights]


def make_train_fn(model, optimizer, strategy, scale=True):
    """A tf.function running one step on every replica; `scale=False` is the classic mistake."""

    def step(x, y):
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            per_example = tf.reduce_mean(tf.square(pred - y), axis=-1)
            if scale:
                loss = replica_total_loss(per_example, model, global_batch_size=GLOBAL_BATCH)
            else:
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=GLOBAL_BATCH) + tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))

    @tf.function
    def train(x, y):
        strategy.run(step, args=(x, y))

    return train


def replica_batches(strategy, step):
    """The global batch of `step`, split evenly over the replicas (in replica-id order)."""
    start = step * GLOBAL_BATCH
    per_replica = GLOBAL_BATCH // strategy.num_replicas_in_sync

    def part(array):
        def value_fn(ctx):
            lo = start + ctx.replica_id_in_sync_group * per_replica
            return tf.constant(array[lo : lo + per_replica])

        return strategy.experimental_distribute_values_from_function(value_fn)

    return part(X), part(Y)


def train_custom_loop(strategy, scale=True):
    keras = _flavor.keras()
    with strategy.scope():
        model = build_model()
        optimizer = keras.optimizers.SGD(LR)
    train = make_train_fn(model, optimizer, strategy, scale=scale)
    for step in range(STEPS):
        train(*replica_batches(strategy, step))
    return model


def main(out_path, every_out_path=(), timeout_s=60.0):
    """Train, write this worker's weights to ``out_path``, then wait until every worker wrote its own.

    A worker that wrote its file has finished every collective it takes part in, so once all the
    files exist no peer can still need data from this process (collective receivers pull from the
    sender): the caller may then end it with ``os._exit`` and skip the interpreter's teardown of
    TensorFlow (about 0.8 s of CPU per worker, nothing of it asserted).
    """
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with grappler_dependency_optimization_off():
        model = train_custom_loop(strategy)
    np.savez(out_path, *weights(model))
    deadline = time.monotonic() + timeout_s
    while not all(os.path.exists(p) for p in every_out_path):
        if time.monotonic() > deadline:
            missing = [p for p in every_out_path if not os.path.exists(p)]
            raise TimeoutError(f"the other workers did not write {missing} within {timeout_s} s")
        time.sleep(0.02)


if __name__ == "__main__":
    # usage: python -m tests.keras_bridge._mwms_worker OUT [EVERY_WORKER_OUT ...]
    main(sys.argv[1], sys.argv[2:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # see main(); an error above still exits through the normal path, with its traceback
