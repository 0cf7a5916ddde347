"""A TF1 training script using every regularization idiom compat-reg scans for."""
import tensorflow as tf
import tf_slim as s
from tf_slim import l2_regularizer as r
from tf_slim.layers import regularizers
from tensorflow.contrib.layers import l1_regularizer

slim = tf.contrib.slim
WD = 0.0004


def model(images, labels, weight_decay=0.0005):
    reg_a = tf.contrib.layers.l2_regularizer(scale=0.1)  # contrib by attribute
    reg_b = s.l2_regularizer(weight_decay)
    reg_c = r(WD)
    reg_d = regularizers.l1_l2_regularizer(0.01, 0.02)
    reg_e = slim.sum_regularizer([slim.l1_regularizer(0.1), slim.l2_regularizer(0.2)])
    reg_f = tf.compat.v1.keras.regularizers.l2(l=0.3)
    reg_g = l1_regularizer(0.5)
    with tf.variable_scope("block", regularizer=reg_b):
        w = tf.get_variable("w", [3, 3], regularizer=tf.no_regularizer)
    with slim.arg_scope([slim.conv2d], weights_regularizer=reg_a, biases_regularizer=reg_c):
        net = slim.conv2d(images, 8, [3, 3])
    net = tf.layers.dense(net, 10, kernel_regularizer=tf.keras.regularizers.l1_l2())
    penalty = slim.apply_regularization(reg_d, [w])
    data_loss = tf.losses.softmax_cross_entropy(labels, net)
    manual = 0.001 * tf.nn.l2_loss(w)
    reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, manual)
    total = data_loss + tf.losses.get_regularization_loss() + tf.add_n(reg_losses) + penalty
    return total, tf.losses.get_total_loss(), reg_e, reg_f, reg_g


def keras_part(model):
    model.add_loss(lambda: 0.01 * tf.reduce_sum(tf.square(model.layers[0].kernel)))
    return model.total_loss - sum(model.losses)


def not_sites(tf, regularizers):
    # `tf` and `regularizers` are parameters here: nothing below is TensorFlow.
    regularizers.l2_regularizer(0.1)
    return tf.contrib.layers.l2_regularizer(0.1)


def by_key(graph):
    return graph.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES), tf.GraphKeys.REGULARIZATION_LOSSES


CONFIG = {"regularizer": tf.contrib.layers.l2_regularizer, "regularizer_params": {"scale": 1e-4}}
