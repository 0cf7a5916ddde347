"""The registered table of equivalence cases (run by ``tests/`` and by ``compat-reg selftest``).

Each ``Case`` is a TF1 model function and a Keras port of it, with what the
checker must say: ``expect="pass"``, or the code of the diagnosis a faulty port
must produce (and a fragment of its message). Pass cases span

    regularizer kind (l1, l2, l1_l2, sum) x layer kind (dense, conv)
    x scope mechanism (get_variable, variable_scope, arg_scope,
                       apply_regularization, regularized_scope)

and are converted with ``compat_reg.to_keras`` — so every conversion it supports
is exercised (a coverage test in ``tests/migration`` keeps it that way). The
Keras flavor is the fourth axis: the table runs under whichever flavor is
active, and ``make test`` runs it under both.

Kept in the package (not under ``tests/``) so ``compat-reg selftest`` can run it
on a user's install.
"""

import dataclasses

import tensorflow as tf

import compat_reg
from compat_reg import _flavor
from . import diagnoses as dg

DENSE_SHAPE = (4, 6)
CONV_SHAPE = (4, 6, 6, 2)
LR = 0.1


@dataclasses.dataclass(frozen=True)
class Case:
    """One registered case; ``id`` is readable (``l2-dense-arg_scope``)."""

    id: str
    old: object  # fn(inputs) -> outputs
    new: object  # () -> Keras model (active flavor)
    input_shape: tuple
    expect: str = "pass"  # "pass" or a diagnosis code
    message: str = None  # fragment the diagnosis message must contain
    stage: str = None  # the stage that must fail (for failing cases)
    tf1_regularizer: object = None  # the compat_reg regularizer the case converts (coverage)
    check_kwargs: dict = dataclasses.field(default_factory=dict)
    needs_replicas: bool = False

    def run(self, **overrides):
        from ._losses import seeded_inputs
        from .checker import check_equivalence

        kwargs = {"steps": 1, "loss": "mse", "learning_rate": LR}
        kwargs.update(self.check_kwargs)
        kwargs.update(overrides)
        return check_equivalence(self.old, self.new, inputs=seeded_inputs(self.input_shape), **kwargs)


# ------------------------------------------------------------------ regularizer kinds

REGULARIZER_KINDS = {
    "l1": lambda: compat_reg.l1_regularizer(1e-3),
    "l2": lambda: compat_reg.l2_regularizer(1e-3),
    "l1_l2": lambda: compat_reg.l1_l2_regularizer(1e-3, 2e-3),
    "sum": lambda: compat_reg.sum_regularizer([compat_reg.l1_regularizer(2e-3), compat_reg.l2_regularizer(3e-3)]),
}
MECHANISMS = ("get_variable", "variable_scope", "arg_scope", "apply_regularization", "regularized_scope")
BIAS_REGULARIZED = {"variable_scope", "regularized_scope"}  # TF1 scopes regularize every variable


def _keras():
    return _flavor.keras()


# ------------------------------------------------------------------ TF1 models


def _tf1_dense(make_reg, mechanism):
    import tf_slim as slim

    def model(x):
        reg = make_reg()
        if mechanism == "arg_scope":
            with slim.arg_scope([slim.fully_connected], weights_regularizer=reg):
                h = slim.fully_connected(x, 5, scope="dense1")
                return slim.fully_connected(h, 3, activation_fn=None, scope="dense2")
        layers = []
        h = x
        for name, units, act in (("dense1", 5, tf.nn.relu), ("dense2", 3, None)):
            kw = {}
            if mechanism == "get_variable":
                scope = tf.compat.v1.variable_scope(name)
            elif mechanism == "variable_scope":
                scope = tf.compat.v1.variable_scope(name, regularizer=reg)
            elif mechanism == "regularized_scope":
                scope = compat_reg.regularized_scope(name, reg)
            else:
                scope = tf.compat.v1.variable_scope(name)
            with scope:
                if mechanism == "get_variable":
                    kw = {"regularizer": reg}
                w = tf.compat.v1.get_variable("weights", [int(h.shape[-1]), units], **kw)
                b = tf.compat.v1.get_variable("biases", [units], initializer=tf.compat.v1.zeros_initializer())
                layers.append(w)
            h = tf.matmul(h, w) + b
            if act is not None:
                h = act(h)
        if mechanism == "apply_regularization":
            compat_reg.apply_regularization(reg, layers)
        return h

    return model


def _tf1_conv(make_reg):
    import tf_slim as slim

    def model(x):
        with slim.arg_scope([slim.conv2d], weights_regularizer=make_reg()):
            h = slim.conv2d(x, 3, [3, 3], scope="conv1")
            return slim.conv2d(h, 2, [3, 3], stride=2, activation_fn=None, scope="conv2")

    return model


# ------------------------------------------------------------------ Keras ports


def _keras_dense(kernel_reg, bias_reg, **kw):
    def build():
        keras = _keras()
        inputs = keras.Input(shape=DENSE_SHAPE[1:])
        h = keras.layers.Dense(5, activation="relu", name="dense1", kernel_regularizer=kernel_reg(),
                               bias_regularizer=bias_reg(), **kw)(inputs)
        out = keras.layers.Dense(3, name="dense2", kernel_regularizer=kernel_reg(), bias_regularizer=bias_reg())(h)
        return keras.Model(inputs, out)

    return build


def _keras_conv(kernel_reg):
    def build():
        keras = _keras()
        inputs = keras.Input(shape=CONV_SHAPE[1:])
        h = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv1", kernel_regularizer=kernel_reg())(inputs)
        out = keras.layers.Conv2D(2, 3, strides=2, padding="same", name="conv2", kernel_regularizer=kernel_reg())(h)
        return keras.Model(inputs, out)

    return build


def _none():
    return None


def _pass_cases():
    cases = []
    for kind, make in REGULARIZER_KINDS.items():
        conv = lambda make=make: compat_reg.to_keras(make())  # noqa: E731
        for mech in MECHANISMS:
            bias = conv if mech in BIAS_REGULARIZED else _none
            cases.append(Case(
                id=f"{kind}-dense-{mech}", old=_tf1_dense(make, mech), new=_keras_dense(conv, bias),
                input_shape=DENSE_SHAPE, tf1_regularizer=make(),
            ))
        cases.append(Case(
            id=f"{kind}-conv-arg_scope", old=_tf1_conv(make), new=_keras_conv(conv),
            input_shape=CONV_SHAPE, tf1_regularizer=make(),
        ))
    return cases


# ------------------------------------------------------------------ faulty ports (diagnoses)


def _l2_keras(scale):
    return lambda: _keras().regularizers.L2(scale)


def _activity_old(reduction):
    def model(x):
        with tf.compat.v1.variable_scope("dense1"):
            w = tf.compat.v1.get_variable("weights", [DENSE_SHAPE[1], 5])
            b = tf.compat.v1.get_variable("biases", [5], initializer=tf.compat.v1.zeros_initializer())
        h = tf.nn.relu(tf.matmul(x, w) + b)
        h = compat_reg.activity_regularize(h, compat_reg.l1_regularizer(1e-2), reduction=reduction)
        with tf.compat.v1.variable_scope("dense2"):
            w2 = tf.compat.v1.get_variable("weights", [5, 3])
            b2 = tf.compat.v1.get_variable("biases", [3], initializer=tf.compat.v1.zeros_initializer())
        return tf.matmul(h, w2) + b2

    return model


def _activity_new():
    keras = _keras()
    inputs = keras.Input(shape=DENSE_SHAPE[1:])
    h = keras.layers.Dense(5, activation="relu", name="dense1",
                           activity_regularizer=keras.regularizers.L1(1e-2))(inputs)
    return keras.Model(inputs, keras.layers.Dense(3, name="dense2")(h))


def _frozen_old(regularized):
    def model(x):
        reg = compat_reg.l2_regularizer(1e-3) if regularized else None
        with tf.compat.v1.variable_scope("dense1"):
            w = tf.compat.v1.get_variable("weights", [DENSE_SHAPE[1], 5], regularizer=reg, trainable=False)
            b = tf.compat.v1.get_variable("biases", [5], initializer=tf.compat.v1.zeros_initializer(), trainable=False)
        h = tf.nn.relu(tf.matmul(x, w) + b)
        with tf.compat.v1.variable_scope("dense2"):
            w2 = tf.compat.v1.get_variable("weights", [5, 3], regularizer=compat_reg.l2_regularizer(1e-3))
            b2 = tf.compat.v1.get_variable("biases", [3], initializer=tf.compat.v1.zeros_initializer())
        return tf.matmul(h, w2) + b2

    return model


def _frozen_new():
    keras = _keras()
    inputs = keras.Input(shape=DENSE_SHAPE[1:])
    frozen = keras.layers.Dense(5, activation="relu", name="dense1", kernel_regularizer=keras.regularizers.L2(5e-4))
    frozen.trainable = False
    h = frozen(inputs)
    out = keras.layers.Dense(3, name="dense2", kernel_regularizer=keras.regularizers.L2(5e-4))(h)
    return keras.Model(inputs, out)


def _counted_twice_new():
    keras = _keras()

    class Port(keras.Model):
        def __init__(self):
            super().__init__()
            reg = keras.regularizers.L2(5e-4)
            self.d1 = keras.layers.Dense(5, activation="relu", name="dense1", kernel_regularizer=reg)
            self.d2 = keras.layers.Dense(3, name="dense2", kernel_regularizer=reg)

        def call(self, x, training=None):
            out = self.d2(self.d1(x))
            # the TF1 script's apply_regularization(...) added once more by hand:
            self.add_loss(5e-4 * (tf.reduce_sum(tf.square(self.d1.kernel)) + tf.reduce_sum(tf.square(self.d2.kernel))))
            return out

    return Port()


def _decoupled_new(momentum, exclude_bias=True):
    def build():
        keras = _keras()
        inputs = keras.Input(shape=DENSE_SHAPE[1:])
        h = keras.layers.Dense(5, activation="relu", name="dense1")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(3, name="dense2")(h))
        opt = keras.optimizers.SGD(learning_rate=LR, momentum=momentum, weight_decay=1e-3)
        if exclude_bias:
            opt.exclude_from_weight_decay(var_names=["bias"])
        model.compile(optimizer=opt, loss="mse")
        return model

    return build


def _replica_new(scaled):
    def build():
        keras = _keras()

        class Port(keras.Model):
            def train_step(self, data):
                x, y = data[0], data[1]
                replicas = tf.distribute.get_strategy().num_replicas_in_sync
                with tf.GradientTape() as tape:
                    pred = self(x, training=False)
                    loss = tf.reduce_mean(tf.square(pred - y)) / replicas
                    reg = tf.add_n(self.losses)
                    loss += tf.nn.scale_regularization_loss(reg) if scaled else reg
                grads = tape.gradient(loss, self.trainable_variables)
                self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                return {"loss": loss}

        inputs = keras.Input(shape=DENSE_SHAPE[1:])
        h = keras.layers.Dense(5, activation="relu", name="dense1", kernel_regularizer=keras.regularizers.L2(5e-4))(inputs)
        out = keras.layers.Dense(3, name="dense2", kernel_regularizer=keras.regularizers.L2(5e-4))(h)
        return Port(inputs, out)

    return build


def _prescaled_new():
    """A port that divides its penalty by the replica count inside the model (then fit divides again)."""
    keras = _keras()

    class PrescaledL2(keras.layers.Layer):
        def __init__(self, layer, **kw):
            super().__init__(**kw)
            self.layer = layer

        def call(self, x):
            out = self.layer(x)
            penalty = 5e-4 * tf.reduce_sum(tf.square(self.layer.kernel))
            ctx = tf.distribute.get_replica_context()
            if ctx is not None and ctx.num_replicas_in_sync > 1:
                penalty = penalty / ctx.num_replicas_in_sync  # mistake: scaling belongs to the step
            self.add_loss(penalty)
            return out

    inputs = keras.Input(shape=DENSE_SHAPE[1:])
    h = keras.layers.Dense(5, activation="relu", name="dense1", kernel_regularizer=keras.regularizers.L2(5e-4))(inputs)
    out = PrescaledL2(keras.layers.Dense(3, name="dense2"), name="wrap")(h)
    return keras.Model(inputs, out)


def _l2_dense_old():
    return _tf1_dense(lambda: compat_reg.l2_regularizer(1e-3), "get_variable")


def _diagnosis_cases():
    k3 = _flavor.is_keras3()
    divided = _flavor.activity_loss_divided_by_batch()
    return [
        Case("diag-l2-twice", _l2_dense_old(), _keras_dense(_l2_keras(1e-3), _none), DENSE_SHAPE,
             expect=dg.L2_TWICE, stage="regularization",
             message="new/dense1/kernel: Keras L2(0.001) is 2.0x the TF1 l2_regularizer(0.001); use L2(0.0005) or compat_reg.to_keras"),
        Case("diag-l1-l2-defaults", _tf1_dense(lambda: compat_reg.l1_l2_regularizer(), "get_variable"),
             _keras_dense(lambda: _keras().regularizers.l1_l2(), _none), DENSE_SHAPE,
             expect=dg.L1L2_DEFAULTS, stage="regularization",
             message="the defaults differ: TF1 l1_l2_regularizer() is (scale_l1=1.0, scale_l2=1.0)"),
        Case("diag-bias-one-side", _tf1_dense(lambda: compat_reg.l2_regularizer(1e-3), "variable_scope"),
             _keras_dense(lambda: _keras().regularizers.L2(5e-4), _none), DENSE_SHAPE,
             expect=dg.BIAS_ONE_SIDE, stage="regularization",
             message="new/dense1/bias: bias regularized on the TF1 side only (l2_regularizer(0.001))"),
        # Keras' activity_regularizer divides by the batch (tf_keras, Keras >= 3.14) or adds the raw sum
        # (Keras 3 < 3.14): the faulty TF1 side is the other convention.
        Case("diag-activity-batch", _activity_old("sum" if divided else "batch_mean"), _activity_new,
             DENSE_SHAPE, expect=dg.ACTIVITY_BATCH, stage="regularization",
             message="is 1/4 (the batch size) of the TF1" if divided else "is 4x (the batch size) the TF1"),
        Case("diag-frozen-one-side", _frozen_old(regularized=k3), _frozen_new, DENSE_SHAPE,
             expect=dg.FROZEN_ONE_SIDE, stage="regularization",
             message=("new/dense1/kernel: frozen (trainable=False) weight regularized on the "
                      + ("TF1 side only" if k3 else "new side only"))),
        Case("diag-counted-twice", _tf1_dense(lambda: compat_reg.l2_regularizer(1e-3), "apply_regularization"),
             _counted_twice_new, DENSE_SHAPE, expect=dg.COUNTED_TWICE, stage="regularization",
             message="dense1/kernel: penalized twice on the new side"),
        Case("diag-decoupled-weight-decay", _l2_dense_old(), _decoupled_new(momentum=0.9), DENSE_SHAPE,
             expect=dg.DECOUPLED_WEIGHT_DECAY, stage="regularization",
             message="new/dense1/kernel: the optimizer's decoupled weight_decay=0.001 stands in for the TF1 l2_regularizer(0.001)",
             check_kwargs={"optimizer": "momentum"}),
        Case("diag-prescaled-per-replica", _l2_dense_old(), _prescaled_new, DENSE_SHAPE,
             expect=dg.NOT_SCALED_PER_REPLICA, stage="regularization",
             message="(already divided by the 2 replicas inside the model)",
             check_kwargs={"strategy": "mirrored"}, needs_replicas=True),
        Case("diag-activity-sum-per-replica", _activity_old("sum"), _tf1layer_port(_activity_old("sum"), DENSE_SHAPE),
             DENSE_SHAPE, expect=dg.NOT_SCALED_PER_REPLICA, stage="regularization",
             message="an activity penalty summed over the batch", check_kwargs={"strategy": "mirrored"},
             needs_replicas=True),
        _replica_steps(Case("diag-not-scaled-per-replica", _l2_dense_old(), _replica_new(scaled=False), DENSE_SHAPE,
                            expect=dg.NOT_SCALED_PER_REPLICA, stage="steps",
                            message="the regularization is not scaled per replica",
                            check_kwargs={"strategy": "mirrored"}, needs_replicas=True)),
    ]


def _replica_steps(case):
    """A case whose steps run on several replicas: on a Keras whose multi-replica step is not its
    one-device step (Keras 3 < 3.8, upstream; ``_flavor.multi_replica_training_exact``), the
    checker must fail the steps with ``keras-replica-steps`` first, whatever the port."""
    if _flavor.multi_replica_training_exact():
        return case
    return dataclasses.replace(case, expect=dg.KERAS_REPLICA_STEPS, stage="steps",
                               message="upstream, this Keras' step is not the one-device step")


def _tf1layer_port(fn, input_shape):
    """The TF1 function itself inside compat_reg.keras.TF1Layer (the bridge as a port)."""
    def build():
        from compat_reg.keras.tf1_layer import TF1Layer

        keras = _keras()
        inputs = keras.Input(shape=input_shape[1:])
        return keras.Model(inputs, TF1Layer(fn, name="tf1")(inputs))

    return build


def _more_pass_cases():
    mixed = _tf1_dense(lambda: compat_reg.l1_l2_regularizer(1e-3, 2e-3), "variable_scope")
    return [
        Case("l1_l2-dense-variable_scope-tf1layer", mixed, _tf1layer_port(mixed, DENSE_SHAPE), DENSE_SHAPE),
        _replica_steps(Case("activity-batch_mean-tf1layer-mirrored", _activity_old("batch_mean"),
                            _tf1layer_port(_activity_old("batch_mean"), DENSE_SHAPE),
                            DENSE_SHAPE, check_kwargs={"strategy": "mirrored", "steps": 2}, needs_replicas=True)),
        Case("decoupled-weight-decay-plain-sgd", _l2_dense_old(), _decoupled_new(momentum=0.0), DENSE_SHAPE,
             check_kwargs={"steps": 2}),
        # the TF1 reduction this Keras' activity_regularizer matches (_flavor knows which)
        Case("activity-batch-mean" if _flavor.activity_loss_divided_by_batch() else "activity-sum",
             _activity_old("batch_mean" if _flavor.activity_loss_divided_by_batch() else "sum"),
             _activity_new, DENSE_SHAPE),
        _replica_steps(Case("mirrored-fit-loop", _l2_dense_old(), _keras_dense(_l2_keras(5e-4), _none), DENSE_SHAPE,
                            check_kwargs={"strategy": "mirrored", "steps": 2}, needs_replicas=True)),
        _replica_steps(Case("mirrored-custom-train-step-scaled", _l2_dense_old(), _replica_new(scaled=True),
                            DENSE_SHAPE, check_kwargs={"strategy": "mirrored", "steps": 2}, needs_replicas=True)),
    ]


def all_cases():
    """Every registered case for the active flavor (built fresh; the ports use the active Keras)."""
    return _pass_cases() + _more_pass_cases() + _diagnosis_cases()


def outcome(case, result):
    """``(ok, what happened)`` for a case's ``CheckResult``."""
    if case.expect == "pass":
        return result.equivalent, "EQUIVALENT" if result.equivalent else f"NOT EQUIVALENT: {result.reason}"
    found = [d for d in result.diagnoses if d.code == case.expect]
    if result.equivalent:
        return False, "EQUIVALENT, but the faulty port should have been caught"
    if not found:
        return False, f"failed at {result.failed_stage} without [{case.expect}]: {result.reason}"
    if case.message and not any(case.message in d.message for d in found):
        return False, f"[{case.expect}] message lacks {case.message!r}: {found[0].message}"
    if case.stage and result.failed_stage != case.stage:
        return False, f"[{case.expect}] at stage {result.failed_stage}, expected {case.stage}"
    return True, f"caught [{case.expect}] at {result.failed_stage}"


def replicas_available():
    return len(tf.config.list_logical_devices("CPU")) >= 2 or len(tf.config.list_logical_devices("GPU")) >= 2

