"""tf_slim.nets.resnet_v1.resnet_v1_50 inside TF1Layer in a functional model, trained with fit.

Reference: the same function built in a fresh tf.Graph, its weights loaded from the
layer by TF1 name, ``tf.compat.v1.losses.get_regularization_loss()`` (rtol 1e-6).
"""

import numpy as np
import pytest
import tensorflow as tf

from compat_reg.keras.tf1_layer import TF1Layer
from tests.helpers import assert_close
from tests.keras_bridge import tf1_functions as F

pytestmark = pytest.mark.keras


def _graph_regularization(x, values):
    graph = tf.Graph()
    with graph.as_default():
        _, variables = F.build_in_graph(F.RESNET, x)
        reg = tf.compat.v1.losses.get_regularization_loss()
        n_losses = len(tf.compat.v1.get_collection(F.REG))
        assert set(variables) == set(values)
        # Every variable is set from the layer's value, as ``var.load(value, sess)`` does (it feeds
        # the initializer's value input), all in one run: one executor instead of one per variable
        # plus the random initialization of 23M parameters that the loads overwrite.
        feeds = {var.initializer.inputs[1]: values[name] for name, var in variables.items()}
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run([var.initializer for var in variables.values()], feed_dict=feeds)
            loaded = sess.run(variables)
            assert all(np.array_equal(loaded[name], values[name]) for name in variables)
            return float(sess.run(reg)), n_losses


def test_resnet_v1_50_trains_with_fit_and_matches_graph_mode(keras):
    layer = TF1Layer(F.RESNET.fn, name="resnet")
    inputs = keras.Input(F.RESNET.input_shape)
    model = keras.Model(inputs, layer(inputs))
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    # One step of batch 2 (was two): one step already moves every trainable weight and every
    # moving mean, which is what is asserted; the second step only cost a forward+backward pass.
    x = rng.standard_normal((2, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, size=(2,))
    before = {n: v.numpy().copy() for n, v in layer.tf1_variables.items()}
    assert sum(n.endswith("/weights") for n in before) == 54  # 53 convolutions + the logits

    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    after = {n: v.numpy() for n, v in layer.tf1_variables.items()}
    trainable_ids = {id(w) for w in layer.trainable_weights}
    trainable = {n for n, v in layer.tf1_variables.items() if id(v) in trainable_ids}
    moved = [n for n in trainable if not np.array_equal(after[n], before[n])]
    assert sorted(moved) == sorted(trainable)
    stats = [n for n in after if n.endswith("moving_mean")]
    assert stats and all(not np.array_equal(after[n], before[n]) for n in stats)

    model(x)
    reg, n_losses = _graph_regularization(x, after)
    assert len(model.losses) == n_losses
    assert_close(float(tf.add_n(model.losses)), reg, what="resnet_v1_50 regularization vs graph mode")
