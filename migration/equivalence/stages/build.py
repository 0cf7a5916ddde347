"""Stage ``build``: both sides build; output shapes agree; NEW creates each weight once (called twice)."""

import numpy as np

from compat_reg import _flavor
from .. import _losses
from .. import backends
from .. import _structure
from ..result import FAIL
from ..result import PASS
from ..sides import UsageError
from ..sides import UserCodeError
from ..sides import child_process
from ..sides.keras_inprocess import KerasSide
from ..sides.keras_inprocess import switch_off_dropout
from ..sides.tf1_graph import GraphSide
from . import StageCheck


def run(ctx, record):
    spec = ctx.spec
    if not callable(spec.old_fn):
        raise UsageError(f"OLD must be a TF1 model function fn(inputs) -> outputs, got {type(spec.old_fn).__name__}.")
    ctx.old = GraphSide(spec.old_fn, spec.inputs, spec.loss_fn, spec.optimizer)
    if backends.runs_in_child(spec.backend):  # Keras 3 on another backend: a child process
        ctx.new = child_process.make(spec, spec.backend, f"NEW {_label(spec.new_arg)!r}")
        dropout = ctx.new.dropout
    else:
        dropout = _in_process(ctx, spec)
    _compare(ctx, spec, record, dropout)


def _in_process(ctx, spec):
    model = make_model(spec.new_arg, spec.strategy)
    dropout = switch_off_dropout(model) if spec.training else []
    try:
        if backends.current() == "tensorflow":
            ctx.new = KerasSide(model, spec.inputs, spec.loss_fn, spec.optimizer, training=spec.training,
                                strategy=spec.strategy)
        else:  # this process' Keras 3 is on JAX / torch
            from ..sides import backend_child

            ctx.new = backend_child.in_process(model, spec)
    except UsageError:
        raise
    except (TypeError, ValueError) as e:
        raise UsageError(
            f"the new model failed on inputs of shape {_structure.describe(spec.inputs)} "
            f"({type(e).__name__}: {e}). Check --input-shape / inputs (batch first; one --input-shape per "
            "input, in order, or an inputs .npz keyed by input name)."
        ) from e
    except Exception as e:  # noqa: BLE001 - the user's model raised: reported as theirs
        raise UserCodeError(f"NEW {_label(spec.new_arg)!r}", e) from e
    return dropout


def _compare(ctx, spec, record, dropout):
    old, new = ctx.old, ctx.new
    if dropout:
        ctx.result.info["dropout"] = (
            f"switched off on the new side for the check (rate 0): {', '.join(dropout)}; the two sides cannot "
            "draw the same dropout masks")
    random_ops = old.random_ops() if spec.training else []
    unpaired = _structure.pairing_problem(old.heads, new.heads)
    if unpaired:
        record.status, record.summary = FAIL, unpaired
        record.details = [unpaired, f"old outputs {old.outputs_shape}", f"new outputs {new.outputs_shape}"]
        return
    _set_targets(spec, old)
    old.set_targets(spec.targets)
    new.set_targets(spec.targets)
    problems = []
    if old.outputs_shape != new.outputs_shape:
        problems.append(f"output shapes differ: old {old.outputs_shape}, new {new.outputs_shape}")
    if random_ops:
        problems.append(
            f"the TF1 outputs depend on random ops in training mode ({', '.join(random_ops[:3])}"
            f"{' ...' if len(random_ops) > 3 else ''}): dropout cannot draw the same masks on both sides. Build "
            "OLD with its dropout off for the check (keep_prob=1.0, or slim.dropout(..., is_training=False)); "
            "the checker switches the new side's dropout off itself")
    if new.created_twice:
        problems.append(
            f"the new model created {new.created_twice} more weight(s) on its second call; "
            "each variable must be created once (build weights in build()/__init__, reuse them in call())"
        )
    record.details = [
        f"old: {len(old.names)} variables, {len(old.losses)} regularization losses, outputs {old.outputs_shape}",
        f"new: {len(new.names)} weights, {len(new.losses)} model.losses, outputs {new.outputs_shape}",
    ]
    if problems:
        record.status, record.summary = FAIL, problems[0]
        record.details = problems + record.details
        return
    record.status = PASS
    record.summary = (
        f"old {len(old.names)} variables / {len(old.losses)} reg. losses; "
        f"new {len(new.names)} weights / {len(new.losses)} model.losses"
    )


def _set_targets(spec, old):
    """The targets of the check: given or seeded; ``{head: array}`` for several heads."""
    per_head, weights = spec.per_head
    if old.heads is _structure.SINGLE:
        if isinstance(per_head, dict):
            raise UsageError(f"Invalid value for argument `loss`. Expected one loss: the model has one output. "
                             f"Received: a loss per head {sorted(per_head)}")
        if weights is not None and (isinstance(weights, dict) or len(weights) != 1):
            raise UsageError(f"Invalid value for argument `loss_weights`. Expected None or [w]: the model has one "
                             f"output. Received: loss_weights={weights!r}")
        if spec.targets is None:
            spec.targets = _losses.seeded_targets(spec.loss, old.outputs_shape)
        spec.targets = np.asarray(spec.targets)
        return
    plan = _structure.head_plan(per_head, weights, old.heads, spec.loss)
    if spec.targets is None:
        spec.targets = _structure.seeded_targets(plan, old.outputs_shape)
    else:
        spec.targets = _structure.targets_for(spec.targets, old.heads)


def _label(new):
    return getattr(new, "__name__", type(new).__name__)


def make_model(new, strategy):
    """The Keras model NEW stands for: itself, or what the zero-argument callable returns."""
    keras = _flavor.keras()
    if isinstance(new, (keras.Model, keras.layers.Layer)):
        if strategy is not None:
            raise UsageError(
                "with a strategy NEW must be a zero-argument callable returning the model, so the "
                "model is built inside strategy.scope(); received a built model instance"
            )
        return new
    if not callable(new):
        raise UsageError(
            f"NEW must be a {_flavor.name()} Model or a zero-argument callable returning one; "
            f"received {type(new).__name__}"
        )
    try:
        if strategy is not None:
            with strategy.scope():
                model = new()
        else:
            model = new()
    except TypeError as e:
        raise UsageError(
            f"NEW {_label(new)!r} must be callable with no arguments and return a Keras model ({e})"
        ) from e
    except Exception as e:  # noqa: BLE001 - the user's builder raised: reported as theirs
        raise UserCodeError(f"NEW {_label(new)!r}", e) from e
    if not isinstance(model, (keras.Model, keras.layers.Layer)):
        other = "tf_keras" if _flavor.is_keras3() else "Keras 3"
        hint = (
            f" It looks like a {other} model: run with{'out' if not _flavor.is_keras3() else ''} "
            "TF_USE_LEGACY_KERAS=1 so both agree."
            if type(model).__module__.split(".")[0] in ("keras", "tf_keras") else ""
        )
        raise UsageError(f"NEW {_label(new)!r} returned {type(model).__name__}, not a {_flavor.name()} Model.{hint}")
    return model


STAGE = StageCheck("build", run)
