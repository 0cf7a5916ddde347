"""Leaf module: the graph-collection keys compat_reg works with, and who regularized what.

Imported by every other compat_reg module and importing none of them, so that
``collections`` and ``scopes`` (and the Keras bridge) share state without importing
each other. ``REGULARIZATION_LOSSES`` is defined here and only here.
"""

import tensorflow as tf

REGULARIZATION_LOSSES = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES


# ----------------------------------------------------------------------------
# Provenance of activity penalties: how a collection entry was made, so a bridge
# (compat_reg.keras.TF1Layer) can re-scale it under another convention. Kept per
# thread: under MirroredStrategy each replica runs its call in its own thread.
# ----------------------------------------------------------------------------

import threading as _threading

_activity_recorders = _threading.local()


class ActivityRecord:
    """``loss`` was computed as ``raw_penalty`` (``r(y)`` of the whole batch) over ``batch_size`` examples."""

    __slots__ = ("loss", "raw_penalty", "batch_size")

    def __init__(self, loss, raw_penalty, batch_size):
        self.loss = loss
        self.raw_penalty = raw_penalty
        self.batch_size = batch_size


def record_activity_loss(loss, raw_penalty, batch_size):
    """Tell the recording active in this thread (a ``TF1Layer`` call) how ``loss`` was made; return ``loss``.

    Outside a recording it does nothing.
    """
    stack = getattr(_activity_recorders, "stack", None)
    if stack:
        stack[-1][id(loss)] = ActivityRecord(loss, raw_penalty, batch_size)
    return loss


class recording_activity_losses:  # pylint: disable=invalid-name
    """Context manager: collect this thread's ``record_activity_loss`` calls (a dict by ``id(loss)``)."""

    def __enter__(self):
        self.records = {}
        _activity_recorders.__dict__.setdefault("stack", []).append(self.records)
        return self.records

    def __exit__(self, *exc):
        _activity_recorders.stack.remove(self.records)
        return False
