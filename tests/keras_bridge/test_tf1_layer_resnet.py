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
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            assert set(variables) == set(values)
            for name, var in variables.items():
                var.load(values[name], sess)
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
    x = rng.standard_normal((4, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, size=(4,))
    before = {n: v.numpy().copy() for n, v in layer.tf1_variables.items()}
    assert sum(n.endswith("/weights") for n in before) == 54  # 53 convolutions + the logits

    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    after = {n: v.numpy() for n, v in layer.tf1_variables.items()}
    trainable = {n for n, v in layer.tf1_variables.items() if any(v is w for w in layer.trainable_weights)}
    moved = [n for n in trainable if not np.array_equal(after[n], before[n])]
    assert sorted(moved) == sorted(trainable)
    stats = [n for n in after if n.endswith("moving_mean")]
    assert stats and all(not np.array_equal(after[n], before[n]) for n in stats)

    model(x)
    reg, n_losses = _graph_regularization(x, after)
    assert len(model.losses) == n_losses
    assert_close(float(tf.add_n(model.losses)), reg, what="resnet_v1_50 regularization vs graph mode")
