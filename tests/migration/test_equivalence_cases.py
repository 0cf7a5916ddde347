"""The registered equivalence cases: pass cases pass, faulty ports are caught with their message.

Runs under the active Keras flavor; ``make test`` runs it under Keras 3 and tf_keras.
"""

import pytest

import compat_reg
from compat_reg import _flavor
from compat_reg import regularizers as regs_mod
from migration.equivalence import diagnoses as dg
from tests.migration.equivalence_cases import CASES
from tests.migration.equivalence_cases import CASE_IDS
from tests.migration.equivalence_cases import DIAGNOSIS_CASES
from tests.migration.equivalence_cases import NO_KERAS_EQUIVALENT
from tests.migration.equivalence_cases import PASS_CASES
from tests.migration.equivalence_cases import coverage_problems
from tests.migration.equivalence_cases import outcome
from tests.migration.equivalence_cases import regularizer_classes

_RESULTS = {}


def _result(case):
    """The case's ``CheckResult``, computed once per module: ``test_case`` and
    ``test_diagnosis_is_first_and_named`` assert different parts of the same report of a
    failing case (each check builds a fresh graph and model, so a second run is the same report)."""
    if case.id not in _RESULTS:
        _RESULTS[case.id] = case.run()
    return _RESULTS[case.id]


@pytest.mark.keras
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_case(case):
    result = _result(case)
    ok, what = outcome(case, result)
    assert ok, f"{case.id} under {_flavor.name()}: {what}\n{result.format_table()}"
    if case.expect == "pass":
        assert [s.status for s in result.stages] == ["pass"] * 6


@pytest.mark.keras
@pytest.mark.parametrize("case", DIAGNOSIS_CASES, ids=[c.id for c in DIAGNOSIS_CASES])
def test_diagnosis_is_first_and_named(case):
    """The failing stage's diagnoses start with the registered one for the faulty variable."""
    result = _result(case)
    stage = result.stage(case.stage)
    assert stage.status == "fail"
    assert stage.diagnoses[0].code == case.expect, [d.code for d in stage.diagnoses]
    names = [s.name for s in result.stages]
    for s in result.stages[names.index(case.stage) + 1:]:
        assert s.status == "skipped"


def test_every_to_keras_conversion_has_a_case():
    """Sonnet-style coverage: each Regularizer class to_keras converts has a case, and each Keras class it yields."""
    covered_in = {type(c.tf1_regularizer) for c in PASS_CASES if c.tf1_regularizer is not None}
    covered_out = {type(compat_reg.to_keras(c.tf1_regularizer)).__name__ for c in PASS_CASES if c.tf1_regularizer is not None}
    classes = regularizer_classes(regs_mod.Regularizer)
    assert regs_mod.L2Regularizer in classes and regs_mod.SumRegularizer in classes, classes
    assert coverage_problems(classes, covered_in, NO_KERAS_EQUIVALENT) == []
    assert covered_out == {"L1", "L2", "L1L2"}, covered_out
    for cls, (make, why) in NO_KERAS_EQUIVALENT.items():
        with pytest.raises(regs_mod.NoExactKerasEquivalent):
            compat_reg.to_keras(make())


def test_coverage_rule_rejects_an_allowlisted_tested_class_and_an_uncovered_one():
    """The allowlist branch of the coverage rule is live: it flags a tested class that is also allowlisted."""
    classes = {regs_mod.L1Regularizer, regs_mod.L2Regularizer}
    assert coverage_problems(classes, {regs_mod.L1Regularizer, regs_mod.L2Regularizer},
                             {regs_mod.L2Regularizer: None}) == [
        "L2Regularizer is allowlisted as having no Keras equivalent but has a case"]
    assert coverage_problems(classes, {regs_mod.L1Regularizer}, {}) == [
        "compat_reg.to_keras converts L2Regularizer but no equivalence case uses it"]
    assert coverage_problems(classes, {regs_mod.L1Regularizer}, {regs_mod.L2Regularizer: None}) == []


def test_every_known_mistake_has_a_diagnosis_case():
    codes = {c.expect for c in DIAGNOSIS_CASES}
    # keras-replica-steps is no port mistake: the mirrored steps cases expect it where this Keras'
    # multi-replica step is not its one-device step (Keras 3 < 3.8, upstream), and only there.
    assert (dg.KERAS_REPLICA_STEPS in codes) is not _flavor.multi_replica_training_exact()
    assert codes - {dg.KERAS_REPLICA_STEPS} == set(dg.KNOWN)


def test_case_ids_are_unique_and_readable():
    assert len(set(CASE_IDS)) == len(CASE_IDS)
    assert all(" " not in i for i in CASE_IDS)
