"""tf_slim 1.1.0 on TF 2.21 through compat_reg.enable_tf_slim_compat().

slim.batch_norm (all three code paths) and the nets of tf_slim.nets build and run in a
fresh graph; their outputs and regularization losses are compared with NumPy.
``batch_norm`` reaches the legacy ``tf.compat.v1.layers`` code of tf_keras whatever
``tf.keras`` is, so these tests are keras-marked and run under both flavors.
"""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim
from tensorflow.python.framework import ops as tf_ops

import compat_reg
from compat_reg import slim_compat
from tests.helpers import assert_close, np_l2_tf1

REG = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES
RNG = np.random.default_rng(5)


def test_enable_is_idempotent_and_does_not_patch_tensorflow():
    assert slim_compat.is_enabled()  # import compat_reg enabled it
    assert compat_reg.enable_tf_slim_compat() == []  # nothing left to patch
    assert compat_reg.enable_tf_slim_compat() == []
    assert sum(1 for f in sys.meta_path if isinstance(f, slim_compat._LegacyLayersAlias)) == 1
    assert not hasattr(tf_ops, "Tensor"), "TensorFlow's own ops module must stay untouched"
    assert "tf_slim.layers.utils" in slim_compat.patched_modules()
    from tf_slim.layers import utils as slim_utils

    assert slim_utils.ops.Tensor is tf.Tensor
    assert slim_utils.ops.GraphKeys is tf_ops.GraphKeys  # everything else forwards


def test_legacy_layers_alias_resolves_to_tf_keras_src():
    import tf_keras.legacy_tf_layers.normalization as alias
    import tf_keras.src.legacy_tf_layers.normalization as real

    assert alias is real


def test_opt_out_leaves_the_breakage_and_enable_fixes_it(clean_process):
    """In a clean process with COMPAT_REG_NO_SLIM_COMPAT=1 batch_norm fails as on plain TF 2.21."""
    lines = clean_process["opt_out"]
    assert lines == [
        "enabled at import: False",
        "BROKEN: No module named 'tf_keras.legacy_tf_layers'",
        "BROKEN: module 'tensorflow.python.framework.ops' has no attribute 'Tensor'",
        "FIXED",
    ]


# id -> batch_norm kwargs; the comment says which tf_slim code path runs
BATCH_NORM_PATHS = {
    "default": dict(fused=False),  # BatchNormalization layer, unfused (legacy tf layers)
    "fused-layer": dict(fused=True),  # BatchNormalization layer with fused=True
    "fused-op": dict(fused=True, zero_debias_moving_mean=True),  # tf_slim's _fused_batch_norm (ops.Tensor)
    "fused-op-rank2": dict(fused=True),  # rank 2 inputs take _fused_batch_norm too
}


def _np_batch_norm(x, gamma, beta, eps=1e-3):
    axes = tuple(range(x.ndim - 1))
    x = x.astype(np.float64)
    return (x - x.mean(axes)) / np.sqrt(x.var(axes) + eps) * gamma + beta


@pytest.mark.keras
@pytest.mark.parametrize("path", list(BATCH_NORM_PATHS), ids=list(BATCH_NORM_PATHS))
def test_batch_norm_paths_build_run_and_regularize(sess, path):
    shape = (6, 3) if path.endswith("rank2") else (4, 3, 3, 5)
    x_np = RNG.standard_normal(shape).astype(np.float32) * 2.0 + 1.0
    gamma = RNG.uniform(0.5, 1.5, shape[-1]).astype(np.float32)
    beta = RNG.standard_normal(shape[-1]).astype(np.float32)
    y = slim.batch_norm(
        tf.constant(x_np), is_training=True, scale=True,
        param_initializers={"gamma": tf.compat.v1.constant_initializer(gamma),
                            "beta": tf.compat.v1.constant_initializer(beta)},
        param_regularizers={"gamma": compat_reg.l2_regularizer(0.1), "beta": compat_reg.l1_regularizer(0.2)},
        scope="bn", **BATCH_NORM_PATHS[path],
    )
    updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    reg = compat_reg.get_regularization_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    y_v, reg_v = sess.run([y, reg])
    if updates:
        sess.run(updates)
    assert_close(y_v, _np_batch_norm(x_np, gamma, beta), rtol=1e-5, atol=1e-5,
                 what="float32 normalization: rtol/atol 1e-5")
    assert_close(reg_v, np_l2_tf1(gamma, 0.1) + 0.2 * np.abs(beta.astype(np.float64)).sum())


@pytest.mark.keras
def test_resnet_v1_50_weight_decay_equals_numpy_sum(sess):
    from tf_slim.nets import resnet_v1

    with slim.arg_scope(resnet_v1.resnet_arg_scope(weight_decay=1e-4)):
        logits, _ = resnet_v1.resnet_v1_50(tf.zeros([1, 32, 32, 3]), num_classes=10, is_training=True)
    losses = compat_reg.get_regularization_losses()
    total = compat_reg.get_regularization_loss()
    tf1_total = tf.compat.v1.losses.get_regularization_loss()
    weights = [v for v in tf.compat.v1.global_variables() if v.op.name.endswith("/weights")]
    # every conv weight (and only those) carries the weight decay, as in TF1; the legacy
    # conv layer names the loss after its "kernel", tf_slim renames the variable "weights"
    loss_owners = [t.name.split("/Regularizer/")[0].replace("/kernel", "/weights") for t in losses]
    assert sorted(loss_owners) == sorted(v.op.name for v in weights)
    assert len(weights) == 54
    sess.run(tf.compat.v1.global_variables_initializer())
    values, total_v, tf1_v, _ = sess.run([weights, total, tf1_total, logits])  # one run: one executor
    assert sum(w.size for w in values) > 23_000_000
    expected = sum(np_l2_tf1(w, 1e-4) for w in values)
    # float32 L2Loss over up to 2.4M values per tensor, then add_n of 53: measured error is
    # well below 1e-6 relative; rtol 1e-6 kept.
    assert_close(total_v, expected, what="resnet_v1_50 weight decay vs NumPy float64")
    assert_close(total_v, tf1_v)


_SLOW = pytest.mark.slow  # large fully connected layers or 299x299 inputs: 5-10 s each on 2 cores
_KERAS = pytest.mark.keras  # the net uses slim.batch_norm, i.e. tf_keras' legacy layers

# id -> (module, constructor, arg_scope, input size, marks): the tf_slim nets that build with
# compat enabled (resnet_v1_50 has its own test above), at the smallest input each accepts
# (inception_v2/v3 shrink their last pooling kernel for small inputs; 107 is the smallest input whose
# Mixed_6e map still fits inception_v3's fixed 5x5 AuxLogits pool;
# inception_v1, alexnet, vgg and overfeat end in fixed VALID kernels and need their full size).
# Nets without batch_norm (alexnet, vgg, overfeat) touch no Keras code: not keras-marked.
NETS = {
    "resnet_v2_50": ("resnet_v2", "resnet_v2_50", "resnet_arg_scope", 32, (_KERAS,)),
    "inception_v1": ("inception_v1", "inception_v1", "inception_v1_arg_scope", 224, (_KERAS,)),
    "alexnet_v2": ("alexnet", "alexnet_v2", "alexnet_v2_arg_scope", 224, ()),
    "inception_v2": ("inception_v2", "inception_v2", "inception_v2_arg_scope", 64, (_KERAS, _SLOW)),
    "inception_v3": ("inception_v3", "inception_v3", "inception_v3_arg_scope", 107, (_KERAS, _SLOW)),
    "vgg_a": ("vgg", "vgg_a", "vgg_arg_scope", 224, (_SLOW,)),
    "overfeat": ("overfeat", "overfeat", "overfeat_arg_scope", 231, (_SLOW,)),
}


@pytest.mark.parametrize("net", [pytest.param(k, marks=v[4], id=k) for k, v in NETS.items()])
def test_slim_nets_build_run_and_regularize(sess, net):
    import importlib

    mod_name, fn_name, scope_name, size, _ = NETS[net]
    mod = importlib.import_module(f"tf_slim.nets.{mod_name}")
    with slim.arg_scope(getattr(mod, scope_name)(weight_decay=1e-3)):
        logits, _ = getattr(mod, fn_name)(tf.zeros([1, size, size, 3]), num_classes=4)
    total = compat_reg.get_regularization_loss()
    weights = [v for v in tf.compat.v1.global_variables() if v.op.name.endswith("/weights")]
    sess.run(tf.compat.v1.global_variables_initializer())
    out, total_v, w_values = sess.run([logits, total, weights])
    assert np.isfinite(out).all()
    assert_close(total_v, sum(np_l2_tf1(w, 1e-3) for w in w_values), rtol=2e-6,
                 what="float32 add_n order over up to 100 tensors")
