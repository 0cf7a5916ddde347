"""A function written with compat_reg.layers inside compat_reg.keras.TF1Layer, on both Keras flavors.

Reference: the same function built in a fresh tf.Graph holding the layer's weights
(loaded by TF1 name): ``get_regularization_loss()`` (rtol 1e-6), its outputs, and
its moving statistics after one ``UPDATE_OPS`` run with ``training=True``.
"""

import numpy as np
import pytest
import tensorflow as tf

import compat_reg
import compat_reg.layers as layers
from compat_reg.keras import TF1Layer
from tests.helpers import assert_close

pytestmark = pytest.mark.keras

REG = compat_reg.l2_regularizer(0.01)


def small_net(x, is_training=False):
    y = layers.conv2d(x, 4, 3, padding="same", kernel_regularizer=REG, bias_regularizer=compat_reg.l1_regularizer(0.02))
    y = layers.batch_normalization(y, training=is_training, gamma_regularizer=REG)
    y = layers.max_pooling2d(tf.nn.relu(y), 2, 2)
    y = layers.dropout(layers.flatten(y), 0.3, training=is_training)
    with tf.compat.v1.variable_scope("head", regularizer=REG):
        return layers.dense(y, 3, activity_regularizer=compat_reg.l1_regularizer(0.001))


X = np.random.default_rng(0).standard_normal([2, 6, 6, 3]).astype(np.float32)


def _graph_reference(values, training):
    graph = tf.Graph()
    with graph.as_default():
        outputs = small_net(tf.constant(X), is_training=training)
        total = tf.compat.v1.losses.get_regularization_loss()
        count = len(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES))
        updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for var in tf.compat.v1.global_variables():
                var.load(values[var.op.name], sess)
            total_v, out_v = sess.run([total, outputs])
            sess.run(updates)
            after = {v.op.name: sess.run(v) for v in tf.compat.v1.global_variables()}
            trainable = {v.op.name for v in tf.compat.v1.trainable_variables()}
    return total_v, count, out_v, after, trainable


def test_model_losses_equal_the_graphs_regularization_loss(keras):
    inputs = keras.Input(X.shape[1:])
    layer = TF1Layer(small_net, name="net")
    model = keras.Model(inputs, layer(inputs))
    outputs = model(X)
    values = {name: np.asarray(v.numpy()) for name, v in layer.tf1_variables.items()}
    total, count, graph_outputs, _, trainable = _graph_reference(values, training=False)

    assert sorted(values) == sorted(
        ["conv2d/kernel", "conv2d/bias", "batch_normalization/gamma", "batch_normalization/beta",
         "batch_normalization/moving_mean", "batch_normalization/moving_variance", "head/dense/kernel",
         "head/dense/bias"]
    )
    trainable_ids = {id(v) for v in layer.trainable_weights}
    assert {n for n, v in layer.tf1_variables.items() if id(v) in trainable_ids} == trainable
    assert len(model.losses) == count == 6  # conv kernel+bias, gamma, head scope on kernel+bias, activity
    assert total > 0.0
    assert_close(float(sum(model.losses)), total, rtol=1e-6, what="sum(model.losses) vs get_regularization_loss()")
    assert_close(np.asarray(outputs), graph_outputs, rtol=1e-5, atol=1e-6, what="outputs")


def test_training_call_updates_the_moving_statistics_as_update_ops_do():
    layer = TF1Layer(small_net, name="net_train")
    layer(X)
    values = {name: np.asarray(v.numpy()) for name, v in layer.tf1_variables.items()}
    _, _, _, after, _ = _graph_reference(values, training=True)
    layer(X, training=True)
    for name in ("batch_normalization/moving_mean", "batch_normalization/moving_variance"):
        moved = np.asarray(layer.tf1_variables[name].numpy())
        assert not np.allclose(moved, values[name]), name
        assert_close(moved, after[name], rtol=1e-6, atol=1e-7, what=f"{name} after one training call")


def _dense_after_norm(norm, dense):
    def fn(x, is_training=False):
        return dense(norm(x, training=is_training))

    return fn


def _made_outside():
    return (layers.BatchNormalization(gamma_regularizer=REG),
            layers.Dense(3, kernel_regularizer=REG, bias_regularizer=compat_reg.l1_regularizer(0.02)))


def test_layer_objects_made_outside_the_function_keep_their_penalties_on_every_call():
    """TF1Layer traces each call in its own graph; a layer built in an earlier one adds its penalties again."""
    x = np.random.default_rng(3).standard_normal([4, 5]).astype(np.float32)
    layer = TF1Layer(_dense_after_norm(*_made_outside()), name="outside")
    totals = []
    for _ in range(3):
        layer(x)
        totals.append(float(sum(layer.losses)))
        assert len(layer.losses) == 3
    values = {name: np.asarray(v.numpy()) for name, v in layer.tf1_variables.items()}
    graph = tf.Graph()
    with graph.as_default():
        _dense_after_norm(*_made_outside())(tf.constant(x))
        total = tf.compat.v1.losses.get_regularization_loss()
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for var in tf.compat.v1.global_variables():
                var.load(values[var.op.name], sess)
            expected = sess.run(total)
    for value in totals:
        assert_close(value, expected, rtol=1e-6, what="sum(layer.losses) vs get_regularization_loss()")
