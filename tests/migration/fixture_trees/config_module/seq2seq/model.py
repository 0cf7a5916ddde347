import functools

import tensorflow as tf
from tensorflow.contrib.layers import l2_regularizer

from .config import DECODER, ENCODER


def _regularizer(params):
    return params["regularizer"](**params["regularizer_params"])


def build(inputs):
    with tf.variable_scope("encoder", regularizer=_regularizer(ENCODER)):
        w_enc = tf.get_variable("w", [3, ENCODER["units"]])
    bias_regularizer = functools.partial(l2_regularizer, scale=3e-4)
    b_enc = tf.get_variable("b_enc", [ENCODER["units"]], regularizer=bias_regularizer())
    w_dec = tf.get_variable("w_dec", [ENCODER["units"], DECODER["units"]], regularizer=_regularizer(DECODER))
    return tf.matmul(tf.matmul(inputs, w_enc) + b_enc, w_dec)
