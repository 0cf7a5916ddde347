"""Argument validation for the runtime, with one message style.

Every check raises in the Keras style, naming the argument, what was expected, what
was received and, where there is one, the fix::

    Invalid value for argument `scale`. Expected a non-negative scalar float.
    Received: scale=array([0.1, 0.2]) (shape (2,)).

``where`` (the public function or object being called) prefixes the message when
given: ``"regularize: Invalid value for argument `partitioned`. ..."``. The checks
that reproduce tf_slim's own messages (``"scale cannot be an integer: 1"``,
``"Setting a scale less than 0 on a regularizer: -1"``) keep them verbatim, because
TF1 code and tests match on them.
"""

import math
import numbers
import re

import numpy as np
import tensorflow as tf



def invalid_value(arg, expected, received, where=None, fix=None, error=ValueError):
    """The exception for a bad argument: ``Invalid value for argument `arg`. Expected ... Received: arg=...``.

    ``received`` is put in the message as it is (callers pass ``repr(value)`` plus
    any detail such as a shape).
    """
    message = f"Invalid value for argument `{arg}`. Expected {expected}. Received: {arg}={received}."
    if fix:
        message += " " + fix
    if where:
        message = f"{where}: {message}"
    return error(message)


def check_choice(arg, value, choices, where=None):
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise invalid_value(arg, f"one of {set(choices)}", repr(value), where)
    return value


def check_callable(arg, value, where, example="compat_reg.l2_regularizer(1e-4)"):
    """Raise ``TypeError`` unless ``value`` is callable (a regularizer, a penalty function)."""
    if not callable(value):
        raise invalid_value(arg, f"a callable `penalty = {arg}(weights)` (e.g. {example})", repr(value), where,
                            error=TypeError)
    return value


# ----------------------------------------------------------------------------
# Graph mode.
# ----------------------------------------------------------------------------

_EAGER_MESSAGE = (
    "compat_reg.{fn}() needs a tf.compat.v1 graph, but TensorFlow is executing eagerly. "
    "Graph collections do not exist in eager mode (TF1's eager get_variable makes a new "
    "variable and leaks another loss at every call, and TF1's get_regularization_loss "
    "silently returns 0). Build the model inside `with tf.Graph().as_default():` (or call "
    "tf.compat.v1.disable_eager_execution() at program start), or, in TF2/Keras code, use "
    "the regularizers as kernel_regularizer and sum model.losses."
)

_FUNCTION_MESSAGE = (
    "compat_reg.{fn}() was called while tracing a tf.function (graph {graph!r}), whose graph has "
    "its own collections, and its {key} collection is empty: the losses of a model built outside "
    "the function are not there, and the result would silently be {empty} (TF1 returns that). "
    "Call compat_reg.{fn}() in the tf.compat.v1 graph that built the model (outside the "
    "tf.function) and pass the tensor in; in TF2/Keras code sum model.losses instead."
)


def require_graph_mode(fn_name, reads=None):
    """Raise ``RuntimeError`` naming the fix unless a TF1 (``tf.compat.v1``) graph is being built.

    Refused: executing eagerly (no collections exist). With ``reads`` (the
    collection key a reader sums or lists), also refused: tracing a
    ``tf.function`` (a ``FuncGraph``) whose own ``reads`` collection is empty,
    where TF1 silently returns 0.0 / ``[]`` although the model's losses live in
    the outer graph. A ``FuncGraph`` that built its own losses (a
    ``tf.compat.v1.wrap_function`` of a TF1 model, ``compat_reg.keras.TF1Layer``)
    is read as TF1 reads it.
    """
    if tf.executing_eagerly():
        raise RuntimeError(_EAGER_MESSAGE.format(fn=fn_name))
    if reads is None:
        return
    graph = tf.compat.v1.get_default_graph()
    if graph.building_function and not graph.get_collection(reads):
        empty = "[]" if fn_name.endswith("losses") else "0.0"
        raise RuntimeError(_FUNCTION_MESSAGE.format(fn=fn_name, graph=graph.name, key=reads, empty=empty))


# ----------------------------------------------------------------------------
# Scales.
# ----------------------------------------------------------------------------

_SCALE_EXPECTED = "a non-negative scalar float (a Python float, or a scalar float tf.Tensor/tf.Variable)"


def _zero_d(scale):
    return isinstance(scale, np.ndarray) and scale.ndim == 0


def check_scale(scale, arg_name="scale", negative_message="Setting a scale less than 0 on a regularizer: %g",
                where=None):
    """Validate a regularizer scale and return it.

    As tf_slim, with tf_slim's messages and ``ValueError``: integers (including
    ``True``; ``"scale cannot be an integer: 1"``) and negative floats
    (``negative_message % scale``) are refused, ``0.0`` is logged as disabling.
    Tensors and variables are accepted.

    A 0-d NumPy float array is kept (tf_slim converts it like a tensor: scale
    ``np.array(0.)`` gives a zero penalty, not ``None``) and checked by its value;
    a 0-d integer array is refused like an integer.

    Refused here with a message naming ``arg_name`` (tf_slim accepted them and
    failed later or produced a non-scalar or NaN/inf "loss"): strings
    (``"0.1"``), lists, tuples and NumPy arrays of any other shape than ``()``,
    non-finite floats, complex numbers, and tensors statically known to be
    non-scalar, non-float or negative.
    """
    if _zero_d(scale) and np.issubdtype(scale.dtype, np.floating):
        # tf_slim converts a 0-d array like a tensor (a 0.0 one gives a zero penalty, not None):
        # kept as it is, checked by its value
        check_scale(float(scale), arg_name, negative_message, where)
        return scale
    if _zero_d(scale) and (np.issubdtype(scale.dtype, np.integer) or scale.dtype == bool):
        scale = scale.item()
    if isinstance(scale, numbers.Integral):
        raise ValueError("%s cannot be an integer: %s" % (arg_name, scale))
    if isinstance(scale, numbers.Real):
        if math.isnan(scale) or math.isinf(scale):
            raise invalid_value(arg_name, _SCALE_EXPECTED, repr(scale), where, "It must be finite.")
        if scale < 0.0:
            raise ValueError(negative_message % scale)
        if scale == 0.0:
            tf.compat.v1.logging.info("Scale of 0 disables regularizer.")
        return scale
    if isinstance(scale, (tf.Tensor, tf.Variable)):
        rank = scale.shape.ndims
        if rank not in (0, None):
            raise invalid_value(arg_name, _SCALE_EXPECTED, f"{scale!r} (shape {scale.shape})", where,
                                "Pass a scalar tensor or variable, e.g. tf.Variable(1e-4).")
        if not tf.as_dtype(scale.dtype).base_dtype.is_floating:
            raise invalid_value(arg_name, _SCALE_EXPECTED, repr(scale), where, "Create it with a float dtype.")
        if isinstance(scale, tf.Tensor):
            static = tf.get_static_value(scale)
            if static is not None and float(static) < 0.0:
                raise ValueError(negative_message % float(static))
        return scale
    if isinstance(scale, str):
        raise invalid_value(arg_name, _SCALE_EXPECTED, repr(scale), where,
                            f"Pass the number itself, e.g. {arg_name}=1e-4, not a string.")
    shape = np.shape(scale) if isinstance(scale, (list, tuple, np.ndarray)) else None
    if shape is not None:
        raise invalid_value(arg_name, _SCALE_EXPECTED, f"{scale!r} (shape {shape})", where,
                            "A regularizer has one coefficient; for several weights use one regularizer each.")
    raise invalid_value(arg_name, _SCALE_EXPECTED, f"{scale!r} of type {type(scale).__name__}", where)


# ----------------------------------------------------------------------------
# Losses and weights.
# ----------------------------------------------------------------------------


def _loss_name(loss):
    return getattr(loss, "name", repr(loss))


def check_scalar_penalty(penalty, what, where):
    """``penalty`` as a tensor, or ``ValueError`` if it has a known rank other than 0.

    ``what`` names the owner (``"variable 'net/w:0'"``), ``where`` the caller.
    """
    penalty = tf.convert_to_tensor(penalty)
    rank = penalty.shape.ndims
    if rank not in (0, None):
        raise ValueError(
            f"{where}: the penalty of {what} has shape {penalty.shape}; a regularization loss must be "
            "a scalar. Reduce it with tf.reduce_sum inside the regularizer or function."
        )
    return penalty


def _dtype_advice(dtypes):
    names = {d.name for d in dtypes}
    if names & {"float16", "bfloat16"}:
        return ("Cast the float16/bfloat16 ones to float32 with tf.cast before adding them (mixed-precision "
                "models keep regularization in float32).")
    if "float64" in names:
        return ("Make the float64 weights float32 (create the variables with dtype=tf.float32, or cast "
                "their penalties with tf.cast(loss, tf.float32)), or build the whole model in float64.")
    return "Cast them to one dtype with tf.cast before adding them."


def check_summable(losses, what):
    """Raise a clear error for non-scalar or mixed-dtype losses (``AddN`` reports them cryptically).

    Args:
      losses: the tensors about to be summed.
      what: the caller, for the message (e.g. ``"get_regularization_loss"``).

    Raises:
      ValueError: a loss has a known rank other than 0.
      TypeError: the losses do not all have the same dtype (with advice for the
        dtypes involved: float16/bfloat16 or float64).
    """
    dtypes = {}
    for loss in losses:
        rank = loss.shape.ndims
        if rank not in (0, None):
            raise ValueError(
                f"{what}: loss {_loss_name(loss)!r} has rank {rank} (shape {loss.shape}); every "
                "regularization loss must be a scalar. The regularizer that made it must "
                "reduce its penalty, e.g. with tf.reduce_sum, before it is added to the "
                "collection."
            )
        dtypes.setdefault(tf.as_dtype(loss.dtype).base_dtype, loss)
    if len(dtypes) > 1:
        detail = ", ".join(f"{_loss_name(t)!r} is {d.name}" for d, t in dtypes.items())
        raise TypeError(f"{what}: cannot sum losses of different dtypes ({detail}). {_dtype_advice(dtypes)}")


def check_scope_regex(scope, where):
    """Raise ``ValueError`` naming ``scope`` if it is not a valid regular expression (TF1: a raw ``re.error``)."""
    if scope is None:
        return scope
    if not isinstance(scope, str):
        raise invalid_value("scope", "a regular expression string matched at the start of each loss name, or None",
                            repr(scope), where, error=TypeError)
    try:
        re.compile(scope)
    except re.error as error:
        raise invalid_value(
            "scope", "a regular expression matched at the start of each loss name", repr(scope), where,
            f"It does not compile ({error}). Escape literal characters with re.escape(name), e.g. "
            f"scope=re.escape({scope!r}).",
        ) from None
    return scope
