"""Rewrite the sites ``scan`` finds, exactly, or leave them and say why.

``migrate_source(text, path, target)`` returns a ``FileResult``: the new text and
one ``Finding`` per site — ``rewritten``, ``report`` (left unchanged; reason and
suggested fix given) or ``ok`` (nothing to do for this target).

Rewrites are edits of the source spans ``ast`` gives, so the rest of the file —
formatting, comments, other code — is untouched byte for byte. A call containing
a comment is only rewritten by edits that do not cross the comment.

``--to keras`` (values equal for every weight, in Keras 3 and in tf_keras)::

    l1_regularizer(s)             -> tf.keras.regularizers.L1(s)
    l2_regularizer(s)             -> tf.keras.regularizers.L2(s / 2)     # TF1: s * sum(w**2) / 2
    l1_l2_regularizer(a, b)       -> tf.keras.regularizers.L1L2(l1=a, l2=b / 2)   (TF1 defaults a=b=1.0)
    sum_regularizer([l1(a), l2(b), l1_l2(c, d)])
                                  -> tf.keras.regularizers.L1L2(l1=a + c, l2=b / 2 + d / 2)
    tf.keras.regularizers.l2(l=x) -> tf.keras.regularizers.l2(l2=x)     # `l=` is tf_keras-only
    tf.keras.regularizers.l1_l2() -> tf.keras.regularizers.l1_l2(l1=0.01, l2=0.01)  # tf_keras defaults

``--to compat`` (TF1 graph-mode semantics kept, runs on TF 2.21)::

    tf.contrib.layers.<regularizer / apply_regularization>  -> compat_reg.<same name>
    tf.losses / tf.contrib.losses .get_regularization_loss(es) / get_total_loss
                                                            -> compat_reg.<same name>
    tf.get_variable / tf.variable_scope / tf.no_regularizer / tf.get_collection /
    tf.add_to_collection / tf.GraphKeys                     -> tf.compat.v1.<same>
    plus the two Keras keyword fixes above.

A literal scale is folded (``L2(0.0005)`` -> ``L2(0.00025)``; halving a binary
float is exact). A non-literal scale is kept as an expression: Keras regularizers
accept only Python ``int``/``float``, so a tensor or NumPy scale makes the rewritten
constructor raise ``ValueError`` at once rather than compute something else.
"""

import ast
import dataclasses
import difflib

from . import rules
from .scan import Site, SiteFinder, parse

TARGETS = ("keras", "compat")
KERAS_REGS = "{tf}.keras.regularizers"
TF1_DEFAULT_L1_L2 = 1.0  # TF1 l1_l2_regularizer(scale_l1=1.0, scale_l2=1.0)
TF_KERAS_L1_L2_DEFAULT = 0.01  # tf_keras l1_l2(l1=0.01, l2=0.01); Keras 3's l1_l2 defaults to 0.0
_ATOMS = (ast.Name, ast.Attribute, ast.Constant, ast.Call, ast.Subscript)


@dataclasses.dataclass
class Finding:
    """What ``migrate`` did with one site."""

    site: Site
    action: str  # "rewritten", "report", "ok"
    reason: str
    replacement: str = ""

    def to_json(self):
        data = self.site.to_json()
        data.update(action=self.action, reason=self.reason, replacement=self.replacement)
        return data


@dataclasses.dataclass
class FileResult:
    path: str
    original: str
    new_text: str
    findings: list
    encoding: str = "utf-8"

    @property
    def changed(self):
        return self.new_text != self.original

    def diff(self):
        return "".join(difflib.unified_diff(
            self.original.splitlines(keepends=True), self.new_text.splitlines(keepends=True),
            fromfile=f"a/{self.path}", tofile=f"b/{self.path}"))


class _Unsafe(Exception):
    """A site that cannot be rewritten exactly: ``reason`` says why."""


@dataclasses.dataclass
class _Edit:
    start: int
    end: int
    text: str


class _Context:
    """Per-file state: source, resolver, names to import, edits."""

    def __init__(self, text, path, target, tree, source, sites, resolver):
        self.text = text
        self.path = path
        self.target = target
        self.tree = tree
        self.source = source
        self.sites = sites
        self.resolver = resolver
        self.imports = set()  # "import tensorflow as tf", "import compat_reg"
        self.rewritten_imports = set()  # qualified names whose contrib import became compat_reg

    # --- names the emitted code needs ------------------------------------------
    def module_name(self, module, aliases, scope):
        """A name bound to ``module`` visible in ``scope``, adding an import if needed.

        ``aliases`` are tried in order for the import (``import tensorflow as tf``, else
        ``import tensorflow``); a name bound anywhere in the file is never reused.
        """
        for name, bindings in self.resolver.module_scope.bindings.items():
            if all(b.qname == module for b in bindings):
                if self.resolver.qualified_names(ast.Name(id=name, ctx=ast.Load()), scope) == {module}:
                    return name
        stars = self.resolver.module_scope.star_imports
        if stars:
            raise _Unsafe(f"`from {stars[0]} import *` may bind any name, so `import {module}` cannot be added "
                          f"safely; import {module} under a free name at the top of the file and run again")
        for alias in aliases:
            if not self.resolver.bound_anywhere(alias):
                self.imports.add(f"import {module} as {alias}" if alias != module else f"import {module}")
                return alias
        taken = " and ".join(f"`{a}`" for a in aliases)
        raise _Unsafe(f"the name{'s' if len(aliases) > 1 else ''} {taken} {'are' if len(aliases) > 1 else 'is'} "
                      f"taken in this file, so `import {module}` cannot be added; import {module} under a free "
                      "name at the top of the file and run again")

    def tf(self, scope):
        return self.module_name("tensorflow", ("tf", "tensorflow"), scope)

    def keras_regs(self, scope):
        return KERAS_REGS.format(tf=self.tf(scope))

    def compat_reg(self, scope):
        return self.module_name("compat_reg", ("compat_reg",), scope)

    def segment(self, node):
        return self.source.segment(node)

    def span(self, node):
        return self.source.span(node)

    def has_comment(self, node):
        start, end = self.span(node)
        return any(start <= c < end for c in self.source.comment_offsets())


# --- argument handling -----------------------------------------------------------


def _bind_args(call, params, what):
    """Map a call's arguments to ``params`` names, or raise ``_Unsafe``."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise _Unsafe(f"{what} is called with *args/**kwargs, so its arguments are not known statically")
    if len(call.args) > len(params):
        raise _Unsafe(f"{what} takes at most {len(params)} arguments, got {len(call.args)}")
    bound = dict(zip(params, call.args))
    for keyword in call.keywords:
        if keyword.arg not in params or keyword.arg in bound:
            raise _Unsafe(f"{what} got an unexpected or repeated keyword `{keyword.arg}=`")
        bound[keyword.arg] = keyword.value
    return bound


def _literal_number(expr):
    """The value of a numeric literal (``0.1``, ``-1.``, ``5e-4``), else ``None``."""
    sign = 1
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(expr.op, ast.USub) else 1
        expr = expr.operand
    if isinstance(expr, ast.Constant) and type(expr.value) in (int, float):
        return sign * expr.value
    return None


class _Scale:
    """A scale argument: a literal float (``value``) or an expression (``text``)."""

    def __init__(self, value=None, text=None, atomic=True):
        self.value = value
        self.text = text
        self.atomic = atomic

    def render(self):
        return repr(self.value) if self.value is not None else self.text

    def half(self):
        if self.value is not None:
            half = self.value / 2.0
            assert float(repr(half)) == half
            return _Scale(value=half)
        text = self.text if self.atomic else f"({self.text})"
        return _Scale(text=f"{text} / 2", atomic=False)


def _scale(ctx, expr, scope, arg_name, default=None):
    if expr is None:
        return _Scale(value=default)
    value = _literal_number(expr)
    if value is not None:
        if isinstance(value, int):
            raise _Unsafe(f"`{arg_name}` is the integer {value}: TF1 raises ValueError "
                          f"(\"{arg_name} cannot be an integer\"), so this line never ran as written")
        if value < 0:
            raise _Unsafe(f"`{arg_name}` is negative ({value}): TF1 raises ValueError here")
        return _Scale(value=float(value))
    if isinstance(expr, ast.Call):
        qnames = ctx.resolver.qualified_names(expr.func, scope)
        if any(q.startswith(("tensorflow.", "tf_keras.", "keras.")) for q in qnames):
            raise _Unsafe(f"`{arg_name}` is a tensor ({ctx.segment(expr)}); Keras regularizers take only "
                          "Python floats. Keep the TF1 regularizer through compat_reg (it works as a Keras "
                          "regularizer) or pass a float")
    return _Scale(text=ctx.segment(expr), atomic=isinstance(expr, _ATOMS))


def _sum_terms(scales):
    """``a + b`` of scales, as written (each literal halving is folded; sums are not)."""
    return " + ".join(s.render() for s in scales) if scales else "0.0"


# --- TF1 regularizer -> Keras ---------------------------------------------------------

_TF1_PARAMS = {
    "l1_regularizer": ("scale", "scope"),
    "l2_regularizer": ("scale", "scope"),
    "l1_l2_regularizer": ("scale_l1", "scale_l2", "scope"),
    "sum_regularizer": ("regularizer_list", "scope"),
}


def _tf1_coefficients(ctx, call, name, scope):
    """``(l1_scales, l2_scales_keras)`` of a TF1 factory call, in Keras' convention."""
    args = _bind_args(call, _TF1_PARAMS[name], name)
    if name == "l1_regularizer":
        if "scale" not in args:
            raise _Unsafe("l1_regularizer() without `scale` raises TypeError in TF1")
        return [_scale(ctx, args["scale"], scope, "scale")], []
    if name == "l2_regularizer":
        if "scale" not in args:
            raise _Unsafe("l2_regularizer() without `scale` raises TypeError in TF1")
        return [], [_scale(ctx, args["scale"], scope, "scale").half()]
    if name == "l1_l2_regularizer":
        a = _scale(ctx, args.get("scale_l1"), scope, "scale_l1", TF1_DEFAULT_L1_L2)
        b = _scale(ctx, args.get("scale_l2"), scope, "scale_l2", TF1_DEFAULT_L1_L2)
        return [a], [b.half()]
    members = args.get("regularizer_list")
    if not isinstance(members, (ast.List, ast.Tuple)):
        raise _Unsafe("sum_regularizer's list is not a literal list, so its members are not known")
    l1s, l2s = [], []
    for member in members.elts:
        if isinstance(member, ast.Constant) and member.value is None:
            continue  # TF1 drops None members
        qname, symbol = _symbol(ctx, member.func if isinstance(member, ast.Call) else member, scope)
        if not isinstance(member, ast.Call) or symbol is None or symbol.name not in (
                "l1_regularizer", "l2_regularizer", "l1_l2_regularizer"):
            raise _Unsafe(f"sum_regularizer member `{ctx.segment(member)}` is not a TF1 l1/l2/l1_l2 "
                          "factory call, so no single L1L2 is provably equal")
        ml1, ml2 = _tf1_coefficients(ctx, member, symbol.name, scope)
        l1s += ml1
        l2s += ml2
    if not l1s and not l2s:
        raise _Unsafe("sum_regularizer of no regularizer returns None in TF1; write None (no regularizer)")
    return l1s, l2s


def _symbol(ctx, expr, scope):
    for qname in sorted(ctx.resolver.qualified_names(expr, scope)) if isinstance(expr, (ast.Name, ast.Attribute)) else ():
        symbol = rules.SYMBOLS.get(qname)
        if symbol is not None:
            return qname, symbol
    return None, None


def _tf1_to_keras(ctx, site):
    call, scope = site.node, site.scope
    l1s, l2s = _tf1_coefficients(ctx, call, site.name, scope)
    regs = ctx.keras_regs(scope)
    if site.name == "l1_regularizer":
        text = f"{regs}.L1({l1s[0].render()})"
    elif site.name == "l2_regularizer":
        text = f"{regs}.L2({l2s[0].render()})"
    else:
        text = f"{regs}.L1L2(l1={_sum_terms(l1s)}, l2={_sum_terms(l2s)})"
    if ctx.has_comment(call):
        raise _Unsafe("the call contains a comment that rewriting the whole call would drop")
    start, end = ctx.span(call)
    note = ""
    if any(k.arg == "scope" for k in call.keywords) or (site.name != "l1_l2_regularizer" and len(call.args) > 1) \
            or (site.name == "l1_l2_regularizer" and len(call.args) > 2):
        note = "; `scope` dropped (it only named the ops)"
    if any(s.value is None for s in l1s + l2s):
        note += "; assumes the scale is a Python float (Keras raises ValueError for tensors)"
    return [_Edit(start, end, text)], f"exact: {_RULE_MATH[site.name]}{note}"


_RULE_MATH = {
    "l1_regularizer": "TF1 s*sum|w| == Keras L1(s)",
    "l2_regularizer": "TF1 s*sum(w**2)/2 == Keras L2(s/2)",
    "l1_l2_regularizer": "TF1 a*sum|w| + b*sum(w**2)/2 == Keras L1L2(a, b/2)",
    "sum_regularizer": "sum of TF1 l1/l2 terms == one Keras L1L2 with summed coefficients",
}


# --- Keras regularizer fixes (both targets) -------------------------------------------------


def _keras_fix(ctx, site):
    call = site.node
    short = site.name.split(".", 1)[1]
    edits = []
    if short in ("l1", "l2", "L1", "L2"):
        keyword = next((k for k in call.keywords if k.arg == "l"), None)
        if keyword is None:
            return None
        start = ctx.source.offset(keyword.lineno, keyword.col_offset)
        new = short.lower()
        edits.append(_Edit(start, start + 1, new))
        return edits, f"`l=` is a tf_keras-only alias (TypeError on Keras 3): renamed to `{new}=`"
    if short == "l1_l2":
        args = _bind_args(call, ("l1", "l2"), "l1_l2")
        if "l1" in args and "l2" in args:
            return None
        if site.origin == "keras":
            raise _Unsafe("keras.regularizers.l1_l2 defaults differ: 0.01 in Keras 2, 0.0 in Keras 3; "
                          "pass both l1= and l2= explicitly")
        if ctx.has_comment(call):
            raise _Unsafe("the call contains a comment that rewriting the whole call would drop")
        l1 = ctx.segment(args["l1"]) if "l1" in args else repr(TF_KERAS_L1_L2_DEFAULT)
        l2 = ctx.segment(args["l2"]) if "l2" in args else repr(TF_KERAS_L1_L2_DEFAULT)
        start, end = ctx.span(call)
        text = f"{ctx.segment(call.func)}(l1={l1}, l2={l2})"
        return [_Edit(start, end, text)], ("tf.keras l1_l2 defaulted to 0.01/0.01 (tf_keras) but Keras 3's "
                                           "to 0.0/0.0: defaults written out")
    return None


# --- compat target ------------------------------------------------------------------


def _v1_spelling(ctx, expr, scope):
    """``X.compat.v1.rest`` for an attribute chain ``X.rest`` rooted at ``tensorflow``."""
    parts = []
    node = expr
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or not parts:
        return None
    if ctx.resolver.qualified_names(node, scope) != {"tensorflow"}:
        return None
    return f"{node.id}.compat.v1.{'.'.join(reversed(parts))}"


def _rename_v1(ctx, expr, scope, what):
    text = _v1_spelling(ctx, expr, scope)
    if text is None:
        raise _Unsafe(f"`{ctx.segment(expr)}` is imported by name from TF1's top level, which TF 2.21 does not "
                      f"have: import {what} from tensorflow.compat.v1 instead")
    start, end = ctx.span(expr)
    return _Edit(start, end, text)


def _to_compat_reg(ctx, site):
    """Replace the callee with ``compat_reg.<name>`` (same signature and TF1 semantics)."""
    func = site.node.func
    if isinstance(func, ast.Name):
        if site.qualified_name in ctx.rewritten_imports:
            return None  # its `from tensorflow.contrib... import` now imports compat_reg's
        raise _Unsafe(f"`{func.id}` is imported from tensorflow.contrib, which TF 2.21 does not have: "
                      f"use `from compat_reg import {site.name}`")
    start, end = ctx.span(func)
    return [_Edit(start, end, f"{ctx.compat_reg(site.scope)}.{site.name}")], (
        f"compat_reg.{site.name} has the TF1 signature and semantics")


def _collection_to_v1(ctx, site):
    call, scope = site.node, site.scope
    edits = []
    _, symbol = _symbol(ctx, call.func, scope)
    if symbol is not None and symbol.origin == "tf1":
        edits.append(_rename_v1(ctx, call.func, scope, site.name))
    for arg in list(call.args[:1]) + [k.value for k in call.keywords]:
        for node in ast.walk(arg):
            _, key_symbol = _symbol(ctx, node, scope) if isinstance(node, ast.Attribute) else (None, None)
            if key_symbol is not None and key_symbol.name == rules.COLLECTION_KEY and key_symbol.origin == "tf1":
                edits.append(_rename_v1(ctx, node, scope, "GraphKeys"))
    if not edits:
        return None
    return edits, "the TF1 name now lives in tf.compat.v1 (same semantics)"


def _rule(ctx, site):
    """``(edits, reason)`` to rewrite, ``None`` when nothing is needed, or raise ``_Unsafe``."""
    kind, name, origin, target = site.kind, site.name, site.origin, ctx.target
    if kind == "keras_regularizer":
        return _keras_fix(ctx, site)
    if target == "keras":
        if kind == "tf1_regularizer":
            return _tf1_to_keras(ctx, site)
        raise _Unsafe(_KERAS_REASONS.get(kind, "no exact Keras rewrite for this idiom"))
    # --- compat
    if kind in ("tf1_regularizer", "apply_regularization", "regularization_loss", "total_loss"):
        if origin in ("contrib", "tf1"):
            return _to_compat_reg(ctx, site)
        return None
    if kind in ("collection_read", "collection_write"):
        return _collection_to_v1(ctx, site)
    if kind in ("variable_regularizer", "no_regularizer", "collection_key"):
        if origin == "tf1":
            expr = site.node.func if isinstance(site.node, ast.Call) else site.node
            return [_rename_v1(ctx, expr, site.scope, name)], "the TF1 name now lives in tf.compat.v1 (same semantics)"
        if origin == "contrib":
            raise _Unsafe(f"tensorflow.contrib is gone in TF 2.21: use tf_slim.{name} (the same code)")
        return None
    if kind == "callable_add_loss":
        raise _Unsafe("zero-argument add_loss(callable) works in tf_keras only (TF_USE_LEGACY_KERAS=1); "
                      "Keras 3 raises")
    if kind == "total_minus_losses":
        raise _Unsafe("model.total_loss exists in tf_keras only (TF_USE_LEGACY_KERAS=1)")
    return None


_KERAS_REASONS = {
    "regularizer_argument": "the value is not a constructor call here; it is rewritten where it is built",
    "variable_regularizer": "a TF1 variable-creation API: no Keras layer to move the regularizer to",
    "no_regularizer": "tf.no_regularizer belongs to TF1 variable scopes; in Keras pass None",
    "apply_regularization": "no Keras equivalent: apply_regularization sums over an arbitrary list of "
                            "tensors and also appends the sum to the collection",
    "collection_read": "the collection is graph-wide, model.losses per model: not provably the same",
    "collection_write": "Keras has no graph collection",
    "collection_key": "Keras has no graph collection",
    "regularization_loss": "the collection is graph-wide, model.losses per model: not provably the same",
    "total_loss": "Keras computes the total loss in fit()/compute_loss; not a one-line rewrite",
    "manual_l2_penalty": "which layer owns w is not known statically",
    "callable_add_loss": "Keras 3 removed zero-argument add_loss(callable)",
    "total_minus_losses": "Keras 3 has no model.total_loss",
}

# Kinds that are only informational (no manual action needed) under each target.
_INFO_KINDS = {"keras": {"regularizer_argument"}, "compat": set()}


# --- imports ------------------------------------------------------------------------


def _import_offset(ctx):
    """Offset after the leading block of imports (after docstring / __future__)."""
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
    return ctx.source._starts[line] if line < len(ctx.source._starts) else len(ctx.text)


_COMPAT_REG_DROP_INS = frozenset(rules.TF1_REGULARIZERS + (rules.APPLY_REGULARIZATION,) + rules.LOSS_GETTERS)


def _is_contrib(module):
    return module == "tensorflow.contrib" or module.startswith("tensorflow.contrib.")


def _contrib_imports(ctx):
    """Imports from tensorflow.contrib (they fail on TF 2.21): ``(stmt, edit or None)``.

    Under ``--to compat`` a ``from tensorflow.contrib.<m> import a, b as c`` whose
    names all have compat_reg drop-ins (and exist in ``<m>``, per ``rules.SYMBOLS``)
    becomes ``from compat_reg import a, b as c``; any other contrib import is reported.
    """
    found = []
    for stmt in ast.walk(ctx.tree):
        if isinstance(stmt, ast.Import) and any(_is_contrib(a.name) for a in stmt.names):
            found.append((stmt, None))
        elif isinstance(stmt, ast.ImportFrom) and not stmt.level and _is_contrib(stmt.module or ""):
            edit = None
            names = stmt.names
            if ctx.target == "compat" and all(
                    a.name in _COMPAT_REG_DROP_INS and f"{stmt.module}.{a.name}" in rules.SYMBOLS for a in names) \
                    and not ctx.has_comment(stmt):
                start, end = ctx.span(stmt)
                listed = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in names)
                edit = _Edit(start, end, f"from compat_reg import {listed}")
                ctx.rewritten_imports.update(f"{stmt.module}.{a.name}" for a in names)
            found.append((stmt, edit))
    return found


# --- driver ---------------------------------------------------------------------------


def migrate_source(text, path="<string>", target="keras", package=""):
    """Rewrite one file's sites for ``target`` ("keras" or "compat").

    Raises ``SyntaxError`` if ``text`` does not parse (the caller reports and skips it).
    """
    if target not in TARGETS:
        raise ValueError(f"Invalid value for argument `target`. Expected one of {TARGETS}. Received: target={target!r}")
    tree, source = parse(text, path)
    finder = SiteFinder(tree, source, path, package)  # the same finder `scan` uses
    sites = finder.run(tree)
    ctx = _Context(text, path, target, tree, source, sites, finder.resolver)
    findings, edits = [], []
    import_findings = []
    for stmt, edit in _contrib_imports(ctx):
        site = Site(path=path, line=stmt.lineno, col=source.char_col(stmt.lineno, stmt.col_offset) + 1,
                    end_line=stmt.end_lineno, end_col=source.char_col(stmt.end_lineno, stmt.end_col_offset) + 1,
                    kind="contrib_import", name="import", origin="contrib", qualified_name="tensorflow.contrib",
                    code=source.segment(stmt), suggestion="import from tf_slim (contrib.slim, contrib.layers "
                    "layers) or compat_reg (regularizers, collection functions) instead", node=stmt)
        if edit is None:
            import_findings.append(Finding(site, "report", "tensorflow.contrib does not exist on TF 2.21; "
                                                           "this import fails"))
        else:
            edits.append(edit)
            import_findings.append(Finding(site, "rewritten", "compat_reg has these names with TF1 semantics",
                                           edit.text))
    # Outer sites first, so a rewritten sum_regularizer covers its members.
    for site in sorted(sites, key=lambda s: (ctx.span(s.node)[0], -ctx.span(s.node)[1])):
        start, end = ctx.span(site.node)
        if any(e.start <= start and end <= e.end for e in edits):
            findings.append(Finding(site, "rewritten", "rewritten as part of the enclosing call"))
            continue
        imports_before = set(ctx.imports)
        try:
            result = _rule(ctx, site)
        except _Unsafe as unsafe:
            ctx.imports = imports_before
            action = "ok" if site.kind in _INFO_KINDS[target] else "report"
            findings.append(Finding(site, action, str(unsafe)))
            continue
        if result is None:
            findings.append(Finding(site, "ok", f"nothing to change for --to {target}"))
            continue
        new_edits, reason = result
        if any(_overlaps(n, e) for n in new_edits for e in edits):
            ctx.imports = imports_before
            findings.append(Finding(site, "report", "overlaps another rewrite; left unchanged"))
            continue
        edits.extend(new_edits)
        findings.append(Finding(site, "rewritten", reason, "; ".join(e.text for e in new_edits)))
    findings += import_findings
    if ctx.imports and edits:
        offset = _import_offset(ctx)
        newline = "\r\n" if "\r\n" in text else "\n"
        block = "".join(line + newline for line in sorted(ctx.imports))
        if offset and not text[:offset].endswith(("\n", "\r")):
            block = newline + block
        edits.append(_Edit(offset, offset, block))
    new_text = _apply(text, edits)
    findings.sort(key=lambda f: (f.site.line, f.site.col))
    return FileResult(path=path, original=text, new_text=new_text, findings=findings)


def _overlaps(a, b):
    return a.start < b.end and b.start < a.end


def _apply(text, edits):
    out, pos = [], 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        out.append(text[pos:edit.start])
        out.append(edit.text)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)
