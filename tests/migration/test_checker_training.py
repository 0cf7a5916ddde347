"""``training=True``: a slim net with batch norm in training mode against a native Keras port.

The TF1 side runs ``UPDATE_OPS`` with its train op; the statistics stage compares the
moving statistics after the steps; each batch-norm trap is produced by a faulty port.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import compat_reg
from compat_reg import _flavor
from migration.equivalence import check_equivalence
from migration.equivalence import diagnoses as dg
from migration.equivalence import optimizers
from migration.equivalence._losses import seeded_inputs

SHAPE = (8, 6, 6, 2)
X = seeded_inputs(SHAPE)
DECAY = 0.9
# Keras 3 BatchNormalization moves the variance towards the biased batch variance, like TF1's non-fused
# batch norm; tf_keras' (fused) one towards the unbiased one, like TF1's fused kernel (see bn-variance-correction).
MATCHING_FUSED = None if not _flavor.is_keras3() else False


def slim_net(fused=MATCHING_FUSED, dropout=False):
    def model(x):
        bn = {"is_training": True, "decay": DECAY, "fused": fused}
        with slim.arg_scope([slim.conv2d], weights_regularizer=compat_reg.l2_regularizer(1e-3),
                            normalizer_fn=slim.batch_norm, normalizer_params=bn):
            h = slim.conv2d(x, 3, [3, 3], scope="conv1")
        h = slim.flatten(h)
        if dropout:
            h = slim.dropout(h, 0.5, is_training=True)
        return slim.fully_connected(h, 4, activation_fn=None, scope="logits")

    return model


def keras_port(bn=None, dropout=False, **bn_kwargs):
    def build():
        keras = _flavor.keras()
        inputs = keras.Input(SHAPE[1:])
        h = keras.layers.Conv2D(3, 3, padding="same", use_bias=False, name="conv1",
                                kernel_regularizer=keras.regularizers.L2(5e-4))(inputs)
        kwargs = {"momentum": DECAY, "epsilon": 1e-3, "scale": False}
        kwargs.update(bn_kwargs)
        h = (bn() if bn else keras.layers.BatchNormalization(name="bn1", **kwargs))(h)
        h = keras.layers.Flatten()(keras.layers.ReLU()(h))
        if dropout:
            h = keras.layers.Dropout(0.5, name="drop")(h)
        return keras.Model(inputs, keras.layers.Dense(4, name="logits")(h))

    return build


def no_update_bn():
    """A hand-written batch norm that normalizes with the batch moments but never updates its moving ones."""
    keras = _flavor.keras()

    class ForgetfulBN(keras.layers.Layer):
        def build(self, shape):
            c = shape[-1]
            self.beta = self.add_weight(name="beta", shape=(c,), initializer="zeros")
            self.moving_mean = self.add_weight(name="moving_mean", shape=(c,), initializer="zeros", trainable=False)
            self.moving_variance = self.add_weight(name="moving_variance", shape=(c,), initializer="ones",
                                                   trainable=False)

        def call(self, x, training=None):
            if training:
                mean, var = tf.nn.moments(x, [0, 1, 2])
            else:
                mean, var = self.moving_mean, self.moving_variance
            return (x - mean) / tf.sqrt(var + 1e-3) + self.beta

    return ForgetfulBN(name="bn1")


@pytest.mark.keras
@pytest.mark.parametrize("optimizer", optimizers.NAMES)
def test_native_port_with_batch_norm_in_training_mode_is_equal_under_each_optimizer(optimizer):
    result = check_equivalence(slim_net(), keras_port(), inputs=X, steps=2, training=True, optimizer=optimizer,
                               learning_rate=0.05)
    assert result.equivalent, result.format_table()
    assert [s.name for s in result.stages][-1] == "statistics"
    assert result.stage("statistics").summary.startswith("2 moving statistics agree after 2 step(s)")


@pytest.mark.keras
def test_the_tf1_side_runs_update_ops_so_the_statistics_move():
    result = check_equivalence(slim_net(), keras_port(), inputs=X, steps=1, training=True)
    assert result.equivalent, result.format_table()
    details = result.stage("statistics").details
    assert [d.split(":")[0] for d in details] == ["conv1/BatchNorm/moving_mean / bn1/moving_mean",
                                                  "conv1/BatchNorm/moving_variance / bn1/moving_variance"]
    # one step from (mean 0, variance 1): moving <- 0.9 * moving + 0.1 * batch moved both, on both sides
    moved = [float(d.rsplit("by up to ", 1)[1]) for d in details]
    assert all(m > 1e-3 for m in moved), details


BN_TRAPS = [
    ("forgotten-updates", keras_port(bn=no_update_bn), MATCHING_FUSED, "statistics", dg.BN_UPDATES_FORGOTTEN,
     "the moving statistic is never updated on the new side in training mode, while TF1 updates it with decay=0.9"),
    ("momentum-is-1-minus-decay", keras_port(momentum=1 - DECAY), MATCHING_FUSED, "statistics",
     dg.BN_MOMENTUM_DECAY, "Keras momentum=0.1 is 1 - the TF1 decay=0.9"),
    ("momentum-differs", keras_port(momentum=0.99), MATCHING_FUSED, "statistics", dg.BN_MOMENTUM_DECAY,
     "update with momentum=0.99 on the new side, TF1 with decay=0.9; use BatchNormalization(momentum=0.9)"),
    ("epsilon-differs", keras_port(epsilon=1e-5), True, "forward", dg.BN_EPSILON,
     "batch-norm epsilon differs: TF1 [0.0010000000474974513], new [1e-05]"),
    ("variance-correction", keras_port(), not MATCHING_FUSED if MATCHING_FUSED is not None else False,
     "statistics", dg.BN_VARIANCE_CORRECTION, "(N = 288 values per channel)"),
]


@pytest.mark.keras
@pytest.mark.parametrize("case,port,fused,stage,code,message", BN_TRAPS, ids=[c[0] for c in BN_TRAPS])
def test_each_batch_norm_trap_is_named(case, port, fused, stage, code, message):
    result = check_equivalence(slim_net(fused=fused), port, inputs=X, steps=2, training=True)
    assert result.failed_stage == stage, result.format_table()
    d = result.stage(stage).diagnoses[0]
    assert d.code == code, result.format_table()
    assert message in d.message


@pytest.mark.keras
def test_dropout_is_switched_off_on_the_new_side_with_a_note():
    result = check_equivalence(slim_net(), keras_port(dropout=True), inputs=X, steps=1, training=True)
    assert result.equivalent, result.format_table()
    assert result.info["dropout"].startswith("switched off on the new side for the check (rate 0): drop;")


@pytest.mark.keras
def test_tf1_dropout_in_training_mode_fails_the_build_with_the_fix():
    result = check_equivalence(slim_net(dropout=True), keras_port(dropout=True), inputs=X, steps=1, training=True)
    assert result.failed_stage == "build"
    assert result.stage("build").summary.startswith("the TF1 outputs depend on random ops in training mode (")
    assert "keep_prob=1.0, or slim.dropout(..., is_training=False)" in result.stage("build").summary
    assert np.isfinite(X).all()
