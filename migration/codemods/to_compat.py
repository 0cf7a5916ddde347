"""``--to compat``: TF1 graph code that runs on TF 2.21 with TF1 semantics (the API moves).

The migration guide's first step, file by file:

* **The TensorFlow import of TF1 code moves to ``tensorflow.compat.v1``** (a file using a
  name of ``TF1_ONLY``, ``tf.contrib``, ``tf.layers`` or a TF1 regularization name; TF2 code
  keeps its import): ``import tensorflow as tf``
  becomes ``import tensorflow.compat.v1 as tf`` (``import tensorflow`` becomes
  ``import tensorflow.compat.v1 as tensorflow``, ``from tensorflow import x`` becomes
  ``from tensorflow.compat.v1 import x``), so every TF1 top-level name —
  ``tf.variable_scope``, ``tf.placeholder``, ``tf.Session``, ``tf.train.*``,
  ``tf.GraphKeys`` — keeps its TF1 meaning without touching its uses. A file that
  already imports ``tensorflow.compat.v1`` is taken as migrated by hand and keeps its
  imports; its TF1 regularization names are renamed to ``tf.compat.v1.<name>`` instead.
* **``tf.disable_v2_behavior()``** is added after the imports of *entry points* only:
  files with an ``if __name__ == "__main__":`` block, or module-level code calling
  ``placeholder``/``Session``/``InteractiveSession``, that use one of those. Library
  modules are built under the caller's graph and must not flip the process-wide switch.
* The TF1 loss getters become ``compat_reg.<same name>`` (same signatures; a clear
  error in eager mode instead of an empty list).

``tf.contrib`` and ``tf.layers`` are the job of ``successors``.
"""

import ast

from . import contrib
from .edits import Edit, Unsafe, iter_chains
from .imports import module_name, tf_name
from .keras_fix import transform as keras_fix

ENTRY_POINT_CALLS = ("placeholder", "Session", "InteractiveSession")
_V1 = "tensorflow.compat.v1"

# What makes a file TF1 code: names TF1 had and TF 2.21 does not, under either Keras flavor
# (`tf.losses` is Keras' losses module there); ``tensorflow.compat.v1`` has them. A test
# checks both against the installed TensorFlow, on both flavors. A file using none of them,
# nor tf.contrib / tf.layers nor a TF1 regularization name, is TF2 code and keeps
# `import tensorflow as tf`.
TF1_ONLY = {
    "tensorflow": (
        "placeholder", "placeholder_with_default", "Session", "InteractiveSession", "variable_scope",
        "get_variable", "get_local_variable", "get_variable_scope", "GraphKeys", "get_collection",
        "get_collection_ref", "add_to_collection", "add_to_collections", "global_variables_initializer",
        "local_variables_initializer", "variables_initializer", "global_variables", "local_variables",
        "trainable_variables", "model_variables", "layers", "app", "flags", "logging", "gfile", "to_float",
        "to_int32", "to_int64", "no_regularizer", "truncated_normal_initializer", "glorot_uniform_initializer",
        "assign", "assign_add", "reset_default_graph", "get_default_graph", "Print", "py_func", "log", "div",
        "colocate_with", "tables_initializer", "get_default_session", "set_random_seed", "random_uniform",
        "random_normal", "truncated_normal", "arg_max", "arg_min", "AUTO_REUSE", "VariableScope", "make_template",
        "initialize_all_variables", "disable_v2_behavior"),
    "tensorflow.train": (
        "Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdamOptimizer", "AdagradOptimizer",
        "AdadeltaOptimizer", "RMSPropOptimizer", "FtrlOptimizer", "SyncReplicasOptimizer", "Saver", "Scaffold",
        "MonitoredTrainingSession", "MonitoredSession", "SessionRunHook", "get_or_create_global_step",
        "get_global_step", "create_global_step", "exponential_decay", "piecewise_constant", "polynomial_decay",
        "cosine_decay", "import_meta_graph", "init_from_checkpoint", "batch", "shuffle_batch", "Supervisor"),
    "tensorflow.losses": (
        "absolute_difference", "add_loss", "compute_weighted_loss", "cosine_distance", "get_losses",
        "get_regularization_loss", "get_regularization_losses", "get_total_loss", "hinge_loss", "huber_loss",
        "log_loss", "mean_pairwise_squared_error", "sigmoid_cross_entropy",
        "softmax_cross_entropy", "sparse_softmax_cross_entropy"),
    "tensorflow.summary": ("FileWriter", "merge", "merge_all", "tensor_summary", "Summary"),
}
_TF1_ONLY_QNAMES = frozenset(f"{module}.{name}" for module, names in TF1_ONLY.items() for name in names)


def is_tf1_code(ctx):
    """True if the file uses a name only TF1 has (``TF1_ONLY``), ``tf.contrib`` or ``tf.layers``."""
    if any(site.origin in ("tf1", "contrib") for site in ctx.sites):
        return True
    for expr, scope in iter_chains(ctx.resolver, ctx.tree):
        for qname in ctx.resolver.qualified_names(expr, scope):
            parts = qname.split(".")
            if contrib.is_moved(qname) or ".".join(parts[:2]) in _TF1_ONLY_QNAMES \
                    or ".".join(parts[:3]) in _TF1_ONLY_QNAMES:
                return True
    return False


def _imports_v1(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == _V1 or a.name.startswith(_V1 + ".") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and not node.level and (
                node.module in ("tensorflow.compat", _V1) or (node.module or "").startswith(_V1 + ".")):
            return True
    return False


def switch_import(ctx):
    """Rewrite the file's TensorFlow imports to ``tensorflow.compat.v1``: ``[(stmt, new text)]``."""
    if _imports_v1(ctx.tree) or not is_tf1_code(ctx):
        return []
    done = []
    for stmt in ast.walk(ctx.tree):
        if isinstance(stmt, ast.Import) and any(a.name == "tensorflow" for a in stmt.names):
            parts = [f"{_V1} as {a.asname or a.name}" if a.name == "tensorflow"
                     else a.name + (f" as {a.asname}" if a.asname else "") for a in stmt.names]
            text = "import " + ", ".join(parts)
        elif isinstance(stmt, ast.ImportFrom) and not stmt.level and stmt.module == "tensorflow" \
                and not any(a.name in ("contrib", "compat", "*") for a in stmt.names):
            text = f"from {_V1} import " + ", ".join(a.name + (f" as {a.asname}" if a.asname else "")
                                                    for a in stmt.names)
        else:
            continue
        start, end = ctx.span(stmt)
        if ctx.has_comment(stmt):
            ctx.unswitched.append((stmt, "the import contains a comment that rewriting it would drop: move the "
                                         f"comment out and run again (or write `{text}`)"))
        elif ctx.add_edits([Edit(start, end, text)]):
            done.append((stmt, text))
    ctx.tf_switched = bool(done)
    return done


def _is_tf1_graph_call(ctx, node, scope):
    """A call of TF1's ``placeholder`` / ``Session`` / ``InteractiveSession`` (by qualified name)."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, (ast.Name, ast.Attribute)):
        return False
    wanted = {f"{m}.{n}" for m in ("tensorflow", _V1) for n in ENTRY_POINT_CALLS}
    return bool(ctx.resolver.qualified_names(node.func, scope) & wanted)


def entry_point_switch(ctx):
    """Add ``tf.disable_v2_behavior()`` after the imports of an entry point (see the module doc)."""
    if not ctx.tf_switched:
        return None
    scope = ctx.resolver.module_scope
    uses_graph_api = False
    module_level = False
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                "disable_v2_behavior", "disable_eager_execution"):
            return None  # already there
        if _is_tf1_graph_call(ctx, node, scope):
            uses_graph_api = True
    main_block = any(isinstance(s, ast.If) and "__name__" in ctx.segment(s.test) and "__main__" in ctx.segment(s.test)
                     for s in ctx.tree.body)
    for stmt in ctx.tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if any(_is_tf1_graph_call(ctx, n, scope) for n in ast.walk(stmt)):
            module_level = True
    if not uses_graph_api or not (main_block or module_level):
        return None
    bound = [n for n, bs in scope.bindings.items() if bs and all(b.qname == "tensorflow" for b in bs)]
    # A switched `import tensorflow as tf` is tensorflow.compat.v1 now; else import it.
    name = tf_name(ctx, scope) if bound else module_name(ctx, _V1, ("tf", "tfv1"), scope)
    ctx.after_imports.append(f"{name}.disable_v2_behavior()")
    return name


# --- regularization sites under --to compat ------------------------------------------


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
        raise Unsafe(f"`{ctx.segment(expr)}` is imported by name from TF1's top level, which TF 2.21 does not "
                     f"have: import {what} from tensorflow.compat.v1 instead")
    start, end = ctx.span(expr)
    return Edit(start, end, text)


COVERED = "covered"  # the site's names are fixed by an import or chain rewrite of this file


def _to_compat_reg(ctx, site):
    """Replace the callee with ``compat_reg.<name>`` (same signature and TF1 semantics)."""
    func = site.node.func
    if isinstance(func, ast.Name):
        raise Unsafe(f"`{func.id}` is imported from TF1's top level, which TF 2.21 does not have: "
                     f"use `from compat_reg import {site.name}`")
    start, end = ctx.span(func)
    return [Edit(start, end, f"{module_name(ctx, 'compat_reg', ('compat_reg',), site.scope)}.{site.name}")], (
        f"compat_reg.{site.name} has the TF1 signature and semantics")


def _collection_to_v1(ctx, site):
    call, scope = site.node, site.scope
    edits = []
    _, symbol = ctx.symbol(call.func, scope)
    if symbol is not None and symbol.origin == "tf1":
        edits.append(_rename_v1(ctx, call.func, scope, site.name))
    for arg in list(call.args[:1]) + [k.value for k in call.keywords]:
        for node in ast.walk(arg):
            _, key_symbol = ctx.symbol(node, scope) if isinstance(node, ast.Attribute) else (None, None)
            if key_symbol is not None and key_symbol.name == "REGULARIZATION_LOSSES" and key_symbol.origin == "tf1":
                edits.append(_rename_v1(ctx, node, scope, "GraphKeys"))
    if not edits:
        return None
    return edits, "the TF1 name now lives in tf.compat.v1 (same semantics)"


def transform(ctx, site):
    """``(edits, reason)``, ``None`` (nothing needed), ``COVERED``, or raise ``Unsafe``."""
    kind, origin = site.kind, site.origin
    if kind == "keras_regularizer":
        return keras_fix(ctx, site)
    if origin == "contrib" or contrib.is_moved(site.qualified_name):
        return COVERED  # successors rewrote (or reported) the contrib name
    if origin != "tf1":
        return None
    if kind in ("regularization_loss", "total_loss") and isinstance(site.node, ast.Call) \
            and isinstance(site.node.func, ast.Attribute):
        return _to_compat_reg(ctx, site)
    if ctx.tf_switched and site.qualified_name.split(".")[0] == "tensorflow":
        return COVERED
    if kind in ("collection_read", "collection_write"):
        return _collection_to_v1(ctx, site)
    if kind in ("variable_regularizer", "no_regularizer", "collection_key", "regularization_loss", "total_loss"):
        expr = site.node.func if isinstance(site.node, ast.Call) else site.node
        return [_rename_v1(ctx, expr, site.scope, site.name)], "the TF1 name now lives in tf.compat.v1 (same semantics)"
    return None
