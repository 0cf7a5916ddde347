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
    diff, idx, new_at, old_at = worst(n["outputs"], o["outputs"])
    problems = []
    if not close(n["outputs"], o["outputs"], tol):
        problems.append(f"outputs differ: max |new - old| = {diff:.3g} at index {idx} (old {old_at:.9g}, new {new_at:.9g})")
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


STAGE = StageCheck("forward", run)
