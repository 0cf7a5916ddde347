"""``compat-reg`` start-up: ``--help`` / ``--version`` / ``check --help`` against ``import tensorflow``.

Every command runs as a user runs it, a fresh interpreter each time, timed
round-robin in one run (``_timing.interleaved_medians``) so load from other
processes falls on all alike. Printed: the median wall time of each and its ratio
to the baseline ``python -c "import tensorflow"``; the interpreter's own start
(``python -c pass``) is printed as the floor.

Two entry paths are measured:

* ``python -m migration.cli ARGS`` (the checkout): the CLI package alone;
* ``python -m compat_reg ARGS``: what the installed ``compat-reg`` script runs
  (``compat_reg.migration.cli:main``), which first imports the ``compat_reg``
  package itself.

Usage: python -m benchmarks.bench_cli_startup [--quick]
"""

import argparse
import os
import subprocess
import sys

from benchmarks._timing import interleaved_medians

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = "python -c 'import tensorflow'"

COMMANDS = {
    "python -c pass (interpreter floor)": ["-c", "pass"],
    BASELINE: ["-c", "import tensorflow"],
    "compat-reg --help (-m migration.cli)": ["-m", "migration.cli", "--help"],
    "compat-reg --version (-m migration.cli)": ["-m", "migration.cli", "--version"],
    "compat-reg check --help (-m migration.cli)": ["-m", "migration.cli", "check", "--help"],
    "compat-reg scan --help (-m migration.cli)": ["-m", "migration.cli", "scan", "--help"],
    "compat-reg --help (-m compat_reg)": ["-m", "compat_reg", "--help"],
}


def _runner(args):
    env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")

    def run():
        subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds instead of 5")
    opts = parser.parse_args(argv)
    repeat = 2 if opts.quick else 5
    print(f"CLI start-up, median of {repeat} fresh processes each, round-robin ({sys.executable})", flush=True)
    medians = interleaved_medians({name: _runner(args) for name, args in COMMANDS.items()}, repeat=repeat, warmup=1)
    base = medians[BASELINE]
    for name, seconds in medians.items():
        print(f"{name:<46} {seconds:7.3f} s  {seconds / base:6.3f}x {BASELINE}", flush=True)
    budget = 0.3
    over = [n for n, s in medians.items() if n.startswith("compat-reg") and s > budget]
    print(f"budget {budget} s: " + ("all compat-reg commands within it" if not over else "over: " + "; ".join(over)))


if __name__ == "__main__":
    main()
