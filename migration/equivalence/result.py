"""The checker's result: stages in order, the first failure and why, JSON and a table."""

import dataclasses
import json

STAGES = ("build", "variables", "regularization", "forward", "gradients", "steps")
# Of the JSON report (docs/schemas/check_report.schema.json); bump on an incompatible change.
SCHEMA_VERSION = 1
PASS, FAIL, SKIPPED = "pass", "fail", "skipped"


@dataclasses.dataclass
class Stage:
    """One stage: ``status`` is ``pass``, ``fail`` or ``skipped``; ``summary`` one line; ``details`` rows."""

    name: str
    status: str = SKIPPED
    summary: str = ""
    details: list = dataclasses.field(default_factory=list)
    diagnoses: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self):
        return {
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "details": list(self.details),
            "diagnoses": [d.to_dict() for d in self.diagnoses],
            "seconds": round(self.seconds, 4),
        }


@dataclasses.dataclass
class CheckResult:
    """What ``check_equivalence`` returns.

    Attributes:
      equivalent: every stage passed.
      stages: the six stages in order (later ones ``skipped`` after a failure).
      failed_stage: the name of the first failing stage, or ``None``.
      tolerances: ``{stage: {"rtol": .., "atol": ..}}`` used.
      variables: ``[(old, new, how)]`` pairs.
      regularization: per-variable rows (old/new penalty, coefficient, value).
      trajectories: ``{"old"|"new": {"total"|"data"|"regularization": [...]}}``.
      info: flavor, versions, optimizers, inputs shape, strategy.
    """

    stages: list
    tolerances: dict
    variables: list = dataclasses.field(default_factory=list)
    regularization: list = dataclasses.field(default_factory=list)
    trajectories: dict = dataclasses.field(default_factory=dict)
    info: dict = dataclasses.field(default_factory=dict)

    @property
    def equivalent(self):
        return all(s.status == PASS for s in self.stages)

    @property
    def failed_stage(self):
        for s in self.stages:
            if s.status == FAIL:
                return s.name
        return None

    def stage(self, name):
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(f"no stage {name!r}; stages are {STAGES}")

    @property
    def diagnoses(self):
        return [d for s in self.stages for d in s.diagnoses]

    @property
    def reason(self):
        """The first failing stage's summary and first diagnosis, or ``""``."""
        name = self.failed_stage
        if name is None:
            return ""
        s = self.stage(name)
        first = s.diagnoses[0].message if s.diagnoses else (s.details[0] if s.details else "")
        return f"{s.summary}" + (f" — {first}" if first else "")

    def to_dict(self):
        return {
            "schema_version": SCHEMA_VERSION,
            "equivalent": self.equivalent,
            "failed_stage": self.failed_stage,
            "reason": self.reason,
            "tolerances": self.tolerances,
            "stages": [s.to_dict() for s in self.stages],
            "variables": [{"old": o, "new": n, "how": h} for o, n, h in self.variables],
            "regularization": self.regularization,
            "trajectories": self.trajectories,
            "info": self.info,
        }

    def to_json(self, indent=2):
        return json.dumps(self.to_dict(), indent=indent, default=_json_default)

    def format_table(self):
        """A readable report: stages, then the per-variable regularization table, then the verdict."""
        lines = []
        info = self.info
        if info:
            lines.append(
                f"old: {info.get('old', '?')}   new: {info.get('new', '?')}   "
                f"keras: {info.get('flavor', '?')} {info.get('keras_version', '')}"
                + (f"   strategy: {info['strategy']}" if info.get("strategy") else "")
            )
            if info.get("new_backend"):
                lines.append(f"new side on Keras 3 backend: {info['new_backend']['description']}")
        lines.append(f"{'stage':<15}{'status':<9}{'time':>7}  summary")
        for s in self.stages:
            lines.append(f"{s.name:<15}{s.status.upper():<9}{s.seconds:>6.2f}s  {s.summary}")
        if self.regularization:
            lines.append("")
            lines.append("regularization per variable (old TF1 -> new Keras, values at the copied weights):")
            w_old = max([len(r["old"]) for r in self.regularization] + [3])
            lines.append(f"  {'old':<{w_old}}  {'TF1 penalty':<34} {'new penalty':<34} {'old value':>12} {'new value':>12}  ok")
            for r in self.regularization:
                lines.append(
                    f"  {r['old']:<{w_old}}  {r['old_penalty']:<34} {r['new_penalty']:<34} "
                    f"{r['old_value']:>12.6g} {r['new_value']:>12.6g}  {'yes' if r['ok'] else 'NO'}"
                )
        for s in self.stages:
            if s.status == FAIL:
                lines.append("")
                lines.append(f"FAILED at stage '{s.name}': {s.summary}")
                for d in s.diagnoses:
                    lines.append(f"  [{d.code}] {d.message}")
                for row in s.details[:12]:
                    lines.append(f"  - {row}")
                if len(s.details) > 12:
                    lines.append(f"  ... {len(s.details) - 12} more in the JSON report")
        tol = ", ".join(f"{k} rtol={v['rtol']:g} atol={v['atol']:g}" for k, v in self.tolerances.items())
        lines.append("")
        lines.append(f"tolerances: {tol}")
        lines.append("EQUIVALENT" if self.equivalent else f"NOT EQUIVALENT (first failing stage: {self.failed_stage})")
        return "\n".join(lines)

    def __str__(self):
        return self.format_table()


def _json_default(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(o)
