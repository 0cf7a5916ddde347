"""compat_reg.layers' public surface: the same names and signatures as tf.compat.v1.layers, TF1's errors."""

import inspect

import numpy as np
import pytest
import tensorflow as tf

import compat_reg.layers
from tests.layers.cases import reference_layers

pytestmark = pytest.mark.keras

FUNCTIONS = [
    "dense", "conv1d", "conv2d", "conv3d", "conv2d_transpose", "separable_conv2d", "batch_normalization",
    "dropout", "flatten", "max_pooling1d", "max_pooling2d", "max_pooling3d", "average_pooling1d",
    "average_pooling2d", "average_pooling3d",
]
CLASSES = [
    "Dense", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "SeparableConv2D", "BatchNormalization", "Dropout",
    "Flatten", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D",
]


def _parameters(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    described = []
    for p in inspect.signature(target).parameters.values():
        default = p.default
        if default is not inspect.Parameter.empty and not isinstance(default, (int, float, str, tuple, type(None))):
            default = type(default)  # initializer objects: same class, not the same instance
        described.append((p.name, p.kind, default))
    return described


@pytest.mark.parametrize("name", FUNCTIONS + CLASSES)
def test_signature_is_tf_compat_v1_layers(name):
    assert _parameters(getattr(compat_reg.layers, name)) == _parameters(getattr(reference_layers, name))


def test_all_lists_every_layer():
    assert set(FUNCTIONS + CLASSES) <= set(compat_reg.layers.__all__)
    for name in compat_reg.layers.__all__:
        assert getattr(compat_reg.layers, name) is not None


@pytest.mark.parametrize("layers", [compat_reg.layers, reference_layers], ids=["compat_reg", "reference"])
def test_same_name_twice_without_reuse_raises_as_tf1(graph, layers):
    x = tf.zeros([2, 3])
    layers.dense(x, 4, name="fc")
    with pytest.raises(ValueError, match="Variable fc/kernel already exists"):
        layers.dense(x, 4, name="fc")


def test_reuse_with_a_different_shape_raises_as_tf1(graph):
    compat_reg.layers.dense(tf.zeros([2, 3]), 4, name="fc")
    with pytest.raises(ValueError, match="Trying to share variable fc/kernel"):
        compat_reg.layers.dense(tf.zeros([2, 5]), 4, name="fc", reuse=True)


def test_auto_reuse_scope_shares(graph):
    for _ in range(2):
        with tf.compat.v1.variable_scope("tower", reuse=tf.compat.v1.AUTO_REUSE):
            compat_reg.layers.dense(tf.zeros([2, 3]), 4, name="fc")
    assert [v.op.name for v in tf.compat.v1.global_variables()] == ["tower/fc/kernel", "tower/fc/bias"]


def test_class_attributes_after_call(graph):
    layer = compat_reg.layers.Dense(4, kernel_regularizer=lambda w: tf.reduce_sum(w))
    layer(tf.zeros([2, 3]))
    assert layer.scope_name == "dense"
    assert [v.op.name for v in layer.trainable_variables] == ["dense/kernel", "dense/bias"]
    assert layer.kernel.shape.as_list() == [3, 4]
    assert len(layer.losses) == 1


def test_scope_name_before_call_says_to_call_first():
    with pytest.raises(ValueError, match="Call the layer before reading `scope_name`"):
        compat_reg.layers.Dense(4).scope_name


def test_eager_call_says_where_to_call():
    with pytest.raises(RuntimeError, match="call it inside a tf.Graph"):
        compat_reg.layers.dense(tf.zeros([2, 3]), 4)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: compat_reg.layers.Dense(0), "Invalid value for argument `units`. Expected a positive integer. "
                                             "Received: units=0"),
        (lambda: compat_reg.layers.Conv2D(4, (3, 3, 3)), "Invalid value for argument `kernel_size`"),
        (lambda: compat_reg.layers.Conv2D(4, 3, padding="full"), "Invalid value for argument `padding`"),
        (lambda: compat_reg.layers.MaxPooling2D(2, 2, data_format="NHWC"), "Invalid value for argument `data_format`"),
        (lambda: compat_reg.layers.Dropout(1.5), "Received: rate=1.5"),
        (lambda: compat_reg.layers.Dense(3, bogus=1), "unexpected keyword arguments \\['bogus'\\]"),
    ],
    ids=["units", "kernel-size", "padding", "data-format", "rate", "unknown-kwarg"],
)
def test_argument_errors_name_the_argument_and_value(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_unimplemented_batch_norm_options_say_so():
    with pytest.raises(NotImplementedError, match="does not implement `renorm`. Received: renorm=True"):
        compat_reg.layers.BatchNormalization(renorm=True)


def test_update_ops_drive_a_tf1_training_loop(sess):
    """The TF1 idiom: run UPDATE_OPS with the train op; the moving mean converges to the data mean."""
    x = tf.constant(np.full([4, 2, 2, 3], 5.0, np.float32))
    y = compat_reg.layers.batch_normalization(x, training=True, momentum=0.5)
    updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(updates):
        step = tf.identity(y)
    sess.run(tf.compat.v1.global_variables_initializer())
    for _ in range(20):
        sess.run(step)
    moving_mean = [v for v in tf.compat.v1.global_variables() if v.op.name.endswith("moving_mean")][0]
    np.testing.assert_allclose(sess.run(moving_mean), np.full(3, 5.0), rtol=1e-5)


@pytest.mark.parametrize("layers", [compat_reg.layers, reference_layers], ids=["compat_reg", "reference"])
def test_apply_and_the_scope_argument_as_tf1(graph, layers):
    layer = layers.Dense(2)
    layer.apply(tf.zeros([1, 3]), scope="custom")
    assert layer.scope_name == "custom"
    assert [v.op.name for v in tf.compat.v1.global_variables()] == ["custom/kernel", "custom/bias"]


@pytest.mark.parametrize("layers", [compat_reg.layers, reference_layers], ids=["compat_reg", "reference"])
def test_layer_updates_per_call_and_none_when_frozen(graph, layers):
    x = tf.zeros([2, 4, 4, 3])
    norm = layers.BatchNormalization()
    norm(x, training=True)
    norm(x, training=True)
    frozen = layers.BatchNormalization(trainable=False)
    frozen(x, training=True)
    assert (len(norm.updates), len(frozen.updates)) == (4, 0)
    assert len(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)) == 4


def test_unnamed_layers_are_uniquified_per_kind(graph):
    x = tf.zeros([2, 4, 4, 3])
    y = compat_reg.layers.conv2d(compat_reg.layers.conv2d(x, 3, 1), 3, 1)
    y = compat_reg.layers.batch_normalization(y)
    y = compat_reg.layers.dense(compat_reg.layers.dense(compat_reg.layers.flatten(y), 4), 2)
    assert [v.op.name for v in tf.compat.v1.global_variables()] == [
        "conv2d/kernel", "conv2d/bias", "conv2d_1/kernel", "conv2d_1/bias",
        "batch_normalization/gamma", "batch_normalization/beta",
        "batch_normalization/moving_mean", "batch_normalization/moving_variance",
        "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias",
    ]
    assert [v.op.name for v in tf.compat.v1.trainable_variables()] == [
        "conv2d/kernel", "conv2d/bias", "conv2d_1/kernel", "conv2d_1/bias",
        "batch_normalization/gamma", "batch_normalization/beta",
        "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias",
    ]


def test_the_reference_is_tf_compat_v1_layers():
    """Under tf_keras the reference module is tf.compat.v1.layers itself; under Keras 3 that API is gone."""
    from compat_reg import _flavor

    if _flavor.is_keras3():
        with pytest.raises(AttributeError, match="`dense` is not available with Keras 3"):
            tf.compat.v1.layers.dense  # noqa: B018
    else:
        for name in FUNCTIONS + CLASSES:
            assert getattr(tf.compat.v1.layers, name) is getattr(reference_layers, name), name
