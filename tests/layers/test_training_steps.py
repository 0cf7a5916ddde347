"""A TF1 training script on compat_reg.layers trains exactly as on tf.compat.v1.layers (both flavors).

The script's shape: ``placeholder`` inputs and ``is_training``, conv + batch norm +
pooling + dropout + dense, ``loss = mse + get_regularization_loss()``, a
``MomentumOptimizer`` train op under ``control_dependencies(UPDATE_OPS)``. Both
implementations start from the same weights (loaded by TF1 name) and the same graph
seed; after three steps every variable (weights, momentum slots, moving statistics)
must agree to rtol 1e-5 / atol 1e-6 (float32 sums may be ordered differently).
"""

import numpy as np
import pytest
import tensorflow as tf

import compat_reg
import compat_reg.layers
from tests.helpers import assert_close
from tests.layers.cases import reference_layers
from tests.layers.cases import weights_for

pytestmark = pytest.mark.keras

STEPS = 3
X = np.random.default_rng(0).standard_normal([4, 8, 8, 3]).astype(np.float32)
Y = np.random.default_rng(1).standard_normal([4, 5]).astype(np.float32)


def _train(layers):
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(3)
        x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 3])
        y = tf.compat.v1.placeholder(tf.float32, [None, 5])
        is_training = tf.compat.v1.placeholder_with_default(False, [])
        reg = compat_reg.l2_regularizer(1e-2)
        h = layers.conv2d(x, 6, 3, padding="same", kernel_regularizer=reg, name="conv1")
        h = tf.nn.relu(layers.batch_normalization(h, training=is_training, name="bn1"))
        h = layers.max_pooling2d(h, 2, 2)
        h = layers.dropout(layers.flatten(h), 0.25, seed=5, training=is_training)
        out = layers.dense(h, 5, kernel_regularizer=reg, name="logits")
        loss = tf.reduce_mean(tf.square(out - y)) + tf.compat.v1.losses.get_regularization_loss()
        optimizer = tf.compat.v1.train.MomentumOptimizer(0.002, 0.9)
        with tf.control_dependencies(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
            train_op = optimizer.minimize(loss)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for var in tf.compat.v1.global_variables():
                if not var.op.name.endswith("Momentum"):
                    var.load(weights_for(var, 0), sess)
            losses = [sess.run([train_op, loss], {x: X, y: Y, is_training: True})[1] for _ in range(STEPS)]
            return losses, {v.op.name: sess.run(v) for v in tf.compat.v1.global_variables()}


def test_three_momentum_steps_with_update_ops_match_tf_compat_v1_layers():
    ours_losses, ours = _train(compat_reg.layers)
    ref_losses, ref = _train(reference_layers)
    assert sorted(ours) == sorted(ref)
    assert any(name.endswith("moving_mean") for name in ours)
    assert_close(ours_losses, ref_losses, rtol=1e-5, what="loss per step")
    assert ours_losses[-1] < ours_losses[0]
    for name, value in ref.items():
        assert_close(ours[name], value, rtol=1e-5, atol=1e-6, what=f"{name} after {STEPS} steps")
