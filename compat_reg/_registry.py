"""Leaf module: the graph-collection keys compat_reg works with, and who regularized what.

Imported by every other compat_reg module and importing none of them (only the
``_internals`` seam and the import-free ``_warnings``), so that ``collections`` and
``scopes`` (and the Keras bridge) share state without importing each other.
``REGULARIZATION_LOSSES`` is defined here and only here; ``DoubleRegularizationWarning``
is defined in ``_warnings`` (so that ``pytest.ini`` names it without starting TensorFlow)
and re-exported here.
"""

import threading as _threading
import weakref

import tensorflow as tf

from compat_reg._warnings import DoubleRegularizationWarning  # noqa: F401  (defined there, TF-free)

REGULARIZATION_LOSSES = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES
"""The collection key, ``"regularization_losses"`` (``tf.GraphKeys.REGULARIZATION_LOSSES``)."""


class GraphState:
    """Per graph: variable name (``"net/w:0"``) -> ``[(regularizer, mechanism), ...]``."""

    def __init__(self):
        self.regularized = {}

    def record(self, var_name, regularizer, mechanism):
        self.regularized.setdefault(var_name, []).append((regularizer, mechanism))


_STATES = weakref.WeakKeyDictionary()


def state(graph=None):
    """The ``GraphState`` of ``graph`` (default: the default graph), made on first use."""
    graph = graph or tf.compat.v1.get_default_graph()
    found = _STATES.get(graph)
    if found is None:
        found = _STATES[graph] = GraphState()
    return found


def regularized_by(variable):
    """How compat_reg has regularized ``variable`` so far: a list of ``(regularizer, mechanism)``.

    ``mechanism`` is a short description such as ``"regularized_scope('net')"``
    or ``"regularize()"``. Empty if compat_reg has not regularized it. (TF1's own
    ``get_variable(regularizer=...)`` losses are found by name, see
    ``tf1_regularization_losses_of``.)
    """
    return list(state(variable.graph).regularized.get(variable.name, ()))


def tf1_regularization_losses_of(variable):
    """Losses in ``REGULARIZATION_LOSSES`` that TF1 named after ``variable`` (``<var>/Regularizer/...``)."""
    prefix = variable.op.name + "/Regularizer/"
    return [
        t for t in variable.graph.get_collection(REGULARIZATION_LOSSES)
        if getattr(t, "name", "").startswith(prefix)
    ]


# ----------------------------------------------------------------------------
# Provenance of activity penalties: how a collection entry was made, so a bridge
# (compat_reg.keras.TF1Layer) can re-scale it under another convention. Kept per
# thread: under MirroredStrategy each replica runs its call in its own thread.
# ----------------------------------------------------------------------------


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
