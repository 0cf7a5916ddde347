import tensorflow as tf
from tensorflow.contrib import slim

from .custom import scaled_dense


def build(inputs, weight_decay=1e-3):
    with slim.arg_scope([scaled_dense], weights_regularizer=tf.contrib.layers.l2_regularizer(weight_decay)):
        hidden = scaled_dense(inputs, 6, scope="fc1")
        return scaled_dense(hidden, 3, scale=0.5, scope="fc2")
