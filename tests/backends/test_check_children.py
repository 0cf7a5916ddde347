"""``check_equivalence(..., backend=...)`` with the new side in a child process on torch (or JAX), and in process.

The demo port on torch in a child (cross-entropy, momentum) must pass every stage;
NEW raising in the child is the user's error with the child's traceback; NEW must be
importable by the child; a batch-norm port in training mode on this backend. The
module's checks on another backend share one child (``child_process.reuse_children``):
the first starts it (importing TensorFlow, Keras and torch), the next ones reuse it.
The CLI runs: ``test_check.py``.
"""

import numpy as np
import pytest

from examples import demo_keras_port
from examples import demo_tf1_model
from migration.equivalence import check_equivalence
from migration.equivalence.sides import child_process
from tests.backends import models
from tests.backends._support import NON_TF
from tests.backends._support import current_backend

pytestmark = [pytest.mark.backend, pytest.mark.keras, NON_TF]

INPUTS = np.random.default_rng(0).standard_normal(demo_tf1_model.INPUT_SHAPE).astype(np.float32)


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
