"""migration.equivalence: the staged numerical equivalence checker (TF1 graph vs Keras).

``check_equivalence(old, new, inputs=...)`` runs the stages (``stages/``: build,
variables, regularization, forward, gradients, steps, and statistics in training
mode) over two sides (``sides/``: the TF1 graph, the Keras model), stops at the
first failing stage and says which and why (``CheckResult``; ``Diagnosis`` codes
from the rule table in ``diagnoses``). ``optimizers`` holds the TF1 / Keras
optimizer table; ``checkpoint`` carries a TF1 checkpoint to the port.
"""

from . import diagnoses
from .checker import DEFAULT_TOLERANCES
from .checker import check_equivalence
from .diagnoses import Diagnosis
from .result import STAGES
from .result import CheckResult
from .result import Stage
from .sides import UsageError
from .sides import UserCodeError

__all__ = [
    "CheckResult", "DEFAULT_TOLERANCES", "Diagnosis", "STAGES", "Stage", "UsageError", "UserCodeError",
    "check_equivalence", "diagnoses",
]
