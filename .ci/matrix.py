"""`make test-matrix`: the suite on every supported stack, under both Keras flavors, as one table.

A stack is a Python plus a full lock file (``STACKS``). For each stack this
script

1. makes (or reuses) a venv ``$COMPAT_REG_VENVS/<stack>`` (default
   ``~/.cache/compat-reg/venvs``), installed with ``pip install -c LOCK -r
   requirements.txt -r requirements-test.txt``; a venv is reused when its
   ``pip freeze`` already equals the lock, and re-synced otherwise;
2. runs ``pip install .`` there and checks that it added compat-reg and changed
   nothing else (``pip freeze`` before and after: the ranges admit the stack);
3. runs, from this checkout, ``pytest tests`` (flavor keras3) and
   ``TF_USE_LEGACY_KERAS=1 pytest -m keras tests`` (flavor tf_keras), exactly as
   ``make test`` does, each output kept in ``reports/matrix/<stack>-<flavor>.txt``;

then prints one table, stack x flavor -> passed / failed / skipped / errors, with
the wall times, and writes it as ``reports/matrix/matrix.json``
(``docs/schemas/matrix.schema.json``). Exit 0 only when every run passed and
every install check held.

Usage: python3 .ci/matrix.py [STACK ...]   (default: every stack; `--list` names them)
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (python to make the venv with, lock file). Oldest first: .ci/run runs STACKS[0].
STACKS = {
    "tf216": ("python3.11", ".ci/constraints-tf216.txt"),
    "tf221": ("python3.11", "constraints.txt"),
}
FLAVORS = {
    "keras3": ({}, ["tests"]),
    "tf_keras": ({"TF_USE_LEGACY_KERAS": "1"}, ["-m", "keras", "tests"]),
}
VERSIONS_OF = ("tensorflow", "keras", "tf-keras", "tf-slim", "numpy")
SCHEMA_VERSION = 1


def _pins(path):
    pins = {}
    for line in open(os.path.join(ROOT, path), encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_norm(name)] = version.strip()
    return pins


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _freeze(python):
    out = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True).stdout
    return {_norm(n): v for n, v in (ln.split("==", 1) for ln in out.splitlines() if "==" in ln)}


def ensure_venv(name, log):
    """The venv's python for stack ``name``, made or synced to its lock."""
    python_cmd, lock = STACKS[name]
    venv = os.path.join(os.environ.get("COMPAT_REG_VENVS", os.path.expanduser("~/.cache/compat-reg/venvs")), name)
    python = os.path.join(venv, "bin", "python")
    pins = _pins(lock)
    if os.path.exists(python) and {k: v for k, v in _freeze(python).items() if k != "compat-reg"} == pins:
        log(f"[{name}] reusing {venv} (pip freeze == {lock})")
        return python, 0.0
    start = time.perf_counter()
    if not os.path.exists(python):
        subprocess.run([python_cmd, "-m", "venv", venv], check=True)
    log(f"[{name}] installing {lock} into {venv} ...")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "-c", os.path.join(ROOT, lock),
         "-r", os.path.join(ROOT, "requirements.txt"), "-r", os.path.join(ROOT, "requirements-test.txt")],
        check=True,
    )
    seconds = time.perf_counter() - start
    log(f"[{name}] installed in {seconds:.0f} s")
    return python, seconds


def install_changes_nothing_else(python):
    """``pip install .`` into the stack; what else it changed there, as text ('' if only compat-reg).

    A real install (not a dry run): the suite then also runs the installed
    ``compat-reg`` console script, as it would after ``make setup``.
    """
    before = _freeze(python)
    proc = subprocess.run([python, "-m", "pip", "install", "-q", ROOT], capture_output=True, text=True)
    if proc.returncode != 0:
        return f"pip install . failed: {proc.stderr.strip().splitlines()[-1:]}"
    after = _freeze(python)
    changed = sorted(
        f"{name} {before.get(name, '-')} -> {after.get(name, '-')}"
        for name in set(before) | set(after)
        if name != "compat-reg" and before.get(name) != after.get(name)
    )
    return "; ".join(changed)


_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)")


def run_suite(name, python, flavor, log):
    env_extra, args = FLAVORS[flavor]
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONDONTWRITEBYTECODE="1", **env_extra)
    os.makedirs(os.path.join(ROOT, "reports", "matrix"), exist_ok=True)
    out_path = os.path.join(ROOT, "reports", "matrix", f"{name}-{flavor}.txt")
    log(f"[{name}] {flavor}: pytest {' '.join(args)} -> {os.path.relpath(out_path, ROOT)}")
    start = time.perf_counter()
    with open(out_path, "w", encoding="utf-8") as out:
        proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                              cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    text = open(out_path, encoding="utf-8").read()
    summary = next((ln for ln in reversed(text.splitlines()) if _COUNT.search(ln)), "")
    counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    for n, kind in _COUNT.findall(summary):
        key = "errors" if kind.startswith("error") else kind
        if key in counts:
            counts[key] += int(n)
    failures = [ln.split(" ", 1)[1] for ln in text.splitlines() if ln.startswith(("FAILED ", "ERROR "))]
    return {"returncode": proc.returncode, "seconds": seconds, "failures": failures, **counts}


def to_json(rows):
    """The matrix as ``docs/schemas/matrix.schema.json`` describes it."""
    return {
        "schema_version": SCHEMA_VERSION,
        "runs": [
            {
                "stack": r["stack"], "flavor": r["flavor"],
                "versions": {d: r["versions"].get(d) for d in VERSIONS_OF},
                "passed": r["passed"], "failed": r["failed"], "skipped": r["skipped"], "errors": r["errors"],
                "seconds": round(r["seconds"], 1), "ok": r["returncode"] == 0,
                "failures": r["failures"], "install_adds_only_compat_reg": not r["extra"],
            }
            for r in rows
        ],
    }


def write_json(rows, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(to_json(rows), f, indent=2)
        f.write("\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", nargs="*", metavar="STACK", help=f"default: {' '.join(STACKS)}")
    parser.add_argument("--list", action="store_true", help="print the stack names and exit")
    opts = parser.parse_args(argv)
    if opts.list:
        print(" ".join(STACKS))
        return 0
    unknown = [s for s in opts.stacks if s not in STACKS]
    if unknown:
        parser.error(f"unknown stack(s) {unknown}; known: {', '.join(STACKS)}")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    rows, ok = [], True
    for name in opts.stacks or list(STACKS):
        python, install_seconds = ensure_venv(name, log)
        versions = _freeze(python)
        extra = install_changes_nothing_else(python)
        if extra:
            ok = False
            log(f"[{name}] pip install . also changed: {extra}")
        for flavor in FLAVORS:
            result = run_suite(name, python, flavor, log)
            result.update(stack=name, flavor=flavor, versions=versions, install=install_seconds, extra=extra)
            rows.append(result)
            ok &= result["returncode"] == 0

    print()
    print(f"{'stack':<7} {'tensorflow':<11} {'keras':<7} {'tf-keras':<9} {'numpy':<7} {'flavor':<9} "
          f"{'passed':>6} {'failed':>6} {'skipped':>7} {'errors':>6} {'time':>7}  result")
    for r in rows:
        v = r["versions"]
        result = "passed" if r["returncode"] == 0 else "FAILED"
        print(f"{r['stack']:<7} {v.get('tensorflow', '?'):<11} {v.get('keras', '?'):<7} {v.get('tf-keras', '?'):<9} "
              f"{v.get('numpy', '?'):<7} {r['flavor']:<9} {r['passed']:>6} {r['failed']:>6} {r['skipped']:>7} "
              f"{r['errors']:>6} {r['seconds']:>6.0f}s  {result}")
    for r in rows:
        for failure in r["failures"]:
            print(f"  {r['stack']}/{r['flavor']}: {failure}")
    write_json(rows, os.path.join(ROOT, "reports", "matrix", "matrix.json"))
    installs = sorted({(r["stack"], r["install"], r["extra"]) for r in rows})
    for stack, seconds, extra in installs:
        print(f"  {stack}: venv {'reused' if not seconds else f'installed in {seconds:.0f} s'}; "
              f"pip install . adds {'only compat-reg' if not extra else 'ALSO: ' + extra}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
