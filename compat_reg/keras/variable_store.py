"""The variable store of a ``TF1Layer``: TF1 ``get_variable`` semantics per call, Keras variables underneath.

Within one call the store behaves as TF's store in a fresh graph (same reuse
errors, partitioning, custom getters). Across calls it hands back the variables
made when the layer was built; asking for a new one later raises
:class:`TF1VariableCreationError`. Instead of adding ``regularizer(v)`` to the
collection once, it records ``(v, regularizer)`` so the layer can recompute the
penalty at every call (gradients flow, nothing accumulates).

TF1 conventions matched (``tf.compat.v1.get_variable`` in a ``tf.Graph``):

* **Trainability.** A variable is trainable in TF1 when it is in the graph's
  ``TRAINABLE_VARIABLES`` collection: ``trainable=True`` (the default, unless
  ``synchronization=ON_READ``) puts it there, and so does ``collections=[...,
  TRAINABLE_VARIABLES]`` even with ``trainable=False`` (what tf_slim's
  ``variables_collections=[TRAINABLE_VARIABLES]`` does to batch-norm moving
  averages). Code that adds or removes a variable there itself is honoured when the
  layer is built (see ``TF1Layer.build``).
* **Initial values.** Every initializer form ``get_variable`` accepts: ``None``
  (glorot_uniform for floats, zeros for ints/bools), an initializer called as
  ``init(shape, dtype=..., [partition_info=...])`` (TF1, Keras or a class), a
  callable taking no arguments (``lambda: [2]``; shape from its value), a tensor,
  NumPy array or Python value (dtype from the value, shape must be omitted).
* **Collections.** While a call runs, the variable is in ``GLOBAL_VARIABLES`` (or
  its ``collections``) and, if trainable now, in ``TRAINABLE_VARIABLES``, as in the
  fresh graph TF1 code expects (``tf.trainable_variables()``, ``group_regularizer``).
"""

import contextlib
import inspect
import threading

import tensorflow as tf

from compat_reg import _registry
from compat_reg._internals import tf_variable_scope as _tf_vs
from compat_reg.keras import build_window
from compat_reg.scopes import unwrap_regularizer

REGULARIZATION_LOSSES = _registry.REGULARIZATION_LOSSES
TRAINABLE_VARIABLES = tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES
GLOBAL_VARIABLES = tf.compat.v1.GraphKeys.GLOBAL_VARIABLES


_making_keras_variable = threading.local()  # depth > 0: a bridge is creating the Keras variable itself


@contextlib.contextmanager
def _creating_keras_variable():
    _making_keras_variable.depth = getattr(_making_keras_variable, "depth", 0) + 1
    try:
        yield
    finally:
        _making_keras_variable.depth -= 1


class TF1VariableCreationError(ValueError):
    """A TF1-style function asked for a new variable after the layer was built."""


class Shard:
    """Where a shard of a partitioned variable sits in the full TF1 variable."""

    __slots__ = ("full_name", "full_shape", "offset", "shape")

    def __init__(self, full_name, full_shape, offset, shape):
        self.full_name = full_name
        self.full_shape = list(full_shape)
        self.offset = list(offset)
        self.shape = list(shape)


def value_of_graph_tensor(tensor, what):
    """The value of a graph tensor that depends on no input, as an eager constant.

    TF1 code initializes variables from graph tensors (``tf.Variable(tf.truncated_normal(
    [5, 5], stddev=0.1))``). The layer creates its variables eagerly, so the subgraph
    that computes the tensor is extracted and run once in a ``tf.Graph`` of its own
    (random ops draw as in that graph).
    """
    static = tf.get_static_value(tensor)
    if static is not None:
        with tf.init_scope():
            return tf.constant(static, dtype=tensor.dtype)
    sub = tf.compat.v1.graph_util.extract_sub_graph(tensor.graph.as_graph_def(), [tensor.op.name])
    graph = tf.Graph()
    with graph.as_default():
        (out,) = tf.graph_util.import_graph_def(sub, return_elements=[tensor.name], name="")
        try:
            with tf.compat.v1.Session(graph=graph) as sess:
                value = sess.run(out)
        except (tf.errors.InvalidArgumentError, tf.errors.FailedPreconditionError) as error:
            raise ValueError(
                f"TF1Layer: {what} is initialized from the graph tensor {tensor.name!r}, whose value "
                f"depends on the layer's inputs or on other variables ({type(error).__name__}), so it "
                "is not known when the layer is built. Initialize it from a NumPy array, a constant, "
                "a callable or a tf.compat.v1 initializer object instead."
            ) from None
    with tf.init_scope():
        return tf.constant(value, dtype=tensor.dtype)


def _needs_no_arguments(initializer):
    """True for a callable whose every parameter has a default (``lambda: [2]``, ``def f(x=1)``)."""
    try:
        params = inspect.signature(initializer).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params
    )


class BridgeVariableStore(_tf_vs.VariableStoreBase):
    """A TF1 variable store whose variables outlive the call and belong to a Keras layer.

    Args:
      create_fn: ``create_fn(name, value, trainable, constraint, synchronization,
        aggregation)`` makes the Keras-tracked variable and returns the
        ``tf.Variable`` TF1 code sees.
      layer_name: for error messages.
      is_trainable_fn: ``is_trainable_fn(name)``, trainable now in Keras' sense.
    """

    def __init__(self, create_fn, layer_name, is_trainable_fn):
        self._call = build_window.PerCall(
            vars=dict, partitioned_vars=dict, allow_create=False, pairs=list, pair_keys=set, mark=0, raw_index=0,
            nested=set,
        )
        super().__init__(self._call)
        self._is_trainable_fn = is_trainable_fn
        self._create_fn = create_fn
        self._layer_name = layer_name
        self.persistent = {}  # TF1 name -> tf.Variable the TF1 code sees
        self.keras_variables = {}  # TF1 name -> the Keras-tracked variable
        self.shards = {}  # TF1 shard name -> Shard
        self.raw_names = []  # TF1 names of raw tf.compat.v1.Variable's, in creation order
        self.adopt_sublayer = None  # set by the layer: track a TF1Layer called inside fn
        self.begin_call(False)

    def begin_call(self, allow_create):
        self.reset_call_state()
        state = self._call
        state.allow_create = allow_create
        state.pairs = []
        state.pair_keys = set()
        state.mark = 0
        state.raw_index = 0
        state.nested = set()  # ids of the TF1Layers whose weight penalties this call already holds

    allow_create = property(lambda self: self._call.allow_create)
    nested_weight_penalties = property(lambda self: self._call.nested)
    pairs = property(lambda self: self._call.pairs)

    def _record(self, var, regularizer, source):
        key = (id(var), id(regularizer), source)
        if key not in self._call.pair_keys:
            self._call.pair_keys.add(key)
            self._call.pairs.append((var, regularizer))

    def get_variable(self, name, *args, **kwargs):
        var = super().get_variable(name, *args, **kwargs)
        # Losses a legacy layer adds between now and `add_regularizer` are its
        # weight penalties (see add_regularizer).
        self._call.mark = len(build_window.mine(tf.compat.v1.get_collection_ref(REGULARIZATION_LOSSES)))
        return var

    def add_regularizer(self, var, regularizer):
        """Hook tf_keras' legacy layers (tf_slim, ``tf.compat.v1.layers``) call for weight regularizers.

        Right before calling it, the legacy layer has added ``regularizer(var)``
        to the collection (it does so at every call under TF2); those entries are
        removed here and the pair is recorded instead, so the penalty is counted
        once and subject to the frozen-weight convention.
        """
        ref = tf.compat.v1.get_collection_ref(REGULARIZATION_LOSSES)
        if isinstance(ref, build_window.TaggedList):
            ref.drop_mine_from(self._call.mark)
        else:
            del ref[self._call.mark:]
        shards = list(var) if _tf_vs.is_partitioned_variable(var) else [var]
        for shard in shards:
            self._record(shard, unwrap_regularizer(regularizer), "layer")

    def single_variable(
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
        from_value = initializer is not None and not callable(initializer)
        # TF1 gives a variable made from a value, or from a callable taking no arguments when
        # no full shape is given, the value's own dtype (``dtype`` is not applied).
        own_dtype = from_value or (
            initializer is not None
            and (shape is None or not tf.TensorShape(shape).is_fully_defined())
            and _needs_no_arguments(initializer)
        )
        if self.requested_in_call(name):
            # Second request within this call: TF's own checks (reuse=False raises).
            return self.tf_single_variable(name, shape=shape, dtype=dtype, reuse=reuse, initializer=initializer)
        if reuse is True and name not in self.persistent:
            raise ValueError(
                "Variable %s does not exist, or was not created with "
                "tf.get_variable(). Did you mean to set "
                "reuse=tf.AUTO_REUSE in VarScope?" % name
            )
        dtype = tf.as_dtype(dtype)
        var = self.persistent.get(name)
        if var is None:
            if from_value and shape is not None:  # TF1's own argument error first, as in a graph build
                raise ValueError("If initializer is a constant, do not specify shape.")
            if not self.allow_create:
                # A request TF1 rejects (its initial value cannot be made) fails with TF1's
                # error on every graph build, the calls after the build included.
                self._initial_value(name, shape, dtype, initializer, partition_info)
                raise TF1VariableCreationError(
                    f"TF1Layer {self._layer_name!r}: the function asked for a new variable {name!r} "
                    f"(shape {shape}) after the layer was built. Its variables are created once, "
                    f"on the first call; got {sorted(self.persistent)[:8]}{'...' if len(self.persistent) > 8 else ''}. "
                    "Make the function create the same variables on every call (for example do "
                    "not make variable creation depend on Python state), or build a new TF1Layer."
                )
            value = self._initial_value(name, shape, dtype, initializer, partition_info)
            if trainable is None:
                trainable = synchronization != tf.VariableSynchronization.ON_READ
            # TF1: collections=[..., TRAINABLE_VARIABLES] makes it trainable whatever `trainable` says.
            trainable = bool(trainable) or TRAINABLE_VARIABLES in (collections or ())
            with _creating_keras_variable():
                var = self._create_fn(
                    name,
                    value,
                    trainable=trainable,
                    constraint=constraint,
                    synchronization=synchronization,
                    aggregation=aggregation,
                )
            self.persistent[name] = var
            if partition_info is not None:
                self.shards[name] = Shard(
                    name.rsplit("/part_", 1)[0],
                    partition_info.full_shape,
                    partition_info.var_offset,
                    value.shape.as_list(),
                )
        else:
            if shape is not None and not from_value and not tf.TensorShape(shape).is_compatible_with(var.shape):
                raise ValueError(
                    "Trying to share variable %s, but specified shape %s and found shape %s."
                    % (name, tf.TensorShape(shape), var.shape)
                )
            if not own_dtype and not dtype.is_compatible_with(var.dtype):
                raise ValueError(
                    "Trying to share variable %s, but specified dtype %s and found dtype %s."
                    % (name, dtype.name, var.dtype.name)
                )
        self.remember_in_call(name, var)
        graph = tf.compat.v1.get_default_graph()
        for key in collections or [GLOBAL_VARIABLES]:
            if key != TRAINABLE_VARIABLES:
                graph.add_to_collection(key, var)
        if self.is_trainable(name):
            graph.add_to_collection(TRAINABLE_VARIABLES, var)
        if regularizer:
            self._record(var, unwrap_regularizer(regularizer), "get_variable")
        return var

    def raw_variable_creator(self, next_creator, **kwargs):
        """``tf.variable_creator_scope`` hook: a raw ``tf.compat.v1.Variable(...)`` inside ``fn``.

        TF1 names it ``graph.unique_name(name)`` under the current name scope; it is
        created once, when the layer is built, and the i-th raw variable of every
        later call is the i-th one made then. Trainable as in TF1: ``trainable``
        (default True unless ON_READ) or ``TRAINABLE_VARIABLES`` in ``collections``.
        """
        if getattr(_making_keras_variable, "depth", 0):
            return next_creator(**kwargs)  # the bridge's own Keras variable, not TF1 code's
        index = self._call.raw_index
        self._call.raw_index = index + 1
        collections = kwargs.get("collections")
        if index < len(self.raw_names):
            name = self.raw_names[index]
            var = self.persistent[name]
        else:
            if not self.allow_create:
                raise TF1VariableCreationError(
                    f"TF1Layer {self._layer_name!r}: the function made a new tf.compat.v1.Variable "
                    f"({kwargs.get('name') or 'Variable'}) after the layer was built; it made "
                    f"{len(self.raw_names)} when it was built. Make the same variables on every call."
                )
            graph = tf.compat.v1.get_default_graph()
            name = graph.unique_name(kwargs.get("name") or "Variable", mark_as_used=True)
            value = kwargs.get("initial_value")
            with tf.init_scope():
                if callable(value):
                    value = value()
            if isinstance(value, tf.Tensor) and not hasattr(value, "numpy"):
                value = value_of_graph_tensor(value, f"the tf.compat.v1.Variable {name!r}")
            with tf.init_scope():
                dtype = kwargs.get("dtype")
                value = tf.convert_to_tensor(value, dtype=tf.as_dtype(dtype) if dtype is not None else None)
            synchronization = kwargs.get("synchronization") or tf.VariableSynchronization.AUTO
            trainable = kwargs.get("trainable")
            if trainable is None:
                trainable = synchronization != tf.VariableSynchronization.ON_READ
            # The creator scopes fn entered have already run on this request (they are above
            # this hook): they must not see the Keras variable made for it a second time.
            mine = self.raw_variable_creator
            with _creating_keras_variable(), _tf_vs.creators_up_to(mine), tf.init_scope(), _tf_vs.creators_up_to(mine):
                var = self._create_fn(
                    name,
                    value,
                    trainable=bool(trainable) or TRAINABLE_VARIABLES in (collections or ()),
                    constraint=kwargs.get("constraint"),
                    synchronization=synchronization,
                    aggregation=kwargs.get("aggregation") or tf.VariableAggregation.NONE,
                )
            self.persistent[name] = var
            self.raw_names.append(name)
        graph = tf.compat.v1.get_default_graph()
        for key in collections or [GLOBAL_VARIABLES]:
            if key != TRAINABLE_VARIABLES:
                graph.add_to_collection(key, var)
        if self.is_trainable(name):
            graph.add_to_collection(TRAINABLE_VARIABLES, var)
        return var

    def all_variables(self):
        return list(self.persistent.values())

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
            initializer, from_value = self.default_initializer(name, shape, dtype)
        if from_value and isinstance(initializer, tf.Tensor) and not hasattr(initializer, "numpy"):
            initializer = value_of_graph_tensor(initializer, f"variable {name!r}")
        with tf.init_scope():
            if from_value:
                # TF1 ignores `dtype` here: the variable has the value's own dtype.
                return _as_value_tensor(initializer, dtype)
            if inspect.isclass(initializer):
                initializer = initializer()
            if shape is None or not tf.TensorShape(shape).is_fully_defined():
                if _needs_no_arguments(initializer):
                    return _as_value_tensor(initializer(), dtype)
                if shape is None:
                    raise ValueError(
                        f"TF1Layer: variable {name!r} has no `shape` and its initializer {initializer!r} "
                        "needs arguments. Pass shape=..., or an initializer that takes no arguments "
                        "(lambda: value), or the value itself."
                    )
                raise ValueError(
                    f"TF1Layer: variable {name!r} has a shape that is not fully defined ({tf.TensorShape(shape)}); "
                    "TF1Layer creates variables when the layer is built, so their shapes must not "
                    "depend on the batch size."
                )
            shape = tf.TensorShape(shape)
            try:
                params = inspect.signature(initializer).parameters
            except (TypeError, ValueError):
                params = {}
            if "partition_info" in params:
                value = initializer(shape.as_list(), dtype=dtype, partition_info=partition_info)
            else:
                value = initializer(shape.as_list(), dtype=dtype)
            return tf.convert_to_tensor(value, dtype=dtype)


def _as_value_tensor(value, dtype):
    """A value initializer as TF1's ``tf.Variable(initial_value=value)`` sees it: its own dtype."""
    if isinstance(value, (tf.Tensor, tf.Variable)) or hasattr(value, "dtype"):
        return tf.convert_to_tensor(value)
    # Python values: TF's own inference (int -> int32, float -> float32), unless
    # get_variable was given a non-default dtype the value converts to.
    if dtype != tf.float32:
        try:
            return tf.convert_to_tensor(value, dtype=dtype)
        except (TypeError, ValueError):
            pass
    try:
        return tf.convert_to_tensor(value)
    except (TypeError, ValueError) as eager_error:
        # Eager conversion words some failures differently from the graph conversion TF1 ran
        # (initializer={}: ValueError eagerly, TypeError in a graph): raise TF1's error.
        with tf.Graph().as_default():
            try:
                tf.convert_to_tensor(value)
            except (TypeError, ValueError) as graph_error:
                raise graph_error from None
        raise eager_error


def weight_losses_of(pairs, frozen=()):
    """``regularizer(var)`` for each recorded ``(var, regularizer)`` pair, skipping ``frozen`` ids.

    As TF1 adds ``regularizer(v)`` once when ``v`` is created in a graph, under the
    name scope ``f"{name}/Regularizer"``.
    """
    losses = []
    for var, regularizer in pairs:
        if id(var) in frozen:
            continue
        name = var.name.split(":")[0]
        with tf.name_scope(f"{name}/Regularizer"):
            loss = regularizer(var)
        if loss is not None:
            losses.append(tf.convert_to_tensor(loss))
    return losses


def regularization_losses_now(layer_name, store, named_pairs, frozen=()):
    """The penalties of the build-time ``(tf1_name, regularizer)`` pairs, computed outside any call.

    Raises ``ValueError`` naming the variable when a regularizer cannot be computed
    outside the function (its scale is a tensor ``fn`` makes).
    """
    losses = []
    for name, regularizer in named_pairs:
        var = store.persistent[name]
        if id(var) in frozen:
            continue
        try:
            with tf.name_scope(f"{name}/Regularizer"):
                loss = regularizer(var)
        except (ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
            raise ValueError(
                f"TF1Layer {layer_name!r}: the regularizer {regularizer!r} of {name!r} cannot be "
                f"computed outside the function ({type(error).__name__}: {error}). Its scale is "
                "probably a tensor the function makes (e.g. a trainable coefficient's value); "
                "call the layer and use layer.losses instead."
            ) from error
        if loss is not None:
            losses.append(tf.convert_to_tensor(loss))
    return losses
