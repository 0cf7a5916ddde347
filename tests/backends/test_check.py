"""``compat-reg check --backend`` and the naive port on this backend against the TensorFlow backend's CLI.

The correct port must be EQUIVALENT with the new side in a JAX child process (the
CLI's parent on TensorFlow), and the naive port must get exactly the diagnoses it
gets on the TensorFlow backend (this process: JAX, the new side in process). The
TensorFlow-backend reference and the CLI run as subprocesses, started together at
the module's first test: the in-process check runs while they import and check.
The checks of a port in a child from this process: ``test_check_children.py``
(a module of its own, so that xdist runs it beside this one).
"""

import json

import numpy as np
import pytest

from examples import demo_keras_naive_port
from examples import demo_tf1_model
from migration.equivalence import check_equivalence
from migration.exit_codes import EXIT_OK
from migration.exit_codes import EXIT_USAGE
from tests.backends._support import NON_TF
from tests.backends._support import current_backend
from tests.backends._support import start_cli

pytestmark = [pytest.mark.backend, pytest.mark.keras, NON_TF]

OLD, PORT, NAIVE = ("examples.demo_tf1_model:model", "examples.demo_keras_port:build",
                    "examples.demo_keras_naive_port:build")
SHAPE = ",".join(str(d) for d in demo_tf1_model.INPUT_SHAPE)
INPUTS = np.random.default_rng(0).standard_normal(demo_tf1_model.INPUT_SHAPE).astype(np.float32)


class _Runs:
    """CLI processes started together; ``result(name)`` waits for one: ``(returncode, stdout, stderr)``."""

    def __init__(self, procs):
        self._procs, self._done = procs, {}

    def result(self, name):
        if name not in self._done:
            stdout, stderr = self._procs[name].communicate(timeout=400)
            self._done[name] = (self._procs[name].returncode, stdout, stderr)
        return self._done[name]

    def stop(self):
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


@pytest.fixture(scope="module", autouse=True)
def clis():
    """The CLI runs at once: the port on JAX (child), the naive port on TensorFlow (--json), an unknown backend.

    Started at the module's first test; the naive port's check in this process runs
    while these processes import TensorFlow / JAX and check.
    """
    runs = _Runs({
        "port": start_cli("tensorflow", "check", OLD, PORT, "--input-shape", SHAPE, "--backend", "jax", "-q"),
        "naive_tf": start_cli("tensorflow", "check", OLD, NAIVE, "--input-shape", SHAPE, "--json", "-q"),
        "unknown": start_cli("tensorflow", "check", OLD, PORT, "--input-shape", SHAPE, "--backend", "cntk"),
    })
    yield runs
    runs.stop()


def _codes(diagnoses):
    return [(d["code"], d["variable"], d["message"]) for d in diagnoses]


def test_naive_port_gets_the_tensorflow_backends_diagnoses_on_this_backend(clis):
    result = check_equivalence(demo_tf1_model.model, demo_keras_naive_port.build, inputs=INPUTS,
                               backend=current_backend())  # first: the CLI runs meanwhile
    rc, stdout, stderr = clis.result("naive_tf")
    tf_report = json.loads(stdout)
    tf_diagnoses = [d for s in tf_report["stages"] for d in s["diagnoses"]]
    assert result.info["new_backend"]["backend"] == current_backend()
    assert result.info["new_backend"]["process"] == "this process"
    assert result.failed_stage == "regularization" == next(s["name"] for s in tf_report["stages"]
                                                           if s["status"] == "fail")
    assert _codes([d.to_dict() for d in result.diagnoses]) == _codes(tf_diagnoses)
    assert [(c, v) for c, v, _ in _codes(tf_diagnoses)] == [
        ("l2-twice", "conv1/kernel"), ("l2-twice", "conv2/kernel"), ("l2-twice", "fc1/kernel"),
        ("l2-twice", "logits/kernel"), ("bias-one-side", "logits/bias")]


def test_cli_port_on_jax_is_equivalent(clis):
    rc, stdout, stderr = clis.result("port")
    assert rc == EXIT_OK, stdout + stderr[-3000:]
    lines = stdout.strip().splitlines()
    assert lines[-1] == "EQUIVALENT"
    assert "new side on Keras 3 backend: jax (keras 3.15.1, jax 0.10.2, jaxlib 0.10.2), child process" in lines
    for stage in ("build", "variables", "regularization", "forward", "gradients", "steps"):
        assert any(line.startswith(f"{stage} ") and " PASS " in line for line in lines), stage


def test_unknown_backend_is_a_usage_error_naming_the_choices(clis):
    rc, stdout, stderr = clis.result("unknown")
    assert rc == EXIT_USAGE
    assert stdout == ""
    assert "--backend 'cntk': expected one of tensorflow, jax, torch" in stderr
