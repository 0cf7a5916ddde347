"""TF1 semantics a TF1Layer must not get silently wrong: shared calls, the training flag, trainable collections.

Reference for every number: the same TF1 code in a fresh ``tf.Graph`` + ``Session``
(a shared tower is built twice under one ``variable_scope`` with ``reuse=True``),
holding the TF1Layer's weights, loaded by TF1 name. float32 rtol 1e-6.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import compat_reg
from compat_reg import _flavor
from compat_reg.keras.tf1_layer import TF1Layer
from tests.helpers import assert_close

pytestmark = pytest.mark.keras

REG = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES
TRAINABLE = tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES
GLOBAL = tf.compat.v1.GraphKeys.GLOBAL_VARIABLES
MOVING_AVERAGE = tf.compat.v1.GraphKeys.MOVING_AVERAGE_VARIABLES
RNG = np.random.default_rng(0)
X1 = RNG.standard_normal((4, 6)).astype(np.float32)
X2 = RNG.standard_normal((4, 6)).astype(np.float32)


def tower(x, is_training=False):
    """Weight penalties (scope L2, an L1 variable) and an activity penalty r(h) added per call."""
    del is_training
    with tf.compat.v1.variable_scope("tower", regularizer=compat_reg.l2_regularizer(0.1)):
        w = tf.compat.v1.get_variable("w", [6, 3])
        v = tf.compat.v1.get_variable("v", [3], regularizer=compat_reg.l1_regularizer(0.05))
    h = tf.nn.relu(tf.matmul(x, w) + v)
    tf.compat.v1.add_to_collection(REG, 0.01 * tf.reduce_sum(tf.square(h)))
    return h


def _graph_shared_reference(fn, values, inputs):
    """get_regularization_loss of ``fn`` called once per input, the 2nd.. with reuse=True, in a tf.Graph."""
    graph = tf.Graph()
    with graph.as_default():
        for i, x in enumerate(inputs):
            with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), reuse=True if i else None):
                fn(tf.constant(x))
        reg = tf.compat.v1.losses.get_regularization_loss()
        n_entries = len(tf.compat.v1.get_collection(REG))
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for var in tf.compat.v1.global_variables():
                var.load(values[var.op.name], sess)
            return float(sess.run(reg)), n_entries


def _values(layer):
    return {name: np.asarray(v.numpy()) for name, v in layer.tf1_variables.items()}


# ----------------------------------------------------------------------------
# Shared calls: weight penalties once, activity penalties once per call.
# ----------------------------------------------------------------------------


def _functional_siamese(keras, layer):
    a = keras.Input((6,))
    b = keras.Input((6,))
    return keras.Model([a, b], keras.layers.Concatenate()([layer(a), layer(b)]))


class _SubclassedSiamese:
    """A subclassed model calling the same TF1Layer on both inputs."""

    @staticmethod
    def build(keras, layer):
        class Siamese(keras.Model):
            def __init__(self):
                super().__init__()
                self.tower = layer

            def call(self, inputs):
                return tf.concat([self.tower(inputs[0]), self.tower(inputs[1])], axis=-1)

        return Siamese()


SHARED_MODELS = {
    "functional": _functional_siamese,
    "subclassed": _SubclassedSiamese.build,
}


@pytest.mark.parametrize("kind", sorted(SHARED_MODELS))
def test_shared_tower_counts_each_weight_penalty_once(keras, kind):
    layer = TF1Layer(tower)
    model = SHARED_MODELS[kind](keras, layer)
    model([X1, X2])
    values = _values(layer)
    expected, n_entries = _graph_shared_reference(tower, values, [X1, X2])
    assert n_entries == 4  # w, v once (reuse adds none), one activity entry per call
    assert_close(float(tf.add_n(model.losses)), expected, what=f"{kind} Siamese vs TF1 reuse=True")
    assert len(model.losses) == n_entries

    @tf.function
    def traced(a, b):
        model([a, b])
        return tf.add_n(model.losses)

    assert_close(float(traced(X1, X2)), expected, what=f"{kind} Siamese in a tf.function")


def test_separate_calls_each_count_their_weight_penalties(keras):
    """Two outermost calls are two forward passes: each one's losses hold the weight penalties."""
    layer = TF1Layer(tower)
    layer(X1)
    values = _values(layer)
    layer(X2)
    expected, _ = _graph_shared_reference(tower, values, [X2])
    assert_close(float(tf.add_n(layer.losses)), expected, what="second separate call")


def test_shared_tower_matches_keras_shared_dense(keras):
    """A Keras Dense shared twice counts its kernel regularizer once; TF1Layer does the same."""
    dense = keras.layers.Dense(3, kernel_regularizer=keras.regularizers.L2(0.05))
    model = _functional_siamese(keras, dense)
    model([X1, X2])
    assert len(model.losses) == 1

    def linear(x):
        return tf.matmul(x, tf.compat.v1.get_variable("k", [6, 3], regularizer=lambda w: 0.05 * tf.reduce_sum(w * w)))

    layer = TF1Layer(linear)
    model = _functional_siamese(keras, layer)
    model([X1, X2])
    k = _values(layer)["k"]
    assert len(model.losses) == 1
    assert_close(float(tf.add_n(model.losses)), 0.05 * np.sum(k * k), what="shared TF1Layer vs NumPy")


# ----------------------------------------------------------------------------
# The training flag.
# ----------------------------------------------------------------------------


def bn_net(x, phase_train=True):
    """A FaceNet-style net: tf_slim batch_norm driven by `phase_train` (default True)."""
    h = slim.fully_connected(x, 3, activation_fn=None, scope="fc",
                             weights_regularizer=compat_reg.l2_regularizer(0.1))
    return slim.batch_norm(h, is_training=phase_train, decay=0.5, scope="bn")


@pytest.mark.parametrize(
    "name", ["phase_train", "is_train", "train", "mode", "training_phase"], ids=lambda n: f"param_{n}"
)
def test_unwired_training_like_parameter_is_an_error(name):
    namespace = {}
    exec(f"def net(x, {name}=True):\n    return x\n", namespace)  # a parameter named as in real nets
    with pytest.raises(ValueError) as info:
        TF1Layer(namespace["net"])
    message = str(info.value)
    assert f"`{name}`" in message and f"training_arg={name!r}" in message and f"{name}=..." in message
    TF1Layer(namespace["net"], training_arg=name)  # wired: accepted
    TF1Layer(namespace["net"], **{name: False})  # fixed: accepted


def test_training_arg_must_name_a_parameter():
    with pytest.raises(ValueError, match=r"Invalid value for argument `training_arg`.*Received: training_arg='is_trainng'"):
        TF1Layer(bn_net, training_arg="is_trainng")
    with pytest.raises(ValueError, match="also fixed"):
        TF1Layer(bn_net, training_arg="phase_train", phase_train=False)


def _bn_moving_mean(layer):
    return _values(layer)["bn/moving_mean"]


@pytest.mark.parametrize("first", [True, False], ids=["first_call_training", "first_call_inference"])
def test_training_arg_drives_phase_train_and_both_branches_share_variables(first):
    layer = TF1Layer(bn_net, training_arg="phase_train")
    layer(X1, training=first)
    names = set(layer.tf1_variables)
    assert names == {"fc/weights", "fc/biases", "bn/beta", "bn/moving_mean", "bn/moving_variance"}
    before = _bn_moving_mean(layer)
    y_inference = layer(X2, training=False)
    np.testing.assert_array_equal(_bn_moving_mean(layer), before)  # inference leaves the averages alone
    layer(X2, training=True)
    assert set(layer.tf1_variables) == names  # the other branch made no new variable
    after = _bn_moving_mean(layer)
    # TF1 batch_norm, decay 0.5: moving_mean <- 0.5 * moving_mean + 0.5 * batch mean.
    h = X2 @ _values(layer)["fc/weights"] + _values(layer)["fc/biases"]
    assert_close(after, 0.5 * before + 0.5 * h.mean(axis=0), rtol=1e-5, what="moving mean after training=True")
    assert np.asarray(y_inference).shape == (4, 3)


def counter_only_when_training(x, is_training=False):
    """Creates a step counter only in the training branch (TF1 code often does)."""
    w = tf.compat.v1.get_variable("w", [6, 2])
    if is_training:
        step = tf.compat.v1.get_variable("step", [], tf.int64, initializer=tf.compat.v1.zeros_initializer(),
                                         trainable=False)
        with tf.control_dependencies([step.assign_add(1)]):
            return tf.identity(tf.matmul(x, w))
    return tf.matmul(x, w)


@pytest.mark.parametrize("order", [(True, False), (False, True)], ids=["train_then_infer", "infer_then_train"])
def test_first_call_may_be_either_branch(order):
    layer = TF1Layer(counter_only_when_training)
    for training in order:
        layer(X1, training=training)
    assert set(layer.tf1_variables) == {"w", "step"}
    assert int(layer.tf1_variables["step"].numpy()) == 1


# ----------------------------------------------------------------------------
# Trainability from collections, as in TF1.
# ----------------------------------------------------------------------------


def slim_bn_trainable_averages(x, is_training=False):
    h = slim.fully_connected(x, 3, scope="fc")
    return slim.batch_norm(h, is_training=is_training, scope="bn", variables_collections=[TRAINABLE])


def collections_argument(x, is_training=False):
    del is_training
    a = tf.compat.v1.get_variable("a", [6, 2], trainable=False, collections=[GLOBAL, TRAINABLE])
    b = tf.compat.v1.get_variable("b", [2], trainable=False)
    c = tf.compat.v1.get_variable("c", [2], collections=[GLOBAL, "my_collection"])
    return tf.matmul(x, a) + b + c


def added_by_the_code(x, is_training=False):
    del is_training
    a = tf.compat.v1.get_variable("a", [6, 2], trainable=False)
    tf.compat.v1.add_to_collection(TRAINABLE, a)
    b = tf.compat.v1.get_variable("b", [2], trainable=False)
    tf.compat.v1.add_to_collection(MOVING_AVERAGE, b)  # no effect on trainability in TF1
    c = tf.compat.v1.get_variable("c", [2])
    ref = tf.compat.v1.get_collection_ref(TRAINABLE)
    ref[:] = [v for v in ref if v is not c]  # TF1's way to freeze a variable
    return tf.matmul(x, a) + b + c


TRAINABILITY_CASES = {
    "slim_variables_collections": slim_bn_trainable_averages,
    "get_variable_collections": collections_argument,
    "added_or_removed_by_the_code": added_by_the_code,
}


def _tf1_trainable_names(fn):
    graph = tf.Graph()
    with graph.as_default():
        fn(tf.constant(X1))
        return {v.op.name for v in tf.compat.v1.trainable_variables()}, {v.op.name for v in tf.compat.v1.global_variables()}


@pytest.mark.parametrize("case_id", sorted(TRAINABILITY_CASES))
def test_trainable_variables_as_in_tf1(keras, case_id):
    fn = TRAINABILITY_CASES[case_id]
    trainable, everything = _tf1_trainable_names(fn)
    layer = TF1Layer(fn)
    layer(X1)
    assert set(layer.tf1_variables) == everything
    ids = {id(v) for v in layer.trainable_weights}
    assert {n for n, v in layer.tf1_variables.items() if id(v) in ids} == trainable
    # ... and they train: one SGD step with fit moves exactly the TF1-trainable ones.
    before = _values(layer)
    inp = keras.Input((6,))
    model = keras.Model(inp, layer(inp))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(X1, np.ones((4, model.output_shape[-1]), np.float32), epochs=1, batch_size=4, verbose=0)
    after = _values(layer)
    moved = {n for n in before if not np.array_equal(before[n], after[n])}
    frozen_but_updated = {"bn/moving_mean", "bn/moving_variance"} & (everything - trainable)
    assert moved - frozen_but_updated == trainable


@pytest.mark.parametrize("case_id", sorted(TRAINABILITY_CASES))
def test_checker_variables_stage_agrees(keras, case_id):
    """The unchanged code against itself through TF1Layer: the equivalence checker passes its variables stage."""
    from migration import check_equivalence  # pylint: disable=import-outside-toplevel

    fn = TRAINABILITY_CASES[case_id]

    def port():
        inp = keras.Input((6,))
        return keras.Model(inp, TF1Layer(fn, name="tf1")(inp))

    _, everything = _tf1_trainable_names(fn)
    # By name (the automatic matching pairs same-shape variables by order, and Keras lists
    # trainable weights first).
    new_name = (lambda n: f"tf1/{n}") if _flavor.is_keras3() else (lambda n: n)
    result = check_equivalence(fn, port, inputs=X1, steps=0, weight_map={n: new_name(n) for n in everything})
    variables = [s for s in result.stages if s.name == "variables"]
    assert len(variables) == 1
    assert variables[0].status == "pass", (variables[0].summary, variables[0].details)
