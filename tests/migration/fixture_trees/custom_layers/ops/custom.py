"""A custom layer in the contrib style: add_arg_scope, contrib variables, named outputs."""
import tensorflow as tf
from tensorflow.contrib.framework.python.ops import add_arg_scope, variables
from tensorflow.contrib.layers.python.layers import initializers, utils


@add_arg_scope
def scaled_dense(inputs, units, weights_regularizer=None, scale=1.0, scope=None, outputs_collections=None):
    with tf.variable_scope(scope, "scaled_dense", [inputs]) as sc:
        depth = inputs.get_shape()[-1]
        weights = variables.model_variable("weights", shape=[depth, units],
                                           initializer=initializers.xavier_initializer(),
                                           regularizer=weights_regularizer)
        biases = variables.model_variable("biases", shape=[units], initializer=tf.zeros_initializer())
        outputs = scale * tf.matmul(inputs, weights) + biases
        return utils.collect_named_outputs(outputs_collections, sc.name, outputs)
