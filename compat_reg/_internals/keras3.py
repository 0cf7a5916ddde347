"""compat_reg's only door into keras3 internals (see ``compat_reg._internals``).

Each function names, in its docstring, the private symbol it reaches and the
versions it was checked on; ``REACHES`` lists them for the seam test.
"""

from compat_reg._internals import Reach

REACHES = ()


# --- migration.equivalence (the checker's Keras side) ---------------------------------------------


def optimizer_decays_variable(optimizer, variable):
    """Whether a Keras 3 optimizer applies its decoupled ``weight_decay`` to ``variable``.

    Reaches ``BaseOptimizer._use_weight_decay(variable)`` (the one place that applies
    ``exclude_from_weight_decay``'s variables and name patterns). Checked on Keras 3.15.1.
    """
    return bool(optimizer._use_weight_decay(variable))


def model_is_compiled(model):
    """Whether ``compile()`` was called on a Keras 3 model (the public ``Trainer.compiled`` flag).

    No private reach: listed here so the checker asks one function per flavor.
    """
    return bool(getattr(model, "compiled", False))


REACHES = REACHES + (
    Reach("keras.src.optimizers.base_optimizer", "BaseOptimizer._use_weight_decay", "Keras 3.15.1",
          "to know which variables an optimizer's decoupled weight_decay touches (exclude_from_weight_decay)"),
)
