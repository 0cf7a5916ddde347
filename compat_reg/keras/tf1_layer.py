"""``TF1Layer``: a TF1-style model function as a Keras layer (Keras 3 and tf_keras).

A TF1 model function ``fn(inputs, ...)`` creates its variables with
``tf.compat.v1.get_variable`` (directly, through ``variable_scope(regularizer=...)``
or through tf_slim / ``tf.compat.v1.layers``) and registers its penalties in the
``REGULARIZATION_LOSSES`` graph collection. ``TF1Layer(fn)`` runs it as a Keras
layer so that

* its variables are created once (when the layer is built) and reused on every
  later call, tracked as the layer's weights with their trainable flags, under
  their TF1 names (``layer.tf1_variables``; on Keras 3 also ``variable.path ==
  f"{layer.name}/{tf1_name}"``, on tf_keras ``variable.name``);
* the loss of every regularization the function registers is in
  ``layer.losses`` / ``model.losses``, recomputed at each call so gradients flow
  to the weights (and to trainable coefficients), none dropped, none
  accumulated across calls:

  - the regularizer of each variable created with one (``get_variable(regularizer=)``,
    the ``regularizer`` of an enclosing ``variable_scope``, tf_slim's
    ``weights_regularizer`` / ``tf.compat.v1.layers``' ``kernel_regularizer``):
    ``loss = regularizer(variable)``, once per variable per call, exactly as TF1
    adds it once when the variable is created in a graph (per shard for
    partitioned variables, as in TF1);
  - every other tensor the function adds to ``REGULARIZATION_LOSSES`` during the
    call (activity penalties, group penalties, manual ``add_to_collection``).

  So ``sum(layer.losses) == tf.compat.v1.losses.get_regularization_loss()`` of the
  same function built in a fresh ``tf.Graph`` on the same weights, under the
  default ``Conventions.tf1()`` (see ``compat_reg.keras.conventions`` for the
  activity-loss and frozen-weight switches).

How it works (the traps it avoids are in ``docs/keras_bridge.md``):

* Every call of ``fn`` is a TF1 graph build: it runs in graph mode (in the
  ``tf.function`` Keras is tracing, or, for an eager call, in a ``tf.function``
  of the layer's own), with a fresh variable-scope store so scope names are those
  of a fresh graph, and with the layer's variable store (``with_variable_store``)
  so ``get_variable`` returns the layer's variables with TF1's reuse rules
  applied within the call.
* Every collection of the graph is restored after the call: the entries the
  function added (regularization losses, ``UPDATE_OPS``, tf_slim's end points)
  neither leak into the global graph nor pile up across traces. ``UPDATE_OPS``
  need no handling: TF2 runs every stateful op of a traced function, so
  ``batch_norm``'s moving statistics are updated whenever the layer runs with
  ``is_training=True``, as when a TF1 loop runs ``UPDATE_OPS`` with its train op.
* ``fn``'s ``is_training`` (or ``training``) parameter, unless fixed in
  ``fn_kwargs``, receives Keras' ``training`` flag (``False`` when Keras passes none).
"""

import contextlib
import functools
import inspect
import re
import sys
import threading

import numpy as np
import tensorflow as tf
from tensorflow.python.ops import variable_scope as _vs
from tensorflow.python.ops.resource_variable_ops import ResourceVariable
from tensorflow.python.ops.variables import PartitionedVariable

from compat_reg import _flavor
from compat_reg.keras import conventions as _conventions
from compat_reg.scopes import unwrap_regularizer

REGULARIZATION_LOSSES = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES
_TRAINING_ARGS = ("is_training", "training")
_RESERVED = ("name", "conventions")

_AGGREGATIONS = {
    tf.VariableAggregation.NONE: "none",
    tf.VariableAggregation.SUM: "sum",
    tf.VariableAggregation.MEAN: "mean",
    tf.VariableAggregation.ONLY_FIRST_REPLICA: "only_first_replica",
}
_SYNCHRONIZATIONS = {
    tf.VariableSynchronization.AUTO: "auto",
    tf.VariableSynchronization.NONE: "none",
    tf.VariableSynchronization.ON_READ: "on_read",
    tf.VariableSynchronization.ON_WRITE: "on_write",
}


class TF1VariableCreationError(ValueError):
    """A TF1-style function asked for a new variable after the layer was built."""


# ----------------------------------------------------------------------------
# One TF1 graph build per call: fresh scope names, collections restored.
# ----------------------------------------------------------------------------


class _TaggedList(list):
    """A collection list that remembers which thread appended each entry.

    ``MirroredStrategy`` runs one Python thread per replica and switches between
    them in the middle of a call (at every ``merge_call``, e.g. when a moving
    average is assigned), while all of them build into the same graph. Tagging
    the appends lets each replica's call take exactly its own entries.
    """

    def __init__(self, items):
        super().__init__(items)
        self.by_thread = {}

    def append(self, value):
        self.by_thread.setdefault(threading.get_ident(), []).append(value)
        super().append(value)

    def extend(self, values):
        for value in values:
            self.append(value)

    def mine(self):
        return self.by_thread.setdefault(threading.get_ident(), [])


class _DispatchStore:
    """The variable store seen by ``get_variable``: the store of this thread's innermost TF1Layer call."""

    def __init__(self):
        self.local = threading.local()

    def current(self):
        stack = getattr(self.local, "stack", None)
        if not stack:
            raise RuntimeError("compat_reg TF1Layer: no layer call is active in this thread.")
        return stack[-1]

    def __getattr__(self, name):
        return getattr(self.current(), name)


class _GraphWindow:
    """The TF1 build state of one graph while one or more TF1Layer calls run in it.

    The first call to enter snapshots every collection and installs the
    dispatching variable store, a fresh variable-scope store and a tagged
    ``REGULARIZATION_LOSSES`` list; the last call to leave restores everything,
    so nothing leaks into the graph (the global default graph, for eager calls)
    and nothing accumulates across traces.
    """

    def __init__(self, graph):
        self.graph = graph
        self.count = 0
        self.before = {key: list(graph.get_collection_ref(key)) for key in graph.get_all_collection_keys()}
        self.dispatch = _DispatchStore()
        self.scope_store = _vs._VariableScopeStore()  # pylint: disable=protected-access
        collections = graph._collections  # pylint: disable=protected-access
        self.original_reg = collections.get(REGULARIZATION_LOSSES)
        self.reg = _TaggedList(self.original_reg or [])
        collections[REGULARIZATION_LOSSES] = self.reg
        graph.get_collection_ref(_vs._VARSCOPESTORE_KEY)[:] = [self.scope_store]  # pylint: disable=protected-access
        graph.get_collection_ref(_vs._VARSTORE_KEY)[:] = [self.dispatch]  # pylint: disable=protected-access

    def restore(self):
        collections = self.graph._collections  # pylint: disable=protected-access
        if self.original_reg is None:
            collections.pop(REGULARIZATION_LOSSES, None)
        else:
            collections[REGULARIZATION_LOSSES] = self.original_reg
        for key in list(self.graph.get_all_collection_keys()):
            ref = self.graph.get_collection_ref(key)
            ref[:] = self.before.get(key, [])
        for key in list(collections):
            if not collections[key] and key not in self.before:
                del collections[key]


_WINDOWS = {}
_WINDOWS_LOCK = threading.Lock()


class _CallCapture:
    """This thread's view of a call: the regularization losses it added."""

    def __init__(self, window):
        self.window = window
        self.start = len(window.reg.mine())

    def added_regularization_losses(self):
        return list(self.window.reg.mine()[self.start:])


@contextlib.contextmanager
def _fresh_tf1_build(graph, store):
    """Run TF1 code in ``graph`` as in a fresh ``tf.Graph``: own scope names, own variable store."""
    with _WINDOWS_LOCK:
        window = _WINDOWS.get(id(graph))
        if window is None or window.graph is not graph:
            window = _WINDOWS[id(graph)] = _GraphWindow(graph)
        window.count += 1
    stack = window.dispatch.local.__dict__.setdefault("stack", [])
    stack.append(store)
    saved_scope_state = dict(window.scope_store.__dict__)
    window.scope_store.__init__()  # this thread starts from the root scope with fresh name counts
    try:
        yield _CallCapture(window)
    finally:
        stack.pop()
        window.scope_store.__dict__.clear()
        window.scope_store.__dict__.update(saved_scope_state)
        with _WINDOWS_LOCK:
            window.count -= 1
            if window.count == 0:
                del _WINDOWS[id(graph)]
                window.restore()


# ----------------------------------------------------------------------------
# The variable store: TF1 get_variable semantics per call, Keras variables underneath.
# ----------------------------------------------------------------------------


def _mine(collection_list):
    """The entries this thread appended (a ``_TaggedList`` during a call; else the whole list)."""
    return collection_list.mine() if isinstance(collection_list, _TaggedList) else collection_list


class _Shard:
    """Where a shard of a partitioned variable sits in the full TF1 variable."""

    __slots__ = ("full_name", "full_shape", "offset", "shape")

    def __init__(self, full_name, full_shape, offset, shape):
        self.full_name = full_name
        self.full_shape = list(full_shape)
        self.offset = list(offset)
        self.shape = list(shape)


class _VariableOpView:
    """What TF1 code reads from ``variable.op`` (``name``, ``graph``, ``type``) in graph mode."""

    __slots__ = ("name", "graph")
    type = "VarHandleOp"

    def __init__(self, name, graph):
        self.name = name
        self.graph = graph

    def __repr__(self):
        return f"<VarHandleOp view {self.name!r}>"


class _TF1ViewVariable(ResourceVariable):
    """A layer variable as TF1 code sees it: ``name``, ``op.name`` and ``graph`` as in a TF1 graph.

    The layer's variables live outside any graph (they are created eagerly), so
    ``v.op`` and ``v.graph`` would raise inside the traced call, and Keras 3 names
    them ``<leaf>:0``. TF1 code (tf_slim, compat_reg's helpers, user code) reads
    ``v.op.name`` / ``v.name`` to get ``"scope/w"`` and ``v.graph`` to reach the
    collections; while a graph is being built these answer with the TF1 name and
    the graph being built. Everything else is the ``ResourceVariable``'s.
    """

    @property
    def name(self):
        return self._compat_reg_tf1_name + ":0"

    @property
    def op(self):
        if tf.executing_eagerly():
            return super().op
        return _VariableOpView(self._compat_reg_tf1_name, tf.compat.v1.get_default_graph())

    @property
    def graph(self):
        if tf.executing_eagerly():
            return super().graph
        return tf.compat.v1.get_default_graph()


def _adopt_tf1_view(variable, tf1_name):
    """Give a plain ``ResourceVariable`` the TF1 view; for a distributed variable, its per-replica parts."""
    if type(variable) is ResourceVariable:  # pylint: disable=unidiomatic-typecheck
        variable._compat_reg_tf1_name = tf1_name  # pylint: disable=protected-access
        variable.__class__ = _TF1ViewVariable
    else:
        for component in getattr(variable, "_values", ()) or ():  # MirroredVariable & co.
            _adopt_tf1_view(component, tf1_name)
    return variable


@contextlib.contextmanager
def _outside_keras3_stateless_scope():
    """Create real variables even while Keras 3 traces a parent model symbolically.

    Keras 3 builds a subclassed model by tracing ``call`` inside a
    ``StatelessScope``, where new variables are deferred (no ``tf.Variable`` yet).
    TF1 code needs the variable object itself (it reads, assigns and colocates
    with it), so the layer's variables are created outside that scope, as Keras 3
    does for every variable outside symbolic tracing.
    """
    if not _flavor.is_keras3():
        yield
        return
    from keras.src.backend.common import global_state  # pylint: disable=import-outside-toplevel

    scope = global_state.get_global_attribute("stateless_scope")
    global_state.set_global_attribute("stateless_scope", None)
    try:
        yield
    finally:
        global_state.set_global_attribute("stateless_scope", scope)


# tf_keras' legacy layers (tf_slim, tf.compat.v1.layers) drop their activity
# penalty inside a tf.function: base_layer_v1.add_loss skips symbolic losses
# "in a TF function" and so nothing reaches the collection. While a TF1Layer
# call is recorded, the handler below adds ``r(y) / batch`` to the collection
# exactly as TF1 graph mode did (and records its raw value for the conventions).
_LEGACY_BASE = "tf_keras.src.legacy_tf_layers.base"
_legacy_state = {"installed": False, "recording": 0}


def _install_legacy_activity_handler():
    if _legacy_state["installed"] or _LEGACY_BASE not in sys.modules:
        return
    legacy_layer = sys.modules[_LEGACY_BASE].Layer
    original = legacy_layer._handle_activity_regularization  # pylint: disable=protected-access

    def _handle_activity_regularization(self, inputs, outputs):
        if not _legacy_state["recording"] or not self._activity_regularizer:
            return original(self, inputs, outputs)
        with tf.name_scope("ActivityRegularizer"):
            for output in tf.nest.flatten(outputs):
                raw = tf.convert_to_tensor(self._activity_regularizer(output))
                batch = tf.cast(tf.compat.v1.shape(output)[0], raw.dtype)
                loss = raw / batch
                tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, loss)
                _conventions.record_activity_loss(loss, raw, batch)
        return None

    legacy_layer._handle_activity_regularization = _handle_activity_regularization  # pylint: disable=protected-access
    _legacy_state["installed"] = True


@contextlib.contextmanager
def _recording_legacy_activity():
    _install_legacy_activity_handler()
    _legacy_state["recording"] += 1
    try:
        yield
    finally:
        _legacy_state["recording"] -= 1


class _BridgeVariableStore(_vs._VariableStore):  # pylint: disable=protected-access
    """A TF1 variable store whose variables outlive the call and belong to a Keras layer.

    Within one call it behaves as TF's store in a fresh graph (same reuse errors,
    partitioning, custom getters). Across calls it hands back the variables made
    on the first call; asking for a new one later raises. Instead of adding
    ``regularizer(v)`` to the collection once, it records ``(v, regularizer)`` so
    the layer can recompute the penalty at every call.
    """

    def __init__(self, create_fn, layer_name, is_trainable_fn):
        self._call = threading.local()  # before TF's __init__, which sets _vars
        self._call.vars = {}
        self._call.partitioned_vars = {}
        super().__init__()
        self._is_trainable_fn = is_trainable_fn
        self._store_eager_variables = True
        self._create_fn = create_fn
        self._layer_name = layer_name
        self.persistent = {}  # TF1 name -> tf.Variable the TF1 code sees
        self.keras_variables = {}  # TF1 name -> the Keras-tracked variable
        self.shards = {}  # TF1 shard name -> _Shard
        self.begin_call(False)

    def begin_call(self, allow_create):
        state = self._call
        state.vars = {}
        state.partitioned_vars = {}
        state.allow_create = allow_create
        state.pairs = []
        state.pair_keys = set()
        state.mark = 0

    # Per-thread call state (MirroredStrategy interleaves replica threads within a call).
    _vars = property(lambda self: self._call.vars, lambda self, v: setattr(self._call, "vars", v))
    _partitioned_vars = property(
        lambda self: self._call.partitioned_vars, lambda self, v: setattr(self._call, "partitioned_vars", v)
    )
    allow_create = property(lambda self: self._call.allow_create, lambda self, v: setattr(self._call, "allow_create", v))
    pairs = property(lambda self: self._call.pairs)
    _pair_keys = property(lambda self: self._call.pair_keys)
    _mark = property(lambda self: self._call.mark, lambda self, v: setattr(self._call, "mark", v))

    def _record(self, var, regularizer, source):
        key = (id(var), id(regularizer), source)
        if key not in self._pair_keys:
            self._pair_keys.add(key)
            self.pairs.append((var, regularizer))

    def get_variable(self, name, *args, **kwargs):
        var = super().get_variable(name, *args, **kwargs)
        # Losses a legacy layer adds between now and `add_regularizer` are its
        # weight penalties (see add_regularizer).
        self._mark = len(_mine(tf.compat.v1.get_collection_ref(REGULARIZATION_LOSSES)))
        return var

    def add_regularizer(self, var, regularizer):
        """Hook tf_keras' legacy layers (tf_slim, ``tf.compat.v1.layers``) call for weight regularizers.

        Right before calling it, the legacy layer has added ``regularizer(var)``
        to the collection (it does so at every call under TF2); those entries are
        removed here and the pair is recorded instead, so the penalty is counted
        once and subject to the frozen-weight convention.
        """
        ref = tf.compat.v1.get_collection_ref(REGULARIZATION_LOSSES)
        mine = _mine(ref)
        dropped = {id(x) for x in mine[self._mark :]}
        del mine[self._mark :]
        ref[:] = [x for x in ref if id(x) not in dropped]
        shards = list(var) if isinstance(var, PartitionedVariable) else [var]
        for shard in shards:
            self._record(shard, unwrap_regularizer(regularizer), "layer")

    def _get_single_variable(
        self,
        name,
        shape=None,
        dtype=tf.float32,
        initializer=None,
        regularizer=None,
        partition_info=None,
        reuse=None,
        trainable=None,
        collections=None,
        caching_device=None,
        validate_shape=True,
        use_resource=None,
        constraint=None,
        synchronization=tf.VariableSynchronization.AUTO,
        aggregation=tf.VariableAggregation.NONE,
    ):
        if name in self._vars:
            # Second request within this call: TF's own checks (reuse=False raises).
            return super()._get_single_variable(
                name, shape=shape, dtype=dtype, reuse=reuse, initializer=initializer
            )
        if reuse is True:
            raise ValueError(
                "Variable %s does not exist, or was not created with "
                "tf.get_variable(). Did you mean to set "
                "reuse=tf.AUTO_REUSE in VarScope?" % name
            )
        dtype = tf.as_dtype(dtype)
        var = self.persistent.get(name)
        if var is None:
            if not self.allow_create:
                raise TF1VariableCreationError(
                    f"TF1Layer {self._layer_name!r}: the function asked for a new variable {name!r} "
                    f"(shape {shape}) after the layer was built. Its variables are created once, "
                    f"on the first call; got {sorted(self.persistent)[:8]}{'...' if len(self.persistent) > 8 else ''}. "
                    "Make the function create the same variables on every call (for example do "
                    "not make variable creation depend on `is_training` or on Python state), "
                    "or build a new TF1Layer."
                )
            value = self._initial_value(name, shape, dtype, initializer, partition_info)
            if trainable is None:
                trainable = synchronization != tf.VariableSynchronization.ON_READ
            var = self._create_fn(
                name,
                value,
                trainable=bool(trainable),
                constraint=constraint,
                synchronization=synchronization,
                aggregation=aggregation,
            )
            self.persistent[name] = var
            if partition_info is not None:
                self.shards[name] = _Shard(
                    name.rsplit("/part_", 1)[0],
                    partition_info.full_shape,
                    partition_info.var_offset,
                    value.shape.as_list(),
                )
        else:
            if shape is not None and not tf.TensorShape(shape).is_compatible_with(var.shape):
                raise ValueError(
                    "Trying to share variable %s, but specified shape %s and found shape %s."
                    % (name, tf.TensorShape(shape), var.shape)
                )
            if not dtype.is_compatible_with(var.dtype):
                raise ValueError(
                    "Trying to share variable %s, but specified dtype %s and found dtype %s."
                    % (name, dtype.name, var.dtype.name)
                )
        self._vars[name] = var
        # As in a fresh TF1 graph: the variable is in GLOBAL_VARIABLES (or its
        # `collections`) and, if trainable, in TRAINABLE_VARIABLES for the rest of
        # the call (code like group_regularizer or tf.trainable_variables() reads them).
        graph = tf.compat.v1.get_default_graph()
        for key in collections or [tf.compat.v1.GraphKeys.GLOBAL_VARIABLES]:
            graph.add_to_collection(key, var)
        if self.is_trainable(name):
            graph.add_to_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES, var)
        if regularizer:
            self._record(var, unwrap_regularizer(regularizer), "get_variable")
        return var

    def is_trainable(self, name):
        """Trainable now, in Keras' sense (its flag, and the layer not frozen)."""
        return self._is_trainable_fn(name)

    def _initial_value(self, name, shape, dtype, initializer, partition_info):
        """The variable's initial value as an eager tensor, computed as TF1's store does."""
        from_value = initializer is not None and not callable(initializer)
        if from_value and shape is not None:
            raise ValueError("If initializer is a constant, do not specify shape.")
        if initializer is None:
            if shape is None:
                raise ValueError(
                    f"Variable {name} did not get an initializer, so its `shape` argument must be specified."
                )
            initializer, from_value = self._get_default_initializer(name=name, shape=shape, dtype=dtype)
        if from_value and isinstance(initializer, tf.Tensor) and not hasattr(initializer, "numpy"):
            static = tf.get_static_value(initializer)
            if static is None:
                raise ValueError(
                    f"TF1Layer: variable {name!r} is initialized from the graph tensor "
                    f"{initializer.name!r}, whose value is not known before the call. Pass a NumPy "
                    "array, a constant or a tf.compat.v1 initializer object instead."
                )
            initializer = static
        with tf.init_scope():
            if from_value:
                return tf.convert_to_tensor(initializer, dtype=dtype if dtype != tf.float32 else None)
            if inspect.isclass(initializer):
                initializer = initializer()
            shape = tf.TensorShape(shape)
            if not shape.is_fully_defined():
                raise ValueError(
                    f"TF1Layer: variable {name!r} has a shape that is not fully defined ({shape}); "
                    "TF1Layer creates variables when the layer is built, so their shapes must not "
                    "depend on the batch size."
                )
            try:
                params = inspect.signature(initializer).parameters
            except (TypeError, ValueError):
                params = {}
            if "partition_info" in params:
                value = initializer(shape.as_list(), dtype=dtype, partition_info=partition_info)
            else:
                value = initializer(shape.as_list(), dtype=dtype)
            return tf.convert_to_tensor(value, dtype=dtype)


# ----------------------------------------------------------------------------
# The layer.
# ----------------------------------------------------------------------------


def _layer_name_from(fn):
    base = getattr(fn, "__name__", None) or type(fn).__name__
    base = re.sub(r"[^0-9A-Za-z_.-]", "_", base).strip("_") or "tf1_layer"
    return base if base != "lambda" else "tf1_layer"


def _training_parameter(fn, fn_kwargs):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    for arg in _TRAINING_ARGS:
        if arg in params and arg not in fn_kwargs:
            return arg
    return None


def _spec_of(x, float_dtype):
    shape = tf.TensorShape(getattr(x, "shape", np.shape(x)))
    dtype = tf.as_dtype(getattr(x, "dtype", None) or np.asarray(x).dtype)
    if dtype.is_floating:
        dtype = tf.as_dtype(float_dtype)
    if shape.rank:
        shape = tf.TensorShape([None] + shape.as_list()[1:])
    return tf.TensorSpec(shape, dtype)


def _is_legacy_activity_loss(loss):
    """An activity penalty ``r(y) / batch`` whose two inputs the bridge can read.

    tf_keras' legacy layers (tf_slim, ``tf.compat.v1.layers``) build it as
    ``ActivityRegularizer/truediv``; ``compat_reg.activity_regularize(...,
    reduction="batch_mean")`` as ``.../batch_mean`` (``divide_no_nan``).
    """
    op = getattr(loss, "op", None)
    if op is None or len(op.inputs) != 2:
        return False
    legacy = op.type == "RealDiv" and "ActivityRegularizer/" in op.name
    patterns = op.type == "DivNoNan" and op.name.endswith("/batch_mean")  # compat_reg.activity_regularize
    return legacy or patterns


def _make_layer_class():
    keras = _flavor.keras()

    class TF1Layer(keras.layers.Layer):
        """A Keras layer running a TF1-style model function ``fn(inputs, **fn_kwargs)``.

        Args:
          fn: the TF1 model function. Its first argument receives the layer's
            inputs; if it has an ``is_training`` (or ``training``) parameter not
            fixed in ``fn_kwargs``, it receives Keras' ``training`` flag.
          name: the layer name (default: ``fn.__name__``).
          conventions: a ``compat_reg.keras.Conventions`` (default
            ``Conventions.tf1()``: activity penalties as the TF1 code wrote them,
            regularizers of frozen weights counted).
          **fn_kwargs: passed to ``fn`` at every call. ``name`` and
            ``conventions`` are reserved.

        Reproduces TF1 graph mode: ``sum(layer.losses)`` after a call equals
        ``get_regularization_loss()`` of ``fn`` built in a fresh ``tf.Graph`` with
        the same weights. Variables are created at build time from one trace of
        ``fn`` (shapes must not depend on the batch size).

        >>> def net(x, is_training=False):
        ...     with tf.compat.v1.variable_scope("dense", regularizer=compat_reg.l2_regularizer(0.1)):
        ...         w = tf.compat.v1.get_variable("w", [3, 2])
        ...     return tf.matmul(x, w)
        >>> layer = TF1Layer(net)
        >>> y = layer(tf.ones([4, 3]))
        >>> sorted(layer.tf1_variables)
        ['dense/w']
        """

        def __init__(self, fn, name=None, conventions=None, **fn_kwargs):
            if not callable(fn):
                raise TypeError(
                    f"TF1Layer: `fn` must be a callable TF1-style model function fn(inputs, ...). "
                    f"Received: fn={fn!r} of type {type(fn).__name__}"
                )
            super().__init__(name=name or _layer_name_from(fn))
            self._tf1_fn = fn
            self._tf1_fn_kwargs = dict(fn_kwargs)
            self._tf1_conventions = _conventions.as_conventions(conventions)
            self._tf1_training_arg = _training_parameter(fn, fn_kwargs)
            self._tf1_store = _BridgeVariableStore(self._create_tf1_variable, self.name, self._is_trainable_tf1)
            self._tf1_build_spec = None
            self._tf1_eager_fn = None
            self._tf1_weight_pairs = []  # (tf1 name, regularizer) recorded when built
            if _flavor.is_keras3():
                self._tf1_weights = []  # Keras 3 tracks variables appended to this list

        # --- public API ------------------------------------------------------

        @property
        def fn(self):
            """The wrapped TF1-style function (build it in a ``tf.Graph`` to compare)."""
            return self._tf1_fn

        @property
        def fn_kwargs(self):
            return dict(self._tf1_fn_kwargs)

        @property
        def conventions(self):
            """The ``Conventions`` this layer applies."""
            return self._tf1_conventions

        @property
        def tf1_variables(self):
            """``{tf1_name: variable}`` in creation order (the Keras-tracked variables)."""
            return dict(self._tf1_store.keras_variables)

        def tf1_name(self, variable):
            """The TF1 name of one of this layer's variables (Keras or ``tf.Variable`` object)."""
            for name, kv in self._tf1_store.keras_variables.items():
                if kv is variable or self._tf1_store.persistent[name] is variable:
                    return name
            raise ValueError(
                f"TF1Layer {self.name!r}: {getattr(variable, 'name', variable)!r} is not one of its "
                f"variables; its TF1 variables are {list(self._tf1_store.keras_variables)}."
            )

        def weight_regularization_losses(self):
            """The per-variable penalties ``regularizer(variable)``, computed now, without running ``fn``.

            One scalar per (variable, regularizer) pair the function declared
            (``get_variable``/scope/tf_slim regularizers; per shard for partitioned
            variables), in creation order, under this layer's frozen-weight
            convention. It is the weight-decay part of ``layer.losses`` (which also
            holds the collection entries: activity and group penalties), available
            before any call and outside one, e.g. to log or to time it.

            Raises:
              ValueError: if the layer is not built, or a regularizer cannot be
                called outside the function (its scale is a tensor made inside
                ``fn``, such as a trainable coefficient's value); the message names
                the variable. Use ``layer.losses`` after a call for those.
            """
            if not self.built:
                raise ValueError(
                    f"TF1Layer {self.name!r} is not built, so it has no variables yet. Call it once "
                    "(or put it in a model) before weight_regularization_losses()."
                )
            frozen = self._frozen_ids() if not self._tf1_conventions.count_frozen_weights else ()
            losses = []
            for name, regularizer in self._tf1_weight_pairs:
                var = self._tf1_store.persistent[name]
                if id(var) in frozen:
                    continue
                try:
                    with tf.name_scope(f"{name}/Regularizer"):
                        loss = regularizer(var)
                except (ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
                    raise ValueError(
                        f"TF1Layer {self.name!r}: the regularizer {regularizer!r} of {name!r} cannot be "
                        f"computed outside the function ({type(error).__name__}: {error}). Its scale is "
                        "probably a tensor the function makes (e.g. a trainable coefficient's value); "
                        "call the layer and use layer.losses instead."
                    ) from error
                if loss is not None:
                    losses.append(tf.convert_to_tensor(loss))
            return losses

        def load_tf1_checkpoint(self, path, scope=None):
            """Assign every variable from a TF1 checkpoint, matching by TF1 name.

            Reads a checkpoint written by ``tf.compat.v1.train.Saver`` (or any
            name-based checkpoint) for the same function. Partitioned variables
            are read whole and sliced into the layer's shards.

            Args:
              path: the checkpoint prefix or its directory (``tf.train.latest_checkpoint``).
              scope: the variable scope the TF1 graph built ``fn`` under, if any
                (checkpoint name ``f"{scope}/{tf1_name}"``).

            Returns:
              The list of TF1 names assigned.

            Raises:
              ValueError: before assigning anything, if the layer is not built, or a
                variable is missing from the checkpoint or has another shape; the
                message names each variable.
            """
            if not self.built:
                raise ValueError(
                    f"TF1Layer {self.name!r} is not built, so it has no variables to load into. "
                    "Call it once (or put it in a model) before load_tf1_checkpoint."
                )
            if tf.io.gfile.isdir(path):
                path = tf.train.latest_checkpoint(path) or path
            reader = tf.train.load_checkpoint(path)
            available = reader.get_variable_to_shape_map()
            prefix = f"{scope.rstrip('/')}/" if scope else ""
            plan, problems = [], []
            for name, var in self._tf1_store.persistent.items():
                shard = self._tf1_store.shards.get(name)
                key = prefix + (shard.full_name if shard else name)
                want = shard.full_shape if shard else var.shape.as_list()
                if key not in available:
                    problems.append(f"{key!r} is not in the checkpoint")
                elif list(available[key]) != list(want):
                    problems.append(f"{key!r} has shape {list(available[key])} in the checkpoint, {want} in the layer")
                else:
                    plan.append((name, var, key, shard))
            if problems:
                near = sorted(available)[:10]
                raise ValueError(
                    f"TF1Layer {self.name!r}: cannot load {path!r}: " + "; ".join(problems)
                    + f". The checkpoint has e.g. {near}. If the TF1 graph built the function under "
                    "a variable scope, pass it as scope=..."
                )
            for name, var, key, shard in plan:
                value = reader.get_tensor(key)
                if shard is not None:
                    value = value[tuple(slice(o, o + s) for o, s in zip(shard.offset, shard.shape))]
                var.assign(value)
            return [name for name, *_ in plan]

        # --- Keras hooks -----------------------------------------------------

        def __call__(self, *args, **kwargs):
            if not self.built and self._tf1_build_spec is None:
                inputs = args[0] if args else kwargs.get("inputs")
                if inputs is not None:
                    self._tf1_build_spec = tf.nest.map_structure(
                        lambda x: _spec_of(x, self._float_dtype()), inputs
                    )
            return super().__call__(*args, **kwargs)

        def _float_dtype(self):
            return getattr(self, "compute_dtype", None) or self.dtype or "float32"

        def build(self, input_shape):
            spec = self._tf1_build_spec
            if spec is None:
                spec = _spec_from_shape(input_shape, self._float_dtype())
            # One trace of fn in a scratch function graph creates the variables
            # (lifted out of it by init_scope); the graph is then dropped.
            scratch = tf.__internal__.FuncGraph(f"{self.name}_tf1_build")
            with scratch.as_default():
                placeholders = tf.nest.map_structure(
                    lambda s: tf.compat.v1.placeholder(s.dtype, s.shape), spec
                )
                self._run_tf1(placeholders, False, allow_create=True)
                names = {id(v): n for n, v in self._tf1_store.persistent.items()}
                self._tf1_weight_pairs = [(names[id(v)], r) for v, r in self._tf1_store.pairs]
            self.built = True

        # TF1 code ran without autograph; converting it (tf_keras does for functional
        # models, tf.function for fit) only costs time (x8 for resnet_v1_50 here).
        @tf.autograph.experimental.do_not_convert
        def call(self, inputs, training=None):
            if tf.executing_eagerly():
                if self._tf1_eager_fn is None:
                    self._tf1_eager_fn = tf.function(
                        lambda x, training, trainable_key: self._run_tf1(x, training),
                        reduce_retracing=True,
                        autograph=False,
                    )
                inputs = tf.nest.map_structure(tf.convert_to_tensor, inputs)
                # Which variables are trainable decides the frozen-weight convention
                # and TRAINABLE_VARIABLES: retrace when it changes (layer.trainable = ...).
                trainable_key = tuple(id(v) for v in self.trainable_weights)
                outputs, losses = self._tf1_eager_fn(inputs, bool(training), trainable_key)
            else:
                outputs, losses = self._run_tf1(inputs, training)
            for loss in losses:
                self.add_loss(loss)
            return outputs

        def get_config(self):
            raise NotImplementedError(
                f"TF1Layer {self.name!r} wraps the Python function {self._tf1_fn!r}, which Keras "
                "cannot serialize. Save and restore its weights with save_weights/load_weights "
                "(or a TF1 checkpoint with load_tf1_checkpoint) and rebuild the layer in code."
            )

        # --- internals -------------------------------------------------------

        def _create_tf1_variable(self, name, value, trainable, constraint, synchronization, aggregation):
            with tf.init_scope(), _outside_keras3_stateless_scope():
                if _flavor.is_keras3():
                    parts = name.split("/")
                    with contextlib.ExitStack() as stack:
                        for part in parts[:-1]:
                            stack.enter_context(keras.name_scope(part or "_"))
                        kv = keras.Variable(
                            initializer=lambda shape, dtype: value,
                            shape=tuple(value.shape.as_list()),
                            dtype=value.dtype.name,
                            trainable=trainable,
                            name=parts[-1] or "_",
                            aggregation=_AGGREGATIONS.get(aggregation, "none"),
                            synchronization=_SYNCHRONIZATIONS.get(synchronization, "auto"),
                        )
                    if constraint is not None:
                        kv.constraint = constraint
                    self._tf1_weights.append(kv)
                    tf_var = kv.value
                else:
                    kv = tf_var = self.add_weight(
                        name=name,
                        shape=value.shape,
                        dtype=value.dtype,
                        initializer=lambda shape, dtype=None, **_: value,
                        trainable=trainable,
                        constraint=constraint,
                        synchronization=synchronization,
                        aggregation=aggregation,
                    )
            self._tf1_store.keras_variables[name] = kv
            return _adopt_tf1_view(tf_var, name)

        def _is_trainable_tf1(self, name):
            kv = self._tf1_store.keras_variables.get(name)
            return kv is not None and any(kv is v for v in self.trainable_weights)

        def _frozen_ids(self):
            trainable_ids = {id(v) for v in self.trainable_weights}
            frozen = set()
            for name, kv in self._tf1_store.keras_variables.items():
                if id(kv) not in trainable_ids:
                    frozen.add(id(self._tf1_store.persistent[name]))
            return frozen

        @tf.autograph.experimental.do_not_convert
        def _run_tf1(self, inputs, training, allow_create=False):
            """Run ``fn`` once as a TF1 graph build; return (outputs, [scalar losses])."""
            if tf.executing_eagerly():  # pragma: no cover - callers guarantee graph mode
                raise RuntimeError("TF1Layer._run_tf1 must run in graph mode (inside a tf.function).")
            kwargs = dict(self._tf1_fn_kwargs)
            if self._tf1_training_arg is not None:
                kwargs[self._tf1_training_arg] = False if training is None else training
            store = self._tf1_store
            conv = self._tf1_conventions
            graph = tf.compat.v1.get_default_graph()
            store.begin_call(allow_create)
            with _fresh_tf1_build(graph, store) as capture:
                with _conventions.recording_activity_losses() as records, _recording_legacy_activity():
                    outputs = self._tf1_fn(inputs, **kwargs)
                frozen = self._frozen_ids() if not conv.count_frozen_weights else ()
                losses = []
                for var, regularizer in store.pairs:
                    if id(var) in frozen:
                        continue
                    name = var.name.split(":")[0]
                    with tf.name_scope(f"{name.replace(':', '_')}/Regularizer"):
                        loss = regularizer(var)
                    if loss is not None:
                        losses.append(tf.convert_to_tensor(loss))
                for loss in capture.added_regularization_losses():
                    loss = tf.convert_to_tensor(loss)
                    record = records.get(id(loss))
                    if record is not None:
                        loss = conv.scale_activity_loss(loss, record.raw_penalty, record.batch_size)
                    elif _is_legacy_activity_loss(loss):
                        loss = conv.scale_activity_loss(loss, loss.op.inputs[0], loss.op.inputs[1])
                    if loss.shape.rank not in (0, None):
                        raise ValueError(
                            f"TF1Layer {self.name!r}: the function added {loss.name!r} of shape "
                            f"{loss.shape} to REGULARIZATION_LOSSES; every regularization loss must "
                            "be a scalar (TF1's get_regularization_loss could not sum it either). "
                            "Reduce it with tf.reduce_sum before adding it."
                        )
                    losses.append(loss)
            return outputs, losses

    return TF1Layer


def _spec_from_shape(shape, dtype):
    """A ``TensorSpec`` (or a nest of them) with a free batch dimension, from Keras' ``input_shape``."""
    if isinstance(shape, dict):
        return {k: _spec_from_shape(v, dtype) for k, v in shape.items()}
    if isinstance(shape, tf.TensorShape):
        shape = shape.as_list() if shape.rank is not None else None
    if shape is None or all(d is None or isinstance(d, (int, np.integer)) for d in shape):
        dims = None if shape is None else ([None] + list(shape)[1:] if len(shape) else [])
        return tf.TensorSpec(dims, dtype)
    return type(shape)(_spec_from_shape(s, dtype) for s in shape)


TF1Layer = _make_layer_class()
TF1Layer.__qualname__ = "TF1Layer"
TF1Layer.__module__ = __name__


def tf1_layer(fn=None, *, name=None, conventions=None):
    """Decorator: turn a TF1-style model function into a factory of ``TF1Layer``.

    ::

        @compat_reg.keras.tf1_layer
        def small_net(inputs, num_classes, is_training=False):
            ...

        layer = small_net(num_classes=10)           # a TF1Layer (name "small_net")
        logits = small_net.fn(x_graph, num_classes=10)  # the TF1 function itself, in a tf.Graph

    The factory accepts ``name=``, ``conventions=`` and ``fn``'s keyword
    arguments. Also usable with arguments: ``@tf1_layer(conventions=...)``.
    """

    def decorate(function):
        if not callable(function):
            raise TypeError(f"tf1_layer decorates a function; received {function!r}")

        @functools.wraps(function)
        def factory(*args, **kwargs):
            if args:
                raise TypeError(
                    f"{function.__name__} is decorated with compat_reg.keras.tf1_layer: calling it "
                    "makes a TF1Layer and takes keyword arguments only (fn's keyword arguments, "
                    f"name=, conventions=). Received {len(args)} positional argument(s). Call the "
                    f"layer on your inputs ({function.__name__}(...)(inputs)), or the TF1 function "
                    f"itself as {function.__name__}.fn(inputs, ...)."
                )
            kwargs.setdefault("name", name)
            kwargs.setdefault("conventions", conventions)
            return TF1Layer(function, **kwargs)

        factory.fn = function
        return factory

    if fn is None:
        return decorate
    return decorate(fn)
