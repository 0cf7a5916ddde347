"""The regularization patterns graph-mode users keep asking for, as functions.

* ``activity_regularize(tensor, regularizer, reduction=...)``: penalize an
  intermediate tensor (not a variable) and keep using it unchanged.
* ``group_regularizer(fn, variables)``: one penalty over variables of several
  layers (e.g. pairwise orthogonality of the concatenated kernels of ten conv
  layers, some frozen); ``orthogonality(scale)`` is such an ``fn``.
* ``trainable_coefficient(name, initial_value, parameterization=...)``: a penalty
  coefficient that is itself a trainable variable, optionally kept positive.
* ``split_total_loss(...)``: ``(data_loss, regularization_loss, total_loss)``, so a
  training script can log the loss without weight decay next to the loss.

All of them work on ``tf.compat.v1`` graphs and put their penalties in
``REGULARIZATION_LOSSES``, so ``tf.compat.v1.losses.get_regularization_loss()``
and ``compat_reg.get_regularization_loss()`` see them.
"""

import collections
import math

import tensorflow as tf

from compat_reg import _backend_math
from compat_reg import _checks
from compat_reg import _registry
from compat_reg import collections as _collections
from compat_reg._registry import REGULARIZATION_LOSSES

REDUCTIONS = ("batch_mean", "sum")
PARAMETERIZATIONS = ("identity", "softplus", "exp")


# ----------------------------------------------------------------------------
# Activity regularization.
# ----------------------------------------------------------------------------


def activity_regularize(tensor, regularizer, reduction=None, name=None):
    """Add a penalty on ``tensor`` to ``REGULARIZATION_LOSSES`` and return ``tensor`` unchanged.

    ``reduction`` must be chosen explicitly, because the two conventions differ
    by a factor of the batch size:

    * ``"batch_mean"``: ``penalty = regularizer(tensor) / batch_size`` with
      ``batch_size = shape(tensor)[0]`` (0 if the batch is empty, like Keras 3's
      ``divide_no_nan``). This is what ``activity_regularizer=`` does in tf_keras,
      Keras >= 3.14 and ``tf.compat.v1.layers`` (tf_keras' ``base_layer_v1``).
    * ``"sum"``: ``penalty = regularizer(tensor)``, the raw value (Keras 3 before
      3.14, and what a TF1 script that did
      ``tf.add_to_collection(REGULARIZATION_LOSSES, r(h))`` got).

    Args:
      tensor: the activation to penalize (its first axis is the batch for
        ``"batch_mean"``).
      regularizer: a callable returning a scalar (a compat_reg/tf_slim/Keras
        regularizer or any function). ``None`` from it adds nothing.
      reduction: ``"batch_mean"`` or ``"sum"`` (required; see above).
      name: name scope of the penalty ops (default ``"activity_regularizer"``).

    Returns:
      ``tensor`` itself (the same object), so it can be used inline:
      ``h = activity_regularize(tf.nn.relu(x @ w), l1_regularizer(1e-3), reduction="batch_mean")``.

    Raises:
      ValueError: ``reduction`` missing or unknown; a non-scalar penalty.
      RuntimeError: when executing eagerly (use a Keras ``activity_regularizer``).
    """
    _checks.require_graph_mode("activity_regularize")
    if reduction is None:
        raise ValueError(
            "activity_regularize: pass `reduction` explicitly: reduction='batch_mean' divides the "
            "penalty by the batch size (tf_keras, Keras >= 3.14 and tf.compat.v1.layers "
            "activity_regularizer), reduction='sum' adds the raw penalty (Keras 3 < 3.14, a hand-"
            f"written TF1 collection add). Received: reduction=None for tensor {tensor.name!r}."
        )
    _checks.check_choice("reduction", reduction, REDUCTIONS, "activity_regularize")
    _checks.check_callable("regularizer", regularizer, f"activity_regularize (tensor {tensor.name!r})",
                           example="compat_reg.l1_regularizer(1e-3)")
    with tf.compat.v1.name_scope(name, "activity_regularizer", [tensor]):
        penalty = regularizer(tensor)
        if penalty is None:
            return tensor
        penalty = _checks.check_scalar_penalty(penalty, f"tensor {tensor.name!r}", "activity_regularize")
        if reduction == "batch_mean":
            batch = tf.cast(tf.shape(tensor)[0], penalty.dtype)
            raw, penalty = penalty, tf.math.divide_no_nan(penalty, batch, name="batch_mean")
            _registry.record_activity_loss(penalty, raw, batch)  # lets TF1Layer apply its conventions
    tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, penalty)
    return tensor


# ----------------------------------------------------------------------------
# Group penalties.
# ----------------------------------------------------------------------------


def _trainable_set(graph):
    return {v.ref() for v in graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)}


def group_regularizer(fn, variables, name=None, stop_gradient_frozen=True):
    """One penalty ``fn([w_1, ..., w_n])`` over variables of several layers, added to the collection.

    Frozen variables (not in ``TRAINABLE_VARIABLES``) still count in the value,
    as they do in TF1's collection and in tf_keras; with
    ``stop_gradient_frozen=True`` (default) they enter ``fn`` through
    ``tf.stop_gradient``, so no gradient is even computed for them and an
    optimizer given an explicit ``var_list`` including them cannot move them.
    (Keras 3 drops regularizers of non-trainable weights entirely; this function
    keeps the TF1 value.)

    Args:
      fn: ``penalty = fn(list_of_tensors)`` returning a scalar, e.g.
        ``orthogonality(1e-3)``.
      variables: list of ``tf.Variable`` (any shapes; ``fn`` decides how to combine).
      name: name scope of the penalty (default ``"group_regularizer"``).
      stop_gradient_frozen: see above.

    Returns:
      The scalar penalty (also appended to ``REGULARIZATION_LOSSES``).
    """
    _checks.require_graph_mode("group_regularizer")
    _checks.check_callable("fn", fn, "group_regularizer", example="compat_reg.orthogonality(1e-3)")
    variables = list(variables)
    if not variables:
        raise ValueError(
            "group_regularizer: `variables` is empty; pass the variables the penalty couples "
            "(e.g. [conv.weights for conv in layers])."
        )
    for v in variables:
        if not isinstance(v, tf.Variable):
            raise TypeError(
                f"group_regularizer: every item of `variables` must be a tf.Variable. Received: {v!r}."
            )
    graph = tf.compat.v1.get_default_graph()
    trainable = _trainable_set(graph)
    with tf.compat.v1.name_scope(name, "group_regularizer", variables):
        values = []
        for v in variables:
            x = tf.convert_to_tensor(v)
            if stop_gradient_frozen and v.ref() not in trainable:
                x = tf.stop_gradient(x, name="frozen")
            values.append(x)
        penalty = fn(values)
        names = ", ".join(v.op.name for v in variables[:3]) + (", ..." if len(variables) > 3 else "")
        penalty = _checks.check_scalar_penalty(penalty, f"group [{names}]", "group_regularizer")
    tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, penalty)
    return penalty


def orthogonality(scale):
    """``fn`` for ``group_regularizer``: pairwise orthogonality of concatenated kernels.

    Each kernel is reshaped to ``[-1, out_channels]`` (a 1x1 conv kernel
    ``[1, 1, cin, cout]`` becomes ``[cin, cout]``); the columns are concatenated
    into ``W`` (all kernels need the same ``cin``) and

        penalty = scale * sum_{i != j} (W^T W)_{ij} ** 2

    i.e. the squared Frobenius norm of the off-diagonal part of the Gram matrix:
    zero exactly when every output filter of every layer is orthogonal to every other.
    """

    def fn(kernels):
        if kernels and _backend_math.applies(kernels[0]):  # Keras 3 on JAX / torch
            return _backend_math.orthogonality(scale, kernels)
        mats = [tf.reshape(k, [-1, tf.compat.dimension_value(k.shape[-1])]) for k in kernels]
        w = tf.concat(mats, axis=1)
        gram = tf.matmul(w, w, transpose_a=True)
        off = gram - tf.linalg.diag(tf.linalg.diag_part(gram))
        return tf.multiply(tf.cast(scale, w.dtype), tf.reduce_sum(tf.square(off)), name="orthogonality")

    return fn


# ----------------------------------------------------------------------------
# Trainable coefficients.
# ----------------------------------------------------------------------------

TrainableCoefficient = collections.namedtuple("TrainableCoefficient", ["value", "variable"])
TrainableCoefficient.__doc__ = """``value``: the coefficient tensor to use as a scale; ``variable``: what trains."""


def _inverse(parameterization, c):
    if parameterization == "identity":
        return c
    if parameterization == "exp":
        return math.log(c)
    return c + math.log(-math.expm1(-c))  # softplus^-1(c) = log(exp(c) - 1), stable


def trainable_coefficient(name, initial_value, parameterization="identity", dtype=tf.float32):
    """A penalty coefficient that is a trainable variable: ``lam = g(raw)``.

    ==============  ======================  ====================================
    parameterization  value                  note
    ==============  ======================  ====================================
    ``"identity"``  ``lam = raw``           TF1's ``l2_regularizer(tf.Variable(..))``
    ``"softplus"``  ``lam = log(1+e^raw)``  always > 0 (opt-in)
    ``"exp"``       ``lam = exp(raw)``      always > 0 (opt-in)
    ==============  ======================  ====================================

    Beware the identity default: minimizing ``data + lam * R(w)`` over ``lam`` too
    makes ``lam`` negative and the total loss runs to ``-inf`` (``R >= 0``). The
    positive parameterizations keep the total loss bounded below by the data
    loss (``lam`` then decays towards 0 unless another term, e.g. a prior
    ``-log lam``, holds it up). ``raw`` starts at ``g^{-1}(initial_value)`` so
    ``lam`` starts at ``initial_value``.

    The variable is made with ``get_variable(name, ..., regularizer=no_regularizer)``
    in the current variable scope (so ``reuse`` works and an enclosing
    ``regularized_scope`` does not penalize the coefficient itself).

    Returns:
      ``TrainableCoefficient(value, variable)``; pass ``value`` as the scale of a
      compat_reg regularizer: ``l2_regularizer(coef.value)``.
    """
    _checks.require_graph_mode("trainable_coefficient")
    _checks.check_choice("parameterization", parameterization, PARAMETERIZATIONS, "trainable_coefficient")
    initial_value = float(initial_value)
    if parameterization != "identity" and not initial_value > 0.0:
        raise ValueError(
            f"trainable_coefficient({name!r}): parameterization={parameterization!r} keeps the "
            f"coefficient positive, so `initial_value` must be > 0. Received: "
            f"initial_value={initial_value!r}."
        )
    raw = tf.compat.v1.get_variable(
        name,
        shape=[],
        dtype=dtype,
        initializer=tf.compat.v1.constant_initializer(_inverse(parameterization, initial_value)),
        regularizer=tf.compat.v1.no_regularizer,
    )
    with tf.compat.v1.name_scope(raw.op.name + "/" + parameterization + "/"):
        if parameterization == "identity":
            value = tf.identity(raw, name="value")
        elif parameterization == "softplus":
            value = tf.nn.softplus(raw, name="value")
        else:
            value = tf.exp(raw, name="value")
    return TrainableCoefficient(value, raw)


# ----------------------------------------------------------------------------
# Data loss / regularization loss / total loss.
# ----------------------------------------------------------------------------

SplitLoss = collections.namedtuple("SplitLoss", ["data_loss", "regularization_loss", "total_loss"])
SplitLoss.__doc__ = """``total_loss == data_loss + regularization_loss``, three scalar tensors."""


def split_total_loss(data_loss=None, scope=None, name="split_total_loss"):
    """``(data_loss, regularization_loss, total_loss)`` as three tensors of one graph.

    ``total_loss`` is what ``tf.compat.v1.losses.get_total_loss()`` returns (data
    losses from the ``LOSSES`` collection plus ``REGULARIZATION_LOSSES``, both
    filtered by the ``scope`` regex), and ``data_loss`` is the
    ``loss_no_weight_decay`` people log next to it.

    Args:
      data_loss: a scalar tensor; default: the sum of the ``LOSSES`` collection
        (what ``tf.compat.v1.losses.*`` register).
      scope: regex prefix filter on op names (TF1's; ``"net"`` also matches ``net_b/``).
      name: name scope.

    Returns:
      ``SplitLoss(data_loss, regularization_loss, total_loss)``; the
      regularization loss is 0.0 if the collection is empty.

    Raises:
      ValueError: no ``data_loss`` given and the ``LOSSES`` collection is empty.
      TypeError: the data and regularization losses have different dtypes.
    """
    _checks.require_graph_mode("split_total_loss")
    _checks.check_scope_regex(scope, "split_total_loss")
    with tf.compat.v1.name_scope(name):
        if data_loss is None:
            losses = tf.compat.v1.losses.get_losses(scope=scope)
            if not losses:
                raise ValueError(
                    f"split_total_loss(scope={scope!r}): no `data_loss` was given and the LOSSES "
                    "collection is empty. Pass data_loss=<your loss tensor>, or build the loss "
                    "with a tf.compat.v1.losses.* function (they register in LOSSES)."
                )
            data_loss = tf.math.add_n(losses, name="data_loss")
        else:
            data_loss = _checks.check_scalar_penalty(data_loss, "`data_loss`", "split_total_loss")
        reg_losses = _collections.get_regularization_losses(scope)
        if reg_losses:
            reg_loss = _collections.get_regularization_loss(scope, name="regularization_loss")
        else:
            reg_loss = tf.zeros([], dtype=data_loss.dtype, name="regularization_loss")
        if tf.as_dtype(reg_loss.dtype).base_dtype != tf.as_dtype(data_loss.dtype).base_dtype:
            raise TypeError(
                f"split_total_loss: data loss {data_loss.name!r} is {data_loss.dtype.name} but the "
                f"regularization loss is {reg_loss.dtype.name}; cast one of them with tf.cast "
                "(mixed-precision models usually keep both in float32)."
            )
        total = tf.add(data_loss, reg_loss, name="total_loss")
    return SplitLoss(data_loss, reg_loss, total)
