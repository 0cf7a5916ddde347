"""The registered table of equivalence cases, as the tests see it.

The table itself lives in ``migration/equivalence/cases.py`` so that
``compat-reg selftest`` can run it on a user's install; this module re-exports it
and adds the coverage bookkeeping (Sonnet-style golden table): every conversion
``compat_reg.to_keras`` supports must have a pass case, and the allowlist of
regularizer classes without an exact Keras equivalent may not contain a class
that has a case.
"""

from migration.equivalence.cases import CONV_SHAPE  # noqa: F401
from migration.equivalence.cases import DENSE_SHAPE  # noqa: F401
from migration.equivalence.cases import MECHANISMS  # noqa: F401
from migration.equivalence.cases import REGULARIZER_KINDS  # noqa: F401
from migration.equivalence.cases import Case  # noqa: F401
from migration.equivalence.cases import all_cases
from migration.equivalence.cases import outcome  # noqa: F401

CASES = all_cases()
CASE_IDS = [c.id for c in CASES]
PASS_CASES = [c for c in CASES if c.expect == "pass"]
DIAGNOSIS_CASES = [c for c in CASES if c.expect != "pass"]

# compat_reg.Regularizer subclasses that to_keras cannot convert exactly, with why.
# A class listed here must not have a case (and must really be unconvertible).
NO_KERAS_EQUIVALENT = {}
