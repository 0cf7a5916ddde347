"""TF1 (``tf.contrib.layers`` / ``tf_slim``) weight regularizers as objects.

The factories ``l1_regularizer``, ``l2_regularizer``, ``l1_l2_regularizer`` and
``sum_regularizer`` have the names, signatures, argument validation, error
messages, op names and values of ``tf_slim.layers.regularizers`` (the code that
was ``tf.contrib.layers``)::

    l1_regularizer(s)(w)       == s * reduce_sum(abs(w))
    l2_regularizer(s)(w)       == s * tf.nn.l2_loss(w) == s * reduce_sum(w ** 2) / 2
    l1_l2_regularizer(a, b)(w) == a * reduce_sum(abs(w)) + b * reduce_sum(w ** 2) / 2
    sum_regularizer([r1, r2])  == r1(w) + r2(w)

Note the ``/ 2`` of TF1's L2: Keras' ``L2(s)`` is ``s * reduce_sum(w ** 2)``, twice
as much. ``to_keras`` and ``from_keras`` convert exactly between the two.

Unlike tf_slim's closures the factories return objects that also

* work as ``kernel_regularizer`` / ``bias_regularizer`` of Keras 3 and tf_keras
  layers (Keras 3 variables report ``dtype`` as a string, which tf_slim's
  closures crash on);
* serialize through ``get_config`` / ``from_config`` and are registered with the
  active Keras flavor, so saved models that use them load again;
* accept a ``tf.Tensor`` or ``tf.Variable`` as the scale (TF1 allowed it, both
  Keras flavors reject it), e.g. a trainable coefficient.

Scale 0 keeps TF1's contract where TF1 code can see it: in TF1 graph mode a
regularizer whose scale is the Python number 0 returns ``None`` (so
``get_variable`` adds nothing to the collection, as with tf_slim's
``lambda _: None``). Where Keras 3 calls it (eagerly, inside ``tf.function``, or
on a Keras 3 variable even in a ``tf.Graph``) and outside graph mode it returns a
scalar zero instead, because Keras 3 sums its losses and cannot take ``None``
(tf_keras skips ``None`` in graph mode, like ``get_variable``).

Misuse raises with the fix: integer/bool weights (``TypeError`` naming the
variable; Keras 3 silently returns 0), integer, negative or non-finite scales
(``ValueError``). See ``docs/runtime.md``.
"""

import json
import numbers

import tensorflow as tf

from compat_reg import _backend_math
from compat_reg import _checks
from compat_reg import _flavor


def _is_static_zero(scale):
    return isinstance(scale, numbers.Real) and scale == 0.0


def _in_tf1_graph_mode():
    """True while building a TF1 ``tf.Graph`` (not eager, not a ``tf.function`` traced from eager)."""
    return not tf.compat.v1.executing_eagerly_outside_functions()


def _disabled_means_none(weights):
    """Whether a disabled (scale 0) regularizer returns ``None`` here, as tf_slim's ``lambda _: None``.

    Only for TF1 graph-mode callers (``get_variable``, tf_keras and
    ``tf.compat.v1.layers``, which all skip ``None``). Keras 3 sums
    ``layer.losses`` without skipping ``None``, even when its layers are built in
    a ``tf.Graph``, so a Keras 3 variable always gets a scalar zero.
    """
    if not _in_tf1_graph_mode():
        return False
    return not _is_keras3_variable(weights)


def _is_keras3_variable(weights):
    """Whether ``weights`` is a Keras 3 variable (a layer weight); ``keras.Variable`` is not its base on 3.3.3."""
    if not _flavor.is_keras3():
        return False
    from compat_reg._internals import keras3 as _keras3  # pylint: disable=import-outside-toplevel

    return isinstance(weights, _keras3.variable_base_class())


def _describe(weights):
    """A name for error messages: variable path/name, tensor name, or the type."""
    for attr in ("path", "name"):
        try:
            value = getattr(weights, attr)
        except (AttributeError, ValueError):
            continue
        if isinstance(value, str) and value:
            return value
    return f"<{type(weights).__name__} of shape {getattr(weights, 'shape', '?')}>"


def _as_tensor_input(weights, regularizer):
    """Check the weights are floating point; convert Keras 3 variables and arrays.

    Tensors and ``tf.Variable`` go through as they are (tf_slim's op names); a
    Keras 3 variable wraps a ``tf.Variable`` and reports ``dtype`` as a string,
    so it is converted (which reads it, keeping the gradient path).

    Raises:
      TypeError: integer/bool/string weights, naming them. tf_slim raised
        ``TypeError: Expected int32, but got 0.1 of type 'float'``; Keras 3
        silently returns 0 for an integer variable.
    """
    dtype = tf.as_dtype(getattr(weights, "dtype", None) or tf.convert_to_tensor(weights).dtype)
    if dtype.base_dtype.is_complex:
        raise TypeError(
            f"{regularizer!r} cannot regularize {_describe(weights)!r}: its dtype is "
            f"{dtype.base_dtype.name}. TF1's L1/L2 penalties are defined for real floating-point "
            "weights (tf.nn.l2_loss has no complex kernel). Penalize the real and imaginary parts, "
            "e.g. regularizer(tf.math.real(w)) + regularizer(tf.math.imag(w)), or tf.abs(w)."
        )
    if not dtype.base_dtype.is_floating:
        raise TypeError(
            f"{regularizer!r} cannot regularize {_describe(weights)!r}: its dtype is "
            f"{dtype.base_dtype.name}, and a weight penalty is only defined for floating-point "
            "weights (Keras 3 silently returns 0 here). Do not pass a regularizer for integer "
            "variables (counters, step variables, lookup ids), or cast them with tf.cast if "
            "you really mean to penalize their values."
        )
    if isinstance(weights, (tf.Tensor, tf.Variable)):
        return weights
    return tf.convert_to_tensor(weights)


def _scale_tensor(scale, dtype):
    """tf_slim's ``convert_to_tensor(scale, dtype=weights.dtype.base_dtype, name="scale")``.

    A float tensor/variable scale of another float dtype is cast instead (tf_slim
    raised a conversion ``ValueError``); the cast keeps its gradient.
    """
    if isinstance(scale, (tf.Tensor, tf.Variable)) and tf.as_dtype(scale.dtype).base_dtype != dtype:
        return tf.cast(scale, dtype, name="scale")
    return tf.convert_to_tensor(scale, dtype=dtype, name="scale")


def _scale_config(scale, arg_name):
    if isinstance(scale, numbers.Real) or (getattr(scale, "ndim", None) == 0 and not isinstance(scale, tf.Tensor)
                                           and not isinstance(scale, tf.Variable)):
        return float(scale)
    raise ValueError(
        f"Cannot serialize a regularizer whose `{arg_name}` is a tensor or variable "
        f"(received: {arg_name}={scale!r}). A tensor scale is model state, not "
        "configuration: track the variable as a weight of the model and rebuild the "
        "regularizer from it after loading, or pass a Python float."
    )


class Regularizer(_flavor.keras().regularizers.Regularizer):
    """Base class: a callable ``penalty = regularizer(weights)`` with a config.

    A subclass of the active Keras flavor's ``Regularizer``, so both Keras 3 and
    tf_keras accept it wherever a regularizer goes and serialize it without
    warnings. Two regularizers are equal when they have the same class and
    config (tensor-scaled ones only to themselves).
    """

    def __call__(self, weights):
        if _is_keras3_variable(weights):
            return self.keras_penalty(weights)
        if _backend_math.applies(weights):  # a JAX / torch tensor (an activity, a sum's member)
            return self.keras_penalty(weights)
        return self.tf1_penalty(weights)

    def keras_penalty(self, weights):
        """The Keras path: the penalty of a Keras 3 variable, a scalar (never ``None``; Keras sums it).

        The one place Keras 3 weights are dispatched. Today it runs the TF1 ops on the variable
        (``tf1_penalty`` reads it as a TF tensor and, seeing a Keras 3 variable, returns a scalar
        zero rather than ``None`` for a disabled regularizer): same values. On Keras 3's JAX /
        torch backends the same math runs with ``keras.ops`` (``compat_reg._backend_math``).
        """
        if _backend_math.applies(weights):  # Keras 3 on JAX / torch: keras.ops, same values
            return _backend_math.penalty(self, weights, _describe)
        return self.tf1_penalty(weights)

    def tf1_penalty(self, weights):
        """The TF1 path: tf_slim's ops, names and ``None`` for a disabled regularizer in graph mode."""
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and _comparable(self) == _comparable(other)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((type(self).__name__, _comparable(self)))


def _comparable(reg):
    try:
        return json.dumps(reg.get_config(), sort_keys=True)
    except (ValueError, TypeError, NotImplementedError):
        return id(reg)


class _ScaledNormRegularizer(Regularizer):
    """``penalty = scale * norm(weights)`` in tf_slim's op layout.

    A name scope ``scope or default_name`` holding a constant ``scale`` and the
    product named after the scope. Subclasses give the norm, the default name and
    tf_slim's message for a negative scale (the L1 and L2 ones differ by a period).
    """

    default_name = None
    negative_scale_message = None

    def __init__(self, scale, scope=None):
        self.scale = _checks.check_scale(scale, "scale", self.negative_scale_message, where=self.default_name)
        self.scope = scope

    def norm(self, weights):
        raise NotImplementedError

    def tf1_penalty(self, weights):
        if _is_static_zero(self.scale) and _disabled_means_none(weights):
            return None
        weights = _as_tensor_input(weights, self)
        with tf.compat.v1.name_scope(self.scope, self.default_name, [weights]) as name:
            my_scale = _scale_tensor(self.scale, tf.as_dtype(weights.dtype).base_dtype)
            return tf.multiply(my_scale, self.norm(weights), name=name)

    def get_config(self):
        return {"scale": _scale_config(self.scale, "scale"), "scope": self.scope}

    def __repr__(self):
        return f"{self.default_name}(scale={self.scale!r})"


@_flavor.register_serializable()
class L1Regularizer(_ScaledNormRegularizer):
    """TF1 L1: ``penalty = scale * reduce_sum(abs(weights))``.

    Same as Keras ``L1(scale)``. Op names follow tf_slim: a name scope
    ``scope or "l1_regularizer"``, a constant ``scale`` in it and the product
    named after the scope.

    >>> reg = l1_regularizer(0.1)
    >>> float(reg(tf.constant([1.0, -2.0])))
    0.3...
    """

    default_name = "l1_regularizer"
    negative_scale_message = "Setting a scale less than 0 on a regularizer: %g"

    def norm(self, weights):
        return tf.reduce_sum(tf.abs(weights))


@_flavor.register_serializable()
class L2Regularizer(_ScaledNormRegularizer):
    """TF1 L2: ``penalty = scale * tf.nn.l2_loss(weights) = scale * reduce_sum(weights**2) / 2``.

    Half of Keras ``L2(scale)``: the exact Keras equivalent is ``L2(scale / 2)``.
    Op names follow tf_slim (scope ``scope or "l2_regularizer"``). ``l2_loss`` is
    one fused kernel, which is why this is faster than Keras 3's
    ``sum(square(w))``.

    >>> float(l2_regularizer(0.1)(tf.constant([1.0, -2.0])))
    0.25
    """

    default_name = "l2_regularizer"
    negative_scale_message = "Setting a scale less than 0 on a regularizer: %g."

    def norm(self, weights):
        return tf.nn.l2_loss(weights)


@_flavor.register_serializable()
class SumRegularizer(Regularizer):
    """TF1 ``sum_regularizer``: ``penalty = add_n([r(weights) for r in regularizers])``.

    Members returning ``None`` (TF1's disabled regularizers) are skipped; if all
    of them do, the sum is ``None`` in TF1 graph mode, as in tf_slim, and a
    scalar zero where Keras calls it.
    """

    def __init__(self, regularizer_list, scope=None):
        self.regularizer_list = _members(regularizer_list, "SumRegularizer")
        self.scope = scope

    def tf1_penalty(self, weights):
        none_if_disabled = _disabled_means_none(weights)
        if weights is not None or not none_if_disabled:  # tf_slim passes None on to the members
            weights = _as_tensor_input(weights, self)
        with tf.compat.v1.name_scope(self.scope, "sum_regularizer", [weights]) as name:
            tensors = [t for t in (reg(weights) for reg in self.regularizer_list) if t is not None]
            if tensors:
                return tf.math.add_n(tensors, name=name)
        if none_if_disabled:
            return None
        return tf.zeros([], dtype=tf.as_dtype(weights.dtype).base_dtype)

    def get_config(self):
        serialize = _flavor.keras().regularizers.serialize
        return {
            "regularizer_list": [serialize(reg) for reg in self.regularizer_list],
            "scope": self.scope,
        }

    @classmethod
    def from_config(cls, config):
        deserialize = _flavor.keras().regularizers.deserialize
        members = config.get("regularizer_list") if isinstance(config, dict) else None
        if not isinstance(members, (list, tuple)):
            raise _checks.invalid_value(
                "regularizer_list", "a list of serialized regularizers (the output of get_config())",
                repr(members), "SumRegularizer.from_config",
            )
        regs = [deserialize(c) for c in members]
        return cls(regs, scope=config.get("scope"))

    def __repr__(self):
        return f"sum_regularizer({self.regularizer_list!r})"


def _members(regularizer_list, where):
    """The non-``None`` members of a list of regularizers; anything but a list of callables is refused."""
    if isinstance(regularizer_list, (str, bytes, dict)) or not isinstance(regularizer_list, (list, tuple)):
        raise _checks.invalid_value(
            "regularizer_list", "a list of regularizers (callables `penalty = r(weights)`)", repr(regularizer_list),
            where, "Build the members first, e.g. sum_regularizer([l1_regularizer(0.1), l2_regularizer(0.2)]).",
        )
    members = [reg for reg in regularizer_list if reg is not None]
    for i, reg in enumerate(members):
        if not callable(reg):
            raise _checks.invalid_value(
                f"regularizer_list[{i}]", "a regularizer (a callable `penalty = r(weights)`)", repr(reg), where,
                error=TypeError,
            )
    return members


def l1_regularizer(scale, scope=None):
    """TF1 ``tf.contrib.layers.l1_regularizer``: ``scale * reduce_sum(abs(w))``.

    Args:
      scale: a non-negative Python float, or a scalar ``Tensor``/``Variable``.
        ``0.0`` disables the regularizer (it returns ``None`` in graph mode).
      scope: an optional name scope for the penalty's ops.

    Raises:
      ValueError: if ``scale`` is an integer or negative (tf_slim's messages).
    """
    return L1Regularizer(scale, scope=scope)


def l2_regularizer(scale, scope=None):
    """TF1 ``tf.contrib.layers.l2_regularizer``: ``scale * reduce_sum(w**2) / 2``.

    The Keras equivalent is ``L2(scale / 2)`` (see ``to_keras``).

    Args:
      scale: a non-negative Python float, or a scalar ``Tensor``/``Variable``.
        ``0.0`` disables the regularizer (it returns ``None`` in graph mode).
      scope: an optional name scope for the penalty's ops.

    Raises:
      ValueError: if ``scale`` is an integer or negative (tf_slim's messages).
    """
    return L2Regularizer(scale, scope=scope)


def l1_l2_regularizer(scale_l1=1.0, scale_l2=1.0, scope=None):
    """TF1 ``l1_l2_regularizer``: ``scale_l1 * sum(|w|) + scale_l2 * sum(w**2) / 2``.

    Mirrors tf_slim's structure exactly: a zero ``scale_l1`` gives a plain L2
    regularizer (and vice versa) named by ``scope or "l1_l2_regularizer"``;
    otherwise a sum named that way. The Keras equivalent is
    ``L1L2(scale_l1, scale_l2 / 2)``. Note the defaults: TF1's are 1.0 and 1.0,
    Keras 3's ``L1L2`` 0.0 and 0.0, tf_keras' ``l1_l2`` 0.01 and 0.01.
    """
    scale_l1 = _checks.check_scale(scale_l1, "scale_l1", L1Regularizer.negative_scale_message, "l1_l2_regularizer")
    scale_l2 = _checks.check_scale(scale_l2, "scale_l2", L2Regularizer.negative_scale_message, "l1_l2_regularizer")
    scope = scope or "l1_l2_regularizer"
    if _is_static_zero(scale_l1):
        return l2_regularizer(scale_l2, scope)
    if _is_static_zero(scale_l2):
        return l1_regularizer(scale_l1, scope)
    return sum_regularizer([l1_regularizer(scale_l1), l2_regularizer(scale_l2)], scope=scope)


def sum_regularizer(regularizer_list, scope=None):
    """TF1 ``sum_regularizer``: the sum of several regularizers' penalties.

    Returns ``None`` for an empty list (or a list of ``None``), as tf_slim does.
    """
    regularizer_list = _members(regularizer_list, "sum_regularizer")
    if not regularizer_list:
        return None
    return SumRegularizer(regularizer_list, scope=scope)


# Exact conversion to and from Keras regularizers lives in compat_reg.conversion; re-exported here.
from compat_reg.conversion import NoExactKerasEquivalent  # noqa: E402  (imports this module's classes)
from compat_reg.conversion import from_keras  # noqa: E402
from compat_reg.conversion import to_keras  # noqa: E402
