"""compat_reg's only door into keras3 internals (see ``compat_reg._internals``).

Each function names, in its docstring, the private symbol it reaches and the
versions it was checked on; ``REACHES`` lists them for the seam test.
"""

import contextlib
import functools
import inspect

from compat_reg._internals import Reach

_CHECKED = "Keras 3.15.1"

REACHES = (
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


@functools.lru_cache(maxsize=None)
def variable_keywords():
    """The keyword arguments ``keras.Variable(...)`` accepts on the installed Keras 3.

    Keras 3.3.3 (TF 2.16) and 3.5.0 (TF 2.18) have no ``synchronization`` (and
    3.3.3 no ``aggregation``) and reject them; later releases accept both. Read
    from the public constructor's signature, so nothing else tests versions.
    """
    import keras  # pylint: disable=import-outside-toplevel

    params = inspect.signature(keras.Variable.__init__).parameters
    return frozenset(name for name, p in params.items() if p.kind is not p.VAR_KEYWORD)
