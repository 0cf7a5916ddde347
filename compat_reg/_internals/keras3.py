"""compat_reg's only door into keras3 internals (see ``compat_reg._internals``).

Each function names, in its docstring, the private symbol it reaches and the
versions it was checked on; ``REACHES`` lists them for the seam test.
"""

import contextlib
import inspect

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

_CHECKED = "Keras 3.15.1"

REACHES = REACHES + (
    Reach("keras.src.backend.common.global_state", "get_global_attribute", _CHECKED,
          "to create TF1Layer variables outside a symbolic StatelessScope"),
    Reach("keras.src.backend.common.global_state", "set_global_attribute", _CHECKED,
          "to leave and re-enter the StatelessScope around variable creation"),
    Reach("keras.src.layers.layer", "Layer._flatten_layers", _CHECKED,
          "to visit every nested layer of a model (publish_losses)"),
    Reach("keras.src.layers.layer", "Layer._get_own_losses", _CHECKED,
          "to add zero-argument callable losses to Layer.losses (add_callable_loss)"),
)


@contextlib.contextmanager
def outside_stateless_scope():
    """Run the body with no Keras 3 ``StatelessScope`` active; restore it after.

    Reaches ``keras.src.backend.common.global_state``'s ``"stateless_scope"``
    attribute (Keras 3.3.3-3.15.1). Keras 3 builds a subclassed model by tracing
    ``call`` inside a ``StatelessScope``, where new variables are deferred; TF1 code
    needs the variable object itself, so ``TF1Layer`` creates its variables outside.
    """
    from keras.src.backend.common import global_state  # pylint: disable=import-outside-toplevel

    scope = global_state.get_global_attribute("stateless_scope")
    global_state.set_global_attribute("stateless_scope", None)
    try:
        yield
    finally:
        global_state.set_global_attribute("stateless_scope", scope)


def flatten_layers(model):
    """Every layer in ``model``, itself included (``Layer._flatten_layers``, Keras 3.3.3-3.15.1)."""
    return list(model._flatten_layers())  # pylint: disable=protected-access


def own_losses_of_class(layer):
    """``type(layer)._get_own_losses(layer)``: the losses Keras 3 itself reports for ``layer`` (3.3.3-3.15.1)."""
    return type(layer)._get_own_losses(layer)  # pylint: disable=protected-access


def override_own_losses(layer, method):
    """Install ``method`` as ``layer._get_own_losses`` on this instance (what ``Layer.losses`` calls)."""
    object.__setattr__(layer, "_get_own_losses", method)


def variable_options(aggregation, synchronization):
    """The ``keras.Variable`` keywords for a TF1 variable's aggregation and synchronization.

    ``aggregation`` / ``synchronization`` are Keras 3 strings (``"none"``,
    ``"mean"``... / ``"auto"``, ``"on_read"``...). Keras 3.3.3 (TF 2.16) has no
    ``synchronization`` and an ``aggregation`` without ``"none"`` (default
    ``"mean"``, as every variable of that Keras); later releases take both, with
    defaults ``"none"`` and ``"auto"``. Read from the constructor's signature, so
    nothing else tests versions. A default is left out (``"none"`` aggregation is
    then Keras 3.3.3's ``"mean"``: the same values without a strategy, and for
    replica-context assigns of moving averages); a value this Keras cannot take raises
    ``ValueError`` naming it.
    """
    import keras  # pylint: disable=import-outside-toplevel

    params = inspect.signature(keras.Variable.__init__).parameters
    options = {}
    for key, value, neutral in (("aggregation", aggregation, "none"), ("synchronization", synchronization, "auto")):
        if value == neutral:
            continue  # TF1's default: this Keras' own default for its variables
        if key == "synchronization" and key not in params and not _in_multi_replica_strategy():
            # Keras 3.3.3 cannot make an ON_READ variable; without a multi-replica
            # strategy synchronization changes nothing, so the variable is a plain one.
            continue
        if key not in params:
            raise ValueError(
                f"Invalid value for argument `{key}`: Keras {keras.__version__} cannot give a "
                f"keras.Variable {key}={value!r} (its constructor has no `{key}`), which a "
                "tf.distribute strategy with several replicas needs. Received: "
                f"{key}={value!r}"
            ) if key == "synchronization" else ValueError(
                f"Invalid value for argument `{key}`: Keras {keras.__version__} cannot give a "
                f"keras.Variable {key}={value!r} (its constructor has no `{key}`). Received: {key}={value!r}"
            )
        options[key] = value
    return options


def _in_multi_replica_strategy():
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    return tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1


def variable_supports_synchronization():
    """Whether ``keras.Variable`` takes ``synchronization`` (not Keras 3.3.3; yes from 3.5)."""
    import keras  # pylint: disable=import-outside-toplevel

    return "synchronization" in inspect.signature(keras.Variable.__init__).parameters


REACHES = REACHES + (
    Reach("keras.src.layers.layer", "Layer._get_own_losses", _CHECKED,
          "to report a TF1Layer's weight penalties on access after functional construction"),
)


def extend_own_losses(cls, extra):
    """Make ``cls._get_own_losses(layer)`` return Keras 3's own list plus ``extra(layer)``.

    ``Layer._get_own_losses`` is what Keras 3's ``losses`` property calls on the
    layer and each sublayer (Keras 3.3.3-3.15.1). Set on the class, so an
    instance-level override (``add_callable_loss``, which calls the class's
    method) still includes ``extra``.
    """
    base = cls._get_own_losses  # pylint: disable=protected-access

    def _get_own_losses(self):
        return base(self) + list(extra(self))

    cls._get_own_losses = _get_own_losses  # pylint: disable=protected-access


# --- compat_reg.regularizers: which weights are Keras 3 variables -------------------------------


def variable_base_class():
    """The class every Keras 3 variable (a layer weight, a ``keras.Variable``) is an instance of.

    On Keras 3.15.1 that is ``keras.Variable``'s base ``keras.src.backend.common.variables.Variable``;
    on Keras 3.3.3 the same class is named ``KerasVariable``, and ``keras.Variable`` there is a
    constructor subclass (``keras.src.backend.exports.Variable``) that layer weights are NOT
    instances of, so ``isinstance(w, keras.Variable)`` is False for them. Reaches that module;
    checked on Keras 3.3.3 and 3.15.1.
    """
    from keras.src.backend.common import variables  # pylint: disable=import-outside-toplevel

    return getattr(variables, "KerasVariable", None) or variables.Variable


REACHES = REACHES + (
    Reach("keras.src.backend.common.variables", "", "Keras 3.3.3 (KerasVariable), 3.15.1 (Variable)",
          "to recognise a Keras 3 layer weight as a Keras variable on every Keras 3 (keras.Variable is a "
          "subclass of it on 3.3.3)"),
)
