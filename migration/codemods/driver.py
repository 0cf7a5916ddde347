"""``migrate_source``: run the transforms of a target over one file, collect edits and findings.

``migrate_source(text, path, target)`` returns a ``FileResult``: the new text and one
``Finding`` per site — ``rewritten``, ``report`` (left unchanged; reason and suggested
fix given) or ``ok`` (nothing to do for this target). Which transform handles a site
is the ``rules.RULES`` table's action for (kind, target):

* whole-file transforms first (``--to compat``): ``to_compat.switch_import`` (the
  TensorFlow import to ``tensorflow.compat.v1``), ``successors`` (``tf.contrib``,
  ``tf.layers``), ``to_compat.entry_point_switch`` (``tf.disable_v2_behavior()``);
* then the sites, outer first: ``to_keras`` / ``to_compat`` / ``keras_fix``.

An edit that would overlap an earlier one is dropped and the site reported, so a file
is rewritten where it is safe and the rest is listed line by line.
"""

import ast
import dataclasses
import difflib

from . import contrib, rules, successors, to_compat, to_keras
from .edits import Context, Unsafe, apply
from .imports import import_block_edit
from .keras_fix import transform as keras_fix
from .scan import Site, SiteFinder, parse

TARGETS = ("keras", "compat")


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


def _site(ctx, node, kind, code_name="import"):
    source = ctx.source
    return Site(path=ctx.path, line=node.lineno, col=source.char_col(node.lineno, node.col_offset) + 1,
                end_line=node.end_lineno, end_col=source.char_col(node.end_lineno, node.end_col_offset) + 1,
                kind=kind, name=code_name, origin="contrib" if kind.startswith("contrib") else "tf1",
                qualified_name="", code=source.segment(node), suggestion=rules.suggestion(kind, code_name), node=node)


def _site_rule(ctx, site):
    """``(edits, reason)``, ``None``, ``to_compat.COVERED``, or raise ``Unsafe`` (the rule table decides)."""
    action = rules.action(site.kind, ctx.target)
    if action.tag in ("report", "info"):  # left as it is; the table says why
        raise Unsafe(action.reason)
    if action.tag == "none":
        return None
    if ctx.target == "keras":
        return keras_fix(ctx, site) if site.kind == "keras_regularizer" else to_keras.transform(ctx, site)
    return to_compat.transform(ctx, site)


def _whole_file(ctx):
    findings = []
    for stmt, text in to_compat.switch_import(ctx):
        findings.append(Finding(_site(ctx, stmt, "tf1_api"), "rewritten",
                                "TF1's API lives in tensorflow.compat.v1 on TF 2.x", text))
    for stmt, reason in ctx.unswitched:
        findings.append(Finding(_site(ctx, stmt, "tf1_api"), "report", reason))
    for node, kind, action, reason, replacement in successors.transform(ctx):
        findings.append(Finding(_site(ctx, node, kind, ctx.segment(node).split("(")[0][:60]), action, reason,
                                replacement))
    name = to_compat.entry_point_switch(ctx)
    if name is not None:
        stmt = ctx.tree.body[0]
        findings.append(Finding(_site(ctx, stmt, "tf1_api"), "rewritten",
                                "entry point using placeholders/sessions: graph mode for the whole process",
                                f"{name}.disable_v2_behavior()"))
    return findings


def _moved_imports(ctx):
    """``--to keras``: imports of ``tf.contrib`` / ``tf.layers`` fail on TF 2.21; say where they went."""
    findings = []
    for stmt in ast.walk(ctx.tree):
        if isinstance(stmt, ast.Import):
            names = [a.name for a in stmt.names]
        elif isinstance(stmt, ast.ImportFrom) and not stmt.level:
            names = [f"{stmt.module}.{a.name}" for a in stmt.names]
        else:
            continue
        moved = [n for n in names if contrib.is_moved(n)]
        if moved:
            where = ", ".join(f"{n} -> {contrib.successor(n)[0].path or 'none'}" for n in moved)
            findings.append(Finding(_site(ctx, stmt, "contrib_import"), "report",
                                    f"fails on TF 2.21 ({where}); `migrate --to compat` rewrites it"))
    return findings


def migrate_source(text, path="<string>", target="keras", package="", exports=None):
    """Rewrite one file's sites for ``target`` ("keras" or "compat").

    ``exports``: names bound by other modules of the tree (``scan.tree_exports``).
    Raises ``SyntaxError`` if ``text`` does not parse (the caller reports and skips it).
    """
    if target not in TARGETS:
        raise ValueError(f"Invalid value for argument `target`. Expected one of {TARGETS}. Received: target={target!r}")
    tree, source = parse(text, path)
    finder = SiteFinder(tree, source, path, package, exports)  # the same finder `scan` uses
    sites = finder.run(tree)
    ctx = Context(text, path, target, tree, source, sites, finder.resolver)
    findings = _whole_file(ctx) if target == "compat" else _moved_imports(ctx)
    # Outer sites first, so a rewritten sum_regularizer covers its members.
    for site in sorted(sites, key=lambda s: (ctx.span(s.node)[0], -ctx.span(s.node)[1])):
        start, end = ctx.span(site.node)
        if any(e.start <= start and end <= e.end and e.start < e.end for e in ctx.edits):
            findings.append(Finding(site, "rewritten", "rewritten as part of the enclosing expression"))
            continue
        imports_before = set(ctx.imports)
        try:
            result = _site_rule(ctx, site)
        except Unsafe as unsafe:
            ctx.imports = imports_before
            action = "ok" if rules.action(site.kind, target).tag == "info" else "report"
            findings.append(Finding(site, action, str(unsafe)))
            continue
        if result is None:
            findings.append(Finding(site, "ok", f"nothing to change for --to {target}"))
            continue
        if result == to_compat.COVERED:
            findings.append(Finding(site, "ok", "its names are fixed by this file's import/chain rewrites "
                                                "(tensorflow.compat.v1, contrib successors)"))
            continue
        new_edits, reason = result
        if not ctx.add_edits(new_edits):
            ctx.imports = imports_before
            findings.append(Finding(site, "report", "overlaps another rewrite; left unchanged"))
            continue
        findings.append(Finding(site, "rewritten", reason, "; ".join(e.text for e in new_edits)))
    block = import_block_edit(ctx) if ctx.edits else None
    edits = ctx.edits + ([block] if block is not None else [])
    new_text = apply(text, edits)
    findings.sort(key=lambda f: (f.site.line, f.site.col))
    return FileResult(path=path, original=text, new_text=new_text, findings=findings)
