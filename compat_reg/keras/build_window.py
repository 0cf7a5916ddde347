"""The build window: each ``TF1Layer`` call is one TF1 graph build, as in a fresh ``tf.Graph``.

While one or more ``TF1Layer`` calls run in a graph (the ``tf.function`` Keras is
tracing, or the layer's own for an eager call), the graph is put in the state a
fresh TF1 graph has for that code:

* ``get_variable`` finds the variable store of this thread's innermost call (a
  dispatching store installed in the graph's variable-store collection);
* the variable-scope store is fresh, so scope names and their counters start from
  the root, per call;
* ``REGULARIZATION_LOSSES`` is a list that remembers which call appended each entry,
  so each call takes exactly its own entries;
* when the last call leaves, every collection is restored as it was before the first
  one entered: nothing leaks into the graph (the global default graph, for eager
  calls) and nothing accumulates across traces.

**Which call a thread belongs to** (:func:`call_key`). ``MirroredStrategy`` runs
one Python thread per replica and switches between them in the middle of a call
(at every ``merge_call``) while all of them build into the same graph, so state is
kept per calling thread. A thread the TF1 code starts itself (a worker that calls
``get_variable`` under ``graph.as_default()``) belongs to the call that started it
when exactly one thread has a call active; with several (replicas), it cannot be
told apart and ``get_variable`` there raises, naming the fix.
"""

import contextlib
import threading

from compat_reg import _registry
from compat_reg._internals import tf_graph as _tf_graph
from compat_reg._internals import tf_variable_scope as _tf_vs

REGULARIZATION_LOSSES = _registry.REGULARIZATION_LOSSES

_LOCK = threading.RLock()
_ACTIVE = {}  # thread id -> number of TF1Layer calls active in it
_WINDOWS = {}  # id(graph) -> _GraphWindow
_STORES = {}  # thread id -> stack of the variable stores of its active calls (all graphs)


def call_key():
    """The thread whose ``TF1Layer`` call the current code belongs to (see the module docstring)."""
    me = threading.get_ident()
    with _LOCK:
        if me in _ACTIVE or len(_ACTIVE) != 1:
            return me
        return next(iter(_ACTIVE))


def current_store():
    """The variable store of the innermost TF1Layer call this code belongs to, in any graph (or None)."""
    with _LOCK:
        stack = _STORES.get(call_key())
        return stack[-1] if stack else None


def active_call_threads():
    with _LOCK:
        return len(_ACTIVE)


class PerCall:
    """Attribute storage kept per calling thread (:func:`call_key`); ``defaults`` fills a new thread's."""

    def __init__(self, **defaults):
        object.__setattr__(self, "_defaults", defaults)
        object.__setattr__(self, "_by_key", {})

    def _mine(self):
        by_key = self._by_key
        key = call_key()
        if key not in by_key:
            by_key[key] = {k: (v() if callable(v) else v) for k, v in self._defaults.items()}
        return by_key[key]

    def __getattr__(self, name):
        try:
            return self._mine()[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self._mine()[name] = value


class TaggedList(list):
    """A collection list that remembers which call (:func:`call_key`) appended each entry."""

    def __init__(self, items):
        super().__init__(items)
        self.by_call = {}

    def append(self, value):
        self.by_call.setdefault(call_key(), []).append(value)
        super().append(value)

    def extend(self, values):
        for value in values:
            self.append(value)

    def mine(self):
        return self.by_call.setdefault(call_key(), [])

    def drop_mine_from(self, start):
        """Remove this call's entries from index ``start`` on (an inner call's, once taken); return them."""
        mine = self.mine()
        dropped = mine[start:]
        del mine[start:]
        ids = {id(x) for x in dropped}
        self[:] = [x for x in self if id(x) not in ids]
        return dropped


def mine(collection_list):
    """The entries this call appended (a ``TaggedList`` during a call; else the whole list)."""
    return collection_list.mine() if isinstance(collection_list, TaggedList) else collection_list


class _DispatchStore:
    """The variable store ``get_variable`` sees: the store of this call's innermost ``TF1Layer``.

    One object for the process, installed in every window's graph, so that code that
    kept a reference to it (``tf.compat.v1.make_template``'s store, made on its first
    use) reaches the current call's store on later calls too.
    """

    def current(self):
        store = current_store()
        if store is None:
            if active_call_threads() > 1:
                raise RuntimeError(
                    "compat_reg TF1Layer: get_variable was called from a thread that runs no TF1Layer "
                    "call while several calls are active in other threads (MirroredStrategy "
                    "replicas), so its layer cannot be told. Create the variables in the thread "
                    "that runs the layer's function, or outside tf.distribute."
                )
            raise RuntimeError("compat_reg TF1Layer: no layer call is active in this thread.")
        return store

    def __getattr__(self, name):
        return getattr(self.current(), name)


_DISPATCH = _DispatchStore()
# One variable-scope store for the process too (TF's is thread-local already): a
# ``variable_scope`` context manager kept across calls (a template's) enters the
# current call's scopes. Each call starts it from the root and restores it after.
_SCOPE_STORE = _tf_vs.new_variable_scope_store()


class _GraphWindow:
    """The TF1 build state of one graph while one or more TF1Layer calls run in it."""

    def __init__(self, graph):
        self.graph = graph
        self.count = 0
        # Every key, the tuple keys of the variable(-scope) stores too (get_all_collection_keys
        # lists only the string ones).
        self.before = {key: list(value) for key, value in _tf_graph.collections_dict(graph).items()}
        self.dispatch = _DISPATCH
        self.scope_store = _SCOPE_STORE
        collections = _tf_graph.collections_dict(graph)
        self.original_reg = collections.get(REGULARIZATION_LOSSES)
        self.reg = TaggedList(self.original_reg or [])
        collections[REGULARIZATION_LOSSES] = self.reg
        _tf_vs.install_stores(graph, self.scope_store, self.dispatch)

    def restore(self):
        collections = _tf_graph.collections_dict(self.graph)
        if self.original_reg is None:
            collections.pop(REGULARIZATION_LOSSES, None)
        else:
            collections[REGULARIZATION_LOSSES] = self.original_reg
        for key in list(collections):
            if key in self.before:
                collections[key][:] = self.before[key]
            else:
                del collections[key]


class CallCapture:
    """One call's view of the window: the regularization losses it added."""

    def __init__(self, window):
        self.window = window
        self.start = len(window.reg.mine())

    def added_regularization_losses(self):
        return list(self.window.reg.mine()[self.start:])


@contextlib.contextmanager
def fresh_tf1_build(graph, store):
    """Run TF1 code in ``graph`` as in a fresh ``tf.Graph``: own scope names, own variable store.

    Yields a :class:`CallCapture`. A call nested in another's function (a
    ``TF1Layer`` inside a ``TF1Layer``) takes its own collection entries away on
    exit, so the outer call does not count them a second time.
    """
    me = threading.get_ident()
    with _LOCK:
        window = _WINDOWS.get(id(graph))
        if window is None or window.graph is not graph:
            window = _WINDOWS[id(graph)] = _GraphWindow(graph)
        window.count += 1
        _ACTIVE[me] = _ACTIVE.get(me, 0) + 1
        _STORES.setdefault(me, []).append(store)
    saved_scope_state = _tf_vs.reset_variable_scope_store(window.scope_store)
    capture = CallCapture(window)
    try:
        yield capture
    finally:
        _tf_vs.restore_variable_scope_store(window.scope_store, saved_scope_state)
        with _LOCK:
            _STORES[me].pop()
            _ACTIVE[me] -= 1
            if not _ACTIVE[me]:
                del _STORES[me]
                del _ACTIVE[me]
                window.reg.by_call.pop(me, None)
            else:
                window.reg.drop_mine_from(capture.start)
            window.count -= 1
            if window.count == 0:
                del _WINDOWS[id(graph)]
                window.restore()
