"""Shared by the backend tests: the current Keras 3 backend, the skip for other runs, a child-process runner.

These tests run in ``make test``'s separate ``KERAS_BACKEND=jax pytest -m backend``
run (Keras picks its backend once per process); in any other run they are skipped
with that reason. The TensorFlow-backend references run in a subprocess with
``KERAS_BACKEND=tensorflow``.
"""

import json
import os
import subprocess
import sys

import pytest

from compat_reg import _flavor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def current_backend():
    if not _flavor.is_keras3():
        return "tf_keras"
    import keras

    return keras.backend.backend()


NON_TF = pytest.mark.skipif(
    current_backend() in ("tensorflow", "tf_keras"),
    reason="needs this process' Keras 3 on JAX or torch: run `KERAS_BACKEND=jax pytest -m backend tests/backends`",
)


def env_for(backend):
    """The environment of a child Python on ``backend``, importing this checkout first."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_USE_LEGACY_KERAS", None)
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def run_python(backend, code, *args, timeout=300):
    """Run ``python -c code args`` on ``backend``; its last stdout line parsed as JSON."""
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env_for(backend), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def start_cli(backend_of_parent, *argv):
    """Start ``python -m migration.cli argv`` with this process' Keras on ``backend_of_parent``."""
    return subprocess.Popen([sys.executable, "-m", "migration.cli", *argv], env=env_for(backend_of_parent),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_python_on(backends, code, *args, timeout=300):
    """``run_python`` on several backends at once (concurrent subprocesses): ``{backend: parsed result}``."""
    procs = {b: subprocess.Popen([sys.executable, "-c", code, *args], env=env_for(b), cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for b in backends}
    out = {}
    for b, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, f"{b}: {stderr[-3000:]}"
        out[b] = json.loads(stdout.strip().splitlines()[-1])
    return out
