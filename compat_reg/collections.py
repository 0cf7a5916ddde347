"""The TF1 ``REGULARIZATION_LOSSES`` graph collection: add, get, sum.

Drop-in for ``tf.compat.v1.losses.get_regularization_loss(es)``,
``tf.compat.v1.losses.get_total_loss`` and ``tf_slim``'s
``apply_regularization``, with TF1's semantics:

* ``scope`` filters by ``re.match(scope, tensor.name)``: a regular expression
  anchored at the start of the tensor name, *not* a scope boundary, so
  ``scope="outer"`` also matches ``outer_b/...`` (write ``"outer/"`` to mean the
  scope ``outer`` only). Items without a name are skipped when filtering.
* ``get_regularization_loss`` is ``add_n(losses, name=name)``, or the constant
  ``0.0`` (float32) when nothing matches:
  ``total = sum_i loss_i``.
* ``apply_regularization`` sums ``regularizer(w)`` over ``weights_list`` (default:
  the ``WEIGHTS`` collection) in a name scope ``get_regularization_penalty`` and
  **also appends that sum to the collection** — a training loop that adds
  ``apply_regularization(...)`` *and* ``get_regularization_loss()`` counts it twice.

Differences from TF1, all on misuse (TF1 either silently did the wrong thing or
raised a cryptic error):

* called while executing eagerly, every function here raises ``RuntimeError``
  naming the fix (TF1's ``get_regularization_loss`` silently returned 0 and
  TF1's eager ``get_variable`` makes a new variable and leaks another loss at
  every call);
* a non-scalar loss raises ``ValueError`` naming the tensor (TF1 added it and
  returned a non-scalar "total", or failed in ``AddN``);
* losses of different dtypes (a float16 penalty next to float32 ones) raise a
  ``TypeError`` naming the tensors and dtypes (TF1's ``AddN`` raised
  ``Tensors in list passed to 'inputs' of 'AddN' Op have types [...]``);
* ``get_total_loss`` with nothing to add raises ``ValueError`` saying how to add
  the data loss (TF1's ``add_n([])`` raised about its ``inputs``);
* the readers (``get_regularization_loss(es)``, ``get_total_loss``) called while
  tracing a ``tf.function`` whose own graph has no regularization losses raise
  ``RuntimeError`` (TF1 silently returned 0.0: the model's losses are in the
  outer graph);
* a ``scope`` that is not a valid regular expression raises ``ValueError`` naming
  it (TF1: a raw ``re.error``); ``apply_regularization`` given one tensor or
  variable instead of a list raises ``TypeError`` (TF1:
  ``OperatorNotAllowedInGraphError``);
* mixed float64/float32 losses get advice about float64, not float16.

One improvement that changes no value: ``get_variable(..., regularizer=r)``
stores a lazily evaluated tensor that rebuilds ``r``'s ops every time it is
converted, so TF1's ``get_regularization_loss`` builds a third copy of every
penalty subgraph at each call. Here the tensor already built at variable
creation is reused when it can be (same graph, no control-flow context); the
sum is the same ops' values.
"""

import warnings

import tensorflow as tf

from compat_reg import _checks
from compat_reg import _registry
from compat_reg._internals import tf_graph
from compat_reg._registry import REGULARIZATION_LOSSES

__all__ = [
    "REGULARIZATION_LOSSES", "add_regularization_loss", "apply_regularization", "get_regularization_loss",
    "get_regularization_losses", "get_total_loss",
]

require_graph_mode = _checks.require_graph_mode
check_summable = _checks.check_summable


def get_regularization_losses(scope=None):
    """The items of ``REGULARIZATION_LOSSES`` whose names match ``scope``.

    Same as ``tf.compat.v1.losses.get_regularization_losses``: ``scope`` is a
    regular expression matched at the *start* of each tensor name
    (``re.match``), so ``"outer"`` also selects ``outer_b/...``; use ``"outer/"``
    for the scope ``outer`` alone. ``None`` returns every item, in insertion order.
    """
    require_graph_mode("get_regularization_losses", reads=REGULARIZATION_LOSSES)
    _checks.check_scope_regex(scope, "get_regularization_losses")
    return tf.compat.v1.get_collection(REGULARIZATION_LOSSES, scope)


def _resolved(loss):
    """The tensor to sum for a collection item (reusing ``get_variable``'s built penalty).

    ``get_variable`` stores a lazily evaluated tensor whose conversion rebuilds the
    regularizer's ops; the tensor it built at variable creation is the identical
    computation. That one is reused when it lives in the current graph outside any
    control-flow context, i.e. whenever it can be fetched from here; otherwise TF1's
    lazy conversion is used.
    """
    master = tf_graph.lazy_loss_master(loss)
    if master is None or not isinstance(master, tf.Tensor):
        if not (hasattr(loss, "dtype") and hasattr(loss, "shape")):
            return tf.convert_to_tensor(loss)  # e.g. a Python float someone added; TF1's add_n converts it too
        return loss
    if master.graph is not tf.compat.v1.get_default_graph():
        return loss
    if tf_graph.control_flow_context(master.op) is not None:
        return loss
    return master


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    """``tf.compat.v1.losses.get_regularization_loss``: the sum of the collection.

    ``total = add_n([l for l in REGULARIZATION_LOSSES if re.match(scope, l.name)])``,
    a scalar named ``name``; ``tf.constant(0.0)`` (float32) when nothing matches.
    See ``get_regularization_losses`` for the ``scope`` rule.

    Raises:
      RuntimeError: executing eagerly.
      ValueError: a loss in the collection is not a scalar (names it).
      TypeError: the losses have different dtypes (names them).
    """
    require_graph_mode("get_regularization_loss", reads=REGULARIZATION_LOSSES)
    _checks.check_scope_regex(scope, "get_regularization_loss")
    losses = tf.compat.v1.get_collection(REGULARIZATION_LOSSES, scope)
    if losses:
        tensors = [_resolved(loss) for loss in losses]
        check_summable(tensors, "get_regularization_loss")
        return tf.math.add_n(tensors, name=name)
    return tf.constant(0.0)


def add_regularization_loss(loss):
    """Append a scalar ``loss`` to ``REGULARIZATION_LOSSES`` and return it (as a tensor).

    Like ``tf.compat.v1.losses.add_loss(loss, REGULARIZATION_LOSSES)``, but it
    refuses what ``get_regularization_loss`` could not sum: a non-scalar, or a
    dtype different from the losses already in the collection.

    Raises:
      RuntimeError: executing eagerly (TF1's ``add_loss`` silently dropped it).
      ValueError: ``loss`` is not a scalar.
      TypeError: ``loss``'s dtype differs from the collection's.
    """
    require_graph_mode("add_regularization_loss")
    loss = tf.convert_to_tensor(loss)
    existing = [t for t in tf.compat.v1.get_collection(REGULARIZATION_LOSSES) if hasattr(t, "dtype")]
    check_summable(existing[:1] + [loss], "add_regularization_loss")
    tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, loss)
    return loss


def get_total_loss(add_regularization_losses=True, name="total_loss", scope=None):
    """``tf.compat.v1.losses.get_total_loss``: the ``LOSSES`` collection plus regularization.

    ``total = add_n(LOSSES[scope] + REGULARIZATION_LOSSES[scope])`` (the second
    part only if ``add_regularization_losses``); ``scope`` filters both
    collections with the regex-prefix rule of ``get_regularization_losses``.

    Raises:
      RuntimeError: executing eagerly.
      ValueError: there is nothing to add (TF1 raised an ``add_n`` error), or a
        loss is not a scalar.
      TypeError: the losses have different dtypes.
    """
    require_graph_mode("get_total_loss", reads=REGULARIZATION_LOSSES if add_regularization_losses else None)
    _checks.check_scope_regex(scope, "get_total_loss")
    losses = tf.compat.v1.losses.get_losses(scope=scope)
    if add_regularization_losses:
        losses = losses + get_regularization_losses(scope=scope)
    if not losses:
        where = "" if scope is None else f" matching scope={scope!r}"
        raise ValueError(
            f"get_total_loss(add_regularization_losses={add_regularization_losses!r}, "
            f"scope={scope!r}): there are no losses{where} to add. Register the data loss "
            "with a tf.compat.v1.losses.* function (they add to the LOSSES collection) or "
            "tf.compat.v1.losses.add_loss(loss), or sum your own loss with "
            "compat_reg.get_regularization_loss()."
        )
    tensors = [_resolved(loss) for loss in losses]
    check_summable(tensors, "get_total_loss")
    return tf.math.add_n(tensors, name=name)


def _warn_if_already_regularized(weights_list):
    """Warn (once per variable) about weights whose penalty is already in the collection.

    One pass over the collection: TF1 names a ``get_variable`` penalty
    ``<variable>/Regularizer/...``; compat_reg's scopes record theirs.
    """
    owners = {}
    for item in tf.compat.v1.get_collection(REGULARIZATION_LOSSES):
        name = getattr(item, "name", "")
        if "/Regularizer/" in name:
            owners.setdefault(name.split("/Regularizer/")[0], name)
    for w in weights_list:
        if not isinstance(w, tf.Variable):
            continue
        earlier = [f"{reg!r} via {how}" for reg, how in _registry.regularized_by(w)]
        if w.op.name in owners:
            earlier.append(f"get_variable(regularizer=...) (its loss {owners[w.op.name]!r})")
        if earlier:
            warnings.warn(
                f"apply_regularization: variable {w.name!r} is already regularized by "
                f"{' and '.join(earlier)}; apply_regularization adds another penalty for it to "
                "REGULARIZATION_LOSSES, so its loss counts twice (TF1 did the same, silently). "
                "Leave it out of weights_list, or create it without a regularizer.",
                _registry.DoubleRegularizationWarning,
                stacklevel=3,
            )


def _weights_list(weights_list):
    """``weights_list`` as a list; a bare tensor/variable (TF1: ``OperatorNotAllowedInGraphError``) is refused."""
    if weights_list is None:
        return []
    if not isinstance(weights_list, (tf.Tensor, tf.Variable)):
        try:
            return list(weights_list)
        except TypeError:
            pass
    raise _checks.invalid_value(
        "weights_list", "a list of tensors or variables (or None for the WEIGHTS collection)",
        f"{weights_list!r} of type {type(weights_list).__name__}", "apply_regularization",
        "Wrap a single weight in a list: apply_regularization(regularizer, [w]).", error=TypeError,
    )


def apply_regularization(regularizer, weights_list=None):
    """tf_slim's ``apply_regularization``: sum ``regularizer(w)`` and add it to the collection.

    ``penalty = add_n([regularizer(w) for w in weights_list])`` (a ``None``
    penalty counts as ``0.0``), built in the name scope
    ``get_regularization_penalty`` and named after it, exactly as tf_slim. The
    same tensor is appended to ``REGULARIZATION_LOSSES`` (TF1 behaviour), so do
    not add it to ``get_regularization_loss()`` again.

    Args:
      regularizer: a callable ``penalty = regularizer(weights)`` returning a
        scalar tensor or ``None``.
      weights_list: tensors or variables; defaults to the ``WEIGHTS`` collection
        when ``None`` or empty.

    Returns:
      The summed penalty, a scalar.

    Warns:
      DoubleRegularizationWarning: for each variable in
        ``weights_list`` that already has a penalty in the collection — from
        ``get_variable(regularizer=...)``, a regularizing ``variable_scope``, or
        compat_reg's ``regularized_scope``/``regularize`` — since TF1 semantics
        then count it twice. The sum is still built, as in tf_slim.

    Raises:
      RuntimeError: executing eagerly.
      TypeError: ``regularizer`` is not callable (e.g. ``sum_regularizer([])``
        returned ``None``), ``weights_list`` is a single tensor or variable
        instead of a list, or penalties have different dtypes.
      ValueError: ``"No weights to regularize."`` or ``"regularizer must return a
        scalar Tensor instead of a Tensor with rank N."`` (tf_slim's messages).
    """
    require_graph_mode("apply_regularization")
    if not callable(regularizer):
        raise _checks.invalid_value(
            "regularizer", "a callable `penalty = regularizer(weights)`", repr(regularizer), "apply_regularization",
            "(sum_regularizer([]) returns None; skip apply_regularization when there is nothing to apply.)",
            error=TypeError,
        )
    weights_list = _weights_list(weights_list)
    if not weights_list:
        weights_list = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.WEIGHTS)
    if not weights_list:
        raise ValueError("No weights to regularize.")
    _warn_if_already_regularized(weights_list)
    with tf.compat.v1.name_scope("get_regularization_penalty", values=weights_list) as scope:
        penalties = [regularizer(w) for w in weights_list]
        penalties = [tf.convert_to_tensor(p) if p is not None else tf.constant(0.0) for p in penalties]
        for p in penalties:
            if p.get_shape().ndims != 0:
                raise ValueError(
                    "regularizer must return a scalar Tensor instead of a "
                    "Tensor with rank %s." % p.get_shape().ndims
                )
        check_summable(penalties, "apply_regularization")
        summed_penalty = tf.math.add_n(penalties, name=scope)
        tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, summed_penalty)
        return summed_penalty
