"""Bridged losses under ``tf.distribute``: per-replica scaling for ``fit`` and custom loops.

Synchronous strategies (``MirroredStrategy``, ``MultiWorkerMirroredStrategy``)
run the step on every replica and **sum** the replicas' gradients. For the
update to equal the one-device update on the global batch, each replica's loss
must be its share of the global loss:

    replica_loss = sum(per_example_loss on the replica's examples) / global_batch
                 + sum(regularization losses) / num_replicas_in_sync

so that summing over ``R = num_replicas_in_sync`` replicas gives
``mean(per_example_loss over the global batch) + sum(regularization losses)``.
An activity loss that Keras already divided by the *replica's* batch size
``b = B / R`` is ``r(y_replica) / b``; scaled by ``1 / R`` and summed it is
``sum_r r(y_r) / B`` — the one-device value, for a penalty that is a sum over
examples (L1, L2), when the global batch splits evenly.

A penalty that **sums** over the batch (a TF1 ``add_to_collection(REGULARIZATION_LOSSES,
s * reduce_sum(abs(h)))`` without the ``/ batch``) is not invariant: scaled by ``1 / R``
like every loss it acts on ``R`` replicas as ``s / R`` would on one device (tested).
Write it per example (divide by the batch size), or let the bridge do it with
``Conventions(activity_loss="batch_mean")`` where the penalty is recorded.

``model.fit``: every bridged loss — ``TF1Layer`` losses, ``add_callable_loss``
callables, Keras' own regularizers — is an entry of ``model.losses``, and Keras
scales each entry of ``model.losses`` by ``1 / R`` itself (Keras 3:
``Trainer._aggregate_additional_loss`` → ``scale_loss_for_distribution``;
tf_keras: ``compiled_loss`` → ``losses_utils.scale_loss_for_distribution``). So
nothing is needed there, and the tests check one device against two replicas.

Custom training loops must do the scaling themselves: ``replica_total_loss`` (or
``scale_regularization_loss`` for the regularization part alone) inside the
function given to ``strategy.run``. Adding ``tf.add_n(model.losses)`` unscaled
applies the regularization gradient ``R`` times.
"""

import tensorflow as tf

from compat_reg import _flavor


def _as_loss_list(model_or_losses, arg_name):
    keras = _flavor.keras()
    if isinstance(model_or_losses, keras.layers.Layer):
        return list(model_or_losses.losses)
    if isinstance(model_or_losses, (tf.Tensor, tf.Variable)) or hasattr(model_or_losses, "dtype"):
        return [model_or_losses]
    if isinstance(model_or_losses, (list, tuple)):
        return list(model_or_losses)
    raise TypeError(
        f"Invalid value for argument `{arg_name}`: expected a {_flavor.name()} Layer/Model (its "
        f"`losses` are used), a list of scalar loss tensors, or one tensor. Received: "
        f"{arg_name}={model_or_losses!r} of type {type(model_or_losses).__name__}"
    )


def _check_replica_context(fn_name):
    if tf.distribute.has_strategy() and tf.distribute.in_cross_replica_context():
        raise RuntimeError(
            f"{fn_name}() was called in cross-replica context (inside `strategy.scope()` but "
            "outside `strategy.run`). It scales a replica's loss by 1/num_replicas_in_sync, so "
            "call it in the step function you pass to `strategy.run(step, args=...)`."
        )


def scale_regularization_loss(model_or_losses):
    """``tf.nn.scale_regularization_loss(sum(losses))``: the replica's share of the regularization.

    Math: ``sum_i reduce_sum(loss_i) / num_replicas_in_sync`` (``num_replicas_in_sync``
    is 1 without a strategy, so the plain sum). Loss dtypes are cast to float32 before
    summing (mixed-precision models keep regularization in float32, as Keras does).

    Args:
      model_or_losses: a Keras Layer/Model (its ``losses``), a list of scalar
        tensors, or one tensor.

    Returns:
      A float32 scalar; ``0.0`` for no losses.

    Raises:
      RuntimeError: called in cross-replica context (it belongs inside ``strategy.run``).
      TypeError: ``model_or_losses`` is none of the accepted kinds.
    """
    _check_replica_context("scale_regularization_loss")
    losses = _as_loss_list(model_or_losses, "model_or_losses")
    if not losses:
        return tf.constant(0.0)
    total = tf.add_n([tf.cast(tf.reduce_sum(loss), tf.float32) for loss in losses])
    return tf.nn.scale_regularization_loss(total)


def replica_total_loss(per_example_loss, model_or_losses=(), global_batch_size=None, sample_weight=None):
    """The loss one replica differentiates in a custom loop, matching ``model.fit``.

    Math::

        sum(per_example_loss * sample_weight) / global_batch_size
          + sum(model.losses) / num_replicas_in_sync

    i.e. ``tf.nn.compute_average_loss`` plus ``scale_regularization_loss``. With
    ``global_batch_size=None`` the replica's batch times ``num_replicas_in_sync``
    is used (``compute_average_loss``' default), which is right when every replica
    gets the same number of examples.

    Args:
      per_example_loss: a rank-1 tensor, one loss per example of the replica's batch
        (e.g. ``keras.losses.MeanSquaredError(reduction=None)`` output, or a
        ``tf.reduce_mean`` over the non-batch axes).
      model_or_losses: the model whose ``losses`` to add, or a list of scalar losses.
      global_batch_size: the batch size summed over replicas.
      sample_weight: optional per-example weights.

    Raises:
      RuntimeError: called in cross-replica context.
      ValueError: ``per_example_loss`` is a scalar (already averaged).
    """
    _check_replica_context("replica_total_loss")
    per_example_loss = tf.convert_to_tensor(per_example_loss)
    if per_example_loss.shape.rank == 0:
        raise ValueError(
            "replica_total_loss: `per_example_loss` must have one entry per example, but it is "
            f"a scalar. Received: per_example_loss={per_example_loss!r}. Pass the unreduced "
            "loss (e.g. a Keras loss built with reduction=None); averaging it first would divide "
            "by the replica's batch instead of the global one."
        )
    data = tf.nn.compute_average_loss(
        tf.cast(per_example_loss, tf.float32), sample_weight=sample_weight, global_batch_size=global_batch_size
    )
    return data + scale_regularization_loss(model_or_losses)
