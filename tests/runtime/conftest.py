"""Fixtures of tests/runtime: one clean child process shared by the tests that need one."""

import json
import os
import subprocess
import sys

import pytest
import tf_slim.layers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEER = os.path.join(os.path.dirname(tf_slim.layers.__file__), "regularizers_test.py")
SWAPPED = ("l1_regularizer", "l2_regularizer", "l1_l2_regularizer", "sum_regularizer", "apply_regularization")


@pytest.fixture(scope="session")
def clean_process():
    """The JSON report of ``tests/runtime/clean_process.py``, run once with ``COMPAT_REG_NO_SLIM_COMPAT=1``."""
    env = dict(os.environ, COMPAT_REG_NO_SLIM_COMPAT="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    script = os.path.join(ROOT, "tests", "runtime", "clean_process.py")
    out = subprocess.run([sys.executable, script, PEER, ",".join(SWAPPED)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
