"""Several ``examples/*.py`` run as scripts in ONE fresh interpreter, each reported on its own.

``python examples/x.py`` costs one TensorFlow + Keras start-up (~3.5 s of CPU) per script.
``run_as_scripts(names)`` starts one child (``python -c CHILD``, the checkout first on
``PYTHONPATH``, never this test process' conftest) that runs every script as ``__main__``
with ``runpy.run_path``, the way ``python examples/x.py`` does: ``__name__ == "__main__"``,
``sys.argv == [path]``, ``sys.path[0]`` the script's folder, and the script's own file
descriptors 1 and 2 (TensorFlow's C++ log lines included) captured apart from the others'.
Its exit status is the interpreter's: 0 on return, ``SystemExit``'s code, 1 with the traceback
on stderr for any other exception.

Between two scripts the child resets what a script can leave behind
(``keras.backend.clear_session()``, a fresh default graph, Grappler's optimizer options, the
global seed) and compares the process' global state with the one before the first script:
``state_left`` names whatever still differs, so a test can check that each script ran in
the state of a fresh interpreter.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = r'''
import json, os, runpy, sys, tempfile, traceback

import tensorflow as tf
from compat_reg import _flavor

keras = _flavor.keras()
# Grappler options an example may set, with the value an unset option has (RewriterConfig's
# default). TensorFlow cannot unset an option again: the runner sets it back to this value.
OPTIMIZER_DEFAULTS = {"dependency_optimization": True}


def state():
    """The process-global settings an example could change and leave for the next one."""
    return {
        "executing_eagerly": tf.executing_eagerly(),
        "functions_run_eagerly": tf.config.functions_run_eagerly(),
        "optimizer_options": {k: v for k, v in tf.config.optimizer.get_experimental_options().items()
                              if OPTIMIZER_DEFAULTS.get(k) != v},
        "soft_device_placement": tf.config.get_soft_device_placement(),
        "floatx": keras.backend.floatx(),
        "image_data_format": keras.backend.image_data_format(),
        "dtype_policy": str(keras.mixed_precision.global_policy().name),
        "default_graph_ops": len(tf.compat.v1.get_default_graph().get_operations()),
        "tf1_behavior": tf.compat.v1.executing_eagerly_outside_functions(),
    }


def reset(fresh):
    keras.backend.clear_session()
    tf.compat.v1.reset_default_graph()
    tf.config.optimizer.set_experimental_options(
        {k: fresh["optimizer_options"].get(k, v) for k, v in OPTIMIZER_DEFAULTS.items()})
    tf.random.set_seed(None)


def run(path):
    """``python path`` in this process: exit status and the captured fds 1 and 2."""
    saved = sys.argv, sys.path[0]
    sys.argv, sys.path[0] = [path], os.path.dirname(os.path.abspath(path))
    files = {fd: tempfile.TemporaryFile() for fd in (1, 2)}
    sys.stdout.flush(), sys.stderr.flush()
    kept = {fd: os.dup(fd) for fd in files}
    for fd, f in files.items():
        os.dup2(f.fileno(), fd)
    status = 0
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:  # what the interpreter does with it
        if exc.code is None or isinstance(exc.code, int):
            status = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            status = 1
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        for fd, old in kept.items():
            os.dup2(old, fd)
            os.close(old)
        sys.argv, sys.path[0] = saved
    out = {}
    for fd, f in files.items():
        f.seek(0)
        out[fd] = f.read().decode("utf-8", "replace")
        f.close()
    return status, out[1], out[2]


fresh = state()
results = {}
for path in sys.argv[1:]:
    status, stdout, stderr = run(path)
    reset(fresh)
    now = state()
    results[path] = {"status": status, "stdout": stdout, "stderr": stderr,
                     "state_left": {k: [fresh[k], now[k]] for k in fresh if now[k] != fresh[k]}}
print("JSON" + json.dumps(results))
'''


def child_env(**extra):
    """The environment of a script run: the checkout first on PYTHONPATH (this tree's compat_reg in any venv)."""
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **extra)


def run_as_scripts(names, timeout=600):
    """``{name: {"status", "stdout", "stderr", "state_left"}}`` for ``examples/<name>.py``, in one child."""
    paths = [os.path.join("examples", f"{name}.py") for name in names]
    proc = subprocess.run([sys.executable, "-c", CHILD, *paths], cwd=ROOT, env=child_env(), capture_output=True,
                          text=True, timeout=timeout)
    last = proc.stdout.splitlines()[-1] if proc.stdout else ""
    assert proc.returncode == 0 and last.startswith("JSON"), f"the script runner failed:\n{proc.stderr[-3000:]}"
    results = json.loads(last[len("JSON"):])
    return {name: results[path] for name, path in zip(names, paths)}

