"""``model.losses`` of a TF1Layer right after functional construction, before any call on data (both flavors).

What Keras does for its own layers (measured, Keras 3.15.1 and tf_keras 2.21, a
``Dense(kernel_regularizer=L2, activity_regularizer=L2)`` in ``keras.Model(inputs,
dense(inputs))``): right after construction both report the weight penalty,
computed from the weight on access; Keras 3 reports no activity penalty (it needs
data), tf_keras a symbolic tensor of its construction graph that ``sum`` cannot
evaluate eagerly. TF1Layer reports, until its first call on data, each
``regularizer(variable)`` computed on access and no activity / collection entry
(never a tensor of a dropped graph); after a call, the call's losses as always.

Reference: the same function built in a fresh ``tf.Graph`` on the TF1Layer's
weights (loaded by TF1 name): ``len(REGULARIZATION_LOSSES)`` and
``get_regularization_loss()``, float32 rtol 1e-6.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import compat_reg
from compat_reg import _flavor
from compat_reg.keras.tf1_layer import TF1Layer
from tests.helpers import assert_close
from tests.helpers import np_l2_tf1

pytestmark = pytest.mark.keras

SHAPE = (8, 8, 3)
ACTIVITY_SCALE = 1e-2


def slim_net(x):
    """conv2d + fully_connected under an arg_scope weights regularizer (2 penalties)."""
    with slim.arg_scope([slim.conv2d, slim.fully_connected], weights_regularizer=slim.l2_regularizer(1e-3)):
        net = slim.conv2d(x, 4, [3, 3], scope="conv1")
        net = slim.flatten(net)
        return slim.fully_connected(net, 2, activation_fn=None, scope="fc")


def get_variable_net(x):
    """get_variable(regularizer=...) and a variable_scope regularizer (2 penalties)."""
    w = tf.compat.v1.get_variable("w", [3, 4], regularizer=compat_reg.l1_regularizer(1e-2))
    with tf.compat.v1.variable_scope("head", regularizer=compat_reg.l2_regularizer(1e-3)):
        v = tf.compat.v1.get_variable("v", [4, 2])
    return tf.matmul(tf.matmul(tf.reduce_mean(x, axis=[1, 2]), w), v)


def activity_net(x):
    """slim_net plus an activity penalty added to the collection (needs data)."""
    y = slim_net(x)
    tf.compat.v1.add_to_collection(
        tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES, ACTIVITY_SCALE * tf.reduce_sum(tf.square(y))
    )
    return y


NETS = {"slim_arg_scope": (slim_net, 2), "get_variable": (get_variable_net, 2), "activity": (activity_net, 2)}


def _data(batch=2):
    rng = np.random.RandomState(0)
    return rng.rand(batch, *SHAPE).astype(np.float32), rng.rand(batch, 2).astype(np.float32)


def _graph_reference(fn, layer, x):
    """(number of collection entries, get_regularization_loss(), weight-penalty sum) on the layer's weights."""
    values = {name: np.asarray(var.numpy()) for name, var in layer.tf1_variables.items()}
    graph = tf.Graph()
    with graph.as_default():
        fn(tf.compat.v1.placeholder(tf.float32, [x.shape[0], *SHAPE]))
        entries = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
        weight_entries = [e for e in entries if "/Regularizer/" in e.name]
        total = tf.compat.v1.losses.get_regularization_loss()
        weights_total = tf.add_n(weight_entries)
        with tf.compat.v1.Session(graph=graph) as sess:
            for var in tf.compat.v1.global_variables():
                var.load(values[var.op.name], sess)
            total_v, weights_v = sess.run([total, weights_total], {graph.get_tensor_by_name("Placeholder:0"): x})
    return len(entries), len(weight_entries), float(total_v), float(weights_v)


def _randomize(layer):
    rng = np.random.RandomState(1)
    for var in layer.tf1_variables.values():
        var.assign(rng.normal(size=var.shape).astype(np.float32))


def _functional(keras, fn):
    inputs = keras.Input(SHAPE)
    layer = TF1Layer(fn, name="net")
    model = keras.Model(inputs, layer(inputs))
    _randomize(layer)
    return model, layer


def _assert_losses(model, count, total):
    losses = model.losses
    assert len(losses) == count
    assert all(hasattr(loss, "numpy") for loss in losses)  # eager values, no tensor of a dropped graph
    assert_close(float(sum(losses)), total)


@pytest.mark.parametrize("net", list(NETS), ids=list(NETS))
def test_functional_construction_gives_weight_penalties(keras, net):
    fn, n_weight = NETS[net]
    model, layer = _functional(keras, fn)
    x, _ = _data()
    _, weight_count, _, weights_total = _graph_reference(fn, layer, x)
    assert weight_count == n_weight
    _assert_losses(model, weight_count, weights_total)
    assert len(layer.losses) == weight_count


@pytest.mark.parametrize("net", list(NETS), ids=list(NETS))
def test_after_a_call_on_data_and_after_fit(keras, net):
    fn, _ = NETS[net]
    model, layer = _functional(keras, fn)
    x, y = _data()
    model(x)
    count, _, total, _ = _graph_reference(fn, layer, x)
    _assert_losses(model, count, total)
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
    before = layer.tf1_variables["fc/weights" if net != "get_variable" else "w"].numpy().copy()
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)  # one step
    assert not np.allclose(layer.tf1_variables["fc/weights" if net != "get_variable" else "w"].numpy(), before)
    model(x)
    count, _, total, _ = _graph_reference(fn, layer, x)
    _assert_losses(model, count, total)


def test_weight_penalties_follow_the_weights_until_the_first_call(keras):
    """Computed on access: assigning new weights after construction changes sum(model.losses)."""
    model, layer = _functional(keras, slim_net)
    x, _ = _data()
    first = float(sum(model.losses))
    layer.tf1_variables["fc/weights"].assign(layer.tf1_variables["fc/weights"] * 2.0)
    _, _, _, weights_total = _graph_reference(slim_net, layer, x)
    assert not np.isclose(float(sum(model.losses)), first)
    _assert_losses(model, 2, weights_total)


def test_gradients_of_construction_losses_reach_the_weights(keras):
    model, layer = _functional(keras, get_variable_net)
    with tf.GradientTape() as tape:
        total = tf.add_n(model.losses)
    grads = tape.gradient(total, [layer.tf1_variables["w"], layer.tf1_variables["head/v"]])
    w, v = (layer.tf1_variables[n].numpy() for n in ("w", "head/v"))
    np.testing.assert_allclose(grads[0].numpy(), 1e-2 * np.sign(w), rtol=1e-6)
    np.testing.assert_allclose(grads[1].numpy(), 1e-3 * v, rtol=1e-6)


def test_subclassed_model(keras):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.body = TF1Layer(activity_net, name="body")

        def call(self, inputs, training=None):
            return self.body(inputs, training=training)

    model = Net()
    x, y = _data()
    model(x)
    _randomize(model.body)
    model(x)
    count, _, total, _ = _graph_reference(activity_net, model.body, x)
    assert count == 3
    _assert_losses(model, count, total)
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    model(x)
    count, _, total, _ = _graph_reference(activity_net, model.body, x)
    _assert_losses(model, count, total)


def test_subclassed_build_follows_keras_own_weight_regularizer(keras):
    """``model.build(shape)`` of a subclassed model: TF1Layer reports its weight penalties iff Keras
    reports its own Dense's (tf_keras: yes, computed on access; Keras 3.15: none), never a dead tensor."""

    def subclassed(make):
        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.body = make()

            def call(self, inputs, training=None):
                return self.body(inputs)

        return Net()

    own = subclassed(lambda: keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L2(1e-3)))
    own.build((None, 4))
    own_counts = len(own.losses)
    assert own_counts == (0 if _flavor.is_keras3() else 1)  # measured: Keras 3.15.1 / tf_keras 2.21
    model = subclassed(lambda: TF1Layer(slim_net, name="body"))
    model.build((None, *SHAPE))
    if not own_counts:
        assert model.losses == []
        return
    _randomize(model.body)
    _, weight_count, _, weights_total = _graph_reference(slim_net, model.body, _data()[0])
    _assert_losses(model, weight_count, weights_total)


def test_nested_tf1_layer_penalties_after_construction(keras):
    """A TF1Layer called inside another's fn: both layers' weight penalties, once each (NumPy reference)."""

    def inner_fn(x):
        w = tf.compat.v1.get_variable("w", [3, 3], regularizer=compat_reg.l2_regularizer(1e-2))
        return tf.matmul(x, w)

    inner = TF1Layer(inner_fn, name="inner")

    def outer_fn(x):
        v = tf.compat.v1.get_variable("v", [3, 3], regularizer=compat_reg.l2_regularizer(1e-3))
        return inner(tf.matmul(x, v))

    inputs = keras.Input((3,))
    outer = TF1Layer(outer_fn, name="outer")
    model = keras.Model(inputs, outer(inputs))
    w, v = inner.tf1_variables["w"].numpy(), outer.tf1_variables["v"].numpy()
    expected = np_l2_tf1(w, 1e-2) + np_l2_tf1(v, 1e-3)
    _assert_losses(model, 2, expected)
    model(np.ones((2, 3), np.float32))
    _assert_losses(model, 2, expected)
