"""``compat-reg selftest``: conventions measured on this install agree with compat_reg._flavor."""

import json

import pytest

from compat_reg import _flavor
from migration.cli import main
from migration.equivalence import selftest


@pytest.fixture(scope="module")
def measured():
    """``selftest.conventions()`` measured once for the module (each row re-measures on the installed
    stack, the optimizer rows included; the tests below read different rows of the same list)."""
    return selftest.conventions()


@pytest.mark.keras
def test_conventions_hold_and_match_the_flavor(measured):
    rows = {r.convention: r for r in measured}
    assert all(r.holds for r in rows.values()), [r for r in rows.values() if not r.holds]
    assert rows["Keras L2(s) / TF1 l2_regularizer(s)"].measured == 2.0
    assert rows["regularizers of frozen (non-trainable) weights counted"].measured is (not _flavor.is_keras3())
    assert rows["zero-argument add_loss(lambda: ...) supported"].measured is (not _flavor.is_keras3())
    expected_defaults = (0.0, 0.0) if _flavor.is_keras3() else (0.01, 0.01)
    assert rows["keras.regularizers.l1_l2() defaults (l1, l2)"].measured == expected_defaults


@pytest.mark.keras
def test_selftest_quick_cli_json(capsys):
    assert main(["selftest", "--quick", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["cases"] == []
    assert data["info"]["flavor"] == _flavor.name()


def test_report_fails_when_a_convention_does_not_hold():
    row = selftest.Row("activity_regularizer divided by the batch", False, True, False)
    report = selftest.Report([row], [("l2-dense-get_variable", True, "EQUIVALENT", 0.1)], {
        "tensorflow": "x", "flavor": "keras3", "keras": "3", "tf_slim": "1.1.0"})
    assert not report.ok
    text = report.format_table()
    assert "SELFTEST FAILED" in text and "NO" in text


@pytest.mark.keras
def test_selftest_logs_each_convention_and_quiet_silences_it(capsys, measured):
    assert main(["selftest", "--quick"]) == 0
    cap = capsys.readouterr()
    n_rows = len(measured)
    logged = [line for line in cap.err.splitlines() if line.startswith("[selftest] holds ")]
    assert len(logged) == n_rows, cap.err
    assert main(["selftest", "--quick", "-q"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.keras
def test_optimizer_conventions_are_measured_and_hold(measured):
    """Each optimizer row re-measures a convention on the installed stack (see optimizer_conventions).

    The rows are read from ``selftest.conventions()`` (measured once for the module), which appends
    ``optimizer_conventions.rows()`` measured afresh; the assertions hold over that superset."""
    from migration.equivalence import optimizer_conventions
    from migration.equivalence import optimizers

    rows = {r.convention: (r.measured, r.documented) for r in measured}
    assert all(m == d for m, d in rows.values()), {k: v for k, v in rows.items() if v[0] != v[1]}
    assert sum(1 for name in rows if " steps like TF1 " in name) == len(optimizers.OPTIMIZERS)
    assert rows["RMSProp epsilon placement (TF1, Keras)"][0] == ("inside", "inside")
    assert rows["slot starts (TF1 rms, Keras velocity, TF1/Keras Adagrad acc)"][0] == (1.0, 0.0, 0.1, 0.1)
    assert rows["momentum TF1 lr*a and Keras v agree under a changing rate"][0] is False
    assert optimizer_conventions.reproduces("rmsprop") < 1e-5
