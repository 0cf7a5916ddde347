"""Import management for the transforms: names bound to a module, imports to add, where.

``module_name(ctx, module, aliases, scope)`` returns a name that refers to ``module``
in ``scope`` — an existing import if there is one, else a new ``import`` line (added
after the file's leading imports by ``import_block_edit``), never a name already
bound anywhere in the file. ``from m import *`` may bind any name, so no import is
added then (``Unsafe``).
"""

import ast

from .edits import Edit, Unsafe


def module_name(ctx, module, aliases, scope, submodule=None):
    """A name bound to ``module`` visible in ``scope``, adding an import if needed.

    ``submodule`` (``compat_reg.layers``): also make sure ``import submodule`` runs, so
    the attribute chain ``compat_reg.layers`` exists whatever ``compat_reg`` imports.
    """
    if submodule is not None:
        plain = f"import {module}"
        had_plain = plain in ctx.imports
        name = module_name(ctx, module, aliases, scope)
        if not _imports_module(ctx.tree, submodule):
            if not had_plain:
                ctx.imports.discard(plain)  # `import compat_reg.layers` binds `compat_reg` too
            ctx.imports.add(f"import {submodule}")
        return name
    for name, bindings in ctx.resolver.module_scope.bindings.items():
        if _bound_to(ctx, name, module, scope) and all(b.qname == module for b in bindings):
            return name
    stars = ctx.resolver.module_scope.star_imports
    if stars:
        raise Unsafe(f"`from {stars[0]} import *` may bind any name, so `import {module}` cannot be added "
                     f"safely; import {module} under a free name at the top of the file and run again")
    for alias in aliases:
        if not ctx.resolver.bound_anywhere(alias):
            ctx.imports.add(f"import {module} as {alias}" if alias != module else f"import {module}")
            return alias
    taken = " and ".join(f"`{a}`" for a in aliases)
    raise Unsafe(f"the name{'s' if len(aliases) > 1 else ''} {taken} {'are' if len(aliases) > 1 else 'is'} "
                 f"taken in this file, so `import {module}` cannot be added; import {module} under a free "
                 "name at the top of the file and run again")


def _bound_to(ctx, name, module, scope):
    return ctx.resolver.qualified_names(ast.Name(id=name, ctx=ast.Load()), scope) == {module}


def _imports_module(tree, module):
    return any(isinstance(s, ast.Import) and any(a.name == module and not a.asname for a in s.names)
               for s in tree.body)


def tf_name(ctx, scope):
    """The file's name for ``tensorflow`` (after ``--to compat`` it may be ``tensorflow.compat.v1``)."""
    return module_name(ctx, "tensorflow", ("tf", "tensorflow"), scope)


def import_offset(ctx):
    """Offset after the leading block of imports (after docstring / ``__future__``)."""
    body = ctx.tree.body
    last = None
    for i, stmt in enumerate(body):
        if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                and isinstance(stmt.value.value, str):
            last = stmt
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            last = stmt
            continue
        break
    if last is None:
        return 0
    line = last.end_lineno
    starts = ctx.source.line_starts
    return starts[line] if line < len(starts) else len(ctx.text)


def import_block_edit(ctx):
    """The ``Edit`` inserting ``ctx.imports`` (sorted) and ``ctx.after_imports`` after the leading imports."""
    lines = sorted(ctx.imports) + list(ctx.after_imports)
    if not lines:
        return None
    offset = import_offset(ctx)
    newline = "\r\n" if "\r\n" in ctx.text else "\n"
    block = "".join(line + newline for line in lines)
    if offset and not ctx.text[:offset].endswith(("\n", "\r")):
        block = newline + block
    return Edit(offset, offset, block)


def statement_join(ctx, stmt):
    """How to join several statements replacing ``stmt``: a newline and its indentation, or ``; ``."""
    line = ctx.source.lines[stmt.lineno - 1]
    indent = line[: len(line) - len(line.lstrip())]
    if ctx.source.char_col(stmt.lineno, stmt.col_offset) != len(indent):
        return "; "
    newline = "\r\n" if line.endswith("\r\n") else "\n"
    return newline + indent
