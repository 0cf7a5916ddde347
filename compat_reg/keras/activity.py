"""Activity capture: which ``REGULARIZATION_LOSSES`` entries of a call are activity penalties, and their parts.

One mechanism: the provenance registry of ``compat_reg._registry``
(``record_activity_loss(loss, raw_penalty, batch_size)``, per calling thread). A
``TF1Layer`` call records while ``fn`` runs; each collection entry with a record is
then re-scaled under the layer's ``Conventions`` (``as_written``: ``loss``;
``sum``: ``r(y)``; ``batch_mean``: ``r(y) / B``). Producers that record:

* ``compat_reg.activity_regularize(..., reduction="batch_mean")``;
* tf_keras' legacy layers (tf_slim, ``tf.compat.v1.layers``) with an
  ``activity_regularizer``, through the handler installed here. They drop their
  penalty inside a ``tf.function`` (``base_layer_v1.add_loss`` skips symbolic
  losses there), so while a call records, the handler adds ``r(y) / batch`` to the
  collection exactly as TF1 graph mode did, and records its parts;
* any user code calling ``compat_reg.keras.record_activity_loss``.

Entries without a record are kept as written (TF1: the collection is summed as is).
"""

import contextlib

import tensorflow as tf

from compat_reg import _registry
from compat_reg._internals import tf_keras as _tf_keras

REGULARIZATION_LOSSES = _registry.REGULARIZATION_LOSSES
_state = {"recording": 0}


def _make_handler(original):
    def _handle_activity_regularization(self, inputs, outputs):
        regularizer = _tf_keras.activity_regularizer_of(self)
        if not _state["recording"] or not regularizer:
            return original(self, inputs, outputs)
        with tf.name_scope("ActivityRegularizer"):
            for output in tf.nest.flatten(outputs):
                raw = tf.convert_to_tensor(regularizer(output))
                batch = tf.cast(tf.compat.v1.shape(output)[0], raw.dtype)
                loss = raw / batch
                tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, loss)
                _registry.record_activity_loss(loss, raw, batch)
        return None

    return _handle_activity_regularization


@contextlib.contextmanager
def recording():
    """Record the activity penalties made in the body; yields ``{id(loss): ActivityRecord}``."""
    _tf_keras.patch_legacy_activity_handler(_make_handler)
    _state["recording"] += 1
    try:
        with _registry.recording_activity_losses() as records:
            yield records
    finally:
        _state["recording"] -= 1


def under_conventions(loss, records, conventions):
    """``loss`` (a collection entry) re-scaled under ``conventions`` if it has a record, else as written."""
    record = records.get(id(loss))
    if record is None:
        return loss
    return conventions.scale_activity_loss(loss, record.raw_penalty, record.batch_size)
