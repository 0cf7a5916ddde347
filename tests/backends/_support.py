"""Shared by the backend tests: the current Keras 3 backend, the skip for other runs, a child-process runner.

These tests run in ``make test``'s separate ``KERAS_BACKEND=jax pytest -m backend``
run (Keras picks its backend once per process); in any other run they are skipped
with that reason. The TensorFlow-backend references run in a subprocess with
``KERAS_BACKEND=tensorflow``, started at its module's first test (``Python``) so that
its imports overlap the module's other tests.
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


class Python:
    """``python -c code`` on ``backend``, started now (it imports while this process goes on).

    ``result(*lines)`` sends ``lines`` to its stdin (what it needs from this process,
    once written), waits and parses its last stdout line as JSON.
    """

    def __init__(self, backend, code, timeout=300):
        self.backend, self._timeout = backend, timeout
        self._proc = subprocess.Popen([sys.executable, "-c", code], env=env_for(backend), cwd=ROOT,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result(self, *lines):
        stdout, stderr = self._proc.communicate("".join(f"{line}\n" for line in lines), timeout=self._timeout)
        assert self._proc.returncode == 0, f"{self.backend}: {stderr[-3000:]}"
        return json.loads(stdout.strip().splitlines()[-1])

    def stop(self):
        """End it if no test read it (a failure before its ``result``)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()


def start_cli(backend_of_parent, *argv):
    """Start ``python -m migration.cli argv`` with this process' Keras on ``backend_of_parent``."""
    return subprocess.Popen([sys.executable, "-m", "migration.cli", *argv], env=env_for(backend_of_parent),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
