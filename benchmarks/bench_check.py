"""How long the whole ``check_equivalence`` takes, against building both models plus one training step of each.

Baseline ("build + 1 step"), measured in the same run:
  old: build the TF1 function in a fresh tf.Graph, ``GradientDescentOptimizer.minimize``,
       initialize, run one step in a Session;
  new: build the Keras model, ``compile(SGD, jit_compile=False)``, one ``train_on_batch``.
Check: ``check_equivalence(old, new, steps=1)`` — all six stages.
Target (issue 13 item 4): check <= 1.5x the baseline.

Where the check's extra time goes on resnet_v1_50 (cProfile, Keras 3, one run): the TF1
function is traced 5 times (the TF1 side once; the TF1Layer port four times: the functional
construction, its first eager call, the checker's traced ``model(x); model.losses`` that finds
which variables each loss reads, and once more under the gradient tapes), about 5.4 s each;
the regularization stage's probes (about a dozen forward passes per side) and the gradients
stage's two tapes make most of the rest.

Models: the demo (examples/demo_tf1_model.py vs examples/demo_keras_port.py) and
tf_slim.nets.resnet_v1.resnet_v1_50 (graph mode, 32x32, 10 classes, weight decay 1e-4)
vs the same function wrapped in compat_reg.keras.TF1Layer. Wall and process-CPU
seconds are both printed: on a shared machine the CPU ratio is the steadier one.

Usage: python -m benchmarks.bench_check [--quick]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from compat_reg import _flavor  # noqa: E402
from migration.equivalence import _losses  # noqa: E402
from migration.equivalence.checker import check_equivalence  # noqa: E402


def _baseline(old_fn, new_factory, inputs, targets, loss_fn, lr):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, inputs.shape)
        t = tf.compat.v1.placeholder(tf.as_dtype(targets.dtype), targets.shape)
        out = old_fn(x)
        out = out[0] if isinstance(out, (tuple, list)) else out
        total = loss_fn(t, out) + tf.compat.v1.losses.get_regularization_loss()
        train = tf.compat.v1.train.GradientDescentOptimizer(lr).minimize(total)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(train, {x: inputs, t: targets})
    keras = _flavor.keras()
    model = new_factory()
    model.compile(optimizer=keras.optimizers.SGD(lr), loss=loss_fn, jit_compile=False)
    model.train_on_batch(inputs, targets)


def _check(old_fn, new_factory, inputs, targets, loss_fn, lr):
    result = check_equivalence(old_fn, new_factory, inputs=inputs, targets=targets, loss=loss_fn,
                               steps=1, learning_rate=lr)
    if not result.equivalent:
        raise SystemExit(f"the benchmark's check must pass:\n{result.format_table()}")


def _time(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _measure(name, old_fn, new_factory, input_shape, loss, lr, repeat):
    inputs = _losses.seeded_inputs(input_shape)
    targets = _losses.seeded_targets(loss, (input_shape[0], 10 if "resnet" in name else 3))
    loss_fn = _losses.resolve(loss)
    runs = {"baseline": [], "check": []}
    for _ in range(repeat):  # interleaved, so machine load falls on both alike
        runs["baseline"].append(_time(lambda: _baseline(old_fn, new_factory, inputs, targets, loss_fn, lr)))
        runs["check"].append(_time(lambda: _check(old_fn, new_factory, inputs, targets, loss_fn, lr)))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()}
    (bw, bc), (cw, cc) = med["baseline"], med["check"]
    print(f"{name:<34} build+1 step: {bw:7.2f} s wall {bc:7.2f} s cpu | whole check: {cw:7.2f} s wall "
          f"{cc:7.2f} s cpu | check / baseline: {cw / bw:5.2f}x wall {cc / bc:5.2f}x cpu  (median of {repeat})",
          flush=True)
    return cw / bw, cc / bc


def _resnet():
    from tests.migration.test_equivalence_resnet import INPUT_SHAPE
    from tests.migration.test_equivalence_resnet import resnet_old
    from tests.migration.test_equivalence_resnet import resnet_port

    return resnet_old, resnet_port, INPUT_SHAPE


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="demo x3, resnet x1")
    parser.add_argument("--skip-resnet", action="store_true")
    args = parser.parse_args(argv)
    print(f"bench_check: {_flavor.name()} {_flavor.version()}, tensorflow {tf.__version__}, "
          f"{os.cpu_count()} cpus; baseline = build both models + one training step of each", flush=True)
    from examples import demo_keras_port
    from examples import demo_tf1_model

    _measure("demo (examples/)", demo_tf1_model.model, demo_keras_port.build, demo_tf1_model.INPUT_SHAPE,
             "sparse_softmax_cross_entropy", 0.1, 3 if args.quick else 7)
    if not args.skip_resnet:
        old, new, shape = _resnet()
        _measure("resnet_v1_50 32x32 vs TF1Layer", old, new, shape, "sparse_softmax_cross_entropy", 1e-5,
                 1 if args.quick else 3)
    print("target: whole check <= 1.5x build + 1 step", flush=True)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
