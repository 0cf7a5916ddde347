"""``check_equivalence``: does a Keras port regularize and train like the TF1 graph?

The stages follow TensorFlow's migration guide ("Validating correctness &
numerical equivalence") and stop at the first failure:

1. **build** — the TF1 function in a fresh ``tf.Graph`` + ``Session``; the Keras
   model built and called twice (each variable created once);
2. **variables** — old variables matched to new weights (explicit map, regex
   rules, or creation order + shape); unmatched names, shape and ``trainable``
   differences fail the stage;
3. **regularization** — weights copied old -> new; per variable, which penalty
   each side applies (probed, see ``_penalties``) and its value; activity
   penalties; totals ``add_n(REGULARIZATION_LOSSES)`` vs ``sum(model.losses)``;
4. **forward** — outputs and data loss;
5. **gradients** — per trainable variable: of the data loss, of the
   regularization, of the total;
6. **steps** — N optimizer steps on both sides from the same weights and data,
   total / data / regularization loss compared step by step, then the weights.

Comparisons are ``|new - old| <= atol + rtol * |old|`` with the stage's
tolerances (reported in the result).
"""

import time

import numpy as np
import tensorflow as tf

from compat_reg import _flavor
from . import _losses
from . import _matching
from . import _penalties
from . import diagnoses as dg
from ._sides import OPTIMIZERS
from ._sides import GraphSide
from ._sides import KerasSide
from ._sides import UsageError
from .diagnoses import Diagnosis
from .result import FAIL
from .result import PASS
from .result import STAGES
from .result import CheckResult
from .result import Stage

# Default tolerances per stage. Regularization values are float32 sums compared at
# the rtol 1e-6. The forward pass may use different kernels on each side
# (e.g. slim conv2d vs Keras Conv2D), gradients accumulate more float32 round-off,
# and step trajectories compound it over N updates.
DEFAULT_TOLERANCES = {
    "regularization": {"rtol": 1e-6, "atol": 1e-9},
    "forward": {"rtol": 1e-5, "atol": 1e-6},
    "gradients": {"rtol": 1e-4, "atol": 1e-6},
    "steps": {"rtol": 1e-4, "atol": 1e-6},
}
# Per-variable coefficients inferred by probing are compared looser than values:
# they come from differences of float32 penalties.
COEFFICIENT_RTOL = 1e-3


def _tolerances(rtol, atol):
    tol = {k: dict(v) for k, v in DEFAULT_TOLERANCES.items()}
    for key, given in (("rtol", rtol), ("atol", atol)):
        if given is None:
            continue
        if isinstance(given, dict):
            for stage, value in given.items():
                if stage not in tol:
                    raise ValueError(
                        f"Invalid stage in `{key}`. Expected one of {sorted(tol)}. Received: {key}={given!r}"
                    )
                tol[stage][key] = float(value)
        else:
            for stage in tol:
                tol[stage][key] = float(given)
    return tol


def _close(a, b, tol):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return bool(np.all(np.abs(a - b) <= tol["atol"] + tol["rtol"] * np.abs(b)))


def _g(x):
    return _penalties._g(x)


def check_equivalence(
    old,
    new,
    *,
    inputs,
    targets=None,
    loss="mse",
    steps=3,
    optimizer="sgd",
    learning_rate=0.1,
    weight_map=None,
    rtol=None,
    atol=None,
    strategy=None,
    training=False,
    progress=None,
    names=None,
    record_trajectories=False,
):
    """Check a Keras port ``new`` against a TF1 model function ``old``, stage by stage.

    Args:
      old: ``fn(inputs) -> outputs``, a TF1-style model function (``get_variable``,
        tf_slim, ``variable_scope(regularizer=...)``, ``apply_regularization``...). It
        is built in a fresh ``tf.Graph``; a tuple result's first element is the output.
      new: a Keras model (of the active flavor), or a zero-argument callable
        returning one (required with ``strategy``: the model must be built in its scope).
      inputs: a numpy array, batch first.
      targets: numpy targets for the data loss; default: seeded, fitted to ``loss``.
      loss: ``"mse"``, ``"sparse_softmax_cross_entropy"`` or ``fn(targets, outputs)``.
      steps: number of optimizer steps compared (0 skips the stage's training).
      optimizer: ``"sgd"`` (TF1 ``GradientDescentOptimizer`` / Keras ``SGD``) or
        ``"momentum"`` (momentum 0.9 on both sides). A compiled new model's own
        optimizer is used on the new side (and reported).
      learning_rate: for both sides.
      weight_map: ``{old: new}``, ``[(pattern, replacement), ...]`` or
        ``{"map": ..., "rules": ...}``; default: automatic matching.
      rtol, atol: a float for every stage, or ``{stage: value}``; defaults in
        ``DEFAULT_TOLERANCES``.
      strategy: ``None``, ``"mirrored"`` or a ``tf.distribute.Strategy`` for the new side.
      training: the ``training`` argument of the new model's calls.
      progress: ``fn(stage_name, status, summary)`` called as stages finish.
      names: ``{"old": str, "new": str}`` labels for the report.
      record_trajectories: when a stage after ``variables`` fails, still run the
        ``steps`` updates (without comparing) so the report can plot both sides'
        loss curves; the ``steps`` stage stays ``skipped``.

    Returns:
      A ``CheckResult``.

    Raises:
      UsageError: arguments that cannot work (wrong kind of model, shapes).
    """
    tol = _tolerances(rtol, atol)
    loss_fn = _losses.resolve(loss)
    if optimizer not in OPTIMIZERS:
        raise UsageError(f"Invalid value for argument `optimizer`. Expected one of {OPTIMIZERS}. Received: optimizer={optimizer!r}")
    inputs = np.asarray(inputs)
    if inputs.dtype == np.float64:
        inputs = inputs.astype(np.float32)
    strategy = _resolve_strategy(strategy)
    if strategy is not None and inputs.shape[0] % strategy.num_replicas_in_sync:
        raise UsageError(
            f"the batch ({inputs.shape[0]}) must divide evenly over {strategy.num_replicas_in_sync} "
            "replicas; pick a batch size that is a multiple of the replica count"
        )
    stages = [Stage(n) for n in STAGES]
    result = CheckResult(stages=stages, tolerances=tol)
    result.info = {
        "old": (names or {}).get("old", getattr(old, "__name__", repr(old))),
        "new": (names or {}).get("new", getattr(new, "__name__", type(new).__name__)),
        "flavor": _flavor.name(),
        "keras_version": _flavor.version(),
        "tensorflow": tf.__version__,
        "inputs_shape": list(inputs.shape),
        "loss": loss if isinstance(loss, str) else getattr(loss, "__name__", "custom"),
        "steps": int(steps),
        "strategy": None if strategy is None else type(strategy).__name__,
        "replicas": 1 if strategy is None else strategy.num_replicas_in_sync,
    }
    ctx = _Context(old, new, inputs, targets, loss, loss_fn, steps, optimizer, learning_rate,
                   weight_map, tol, strategy, training, result)
    runners = (ctx.build, ctx.variables, ctx.regularization, ctx.forward, ctx.gradients, ctx.steps)
    try:
        for stage, run in zip(stages, runners):
            start = time.perf_counter()
            run(stage)
            stage.seconds = time.perf_counter() - start
            if progress:
                progress(stage.name, stage.status, stage.summary)
            if stage.status != PASS:
                break
        if record_trajectories and result.failed_stage in ("regularization", "forward", "gradients"):
            ctx.record_trajectories()
    finally:
        ctx.close()
    return result


_STRATEGIES = {}


def _resolve_strategy(strategy):
    if strategy is None or isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
        devices = gpus or devices
        if len(devices) < 2:
            raise UsageError(
                f"strategy='mirrored' needs at least 2 devices, found {devices}. Configure logical CPU "
                "devices before TensorFlow initializes (the CLI does this for --strategy mirrored), e.g. "
                "tf.config.set_logical_device_configuration(cpu, [LogicalDeviceConfiguration()] * 2)."
            )
        key = tuple(devices)
        # Reduction through one device, not collective all-reduce: collective ops of two
        # MirroredStrategy objects in one process (the checker's and the user's own) reuse
        # instance keys and abort with "Shape mismatch in the collective instance". The
        # arithmetic (a sum of the replicas' gradients) is the same. One strategy per device set.
        if key not in _STRATEGIES:
            _STRATEGIES[key] = tf.distribute.MirroredStrategy(
                devices, cross_device_ops=tf.distribute.ReductionToOneDevice()
            )
        return _STRATEGIES[key]
    raise UsageError(f"Invalid value for argument `strategy`. Expected None, 'mirrored' or a tf.distribute.Strategy. Received: strategy={strategy!r}")


class _Context:
    """State shared by the stages of one check."""

    def __init__(self, old, new, inputs, targets, loss, loss_fn, steps, optimizer, learning_rate,
                 weight_map, tol, strategy, training, result):
        self.old_fn, self.new_arg = old, new
        self.inputs, self.targets, self.loss, self.loss_fn = inputs, targets, loss, loss_fn
        self.n_steps, self.optimizer, self.learning_rate = int(steps), optimizer, learning_rate
        self.weight_map, self.tol, self.strategy, self.training = weight_map, tol, strategy, training
        self.result = result
        self.old = self.new = None
        self.decay = {}

    def close(self):
        if self.old is not None:
            self.old.close()

    # ------------------------------------------------------------------ build
    def build(self, stage):
        if not callable(self.old_fn):
            raise UsageError(f"OLD must be a TF1 model function fn(inputs) -> outputs, got {type(self.old_fn).__name__}.")
        self.old = GraphSide(self.old_fn, self.inputs, self.loss_fn, self.optimizer, self.learning_rate)
        model = self._make_model()
        try:
            self.new = KerasSide(model, self.inputs, self.loss_fn, self.optimizer, self.learning_rate,
                                 training=self.training, strategy=self.strategy)
        except (TypeError, ValueError) as e:
            if isinstance(e, UsageError):
                raise
            raise UsageError(
                f"the new model failed on inputs of shape {tuple(self.inputs.shape)} "
                f"({type(e).__name__}: {e}). Check --input-shape / inputs (batch first)."
            ) from e
        out_shape = tuple(self.old.outputs.shape.as_list())
        if self.targets is None:
            self.targets = _losses.seeded_targets(self.loss, out_shape)
        self.targets = np.asarray(self.targets)
        self.old.set_targets(self.targets)
        self.new.set_targets(self.targets)
        problems = []
        if out_shape != self.new.outputs_shape:
            problems.append(f"output shapes differ: old {out_shape}, new {self.new.outputs_shape}")
        if self.new.created_twice:
            problems.append(
                f"the new model created {self.new.created_twice} more weight(s) on its second call; "
                "each variable must be created once (build weights in build()/__init__, reuse them in call())"
            )
        stage.details = [
            f"old: {len(self.old.names)} variables, {len(self.old.reg_tensors)} regularization losses, "
            f"outputs {out_shape}",
            f"new: {len(self.new.names)} weights, {len(self.new.losses)} model.losses, outputs {self.new.outputs_shape}",
        ]
        if problems:
            stage.status, stage.summary = FAIL, problems[0]
            stage.details = problems + stage.details
            return
        stage.status = PASS
        stage.summary = (
            f"old {len(self.old.names)} variables / {len(self.old.reg_tensors)} reg. losses; "
            f"new {len(self.new.names)} weights / {len(self.new.losses)} model.losses"
        )

    def _make_model(self):
        keras = _flavor.keras()
        new = self.new_arg
        if isinstance(new, keras.Model) or isinstance(new, keras.layers.Layer):
            if self.strategy is not None:
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
            if self.strategy is not None:
                with self.strategy.scope():
                    model = new()
            else:
                model = new()
        except TypeError as e:
            raise UsageError(
                f"NEW {getattr(new, '__name__', new)!r} must be callable with no arguments and return a "
                f"Keras model ({e})"
            ) from e
        if not isinstance(model, (keras.Model, keras.layers.Layer)):
            other = "tf_keras" if _flavor.is_keras3() else "Keras 3"
            hint = (
                f" It looks like a {other} model: run with{'out' if not _flavor.is_keras3() else ''} "
                "TF_USE_LEGACY_KERAS=1 so both agree."
                if type(model).__module__.split(".")[0] in ("keras", "tf_keras") else ""
            )
            raise UsageError(
                f"NEW {getattr(new, '__name__', new)!r} returned {type(model).__name__}, not a "
                f"{_flavor.name()} Model.{hint}"
            )
        return model

    # -------------------------------------------------------------- variables
    def variables(self, stage):
        m = _matching.match(self.old, self.new, self.weight_map)
        self.matching = m
        self.result.variables = list(m.pairs)
        problems = list(m.errors)
        if m.unmatched_old:
            problems.append("old variables with no match in the new model: " + ", ".join(m.unmatched_old))
        if m.unmatched_new:
            problems.append("new weights with no match in the old graph: " + ", ".join(m.unmatched_new))
        for o, n, _ in m.pairs:
            if self.old.trainable[o] != self.new.trainable[n]:
                problems.append(
                    f"trainable differs: old {o!r} trainable={self.old.trainable[o]}, new {n!r} "
                    f"trainable={self.new.trainable[n]}"
                )
        stage.details = problems + [f"ambiguous: {a}" for a in m.ambiguities] + [
            f"{o} -> {n} ({how})" for o, n, how in m.pairs
        ]
        if problems:
            stage.status = FAIL
            stage.summary = problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)"
            return
        stage.status = PASS
        stage.summary = f"{len(m.pairs)} pairs matched" + (
            f", {len(m.ambiguities)} ambiguous (see details)" if m.ambiguities else ""
        )

    # --------------------------------------------------------- regularization
    def regularization(self, stage):
        o2n = self.matching.old_to_new()
        n2o = {n: o for o, n in o2n.items()}
        self.new.assign({o2n[o]: v for o, v in self.old.values().items()})
        self.new._ensure_optimizer()
        tol = self.tol["regularization"]
        old_pen, old_act, old_other, old_base = _probe_side(self.old)
        new_pen, new_act, new_other, new_base = _probe_side(self.new)
        batch = int(self.inputs.shape[0])
        diagnoses, details, rows = [], [], []

        # Decoupled weight decay of the new optimizer: not a loss, but for plain SGD its step
        # equals the gradient step of (wd / 2) * sum(w^2), i.e. TF1 l2_regularizer(wd).
        decay = self.new.weight_decay()
        plain = self.new.optimizer_is_plain_sgd()
        self.decay = decay if plain else {}
        values = self.old.values()
        decay_value = 0.0
        for o, n in o2n.items():
            op = _penalties.combine([p for _, p in old_pen.get(o, [])])
            contribs = new_pen.get(n, [])
            np_ = _penalties.combine([p for _, p in contribs])
            if n in decay:
                s1, s2 = _penalties.sums(values[o])
                dp = _penalties.Penalty("l2", b=decay[n] / 2.0, value=decay[n] / 2.0 * s2)
                if plain:
                    decay_value += dp.value
                    np_ = _penalties.combine([np_, dp])
            ok = _close(np_.value, op.value, tol) and _same_coefficients(op, np_)
            rows.append({
                "old": o, "new": n,
                "old_penalty": op.tf1(), "new_penalty": np_.keras() + (" (weight decay)" if n in decay else ""),
                "old_value": op.value, "new_value": np_.value, "ok": bool(ok and (n not in decay or plain)),
                "old_sources": [lbl for lbl, _ in old_pen.get(o, [])],
                "new_sources": [lbl for lbl, _ in contribs] + (["optimizer weight_decay"] if n in decay else []),
                "trainable": self.old.trainable[o],
            })
            if n in decay and not plain:
                diagnoses.append(_decoupled_not_sgd(n, op, decay[n], self.new.describe_optimizer()))
                continue
            if not ok:
                diagnoses.append(self._diagnose_variable(o, n, op, np_, old_pen.get(o, []), contribs, decay))
            kinds = [(p.kind, round(p.a, 12), round(p.b, 12)) for _, p in old_pen.get(o, [])]
            if len(kinds) != len(set(kinds)):
                details.append(
                    f"note: old {o!r} is regularized by {len(old_pen[o])} collection entries "
                    f"with the same penalty ({', '.join(l for l, _ in old_pen[o])}); that is what TF1 trained with. "
                    f"{dg.COUNTED_TWICE_NOTE}"
                )
        self.result.regularization = rows

        # Activity penalties: compared as totals (each side's per-layer split may differ).
        a_old, a_new = sum(old_act.values()), sum(new_act.values())
        if not _close(a_new, a_old, tol):
            diagnoses.append(_diagnose_activity(a_old, a_new, batch))
        # Custom (non-additive) penalties over several variables: compared by value.
        g_old, g_new = sum(old_other.values()), sum(new_other.values())
        if not _close(g_new, g_old, tol):
            diagnoses.append(_diagnose_group(old_other, new_other))
        # Under a strategy: inside each replica, the weight penalties must be the full values
        # (Keras fit / tf.nn.scale_regularization_loss divide them by the replica count once).
        if self.strategy is not None and not diagnoses:
            d = self._check_replica_penalties(new_base)
            if d is not None:
                diagnoses.append(d)
            else:
                details.append(
                    f"each of the {self.strategy.num_replicas_in_sync} replicas sees the full weight penalties "
                    "(divided by the replica count once, in the step)"
                )
        # Totals: add_n(REGULARIZATION_LOSSES) vs sum(model.losses) (+ equivalent weight decay).
        t_old = float(np.sum(old_base)) if len(old_base) else 0.0
        t_new = (float(np.sum(new_base)) if len(new_base) else 0.0) + decay_value
        self.reg_totals = (t_old, t_new)
        total_ok = _close(t_new, t_old, tol)
        details.insert(0, f"total: add_n(REGULARIZATION_LOSSES) = {t_old:.9g}, sum(model.losses)"
                          f"{' + weight decay' if decay_value else ''} = {t_new:.9g}")
        details.insert(1, f"activity penalties: old {a_old:.9g}, new {a_new:.9g}")
        if not total_ok and not diagnoses:
            diagnoses.append(Diagnosis(
                dg.TOTAL_MISMATCH,
                f"regularization totals differ: TF1 collection {t_old:.9g}, Keras model.losses {t_new:.9g} "
                f"(ratio {t_new / t_old if t_old else float('inf'):.6g}) although every variable's penalty matches; "
                "look for a loss added outside the variables' regularizers",
            ))
        stage.diagnoses, stage.details = diagnoses, details
        if diagnoses:
            stage.status = FAIL
            first = diagnoses[0]
            stage.summary = (
                f"{len(diagnoses)} divergence(s); first: {first.variable or 'total'} [{first.code}]"
            )
            return
        stage.status = PASS
        note = " (weight decay counted as its equivalent L2 under plain SGD)" if decay_value else ""
        stage.summary = (
            f"{sum(1 for r in rows if r['old_penalty'] != 'no regularizer')} regularized variables agree; "
            f"total {t_old:.6g} vs {t_new:.6g}{note}"
        )

    def _check_replica_penalties(self, new_base):
        """Inside each replica: weight penalties must be full; activity penalties batch means.

        Each replica's ``model.losses`` are divided by the replica count once (in the
        step), so a weight penalty must hold its full value there, and an activity
        penalty must be a mean over the replica's shard: a raw sum over the batch is
        split across the shards *and* divided, i.e. trained at 1/R of its TF1 value.
        """
        weight = [i for i, li in enumerate(self.new.losses) if li.kind in ("weight", "group")]
        activity = [i for i, li in enumerate(self.new.losses) if li.kind == "activity"]
        idx = weight + activity
        if not idx:
            return None
        tol = self.tol["regularization"]
        replicas = self.strategy.num_replicas_in_sync
        per_replica = [np.asarray(v, np.float64).ravel() for v in self.new.replica_reg_values(idx)]
        for r, values in enumerate(per_replica):
            for i, got in zip(weight, values[: len(weight)]):
                full = float(new_base[i])
                if _close(got, full, tol):
                    continue
                ratio = got / full if full else float("inf")
                if abs(ratio * replicas - 1.0) < 1e-3:
                    how = f"already divided by the {replicas} replicas inside the model"
                elif abs(ratio - replicas) < 1e-3 * replicas:
                    how = f"summed over the {replicas} replicas inside the model"
                else:
                    how = f"{ratio:.6g}x the cross-replica value"
                li = self.new.losses[i]
                return Diagnosis(dg.NOT_SCALED_PER_REPLICA, (
                    f"replica {r}: {li.label} (on {', '.join(li.variables)}) is {got:.9g} inside the replica but "
                    f"{full:.9g} outside ({how}): {dg.REPLICA_NOTE} — exactly once, so each replica's "
                    "model.losses must hold the full penalty"), li.variables[0] if li.variables else None)
        loose = {"rtol": max(tol["rtol"], 1e-5), "atol": tol["atol"]}
        for k, i in enumerate(activity):
            full = float(new_base[i])
            shards = [float(v[len(weight) + k]) for v in per_replica]
            if not _close(float(np.mean(shards)), full, loose) and _close(float(np.sum(shards)), full, loose):
                li = self.new.losses[i]
                return Diagnosis(dg.NOT_SCALED_PER_REPLICA, (
                    f"{li.label}: an activity penalty summed over the batch ({full:.9g}); each of the {replicas} "
                    f"replicas sums only its shard and the step divides it by {replicas} again, so it trains at "
                    f"1/{replicas} of the TF1 value. Make it a batch mean (activity_regularizer=, or "
                    "compat_reg.activity_regularize(..., reduction='batch_mean') on the TF1 side), or do not "
                    "scale it per replica"))
        return None

    def _diagnose_variable(self, o, n, op, np_, old_contribs, new_contribs, decay):
        frozen = not self.old.trainable[o] or not self.new.trainable[n]
        is_bias = _matching.leaf_kind(o) == "bias" or _matching.leaf_kind(n) == "bias"
        where = f"new/{n}"
        if op.kind != "none" and np_.kind == "none":
            if frozen:
                return Diagnosis(dg.FROZEN_ONE_SIDE, (
                    f"{where}: frozen (trainable=False) weight regularized on the TF1 side only "
                    f"({op.tf1()}, value {op.value:.6g}): {dg.FROZEN_NOTE}. Add its penalty with "
                    "compat_reg.keras.add_callable_loss, or run under tf_keras"), n)
            if is_bias:
                return Diagnosis(dg.BIAS_ONE_SIDE, (
                    f"{where}: bias regularized on the TF1 side only ({op.tf1()}): {dg.BIAS_NOTE}. "
                    f"Add bias_regularizer={_keras_equiv(op)} on the new side"), n)
            if op.kind == "l1_l2":
                return Diagnosis(dg.L1L2_DEFAULTS, (
                    f"{where}: TF1 {op.tf1()} but no penalty on the new side (Keras 3 L1L2() with default "
                    f"arguments is zero); {dg.L1L2_DEFAULTS_NOTE}. Use {_keras_equiv(op)} or compat_reg.to_keras"), n)
            return Diagnosis(dg.MISSING_REGULARIZER, (
                f"{where}: regularized on the TF1 side only ({op.tf1()}, value {op.value:.6g}); "
                f"use {_keras_equiv(op)} or compat_reg.to_keras on the new side"), n)
        if op.kind == "none" and np_.kind != "none":
            if frozen:
                return Diagnosis(dg.FROZEN_ONE_SIDE, (
                    f"{where}: frozen (trainable=False) weight regularized on the new side only "
                    f"({np_.keras()}), not in the TF1 collection: {dg.FROZEN_NOTE}. Remove the frozen "
                    "layer's regularizer (or regularize the TF1 variable too)"), n)
            if is_bias:
                return Diagnosis(dg.BIAS_ONE_SIDE, (
                    f"{where}: bias regularized on the new side only ({np_.keras()}) but not in TF1: "
                    f"{dg.BIAS_NOTE}. Remove the bias_regularizer"), n)
            return Diagnosis(dg.EXTRA_REGULARIZER, (
                f"{where}: regularized on the new side only ({np_.keras()}, value {np_.value:.6g}); "
                "the TF1 graph adds no penalty for it"), n)
        if op.kind in ("l1", "l2", "l1_l2") and np_.kind in ("l1", "l2", "l1_l2"):
            ratio = (np_.a * 1.0 + np_.b) / (op.a + op.b) if (op.a + op.b) else float("inf")
            if op.value:
                ratio = np_.value / op.value
            if len(new_contribs) >= 2 and len(old_contribs) <= 1 and abs(ratio - 2.0) < 1e-3:
                labels = ", ".join(lbl for lbl, _ in new_contribs)
                return Diagnosis(dg.COUNTED_TWICE, (
                    f"{where}: penalized twice on the new side ({labels}), {ratio:.1f}x the TF1 {op.tf1()}: "
                    f"{dg.COUNTED_TWICE_NOTE}"), n)
            same_l1 = abs(np_.a - op.a) <= COEFFICIENT_RTOL * max(op.a, np_.a, 1e-30)
            if op.b and same_l1 and abs(np_.b - 2 * op.b) <= COEFFICIENT_RTOL * np_.b:
                what = "is 2.0x" if op.kind == "l2" and np_.kind == "l2" else "has 2.0x the L2 part of"
                return Diagnosis(dg.L2_TWICE, (
                    f"{where}: Keras {np_.keras()} {what} the TF1 {op.tf1()}; use {_keras_equiv(op)} "
                    "or compat_reg.to_keras (TF1's l2 is scale * sum(w**2) / 2, Keras' is scale * sum(w**2))"), n)
            keras_defaults = abs(np_.a - 0.01) <= 1e-6 and abs(np_.b - 0.01) <= 1e-6
            if keras_defaults or "l1_l2" in (op.kind, np_.kind):
                return Diagnosis(dg.L1L2_DEFAULTS, (
                    f"{where}: Keras {np_.keras()} differs from the TF1 {op.tf1()} ({ratio:.6g}x); "
                    f"{dg.L1L2_DEFAULTS_NOTE}. Pass both coefficients explicitly: {_keras_equiv(op)} "
                    "or compat_reg.to_keras"), n)
            return Diagnosis(dg.COEFFICIENT, (
                f"{where}: Keras {np_.keras()} is {ratio:.6g}x the TF1 {op.tf1()}; use "
                f"{_keras_equiv(op)} or compat_reg.to_keras"), n)
        return Diagnosis(dg.COEFFICIENT, (
            f"{where}: penalty {np_.value:.9g} differs from TF1's {op.value:.9g} "
            f"(old {op.tf1()}, new {np_.keras()})"), n)

    # ---------------------------------------------------------------- forward
    def forward(self, stage):
        tol = self.tol["forward"]
        o, n = self.old.evaluate(), self.new.evaluate()
        self.first_eval = (o, n)
        diff = np.abs(np.asarray(o["outputs"], np.float64) - np.asarray(n["outputs"], np.float64))
        problems = []
        if not _close(n["outputs"], o["outputs"], tol):
            idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
            problems.append(
                f"outputs differ: max |new - old| = {diff.max():.3g} at index {tuple(int(i) for i in idx)} "
                f"(old {float(np.asarray(o['outputs'])[idx]):.9g}, new {float(np.asarray(n['outputs'])[idx]):.9g})"
            )
        if not _close(n["data"], o["data"], tol):
            problems.append(f"data loss differs: old {o['data']:.9g}, new {n['data']:.9g}")
        stage.details = problems + [f"data loss: old {o['data']:.9g}, new {n['data']:.9g}; max |output diff| {diff.max():.3g}"]
        if problems:
            stage.status, stage.summary = FAIL, problems[0]
            if self.training is False:
                stage.details.append(
                    "hint: the new model is called with training=False; a TF1 function built with "
                    "is_training=True (batch norm / dropout) needs training=True"
                )
            return
        stage.status = PASS
        stage.summary = f"outputs agree (max diff {diff.max():.2g}); data loss {o['data']:.6g}"

    # -------------------------------------------------------------- gradients
    def gradients(self, stage):
        tol = self.tol["gradients"]
        go, gn = self.old.gradients(), self.new.gradients()
        values = self.old.values()
        o2n = self.matching.old_to_new()
        problems, diagnoses = [], []
        self.old_grads = go
        for o, (d_o, r_o, t_o) in go.items():
            n = o2n[o]
            d_n, r_n, t_n = gn[n]
            if n in self.decay:  # decoupled decay's gradient-equivalent: wd * w
                r_n = r_n + self.decay[n] * values[o]
                t_n = t_n + self.decay[n] * values[o]
            for what, a, b in (("data", d_o, d_n), ("regularization", r_o, r_n), ("total", t_o, t_n)):
                if not _close(b, a, tol):
                    diff = np.abs(np.asarray(b, np.float64) - np.asarray(a, np.float64))
                    idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
                    problems.append(
                        f"{what} gradient of old {o!r} / new {n!r} differs at {tuple(int(i) for i in idx)}: "
                        f"old {float(np.asarray(a)[idx]):.9g}, new {float(np.asarray(b)[idx]):.9g}"
                    )
                    break
        stage.details = problems
        if problems:
            stage.status, stage.summary = FAIL, problems[0]
            return
        stage.status = PASS
        stage.summary = f"data / regularization / total gradients agree for {len(go)} trainable variables"

    # ------------------------------------------------------------------ steps
    def steps(self, stage):
        tol = self.tol["steps"]
        traj = {side: {"total": [], "data": [], "regularization": []} for side in ("old", "new")}
        self.result.trajectories = traj
        o2n = self.matching.old_to_new()
        self.result.info["optimizer_old"] = self.old.describe_optimizer()
        self.result.info["optimizer_new"] = self.new.describe_optimizer()
        lr_new = self.new.optimizer_learning_rate()
        problems, diagnoses = [], []
        before = self.old.values()
        for i in range(self.n_steps + 1):
            o, n = self.old.evaluate(), self.new.evaluate()
            ro = float(np.sum(o["reg_values"]))
            rn = float(np.sum(n["reg_values"])) + self._decay_penalty()
            for side, ev, r in (("old", o, ro), ("new", n, rn)):
                traj[side]["data"].append(ev["data"])
                traj[side]["regularization"].append(r)
                traj[side]["total"].append(ev["data"] + r)
            for what in ("total", "data", "regularization"):
                a, b = traj["old"][what][-1], traj["new"][what][-1]
                if not _close(b, a, tol):
                    problems.append(f"after {i} step(s): {what} loss old {a:.9g}, new {b:.9g}")
                    break
            if problems:
                break
            if i == self.n_steps:
                break
            self.old.step()
            self.new.step()
            if i == 0 and self.n_steps:
                d = self._diagnose_first_step(before, o2n, lr_new)
                if d:
                    diagnoses.append(d)
        if not problems and not diagnoses:
            wo, wn = self.old.values(), self.new.values()
            for o, n in o2n.items():
                if not _close(wn[n], wo[o], tol):
                    diff = np.abs(np.asarray(wn[n], np.float64) - np.asarray(wo[o], np.float64))
                    problems.append(f"after {self.n_steps} step(s) weight old {o!r} / new {n!r} differs by up to {diff.max():.3g}")
                    break
        stage.details = problems
        stage.diagnoses = diagnoses
        if problems or diagnoses:
            stage.status = FAIL
            stage.summary = problems[0] if problems else diagnoses[0].message.split(":")[0] + ": " + diagnoses[0].code
            return
        stage.status = PASS
        replicas = self.result.info.get("replicas", 1)
        scaled = (f"; {replicas} replicas: regularization scaled per replica (updates equal the "
                  "single-device TF1 step)") if replicas > 1 else ""
        stage.summary = (
            f"{self.n_steps} step(s): total/data/regularization loss agree at every step "
            f"(final total old {traj['old']['total'][-1]:.6g}, new {traj['new']['total'][-1]:.6g}){scaled}"
        )

    def record_trajectories(self):
        """Run the steps without comparing, for the plot of a failed check."""
        traj = {side: {"total": [], "data": [], "regularization": []} for side in ("old", "new")}
        for i in range(self.n_steps + 1):
            o, n = self.old.evaluate(), self.new.evaluate()
            for side, ev, r in (("old", o, float(np.sum(o["reg_values"]))),
                                ("new", n, float(np.sum(n["reg_values"])) + self._decay_penalty())):
                traj[side]["data"].append(ev["data"])
                traj[side]["regularization"].append(r)
                traj[side]["total"].append(ev["data"] + r)
            if i < self.n_steps:
                self.old.step()
                self.new.step()
        self.result.trajectories = traj
        self.result.info["trajectories"] = "recorded after the failure, not compared"

    def _decay_penalty(self):
        if not self.decay:
            return 0.0
        vals = self.new.values()
        return float(sum(wd / 2.0 * np.sum(np.square(np.asarray(vals[n], np.float64))) for n, wd in self.decay.items()))

    def _diagnose_first_step(self, before, o2n, lr_new):
        """After the first step: is the new update the old one plus (R - 1) x the regularization step?"""
        tol = self.tol["steps"]
        wo, wn = self.old.values(), self.new.values()
        if all(_close(wn[o2n[o]], wo[o], tol) for o in wo):
            return None
        num = den = 0.0
        resid = []
        for o, (d_o, r_o, t_o) in getattr(self, "old_grads", {}).items():
            diff = np.asarray(wn[o2n[o]], np.float64) - np.asarray(wo[o], np.float64)
            reg_step = -self.learning_rate * np.asarray(r_o, np.float64)
            num += float(np.sum(diff * reg_step))
            den += float(np.sum(reg_step * reg_step))
            resid.append((diff, reg_step))
        if den == 0.0:
            return None
        c = num / den
        fit_err = sum(float(np.sum((d - c * s) ** 2)) for d, s in resid)
        total = sum(float(np.sum(d ** 2)) for d, _ in resid)
        replicas = self.result.info.get("replicas", 1)
        if total and fit_err <= 1e-4 * total and abs(c - round(c)) < 1e-2 and round(c) >= 1:
            k = int(round(c)) + 1
            where = f" under {self.result.info['strategy']} with {replicas} replicas" if replicas > 1 else ""
            return Diagnosis(dg.NOT_SCALED_PER_REPLICA, (
                f"first step: the new side applied {k}x the TF1 regularization update{where}: the "
                f"regularization is not scaled per replica; {dg.REPLICA_NOTE}"))
        return None


# --------------------------------------------------------------------- probing


def _probe_side(side):
    """Per-variable penalties of one side, by probing its regularization losses.

    Returns ``(per_var, activity, other, base)``: ``per_var[name] = [(loss label,
    Penalty)]``; ``activity[label] = value``; ``other[label] = value`` for
    non-additive multi-variable penalties; ``base`` the losses' values at the
    copied weights.
    """
    base = side.reg_values()
    real = side.values()
    # A variable that is all zeros (a freshly initialized bias) hides its penalty's
    # coefficient: probe it at seeded non-zero values instead, then restore it.
    rng = np.random.default_rng(7)
    values = {n: (v if np.any(v) else rng.standard_normal(v.shape).astype(v.dtype)) for n, v in real.items()}
    zero = [n for n in real if not np.any(real[n])]
    if zero:
        side.assign({n: values[n] for n in zero})
        base = side.reg_values()
    per_var, activity, other = {}, {}, {}
    weight_idx = [i for i, li in enumerate(side.losses) if li.kind == "weight"]
    group_idx = [i for i, li in enumerate(side.losses) if li.kind == "group"]
    if weight_idx:
        probed = sorted({side.losses[i].variables[0] for i in weight_idx})
        p = {}
        for k in (2.0, 3.0):
            side.assign({v: values[v] * k for v in probed})
            p[k] = side.reg_values()
        side.assign({v: values[v] for v in probed})
        for i in weight_idx:
            v = side.losses[i].variables[0]
            s1, s2 = _penalties.sums(values[v])
            per_var.setdefault(v, []).append((side.losses[i].label, _penalties.fit(base[i], p[2.0][i], p[3.0][i], s1, s2)))
    if group_idx:
        members = sorted({v for i in group_idx for v in side.losses[i].variables},
                         key=lambda v: side.names.index(v))
        probes = {v: {} for v in members}
        for v in members:
            for k in (2.0, 3.0, 0.5):
                side.assign({v: values[v] * k})
                probes[v][k] = side.reg_values()
            side.assign({v: values[v]})
        for i in group_idx:
            li = side.losses[i]
            fits = []
            for v in li.variables:
                s1, s2 = _penalties.sums(values[v])
                fits.append((v, _penalties.fit_deltas(base[i], {k: probes[v][k][i] for k in probes[v]}, s1, s2)))
            additive = all(f.kind != "other" for _, f in fits) and abs(
                sum(f.value for _, f in fits) - base[i]) <= 1e-4 * max(abs(base[i]), 1e-30)
            if additive:
                for v, f in fits:
                    if f.kind != "none":
                        per_var.setdefault(v, []).append((li.label, f))
            else:
                other[li.label] = i  # filled with the value at the real weights below
    if zero:
        side.assign({n: real[n] for n in zero})
        base = side.reg_values()
        # Report values at the real weights: a * sum|w| + b * sum(w^2) of the real w.
        for v in zero:
            for _, p in per_var.get(v, []):
                p.value = 0.0
    other = {label: base[i] for label, i in other.items()}
    for i, li in enumerate(side.losses):
        if li.kind == "activity":
            activity[li.label] = base[i]
        elif li.kind == "constant":
            other[li.label] = base[i]
    return per_var, activity, other, base


def _same_coefficients(op, np_):
    if op.kind in ("other", "none") or np_.kind in ("other", "none"):
        return op.kind == np_.kind or (op.kind == "other" or np_.kind == "other")
    for x, y in ((op.a, np_.a), (op.b, np_.b)):
        if abs(x - y) > COEFFICIENT_RTOL * max(abs(x), abs(y)):
            return False
    return True


def _keras_equiv(op):
    """The Keras regularizer equal to a TF1 penalty (what compat_reg.to_keras returns)."""
    return op.keras()


def _decoupled_not_sgd(n, op, wd, optimizer):
    return Diagnosis(dg.DECOUPLED_WEIGHT_DECAY, (
        f"new/{n}: the optimizer's decoupled weight_decay={_g(wd)} stands in for the TF1 {op.tf1()}, but "
        f"{optimizer} is not plain SGD: decoupled decay equals an L2 penalty only for plain SGD (no "
        f"momentum, not Adam) with weight_decay equal to the TF1 l2_regularizer scale. Use "
        f"kernel_regularizer={op.keras() if op.kind != 'none' else 'None'} (compat_reg.to_keras) and "
        "no weight_decay"), n)


def _diagnose_activity(a_old, a_new, batch):
    ratio = a_new / a_old if a_old else float("inf")
    if batch > 1 and abs(ratio - batch) <= 1e-4 * batch:
        return Diagnosis(dg.ACTIVITY_BATCH, (
            f"activity penalty: new {a_new:.6g} is {batch}x (the batch size) the TF1 {a_old:.6g}: it is "
            f"divided by the batch on the TF1 side only. {dg.ACTIVITY_NOTE}. Divide the new penalty by the "
            "batch size (or use activity_regularizer=)"))
    if batch > 1 and a_new and abs(1.0 / ratio - batch) <= 1e-4 * batch:
        return Diagnosis(dg.ACTIVITY_BATCH, (
            f"activity penalty: new {a_new:.6g} is 1/{batch} (the batch size) of the TF1 {a_old:.6g}: it is "
            f"divided by the batch on the new side only. {dg.ACTIVITY_NOTE}. Add the raw sum with add_loss "
            "instead of activity_regularizer="))
    return Diagnosis(dg.ACTIVITY_MISMATCH, (
        f"activity penalties differ: TF1 {a_old:.9g}, new {a_new:.9g} (ratio {ratio:.6g})"))


def _diagnose_group(old_other, new_other):
    o_vals = sorted(old_other.values())
    n_vals = sorted(new_other.values())
    for v in set(n_vals):
        if n_vals.count(v) >= 2 and o_vals.count(v) < n_vals.count(v):
            return Diagnosis(dg.COUNTED_TWICE, (
                f"a multi-variable penalty of value {v:.6g} appears {n_vals.count(v)} times in model.losses "
                f"but {o_vals.count(v)} time(s) in the TF1 collection: {dg.COUNTED_TWICE_NOTE}"))
    return Diagnosis(dg.GROUP_MISMATCH, (
        f"custom multi-variable penalties differ: TF1 {', '.join(f'{k}={v:.6g}' for k, v in old_other.items()) or 'none'}; "
        f"new {', '.join(f'{k}={v:.6g}' for k, v in new_other.items()) or 'none'}"))
