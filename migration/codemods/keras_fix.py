"""Keras regularizer keyword fixes (both targets): what ``tf_upgrade_v2`` and tf_keras left behind.

    tf.keras.regularizers.l2(l=x) -> tf.keras.regularizers.l2(l2=x)     # `l=` is tf_keras-only
    tf.keras.regularizers.l1_l2() -> tf.keras.regularizers.l1_l2(l1=0.01, l2=0.01)  # tf_keras defaults

Keras 3's ``l1_l2`` defaults to 0.0/0.0, tf_keras' (TF1's ``tf.keras``) to 0.01/0.01:
writing the defaults out keeps the penalty the TF1 code had.
"""

from .edits import Edit, Unsafe
from .to_keras import _bind_args

TF_KERAS_L1_L2_DEFAULT = 0.01  # tf_keras l1_l2(l1=0.01, l2=0.01); Keras 3's l1_l2 defaults to 0.0


def transform(ctx, site):
    """``(edits, reason)``, ``None`` when the call is fine, or raise ``Unsafe``."""
    call = site.node
    short = site.name.split(".", 1)[1]
    edits = []
    if short in ("l1", "l2", "L1", "L2"):
        keyword = next((k for k in call.keywords if k.arg == "l"), None)
        if keyword is None:
            return None
        start = ctx.source.offset(keyword.lineno, keyword.col_offset)
        new = short.lower()
        edits.append(Edit(start, start + 1, new))
        return edits, f"`l=` is a tf_keras-only alias (TypeError on Keras 3): renamed to `{new}=`"
    if short == "l1_l2":
        args = _bind_args(call, ("l1", "l2"), "l1_l2")
        if "l1" in args and "l2" in args:
            return None
        if site.origin == "keras":
            raise Unsafe("keras.regularizers.l1_l2 defaults differ: 0.01 in Keras 2, 0.0 in Keras 3; "
                          "pass both l1= and l2= explicitly")
        if ctx.has_comment(call):
            raise Unsafe("the call contains a comment that rewriting the whole call would drop")
        l1 = ctx.segment(args["l1"]) if "l1" in args else repr(TF_KERAS_L1_L2_DEFAULT)
        l2 = ctx.segment(args["l2"]) if "l2" in args else repr(TF_KERAS_L1_L2_DEFAULT)
        start, end = ctx.span(call)
        text = f"{ctx.segment(call.func)}(l1={l1}, l2={l2})"
        return [Edit(start, end, text)], ("tf.keras l1_l2 defaulted to 0.01/0.01 (tf_keras) but Keras 3's "
                                           "to 0.0/0.0: defaults written out")
    return None
