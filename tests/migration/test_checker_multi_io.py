"""Several inputs and several heads: a two-input, two-head TF1 graph function against a native Keras port.

The TF1 model reads ``image`` [B, 6] and ``aux`` [B, 3], makes ``h = tanh([a(image), b(aux)])``
and two heads on it: ``cls`` (5 logits, cross-entropy) and ``box`` (2 values, mean squared
error), every weight under ``tf_slim``'s ``l2_regularizer(scale)`` (``scale * sum(w**2) / 2``:
Keras ``L2(scale / 2)``). The Keras port is a functional model with the same heads, called
with a list or a dict of inputs. The summed data loss is checked against Keras' own
``compile(loss={...}, loss_weights={...})``.
"""

import json
import pathlib

import jsonschema
import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from compat_reg import _flavor
from migration.cli import main
from migration.equivalence import check_equivalence
from migration.equivalence.result import FAIL
from migration.equivalence.result import PASS

SCHEMA = json.loads((pathlib.Path(__file__).resolve().parents[2] / "docs" / "schemas" /
                     "check_report.schema.json").read_text())
SCALE = 1e-3
STAGES = ["build", "variables", "regularization", "forward", "gradients", "steps"]
MODULE = "tests.migration.test_checker_multi_io"
B = 4


def _tf1_heads(image, aux):
    reg = slim.l2_regularizer(SCALE)
    a = slim.fully_connected(image, 4, activation_fn=None, weights_regularizer=reg, scope="a")
    b = slim.fully_connected(aux, 3, activation_fn=None, weights_regularizer=reg, scope="b")
    h = tf.tanh(tf.concat([a, b], axis=1))
    cls = slim.fully_connected(h, 5, activation_fn=None, weights_regularizer=reg, scope="cls")
    box = slim.fully_connected(h, 2, activation_fn=None, weights_regularizer=reg, scope="box")
    return cls, box


def old_dict(inputs):
    """TF1: ``{"image", "aux"}`` in, ``{"cls", "box"}`` out."""
    cls, box = _tf1_heads(inputs["image"], inputs["aux"])
    return {"cls": cls, "box": box}


def old_list(inputs):
    """TF1: ``[image, aux]`` in, ``[cls, box]`` out."""
    image, aux = inputs
    return list(_tf1_heads(image, aux))


def _keras_heads(box_activation=None):
    keras = _flavor.keras()
    l2 = keras.regularizers.L2(SCALE / 2)
    image = keras.Input((6,), name="image")
    aux = keras.Input((3,), name="aux")
    a = keras.layers.Dense(4, kernel_regularizer=l2, name="a")(image)
    b = keras.layers.Dense(3, kernel_regularizer=l2, name="b")(aux)
    h = keras.layers.Activation("tanh")(keras.layers.Concatenate()([a, b]))
    cls = keras.layers.Dense(5, kernel_regularizer=l2, name="cls")(h)
    box = keras.layers.Dense(2, kernel_regularizer=l2, activation=box_activation, name="box")(h)
    return image, aux, cls, box


def new_dict():
    """Keras: dict in, dict out (heads by key)."""
    image, aux, cls, box = _keras_heads()
    return _flavor.keras().Model({"image": image, "aux": aux}, {"cls": cls, "box": box})


def new_list():
    """Keras: list in, list out (heads by position)."""
    image, aux, cls, box = _keras_heads()
    return _flavor.keras().Model([image, aux], [cls, box])


def new_list_wrong_box():
    """Keras: the box head has a ReLU the TF1 head does not."""
    image, aux, cls, box = _keras_heads(box_activation="relu")
    return _flavor.keras().Model([image, aux], [cls, box])


def _inputs():
    rng = np.random.default_rng(7)
    return {"image": rng.standard_normal((B, 6)).astype(np.float32),
            "aux": rng.standard_normal((B, 3)).astype(np.float32)}


def _targets():
    rng = np.random.default_rng(8)
    return {"cls": rng.integers(0, 5, size=(B,)).astype(np.int32),
            "box": rng.standard_normal((B, 2)).astype(np.float32)}


def _statuses(result):
    return [(s.name, s.status) for s in result.stages]


@pytest.mark.keras
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_dict_inputs_dict_heads_weighted_losses_equivalent_through_all_stages(optimizer):
    result = check_equivalence(old_dict, new_dict, inputs=_inputs(), targets=_targets(),
                               loss={"cls": "xent", "box": "mse"}, loss_weights={"cls": 1.0, "box": 0.5},
                               steps=3, optimizer=optimizer, learning_rate=0.05)
    assert _statuses(result) == [(s, PASS) for s in STAGES], result.reason
    assert result.info["inputs"] == {"image": [B, 6], "aux": [B, 3]}
    assert result.info["loss"] == "cls=xent,box=mse"


@pytest.mark.keras
def test_list_inputs_list_heads_one_loss_each_equivalent():
    x = _inputs()
    result = check_equivalence(old_list, new_list, inputs=[x["image"], x["aux"]], loss="mse", steps=2)
    assert _statuses(result) == [(s, PASS) for s in STAGES], result.reason


@pytest.mark.keras
def test_summed_data_loss_is_what_keras_compile_trains_with():
    """The checker's forward data loss == Keras ``evaluate`` with the same per-head losses and weights."""
    keras = _flavor.keras()
    x, y = _inputs(), _targets()
    result = check_equivalence(old_dict, new_dict, inputs=x, targets=y, loss={"cls": "xent", "box": "mse"},
                               loss_weights={"cls": 1.0, "box": 0.5}, steps=1, record_trajectories=True)
    assert result.equivalent, result.reason
    data0 = result.trajectories["old"]["data"][0]
    model = new_dict()
    for scope, (kernel, bias) in _tf1_initial_values(x).items():
        model.get_layer(scope).set_weights([kernel, bias])
    model.compile(loss={"cls": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                        "box": keras.losses.MeanSquaredError()},
                  loss_weights={"cls": 1.0, "box": 0.5})
    # the regularization is in Keras' evaluate too: add it to the checker's data loss
    reg0 = result.trajectories["old"]["regularization"][0]
    got = model.evaluate(x, y, batch_size=B, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(got, data0 + reg0, rtol=1e-5)


def _tf1_initial_values(x):
    """``{scope: (weights, biases)}`` at the TF1 side's initial values (the graph the check builds, seed 0)."""
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.set_random_seed(0)
        old_dict({k: tf.compat.v1.placeholder(tf.float32, v.shape) for k, v in x.items()})
        with tf.compat.v1.Session(graph=g) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            values = {v.op.name: s.run(v) for v in tf.compat.v1.global_variables()}
    return {scope: (values[f"{scope}/weights"], values[f"{scope}/biases"]) for scope in ("a", "b", "cls", "box")}


def new_dict_wrong_box():
    """Keras: dict heads, the box head with a ReLU the TF1 head does not have."""
    image, aux, cls, box = _keras_heads(box_activation="relu")
    return _flavor.keras().Model({"image": image, "aux": aux}, {"cls": cls, "box": box})


@pytest.mark.keras
@pytest.mark.parametrize("as_list, head", [(True, "1"), (False, "box")], ids=["list-heads", "dict-heads"])
def test_wrong_head_caught_at_forward_naming_the_head(as_list, head):
    x = _inputs()
    inputs = [x["image"], x["aux"]] if as_list else x
    old, new = (old_list, new_list_wrong_box) if as_list else (old_dict, new_dict_wrong_box)
    result = check_equivalence(old, new, inputs=inputs, loss="mse", steps=1)
    assert _statuses(result)[:4] == [("build", PASS), ("variables", PASS), ("regularization", PASS),
                                     ("forward", FAIL)]
    assert result.reason.startswith(f"output {head!r} differs: max |new - old|")
    forward = result.stages[STAGES.index("forward")]
    other = "0" if as_list else "cls"
    assert not any(f"output {other!r}" in d for d in forward.details)  # the other head agrees
    assert any(d.startswith("data loss differs") for d in forward.details)


@pytest.mark.keras
def test_heads_that_do_not_pair_fail_the_build_naming_both():
    result = check_equivalence(old_dict, new_list, inputs=_inputs(), loss="mse", steps=1)
    assert result.failed_stage == "build"
    assert result.reason.startswith(
        "the outputs do not pair: old has outputs ['cls', 'box'], new has a list of 2 outputs")


@pytest.mark.keras
@pytest.mark.parametrize("kwargs, message", [
    ({"loss": {"cls": "xent"}}, "Expected a loss for each head ['cls', 'box']. Received: loss for ['cls']"),
    ({"loss": "mse", "loss_weights": {"cls": 1.0}},
     "Expected a weight for each head ['cls', 'box']. Received: loss_weights for ['cls']"),
    ({"loss": "mse", "loss_weights": [1.0, -1.0]}, "Expected {head: number >= 0}"),
    ({"loss": "mse", "targets": np.zeros((B, 2), np.float32)}, "Expected {head: array} for the heads"),
], ids=["loss-missing-head", "weights-missing-head", "negative-weight", "one-target-array"])
def test_loss_and_targets_that_do_not_fit_the_heads_are_usage_errors(kwargs, message):
    from migration.equivalence.sides import UsageError

    with pytest.raises(UsageError) as info:
        check_equivalence(old_dict, new_dict, inputs=_inputs(), steps=1, **kwargs)
    assert message in str(info.value)


def test_inputs_with_different_batches_are_a_usage_error():
    from migration.equivalence.sides import UsageError

    x = _inputs()
    x["aux"] = x["aux"][:2]
    with pytest.raises(UsageError) as info:
        check_equivalence(old_dict, new_dict, inputs=x, steps=1)
    assert "Expected the same batch size for every input. Received: batch sizes {'image': 4, 'aux': 2}" in str(
        info.value)


@pytest.mark.keras
@pytest.mark.parametrize("as_list", [False, True], ids=["dict", "list"])
def test_several_inputs_and_heads_under_mirrored_strategy(as_list):
    """Each replica gets its shard of every input and every head's targets (2 logical CPUs, conftest)."""
    x = _inputs()
    inputs = [x["image"], x["aux"]] if as_list else x
    old, new = (old_list, new_list) if as_list else (old_dict, new_dict)
    loss = {"0": "xent", "1": "mse"} if as_list else {"cls": "xent", "box": "mse"}
    result = check_equivalence(old, new, inputs=inputs, loss=loss, steps=2, strategy="mirrored")
    assert result.info["replicas"] == 2
    if not _flavor.multi_replica_training_exact():
        # Keras 3 < 3.8, upstream: its multi-replica step is not the one-device step; every stage
        # before the steps holds, and the steps fail naming that Keras behaviour first.
        assert _statuses(result)[:-1] == [(s, PASS) for s in STAGES[:-1]], result.reason
        assert result.stage("steps").diagnoses[0].code == "keras-replica-steps", result.reason
        return
    assert _statuses(result) == [(s, PASS) for s in STAGES], result.reason


# -- the CLI


@pytest.mark.keras
def test_cli_repeated_input_shape_list_model(capsys):
    code = main(["check", f"{MODULE}:old_list", f"{MODULE}:new_list", "--input-shape", f"{B},6",
                 "--input-shape", f"{B},3", "--loss", "0=xent,1=mse", "--loss-weights", "1,0.5", "--steps", "2"])
    cap = capsys.readouterr()
    assert code == 0, cap.out + cap.err
    assert f"inputs [({B}, 6), ({B}, 3)]" in cap.err


@pytest.mark.keras
def test_cli_inputs_npz_by_name_with_per_head_targets(tmp_path, capsys):
    x, y = _inputs(), _targets()
    np.savez(tmp_path / "data.npz", **x, **{f"targets.{k}": v for k, v in y.items()})
    code = main(["check", f"{MODULE}:old_dict", f"{MODULE}:new_dict", "--inputs", str(tmp_path / "data.npz"),
                 "--loss", "cls=xent,box=mse", "--steps", "2", "--json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    report = json.loads(cap.out)
    jsonschema.validate(report, SCHEMA)
    assert report["equivalent"] is True
    assert report["info"]["inputs"] == {"image": [B, 6], "aux": [B, 3]}
    assert report["info"]["inputs_shape"] == [B, 6]  # the first input's, as the schema has it
    assert report["info"]["loss"] == "cls=xent,box=mse"


@pytest.mark.keras
def test_cli_inputs_npz_positional_caught_wrong_head(tmp_path, capsys):
    x = _inputs()
    np.savez(tmp_path / "data.npz", x["image"], x["aux"])
    code = main(["check", f"{MODULE}:old_list", f"{MODULE}:new_list_wrong_box", "--inputs",
                 str(tmp_path / "data.npz"), "--steps", "1"])
    cap = capsys.readouterr()
    assert code == 1
    assert "output '1' differs" in cap.out


@pytest.mark.parametrize("extra, message", [
    (["--input-shape", "4,6", "--input-shape", "3,3"],
     "--input-shape: every input needs the same batch size (first dimension), received ['4,6', '3,3']"),
    (["--input-shape", "4,6", "--input-shape", "4,x"], "--input-shape '4,x' must be positive integers"),
    (["--input-shape", "4,6", "--loss", "cls=xent,cls=mse"], "per-head losses are HEAD=LOSS separated by commas"),
    (["--input-shape", "4,6", "--loss", "cls=hinge"], "Invalid value for argument `loss`"),
    (["--input-shape", "4,6", "--loss-weights", "cls=1,0.5"], "give every weight by head (a=1,b=0.5) or all by"),
    (["--input-shape", "4,6", "--loss-weights", "1,-2"], "weights must be finite numbers >= 0"),
], ids=["batches-differ", "bad-shape", "head-twice", "unknown-loss", "mixed-weights", "negative-weight"])
def test_cli_bad_input_specs_exit_2(extra, message, capsys):
    assert main(["check", f"{MODULE}:old_list", f"{MODULE}:new_list", *extra]) == 2
    assert message in capsys.readouterr().err


PER_INPUT = "one --input-shape per input, in order"
BY_NAME = "Name the inputs as the function reads them"


@pytest.mark.keras
@pytest.mark.parametrize("old, new, extra, message, fix", [
    ("old_list", "new_list", ["--input-shape", "4,6"],
     "the old model function 'old_list' failed on inputs of shape (4, 6)", PER_INPUT),
    ("old_list", "new_list", ["--input-shape", "4,6", "--input-shape", "4,3", "--input-shape", "4,3"],
     "failed on inputs of shape [(4, 6), (4, 3), (4, 3)] (ValueError: too many values to unpack", PER_INPUT),
    ("old_dict", "new_dict", ["--inputs", "img+aux"],
     "the old model function 'old_dict' asked for input 'image', but the inputs are ['aux', 'img']", BY_NAME),
], ids=["one-shape-for-two-inputs", "three-shapes-for-two", "npz-names-differ"])
def test_cli_inputs_that_do_not_fit_the_model_exit_2(old, new, extra, message, fix, tmp_path, capsys):
    if extra == ["--inputs", "img+aux"]:
        x = _inputs()
        np.savez(tmp_path / "names.npz", img=x["image"], aux=x["aux"])
        extra = ["--inputs", str(tmp_path / "names.npz")]
    assert main(["check", f"{MODULE}:{old}", f"{MODULE}:{new}", *extra, "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert fix in err


@pytest.mark.parametrize("arrays, message", [
    ({"arr_0": np.zeros((4, 6)), "arr_2": np.zeros((4, 3))}, "positional inputs must be arr_0..arr_1"),
    ({"image": np.zeros((4, 6)), "aux": np.zeros((2, 3))}, "every input needs the same batch size"),
    ({"inputs": np.zeros((4, 6)), "aux": np.zeros((4, 3))}, "key 'inputs' is one input"),
    ({"targets": np.zeros(4)}, "no inputs in the archive"),
], ids=["arr-gap", "batches-differ", "inputs-and-names", "targets-only"])
def test_cli_bad_inputs_npz_exit_2(arrays, message, tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", **arrays)
    assert main(["check", f"{MODULE}:old_list", f"{MODULE}:new_list", "--inputs", str(tmp_path / "bad.npz")]) == 2
    assert message in capsys.readouterr().err
