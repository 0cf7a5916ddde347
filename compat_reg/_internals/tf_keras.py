"""compat_reg's only door into tf keras internals (see ``compat_reg._internals``).

Each function names, in its docstring, the private symbol it reaches and the
versions it was checked on; ``REACHES`` lists them for the seam test.
"""

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
