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
  the data loss (TF1's ``add_n([])`` raised about its ``inputs``).

One improvement that changes no value: ``get_variable(..., regularizer=r)``
stores a lazily evaluated tensor that rebuilds ``r``'s ops every time it is
converted, so TF1's ``get_regularization_loss`` builds a third copy of every
penalty subgraph at each call. Here the tensor already built at variable
creation is reused when it can be (same graph, no control-flow context); the
sum is the same ops' values.
"""

import tensorflow as tf

REGULARIZATION_LOSSES = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES
"""The collection key, ``"regularization_losses"`` (``tf.GraphKeys.REGULARIZATION_LOSSES``)."""

_EAGER_MESSAGE = (
    "compat_reg.{fn}() needs a tf.compat.v1 graph, but TensorFlow is executing eagerly. "
    "Graph collections do not exist in eager mode (TF1's eager get_variable makes a new "
    "variable and leaks another loss at every call, and TF1's get_regularization_loss "
    "silently returns 0). Build the model inside `with tf.Graph().as_default():` (or call "
    "tf.compat.v1.disable_eager_execution() at program start), or, in TF2/Keras code, use "
    "the regularizers as kernel_regularizer and sum model.losses."
)


def require_graph_mode(fn_name):
    """Raise ``RuntimeError`` naming the fix if called while executing eagerly.

    Inside a ``tf.function`` or ``tf.compat.v1.wrap_function`` (a ``FuncGraph``)
    the functions work on that graph's own collections, as in TF1.
    """
    if tf.executing_eagerly():
        raise RuntimeError(_EAGER_MESSAGE.format(fn=fn_name))


def get_regularization_losses(scope=None):
    """The items of ``REGULARIZATION_LOSSES`` whose names match ``scope``.

    Same as ``tf.compat.v1.losses.get_regularization_losses``: ``scope`` is a
    regular expression matched at the *start* of each tensor name
    (``re.match``), so ``"outer"`` also selects ``outer_b/...``; use ``"outer/"``
    for the scope ``outer`` alone. ``None`` returns every item, in insertion order.
    """
    require_graph_mode("get_regularization_losses")
    return tf.compat.v1.get_collection(REGULARIZATION_LOSSES, scope)


def _loss_name(loss):
    return getattr(loss, "name", repr(loss))


def _resolved(loss):
    """The tensor to sum for a collection item (reusing ``get_variable``'s built penalty).

    ``get_variable`` stores a ``_LazyEvalTensor`` whose conversion rebuilds the
    regularizer's ops; its ``_master_tensor`` is the identical computation,
    built once at variable creation. It is reused when it lives in the current
    graph outside any control-flow context, i.e. whenever it can be fetched from
    here; otherwise TF1's lazy conversion is used.
    """
    master = getattr(loss, "_master_tensor", None)
    if master is None or not isinstance(master, tf.Tensor):
        if not (hasattr(loss, "dtype") and hasattr(loss, "shape")):
            return tf.convert_to_tensor(loss)  # e.g. a Python float someone added; TF1's add_n converts it too
        return loss
    if master.graph is not tf.compat.v1.get_default_graph():
        return loss
    if master.op._get_control_flow_context() is not None:  # pylint: disable=protected-access
        return loss
    return master


def check_summable(losses, what):
    """Raise a clear error for non-scalar or mixed-dtype losses (``AddN`` reports them cryptically).

    Args:
      losses: the tensors about to be summed.
      what: the caller, for the message (e.g. ``"get_regularization_loss"``).

    Raises:
      ValueError: a loss has a known rank other than 0.
      TypeError: the losses do not all have the same dtype.
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
        raise TypeError(
            f"{what}: cannot sum losses of different dtypes ({detail}). Cast the "
            "float16/bfloat16 ones to float32 with tf.cast before adding them (mixed-"
            "precision models keep regularization in float32)."
        )


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
    require_graph_mode("get_regularization_loss")
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
    require_graph_mode("get_total_loss")
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
    import warnings

    from compat_reg import scopes  # scopes builds on this module; imported when used

    owners = {}
    for item in tf.compat.v1.get_collection(REGULARIZATION_LOSSES):
        name = getattr(item, "name", "")
        if "/Regularizer/" in name:
            owners.setdefault(name.split("/Regularizer/")[0], name)
    for w in weights_list:
        if not isinstance(w, tf.Variable):
            continue
        earlier = [f"{reg!r} via {how}" for reg, how in scopes.regularized_by(w)]
        if w.op.name in owners:
            earlier.append(f"get_variable(regularizer=...) (its loss {owners[w.op.name]!r})")
        if earlier:
            warnings.warn(
                f"apply_regularization: variable {w.name!r} is already regularized by "
                f"{' and '.join(earlier)}; apply_regularization adds another penalty for it to "
                "REGULARIZATION_LOSSES, so its loss counts twice (TF1 did the same, silently). "
                "Leave it out of weights_list, or create it without a regularizer.",
                scopes.DoubleRegularizationWarning,
                stacklevel=3,
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
      DoubleRegularizationWarning: (``compat_reg.scopes``) for each variable in
        ``weights_list`` that already has a penalty in the collection — from
        ``get_variable(regularizer=...)``, a regularizing ``variable_scope``, or
        compat_reg's ``regularized_scope``/``regularize`` — since TF1 semantics
        then count it twice. The sum is still built, as in tf_slim.

    Raises:
      RuntimeError: executing eagerly.
      TypeError: ``regularizer`` is not callable (e.g. ``sum_regularizer([])``
        returned ``None``), or penalties have different dtypes.
      ValueError: ``"No weights to regularize."`` or ``"regularizer must return a
        scalar Tensor instead of a Tensor with rank N."`` (tf_slim's messages).
    """
    require_graph_mode("apply_regularization")
    if not callable(regularizer):
        raise TypeError(
            f"apply_regularization: `regularizer` must be a callable "
            f"penalty = regularizer(weights); received regularizer={regularizer!r}. "
            "(sum_regularizer([]) and l1_l2_regularizer(0.0, 0.0)-style factories return "
            "None or a no-op; skip apply_regularization when there is nothing to apply.)"
        )
    if not weights_list:
        weights_list = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.WEIGHTS)
    if not weights_list:
        raise ValueError("No weights to regularize.")
    _warn_if_already_regularized(weights_list)
    with tf.compat.v1.name_scope("get_regularization_penalty", values=weights_list) as scope:
        penalties = [regularizer(w) for w in weights_list]
        penalties = [p if p is not None else tf.constant(0.0) for p in penalties]
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
