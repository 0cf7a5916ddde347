"""Per-variable penalties of one side, found by probing its regularization losses (see ``_penalties``).

Works on any ``sides.Side``: it only assigns values and reads ``reg_values()``.
"""

import numpy as np

from . import _penalties
from .diagnoses import COEFFICIENT_RTOL


def probe_side(side):
    """Returns ``(per_var, activity, other, base)``.

    ``per_var[name] = [(loss label, Penalty)]``; ``activity[label] = value``;
    ``other[label] = value`` for non-additive multi-variable penalties and
    constants; ``base`` the losses' values at the copied weights. A variable that
    is all zeros (a freshly initialized bias) hides its penalty's coefficient: it is
    probed at seeded non-zero values instead, then restored.
    """
    base = side.reg_values()
    real = side.values()
    rng = np.random.default_rng(7)
    values = {n: (v if np.any(v) else rng.standard_normal(v.shape).astype(v.dtype)) for n, v in real.items()}
    zero = [n for n in real if not np.any(real[n])]
    if zero:
        side.assign({n: values[n] for n in zero})
        base = side.reg_values()
    per_var, activity, other = {}, {}, {}
    weight_idx = [i for i, li in enumerate(side.losses) if li.kind == "weight"]
    group_idx = [i for i, li in enumerate(side.losses) if li.kind == "group"]
    if weight_idx:
        probed = sorted({side.losses[i].variables[0] for i in weight_idx})
        p = {}
        for k in (2.0, 3.0):
            side.assign({v: values[v] * k for v in probed})
            p[k] = side.reg_values()
        side.assign({v: values[v] for v in probed})
        for i in weight_idx:
            v = side.losses[i].variables[0]
            s1, s2 = _penalties.sums(values[v])
            per_var.setdefault(v, []).append(
                (side.losses[i].label, _penalties.fit(base[i], p[2.0][i], p[3.0][i], s1, s2)))
    if group_idx:
        _probe_groups(side, group_idx, values, base, per_var, other)
    if zero:
        side.assign({n: real[n] for n in zero})
        base = side.reg_values()
        # Report values at the real weights: a * sum|w| + b * sum(w^2) of the real w.
        for v in zero:
            for _, pen in per_var.get(v, []):
                pen.value = 0.0
    other = {label: base[i] for label, i in other.items()}
    for i, li in enumerate(side.losses):
        if li.kind == "activity":
            activity[li.label] = base[i]
        elif li.kind == "constant":
            other[li.label] = base[i]
    return per_var, activity, other, base


def _probe_groups(side, group_idx, values, base, per_var, other):
    """Split each multi-variable loss into per-variable penalties when it is additive, else keep it whole."""
    members = sorted({v for i in group_idx for v in side.losses[i].variables}, key=side.names.index)
    probes = {v: {} for v in members}
    for v in members:
        for k in (2.0, 3.0, 0.5):
            side.assign({v: values[v] * k})
            probes[v][k] = side.reg_values()
        side.assign({v: values[v]})
    for i in group_idx:
        li = side.losses[i]
        fits = []
        for v in li.variables:
            s1, s2 = _penalties.sums(values[v])
            fits.append((v, _penalties.fit_deltas(base[i], {k: probes[v][k][i] for k in probes[v]}, s1, s2)))
        additive = all(f.kind != "other" for _, f in fits) and abs(
            sum(f.value for _, f in fits) - base[i]) <= 1e-4 * max(abs(base[i]), 1e-30)
        if additive:
            for v, f in fits:
                if f.kind != "none":
                    per_var.setdefault(v, []).append((li.label, f))
        else:
            other[li.label] = i  # replaced by the value at the real weights by the caller


def same_coefficients(op, np_):
    """Whether two penalties have the same L1 and L2 coefficients (to ``COEFFICIENT_RTOL``)."""
    if op.kind in ("other", "none") or np_.kind in ("other", "none"):
        return op.kind == np_.kind or (op.kind == "other" or np_.kind == "other")
    for x, y in ((op.a, np_.a), (op.b, np_.b)):
        if abs(x - y) > COEFFICIENT_RTOL * max(abs(x), abs(y)):
            return False
    return True
