"""Data losses the checker knows by name, and the seeded data it makes.

Each loss is written with plain TensorFlow ops, so the same function builds in a
TF1 graph and runs eagerly / in ``tf.function`` on the Keras side:

* ``"mse"``: ``mean((outputs - targets) ** 2)`` over every element (what Keras'
  ``MeanSquaredError`` with ``sum_over_batch_size`` gives too);
* ``"sparse_softmax_cross_entropy"`` (alias ``"xent"``): ``mean over the batch of
  sparse_softmax_cross_entropy_with_logits(labels=targets, logits=outputs)``,
  i.e. ``tf.compat.v1.losses.sparse_softmax_cross_entropy``'s value.

A callable ``loss(targets, outputs) -> scalar`` written with TensorFlow ops is
accepted as well.
"""

import numpy as np
import tensorflow as tf


def mse(targets, outputs):
    """``mean((outputs - targets) ** 2)``."""
    return tf.reduce_mean(tf.square(tf.cast(outputs, tf.float32) - tf.cast(targets, tf.float32)))


def sparse_softmax_cross_entropy(targets, outputs):
    """``mean(sparse_softmax_cross_entropy_with_logits(labels, logits))``."""
    logits = tf.cast(outputs, tf.float32)
    logits = tf.reshape(logits, [tf.shape(logits)[0], -1])
    # tf_keras' compiled losses hand sparse labels over as [batch, 1]: flatten them.
    labels = tf.reshape(tf.cast(targets, tf.int32), [-1])
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


LOSSES = {
    "mse": mse,
    "sparse_softmax_cross_entropy": sparse_softmax_cross_entropy,
    "xent": sparse_softmax_cross_entropy,
}


def resolve(loss):
    """The loss function for a name or a callable; ``ValueError`` naming the choices otherwise."""
    if callable(loss):
        return loss
    if loss in LOSSES:
        return LOSSES[loss]
    raise ValueError(
        f"Invalid value for argument `loss`. Expected one of {sorted(LOSSES)} or a callable "
        f"loss(targets, outputs) -> scalar. Received: loss={loss!r}"
    )


def seeded_inputs(shape, seed=0):
    """Standard-normal float32 inputs of ``shape`` (batch first), from a fixed seed."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def seeded_targets(loss, output_shape, seed=1):
    """Targets that fit ``loss`` and the model's ``output_shape``, from a fixed seed."""
    rng = np.random.default_rng(seed)
    fn = resolve(loss)
    if fn is sparse_softmax_cross_entropy:
        classes = int(np.prod(output_shape[1:]))
        return rng.integers(0, classes, size=(output_shape[0],)).astype(np.int32)
    return rng.standard_normal(output_shape).astype(np.float32)
