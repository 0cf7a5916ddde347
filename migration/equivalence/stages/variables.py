"""Stage ``variables``: old variables matched to new weights; unmatched names, shapes and ``trainable``."""

from .. import _matching
from ..result import FAIL
from ..result import PASS
from . import StageCheck


def run(ctx, record):
    old, new = ctx.old, ctx.new
    m = _matching.match(old, new, ctx.spec.weight_map)
    ctx.matching = m
    ctx.result.variables = list(m.pairs)
    problems = list(m.errors)
    if m.unmatched_old:
        problems.append("old variables with no match in the new model: " + ", ".join(m.unmatched_old))
    if m.unmatched_new:
        problems.append("new weights with no match in the old graph: " + ", ".join(m.unmatched_new))
    for o, n, _ in m.pairs:
        if old.trainable[o] != new.trainable[n]:
            problems.append(
                f"trainable differs: old {o!r} trainable={old.trainable[o]}, new {n!r} trainable={new.trainable[n]}"
            )
    record.details = problems + [f"ambiguous: {a}" for a in m.ambiguities] + [
        f"{o} -> {n} ({how})" for o, n, how in m.pairs
    ]
    if problems:
        record.status = FAIL
        record.summary = problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)"
        return
    record.status = PASS
    record.summary = f"{len(m.pairs)} pairs matched" + (
        f", {len(m.ambiguities)} ambiguous (see details)" if m.ambiguities else ""
    )


STAGE = StageCheck("variables", run)
