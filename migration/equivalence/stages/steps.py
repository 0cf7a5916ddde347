"""Stage ``steps``: N optimizer steps on both sides from the same weights and data.

Total / data / regularization loss compared before each step and after the last,
then every weight. When the new optimizer follows a Keras ``LearningRateSchedule``,
the old side is fed the same rate at each step. The new optimizer's configuration
is then held against the TF1 one (``diagnoses`` scope ``optimizer``): a convention
trap fails the stage with its named diagnosis even when the trajectories agree
within tolerance on these inputs (a different epsilon shows on other data). After the first
step, a new update that is the old one plus ``(R - 1)`` times the regularization
step is the ``not-scaled-per-replica`` mistake. Under a multi-replica strategy on a Keras
whose multi-replica step is not its one-device step (Keras 3 < 3.8, upstream), a failure is
led by ``keras-replica-steps``, which names that Keras behaviour.
"""

import numpy as np

from .. import diagnoses as dg
from ..compare import close
from ..diagnoses import Diagnosis
from ..result import FAIL
from ..result import PASS
from . import StageCheck


def _decay_penalty(ctx):
    """The L2 equivalent ``(wd / 2) * sum(w^2)`` of decoupled weight decay under plain SGD."""
    if not ctx.decay:
        return 0.0
    vals = ctx.new.values()
    return float(sum(wd / 2.0 * np.sum(np.square(np.asarray(vals[n], np.float64))) for n, wd in ctx.decay.items()))


def _record(ctx, traj):
    o, n = ctx.old.evaluate(), ctx.new.evaluate()
    for side, ev, r in (("old", o, float(np.sum(o["reg_values"]))),
                        ("new", n, float(np.sum(n["reg_values"])) + _decay_penalty(ctx))):
        traj[side]["data"].append(ev["data"])
        traj[side]["regularization"].append(r)
        traj[side]["total"].append(ev["data"] + r)


def _step_both(ctx):
    ctx.old.step(learning_rate=ctx.new.scheduled_learning_rate())
    ctx.new.step()


def _empty():
    return {side: {"total": [], "data": [], "regularization": []} for side in ("old", "new")}


def run(ctx, record):
    tol, n_steps = ctx.tol["steps"], ctx.spec.steps
    traj = _empty()
    ctx.result.trajectories = traj
    o2n = ctx.matching.old_to_new()
    ctx.result.info["optimizer_old"] = ctx.old.describe_optimizer()
    ctx.result.info["optimizer_new"] = ctx.new.describe_optimizer()
    problems, diagnoses = [], []
    facts = _optimizer_facts(ctx) if n_steps else None
    if ctx.spec.training:  # for the statistics stage: how far the steps moved the moving statistics
        ctx.handoff["statistics_before"] = {o: v for o, v in ctx.old.values().items() if not ctx.old.trainable[o]}
    for i in range(n_steps + 1):
        _record(ctx, traj)
        for what in ("total", "data", "regularization"):
            a, b = traj["old"][what][-1], traj["new"][what][-1]
            if not close(b, a, tol):
                problems.append(f"after {i} step(s): {what} loss old {a:.9g}, new {b:.9g}")
                break
        if problems or i == n_steps:
            break
        _step_both(ctx)
        if i == 0:
            d = _diagnose_first_step(ctx, o2n)
            if d:
                diagnoses.append(d)
    if not problems and not diagnoses:
        wo, wn = ctx.old.values(), ctx.new.values()
        for o, n in o2n.items():
            if ctx.spec.training and not ctx.old.trainable[o]:
                continue  # moving statistics: compared by the statistics stage, with their diagnoses
            if not close(wn[n], wo[o], tol):
                diff = np.abs(np.asarray(wn[n], np.float64) - np.asarray(wo[o], np.float64))
                problems.append(f"after {n_steps} step(s) weight old {o!r} / new {n!r} differs by up to {diff.max():.3g}")
                break
    traps = dg.diagnose("optimizer", facts, every=True) if facts is not None else []
    upstream = dg.keras_replica_steps(ctx.result.info.get("strategy"), ctx.result.info.get("replicas", 1))
    if upstream and (problems or diagnoses):
        diagnoses.insert(0, upstream)  # the cause that comes first: no port could pass here
    record.details = problems
    record.diagnoses = diagnoses + traps
    if problems or diagnoses:
        record.status = FAIL
        record.summary = problems[0] if problems else diagnoses[0].message.split(":")[0] + ": " + diagnoses[0].code
        return
    if traps:
        record.status = FAIL
        record.summary = (f"the optimizers' conventions differ [{', '.join(d.code for d in traps)}], although "
                          f"the {n_steps}-step trajectories agree within rtol {tol['rtol']:g} on these inputs")
        return
    record.status = PASS
    replicas = ctx.result.info.get("replicas", 1)
    scaled = (f"; {replicas} replicas: regularization scaled per replica (updates equal the "
              "single-device TF1 step)") if replicas > 1 else ""
    record.summary = (
        f"{n_steps} step(s): total/data/regularization loss agree at every step "
        f"(final total old {traj['old']['total'][-1]:.6g}, new {traj['new']['total'][-1]:.6g}){scaled}"
    )


def _optimizer_facts(ctx):
    """The TF1 optimizer against the new one's config, measured before the first step."""
    config = ctx.new.optimizer_config()
    velocity = None
    if ctx.spec.optimizer.name == "rmsprop" and config["class"] == "RMSprop":
        values = ctx.new.slot_values("velocity")
        if values is not None and values.size:
            velocity = float(values[0]) if np.all(values == values[0]) else float(np.mean(values))
    return dg.OptimizerFacts(ctx.spec.optimizer, config["class"], config, velocity)


def record_trajectories(ctx):
    """Run the steps without comparing, for the plot of a failed check."""
    traj = _empty()
    for i in range(ctx.spec.steps + 1):
        _record(ctx, traj)
        if i < ctx.spec.steps:
            _step_both(ctx)
    ctx.result.trajectories = traj
    ctx.result.info["trajectories"] = "recorded after the failure, not compared"


def _diagnose_first_step(ctx, o2n):
    """After the first step: is the new update the old one plus (R - 1) x the regularization step?"""
    tol = ctx.tol["steps"]
    wo, wn = ctx.old.values(), ctx.new.values()
    if all(close(wn[o2n[o]], wo[o], tol) for o in wo):
        return None
    num = den = 0.0
    resid = []
    lr = ctx.spec.optimizer.learning_rate
    for o, (_, r_o, _) in ctx.handoff.get("old_grads", {}).items():
        diff = np.asarray(wn[o2n[o]], np.float64) - np.asarray(wo[o], np.float64)
        reg_step = -lr * np.asarray(r_o, np.float64)
        num += float(np.sum(diff * reg_step))
        den += float(np.sum(reg_step * reg_step))
        resid.append((diff, reg_step))
    if den == 0.0:
        return None
    c = num / den
    fit_err = sum(float(np.sum((d - c * s) ** 2)) for d, s in resid)
    total = sum(float(np.sum(d ** 2)) for d, _ in resid)
    replicas = ctx.result.info.get("replicas", 1)
    if total and fit_err <= 1e-4 * total and abs(c - round(c)) < 1e-2 and round(c) >= 1:
        k = int(round(c)) + 1
        where = f" under {ctx.result.info['strategy']} with {replicas} replicas" if replicas > 1 else ""
        return Diagnosis(dg.NOT_SCALED_PER_REPLICA, (
            f"first step: the new side applied {k}x the TF1 regularization update{where}: the "
            f"regularization is not scaled per replica; {dg.REPLICA_NOTE}"))
    return None


STAGE = StageCheck("steps", run)
