"""Where ``tf.contrib`` went: the one table of maintained successors (``migrate --to compat``).

TF 2.x has no ``tensorflow.contrib``. Each row maps a contrib module or symbol to
its successor, spelled two ways: ``path``, the import path (``from P import n`` /
``import P``), and ``chain``, an attribute chain that reaches it from a top-level
package (``tf_slim.arg_scope``; ``None`` when there is none, e.g. ``tf_slim.ops``
is shadowed by TensorFlow's ``ops`` module on the ``tf_slim`` package). A row with
``path=None`` has no successor; ``note`` says what to do. A module row also covers
every name under it (``tensorflow.contrib.slim.conv2d`` -> ``tf_slim.conv2d``).

Successors:

* **tf_slim** is ``contrib.slim``'s continuation (the same code): slim, framework's
  arg_scope / add_arg_scope / variables, ``contrib.layers`` (layers, initializers
  such as ``xavier_initializer``, utils, regularizers, optimizers), losses, metrics;
* **compat_reg**: the TF1 regularizer factories and ``apply_regularization`` (the
  same math as contrib, plus a clear error in eager mode), the loss getters;
* **tensorflow.compat.v1** where core TF kept the symbol.

``LAYERS`` is the same kind of table for ``tf.layers`` (Keras 3 removed it):
``compat_reg.layers`` keeps TF1's variable names and losses.
"""

import collections

Successor = collections.namedtuple("Successor", "path chain note")

_V1 = "tensorflow.compat.v1"
_REGULARIZER_NAMES = ("l1_regularizer", "l2_regularizer", "l1_l2_regularizer", "sum_regularizer",
                      "apply_regularization")
_LOSS_GETTERS = ("get_regularization_loss", "get_regularization_losses", "get_total_loss")


def _same(path, chain=True):
    return Successor(path, path if chain is True else chain, "")


def _none(note):
    return Successor(None, None, note)


MODULES = {
    # --- tf_slim
    "tensorflow.contrib.slim": _same("tf_slim"),
    "tensorflow.contrib.slim.nets": _same("tf_slim.nets", None),
    "tensorflow.contrib.slim.python.slim.nets": _same("tf_slim.nets", None),
    "tensorflow.contrib.framework": _same("tf_slim"),
    "tensorflow.contrib.framework.python.ops": Successor("tf_slim.ops", None, ""),
    "tensorflow.contrib.framework.python.ops.arg_scope": Successor("tf_slim.ops.arg_scope", "tf_slim", ""),
    "tensorflow.contrib.framework.python.ops.variables": Successor("tf_slim.ops.variables", "tf_slim", ""),
    "tensorflow.contrib.layers": _same("tf_slim"),
    "tensorflow.contrib.layers.python.layers": Successor("tf_slim.layers", None, ""),
    "tensorflow.contrib.layers.python.layers.layers": Successor("tf_slim.layers.layers", "tf_slim", ""),
    "tensorflow.contrib.layers.python.layers.initializers": Successor("tf_slim.layers.initializers", "tf_slim", ""),
    "tensorflow.contrib.layers.python.layers.utils": Successor("tf_slim.layers.utils", None, ""),
    "tensorflow.contrib.layers.python.layers.regularizers": Successor("tf_slim.layers.regularizers", "tf_slim", ""),
    "tensorflow.contrib.layers.python.layers.optimizers": Successor("tf_slim.layers.optimizers", "tf_slim", ""),
    "tensorflow.contrib.losses": _same("tf_slim.losses"),
    "tensorflow.contrib.metrics": _same("tf_slim.metrics"),
    # --- tensorflow.compat.v1 where core kept it
    "tensorflow.contrib.rnn": _same(f"{_V1}.nn.rnn_cell"),
    # --- no maintained successor
    "tensorflow.contrib.learn": _none("tf.contrib.learn was removed: port to tf.estimator or Keras by hand"),
    "tensorflow.contrib.distributions": _none("use tensorflow_probability.distributions "
                                              "(pip install tensorflow-probability)"),
    "tensorflow.contrib.seq2seq": _none("no maintained successor (tensorflow_addons.seq2seq is end-of-life): "
                                        "port to Keras layers by hand"),
    "tensorflow.contrib.tpu": _none("use tf.distribute.TPUStrategy (a TF2 API): port by hand"),
}
"""contrib module -> successor module; it also covers every name under the module."""

SYMBOLS = {
    "tensorflow.contrib.framework.get_or_create_global_step": _same(f"{_V1}.train.get_or_create_global_step"),
    "tensorflow.contrib.framework.get_global_step": _same(f"{_V1}.train.get_global_step"),
    "tensorflow.contrib.training.HParams": _none("keep the hyper-parameters in a dict or dataclass"),
}
"""contrib symbol -> successor, where it differs from its module's row."""

# contrib.framework.python.ops re-exported the arg_scope and variables functions; tf_slim.ops does not.
_ARG_SCOPE_NAMES = ("arg_scope", "add_arg_scope", "current_arg_scope", "has_arg_scope", "arg_scoped_arguments")
SYMBOLS.update({f"tensorflow.contrib.framework.python.ops.{n}": Successor(f"tf_slim.ops.arg_scope.{n}",
                                                                          f"tf_slim.{n}", "")
                for n in _ARG_SCOPE_NAMES})
_VARIABLE_NAMES = ("model_variable", "variable", "local_variable", "global_variable", "get_variables",
                   "get_model_variables", "get_local_variables", "get_trainable_variables", "add_model_variable",
                   "get_variables_to_restore", "get_variables_by_name", "get_unique_variable",
                   "assign_from_checkpoint_fn", "get_or_create_global_step", "get_global_step")
SYMBOLS.update({f"tensorflow.contrib.framework.python.ops.{n}": Successor(f"tf_slim.ops.variables.{n}",
                                                                          f"tf_slim.{n}", "")
                for n in _VARIABLE_NAMES})
# compat_reg: the regularizer factories and the loss getters (same math and signatures).
SYMBOLS.update({f"tensorflow.contrib.layers.{n}": _same(f"compat_reg.{n}") for n in _REGULARIZER_NAMES})
SYMBOLS.update({f"tensorflow.contrib.losses.{n}": _same(f"compat_reg.{n}") for n in _LOSS_GETTERS})

LAYERS = {
    "tensorflow.layers": _same("compat_reg.layers"),
    "tensorflow.compat.v1.layers": _same("compat_reg.layers"),
}
"""``tf.layers`` (a module row: ``tf.layers.dense`` -> ``compat_reg.layers.dense``)."""

_MODULE_ROWS = dict(MODULES, **LAYERS)
UNKNOWN_CONTRIB = ("tensorflow.contrib.{module} has no known successor on TF 2.x: find the symbol in tf_slim, "
                   "tensorflow.compat.v1 or a maintained package and import it from there")


def is_moved(qname):
    """True if ``qname`` is under ``tensorflow.contrib`` or ``tf.layers`` (it fails on TF 2.21 / Keras 3)."""
    return qname == "tensorflow.contrib" or qname.startswith("tensorflow.contrib.") or any(
        qname == m or qname.startswith(m + ".") for m in LAYERS)


def successor(qname):
    """``(Successor, exact)`` for ``qname``: its own row, else its longest module row plus the rest.

    ``exact`` is true if ``qname`` has a row of its own. Unknown contrib names give a
    ``Successor`` with ``path=None`` and a note.
    """
    if qname in SYMBOLS:
        return SYMBOLS[qname], True
    if qname in _MODULE_ROWS:
        return _MODULE_ROWS[qname], True
    parts = qname.split(".")
    for i in range(len(parts) - 1, 1, -1):
        row = _MODULE_ROWS.get(".".join(parts[:i]))
        if row is not None:
            if row.path is None:
                return row, False
            rest = ".".join(parts[i:])
            return Successor(f"{row.path}.{rest}", f"{row.chain}.{rest}" if row.chain else None, row.note), False
    if len(parts) < 3:
        return _none("import the contrib submodules you use one by one (tensorflow.contrib.slim, "
                     "tensorflow.contrib.layers, ...) so each can be mapped to its successor"), False
    return _none(UNKNOWN_CONTRIB.format(module=parts[2])), False
