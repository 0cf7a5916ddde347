"""Small comparison helpers shared by the tests (independent NumPy references)."""

import numpy as np

RTOL_F32 = 1e-6  # float32 regularization values (the brief's default)


def np_l1(w, scale):
    return scale * np.sum(np.abs(np.asarray(w, np.float64)))


def np_l2_tf1(w, scale):
    """TF1/contrib L2: scale * sum(w**2) / 2."""
    return scale * np.sum(np.square(np.asarray(w, np.float64))) / 2.0


def np_l2_keras(w, scale):
    """Keras L2: scale * sum(w**2)."""
    return scale * np.sum(np.square(np.asarray(w, np.float64)))


def assert_close(actual, expected, rtol=RTOL_F32, atol=0.0, what=""):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)
