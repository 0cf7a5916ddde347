"""Small comparison helpers shared by the tests (independent NumPy references)."""

import numpy as np

RTOL_F32 = 1e-6  # float32 regularization values (the brief's default)
_CHUNK = 1 << 20  # float64 work in 1M-element chunks: no 1 GB temporaries for a 130M-parameter net


def np_sum_squares(w):
    """``sum(w**2)`` in float64, exact to float64 rounding, chunked (BLAS ``ddot`` per 1M elements)."""
    flat = np.asarray(w).ravel()
    total = 0.0
    for start in range(0, flat.size, _CHUNK):
        chunk = flat[start:start + _CHUNK].astype(np.float64)
        total += float(np.dot(chunk, chunk))
    return total


def np_sum_abs(w):
    """``sum(|w|)`` in float64, chunked like ``np_sum_squares``."""
    flat = np.asarray(w).ravel()
    return sum(float(np.abs(flat[s:s + _CHUNK].astype(np.float64)).sum()) for s in range(0, flat.size, _CHUNK))


def _f64(scale):
    return np.asarray(scale, np.float64)  # a float32 scale must not pull the float64 sum down to float32


def np_l1(w, scale):
    return _f64(scale) * np_sum_abs(w)


def np_l2_tf1(w, scale):
    """TF1/contrib L2: scale * sum(w**2) / 2."""
    return _f64(scale) * np_sum_squares(w) / 2.0


def np_l2_keras(w, scale):
    """Keras L2: scale * sum(w**2)."""
    return _f64(scale) * np_sum_squares(w)


def assert_close(actual, expected, rtol=RTOL_F32, atol=0.0, what=""):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)
