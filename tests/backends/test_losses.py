"""``add_callable_loss`` on Keras 3's JAX / torch backend: recomputed at every read, trained by ``fit``.

Reference: NumPy (``0.1 * sum(kernel**2)`` of the current kernel) at float32 rtol 1e-6.
"""

import numpy as np
import pytest

from compat_reg.keras import add_callable_loss
from tests.backends import models
from tests.backends._support import NON_TF
from tests.backends._support import current_backend

pytestmark = [pytest.mark.backend, pytest.mark.keras, NON_TF]


def _model():
    import keras

    inputs = keras.Input((6,))
    dense = keras.layers.Dense(2, name="d")
    model = keras.Model(inputs, dense(inputs))
    add_callable_loss(model, lambda: 0.1 * keras.ops.sum(keras.ops.square(dense.kernel)))
    return model, dense


def _expected(dense):
    import keras

    k = np.asarray(keras.ops.convert_to_numpy(dense.kernel.value), np.float64)
    return 0.1 * float(np.sum(k * k))


def test_callable_loss_follows_the_variable_and_fit_trains_it():
    import keras

    model, dense = _model()
    model(models.INPUTS)
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(model.losses[0])), _expected(dense), rtol=1e-6)
    before = _expected(dense)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    # zero targets and a large step: the penalty's gradient shrinks the kernel.
    model.fit(models.INPUTS, np.zeros((8, 2), np.float32), batch_size=8, epochs=3, shuffle=False, verbose=0)
    after = float(keras.ops.convert_to_numpy(model.losses[0]))
    np.testing.assert_allclose(after, _expected(dense), rtol=1e-6)
    assert after < before


def test_non_scalar_callable_loss_is_refused_naming_it():
    import keras

    inputs = keras.Input((6,))
    dense = keras.layers.Dense(2)
    model = keras.Model(inputs, dense(inputs))

    def per_unit():
        return keras.ops.sum(keras.ops.square(dense.kernel), axis=0)

    with pytest.raises(ValueError, match=r"the callable \S*per_unit returned a tensor of shape \(2,\); a loss "
                                         r"must be a scalar\. Reduce it with keras\.ops\.sum"):
        add_callable_loss(model, per_unit)  # a built model: evaluated once here, on this backend


def test_orthogonality_of_two_kernels_as_a_callable_loss_trains_with_fit():
    import keras

    import compat_reg

    inputs = keras.Input((6,))
    a, b = keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")
    model = keras.Model(inputs, keras.layers.Concatenate()([a(inputs), b(inputs)]))
    add_callable_loss(model, lambda: compat_reg.orthogonality(0.1)([a.kernel, b.kernel]))

    def numpy_penalty():
        w = np.concatenate([np.asarray(keras.ops.convert_to_numpy(k.value), np.float64) for k in (a.kernel, b.kernel)],
                           axis=1)
        gram = w.T @ w
        return 0.1 * float(np.sum(np.square(gram - np.diag(np.diag(gram)))))

    model(models.INPUTS)
    before = float(keras.ops.convert_to_numpy(model.losses[0]))
    np.testing.assert_allclose(before, numpy_penalty(), rtol=1e-6)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    model.fit(models.INPUTS, np.zeros((8, 5), np.float32), batch_size=8, epochs=2, shuffle=False, verbose=0)
    after = float(keras.ops.convert_to_numpy(model.losses[0]))
    np.testing.assert_allclose(after, numpy_penalty(), rtol=1e-6)
    assert after != before


_LOSS_SPLIT = """
import numpy as np, keras
from compat_reg.keras import LossSplit
from tests.backends import models
m = models.build()
m.set_weights(models.seeded_weights(m))
m.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
h = m.fit(models.INPUTS, models.TARGETS, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[LossSplit()])
RESULT = {"backend": keras.backend.backend(), "history": h.history}
"""


@pytest.fixture(scope="module", autouse=True)
def loss_split_runs(servers):
    """``_LOSS_SPLIT`` on torch and on TensorFlow, queued at the module's first test (read by the test below)."""
    return {b: servers(b).submit(_LOSS_SPLIT) for b in ("torch", "tensorflow")}


def test_loss_split_on_torch_logs_what_it_logs_on_tensorflow(loss_split_runs):
    runs = {b: run.result() for b, run in loss_split_runs.items()}
    torch_h, tf_h = runs["torch"]["history"], runs["tensorflow"]["history"]
    assert sorted(torch_h) == sorted(tf_h) == ["loss", "loss_no_weight_decay", "regularization_loss"]
    for key in tf_h:
        np.testing.assert_allclose(torch_h[key], tf_h[key], rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(np.add(torch_h["regularization_loss"], torch_h["loss_no_weight_decay"]),
                               torch_h["loss"], rtol=1e-6)


@pytest.mark.skipif(current_backend() != "jax", reason="the JAX-specific refusal: run under KERAS_BACKEND=jax")
def test_loss_split_on_jax_refuses_saying_why():
    import keras

    from compat_reg.keras import LossSplit

    model = models.build()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(NotImplementedError, match=r"LossSplit does not run on Keras 3's JAX backend: JAX's jitted"):
        model.fit(models.INPUTS, models.TARGETS, epochs=1, verbose=0, callbacks=[LossSplit()])
    assert keras.backend.backend() == "jax"
