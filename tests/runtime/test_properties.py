"""Property-based: compat_reg equals tf_slim's value, or raises an error with a message — never anything else.

Hypothesis (pinned in the test requirements) generates scales (valid, zero, negative, integer, bool,
NaN/inf, strings, lists, NumPy scalars and vectors), weight shapes (including empty ones), float
dtypes, name scopes and regularizer compositions (L1, L2, L1-L2, sums of up to three members, one
level of nesting). Every example builds compat_reg's and tf_slim's regularizer side by side in one
``tf.Graph`` (under the name scopes ``ours/`` and ``tf1/``) and runs both in one ``Session``:

* construction: where tf_slim refuses, compat_reg refuses too; where compat_reg refuses what tf_slim
  accepts (a NaN, a string, a vector), it is a ``ValueError``/``TypeError`` whose message names
  the argument;
* call: compat_reg returns ``None`` exactly when tf_slim does, otherwise a scalar with tf_slim's
  op name and value (same ops, so rtol 1e-6 in every dtype), or, where tf_slim's call fails,
  the NumPy value;
* as a Keras ``kernel_regularizer`` (keras-marked, both flavors): ``layer.losses`` equals tf_slim's
  value of the same kernel (0.0 where tf_slim's regularizer is disabled).

Settings are explicit: ``max_examples`` keeps the module under a minute on a loaded 2-core machine;
``deadline=None`` because a first graph build or a loaded machine can take longer than Hypothesis'
default 200 ms without anything being wrong; ``database=None`` so no ``.hypothesis`` directory is
written into the tree; ``derandomize=True`` so every run checks the same examples (a failure is
reproducible from the printed falsifying example).
"""

import re

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim
from hypothesis import HealthCheck
from hypothesis import event
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import compat_reg

SETTINGS = dict(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
RTOL = 1e-6  # same ops in the same order as tf_slim: equal in every dtype up to float32's rtol
DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64}
NAMED_ARGUMENT = re.compile(r"`\w+`|scale|regularizer")  # tf_slim's messages name "scale" too

# --- strategies ------------------------------------------------------------------------------------

def _weighted(*pairs):
    """Choose among strategies with integer weights (``one_of`` would give each the same chance)."""
    table = [strategy for weight, strategy in pairs for _ in range(weight)]
    return st.integers(min_value=0, max_value=len(table) - 1).flatmap(lambda i: table[i])


valid_scales = _weighted((1, st.just(0.0)), (3, st.floats(min_value=1e-4, max_value=10.0, allow_subnormal=False)))
hostile_scales = st.one_of(
    st.floats(min_value=-10.0, max_value=-1e-4),
    st.integers(min_value=-2, max_value=2),
    st.booleans(),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    st.sampled_from(["0.1", "", "l2"]),
    st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=3),
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=3).map(np.array),
    st.floats(min_value=0.0, max_value=1.0).map(np.array),  # 0-d array: a scale
    st.floats(min_value=0.0, max_value=1.0).map(np.float32),
)
scales = _weighted((3, valid_scales), (1, hostile_scales))
scopes = st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True))


def _specs(scale_strategy):
    leaf = st.one_of(
        st.tuples(st.just("l1"), scale_strategy, scopes),
        st.tuples(st.just("l2"), scale_strategy, scopes),
        st.tuples(st.just("l1_l2"), scale_strategy, scale_strategy, scopes),
    )
    return _weighted(
        (3, leaf),
        (2, st.tuples(st.just("sum"), st.lists(_weighted((3, leaf), (1, st.none())), max_size=3), scopes)),
        (1, st.tuples(st.just("sum"), st.lists(st.tuples(st.just("sum"), st.lists(leaf, max_size=2), scopes),
                                               min_size=1, max_size=2), scopes)),
    )


shapes = st.lists(st.integers(min_value=0, max_value=4), max_size=3)


def _make(lib, spec):
    """Build the regularizer ``spec`` with ``lib`` (``compat_reg`` or ``tf_slim``)."""
    if spec is None:
        return None
    kind = spec[0]
    if kind == "l1":
        return lib.l1_regularizer(spec[1], scope=spec[2])
    if kind == "l2":
        return lib.l2_regularizer(spec[1], scope=spec[2])
    if kind == "l1_l2":
        return lib.l1_l2_regularizer(spec[1], spec[2], scope=spec[3])
    return lib.sum_regularizer([_make(lib, member) for member in spec[1]], scope=spec[2])


def _numpy(spec, w):
    """The TF1 penalty in float64, or None when TF1 adds nothing."""
    if spec is None:
        return None
    kind = spec[0]
    w = w.astype(np.float64)
    if kind == "l1":
        return None if spec[1] == 0 else float(spec[1]) * np.abs(w).sum()
    if kind == "l2":
        return None if spec[1] == 0 else float(spec[1]) * np.square(w).sum() / 2.0
    if kind == "l1_l2":
        parts = [_numpy(("l1", spec[1], None), w), _numpy(("l2", spec[2], None), w)]
    else:
        parts = [_numpy(member, w) for member in spec[1]]
    parts = [p for p in parts if p is not None]
    return sum(parts) if parts else None


def _outcome(fn):
    """("ok", value) or ("error", exception) for the two documented error types; anything else propagates."""
    try:
        return "ok", fn()
    except (ValueError, TypeError) as error:
        return "error", error


def _assert_clear(error, context):
    message = str(error)
    assert message and NAMED_ARGUMENT.search(message), f"{context}: unclear error {type(error).__name__}: {message!r}"


def _weights(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 2.0).astype(DTYPES[dtype])


def _local_name(tensor, prefix):
    assert tensor.op.name.startswith(prefix), tensor.op.name
    return tensor.op.name[len(prefix):]


# --- graph mode ------------------------------------------------------------------------------------


@settings(max_examples=120, **SETTINGS)
@given(spec=_specs(scales), shape=shapes, dtype=st.sampled_from(sorted(DTYPES)),
       seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_graph_mode_equals_tf_slim_or_raises_clearly(spec, shape, dtype, seed):
    w_np = _weights(shape, dtype, seed)
    graph = tf.Graph()
    with graph.as_default():
        w = tf.constant(w_np, name="w")
        with tf.name_scope("ours"):
            ours = _outcome(lambda: _make(compat_reg, spec))
        with tf.name_scope("tf1"):
            theirs = _outcome(lambda: _make(slim, spec))
        if ours[0] == "error":
            _assert_clear(ours[1], f"construction of {spec}")
            event(f"refused at construction ({'tf_slim too' if theirs[0] == 'error' else 'tf_slim accepted'})")
            return
        assert theirs[0] == "ok", f"tf_slim refuses {spec} ({theirs[1]!r}) but compat_reg accepted it"
        if ours[1] is None:  # sum_regularizer of nothing: tf_slim's None too
            assert theirs[1] is None
            event("sum of nothing: None")
            return
        with tf.name_scope("ours/"):
            ours_v = _outcome(lambda: ours[1](w))
        with tf.name_scope("tf1/"):
            theirs_v = _outcome(lambda: theirs[1](w) if theirs[1] is not None else None)
        if ours_v[0] == "error":
            _assert_clear(ours_v[1], f"call of {spec}")
            assert theirs_v[0] == "error", f"compat_reg raised {ours_v[1]!r} where tf_slim gave a value for {spec}"
            event("refused at call (tf_slim too)")
            return
        if theirs_v[0] == "ok":
            assert (ours_v[1] is None) == (theirs_v[1] is None), (spec, ours_v[1], theirs_v[1])
            if ours_v[1] is None:
                assert _numpy(spec, w_np) is None
                event("disabled: None like tf_slim")
                return
            event("value equals tf_slim's")
            assert ours_v[1].shape == tf.TensorShape([]) and ours_v[1].dtype == theirs_v[1].dtype
            assert _local_name(ours_v[1], "ours/") == _local_name(theirs_v[1], "tf1/")
            with tf.compat.v1.Session(graph=graph) as sess:
                ours_value, theirs_value = sess.run([ours_v[1], theirs_v[1]])
            np.testing.assert_allclose(ours_value, theirs_value, rtol=RTOL, err_msg=str(spec))
        else:  # tf_slim fails at call time (e.g. a 0-d NumPy scale of another dtype): NumPy decides
            expected = _numpy(spec, w_np)
            event("tf_slim fails at call, value equals NumPy")
            assert (ours_v[1] is None) == (expected is None), (spec, ours_v[1])
            if expected is not None:
                with tf.compat.v1.Session(graph=graph) as sess:
                    value = sess.run(ours_v[1])
                rtol = {"float16": 2e-3, "float32": 1e-5, "float64": 1e-12}[dtype]
                np.testing.assert_allclose(value, expected, rtol=rtol, atol=1e-30, err_msg=str(spec))


# --- regularized_scope against TF1's variable_scope(regularizer=) ------------------------------------


@settings(max_examples=40, **SETTINGS)
@given(spec=_specs(valid_scales), shapes_=st.lists(st.lists(st.integers(1, 3), max_size=2), min_size=1, max_size=3),
       fuse=st.booleans(), prefix=st.sampled_from(["net", "net/", "net/v0", "ne", "other"]),
       seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_regularized_scope_equals_tf1_variable_scope(spec, shapes_, fuse, prefix, seed):
    """Same variables in ``regularized_scope`` and in TF1's ``variable_scope(regularizer=)``: same totals.

    The default layout matches TF1 for every ``scope=`` filter; ``fuse=True`` only for whole-scope
    filters (documented), so its filters are checked only where the documentation promises them.
    """
    values = [_weights(shape, "float32", seed + i) for i, shape in enumerate(shapes_)]
    results = {}
    for side in ("tf1", "ours"):
        graph = tf.Graph()
        with graph.as_default():
            if side == "tf1":
                reg = _make(slim, spec)
                scope = tf.compat.v1.variable_scope("net", regularizer=reg)
            else:
                reg = _make(compat_reg, spec)
                if reg is None:
                    scope = tf.compat.v1.variable_scope("net")
                else:
                    scope = compat_reg.regularized_scope("net", reg, fuse=fuse)
            with scope:
                for i, value in enumerate(values):
                    tf.compat.v1.get_variable(f"v{i}", initializer=tf.constant(value))
            loss = compat_reg.get_regularization_loss(scope=prefix)
            tf1_loss = tf.compat.v1.losses.get_regularization_loss(scope=prefix)
            with tf.compat.v1.Session(graph=graph) as sess:
                sess.run(tf.compat.v1.global_variables_initializer())
                results[side] = sess.run([loss, tf1_loss])
    if fuse and prefix == "net/v0":
        prefix_ok = False  # fused: one entry per variable scope (docs/scopes_and_patterns.md)
    else:
        prefix_ok = True
    if prefix_ok:
        np.testing.assert_allclose(results["ours"], results["tf1"] * np.ones(2), rtol=RTOL, err_msg=str(spec))
    np.testing.assert_allclose(results["tf1"][0], results["tf1"][1], rtol=RTOL)


# --- as a Keras regularizer ------------------------------------------------------------------------------


@pytest.mark.keras
@settings(max_examples=40, **SETTINGS)
@given(spec=_specs(valid_scales), rows=st.integers(1, 4), units=st.integers(1, 3),
       seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_keras_kernel_regularizer_equals_tf_slim(spec, rows, units, seed):
    from compat_reg import _flavor

    keras = _flavor.keras()
    ours = _make(compat_reg, spec)
    if ours is None:
        assert _make(slim, spec) is None
        return
    kernel = _weights((rows, units), "float32", seed)
    layer = keras.layers.Dense(units, kernel_regularizer=ours)
    layer.build((None, rows))
    layer.kernel.assign(kernel)
    (loss,) = layer.losses
    assert tuple(loss.shape) == ()
    theirs = _make(slim, spec)
    expected = theirs(tf.constant(kernel))  # tf_slim's closures run eagerly too
    expected = 0.0 if expected is None else float(expected)
    np.testing.assert_allclose(float(loss), expected, rtol=RTOL, err_msg=str(spec))
