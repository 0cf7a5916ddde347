"""compat_reg.layers against tf_keras' legacy layers (``tf.compat.v1.layers``), case by case, both flavors.

Both implementations build the same case in a fresh ``tf.Graph`` and get the same
weights (loaded by TF1 name); tolerances: regularization losses rtol 1e-6 (float32),
forward values and gradients rtol 1e-5 / atol 1e-6 (the two may order float32 sums
differently), moving statistics after one update run rtol 1e-6 / atol 1e-7.
"""

import numpy as np
import pytest

from tests.helpers import assert_close
from tests.layers import cases as C
from tests.layers.harness import run

pytestmark = pytest.mark.keras

by_case = pytest.mark.parametrize("case_id", C.CASE_IDS)


def both(case_id):
    return run("compat_reg", case_id), run("reference", case_id)


@by_case
def test_variable_names_and_shapes(case_id):
    ours, ref = both(case_id)
    assert ours["variables"] == ref["variables"]


@by_case
def test_trainable_flags(case_id):
    ours, ref = both(case_id)
    assert ours["trainable"] == ref["trainable"]


@by_case
def test_forward_values(case_id):
    ours, ref = both(case_id)
    assert ours["outputs"].shape == ref["outputs"].shape
    assert_close(ours["outputs"], ref["outputs"], rtol=1e-5, atol=1e-6, what=f"{case_id}: outputs")


@by_case
def test_regularization_losses_names_and_values(case_id):
    ours, ref = both(case_id)
    assert ours["reg_names"] == ref["reg_names"]
    assert_close(ours["reg_values"], ref["reg_values"], what=f"{case_id}: REGULARIZATION_LOSSES")


@by_case
def test_gradients(case_id):
    ours, ref = both(case_id)
    assert sorted(ours["grads"]) == sorted(ref["grads"])
    for name, grad in ref["grads"].items():
        assert_close(ours["grads"][name], grad, rtol=1e-5, atol=1e-6, what=f"{case_id}: d objective / d {name}")


@by_case
def test_update_ops_count_and_effect(case_id):
    ours, ref = both(case_id)
    assert ours["update_count"] == ref["update_count"]
    for name, value in ref["after_updates"].items():
        what = f"{case_id}: {name} after UPDATE_OPS"
        assert_close(ours["after_updates"][name], value, rtol=1e-6, atol=1e-7, what=what)


@by_case
def test_output_op_name(case_id):
    ours, ref = both(case_id)
    assert ours["output_name"] == ref["output_name"]


TRAINING_UPDATES = [
    c.id for c in C.CASES
    if c.id.startswith("batch-norm") and c.training in (True, "tensor-true") and "trainable-false" not in c.id
]
NO_UPDATES = [c.id for c in C.CASES if c.id.startswith("batch-norm") and c.training in (False, "tensor-false")]


@pytest.mark.parametrize("case_id", TRAINING_UPDATES)
def test_batch_norm_training_moves_the_statistics(case_id):
    """The cases above would pass if neither side updated; here the moving statistics must have moved."""
    ours, _ = both(case_id)
    assert ours["update_count"] == 2
    for name in ("moving_mean", "moving_variance"):
        key = next(k for k in ours["after_updates"] if k.endswith(name))
        assert not np.allclose(ours["after_updates"][key], ours["before_updates"][key])


def test_frozen_batch_norm_reports_no_updates_but_normalizes_with_batch_statistics():
    """TF1: a layer built with trainable=False lists no UPDATE_OPS; training=True still uses batch moments."""
    ours, ref = both("batch-norm-trainable-false")
    assert ours["update_count"] == ref["update_count"] == 0
    assert ours["trainable"] == []
    beta = ours["before_updates"]["batch_normalization/beta"]
    assert_close(ours["outputs"].mean(axis=(0, 1, 2)), beta, atol=1e-5, what="batch statistics: output mean == beta")


@pytest.mark.parametrize("case_id", NO_UPDATES)
def test_batch_norm_inference_leaves_the_statistics(case_id):
    ours, _ = both(case_id)
    assert ours["update_count"] == (2 if case_id.endswith("tensor-false") else 0)
    for name, value in ours["after_updates"].items():
        np.testing.assert_array_equal(value, ours["before_updates"][name], err_msg=name)
