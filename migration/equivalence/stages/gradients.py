"""Stage ``gradients``: per trainable variable, the gradient of the data loss, of the regularization, of the total.

Decoupled weight decay accepted as L2 (plain SGD) adds its gradient-equivalent
``wd * w`` to the new side's regularization and total gradients.
"""

from ..compare import close
from ..compare import worst
from ..result import FAIL
from ..result import PASS
from . import StageCheck


def run(ctx, record):
    tol = ctx.tol["gradients"]
    go, gn = ctx.old.gradients(), ctx.new.gradients()
    values = ctx.old.values()
    o2n = ctx.matching.old_to_new()
    ctx.handoff["old_grads"] = go
    problems = []
    for o, (d_o, r_o, t_o) in go.items():
        n = o2n[o]
        d_n, r_n, t_n = gn[n]
        if n in ctx.decay:
            r_n = r_n + ctx.decay[n] * values[o]
            t_n = t_n + ctx.decay[n] * values[o]
        for what, a, b in (("data", d_o, d_n), ("regularization", r_o, r_n), ("total", t_o, t_n)):
            if not close(b, a, tol):
                _, idx, b_at, a_at = worst(b, a)
                problems.append(
                    f"{what} gradient of old {o!r} / new {n!r} differs at {idx}: old {a_at:.9g}, new {b_at:.9g}"
                )
                break
    record.details = problems
    if problems:
        record.status, record.summary = FAIL, problems[0]
        return
    record.status = PASS
    record.summary = f"data / regularization / total gradients agree for {len(go)} trainable variables"


STAGE = StageCheck("gradients", run)
