"""``check_equivalence(..., backend=...)`` and ``compat-reg check --backend``: the demo port on JAX / torch.

The correct port must be EQUIVALENT with the new side in a child process (the CLI's
parent on TensorFlow), and the naive port must get exactly the diagnoses it gets
on the TensorFlow backend (this process: JAX, the new side in process). The
TensorFlow-backend reference and the CLI run as subprocesses, started together at
the module's first test and read by the tests at the end of the file: the checks in
between run while they import and check (on 2 cores this overlap is most of the
module's saving).
"""

import json

import numpy as np
import pytest

from examples import demo_keras_naive_port
from examples import demo_keras_port
from examples import demo_tf1_model
from tests.backends import models
from migration.equivalence import check_equivalence
from migration.equivalence.sides import child_process
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

    Started at the module's first test and read by the tests at the end of this file,
    so the checks in between (in this process and in a torch child) run while these
    processes import TensorFlow / JAX and check.
    """
    runs = _Runs({
        "port": start_cli("tensorflow", "check", OLD, PORT, "--input-shape", SHAPE, "--backend", "jax", "-q"),
        "naive_tf": start_cli("tensorflow", "check", OLD, NAIVE, "--input-shape", SHAPE, "--json", "-q"),
        "unknown": start_cli("tensorflow", "check", OLD, PORT, "--input-shape", SHAPE, "--backend", "cntk"),
    })
    yield runs
    runs.stop()


@pytest.fixture(scope="module", autouse=True)
def one_child_per_backend():
    """The module's checks on another backend share one child per backend (``reuse_children``)."""
    with child_process.reuse_children():
        yield


def test_port_on_torch_in_a_child_is_equivalent_under_cross_entropy_and_momentum():
    result = check_equivalence(demo_tf1_model.model, demo_keras_port.build, inputs=INPUTS, backend="torch",
                               steps=2, optimizer="momentum", loss="sparse_softmax_cross_entropy")
    assert result.info["new_backend"]["backend"] == "torch"
    expected = "this process" if current_backend() == "torch" else "child process"
    assert result.info["new_backend"]["process"] == expected
    assert [s.status for s in result.stages] == ["pass"] * 6, result.format_table()
    if current_backend() != "torch":  # the closed check's child is kept for the next one
        assert child_process.kept() == {"torch": 1}


def test_new_raising_in_the_child_is_the_users_error_with_the_childs_traceback():
    from migration.equivalence import UserCodeError

    other = "torch" if current_backend() != "torch" else "jax"
    with pytest.raises(UserCodeError) as info:
        check_equivalence(demo_tf1_model.model, models.failing_build, inputs=INPUTS, backend=other, steps=0)
    assert str(info.value) == (f"NEW 'failing_build' raised ChildError: RuntimeError: the port's builder failed on "
                               f"purpose (in the {other} child process)")
    note = info.value.error.__notes__[0]
    assert note.startswith(f"Traceback in the {other} child process:")
    assert 'tests/backends/models.py", line' in note and "in failing_build" in note
    assert child_process.kept() == {other: 1}  # the failed init released the (reused) child, alive


def test_new_must_be_importable_by_the_child():
    with pytest.raises(ValueError, match=r"NEW must be importable by the child process"):
        check_equivalence(demo_tf1_model.model, lambda: demo_keras_port.build(), inputs=INPUTS,
                          backend="torch" if current_backend() != "torch" else "jax")


def test_a_released_child_builds_the_next_new_as_a_fresh_process_would(tmp_path):
    """``release`` clears Keras' session: the next NEW's auto-named layers are named as in a new child."""
    import io

    from migration.equivalence.sides import backend_child

    models.build_unnamed()  # so that the first init below is not in a fresh session
    directory = str(tmp_path)
    init = {"op": "init", "args": {"new": "tests.backends.models:build_unnamed", "loss": "mse", "training": False,
                                   "inputs": models.INPUTS,
                                   "optimizer": {"name": "sgd", "learning_rate": 0.1, "params": {}}}}
    requests = io.StringIO()
    for i, request in enumerate([init, {"op": "release"}, init, {"op": "close"}]):
        backend_child.write_message(requests, directory, f"req{i}", request)
    requests.seek(0)
    proto = io.StringIO()
    backend_child.serve(directory, requests, proto)
    first, released, second, closed = [backend_child.read_message(line) for line in proto.getvalue().splitlines()]
    assert released == closed == {"result": None}
    assert second["result"]["names"] == ["sequential/dense/kernel", "sequential/dense/bias"]
    assert first["result"]["names"] != second["result"]["names"]  # the first init came after models.build_unnamed()


def test_batch_norm_port_in_training_mode_on_this_backend():
    from tests.migration.test_checker_training import X as BN_INPUTS
    from tests.migration.test_checker_training import keras_port
    from tests.migration.test_checker_training import slim_net

    result = check_equivalence(slim_net(), keras_port(), inputs=BN_INPUTS, steps=2, training=True, optimizer="adam",
                               learning_rate=0.05)
    assert result.info["new_backend"]["backend"] == current_backend()
    assert result.equivalent, result.format_table()
    assert result.stage("statistics").summary.startswith("2 moving statistics agree after 2 step(s)")


# -- the CLI runs (started by ``clis`` at the module's first test)
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
