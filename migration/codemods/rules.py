"""Every name the codemods know, as data: which qualified names are which symbol.

A row maps a *qualified name* (what an expression refers to through imports, see
``resolve``) to a ``Symbol``: the canonical name of the API and its ``origin``,
the family it was spelled in. ``scan`` turns symbols into sites (``KINDS``),
``rewrite`` decides what to do per (symbol, origin, target). Adding a spelling of
an API is adding a module to one of the tuples below.

Origins:

=============  ===========================================================  ===================
origin         spelled as                                                   exists on TF 2.21?
=============  ===========================================================  ===================
``contrib``    ``tf.contrib.layers``, ``tf.contrib.slim``, ``contrib.losses``  no
``slim``       ``tf_slim`` (contrib.slim's continuation, installed)          yes
``compat_reg`` this project's runtime                                        yes
``tf1``        top-level TF1 names (``tf.get_variable``, ``tf.losses.get_…``)  no
``v1``         ``tf.compat.v1.*`` and TF's internal modules                  yes
``tf_keras``   ``tf.keras`` / ``tf_keras`` / ``tensorflow.python.keras``      yes (flavor-dependent)
``keras``      standalone ``keras``                                          yes
``tf2``        names that exist unchanged in TF 2 (``tf.nn.l2_loss``)        yes
=============  ===========================================================  ===================
"""

import ast
import collections

Symbol = collections.namedtuple("Symbol", "name origin")

# --- TF1 regularizer factories and apply_regularization -----------------------
TF1_REGULARIZERS = ("l1_regularizer", "l2_regularizer", "l1_l2_regularizer", "sum_regularizer")
APPLY_REGULARIZATION = "apply_regularization"

_TF1_REGULARIZER_MODULES = {
    "tensorflow.contrib.layers": "contrib",
    "tensorflow.contrib.layers.python.layers": "contrib",
    "tensorflow.contrib.layers.python.layers.regularizers": "contrib",
    "tensorflow.contrib.slim": "contrib",
    "tf_slim": "slim",
    "tf_slim.layers": "slim",
    "tf_slim.layers.regularizers": "slim",
    "compat_reg": "compat_reg",
    "compat_reg.regularizers": "compat_reg",
}
_APPLY_REGULARIZATION_MODULES = dict(_TF1_REGULARIZER_MODULES, **{"compat_reg.collections": "compat_reg"})

# --- the REGULARIZATION_LOSSES collection ------------------------------------
COLLECTION_KEY = "REGULARIZATION_LOSSES"
COLLECTION_KEY_STRING = "regularization_losses"  # tf.GraphKeys.REGULARIZATION_LOSSES's value
_GRAPHKEYS_MODULES = {
    "tensorflow.GraphKeys": "tf1",
    "tensorflow.compat.v1.GraphKeys": "v1",
    "tensorflow.python.framework.ops.GraphKeys": "v1",
}
_COLLECTION_KEY_CONSTANTS = {"compat_reg": "compat_reg", "compat_reg.collections": "compat_reg"}
COLLECTION_FUNCTIONS = ("get_collection", "get_collection_ref", "add_to_collection", "add_to_collections")
COLLECTION_READS = ("get_collection", "get_collection_ref")
_COLLECTION_FUNCTION_MODULES = {
    "tensorflow": "tf1",
    "tensorflow.compat.v1": "v1",
    "tensorflow.python.framework.ops": "v1",
}

# --- loss getters -------------------------------------------------------------
LOSS_GETTERS = ("get_regularization_loss", "get_regularization_losses", "get_total_loss")
_LOSS_GETTER_MODULES = {
    "tensorflow.losses": "tf1",
    "tensorflow.contrib.losses": "contrib",
    "tensorflow.contrib.slim.losses": "contrib",
    "tensorflow.compat.v1.losses": "v1",
    "tensorflow.python.ops.losses.losses": "v1",
    "tensorflow.python.ops.losses.util": "v1",
    "tensorflow.python.ops.losses.losses_impl": "v1",
    "tf_slim.losses": "slim",
    "tf_slim.losses.loss_ops": "slim",
    "compat_reg": "compat_reg",
    "compat_reg.collections": "compat_reg",
}

# --- variables created with a regularizer --------------------------------------
VARIABLE_CREATORS = ("get_variable", "variable_scope", "get_local_variable", "model_variable", "variable")
REGULARIZER_POSITION = 4  # ``regularizer`` is the 5th positional parameter of all of them
_VARIABLE_CREATOR_MODULES = {
    "tensorflow": ("tf1", ("get_variable", "variable_scope", "get_local_variable")),
    "tensorflow.compat.v1": ("v1", ("get_variable", "variable_scope", "get_local_variable")),
    "tensorflow.python.ops.variable_scope": ("v1", ("get_variable", "variable_scope", "get_local_variable")),
    "tf_slim": ("slim", ("model_variable", "variable")),
    "tf_slim.ops.variables": ("slim", ("model_variable", "variable")),
    "tensorflow.contrib.framework": ("contrib", ("model_variable", "variable")),
    "tensorflow.contrib.slim": ("contrib", ("model_variable", "variable")),
}
NO_REGULARIZER = "no_regularizer"
_NO_REGULARIZER_MODULES = {
    "tensorflow": "tf1",
    "tensorflow.compat.v1": "v1",
    "tensorflow.python.ops.variable_scope": "v1",
}

# --- manual penalties -----------------------------------------------------------
L2_LOSS = "l2_loss"
_L2_LOSS_MODULES = {
    "tensorflow.nn": "tf2",
    "tensorflow.compat.v1.nn": "v1",
    "tensorflow.python.ops.nn": "v1",
    "tensorflow.python.ops.nn_ops": "v1",
}

# --- Keras regularizers -----------------------------------------------------------
KERAS_REGULARIZERS = ("L1", "L2", "L1L2", "l1", "l2", "l1_l2", "OrthogonalRegularizer", "orthogonal_regularizer")
_KERAS_REGULARIZER_MODULES = {
    "tensorflow.keras.regularizers": "tf_keras",
    "tensorflow.compat.v1.keras.regularizers": "tf_keras",
    "tensorflow.compat.v2.keras.regularizers": "tf_keras",
    "tensorflow.python.keras.regularizers": "tf_keras",
    "tf_keras.regularizers": "tf_keras",
    "tf_keras.src.regularizers": "tf_keras",
    "keras.regularizers": "keras",
    "keras.src.regularizers": "keras",
    "keras.src.regularizers.regularizers": "keras",
}

# Keyword arguments that take a regularizer, on any call (layers, arg_scope, ...).
REGULARIZER_KEYWORDS = frozenset({
    "weights_regularizer", "biases_regularizer", "kernel_regularizer", "bias_regularizer",
    "activity_regularizer", "depthwise_regularizer", "pointwise_regularizer",
    "recurrent_regularizer", "embeddings_regularizer", "beta_regularizer", "gamma_regularizer",
    "alpha_regularizer",
})


def _build_table():
    table = {}

    def add(modules, names, symbol_name=None):
        for module, origin in modules.items():
            for name in names:
                table[f"{module}.{name}"] = Symbol(symbol_name or name, origin)

    add(_TF1_REGULARIZER_MODULES, TF1_REGULARIZERS)
    add(_APPLY_REGULARIZATION_MODULES, (APPLY_REGULARIZATION,))
    add(_GRAPHKEYS_MODULES, (COLLECTION_KEY,))
    add(_COLLECTION_KEY_CONSTANTS, (COLLECTION_KEY,))
    add(_COLLECTION_FUNCTION_MODULES, COLLECTION_FUNCTIONS)
    add(_LOSS_GETTER_MODULES, LOSS_GETTERS)
    for module, (origin, names) in _VARIABLE_CREATOR_MODULES.items():
        add({module: origin}, names)
    add(_NO_REGULARIZER_MODULES, (NO_REGULARIZER,))
    add(_L2_LOSS_MODULES, (L2_LOSS,))
    for module, origin in _KERAS_REGULARIZER_MODULES.items():
        for name in KERAS_REGULARIZERS:
            table[f"{module}.{name}"] = Symbol(f"keras.{name}", origin)
    # tf_slim.losses has no scope argument on get_total_loss but is otherwise the same API.
    return table


SYMBOLS = _build_table()
"""qualified name -> Symbol(name, origin), for every spelling we know."""

# Modules whose star-import can bring a known name into scope unqualified.
STAR_MODULES = frozenset(q.rsplit(".", 1)[0] for q in SYMBOLS)

# Variable creators whose positional ``regularizer`` (5th parameter) is a site. slim's
# plain ``variable`` is left out: its name is in nearly every file, so only its
# ``regularizer=`` keyword (which contains "regulariz") makes a site.
POSITIONAL_REGULARIZER_CREATORS = ("get_variable", "variable_scope", "get_local_variable", "model_variable")

# Cheap, sound pre-filter. A site needs, somewhere in the file's text, one of these
# (case-insensitively): every known qualified name ends in a component containing
# one (checked below at import), collection calls need the key
# (``REGULARIZATION_LOSSES`` or "regularization_losses"), ``regularizer=`` and the
# ``*_regularizer=`` keywords contain "regulariz", and the structural patterns
# contain ``add_loss`` / ``total_loss``. So a file containing none of them cannot
# contain a site, and skipping it changes no result.
PREFILTER_TOKENS = ("regulariz", "l2_loss", "add_loss", "total_loss") + POSITIONAL_REGULARIZER_CREATORS


def _check_prefilter():
    exempt = set(COLLECTION_FUNCTIONS) | {"variable"}  # sites only through a token-bearing argument
    for qname, symbol in SYMBOLS.items():
        last = qname.rsplit(".", 1)[1].lower()
        if symbol.name in exempt or symbol.name.startswith("keras."):
            continue
        if not any(tok in last for tok in PREFILTER_TOKENS):
            raise AssertionError(f"the pre-filter would miss {qname}: add a token to PREFILTER_TOKENS")
    for qname, symbol in SYMBOLS.items():  # Keras: the module path names "regularizers"
        if symbol.name.startswith("keras.") and "regulariz" not in qname.lower():
            raise AssertionError(f"the pre-filter would miss {qname}")


_check_prefilter()

# --- THE rule table: one row per site kind ------------------------------------------

Action = collections.namedtuple("Action", "tag reason")
"""What ``migrate`` does with a site of a kind under one target.

``tag``: ``rewrite`` (a transform edits it), ``fix`` (Keras keyword fixes, both targets),
``info`` (reported as ``ok``: nothing to do by hand), ``report`` (left unchanged;
``reason`` says why), ``none`` (nothing needed).
"""
REWRITE, FIX = Action("rewrite", ""), Action("fix", "")
INFO = Action("info", "the value is not a constructor call here; it is rewritten where it is built")
NONE = Action("none", "")


def _report(reason):
    return Action("report", reason)


Rule = collections.namedtuple("Rule", "kind what names suggestion keras compat math")
"""One site kind: what it is, the canonical symbols that make it (``names``; ``()`` for
structural kinds), the suggestion ``scan`` prints, the ``Action`` of ``migrate --to
keras`` and ``--to compat``, and the math that makes a rewrite exact (docs)."""

_COLLECTION_ADVICE = ("Keras: tf.add_n(model.losses) holds the losses of that model only, the collection those "
                      "of the whole graph; verify with `compat-reg check`; graph mode: "
                      "compat_reg.get_regularization_loss(es)")
_GRAPH_WIDE = "the collection is graph-wide, model.losses per model: not provably the same"

RULES = (
    Rule("tf1_regularizer", "TF1 regularizer factory (contrib / tf_slim / compat_reg)", TF1_REGULARIZERS,
         "Keras: see the factory's conversion (FACTORIES)", REWRITE, REWRITE,
         "see FACTORIES"),
    Rule("regularizer_reference", "a TF1 regularizer factory passed as a value (config dict, partial, ...)",
         (), "convert its scale where it is called: Keras L1(s), L2(s / 2), L1L2(l1=a, l2=b / 2); "
             "or keep the TF1 factory through compat_reg (graph mode)",
         _report("the factory is called elsewhere with its scale; convert the scale there (Keras L2 is "
                 "TF1 l2 / 2)"), REWRITE, ""),
    Rule("keras_regularizer", "Keras regularizer constructor", (),
         "Keras regularizer: spell keywords l1=/l2= (l= is tf_keras-only) and pass both l1_l2 arguments",
         FIX, FIX, "l2(l=x) == l2(l2=x); tf_keras l1_l2() == l1_l2(l1=0.01, l2=0.01)"),
    Rule("regularizer_argument", "a *_regularizer= argument whose value is not a constructor call", (),
         "check the value converts exactly: compat_reg.to_keras(reg) for TF1 regularizers", INFO, NONE, ""),
    Rule("variable_regularizer", "get_variable / variable_scope / model_variable with regularizer=",
         VARIABLE_CREATORS,
         "Keras: a layer with kernel_regularizer=compat_reg.to_keras(reg), or wrap the TF1 code in "
         "compat_reg.keras.TF1Layer; graph mode on TF 2.21: tf.compat.v1.get_variable/variable_scope",
         _report("a TF1 variable-creation API: no Keras layer to move the regularizer to"), REWRITE, ""),
    Rule("no_regularizer", "tf.no_regularizer", (NO_REGULARIZER,),
         "Keras: kernel_regularizer=None; graph mode on TF 2.21: tf.compat.v1.no_regularizer",
         _report("tf.no_regularizer belongs to TF1 variable scopes; in Keras pass None"), REWRITE, ""),
    Rule("apply_regularization", "apply_regularization (adds its sum to the collection)", (APPLY_REGULARIZATION,),
         "Keras: set kernel_regularizer on the layers owning the weights (apply_regularization also "
         "appends its sum to the collection; do not count it twice); graph mode: compat_reg.apply_regularization",
         _report("no Keras equivalent: apply_regularization sums over an arbitrary list of tensors and also "
                 "appends the sum to the collection"), REWRITE, ""),
    Rule("collection_read", "read of the REGULARIZATION_LOSSES collection", (), _COLLECTION_ADVICE,
         _report(_GRAPH_WIDE), REWRITE, ""),
    Rule("collection_write", "write to the REGULARIZATION_LOSSES collection", (),
         "Keras: model.add_loss(tensor) inside call(), or compat_reg.keras.publish_losses; "
         "graph mode: compat_reg.add_regularization_loss(loss)",
         _report("Keras has no graph collection"), REWRITE, ""),
    Rule("collection_key", "other use of the REGULARIZATION_LOSSES key", (COLLECTION_KEY,),
         "graph mode on TF 2.21: compat_reg.REGULARIZATION_LOSSES (the same string)",
         _report("Keras has no graph collection"), REWRITE, ""),
    Rule("regularization_loss", "get_regularization_loss(es)",
         ("get_regularization_loss", "get_regularization_losses"), _COLLECTION_ADVICE,
         _report(_GRAPH_WIDE), REWRITE, ""),
    Rule("total_loss", "get_total_loss", ("get_total_loss",),
         "Keras: model.compile(loss=...) adds model.losses (Keras 3) — in tf_keras add "
         "tf.add_n(model.losses) yourself; graph mode: compat_reg.get_total_loss",
         _report("Keras computes the total loss in fit()/compute_loss; not a one-line rewrite"), REWRITE, ""),
    Rule("manual_l2_penalty", "manual scale * tf.nn.l2_loss(w) penalty", (L2_LOSS,),
         "Keras: kernel_regularizer=L2(scale / 2) on the layer owning w (tf.nn.l2_loss is sum(w**2) / 2)",
         _report("which layer owns w is not known statically"), NONE, "tf.nn.l2_loss(w) == sum(w**2) / 2"),
    Rule("callable_add_loss", "model.add_loss(lambda ...)", (),
         "Keras 3 removed zero-argument add_loss(callable): compute the penalty in call() and "
         "add_loss(tensor), or use compat_reg.keras.add_callable_loss",
         _report("Keras 3 removed zero-argument add_loss(callable)"),
         _report("zero-argument add_loss(callable) works in tf_keras only (TF_USE_LEGACY_KERAS=1); Keras 3 raises"),
         ""),
    Rule("total_minus_losses", "model.total_loss - sum(model.losses)", (),
         "Keras 3 has no model.total_loss: compute the data loss with the compiled loss "
         "(model.compute_loss) and the penalty with tf.add_n(model.losses)",
         _report("Keras 3 has no model.total_loss"),
         _report("model.total_loss exists in tf_keras only (TF_USE_LEGACY_KERAS=1)"), ""),
)
RULE = {rule.kind: rule for rule in RULES}
KINDS = {rule.kind: rule.what for rule in RULES}
"""kind -> what it is (scan's summary and the CLI epilog)."""

_KIND_OF_NAME = {name: rule.kind for rule in RULES if rule.kind != "variable_regularizer" for name in rule.names}


def kind_of(symbol):
    """The site kind a call of (or reference to) ``symbol`` makes, or ``None``."""
    if symbol.name.startswith("keras."):
        return "keras_regularizer"
    return _KIND_OF_NAME.get(symbol.name)


Factory = collections.namedtuple("Factory", "name params call emitted suggestion math")
"""A TF1 regularizer factory: its parameters, the exact Keras form ``--to keras`` emits
(``call`` -> ``tf.keras.regularizers.<emitted>``), scan's suggestion, and the math."""

FACTORIES = {f.name: f for f in (
    Factory("l1_regularizer", ("scale", "scope"), "l1_regularizer(s)", "L1(s)",
            "Keras: L1(scale)  (same values)", "TF1 s*sum|w| == Keras L1(s)"),
    Factory("l2_regularizer", ("scale", "scope"), "l2_regularizer(s)", "L2(s / 2)",
            "Keras: L2(scale / 2)  (TF1's L2 is scale * sum(w**2) / 2)", "TF1 s*sum(w**2)/2 == Keras L2(s/2)"),
    Factory("l1_l2_regularizer", ("scale_l1", "scale_l2", "scope"), "l1_l2_regularizer(a, b)",
            "L1L2(l1=a, l2=b / 2)", "Keras: L1L2(l1=scale_l1, l2=scale_l2 / 2)",
            "TF1 a*sum|w| + b*sum(w**2)/2 == Keras L1L2(a, b/2)"),
    Factory("sum_regularizer", ("regularizer_list", "scope"), "sum_regularizer([l1(a), l2(b), l1_l2(c, d)])",
            "L1L2(l1=a + c, l2=b / 2 + d / 2)", "Keras: one L1L2 with the summed coefficients",
            "sum of TF1 l1/l2 terms == one Keras L1L2 with summed coefficients"),
)}
assert set(FACTORIES) == set(TF1_REGULARIZERS)


def suggestion(kind, name):
    """What ``scan`` suggests for a site of ``kind`` whose canonical symbol is ``name``."""
    if kind == "tf1_regularizer":
        return FACTORIES[name].suggestion
    if kind in RULE:
        return RULE[kind].suggestion
    return MIGRATE_ONLY_KINDS.get(kind, "")


def action(kind, target):
    """The ``Action`` of ``migrate --to target`` for sites of ``kind``."""
    rule = RULE.get(kind)
    if rule is None:
        return REWRITE
    return rule.keras if target == "keras" else rule.compat


# Kinds only ``migrate --to compat`` reports (whole-API moves, not regularization sites).
MIGRATE_ONLY_KINDS = {
    "contrib_import": "import the maintained successor (tf_slim, compat_reg, tensorflow.compat.v1)",
    "contrib_symbol": "use the maintained successor named in the message",
    "tf1_api": "import tensorflow.compat.v1 as tf (the migration guide's first step)",
    "tf_layers": "compat_reg.layers (TF1 layers with TF1 variable names and losses)",
}


def known_symbol(resolver, expr, scope):
    """``(qualified_name, Symbol)`` of the first name in ``SYMBOLS`` that ``expr`` may refer to, else ``(None, None)``.

    ``resolver`` is a ``resolve.Resolver``; ``expr`` an ``ast.Name`` / ``ast.Attribute`` (anything else is no name).
    The candidates are tried in sorted order, so the answer does not depend on import order.
    """
    if not isinstance(expr, (ast.Name, ast.Attribute)):
        return None, None
    for qname in sorted(resolver.qualified_names(expr, scope)):
        symbol = SYMBOLS.get(qname)
        if symbol is not None:
            return qname, symbol
    return None, None
