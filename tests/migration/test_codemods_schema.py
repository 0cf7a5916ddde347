"""``scan --format json`` output validates against docs/schemas/scan.schema.json (real output, jsonschema)."""

import json
import os
import subprocess
import sys

import jsonschema
import pytest

from migration.codemods import rules
from migration.codemods.scan import SCHEMA_VERSION

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCHEMA_PATH = os.path.join(REPO, "docs", "schemas", "scan.schema.json")


@pytest.fixture(scope="module")
def schema():
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _scan_json(*paths):
    proc = subprocess.run([sys.executable, "-m", "migration.cli", "scan", "--format", "json", "-q", *paths],
                          cwd=REPO, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=REPO))
    return proc.returncode, json.loads(proc.stdout)


def test_real_scan_output_validates(schema, tmp_path):
    (tmp_path / "broken.py").write_text("import tf_slim as s\nx = a[1:2:3:4]\ns.l2_regularizer(\n")
    code, report = _scan_json(os.path.join(HERE, "fixtures_codemods"), os.path.join(HERE, "fixture_trees"),
                              str(tmp_path))
    assert code == 1  # the broken file
    jsonschema.validate(report, schema)
    assert report["schema_version"] == SCHEMA_VERSION
    assert {s["kind"] for s in report["sites"]} == set(rules.KINDS)  # every kind of the schema, for real
    assert [e["path"] for e in report["errors"]] == [str(tmp_path / "broken.py")]


def test_schema_kinds_are_the_rule_table(schema):
    assert schema["$defs"]["site"]["properties"]["kind"]["enum"] == sorted(rules.KINDS)


def test_a_site_missing_a_field_is_invalid(schema):
    _, report = _scan_json(os.path.join(HERE, "fixtures_codemods"))
    del report["sites"][0]["suggestion"]
    with pytest.raises(jsonschema.ValidationError, match="'suggestion' is a required property"):
        jsonschema.validate(report, schema)
