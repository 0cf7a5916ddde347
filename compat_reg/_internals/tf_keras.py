"""compat_reg's only door into tf keras internals (see ``compat_reg._internals``).

Each function names, in its docstring, the private symbol it reaches and the
versions it was checked on; ``REACHES`` lists them for the seam test.
"""

import functools
import sys

from compat_reg._internals import Reach

REACHES = ()


# --- migration.equivalence (the checker's Keras side) ---------------------------------------------


def optimizer_decays_variable(optimizer, variable):
    """Whether a tf_keras optimizer applies its decoupled ``weight_decay`` to ``variable``.

    Reaches ``_BaseOptimizer._use_weight_decay(variable)`` (``exclude_from_weight_decay``'s
    variables and name patterns). Checked on tf_keras 2.21.
    """
    return bool(optimizer._use_weight_decay(variable))


def model_is_compiled(model):
    """Whether ``compile()`` was called on a tf_keras model.

    Reaches ``Model._compile_was_called`` (a property over ``_is_compiled``). Checked on tf_keras 2.21.
    """
    return bool(getattr(model, "_compile_was_called", False))


REACHES = REACHES + (
    Reach("tf_keras.src.optimizers.optimizer", "_BaseOptimizer._use_weight_decay", "tf_keras 2.21",
          "to know which variables an optimizer's decoupled weight_decay touches (exclude_from_weight_decay)"),
    Reach("tf_keras.src.engine.training", "Model._compile_was_called", "tf_keras 2.21",
          "to know whether a model with its own train_step was compiled (Keras 3 has the public `compiled`)"),
)

_CHECKED = "tf_keras 2.16.0, 2.18.0, 2.21.0"
_LEGACY_BASE = "tf_keras.src.legacy_tf_layers.base"

REACHES = REACHES + (
    Reach("tf_keras.src.legacy_tf_layers.base", "Layer._handle_activity_regularization", _CHECKED,
          "to put legacy layers' activity penalties in REGULARIZATION_LOSSES inside a TF1Layer call"),
    Reach("tf_keras.src.engine.base_layer", "Layer._flatten_layers", _CHECKED,
          "to visit every nested layer of a model (publish_losses)"),
)


def patch_legacy_activity_handler(make_handler):
    """Replace ``legacy_tf_layers.base.Layer._handle_activity_regularization`` once, if tf_keras' legacy layers are loaded.

    ``make_handler(original)`` returns the new method. tf_keras' legacy layers
    (tf_slim, ``tf.compat.v1.layers``) drop their activity penalty inside a
    ``tf.function`` (``base_layer_v1.add_loss`` skips symbolic losses there), so the
    bridge installs a handler that adds it to the collection as TF1 graph mode did.
    Returns True once installed (tf_keras 2.16-2.21).
    """
    module = sys.modules.get(_LEGACY_BASE)
    if module is None:
        return False
    layer = module.Layer
    if getattr(layer, "_compat_reg_patched", False):
        return True
    original = layer._handle_activity_regularization  # pylint: disable=protected-access
    layer._handle_activity_regularization = make_handler(original)  # pylint: disable=protected-access
    layer._compat_reg_patched = True  # pylint: disable=protected-access
    return True


def activity_regularizer_of(layer):
    """The legacy layer's ``_activity_regularizer`` (tf_keras 2.16-2.21)."""
    return layer._activity_regularizer  # pylint: disable=protected-access


def flatten_layers(model):
    """Every layer in ``model``, itself included (``Layer._flatten_layers``, tf_keras 2.16-2.21)."""
    return list(model._flatten_layers())  # pylint: disable=protected-access


def eager_losses(layer):
    """``layer._losses``: the tensors ``add_loss`` stored on this layer itself (tf_keras 2.16-2.21)."""
    return list(layer._losses)  # pylint: disable=protected-access


def callable_losses(layer):
    """``layer._callable_losses``: the zero-argument loss functions of this layer (tf_keras 2.16-2.21)."""
    return list(layer._callable_losses)  # pylint: disable=protected-access


def regularized_variable(loss_fn):
    """The variable of a weight-regularizer callable, or None for any other callable loss.

    tf_keras stores a weight regularizer as
    ``partial(_tag_callable, partial(_loss_for_variable, variable))`` in
    ``layer._callable_losses`` (``Layer._handle_weight_regularization``'s nested
    ``_loss_for_variable``; tf_keras 2.16-2.21).
    """
    inner = loss_fn.args[0] if isinstance(loss_fn, functools.partial) and loss_fn.args else None
    if (
        isinstance(inner, functools.partial)
        and getattr(inner.func, "__name__", "") == "_loss_for_variable"
        and inner.args
    ):
        return inner.args[0]
    return None


def set_weight_trainable(layer, variable, trainable):
    """Move ``variable`` between ``layer._trainable_weights`` and ``_non_trainable_weights`` (tf_keras 2.16-2.21)."""
    source, target = (
        (layer._non_trainable_weights, layer._trainable_weights)  # pylint: disable=protected-access
        if trainable
        else (layer._trainable_weights, layer._non_trainable_weights)  # pylint: disable=protected-access
    )
    for i, v in enumerate(source):
        if v is variable:
            del source[i]
            target.append(variable)
            return


REACHES = REACHES + (
    Reach("tf_keras.src.engine.training", "Model.build", _CHECKED,
          "to tell a subclassed model's build(shape) trace (FuncGraph 'build_graph') from a call on data"),
)


def in_subclassed_build_graph():
    """True inside tf_keras' ``Model.build(input_shape)`` of a subclassed model.

    ``Model.build`` calls ``self.call`` on placeholders in a
    ``FuncGraph("build_graph")`` it then drops (tf_keras 2.16-2.21); symbolic
    losses added there stay in ``layer._losses`` as tensors of that dead graph.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    graph = tf.compat.v1.get_default_graph()
    return isinstance(graph, tf.__internal__.FuncGraph) and graph.name == "build_graph"
