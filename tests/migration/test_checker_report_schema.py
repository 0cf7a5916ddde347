"""The JSON report of real checks validates against docs/schemas/check_report.schema.json (jsonschema)."""

import copy
import json
import pathlib

import jsonschema
import pytest

from migration.cli import main

SCHEMA = json.loads((pathlib.Path(__file__).resolve().parents[2] / "docs" / "schemas" /
                     "check_report.schema.json").read_text())
OLD = "examples.demo_tf1_model:model"
DEMO = ["--input-shape", "4,8,8,2", "--loss", "xent", "--steps", "2", "-q"]


def _validator():
    cls = jsonschema.validators.validator_for(SCHEMA)
    cls.check_schema(SCHEMA)
    return cls(SCHEMA)


@pytest.fixture(scope="module")
def naive_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("naive")
    assert main(["check", OLD, "examples.demo_keras_naive_port:build", *DEMO, "--report", str(out)]) == 1
    return json.loads((out / "report.json").read_text())


@pytest.mark.keras
def test_a_failing_report_with_diagnoses_and_trajectories_validates(naive_report):
    _validator().validate(naive_report)
    assert naive_report["schema_version"] == 1
    assert naive_report["failed_stage"] == "regularization" and naive_report["stages"][2]["diagnoses"]
    assert len(naive_report["trajectories"]["old"]["total"]) == 3


@pytest.mark.keras
def test_an_equivalent_report_under_adam_validates(capsys):
    assert main(["check", OLD, "examples.demo_keras_port:build", *DEMO, "--optimizer", "adam", "--learning-rate", "0.001", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    _validator().validate(report)
    assert report["equivalent"] is True and report["info"]["optimizer"] == "adam"


@pytest.mark.keras
@pytest.mark.parametrize("path,value", [
    (("stages", 0, "status"), "ok"),
    (("schema_version",), 2),
    (("stages", 2, "diagnoses", 0, "code"), "L2 twice"),
    (("tolerances", "steps", "rtol"), -1.0),
], ids=["status", "schema-version", "diagnosis-code", "negative-rtol"])
def test_the_schema_rejects_a_broken_report(naive_report, path, value):
    broken = copy.deepcopy(naive_report)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        _validator().validate(broken)
