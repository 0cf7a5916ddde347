"""``migrate --write``'s safe path: one git query per file (baseline) vs one batched plan per repository (issue 11, case 6).

A git repository of ``--files`` committed files (100 per package directory) is made in
a temporary directory. Timed, as milliseconds per file (median of ``--repeat`` rounds,
the paths round-robin so load from other processes falls on both alike):

* **check**: deciding whether each file may be written.
  baseline ``per-file git status`` is the ``git_state`` of write.py before issue 11
  (kept verbatim below, ``legacy_git_state``), one ``git status`` per file, run on
  ``--baseline-files`` of them (the per-file cost does not depend on how many are
  asked); ``plan_writes`` checks all ``--files`` with one batched query per repository.
* **check + write**: the whole ``--write`` step (check, temporary file, fsync,
  ``os.replace``). Baseline: the ``write_file`` of before issue 11 (``legacy_write_file``)
  per file; new: ``plan_writes(paths)`` then ``plan.write`` per file. The repository is
  reset (``git checkout``, not timed) before each step, so every step starts from clean files.

The issue's target: under 10 ms a file over 3,000 files.

Usage: python -m benchmarks.bench_migrate_write [--files 3000] [--baseline-files 300] [--repeat 3] [--quick]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from benchmarks._timing import print_ratio
from migration.codemods.write import plan_writes

OLD = "import tf_slim as slim\n\nreg = slim.l2_regularizer(0.0005)\n"
NEW = "import tensorflow as tf\nimport tf_slim as slim\n\nreg = tf.keras.regularizers.L2(0.00025)\n"
TARGET_MS = 10.0


def legacy_git_state(path):
    """write.py's ``git_state`` before issue 11 (verbatim): one ``git status`` per file."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    try:
        proc = subprocess.run(
            ["git", "status", "--porcelain", "--ignored=no", "--untracked-files=all", "--", os.path.basename(path)],
            cwd=directory, capture_output=True, text=True, check=False)
    except OSError:
        return "no-git"
    if proc.returncode != 0:
        return "no-git"
    return "dirty" if proc.stdout.strip() else "clean"


def legacy_write_file(path, text, encoding="utf-8"):
    """write.py's ``write_file`` before issue 11, on a clean file (its ``force`` branch never runs here)."""
    if legacy_git_state(path) != "clean":
        raise RuntimeError(f"{path} is not clean: the benchmark's reset failed")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".compat-reg-", suffix=".tmp", dir=directory)
    with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    shutil.copymode(path, tmp)
    os.replace(tmp, path)


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.email=b@example.com", "-c", "user.name=b", *args], cwd=repo, check=True,
                   capture_output=True)


def make_repo(root, n_files):
    """``root`` as a git repository of ``n_files`` committed TF1 files; their paths."""
    paths = []
    for i in range(n_files):
        directory = os.path.join(root, f"pkg{i // 100:03d}")
        os.makedirs(directory, exist_ok=True)
        paths.append(os.path.join(directory, f"m{i % 100:03d}.py"))
        with open(paths[-1], "w") as handle:
            handle.write(OLD)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "tf1")
    return paths


def _reset(repo):
    _git(repo, "checkout", "-q", "--", ".")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--baseline-files", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="500 files, baseline on 50, one round (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.baseline_files, args.repeat = 500, 50, 1

    with tempfile.TemporaryDirectory(prefix="bench-migrate-write-") as repo:
        start = time.perf_counter()
        paths = make_repo(repo, args.files)
        sample = paths[:: max(1, len(paths) // args.baseline_files)][: args.baseline_files]
        print(f"repository: {len(paths)} committed files in {len(paths) // 100 or 1} directories "
              f"(made in {time.perf_counter() - start:.1f} s); baseline on {len(sample)} of them; "
              f"median of {args.repeat} rounds\n", flush=True)

        def check_legacy():
            assert all(legacy_git_state(p) == "clean" for p in sample)

        def check_plan():
            plan = plan_writes(paths)
            assert all(plan.refusal(p) is None for p in paths)

        def write_legacy():
            for p in sample:
                legacy_write_file(p, NEW)

        def write_plan():
            plan = plan_writes(paths)
            for p in paths:
                plan.write(p, NEW, original=OLD)

        steps = {  # name: (fn, files it handles)
            "check: per-file git status (baseline)": (check_legacy, len(sample)),
            "check: plan_writes (batched)": (check_plan, len(paths)),
            "check + write: legacy write_file (baseline)": (write_legacy, len(sample)),
            "check + write: plan_writes + plan.write": (write_plan, len(paths)),
        }
        per_file = {name: [] for name in steps}
        names = list(steps)
        for r in range(args.repeat):
            for name in names[r % len(names):] + names[: r % len(names)]:
                fn, count = steps[name]
                _reset(repo)  # every step starts from clean, committed files
                t0 = time.perf_counter()
                fn()
                per_file[name].append((time.perf_counter() - t0) / count)
        med = {name: statistics.median(ts) for name, ts in per_file.items()}

        print("per file (ms), ratio to the baseline of the same step:")
        for base, new in ((names[0], names[1]), (names[2], names[3])):
            print_ratio(base, med[base], base.split(":")[0] + " baseline", med[base], width=46)
            print_ratio(new, med[new], base.split(":")[0] + " baseline", med[base], width=46)
        for base, new in ((names[0], names[1]), (names[2], names[3])):
            print(f"{new.split(':')[0]}: batched is {med[base] / med[new]:.1f}x faster than per-file")
        whole = med[names[3]] * 1e3
        print(f"\ntarget (issue 11): under {TARGET_MS:.0f} ms a file over {len(paths)} files: "
              f"{whole:.2f} ms a file ({whole * len(paths) / 1e3:.1f} s in all) -> "
              f"{'met' if whole < TARGET_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
