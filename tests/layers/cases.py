"""The case table shared by the layer tests: one small TF1 build per case, run on both implementations.

Each case is a function ``build(L, x, training)`` that applies layers from ``L``
(``compat_reg.layers`` or the reference, tf_keras' ``tf.compat.v1.layers``) to
``x`` and returns the output. ``training`` is the Python bool or the bool tensor
the case passes to batch norm / dropout.
"""

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf

import compat_reg
from compat_reg import _flavor

# tf_keras' tf.compat.v1.layers (its v1 API module), importable under either Keras flavor.
import tf_keras.api._v1.keras.__internal__.legacy.layers as reference_layers  # noqa: F401

REG = compat_reg.l2_regularizer(0.05)
REG_L1 = compat_reg.l1_regularizer(0.02)


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    build: Callable
    input_shape: tuple
    training: object = False  # False / True: Python bool; "tensor-true" / "tensor-false": a placeholder fed so
    seed: int = None  # graph-level seed (dropout cases)
    dtype: object = tf.float32


def _dense(L, x, t):
    return L.dense(x, 3, activation=tf.nn.relu, kernel_regularizer=REG, bias_regularizer=REG_L1)


def _dense_twice(L, x, t):
    return L.dense(L.dense(x, 4, kernel_regularizer=REG), 3, kernel_regularizer=REG)


def _dense_class_same_name(L, x, t):
    return L.Dense(3, name="fc", kernel_regularizer=REG)(L.Dense(6, name="fc", kernel_regularizer=REG)(x))


def _dense_reuse(L, x, t):
    y = L.dense(x, 6, name="fc", kernel_regularizer=REG)
    return L.dense(y, 6, name="fc", reuse=True, kernel_regularizer=REG)


def _dense_layer_called_twice(L, x, t):
    layer = L.Dense(6, kernel_regularizer=REG)
    return layer(layer(x))


def _dense_frozen(L, x, t):
    return L.dense(L.dense(x, 4, trainable=False, kernel_regularizer=REG), 3)


def _dense_scope_and_own_regularizer(L, x, t):
    with tf.compat.v1.variable_scope("block", regularizer=REG_L1):
        return L.dense(x, 3, kernel_regularizer=REG)


def _dense_activity(L, x, t):
    return L.dense(x, 3, activity_regularizer=REG, use_bias=False)


def _tower_reuse(L, x, t):
    with tf.compat.v1.variable_scope("tower"):
        first = L.dense(x, 3, kernel_regularizer=REG)
    with tf.compat.v1.variable_scope("tower", reuse=True):
        second = L.dense(x, 3, kernel_regularizer=REG)
    return first + second


def _keras_regularizer(L, x, t):
    keras_l2 = _flavor.keras().regularizers.L2(0.03)  # the flavor's own Keras regularizer object
    return L.conv2d(x, 2, 3, kernel_regularizer=keras_l2, activity_regularizer=keras_l2)


def _dense_rank3(L, x, t):
    return L.dense(x, 3, kernel_regularizer=REG)


def _conv1d_causal(L, x, t):
    return L.conv1d(x, 4, 3, padding="causal", dilation_rate=2, kernel_regularizer=REG)


def _conv2d(L, x, t):
    y = L.conv2d(x, 4, 3, strides=2, padding="same", activation=tf.nn.relu, kernel_regularizer=REG,
                 bias_regularizer=REG)
    return L.Conv2D(2, (2, 1), name="head")(y)


def _conv2d_channels_first(L, x, t):
    return L.conv2d(x, 4, 3, data_format="channels_first", kernel_regularizer=REG)


def _conv3d(L, x, t):
    return L.conv3d(x, 2, 2, kernel_regularizer=REG)


def _conv2d_transpose(L, x, t):
    y = L.conv2d_transpose(x, 3, 3, strides=2, kernel_regularizer=REG)
    return L.conv2d_transpose(y, 2, 2, strides=2, padding="same")


def _separable_conv2d(L, x, t):
    return L.separable_conv2d(x, 4, 3, depth_multiplier=2, padding="same", depthwise_regularizer=REG,
                              pointwise_regularizer=REG_L1, bias_regularizer=REG)


def _batch_norm(L, x, t):
    return L.batch_normalization(L.conv2d(x, 4, 3), training=t, gamma_regularizer=REG, beta_regularizer=REG_L1)


def _batch_norm_plain(L, x, t):
    return L.batch_normalization(x, training=t, fused=False, momentum=0.9, epsilon=1e-2)


def _batch_norm_2d(L, x, t):
    return L.batch_normalization(L.dense(x, 5), training=t, momentum=0.8)


def _batch_norm_no_center_scale(L, x, t):
    return L.batch_normalization(x, training=t, center=False, scale=False)


def _batch_norm_frozen(L, x, t):
    return L.batch_normalization(x, training=t, trainable=False)


def _batch_norm_axis1(L, x, t):
    return L.batch_normalization(x, axis=1, training=t, fused=False)


def _partitioned(L, x, t):
    with tf.compat.v1.variable_scope("p", partitioner=tf.compat.v1.fixed_size_partitioner(2)):
        y = L.dense(x, 4, kernel_regularizer=REG)
        return L.batch_normalization(y, training=t, gamma_regularizer=REG)


def _conv_bn_float64(L, x, t):
    return L.batch_normalization(L.conv2d(x, 2, 2, kernel_regularizer=REG), training=t)


def _dropout(L, x, t):
    return L.dropout(L.dense(x, 16), rate=0.4, seed=7, training=t)


def _dropout_noise_shape(L, x, t):
    return L.dropout(x, rate=0.5, noise_shape=[None, 1, 6], seed=3, training=t)


def _flatten(L, x, t):
    return L.dense(L.flatten(x), 2)


def _flatten_channels_first(L, x, t):
    return L.Flatten(data_format="channels_first")(x)


def _pool(name, **kwargs):
    def build(L, x, t):
        return getattr(L, name)(x, **kwargs)

    return build


def _pool_class(name, **kwargs):
    def build(L, x, t):
        return getattr(L, name)(**kwargs)(x)

    return build


CASES = [
    Case("dense", _dense, (4, 6)),
    Case("dense-rank3", _dense_rank3, (2, 3, 6)),
    Case("dense-twice-uniquified", _dense_twice, (4, 6)),
    Case("Dense-same-name-uniquified", _dense_class_same_name, (4, 6)),
    Case("dense-reuse-true-shares", _dense_reuse, (4, 6)),
    Case("Dense-called-twice-shares", _dense_layer_called_twice, (4, 6)),
    Case("dense-trainable-false", _dense_frozen, (4, 6)),
    Case("dense-scope-and-own-regularizer", _dense_scope_and_own_regularizer, (4, 6)),
    Case("dense-activity-regularizer", _dense_activity, (4, 6)),
    Case("tower-scope-reopened-with-reuse-shares", _tower_reuse, (4, 6)),
    Case("conv2d-keras-regularizer-objects", _keras_regularizer, (2, 5, 5, 2)),
    Case("conv1d-causal-dilated", _conv1d_causal, (2, 9, 3)),
    Case("conv2d-and-Conv2D", _conv2d, (2, 8, 8, 3)),
    Case("conv2d-channels-first", _conv2d_channels_first, (2, 3, 7, 7)),
    Case("conv3d", _conv3d, (2, 4, 4, 4, 2)),
    Case("conv2d-transpose", _conv2d_transpose, (2, 3, 3, 2)),
    Case("separable-conv2d", _separable_conv2d, (2, 6, 6, 3)),
    Case("batch-norm-fused-inference", _batch_norm, (2, 6, 6, 3), False),
    Case("batch-norm-fused-training", _batch_norm, (2, 6, 6, 3), True),
    Case("batch-norm-fused-tensor-true", _batch_norm, (2, 6, 6, 3), "tensor-true"),
    Case("batch-norm-fused-tensor-false", _batch_norm, (2, 6, 6, 3), "tensor-false"),
    Case("batch-norm-plain-training", _batch_norm_plain, (3, 4, 4, 2), True),
    Case("batch-norm-plain-tensor-true", _batch_norm_plain, (3, 4, 4, 2), "tensor-true"),
    Case("batch-norm-plain-tensor-false", _batch_norm_plain, (3, 4, 4, 2), "tensor-false"),
    Case("batch-norm-rank2-training", _batch_norm_2d, (5, 4), True),
    Case("batch-norm-rank2-inference", _batch_norm_2d, (5, 4), False),
    Case("batch-norm-no-center-no-scale", _batch_norm_no_center_scale, (3, 4, 4, 2), True),
    Case("batch-norm-trainable-false", _batch_norm_frozen, (3, 4, 4, 2), True),
    Case("batch-norm-axis1-rank3", _batch_norm_axis1, (3, 2, 5), True),
    Case("scope-partitioner-dense-and-batch-norm", _partitioned, (4, 6), True),
    Case("conv2d-batch-norm-float64", _conv_bn_float64, (2, 4, 4, 3), True, dtype=tf.float64),
    Case("dropout-inference", _dropout, (4, 6), False),
    Case("dropout-training-seeded", _dropout, (4, 6), True, seed=11),
    Case("dropout-tensor-true-seeded", _dropout, (4, 6), "tensor-true", seed=11),
    Case("dropout-noise-shape", _dropout_noise_shape, (4, 5, 6), True, seed=5),
    Case("flatten", _flatten, (2, 3, 2, 2)),
    Case("flatten-channels-first", _flatten_channels_first, (2, 3, 2, 2)),
    Case("max-pooling1d", _pool("max_pooling1d", pool_size=2, strides=2), (2, 7, 3)),
    Case("max-pooling2d-same", _pool("max_pooling2d", pool_size=3, strides=2, padding="same"), (2, 7, 7, 2)),
    Case("max-pooling3d", _pool("max_pooling3d", pool_size=2, strides=1), (2, 4, 4, 4, 2)),
    Case("average-pooling1d-same", _pool("average_pooling1d", pool_size=3, strides=2, padding="same"), (2, 7, 3)),
    Case("average-pooling2d", _pool("average_pooling2d", pool_size=2, strides=2), (2, 6, 6, 2)),
    Case("average-pooling3d-same", _pool("average_pooling3d", pool_size=2, strides=2, padding="same"), (2, 3, 5, 5, 1)),
    Case("MaxPooling2D-channels-first", _pool_class("MaxPooling2D", pool_size=2, strides=2,
                                                      data_format="channels_first"), (2, 2, 6, 6)),
    Case("AveragePooling1D-class", _pool_class("AveragePooling1D", pool_size=2, strides=1), (2, 5, 3)),
]
CASE_IDS = [c.id for c in CASES]


def inputs_for(case, seed=0):
    return np.random.default_rng(seed).standard_normal(case.input_shape).astype(case.dtype.as_numpy_dtype)


def weights_for(variable, seed):
    """Deterministic per-variable values; variances positive."""
    name = variable.op.name
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    value = rng.standard_normal(variable.shape.as_list()).astype(variable.dtype.base_dtype.as_numpy_dtype)
    return np.abs(value) + 0.5 if "variance" in name else value
