"""A small slim face-embedding net, written the contrib way."""
from __future__ import absolute_import

import tensorflow as tf
from tensorflow.contrib.framework.python.ops import arg_scope
from tensorflow.contrib.layers.python.layers import initializers
from tensorflow.contrib.layers.python.layers import layers as layers_lib
from tensorflow.contrib.layers.python.layers import regularizers

slim = tf.contrib.slim


def facenet_arg_scope(weight_decay=4e-5):
    with arg_scope([slim.conv2d, slim.fully_connected],
                   weights_initializer=initializers.xavier_initializer(),
                   weights_regularizer=regularizers.l2_regularizer(weight_decay),
                   biases_regularizer=tf.contrib.layers.l1_regularizer(weight_decay / 4)):
        with arg_scope([layers_lib.max_pool2d], padding="SAME") as sc:
            return sc


def facenet(images, bottleneck=4, scope="FaceNet"):
    with tf.variable_scope(scope, "FaceNet", [images]):
        net = slim.conv2d(images, 4, [3, 3], scope="conv1")
        net = layers_lib.max_pool2d(net, [2, 2], scope="pool1")
        net = slim.conv2d(net, 6, [3, 3], scope="conv2")
        net = slim.flatten(net)
        net = slim.fully_connected(net, bottleneck, activation_fn=None, scope="bottleneck",
                                   weights_regularizer=slim.l2_regularizer(1e-3))
    return tf.nn.l2_normalize(net, 1, 1e-10, name="embeddings")
