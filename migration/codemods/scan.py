"""Find every TF1 regularization site in Python sources, by qualified name.

``scan_source(text, path)`` parses one file with ``ast``, resolves names through
imports (``resolve.Resolver``) and returns ``Site`` records; ``scan_paths`` walks
trees, pre-filters files by the sound text test of ``rules.PREFILTER_TOKENS`` and
reports files that are not read (``sources``: regular files under a size cap only)
or do not parse, instead of stopping.

Calls are matched by the qualified name of the callee (``rules.SYMBOLS``), never
by their text. Three site kinds are structural, because they are methods on
objects whose type a static scan cannot know: ``X.add_loss(lambda ...)``,
``X.total_loss - sum(X.losses)`` and the ``*_regularizer=`` keyword arguments.
"""

import ast
import dataclasses
import os
import sys

from . import rules
from .exports import tree_exports
from .resolve import Resolver, package_of
from .source_text import SourceText, parse  # noqa: F401 (SourceText re-exported)
from .sources import DEFAULT_MAX_BYTES, SkippedFile, iter_python_files, read_source  # noqa: F401 (re-exported)

SCHEMA_VERSION = 1  # of `scan --format json` (docs/schemas/scan.schema.json)


@dataclasses.dataclass
class Site:
    """One regularization site. ``line``/``col`` are 1-based (``col`` in characters)."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    kind: str
    name: str  # canonical symbol, e.g. "l2_regularizer", "keras.L2", "get_collection"
    origin: str  # rules' origin: contrib, slim, compat_reg, tf1, v1, tf_keras, keras, tf2, structural
    qualified_name: str
    code: str
    suggestion: str
    node: ast.AST = dataclasses.field(repr=False, compare=False, default=None)
    scope: object = dataclasses.field(repr=False, compare=False, default=None)

    def to_json(self):
        # Not dataclasses.asdict: it would deep-copy the AST node and scope first.
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("node", "scope")}


@dataclasses.dataclass
class FileError:
    """A file that could not be read or parsed; it is reported and skipped."""

    path: str
    line: int
    message: str

    def to_json(self):
        return dataclasses.asdict(self)


class SiteFinder:
    """Second pass: walk the tree with scopes and record sites."""

    def __init__(self, tree, source, path, package, exports=None):
        self.source = source
        self.path = path
        self.resolver = Resolver(tree, package, exports)
        self.sites = []
        self._consumed = set()  # ids of key nodes reported as part of a collection call
        self._regularized_with_depth = 0  # lexically inside `with variable_scope(regularizer=...)`
        self._parents = []

    def symbol(self, expr, scope):
        """``(qualified_name, Symbol)`` of the first known name ``expr`` may refer to."""
        return rules.known_symbol(self.resolver, expr, scope)

    def add(self, node, scope, kind, name, origin, qname, code_node=None):
        code_node = code_node or node
        self.sites.append(Site(
            path=self.path,
            line=code_node.lineno,
            col=self.source.char_col(code_node.lineno, code_node.col_offset) + 1,
            end_line=code_node.end_lineno,
            end_col=self.source.char_col(code_node.end_lineno, code_node.end_col_offset) + 1,
            kind=kind, name=name, origin=origin, qualified_name=qname,
            code=self.source.segment(code_node),
            suggestion=rules.suggestion(kind, name),
            node=node, scope=scope,
        ))

    # --- traversal -----------------------------------------------------------
    def run(self, tree):
        self._walk(tree, self.resolver.module_scope)
        # One source span is one site: the first kind found for a span wins.
        unique = {}
        for site in self.sites:
            unique.setdefault((site.line, site.col, site.end_line, site.end_col), site)
        self.sites = sorted(unique.values(), key=lambda s: (s.line, s.col, s.kind))
        return self.sites

    def _walk(self, node, scope):
        inner = self.resolver.scope_of(node, scope)
        self._visit(node, scope)
        saved_depth = self._regularized_with_depth
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            self._regularized_with_depth = 0  # the body runs later, maybe outside the scope
        elif isinstance(node, (ast.With, ast.AsyncWith)) and any(
                self._is_regularized_scope(item.context_expr, scope) for item in node.items):
            self._regularized_with_depth += 1
        self._parents.append(node)
        for field, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            for child in children:
                if not isinstance(child, ast.AST):
                    continue
                if inner is scope:
                    self._walk(child, scope)
                elif isinstance(node, _COMPS):
                    if field == "generators" and child is node.generators[0]:
                        self._walk_first_generator(child, scope, inner)
                    else:
                        self._walk(child, inner)
                else:
                    # Functions, lambdas, classes: only the body runs in the new scope;
                    # decorators, defaults, annotations and bases run outside.
                    self._walk(child, inner if field == "body" else scope)
        self._parents.pop()
        self._regularized_with_depth = saved_depth

    def _regularizer_arg(self, call, symbol):
        reg = next((k.value for k in call.keywords if k.arg == "regularizer"), None)
        if reg is None and symbol.name in rules.POSITIONAL_REGULARIZER_CREATORS \
                and len(call.args) > rules.REGULARIZER_POSITION:
            reg = call.args[rules.REGULARIZER_POSITION]
        return None if reg is None or _is_none(reg) else reg

    def _is_regularized_scope(self, expr, scope):
        """``variable_scope(..., regularizer=r)``: variables created lexically inside inherit ``r``."""
        if not isinstance(expr, ast.Call):
            return False
        _, symbol = self.symbol(expr.func, scope)
        return symbol is not None and symbol.name == "variable_scope" and self._regularizer_arg(expr, symbol) is not None

    def _walk_first_generator(self, gen, outer, inner):
        self._parents.append(gen)
        self._walk(gen.iter, outer)
        self._walk(gen.target, inner)
        for cond in gen.ifs:
            self._walk(cond, inner)
        self._parents.pop()

    def _visit(self, node, scope):
        if isinstance(node, ast.arguments):
            return
        if isinstance(node, ast.Call):
            self._visit_call(node, scope)
        elif isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
            self._visit_reference(node, scope)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
            self._visit_subtraction(node, scope)

    def _is_key(self, expr, scope):
        if isinstance(expr, ast.Constant) and expr.value == rules.COLLECTION_KEY_STRING:
            return True
        _, symbol = self.symbol(expr, scope)
        return symbol is not None and symbol.name == rules.COLLECTION_KEY

    def _visit_call(self, node, scope):
        qname, symbol = self.symbol(node.func, scope)
        func_attr = node.func.attr if isinstance(node.func, ast.Attribute) else (
            node.func.id if isinstance(node.func, ast.Name) else None)
        # Collection calls: the key decides (graph.get_collection(key) has no module qname).
        key_arg = node.args[0] if node.args else next(
            (k.value for k in node.keywords if k.arg in ("key", "name", "names")), None)
        is_collection_call = (symbol is not None and symbol.name in rules.COLLECTION_FUNCTIONS) or (
            symbol is None and func_attr in rules.COLLECTION_FUNCTIONS and isinstance(node.func, ast.Attribute))
        if is_collection_call and key_arg is not None and self._is_key_or_contains(key_arg, scope):
            read = func_attr in rules.COLLECTION_READS
            self._consume(key_arg)
            self.add(node, scope, "collection_read" if read else "collection_write",
                     func_attr, symbol.origin if symbol else "structural", qname or f"<object>.{func_attr}")
            return
        if symbol is not None:
            kind = rules.kind_of(symbol)
            if kind == "manual_l2_penalty":
                self.add(node, scope, kind, symbol.name, symbol.origin, qname, code_node=self._penalty_expr(node))
            elif kind is not None:
                self.add(node, scope, kind, symbol.name, symbol.origin, qname)
            elif symbol.name in rules.VARIABLE_CREATORS:
                has_own = self._regularizer_arg(node, symbol) is not None
                inherits = self._regularized_with_depth > 0 and symbol.name != "variable_scope" and not any(
                    k.arg == "regularizer" for k in node.keywords)
                if has_own or inherits:
                    self.add(node, scope, "variable_regularizer", symbol.name, symbol.origin, qname)
                    if inherits and not has_own:
                        self.sites[-1].suggestion = ("inherits the regularizer of the enclosing variable_scope; "
                                                     + self.sites[-1].suggestion)
        else:
            self._visit_add_loss(node, scope, func_attr)
        for keyword in node.keywords:
            if keyword.arg in rules.REGULARIZER_KEYWORDS and not _is_none(keyword.value) \
                    and not self._is_constructor(keyword.value, scope) and not self._is_symbol(keyword.value, scope):
                self.add(keyword, scope, "regularizer_argument", keyword.arg, "structural",
                         keyword.arg, code_node=keyword)

    def _is_key_or_contains(self, expr, scope):
        if isinstance(expr, (ast.List, ast.Tuple)):  # add_to_collections([k1, k2], v)
            return any(self._is_key(e, scope) for e in expr.elts)
        return self._is_key(expr, scope)

    def _consume(self, expr):
        for sub in ast.walk(expr):
            self._consumed.add(id(sub))

    def _is_constructor(self, expr, scope):
        """A call of a known regularizer constructor (it is reported as its own site)."""
        if not isinstance(expr, ast.Call):
            return False
        _, symbol = self.symbol(expr.func, scope)
        return symbol is not None and rules.kind_of(symbol) in ("tf1_regularizer", "keras_regularizer")

    def _is_symbol(self, expr, scope):
        """A reference that is a site of its own (``tf.no_regularizer``, a factory passed as a value)."""
        if not isinstance(expr, (ast.Name, ast.Attribute)) or self.resolver.is_alias(expr, scope):
            return False
        _, symbol = self.symbol(expr, scope)
        return symbol is not None and rules.kind_of(symbol) in ("tf1_regularizer", "no_regularizer")

    def _visit_add_loss(self, node, scope, func_attr):
        if func_attr != "add_loss" or not isinstance(node.func, ast.Attribute):
            return
        if any(q.split(".")[0] in ("tensorflow", "tf_slim") for q in
               self.resolver.qualified_names(node.func.value, scope)):
            return  # a module's add_loss (tf.compat.v1.losses.add_loss), not a model's
        arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "losses"), None)
        if isinstance(arg, ast.Lambda):
            self.add(node, scope, "callable_add_loss", "add_loss", "structural", "<object>.add_loss")

    def _visit_reference(self, node, scope):
        if id(node) in self._consumed:
            return
        parent = self._parents[-1] if self._parents else None
        if isinstance(parent, ast.Attribute) and parent.value is node:
            return  # only the outermost attribute of a chain names the object
        if isinstance(parent, ast.Call) and parent.func is node:
            return  # calls are handled in _visit_call
        if self.resolver.is_alias(node, scope):
            return  # `r = tf.no_regularizer; f(r)`: the assignment's right-hand side is the site
        qname, symbol = self.symbol(node, scope)
        if symbol is None:
            return
        if symbol.name in rules.TF1_REGULARIZERS:
            if isinstance(parent, ast.Assign) and parent.value is node and len(parent.targets) == 1 \
                    and isinstance(parent.targets[0], ast.Name):
                return  # `r = s.l2_regularizer`: the calls `r(scale)` are the sites
            self.add(node, scope, "regularizer_reference", symbol.name, symbol.origin, qname)
        elif symbol.name == rules.COLLECTION_KEY:
            self.add(node, scope, "collection_key", symbol.name, symbol.origin, qname)
        elif symbol.name == rules.NO_REGULARIZER:
            self.add(node, scope, "no_regularizer", symbol.name, symbol.origin, qname)

    def _penalty_expr(self, call):
        """The product ``scale * tf.nn.l2_loss(w)`` around an l2_loss call, if any."""
        best = call
        for parent in reversed(self._parents):
            if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Mult):
                best = parent
                break
            if not isinstance(parent, (ast.Call, ast.List, ast.Tuple, ast.ListComp, ast.GeneratorExp,
                                       ast.comprehension, ast.BinOp, ast.keyword, ast.Starred)):
                break
        return best

    def _visit_subtraction(self, node, scope):
        left, right = node.left, node.right
        if not (isinstance(left, ast.Attribute) and left.attr == "total_loss"):
            return
        if isinstance(right, ast.Call) and right.args and isinstance(right.args[0], ast.Attribute) \
                and right.args[0].attr == "losses":
            func = right.func
            is_sum = isinstance(func, ast.Name) and func.id == "sum" and self.resolver.is_builtin("sum", scope)
            _, symbol = self.symbol(func, scope)
            qnames = self.resolver.qualified_names(func, scope) if not is_sum else set()
            is_tf_sum = any(q.endswith((".add_n", ".reduce_sum")) and q.startswith("tensorflow") for q in qnames)
            if is_sum or is_tf_sum:
                self.add(node, scope, "total_minus_losses", "total_loss", "structural",
                         "<model>.total_loss - sum(<model>.losses)")


_COMPS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _is_none(expr):
    return isinstance(expr, ast.Constant) and expr.value is None


def might_contain_sites(text):
    """The sound pre-filter: False only if ``text`` cannot contain a site."""
    lowered = text.lower()
    return any(tok in lowered for tok in rules.PREFILTER_TOKENS)


def scan_source(text, path="<string>", package=None, tree=None, source=None, exports=None):
    """The sites in one source text (``SyntaxError`` if it does not parse).

    ``exports`` are the names other modules of the tree bind (``tree_exports``).
    """
    if tree is None:
        tree, source = parse(text, path)
    if package is None:
        package = package_of(path) if os.path.exists(path) else ""
    return SiteFinder(tree, source, path, package, exports).run(tree)


class ScanResult:
    """Sites, unparseable files and counts of one scan."""

    def __init__(self):
        self.sites = []
        self.errors = []
        self.files_total = 0
        self.files_parsed = 0


def iter_sources(paths, errors, progress=None, max_bytes=DEFAULT_MAX_BYTES):
    """Yield ``(path, text, encoding)`` for every Python file under ``paths``.

    ``progress(done, total, path)`` is called before each file and once at the end
    (``path=None``). A file that is not read (not a regular file, over ``max_bytes``,
    undecodable, unreadable: ``sources.SkippedFile``) is appended to ``errors`` as a
    ``FileError`` with the reason, and skipped. ``scan`` and ``migrate`` both read
    through here.
    """
    files = list(iter_python_files(paths))
    for i, path in enumerate(files):
        if progress is not None:
            progress(i, len(files), path)
        try:
            text, encoding = read_source(path, max_bytes)
        except SkippedFile as exc:
            errors.append(FileError(path, 0, exc.reason))
            continue
        yield path, text, encoding
    if progress is not None:
        progress(len(files), len(files), None)


def parse_error(path, exc):
    """The ``FileError`` for a file that did not parse."""
    return FileError(path, getattr(exc, "lineno", 0) or 0, f"cannot parse: {exc}")


def scan_paths(paths, progress=None, prefilter=True, max_bytes=DEFAULT_MAX_BYTES):
    """Scan files and trees; ``progress(done, total, path)`` is called as it goes.

    Files that are not read (see ``iter_sources``, ``max_bytes``) or do not parse
    become ``FileError``s; the rest are scanned.
    """
    result = ScanResult()

    def counting_progress(done, total, path):
        result.files_total = total
        if progress is not None:
            progress(done, total, path)

    sources = [(path, text) for path, text, _ in iter_sources(paths, result.errors, counting_progress, max_bytes)]
    parsed = {}
    exports = tree_exports(sources, parsed, [p for p, t in sources if not prefilter or might_contain_sites(t)])
    for path, text in sources:
        if prefilter and not might_contain_sites(text):
            result.files_parsed += 1
            continue
        try:
            tree, source = parsed[path] if path in parsed else parse(text, path)
        except (SyntaxError, ValueError) as exc:
            result.errors.append(parse_error(path, exc))
            continue
        result.files_parsed += 1
        result.sites.extend(scan_source(text, path, tree=tree, source=source, exports=exports))
    return result


def stderr_progress(every=200):
    """A ``progress(done, total, path[, verb])`` callback printing to stderr every ``every`` files.

    Silent for fewer than ``every`` files (``-q`` passes no callback at all).
    """

    def report(done, total, path, verb="scanned"):
        if total < every:
            return
        if done % every == 0 or done == total:
            print(f"compat-reg: {verb} {done}/{total} files", file=sys.stderr, flush=True)

    return report
