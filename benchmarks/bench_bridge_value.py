"""Value + gradient of the bridged L2 weight decay over resnet_v1_50's weights, in ``tf.function``.

What is timed, per path, is one call returning the scalar penalty and its gradient
with respect to every regularized weight (the 54 conv/logits kernels of
``tf_slim.nets.resnet_v1.resnet_v1_50``, 1000 classes: 25.5M float32 values), on the
same weights in every path:

* ``numpy floor``: one read of the weights and one write of the gradients
  (``benchmarks.bench_regularization_value.numpy_paths``: chunked
  ``multiply``+``vdot``, on all CPUs or one thread, whichever is faster). Nothing
  that produces value and gradient moves fewer bytes.
* ``bridge: TF1Layer weight penalties``: resnet_v1_50 under ``resnet_arg_scope``
  with ``compat_reg.l2_regularizer(1e-4)`` as ``weights_regularizer``, wrapped in
  ``compat_reg.keras.TF1Layer``; inside a ``tf.function``, value
  ``add_n(layer.weight_regularization_losses())`` (the weight-decay part of
  ``layer.losses``, the same tensors a call adds) and ``tape.gradient`` to the kernels.
* ``bridge: TF1Layer call + losses``: the same, but through a full layer call
  (``add_n(layer.losses)`` after ``layer(images)``, ``is_training=False``) on an
  *empty* batch of 32x32 images: it includes dispatching the ~1,000 ops of the
  TF1 function, which a training step pays anyway for its forward pass.
* ``direct``: ``add_n([1e-4 * tf.nn.l2_loss(w) for w in kernels])`` and its
  gradient in a ``tf.function``, no Keras, no bridge: the fastest form TensorFlow
  has for this penalty, to separate the bridge's own overhead from TensorFlow's.
* ``Keras model.losses``: the active Keras' own mechanism for the same penalty: one
  layer holding 54 weights of the same shapes with ``regularizer=L2(5e-5)`` (Keras'
  ``L2(s)`` is ``s * sum(w**2)``, so ``5e-5`` is TF1's ``1e-4 * l2_loss``), value
  ``add_n(model.losses)`` and its gradient, inside ``tf.function``; and the same
  without ``tf.function`` (eager).

A process runs one Keras flavor, so the benchmark runs itself twice: Keras 3 in this
process' child and tf_keras in a child with ``TF_USE_LEGACY_KERAS=1``; each child
measures its own floor, bridge and Keras paths round-robin (load from other
processes falls on all alike) and reports best and median. Every path is checked
against a float64 NumPy reference before it is timed.

Target (issue 3): the bridge <= 1.5x the floor on both flavors.
Usage: ``python -m benchmarks.bench_bridge_value [--quick]``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

WEIGHT_DECAY = 1e-4
FLOOR = "numpy floor"
BRIDGE = "bridge: TF1Layer weight penalties, tf.function"
BRIDGE_CALL = "bridge: TF1Layer call + losses (empty batch)"
KERAS = "Keras model.losses, tf.function"
KERAS_EAGER = "Keras model.losses, eager"
DIRECT = "direct: add_n(s * l2_loss(w)), tf.function"


def _resnet_fn(inputs, is_training=False):
    import tensorflow as tf
    import tf_slim as slim
    from tf_slim.nets import resnet_v1

    import compat_reg

    with slim.arg_scope(resnet_v1.resnet_arg_scope(weight_decay=WEIGHT_DECAY)):
        with slim.arg_scope([slim.conv2d], weights_regularizer=compat_reg.l2_regularizer(WEIGHT_DECAY)):
            logits, _ = resnet_v1.resnet_v1_50(inputs, num_classes=1000, is_training=is_training)
    return tf.squeeze(logits, [1, 2])


def child(repeat):
    """Measure the paths under this process' Keras flavor; print one JSON line."""
    import numpy as np
    import tensorflow as tf

    import compat_reg  # noqa: F401  (enables tf_slim on TF 2.21)
    from benchmarks._timing import interleaved_times
    from benchmarks.bench_regularization_value import numpy_paths
    from compat_reg import _flavor
    from compat_reg.keras import TF1Layer

    keras = _flavor.keras()
    layer = TF1Layer(_resnet_fn, name="resnet_v1_50")
    layer(tf.zeros([1, 32, 32, 3]))
    image = tf.zeros([0, 32, 32, 3])
    names = [n for n in layer.tf1_variables if n.endswith("/weights")]
    kernels = [layer.tf1_variables[n] for n in names]
    values = [k.numpy() for k in kernels]

    @tf.function
    def bridged():
        with tf.GradientTape() as tape:
            loss = tf.add_n(layer.weight_regularization_losses())
        return loss, tape.gradient(loss, kernels)

    @tf.function
    def bridged_call():
        with tf.GradientTape() as tape:
            layer(image)
            loss = tf.add_n(layer.losses)
        return loss, tape.gradient(loss, kernels)

    class Holder(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.kernels = [
                self.add_weight(
                    shape=v.shape, name=n.replace("/", "_"), initializer="zeros",
                    regularizer=keras.regularizers.L2(WEIGHT_DECAY / 2),
                )
                for n, v in zip(names, values)
            ]

        def call(self, x):
            return x

    holder = Holder()
    model = keras.Sequential([keras.Input((1,)), holder])
    for var, value in zip(holder.kernels, values):
        var.assign(value)

    def native_eager():
        with tf.GradientTape() as tape:
            loss = tf.add_n(model.losses)
        return loss, tape.gradient(loss, holder.kernels)

    native = tf.function(native_eager)

    @tf.function
    def direct():
        with tf.GradientTape() as tape:
            loss = tf.add_n([WEIGHT_DECAY * tf.nn.l2_loss(k) for k in kernels])
        return loss, tape.gradient(loss, kernels)
    threads = os.cpu_count() or 1
    floor_n, floor_1, _ = numpy_paths(values, np.float32(WEIGHT_DECAY), threads)

    ref = WEIGHT_DECAY * sum(np.sum(np.square(v, dtype=np.float64)) for v in values) / 2.0
    checks = {BRIDGE: bridged, BRIDGE_CALL: bridged_call, DIRECT: direct, KERAS: native, KERAS_EAGER: native_eager,
              "floor_n": floor_n, "floor_1": floor_1}
    for name, fn in checks.items():
        value, grads = fn()
        np.testing.assert_allclose(float(value), ref, rtol=1e-5, err_msg=name)
        for g, w in zip(grads, values):
            np.testing.assert_allclose(np.asarray(g), np.float32(WEIGHT_DECAY) * w, rtol=1e-5, err_msg=name)
    n_losses = len(layer.losses)

    def numpy_out(fn):
        return lambda: fn()

    def tf_out(fn):
        def run():
            value, grads = fn()
            return float(value), grads  # the value reaches Python; the gradients stay as tensors

        return run

    paths = {"floor_n": numpy_out(floor_n), "floor_1": numpy_out(floor_1),
             BRIDGE: tf_out(bridged), BRIDGE_CALL: tf_out(bridged_call), DIRECT: tf_out(direct),
             KERAS: tf_out(native)}
    if repeat > 3:
        paths[KERAS_EAGER] = tf_out(native_eager)
    runs = interleaved_times(paths, repeat=repeat, warmup=2)
    best = {n: min(t) for n, t in runs.items()}
    median = {n: statistics.median(t) for n, t in runs.items()}
    for stat in (best, median):
        stat[FLOOR] = min(stat.pop("floor_n"), stat.pop("floor_1"))
    print(json.dumps({
        "flavor": _flavor.name(), "version": _flavor.version(), "tensorflow": tf.__version__,
        "weights": len(values), "floats": int(sum(v.size for v in values)), "bridged_losses": n_losses,
        "best": best, "median": median, "repeat": repeat,
    }))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 timed rounds instead of 21, no eager row")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 21
    if args.child:
        return child(repeat)

    results = []
    for legacy in ("", "1"):
        env = dict(os.environ, TF_USE_LEGACY_KERAS=legacy)
        cmd = [sys.executable, "-m", "benchmarks.bench_bridge_value", "--child"] + (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            return proc.returncode
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    first = results[0]
    print(f"resnet_v1_50: {first['weights']} L2-regularized kernels, {first['floats'] / 1e6:.1f}M float32, "
          f"{first['bridged_losses']} bridged losses; tensorflow {first['tensorflow']}; "
          f"{first['repeat']} interleaved rounds per flavor; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("best = fastest round (cost without interference), median = typical under the load at the time")
    width = 60
    print(f"{'flavor / path':<{width}} {'best':>9}  {'/floor':>6}  {'median':>9}  {'/floor':>6}")
    for res in results:
        best, median = res["best"], res["median"]
        for name in (FLOOR, BRIDGE, BRIDGE_CALL, DIRECT, KERAS, KERAS_EAGER):
            if name not in best:
                continue
            label = f"{res['flavor']} {res['version']}: {name}"
            print(f"{label:<{width}} {best[name] * 1e3:6.2f} ms  {best[name] / best[FLOOR]:5.2f}x  "
                  f"{median[name] * 1e3:6.2f} ms  {median[name] / median[FLOOR]:5.2f}x")
    for res in results:
        best, median = res["best"], res["median"]
        print(f"target <= 1.50x {FLOOR}: {res['flavor']} bridge at {best[BRIDGE] / best[FLOOR]:.2f}x (best), "
              f"{median[BRIDGE] / median[FLOOR]:.2f}x (median); full call at "
              f"{best[BRIDGE_CALL] / best[FLOOR]:.2f}x (best); Keras' own at "
              f"{best[KERAS] / best[FLOOR]:.2f}x (best)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
