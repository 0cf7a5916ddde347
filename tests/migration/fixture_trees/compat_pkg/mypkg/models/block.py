import tf_slim as slim

from ..compat import tfv1


def block(inputs, weight_decay=5e-4):
    reg = slim.l2_regularizer(weight_decay)
    hidden = tfv1.layers.dense(inputs, 4, kernel_regularizer=reg, name="hidden")
    with tfv1.variable_scope("head", regularizer=reg):
        w = tfv1.get_variable("w", [4, 2])
    return tfv1.matmul(hidden, w)


def regularization_loss():
    return tfv1.add_n(tfv1.get_collection(tfv1.GraphKeys.REGULARIZATION_LOSSES))
