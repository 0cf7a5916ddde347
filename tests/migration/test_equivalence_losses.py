"""The checker's named data losses against NumPy, including tf_keras' [batch, 1] sparse labels."""

import numpy as np
import pytest

from migration.equivalence import _losses

RNG = np.random.default_rng(5)
LOGITS = RNG.standard_normal((4, 3)).astype(np.float32)
LABELS = np.array([0, 2, 1, 2], np.int32)


def np_xent(labels, logits):
    z = logits.astype(np.float64)
    logp = z - np.log(np.sum(np.exp(z - z.max(1, keepdims=True)), 1, keepdims=True)) - z.max(1, keepdims=True)
    return -np.mean(logp[np.arange(len(labels)), labels])


@pytest.mark.parametrize("labels", [LABELS, LABELS[:, None]], ids=["rank1", "rank2-tf_keras"])
def test_sparse_softmax_cross_entropy_vs_numpy(labels):
    np.testing.assert_allclose(float(_losses.sparse_softmax_cross_entropy(labels, LOGITS)), np_xent(LABELS, LOGITS),
                               rtol=1e-6)


def test_mse_vs_numpy():
    t = RNG.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(float(_losses.mse(t, LOGITS)), np.mean((LOGITS.astype(np.float64) - t) ** 2), rtol=1e-6)


def test_seeded_targets_fit_the_loss():
    assert _losses.seeded_targets("xent", (4, 3)).dtype == np.int32
    assert set(_losses.seeded_targets("xent", (4, 3))) <= {0, 1, 2}
    assert _losses.seeded_targets("mse", (4, 3)).shape == (4, 3)
    np.testing.assert_array_equal(_losses.seeded_inputs((2, 2)), _losses.seeded_inputs((2, 2)))
