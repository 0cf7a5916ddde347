"""The TF1Layer examples run, and their numbers agree with NumPy (both Keras flavors).

Both scripts run as ``__main__`` in one fresh interpreter (``example_scripts.run_as_scripts``:
one TensorFlow start-up for the two, each script's exit status and output apart).
"""

import importlib.util
import os

import numpy as np
import pytest

from compat_reg import _flavor
from tests.helpers import assert_close
from tests.keras_bridge.example_scripts import run_as_scripts

pytestmark = pytest.mark.keras

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load(name):
    path = os.path.join(ROOT, "examples", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_keras_activity_penalty():
    result = _load("keras_activity_penalty").main(steps=3, verbose=False)
    assert result["numpy"] > 0
    assert_close(result["bridged"], result["numpy"], what="TF1Layer activity penalty vs NumPy")
    # tf_keras, Keras >= 3.14: the batch mean; Keras 3 < 3.14: the raw sum
    native_want = result["numpy"] if _flavor.activity_loss_divided_by_batch() else result["numpy_sum"]
    assert_close(result["native"], native_want, what="Keras activity_regularizer vs NumPy")
    assert result["kernel_moved"]
    assert result["losses"][-1] < result["losses"][0]


def test_keras_joint_kernel_penalty():
    module = _load("keras_joint_kernel_penalty")
    result = module.main(steps=3, verbose=False)
    assert result["numpy"] > 0
    assert_close(result["bridged"], result["numpy"], what="joint penalty incl. the frozen kernel vs NumPy")
    assert result["trainable"] == ["conv0/kernel", "conv2/kernel"]
    assert result["moved"] == {"conv0/kernel": True, "conv1/kernel": False, "conv2/kernel": True}
    assert_close(result["penalty_after"], result["numpy_after"], what="after fit")


SCRIPTS = ["keras_activity_penalty", "keras_joint_kernel_penalty"]


def _assert_ran_and_printed_the_numbers(status, stdout, stderr):
    assert status == 0, stderr[-3000:]
    assert "TF1Layer" in stdout and "NumPy" in stdout
    assert np.isfinite([float(line.split()[-1]) for line in stdout.splitlines() if "NumPy" in line]).all()


@pytest.fixture(scope="module")
def script_runs():
    return run_as_scripts(SCRIPTS, timeout=600)


@pytest.mark.parametrize("name", SCRIPTS)
def test_examples_run_as_scripts(script_runs, name):
    run = script_runs[name]
    _assert_ran_and_printed_the_numbers(run["status"], run["stdout"], run["stderr"])
    assert run["state_left"] == {}, "the script changed the process' global state for the next one"

