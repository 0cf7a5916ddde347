"""compat_reg's regularizers inside a Keras 3 model on JAX / torch: values, fit, ``.keras`` files.

References: NumPy formulas (TF1's conventions: L2 is ``s * sum(w**2) / 2``) and the
same model on the TensorFlow backend in a subprocess, at float32 rtol 1e-6.
"""

import os

import numpy as np
import pytest

import compat_reg
from tests.backends import models
from tests.backends._support import NON_TF
from tests.backends._support import current_backend

pytestmark = [pytest.mark.backend, pytest.mark.keras, NON_TF]

RTOL = 1e-6
W = np.array([[0.5, -1.5, 2.0], [-0.25, 0.0, 3.0]], np.float32)
A, S = float(np.sum(np.abs(W.astype(np.float64)))), float(np.sum(np.square(W.astype(np.float64))))

CASES = [
    ("l1", lambda k: compat_reg.l1_regularizer(0.1), 0.1 * A),
    ("l2-halved", lambda k: compat_reg.l2_regularizer(0.1), 0.1 * S / 2),
    ("l1_l2", lambda k: compat_reg.l1_l2_regularizer(0.01, 0.02), 0.01 * A + 0.02 * S / 2),
    ("l1_l2-zero-l1", lambda k: compat_reg.l1_l2_regularizer(0.0, 0.02), 0.02 * S / 2),
    ("sum-with-keras-member",
     lambda k: compat_reg.sum_regularizer([compat_reg.l1_regularizer(0.03), k.regularizers.L2(0.01)]),
     0.03 * A + 0.01 * S),
    ("scale-zero", lambda k: compat_reg.l2_regularizer(0.0), 0.0),
    ("from_keras-L2", lambda k: compat_reg.from_keras(k.regularizers.L2(0.05)), 0.05 * S),
    ("to_keras-l2", lambda k: compat_reg.to_keras(compat_reg.l2_regularizer(0.1)), 0.1 * S / 2),
]


@pytest.mark.parametrize("make,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_penalty_of_a_keras_variable_matches_numpy(make, expected):
    import keras

    reg = make(keras)
    got = reg(keras.Variable(W))
    assert type(got).__module__.split(".")[0] != "tensorflow"  # computed by the backend, not TF
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(got)), expected, rtol=RTOL, atol=0)


def test_integer_weights_are_refused_naming_them():
    import keras

    v = keras.Variable(np.ones((2,), np.int32), name="counter", trainable=False)
    with pytest.raises(TypeError, match=r"cannot regularize 'counter'.*its dtype is int32"):
        compat_reg.l2_regularizer(0.1)(v)


def test_orthogonality_matches_numpy():
    import keras

    k1 = np.random.default_rng(0).standard_normal((1, 1, 3, 2)).astype(np.float32)
    k2 = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    w = np.concatenate([k1.reshape(-1, 2), k2], axis=1).astype(np.float64)
    gram = w.T @ w
    expected = 0.1 * np.sum(np.square(gram - np.diag(np.diag(gram))))
    got = compat_reg.orthogonality(0.1)([keras.Variable(k1), keras.Variable(k2)])
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(got)), expected, rtol=RTOL)


# The TensorFlow backend's view of the same model, weights and data (and of the .keras file saved here).
_TF_REFERENCE = """
import numpy as np, keras
from tests.backends import models
weights, saved = ARGS
m = models.build()
with np.load(weights) as f:
    m.set_weights([f[f"w{i}"] for i in range(len(f.files))])
before = models.losses(m)
history = models.fit(m)
loaded = keras.saving.load_model(saved)
RESULT = {"backend": keras.backend.backend(), "losses": before, "history": history,
          "after": models.losses(m), "loaded": models.losses(loaded)}
"""


@pytest.fixture(scope="module", autouse=True)
def tf_reference(servers):
    """The TensorFlow-backend server, started (if not yet) at the module's first test: it imports meanwhile."""
    return servers("tensorflow")


@pytest.fixture(scope="module")
def on_both(tmp_path_factory, tf_reference):
    """The model on this backend and on TensorFlow (a subprocess): losses, fit history, a .keras round trip."""
    import keras

    tmp = tmp_path_factory.mktemp("backends")
    m = models.build()
    m.set_weights(models.seeded_weights(m))
    weights = os.path.join(tmp, "weights.npz")
    np.savez(weights, **{f"w{i}": w for i, w in enumerate(m.get_weights())})
    saved = os.path.join(tmp, "model.keras")
    m.save(saved)
    here = {"losses": models.losses(m)}
    here["loaded"] = models.losses(keras.saving.load_model(saved))
    here["history"] = models.fit(m)
    here["after"] = models.losses(m)
    tf_side = tf_reference.submit(_TF_REFERENCE, weights, saved).result()
    assert tf_side["backend"] == "tensorflow"
    return here, tf_side


def test_model_losses_equal_the_tensorflow_backend(on_both):
    here, tf_side = on_both
    assert len(here["losses"]) == len(tf_side["losses"]) == 6  # 5 weight penalties (one of scale 0), 1 activity
    np.testing.assert_allclose(here["losses"], tf_side["losses"], rtol=RTOL, atol=1e-12)


def test_model_trains_with_fit_like_the_tensorflow_backend(on_both):
    here, tf_side = on_both
    assert here["history"][-1] < here["history"][0]
    # fit's loss includes the regularization; three SGD steps accumulate round-off of two kernels.
    np.testing.assert_allclose(here["history"], tf_side["history"], rtol=1e-5)
    np.testing.assert_allclose(here["after"], tf_side["after"], rtol=1e-5)


def test_keras_file_round_trip_on_this_backend_and_loaded_on_tensorflow(on_both):
    here, tf_side = on_both
    np.testing.assert_allclose(here["loaded"], here["losses"], rtol=0)
    np.testing.assert_allclose(tf_side["loaded"], here["losses"], rtol=RTOL, atol=1e-12)


def test_configs_survive_the_round_trip(tmp_path):
    import keras

    m = models.build()
    path = str(tmp_path / "m.keras")
    m.save(path)
    loaded = keras.saving.load_model(path)
    for a, b in zip(m.layers, loaded.layers):
        for attr in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            ra, rb = getattr(a, attr), getattr(b, attr)
            assert type(ra) is type(rb), (a.name, attr)
            assert (ra is None) or ra.get_config() == rb.get_config(), (a.name, attr)
    assert current_backend() in ("jax", "torch")
