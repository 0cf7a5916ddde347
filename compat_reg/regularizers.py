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
``lambda _: None``). Where Keras calls it (eager or inside ``tf.function``) it
returns a scalar zero instead, because Keras sums its losses and cannot take
``None``.
"""

import numbers

import tensorflow as tf

from compat_reg import _flavor

_ZERO_SCALE_DISABLES = "Scale of 0 disables regularizer."


def _validate_scale(scale, arg_name, message):
    """tf_slim's checks, with tf_slim's messages and ``ValueError``.

    Integers (including ``True``) are refused because TF1 refused them: a scale of
    ``1`` was almost always a typo for ``1e-1`` or similar. Tensors and variables
    are accepted unchecked, as in TF1.
    """
    if isinstance(scale, numbers.Integral):
        raise ValueError("%s cannot be an integer: %s" % (arg_name, scale))
    if isinstance(scale, numbers.Real):
        if scale < 0.0:
            raise ValueError(message % scale)
        if scale == 0.0:
            tf.compat.v1.logging.info(_ZERO_SCALE_DISABLES)


def _is_static_zero(scale):
    return isinstance(scale, numbers.Real) and scale == 0.0


def _in_tf1_graph_mode():
    """True while building a TF1 ``tf.Graph`` (not eager, not a ``tf.function``)."""
    return not tf.compat.v1.executing_eagerly_outside_functions() and not tf.executing_eagerly()


def _as_tensor_input(weights):
    """Let tensors and ``tf.Variable`` through as they are; convert Keras 3 variables.

    A Keras 3 variable wraps a ``tf.Variable`` and reports ``dtype`` as a string;
    converting it gives the tensor TF1 code expects.
    """
    if isinstance(weights, (tf.Tensor, tf.Variable)):
        return weights
    return tf.convert_to_tensor(weights)


def _base_dtype(weights):
    return tf.as_dtype(weights.dtype).base_dtype


def _scale_config(scale, arg_name):
    if isinstance(scale, numbers.Real):
        return float(scale)
    raise ValueError(
        f"Cannot serialize a regularizer whose `{arg_name}` is a tensor or variable "
        f"(received: {arg_name}={scale!r}). A tensor scale is model state, not "
        "configuration: track the variable as a weight of the model and rebuild the "
        "regularizer from it after loading, or pass a Python float."
    )


class Regularizer:
    """Base class: a callable ``penalty = regularizer(weights)`` with a config."""

    def __call__(self, weights):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and _comparable(self) == _comparable(other)

    def __hash__(self):
        return id(self)


def _comparable(reg):
    try:
        return reg.get_config()
    except ValueError:
        return id(reg)


@_flavor.register_serializable()
class L1Regularizer(Regularizer):
    """TF1 L1: ``penalty = scale * reduce_sum(abs(weights))``.

    Same as Keras ``L1(scale)``. Op names follow tf_slim: a name scope
    ``scope or "l1_regularizer"``, a constant ``scale`` in it and the product
    named after the scope.

    >>> reg = l1_regularizer(0.1)
    >>> float(reg(tf.constant([1.0, -2.0])))
    0.3...
    """

    def __init__(self, scale, scope=None):
        _validate_scale(scale, "scale", "Setting a scale less than 0 on a regularizer: %g")
        self.scale = scale
        self.scope = scope

    def __call__(self, weights):
        if _is_static_zero(self.scale) and _in_tf1_graph_mode():
            return None
        weights = _as_tensor_input(weights)
        with tf.compat.v1.name_scope(self.scope, "l1_regularizer", [weights]) as name:
            my_scale = tf.convert_to_tensor(self.scale, dtype=_base_dtype(weights), name="scale")
            return tf.multiply(my_scale, tf.reduce_sum(tf.abs(weights)), name=name)

    def get_config(self):
        return {"scale": _scale_config(self.scale, "scale"), "scope": self.scope}

    def __repr__(self):
        return f"l1_regularizer(scale={self.scale!r})"


@_flavor.register_serializable()
class L2Regularizer(Regularizer):
    """TF1 L2: ``penalty = scale * tf.nn.l2_loss(weights) = scale * reduce_sum(weights**2) / 2``.

    Half of Keras ``L2(scale)``: the exact Keras equivalent is ``L2(scale / 2)``.
    Op names follow tf_slim (scope ``scope or "l2_regularizer"``).

    >>> float(l2_regularizer(0.1)(tf.constant([1.0, -2.0])))
    0.25
    """

    def __init__(self, scale, scope=None):
        _validate_scale(scale, "scale", "Setting a scale less than 0 on a regularizer: %g.")
        self.scale = scale
        self.scope = scope

    def __call__(self, weights):
        if _is_static_zero(self.scale) and _in_tf1_graph_mode():
            return None
        weights = _as_tensor_input(weights)
        with tf.compat.v1.name_scope(self.scope, "l2_regularizer", [weights]) as name:
            my_scale = tf.convert_to_tensor(self.scale, dtype=_base_dtype(weights), name="scale")
            return tf.multiply(my_scale, tf.nn.l2_loss(weights), name=name)

    def get_config(self):
        return {"scale": _scale_config(self.scale, "scale"), "scope": self.scope}

    def __repr__(self):
        return f"l2_regularizer(scale={self.scale!r})"


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
        weights = _as_tensor_input(weights)
        with tf.compat.v1.name_scope(self.scope, "sum_regularizer", [weights]) as name:
            tensors = [t for t in (reg(weights) for reg in self.regularizer_list) if t is not None]
            if tensors:
                return tf.math.add_n(tensors, name=name)
        if _in_tf1_graph_mode():
            return None
        return tf.zeros([], dtype=_base_dtype(weights))

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


def _l1_l2_coefficients(reg):
    """Return ``(a, b)`` such that ``reg(w) == a * sum(|w|) + b * sum(w**2)`` (Keras form)."""
    if isinstance(reg, L1Regularizer):
        return _python_scale(reg.scale, reg), 0.0
    if isinstance(reg, L2Regularizer):
        return 0.0, _python_scale(reg.scale, reg) / 2.0
    if isinstance(reg, SumRegularizer):
        a = b = 0.0
        for member in reg.regularizer_list:
            ma, mb = _l1_l2_coefficients(member)
            a, b = a + ma, b + mb
        return a, b
    raise NoExactKerasEquivalent(
        f"Cannot convert {reg!r} to a Keras regularizer: only compat_reg l1/l2/l1_l2/sum "
        "regularizers have exact Keras equivalents. Wrap a custom penalty in a Keras "
        "`Regularizer` subclass instead."
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
    if b == 0.0:
        return regs.L1(a)
    if a == 0.0:
        return regs.L2(b)
    return regs.L1L2(l1=a, l2=b)


def from_keras(keras_regularizer):
    """The compat_reg (TF1) regularizer with exactly the values of a Keras one.

    ``L1(a)`` -> ``l1_regularizer(a)``, ``L2(b)`` -> ``l2_regularizer(2 * b)``,
    ``L1L2(a, b)`` -> ``l1_l2_regularizer(a, 2 * b)``; ``None`` -> ``None``.

    Raises:
      NoExactKerasEquivalent: for any other Keras regularizer (e.g.
        ``OrthogonalRegularizer``), which has no TF1 counterpart.
    """
    if keras_regularizer is None:
        return None
    if isinstance(keras_regularizer, Regularizer):
        return keras_regularizer
    config = getattr(keras_regularizer, "get_config", lambda: None)()
    kind = type(keras_regularizer).__name__
    if kind in ("L1", "L2", "L1L2") and isinstance(config, dict):
        a = float(config.get("l1", 0.0) or 0.0)
        b = float(config.get("l2", 0.0) or 0.0)
        if kind == "L1":
            return l1_regularizer(a)
        if kind == "L2":
            return l2_regularizer(2.0 * b)
        return l1_l2_regularizer(a, 2.0 * b)
    raise NoExactKerasEquivalent(
        f"Cannot convert Keras regularizer {keras_regularizer!r} ({kind}) to TF1: only L1, L2 "
        "and L1L2 have TF1 counterparts. Use the Keras regularizer directly; compat_reg's "
        "collection functions accept any callable."
    )
