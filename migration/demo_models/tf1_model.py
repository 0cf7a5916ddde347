"""The demo's TF1 model: a small tf_slim-style network with the four regularization idioms.

What the TF1 graph regularizes (``REGULARIZATION_LOSSES``), with ``s = WEIGHT_DECAY``:

* ``arg_scope([conv2d, fully_connected], weights_regularizer=l2_regularizer(s))``:
  ``s * sum(w**2) / 2`` on ``conv1``, ``conv2`` and ``fc1`` weights (not their biases);
* ``variable_scope("logits", regularizer=l2_regularizer(HEAD_DECAY))``: the logits'
  weights **and biases** (``get_variable`` regularizes every variable of the scope);
* an activity penalty on ``conv1``'s output, ``ACTIVITY_L1 * sum(|h|) / batch``
  (``compat_reg.activity_regularize(..., reduction="batch_mean")``);
* ``apply_regularization(l1_regularizer(CONV_L1), [conv1/weights, conv2/weights])``,
  which appends its sum to the collection itself.

Run it in graph mode: ``logits = model(tf.compat.v1.placeholder(tf.float32, [4, 8, 8, 2]))``.
"""

import tensorflow as tf
import tf_slim as slim

import compat_reg  # noqa: F401  (makes tf_slim build on today's TensorFlow)

INPUT_SHAPE = (4, 8, 8, 2)  # batch first
NUM_CLASSES = 3
WEIGHT_DECAY = 1e-4
HEAD_DECAY = 2e-4
CONV_L1 = 1e-5
ACTIVITY_L1 = 1e-3


def model(inputs):
    """``inputs`` [batch, 8, 8, 2] -> logits [batch, NUM_CLASSES], regularization in the collection."""
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected], weights_regularizer=slim.l2_regularizer(WEIGHT_DECAY)
    ):
        net = slim.conv2d(inputs, 4, [3, 3], scope="conv1")
        net = compat_reg.activity_regularize(
            net, compat_reg.l1_regularizer(ACTIVITY_L1), reduction="batch_mean"
        )
        net = slim.conv2d(net, 4, [3, 3], stride=2, scope="conv2")
        net = slim.flatten(net)
        net = slim.fully_connected(net, 16, scope="fc1")
    with tf.compat.v1.variable_scope("logits", regularizer=slim.l2_regularizer(HEAD_DECAY)):
        w = tf.compat.v1.get_variable("weights", [16, NUM_CLASSES])
        b = tf.compat.v1.get_variable("biases", [NUM_CLASSES], initializer=tf.compat.v1.zeros_initializer())
        logits = tf.matmul(net, w) + b
    kernels = slim.get_variables("conv1/weights") + slim.get_variables("conv2/weights")
    slim.apply_regularization(slim.l1_regularizer(CONV_L1), kernels)
    return logits
