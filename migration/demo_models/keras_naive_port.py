"""The naive Keras port of ``tf1_model.py``: coefficients copied literally.

Two mistakes a careful reader of the TF1 code still makes, both caught by
``compat-reg check`` (``make demo``):

* ``l2_regularizer(s)`` became ``L2(s)``: Keras' L2 has no ``/ 2``, so every
  weight-decay penalty is twice TF1's (diagnosis ``l2-twice``);
* the logits' ``variable_scope(regularizer=...)`` became a ``kernel_regularizer``
  only, but TF1 regularized the biases too (diagnosis ``bias-one-side``).

The activity penalty is ported as the correct port does it
(``keras_port.activity_coefficient()``, which knows whether this Keras divides by
the batch), so the demo shows these two mistakes, and only these, on every
supported Keras.
"""

from compat_reg import _flavor
from .keras_port import activity_coefficient
from .tf1_model import CONV_L1
from .tf1_model import HEAD_DECAY
from .tf1_model import INPUT_SHAPE
from .tf1_model import NUM_CLASSES
from .tf1_model import WEIGHT_DECAY


def build():
    """The same network with TF1's numbers pasted into Keras regularizers."""
    keras = _flavor.keras()
    regs = keras.regularizers
    conv_reg = regs.L1L2(l1=CONV_L1, l2=WEIGHT_DECAY)  # mistake: TF1 l2(s) is Keras L2(s / 2)
    inputs = keras.Input(shape=INPUT_SHAPE[1:])
    net = keras.layers.Conv2D(
        4, 3, padding="same", activation="relu", name="conv1",
        kernel_regularizer=conv_reg, activity_regularizer=regs.L1(activity_coefficient()),
    )(inputs)
    net = keras.layers.Conv2D(
        4, 3, strides=2, padding="same", activation="relu", name="conv2", kernel_regularizer=conv_reg
    )(net)
    net = keras.layers.Flatten()(net)
    net = keras.layers.Dense(16, activation="relu", name="fc1", kernel_regularizer=regs.L2(WEIGHT_DECAY))(net)
    logits = keras.layers.Dense(  # mistake: the TF1 scope regularized the bias as well
        NUM_CLASSES, name="logits", kernel_regularizer=regs.L2(HEAD_DECAY)
    )(net)
    return keras.Model(inputs, logits, name="demo_keras_naive_port")
