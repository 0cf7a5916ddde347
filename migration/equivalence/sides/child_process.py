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
side is closed (or garbage collected, or the parent exits: its stdin closes).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
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


def _shutdown(proc, directory):
    try:
        if proc.poll() is None:
            proc.stdin.close()
            proc.wait(timeout=20)
    except Exception:  # noqa: BLE001 - best effort at exit
        proc.kill()
    shutil.rmtree(directory, ignore_errors=True)


class ChildSide:
    """``sides.NewSide`` proxy for a Keras 3 model built and run in a child process on ``backend``."""

    label = "new"

    def __init__(self, new_ref, inputs, loss_ref, choice, training, backend, who):
        self.backend, self.who = backend, who
        self._dir = tempfile.mkdtemp(prefix=f"compat-reg-{backend}-")
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
        env.pop("TF_USE_LEGACY_KERAS", None)
        path = [os.getcwd() if p == "" else p for p in sys.path]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
        self._stderr = open(os.path.join(self._dir, "stderr.txt"), "w+")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", _CHILD_MODULE, self._dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env=env, text=True, cwd=os.getcwd(),
        )
        self._finalizer = weakref.finalize(self, _shutdown, self._proc, self._dir)
        self._n = 0
        info = self._request("init", {
            "new": new_ref, "loss": loss_ref, "training": training, "inputs": inputs,
            "optimizer": {"name": choice.name, "learning_rate": choice.learning_rate, "params": dict(choice.params)},
        })
        for key in ("names", "shapes", "trainable", "outputs_shape", "created_twice", "optimizer_from_model",
                    "dropout"):
            setattr(self, key, info[key])
        self.outputs_shape = tuple(self.outputs_shape)
        self.heads = _structure.SINGLE  # the child compares one output (several heads: TensorFlow only)
        self.shapes = {n: tuple(s) for n, s in self.shapes.items()}
        self.losses = None

    # -- the protocol
    def _request(self, op, args=None):
        self._n += 1
        if self._proc.poll() is not None:
            raise ChildError(f"{START_TIMEOUT_NOTE} (exit {self._proc.returncode}):\n{self._stderr_tail()}")
        try:
            write_message(self._proc.stdin, self._dir, f"req{self._n}", {"op": op, "args": args or {}})
            line = self._proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self._proc.wait(timeout=20)
            raise ChildError(f"{START_TIMEOUT_NOTE} (exit {self._proc.returncode}) during {op!r}:\n"
                             f"{self._stderr_tail()}")
        response = read_message(line)
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

    def _stderr_tail(self, n=4000):
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()[-n:]

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
        if self._proc.poll() is None:
            try:
                self._request("close")
            except (ChildError, OSError, json.JSONDecodeError):
                pass
        self._finalizer()
        self._stderr.close()


def make(spec, backend, who):
    """The ``ChildSide`` for ``spec`` (a ``context.Spec``); ``UsageError`` when NEW or the loss cannot be imported."""
    try:
        new_ref = backends.reference(spec.new_arg, "NEW")
        loss_ref = spec.loss if isinstance(spec.loss, str) else backends.reference(spec.loss, "--loss")
    except ValueError as e:
        raise UsageError(str(e)) from None
    return ChildSide(new_ref, spec.inputs, loss_ref, spec.optimizer, spec.training, backend, who)
