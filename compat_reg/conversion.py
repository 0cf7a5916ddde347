"""Exact conversion between compat_reg's (TF1) regularizers and Keras' ``L1``/``L2``/``L1L2``.

TF1's L2 is ``scale * sum(w**2) / 2``, Keras' ``L2(s)`` is ``s * sum(w**2)``, so
``to_keras(l2_regularizer(s)) == L2(s / 2)`` and ``from_keras(L2(b)) ==
l2_regularizer(2 * b)``; L1 is the same in both. Re-exported by
``compat_reg.regularizers`` and ``compat_reg``.
"""

import numbers

import numpy as np

from compat_reg import _flavor
from compat_reg.regularizers import L1Regularizer
from compat_reg.regularizers import L2Regularizer
from compat_reg.regularizers import Regularizer
from compat_reg.regularizers import SumRegularizer
from compat_reg.regularizers import l1_l2_regularizer
from compat_reg.regularizers import l1_regularizer
from compat_reg.regularizers import l2_regularizer


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
