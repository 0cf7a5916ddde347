"""Penalty inference by probing, against NumPy formulas on known weights (graph side, no Keras)."""

import numpy as np
import pytest
import tensorflow as tf

import compat_reg
from migration.equivalence import _penalties
from migration.equivalence._losses import mse
from migration.equivalence import optimizers
from migration.equivalence.probing import probe_side as _probe_side
from migration.equivalence.sides.tf1_graph import GraphSide
from tests.helpers import np_l1
from tests.helpers import np_l2_tf1

RNG = np.random.default_rng(11)
W1 = RNG.standard_normal((3, 4)).astype(np.float32)
W2 = RNG.standard_normal((4, 2)).astype(np.float32)
X = RNG.standard_normal((2, 3)).astype(np.float32)


def _side(fn):
    side = GraphSide(fn, X, mse, optimizers.choose("sgd", 0.1))
    side.set_targets(np.zeros((2, 2), np.float32))
    side.assign({"a/w": W1, "b/w": W2})
    return side


PER_VARIABLE = [
    ("l1", lambda: compat_reg.l1_regularizer(0.3), 0.3, 0.0, lambda w: np_l1(w, 0.3)),
    ("l2", lambda: compat_reg.l2_regularizer(0.3), 0.0, 0.15, lambda w: np_l2_tf1(w, 0.3)),
    ("l1_l2", lambda: compat_reg.l1_l2_regularizer(0.1, 0.4), 0.1, 0.2, lambda w: np_l1(w, 0.1) + np_l2_tf1(w, 0.4)),
]


@pytest.mark.parametrize("kind,make,a,b,ref", PER_VARIABLE, ids=[p[0] for p in PER_VARIABLE])
def test_single_variable_penalty_coefficients_and_values(kind, make, a, b, ref):
    def fn(x):
        w1 = tf.compat.v1.get_variable("a/w", [3, 4], regularizer=make())
        w2 = tf.compat.v1.get_variable("b/w", [4, 2])
        return tf.matmul(tf.matmul(x, w1), w2)

    side = _side(fn)
    per_var, activity, other, _ = _probe_side(side)
    [(label, p)] = per_var["a/w"]
    assert p.kind == kind
    np.testing.assert_allclose([p.a, p.b], [a, b], rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(p.value, ref(W1), rtol=1e-6)
    assert "b/w" not in per_var and not activity and not other
    side.close()


def test_group_penalty_split_per_variable_by_probing():
    """apply_regularization over two weights: one loss, each weight's share recovered."""
    def fn(x):
        w1 = tf.compat.v1.get_variable("a/w", [3, 4])
        w2 = tf.compat.v1.get_variable("b/w", [4, 2])
        compat_reg.apply_regularization(compat_reg.l1_l2_regularizer(0.05, 0.2), [w1, w2])
        return tf.matmul(tf.matmul(x, w1), w2)

    side = _side(fn)
    assert [li.kind for li in side.losses] == ["group"]
    per_var, _, other, _ = _probe_side(side)
    for name, w in (("a/w", W1), ("b/w", W2)):
        [(_, p)] = per_var[name]
        assert p.kind == "l1_l2"
        np.testing.assert_allclose(p.value, np_l1(w, 0.05) + np_l2_tf1(w, 0.2), rtol=1e-5)
    assert not other
    side.close()


def test_non_additive_penalty_is_other_and_activity_is_separate():
    def fn(x):
        w1 = tf.compat.v1.get_variable("a/w", [3, 4], regularizer=lambda w: tf.reduce_sum(w ** 4))
        w2 = tf.compat.v1.get_variable("b/w", [4, 2])
        h = tf.matmul(x, w1)
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES, 0.5 * tf.reduce_sum(tf.abs(h)))
        return tf.matmul(h, w2)

    side = _side(fn)
    per_var, activity, _, _ = _probe_side(side)
    [(_, p)] = per_var["a/w"]
    assert p.kind == "other"
    np.testing.assert_allclose(p.value, np.sum(W1.astype(np.float64) ** 4), rtol=1e-6)
    [value] = activity.values()
    np.testing.assert_allclose(value, 0.5 * np.sum(np.abs(X.astype(np.float64) @ W1)), rtol=1e-5)
    side.close()


def test_zero_variable_is_probed_at_nonzero_values():
    """A zero-initialized bias still reveals its regularizer's coefficient; its value stays 0."""
    def fn(x):
        w1 = tf.compat.v1.get_variable("a/w", [3, 4])
        b = tf.compat.v1.get_variable("a/b", [4], initializer=tf.compat.v1.zeros_initializer(),
                                      regularizer=compat_reg.l2_regularizer(0.3))
        return tf.matmul(x, w1) + b

    side = GraphSide(fn, X, mse, optimizers.choose("sgd", 0.1))
    side.set_targets(np.zeros((2, 4), np.float32))
    per_var, _, _, base = _probe_side(side)
    [(_, p)] = per_var["a/b"]
    assert p.kind == "l2" and p.value == 0.0
    np.testing.assert_allclose(p.b, 0.15, rtol=1e-4)
    assert base == [0.0]
    side.close()


def test_penalty_names_in_both_conventions():
    p = _penalties.Penalty("l2", b=5e-5)
    assert (p.tf1(), p.keras()) == ("l2_regularizer(0.0001)", "L2(5e-05)")
    q = _penalties.Penalty("l1_l2", a=1e-5, b=5e-5)
    assert (q.tf1(), q.keras()) == ("l1_l2_regularizer(1e-05, 0.0001)", "L1L2(l1=1e-05, l2=5e-05)")
