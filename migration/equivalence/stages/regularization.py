"""Stage ``regularization``: weights copied old -> new; per variable, which penalty each side applies.

Per matched variable: the penalty kind and coefficients on each side (probed,
``probing``), compared at rtol 1e-6; activity penalties as totals (each side's
per-layer split may differ); non-additive multi-variable penalties by value; under
a strategy, each replica's view of the penalties; then the totals
``add_n(REGULARIZATION_LOSSES)`` vs ``sum(model.losses)``. A divergence is explained
by ``diagnoses.diagnose``.

Decoupled weight decay of the new optimizer is not a loss, but for plain SGD its
step ``w -= lr * wd * w`` is the gradient step of ``(wd / 2) * sum(w^2)``, i.e. TF1
``l2_regularizer(wd)``: it is counted as that penalty (and handed to the later
stages as ``decay``); with any other optimizer it is the ``decoupled-weight-decay``
mistake.
"""

import numpy as np

from .. import _matching
from .. import _penalties
from .. import _structure
from .. import diagnoses as dg
from ..compare import close
from ..diagnoses import Diagnosis
from ..probing import probe_side
from ..probing import same_coefficients
from ..result import FAIL
from ..result import PASS
from . import StageCheck


def run(ctx, record):
    old, new, tol = ctx.old, ctx.new, ctx.tol["regularization"]
    o2n = ctx.matching.old_to_new()
    new.assign({o2n[o]: v for o, v in old.values().items()})
    new.ensure_optimizer()
    old_pen, old_act, old_other, old_base = probe_side(old)
    new_pen, new_act, new_other, new_base = probe_side(new)
    diagnoses, details, rows = [], [], []

    decay = new.weight_decay()
    plain = new.optimizer_is_plain_sgd()
    ctx.handoff["decay"] = decay if plain else {}
    values = old.values()
    decay_value = 0.0
    for o, n in o2n.items():
        op = _penalties.combine([p for _, p in old_pen.get(o, [])])
        contribs = new_pen.get(n, [])
        np_ = _penalties.combine([p for _, p in contribs])
        if n in decay:
            _, s2 = _penalties.sums(values[o])
            dp = _penalties.Penalty("l2", b=decay[n] / 2.0, value=decay[n] / 2.0 * s2)
            if plain:
                decay_value += dp.value
                np_ = _penalties.combine([np_, dp])
        ok = close(np_.value, op.value, tol) and same_coefficients(op, np_)
        rows.append({
            "old": o, "new": n,
            "old_penalty": op.tf1(), "new_penalty": np_.keras() + (" (weight decay)" if n in decay else ""),
            "old_value": op.value, "new_value": np_.value, "ok": bool(ok and (n not in decay or plain)),
            "old_sources": [lbl for lbl, _ in old_pen.get(o, [])],
            "new_sources": [lbl for lbl, _ in contribs] + (["optimizer weight_decay"] if n in decay else []),
            "trainable": old.trainable[o],
        })
        if n in decay and not plain:
            diagnoses.append(_decoupled_not_sgd(n, op, decay[n], new.describe_optimizer()))
            continue
        if not ok:
            diagnoses.append(dg.diagnose("variable", dg.VariableFacts(
                o, n, op, np_, old_pen.get(o, []), contribs,
                frozen=not old.trainable[o] or not new.trainable[n],
                is_bias=_matching.leaf_kind(o) == "bias" or _matching.leaf_kind(n) == "bias")))
        kinds = [(p.kind, round(p.a, 12), round(p.b, 12)) for _, p in old_pen.get(o, [])]
        if len(kinds) != len(set(kinds)):
            details.append(
                f"note: old {o!r} is regularized by {len(old_pen[o])} collection entries "
                f"with the same penalty ({', '.join(l for l, _ in old_pen[o])}); that is what TF1 trained with. "
                f"{dg.COUNTED_TWICE_NOTE}"
            )
    ctx.result.regularization = rows

    a_old, a_new = sum(old_act.values()), sum(new_act.values())
    if not close(a_new, a_old, tol):
        diagnoses.append(dg.diagnose("activity", dg.ActivityFacts(a_old, a_new, _structure.batch_size(ctx.spec.inputs))))
    if not close(sum(new_other.values()), sum(old_other.values()), tol):
        diagnoses.append(dg.diagnose("group", dg.GroupFacts(old_other, new_other)))
    strategy = ctx.spec.strategy
    if strategy is not None and not diagnoses:
        d = _check_replica_penalties(new, new_base, strategy, tol)
        if d is not None:
            diagnoses.append(d)
        else:
            details.append(
                f"each of the {strategy.num_replicas_in_sync} replicas sees the full weight penalties "
                "(divided by the replica count once, in the step)"
            )
    t_old = float(np.sum(old_base)) if len(old_base) else 0.0
    t_new = (float(np.sum(new_base)) if len(new_base) else 0.0) + decay_value
    ctx.handoff["reg_totals"] = (t_old, t_new)
    details.insert(0, f"total: add_n(REGULARIZATION_LOSSES) = {t_old:.9g}, sum(model.losses)"
                      f"{' + weight decay' if decay_value else ''} = {t_new:.9g}")
    details.insert(1, f"activity penalties: old {a_old:.9g}, new {a_new:.9g}")
    if not close(t_new, t_old, tol) and not diagnoses:
        diagnoses.append(Diagnosis(
            dg.TOTAL_MISMATCH,
            f"regularization totals differ: TF1 collection {t_old:.9g}, Keras model.losses {t_new:.9g} "
            f"(ratio {t_new / t_old if t_old else float('inf'):.6g}) although every variable's penalty matches; "
            "look for a loss added outside the variables' regularizers",
        ))
    record.diagnoses, record.details = diagnoses, details
    if diagnoses:
        record.status = FAIL
        record.summary = f"{len(diagnoses)} divergence(s); first: {diagnoses[0].variable or 'total'} [{diagnoses[0].code}]"
        return
    record.status = PASS
    note = " (weight decay counted as its equivalent L2 under plain SGD)" if decay_value else ""
    record.summary = (
        f"{sum(1 for r in rows if r['old_penalty'] != 'no regularizer')} regularized variables agree; "
        f"total {t_old:.6g} vs {t_new:.6g}{note}"
    )


def _decoupled_not_sgd(n, op, wd, optimizer):
    return Diagnosis(dg.DECOUPLED_WEIGHT_DECAY, (
        f"new/{n}: the optimizer's decoupled weight_decay={_penalties._g(wd)} stands in for the TF1 {op.tf1()}, "
        f"but {optimizer} is not plain SGD: decoupled decay equals an L2 penalty only for plain SGD (no "
        f"momentum, not Adam) with weight_decay equal to the TF1 l2_regularizer scale. Use "
        f"kernel_regularizer={op.keras() if op.kind != 'none' else 'None'} (compat_reg.to_keras) and "
        "no weight_decay"), n)


def _check_replica_penalties(new, new_base, strategy, tol):
    """Inside each replica: weight penalties must be full; activity penalties batch means.

    Each replica's ``model.losses`` are divided by the replica count once (in the
    step), so a weight penalty must hold its full value there, and an activity
    penalty must be a mean over the replica's shard: a raw sum over the batch is
    split across the shards *and* divided, i.e. trained at 1/R of its TF1 value.
    """
    weight = [i for i, li in enumerate(new.losses) if li.kind in ("weight", "group")]
    activity = [i for i, li in enumerate(new.losses) if li.kind == "activity"]
    if not weight + activity:
        return None
    replicas = strategy.num_replicas_in_sync
    per_replica = [np.asarray(v, np.float64).ravel() for v in new.replica_reg_values(weight + activity)]
    for r, values in enumerate(per_replica):
        for i, got in zip(weight, values[: len(weight)]):
            full = float(new_base[i])
            if close(got, full, tol):
                continue
            ratio = got / full if full else float("inf")
            if abs(ratio * replicas - 1.0) < 1e-3:
                how = f"already divided by the {replicas} replicas inside the model"
            elif abs(ratio - replicas) < 1e-3 * replicas:
                how = f"summed over the {replicas} replicas inside the model"
            else:
                how = f"{ratio:.6g}x the cross-replica value"
            li = new.losses[i]
            return Diagnosis(dg.NOT_SCALED_PER_REPLICA, (
                f"replica {r}: {li.label} (on {', '.join(li.variables)}) is {got:.9g} inside the replica but "
                f"{full:.9g} outside ({how}): {dg.REPLICA_NOTE} — exactly once, so each replica's "
                "model.losses must hold the full penalty"), li.variables[0] if li.variables else None)
    loose = {"rtol": max(tol["rtol"], 1e-5), "atol": tol["atol"]}
    for k, i in enumerate(activity):
        full = float(new_base[i])
        shards = [float(v[len(weight) + k]) for v in per_replica]
        if not close(float(np.mean(shards)), full, loose) and close(float(np.sum(shards)), full, loose):
            return Diagnosis(dg.NOT_SCALED_PER_REPLICA, (
                f"{new.losses[i].label}: an activity penalty summed over the batch ({full:.9g}); each of the "
                f"{replicas} replicas sums only its shard and the step divides it by {replicas} again, so it "
                f"trains at 1/{replicas} of the TF1 value. Make it a batch mean (activity_regularizer=, or "
                "compat_reg.activity_regularize(..., reduction='batch_mean') on the TF1 side), or do not "
                "scale it per replica"))
    return None


STAGE = StageCheck("regularization", run)
