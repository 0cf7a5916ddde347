"""The checker's stages, in order; each module holds one and exposes ``STAGE``.

A stage is ``StageCheck(name, run)``: ``run(ctx, record)`` reads the ``Context``
(sides, matching, tolerances, what earlier stages handed over) and fills its
``result.Stage`` record (``status``, ``summary``, ``details``, ``diagnoses``). It
talks to the sides only through ``sides.Side`` / ``sides.NewSide``, so a side in a
child process needs no change here. ``pipeline(training)`` is the order the checker
runs them in (``build``, ``variables``, ``regularization``, ``forward``, ``gradients``,
``steps``, then ``statistics`` in training mode); it stops at the first one that does
not pass.
"""

import dataclasses
import typing


@dataclasses.dataclass(frozen=True)
class StageCheck:
    """One stage: its ``name`` (in ``result.STAGES``) and ``run(ctx, record) -> None``."""

    name: str
    run: typing.Callable


def pipeline(training=False):
    """The stages of a check, in order (``statistics`` only in training mode)."""
    from . import build, forward, gradients, regularization, steps, variables

    stages = [build.STAGE, variables.STAGE, regularization.STAGE, forward.STAGE, gradients.STAGE, steps.STAGE]
    if training:
        from . import statistics

        stages.append(statistics.STAGE)
    return stages
