"""Hyper-parameters, with the regularizer factories as values (the seq2seq config style)."""
import tensorflow as tf

ENCODER = {
    "units": 4,
    "regularizer": tf.contrib.layers.l2_regularizer,
    "regularizer_params": {"scale": 1e-4},
}
DECODER = {
    "units": 2,
    "regularizer": tf.contrib.layers.l1_regularizer,
    "regularizer_params": {"scale": 2e-4},
}
