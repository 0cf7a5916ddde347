"""The new side on another Keras 3 backend (JAX, PyTorch), run in a child process.

Keras picks its backend once per process, and the parent keeps TensorFlow for the
old side's ``tf.Graph``. ``ChildSide`` starts ``python -m <package>.sides.backend_child
DIR`` with ``KERAS_BACKEND`` set (``TF_USE_LEGACY_KERAS`` unset: the new side is Keras
3) and the parent's ``sys.path`` as ``PYTHONPATH``, so NEW (and a ``--loss`` callable)
import there as ``module:attr``. Every ``sides.NewSide`` method is one request; inputs,
targets, weights, outputs, gradients and optimizer slots cross as ``.npz`` files in a
temporary directory (``backend_child.write_message`` / ``read_message``). Nothing else
changes for the stages.

Errors come back classified: the user's NEW code raised -> ``UserCodeError`` (with the
child's traceback), a ``TypeError``/``ValueError`` of the build -> ``UsageError``,
anything else -> ``RuntimeError`` with the child's traceback. The child ends when the
side is closed (or garbage collected, or the parent exits: its stdin closes); inside
``reuse_children()`` it is kept instead and serves the next check on that backend.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref

from .. import _structure
from .. import backends
from . import UsageError
from . import UserCodeError
from .backend_child import read_message
from .backend_child import write_message

_CHILD_MODULE = __name__.rsplit(".", 1)[0] + ".backend_child"
START_TIMEOUT_NOTE = "the child process running the new side ended unexpectedly"


class ChildError(RuntimeError):
    """An exception raised in the child process; the message holds its traceback."""


def _shutdown(proc, directory, stderr):
    try:
        if proc.poll() is None:
            proc.stdin.close()
            proc.wait(timeout=20)
    except Exception:  # noqa: BLE001 - best effort at exit
        proc.kill()
    stderr.close()
    shutil.rmtree(directory, ignore_errors=True)


def _environment(backend):
    """The child's environment: ``KERAS_BACKEND``, Keras 3 (no ``TF_USE_LEGACY_KERAS``), this ``sys.path``."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    env.pop("TF_USE_LEGACY_KERAS", None)
    path = [os.getcwd() if p == "" else p for p in sys.path]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
    return env


def _key(backend, env, cwd):
    """Which kept child may serve a check: same backend, import path (``PYTHONPATH``) and working directory.

    Not the whole environment: pytest, for one, rewrites ``PYTEST_CURRENT_TEST`` at
    every test. A kept child keeps the environment variables it started with.
    """
    return backend, env["PYTHONPATH"], cwd


class _Child:
    """One child process: its pipes, its exchange directory, its stderr file, its request counter."""

    def __init__(self, backend, env, cwd):
        self.backend, self.key = backend, _key(backend, env, cwd)
        self.dir = tempfile.mkdtemp(prefix=f"compat-reg-{backend}-")
        self.stderr = open(os.path.join(self.dir, "stderr.txt"), "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", _CHILD_MODULE, self.dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, env=env, text=True, cwd=cwd,
        )
        self.n = 0
        self._finalizer = weakref.finalize(self, _shutdown, self.proc, self.dir, self.stderr)

    def exchange(self, op, args):
        """One request; the child's response, or ``None`` when it ended (before or while answering)."""
        self.n += 1
        try:
            write_message(self.proc.stdin, self.dir, f"req{self.n}", {"op": op, "args": args})
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        return read_message(line) if line else None

    def stderr_tail(self, n=4000):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()[-n:]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.exchange("close", {})
            except (OSError, ValueError):  # a closed pipe, or a line that is not JSON
                pass
        self._finalizer()


# Children kept for the next check inside ``reuse_children`` blocks: key -> idle children.
_LOCK = threading.Lock()
_KEPT = {}
_DEPTH = [0]


@contextlib.contextmanager
def reuse_children():
    """Within this block a finished check's child process serves the next check on the same backend.

    Without it every check on JAX / torch starts a child (which imports TensorFlow,
    Keras and the backend: seconds of CPU) and ends it. Inside the block, closing a
    ``ChildSide`` tells its child to ``release`` the model (``keras.utils.clear_session()``,
    so the next NEW's layers are named as in a fresh process) and keeps it; the next
    ``ChildSide`` with the same backend, ``sys.path`` and working directory takes it.
    The child keeps what it started with: its environment variables, and the modules
    it imported (an edit to NEW's module between two checks is not seen). The kept
    children end when the outermost block exits.
    """
    with _LOCK:
        _DEPTH[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH[0] -= 1
            idle = [c for kept in _KEPT.values() for c in kept] if not _DEPTH[0] else []
            if not _DEPTH[0]:
                _KEPT.clear()
        for child in idle:
            child.close()


def kept():
    """``{backend: number of idle children kept}`` (inside ``reuse_children``)."""
    with _LOCK:
        out = {}
        for kept_children in _KEPT.values():
            for child in kept_children:
                out[child.backend] = out.get(child.backend, 0) + 1
        return out


def _acquire(backend):
    env, cwd = _environment(backend), os.getcwd()
    key = _key(backend, env, cwd)
    with _LOCK:
        kept_children = _KEPT.get(key, [])
        while kept_children:
            child = kept_children.pop()
            if child.proc.poll() is None:
                child.stderr.seek(0)
                child.stderr.truncate()  # the tail of an error names this check's output only
                return child
            child.close()
    return _Child(backend, env, cwd)


def _release(child):
    """A check is over: keep ``child`` for the next one inside ``reuse_children``, else end it."""
    if _DEPTH[0] and child.proc.poll() is None:
        try:
            response = child.exchange("release", {})
        except (OSError, ValueError):
            response = None
        if response is not None and "error" not in response:
            with _LOCK:
                if _DEPTH[0]:
                    _KEPT.setdefault(child.key, []).append(child)
                    return
    child.close()


class ChildSide:
    """``sides.NewSide`` proxy for a Keras 3 model built and run in a child process on ``backend``."""

    label = "new"

    def __init__(self, new_ref, inputs, loss_ref, choice, training, backend, who):
        self.backend, self.who = backend, who
        self._child = _acquire(backend)
        self._finalizer = weakref.finalize(self, _release, self._child)
        try:
            info = self._request("init", {
                "new": new_ref, "loss": loss_ref, "training": training, "inputs": inputs,
                "optimizer": {"name": choice.name, "learning_rate": choice.learning_rate,
                              "params": dict(choice.params)},
            })
        except BaseException:
            self.close()  # the child is released (or kept) now, not when this object is collected
            raise
        for key in ("names", "shapes", "trainable", "outputs_shape", "created_twice", "optimizer_from_model",
                    "dropout"):
            setattr(self, key, info[key])
        self.outputs_shape = tuple(self.outputs_shape)
        self.heads = _structure.SINGLE  # the child compares one output (several heads: TensorFlow only)
        self.shapes = {n: tuple(s) for n, s in self.shapes.items()}
        self.losses = None

    # -- the protocol
    def _request(self, op, args=None):
        proc = self._child.proc
        if proc.poll() is not None:
            raise ChildError(f"{START_TIMEOUT_NOTE} (exit {proc.returncode}):\n{self._child.stderr_tail()}")
        response = self._child.exchange(op, args or {})
        if response is None:
            proc.wait(timeout=20)
            raise ChildError(f"{START_TIMEOUT_NOTE} (exit {proc.returncode}) during {op!r}:\n"
                             f"{self._child.stderr_tail()}")
        if "error" in response:
            self._raise(op, response["error"])
        return response["result"]

    def _call(self, method, *args):
        return self._request(method, {"args": list(args)})

    def _raise(self, op, err):
        error = ChildError(f"{err['type']}: {err['message']} (in the {self.backend} child process)")
        error.add_note(f"Traceback in the {self.backend} child process:\n{err['traceback'].rstrip()}")
        if err["user"]:
            raise UserCodeError(self.who, error) from error
        if err["usage"] and op == "init":
            raise UsageError(
                f"the new model failed on Keras 3's {self.backend} backend ({err['type']}: {err['message']}). "
                "Check --input-shape / inputs (batch first), and that NEW builds a Keras 3 model "
                "with backend-agnostic code (keras.ops, not tf.*)."
            )
        raise error

    # -- sides.Side
    def set_targets(self, targets):
        self.targets = targets
        self._call("set_targets", targets)
        self.losses = self._request("get", {"name": "losses"})

    def values(self):
        return self._call("values")

    def assign(self, values):
        self._call("assign", dict(values))

    def evaluate(self):
        return self._call("evaluate")

    def reg_values(self):
        return self._call("reg_values")

    def gradients(self):
        return {n: tuple(g) for n, g in self._call("gradients").items()}

    def step(self):
        self._call("step")

    def describe_optimizer(self):
        return self._call("describe_optimizer")

    def update_statistics(self):
        self._call("update_statistics")

    def batch_norm_epsilons(self):
        return self._call("batch_norm_epsilons")

    # -- sides.NewSide
    def ensure_optimizer(self):
        self._call("ensure_optimizer")
        return None

    def weight_decay(self):
        return self._call("weight_decay")

    def optimizer_is_plain_sgd(self):
        return self._call("optimizer_is_plain_sgd")

    def scheduled_learning_rate(self):
        return self._call("scheduled_learning_rate")

    def optimizer_config(self):
        return self._call("optimizer_config")

    def slot_values(self, slot):
        return self._call("slot_values", slot)

    def replica_reg_values(self, indices):
        raise UsageError(f"a tf.distribute strategy cannot run the new side on Keras 3's {self.backend} backend")

    def close(self):
        """End the check: the child ends, or is kept for the next check inside ``reuse_children``."""
        self._finalizer()


def make(spec, backend, who):
    """The ``ChildSide`` for ``spec`` (a ``context.Spec``); ``UsageError`` when NEW or the loss cannot be imported."""
    try:
        new_ref = backends.reference(spec.new_arg, "NEW")
        loss_ref = spec.loss if isinstance(spec.loss, str) else backends.reference(spec.loss, "--loss")
    except ValueError as e:
        raise UsageError(str(e)) from None
    return ChildSide(new_ref, spec.inputs, loss_ref, spec.optimizer, spec.training, backend, who)
