"""``make test`` of this tree against ``make test`` of a named baseline commit, in one run (issue 12).

The baseline is checked out into a temporary git worktree (``git worktree add
--detach``; removed at the end) and both trees run their own ``make test``
recipe with the same interpreter and venv (``make test PY=<this python>
STAMP=``: nothing is installed, ``.venv`` is not touched). ``PYTHONPATH`` is set
to the tree being measured, so that its tests, its examples run as scripts and
its CLI subprocesses all import that tree's ``compat_reg`` and ``migration``,
never the editable install.

Printed per tree: wall time of each pytest run (``test-keras3``,
``test-tf-keras``, ``test-jax`` where it exists), the passed / skipped / xfailed
/ failed counts pytest reports, and the ratio current / baseline of the whole
``make test``; also the ratio restricted to the test files both trees have
(``--same-files``: each tree's ``make test`` recipe again, with every other
test file left out through ``PYTEST_ADDOPTS=--ignore=...``). Timings are wall seconds on the machine as it is: run it on an
idle machine, and compare ratios, never absolute seconds across runs.

The default baseline ``c9c9b9a`` is the last commit of round 1: the suite as
issue 12 found it.

Usage: python -m benchmarks.bench_suite [--baseline REV] [--order current-first|baseline-first]
                                        [--same-files] [--json PATH]
"""

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BASELINE = "c9c9b9a"
RUNS = ("test-keras3", "test-tf-keras", "test-jax")
_SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected)")


def _make_targets(tree):
    """The pytest targets ``make test`` of ``tree`` runs, in order (read from its Makefile)."""
    text = open(os.path.join(tree, "Makefile"), encoding="utf-8").read()
    line = re.search(r"^test:(.*)$", text, re.M).group(1)
    return [t for t in line.split() if t in RUNS]


def _test_files(tree):
    """Every ``tests/**/test_*.py`` of ``tree``, relative to it."""
    found = []
    for base, dirs, files in os.walk(os.path.join(tree, "tests")):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [os.path.relpath(os.path.join(base, f), tree) for f in sorted(files)
                  if f.startswith("test_") and f.endswith(".py")]
    return found


def _run_target(tree, target, ignore, log):
    """``(wall seconds, CPU seconds, counts, summary)`` for ``make -C tree target``; ``ignore`` lists test files to leave out.

    The run's whole output goes to the file ``log``."""
    env = dict(os.environ, PYTHONPATH=tree, TF_CPP_MIN_LOG_LEVEL="2")
    if ignore:
        env["PYTEST_ADDOPTS"] = " ".join(f"--ignore={f}" for f in ignore)
    cmd = ["make", "-s", "-C", tree, target, f"PY={sys.executable}", "STAMP="]
    start, cpu_start = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu_start
    with open(log, "w", encoding="utf-8") as f:
        f.write(proc.stdout + proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    summary = next((ln for ln in reversed(lines) if " in " in ln and _SUMMARY.search(ln)), "")
    counts = {("error" if kind.startswith("error") else kind): int(n) for n, kind in _SUMMARY.findall(summary)}
    if proc.returncode != 0:
        counts["make_exit"] = proc.returncode
    return seconds, cpu, counts, summary or (proc.stdout + proc.stderr)[-2000:]


def _children_cpu():
    """User + system CPU seconds of every finished child process and their waited-for descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measure(name, tree, ignore=()):
    """One row per pytest target of ``tree``'s ``make test`` (a target left with no test file is not run).

    Each run's output is kept in ``reports/bench/bench_suite/``."""
    rows = []
    logs = os.path.join(ROOT, "reports", "bench", "bench_suite")
    os.makedirs(logs, exist_ok=True)
    kept = set(_test_files(tree)) - set(ignore)
    for target in _make_targets(tree):
        if target == "test-jax" and not any(f.startswith("tests/backends/") for f in kept):
            continue
        print(f"[{name}] make {target} ...", file=sys.stderr, flush=True)
        log = os.path.join(logs, re.sub(r"[^A-Za-z0-9]+", "-", f"{name}-{target}") + ".txt")
        seconds, cpu, counts, summary = _run_target(tree, target, sorted(ignore), log)
        print(f"[{name}] {target}: {seconds:.1f} s wall, {cpu:.1f} s CPU  {summary}", file=sys.stderr, flush=True)
        rows.append({"target": target, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
                     "counts": counts})
    return rows


def _total(rows, key=None):
    """Sum over the runs of wall seconds (``key=None``), ``"cpu_seconds"``, or a pytest count."""
    if key is None or key == "cpu_seconds":
        return sum(r.get(key or "seconds", 0) for r in rows)
    return sum(r["counts"].get(key, 0) for r in rows)


def _print_table(results):
    print(f"{'tree':<40} {'run':<14} {'wall s':>7} {'CPU s':>7} {'passed':>7} {'skipped':>8} {'xfailed':>8} "
          f"{'failed':>7}")
    for name, rows in results.items():
        for r in rows + [{"target": "make test", "seconds": _total(rows), "cpu_seconds": _total(rows, "cpu_seconds"),
                          "counts": {k: _total(rows, k) for k in ("passed", "skipped", "xfailed", "failed")}}]:
            c = r["counts"]
            print(f"{name:<40} {r['target']:<14} {r['seconds']:7.1f} {r.get('cpu_seconds', 0):7.1f} "
                  f"{c.get('passed', 0):7d} "
                  f"{c.get('skipped', 0):8d} {c.get('xfailed', 0):8d} {c.get('failed', 0):7d}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE,
                        help=f"the commit to compare with (default {DEFAULT_BASELINE}, round 1's last commit)")
    parser.add_argument("--order", choices=("baseline-first", "current-first"), default="baseline-first",
                        help="which tree runs first (load on the machine drifts; run both orders to see it)")
    parser.add_argument("--same-files", action="store_true",
                        help="also run both trees on the test files they share only")
    parser.add_argument("--json", default=os.path.join(ROOT, "reports", "bench", "bench_suite.json"),
                        help="where to write the figures (default reports/bench/bench_suite.json)")
    args = parser.parse_args(argv)

    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=True).stdout.strip()
    scratch = tempfile.mkdtemp(prefix="compat-reg-bench-suite-")
    base_tree = os.path.join(scratch, "baseline")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "-q", "--detach", base_tree, args.baseline], check=True)
    try:
        current = f"current {head}" + (" (+ uncommitted)" if dirty else "")
        baseline = f"baseline {args.baseline}"
        trees = {baseline: base_tree, current: ROOT}
        order = list(trees) if args.order == "baseline-first" else list(reversed(trees))
        results = {name: _measure(name, trees[name]) for name in order}
        same = {}
        if args.same_files:
            shared = set(_test_files(base_tree)) & set(_test_files(ROOT))
            same = {f"{name} [shared files]": _measure(name, trees[name], set(_test_files(trees[name])) - shared)
                    for name in order}
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", base_tree], check=False)
        shutil.rmtree(scratch, ignore_errors=True)

    _print_table({**results, **same})
    ratio = _total(results[current]) / _total(results[baseline])
    cpu_ratio = _total(results[current], "cpu_seconds") / _total(results[baseline], "cpu_seconds")
    print(f"\nmake test: current / baseline = {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU, "
          f"with {_total(results[current], 'passed')} vs {_total(results[baseline], 'passed')} tests passed")
    figures = {"baseline": args.baseline, "current": head, "order": args.order, "runs": results,
               "ratio_make_test": round(ratio, 3), "cpu_ratio_make_test": round(cpu_ratio, 3)}
    if same:
        keys = list(same)
        cur = next(k for k in keys if k.startswith("current"))
        base = next(k for k in keys if k.startswith("baseline"))
        same_ratio = _total(same[cur]) / _total(same[base])
        same_cpu = _total(same[cur], "cpu_seconds") / _total(same[base], "cpu_seconds")
        print(f"the test files both trees have: current / baseline = {same_ratio:.2f}x wall, {same_cpu:.2f}x CPU, "
              f"with {_total(same[cur], 'passed')} vs {_total(same[base], 'passed')} tests passed")
        figures.update(same_files=same, ratio_same_files=round(same_ratio, 3), cpu_ratio_same_files=round(same_cpu, 3))
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(figures, f, indent=2)
    failed = any(r["counts"].get("failed") or r["counts"].get("make_exit")
                 for rows in list(results.values()) + list(same.values()) for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
