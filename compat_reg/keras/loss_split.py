"""``LossSplit``: ``model.fit`` logs the loss with and without its regularization.

TF1 training scripts logged ``total_loss`` and the data loss separately
(``get_total_loss()`` vs ``get_total_loss(add_regularization_losses=False)``).
Keras ``fit`` logs one ``loss`` that already includes ``sum(model.losses)`` —
Keras 3's ``compute_loss`` adds it, tf_keras' ``compiled_loss`` adds the
``regularization_losses`` its ``compute_loss`` passes — and the seed idiom
``model.total_loss - sum(model.losses)`` only exists in tf_keras with eager
execution disabled. ``LossSplit`` is a callback for both flavors::

    model.fit(x, y, callbacks=[compat_reg.keras.LossSplit()])

and the history, the progress bar and every callback's ``logs`` then carry, per
batch and per epoch (and as ``val_...`` for validation data)::

    loss                  = data_loss + regularization_loss   (Keras' own entry, unchanged)
    regularization_loss   = sum(model.losses)                 (weight, activity, callable losses)
    loss_no_weight_decay  = loss - regularization_loss

each averaged over the epoch so far exactly as Keras averages ``loss``: a mean
weighted by the batch size. Under ``tf.distribute`` the values are per-replica
values unscaled (multiplied back by ``num_replicas_in_sync``) and averaged across
replicas, as Keras does for ``loss``, so ``loss == regularization_loss +
loss_no_weight_decay`` holds in every log entry up to float32 rounding.

``regularization_loss`` is ``sum(model.losses)`` read in the same train step,
before the optimizer update, i.e. the regularization actually added to this
step's loss (Keras metrics are updated *after* the update, so a metric reading
``model.losses`` would report next step's weight decay).

How: while ``fit`` / ``evaluate`` run, the callback wraps the model instance's
``compute_loss`` (public, overridable in both flavors, called by the default
``train_step``/``test_step``) to record the two values, and its
``compute_metrics`` to add them to the logs — the pattern tf_keras documents
for metrics outside ``model.metrics``. Nothing is added to the model's weights,
metrics or checkpoints; the wrappers are removed when training ends. A model
whose own ``train_step`` does not call ``compute_loss`` and ``compute_metrics``
gets no split: ``LossSplit`` raises at the end of the first batch instead of
logging zeros.
"""

import tensorflow as tf

from compat_reg import _backend_math
from compat_reg import _flavor

REGULARIZATION_LOSS = "regularization_loss"
LOSS_NO_WEIGHT_DECAY = "loss_no_weight_decay"


def _replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def _batch_size(x, y_pred):
    for candidate in tf.nest.flatten(x) + tf.nest.flatten(y_pred):
        if candidate is not None and hasattr(candidate, "shape") and candidate.shape.rank:
            return tf.cast(tf.shape(candidate)[0], tf.float32)
    return tf.constant(1.0)


class LossSplit(_flavor.keras().callbacks.Callback):
    """Callback: ``fit``/``evaluate`` log ``regularization_loss`` and ``loss_no_weight_decay``.

    Math (per step, before averaging; ``R`` = replicas in sync, 1 without
    ``tf.distribute``)::

        regularization_loss  = sum(model.losses)
        loss_no_weight_decay = R * compute_loss(...) - sum(model.losses)

    ``R * compute_loss`` is the unscaled total Keras logs as ``loss`` (Keras 3:
    compiled loss + ``model.losses``; tf_keras: ``compiled_loss(...,
    regularization_losses=model.losses)``). Both entries are then averaged like
    ``loss``: ``Mean`` weighted by the batch size over the epoch so far.

    Args:
      regularization_name: log key of the regularization, default
        ``"regularization_loss"``.
      no_weight_decay_name: log key of the rest, default ``"loss_no_weight_decay"``.
    """

    def __init__(self, regularization_name=REGULARIZATION_LOSS, no_weight_decay_name=LOSS_NO_WEIGHT_DECAY):
        super().__init__()
        for arg, value in (("regularization_name", regularization_name), ("no_weight_decay_name", no_weight_decay_name)):
            if not isinstance(value, str) or not value or value == "loss":
                raise ValueError(
                    f"Invalid value for argument `{arg}`. Expected a non-empty log key other than "
                    f"'loss'. Received: {arg}={value!r}"
                )
        self.regularization_name = regularization_name
        self.no_weight_decay_name = no_weight_decay_name
        self._installed_on = None
        self._reg = None
        self._rest = None
        self._checked = False
        self._training = False

    # -- installation ---------------------------------------------------------------
    def set_model(self, model):
        super().set_model(model)
        self._install(model)

    def _install(self, model):
        if self._installed_on is model:
            return
        self._uninstall()
        _backend_math.check_loss_split_supported()  # Keras 3 on JAX: a clear error
        keras = _flavor.keras()
        with _backend_math.strategy_scope(model):
            self._reg = keras.metrics.Mean(name=self.regularization_name)
            self._rest = keras.metrics.Mean(name=self.no_weight_decay_name)
        original_compute_loss = model.compute_loss
        original_compute_metrics = model.compute_metrics
        reg_metric, rest_metric = self._reg, self._rest

        def compute_loss(*args, **kwargs):
            total = original_compute_loss(*args, **kwargs)
            if total is None:
                return total
            x = kwargs.get("x", args[0] if args else None)
            y_pred = kwargs.get("y_pred", args[2] if len(args) > 2 else None)
            if _backend_math.applies(total):  # Keras 3 on torch: the same split with keras.ops
                reg, rest, weight = _backend_math.split_loss(model.losses, total, x, y_pred)
                reg_metric.update_state(reg, sample_weight=weight)
                rest_metric.update_state(rest, sample_weight=weight)
                return total
            losses = [tf.cast(tf.reduce_sum(l), tf.float32) for l in model.losses]
            reg = tf.add_n(losses) if losses else tf.constant(0.0)
            unscaled_total = tf.cast(total, tf.float32) * float(_replicas())
            weight = _batch_size(x, y_pred)
            reg_metric.update_state(reg, sample_weight=weight)
            rest_metric.update_state(unscaled_total - reg, sample_weight=weight)
            return total

        def compute_metrics(*args, **kwargs):
            logs = dict(original_compute_metrics(*args, **kwargs))
            logs[reg_metric.name] = reg_metric.result()
            logs[rest_metric.name] = rest_metric.result()
            return logs

        # object.__setattr__: instance attributes that Keras' trackers must not see.
        object.__setattr__(model, "compute_loss", compute_loss)
        object.__setattr__(model, "compute_metrics", compute_metrics)
        # Retrace: an existing train/test function would not call the wrappers.
        model.train_function = None
        model.test_function = None
        self._installed_on = model
        self._checked = False

    def _uninstall(self):
        model = self._installed_on
        if model is None:
            return
        for name in ("compute_loss", "compute_metrics"):
            if name in model.__dict__:
                object.__delattr__(model, name)
        model.train_function = None
        model.test_function = None
        self._installed_on = None

    # -- metric resets, in step with Keras' own -------------------------------------------
    def _reset(self):
        if self._reg is not None:
            self._reg.reset_state()
            self._rest.reset_state()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()

    def on_test_begin(self, logs=None):
        self._reset()

    def on_train_begin(self, logs=None):
        self._training = True
        self._install(self.model)
        self._reset()

    def on_test_end(self, logs=None):
        if not self._training:  # a bare evaluate(); inside fit, on_train_end uninstalls
            self._uninstall()

    def on_train_batch_end(self, batch, logs=None):
        if not self._checked:
            self._checked = True
            if logs is not None and self.regularization_name not in logs:
                raise RuntimeError(
                    f"LossSplit: model {self.model.name!r} trained a batch without calling "
                    "compute_loss/compute_metrics (its train_step is overridden), so there is no "
                    f"{self.regularization_name!r} to log. Call self.compute_loss(...) and "
                    "return self.compute_metrics(...) in train_step, or log "
                    "tf.add_n(self.losses) yourself."
                )

    def on_train_end(self, logs=None):
        self._training = False
        self._uninstall()
