"""Every JSON Schema in docs/schemas/ is valid, requires `schema_version`, and is listed in the index."""

import glob
import importlib.util
import json
import os
import re

import jsonschema
import pytest

SCHEMAS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "schemas")
FILES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(SCHEMAS, "*.schema.json")))


@pytest.mark.parametrize("name", FILES)
def test_schema_is_valid_and_requires_an_integer_schema_version(name):
    with open(os.path.join(SCHEMAS, name), encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
    assert schema["type"] == "object" and "schema_version" in schema["required"], name
    version = schema["properties"]["schema_version"]
    assert isinstance(version.get("const"), int) or version.get("type") == "integer", name
    without_version = {k: None for k in schema["required"] if k != "schema_version"}
    errors = list(validator(schema).iter_errors(without_version))
    assert any(e.validator == "required" and "'schema_version'" in e.message for e in errors), name


def test_index_lists_every_schema_in_the_folder():
    with open(os.path.join(SCHEMAS, "README.md"), encoding="utf-8") as f:
        listed = set(re.findall(r"\[([\w.-]+\.schema\.json)\]\(\1\)", f.read()))
    assert FILES, "docs/schemas/ holds no schema"
    assert sorted(set(FILES) - listed) == []


def _matrix_module():
    spec = importlib.util.spec_from_file_location("ci_matrix", os.path.join(SCHEMAS, "..", "..", ".ci", "matrix.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_matrix_json_matches_its_schema():
    matrix = _matrix_module()
    row = {
        "stack": "tf216", "flavor": "tf_keras", "returncode": 1, "seconds": 12.34, "passed": 3, "failed": 1,
        "skipped": 0, "errors": 0, "failures": ["tests/x.py::test_y - AssertionError"], "extra": "",
        "versions": {"tensorflow": "2.16.2", "keras": "3.3.3", "tf-keras": "2.16.0", "numpy": "1.26.4"},
        "install": 0.0,
    }
    document = matrix.to_json([row])
    with open(os.path.join(SCHEMAS, "matrix.schema.json"), encoding="utf-8") as f:
        jsonschema.validate(document, json.load(f))
    assert document["runs"][0]["versions"]["tf-slim"] is None
    assert document["runs"][0]["ok"] is False and document["runs"][0]["install_adds_only_compat_reg"] is True
