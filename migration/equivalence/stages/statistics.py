"""Stage ``statistics`` (training mode only): batch-norm moving statistics after the steps, variable by variable.

The old side ran ``UPDATE_OPS`` with each train op, as TF1 code does; Keras
updates the statistics inside each ``training=True`` call. Every matched
non-trainable variable is compared after the N steps (rtol of ``steps``). When one
differs, each side's update factor is measured by probing (the statistics set to 0,
then to 1, one update each: ``moving <- f * moving + (1 - f) * batch``) and the
rule table names the cause: a forgotten update, ``momentum = 1 - decay``, or a
different momentum.
"""

import numpy as np

from .. import diagnoses as dg
from ..compare import close
from ..result import FAIL
from ..result import PASS
from . import StageCheck


def _factors(side, names):
    """``{name: (f, batch)}``: each statistic's update factor and the batch value it moves towards.

    From 0 one update gives ``(1 - f) * batch``; from 1, ``f + (1 - f) * batch``. The state is
    restored afterwards.
    """
    saved = side.values()
    after = {}
    for probe in (0.0, 1.0):
        side.assign({n: np.full(saved[n].shape, probe, saved[n].dtype) for n in names})
        side.update_statistics()
        now = side.values()
        after[probe] = {n: np.asarray(now[n], np.float64) for n in names}
    side.assign(saved)
    out = {}
    for n in names:
        f = float(np.mean(after[1.0][n] - after[0.0][n]))
        batch = after[0.0][n] / (1.0 - f) if f < 1.0 else np.zeros_like(after[0.0][n])
        out[n] = (f, batch)
    return out


def _max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def _ratio(new, old):
    """Mean of ``new / old`` over the elements where ``old`` is not ~0 (1.0 when none)."""
    new, old = np.asarray(new, np.float64).ravel(), np.asarray(old, np.float64).ravel()
    keep = np.abs(old) > 1e-6
    return float(np.mean(new[keep] / old[keep])) if np.any(keep) else 1.0


def run(ctx, record):
    tol = ctx.tol["steps"]
    old, new = ctx.old, ctx.new
    pairs = [(o, n) for o, n in ctx.matching.old_to_new().items() if not old.trainable[o]]
    if not pairs:
        record.status, record.summary = PASS, "no non-trainable variables (no moving statistics) to compare"
        return
    wo, wn = old.values(), new.values()
    bad = [(o, n) for o, n in pairs if not close(wn[n], wo[o], tol)]
    before = ctx.handoff.get("statistics_before", {})
    record.details = [
        f"{o} / {n}: max |new - old| {_max_abs(wn[n], wo[o]):.3g}; the steps moved it by up to "
        f"{_max_abs(wo[o], before.get(o, wo[o])):.3g}" for o, n in pairs]
    if not bad:
        record.status = PASS
        record.summary = (f"{len(pairs)} moving statistics agree after {ctx.spec.steps} step(s) "
                          "(TF1 UPDATE_OPS vs Keras training-mode updates)")
        return
    f_old = _factors(old, [o for o, _ in bad])
    f_new = _factors(new, [n for _, n in bad])
    record.diagnoses = [
        dg.diagnose("statistics", dg.StatisticsFacts(
            o, n, f_old[o][0], f_new[n][0], float(np.mean(wo[o])), float(np.mean(wn[n])),
            _ratio(f_new[n][1], f_old[o][1])))
        for o, n in bad
    ]
    record.status = FAIL
    record.summary = (f"{len(bad)} of {len(pairs)} moving statistics differ after {ctx.spec.steps} step(s); "
                      f"first: {bad[0][1]} [{record.diagnoses[0].code}]")


STAGE = StageCheck("statistics", run)
