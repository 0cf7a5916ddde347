"""compat_reg: TF1 regularization semantics on today's TensorFlow.

``import compat_reg`` gives a graph-mode script the ``tf.contrib.layers`` /
tf_slim regularizers, the ``REGULARIZATION_LOSSES`` collection API and the
patterns users keep asking for. The Keras bridge lives in ``compat_reg.keras``.

Importing ``compat_reg`` also calls ``compat_reg.enable_tf_slim_compat()``, which
makes tf_slim 1.1.0 (``slim.batch_norm``, ``tf_slim.nets``) build on TF 2.21; it
is idempotent and patches no TensorFlow module (see ``compat_reg.slim_compat``).
Set ``COMPAT_REG_NO_SLIM_COMPAT=1`` before the import to opt out.

The public names are loaded on first use (PEP 562), so ``import compat_reg`` itself
imports no TensorFlow: the ``compat-reg`` command (``compat_reg.migration``) starts in
milliseconds, and ``from compat_reg import l2_regularizer`` works as before.

The package owns the runtime, one concept per module: ``regularizers`` (the TF1
factories as objects) and ``conversion`` (exact ``to_keras`` / ``from_keras``);
``collections`` (``REGULARIZATION_LOSSES`` add/get/sum, ``get_total_loss``,
``apply_regularization``); ``scopes`` (``regularized_scope``) with ``fused`` (the
opt-in fused penalty) and ``regularize_existing`` (``regularize``); ``patterns``;
``slim_compat``; ``layers/`` (the ``tf.compat.v1.layers`` Keras 3 removed); the
leaves ``_registry`` (collection keys, who regularized what), ``_checks`` (argument
validation), ``_graph_walk`` (the one graph walk), ``_flavor`` (which Keras) and
``_backend_math`` (``keras.ops`` math off TensorFlow). ``keras/`` is the bridge,
built on the runtime (the runtime never imports it); ``_internals/`` is the only
door to upstream privates; ``migration/`` here is a source-checkout shim only.
"""

import importlib

from compat_reg import slim_compat as _slim_compat

# public name -> the module that defines it (explicit re-exports, loaded on first use)
_EXPORTS = {
    "REGULARIZATION_LOSSES": "collections",
    "add_regularization_loss": "collections",
    "apply_regularization": "collections",
    "get_regularization_loss": "collections",
    "get_regularization_losses": "collections",
    "get_total_loss": "collections",
    "L1Regularizer": "regularizers",
    "L2Regularizer": "regularizers",
    "NoExactKerasEquivalent": "regularizers",
    "Regularizer": "regularizers",
    "SumRegularizer": "regularizers",
    "from_keras": "regularizers",
    "l1_l2_regularizer": "regularizers",
    "l1_regularizer": "regularizers",
    "l2_regularizer": "regularizers",
    "sum_regularizer": "regularizers",
    "to_keras": "regularizers",
    "DoubleRegularizationWarning": "scopes",
    "FusedPenalty": "scopes",
    "regularize": "scopes",
    "regularized_by": "scopes",
    "regularized_scope": "scopes",
    "TrainableCoefficient": "patterns",
    "activity_regularize": "patterns",
    "group_regularizer": "patterns",
    "orthogonality": "patterns",
    "split_total_loss": "patterns",
    "trainable_coefficient": "patterns",
    "enable_tf_slim_compat": "slim_compat",
}
_SUBMODULES = ("layers", "keras")

__all__ = sorted(_EXPORTS) + ["layers"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"compat_reg.{_EXPORTS[name]}"), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"compat_reg.{name}")
    raise AttributeError(f"module 'compat_reg' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | set(_SUBMODULES))


if not _slim_compat.opted_out():
    _slim_compat.enable_tf_slim_compat()
