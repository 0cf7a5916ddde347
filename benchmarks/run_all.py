"""`make bench`: run every benchmark, one process each, in sequence.

Each benchmark prints its own ratios against its named baseline, measured in the
same run. Output is echoed and also written to ``reports/bench/<name>.txt``; copy
the figures into docs/benchmarks.md with the command shown there.

Usage: python -m benchmarks.run_all [--quick] [NAME ...]
"""

import argparse
import os
import subprocess
import sys
import time

BENCHMARKS = (
    "bench_regularization_value",  # issue 2: value+grad over resnet_v1_50 vs tf_slim, NumPy floor
    "bench_graph_construction",  # issue 2: 100/1k/10k regularized variables vs bare get_variable
    "bench_bridge_value",  # issue 3: bridged value+grad vs Keras 3 / tf_keras model.losses, floor
    "bench_check",  # issues 4, 13: whole check (resnet_v1_50) vs build + one step of each side, target 1.5x
    "bench_scan_vs_tf_upgrade_v2",  # issue 5: compat-reg scan vs tf_upgrade_v2 on tf_slim
    "bench_migrate_write",  # issue 11: migrate --write, per-file git status vs one batched plan
    "bench_layers",  # issue 8: compat_reg.layers vs tf_keras' legacy layers (graph build, ops, TF1Layer)
    "bench_migrate_vs_tf_upgrade_v2",  # issue 8: migrate --to compat vs tf_upgrade_v2 on contrib-era tf_slim nets
    "bench_cli_startup",  # issue 10: compat-reg --help/--version/check --help vs import tensorflow
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (smoke-test the benchmarks)")
    parser.add_argument("names", nargs="*", help=f"subset of: {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    out_dir = os.path.join("reports", "bench")
    os.makedirs(out_dir, exist_ok=True)
    failed = []
    for i, name in enumerate(names, 1):
        cmd = [sys.executable, "-m", f"benchmarks.{name}"] + (["--quick"] if args.quick else [])
        print(f"[{i}/{len(names)}] {' '.join(cmd)}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        with open(os.path.join(out_dir, f"{name}.txt"), "w") as f:
            f.write(proc.stdout)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            failed.append(name)
            sys.stderr.write(proc.stderr[-4000:])
        print(f"[{i}/{len(names)}] {name}: exit {proc.returncode} in {elapsed:.1f} s", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
