"""Carry a trained TF1 checkpoint to the Keras port: ``compat-reg convert-checkpoint``.

The checkpoint's variables are matched to the port's weights with the checker's
matching (``_matching``: a weight map, regex rules, or creation order + shape +
kind), in the creation order of the TF1 model function ``old`` (built once in a
fresh graph). Partitioned variables (``w/part_0``, ``w/part_1`` in the graph) are
saved whole under ``w`` by ``tf.compat.v1.train.Saver`` and read whole. Checkpoint
entries that are not variables of the model (optimizer slots, ``global_step``) are
left out and listed. Every model variable must match exactly one weight: unmatched,
ambiguous or mis-shaped pairs are an error that lists them, and nothing is written.

Before writing, the forward pass of the TF1 graph restored from the checkpoint and
of the port with the converted weights are compared on one batch; after writing,
the weights file is loaded into a fresh port (when NEW is a builder) and compared
again.
"""

import dataclasses
import re

import numpy as np
import tensorflow as tf

from compat_reg import _flavor
from . import _losses
from . import _matching
from . import optimizers
from .compare import close
from .compare import worst
from .sides.keras_inprocess import KerasSide
from .sides.tf1_graph import GraphSide
from .stages.build import make_model

_PART = re.compile(r"/part_\d+$")


class ConversionError(ValueError):
    """The checkpoint cannot be carried over exactly (unmatched, ambiguous, or outputs differ)."""


@dataclasses.dataclass
class CheckpointVariables:
    """The model's variables as the checkpoint holds them: whole (partitions joined), in creation order."""

    names: list
    shapes: dict
    trainable: dict
    ignored: list  # checkpoint entries that are not variables of the model


@dataclasses.dataclass
class Conversion:
    """What ``convert_checkpoint`` did: the pairs, what was left out, the forward comparison, the file."""

    pairs: list
    ignored: list
    max_output_diff: float
    reloaded_max_diff: float
    path: str


def weights_suffix():
    """The file suffix ``save_weights`` needs under the active flavor."""
    return ".weights.h5" if _flavor.is_keras3() else ".h5"


def checkpoint_variables(old, reader):
    """Map the TF1 graph's variables to checkpoint entries, joining partitions (``w/part_0`` -> ``w``)."""
    shapes = reader.get_variable_to_shape_map()
    names, trainable = [], {}
    missing = []
    for n in old.names:
        base = n if n in shapes else _PART.sub("", n)
        if base not in shapes:
            missing.append(n)
            continue
        if base not in trainable:
            names.append(base)
            trainable[base] = old.trainable[n]
        else:
            trainable[base] = trainable[base] or old.trainable[n]
    if missing:
        raise ConversionError(
            "variables of the TF1 model are not in the checkpoint: " + ", ".join(missing)
            + ". Pass the checkpoint written by this model (tf.compat.v1.train.Saver().save(...))"
        )
    ignored = sorted(set(shapes) - set(names))
    return CheckpointVariables(names, {n: tuple(shapes[n]) for n in names}, trainable, ignored)


def convert_checkpoint(checkpoint, old_fn, new, inputs, out, weight_map=None, rtol=1e-6, atol=1e-6):
    """Write the port's weights from a TF1 checkpoint and prove the forward pass equal.

    Args:
      checkpoint: a TF1 checkpoint prefix (or a directory with a ``checkpoint`` file).
      old_fn: the TF1 model function that wrote it, ``fn(inputs) -> outputs``.
      new: a Keras model, or a zero-argument callable returning one.
      inputs: one batch (numpy, batch first) for the forward comparison.
      out: the weights file (``*.weights.h5`` under Keras 3, ``*.h5`` under tf_keras).
      weight_map: as for ``check_equivalence``.
      rtol, atol: the forward comparison's tolerances.

    Returns:
      A ``Conversion``.

    Raises:
      ConversionError: unmatched / ambiguous variables, or outputs that differ.
    """
    path = tf.train.latest_checkpoint(checkpoint) if tf.io.gfile.isdir(checkpoint) else checkpoint
    reader = tf.train.load_checkpoint(path)
    inputs = np.asarray(inputs, np.float32) if np.asarray(inputs).dtype == np.float64 else np.asarray(inputs)
    sgd = optimizers.choose("sgd", 0.1)
    old = GraphSide(old_fn, inputs, _losses.mse, sgd)
    try:
        ckpt = checkpoint_variables(old, reader)
        model = make_model(new, None)
        side = KerasSide(model, inputs, _losses.mse, sgd)
        m = _matching.match(ckpt, side, weight_map)
        problems = list(m.errors)
        if m.unmatched_old:
            problems.append("checkpoint variables with no weight in the port: " + ", ".join(m.unmatched_old))
        if m.unmatched_new:
            problems.append("port weights with no checkpoint variable: " + ", ".join(m.unmatched_new))
        problems += [f"ambiguous: {a}" for a in m.ambiguities]
        if problems:
            raise ConversionError("cannot convert the checkpoint exactly:\n  " + "\n  ".join(problems))
        side.assign({n: reader.get_tensor(o) for o, n, _ in m.pairs})
        with old.graph.as_default():
            tf.compat.v1.train.Saver(old.variables).restore(old.session, path)
        want = old.session.run(old.outputs, {old.x: inputs})
        got = np.asarray(_first(model(inputs, training=False)))
        diff, idx, got_at, want_at = worst(got, want)
        if not close(got, want, {"rtol": rtol, "atol": atol}):
            raise ConversionError(
                f"the port's outputs with the converted weights differ from the TF1 graph restored from the "
                f"checkpoint: max |new - old| = {diff:.3g} at {idx} (old {want_at:.9g}, new {got_at:.9g}); "
                "nothing was written. Run compat-reg check on the two models to see why"
            )
        model.save_weights(out)
        reloaded = _reload_diff(new, inputs, out, want) if callable(new) and not isinstance(
            new, (_flavor.keras().Model, _flavor.keras().layers.Layer)) else diff
        return Conversion(list(m.pairs), ckpt.ignored, diff, reloaded, out)
    finally:
        old.close()


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def _reload_diff(build, inputs, out, want):
    """Load the written file into a fresh port and return its max output difference to the TF1 graph."""
    fresh = build()
    fresh(inputs, training=False)
    fresh.load_weights(out)
    return worst(np.asarray(_first(fresh(inputs, training=False))), want)[0]
