"""The steps stage under each TF1 optimizer: native Keras ports proven equal, each convention trap named.

Each trap is produced by a port that makes the mistake (a compiled Keras optimizer
with the wrong convention), and the test asserts the diagnosis and its fix.
"""

import numpy as np
import pytest
import tensorflow as tf

from migration.equivalence import check_equivalence
from migration.equivalence import diagnoses as dg
from migration.equivalence import optimizers
from migration.equivalence._losses import seeded_inputs
from migration.equivalence.cases import DENSE_SHAPE
from migration.equivalence.cases import _keras_dense
from migration.equivalence.cases import _l2_dense_old
from migration.equivalence.cases import _l2_keras
from migration.equivalence.cases import _none
from migration.equivalence.command import OPTIMIZER_NAMES

X = seeded_inputs(DENSE_SHAPE)
OLD = _l2_dense_old()  # TF1 dense net, l2_regularizer(1e-3) on the kernels
PORT = _keras_dense(_l2_keras(5e-4), _none)  # its exact native Keras port
LR = 0.1


def compiled(make_optimizer, fix_velocity=False, regularized=True):
    """The port, compiled with the user's own optimizer (``make_optimizer(keras)``)."""
    def build():
        from compat_reg import _flavor

        keras = _flavor.keras()
        model = (PORT if regularized else _keras_dense(_none, _none))()
        opt = make_optimizer(keras)
        if fix_velocity:  # the documented exact fix for TF1 RMSProp's accumulator start
            opt.build(model.trainable_variables)
            for v in opt.variables:
                if "velocity" in (getattr(v, "path", None) or v.name):
                    v.assign(tf.ones_like(v))
        model.compile(optimizer=opt, loss="mse")
        return model

    return build


EQUAL = [
    ("sgd", {}), ("momentum", {"momentum": 0.5}), ("nesterov", {}), ("adam", {"beta1": 0.8}),
    ("adam-defaults", {}), ("rmsprop", {"momentum": 0.5}), ("rmsprop-centered", {"centered": True}),
    ("adagrad", {"initial_accumulator_value": 0.2}), ("adadelta", {"rho": 0.9}),
]


@pytest.mark.keras
@pytest.mark.parametrize("case,params", EQUAL, ids=[c for c, _ in EQUAL])
def test_native_port_is_equal_under_each_optimizer(case, params):
    name = case.split("-")[0]
    result = check_equivalence(OLD, PORT, inputs=X, steps=3, optimizer=name, learning_rate=LR, optimizer_params=params)
    assert result.equivalent, result.format_table()
    assert result.info["optimizer_old"].startswith(f"tf.compat.v1.train.{optimizers.OPTIMIZERS[name].tf1}(0.1")
    traj = result.trajectories
    assert len(traj["old"]["total"]) == 4 and traj["old"]["total"][-1] != traj["old"]["total"][0]


REPRODUCING_PORTS = [
    ("adam", lambda k: k.optimizers.Adam(LR, epsilon=1e-8), False),
    ("adagrad", lambda k: k.optimizers.Adagrad(LR, epsilon=0.0), False),
    ("adadelta", lambda k: k.optimizers.Adadelta(LR, epsilon=1e-8), False),
    ("rmsprop", lambda k: k.optimizers.RMSprop(LR, epsilon=1e-10), True),
    ("nesterov", lambda k: k.optimizers.SGD(LR, momentum=0.9, nesterov=True), False),
]


@pytest.mark.keras
@pytest.mark.parametrize("name,make,fix", REPRODUCING_PORTS, ids=[c[0] for c in REPRODUCING_PORTS])
def test_a_port_compiled_with_the_documented_keras_arguments_is_equal(name, make, fix):
    result = check_equivalence(OLD, compiled(make, fix_velocity=fix), inputs=X, steps=3, optimizer=name,
                               learning_rate=LR)
    assert result.equivalent, result.format_table()
    assert "(the model's compiled optimizer)" in result.info["optimizer_new"]


def _schedule(keras):
    return keras.optimizers.schedules.ExponentialDecay(LR, decay_steps=1, decay_rate=0.5)


TRAPS = [
    ("adam-epsilon", "adam", lambda k: k.optimizers.Adam(LR), False, [dg.ADAM_EPSILON],
     "but the new side has epsilon=1e-07 (defaults: TF1 1e-08, Keras 1e-07); use Adam(epsilon=1e-08)"),
    ("rmsprop-accumulator-init", "rmsprop", lambda k: k.optimizers.RMSprop(LR, epsilon=1e-10), False,
     [dg.RMSPROP_ACCUMULATOR_INIT], "Keras RMSprop starts its velocity at 0, so the first steps are far larger"),
    ("rmsprop-epsilon", "rmsprop", lambda k: k.optimizers.RMSprop(LR), True, [dg.RMSPROP_EPSILON],
     "both add epsilon inside the square root (lr * g / sqrt(ms + epsilon)), but the new side has epsilon=1e-07"),
    ("rmsprop-both", "rmsprop", lambda k: k.optimizers.RMSprop(LR), False,
     [dg.RMSPROP_ACCUMULATOR_INIT, dg.RMSPROP_EPSILON], "no exact Keras equivalent by arguments"),
    ("adagrad-epsilon", "adagrad", lambda k: k.optimizers.Adagrad(LR), False, [dg.ADAGRAD_EPSILON],
     "TF1 AdagradOptimizer has no epsilon (w -= lr * g / sqrt(acc)); Keras Adagrad adds epsilon=1e-07"),
    ("adagrad-initial-accumulator", "adagrad",
     lambda k: k.optimizers.Adagrad(LR, initial_accumulator_value=0.01, epsilon=0.0), False,
     [dg.ADAGRAD_INITIAL_ACCUMULATOR], "use Adagrad(initial_accumulator_value=0.1)"),
    ("adadelta-epsilon", "adadelta", lambda k: k.optimizers.Adadelta(LR), False, [dg.ADADELTA_EPSILON],
     "use Adadelta(epsilon=1e-08)"),
    ("momentum-lr-form", "momentum", lambda k: k.optimizers.SGD(_schedule(k), momentum=0.9), False,
     [dg.MOMENTUM_LR_FORM], "No exact Keras equivalent with a schedule"),
    ("optimizer-class", "sgd", lambda k: k.optimizers.Adam(LR), False, [dg.OPTIMIZER_CLASS],
     "the new side steps with Adam but the TF1 side with tf.compat.v1.train.GradientDescentOptimizer(0.1)"),
    ("nesterov-flag", "momentum", lambda k: k.optimizers.SGD(LR, momentum=0.9, nesterov=True), False,
     [dg.OPTIMIZER_HYPERPARAMETER], "the new optimizer's nesterov=True differ from what reproduces"),
]


_TRAP_RESULTS = {}


def _trap_result(case, name, make, fix):
    """The check of trap ``case``, run once per module (two tests read the momentum-lr-form report)."""
    if case not in _TRAP_RESULTS:
        _TRAP_RESULTS[case] = check_equivalence(OLD, compiled(make, fix_velocity=fix), inputs=X, steps=3,
                                                optimizer=name, learning_rate=LR)
    return _TRAP_RESULTS[case]


@pytest.mark.keras
@pytest.mark.parametrize("case,name,make,fix,codes,message", TRAPS, ids=[c[0] for c in TRAPS])
def test_each_optimizer_trap_is_named_with_its_fix(case, name, make, fix, codes, message):
    result = _trap_result(case, name, make, fix)
    assert result.failed_stage == "steps", result.format_table()
    stage = result.stage("steps")
    assert [d.code for d in stage.diagnoses] == codes
    assert message in stage.diagnoses[0].message


@pytest.mark.keras
def test_momentum_with_a_schedule_diverges_in_the_trajectories_too():
    """The old side follows the same schedule; the lr * a vs v forms part from the second step on.

    The same check as the ``momentum-lr-form`` trap (SGD(schedule, momentum=0.9), 3 steps): its report."""
    row = TRAPS[[c[0] for c in TRAPS].index("momentum-lr-form")]
    from compat_reg import _flavor

    config = row[2](_flavor.keras()).get_config()  # the port's optimizer: SGD(schedule, momentum=0.9)
    assert row[1] == "momentum" and row[3] is False, row[:4]
    assert config["momentum"] == 0.9 and config["learning_rate"]["class_name"] == "ExponentialDecay", config
    result = _trap_result(*row[:4])
    assert result.stage("steps").summary.startswith("after 2 step(s): total loss old")


@pytest.mark.keras
def test_adamw_weight_decay_standing_in_for_l2_is_diagnosed():
    make = lambda k: k.optimizers.AdamW(LR, weight_decay=1e-3, epsilon=1e-8)  # noqa: E731
    result = check_equivalence(OLD, compiled(make, regularized=False), inputs=X, steps=2, optimizer="adam",
                               learning_rate=LR)
    assert result.failed_stage == "regularization"
    d = result.stage("regularization").diagnoses[0]
    assert d.code == dg.DECOUPLED_WEIGHT_DECAY
    assert "the optimizer's decoupled weight_decay=0.001 stands in for the TF1 l2_regularizer(0.001), but AdamW(" in d.message


def test_optimizer_arguments_are_validated_with_the_parameter_named():
    with pytest.raises(ValueError, match=r"Invalid optimizer parameter 'beta_1' for optimizer='adam'. Expected one "
                                         r"of \['beta1', 'beta2', 'epsilon'\]"):
        check_equivalence(OLD, PORT, inputs=X, optimizer="adam", optimizer_params={"beta_1": 0.9})
    with pytest.raises(ValueError, match=r"Invalid value for optimizer parameter `epsilon`. Expected a finite number "
                                         r">= 0. Received: epsilon=-1"):
        check_equivalence(OLD, PORT, inputs=X, optimizer="rmsprop", optimizer_params={"epsilon": -1})
    with pytest.raises(ValueError, match=r"Invalid value for argument `optimizer`. Expected one of \('sgd', "):
        check_equivalence(OLD, PORT, inputs=X, optimizer="lamb")
    with pytest.raises(ValueError, match=r"Invalid value for argument `learning_rate`. Expected a finite number > 0"):
        check_equivalence(OLD, PORT, inputs=X, learning_rate=float("nan"))


def test_cli_optimizer_names_are_the_table():
    assert OPTIMIZER_NAMES == optimizers.NAMES


@pytest.mark.keras
def test_cli_optimizer_and_params(capsys):
    from migration.cli import main

    argv = ["check", "examples.demo_tf1_model:model", "examples.demo_keras_port:build", "--input-shape", "4,8,8,2",
            "--loss", "xent", "--steps", "2", "--optimizer", "rmsprop", "--optimizer-param", "centered=true",
            "--optimizer-param", "decay=0.8", "--json", "-q"]
    assert main(argv) == 0
    import json

    info = json.loads(capsys.readouterr().out)["info"]
    assert info["optimizer_params"] == {"decay": 0.8, "momentum": 0.0, "epsilon": 1e-10, "centered": True}
    assert main(argv[:-2] + ["--optimizer-param", "rho=0.9"]) == 2
    assert "Invalid optimizer parameter 'rho' for optimizer='rmsprop'" in capsys.readouterr().err
    assert np.isfinite(LR)
