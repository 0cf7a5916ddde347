"""The ``Rule`` table is the one source: scan, migrate, the CLI and docs/migrate.md agree with it."""

import os
import re

import pytest

from migration.codemods import contrib, rules
from migration.codemods.command import _MIGRATE_EPILOG, _SCAN_EPILOG
from migration.codemods.driver import migrate_source
from migration.codemods.scan import scan_source

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs",
                    "migrate.md")


@pytest.fixture(scope="module")
def docs():
    with open(DOCS, encoding="utf-8") as handle:
        return handle.read()


def _section(docs, title):
    start = docs.index(title)
    end = docs.find("\n## ", start + 1)
    return docs[start:end if end != -1 else len(docs)]


def _table_kinds(section):
    """The `kind`s named in the first column of a markdown table."""
    kinds = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            kinds.update(re.findall(r"`(\w+)`", first))
    return kinds


def test_the_scan_table_of_the_docs_is_the_rule_table(docs):
    assert _table_kinds(_section(docs, "## What `scan` finds")) == set(rules.KINDS)


def test_every_reported_kind_is_in_the_reported_table_with_its_target(docs):
    section = _section(docs, "## Reported, not rewritten")
    documented = _table_kinds(section)
    for rule in rules.RULES:
        for target, action in (("keras", rule.keras), ("compat", rule.compat)):
            if action.tag == "report":
                assert rule.kind in documented, (rule.kind, target)
    assert set(rules.MIGRATE_ONLY_KINDS) - {"tf1_api", "tf_layers"} <= documented


def test_the_keras_conversion_table_is_the_factory_table(docs):
    section = _section(docs, "## `migrate --to keras`")
    for factory in rules.FACTORIES.values():
        row = next(line for line in section.splitlines() if line.startswith(f"| `{factory.name}("))
        assert factory.emitted in row, (factory.name, row)


def test_the_contrib_table_of_the_docs_is_contrib_py(docs):
    section = _section(docs, "## `migrate --to compat`")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(tensorflow\.contrib[\w.]*)` \| (.*) \|$", section,
                                                        re.MULTILINE)}
    assert set(rows) == set(contrib.MODULES)
    for module, row in contrib.MODULES.items():
        assert (f"`{row.path}`" if row.path else f"none: {row.note}") == rows[module]


def test_the_cli_epilogs_come_from_the_tables():
    for kind, what in rules.KINDS.items():
        assert f"  {kind:22s} {what}" in _SCAN_EPILOG
    for factory in rules.FACTORIES.values():
        assert f"{factory.call:23s} -> tf.keras.regularizers.{factory.emitted}" in _MIGRATE_EPILOG


@pytest.mark.parametrize("kind", sorted(rules.KINDS))
def test_scan_suggestions_are_the_table_s(kind):
    rule = rules.RULE[kind]
    assert rule.suggestion and rules.suggestion(kind, "l2_regularizer") == (
        rules.FACTORIES["l2_regularizer"].suggestion if kind == "tf1_regularizer" else rule.suggestion)


def test_every_symbol_makes_a_kind_or_is_matched_by_its_arguments():
    by_arguments = set(rules.VARIABLE_CREATORS) | set(rules.COLLECTION_FUNCTIONS)
    for qname, symbol in rules.SYMBOLS.items():
        assert rules.kind_of(symbol) is not None or symbol.name in by_arguments, qname


REPORT_CASES = [  # one site per kind whose --to keras action is a report, and the table's reason
    ("variable_regularizer", "import tensorflow as tf\ntf.get_variable('w', [2], regularizer=r)\n"),
    ("no_regularizer", "import tensorflow as tf\nx = tf.no_regularizer\n"),
    ("manual_l2_penalty", "import tensorflow as tf\np = 0.1 * tf.nn.l2_loss(w)\n"),
    ("regularizer_reference", "import tf_slim as s\nc = {'r': s.l2_regularizer}\n"),
]


@pytest.mark.parametrize("kind,source", REPORT_CASES, ids=[c[0] for c in REPORT_CASES])
def test_migrate_reports_with_the_table_s_reason(kind, source):
    [site] = scan_source(source, "x.py", package="")
    assert site.kind == kind
    [finding] = migrate_source(source, "x.py", "keras").findings
    assert (finding.action, finding.reason) == ("report", rules.RULE[kind].keras.reason)
