"""``--to keras``: TF1 regularizer factories become Keras regularizers with equal values.

Every weight ``w`` gets the same penalty, in Keras 3 and in tf_keras::

    l1_regularizer(s)             -> tf.keras.regularizers.L1(s)
    l2_regularizer(s)             -> tf.keras.regularizers.L2(s / 2)     # TF1: s * sum(w**2) / 2
    l1_l2_regularizer(a, b)       -> tf.keras.regularizers.L1L2(l1=a, l2=b / 2)   (TF1 defaults a=b=1.0)
    sum_regularizer([l1(a), l2(b), l1_l2(c, d)])
                                  -> tf.keras.regularizers.L1L2(l1=a + c, l2=b / 2 + d / 2)

A literal scale is folded (``L2(0.0005)`` -> ``L2(0.00025)``; halving a binary float
is exact). A non-literal scale is kept as an expression: Keras regularizers accept
only Python ``int``/``float``, so a tensor or NumPy scale makes the rewritten
constructor raise ``ValueError`` at once rather than compute something else.
"""

import ast

from . import rules
from .edits import Edit, Unsafe
from .imports import tf_name

KERAS_REGS = "{tf}.keras.regularizers"
TF1_DEFAULT_L1_L2 = 1.0  # TF1 l1_l2_regularizer(scale_l1=1.0, scale_l2=1.0)
_ATOMS = (ast.Name, ast.Attribute, ast.Constant, ast.Call, ast.Subscript)


def _bind_args(call, params, what):
    """Map a call's arguments to ``params`` names, or raise ``Unsafe``."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise Unsafe(f"{what} is called with *args/**kwargs, so its arguments are not known statically")
    if len(call.args) > len(params):
        raise Unsafe(f"{what} takes at most {len(params)} arguments, got {len(call.args)}")
    bound = dict(zip(params, call.args))
    for keyword in call.keywords:
        if keyword.arg not in params or keyword.arg in bound:
            raise Unsafe(f"{what} got an unexpected or repeated keyword `{keyword.arg}=`")
        bound[keyword.arg] = keyword.value
    return bound


def _literal_number(expr):
    """The value of a numeric literal (``0.1``, ``-1.``, ``5e-4``), else ``None``."""
    sign = 1
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(expr.op, ast.USub) else 1
        expr = expr.operand
    if isinstance(expr, ast.Constant) and type(expr.value) in (int, float):
        return sign * expr.value
    return None


class _Scale:
    """A scale argument: a literal float (``value``) or an expression (``text``)."""

    def __init__(self, value=None, text=None, atomic=True):
        self.value = value
        self.text = text
        self.atomic = atomic

    def render(self):
        return repr(self.value) if self.value is not None else self.text

    def half(self):
        if self.value is not None:
            half = self.value / 2.0
            assert float(repr(half)) == half
            return _Scale(value=half)
        text = self.text if self.atomic else f"({self.text})"
        return _Scale(text=f"{text} / 2", atomic=False)


def _scale(ctx, expr, scope, arg_name, default=None):
    if expr is None:
        return _Scale(value=default)
    value = _literal_number(expr)
    if value is not None:
        if isinstance(value, int):
            raise Unsafe(f"`{arg_name}` is the integer {value}: TF1 raises ValueError "
                          f"(\"{arg_name} cannot be an integer\"), so this line never ran as written")
        if value < 0:
            raise Unsafe(f"`{arg_name}` is negative ({value}): TF1 raises ValueError here")
        return _Scale(value=float(value))
    if isinstance(expr, ast.Call):
        qnames = ctx.resolver.qualified_names(expr.func, scope)
        if any(q.startswith(("tensorflow.", "tf_keras.", "keras.")) for q in qnames):
            raise Unsafe(f"`{arg_name}` is a tensor ({ctx.segment(expr)}); Keras regularizers take only "
                          "Python floats. Keep the TF1 regularizer through compat_reg (it works as a Keras "
                          "regularizer) or pass a float")
    return _Scale(text=ctx.segment(expr), atomic=isinstance(expr, _ATOMS))


def _sum_terms(scales):
    """``a + b`` of scales, as written (each literal halving is folded; sums are not)."""
    return " + ".join(s.render() for s in scales) if scales else "0.0"


def _tf1_coefficients(ctx, call, name, scope):
    """``(l1_scales, l2_scales_keras)`` of a TF1 factory call, in Keras' convention."""
    args = _bind_args(call, rules.FACTORIES[name].params, name)
    if name == "l1_regularizer":
        if "scale" not in args:
            raise Unsafe("l1_regularizer() without `scale` raises TypeError in TF1")
        return [_scale(ctx, args["scale"], scope, "scale")], []
    if name == "l2_regularizer":
        if "scale" not in args:
            raise Unsafe("l2_regularizer() without `scale` raises TypeError in TF1")
        return [], [_scale(ctx, args["scale"], scope, "scale").half()]
    if name == "l1_l2_regularizer":
        a = _scale(ctx, args.get("scale_l1"), scope, "scale_l1", TF1_DEFAULT_L1_L2)
        b = _scale(ctx, args.get("scale_l2"), scope, "scale_l2", TF1_DEFAULT_L1_L2)
        return [a], [b.half()]
    members = args.get("regularizer_list")
    if not isinstance(members, (ast.List, ast.Tuple)):
        raise Unsafe("sum_regularizer's list is not a literal list, so its members are not known")
    l1s, l2s = [], []
    for member in members.elts:
        if isinstance(member, ast.Constant) and member.value is None:
            continue  # TF1 drops None members
        _, symbol = ctx.symbol(member.func if isinstance(member, ast.Call) else member, scope)
        if not isinstance(member, ast.Call) or symbol is None or symbol.name not in (
                "l1_regularizer", "l2_regularizer", "l1_l2_regularizer"):
            raise Unsafe(f"sum_regularizer member `{ctx.segment(member)}` is not a TF1 l1/l2/l1_l2 "
                          "factory call, so no single L1L2 is provably equal")
        ml1, ml2 = _tf1_coefficients(ctx, member, symbol.name, scope)
        l1s += ml1
        l2s += ml2
    if not l1s and not l2s:
        raise Unsafe("sum_regularizer of no regularizer returns None in TF1; write None (no regularizer)")
    return l1s, l2s


def _tf1_to_keras(ctx, site):
    call, scope = site.node, site.scope
    l1s, l2s = _tf1_coefficients(ctx, call, site.name, scope)
    regs = KERAS_REGS.format(tf=tf_name(ctx, scope))
    if site.name == "l1_regularizer":
        text = f"{regs}.L1({l1s[0].render()})"
    elif site.name == "l2_regularizer":
        text = f"{regs}.L2({l2s[0].render()})"
    else:
        text = f"{regs}.L1L2(l1={_sum_terms(l1s)}, l2={_sum_terms(l2s)})"
    if ctx.has_comment(call):
        raise Unsafe("the call contains a comment that rewriting the whole call would drop")
    start, end = ctx.span(call)
    note = ""
    if any(k.arg == "scope" for k in call.keywords) or (site.name != "l1_l2_regularizer" and len(call.args) > 1) \
            or (site.name == "l1_l2_regularizer" and len(call.args) > 2):
        note = "; `scope` dropped (it only named the ops)"
    if any(s.value is None for s in l1s + l2s):
        note += "; assumes the scale is a Python float (Keras raises ValueError for tensors)"
    return [Edit(start, end, text)], f"exact: {rules.FACTORIES[site.name].math}{note}"


def transform(ctx, site):
    """``(edits, reason)`` for a ``tf1_regularizer`` site, or raise ``Unsafe``."""
    return _tf1_to_keras(ctx, site)
