"""Graph construction for N regularized variables: TF1 vs compat_reg vs bare ``get_variable``.

Four paths build N variables of shape [16] in a fresh ``tf.Graph``:

* ``bare``       : ``tf.compat.v1.get_variable`` with no regularizer (the baseline);
* ``tf1``        : ``variable_scope(regularizer=tf_slim.l2_regularizer(s))`` + two
                   ``tf.compat.v1.losses.get_regularization_loss()`` calls (a training
                   loop and a summary each sum the collection);
* ``compat_reg`` : ``compat_reg.regularized_scope(name, compat_reg.l2_regularizer(s))`` +
                   the same two ``get_regularization_loss()`` calls (the default: one
                   penalty per variable in the collection, TF1's layout);
* ``compat_reg_fused``: the same with ``fuse=True`` (one fused sum for the scope, opt-in).

Printed: build time (the minimum over repetitions run round-robin, ``gc.collect()`` before
each build: on a shared machine load only ever adds time, so the minimum is the best estimate
of the intrinsic cost) and its ratio to ``bare``;
graph ops per variable (deterministic, unaffected by machine load); the number of ``L2Loss`` ops
(how many times the regularizer subgraph was built); the first ``session.run`` of the
summed loss (grappler optimizes the graph on that call); and the growth exponent ``k`` of
``time ~ N^k`` fitted over the N values. Timings are never asserted.

Why TF1 is slow: ``get_variable`` calls the regularizer twice at creation (once to test for
``None``, once for the ``_LazyEvalTensor``'s master tensor) and the lazy tensor rebuilds it
at every conversion, i.e. at every ``get_regularization_loss()``: 4 subgraphs per variable
here. compat_reg builds one ``L2Loss`` per variable (reusing the read op the variable made
at creation): by default 3 ops per variable over bare's 11 (14; each penalty is its own
collection entry, as in TF1), fused 1 (12: one ``add_n`` for the scope); TF1 adds 12.

The first ``session.run`` is dominated by grappler (TF's graph optimizer) over the fetched
subgraph (about 3 nodes per variable for compat_reg, 5 for TF1); it grows faster than N for
both. The last column re-measures compat_reg's first run in a session whose grappler
``dependency_optimization`` is off, the pass that costs most here, to show where the time goes
(a user can set it in ``ConfigProto.graph_options.rewrite_options``; compat_reg does not).

Usage: ``python -m benchmarks.bench_graph_construction [--quick]``
(full: N = 100, 1,000, 10,000, several repetitions, TF1 once at 10,000 as it takes minutes;
``--quick``: N = 100, 300, 1,000, fewer repetitions, well under a minute on an idle machine.)
"""

import argparse
import gc
import math
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
import tf_slim as slim  # noqa: E402

import compat_reg  # noqa: E402

SHAPE = [16]
SCALE = 1e-4


def _bare(n):
    for i in range(n):
        tf.compat.v1.get_variable(f"v{i}", SHAPE)
    return None


def _tf1(n):
    with tf.compat.v1.variable_scope("net", regularizer=slim.l2_regularizer(SCALE)):
        for i in range(n):
            tf.compat.v1.get_variable(f"v{i}", SHAPE)
    tf.compat.v1.losses.get_regularization_loss()
    return tf.compat.v1.losses.get_regularization_loss()


def _regularized_scope(n, fuse):
    with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(SCALE), fuse=fuse):
        for i in range(n):
            tf.compat.v1.get_variable(f"v{i}", SHAPE)
    tf.compat.v1.losses.get_regularization_loss()
    return tf.compat.v1.losses.get_regularization_loss()


def _compat_reg(n):
    return _regularized_scope(n, fuse=False)


def _compat_reg_fused(n):
    return _regularized_scope(n, fuse=True)


PATHS = {"bare": _bare, "compat_reg": _compat_reg, "compat_reg_fused": _compat_reg_fused, "tf1": _tf1}  # tf1 last: its big graphs' teardown
# would otherwise fall on the next path's timing


def _session_config(dependency_optimization):
    config = tf.compat.v1.ConfigProto()
    if not dependency_optimization:
        from tensorflow.core.protobuf import rewriter_config_pb2

        config.graph_options.rewrite_options.dependency_optimization = rewriter_config_pb2.RewriterConfig.OFF
    return config


def first_run_seconds(graph, loss, dependency_optimization=True):
    with tf.compat.v1.Session(graph=graph, config=_session_config(dependency_optimization)) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        start = time.perf_counter()
        sess.run(loss)
        return time.perf_counter() - start


def measure(path, n, first_run):
    """(build s, L2Loss op count, first session.run s, same without dependency optimizer) for one graph."""
    gc.collect()  # the previous (large) graph's garbage is not charged to this path
    graph = tf.Graph()
    with graph.as_default():
        start = time.perf_counter()
        loss = PATHS[path](n)
        build = time.perf_counter() - start
        ops = graph.get_operations()
        l2_ops = sum(1 for op in ops if op.type == "L2Loss")
        ops_per_var = len(ops) / n
        run = run_nodep = None
        if first_run and loss is not None:
            run = first_run_seconds(graph, loss)
            if path == "compat_reg":
                run_nodep = first_run_seconds(graph, loss, dependency_optimization=False)
    return build, (l2_ops, ops_per_var), run, run_nodep


def growth_exponent(ns, times):
    """Least-squares slope of log(time) against log(N)."""
    pts = [(math.log(n), math.log(t)) for n, t in zip(ns, times) if t]
    if len(pts) < 2:
        return float("nan")
    mx = statistics.fmean(x for x, _ in pts)
    my = statistics.fmean(y for _, y in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (see module docstring)")
    args = parser.parse_args(argv)
    if args.quick:
        ns, repeats = [100, 300, 1000], {100: 5, 300: 3, 1000: 2}
    else:
        ns, repeats = [100, 1000, 10000], {100: 5, 1000: 3, 10000: 2}

    print(f"graph construction, N variables of shape {SHAPE}, l2 scale {SCALE}; "
          f"{'quick' if args.quick else 'full'} run; baseline: bare get_variable in the same run")
    results = {}  # (path, n) -> ([builds], l2_ops, run, run without dependency optimizer)
    for n in ns:
        for rep in range(repeats[n]):
            for path in PATHS:  # round-robin so machine load falls on every path alike
                if path == "tf1" and n >= 10000 and rep > 0:
                    continue  # TF1 at 10,000 takes minutes: measured once
                build, l2_ops, run, run_nodep = measure(path, n, first_run=(rep == 0))
                prev = results.get((path, n))
                if prev is None:
                    results[(path, n)] = ([build], l2_ops, run, run_nodep)
                else:
                    prev[0].append(build)

    print(f"{'N':>6} {'path':<16} {'build s':>9} {'x bare':>7} {'ops/var':>8} {'L2Loss ops':>11} "
          f"{'first run s':>12} {'no dep-opt s':>13}")

    def cell(t, width):
        return f"{t:{width}.3f}" if t is not None else f"{'-':>{width}}"

    for n in ns:
        bare = min(results[("bare", n)][0])
        for path in PATHS:
            builds, (l2_ops, ops_per_var), run, run_nodep = results[(path, n)]
            b = min(builds)
            print(f"{n:>6} {path:<16} {b:9.3f} {b / bare:7.2f} {ops_per_var:8.2f} {l2_ops:>11} "
                  f"{cell(run, 12)} {cell(run_nodep, 13)}")
    print()
    for path in PATHS:
        pts = [(n, min(results[(path, n)][0])) for n in ns if (path, n) in results]
        k_build = growth_exponent([n for n, _ in pts], [t for _, t in pts])
        line = f"growth exponent {path:<16} build N^{k_build:.2f}"
        runs = [(n, results[(path, n)][2]) for n in ns if (path, n) in results and results[(path, n)][2]]
        if runs:
            k_run = growth_exponent([n for n, _ in runs], [t for _, t in runs])
            line += f"   first run N^{k_run:.2f}"
        print(line)
    for path in ("tf1", "compat_reg", "compat_reg_fused"):
        ratios = [min(results[(path, n)][0]) / min(results[("bare", n)][0])
                  for n in ns if (path, n) in results]
        print(f"{path} build / bare build, worst over N: {max(ratios):.2f}x")


if __name__ == "__main__":
    main()
