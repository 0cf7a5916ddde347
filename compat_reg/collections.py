"""The TF1 ``REGULARIZATION_LOSSES`` graph collection: add, get, sum.

Drop-in for ``tf.compat.v1.losses.get_regularization_loss(es)``,
``tf.compat.v1.losses.get_total_loss`` and ``tf_slim``'s
``apply_regularization``, with TF1's exact semantics:

* ``scope`` filters by ``re.match(scope, tensor.name)``: a regular expression
  anchored at the start of the op name, *not* a scope boundary, so
  ``scope="outer"`` also matches ``outer_b/...`` (write ``"outer/"`` to mean the
  scope ``outer`` only);
* ``get_regularization_loss`` is ``add_n(losses, name=name)``, or the constant
  ``0.0`` when the collection is empty;
* ``apply_regularization`` sums ``regularizer(w)`` over ``weights_list`` (default:
  the ``WEIGHTS`` collection) in a name scope ``get_regularization_penalty`` and
  **also appends that sum to the collection** — a training loop that adds
  ``apply_regularization(...)`` *and* ``get_regularization_loss()`` counts it twice.

These functions work on ``tf.compat.v1`` graphs. Called eagerly they raise,
because TF1's eager ``get_variable`` makes a new variable and leaks another loss
at every call; see ``compat_reg.keras`` for the eager/Keras path.
"""

import tensorflow as tf

REGULARIZATION_LOSSES = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES
"""The collection key, ``"regularization_losses"`` (``tf.GraphKeys.REGULARIZATION_LOSSES``)."""

_EAGER_MESSAGE = (
    "{fn}() needs a tf.compat.v1 graph, but TensorFlow is executing eagerly. "
    "Graph collections do not exist in eager mode (TF1's eager get_variable makes a new "
    "variable and leaks another loss at every call). Build the model inside "
    "`with tf.Graph().as_default():` (or call tf.compat.v1.disable_eager_execution()), or, "
    "in TF2/Keras code, wrap the TF1-style function in compat_reg.keras.TF1Layer and use "
    "model.losses."
)


def require_graph_mode(fn_name):
    """Raise ``RuntimeError`` with the fix if called while executing eagerly."""
    if tf.executing_eagerly():
        raise RuntimeError(_EAGER_MESSAGE.format(fn=fn_name))


def get_regularization_losses(scope=None):
    """The tensors in ``REGULARIZATION_LOSSES`` whose names match ``scope`` (a regex prefix)."""
    require_graph_mode("get_regularization_losses")
    return tf.compat.v1.get_collection(REGULARIZATION_LOSSES, scope)


def _check_summable(losses, what):
    """Raise a clear error for mixed dtypes or non-scalars, which AddN reports cryptically."""
    dtypes = {}
    for loss in losses:
        dtypes.setdefault(tf.as_dtype(loss.dtype).base_dtype, loss)
        rank = loss.shape.ndims
        if rank not in (0, None):
            raise ValueError(
                f"{what}: loss {loss.name!r} has rank {rank} (shape {loss.shape}); every "
                "regularization loss must be a scalar. Reduce it with tf.reduce_sum or "
                "tf.reduce_mean before adding it to the collection."
            )
    if len(dtypes) > 1:
        detail = ", ".join(f"{t.name!r} is {d.name}" for d, t in dtypes.items())
        raise TypeError(
            f"{what}: cannot sum losses of different dtypes ({detail}). Cast the "
            "float16/bfloat16 ones to float32 with tf.cast before adding them (mixed-"
            "precision models keep regularization in float32)."
        )


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    """``add_n`` of the collection (filtered by ``scope``), or ``0.0`` if it is empty."""
    losses = get_regularization_losses(scope)
    if losses:
        _check_summable(losses, "get_regularization_loss")
        return tf.math.add_n(losses, name=name)
    return tf.constant(0.0)


def add_regularization_loss(loss):
    """Append a scalar ``loss`` to ``REGULARIZATION_LOSSES`` and return it."""
    require_graph_mode("add_regularization_loss")
    loss = tf.convert_to_tensor(loss)
    _check_summable([loss], "add_regularization_loss")
    tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, loss)
    return loss


def get_total_loss(add_regularization_losses=True, name="total_loss", scope=None):
    """``tf.compat.v1.losses.get_total_loss``: the ``LOSSES`` collection plus regularization.

    Raises ``ValueError`` naming the fix when there is nothing to add (TF1 raises
    a bare ``add_n`` error).
    """
    require_graph_mode("get_total_loss")
    losses = tf.compat.v1.losses.get_losses(scope=scope)
    if add_regularization_losses:
        losses = losses + get_regularization_losses(scope=scope)
    if not losses:
        raise ValueError(
            f"get_total_loss(scope={scope!r}): there are no losses to add. Add the data loss "
            "with a tf.compat.v1.losses.* function (they register in the LOSSES collection) "
            "or tf.compat.v1.losses.add_loss(loss), or sum your loss and "
            "compat_reg.get_regularization_loss() yourself."
        )
    _check_summable(losses, "get_total_loss")
    return tf.math.add_n(losses, name=name)


def apply_regularization(regularizer, weights_list=None):
    """tf_slim's ``apply_regularization``: sum ``regularizer(w)`` and add it to the collection.

    Args:
      regularizer: a callable ``penalty = regularizer(weights)``.
      weights_list: tensors or variables; defaults to the ``WEIGHTS`` collection.

    Returns:
      The summed penalty, a scalar named ``get_regularization_penalty``. The same
      tensor is appended to ``REGULARIZATION_LOSSES`` (TF1 behaviour).

    Raises:
      ValueError: ``"No weights to regularize."`` or a non-scalar penalty, with
        tf_slim's messages.
    """
    require_graph_mode("apply_regularization")
    if not weights_list:
        weights_list = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.WEIGHTS)
    if not weights_list:
        raise ValueError("No weights to regularize.")
    with tf.compat.v1.name_scope("get_regularization_penalty", values=weights_list) as scope:
        penalties = [regularizer(w) for w in weights_list]
        penalties = [p if p is not None else tf.constant(0.0) for p in penalties]
        for p in penalties:
            if p.get_shape().ndims != 0:
                raise ValueError(
                    "regularizer must return a scalar Tensor instead of a "
                    "Tensor with rank %d." % p.get_shape().ndims
                )
        summed_penalty = tf.math.add_n(penalties, name=scope)
        tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, summed_penalty)
        return summed_penalty
