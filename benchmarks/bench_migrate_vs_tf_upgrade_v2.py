"""``compat-reg migrate --to compat`` vs ``tf_upgrade_v2`` on tf_slim's nets restored to contrib-era imports.

tf_slim's ``nets/`` are contrib.slim's nets with their imports moved to tf_slim.
``contrib_era_nets(dst)`` writes them back the way they were written against
``tf.contrib`` (``from tensorflow.contrib import layers``, ``from
tensorflow.contrib.framework.python.ops import arg_scope``, ``from
tensorflow.contrib.layers.python.layers import ...``, ``import tensorflow as tf``),
which is the input both tools get. Both run as separate processes, round-robin:

* compat-reg: ``python -m migration.cli migrate --to compat -q DIR`` (the diff; no write);
* tf_upgrade_v2: ``--intree DIR --outtree OUT``.

Printed: wall times (median), the ratio, and whether each output imports on TF 2.21
(``tf_upgrade_v2`` leaves ``tensorflow.contrib`` imports it cannot map).

Usage: python -m benchmarks.bench_migrate_vs_tf_upgrade_v2 [--quick]
"""

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETS = os.path.join(os.path.dirname(importlib.util.find_spec("tf_slim").origin), "nets")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)

# tf_slim spelling -> contrib-era spelling (regular expressions over whole lines).
CONTRIB_ERA = (
    (r"^import tensorflow\.compat\.v1 as tf$", "import tensorflow as tf"),
    (r"^from tf_slim import layers( as \w+)?$", r"from tensorflow.contrib import layers\1"),
    (r"^from tf_slim\.layers import (\w+( as \w+)?)$", r"from tensorflow.contrib.layers.python.layers import \1"),
    (r"^from tf_slim\.ops\.arg_scope import (\w+)$", r"from tensorflow.contrib.framework.python.ops import \1"),
    (r"^from tf_slim\.ops import variables( as \w+)?$",
     r"from tensorflow.contrib.framework.python.ops import variables\1"),
    (r"^from tf_slim\.nets import (\w+)$", r"from tensorflow.contrib.slim.python.slim.nets import \1"),
    (r"^(\s*)from tf_slim\.nets import (\w+)$", r"\1from tensorflow.contrib.slim.python.slim.nets import \2"),
    (r"^from tf_slim\.nets\.(\w+) import (\w+)$", r"from tensorflow.contrib.slim.python.slim.nets.\1 import \2"),
)


def contrib_era_nets(dst):
    """Write tf_slim's nets (not their tests) to ``dst`` with their contrib-era imports; the file names."""
    os.makedirs(dst, exist_ok=True)
    written = []
    for name in sorted(os.listdir(NETS)):
        if not name.endswith(".py") or name.endswith("_test.py"):
            continue
        with open(os.path.join(NETS, name), encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        out = []
        for line in lines:
            for pattern, repl in CONTRIB_ERA:
                line = re.sub(pattern, repl, line)
            out.append(line)
        text = "\n".join(out)
        unmapped = [line for line in out if "tf_slim" in line and line.lstrip().startswith(("import ", "from "))]
        if unmapped:  # (docstrings may still say tf_slim)
            raise AssertionError(f"{name}: a tf_slim import has no contrib-era rule: {unmapped}")
        with open(os.path.join(dst, name), "w", encoding="utf-8") as handle:
            handle.write(text)
        written.append(name)
    return written


def _timed(cmd, **kwargs):
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, **kwargs)
    return time.perf_counter() - start, proc


def run_migrate(tree):
    elapsed, proc = _timed([sys.executable, "-m", "migration.cli", "migrate", "--to", "compat", "-q", tree], cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"migrate exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed, proc


def run_tf_upgrade_v2(tree, out_tree, report):
    shutil.rmtree(out_tree, ignore_errors=True)
    elapsed, proc = _timed([sys.executable, "-m", "tensorflow.tools.compatibility.tf_upgrade_v2_main",
                            "--intree", tree, "--outtree", out_tree, "--reportfile", report,
                            "--copyotherfiles", "False"])
    return elapsed, proc


def _imports_contrib(path):
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as handle:
        return any(line.lstrip().startswith(("import ", "from ")) and "tensorflow.contrib" in line
                   or "tf.contrib." in line.split("#")[0] and not line.lstrip().startswith(("#", '"', "'"))
                   for line in handle)


def _median(values):
    return sorted(values)[len(values) // 2]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each tool instead of three")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 3
    times = {"migrate": [], "tf_upgrade_v2": []}
    with tempfile.TemporaryDirectory() as work:
        tree = os.path.join(work, "nets")
        files = contrib_era_nets(tree)
        lines = sum(open(os.path.join(tree, f), encoding="utf-8").read().count("\n") for f in files)
        print(f"tree: tf_slim nets restored to contrib-era imports, {len(files)} files, {lines:,} lines")
        for _ in range(repeat):
            t, proc = run_migrate(tree)
            times["migrate"].append(t)
            t, up = run_tf_upgrade_v2(tree, os.path.join(work, "out"), os.path.join(work, "report.txt"))
            times["tf_upgrade_v2"].append(t)
        summary = proc.stderr.strip().splitlines()[-1]
        out_tree = os.path.join(work, "out")
        left = sorted(f for f in files if _imports_contrib(os.path.join(out_tree, f)))
    base = _median(times["tf_upgrade_v2"])
    mig = _median(times["migrate"])
    print(f"wall time, median of {repeat} (separate processes, interleaved):")
    print(f"  tf_upgrade_v2               {base:7.2f} s")
    print(f"  compat-reg migrate --to compat {mig:7.2f} s   ({base / mig:.1f}x faster)")
    print(f"  migrate: {summary}")
    print(f"  tf_upgrade_v2 output still importing tensorflow.contrib: {len(left)}/{len(files)} files"
          + (f" ({', '.join(left)})" if left else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
