"""Issue 11, sections 2 and 5 (runtime): hostile inputs give TF1's number or a clear error, never a silent one.

Each case was silent or vague before: a vector penalty, a 0.0 inside a tf.function, a loss in another
graph's collection, a fused-scope snapshot that grows, a config that iterates a string, raw TensorFlow
or ``re`` errors. Messages are checked for the argument they must name.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import compat_reg
from compat_reg import regularizers as regs
from tests.helpers import assert_close
from tests.helpers import np_l2_tf1

W1 = np.array([0.5, -0.5], np.float32)  # l2_regularizer(1.0) of it: 0.25
W2 = np.array([1.0, 0.0, -0.6], np.float32)

# --- scales: refused at construction, naming the argument --------------------------------------

# id -> (factory call, exception, regex of the message)
BAD_SCALES = {
    "l2-vector-ndarray": (lambda: compat_reg.l2_regularizer(np.array([0.1, 0.2])), ValueError,
                          r"^l2_regularizer: Invalid value for argument `scale`.*Received: scale=array\(\[0.1, 0.2\]\) "
                          r"\(shape \(2,\)\)"),
    "l1-vector-list": (lambda: compat_reg.l1_regularizer([0.1, 0.2]), ValueError,
                       r"`scale`.*Received: scale=\[0.1, 0.2\] \(shape \(2,\)\)"),
    "l1_l2-vector": (lambda: compat_reg.l1_l2_regularizer(np.array([0.1, 0.2]), 0.1), ValueError,
                     r"`scale_l1`.*shape \(2,\)"),
    "l2-string": (lambda: compat_reg.l2_regularizer("0.1"), ValueError,
                  r"^l2_regularizer: Invalid value for argument `scale`.*Received: scale='0.1'. Pass the number"),
    "l1_l2-string-l2": (lambda: compat_reg.l1_l2_regularizer(0.1, "0.2"), ValueError,
                        r"`scale_l2`.*Received: scale_l2='0.2'"),
    "l2-complex": (lambda: compat_reg.l2_regularizer(0.1 + 1j), ValueError, r"`scale`.*of type complex"),
}


@pytest.mark.keras
@pytest.mark.parametrize("case", list(BAD_SCALES), ids=list(BAD_SCALES))
def test_bad_scale_is_refused_at_construction_in_graph_mode_and_eagerly(case):
    make, exc, pattern = BAD_SCALES[case]
    with pytest.raises(exc, match=pattern):
        make()  # eagerly (how Keras code builds it)
    with tf.Graph().as_default():
        with pytest.raises(exc, match=pattern):
            make()


@pytest.mark.keras
def test_vector_scale_never_reaches_a_keras_layer(keras):
    """Keras 3 used to sum a vector penalty silently in fit(); now the regularizer cannot be built."""
    with pytest.raises(ValueError, match=r"`scale`"):
        keras.layers.Dense(2, kernel_regularizer=compat_reg.l2_regularizer(np.array([0.1, 0.2])))


def test_zero_d_numpy_scale_behaves_as_in_tf_slim_and_serializes_as_a_float(sess):
    """tf_slim converts a 0-d array like a tensor: np.array(0.) gives a zero penalty, not None."""
    w = tf.constant(W1)
    reg = compat_reg.l2_regularizer(np.array(0.5))
    assert reg.get_config() == {"scale": 0.5, "scope": None}
    zero = compat_reg.l2_regularizer(np.array(0.0))(w)
    tf1_zero = slim.l2_regularizer(np.array(0.0))(w)
    assert zero is not None and tf1_zero is not None
    assert_close(sess.run([reg(w), zero]), [np_l2_tf1(W1, 0.5), 0.0])
    with pytest.raises(ValueError, match=r"^Setting a scale less than 0 on a regularizer: -0.5\.$"):
        compat_reg.l2_regularizer(np.array(-0.5))
    with pytest.raises(ValueError, match=r"^scale cannot be an integer: 1$"):
        compat_reg.l2_regularizer(np.array(1))


# --- configs: validated in from_config and the constructors ---------------------------------------

# id -> (call, exception, regex)
BAD_CONFIGS = {
    "sum-list-is-a-string": (lambda: regs.SumRegularizer.from_config({"regularizer_list": "l2"}), ValueError,
                             r"^SumRegularizer.from_config: Invalid value for argument `regularizer_list`.*"
                             r"Received: regularizer_list='l2'"),
    "sum-list-missing": (lambda: regs.SumRegularizer.from_config({}), ValueError,
                         r"`regularizer_list`.*Received: regularizer_list=None"),
    "sum-ctor-string": (lambda: regs.SumRegularizer("l2"), ValueError,
                        r"^SumRegularizer: Invalid value for argument `regularizer_list`.*Received: regularizer_list='l2'"),
    "sum-factory-string": (lambda: compat_reg.sum_regularizer("l2"), ValueError,
                           r"^sum_regularizer: Invalid value for argument `regularizer_list`"),
    "sum-member-not-callable": (lambda: compat_reg.sum_regularizer([compat_reg.l1_regularizer(0.1), 0.5]),
                                TypeError, r"`regularizer_list\[1\]`.*Received: regularizer_list\[1\]=0.5"),
    "l2-scale-string": (lambda: regs.L2Regularizer.from_config({"scale": "0.1", "scope": None}), ValueError,
                        r"`scale`.*Received: scale='0.1'"),
    "l1-scale-list": (lambda: regs.L1Regularizer.from_config({"scale": [0.1], "scope": None}), ValueError,
                      r"`scale`.*Received: scale=\[0.1\] \(shape \(1,\)\)"),
    "l1-ctor-list": (lambda: regs.L1Regularizer([0.1]), ValueError, r"`scale`.*shape \(1,\)"),
}


@pytest.mark.keras
@pytest.mark.parametrize("case", list(BAD_CONFIGS), ids=list(BAD_CONFIGS))
def test_bad_config_is_refused_where_it_is_read(case):
    make, exc, pattern = BAD_CONFIGS[case]
    with pytest.raises(exc, match=pattern):
        make()


@pytest.mark.keras
def test_bad_config_through_keras_deserialize_names_the_argument(keras):
    config = keras.regularizers.serialize(compat_reg.l2_regularizer(0.1))
    config["config"]["scale"] = "0.1"
    with pytest.raises(ValueError, match=r"`scale`.*Received: scale='0.1'"):
        keras.regularizers.deserialize(config)


# --- collection readers inside a tf.function --------------------------------------------------------

READERS = {
    "get_regularization_loss": lambda: compat_reg.get_regularization_loss(),
    "get_regularization_losses": lambda: compat_reg.get_regularization_losses(),
    "get_total_loss": lambda: compat_reg.get_total_loss(),
}


@pytest.mark.parametrize("fn", list(READERS), ids=list(READERS))
def test_collection_readers_in_a_tf_function_without_losses_raise_with_the_fix(fn):
    @tf.function
    def step():
        return READERS[fn]()

    # tf.function prefixes the error with "in user code: <traceback>"
    with pytest.raises(RuntimeError, match=rf"compat_reg.{fn}\(\) was called while tracing a tf.function.*"
                                           r"silently be .*Call compat_reg\." + fn):
        step()


def test_a_tf_function_traced_in_a_tf1_graph_reads_that_graph_s_losses(sess):
    """Not refused: a FuncGraph traced inside a tf.Graph reads the outer collections (TF's rule)."""
    tf.compat.v1.get_variable("w", initializer=W1, regularizer=compat_reg.l2_regularizer(1.0))

    @tf.function
    def step():
        return compat_reg.get_regularization_loss()

    total = step()
    sess.run(tf.compat.v1.global_variables_initializer())
    assert_close(sess.run(total), np_l2_tf1(W1, 1.0))


# --- regularize: variables of another graph ---------------------------------------------------------

def test_regularize_refuses_a_variable_of_another_graph(graph):
    other = tf.Graph()
    with other.as_default():
        w = tf.compat.v1.get_variable("w", initializer=W1)
    with pytest.raises(ValueError, match=r"^regularize: variable 'w:0' belongs to another graph.*"
                                         r"with variable.graph.as_default\(\)"):
        compat_reg.regularize(w, compat_reg.l2_regularizer(1.0))
    assert other.get_collection(compat_reg.REGULARIZATION_LOSSES) == []
    assert graph.get_collection(compat_reg.REGULARIZATION_LOSSES) == []


# --- regularized_scope: snapshot and name filter as TF1 ---------------------------------------------

def _scope_program(scope_fn):
    """w1 created, the loss list snapshot taken inside the block, w2 created; returns the three sums."""
    with scope_fn():
        tf.compat.v1.get_variable("w1", initializer=W1)
        snapshot = list(tf.compat.v1.get_collection(compat_reg.REGULARIZATION_LOSSES))
        tf.compat.v1.get_variable("w2", initializer=W2)
    return (tf.math.add_n([tf.convert_to_tensor(t) for t in snapshot]),
            tf.compat.v1.losses.get_regularization_loss(scope="net/w1"),
            compat_reg.get_regularization_loss(scope="net/w1"))


def test_default_regularized_scope_snapshot_and_name_filter_equal_tf1():
    values = {}
    for side, scope_fn in {
        "tf1": lambda: tf.compat.v1.variable_scope("net", regularizer=slim.l2_regularizer(1.0)),
        "compat_reg": lambda: compat_reg.regularized_scope("net", compat_reg.l2_regularizer(1.0)),
    }.items():
        with tf.Graph().as_default() as g:
            fetches = _scope_program(scope_fn)
            with tf.compat.v1.Session(graph=g) as sess:
                sess.run(tf.compat.v1.global_variables_initializer())
                values[side] = sess.run(fetches)
    assert_close(values["tf1"], [np_l2_tf1(W1, 1.0)] * 3)
    assert_close(values["compat_reg"], values["tf1"])


# --- dtypes and misuse: clear errors -------------------------------------------------------------------

def test_float64_next_to_float32_losses_gets_float64_advice(graph):
    tf.compat.v1.get_variable("w32", initializer=W1, regularizer=compat_reg.l2_regularizer(1.0))
    tf.compat.v1.get_variable("w64", initializer=W1.astype(np.float64), regularizer=compat_reg.l2_regularizer(1.0))
    with pytest.raises(TypeError, match=r"different dtypes \('w32/Regularizer/.*' is float32, "
                                        r"'w64/Regularizer/.*' is float64\)\. Make the float64 weights float32") as e:
        compat_reg.get_regularization_loss()
    assert "float16" not in str(e.value)


@pytest.mark.parametrize("reg", ["l1", "l2", "sum"])
def test_complex_weights_are_a_clear_type_error(graph, reg):
    make = {"l1": lambda: compat_reg.l1_regularizer(0.1), "l2": lambda: compat_reg.l2_regularizer(0.1),
            "sum": lambda: compat_reg.l1_l2_regularizer(0.1, 0.1)}[reg]
    w = tf.constant([1 + 2j], tf.complex64, name="cw")
    with pytest.raises(TypeError, match=r"cannot regularize 'cw:0': its dtype is complex64.*tf.math.real"):
        make()(w)


@pytest.mark.parametrize("weights", ["variable", "tensor", "float"])
def test_apply_regularization_on_a_bare_weight_names_weights_list(graph, weights):
    value = {"variable": lambda: tf.compat.v1.get_variable("w", initializer=W1),
             "tensor": lambda: tf.constant(W1), "float": lambda: 0.5}[weights]()
    with pytest.raises(TypeError, match=r"^apply_regularization: Invalid value for argument `weights_list`.*"
                                        r"apply_regularization\(regularizer, \[w\]\)"):
        compat_reg.apply_regularization(compat_reg.l2_regularizer(0.1), value)


BAD_REGEX_CALLS = {
    "get_regularization_loss": lambda: compat_reg.get_regularization_loss(scope="net["),
    "get_regularization_losses": lambda: compat_reg.get_regularization_losses(scope="net["),
    "get_total_loss": lambda: compat_reg.get_total_loss(scope="net["),
    "split_total_loss": lambda: compat_reg.split_total_loss(tf.constant(1.0), scope="net["),
}


@pytest.mark.parametrize("fn", list(BAD_REGEX_CALLS), ids=list(BAD_REGEX_CALLS))
def test_bad_scope_regex_names_the_scope(graph, fn):
    with pytest.raises(ValueError, match=rf"^{fn}: Invalid value for argument `scope`.*Received: scope='net\['.*"
                                         r"re.escape"):
        BAD_REGEX_CALLS[fn]()


def test_sum_of_disabled_members_called_on_none_is_none_as_tf_slim(graph):
    """tf_slim's regularizers_test: sum_regularizer([l1_regularizer(0.)])(None) is None."""
    assert compat_reg.sum_regularizer([compat_reg.l1_regularizer(0.0)])(None) is None
    assert slim.sum_regularizer([slim.l1_regularizer(0.0)])(None) is None
