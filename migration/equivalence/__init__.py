"""migration.equivalence: the staged numerical equivalence checker (TF1 graph vs Keras).

``check_equivalence(old, new, inputs=...)`` runs the stages build, variables,
regularization, forward, gradients and steps, stops at the first failing one and
says which and why (``CheckResult``; ``Diagnosis`` codes in ``diagnoses``).
"""

from . import diagnoses
from ._sides import UsageError
from .checker import DEFAULT_TOLERANCES
from .checker import check_equivalence
from .diagnoses import Diagnosis
from .result import STAGES
from .result import CheckResult
from .result import Stage

__all__ = [
    "CheckResult", "DEFAULT_TOLERANCES", "Diagnosis", "STAGES", "Stage", "UsageError",
    "check_equivalence", "diagnoses",
]
