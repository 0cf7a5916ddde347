"""The packages' public surfaces: explicit re-exports, and cheap imports where promised."""

import subprocess
import sys

import compat_reg
import compat_reg.keras
import migration


def _import_probe(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_migration_and_the_scan_cli_does_not_import_tensorflow():
    proc = _import_probe(
        "import sys, migration, migration.codemods.command;"
        "from migration import cli; cli.build_parser('scan');"
        "print('tensorflow' in sys.modules)"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_migration_reexports_the_checker_lazily():
    from migration.equivalence import CheckResult, check_equivalence

    assert migration.check_equivalence is check_equivalence
    assert migration.CheckResult is CheckResult


def test_unknown_migration_attribute_is_an_attribute_error():
    try:
        migration.no_such_name
    except AttributeError as err:
        assert "no_such_name" in str(err)
    else:
        raise AssertionError("expected AttributeError")


def test_every_name_in_all_resolves():
    for module in (compat_reg, compat_reg.keras):
        for name in getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")]):
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"


def _imported_modules(path):
    import ast

    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_data_flows_one_way_runtime_bridge_migration():
    """compat_reg never imports migration; the runtime (compat_reg/*.py) never imports the bridge."""
    import glob
    import os

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for path in glob.glob(os.path.join(root, "compat_reg", "**", "*.py"), recursive=True):
        imported = set(_imported_modules(path))
        assert not any(m == "migration" or m.startswith("migration.") for m in imported), path
        if os.path.dirname(path) == os.path.join(root, "compat_reg"):
            assert not any(m.startswith("compat_reg.keras") for m in imported), path
