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

# --- site kinds, with what the report says about each --------------------------------
KINDS = {
    "tf1_regularizer": "TF1 regularizer factory (contrib / tf_slim / compat_reg)",
    "keras_regularizer": "Keras regularizer constructor",
    "regularizer_argument": "a *_regularizer= argument whose value is not a constructor call",
    "variable_regularizer": "get_variable / variable_scope / model_variable with regularizer=",
    "no_regularizer": "tf.no_regularizer",
    "apply_regularization": "apply_regularization (adds its sum to the collection)",
    "collection_read": "read of the REGULARIZATION_LOSSES collection",
    "collection_write": "write to the REGULARIZATION_LOSSES collection",
    "collection_key": "other use of the REGULARIZATION_LOSSES key",
    "regularization_loss": "get_regularization_loss(es)",
    "total_loss": "get_total_loss",
    "manual_l2_penalty": "manual scale * tf.nn.l2_loss(w) penalty",
    "callable_add_loss": "model.add_loss(lambda ...)",
    "total_minus_losses": "model.total_loss - sum(model.losses)",
}
