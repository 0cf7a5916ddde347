"""tf.compat.v1.layers-style code written with compat_reg.layers runs in a TF1Layer as in a tf.Graph.

The function is TF1 code as written for TF 1.x (dense, conv2d, batch_normalization with
its updates run through ``tf.control_dependencies(UPDATE_OPS)``, dropout), with a
FaceNet-style ``phase_train`` flag wired by ``training_arg``. Reference: the same
function in a fresh ``tf.Graph`` holding the layer's weights: ``get_regularization_loss()``
(float32 rtol 1e-6) and the moving statistics after one training run (rtol 1e-5).
"""

import numpy as np
import pytest
import tensorflow as tf

import compat_reg
import compat_reg.layers as layers
from compat_reg.keras import TF1Layer
from tests.helpers import assert_close

pytestmark = pytest.mark.keras

L2 = compat_reg.l2_regularizer(0.01)
X = np.random.default_rng(2).standard_normal([4, 6, 6, 3]).astype(np.float32)


def v1_net(x, phase_train=True):
    h = layers.conv2d(x, 4, 3, padding="same", kernel_regularizer=L2, name="conv")
    h = layers.batch_normalization(h, training=phase_train, momentum=0.5, name="bn")
    h = layers.dropout(layers.flatten(tf.nn.relu(h)), 0.25, training=phase_train)
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        logits = layers.dense(h, 3, kernel_regularizer=L2, bias_regularizer=compat_reg.l1_regularizer(0.05),
                              activity_regularizer=compat_reg.l1_regularizer(0.001), name="logits")
    return tf.identity(logits)


def _graph(values, phase_train, n_calls=1):
    graph = tf.Graph()
    with graph.as_default():
        for i in range(n_calls):
            with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), reuse=True if i else None):
                out = v1_net(tf.constant(X), phase_train=phase_train)
        total = tf.compat.v1.losses.get_regularization_loss()
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for var in tf.compat.v1.global_variables():
                var.load(values[var.op.name], sess)
            total_v, _ = sess.run([total, out])
            after = {v.op.name: sess.run(v) for v in tf.compat.v1.global_variables()}
    return float(total_v), after


def _values(layer):
    return {n: np.asarray(v.numpy()) for n, v in layer.tf1_variables.items()}


def test_losses_equal_graph_and_updates_run_only_when_training(keras):
    layer = TF1Layer(v1_net, training_arg="phase_train")
    inp = keras.Input(X.shape[1:])
    model = keras.Model(inp, layer(inp))
    model(X, training=False)
    values = _values(layer)
    assert {"conv/kernel", "bn/moving_mean", "logits/kernel", "logits/bias"} <= set(values)
    expected, _ = _graph(values, phase_train=False)
    assert_close(float(tf.add_n(model.losses)), expected, what="inference: model.losses vs tf.Graph")
    np.testing.assert_array_equal(_values(layer)["bn/moving_mean"], values["bn/moving_mean"])

    # Dropout draws differ between the two runtimes; the statistics and weight penalties do not.
    model(X, training=True)
    _, after = _graph(values, phase_train=True)
    assert not np.allclose(after["bn/moving_mean"], values["bn/moving_mean"])  # the graph did update
    for name in ("bn/moving_mean", "bn/moving_variance"):
        assert_close(_values(layer)[name], after[name], rtol=1e-5, what=f"{name} after one training run")


def test_shared_compat_layers_tower_counts_weights_once(keras):
    layer = TF1Layer(v1_net, phase_train=False)
    a, b = keras.Input(X.shape[1:]), keras.Input(X.shape[1:])
    model = keras.Model([a, b], keras.layers.Concatenate()([layer(a), layer(b)]))
    model([X, X])
    expected, _ = _graph(_values(layer), phase_train=False, n_calls=2)
    assert_close(float(tf.add_n(model.losses)), expected, what="shared tower vs tf.Graph with reuse=True")
