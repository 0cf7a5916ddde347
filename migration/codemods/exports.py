"""What each module of a scanned tree binds at its top level, for resolving names across modules.

``module_exports(tree, path)`` reads a module's top-level imports and plain alias
assignments; ``resolve.expand`` substitutes them, so ``from ..compat import tfv1`` in
one file resolves to what ``compat.py`` bound ``tfv1`` to (``tensorflow.compat.v1``).
"""

import ast
import os

from .resolve import _import_from_module, package_of
from .source_text import parse


def module_name_of(path):
    """The dotted module name of a file (``pkg/sub/m.py`` -> ``pkg.sub.m``; ``__init__`` is the package)."""
    package = package_of(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem == "__init__":
        return package
    return f"{package}.{stem}" if package else stem


def module_exports(tree, path):
    """``{"module.name": {qualified names}}`` of a module's top-level imports and alias assignments.

    Only the module body (and its ``if``/``try`` blocks) is read: what ``from m import n``
    in another file of the tree can see. ``tfv1 = tf.compat.v1`` after ``import tensorflow
    as tf`` gives ``{"pkg.compat.tfv1": {"tensorflow.compat.v1"}}``.
    """
    module = module_name_of(path)
    package = package_of(path)
    if os.path.basename(path) == "__init__.py":
        package = module
    bound = {}

    def chain(expr):
        if isinstance(expr, ast.Name):
            return set(bound.get(expr.id, ()))
        if isinstance(expr, ast.Attribute):
            return {f"{b}.{expr.attr}" for b in chain(expr.value)}
        return set()

    def visit(stmts):
        for stmt in stmts:
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.asname:
                        bound[alias.asname] = {alias.name}
                    else:
                        top = alias.name.split(".")[0]
                        bound[top] = {top}
            elif isinstance(stmt, ast.ImportFrom):
                base = _import_from_module(stmt, package)
                for alias in stmt.names:
                    if alias.name != "*":
                        bound[alias.asname or alias.name] = {f"{base}.{alias.name}" if base else alias.name}
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                names = chain(stmt.value) if isinstance(stmt.value, (ast.Name, ast.Attribute)) else set()
                if names:
                    bound[stmt.targets[0].id] = names
                else:
                    bound.pop(stmt.targets[0].id, None)
            elif isinstance(stmt, ast.If):
                visit(stmt.body)
                visit(stmt.orelse)
            elif isinstance(stmt, ast.Try):
                visit(stmt.body)
                for handler in stmt.handlers:
                    visit(handler.body)
                visit(stmt.orelse)

    visit(tree.body)
    # A name bound to itself (``import tensorflow`` binds ``tensorflow``) or to its own
    # module path is not a re-export.
    return {f"{module}.{name}" if module else name: qnames for name, qnames in bound.items()
            if module and qnames != {f"{module}.{name}"}}


def imported_modules(tree, path):
    """Every module name ``tree`` imports (``from m import n`` gives ``m`` and ``m.n``)."""
    package = package_of(path)
    if os.path.basename(path) == "__init__.py":
        package = module_name_of(path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _import_from_module(node, package)
            if base:
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def tree_exports(sources, parsed, start=None):
    """Names bound at the top of the tree's modules that the files in ``start`` can reach.

    ``sources`` is a list of ``(path, text)``; ``start`` the paths to be scanned (default:
    all). Only modules those files import — directly or through the modules they import —
    are read, so a re-export chain is followed and unrelated modules are not parsed.
    Parsed trees are stored in ``parsed`` (``path -> (tree, SourceText)``) so nothing is
    parsed twice.
    """
    texts = dict(sources)
    by_module = {module_name_of(path): path for path in texts}
    exports, seen = {}, set()
    todo = list(texts if start is None else start)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if path not in parsed:
            try:
                parsed[path] = parse(texts[path], path)
            except (SyntaxError, ValueError):
                continue  # reported by the scan itself
        tree = parsed[path][0]
        exports.update(module_exports(tree, path))
        for name in imported_modules(tree, path):
            parts = name.split(".")
            for k in range(len(parts), 0, -1):
                target = by_module.get(".".join(parts[:k]))
                if target is not None:
                    todo.append(target)
                    break
    return exports
