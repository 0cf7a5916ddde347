"""Done-when: ``compat-reg check`` on tf_slim.nets.resnet_v1.resnet_v1_50 (graph mode) against a
Keras port of it wrapped with ``compat_reg.keras.TF1Layer`` passes (32x32 input, 1 step)."""

import pytest

from migration.cli import main

INPUT_SHAPE = (2, 32, 32, 3)


def resnet_old(inputs):
    """The TF1 model: resnet_v1_50, 10 classes, resnet_arg_scope(weight_decay=1e-4), inference mode."""
    import tf_slim as slim
    from tf_slim.nets import resnet_v1

    import compat_reg  # noqa: F401  (tf_slim batch_norm on TF 2.21)

    with slim.arg_scope(resnet_v1.resnet_arg_scope(weight_decay=1e-4)):
        logits, _ = resnet_v1.resnet_v1_50(inputs, num_classes=10, is_training=False)
    return logits


def resnet_port():
    """The Keras port: the same function inside compat_reg.keras.TF1Layer, in a functional model."""
    from compat_reg import _flavor
    from compat_reg.keras.tf1_layer import TF1Layer

    keras = _flavor.keras()
    inputs = keras.Input(INPUT_SHAPE[1:])
    return keras.Model(inputs, TF1Layer(resnet_old, name="resnet")(inputs))


@pytest.mark.keras
def test_resnet_v1_50_against_tf1layer_port(capsys):
    code = main([
        "check", f"{__name__}:resnet_old", f"{__name__}:resnet_port",
        "--input-shape", ",".join(map(str, INPUT_SHAPE)), "--loss", "xent", "--steps", "1",
        "--learning-rate", "1e-5",
    ])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "EQUIVALENT" in out
    assert "267 pairs matched" in out
