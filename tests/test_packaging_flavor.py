"""What differs between supported versions is detected in ``_flavor``, and the demo port follows it.

Run on every stack of ``make test-matrix`` (Keras 3.3.3 and 3.15.1, tf_keras):
each claim of ``_flavor`` is checked against the installed Keras' behaviour, and
the demo's correct port against NumPy's TF1 formula, whichever way this Keras goes.
"""

import numpy as np
import pytest

from compat_reg import _flavor
from migration.demo_models import keras_port
from migration.demo_models import tf1_model


def _activity_loss(keras, coefficient, outputs):
    """``sum(layer.losses)`` of an identity layer with ``activity_regularizer=L1(coefficient)``."""
    layer = keras.layers.Activation("linear", activity_regularizer=keras.regularizers.L1(coefficient))
    layer(outputs)
    return float(sum(float(np.asarray(v)) for v in layer.losses))


@pytest.mark.keras
def test_flavor_says_whether_this_keras_divides_activity_losses_by_the_batch(keras):
    h = np.arange(-6.0, 6.0, dtype=np.float32).reshape(4, 3)  # batch 4, sum |h| = 36
    got = _activity_loss(keras, 1.0, h)
    divided = np.isclose(got, 36.0 / 4, rtol=1e-6)
    summed = np.isclose(got, 36.0, rtol=1e-6)
    assert divided != summed, f"activity loss {got} is neither sum |h| nor sum |h| / batch"
    assert bool(divided) is _flavor.activity_loss_divided_by_batch()


@pytest.mark.keras
def test_demo_port_activity_penalty_is_tf1_batch_mean_on_this_keras(keras):
    """TF1 ``activity_regularize(h, l1(a), "batch_mean")`` is ``a * sum|h| / batch`` (NumPy)."""
    rng = np.random.default_rng(0)
    h = rng.normal(size=(tf1_model.INPUT_SHAPE[0], 8, 8, 4)).astype(np.float32)
    expected = tf1_model.ACTIVITY_L1 * np.sum(np.abs(h), dtype=np.float64) / h.shape[0]
    got = _activity_loss(keras, keras_port.activity_coefficient(), h)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "text, parts",
    [("2.16.2", (2, 16, 2)), ("3.14.0rc1", (3, 14, 0)), ("3.15.1.dev20260101", (3, 15, 1)), ("2.21", (2, 21)),
     ("1.26.4+local", (1, 26, 4)), ("dev", ())],
    ids=["release", "rc", "dev-suffix", "two-parts", "local", "no-digits"],
)
def test_version_tuple(text, parts):
    assert _flavor.version_tuple(text) == parts


def test_installed_stack_is_inside_the_tested_ranges():
    """Every stack of the matrix is a tested one: selftest has nothing to report here."""
    assert _flavor.untested_versions() == []


def test_a_package_outside_its_range_is_named_with_the_range_and_the_fix():
    from importlib import metadata

    numpy_version = metadata.version("numpy")
    found = _flavor.version_tuple(numpy_version)
    problems = _flavor.untested_versions({"numpy": ((found[0] + 1, 0, 0), (found[0] + 2, 0))})
    assert problems == [
        f"numpy {numpy_version} is outside the tested range >={found[0] + 1}.0.0,<{found[0] + 2}.0: results may "
        "differ from what compat-reg documents; install a tested version (pip install -c constraints.txt .) or "
        "run `make test-matrix` on this stack"
    ]
    assert _flavor.untested_versions({"no-such-distribution": ((1, 0, 0), (2, 0))}) == [
        "no-such-distribution is not installed; compat-reg needs no-such-distribution>=1.0.0,<2.0"
    ]
