"""The graph-mode examples run and print numbers that agree with themselves and with NumPy.

``graph_mode_training.py`` (the ``make demo`` script for now) runs as a subprocess, as a user
runs it; the question-answering examples run in-process (each builds its own ``tf.Graph``)
to keep the suite fast.
"""

import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import assert_close

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
NUM = r"(-?[0-9.]+(?:e[-+]?\d+)?|nan|-?inf)"


def _pairs(line):
    return {k: float(v) for k, v in re.findall(r"(\w+)=" + NUM, line)}


def _run_in_process(name, capsys):
    spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()
    return capsys.readouterr().out.splitlines()


def test_graph_mode_training_prints_consistent_losses():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, "graph_mode_training.py"), "--steps", "12"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    steps = [_pairs(line) for line in out.stdout.splitlines() if line.startswith("step")]
    assert len(steps) == 12
    for i, s in enumerate(steps):
        assert set(s) == {"data_loss", "regularization_loss", "total_loss"}, s
        # printed with 9 significant digits; float32 addition rounds to 6e-8 relative
        assert_close(s["total_loss"], s["data_loss"] + s["regularization_loss"], rtol=1e-6, what=f"step {i}")
        assert s["regularization_loss"] > 0
    # SGD on total_loss: weight decay shrinks the regularization loss step after step
    regs = [s["regularization_loss"] for s in steps]
    assert all(b < a for a, b in zip(regs, regs[1:])), regs
    assert "regularization losses in the collection: 7" in out.stdout


def test_graph_activity_penalty(capsys):
    lines = _run_in_process("graph_activity_penalty", capsys)
    mean, total, ratio = (_pairs(line) for line in lines)
    assert_close(mean["penalty"], mean["numpy"])
    assert_close(total["penalty"], total["numpy"])
    assert_close(ratio["batch_mean"], ratio["batch_size"], rtol=1e-5)


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
