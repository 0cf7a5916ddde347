"""compat_reg's only door into tf variable scope internals (see ``compat_reg._internals``).

Each function names, in its docstring, the private symbol it reaches and the
versions it was checked on; ``REACHES`` lists them for the seam test.

What the Keras bridge (``compat_reg.keras.variable_store`` / ``build_window``)
needs from TF1's ``variable_scope`` machinery, and why no public API does it:

* a variable store of its own (``_VariableStore``), so that ``get_variable`` inside a
  ``TF1Layer`` call applies TF1's reuse and partitioning rules but hands back the
  layer's persistent variables;
* a fresh ``_VariableScopeStore`` per call, so scope names are those of a fresh graph;
* the two graph-collection keys under which ``get_variable`` looks both up;
* ``ResourceVariable`` (to give the layer's eager variables a TF1 graph view) and
  ``PartitionedVariable`` (to recognise partitioned variables).
"""

import contextlib

from tensorflow.python.framework import ops as _ops
from tensorflow.python.ops import resource_variable_ops as _rvo
from tensorflow.python.ops import variable_scope as _vs
from tensorflow.python.ops import variables as _variables

from compat_reg._internals import Reach



_CHECKED = "TensorFlow 2.16.2, 2.18.1, 2.20.0, 2.21.0"

REACHES = (
    Reach("tensorflow.python.ops.variable_scope", "_VariableStore", _CHECKED,
          "as the base of the TF1Layer variable store (TF1 reuse/partitioning rules, custom getters)"),
    Reach("tensorflow.python.ops.variable_scope", "_VariableStore._get_single_variable", _CHECKED,
          "as the one override point where a variable is created or shared"),
    Reach("tensorflow.python.ops.variable_scope", "_VariableStore._get_default_initializer", _CHECKED,
          "for TF1's default initializer (glorot_uniform for floats, zeros for ints/bools)"),
    Reach("tensorflow.python.ops.variable_scope", "_VariableScopeStore", _CHECKED,
          "for a fresh scope-name state per TF1Layer call"),
    Reach("tensorflow.python.ops.variable_scope", "_VARSTORE_KEY", _CHECKED,
          "to install the bridge's variable store in the graph get_variable reads"),
    Reach("tensorflow.python.ops.variable_scope", "_VARSCOPESTORE_KEY", _CHECKED,
          "to install the per-call variable-scope store"),
    Reach("tensorflow.python.ops.resource_variable_ops", "ResourceVariable", _CHECKED,
          "to give the layer's eager variables the TF1 graph view (name, op, graph)"),
    Reach("tensorflow.python.ops.variables", "PartitionedVariable", _CHECKED,
          "to recognise partitioned variables handed to add_regularizer"),
    Reach("tensorflow.python.framework.ops", "Graph._variable_creator_stack", _CHECKED,
          "to keep creator scopes TF1 code enters inside fn off the layer's own Keras variables, and to "
          "leave fn's graph as it was when TF1 code leaves a creator scope entered"),
)

ResourceVariable = _rvo.ResourceVariable
PartitionedVariable = _variables.PartitionedVariable


class VariableStoreBase(_vs._VariableStore):  # pylint: disable=protected-access
    """TF's ``_VariableStore`` with per-thread call state and a public override point.

    Reaches ``variable_scope._VariableStore`` (``_vars``, ``_partitioned_vars``,
    ``_store_eager_variables``, ``_get_single_variable``, ``_get_default_initializer``);
    checked on TF 2.16-2.21. The dictionaries TF keeps per store are kept in
    ``call_state`` instead, one pair per call (``MirroredStrategy`` interleaves
    replica threads within one call).

    Subclasses implement :meth:`single_variable` (same arguments as TF's
    ``_get_single_variable``) and may call :meth:`tf_single_variable` (TF's own
    implementation: the reuse checks on a name already requested in this call),
    :meth:`requested_in_call`, :meth:`remember_in_call` and
    :meth:`default_initializer`.
    """

    def __init__(self, call_state):
        self._call_state = call_state  # has attributes `vars` and `partitioned_vars`, one pair per call
        super().__init__()
        self._store_eager_variables = True

    def reset_call_state(self):
        """Forget which names the current call has requested (a fresh graph's store)."""
        self._call_state.vars = {}
        self._call_state.partitioned_vars = {}

    _vars = property(
        lambda self: _CallVars(self._call_state.vars, self.all_variables),
        lambda self, v: setattr(self._call_state, "vars", v),
    )
    _partitioned_vars = property(
        lambda self: self._call_state.partitioned_vars,
        lambda self, v: setattr(self._call_state, "partitioned_vars", v),
    )

    def requested_in_call(self, name):
        return name in self._call_state.vars

    def remember_in_call(self, name, variable):
        self._call_state.vars[name] = variable

    def all_variables(self):
        """Every variable the store holds across calls (subclasses: the persistent ones)."""
        return list(self._call_state.vars.values())

    def tf_single_variable(self, name, **kwargs):
        return super()._get_single_variable(name, **kwargs)

    def default_initializer(self, name, shape, dtype):
        """TF1's default ``(initializer, initializing_from_value)`` for ``dtype``."""
        return self._get_default_initializer(name=name, shape=shape, dtype=dtype)

    def _get_single_variable(self, name, **kwargs):  # TF calls it with keywords only
        return self.single_variable(name, **kwargs)

    def single_variable(self, name, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError


class _CallVars(dict):
    """TF's ``_vars`` seen through the call: membership per call, ``values()`` across calls.

    TF's store answers ``name in _vars`` (reuse errors) per call, as a fresh graph
    would. ``EagerVariableStore.variables()`` (what ``make_template`` counts to
    refuse new variables on a later call) reads ``_vars.values()``: that is every
    variable the layer holds, so a template made outside ``fn`` passes on every trace.
    """

    def __init__(self, per_call, all_variables):
        super().__init__(per_call)
        self._per_call = per_call
        self._all_variables = all_variables

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._per_call[key] = value

    def values(self):
        return self._all_variables()


def new_variable_scope_store():
    """A fresh ``variable_scope._VariableScopeStore`` (TF 2.16-2.21): the root scope, no name counts."""
    return _vs._VariableScopeStore()  # pylint: disable=protected-access


def reset_variable_scope_store(store):
    """Put ``store`` back to the root scope with fresh name counts; return its previous state."""
    saved = dict(store.__dict__)
    store.__init__()
    return saved


def restore_variable_scope_store(store, saved):
    store.__dict__.clear()
    store.__dict__.update(saved)


def install_stores(graph, scope_store, variable_store):
    """Make ``get_variable`` in ``graph`` use these stores.

    Reaches ``variable_scope._VARSCOPESTORE_KEY`` and ``_VARSTORE_KEY``, the graph
    collections TF's ``get_variable_scope_store`` / ``_get_default_variable_store``
    read (TF 2.16-2.21).
    """
    graph.get_collection_ref(_vs._VARSCOPESTORE_KEY)[:] = [scope_store]  # pylint: disable=protected-access
    graph.get_collection_ref(_vs._VARSTORE_KEY)[:] = [variable_store]  # pylint: disable=protected-access


class TF1ViewVariable(ResourceVariable):
    """A layer variable as TF1 code sees it: ``name``, ``op.name``, ``graph`` and ``constraint`` as in a TF1 graph.

    The layer's variables live outside any graph (they are created eagerly), so
    ``v.op`` and ``v.graph`` would raise inside the traced call, and Keras 3 names
    them ``<leaf>:0`` and keeps their constraint on the Keras variable. TF1 code
    reads ``v.op.name`` / ``v.name`` to get ``"scope/w"``, ``v.graph`` to reach the
    collections and ``v.constraint``; while a graph is being built these answer as
    in a TF1 graph. Everything else is the ``ResourceVariable``'s.
    """

    @property
    def name(self):
        return self.compat_reg_tf1_name + ":0"

    @property
    def op(self):
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        if tf.executing_eagerly():
            return super().op
        return _VariableOpView(self.compat_reg_tf1_name, tf.compat.v1.get_default_graph())

    @property
    def graph(self):
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        if tf.executing_eagerly():
            return super().graph
        return tf.compat.v1.get_default_graph()

    @property
    def constraint(self):
        own = getattr(self, "compat_reg_constraint", None)
        return own if own is not None else super().constraint


class _VariableOpView:
    """What TF1 code reads from ``variable.op`` (``name``, ``graph``, ``type``) in graph mode."""

    __slots__ = ("name", "graph")
    type = "VarHandleOp"

    def __init__(self, name, graph):
        self.name = name
        self.graph = graph

    def __repr__(self):
        return f"<VarHandleOp view {self.name!r}>"


def adopt_tf1_view(variable, tf1_name, constraint=None):
    """Give a plain ``ResourceVariable`` the TF1 view; for a distributed variable, its per-replica parts.

    Swaps ``variable.__class__`` to :class:`TF1ViewVariable` (a subclass adding only
    properties) and reads a distributed variable's components from ``_values``
    (``MirroredVariable`` & co., TF 2.16-2.21).
    """
    if type(variable) is ResourceVariable:  # pylint: disable=unidiomatic-typecheck
        variable.compat_reg_tf1_name = tf1_name
        variable.compat_reg_constraint = constraint
        variable.__class__ = TF1ViewVariable
    else:
        for component in getattr(variable, "_values", ()) or ():
            adopt_tf1_view(component, tf1_name, constraint)
    return variable


def is_partitioned_variable(value):
    """True for a ``variables.PartitionedVariable`` (no public ``isinstance`` target in TF 2.16-2.21)."""
    return isinstance(value, PartitionedVariable)


def set_variable_trainable(variable, trainable):
    """Set a ``ResourceVariable``'s ``trainable`` flag after creation (``_trainable``, TF 2.16-2.21).

    TF1 code may add a variable to ``TRAINABLE_VARIABLES`` itself after creating it
    (TF1 then trains it); ``GradientTape`` watches a variable automatically only when
    the flag is set, so the bridge sets it to match. For a distributed variable,
    each component.
    """
    components = getattr(variable, "_values", None) or (variable,)
    for component in components:
        component._trainable = bool(trainable)  # pylint: disable=protected-access


@contextlib.contextmanager
def creators_up_to(creator):
    """Run the block with only the variable creators entered up to ``creator`` (``Graph._variable_creator_stack``).

    The default graph's creator stack (a list of ``(priority, creator)``, TF 2.16-2.21) is
    cut after ``creator``: scopes TF1 code entered inside it (tf.variable_creator_scope in
    ``fn``) apply to TF1's variables, never to the Keras variable the bridge makes for one;
    scopes entered before it (a distribution strategy's) still apply. Without ``creator``
    on the stack, nothing changes.
    """
    graph = _ops.get_default_graph()
    stack = graph._variable_creator_stack  # pylint: disable=protected-access
    cut = [i for i, (_, c) in enumerate(stack) if c == creator]
    if not cut:
        yield
        return
    graph._variable_creator_stack = stack[: cut[-1] + 1]  # pylint: disable=protected-access
    try:
        yield
    finally:
        graph._variable_creator_stack = stack  # pylint: disable=protected-access


@contextlib.contextmanager
def variable_creator_scope_tolerating_leaks(creator):
    """``tf.variable_creator_scope(creator)`` whose exit tolerates scopes TF1 code left entered.

    TF1 code may enter a creator scope inside it and never exit it; TF1 then goes on
    building with it. Exiting the outer public scope would raise "Exiting
    variable_creator_scope without proper nesting"; instead the graph's creator stack
    (``Graph._variable_creator_stack``, TF 2.16-2.21) is restored as it was on entry.
    """
    graph = _ops.get_default_graph()
    before = graph._variable_creator_stack  # pylint: disable=protected-access
    scope = _vs.variable_creator_scope(creator)
    scope.__enter__()
    try:
        yield
    finally:
        try:
            scope.__exit__(None, None, None)
        except RuntimeError:
            graph._variable_creator_stack = before  # pylint: disable=protected-access
