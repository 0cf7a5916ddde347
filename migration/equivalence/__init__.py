"""migration.equivalence: the staged numerical equivalence checker (TF1 graph vs Keras).

``check_equivalence(old, new, inputs=...)`` runs the stages build, variables,
regularization, forward, gradients and steps, stops at the first failing one and
says which and why (``CheckResult``; ``Diagnosis`` codes in ``diagnoses``).
"""

from migration.equivalence import diagnoses
from migration.equivalence._sides import UsageError
from migration.equivalence.checker import DEFAULT_TOLERANCES
from migration.equivalence.checker import check_equivalence
from migration.equivalence.diagnoses import Diagnosis
from migration.equivalence.result import STAGES
from migration.equivalence.result import CheckResult
from migration.equivalence.result import Stage

__all__ = [
    "CheckResult", "DEFAULT_TOLERANCES", "Diagnosis", "STAGES", "Stage", "UsageError",
    "check_equivalence", "diagnoses",
]
