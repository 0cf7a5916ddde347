"""``compat-reg scan`` vs ``tf_upgrade_v2`` over the installed tf_slim package (issue 5).

Both tools run as the user runs them, as separate processes, over the same tree
(the installed ``tf_slim``, ~46,600 lines), timed round-robin so load from other
processes falls on both alike. Printed: both wall times (median), the ratio, and
the regularization sites each reports:

* compat-reg: the sites of ``scan --format json`` (by kind);
* tf_upgrade_v2: the lines of its report that mention regularization
  (``regulariz``, ``l2_loss``, ``REGULARIZATION_LOSSES``), and how many of the
  reference sites it changed in its output.

The reference for "every site" is computed independently of both tools: a regular
expression for ``regularizers.l2_regularizer(weight_decay)`` over
``tf_slim/nets/*.py`` (the form the issue names).

Also printed, as a breakdown of compat-reg's time: the scan itself in-process
(no interpreter start). The ``compat-reg`` command imports only the module of the
verb it runs, so ``scan`` never imports TensorFlow.

Usage: python -m benchmarks.bench_scan_vs_tf_upgrade_v2 [--quick]
"""

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks._timing import print_ratio

TREE = os.path.dirname(importlib.util.find_spec("tf_slim").origin)
NETS_CALL = re.compile(r"regularizers\.l2_regularizer\(weight_decay\)")
REPORT_LINE = re.compile(r"^(?P<path>.+?\.py):(?P<line>\d+):(?P<col>\d+): (?P<level>[A-Z]+): (?P<msg>.*)$")
REG_WORDS = re.compile(r"regulariz|l2_loss|REGULARIZATION_LOSSES", re.IGNORECASE)
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _count_lines(tree):
    total = 0
    for root, _, files in os.walk(tree):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(root, name), "rb") as handle:
                    total += handle.read().count(b"\n")
    return total


def reference_sites(tree):
    """``{(relative path, line)}`` of ``regularizers.l2_regularizer(weight_decay)`` in nets/*.py."""
    found = set()
    nets = os.path.join(tree, "nets")
    for name in sorted(os.listdir(nets)):
        if name.endswith(".py"):
            with open(os.path.join(nets, name), encoding="utf-8") as handle:
                for lineno, line in enumerate(handle, 1):
                    if NETS_CALL.search(line):
                        found.add((f"nets/{name}", lineno))
    return found


def _timed(cmd, **kwargs):
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, **kwargs)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed, proc


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_compat_reg(tree):
    # `python -m migration.cli` from this checkout (the `compat-reg` script may point at another one).
    elapsed, proc = _timed([sys.executable, "-m", "migration.cli", "scan", "--format", "json", "-q", tree], cwd=REPO)
    return elapsed, json.loads(proc.stdout)["sites"]


def run_tf_upgrade_v2(tree, workdir):
    out_tree = os.path.join(workdir, "out")
    shutil.rmtree(out_tree, ignore_errors=True)
    report = os.path.join(workdir, "report.txt")
    elapsed, _ = _timed([sys.executable, "-m", "tensorflow.tools.compatibility.tf_upgrade_v2_main",
                         "--intree", tree, "--outtree", out_tree, "--reportfile", report,
                         "--copyotherfiles", "False"])
    with open(report, encoding="utf-8") as handle:
        lines = [m for m in map(REPORT_LINE.match, handle.read().splitlines()) if m]
    return elapsed, lines, out_tree


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each tool instead of three")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 3

    reference = reference_sites(TREE)
    print(f"tree: {TREE} ({_count_lines(TREE):,} lines of Python)")
    print(f"reference: {len(reference)} x regularizers.l2_regularizer(weight_decay) in nets/*.py (regex)")
    times = {"compat-reg scan": [], "tf_upgrade_v2": []}
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(repeat):  # round-robin
            t, sites = run_compat_reg(TREE)
            times["compat-reg scan"].append(t)
            t, report_lines, out_tree = run_tf_upgrade_v2(TREE, workdir)
            times["tf_upgrade_v2"].append(t)
        # What tf_upgrade_v2 did to the reference lines: changed them or not.
        changed = 0
        for rel, lineno in sorted(reference):
            with open(os.path.join(TREE, rel), encoding="utf-8") as a, \
                    open(os.path.join(out_tree, rel), encoding="utf-8") as b:
                if a.read().splitlines()[lineno - 1] != b.read().splitlines()[lineno - 1]:
                    changed += 1

    from migration.codemods.scan import scan_paths  # in-process breakdown

    start = time.perf_counter()
    in_process = scan_paths([TREE])
    t_in_process = time.perf_counter() - start

    found = {(os.path.relpath(s["path"], TREE), s["line"]) for s in sites
             if s["kind"] == "tf1_regularizer" and s["code"] == "regularizers.l2_regularizer(weight_decay)"}
    reg_report = [m for m in report_lines if REG_WORDS.search(m.group("msg"))]
    kinds = {}
    for s in sites:
        kinds[s["kind"]] = kinds.get(s["kind"], 0) + 1

    base = _median(times["tf_upgrade_v2"])
    print(f"\nwall time, median of {repeat} (separate processes, interleaved; ratio = time / tf_upgrade_v2):")
    print_ratio("tf_upgrade_v2 (baseline)", base, "tf_upgrade_v2", base)
    print_ratio("compat-reg scan (console script)", _median(times["compat-reg scan"]), "tf_upgrade_v2", base)
    print_ratio("  scan_paths in-process (no interpreter start)", t_in_process, "tf_upgrade_v2", base)
    speedup = base / _median(times["compat-reg scan"])
    print(f"speed-up of compat-reg scan over tf_upgrade_v2: {speedup:.1f}x (target >= 5x)")

    print("\nregularization sites reported:")
    print(f"  compat-reg scan: {len(sites)} sites ("
          + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])) + ")")
    print(f"  tf_upgrade_v2:   {len(reg_report)} report lines mentioning regularization "
          f"(of {len(report_lines)} report lines)")
    print(f"  reference nets sites found: compat-reg {len(found & reference)}/{len(reference)}, "
          f"tf_upgrade_v2 changed {changed}/{len(reference)} and reported "
          f"{sum(1 for m in reg_report if 'nets/' in m.group('path'))}")
    print(f"  in-process scan agrees with the CLI: {len(in_process.sites) == len(sites)}")
    missing = reference - found
    if missing:
        print(f"MISSED by compat-reg: {sorted(missing)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
