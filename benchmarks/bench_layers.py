"""``compat_reg.layers`` (built on ``get_variable``) vs tf_keras' legacy layers (``tf.compat.v1.layers``).

The two ways ``compat_reg.layers`` could be built (issue 8): (a) directly on
``tf.compat.v1.get_variable`` + TF ops, which is what ``compat_reg.layers`` is;
(b) delegating to tf_keras' legacy layers, which is what ``tf.compat.v1.layers``
is under ``TF_USE_LEGACY_KERAS=1`` (a delegating wrapper would add one Python call
per layer on top of it, so the legacy layers themselves are the measure of (b)).
(b) is the named baseline.

The net: ``BLOCKS`` blocks of ``conv2d(3x3, 16, L2 on kernel) -> batch_normalization
(training=<bool tensor>) -> relu``, then ``flatten -> dense(10, L2 on kernel)``, on
``[None, 16, 16, 3]`` inputs; the graph also sums ``REGULARIZATION_LOSSES`` once.

Printed, for each way:

* graph build time in a fresh ``tf.Graph``, as this process's CPU time (``time.process_time``:
  other processes on a shared machine barely move it, unlike wall time), minimum over rounds run
  round-robin with ``gc.collect()`` before each, and its ratio to the baseline;
* the number of graph ops (deterministic) and its ratio;
* the ``TF1Layer`` build: ``TF1Layer(net)`` + its first eager call (creates the
  variables and traces the function once), CPU time, minimum over rounds;
* a consistency check: ``sum(layer.losses)`` of the TF1Layer equals the graph's
  ``get_regularization_loss()`` on the same weights (rtol 1e-6).

Timings are never asserted. Usage: ``python -m benchmarks.bench_layers [--quick]``;
run it under both flavors (``TF_USE_LEGACY_KERAS=1``).
"""

import argparse
import gc
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")  # tf.compat.v1.layers' deprecation warnings, one per call

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import compat_reg  # noqa: E402
import compat_reg.layers  # noqa: E402
from compat_reg import _flavor  # noqa: E402
from compat_reg.keras import TF1Layer  # noqa: E402

# tf_keras' tf.compat.v1.layers, importable on either flavor (its v1 API module).
import tf_keras.api._v1.keras.__internal__.legacy.layers as tf_keras_legacy_layers  # noqa: E402

BLOCKS = 10
SHAPE = [16, 16, 3]
BASELINE = "tf_keras legacy (b)"
WAYS = {BASELINE: tf_keras_legacy_layers, "compat_reg.layers (a)": compat_reg.layers}


def make_net(layers):
    reg = compat_reg.l2_regularizer(1e-4)

    def net(x, is_training=False):
        y = x
        for _ in range(BLOCKS):
            y = layers.conv2d(y, 16, 3, padding="same", kernel_regularizer=reg, use_bias=False)
            y = layers.batch_normalization(y, training=is_training)
            y = tf.nn.relu(y)
        y = layers.flatten(y)
        return layers.dense(y, 10, kernel_regularizer=reg)

    return net


def build_graph(layers):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None] + SHAPE)
        training = tf.compat.v1.placeholder_with_default(False, [])
        make_net(layers)(x, is_training=training)
        tf.compat.v1.losses.get_regularization_loss()
    return graph


def build_tf1_layer(layers, x):
    layer = TF1Layer(make_net(layers))
    layer(x)
    return layer


def minimum_time(fns, rounds):
    best = {name: float("inf") for name in fns}
    names = list(fns)
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            gc.collect()
            start = time.process_time()
            fns[name]()
            best[name] = min(best[name], time.process_time() - start)
    return best


def same_losses(layers, x):
    """sum(TF1Layer.losses) vs the graph's get_regularization_loss() on the layer's weights."""
    layer = build_tf1_layer(layers, x)
    values = {name: v.numpy() for name, v in layer.tf1_variables.items()}
    keras_total = float(tf.add_n(layer.losses))
    graph = tf.Graph()
    with graph.as_default():
        make_net(layers)(tf.constant(x))
        total = tf.compat.v1.losses.get_regularization_loss()
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for var in tf.compat.v1.global_variables():
                var.load(values[var.op.name], sess)
            graph_total = float(sess.run(total))
    return np.isclose(keras_total, graph_total, rtol=1e-6, atol=0.0), keras_total, graph_total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    rounds = 3 if args.quick else 7
    x = np.random.default_rng(0).standard_normal([2] + SHAPE).astype(np.float32)
    print(f"bench_layers: {BLOCKS} x (conv2d+batch_normalization) + dense; flavor {_flavor.name()} "
          f"{_flavor.version()}, tensorflow {tf.__version__}; baseline: {BASELINE}")

    graph_times = minimum_time({name: (lambda m=m: build_graph(m)) for name, m in WAYS.items()}, rounds)
    ops = {name: len(build_graph(m).get_operations()) for name, m in WAYS.items()}
    bridge_times = minimum_time({name: (lambda m=m: build_tf1_layer(m, x)) for name, m in WAYS.items()},
                                max(2, rounds // 2))
    base_g, base_ops, base_b = graph_times[BASELINE], ops[BASELINE], bridge_times[BASELINE]
    print("times: CPU seconds of this process, minimum over interleaved rounds")
    print(f"{'way':<24} {'tf.Graph build':>15} {'ratio':>7} {'graph ops':>10} {'ratio':>7} "
          f"{'TF1Layer build':>15} {'ratio':>7}  TF1Layer losses == graph")
    for name, m in WAYS.items():
        ok, keras_total, graph_total = same_losses(m, x)
        print(f"{name:<24} {graph_times[name] * 1e3:12.1f} ms {graph_times[name] / base_g:6.2f}x "
              f"{ops[name]:10d} {ops[name] / base_ops:6.2f}x {bridge_times[name] * 1e3:12.1f} ms "
              f"{bridge_times[name] / base_b:6.2f}x  {ok} ({keras_total:.7g} vs {graph_total:.7g})", flush=True)


if __name__ == "__main__":
    main()
