"""Infer which penalty a regularization loss applies to a variable, by probing it.

A weight penalty of the l1/l2 family is, in Keras form,

    p(w) = a * sum(|w|) + b * sum(w ** 2)

(TF1 ``l1_regularizer(s)`` is ``a = s``; TF1 ``l2_regularizer(s)`` is ``b = s / 2``;
Keras ``L2(s)`` is ``b = s``; ``L1L2(l1, l2)`` is ``a = l1, b = l2``). We never
read a regularizer object: we evaluate the loss at the copied weights ``w`` and
at ``k * w`` and solve for ``a`` and ``b``:

    p(k w) = k a S1 + k^2 b S2,   S1 = sum(|w|),  S2 = sum(w ** 2)

Probing works for anything that lands in ``REGULARIZATION_LOSSES`` or
``model.losses`` (closures, tf_slim, Keras, TF1Layer bridges, ``add_loss``), and a
third probe checks the fit, so a custom penalty is reported as ``other`` rather
than mis-named.
"""

import dataclasses

import numpy as np

# A component smaller than this fraction of the penalty is float32 round-off of
# the probe differences (float32 epsilon is 6e-8; sums of n terms lose ~sqrt(n)).
_SNAP = 1e-5
# The third probe must agree with the two-point fit to this relative tolerance.
_FIT_RTOL = 1e-4


@dataclasses.dataclass
class Penalty:
    """``a * sum|w| + b * sum(w^2)`` on one variable, or ``kind == "other"``."""

    kind: str  # "l1", "l2", "l1_l2", "other", "none"
    a: float = 0.0
    b: float = 0.0
    value: float = 0.0

    def tf1(self):
        """The TF1 (contrib / tf_slim) regularizer with these values."""
        if self.kind == "l1":
            return f"l1_regularizer({_g(self.a)})"
        if self.kind == "l2":
            return f"l2_regularizer({_g(2 * self.b)})"
        if self.kind == "l1_l2":
            return f"l1_l2_regularizer({_g(self.a)}, {_g(2 * self.b)})"
        if self.kind == "none":
            return "no regularizer"
        return f"a custom penalty (value {self.value:.6g})"

    def keras(self):
        """The Keras regularizer with these values."""
        if self.kind == "l1":
            return f"L1({_g(self.a)})"
        if self.kind == "l2":
            return f"L2({_g(self.b)})"
        if self.kind == "l1_l2":
            return f"L1L2(l1={_g(self.a)}, l2={_g(self.b)})"
        if self.kind == "none":
            return "no regularizer"
        return f"a custom penalty (value {self.value:.6g})"

    def to_dict(self):
        return {
            "kind": self.kind,
            "a_l1": self.a,
            "b_l2_keras_form": self.b,
            "value": self.value,
            "tf1": self.tf1(),
            "keras": self.keras(),
        }


NONE = Penalty("none")


def _g(x):
    """A coefficient as a user would type it: 6 significant digits, no float noise."""
    return f"{float(f'{x:.6g}'):g}"


def fit(p1, p2, p3, s1, s2):
    """Fit ``a, b`` from the penalty at ``w``, ``2w``, ``3w``; check with the third.

    Args:
      p1, p2, p3: the penalty's value at scale 1, 2, 3 of the variable.
      s1, s2: ``sum|w|`` and ``sum(w^2)`` of the variable at scale 1 (float64).

    Returns:
      A ``Penalty``.
    """
    p1, p2, p3 = float(p1), float(p2), float(p3)
    if p1 == 0.0 and p2 == 0.0 and p3 == 0.0:
        return Penalty("none")
    if s2 == 0.0:
        return Penalty("other", value=p1)
    # p2 - 2 p1 = 2 b S2 ; p1 = a S1 + b S2
    b = (p2 - 2.0 * p1) / (2.0 * s2)
    a = (p1 - b * s2) / s1 if s1 > 0 else 0.0
    return _finish(a, b, p1, s1, s2, lambda k: k * a * s1 + k * k * b * s2, {3.0: p3})


def fit_deltas(base, probes, s1, s2):
    """Fit one variable's contribution to a multi-variable loss from probes of that variable alone.

    ``probes`` maps a scale ``k`` to the loss with only this variable scaled by
    ``k``; for an additive penalty ``L(k) - L(1) = a S1 (k - 1) + b S2 (k^2 - 1)``.
    Uses ``k = 2, 3`` to solve and any further ``k`` to check.
    """
    d2 = float(probes[2.0]) - float(base)
    d3 = float(probes[3.0]) - float(base)
    if s2 == 0.0:
        return Penalty("other", value=0.0)
    # d2 = a S1 + 3 b S2 ; d3 = 2 a S1 + 8 b S2  ->  d3 - 2 d2 = 2 b S2
    b = (d3 - 2.0 * d2) / (2.0 * s2)
    a = (d2 - 3.0 * b * s2) / s1 if s1 > 0 else 0.0
    contribution = a * s1 + b * s2
    if abs(d2) <= _SNAP * max(abs(float(base)), 1e-30) and abs(d3) <= _SNAP * max(abs(float(base)), 1e-30):
        return Penalty("none")
    checks = {k: float(v) - float(base) for k, v in probes.items() if k not in (2.0, 3.0)}
    return _finish(
        a, b, contribution, s1, s2, lambda k: a * s1 * (k - 1) + b * s2 * (k * k - 1), checks,
        scale_ref=max(abs(float(base)), abs(contribution)),
    )


def _finish(a, b, value, s1, s2, predict, checks, scale_ref=None):
    ref = max(abs(value) if scale_ref is None else scale_ref, 1e-30)
    if abs(a) * s1 < _SNAP * ref:
        a = 0.0
    if abs(b) * s2 < _SNAP * ref:
        b = 0.0
    for k, observed in checks.items():
        if abs(predict(k) - observed) > _FIT_RTOL * max(abs(observed), ref):
            return Penalty("other", value=value)
    if a < 0 or b < 0:
        return Penalty("other", value=value)
    if a == 0.0 and b == 0.0:
        return Penalty("none", value=value)
    kind = "l1_l2" if (a and b) else ("l1" if a else "l2")
    return Penalty(kind, a=a, b=b, value=a * s1 + b * s2)


def combine(penalties):
    """Sum several penalties on one variable (a variable regularized by several mechanisms)."""
    penalties = [p for p in penalties if p.kind != "none"]
    if not penalties:
        return Penalty("none")
    value = sum(p.value for p in penalties)
    if any(p.kind == "other" for p in penalties):
        return Penalty("other", value=value)
    a = sum(p.a for p in penalties)
    b = sum(p.b for p in penalties)
    kind = "l1_l2" if (a and b) else ("l1" if a else "l2")
    return Penalty(kind, a=a, b=b, value=value)


def sums(w):
    """``(sum|w|, sum(w^2))`` in float64."""
    w = np.asarray(w, np.float64)
    return float(np.sum(np.abs(w))), float(np.sum(np.square(w)))
