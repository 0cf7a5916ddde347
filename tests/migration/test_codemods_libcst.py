"""``resolve.py`` answers what LibCST's ``QualifiedNameProvider`` answers (differential test).

For every ``Name``/``Attribute`` load of the fixtures and of a sample of the installed
tf_slim tree, the names LibCST derives from imports must equal ``resolve.py``'s, where
both define them: ``resolve.py`` also follows plain alias assignments
(``slim = tf.contrib.slim``), which LibCST reports as local names, so for an expression
whose root name has an alias binding LibCST's import names must be a subset.
LibCST spells relative imports with leading dots (``.regs.l2``) and gives builtins and
locals their own sources; those are not import names and are left out. The speed of
both is written in docs/migrate.md ("Why not LibCST's QualifiedNameProvider").
"""

import ast
import glob
import importlib.util
import os

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider, QualifiedNameSource

from migration.codemods.resolve import Resolver
from migration.codemods.source_text import parse

HERE = os.path.dirname(__file__)
TF_SLIM_DIR = os.path.dirname(importlib.util.find_spec("tf_slim").origin)
FILES = sorted(glob.glob(os.path.join(HERE, "fixtures_codemods", "*.py"))
               + glob.glob(os.path.join(HERE, "fixture_trees", "**", "*.py"), recursive=True)) + [
    os.path.join(TF_SLIM_DIR, "nets", name) for name in ("alexnet.py", "vgg.py", "resnet_utils.py", "inception_v1.py")
] + [os.path.join(TF_SLIM_DIR, "layers", name) for name in ("regularizers.py", "utils.py", "initializers.py")] + [
    os.path.join(TF_SLIM_DIR, "ops", "arg_scope.py"), os.path.join(TF_SLIM_DIR, "learning.py")]
FILES = [p for p in FILES if "import" in open(p, encoding="utf-8").read()]  # (empty __init__.py files)


def _libcst_names(text):
    """``{(line, col, end_line, end_col): {import names}}`` for every Name/Attribute LibCST resolves."""
    wrapper = MetadataWrapper(cst.parse_module(text))
    names = wrapper.resolve(QualifiedNameProvider)
    positions = wrapper.resolve(PositionProvider)
    found = {}
    for node, qnames in names.items():
        if not isinstance(node, (cst.Name, cst.Attribute)):
            continue
        qnames = qnames() if callable(qnames) else qnames  # LibCST >= 1.2 computes them lazily
        imported = {q.name for q in qnames if q.source == QualifiedNameSource.IMPORT and not q.name.startswith(".")}
        pos = positions[node]
        found[(pos.start.line, pos.start.column, pos.end.line, pos.end.column)] = imported
    return found


def _ours(text, path):
    tree, source = parse(text, path)
    resolver = Resolver(tree, "")
    found = {}

    def walk(node, scope):
        inner = resolver.scope_of(node, scope)
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
            key = (node.lineno, source.char_col(node.lineno, node.col_offset),
                   node.end_lineno, source.char_col(node.end_lineno, node.end_col_offset))
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name):  # LibCST also names chains through calls (`f().x` as `f.x`)
                found[key] = (resolver.qualified_names(node, scope), _has_alias_binding(resolver, root, scope))
        for field, value in ast.iter_fields(node):
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    if inner is scope:
                        walk(child, scope)
                    elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                        walk(child, scope if child is node.generators[0] else inner)
                    else:
                        walk(child, inner if field == "body" else scope)

    walk(tree, resolver.module_scope)
    return found


def _has_alias_binding(resolver, name, scope):
    return any(b.expr is not None for b in resolver._lookup(name.id, scope) or ())  # noqa: SLF001 - test probe


@pytest.mark.parametrize("path", FILES, ids=[os.path.relpath(p, os.path.dirname(HERE)) for p in FILES])
def test_qualified_names_equal_libcst(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if "import *" in text or "from ." in text:
        pytest.skip(f"{path}: star or relative imports, which LibCST's provider spells differently")
    theirs = _libcst_names(text)
    ours = _ours(text, path)
    compared = 0
    for key, imported in theirs.items():
        if key not in ours or not imported:
            continue
        names, via_alias = ours[key]
        if via_alias:
            assert imported <= names, (path, key, imported, names)
        else:
            assert names == imported, (path, key, imported, names)
        compared += 1
    assert compared > 0, f"{path}: no import-derived name to compare"
