"""compat_reg regularizers seen from Keras 3 and tf_keras: layers, configs, saved files, conversions.

Every test here is marked ``keras`` and runs under both flavors (``make test``).
"""

import os

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import compat_reg
from compat_reg import _flavor
from tests.helpers import assert_close, np_l1, np_l2_keras, np_l2_tf1

pytestmark = pytest.mark.keras

RNG = np.random.default_rng(3)
X_DENSE = RNG.standard_normal((2, 5)).astype(np.float32)
X_CONV = RNG.standard_normal((1, 6, 6, 2)).astype(np.float32)


def _np_tf1_penalty(case, w):
    """NumPy value of REGULARIZERS[case] in TF1's convention."""
    return REGULARIZERS[case][1](w)


# id -> (factory, NumPy reference in TF1's convention)
REGULARIZERS = {
    "l1": (lambda: compat_reg.l1_regularizer(0.01), lambda w: np_l1(w, 0.01)),
    "l2": (lambda: compat_reg.l2_regularizer(0.1), lambda w: np_l2_tf1(w, 0.1)),
    "l1_l2": (lambda: compat_reg.l1_l2_regularizer(0.01, 0.02), lambda w: np_l1(w, 0.01) + np_l2_tf1(w, 0.02)),
    "l1_l2-only-l2": (lambda: compat_reg.l1_l2_regularizer(0.0, 0.3), lambda w: np_l2_tf1(w, 0.3)),
    "sum": (
        lambda: compat_reg.sum_regularizer([compat_reg.l2_regularizer(0.2), compat_reg.l2_regularizer(0.1),
                                            compat_reg.l1_regularizer(0.05)]),
        lambda w: np_l2_tf1(w, 0.2) + np_l2_tf1(w, 0.1) + np_l1(w, 0.05),
    ),
    "l2-scale-0": (lambda: compat_reg.l2_regularizer(0.0), lambda w: 0.0),
}

# id -> layer factory (kernel_regularizer, bias_regularizer) and its input
LAYERS = {
    "Dense": (lambda k, kr, br: k.layers.Dense(4, kernel_regularizer=kr, bias_regularizer=br,
                                                bias_initializer="ones"), X_DENSE),
    "Conv2D": (lambda k, kr, br: k.layers.Conv2D(3, 3, kernel_regularizer=kr, bias_regularizer=br,
                                                  bias_initializer="ones"), X_CONV),
}


def _layer_losses(keras, layer_case, kernel_reg, bias_reg, weights=None):
    make, x = LAYERS[layer_case]
    layer = make(keras, kernel_reg, bias_reg)
    layer(x)
    if weights is not None:
        layer.set_weights(weights)
    return layer, [float(loss) for loss in layer.losses]


@pytest.mark.parametrize("layer_case", list(LAYERS))
@pytest.mark.parametrize("case", list(REGULARIZERS))
def test_layer_regularizers_equal_to_keras_and_numpy(keras, layer_case, case):
    reg = REGULARIZERS[case][0]()
    layer, ours = _layer_losses(keras, layer_case, reg, REGULARIZERS[case][0]())
    kernel, bias = (np.asarray(v) for v in layer.get_weights())
    _, converted = _layer_losses(
        keras, layer_case, compat_reg.to_keras(reg), compat_reg.to_keras(REGULARIZERS[case][0]()),
        weights=[kernel, bias],
    )
    assert len(ours) == len(converted) == 2
    assert_close(ours, converted, atol=0.0)
    assert_close(ours, [_np_tf1_penalty(case, kernel), _np_tf1_penalty(case, bias)])


def test_gradient_reaches_the_variables_through_keras(keras):
    layer = keras.layers.Dense(3, kernel_regularizer=compat_reg.l2_regularizer(0.1))
    layer(X_DENSE)
    with tf.GradientTape() as tape:
        total = tf.add_n(layer.losses)
    kernel_var = layer.trainable_weights[0]
    grad = tape.gradient(total, kernel_var.value if _flavor.is_keras3() else kernel_var)
    assert grad is not None
    assert_close(grad, np.float32(0.1) * np.asarray(layer.get_weights()[0]))


def test_mixed_precision_layer_regularizes_the_float32_kernel(keras):
    layer = keras.layers.Dense(3, kernel_regularizer=compat_reg.l2_regularizer(0.1), dtype="mixed_float16")
    layer(X_DENSE)
    (loss,) = layer.losses
    kernel = np.asarray(layer.get_weights()[0])
    assert kernel.dtype == np.float32 and loss.dtype == tf.float32
    assert_close(float(loss), np_l2_tf1(kernel, 0.1))


# --- get_config / from_config -----------------------------------------------------------

@pytest.mark.parametrize("case", list(REGULARIZERS))
def test_config_round_trip(keras, case):
    reg = REGULARIZERS[case][0]()
    config = reg.get_config()
    again = type(reg).from_config(config)
    assert again == reg and again.get_config() == config
    via_keras = keras.regularizers.deserialize(keras.regularizers.serialize(reg))
    assert type(via_keras) is type(reg) and via_keras == reg
    w = RNG.standard_normal((3, 2)).astype(np.float32)
    assert_close(float(via_keras(tf.constant(w))), _np_tf1_penalty(case, w))


def test_regularizers_are_keras_regularizers(keras):
    reg = compat_reg.l2_regularizer(0.1)
    assert isinstance(reg, keras.regularizers.Regularizer)
    assert keras.regularizers.get(reg) is reg


def test_tensor_scale_cannot_be_serialized_and_says_why(keras):
    reg = compat_reg.l2_regularizer(tf.Variable(0.1))
    with pytest.raises(ValueError, match=r"Cannot serialize a regularizer whose `scale` is a tensor"):
        reg.get_config()


# --- saved files ------------------------------------------------------------------------------

def _model(keras):
    return keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(4, kernel_regularizer=compat_reg.l2_regularizer(0.1),
                           bias_regularizer=compat_reg.l1_l2_regularizer(0.01, 0.02), bias_initializer="ones"),
        keras.layers.Dense(2, kernel_regularizer=compat_reg.sum_regularizer(
            [compat_reg.l1_regularizer(0.03), compat_reg.l2_regularizer(0.2)])),
    ])


# Formats per flavor: Keras 3 writes `.keras` and (legacy) `.h5`; tf_keras writes `.keras`,
# `.h5` and the TF SavedModel directory. Keras 3 has no Keras-model SavedModel
# (model.export writes an inference-only artifact), so it is not in its list.
SAVE_FORMATS = {
    "keras3": {"keras-v3": ("m.keras", {}), "h5": ("m.h5", {})},
    "tf_keras": {"keras-v3": ("m.keras", {}), "h5": ("m.h5", {}), "savedmodel": ("sm", {"save_format": "tf"})},
}


@pytest.mark.parametrize("fmt", list(SAVE_FORMATS[_flavor.name()]))
def test_saved_model_round_trip(keras, tmp_path, fmt):
    filename, kwargs = SAVE_FORMATS[_flavor.name()][fmt]
    model = _model(keras)
    model(X_DENSE)
    before = [float(loss) for loss in model.losses]
    path = os.path.join(str(tmp_path), filename)
    model.save(path, **kwargs)
    loaded = keras.models.load_model(path)
    loaded(X_DENSE)
    regs = [(layer.kernel_regularizer, layer.bias_regularizer) for layer in loaded.layers]
    assert regs[0][0] == compat_reg.l2_regularizer(0.1)
    assert regs[0][1] == compat_reg.l1_l2_regularizer(0.01, 0.02)
    assert isinstance(regs[1][0], compat_reg.SumRegularizer)
    assert_close([float(loss) for loss in loaded.losses], before)
    kernel, bias = (np.asarray(v) for v in loaded.layers[0].get_weights())
    assert_close(float(loaded.losses[0]), np_l2_tf1(kernel, 0.1))
    assert_close(float(loaded.losses[1]), np_l1(bias, 0.01) + np_l2_tf1(bias, 0.02))


# --- to_keras / from_keras ------------------------------------------------------------------

# id -> (TF1 regularizer factory, Keras class name, expected Keras config {l1, l2})
TO_KERAS = {
    "l1": (lambda: compat_reg.l1_regularizer(0.3), "L1", {"l1": 0.3}),
    "l2": (lambda: compat_reg.l2_regularizer(0.3), "L2", {"l2": 0.15}),
    "l1_l2": (lambda: compat_reg.l1_l2_regularizer(0.1, 0.4), "L1L2", {"l1": 0.1, "l2": 0.2}),
    "l1_l2-zero-l1": (lambda: compat_reg.l1_l2_regularizer(0.0, 0.4), "L2", {"l2": 0.2}),
    "sum-l2-l2": (
        lambda: compat_reg.sum_regularizer([compat_reg.l2_regularizer(0.5), compat_reg.l2_regularizer(0.25)]),
        "L2", {"l2": 0.375},
    ),
    "sum-l1-l2": (
        lambda: compat_reg.sum_regularizer([compat_reg.l1_regularizer(0.5), compat_reg.l2_regularizer(0.25)]),
        "L1L2", {"l1": 0.5, "l2": 0.125},
    ),
    "l2-zero-stays-L2": (lambda: compat_reg.l2_regularizer(0.0), "L2", {"l2": 0.0}),
    "l1-zero-stays-L1": (lambda: compat_reg.l1_regularizer(0.0), "L1", {"l1": 0.0}),
    "sum-with-keras-L2-member": (
        lambda: compat_reg.sum_regularizer([compat_reg.l2_regularizer(0.5), _flavor.keras().regularizers.L2(0.25)]),
        "L2", {"l2": 0.5},
    ),
    "sum-with-keras-member": (
        lambda: compat_reg.sum_regularizer([compat_reg.l2_regularizer(0.5), _flavor.keras().regularizers.L1(0.25)]),
        "L1L2", {"l1": 0.25, "l2": 0.25},
    ),
}


@pytest.mark.parametrize("case", list(TO_KERAS))
def test_to_keras_is_exact(keras, case):
    make, kind, expected = TO_KERAS[case]
    reg = make()
    converted = compat_reg.to_keras(reg)
    assert type(converted) is getattr(keras.regularizers, kind)
    config = converted.get_config()
    for key, value in expected.items():
        assert_close(float(config[key]), value)
    w = RNG.standard_normal((4, 3)).astype(np.float32)
    assert_close(float(converted(tf.constant(w))), float(reg(tf.constant(w))))


# id -> (Keras regularizer factory, NumPy value in Keras' convention, (class and config after
# from_keras -> to_keras)). A term with coefficient 0 disappears on the way (TF1's l1_l2_regularizer
# with a zero scale is a plain L1 or L2), so L1L2 with one zero term comes back as L1 or L2.
FROM_KERAS = {
    "L1": (lambda k: k.regularizers.L1(0.3), lambda w: np_l1(w, 0.3), ("L1", {"l1": 0.3})),
    "L2": (lambda k: k.regularizers.L2(0.3), lambda w: np_l2_keras(w, 0.3), ("L2", {"l2": 0.3})),
    "L1L2": (lambda k: k.regularizers.L1L2(l1=0.1, l2=0.2), lambda w: np_l1(w, 0.1) + np_l2_keras(w, 0.2),
             ("L1L2", {"l1": 0.1, "l2": 0.2})),
    "L1L2-only-l2": (lambda k: k.regularizers.L1L2(l2=0.2), lambda w: np_l2_keras(w, 0.2), ("L2", {"l2": 0.2})),
    "L1L2-only-l1": (lambda k: k.regularizers.L1L2(l1=0.4), lambda w: np_l1(w, 0.4), ("L1", {"l1": 0.4})),
}


@pytest.mark.parametrize("case", list(FROM_KERAS))
def test_from_keras_is_exact_and_round_trips(keras, case):
    make, reference, (back_kind, back_config) = FROM_KERAS[case]
    keras_reg = make(keras)
    ours = compat_reg.from_keras(keras_reg)
    assert isinstance(ours, compat_reg.Regularizer)
    w = RNG.standard_normal((4, 3)).astype(np.float32)
    assert_close(float(ours(tf.constant(w))), float(keras_reg(tf.constant(w))))
    assert_close(float(ours(tf.constant(w))), reference(w))
    back = compat_reg.to_keras(ours)
    assert type(back) is getattr(keras.regularizers, back_kind)
    config = back.get_config()
    assert set(config) == set(back_config), config
    for key, value in back_config.items():
        # tf_keras stores coefficients as float32: 0.2 reads back as 0.2000000029...
        assert_close(float(config[key]), value, what=f"{back_kind}.{key}")
    assert_close(float(back(tf.constant(w))), reference(w))


def test_from_keras_l2_is_twice_the_tf1_scale(keras):
    ours = compat_reg.from_keras(keras.regularizers.L2(0.05))
    assert ours == compat_reg.l2_regularizer(0.1)
    assert compat_reg.to_keras(compat_reg.l2_regularizer(0.1)).get_config()["l2"] == pytest.approx(0.05, rel=1e-7)
    assert compat_reg.from_keras(None) is None and compat_reg.to_keras(None) is None


# id -> (callable doing the conversion, regex the message must match)
NOT_CONVERTIBLE = {
    "tf_slim-closure": (lambda k: compat_reg.to_keras(slim.l2_regularizer(0.1)), r"tf_slim closures"),
    "lambda": (lambda k: compat_reg.to_keras(lambda w: tf.reduce_sum(w)), r"custom callables"),
    "variable-scale": (
        lambda k: compat_reg.to_keras(compat_reg.l2_regularizer(tf.Variable(0.1))),
        r"scale is a tensor or variable.*Keras regularizers take only Python floats",
    ),
    "sum-with-closure": (
        lambda k: compat_reg.to_keras(compat_reg.sum_regularizer([compat_reg.l1_regularizer(0.1),
                                                                  slim.l2_regularizer(0.1)])),
        r"tf_slim closures",
    ),
    "orthogonal": (
        lambda k: compat_reg.from_keras(k.regularizers.OrthogonalRegularizer(0.1)),
        r"OrthogonalRegularizer\) to a TF1 regularizer: only Keras L1, L2 and L1L2",
    ),
    "keras-subclass": (lambda k: compat_reg.from_keras(_l2_subclass(k)(0.1)), r"MyL2\) to a TF1 regularizer"),
    "plain-function": (lambda k: compat_reg.from_keras(np.sum), r"to a TF1 regularizer"),
}


def _l2_subclass(keras):
    class MyL2(keras.regularizers.L2):
        def __call__(self, x):
            return 2.0 * super().__call__(x)

    return MyL2


@pytest.mark.parametrize("case", list(NOT_CONVERTIBLE))
def test_no_exact_equivalent_is_a_clear_error(keras, case):
    convert, pattern = NOT_CONVERTIBLE[case]
    with pytest.raises(compat_reg.NoExactKerasEquivalent, match=pattern) as raised:
        convert(keras)
    assert isinstance(raised.value, ValueError)


# --- tensor / trainable-variable scales ---------------------------------------------------

def test_keras_rejects_a_variable_scale_and_we_accept_it(keras):
    scale = tf.Variable(0.1, name="coef")
    with pytest.raises(ValueError):
        keras.regularizers.L2(scale)
    with pytest.raises(ValueError):
        keras.regularizers.L1(tf.constant(0.1))
    layer = keras.layers.Dense(3, kernel_regularizer=compat_reg.l2_regularizer(scale))
    layer(X_DENSE)
    kernel = np.asarray(layer.get_weights()[0])
    with tf.GradientTape() as tape:
        total = tf.add_n(layer.losses)
    grad = tape.gradient(total, scale)
    assert_close(float(total), np_l2_tf1(kernel, np.float32(0.1)))
    assert_close(float(grad), np.sum(np.square(kernel.astype(np.float64))) / 2.0)
    scale.assign(0.4)
    assert_close(float(tf.add_n(layer.losses)), np_l2_tf1(kernel, np.float32(0.4)))


# --- integer weights ----------------------------------------------------------------------------

def test_integer_keras_variable_raises_naming_it(keras):
    layer = keras.layers.Layer()
    counter = layer.add_weight(name="counter", shape=(3,), dtype="int32", initializer="zeros", trainable=False)
    with pytest.raises(TypeError, match=r"cannot regularize '[^']*counter[^']*'.*int32.*Keras 3 silently returns 0"):
        compat_reg.l2_regularizer(0.1)(counter)
    # What we protect against, as measured: Keras 3.15 silently returns 0; Keras 3.3.3 fails in TF's
    # conversion of the scale, without naming the variable.
    version = _flavor.version_tuple(_flavor.version())
    if _flavor.is_keras3() and version >= (3, 15):
        assert float(keras.regularizers.L2(0.1)(counter)) == 0.0
    elif _flavor.is_keras3() and version <= (3, 3, 3):
        with pytest.raises(TypeError, match=r"^Cannot convert 0.1 to EagerTensor of dtype int32$"):
            keras.regularizers.L2(0.1)(counter)


def test_scale_zero_in_a_layer_built_in_a_tf1_graph_sums(keras):
    """Keras 3 sums layer.losses without skipping None, even in a tf.Graph: it gets a 0.

    tf_keras (like get_variable) skips None, so there the disabled kernel penalty is absent.
    """
    with tf.Graph().as_default():
        layer = keras.layers.Dense(2, kernel_regularizer=compat_reg.l2_regularizer(0.0),
                                   bias_regularizer=compat_reg.l2_regularizer(0.1), bias_initializer="ones")
        layer(tf.zeros([1, 3]))
        losses = layer.losses
        assert all(loss is not None for loss in losses)
        assert len(losses) == (2 if _flavor.is_keras3() else 1)
        total = tf.add_n(losses)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            assert_close(session.run(total), np_l2_tf1(np.ones(2, np.float32), 0.1))


def test_every_regularizer_class_has_a_conversion_case(keras):
    """Coverage: each public compat_reg regularizer class appears in TO_KERAS, each
    convertible Keras class in FROM_KERAS, so a new class cannot ship without its case."""
    exported = [getattr(compat_reg, name) for name in compat_reg.__all__]  # lazy exports (PEP 562)
    ours = {cls for cls in exported
            if isinstance(cls, type) and issubclass(cls, compat_reg.Regularizer) and cls is not compat_reg.Regularizer}
    assert ours == {compat_reg.L1Regularizer, compat_reg.L2Regularizer, compat_reg.SumRegularizer}
    covered = {type(make()) for make, _, _ in TO_KERAS.values()}
    assert ours <= covered
    from compat_reg.conversion import _KERAS_KINDS

    assert {type(make(keras)).__name__ for make, *_ in FROM_KERAS.values()} == set(_KERAS_KINDS)
