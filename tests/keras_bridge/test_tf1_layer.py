"""TF1Layer against the same TF1 function built in a fresh tf.Graph (both Keras flavors).

Reference for every number: ``tf.compat.v1.losses.get_regularization_loss()`` and
``tf.gradients`` of it, in a ``tf.Graph`` + ``Session`` holding the TF1Layer's
weights (loaded by TF1 name). Tolerances: float32 values rtol 1e-6 (the brief's);
gradients rtol 1e-6 with atol 1e-7 (entries that are 0 in one side are computed
as exact zeros or as differences of nearly equal float32 terms).
"""

import numpy as np
import pytest
import tensorflow as tf

import compat_reg
from compat_reg import _flavor
from compat_reg.keras import conventions as conv_mod
from compat_reg.keras.tf1_layer import TF1Layer
from compat_reg.keras.tf1_layer import TF1VariableCreationError
from compat_reg.keras.tf1_layer import tf1_layer
from tests.helpers import assert_close
from tests.keras_bridge import tf1_functions as F

pytestmark = pytest.mark.keras

GRAD_ATOL = 1e-7


class _GraphReference:
    """``case`` built once in a fresh ``tf.Graph`` + ``Session`` on a placeholder of one static input shape."""

    def __init__(self, case, shape, is_training):
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.inputs = tf.compat.v1.placeholder(tf.float32, shape)
            self.outputs = case.fn(self.inputs, is_training=is_training)
            self.variables = {F.tf1_name(v): v for v in tf.compat.v1.global_variables()}
            self.reg = tf.compat.v1.losses.get_regularization_loss()
            trainable = tf.compat.v1.trainable_variables()
            self.trainable = [(F.tf1_name(v), v.shape.as_list(), g)
                              for v, g in zip(trainable, tf.gradients(self.reg, trainable))]
            self.session = tf.compat.v1.Session(graph=self.graph)
            self.session.run(tf.compat.v1.global_variables_initializer())

    def run(self, x, values):
        """(reg_loss, outputs, {name: grad}) with every variable loaded from ``values`` (by TF1 name)."""
        with self.graph.as_default():
            for name, var in self.variables.items():
                var.load(values[name], self.session)
            grads = [g for _, _, g in self.trainable if g is not None]
            reg_v, out_v, grad_vs = self.session.run([self.reg, self.outputs, grads], {self.inputs: x})
        grad_vs = iter(grad_vs)
        grad_v = {name: (np.zeros(shape, np.float32) if g is None else next(grad_vs))
                  for name, shape, g in self.trainable}
        return reg_v, out_v, grad_v


_REFERENCES = {}


@pytest.fixture(autouse=True, scope="module")
def _close_references():
    yield
    for ref in _REFERENCES.values():
        ref.session.close()
    _REFERENCES.clear()


def _graph_reference(case, x, values, is_training=False):
    """(reg_loss, outputs, {name: grad}, trainable names, all names) of ``case`` in graph mode.

    One graph per (case, input shape, is_training) for the module: every call loads all the
    variables from ``values`` and feeds ``x`` (the state of a fresh build with those values).
    """
    key = (case.id, tuple(x.shape), is_training)
    if key not in _REFERENCES:
        _REFERENCES[key] = _GraphReference(case, tuple(x.shape), is_training)
    ref = _REFERENCES[key]
    reg_v, out_v, grad_v = ref.run(x, values)
    return reg_v, out_v, grad_v, {name for name, _, _ in ref.trainable}, set(ref.variables)


def _keras_side(layer, x):
    """(sum of layer.losses, outputs, {name: grad}) from one eager call under a GradientTape."""
    names = list(layer.tf1_variables)
    variables = [layer.tf1_variables[n] for n in names]
    with tf.GradientTape() as tape:
        outputs = layer(x)
        total = tf.add_n(layer.losses)
    grads = tape.gradient(total, variables)
    grad_v = {
        n: (np.zeros(v.shape, np.float32) if g is None else np.asarray(g))
        for n, v, g in zip(names, variables, grads)
    }
    return float(total), np.asarray(outputs), grad_v


def _values(layer):
    return {name: np.asarray(v.numpy()) for name, v in layer.tf1_variables.items()}


def _trainable_names(layer):
    ids = {id(v) for v in layer.trainable_weights}
    return {n for n, v in layer.tf1_variables.items() if id(v) in ids}


@pytest.mark.parametrize("case", F.CASES, ids=F.CASE_IDS)
def test_losses_and_gradients_equal_graph_mode(case):
    x = F.inputs_for(case)
    layer = TF1Layer(case.fn, name=f"bridge_{case.id}")
    layer(x)
    values = _values(layer)
    reg, out, grads, graph_trainable, graph_all = _graph_reference(case, x, values)

    assert set(layer.tf1_variables) == graph_all
    assert _trainable_names(layer) == graph_trainable
    total, outputs, keras_grads = _keras_side(layer, x)
    assert reg > 0.0
    assert_close(total, reg, what=f"{case.id}: sum(layer.losses) vs get_regularization_loss()")
    assert_close(outputs, out, rtol=1e-5, atol=1e-6, what=f"{case.id}: outputs")
    for name in graph_trainable:
        assert_close(keras_grads[name], grads[name], rtol=1e-6, atol=GRAD_ATOL, what=f"{case.id}: d reg / d {name}")


@pytest.mark.parametrize("case", F.CASES, ids=F.CASE_IDS)
def test_values_unchanged_across_calls_eager_and_tf_function(case):
    x = F.inputs_for(case)
    layer = TF1Layer(case.fn)
    layer(x)
    first = [float(v) for v in layer.losses]
    for _ in range(2):
        layer(x)
        assert [float(v) for v in layer.losses] == pytest.approx(first, rel=1e-6)

    @tf.function
    def step(inputs):
        layer(inputs)
        return tf.add_n(layer.losses), len(layer.losses)

    for _ in range(2):
        total, count = step(tf.constant(x))
        assert count == len(first)
        assert_close(float(total), sum(first), what=f"{case.id}: inside tf.function")
    assert len(layer.weights) == len(layer.tf1_variables)


def test_no_collection_leaks_into_the_global_graph():
    """Eager calls write TF1 collections to the global default graph; the layer removes them."""
    g = tf.compat.v1.get_default_graph()
    before = {k: len(g.get_collection(k)) for k in g.get_all_collection_keys()}
    for case in F.CASES:
        layer = TF1Layer(case.fn)
        for _ in range(2):
            layer(F.inputs_for(case))
    after = {k: len(g.get_collection(k)) for k in g.get_all_collection_keys()}
    assert {k: n for k, n in after.items() if n} == {k: n for k, n in before.items() if n}


def _regression_model(keras, case, layer):
    inputs = keras.Input(case.input_shape)
    outputs = layer(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


@pytest.mark.parametrize("case", F.CASES, ids=F.CASE_IDS)
def test_fit_trains_every_variable_in_a_functional_model(keras, case):
    layer = TF1Layer(case.fn)
    model = _regression_model(keras, case, layer)
    x = F.inputs_for(case, batch=8, seed=1)
    y_shape = layer(x).shape
    y = np.random.default_rng(2).standard_normal(y_shape).astype(np.float32)
    before = _values(layer)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    after = _values(layer)
    trainable = _trainable_names(layer)
    assert trainable
    for name in trainable:
        assert not np.allclose(after[name], before[name]), f"{case.id}: {name} did not move"
    for name in set(after) - trainable:
        if "moving_" in name:  # batch_norm statistics: updated in training, as UPDATE_OPS were
            assert not np.allclose(after[name], before[name]), f"{case.id}: {name} not updated"
        else:  # frozen variables stay
            np.testing.assert_array_equal(after[name], before[name])
    # And the regularization of the trained model still equals graph mode's.
    reg, *_ = _graph_reference(case, x, after)
    model(x)
    assert_close(float(tf.add_n(model.losses)), reg, what=f"{case.id}: after fit")


def test_training_flag_reaches_is_training():
    """Keras' training flag drives tf_slim batch_norm; moving statistics move only when training."""
    case = F.case("slim_bn_net")
    layer = TF1Layer(case.fn)
    x = F.inputs_for(case)
    layer(x)
    mean_name = [n for n in layer.tf1_variables if n.endswith("moving_mean")][0]
    start = layer.tf1_variables[mean_name].numpy().copy()
    layer(x, training=False)
    np.testing.assert_array_equal(layer.tf1_variables[mean_name].numpy(), start)
    layer(x, training=True)
    assert not np.allclose(layer.tf1_variables[mean_name].numpy(), start)


def test_subclassed_model_fits(keras):
    case = F.case("plain_scopes")

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.body = TF1Layer(case.fn, name="body")
            self.head = keras.layers.Dense(1)

        def call(self, inputs, training=None):
            return self.head(self.body(inputs, training=training))

    model = Net()
    x = F.inputs_for(case, batch=8)
    model(x)
    assert len(model.losses) == len(model.body.losses) > 0
    before = _values(model.body)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    model.fit(x, np.ones((8, 1), np.float32), batch_size=4, epochs=1, verbose=0)
    after = _values(model.body)
    for name in _trainable_names(model.body):
        assert not np.allclose(after[name], before[name]), name
    reg, *_ = _graph_reference(case, x, after)
    model(x)
    assert_close(float(tf.add_n(model.losses)), reg)


def test_variable_names_and_flags(keras):
    case = F.case("plain_scopes")
    layer = TF1Layer(case.fn, name="named")
    layer(F.inputs_for(case))
    assert list(layer.tf1_variables) == [
        "plain/w1", "plain/b1", "plain/inner/w2", "plain/inner/frozen", "plain/w3",
    ]
    frozen = layer.tf1_variables["plain/inner/frozen"]
    assert not any(frozen is v for v in layer.trainable_weights)
    assert any(frozen is v for v in layer.non_trainable_weights)
    assert layer.tf1_name(frozen) == "plain/inner/frozen"
    if _flavor.is_keras3():
        assert frozen.path == "named/plain/inner/frozen"
    else:
        assert frozen.name == "plain/inner/frozen:0"


def test_save_weights_load_weights_round_trip(keras, tmp_path):
    case = F.case("slim_bn_net")
    x = F.inputs_for(case)
    first = TF1Layer(case.fn)
    model = _regression_model(keras, case, first)
    path = str(tmp_path / ("w.weights.h5" if _flavor.is_keras3() else "w.h5"))
    model.save_weights(path)
    second = TF1Layer(case.fn)
    other = _regression_model(keras, case, second)
    assert not np.allclose(_values(second)["conv1/weights"], _values(first)["conv1/weights"])
    other.load_weights(path)
    for name, value in _values(first).items():
        np.testing.assert_array_equal(_values(second)[name], value, err_msg=name)
    np.testing.assert_allclose(other(x), model(x), rtol=1e-6)
    assert_close(float(tf.add_n(other.losses)), float(tf.add_n(model.losses)))


@pytest.mark.parametrize("case_id", ["slim_bn_net", "partitioned"])
def test_loads_a_tf1_saver_checkpoint(tmp_path, case_id):
    case = F.case(case_id)
    x = F.inputs_for(case)
    graph = tf.Graph()
    with graph.as_default():
        with tf.compat.v1.variable_scope("model"):
            outputs, variables = F.build_in_graph(case, x)
        reg = tf.compat.v1.losses.get_regularization_loss()
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            prefix = saver.save(sess, str(tmp_path / "tf1.ckpt"))
            reg_v, out_v = sess.run([reg, outputs])
            saved = {n[len("model/"):]: sess.run(v) for n, v in variables.items()}
    layer = TF1Layer(case.fn)
    layer(x)
    loaded = layer.load_tf1_checkpoint(prefix, scope="model")
    assert sorted(loaded) == sorted(layer.tf1_variables)
    for name, value in saved.items():
        np.testing.assert_array_equal(layer.tf1_variables[name].numpy(), value, err_msg=name)
    outputs = layer(x)
    assert_close(float(tf.add_n(layer.losses)), reg_v)
    assert_close(np.asarray(outputs), out_v, rtol=1e-5, atol=1e-6)


def test_load_tf1_checkpoint_names_missing_variables(tmp_path):
    case = F.case("plain_scopes")
    graph = tf.Graph()
    with graph.as_default():
        F.build_in_graph(case, F.inputs_for(case))
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            prefix = tf.compat.v1.train.Saver().save(sess, str(tmp_path / "tf1.ckpt"))
    layer = TF1Layer(case.fn)
    layer(F.inputs_for(case))
    with pytest.raises(ValueError, match=r"'model/plain/w1' is not in the checkpoint.*scope="):
        layer.load_tf1_checkpoint(prefix, scope="model")
    unbuilt = TF1Layer(case.fn, name="unbuilt")
    with pytest.raises(ValueError, match="'unbuilt' is not built"):
        unbuilt.load_tf1_checkpoint(prefix)


# --- conventions ---------------------------------------------------------------

def test_frozen_weights_convention():
    """count (TF1, tf_keras) keeps the frozen variable's L1; skip (Keras 3) drops it, and drops
    every weight penalty of a frozen layer."""
    case = F.case("plain_scopes")
    x = F.inputs_for(case)
    counted = TF1Layer(case.fn)
    counted(x)
    values = _values(counted)
    skipped = TF1Layer(case.fn, conventions=conv_mod.Conventions(frozen_weights="skip"))
    skipped(x)
    for name, var in skipped.tf1_variables.items():
        var.assign(values[name])
    skipped(x)
    counted(x)
    frozen_l1 = 0.01 * np.sum(np.abs(values["plain/inner/frozen"]))
    assert frozen_l1 > 0
    assert_close(float(tf.add_n(counted.losses)) - float(tf.add_n(skipped.losses)), frozen_l1, rtol=1e-5)

    skipped.trainable = False
    skipped(x)
    # plain_scopes adds only weight penalties, so a frozen layer under "skip" has no loss at all.
    assert skipped.losses == []
    counted.trainable = False
    counted(x)
    reg, *_ = _graph_reference(case, x, values)
    assert_close(float(tf.add_n(counted.losses)), reg)


@pytest.mark.parametrize(
    "activity_loss", ["as_written", "batch_mean", "sum"], ids=lambda v: f"activity_{v}"
)
def test_activity_loss_convention(activity_loss):
    """The three activity penalties of the `activity` case, against NumPy, under each convention.

    The v1 layer's penalty (r(y)/batch) and activity_regularize(reduction="batch_mean")'s
    (divide_no_nan(r(y), batch)) show their raw value and batch size, so the bridge re-scales
    them. activity_regularize(reduction="sum") puts the bare r(y) in the collection, which
    the bridge cannot tell from any other tensor: it is converted only under "sum" (a no-op)
    and kept as written otherwise (documented).
    """
    case = F.case("activity")
    x = F.inputs_for(case, batch=4)
    layer = TF1Layer(case.fn, conventions=conv_mod.Conventions(activity_loss=activity_loss))
    layer(x)
    v = _values(layer)
    h = np.maximum(x @ v["d1/kernel"] + v["d1/bias"], 0.0)
    out = h @ v["fc2/weights"] + v["fc2/biases"]
    batch = x.shape[0]
    raw = [0.01 * np.abs(h).sum(), 0.1 * np.square(h).sum() / 2, 0.05 * np.abs(out).sum()]
    written = [raw[0] / batch, raw[1] / batch, raw[2]]
    expected_activity = {
        "as_written": written,
        "batch_mean": [raw[0] / batch, raw[1] / batch, raw[2]],
        "sum": raw,
    }[activity_loss]
    weight = 0.1 * np.square(v["d1/kernel"]).sum() / 2
    assert_close(float(tf.add_n(layer.losses)), weight + sum(expected_activity), rtol=2e-6)


def test_record_activity_loss_lets_other_producers_rescale():
    def fn(inputs):
        raw = tf.reduce_sum(tf.square(inputs))
        batch = tf.shape(inputs)[0]
        loss = raw / tf.cast(batch, raw.dtype)
        tf.compat.v1.add_to_collection(F.REG, loss)
        conv_mod.record_activity_loss(loss, raw, batch)
        return inputs

    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    as_sum = TF1Layer(fn, conventions={"activity_loss": "sum"})
    as_sum(x)
    assert_close(float(as_sum.losses[0]), np.square(x).sum())
    written = TF1Layer(fn)
    written(x)
    assert_close(float(written.losses[0]), np.square(x).sum() / 3)


def test_conventions_object():
    assert conv_mod.Conventions() == conv_mod.Conventions.tf1()
    assert conv_mod.Conventions.tf1().count_frozen_weights
    k = conv_mod.Conventions.keras()
    assert k.count_frozen_weights == _flavor.frozen_weights_regularized()
    assert (k.activity_loss is conv_mod.ActivityLoss.BATCH_MEAN) == _flavor.activity_loss_divided_by_batch()
    c = conv_mod.Conventions(activity_loss="sum", frozen_weights=conv_mod.FrozenWeights.SKIP)
    assert conv_mod.Conventions.from_config(c.get_config()) == c
    assert c.replace(frozen_weights="count") == conv_mod.Conventions(activity_loss="sum")
    assert repr(c) == "Conventions(activity_loss='sum', frozen_weights='skip')"
    with pytest.raises(ValueError, match=r"Invalid value for argument `frozen_weights`.*Received: frozen_weights='no'"):
        conv_mod.Conventions(frozen_weights="no")
    with pytest.raises(TypeError, match=r"argument `conventions`.*Received: conventions='tf1'"):
        TF1Layer(lambda x: x, conventions="tf1")
    with pytest.raises(AttributeError, match="immutable"):
        c.frozen_weights = "count"


# --- misuse --------------------------------------------------------------------

def test_new_variable_after_build_is_an_error():
    calls = []

    def fn(inputs):
        calls.append(1)
        name = "w" if len(calls) == 1 else f"w{len(calls)}"
        return inputs * tf.compat.v1.get_variable(name, [2])

    layer = TF1Layer(fn, name="growing")
    with pytest.raises(TF1VariableCreationError, match=r"'growing'.*new variable 'w2'.*created once"):
        layer(np.ones((1, 2), np.float32))


def test_tf1_reuse_rules_hold_within_a_call():
    def fn(inputs):
        a = tf.compat.v1.get_variable("w", [2])
        b = tf.compat.v1.get_variable("w", [2])
        return inputs * a * b

    with pytest.raises(ValueError, match="Variable w already exists, disallowed"):
        TF1Layer(fn)(np.ones((1, 2), np.float32))


def test_not_callable_and_decorator_misuse():
    with pytest.raises(TypeError, match=r"`fn` must be a callable.*Received: fn=3"):
        TF1Layer(3)

    @tf1_layer
    def tiny(inputs, units=2):
        return tf.matmul(inputs, tf.compat.v1.get_variable("k", [3, units],
                                                           regularizer=compat_reg.l2_regularizer(0.5)))

    layer = tiny(units=4, name="tiny4")
    assert isinstance(layer, TF1Layer) and layer.name == "tiny4"
    out = layer(np.ones((2, 3), np.float32))
    assert out.shape == (2, 4)
    k = layer.tf1_variables["k"].numpy()
    assert_close(float(layer.losses[0]), 0.5 * np.square(k).sum() / 2)
    assert tiny.fn.__name__ == "tiny"
    with pytest.raises(TypeError, match=r"tiny is decorated with compat_reg.keras.tf1_layer.*tiny.fn\(inputs"):
        tiny(np.ones((2, 3), np.float32))
    configured = tf1_layer(conventions=conv_mod.Conventions(frozen_weights="skip"))(tiny.fn)
    assert configured().conventions.frozen_weights is conv_mod.FrozenWeights.SKIP


def test_non_scalar_collection_entry_is_named():
    def fn(inputs):
        tf.compat.v1.add_to_collection(F.REG, tf.square(inputs))
        return inputs

    with pytest.raises(ValueError, match=r"added .* of shape \(None, 2\).*must be a scalar"):
        TF1Layer(fn, name="bad")(np.ones((1, 2), np.float32))


def test_weight_regularization_losses_without_a_call():
    """The weight-decay part of layer.losses, recomputed without running fn (build-time pairs)."""
    case = F.case("slim_bn_net")
    x = F.inputs_for(case)
    layer = TF1Layer(case.fn)
    layer(x)
    v = _values(layer)
    l2 = lambda w: 1e-2 * np.square(w).sum() / 2  # noqa: E731
    expected = (l2(v["conv1/weights"]) + 1e-3 * np.abs(v["conv2/weights"]).sum()
                + l2(v["fc1/weights"]) + l2(v["logits/weights"]) + l2(v["logits/biases"]))
    weight_losses = layer.weight_regularization_losses()
    assert len(weight_losses) == 5
    assert_close(float(tf.add_n(weight_losses)), expected)
    assert_close(float(tf.add_n(weight_losses)), float(tf.add_n(layer.losses)))  # no other penalties here
    assert_close(float(tf.function(lambda: tf.add_n(layer.weight_regularization_losses()))()), expected)

    coefficient = TF1Layer(F.case("group_penalty").fn, name="coef_layer")
    coefficient(F.inputs_for(F.case("group_penalty")))
    with pytest.raises(ValueError, match=r"'coef_layer'.*of 'conv0/kernel' cannot be computed outside"):
        coefficient.weight_regularization_losses()
    with pytest.raises(ValueError, match="is not built"):
        TF1Layer(case.fn, name="fresh").weight_regularization_losses()


def test_fit_under_mirrored_strategy_with_batch_norm(keras):
    """Two replicas whose threads interleave inside the call (batch_norm's moving averages
    merge_call): every variable trains, statistics update, the regularization equals graph mode."""
    from tests.conftest import LOGICAL_CPUS

    case = F.case("slim_bn_net")
    strategy = tf.distribute.MirroredStrategy(LOGICAL_CPUS[:2])
    if _flavor.is_keras3():
        from compat_reg._internals import keras3 as keras3_internals

        if not keras3_internals.variable_supports_synchronization():
            # Keras 3.3.3 cannot make the ON_READ moving averages: a clear error, not a wrong number.
            with strategy.scope(), pytest.raises(ValueError, match=r"synchronization='on_read'.*several replicas"):
                _regression_model(keras, case, TF1Layer(case.fn))
            return
    with strategy.scope():
        layer = TF1Layer(case.fn)
        model = _regression_model(keras, case, layer)
    x = F.inputs_for(case, batch=8, seed=3)
    y = np.random.default_rng(4).standard_normal((8, 3)).astype(np.float32)
    before = _values(layer)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    after = _values(layer)
    for name in before:
        assert not np.allclose(after[name], before[name]), name
    reg, *_ = _graph_reference(case, x, after)
    model(x)
    assert_close(float(tf.add_n(model.losses)), reg)
