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

# compat_reg.Regularizer subclasses that to_keras cannot convert exactly: {class: (make an instance, why)}.
# A class listed here must not have a case, and its instance must really raise NoExactKerasEquivalent.
NO_KERAS_EQUIVALENT = {}


def regularizer_classes(base):
    """Every public subclass of ``base`` (private bases such as ``_ScaledNormRegularizer`` are never instantiated)."""
    out, stack = set(), [base]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if not sub.__name__.startswith("_"):
                out.add(sub)
    return out


def coverage_problems(classes, covered, allowlist):
    """What breaks the golden-table rule, one message each (empty when the table is complete).

    * a class neither covered by a case nor allowlisted;
    * an allowlisted class that has a case (the allowlist may not contain a tested class).
    """
    problems = []
    for cls in sorted(classes, key=lambda c: c.__name__):
        if cls in allowlist and cls in covered:
            problems.append(f"{cls.__name__} is allowlisted as having no Keras equivalent but has a case")
        elif cls not in allowlist and cls not in covered:
            problems.append(f"compat_reg.to_keras converts {cls.__name__} but no equivalence case uses it")
    return problems
