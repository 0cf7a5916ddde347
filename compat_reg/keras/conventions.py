"""Convention switches of the Keras bridge: which penalties count, and how activity losses scale.

TF1 code, Keras 3 and tf_keras disagree on two things that change the value of
the regularization loss (see ``docs/conventions.md``):

* **Activity losses.** ``tf.compat.v1.layers`` / tf_slim layers, tf_keras and
  Keras >= 3.14 divide an ``activity_regularizer`` penalty by the batch size
  (``loss = r(y) / batch``); earlier Keras 3 releases and a hand-written
  ``tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, r(y))`` add the raw
  sum (``loss = r(y)``).
* **Frozen weights.** The TF1 collection gets a weight's penalty at variable
  creation whether or not the variable is trainable, and tf_keras counts the
  regularizers of non-trainable weights in ``model.losses``; Keras 3 looks only
  at ``trainable_weights`` and silently drops the others.

``Conventions`` names one choice for each, explicitly. The bridge
(``compat_reg.keras.TF1Layer``, and ``publish_losses`` in the other direction)
takes a ``conventions=`` argument and applies it consistently. The default,
``Conventions.tf1()``, reproduces what the TF1 code did: activity penalties
exactly as the code computed them, frozen weights counted.

>>> Conventions.tf1()
Conventions(activity_loss='as_written', frozen_weights='count')
>>> Conventions.keras()   # under Keras 3.15
Conventions(activity_loss='batch_mean', frozen_weights='skip')
"""

import enum

from compat_reg import _flavor
from compat_reg import _registry


class ActivityLoss(str, enum.Enum):
    """How an activity penalty ``r(y)`` of a batch of ``B`` examples enters the loss.

    ``AS_WRITTEN``: whatever the TF1 code put in the collection (TF1; default).
    ``BATCH_MEAN``: ``r(y) / B`` (``tf.compat.v1.layers``, tf_keras, Keras >= 3.14).
    ``SUM``: ``r(y)`` (Keras 3 < 3.14, manual collection adds).
    """

    AS_WRITTEN = "as_written"
    BATCH_MEAN = "batch_mean"
    SUM = "sum"


class FrozenWeights(str, enum.Enum):
    """Whether the regularizer of a non-trainable (frozen) weight is counted.

    ``COUNT``: counted (TF1 collection, tf_keras; default).
    ``SKIP``: not counted (Keras 3, which only regularizes ``trainable_weights``).
    """

    COUNT = "count"
    SKIP = "skip"


def _coerce(enum_cls, value, arg_name):
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum_cls)
        raise ValueError(
            f"Invalid value for argument `{arg_name}`. Expected one of {{{allowed}}} "
            f"(or a compat_reg.keras.{enum_cls.__name__} member). Received: {arg_name}={value!r}"
        ) from None


class Conventions:
    """An explicit choice of the two bridge conventions (immutable, comparable, serializable).

    Args:
      activity_loss: an ``ActivityLoss`` or its string value: ``"as_written"``
        (default; keep each activity penalty as the TF1 code computed it),
        ``"batch_mean"`` (``r(y) / batch``) or ``"sum"`` (``r(y)``). The bridge
        can re-scale only activity penalties whose raw value and batch size it
        can see: those of ``tf.compat.v1.layers`` / tf_slim layers
        (``activity_regularizer=``) and those recorded with
        ``record_activity_loss``; other collection entries are kept as written.
      frozen_weights: a ``FrozenWeights`` or ``"count"`` (default; TF1, tf_keras)
        or ``"skip"`` (Keras 3). A weight is frozen when it was created with
        ``trainable=False`` or its layer has ``trainable = False``.

    Raises:
      ValueError: for any other value, naming the argument and what was received.
    """

    __slots__ = ("_activity_loss", "_frozen_weights")

    def __init__(self, activity_loss="as_written", frozen_weights="count"):
        object.__setattr__(self, "_activity_loss", _coerce(ActivityLoss, activity_loss, "activity_loss"))
        object.__setattr__(self, "_frozen_weights", _coerce(FrozenWeights, frozen_weights, "frozen_weights"))

    def __setattr__(self, name, value):
        raise AttributeError("Conventions is immutable; build a new one with Conventions(...).")

    @property
    def activity_loss(self):
        return self._activity_loss

    @property
    def frozen_weights(self):
        return self._frozen_weights

    @property
    def count_frozen_weights(self):
        """True when regularizers of non-trainable weights are counted."""
        return self._frozen_weights is FrozenWeights.COUNT

    @classmethod
    def tf1(cls):
        """What the TF1 graph code did: activity penalties as written, frozen weights counted."""
        return cls(ActivityLoss.AS_WRITTEN, FrozenWeights.COUNT)

    @classmethod
    def keras(cls):
        """What the active Keras flavor does with its own layers (asks ``compat_reg._flavor``).

        Keras 3.15: batch mean, frozen weights skipped. tf_keras: batch mean,
        frozen weights counted.
        """
        activity = ActivityLoss.BATCH_MEAN if _flavor.activity_loss_divided_by_batch() else ActivityLoss.SUM
        frozen = FrozenWeights.COUNT if _flavor.frozen_weights_regularized() else FrozenWeights.SKIP
        return cls(activity, frozen)

    def replace(self, **changes):
        """A copy with some fields changed: ``conv.replace(frozen_weights="skip")``."""
        config = self.get_config()
        config.update(changes)
        return Conventions(**config)

    def get_config(self):
        return {"activity_loss": self._activity_loss.value, "frozen_weights": self._frozen_weights.value}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def scale_activity_loss(self, written, raw_penalty, batch_size):
        """The activity loss under this convention.

        Args:
          written: the loss as the source code computed it (returned for ``AS_WRITTEN``).
          raw_penalty: ``r(y)``, the regularizer applied to the whole batch.
          batch_size: ``B``, a scalar tensor or number (the leading dimension of ``y``).
        """
        import tensorflow as tf

        if self._activity_loss is ActivityLoss.AS_WRITTEN:
            return written
        if self._activity_loss is ActivityLoss.SUM:
            return raw_penalty
        # divide_no_nan: an empty batch gives 0, as Keras 3 and activity_regularize do.
        return tf.math.divide_no_nan(raw_penalty, tf.cast(batch_size, raw_penalty.dtype))

    def __eq__(self, other):
        return isinstance(other, Conventions) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((self._activity_loss, self._frozen_weights))

    def __repr__(self):
        return (
            f"Conventions(activity_loss={self._activity_loss.value!r}, "
            f"frozen_weights={self._frozen_weights.value!r})"
        )


def as_conventions(value, arg_name="conventions"):
    """Accept ``None`` (-> ``Conventions.tf1()``), a ``Conventions``, or a config dict.

    Raises:
      TypeError: for anything else, naming ``arg_name`` and what was received.
    """
    if value is None:
        return Conventions.tf1()
    if isinstance(value, Conventions):
        return value
    if isinstance(value, dict):
        return Conventions(**value)
    raise TypeError(
        f"Invalid value for argument `{arg_name}`: expected a compat_reg.keras.Conventions, a dict "
        f"like {{'activity_loss': 'batch_mean', 'frozen_weights': 'skip'}}, or None (TF1's "
        f"conventions). Received: {arg_name}={value!r} of type {type(value).__name__}"
    )


# ----------------------------------------------------------------------------
# Activity losses whose raw value the bridge can re-scale: the one provenance
# registry lives in the leaf ``compat_reg._registry`` (per thread, so that each
# MirroredStrategy replica records into its own call), where runtime producers
# such as ``compat_reg.activity_regularize`` can reach it without importing Keras.
# ----------------------------------------------------------------------------

record_activity_loss = _registry.record_activity_loss
recording_activity_losses = _registry.recording_activity_losses
