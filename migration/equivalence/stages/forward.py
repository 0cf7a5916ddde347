"""Stage ``forward``: outputs and data loss at the copied weights."""

from .. import diagnoses as dg
from ..compare import close
from ..compare import worst
from ..result import FAIL
from ..result import PASS
from . import StageCheck


def run(ctx, record):
    tol = ctx.tol["forward"]
    o, n = ctx.old.evaluate(), ctx.new.evaluate()
    problems, diffs = [], []
    for head, old_out, new_out in _pairs(o["outputs"], n["outputs"]):
        diff, idx, new_at, old_at = worst(new_out, old_out)
        diffs.append(diff)
        if not close(new_out, old_out, tol):
            where = "outputs differ" if head is None else f"output {head!r} differs"
            problems.append(f"{where}: max |new - old| = {diff:.3g} at index {idx} (old {old_at:.9g}, "
                            f"new {new_at:.9g})")
    diff = max(diffs)
    if not close(n["data"], o["data"], tol):
        problems.append(f"data loss differs: old {o['data']:.9g}, new {n['data']:.9g}")
    record.details = problems + [f"data loss: old {o['data']:.9g}, new {n['data']:.9g}; max |output diff| {diff:.3g}"]
    if problems:
        record.status, record.summary = FAIL, problems[0]
        eps = dg.BatchNormEpsilonFacts(ctx.old.batch_norm_epsilons(), ctx.new.batch_norm_epsilons())
        if eps.differ:
            record.diagnoses = [dg.diagnose("forward", eps)]
        if ctx.spec.training is False:
            record.details.append(
                "hint: the new model is called with training=False; a TF1 function built with "
                "is_training=True (batch norm / dropout) needs training=True"
            )
        return
    record.status = PASS
    record.summary = f"outputs agree (max diff {diff:.2g}); data loss {o['data']:.6g}"


def _pairs(old, new):
    """``[(head, old output, new output)]``: one pair (head ``None``), or each head paired by name."""
    if not isinstance(old, dict):
        return [(None, old, new)]
    return [(h, old[h], new[h]) for h in old]


STAGE = StageCheck("forward", run)
