"""regularized_scope and regularize in real graph mode, against TF1 (same graph) and NumPy."""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import compat_reg
from compat_reg import scopes
from tests.helpers import assert_close, np_l1, np_l2_tf1

REG = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES
RNG = np.random.default_rng(7)
SHAPES = {"w": (3, 4), "b": (4,), "k": (2, 2, 3)}
VALUES = {n: RNG.standard_normal(s).astype(np.float32) for n, s in SHAPES.items()}


def _np_l1_l2(w, a, b):
    return np_l1(w, a) + np_l2_tf1(w, b)


# id -> (compat_reg regularizer factory, tf_slim reference factory (or None), NumPy penalty, fused?)
SCOPE_CASES = {
    "l2": (lambda: compat_reg.l2_regularizer(0.1), lambda: slim.l2_regularizer(0.1),
           lambda w: np_l2_tf1(w, 0.1), True),
    "l1": (lambda: compat_reg.l1_regularizer(0.3), lambda: slim.l1_regularizer(0.3),
           lambda w: np_l1(w, 0.3), True),
    "l1_l2": (lambda: compat_reg.l1_l2_regularizer(0.1, 0.2), lambda: slim.l1_l2_regularizer(0.1, 0.2),
              lambda w: _np_l1_l2(w, 0.1, 0.2), True),
    "sum": (lambda: compat_reg.sum_regularizer([compat_reg.l1_regularizer(0.2), compat_reg.l2_regularizer(0.5)]),
            lambda: slim.sum_regularizer([slim.l1_regularizer(0.2), slim.l2_regularizer(0.5)]),
            lambda w: np_l1(w, 0.2) + np_l2_tf1(w, 0.5), True),
    "tf_slim-closure": (lambda: slim.l2_regularizer(0.1), lambda: slim.l2_regularizer(0.1),
                        lambda w: np_l2_tf1(w, 0.1), False),
    "lambda": (lambda: (lambda w: 0.5 * tf.reduce_sum(w ** 4)), lambda: (lambda w: 0.5 * tf.reduce_sum(w ** 4)),
               lambda w: 0.5 * np.sum(np.asarray(w, np.float64) ** 4), False),
}


def _make_vars(regularizer=None):
    out = {}
    for n, v in VALUES.items():
        out[n] = tf.compat.v1.get_variable(n, initializer=tf.constant(v), regularizer=regularizer)
    return out


def _np_total(fn):
    return sum(fn(v) for v in VALUES.values())


@pytest.mark.parametrize("case", list(SCOPE_CASES), ids=list(SCOPE_CASES))
@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "per-variable"])
def test_regularized_scope_matches_tf1_variable_scope_and_numpy(sess, case, fuse):
    ours_f, ref_f, np_f, fusable = SCOPE_CASES[case]
    with tf.compat.v1.variable_scope("tf1", regularizer=ref_f()):
        _make_vars()
    with compat_reg.regularized_scope("ours", ours_f(), fuse=fuse):
        _make_vars()
    ref = tf.compat.v1.losses.get_regularization_loss(scope="tf1/")
    ours = tf.compat.v1.losses.get_regularization_loss(scope="ours/")
    sess.run(tf.compat.v1.global_variables_initializer())
    ref_v, ours_v = sess.run([ref, ours])
    assert_close(ours_v, ref_v, what="regularized_scope vs tf.compat.v1.variable_scope(regularizer=)")
    assert_close(ours_v, _np_total(np_f), what="regularized_scope vs NumPy")
    entries = tf.compat.v1.get_collection(REG, "ours/")
    if fuse and fusable:
        # one fused tensor for the whole variable scope, an ordinary tf.Tensor after exit
        assert len(entries) == 1
        assert entries[0].name == "ours/Regularizer/" + entries[0].name.split("/")[2]
        assert isinstance(entries[0], tf.Tensor)
    else:
        # TF1's layout: one loss per variable, named <var>/Regularizer/...
        assert sorted(e.name.split("/Regularizer/")[0] for e in entries) == ["ours/b", "ours/k", "ours/w"]


@pytest.mark.parametrize("fuse", [False, True], ids=["per-variable", "fused"])
def test_scope_builds_each_penalty_op_once(graph, fuse):
    """TF1 builds the regularizer at creation twice and again per collection sum; compat_reg once."""
    n = 20
    with tf.compat.v1.variable_scope("tf1", regularizer=slim.l2_regularizer(0.1)):
        for i in range(n):
            tf.compat.v1.get_variable(f"v{i}", [2])
    tf.compat.v1.losses.get_regularization_loss(scope="tf1/")
    tf.compat.v1.losses.get_regularization_loss(scope="tf1/")
    tf1_l2 = sum(1 for op in graph.get_operations() if op.type == "L2Loss")
    with compat_reg.regularized_scope("ours", compat_reg.l2_regularizer(0.1), fuse=fuse):
        for i in range(n):
            tf.compat.v1.get_variable(f"v{i}", [2])
    tf.compat.v1.losses.get_regularization_loss(scope="ours/")
    tf.compat.v1.losses.get_regularization_loss(scope="ours/")
    ours_l2 = sum(1 for op in graph.get_operations() if op.type == "L2Loss") - tf1_l2
    assert tf1_l2 == 4 * n  # 2 at creation + 1 per get_regularization_loss, per variable
    assert ours_l2 == n


def test_per_variable_path_builds_each_penalty_once_with_tf1_names(graph):
    reg = slim.l2_regularizer(0.1)  # a closure: never fused
    with compat_reg.regularized_scope("ours", reg):
        tf.compat.v1.get_variable("w", [2])
    tf.compat.v1.losses.get_regularization_loss()
    tf.compat.v1.losses.get_regularization_loss()
    assert sum(1 for op in graph.get_operations() if op.type == "L2Loss") == 1
    assert [op.name for op in graph.get_operations() if op.type == "L2Loss"] == [
        "ours/w/Regularizer/l2_regularizer/L2Loss"
    ]


def test_fused_collection_read_inside_the_scope_is_live_opt_in(sess):
    """fuse=True (opt-in): the in-block entry is one live FusedPenalty; documented as not TF1's snapshot."""
    reg = compat_reg.l2_regularizer(0.1)
    with compat_reg.regularized_scope("net", reg, fuse=True):
        w = tf.compat.v1.get_variable("w", initializer=tf.constant(VALUES["w"]))
        inside = tf.compat.v1.losses.get_regularization_loss()  # unmodified TF1 call
        entry = tf.compat.v1.get_collection(REG)[0]
        assert isinstance(entry, compat_reg.FusedPenalty)
        assert entry.name.startswith("net/Regularizer/l2_regularizer")
        k = tf.compat.v1.get_variable("k", initializer=tf.constant(VALUES["k"]))
    after = tf.compat.v1.losses.get_regularization_loss()
    (entry_after,) = tf.compat.v1.get_collection(REG)
    assert isinstance(entry_after, tf.Tensor)
    sess.run(tf.compat.v1.global_variables_initializer())
    inside_v, after_v = sess.run([inside, after])
    assert_close(inside_v, np_l2_tf1(VALUES["w"], 0.1))
    assert_close(after_v, np_l2_tf1(VALUES["w"], 0.1) + np_l2_tf1(VALUES["k"], 0.1))
    del w, k


def test_fused_penalty_placeholder_is_fetchable_and_summable(sess):
    with compat_reg.regularized_scope("net", compat_reg.l1_regularizer(0.5), fuse=True):
        tf.compat.v1.get_variable("w", initializer=tf.constant(VALUES["w"]))
        entry = tf.compat.v1.get_collection(REG)[0]
        sess.run(tf.compat.v1.global_variables_initializer())
        fetched = sess.run(entry)
        doubled = sess.run(entry * 2.0)
        assert entry.dtype == tf.float32 and entry.shape == tf.TensorShape([])
    assert_close(fetched, np_l1(VALUES["w"], 0.5))
    assert_close(doubled, 2 * np_l1(VALUES["w"], 0.5))


SCOPE_FILTER_CASES = {
    # TF1's scope filter is re.match on op names: "a" also matches "a_b/..."
    "prefix-a": ("a", ["a", "a/inner", "a_b"]),
    "scope-a-and-children": ("a/", ["a", "a/inner"]),
    "a_b": ("a_b", ["a_b"]),
    "inner": ("a/inner", ["a/inner"]),
}


@pytest.mark.parametrize("scope", list(SCOPE_FILTER_CASES), ids=list(SCOPE_FILTER_CASES))
def test_scope_filters_match_tf1_regex_prefix(sess, scope):
    pattern, included = SCOPE_FILTER_CASES[scope]
    reg = compat_reg.l2_regularizer(0.1)
    values = {}
    for s in ("a", "a_b"):
        with compat_reg.regularized_scope(s, reg):
            values[s] = VALUES["w"] * (2.0 if s == "a" else 3.0)
            tf.compat.v1.get_variable("w", initializer=tf.constant(values[s]))
            if s == "a":
                with tf.compat.v1.variable_scope("inner"):
                    values["a/inner"] = VALUES["b"]
                    tf.compat.v1.get_variable("b", initializer=tf.constant(values["a/inner"]))
    loss = compat_reg.get_regularization_loss(scope=pattern)
    sess.run(tf.compat.v1.global_variables_initializer())
    expected = sum(np_l2_tf1(values[s], 0.1) for s in included)
    assert_close(sess.run(loss), expected)


def test_inner_scopes_override_and_explicit_regularizer_wins(sess):
    outer = compat_reg.l2_regularizer(0.1)
    with compat_reg.regularized_scope("net", outer):
        a = tf.compat.v1.get_variable("a", initializer=tf.constant(VALUES["w"]))  # outer
        with tf.compat.v1.variable_scope("plain"):
            b = tf.compat.v1.get_variable("b", initializer=tf.constant(VALUES["b"]))  # inherits outer
        with compat_reg.regularized_scope("l1", compat_reg.l1_regularizer(0.3)):
            c = tf.compat.v1.get_variable("c", initializer=tf.constant(VALUES["k"]))  # inner wins
        with tf.compat.v1.variable_scope("tf1_inner", regularizer=slim.l1_regularizer(0.7)):
            d = tf.compat.v1.get_variable("d", initializer=tf.constant(VALUES["b"]))  # TF1 inner wins
        with compat_reg.regularized_scope("off", None):
            tf.compat.v1.get_variable("e", initializer=tf.constant(VALUES["w"]))  # switched off
        f = tf.compat.v1.get_variable(
            "f", initializer=tf.constant(VALUES["w"]), regularizer=slim.l1_regularizer(0.9)
        )  # explicit argument wins
        tf.compat.v1.get_variable("g", initializer=tf.constant(VALUES["b"]), regularizer=tf.compat.v1.no_regularizer)
    total = tf.compat.v1.losses.get_regularization_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    expected = (
        np_l2_tf1(VALUES["w"], 0.1) + np_l2_tf1(VALUES["b"], 0.1) + np_l1(VALUES["k"], 0.3)
        + np_l1(VALUES["b"], 0.7) + np_l1(VALUES["w"], 0.9)
    )
    assert_close(sess.run(total), expected)
    assert [r for r, _ in compat_reg.regularized_by(a)] == [outer]
    assert [r for r, _ in compat_reg.regularized_by(b)] == [outer]
    assert compat_reg.regularized_by(d) == [] and compat_reg.regularized_by(f) == []
    del c


REUSE_CASES = {"reuse-True": True, "AUTO_REUSE": tf.compat.v1.AUTO_REUSE}


@pytest.mark.parametrize("reuse", list(REUSE_CASES), ids=list(REUSE_CASES))
@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "per-variable"])
def test_reuse_never_adds_a_second_loss(sess, reuse, fuse):
    reg = compat_reg.l2_regularizer(0.1)
    with compat_reg.regularized_scope("net", reg, fuse=fuse):
        w1 = tf.compat.v1.get_variable("w", initializer=tf.constant(VALUES["w"]))
    n_before = len(tf.compat.v1.get_collection(REG))
    for _ in range(3):
        with compat_reg.regularized_scope("net", reg, fuse=fuse, reuse=REUSE_CASES[reuse]):
            w2 = tf.compat.v1.get_variable("w", initializer=tf.constant(VALUES["w"]))
    assert w2 is w1
    assert len(tf.compat.v1.get_collection(REG)) == n_before == 1
    loss = tf.compat.v1.losses.get_regularization_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(loss), np_l2_tf1(VALUES["w"], 0.1))


def test_reentering_a_closed_scope_object_regularizes_new_variables_once(sess):
    reg = compat_reg.l2_regularizer(0.1)
    with compat_reg.regularized_scope("net", reg) as vs:
        tf.compat.v1.get_variable("w", initializer=tf.constant(VALUES["w"]))
    with tf.compat.v1.variable_scope(vs):  # plain TF1 re-entry: the scope keeps its regularizer
        tf.compat.v1.get_variable("k", initializer=tf.constant(VALUES["k"]))
    loss = tf.compat.v1.losses.get_regularization_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(loss), np_l2_tf1(VALUES["w"], 0.1) + np_l2_tf1(VALUES["k"], 0.1))
    assert len(tf.compat.v1.get_collection(REG)) == 2


def test_slim_layers_in_regularized_scope_match_tf1_variable_scope(sess):
    """tf_slim layers create variables with get_variable: the scope regularizes weights and biases, as TF1."""
    x = tf.constant(RNG.standard_normal((2, 5, 5, 3)).astype(np.float32))
    init = tf.compat.v1.random_normal_initializer(seed=3)
    with tf.compat.v1.variable_scope("tf1", regularizer=slim.l2_regularizer(0.01)):
        slim.conv2d(x, 4, [3, 3], weights_initializer=init, biases_initializer=init, scope="conv")
        slim.fully_connected(tf.zeros([2, 6]), 3, weights_initializer=init, biases_initializer=init, scope="fc")
    with compat_reg.regularized_scope("ours", compat_reg.l2_regularizer(0.01)):
        slim.conv2d(x, 4, [3, 3], weights_initializer=init, biases_initializer=init, scope="conv")
        slim.fully_connected(tf.zeros([2, 6]), 3, weights_initializer=init, biases_initializer=init, scope="fc")
    ref = tf.compat.v1.losses.get_regularization_loss(scope="tf1/")
    ours = tf.compat.v1.losses.get_regularization_loss(scope="ours/")
    sess.run(tf.compat.v1.global_variables_initializer())
    ref_v, ours_v = sess.run([ref, ours])
    weights = sess.run([v for v in tf.compat.v1.global_variables() if v.op.name.startswith("ours/")])
    assert len(weights) == 4
    assert_close(ours_v, ref_v)
    assert_close(ours_v, sum(np_l2_tf1(w, 0.01) for w in weights))


# ----------------------------------------------------------------------------
# Partitioned variables.
# ----------------------------------------------------------------------------

FULL = RNG.standard_normal((6, 3)).astype(np.float32)


def _square_of_sum(w):
    """Not additive over shards: (sum w)^2 != sum over shards of (sum shard)^2."""
    return tf.square(tf.reduce_sum(w))


def _partitioned(name, regularizer):
    return tf.compat.v1.get_variable(
        name, initializer=tf.constant(FULL), regularizer=regularizer,
        partitioner=tf.compat.v1.fixed_size_partitioner(3),
    )


def test_partitioned_scope_regularizes_per_shard_like_tf1(sess):
    with tf.compat.v1.variable_scope("tf1", regularizer=_square_of_sum):
        _partitioned("emb", None)
    with compat_reg.regularized_scope("ours", _square_of_sum):
        pv = _partitioned("emb", None)
    ref = tf.compat.v1.losses.get_regularization_loss(scope="tf1/")
    ours = tf.compat.v1.losses.get_regularization_loss(scope="ours/")
    sess.run(tf.compat.v1.global_variables_initializer())
    per_shard = sum(np.sum(FULL[i * 2:(i + 1) * 2], dtype=np.float64) ** 2 for i in range(3))
    ref_v, ours_v = sess.run([ref, ours])
    assert len(list(pv)) == 3
    assert_close(ours_v, ref_v)
    assert_close(ours_v, per_shard)


def test_partitioned_fused_l2_equals_whole_tensor_l2(sess):
    with compat_reg.regularized_scope("ours", compat_reg.l2_regularizer(0.2), fuse=True):
        _partitioned("emb", None)
    loss = tf.compat.v1.losses.get_regularization_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(loss), np_l2_tf1(FULL, 0.2))


def test_regularize_whole_partitioned_tensor(sess):
    pv = _partitioned("emb", tf.compat.v1.no_regularizer)
    losses = compat_reg.regularize(pv, _square_of_sum, partitioned="whole")
    total = tf.compat.v1.losses.get_regularization_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    assert len(losses) == 1 and losses[0].name.startswith("emb/Regularizer/")
    assert_close(sess.run(total), np.sum(FULL, dtype=np.float64) ** 2)


def test_regularize_partitioned_per_shard(sess):
    pv = _partitioned("emb", None)
    losses = compat_reg.regularize(pv, _square_of_sum)
    total = tf.compat.v1.losses.get_regularization_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    assert [t.name.split("/Regularizer/")[0] for t in losses] == ["emb/part_0", "emb/part_1", "emb/part_2"]
    assert_close(sess.run(total), sum(np.sum(FULL[i * 2:(i + 1) * 2], dtype=np.float64) ** 2 for i in range(3)))


# ----------------------------------------------------------------------------
# regularize() on existing variables; double regularization.
# ----------------------------------------------------------------------------


def test_regularize_existing_variables_matches_tf1_names_and_numpy(sess):
    vs = _make_vars()
    losses = compat_reg.regularize([vs["w"], [vs["k"]]], slim.l2_regularizer(0.1))
    with tf.compat.v1.variable_scope("tf1"):
        ref_w = tf.compat.v1.get_variable("w", initializer=tf.constant(VALUES["w"]),
                                          regularizer=slim.l2_regularizer(0.1))
    ref_name = tf.compat.v1.get_collection(REG, "tf1/")[0].name
    assert [t.name for t in losses] == ["w/Regularizer/l2_regularizer:0", "k/Regularizer/l2_regularizer:0"]
    assert ref_name == "tf1/" + losses[0].name
    total = compat_reg.get_regularization_loss(scope="[wk]/")
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(total), np_l2_tf1(VALUES["w"], 0.1) + np_l2_tf1(VALUES["k"], 0.1))
    del ref_w


def test_regularize_scale_zero_adds_nothing(sess):
    vs = _make_vars()
    assert compat_reg.regularize(vs["w"], compat_reg.l2_regularizer(0.0)) == []
    assert tf.compat.v1.get_collection(REG) == []


def test_same_regularizer_twice_through_compat_reg_is_not_double_counted(sess):
    reg = compat_reg.l2_regularizer(0.1)
    with compat_reg.regularized_scope("net", reg):
        w = tf.compat.v1.get_variable("w", initializer=tf.constant(VALUES["w"]))
    with pytest.warns(compat_reg.DoubleRegularizationWarning, match=r"'net/w:0' is already regularized"):
        assert compat_reg.regularize(w, reg) == []
    with pytest.warns(compat_reg.DoubleRegularizationWarning, match=r"'net/w:0' is already regularized"):
        assert compat_reg.regularize(w, compat_reg.l2_regularizer(0.1)) == []  # equal config
    loss = tf.compat.v1.losses.get_regularization_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(loss), np_l2_tf1(VALUES["w"], 0.1))


def test_different_regularizer_on_scope_variable_warns_with_the_name_and_adds(sess):
    with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(0.1)):
        w = tf.compat.v1.get_variable("w", initializer=tf.constant(VALUES["w"]))
    with pytest.warns(compat_reg.DoubleRegularizationWarning) as rec:
        compat_reg.regularize(w, compat_reg.l1_regularizer(0.2))
    msg = str(rec[0].message)
    assert "'net/w:0' is regularized twice" in msg
    assert "regularized_scope('net')" in msg and "regularize()" in msg
    loss = tf.compat.v1.losses.get_regularization_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(loss), np_l2_tf1(VALUES["w"], 0.1) + np_l1(VALUES["w"], 0.2))


def test_tf1_get_variable_regularizer_then_regularize_warns(graph):
    w = tf.compat.v1.get_variable("w", [2], regularizer=slim.l2_regularizer(0.1))
    with pytest.warns(compat_reg.DoubleRegularizationWarning,
                      match=r"'w:0' is regularized twice: already by get_variable\(regularizer=...\)"):
        compat_reg.regularize(w, slim.l1_regularizer(0.1))
    assert len(tf.compat.v1.get_collection(REG)) == 2


# ----------------------------------------------------------------------------
# Errors.
# ----------------------------------------------------------------------------


def test_regularize_rejects_tensors_with_the_fix(graph):
    t = tf.constant([1.0])
    with pytest.raises(TypeError, match=r"must be a tf.Variable.*Received: <tf.Tensor 'Const:0'.*use compat_reg.activity_regularize"):
        compat_reg.regularize(t, compat_reg.l2_regularizer(0.1))


def test_regularize_rejects_unknown_partitioned_mode(graph):
    w = tf.compat.v1.get_variable("w", [2])
    with pytest.raises(ValueError, match=r"Invalid value for argument `partitioned`.*Received: partitioned='all'"):
        compat_reg.regularize(w, compat_reg.l2_regularizer(0.1), partitioned="all")


NOT_CALLABLE_CASES = {
    "regularize": lambda: compat_reg.regularize(tf.compat.v1.get_variable("w", [2]), 0.1),
    "regularized_scope": lambda: compat_reg.regularized_scope("s", 0.1).__enter__(),
}


@pytest.mark.parametrize("fn", list(NOT_CALLABLE_CASES), ids=list(NOT_CALLABLE_CASES))
def test_non_callable_regularizer_is_refused(graph, fn):
    with pytest.raises(TypeError, match=rf"^{fn}: Invalid value for argument `regularizer`. Expected a callable "
                                        r"`penalty = regularizer\(weights\)`.*Received: regularizer=0.1\.$"):
        NOT_CALLABLE_CASES[fn]()


def test_non_scalar_scope_regularizer_names_the_variable(graph):
    with pytest.raises(ValueError, match=r"^regularized_scope: the penalty of variable 'net/w:0' \(regularizer .*\) "
                                         r"has shape \(3, 4\); a regularization loss must be a scalar"):
        with compat_reg.regularized_scope("net", lambda w: w * 2.0):
            tf.compat.v1.get_variable("w", [3, 4])


EAGER_CASES = {
    "regularize": lambda: compat_reg.regularize(tf.Variable([1.0]), compat_reg.l2_regularizer(0.1)),
    "regularized_scope": lambda: compat_reg.regularized_scope("s", compat_reg.l2_regularizer(0.1)).__enter__(),
}


@pytest.mark.parametrize("fn", list(EAGER_CASES), ids=list(EAGER_CASES))
def test_eager_calls_raise_with_the_fix(fn):
    assert tf.executing_eagerly()
    with pytest.raises(RuntimeError, match=rf"{fn}\(\) needs a tf.compat.v1 graph.*tf.Graph\(\).as_default"):
        EAGER_CASES[fn]()


def test_fused_and_tf1_graphs_have_the_same_gradients(sess):
    """The fused penalty is differentiable like TF1's: d/dw (s/2 * sum w^2) = s * w."""
    with compat_reg.regularized_scope("ours", compat_reg.l2_regularizer(0.3), fuse=True):
        vs = _make_vars()
    loss = tf.compat.v1.losses.get_regularization_loss()
    grads = tf.compat.v1.gradients(loss, [vs[n] for n in VALUES])
    sess.run(tf.compat.v1.global_variables_initializer())
    for n, g in zip(VALUES, sess.run(grads)):
        assert_close(g, 0.3 * VALUES[n], what=n)
    assert scopes.tf1_regularization_losses_of(vs["w"]) == []


def test_compat_reg_collection_functions_inside_an_open_scope(sess):
    """compat_reg's get_regularization_loss / get_total_loss accept the in-scope FusedPenalty."""
    with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(0.1), fuse=True):
        tf.compat.v1.get_variable("w", initializer=tf.constant(VALUES["w"]))
        reg = compat_reg.get_regularization_loss()
        tf.compat.v1.losses.add_loss(tf.constant(1.5))
        total = compat_reg.get_total_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    reg_v, total_v = sess.run([reg, total])
    assert_close(reg_v, np_l2_tf1(VALUES["w"], 0.1))
    assert_close(total_v, 1.5 + np_l2_tf1(VALUES["w"], 0.1))


def test_fused_scope_keeps_one_penalty_per_dtype(sess):
    w16 = VALUES["w"].astype(np.float16)
    with compat_reg.regularized_scope("net", compat_reg.l1_regularizer(0.5), fuse=True):
        tf.compat.v1.get_variable("w32", initializer=tf.constant(VALUES["w"]))
        tf.compat.v1.get_variable("w16", initializer=tf.constant(w16))
    entries = tf.compat.v1.get_collection(REG)
    assert sorted(e.dtype.name for e in entries) == ["float16", "float32"]
    sess.run(tf.compat.v1.global_variables_initializer())
    by_dtype = dict(zip((e.dtype.name for e in entries), sess.run(entries)))
    assert_close(by_dtype["float32"], np_l1(VALUES["w"], 0.5))
    assert_close(by_dtype["float16"], np_l1(w16, 0.5), rtol=1e-3, what="float16 sum: rtol 1e-3")


def test_error_inside_the_scope_propagates_and_collection_stays_usable(sess):
    with pytest.raises(KeyError, match="boom"):
        with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(0.1)):
            tf.compat.v1.get_variable("w", initializer=tf.constant(VALUES["w"]))
            raise KeyError("boom")
    loss = tf.compat.v1.losses.get_regularization_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(loss), np_l2_tf1(VALUES["w"], 0.1))


def test_numpy_zero_scale_adds_nothing_like_tf1(graph):
    with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(np.float32(0.0))):
        tf.compat.v1.get_variable("w", [2])
    with tf.compat.v1.variable_scope("tf1", regularizer=slim.l2_regularizer(np.float32(0.0))):
        tf.compat.v1.get_variable("w", [2])
    assert tf.compat.v1.get_collection(REG) == []


def test_fused_penalty_reads_current_values_after_assignment(sess):
    """The fused penalty reuses the creation-time read op: it must still see later assignments."""
    with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(0.1), fuse=True):
        with tf.control_dependencies([tf.no_op(name="unrelated")]):
            w = tf.compat.v1.get_variable("w", initializer=tf.constant(VALUES["w"]))
    loss = tf.compat.v1.losses.get_regularization_loss()
    assign = w.assign(VALUES["w"] * 3.0)
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(loss), np_l2_tf1(VALUES["w"], 0.1))
    sess.run(assign)
    assert_close(sess.run(loss), np_l2_tf1(VALUES["w"] * 3.0, 0.1))


def test_unwrap_regularizer_gives_back_the_users_regularizer(graph):
    reg = compat_reg.l2_regularizer(0.5)
    with compat_reg.regularized_scope("net", reg):
        installed = tf.compat.v1.get_variable_scope().regularizer
    assert installed is not reg  # the build-once wrapper
    assert compat_reg.scopes.unwrap_regularizer(installed) is reg
    assert compat_reg.scopes.unwrap_regularizer(reg) is reg


def test_an_unexpected_double_regularization_warning_fails_the_suite(graph):
    """pytest.ini turns compat_reg's DoubleRegularizationWarning into an error unless a test expects it."""
    with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(0.1)):
        w = tf.compat.v1.get_variable("w", [2])
    with pytest.raises(compat_reg.DoubleRegularizationWarning, match=r"'net/w:0' is regularized twice"):
        compat_reg.regularize(w, compat_reg.l1_regularizer(0.1))
