"""The graph-mode examples run and print numbers that agree with themselves and with NumPy.

Every example runs in-process through its ``main(argv)`` (each builds its own ``tf.Graph``), which
is what ``python examples/<name>.py`` runs, without paying a TensorFlow import per example.
"""

import importlib.util
import os
import re

import numpy as np
import pytest

from tests.helpers import assert_close

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
NUM = r"(-?[0-9.]+(?:e[-+]?\d+)?|nan|-?inf)"


def _pairs(line):
    return {k: float(v) for k, v in re.findall(r"(\w+)=" + NUM, line)}


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_in_process(name, capsys):
    _load(name).main()
    return capsys.readouterr().out.splitlines()


def _expected_collection_size(module):
    """REGULARIZATION_LOSSES entries graph_mode_training.py's model must have, derived from TF1's rules.

    One loss per variable created in a ``regularized_scope`` (TF1's ``variable_scope(regularizer=)``
    layout: every variable, trainable or not), one per weight of the ``weights_regularizer`` arg scope
    (slim's fully_connected regularizes its weights, not its biases), one for the activity penalty and
    one for the group penalty.
    """
    import tensorflow as tf

    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, module.SIZE, module.SIZE, module.CHANNELS])
        y = tf.compat.v1.placeholder(tf.int64, [None])
        module.build_model(x, y)
        names = [v.op.name for v in tf.compat.v1.global_variables()]
    in_scope = [n for n in names if n.startswith("trunk/")]
    head_weights = [n for n in names if n.startswith("head/") and n.endswith("/weights")]
    assert in_scope and head_weights == ["head/weights"]
    return len(in_scope) + len(head_weights) + 1 + 1


STEPS = 12


def test_graph_mode_training_prints_consistent_losses(capsys):
    module = _load("graph_mode_training")
    module.main(["--steps", str(STEPS)])
    out = capsys.readouterr().out
    steps = [_pairs(line) for line in out.splitlines() if line.startswith("step")]
    assert len(steps) == STEPS
    for i, s in enumerate(steps):
        assert set(s) == {"data_loss", "regularization_loss", "total_loss"}, s
        # printed with 9 significant digits; float32 addition rounds to 6e-8 relative
        assert_close(s["total_loss"], s["data_loss"] + s["regularization_loss"], rtol=1e-6, what=f"step {i}")
        assert s["regularization_loss"] > 0
    # SGD on total_loss: weight decay shrinks the regularization loss step after step
    regs = [s["regularization_loss"] for s in steps]
    assert all(b < a for a, b in zip(regs, regs[1:])), regs
    assert f"regularization losses in the collection: {_expected_collection_size(module)}" in out.splitlines()


def test_graph_activity_penalty(capsys):
    module = _load("graph_activity_penalty")
    module.main()
    lines = capsys.readouterr().out.splitlines()
    mean, total, ratio = (_pairs(line) for line in lines)
    # the test's own NumPy reference from the example's inputs: h = relu(x @ w), L1 of h
    x, w = (a.astype(np.float64) for a in module.data())
    hidden = np.maximum(x @ w, 0.0)
    expected_sum = module.SCALE * np.abs(hidden).sum()
    # printed with 9 significant digits of a float32 penalty: rtol 1e-6
    assert_close(total["penalty"], expected_sum, rtol=1e-6, what="reduction='sum'")
    assert_close(mean["penalty"], expected_sum / len(x), rtol=1e-6, what="reduction='batch_mean'")
    assert ratio["batch_size"] == len(x) == 8
    assert_close(ratio["batch_mean"], len(x), rtol=1e-5)


def test_graph_loss_without_weight_decay(capsys):
    lines = [_pairs(line) for line in _run_in_process("graph_loss_without_weight_decay", capsys)]
    assert len(lines) == 10
    for s in lines:
        assert_close(s["loss"], s["loss_no_weight_decay"] + s["weight_decay"], rtol=1e-6)
        assert_close(s["loss"], s["tf1_get_total_loss"], rtol=1e-6)
    assert lines[-1]["loss_no_weight_decay"] < lines[0]["loss_no_weight_decay"]


def test_graph_joint_kernel_penalty(capsys):
    lines = _run_in_process("graph_joint_kernel_penalty", capsys)
    steps = [_pairs(line) for line in lines if line.startswith("step")]
    assert len(steps) == 5
    for s in steps:
        assert_close(s["penalty"], s["numpy"], rtol=1e-6, what="float32 Gram matrix, 30 columns")
    assert steps[-1]["penalty"] < steps[0]["penalty"]
    layers = [line for line in lines if line.startswith("conv")]
    assert len(layers) == 10
    for line in layers:
        frozen = "frozen=True" in line
        assert ("updated=False" in line) == frozen, line


def test_graph_trainable_coefficient(capsys):
    lines = _run_in_process("graph_trainable_coefficient", capsys)
    runs = {}
    for line in lines:
        runs.setdefault(line.split()[0], []).append(_pairs(line))
    naive = runs["identity"]
    assert min(s["lam"] for s in naive if np.isfinite(s["lam"])) < 0
    assert min(s["total_loss"] for s in naive if np.isfinite(s["total_loss"])) < -1e3
    for p in ("softplus", "exp"):
        for s in runs[p]:
            assert s["lam"] > 0 and s["total_loss"] >= s["data_loss"], (p, s)


def test_graph_get_variable_and_collection(capsys):
    lines = _run_in_process("graph_get_variable_and_collection", capsys)
    entries, right, double = (_pairs(line) for line in lines)
    assert entries["entries"] == 2
    assert_close(right["total"], right["numpy"])
    assert_close(double["excess"], double["applied_penalty"], rtol=1e-6)
