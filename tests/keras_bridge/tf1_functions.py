"""A table of TF1-style model functions, shared by the Keras-bridge tests (read-only for others).

Each ``Case`` is a function ``fn(inputs, is_training=False)`` written the way TF1
code was, plus an input shape. The tests build it twice — in a fresh
``tf.Graph`` (the reference: ``get_regularization_loss()``) and in
``compat_reg.keras.TF1Layer`` — and compare. Every function uses only
``tf.compat.v1`` / tf_slim / compat_reg's runtime, never Keras.

``build_in_graph(case, x, values)`` builds the reference in the *current* default
graph (use the ``graph`` fixture or ``tf.Graph().as_default()``) and returns the
TF1 variables by name, so tests can load the TF1Layer's weights into it.
"""

import collections

import numpy as np
import tensorflow as tf
import tf_slim as slim

import compat_reg

REG = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES

Case = collections.namedtuple("Case", ["id", "fn", "input_shape", "description"])


def _v1_dense():
    """``tf.compat.v1.layers.dense`` (tf_keras' legacy layer; under Keras 3 ``tf.compat.v1.layers`` refuses)."""
    from tf_keras.src.legacy_tf_layers import core  # pylint: disable=import-outside-toplevel

    return core.dense


def plain_scopes(inputs, is_training=False):
    """get_variable under variable_scope(regularizer=): L2 scope, L1 inner scope, explicit L1-L2,
    a frozen (trainable=False) regularized variable, and a reuse that must not add a second loss."""
    del is_training
    get = tf.compat.v1.get_variable
    with tf.compat.v1.variable_scope("plain", regularizer=compat_reg.l2_regularizer(0.1)):
        w1 = get("w1", [6, 5])
        b1 = get("b1", [5], initializer=tf.compat.v1.constant_initializer(0.3))
        with tf.compat.v1.variable_scope("inner", regularizer=compat_reg.l1_regularizer(0.01)):
            w2 = get("w2", [5, 4])
            frozen = get("frozen", [4], trainable=False, initializer=tf.compat.v1.ones_initializer())
        w3 = get("w3", [4, 3], regularizer=compat_reg.l1_l2_regularizer(0.01, 0.02))
        with tf.compat.v1.variable_scope("inner", reuse=True):
            w2_again = get("w2", [5, 4])
    h = tf.nn.relu(tf.matmul(inputs, w1) + b1)
    h = tf.nn.relu(tf.matmul(h, w2) + tf.matmul(h, w2_again) * 0.5 + frozen)
    return tf.matmul(h, w3)


def slim_bn_net(inputs, is_training=False):
    """tf_slim conv / fc with batch_norm (fused on the convs, legacy-layer path on the fc) under
    arg_scope(weights_regularizer=), one per-layer override and a biases_regularizer."""
    bn = {"is_training": is_training, "decay": 0.9, "scale": True}
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        weights_regularizer=slim.l2_regularizer(1e-2),
        normalizer_fn=slim.batch_norm,
        normalizer_params=bn,
    ):
        net = slim.conv2d(inputs, 4, [3, 3], scope="conv1")
        net = slim.conv2d(net, 4, [3, 3], stride=2, scope="conv2",
                          weights_regularizer=compat_reg.l1_regularizer(1e-3))
        net = slim.flatten(net)
        net = slim.fully_connected(net, 5, scope="fc1")
        net = slim.fully_connected(net, 3, activation_fn=None, normalizer_fn=None, scope="logits",
                                   biases_regularizer=slim.l2_regularizer(1e-2))
    return net


def activity(inputs, is_training=False):
    """Activity penalties: tf.compat.v1.layers' activity_regularizer (divided by the batch),
    compat_reg.activity_regularize with reduction='batch_mean' and with reduction='sum'."""
    del is_training
    dense = _v1_dense()
    h = dense(inputs, 5, activation=tf.nn.relu, name="d1",
              kernel_regularizer=compat_reg.l2_regularizer(0.1),
              activity_regularizer=compat_reg.l1_regularizer(0.01))
    h = compat_reg.activity_regularize(h, compat_reg.l2_regularizer(0.1), reduction="batch_mean")
    out = slim.fully_connected(h, 3, activation_fn=None, scope="fc2")
    compat_reg.activity_regularize(out, compat_reg.l1_regularizer(0.05), reduction="sum")
    return out


def group_penalty(inputs, is_training=False):
    """One orthogonality penalty over the 1x1 kernels of three layers (the middle one frozen), and an
    L2 on each kernel, both scaled by a trainable (softplus-positive) coefficient."""
    del is_training
    coef = compat_reg.trainable_coefficient("coef", 0.1, parameterization="softplus")
    kernels = []
    net = inputs
    for i in range(3):
        with tf.compat.v1.variable_scope(f"conv{i}"):
            kernel = tf.compat.v1.get_variable(
                "kernel", [1, 1, 4, 4], trainable=(i != 1),
                regularizer=compat_reg.l2_regularizer(coef.value))
        kernels.append(kernel)
        net = tf.nn.relu(tf.nn.conv2d(net, kernel, strides=1, padding="SAME"))
    compat_reg.group_regularizer(compat_reg.orthogonality(coef.value), kernels, name="ortho")
    return tf.reduce_mean(net, axis=[1, 2])


def partitioned(inputs, is_training=False):
    """Partitioned variables (3 and 2 shards): TF1 calls the regularizer once per shard."""
    del is_training
    with tf.compat.v1.variable_scope("part", partitioner=tf.compat.v1.fixed_size_partitioner(3)):
        w = tf.compat.v1.get_variable("w", [9, 4], regularizer=compat_reg.l2_regularizer(0.1))
        v = tf.compat.v1.get_variable("v", [4, 2], partitioner=tf.compat.v1.fixed_size_partitioner(2),
                                      regularizer=compat_reg.l1_regularizer(0.01))
    return tf.matmul(tf.nn.relu(tf.matmul(inputs, w)), v)


def manual_collection(inputs, is_training=False):
    """A hand-written tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, ...) of a weight penalty
    and of an activation penalty."""
    del is_training
    w = tf.compat.v1.get_variable("manual/w", [6, 3])
    h = tf.matmul(inputs, w)
    tf.compat.v1.add_to_collection(REG, tf.multiply(0.5, tf.reduce_mean(tf.square(w)), name="w_penalty"))
    tf.compat.v1.add_to_collection(REG, 0.01 * tf.reduce_sum(tf.abs(h)))
    return h


def regularized_scope_net(inputs, is_training=False):
    """compat_reg.regularized_scope around tf_slim layers and a get_variable with its own regularizer."""
    del is_training
    with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(0.05)):
        net = slim.fully_connected(inputs, 5, scope="fc1")
        w = tf.compat.v1.get_variable("extra", [5, 3], regularizer=compat_reg.l1_regularizer(0.01))
    return tf.matmul(net, w)


CASES = (
    Case("plain_scopes", plain_scopes, (6,), "get_variable + variable_scope regularizers, frozen, reuse"),
    Case("slim_bn_net", slim_bn_net, (6, 6, 2), "tf_slim conv/fc/batch_norm under arg_scope"),
    Case("activity", activity, (6,), "activity regularizers (v1 layers, activity_regularize)"),
    Case("group_penalty", group_penalty, (3, 3, 4), "cross-layer group penalty, trainable coefficient"),
    Case("partitioned", partitioned, (9,), "partitioned variables"),
    Case("manual_collection", manual_collection, (6,), "manual add_to_collection"),
    Case("regularized_scope", regularized_scope_net, (6,), "compat_reg.regularized_scope"),
)
CASE_IDS = [c.id for c in CASES]


def case(case_id):
    for c in CASES:
        if c.id == case_id:
            return c
    raise KeyError(f"no TF1 function case {case_id!r}; have {CASE_IDS}")


def inputs_for(case_, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch,) + tuple(case_.input_shape)).astype(np.float32)


def tf1_name(variable):
    """``"scope/w"`` from a graph variable (``"scope/w:0"``)."""
    return variable.name.split(":")[0]


def build_in_graph(case_, x, is_training=False):
    """Build ``case_.fn`` in the current default graph; return ``(outputs, {tf1_name: variable})``."""
    outputs = case_.fn(tf.constant(x), is_training=is_training)
    variables = {tf1_name(v): v for v in tf.compat.v1.global_variables()}
    return outputs, variables


def resnet_v1_50_logits(inputs, is_training=False):
    """``tf_slim.nets.resnet_v1.resnet_v1_50`` (10 classes) under ``resnet_arg_scope(weight_decay=1e-4)``."""
    from tf_slim.nets import resnet_v1  # pylint: disable=import-outside-toplevel

    with slim.arg_scope(resnet_v1.resnet_arg_scope(weight_decay=1e-4)):
        logits, _ = resnet_v1.resnet_v1_50(inputs, num_classes=10, is_training=is_training)
    return tf.squeeze(logits, [1, 2], name="SpatialSqueeze")  # [batch, 1, 1, 10] -> [batch, 10]


RESNET = Case("resnet_v1_50", resnet_v1_50_logits, (32, 32, 3), "tf_slim.nets resnet_v1_50, 10 classes")
