"""``--to compat``: ``tf.contrib`` and ``tf.layers`` names become their maintained successors.

The successors are data (``contrib.MODULES``, ``SYMBOLS``, ``LAYERS``); this transform only applies them, to
every form a name can take:

* ``import tensorflow.contrib.slim as slim``          -> ``import tf_slim as slim``
* ``from tensorflow.contrib import slim``             -> ``import tf_slim as slim``
* ``from tensorflow.contrib.framework.python.ops import add_arg_scope, variables``
  -> ``from tf_slim.ops.arg_scope import add_arg_scope`` / ``from tf_slim.ops import variables``
  (one statement per successor module, on separate lines with the same indentation)
* attribute chains: ``tf.contrib.layers.xavier_initializer()`` -> ``tf_slim.xavier_initializer()``,
  ``slim = tf.contrib.slim`` -> ``slim = tf_slim``, ``tf.layers.dense`` -> ``compat_reg.layers.dense``
  (the longest prefix of the chain with a row is replaced; ``import tf_slim`` is added).

A name bound by a rewritten import (``slim.conv2d`` after ``import tf_slim as slim``)
needs no edit unless its own row names another successor (``layers.l2_regularizer`` ->
``compat_reg.l2_regularizer``). A name with no successor is reported with the row's
advice, and the rest of the file is still rewritten.
"""

import ast

from . import contrib
from .edits import Edit, Unsafe, iter_chains
from .imports import module_name, statement_join


def _import_text(path, asname):
    """The statement binding ``asname`` to ``path`` (a module or ``module.symbol``)."""
    if "." not in path:
        return f"import {path}" + (f" as {asname}" if asname != path else "")
    parent, last = path.rsplit(".", 1)
    return f"from {parent} import {last}" + (f" as {asname}" if asname != last else "")


def _rewrite_import(ctx, stmt):
    """``(new text or None, [reports])`` for one import statement naming moved modules."""
    reports = []
    if isinstance(stmt, ast.Import):
        parts, changed = [], False
        for alias in stmt.names:
            if not contrib.is_moved(alias.name):
                parts.append(alias.name + (f" as {alias.asname}" if alias.asname else ""))
                continue
            row, _ = contrib.successor(alias.name)
            if row.path is None:
                reports.append((alias.name, row.note))
                parts.append(alias.name + (f" as {alias.asname}" if alias.asname else ""))
            elif alias.asname:
                parts.append(f"{row.path} as {alias.asname}")
                changed = True
            else:  # `import tensorflow.contrib.x` binds `tensorflow`; its chains are rewritten one by one
                parts.append("tensorflow")
                changed = True
        if not changed:
            return None, reports
        return "import " + ", ".join(parts), reports
    module = stmt.module or ""
    statements, kept = {}, []
    for alias in stmt.names:
        qname = f"{module}.{alias.name}"
        if alias.name == "*":
            reports.append((qname, f"`from {module} import *`: import the names you use from their successor"))
            kept.append(alias)
            continue
        row, _ = contrib.successor(qname)
        if row.path is None:
            reports.append((qname, row.note))
            kept.append(alias)
            continue
        ctx.rewritten_imports.add(qname)
        line = _import_text(row.path, alias.asname or alias.name)
        if line.startswith("from "):
            head, names = line.split(" import ", 1)
            statements.setdefault(head, []).append(names)
        else:
            statements[line] = None
    if not statements:
        return None, reports
    lines = [f"{head} import {', '.join(names)}" if names is not None else head for head, names in statements.items()]
    if kept:
        lines.insert(0, f"from {module} import " + ", ".join(a.name + (f" as {a.asname}" if a.asname else "")
                                                            for a in kept))
    return statement_join(ctx, stmt).join(lines), reports


def _emit(ctx, chain, scope):
    """Source text reaching the successor ``chain`` (``tf_slim.x``, ``compat_reg.layers``) from ``scope``."""
    top, _, rest = chain.partition(".")
    if chain.startswith("tensorflow.compat.v1"):
        name = module_name(ctx, "tensorflow", ("tf", "tensorflow"), scope)
        return name + ("" if ctx.tf_switched else ".compat.v1") + chain[len("tensorflow.compat.v1"):]
    submodule = "compat_reg.layers" if chain.startswith("compat_reg.layers") else None
    name = module_name(ctx, top, (top,), scope, submodule=submodule)
    return name + (f".{rest}" if rest else "")


def _rewrite_chain(ctx, expr, scope):
    """``(edit or None, report or None)`` for one chain whose name moved."""
    nodes = []
    node = expr
    while isinstance(node, ast.Attribute):
        nodes.append(node)
        node = node.value
    nodes.append(node)  # the root Name
    root_q = ctx.resolver.qualified_names(node, scope) if isinstance(node, ast.Name) else set()
    root_moved = any(contrib.is_moved(q) for q in root_q)
    for sub in nodes:  # outermost first: the longest prefix with a row of its own
        qnames = sorted(q for q in ctx.resolver.qualified_names(sub, scope) if contrib.is_moved(q))
        if not qnames:
            continue
        row, exact = contrib.successor(qnames[0])
        if sub is node or (root_moved and not exact):
            if row.path is None and exact:
                return None, (qnames[0], row.note)
            return None, None  # the import or alias that binds the root is rewritten
        if not exact:
            continue
        if root_moved:
            base_row, _ = contrib.successor(sorted(q for q in root_q if contrib.is_moved(q))[0])
            if base_row.path and row.path and row.path.startswith(base_row.path + "."):
                return None, None  # the rewritten root already reaches it
        if row.path is None:
            return None, (qnames[0], row.note)
        if row.chain is None:
            return None, (qnames[0], f"no attribute path reaches {row.path}: write "
                                     f"`{_import_text(row.path, row.path.rsplit('.', 1)[-1])}` "
                                     "and use that name")
        start, end = ctx.span(sub)
        return Edit(start, end, _emit(ctx, row.chain, scope)), None
    qname = sorted(q for q in ctx.resolver.qualified_names(expr, scope) if contrib.is_moved(q))
    return None, ((qname[0], contrib.successor(qname[0])[0].note) if qname else None)


def transform(ctx):
    """Rewrite every moved name of the file; ``[(node, kind, action, reason, replacement)]``."""
    out = []
    for stmt in ast.walk(ctx.tree):
        if isinstance(stmt, ast.Import) and any(contrib.is_moved(a.name) for a in stmt.names) or (
                isinstance(stmt, ast.ImportFrom) and not stmt.level and any(
                    contrib.is_moved(f"{stmt.module}.{a.name}") for a in stmt.names)):
            if ctx.has_comment(stmt):
                out.append((stmt, "contrib_import", "report", "the import contains a comment that rewriting it "
                            "would drop: move the comment and run again", ""))
                continue
            text, reports = _rewrite_import(ctx, stmt)
            for qname, note in reports:
                out.append((stmt, "contrib_import", "report", f"{qname}: {note}", ""))
            if text is not None:
                start, end = ctx.span(stmt)
                if ctx.add_edits([Edit(start, end, text)]):
                    out.append((stmt, "contrib_import", "rewritten", "the maintained successor", text))
                else:
                    out.append((stmt, "contrib_import", "report", "overlaps another rewrite; left unchanged", ""))
    for expr, scope in iter_chains(ctx.resolver, ctx.tree):
        if not any(contrib.is_moved(q) for q in ctx.resolver.qualified_names(expr, scope)):
            continue
        imports_before = set(ctx.imports)
        try:
            edit, report = _rewrite_chain(ctx, expr, scope)
        except Unsafe as unsafe:
            ctx.imports = imports_before
            out.append((expr, _kind(expr, ctx, scope), "report", str(unsafe), ""))
            continue
        if report is not None:
            out.append((expr, _kind(expr, ctx, scope), "report", f"{report[0]}: {report[1]}", ""))
        elif edit is not None:
            if ctx.add_edits([edit]):
                out.append((expr, _kind(expr, ctx, scope), "rewritten", "the maintained successor", edit.text))
            else:
                ctx.imports = imports_before
    return out


def _kind(expr, ctx, scope):
    layers = any(q.startswith(tuple(contrib.LAYERS)) for q in ctx.resolver.qualified_names(expr, scope))
    return "tf_layers" if layers else "contrib_symbol"
