"""The users' questions answered in examples/: each script runs, and its numbers are checked.

References: NumPy (the starting weights' penalty; a float64 SGD simulation of the
trainable-coefficient model).
"""

import importlib.util
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import assert_close
from tests.keras_bridge.example_scripts import run_as_scripts

pytestmark = pytest.mark.keras

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT_TIMEOUT_S = 360  # both scripts, one after the other in one child


def _load(name):
    path = os.path.join(ROOT, "examples", name + ".py")
    spec = importlib.util.spec_from_file_location("example_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPTS = [
    pytest.param("keras_loss_without_weight_decay", "regularization_loss", id="loss-without-weight-decay"),
    pytest.param("keras_trainable_coefficient", "final lam=", id="trainable-coefficient"),
]


@pytest.fixture(scope="module")
def script_runs():
    """Every script of SCRIPTS as ``__main__`` in one fresh interpreter (one TensorFlow start-up)."""
    return run_as_scripts([p.values[0] for p in SCRIPTS], timeout=SCRIPT_TIMEOUT_S)


@pytest.mark.parametrize("name,expected", SCRIPTS)
def test_script_runs(script_runs, name, expected):
    run = script_runs[name]
    assert run["status"] == 0, run["stderr"][-3000:]
    assert expected in run["stdout"]
    assert run["state_left"] == {}, "the script changed the process' global state for the next one"


def test_loss_without_weight_decay_numbers():
    example = _load("keras_loss_without_weight_decay")
    history, numpy_reg = example.main(epochs=3, verbose=0)
    assert_close(history["regularization_loss"][0], numpy_reg)
    for e in range(3):
        assert_close(
            history["regularization_loss"][e] + history["loss_no_weight_decay"][e], history["loss"][e], rtol=1e-6
        )
    # Training moved the weights, so the penalty of later epochs differs from the first.
    assert history["regularization_loss"][2] != history["regularization_loss"][0]


def _np_trainable_coefficient(example, epochs):
    """Full-batch SGD on mse(X w, Y) + softplus(raw) * sum(w**2) / 2, in float64."""
    x, y = example.X.astype(np.float64), example.Y.astype(np.float64)
    w, raw = example.W0.astype(np.float64), example.softplus_inverse(example.LAM0)
    lams = [np.log1p(np.exp(raw))]
    for _ in range(epochs):
        lam = np.log1p(np.exp(raw))
        g_w = 2.0 * x.T @ (x @ w - y) / len(x) + lam * w
        g_raw = (1.0 / (1.0 + np.exp(-raw))) * np.sum(w**2) / 2.0
        w, raw = w - 0.1 * g_w, raw - 0.1 * g_raw
        lams.append(np.log1p(np.exp(raw)))
    return w, raw, lams


def test_trainable_coefficient_numbers():
    example = _load("keras_trainable_coefficient")
    before = tf.config.optimizer.get_experimental_options()
    try:
        results = example.main(epochs=5)
    finally:
        tf.config.optimizer.set_experimental_options(
            {"dependency_optimization": before.get("dependency_optimization", True)}
        )
    w, raw, lams = _np_trainable_coefficient(example, 5)
    for route in ("tf1_layer", "keras"):
        r = results[route]
        assert_close(r["kernel"], w, rtol=1e-5, what=route)
        assert_close(r["raw"], raw, rtol=1e-5, what=route)
        assert_close(r["lam"], lams, rtol=1e-5, what=route)
        assert min(r["lam"]) > 0.0
