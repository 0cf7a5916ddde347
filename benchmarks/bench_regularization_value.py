"""Value + gradient of the summed L2 weight decay over resnet_v1_50's weights (graph mode).

What is timed, per path, is one ``session.run`` fetching the scalar penalty and its
gradient with respect to every regularized weight (54 conv/logits kernels,
25.5M float32 values), on the same weights in every path:

* ``numpy floor, all CPUs``: every weight cut into 1 MiB chunks; per chunk
  ``np.multiply(w, s, out=g)`` into a preallocated buffer, then the value
  ``vdot(w, g) / 2`` (``= s/2 * sum(w*w)``) while the chunk is still in cache, so
  memory sees one read of the weights and one write of the gradients; chunks spread
  over as many threads as CPUs (NumPy releases the GIL), as TensorFlow spreads its
  ops. ``numpy floor, 1 thread``: the same on one thread. ``numpy floor`` is the
  faster of the two (per statistic): nothing that produces value and gradient can
  move fewer bytes.
* ``numpy grad only, 1 thread``: the bare gradient pass without the value, for reference.
* ``tf_slim: tf.compat.v1.losses.get_regularization_loss``: resnet_v1_50 built with
  tf_slim's own ``resnet_arg_scope(weight_decay=1e-4)`` (tf_slim's l2 closures via
  ``get_variable``), summed by TF1's function.
* ``compat_reg: get_regularization_loss``: the same network with
  ``compat_reg.l2_regularizer(1e-4)`` as ``weights_regularizer``, summed by
  ``compat_reg.get_regularization_loss()``.
* ``tf_slim.apply_regularization`` / ``compat_reg.apply_regularization``: the
  explicit path over the same weight list, each with its own l2 regularizer.
* ``compat_reg: get_regularization_loss, tf_slim's graph``: a control, compat_reg's
  sum over tf_slim's collection in tf_slim's own graph and session (it separates
  "which code" from "which graph/session": the two graphs run the same ops).

Every path is checked against a float64 NumPy reference before it is timed. Paths
run round-robin for N rounds so that load from other processes falls on all of them
alike; the best round (cost without interference) and the median are printed. Ratios are printed against the NumPy floor (the issue's target:
<= 1.5x) and against tf_slim's path, plus a breakdown of the compat_reg path (value
alone; gradients computed but not copied out; the fetch through make_callable). Usage: ``python -m benchmarks.bench_regularization_value [--quick]``.
"""

import argparse
import os
import statistics
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import compat_reg  # noqa: E402
from benchmarks._timing import interleaved_times  # noqa: E402

WEIGHT_DECAY = 1e-4
FLOOR = "numpy floor"  # the faster of the two rows below, per statistic
FLOOR_N = "numpy floor, all CPUs"
FLOOR_1 = "numpy floor, 1 thread"


def _enable_tf_slim():
    """tf_slim batch_norm on TF 2.21: compat_reg's switch if present, else the known workaround."""
    try:
        from compat_reg import slim_compat

        slim_compat.enable_tf_slim_compat()
        return "compat_reg.slim_compat.enable_tf_slim_compat()"
    except ImportError:
        pass
    import tf_keras.src.legacy_tf_layers as legacy_layers
    import tf_keras.src.legacy_tf_layers.normalization as legacy_norm
    from tensorflow.python.framework import ops

    sys.modules.setdefault("tf_keras.legacy_tf_layers", legacy_layers)
    sys.modules.setdefault("tf_keras.legacy_tf_layers.normalization", legacy_norm)
    if not hasattr(ops, "Tensor"):
        ops.Tensor = tf.Tensor
    return "local workaround (compat_reg.slim_compat not available)"


def _build_resnet(regularizer):
    """resnet_v1_50 in the default graph; ``regularizer=None`` keeps tf_slim's own."""
    import tf_slim as slim
    from tf_slim.nets import resnet_v1

    images = tf.compat.v1.placeholder(tf.float32, [1, 224, 224, 3], name="images")
    with slim.arg_scope(resnet_v1.resnet_arg_scope(weight_decay=WEIGHT_DECAY)):
        if regularizer is None:
            resnet_v1.resnet_v1_50(images, num_classes=1000, is_training=True)
        else:
            with slim.arg_scope([slim.conv2d], weights_regularizer=regularizer):
                resnet_v1.resnet_v1_50(images, num_classes=1000, is_training=True)
    return [v for v in tf.compat.v1.trainable_variables() if v.op.name.endswith("weights")]


class Side:
    """One graph + session: resnet_v1_50, its weights, and the loss paths built on it."""

    def __init__(self, regularizer, values=None):
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.weights = _build_resnet(regularizer)
            self.fetches = {}
            self.session = tf.compat.v1.Session(graph=self.graph)
            self.session.run(tf.compat.v1.global_variables_initializer())
            if values is not None:
                for var, value in zip(self.weights, values):
                    var.load(value, self.session)

    def add_path(self, name, build_loss):
        with self.graph.as_default():
            loss = build_loss(self.weights)
            grads = tf.gradients(loss, self.weights)
            self.fetches[name] = (loss, grads)

    def run(self, name):
        return self.session.run(self.fetches[name])

    def values(self):
        return self.session.run(self.weights)


CHUNK = 1 << 18  # floats per task of the NumPy floor (1 MiB: stays in cache between its two passes)


def numpy_paths(weights, scale, threads):
    """The NumPy floor (on ``threads`` threads and on one) and the bare gradient pass.

    All write into preallocated gradient buffers. Every weight is cut into chunks of
    ``CHUNK`` floats; per chunk, ``np.multiply(w, s, out=g)`` then ``vdot(w, g)``
    while the chunk is still in cache, so memory sees one read of the weights and
    one write of the gradients. NumPy releases the GIL in both, so the threads run
    in parallel, as TensorFlow's thread pool does.
    """
    grads = [np.empty_like(w) for w in weights]
    chunks = []
    for w, g in zip(weights, grads):
        wf, gf = w.reshape(-1), g.reshape(-1)
        chunks.extend((wf[i : i + CHUNK], gf[i : i + CHUNK]) for i in range(0, wf.size, CHUNK))
    parts = [chunks[k::threads] for k in range(threads)]
    pool = ThreadPoolExecutor(threads)

    def fused(part):
        total = 0.0
        for w, g in part:
            np.multiply(w, scale, out=g)
            total += float(np.vdot(w, g))
        return total

    def floor():
        return sum(pool.map(fused, parts)) / 2.0, grads

    def floor_one_thread():
        return fused(chunks) / 2.0, grads

    def grad_only():
        for w, g in chunks:
            np.multiply(w, scale, out=g)
        return grads

    return floor, floor_one_thread, grad_only


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 timed rounds instead of 31")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 31

    how = _enable_tf_slim()
    import tf_slim as slim

    tf1 = Side(None)
    values = tf1.values()
    ours = Side(compat_reg.l2_regularizer(WEIGHT_DECAY), values)
    n_floats = sum(v.size for v in values)

    tf1.add_path("tf_slim: tf.compat.v1.losses.get_regularization_loss", lambda ws: tf.compat.v1.losses.get_regularization_loss())
    ours.add_path("compat_reg: get_regularization_loss", lambda ws: compat_reg.get_regularization_loss())
    # Control: compat_reg's sum over tf_slim's own collection, in tf_slim's graph and session.
    tf1.add_path("compat_reg: get_regularization_loss, tf_slim's graph",
                 lambda ws: compat_reg.get_regularization_loss(name="compat_reg_total"))
    tf1.add_path("tf_slim.apply_regularization", lambda ws: slim.apply_regularization(slim.l2_regularizer(WEIGHT_DECAY), ws))
    with warnings.catch_warnings():
        # The weights already carry get_variable's penalty (that is the other path);
        # compat_reg rightly warns that applying a second one double counts.
        warnings.simplefilter("ignore", compat_reg.DoubleRegularizationWarning)
        ours.add_path("compat_reg.apply_regularization",
                      lambda ws: compat_reg.apply_regularization(compat_reg.l2_regularizer(WEIGHT_DECAY), ws))

    threads = os.cpu_count() or 1
    floor, floor_one_thread, grad_only = numpy_paths(values, np.float32(WEIGHT_DECAY), threads)
    ref_value = WEIGHT_DECAY * sum(np.sum(np.square(v, dtype=np.float64)) for v in values) / 2.0

    # Every path must give the same numbers before its time means anything.
    for numpy_path in (floor, floor_one_thread):
        floor_value, floor_grads = numpy_path()
        np.testing.assert_allclose(floor_value, ref_value, rtol=1e-5)
        for g, w in zip(floor_grads, values):
            np.testing.assert_allclose(g, np.float32(WEIGHT_DECAY) * w, rtol=1e-6)
    for side in (tf1, ours):
        for name in side.fetches:
            value, grads = side.run(name)
            np.testing.assert_allclose(value, ref_value, rtol=1e-5, err_msg=name)
            for g, w in zip(grads, values):
                np.testing.assert_allclose(g, np.float32(WEIGHT_DECAY) * w, rtol=1e-6, err_msg=name)

    # Where the time goes, on the compat_reg side: the value alone; value and
    # gradients computed but only one element of each gradient fetched (Grappler
    # would prune gradients that are only control dependencies, so that is how to
    # compute them without copying them out); and the full fetch through
    # Session.make_callable (no per-call fetch bookkeeping in Python).
    ours_name = "compat_reg: get_regularization_loss"
    loss, grads = ours.fetches[ours_name]
    with ours.graph.as_default():
        corners = [tf.reshape(g, [-1])[-1] for g in grads]
    callable_fetch = ours.session.make_callable([loss, grads])
    breakdown = {
        "  value only": lambda: ours.session.run(loss),
        "  value + gradients computed, not copied out": lambda: ours.session.run([loss, corners]),
        "  value + gradients via make_callable": callable_fetch,
    }

    paths = {FLOOR_N: floor, FLOOR_1: floor_one_thread,
             "numpy grad only, 1 thread (no value)": grad_only}
    for side in (tf1, ours):
        for name in side.fetches:
            paths[name] = (lambda s, n: lambda: s.run(n))(side, name)
    paths.update(breakdown)
    runs = interleaved_times(paths, repeat=repeat, warmup=2)
    best = {name: min(ts) for name, ts in runs.items()}
    median = {name: statistics.median(ts) for name, ts in runs.items()}
    # On a loaded machine the threaded floor can lose to the single-threaded one
    # (its second thread waits for a core); the floor is whichever is faster.
    best[FLOOR] = min(best[FLOOR_N], best[FLOOR_1])
    median[FLOOR] = min(median[FLOOR_N], median[FLOOR_1])

    print(f"resnet_v1_50: {len(values)} regularized weights, {n_floats / 1e6:.1f}M float32; "
          f"tf_slim batch_norm via {how}; {repeat} interleaved rounds; "
          f"tensorflow {tf.__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("best = fastest round (the cost without interference), median = typical under "
          "the load at the time")
    slim_name = "tf_slim: tf.compat.v1.losses.get_regularization_loss"
    width = max(len(n) for n in paths) + 1
    print(f"{'path':<{width}} {'best':>9}  {'/floor':>6}  {'median':>9}  {'/floor':>6}  {'/tf_slim':>8}")
    for name in [FLOOR] + list(paths):
        vs_slim = "" if name.startswith("numpy") else f"{best[name] / best[slim_name]:8.2f}"
        print(f"{name:<{width}} {best[name] * 1e3:6.2f} ms  {best[name] / best[FLOOR]:5.2f}x  "
              f"{median[name] * 1e3:6.2f} ms  {median[name] / median[FLOOR]:5.2f}x  {vs_slim}", flush=True)
    for name in (ours_name, "compat_reg.apply_regularization"):
        print(f"target <= 1.50x {FLOOR}: {name} at {best[name] / best[FLOOR]:.2f}x (best), "
              f"{median[name] / median[FLOOR]:.2f}x (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
