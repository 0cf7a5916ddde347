"""What every transform shares: source edits, the per-file context, the ``Unsafe`` signal.

A transform reads the parsed file through ``Context`` (source spans, resolver,
sites) and records ``Edit``s of exact source spans; ``apply`` splices them in, so
everything outside the edited spans stays byte for byte. A transform that cannot
prove a rewrite safe raises ``Unsafe`` with the reason, and the site is reported.
"""

import ast
import dataclasses

from . import rules


class Unsafe(Exception):
    """A site that cannot be rewritten exactly: the message says why."""


@dataclasses.dataclass
class Edit:
    start: int
    end: int
    text: str


class Context:
    """Per-file state: source, resolver, sites, names to import, edits made so far."""

    def __init__(self, text, path, target, tree, source, sites, resolver):
        self.text = text
        self.path = path
        self.target = target
        self.tree = tree
        self.source = source
        self.sites = sites
        self.resolver = resolver
        self.imports = set()  # lines to add: "import tensorflow as tf", "import compat_reg"
        self.edits = []
        self.rewritten_imports = set()  # qualified names whose contrib import now imports the successor
        self.tf_switched = False  # `import tensorflow as tf` became `import tensorflow.compat.v1 as tf`
        self.after_imports = []  # statements added after the import block (tf.disable_v2_behavior())
        self.unswitched = []  # (import statement, reason) the compat.v1 switch had to leave

    def segment(self, node):
        return self.source.segment(node)

    def span(self, node):
        return self.source.span(node)

    def has_comment(self, node):
        start, end = self.span(node)
        return any(start <= c < end for c in self.source.comment_offsets())

    def symbol(self, expr, scope):
        """``(qualified_name, rules.Symbol)`` of the first known name ``expr`` may refer to."""
        return rules.known_symbol(self.resolver, expr, scope)

    def add_edits(self, new_edits):
        """Record ``new_edits``; ``False`` (and nothing recorded) if one overlaps an earlier edit."""
        if any(overlaps(n, e) for n in new_edits for e in self.edits):
            return False
        self.edits.extend(new_edits)
        return True


def overlaps(a, b):
    return a.start < b.end and b.start < a.end or (a.start == a.end == b.start == b.end and a.text == b.text)


def apply(text, edits):
    out, pos = [], 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        out.append(text[pos:edit.start])
        out.append(edit.text)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)


def iter_chains(resolver, node, scope=None):
    """Yield ``(expr, scope)`` for every outermost ``Name``/``Attribute`` load, with its scope."""
    scope = resolver.module_scope if scope is None else scope
    if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
        yield node, scope
        return
    inner = resolver.scope_of(node, scope)
    for name, value in ast.iter_fields(node):
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                child_scope = inner if inner is scope or name in ("body", "elt", "key", "value", "generators") \
                    else scope
                yield from iter_chains(resolver, child, child_scope)
