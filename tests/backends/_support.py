"""Shared by the backend tests: the current Keras 3 backend, the skip for other runs, a child-process runner.

These tests run in ``make test``'s separate ``KERAS_BACKEND=jax pytest -m backend``
run (Keras picks its backend once per process); in any other run they are skipped
with that reason. The TensorFlow-backend (and torch) references run as snippets in
one long-lived subprocess per backend and xdist worker (``Server``, the ``servers``
fixture of ``conftest.py``), started at the first module that needs it so that its
imports overlap that module's other tests.
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


# The loop of a ``Server``: one snippet per stdin line, in a fresh namespace and a cleared Keras session.
_SERVE = r"""
import json, sys, traceback
import keras
import compat_reg  # the imports every snippet needs (TensorFlow, Keras, the backend): once per server
for line in sys.stdin:
    job = json.loads(line)
    keras.utils.clear_session()
    namespace = {"ARGS": job["args"], "__name__": "__snippet__"}
    try:
        exec(compile(job["code"], f"<snippet {job['id']}>", "exec"), namespace)
        reply = {"id": job["id"], "result": namespace["RESULT"]}
    except BaseException:
        reply = {"id": job["id"], "error": traceback.format_exc()}
    print("@@" + json.dumps(reply), flush=True)
"""


class Server:
    """A long-lived ``python`` on ``backend`` running the snippets of every module of this worker that asks.

    One process per backend instead of one per snippet saves the imports of TensorFlow,
    Keras and the backend (seconds of CPU each). A snippet runs with ``ARGS`` (JSON
    values) in a fresh namespace after ``keras.utils.clear_session()`` and sets
    ``RESULT`` (JSON-able). ``submit`` queues it at once (the server may still be
    importing); ``Job.result()`` waits for that snippet's reply.
    """

    def __init__(self, backend, timeout=300):
        self.backend, self.timeout = backend, timeout
        self._proc = subprocess.Popen([sys.executable, "-c", _SERVE], env=env_for(backend), cwd=ROOT,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True)
        self._replies, self._n = {}, 0

    def submit(self, code, *args):
        self._n += 1
        self._proc.stdin.write(json.dumps({"id": self._n, "code": code, "args": list(args)}) + "\n")
        self._proc.stdin.flush()
        return Job(self, self._n)

    def _reply(self, job_id):
        while job_id not in self._replies:
            line = self._proc.stdout.readline()
            if not line:
                self._proc.wait(timeout=self.timeout)
                raise AssertionError(f"the {self.backend} server ended (exit {self._proc.returncode}): "
                                     f"{self._proc.stderr.read()[-3000:]}")
            if line.startswith("@@"):
                reply = json.loads(line[2:])
                self._replies[reply["id"]] = reply
        return self._replies.pop(job_id)

    def close(self):
        """End it (killed: it holds nothing to save, and TensorFlow + torch take seconds to shut down)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.communicate()


class Job:
    """One snippet queued on a ``Server``; ``result()`` is its ``RESULT``."""

    def __init__(self, server, job_id):
        self._server, self._id = server, job_id

    def result(self):
        reply = self._server._reply(self._id)
        assert "error" not in reply, f"{self._server.backend} snippet {self._id}: {reply.get('error', '')[-3000:]}"
        return reply["result"]


def start_cli(backend_of_parent, *argv):
    """Start ``python -m migration.cli argv`` with this process' Keras on ``backend_of_parent``."""
    return subprocess.Popen([sys.executable, "-m", "migration.cli", *argv], env=env_for(backend_of_parent),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
