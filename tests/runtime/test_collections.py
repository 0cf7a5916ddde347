"""The REGULARIZATION_LOSSES collection API against tf.compat.v1 / tf_slim on the same graph, and NumPy."""

import re

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import compat_reg
from tests.helpers import assert_close, np_l1, np_l2_tf1

RNG = np.random.default_rng(7)

# Variables in scopes chosen so that a regex-prefix filter and a scope-boundary filter
# disagree: "outer" matches "outer/..." *and* "outer_b/...", but not "inner/outer/...".
# scope path -> (variable values, l2 scale)
SCOPED_VARIABLES = {
    "outer": (RNG.standard_normal((2, 3)).astype(np.float32), 0.1),
    "outer/inner": (RNG.standard_normal((4,)).astype(np.float32), 0.2),
    "outer_b": (RNG.standard_normal((3, 2)).astype(np.float32), 0.3),
    "inner/outer": (RNG.standard_normal((5,)).astype(np.float32), 0.4),
    "other": (RNG.standard_normal((2, 2)).astype(np.float32), 0.5),
}

# scope filter -> the SCOPED_VARIABLES keys whose penalty it selects (by TF1's rule:
# re.match(scope, "<path>/w/Regularizer/l2_regularizer:0")).
SCOPE_FILTERS = {
    "none": (None, list(SCOPED_VARIABLES)),
    "outer-prefix": ("outer", ["outer", "outer/inner", "outer_b"]),
    "outer-slash": ("outer/", ["outer", "outer/inner"]),
    "outer_b": ("outer_b", ["outer_b"]),
    "inner": ("inner", ["inner/outer"]),
    "regex-any-outer": (".*outer", ["outer", "outer/inner", "outer_b", "inner/outer"]),
    "regex-alternation": ("(other|outer_b)/", ["outer_b", "other"]),
    "no-match": ("nothing", []),
}


def _build_scoped(regularizer_factory):
    variables = {}
    for path, (values, scale) in SCOPED_VARIABLES.items():
        with tf.compat.v1.variable_scope(path):
            variables[path] = tf.compat.v1.get_variable(
                "w", initializer=values, regularizer=regularizer_factory(scale)
            )
    return variables


def _np_scoped(paths):
    return sum(np_l2_tf1(SCOPED_VARIABLES[p][0], SCOPED_VARIABLES[p][1]) for p in paths)


@pytest.mark.parametrize("case", list(SCOPE_FILTERS))
def test_scope_filter_is_tf1s_regex_prefix(sess, case):
    scope, expected_paths = SCOPE_FILTERS[case]
    _build_scoped(compat_reg.l2_regularizer)
    ours = compat_reg.get_regularization_losses(scope)
    theirs = tf.compat.v1.losses.get_regularization_losses(scope)
    assert [t.name for t in ours] == [t.name for t in theirs]
    assert [t.name for t in ours] == [f"{p}/w/Regularizer/l2_regularizer:0" for p in expected_paths]
    our_total = compat_reg.get_regularization_loss(scope)
    their_total = tf.compat.v1.losses.get_regularization_loss(scope)
    sess.run(tf.compat.v1.global_variables_initializer())
    got, ref = sess.run([our_total, their_total])
    assert_close(got, ref)
    assert_close(got, _np_scoped(expected_paths), atol=0.0 if expected_paths else 0.0)
    # The rule itself, written independently: re.match on the tensor name.
    names = [f"{p}/w/Regularizer/l2_regularizer:0" for p in SCOPED_VARIABLES]
    if scope is not None:
        assert [n for n in names if re.match(scope, n)] == [t.name for t in ours]


def test_total_is_named_and_empty_collection_gives_float32_zero(sess):
    empty = compat_reg.get_regularization_loss()
    assert empty.dtype == tf.float32 and sess.run(empty) == 0.0
    _build_scoped(compat_reg.l2_regularizer)
    assert compat_reg.get_regularization_loss().name == "total_regularization_loss:0"
    assert compat_reg.get_regularization_loss(name="reg").name == "reg:0"


def test_tf_slim_regularized_variables_sum_the_same(sess):
    """The collection filled by tf_slim's closures (resnet_arg_scope style) sums identically."""
    _build_scoped(slim.l2_regularizer)
    ours, theirs = compat_reg.get_regularization_loss(), tf.compat.v1.losses.get_regularization_loss()
    sess.run(tf.compat.v1.global_variables_initializer())
    got, ref = sess.run([ours, theirs])
    assert_close(got, ref)
    assert_close(got, _np_scoped(SCOPED_VARIABLES))


def test_summing_reuses_the_penalty_get_variable_built(graph):
    """TF1 rebuilds every penalty subgraph when it sums; we add only the AddN."""
    _build_scoped(compat_reg.l2_regularizer)
    before = len(graph.get_operations())
    compat_reg.get_regularization_loss()
    added = [op.type for op in graph.get_operations()[before:]]
    assert added == ["AddN"]
    before = len(graph.get_operations())
    tf.compat.v1.losses.get_regularization_loss()
    assert len(graph.get_operations()) - before > 1  # TF1 builds copies of the penalties


def test_python_numbers_added_by_hand_are_summed_like_tf1(sess):
    tf.compat.v1.add_to_collection(compat_reg.REGULARIZATION_LOSSES, 0.5)
    compat_reg.add_regularization_loss(tf.constant(0.25))
    got, ref = sess.run([compat_reg.get_regularization_loss(), tf.compat.v1.losses.get_regularization_loss()])
    assert got == ref == 0.75


def test_collection_items_are_returned_as_tf1_returns_them(graph):
    _build_scoped(compat_reg.l2_regularizer)
    ours = compat_reg.get_regularization_losses()
    theirs = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
    assert len(ours) == len(theirs) and all(a is b for a, b in zip(ours, theirs))
    assert compat_reg.REGULARIZATION_LOSSES == tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES


# --- apply_regularization -----------------------------------------------------------

WEIGHT_VALUES = [RNG.standard_normal((3, 3)).astype(np.float32), RNG.standard_normal((4,)).astype(np.float32)]

# id -> (module-specific regularizer factory, NumPy reference over one weight)
APPLY_CASES = {
    "l2": (lambda m: m.l2_regularizer(0.1), lambda w: np_l2_tf1(w, 0.1)),
    "l1": (lambda m: m.l1_regularizer(0.2), lambda w: np_l1(w, 0.2)),
    "l1_l2": (lambda m: m.l1_l2_regularizer(0.2, 0.3), lambda w: np_l1(w, 0.2) + np_l2_tf1(w, 0.3)),
    "disabled": (lambda m: m.l2_regularizer(0.0), lambda w: 0.0),
    "custom-callable": (lambda m: (lambda w: tf.reduce_max(w)), lambda w: float(np.max(w))),
}


def _apply_in_fresh_graph(module, case, use_weights_collection):
    graph = tf.Graph()
    with graph.as_default():
        weights = [tf.compat.v1.get_variable(f"w{i}", initializer=v) for i, v in enumerate(WEIGHT_VALUES)]
        if use_weights_collection:
            for w in weights:
                tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.WEIGHTS, w)
        regularizer = APPLY_CASES[case][0](module)
        penalty = module.apply_regularization(regularizer, None if use_weights_collection else weights)
        collection = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
        ops = [(op.name, op.type) for op in graph.get_operations()]
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            value = session.run(penalty)
    return penalty.name, [t is penalty for t in collection], ops, value


@pytest.mark.parametrize("use_weights_collection", [False, True], ids=["explicit-list", "WEIGHTS-collection"])
@pytest.mark.parametrize("case", list(APPLY_CASES))
def test_apply_regularization_matches_tf_slim(case, use_weights_collection):
    ours = _apply_in_fresh_graph(compat_reg, case, use_weights_collection)
    theirs = _apply_in_fresh_graph(slim, case, use_weights_collection)
    assert ours[0] == theirs[0] == "get_regularization_penalty:0"
    assert ours[1] == theirs[1] == [True]  # the sum itself is appended to the collection
    assert ours[2] == theirs[2]
    assert_close(ours[3], theirs[3])
    assert_close(ours[3], sum(APPLY_CASES[case][1](w) for w in WEIGHT_VALUES))


def test_apply_regularization_then_get_regularization_loss_counts_twice_like_tf1(sess):
    """TF1 semantics, kept for drop-in: the applied sum is in the collection."""
    w = tf.compat.v1.get_variable("w", initializer=WEIGHT_VALUES[0], regularizer=compat_reg.l2_regularizer(0.1))
    with pytest.warns(compat_reg.DoubleRegularizationWarning,
                      match=r"variable 'w:0' is already regularized by get_variable\(regularizer=\.\.\.\) "
                            r"\(its loss 'w/Regularizer/l2_regularizer:0'\).*counts twice"):
        applied = compat_reg.apply_regularization(compat_reg.l2_regularizer(0.1), [w])
    total = compat_reg.get_regularization_loss()
    sess.run(w.initializer)
    got_applied, got_total = sess.run([applied, total])
    assert_close(got_total, 2 * np_l2_tf1(WEIGHT_VALUES[0], 0.1))
    assert_close(got_applied, np_l2_tf1(WEIGHT_VALUES[0], 0.1))


def test_apply_regularization_warns_for_variables_of_a_regularized_scope(graph):
    with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(0.1)):
        w = tf.compat.v1.get_variable("w", initializer=WEIGHT_VALUES[0])
    free = tf.compat.v1.get_variable("free", initializer=WEIGHT_VALUES[1])
    with pytest.warns(compat_reg.DoubleRegularizationWarning, match=r"variable 'net/w:0' is already regularized") as seen:
        compat_reg.apply_regularization(compat_reg.l2_regularizer(0.1), [w, free])
    assert ["free:0" in str(x.message) for x in seen] == [False]


def test_apply_regularization_on_fresh_variables_does_not_warn(graph, recwarn):
    weights = [tf.compat.v1.get_variable(f"w{i}", initializer=v) for i, v in enumerate(WEIGHT_VALUES)]
    compat_reg.apply_regularization(compat_reg.l2_regularizer(0.1), weights)
    assert not [w for w in recwarn if issubclass(w.category, compat_reg.DoubleRegularizationWarning)]


# id -> (callable building the misuse in a fresh graph, expected type, exact tf_slim message or None)
APPLY_ERRORS = {
    "no-weights": (lambda m: m.apply_regularization(m.l2_regularizer(0.1)), ValueError),
    "empty-list": (lambda m: m.apply_regularization(m.l2_regularizer(0.1), []), ValueError),
    "rank-1-penalty": (
        lambda m: m.apply_regularization(lambda w: w * 2.0, [tf.constant([1.0, 2.0])]),
        ValueError,
    ),
}


@pytest.mark.parametrize("case", list(APPLY_ERRORS))
def test_apply_regularization_errors_are_tf_slims(case):
    build, error = APPLY_ERRORS[case]
    messages = []
    for module in (compat_reg, slim):
        with tf.Graph().as_default():
            with pytest.raises(error) as raised:
                build(module)
            messages.append(str(raised.value))
    assert messages[0] == messages[1]
    assert messages[0] in ("No weights to regularize.",
                           "regularizer must return a scalar Tensor instead of a Tensor with rank 1.")


def test_apply_regularization_with_none_regularizer_names_the_fix(graph):
    with pytest.raises(TypeError, match=r"^apply_regularization: Invalid value for argument `regularizer`. Expected a "
                                        r"callable .* Received: regularizer=None\. \(sum_regularizer\(\[\]\) returns None"):
        compat_reg.apply_regularization(compat_reg.sum_regularizer([]), [tf.constant(1.0)])


def test_apply_regularization_mixed_dtypes_is_a_clear_type_error(graph):
    weights = [tf.constant([1.0, 2.0], tf.float16, name="half"), tf.constant([1.0], name="single")]
    with pytest.raises(TypeError, match=r"different dtypes.*float16.*float32|different dtypes.*float32.*float16"):
        compat_reg.apply_regularization(compat_reg.l2_regularizer(0.1), weights)


# --- get_total_loss / add_regularization_loss ----------------------------------------

@pytest.mark.parametrize(
    "add_reg,scope",
    [(True, None), (False, None), (True, "outer"), (True, "outer/"), (False, "outer_b")],
    ids=["with-reg", "without-reg", "scope-outer", "scope-outer-slash", "no-reg-scope-outer_b"],
)
def test_get_total_loss_matches_tf1(sess, add_reg, scope):
    for path in ("outer", "outer_b", "other"):
        with tf.compat.v1.name_scope(path + "/"):  # absolute: exactly "<path>/data_loss"
            tf.compat.v1.losses.add_loss(tf.constant(len(path) * 1.0, name="data_loss"))
    _build_scoped(compat_reg.l2_regularizer)
    ours = compat_reg.get_total_loss(add_regularization_losses=add_reg, scope=scope)
    theirs = tf.compat.v1.losses.get_total_loss(add_regularization_losses=add_reg, scope=scope)
    assert ours.name == "total_loss:0"
    sess.run(tf.compat.v1.global_variables_initializer())
    got, ref = sess.run([ours, theirs])
    assert_close(got, ref)
    data = sum(float(len(p)) for p in ("outer", "outer_b", "other") if scope is None or re.match(scope, p + "/"))
    reg = _np_scoped([p for p in SCOPED_VARIABLES if scope is None or re.match(scope, p + "/")]) if add_reg else 0.0
    assert_close(got, data + reg)


def test_get_total_loss_with_nothing_to_add_names_the_fix(graph):
    with pytest.raises(ValueError) as theirs:  # TF1: an add_n error about its inputs
        tf.compat.v1.losses.get_total_loss()
    assert "add_loss" not in str(theirs.value)
    with pytest.raises(ValueError, match=r"there are no losses to add.*tf\.compat\.v1\.losses\.add_loss"):
        compat_reg.get_total_loss()
    _build_scoped(compat_reg.l2_regularizer)
    with pytest.raises(ValueError, match=r"no losses matching scope='nothing' to add"):
        compat_reg.get_total_loss(scope="nothing")


def test_add_regularization_loss_appends_and_sums(sess):
    loss = compat_reg.add_regularization_loss(tf.constant(1.5, name="extra"))
    assert loss.name == "extra:0"
    assert tf.compat.v1.get_collection(compat_reg.REGULARIZATION_LOSSES) == [loss]
    compat_reg.add_regularization_loss(0.25)
    assert_close(sess.run(compat_reg.get_regularization_loss()), 1.75)
    assert_close(sess.run(tf.compat.v1.losses.get_regularization_loss()), 1.75)


def test_add_regularization_loss_refuses_non_scalars(graph):
    with pytest.raises(ValueError, match=r"loss 'per_example:0' has rank 1.*must be a scalar"):
        compat_reg.add_regularization_loss(tf.constant([1.0, 2.0], name="per_example"))
    assert tf.compat.v1.get_collection(compat_reg.REGULARIZATION_LOSSES) == []


def test_add_regularization_loss_refuses_a_second_dtype(graph):
    compat_reg.add_regularization_loss(tf.constant(1.0, name="f32"))
    with pytest.raises(TypeError, match=r"'f32:0' is float32, 'f16:0' is float16.*tf\.cast"):
        compat_reg.add_regularization_loss(tf.constant(1.0, tf.float16, name="f16"))


# --- misuse through get_variable: what TF1 lets through -------------------------------

def test_mixed_float16_float32_collection_is_a_clear_type_error(graph):
    tf.compat.v1.get_variable("w32", initializer=np.ones(3, np.float32), regularizer=compat_reg.l2_regularizer(0.1))
    tf.compat.v1.get_variable("w16", initializer=np.ones(3, np.float16), regularizer=compat_reg.l2_regularizer(0.1))
    with pytest.raises(TypeError, match=r"AddN"):  # TF1's cryptic one
        tf.compat.v1.losses.get_regularization_loss()
    with pytest.raises(TypeError) as ours:
        compat_reg.get_regularization_loss()
    message = str(ours.value)
    assert "'w32/Regularizer/l2_regularizer:0' is float32" in message
    assert "'w16/Regularizer/l2_regularizer:0' is float16" in message
    assert "tf.cast" in message


def test_non_scalar_regularizer_output_is_named(sess):
    """TF1 adds a non-scalar penalty and returns a non-scalar 'total'; we refuse it."""
    tf.compat.v1.get_variable("v", initializer=np.ones(3, np.float32), regularizer=lambda w: tf.square(w))
    tf1_total = tf.compat.v1.losses.get_regularization_loss()
    assert tf1_total.shape == (3,)
    with pytest.raises(ValueError, match=r"loss 'v/Regularizer/Square:0' has rank 1 \(shape \(3,\)\)"):
        compat_reg.get_regularization_loss()


# --- eager misuse ------------------------------------------------------------------------

EAGER_CALLS = {
    "get_regularization_losses": lambda: compat_reg.get_regularization_losses(),
    "get_regularization_loss": lambda: compat_reg.get_regularization_loss(),
    "add_regularization_loss": lambda: compat_reg.add_regularization_loss(tf.constant(1.0)),
    "get_total_loss": lambda: compat_reg.get_total_loss(),
    "apply_regularization": lambda: compat_reg.apply_regularization(
        compat_reg.l2_regularizer(0.1), [tf.constant([1.0])]
    ),
}


@pytest.mark.parametrize("fn", list(EAGER_CALLS))
def test_eager_calls_raise_runtime_error_naming_the_fix(fn):
    assert tf.executing_eagerly()
    with pytest.raises(RuntimeError) as raised:
        EAGER_CALLS[fn]()
    message = str(raised.value)
    assert message.startswith(f"compat_reg.{fn}() needs a tf.compat.v1 graph")
    assert "with tf.Graph().as_default():" in message and "model.losses" in message


def test_tf1_silently_returns_zero_eagerly():
    """Why we raise: TF1's function hides the missing collection."""
    assert float(tf.compat.v1.losses.get_regularization_loss()) == 0.0


def test_inside_a_tf_function_graph_the_functions_work():
    """A FuncGraph has its own collections, as in TF1; only eager execution is refused."""

    @tf.function
    def step(x):
        compat_reg.add_regularization_loss(tf.reduce_sum(x))
        return compat_reg.get_regularization_loss()

    assert float(step(tf.constant([1.0, 2.0]))) == 3.0
