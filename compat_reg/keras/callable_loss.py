"""``add_callable_loss``: the zero-argument callable loss of TF1/tf_keras, in both Keras flavors.

tf_keras (like TF1 Keras) accepts ``layer.add_loss(lambda: penalty)``: the
callable is stored and evaluated again every time ``layer.losses`` is read, so
the penalty is recomputed at every training step from the current values of
whatever variables it reads — variables of other layers, or a trainable
coefficient. Keras 3 removed this (``add_loss`` takes tensors only, and a tensor
added outside ``call()`` is dropped at the next call). ``add_callable_loss``
gives both flavors the tf_keras semantics::

    model.losses == [...losses Keras already reports..., fn_1(), fn_2(), ...]

where each ``fn_i()`` is evaluated when ``losses`` is read. Keras ``fit`` reads
``model.losses`` inside its traced train step (``compute_loss``), and a custom
loop reads it inside its ``GradientTape``, so the penalty is recomputed every
step and differentiated with respect to every variable it reads.

Under ``tf.distribute``, the callable loss is one more entry of
``model.losses``, so Keras ``fit`` scales it per replica exactly as it scales
its own regularization losses (by ``1 / num_replicas_in_sync``); in a custom
loop use ``compat_reg.keras.scale_regularization_loss``.

Mechanism, per flavor:

* tf_keras: the native ``layer.add_loss(fn)`` (the callable is wrapped only to
  check that it returns a scalar and to name ``fn`` in errors).
* Keras 3: the callables are kept on the layer instance and appended by an
  instance-level override of ``Layer._get_own_losses`` (the method Keras 3's
  ``losses`` property calls on the layer and every sublayer). No weight, class or
  serialized config is changed: ``save_weights``/``load_weights`` and
  ``get_config`` are unaffected. Callable losses are not part of the config, as
  in tf_keras: a model rebuilt from config (``clone_model``, ``from_config``,
  ``load_model``) needs ``add_callable_loss`` again.
"""

import inspect
import types

import tensorflow as tf

from compat_reg import _backend_math
from compat_reg import _flavor

_ATTR = "_compat_reg_callable_losses"


def _describe(obj):
    text = repr(obj)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} (type {type(obj).__name__})"


def _fn_name(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _check_layer(layer_or_model):
    keras = _flavor.keras()
    if not isinstance(layer_or_model, keras.layers.Layer):
        raise TypeError(
            "add_callable_loss(layer_or_model, fn): `layer_or_model` must be a "
            f"{_flavor.name()} Layer or Model (the Keras that tf.keras is in this process). "
            f"Received: layer_or_model={_describe(layer_or_model)}. Pass the Keras model "
            "whose `losses` should include the penalty (a model built with the other Keras "
            "flavor, or a tf.Module, cannot carry Keras losses)."
        )


def _check_fn(fn):
    if not callable(fn):
        raise TypeError(
            "add_callable_loss(layer_or_model, fn): `fn` must be a zero-argument callable "
            f"returning a scalar loss tensor. Received: fn={_describe(fn)}. To add a tensor "
            "that depends on the layer inputs, call `self.add_loss(tensor)` inside `call()`; "
            "for a penalty over variables, pass `lambda: penalty(...)`."
        )
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    required = [
        p.name
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if required:
        raise TypeError(
            "add_callable_loss(layer_or_model, fn): `fn` must take no arguments (it is "
            f"called as fn() each time `losses` is read), but {_fn_name(fn)} requires "
            f"{required}. Received: fn={_describe(fn)}. Bind the arguments, e.g. "
            "`lambda: fn(layer.kernel)` or functools.partial."
        )


def _checked(fn):
    """Wrap ``fn`` so a non-scalar result raises an error that names ``fn``."""

    def loss():
        value = fn()
        if value is None:
            raise ValueError(
                f"add_callable_loss: the callable {_fn_name(fn)} returned None. It must "
                "return a scalar loss tensor (return tf.constant(0.0) for no penalty)."
            )
        if _backend_math.applies(value):  # Keras 3 on JAX / torch: the same checks with keras.ops
            return _backend_math.scalar_loss(value, f"add_callable_loss: the callable {_fn_name(fn)}")
        value = tf.convert_to_tensor(value)
        if value.shape.rank not in (0, None):
            raise ValueError(
                f"add_callable_loss: the callable {_fn_name(fn)} returned a tensor of shape "
                f"{value.shape}; a loss must be a scalar. Reduce it with tf.reduce_sum or "
                "tf.reduce_mean inside the callable."
            )
        if not value.dtype.is_floating:
            value = tf.cast(value, _flavor.keras().backend.floatx())
        return value

    loss.__name__ = f"checked_{getattr(fn, '__name__', 'loss')}"
    loss.__qualname__ = loss.__name__
    loss.wrapped = fn
    return loss


def _check_variables_tracked(model, fn):
    """For a built Model, run ``fn`` once and require its trainable variables to be model weights.

    A trainable variable read by ``fn`` but not tracked by the model gets a
    gradient in a custom loop that lists it, but ``model.fit`` (which differentiates
    ``model.trainable_weights`` only) would silently never train it.
    """
    keras = _flavor.keras()
    if not isinstance(model, keras.Model) or not model.built or not tf.executing_eagerly():
        return
    with tf.GradientTape(watch_accessed_variables=True) as tape:
        fn()
    tracked = set()
    for w in model.weights:
        candidates = [w]
        inner = getattr(w, "value", None)  # Keras 3 Variable wraps a tf.Variable
        if isinstance(inner, tf.Variable):
            candidates.append(inner)
        for v in list(candidates):
            # tf.distribute: the tape sees the per-device components of a MirroredVariable.
            candidates.extend(getattr(v, "values", None) or ())
        tracked.update(id(v) for v in candidates)
    for v in tape.watched_variables():
        if v.trainable and id(v) not in tracked:
            raise ValueError(
                f"add_callable_loss: the callable {_fn_name(fn)} reads the trainable variable "
                f"{v.name!r}, which model {model.name!r} does not track, so model.fit would "
                "never train it. Create it with `model.add_weight(name=..., shape=(), "
                "initializer=...)` (works in Keras 3 and tf_keras), or create it as a weight "
                "of one of the model's layers."
            )


def _keras3_own_losses(self):
    from compat_reg._internals import keras3 as _keras3  # pylint: disable=import-outside-toplevel

    losses = _keras3.own_losses_of_class(self)
    for fn in getattr(self, _ATTR, ()):
        losses.append(fn())
    return losses


def add_callable_loss(layer_or_model, fn):
    """Add the zero-argument callable ``fn`` to ``layer_or_model.losses``, in Keras 3 and tf_keras.

    ``fn()`` is evaluated each time ``losses`` is read (tf_keras / TF1 Keras
    ``add_loss(callable)`` semantics), i.e. once per ``fit`` step inside the
    traced train step and once per read in a custom loop, so its value follows the
    variables it reads and its gradient reaches all of them — variables of any
    layer and trainable coefficients (create those with ``model.add_weight`` so
    ``fit`` trains them). The total Keras minimizes becomes::

        compiled_loss + sum(other model.losses) + sum_i fn_i()

    (under ``tf.distribute`` each term scaled by ``1 / num_replicas_in_sync`` by
    ``fit``, as Keras does for all of ``model.losses``).

    Adding the same callable twice counts it twice (as tf_keras ``add_loss`` does).

    Args:
      layer_or_model: a Keras Layer or Model of the active flavor.
      fn: a callable taking no arguments and returning a scalar float tensor.

    Returns:
      ``fn``, so the function can be kept for reference.

    Raises:
      TypeError: ``layer_or_model`` is not a Keras layer of the active flavor, or
        ``fn`` is not a zero-argument callable.
      ValueError: (for a built Model, when executing eagerly) ``fn`` reads a
        trainable variable the model does not track; or, when evaluated, ``fn``
        returns ``None`` or a non-scalar.

    >>> log_c = model.add_weight(name="log_c", shape=(), initializer="zeros")  # doctest: +SKIP
    >>> add_callable_loss(model, lambda: tf.exp(log_c) * tf.nn.l2_loss(dense.kernel))  # doctest: +SKIP
    """
    _check_layer(layer_or_model)
    _check_fn(fn)
    loss = _checked(fn)
    _check_variables_tracked(layer_or_model, loss)
    if _flavor.supports_callable_add_loss():
        layer_or_model.add_loss(loss)
        return fn
    callables = layer_or_model.__dict__.get(_ATTR)
    if callables is None:
        callables = []
        # object.__setattr__: keep Keras 3's attribute tracker out of it (a plain
        # list of functions is no state, and must not be locked or serialized).
        object.__setattr__(layer_or_model, _ATTR, callables)
        from compat_reg._internals import keras3 as _keras3  # pylint: disable=import-outside-toplevel

        _keras3.override_own_losses(layer_or_model, types.MethodType(_keras3_own_losses, layer_or_model))
    callables.append(loss)
    return fn

