"""TF1Layer is TensorFlow by nature: under another Keras 3 backend it says so and points to the port workflow.

Keras picks its backend once per process, so the check runs in a child process with
``KERAS_BACKEND`` set (the numpy backend ships with Keras; jax is used if installed).
"""

import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

from compat_reg import _flavor

pytestmark = [
    pytest.mark.keras,
    pytest.mark.skipif(not _flavor.is_keras3(), reason="tf_keras has only the TensorFlow backend"),
]

ROOT = pathlib.Path(__file__).resolve().parents[2]
BACKENDS = ["numpy"] + (["jax"] if importlib.util.find_spec("jax") else [])
CHILD = """
try:
    import keras
except ImportError as error:  # e.g. Keras 3.3.3's numpy backend imports jax
    print("UNAVAILABLE:", error)
    raise SystemExit(0)
import tensorflow as tf
from compat_reg.keras import TF1Layer
try:
    TF1Layer(lambda x: x)
except RuntimeError as error:
    print("ERROR:", error)
else:
    print("NO ERROR")
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_tf1_layer_on_another_backend_is_a_clear_error(backend):
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_USE_LEGACY_KERAS", None)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    line = out.stdout.strip().splitlines()[-1]
    if line.startswith("UNAVAILABLE:"):
        pytest.skip(f"Keras cannot load the {backend} backend here: {line}")
    assert line.startswith("ERROR:"), out.stdout
    assert f"on the {backend!r} backend" in line
    assert "only the TensorFlow backend" in line
    assert "compat-reg migrate" in line and f"--backend {backend}" in line
