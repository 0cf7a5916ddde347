"""``TF1Layer.losses`` between Keras' construction trace and the first call on data.

Keras runs a layer's ``call`` once without data to build it and infer its
output: ``keras.Model(inputs, layer(inputs))`` with ``keras.Input`` tensors (both
flavors) and tf_keras' subclassed ``Model.build(shape)``, in a scratch graph it
then drops. Penalties a call adds there are tensors of that dead graph (tf_keras
keeps them in ``layer._losses`` for ever: ``sum(model.losses)`` raises "out of
scope") or dropped (Keras 3: ``model.losses == []``).

What Keras gives for its own layers at that point (measured on Keras 3.15.1 and
tf_keras 2.21 with ``Dense(kernel_regularizer=L2, activity_regularizer=L2)``):
the weight penalty, computed from the weight each time ``losses`` is read; no
activity penalty on Keras 3 (it needs data), a dead-graph tensor on tf_keras.
After a subclassed ``model.build(shape)``, Keras 3 reports nothing and tf_keras
the weight penalty (plus a dead-graph activity tensor).

So a ``TF1Layer`` adds no loss in a construction trace and, until its first call
on data, reports ``regularizer(variable)`` for each (variable, regularizer) pair
recorded when it was built, computed on access (eager, differentiable, under its
frozen-weight convention) — the weight-decay part of TF1's
``get_regularization_loss()`` on the same weights. Activity, group and manual
collection entries need the call, as in Keras 3; a regularizer whose scale is a
tensor made inside ``fn`` cannot be computed outside it and waits for the call
too. After a call on data, ``losses`` are that call's, as always.

Reporting, per flavor: Keras 3 appends them to ``Layer._get_own_losses`` (what
its ``losses`` property reads on every layer); tf_keras through its native
``add_loss(callable)``, one callable per pair returning ``None`` (which tf_keras
skips) once the layer was called on data.
"""

import contextlib
import threading

import tensorflow as tf

from compat_reg import _flavor
from compat_reg._internals import tf_keras as _tf_keras
from compat_reg.keras.variable_store import regularization_losses_now

_state = threading.local()  # depth > 0: a construction trace of some TF1Layer is running


def in_construction():
    """True while a construction trace runs (also for TF1Layers called inside its ``fn``)."""
    return getattr(_state, "depth", 0) > 0


def is_construction_call(keras, inputs):
    """A call Keras makes only to build or infer shapes, in a graph it then drops."""
    if in_construction() or any(_is_keras_tensor(keras, x) for x in tf.nest.flatten(inputs)):
        return True
    return not _flavor.is_keras3() and _tf_keras.in_subclassed_build_graph()


def _is_keras_tensor(keras, x):
    if _flavor.is_keras3():
        return isinstance(x, keras.KerasTensor)
    try:
        return keras.backend.is_keras_tensor(x)
    except ValueError:  # not a tensor at all (NumPy array, Python value)
        return False


@contextlib.contextmanager
def tracing(layer):
    """Run a construction call of ``layer``; on tf_keras, register its on-access penalties after it."""
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1
    if not _flavor.is_keras3() and not layer.__dict__.get("_tf1_construction_callables"):
        layer.__dict__["_tf1_construction_callables"] = True
        for index in range(len(layer._tf1_weight_pairs)):  # pylint: disable=protected-access
            layer.add_loss(lambda index=index: weight_loss_now(layer, index))


def weight_loss_now(layer, index):
    """``regularizer(variable)`` of the layer's ``index``-th pair, or None (called on data, frozen, or not computable)."""
    if layer._tf1_called_on_data or not layer.built:  # pylint: disable=protected-access
        return None
    pair = layer._tf1_weight_pairs[index]  # pylint: disable=protected-access
    conventions = layer.conventions
    frozen = layer._frozen_ids() if not conventions.count_frozen_weights else ()  # pylint: disable=protected-access
    try:
        losses = regularization_losses_now(layer.name, layer._tf1_store, [pair], frozen)  # pylint: disable=protected-access
    except ValueError:
        return None  # its scale is made inside fn: it comes with the first call
    return losses[0] if losses else None


def weight_losses_now(layer):
    """Every pair's ``weight_loss_now`` that is not None (Keras 3's extra own losses)."""
    if layer._tf1_called_on_data or not layer.built:  # pylint: disable=protected-access
        return []
    losses = (weight_loss_now(layer, i) for i in range(len(layer._tf1_weight_pairs)))  # pylint: disable=protected-access
    return [loss for loss in losses if loss is not None]


def install(layer_class):
    """Keras 3: make ``layer_class``'s own losses include ``weight_losses_now`` (tf_keras: nothing to do)."""
    if _flavor.is_keras3():
        from compat_reg._internals import keras3 as _keras3  # pylint: disable=import-outside-toplevel

        _keras3.extend_own_losses(layer_class, weight_losses_now)
