"""The seam to upstream privates: every declared reach exists, and nothing else reaches past it.

``compat_reg/_internals/`` is the only place allowed to import ``tensorflow.python``,
``keras.src`` or ``tf_keras.src`` or to touch an underscore name of an upstream object.
"""

import ast
import importlib
import pathlib

import pytest

from compat_reg import _internals

ROOT = pathlib.Path(__file__).resolve().parents[1]
PRIVATE_IMPORT_PREFIXES = ("tensorflow.python", "keras.src", "tf_keras.src", "tensorflow.contrib")
UPSTREAM_PACKAGES = ("tensorflow", "tf", "keras", "tf_keras", "tf_slim", "slim", "numpy")
# Upstream private names this code base is known to have used (the architecture review's list). Any of them
# outside the seam is a violation even on a local object (``graph._collections``), whether or not a Reach declares it.
KNOWN_UPSTREAM_PRIVATES = frozenset({
    "_VariableStore", "_get_single_variable", "_VariableScopeStore", "_VARSTORE_KEY", "_collections",
    "_handle_activity_regularization", "_flatten_layers", "_losses", "_callable_losses", "_loss_for_variable",
    "_get_own_losses", "_master_tensor", "_get_control_flow_context", "_graph_element", "_use_weight_decay",
    "_is_compiled", "_vars", "_partitioned_vars", "_var_scope_store",
})


def _reaches():
    for name in _internals.MODULES:
        module = importlib.import_module(f"compat_reg._internals.{name}")
        for reach in module.REACHES:
            yield pytest.param(reach, id=f"{name}:{reach.module}.{reach.attribute}")


@pytest.mark.parametrize("reach", list(_reaches()))
def test_every_declared_private_symbol_exists_on_the_installed_stack(reach):
    reach.probe()


def _private_names_reached():
    names = set(KNOWN_UPSTREAM_PRIVATES)
    for name in _internals.MODULES:
        module = importlib.import_module(f"compat_reg._internals.{name}")
        names.update(part for reach in module.REACHES for part in reach.attribute.split(".") if part.startswith("_"))
    return names


def _sources():
    for folder in ("compat_reg", "migration"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "_internals" not in path.relative_to(ROOT).parts:
                yield path


def _violations(path, private_names):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    upstream_aliases = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PRIVATE_IMPORT_PREFIXES):
                    found.append((node.lineno, f"import {alias.name}"))
                if alias.name.split(".")[0] in UPSTREAM_PACKAGES:
                    upstream_aliases.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith(PRIVATE_IMPORT_PREFIXES):
                found.append((node.lineno, f"from {node.module} import ..."))
            for alias in node.names:
                if alias.name.startswith("_") and node.module.split(".")[0] in UPSTREAM_PACKAGES:
                    found.append((node.lineno, f"from {node.module} import {alias.name}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if node.attr in private_names or (isinstance(root, ast.Name) and root.id in upstream_aliases):
                found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in private_names:
            found.append((node.lineno, f"string {node.value!r}"))
    return found


@pytest.mark.parametrize("path", list(_sources()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_upstream_name_outside_internals(path):
    found = _violations(path, _private_names_reached())
    assert not found, (
        f"{path.relative_to(ROOT)} reaches upstream internals directly: "
        + ", ".join(f"line {line}: {what}" for line, what in found)
        + ". Move the access into a function of compat_reg/_internals/<upstream>.py with a Reach entry."
    )
