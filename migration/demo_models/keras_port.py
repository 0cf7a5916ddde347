"""The correct hand-written Keras port of ``tf1_model.py`` (Keras 3 and tf_keras).

Every TF1 coefficient is converted, not copied (``compat_reg.to_keras`` gives the same):

====================================================  =========================================
TF1                                                   Keras
====================================================  =========================================
``l2_regularizer(s)`` (``s * sum(w**2) / 2``)         ``L2(s / 2)``
``l2_regularizer(s)`` + ``apply_regularization(l1)``  ``L1L2(l1=CONV_L1, l2=s / 2)`` (one kernel,
                                                      two penalties: their sum)
``variable_scope(regularizer=l2(h))``                 ``kernel_regularizer=L2(h / 2)`` **and**
                                                      ``bias_regularizer=L2(h / 2)``
``activity_regularize(h, l1(a), "batch_mean")``       ``activity_regularizer=L1(a)`` (Keras divides
                                                      by the batch, as TF1's ``batch_mean``);
                                                      ``batch_mean_l1(a)`` on Keras 3 before 3.14
====================================================  =========================================

Keras 3 before 3.14 adds an activity penalty's raw sum to ``losses`` instead of
dividing it by the batch (``compat_reg._flavor.activity_loss_divided_by_batch()``
says which this Keras does); there the port's activity regularizer divides by the
batch it sees itself (``batch_mean_l1``), so it is also a mean over each replica's
shard under ``tf.distribute``, as TF1's ``batch_mean``.
"""

from compat_reg import _flavor
from .tf1_model import ACTIVITY_L1
from .tf1_model import CONV_L1
from .tf1_model import HEAD_DECAY
from .tf1_model import INPUT_SHAPE
from .tf1_model import NUM_CLASSES
from .tf1_model import WEIGHT_DECAY


def activity_coefficient():
    """The Keras ``L1`` coefficient whose penalty equals TF1's ``ACTIVITY_L1 * sum(|h|) / batch``
    at the demo's batch ``INPUT_SHAPE[0]`` (Keras 3 < 3.14 adds the raw sum)."""
    if _flavor.activity_loss_divided_by_batch():
        return ACTIVITY_L1
    return ACTIVITY_L1 / INPUT_SHAPE[0]


def batch_mean_l1(scale):
    """``scale * sum(|h|) / batch(h)``: TF1's ``batch_mean`` for a Keras that adds the raw sum (3 < 3.14)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    def penalty(h):
        return scale * tf.reduce_sum(tf.abs(h)) / tf.cast(tf.shape(h)[0], h.dtype)

    return penalty


def _activity_regularizer(regs):
    if _flavor.activity_loss_divided_by_batch():
        return regs.L1(ACTIVITY_L1)
    return batch_mean_l1(ACTIVITY_L1)


def build():
    """A functional Keras model with the TF1 model's regularization, coefficient for coefficient."""
    keras = _flavor.keras()
    regs = keras.regularizers
    conv_reg = regs.L1L2(l1=CONV_L1, l2=WEIGHT_DECAY / 2)
    inputs = keras.Input(shape=INPUT_SHAPE[1:])
    net = keras.layers.Conv2D(
        4, 3, padding="same", activation="relu", name="conv1",
        kernel_regularizer=conv_reg, activity_regularizer=_activity_regularizer(regs),
    )(inputs)
    net = keras.layers.Conv2D(
        4, 3, strides=2, padding="same", activation="relu", name="conv2", kernel_regularizer=conv_reg
    )(net)
    net = keras.layers.Flatten()(net)
    net = keras.layers.Dense(16, activation="relu", name="fc1", kernel_regularizer=regs.L2(WEIGHT_DECAY / 2))(net)
    logits = keras.layers.Dense(
        NUM_CLASSES, name="logits",
        kernel_regularizer=regs.L2(HEAD_DECAY / 2), bias_regularizer=regs.L2(HEAD_DECAY / 2),
    )(net)
    return keras.Model(inputs, logits, name="demo_keras_port")
