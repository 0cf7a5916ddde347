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
import math
import numbers

import numpy as np
import tensorflow as tf

from compat_reg import _flavor

_ZERO_SCALE_DISABLES = "Scale of 0 disables regularizer."


def _validate_scale(scale, arg_name, message):
    """tf_slim's checks, with tf_slim's messages and ``ValueError``, plus two of ours.

    As tf_slim: integers (including ``True``) are refused (``"scale cannot be an
    integer: 1"``; a scale of ``1`` was almost always a typo for ``1.0`` or
    ``1e-1``), negative floats too (``message % scale``), and ``0.0`` is logged
    as disabling the regularizer. Tensors and variables are accepted.

    Ours (tf_slim accepted them and produced NaN/inf losses): a non-finite float,
    and a tensor scale that is statically known to be non-scalar or negative.
    """
    if isinstance(scale, numbers.Integral):
        raise ValueError("%s cannot be an integer: %s" % (arg_name, scale))
    if isinstance(scale, numbers.Real):
        if math.isnan(scale) or math.isinf(scale):
            raise ValueError(
                f"Invalid value for argument `{arg_name}`: expected a finite non-negative "
                f"float. Received: {arg_name}={scale!r}."
            )
        if scale < 0.0:
            raise ValueError(message % scale)
        if scale == 0.0:
            tf.compat.v1.logging.info(_ZERO_SCALE_DISABLES)
        return
    if isinstance(scale, (tf.Tensor, tf.Variable)):
        rank = scale.shape.ndims
        if rank not in (0, None):
            raise ValueError(
                f"Invalid value for argument `{arg_name}`: a tensor scale must be a scalar. "
                f"Received: {arg_name}={scale!r} of shape {scale.shape}. Pass a scalar "
                "tensor or variable (e.g. tf.Variable(1e-4))."
            )
        if not tf.as_dtype(scale.dtype).base_dtype.is_floating:
            raise ValueError(
                f"Invalid value for argument `{arg_name}`: a tensor scale must be floating "
                f"point. Received: {arg_name}={scale!r}. Create it with a float dtype."
            )
        if isinstance(scale, tf.Tensor):
            static = tf.get_static_value(scale)
            if static is not None and float(static) < 0.0:
                raise ValueError(message % float(static))


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
    return not (_flavor.is_keras3() and isinstance(weights, _flavor.keras().Variable))


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
    if not (dtype.base_dtype.is_floating or dtype.base_dtype.is_complex):
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
    if isinstance(scale, numbers.Real):
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
        _validate_scale(scale, "scale", self.negative_scale_message)
        self.scale = scale
        self.scope = scope

    def norm(self, weights):
        raise NotImplementedError

    def __call__(self, weights):
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
        self.regularizer_list = [reg for reg in regularizer_list if reg is not None]
        self.scope = scope

    def __call__(self, weights):
        none_if_disabled = _disabled_means_none(weights)
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
        regs = [deserialize(c) for c in config["regularizer_list"]]
        return cls(regs, scope=config.get("scope"))

    def __repr__(self):
        return f"sum_regularizer({self.regularizer_list!r})"


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
    if isinstance(scale_l1, numbers.Integral):
        raise ValueError("scale_l1 cannot be an integer: %s" % (scale_l1,))
    if isinstance(scale_l2, numbers.Integral):
        raise ValueError("scale_l2 cannot be an integer: %s" % (scale_l2,))
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
    regularizer_list = [reg for reg in regularizer_list if reg is not None]
    if not regularizer_list:
        return None
    return SumRegularizer(regularizer_list, scope=scope)


# ----------------------------------------------------------------------------
# Exact conversion to and from Keras regularizers.
# ----------------------------------------------------------------------------


class NoExactKerasEquivalent(ValueError):
    """Raised when a regularizer has no Keras (or TF1) counterpart with the same values."""


_KERAS_MODULE_ROOTS = ("keras", "tf_keras")
_KERAS_KINDS = ("L1", "L2", "L1L2")


def _keras_kind(reg):
    """``"L1"``, ``"L2"`` or ``"L1L2"`` for exactly those Keras 3 / tf_keras classes, else ``None``.

    Subclasses are excluded on purpose: they may override ``__call__``.
    """
    cls = type(reg)
    if cls.__name__ in _KERAS_KINDS and cls.__module__.split(".")[0] in _KERAS_MODULE_ROOTS:
        return cls.__name__
    return None


def _keras_coefficients(reg):
    """``(l1, l2)`` of a Keras ``L1``/``L2``/``L1L2`` as Python floats (``None``: no such term).

    tf_keras stores its coefficients as float32 (``L2(0.05).l2`` is
    ``0.0500000007...``); they are read back as the shortest decimal that is the
    same float32 (``0.05``), so ``from_keras(L2(0.05)) == l2_regularizer(0.1)``.
    Both are the same float32 once TF converts the scale, since doubling is exact.
    """
    config = reg.get_config()
    kind = _keras_kind(reg)
    keys = {"L1": ("l1",), "L2": ("l2",), "L1L2": ("l1", "l2")}[kind]
    float32_coefficients = type(reg).__module__.split(".")[0] == "tf_keras"  # cast at construction

    def read(key):
        if key not in keys:
            return None
        value = float(config.get(key) or 0.0)
        return float(str(np.float32(value))) if float32_coefficients else value

    return read("l1"), read("l2")


def _l1_l2_coefficients(reg):
    """``(a, b)`` such that ``reg(w) == a * sum(|w|) + b * sum(w**2)`` (Keras form).

    A term the regularizer does not have at all is ``None`` rather than ``0.0``, so
    that ``l2_regularizer(0.0)`` converts to ``L2(0.0)``, not to an ``L1``.
    """
    if isinstance(reg, L1Regularizer):
        return _python_scale(reg.scale, reg), None
    if isinstance(reg, L2Regularizer):
        return None, _python_scale(reg.scale, reg) / 2.0
    if isinstance(reg, SumRegularizer):
        a = b = None
        for member in reg.regularizer_list:
            ma, mb = _l1_l2_coefficients(member)
            a = a if ma is None else (ma if a is None else a + ma)
            b = b if mb is None else (mb if b is None else b + mb)
        return a, b
    if _keras_kind(reg) is not None:
        return _keras_coefficients(reg)
    raise NoExactKerasEquivalent(
        f"Cannot convert {reg!r} to a Keras regularizer: only compat_reg l1/l2/l1_l2/sum "
        "regularizers (and Keras L1/L2/L1L2 inside a sum) have exact Keras equivalents; "
        "tf_slim closures and custom callables do not. Build the regularizer with "
        "compat_reg.l1_regularizer/l2_regularizer/..., or keep the compat_reg object (it "
        "works as a Keras kernel_regularizer), or wrap a custom penalty in a Keras "
        "`Regularizer` subclass."
    )


def _python_scale(scale, reg):
    if isinstance(scale, numbers.Real):
        return float(scale)
    raise NoExactKerasEquivalent(
        f"Cannot convert {reg!r} to Keras: its scale is a tensor or variable ({scale!r}) and "
        "Keras regularizers take only Python floats. Keep the compat_reg regularizer (it "
        "works as a Keras kernel_regularizer) or pass the scale's value as a float."
    )


def to_keras(regularizer):
    """The Keras regularizer with exactly the same values as a TF1 one.

    ===============================  ======================================
    TF1 (contrib / tf_slim)          Keras (3 or tf_keras, the active one)
    ===============================  ======================================
    ``l1_regularizer(s)``            ``L1(s)``
    ``l2_regularizer(s)``            ``L2(s / 2)``
    ``l1_l2_regularizer(a, b)``      ``L1L2(a, b / 2)``
    ``sum_regularizer([...])``       one ``L1L2`` with the summed coefficients
    ===============================  ======================================

    A ``None`` regularizer (TF1's "no regularization") converts to ``None``.

    Raises:
      NoExactKerasEquivalent: for a tensor/variable scale or a regularizer that
        is not one of the above.
    """
    if regularizer is None:
        return None
    a, b = _l1_l2_coefficients(regularizer)
    regs = _flavor.keras().regularizers
    if b is None:
        return regs.L1(a)
    if a is None:
        return regs.L2(b)
    return regs.L1L2(l1=a, l2=b)


def from_keras(keras_regularizer):
    """The compat_reg (TF1) regularizer with exactly the values of a Keras one.

    ``L1(a)`` -> ``l1_regularizer(a)``, ``L2(b)`` -> ``l2_regularizer(2 * b)``,
    ``L1L2(a, b)`` -> ``l1_l2_regularizer(a, 2 * b)``; ``None`` -> ``None``; a
    compat_reg regularizer is returned as it is. Works for Keras 3 and tf_keras
    objects alike.

    Raises:
      NoExactKerasEquivalent: for any other regularizer (e.g.
        ``OrthogonalRegularizer``, a subclass of ``L2``, a plain function), which
        has no TF1 counterpart with the same values.
    """
    if keras_regularizer is None:
        return None
    if isinstance(keras_regularizer, Regularizer):
        return keras_regularizer
    kind = _keras_kind(keras_regularizer)
    if kind is None:
        raise NoExactKerasEquivalent(
            f"Cannot convert {keras_regularizer!r} ({type(keras_regularizer).__module__}."
            f"{type(keras_regularizer).__name__}) to a TF1 regularizer: only Keras L1, L2 and "
            "L1L2 have exact TF1 counterparts. Keep the Keras regularizer (TF1 code accepts "
            "any callable penalty = regularizer(weights))."
        )
    a, b = _keras_coefficients(keras_regularizer)
    if kind == "L1":
        return l1_regularizer(a)
    if kind == "L2":
        return l2_regularizer(2.0 * b)
    return l1_l2_regularizer(a, 2.0 * b)
