"""Each stage of check_equivalence passing and failing, with the message that says why."""

import json

import numpy as np
import pytest
import tensorflow as tf

import compat_reg
from migration.equivalence import STAGES
from migration.equivalence import UsageError
from migration.equivalence import check_equivalence
from migration.equivalence._losses import seeded_inputs
from migration.equivalence.cases import DENSE_SHAPE
from migration.equivalence.cases import _tf1_dense

X = seeded_inputs(DENSE_SHAPE)


def old_l2(x):
    return _tf1_dense(lambda: compat_reg.l2_regularizer(1e-3), "get_variable")(x)


def old_no_bias(x):
    with tf.compat.v1.variable_scope("dense1"):
        w = tf.compat.v1.get_variable("weights", [DENSE_SHAPE[1], 3], regularizer=compat_reg.l2_regularizer(1e-3))
    return tf.matmul(x, w)


def port(keras, units=3, activation="relu", middle=None, bias=True, optimizer=None):
    def build():
        reg = keras.regularizers.L2(5e-4)
        inputs = keras.Input(shape=DENSE_SHAPE[1:])
        h = keras.layers.Dense(5, activation=activation, name="dense1", kernel_regularizer=reg, use_bias=bias)(inputs)
        if middle is not None:
            h = middle(h)
        out = keras.layers.Dense(units, name="dense2", kernel_regularizer=reg, use_bias=bias)(h)
        model = keras.Model(inputs, out)
        if optimizer is not None:
            model.compile(optimizer=optimizer(), loss="mse")
        return model

    return build


def statuses(result):
    return {s.name: s.status for s in result.stages}


@pytest.mark.keras
def test_all_stages_pass_in_order_and_json_round_trips(keras):
    result = check_equivalence(old_l2, port(keras), inputs=X, steps=2)
    assert result.equivalent and result.failed_stage is None
    assert [s.name for s in result.stages] == list(STAGES)
    data = json.loads(result.to_json())
    assert data["equivalent"] is True
    assert [s["name"] for s in data["stages"]] == list(STAGES)
    assert data["tolerances"]["regularization"] == {"rtol": 1e-6, "atol": 1e-9}
    assert len(data["trajectories"]["old"]["total"]) == 3  # before step 1, 2 and after
    assert "EQUIVALENT" in result.format_table()


@pytest.mark.keras
def test_build_fails_on_output_shape(keras):
    result = check_equivalence(old_l2, port(keras, units=4), inputs=X, steps=1)
    assert statuses(result)["build"] == "fail"
    assert result.stage("build").summary == "output shapes differ: old (4, 3), new (4, 4)"
    assert all(s.status == "skipped" for s in result.stages[1:])


def old_two_layers_no_bias(x):
    with tf.compat.v1.variable_scope("dense1"):
        w1 = tf.compat.v1.get_variable("weights", [DENSE_SHAPE[1], 5])
    with tf.compat.v1.variable_scope("dense2"):
        w2 = tf.compat.v1.get_variable("weights", [5, 3])
    return tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2)


@pytest.mark.keras
def test_variables_fail_lists_unmatched_names(keras):
    """Both kernels match by shape; the port's two biases have no TF1 variable, named in creation order."""
    result = check_equivalence(old_two_layers_no_bias, port(keras, units=3), inputs=X, steps=1)
    assert result.failed_stage == "variables"
    stage = result.stage("variables")
    assert stage.summary == "new weights with no match in the old graph: dense1/bias, dense2/bias"
    assert stage.details[0] == stage.summary
    assert [(o, n) for o, n, _ in result.variables] == [("dense1/weights", "dense1/kernel"),
                                                      ("dense2/weights", "dense2/kernel")]


@pytest.mark.keras
def test_variables_fail_lists_unmatched_old_and_new(keras):
    """No new weight has the old kernel's shape: the old name and all four new names are listed."""
    result = check_equivalence(old_no_bias, port(keras, units=3), inputs=X, steps=1)
    assert result.stage("variables").details[:2] == [
        "old variables with no match in the new model: dense1/weights",
        "new weights with no match in the old graph: dense1/kernel, dense1/bias, dense2/kernel, dense2/bias",
    ]


@pytest.mark.keras
def test_weight_map_rules_and_errors(keras):
    rules = [(r"^dense(\d)/weights$", r"dense\1/kernel"), (r"^dense(\d)/biases$", r"dense\1/bias")]
    result = check_equivalence(old_l2, port(keras), inputs=X, steps=1, weight_map=rules)
    assert result.equivalent, result.format_table()
    assert {how for _, _, how in result.variables} == {"rule '^dense(\\\\d)/weights$'", "rule '^dense(\\\\d)/biases$'"}
    bad = check_equivalence(old_l2, port(keras), inputs=X, steps=1, weight_map={"dense1/weights": "nope/kernel"})
    assert bad.failed_stage == "variables"
    assert "old 'dense1/weights' maps (map) to 'nope/kernel', which is not a weight of the new model" in bad.stage("variables").details


@pytest.mark.keras
def test_swapped_map_fails_on_shape(keras):
    result = check_equivalence(old_l2, port(keras), inputs=X, steps=1,
                               weight_map={"dense1/weights": "dense2/kernel"})
    assert result.failed_stage == "variables"
    assert "old 'dense1/weights' (6, 5) maps (map) to new 'dense2/kernel' of shape (5, 3)" in result.stage("variables").details


@pytest.mark.keras
def test_regularization_fails_with_first_variable(keras):
    def naive(keras=keras):
        inputs = keras.Input(shape=DENSE_SHAPE[1:])
        h = keras.layers.Dense(5, activation="relu", name="dense1", kernel_regularizer=keras.regularizers.L2(1e-3))(inputs)
        return keras.Model(inputs, keras.layers.Dense(3, name="dense2", kernel_regularizer=keras.regularizers.L2(5e-4))(h))

    result = check_equivalence(old_l2, naive, inputs=X, steps=1)
    assert result.failed_stage == "regularization"
    [d] = result.stage("regularization").diagnoses
    assert d.variable == "dense1/kernel" and d.code == "l2-twice"
    row = {r["old"]: r for r in result.regularization}["dense1/weights"]
    assert row["old_penalty"] == "l2_regularizer(0.001)" and row["new_penalty"] == "L2(0.001)"
    np.testing.assert_allclose(row["new_value"], 2 * row["old_value"], rtol=1e-6)


@pytest.mark.keras
def test_forward_fails_on_activation(keras):
    result = check_equivalence(old_l2, port(keras, activation="tanh"), inputs=X, steps=1)
    assert result.failed_stage == "forward"
    assert result.stage("forward").summary.startswith("outputs differ: max |new - old| = ")


@pytest.mark.keras
def test_gradients_fail_when_forward_agrees(keras):
    stop = keras.layers.Lambda(lambda t: tf.stop_gradient(t), name="stop")
    result = check_equivalence(old_l2, port(keras, middle=stop), inputs=X, steps=1)
    assert statuses(result)["forward"] == "pass"
    assert result.failed_stage == "gradients"
    assert result.stage("gradients").summary.startswith("data gradient of old 'dense1/weights' / new 'dense1/kernel' differs at")


@pytest.mark.keras
def test_steps_fail_on_a_different_learning_rate(keras):
    opt = lambda: keras.optimizers.SGD(learning_rate=0.05)  # noqa: E731  (old side: 0.1)
    result = check_equivalence(old_l2, port(keras, optimizer=opt), inputs=X, steps=2, learning_rate=0.1)
    assert statuses(result)["gradients"] == "pass"
    assert result.failed_stage == "steps"
    assert result.stage("steps").summary.startswith("after 1 step(s): total loss old ")
    assert "the model's compiled optimizer" in result.info["optimizer_new"]


@pytest.mark.keras
def test_usage_errors_say_what_to_fix(keras):
    with pytest.raises(UsageError, match=r"NEW 'seven' returned int, not a (keras3|tf_keras) Model"):
        def seven():
            return 7
        check_equivalence(old_l2, seven, inputs=X)
    with pytest.raises(UsageError, match=r"the old model function 'old_no_bias' failed on inputs of shape \(4, 5\)"):
        check_equivalence(old_no_bias, port(keras), inputs=np.zeros((4, 5), np.float32))
    with pytest.raises(UsageError, match=r"the new model failed on inputs of shape \(4, 5\) .*Check --input-shape"):
        check_equivalence(old_l2, port(keras), inputs=np.zeros((4, 5), np.float32))
    with pytest.raises(UsageError, match="with a strategy NEW must be a zero-argument callable"):
        check_equivalence(old_l2, port(keras)(), inputs=X, strategy="mirrored")
    with pytest.raises(UsageError, match=r"the batch \(3\) must divide evenly over 2 replicas"):
        check_equivalence(old_l2, port(keras), inputs=np.zeros((3, 6), np.float32), strategy="mirrored")


def test_invalid_tolerance_stage_and_loss():
    with pytest.raises(ValueError, match=r"Invalid stage in `rtol`. Expected one of \['forward', 'gradients', 'regularization', 'steps'\]"):
        check_equivalence(old_l2, lambda: None, inputs=X, rtol={"forwards": 1e-3})
    with pytest.raises(ValueError, match=r"Invalid value for argument `loss`.*Received: loss='hinge'"):
        check_equivalence(old_l2, lambda: None, inputs=X, loss="hinge")


@pytest.mark.keras
def test_tolerances_override_is_reported(keras):
    result = check_equivalence(old_l2, port(keras), inputs=X, steps=1, rtol={"steps": 1e-3}, atol=1e-7)
    assert result.tolerances["steps"] == {"rtol": 1e-3, "atol": 1e-7}
    assert result.tolerances["regularization"] == {"rtol": 1e-6, "atol": 1e-7}
    assert "steps rtol=0.001 atol=1e-07" in result.format_table()


@pytest.mark.keras
def test_progress_reports_each_stage_in_order(keras):
    seen = []
    check_equivalence(old_l2, port(keras), inputs=X, steps=1, progress=lambda *a: seen.append(a[:2]))
    assert seen == [(s, "pass") for s in STAGES]


@pytest.mark.keras
def test_build_fails_when_a_call_creates_weights(keras):
    from compat_reg import _flavor

    if _flavor.is_keras3():
        pytest.skip("Keras 3 itself refuses to create weights after build ('You cannot add new elements "
                    "of state ...'), so only tf_keras ports can create a weight per call")

    class Leaky(keras.layers.Layer):
        """Creates a fresh kernel at every call: the 'each variable created once' failure."""

        def call(self, x):
            w = self.add_weight(shape=(DENSE_SHAPE[1], 3), initializer="ones", name=f"w{len(self.weights)}")
            return tf.matmul(x, w)

    def leaky():
        inputs = keras.Input(shape=DENSE_SHAPE[1:])
        return keras.Model(inputs, Leaky(name="leaky")(inputs))

    result = check_equivalence(old_no_bias, leaky, inputs=X, steps=1)
    assert result.failed_stage == "build"
    assert result.stage("build").summary.startswith("the new model created 1 more weight(s) on its second call")
