"""``compat-reg convert-checkpoint``: a checkpoint written by the TF1 side of a slim net, carried to its native port.

The TF1 net has a batch-norm layer (moving statistics in the checkpoint), a partitioned
variable (saved whole, joined on reading) and optimizer slots (left out). The written
weights file is loaded into a fresh port and compared with the TF1 graph restored from
the checkpoint, at rtol 1e-6.
"""

import os

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from compat_reg import _flavor
from migration.cli import main
from migration.equivalence._losses import seeded_inputs

SHAPE = (4, 6, 6, 2)
X = seeded_inputs(SHAPE)
HERE = "tests.migration.test_convert_checkpoint"


def tf1_net(x):
    net = slim.conv2d(x, 3, [3, 3], scope="conv1", normalizer_fn=slim.batch_norm,
                      normalizer_params={"is_training": False, "decay": 0.9})
    net = slim.flatten(net)
    with tf.compat.v1.variable_scope("logits"):
        w = tf.compat.v1.get_variable("weights", [6 * 6 * 3, 4],
                                      partitioner=tf.compat.v1.fixed_size_partitioner(2))
        b = tf.compat.v1.get_variable("biases", [4], initializer=tf.compat.v1.zeros_initializer())
    return tf.matmul(net, w) + b


def port(extra=False):
    keras = _flavor.keras()
    inputs = keras.Input(SHAPE[1:])
    h = keras.layers.Conv2D(3, 3, padding="same", use_bias=False, name="conv1")(inputs)
    h = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3, scale=False, name="bn1")(h)
    h = keras.layers.Flatten()(keras.layers.ReLU()(h))
    out = keras.layers.Dense(4, name="logits")(h)
    if extra:
        out = keras.layers.Dense(4, name="extra")(out)
    return keras.Model(inputs, out)


def port_with_extra_layer():
    return port(extra=True)


def tf1_plain(x):
    a = tf.compat.v1.get_variable("a/w", [SHAPE[-1], 2])
    b = tf.compat.v1.get_variable("b/w", [2, 2])
    return tf.matmul(tf.matmul(tf.reduce_mean(x, [1, 2]), a), b)


def plain_port():
    keras = _flavor.keras()
    inputs = keras.Input(SHAPE[1:])
    h = keras.layers.GlobalAveragePooling2D()(inputs)
    h = keras.layers.Dense(2, use_bias=False, name="first")(h)
    return keras.Model(inputs, keras.layers.Dense(2, use_bias=False, name="second")(h))


def write_checkpoint(fn, prefix, train_steps=2):
    """Run the TF1 side: seeded non-trivial values, a few Momentum steps (slots in the checkpoint), save."""
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, SHAPE)
        out = fn(x)
        loss = tf.reduce_mean(tf.square(out))
        train = tf.compat.v1.train.MomentumOptimizer(0.01, 0.9).minimize(loss)
        rng = np.random.default_rng(5)
        with tf.compat.v1.Session(graph=g) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            for v in tf.compat.v1.global_variables():
                if "Momentum" in v.op.name:
                    continue
                value = rng.uniform(0.5, 1.5, v.shape.as_list()) if "variance" in v.op.name else \
                    rng.standard_normal(v.shape.as_list()) * 0.3
                s.run(v.assign(value.astype(np.float32)))
            for _ in range(train_steps):
                s.run(train, {x: X})
            path = tf.compat.v1.train.Saver().save(s, prefix)
            want = s.run(out, {x: X})
    return path, want


def _out(tmp_path):
    return str(tmp_path / ("port.weights.h5" if _flavor.is_keras3() else "port.h5"))


@pytest.mark.keras
def test_round_trips_a_slim_checkpoint_into_the_native_port(tmp_path, capsys):
    prefix, want = write_checkpoint(tf1_net, str(tmp_path / "model.ckpt"))
    out = _out(tmp_path)
    assert main(["convert-checkpoint", prefix, f"{HERE}:port", "--old", f"{HERE}:tf1_net", "--out", out,
                 "--input-shape", ",".join(map(str, SHAPE))]) == 0
    cap = capsys.readouterr()
    assert cap.out.startswith(f"wrote {out}: 6 weights; forward pass equal to the TF1 graph on one batch")
    assert "[compat-reg convert-checkpoint] logits/weights -> logits/kernel (order+shape+name)" in cap.err
    assert ("not model variables, left out: conv1/BatchNorm/beta/Momentum, conv1/weights/Momentum, "
            "logits/biases/Momentum, logits/weights/Momentum") in cap.err
    fresh = port()
    fresh.load_weights(out)
    got = np.asarray(fresh(X, training=False))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # the partitioned variable was joined: the Dense kernel is the whole [108, 4] matrix of the checkpoint
    reader = tf.train.load_checkpoint(prefix)
    np.testing.assert_array_equal(np.asarray(fresh.get_layer("logits").kernel), reader.get_tensor("logits/weights"))


@pytest.mark.keras
def test_unmatched_weights_are_listed_and_nothing_is_written(tmp_path, capsys):
    prefix, _ = write_checkpoint(tf1_net, str(tmp_path / "model.ckpt"), train_steps=0)
    out = _out(tmp_path)
    assert main(["convert-checkpoint", prefix, f"{HERE}:port_with_extra_layer", "--old", f"{HERE}:tf1_net",
                 "--out", out, "--input-shape", ",".join(map(str, SHAPE)), "-q"]) == 1
    err = capsys.readouterr().err
    assert "cannot convert the checkpoint exactly:\n  port weights with no checkpoint variable: extra/kernel, extra/bias" in err
    assert not os.path.exists(out)


@pytest.mark.keras
def test_ambiguous_pairs_are_an_error_until_a_weight_map_decides(tmp_path, capsys):
    prefix, want = write_checkpoint(tf1_plain, str(tmp_path / "plain.ckpt"), train_steps=0)
    out = _out(tmp_path)
    argv = ["convert-checkpoint", prefix, f"{HERE}:plain_port", "--old", f"{HERE}:tf1_plain", "--out", out,
            "--input-shape", ",".join(map(str, SHAPE)), "-q"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "ambiguous: old 'a/w' matched by creation order to new 'first/kernel'; 'second/kernel' has the same shape" in err
    wm = tmp_path / "map.json"
    wm.write_text('{"a/w": "first/kernel", "b/w": "second/kernel"}')
    assert main(argv + ["--weight-map", str(wm)]) == 0
    fresh = plain_port()
    fresh.load_weights(out)
    np.testing.assert_allclose(np.asarray(fresh(X)), want, rtol=1e-6, atol=1e-6)


@pytest.mark.keras
def test_usage_errors_exit_2(tmp_path, capsys):
    prefix, _ = write_checkpoint(tf1_plain, str(tmp_path / "plain.ckpt"), train_steps=0)
    base = ["convert-checkpoint", prefix, f"{HERE}:plain_port", "--old", f"{HERE}:tf1_plain",
            "--input-shape", ",".join(map(str, SHAPE))]
    assert main(base + ["--out", str(tmp_path / "w.keras")]) == 2
    suffix = ".weights.h5" if _flavor.is_keras3() else ".h5"
    assert f"must end with {suffix}" in capsys.readouterr().err
    bad = ["convert-checkpoint", str(tmp_path / "nope.ckpt")] + base[2:] + ["--out", _out(tmp_path)]
    assert main(bad) == 2
    assert "no checkpoint there" in capsys.readouterr().err
