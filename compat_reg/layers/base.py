"""The TF1 layer protocol every ``compat_reg.layers`` class follows (``tf.compat.v1.layers.Layer``'s).

A TF1 layer is a callable object that, the first time it is applied, opens a
variable scope named after it and creates its variables there with
``tf.compat.v1.get_variable``; every later application reuses them. The rules
matched (tf_keras 2.21 ``legacy_tf_layers/base.py``, which is ``tf.compat.v1.layers``):

* **scope**: the class form opens ``variable_scope(None, default_name=name or
  "<snake_case class>")`` lazily, so two layers get ``dense`` and ``dense_1``;
  the function form passes its ``name`` as a fixed scope (``variable_scope(name)``,
  no uniquification: the same ``name`` twice needs ``reuse=True``); with
  ``reuse`` truthy the class form opens ``variable_scope(name)`` too.
* **variables**: ``get_variable(name, ...)`` inside that scope with ``reuse``
  set once the layer is built, ``trainable = trainable and layer.trainable``; an
  initializer of ``None`` falls back to the scope's initializer then to
  ``get_variable``'s default (Glorot uniform).
* **regularizers**: ``kernel_regularizer`` & co. add ``regularizer(v)`` to
  ``REGULARIZATION_LOSSES`` once, when ``v`` is created, under
  ``<scope>/<name>/Regularizer/``; an enclosing ``variable_scope(regularizer=r)``
  adds ``r(v)`` for every variable of the layer as well (also for those that
  have their own). Here the layer's own regularizer goes through
  ``get_variable(regularizer=)``, so ``compat_reg.keras.TF1Layer`` records it as
  the variable's penalty.
* **activity regularizer**: ``activity_regularizer(y) / batch_size`` (Keras 2's
  convention), ``<scope>/ActivityRegularizer/truediv``, added to
  ``REGULARIZATION_LOSSES`` at every application.
* **updates**: ops the layer makes to be run with the train op (batch norm's
  moving averages) go to ``UPDATE_OPS`` at every application.
* **ops** are named in the variable scope's original name scope
  (``dense/MatMul``, ``dense/BiasAdd``).
"""

import tensorflow as tf

from compat_reg._registry import REGULARIZATION_LOSSES

UPDATE_OPS = tf.compat.v1.GraphKeys.UPDATE_OPS

_DATA_FORMATS = {"channels_last": "channels_last", "channels_first": "channels_first"}
_PADDINGS = ("valid", "same")


# ----------------------------------------------------------------------------
# Argument normalization (Keras 2's conv_utils rules, with Keras-style messages).
# ----------------------------------------------------------------------------


def normalize_tuple(value, n, argument):
    """An int or an iterable of ``n`` ints as a tuple of ``n`` ints."""
    if isinstance(value, int):
        return (value,) * n
    try:
        values = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        values = ()
    if len(values) != n:
        raise ValueError(
            f"Invalid value for argument `{argument}`. Expected an int or a tuple of {n} ints. "
            f"Received: {argument}={value!r}"
        )
    return values


def normalize_padding(padding, allowed=_PADDINGS):
    """``"valid"`` / ``"same"`` (case-insensitive), lower case."""
    value = padding.lower() if isinstance(padding, str) else padding
    if value not in allowed:
        raise ValueError(
            f"Invalid value for argument `padding`. Expected one of {set(allowed)}. Received: padding={padding!r}"
        )
    return value


def normalize_data_format(data_format):
    """``"channels_last"`` (the default when ``None``) or ``"channels_first"``."""
    if data_format is None:
        return "channels_last"
    value = data_format.lower() if isinstance(data_format, str) else data_format
    if value not in _DATA_FORMATS:
        raise ValueError(
            "Invalid value for argument `data_format`. Expected one of {'channels_last', 'channels_first'}. "
            f"Received: data_format={data_format!r}"
        )
    return value


def tf_data_format(data_format, rank):
    """TensorFlow's layout string for ``rank`` spatial dims: ``NHWC``-like or ``NCHW``-like."""
    spatial = {1: "W", 2: "HW", 3: "DHW"}[rank]
    return f"N{spatial}C" if data_format == "channels_last" else f"NC{spatial}"


def smart_cond(pred, true_fn, false_fn):
    """``true_fn()`` / ``false_fn()`` when ``pred`` is a Python bool or a constant tensor; else ``tf.cond``."""
    value = pred if isinstance(pred, bool) else tf.get_static_value(pred)
    if value is None:
        return tf.cond(pred, true_fn, false_fn)
    return true_fn() if bool(value) else false_fn()


def training_value(training):
    """``training`` as a Python bool when it is known now, else ``None`` (a bool tensor)."""
    if isinstance(training, bool):
        return training
    if training is None:
        return False
    value = tf.get_static_value(training)
    return None if value is None else bool(value)


def _new_parts(variable, before):
    """The variable (or a ``PartitionedVariable``'s shards) whose ids are not in ``before``."""
    parts = [variable] if isinstance(variable, tf.Variable) else list(variable)
    return [part for part in parts if id(part) not in before]


# ----------------------------------------------------------------------------
# The layer base class.
# ----------------------------------------------------------------------------


class Layer:
    """Base of the TF1 layers: scope, variables, losses and updates as ``tf.compat.v1.layers.Layer``.

    Subclasses set ``BASE_NAME`` and implement ``build(input_shape)`` (creating
    variables with :meth:`add_weight`) and ``call(inputs, ...)``.

    Args:
      trainable: whether the layer's variables are trainable (in
        ``TRAINABLE_VARIABLES``).
      name: the layer's name, which is the base of its variable scope.
      dtype: the variables' dtype; ``None`` takes the first input's (float32 for
        non-float inputs).
      activity_regularizer: optional ``callable(outputs) -> scalar``.
    """

    BASE_NAME = "layer"

    def __init__(self, trainable=True, name=None, dtype=None, activity_regularizer=None, **kwargs):
        scope = kwargs.pop("_scope", None)
        self._reuse = kwargs.pop("_reuse", None)
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword arguments {sorted(kwargs)}; "
                "tf.compat.v1.layers takes the same arguments as this layer's signature."
            )
        self.trainable = trainable
        self.dtype = tf.as_dtype(dtype) if dtype is not None else None
        self.activity_regularizer = activity_regularizer
        self.built = False
        if isinstance(name, tf.compat.v1.VariableScope):
            name = name.name
        self._base_name = name or self.BASE_NAME
        self.name = self._base_name
        self._updates = []
        self.losses = []
        self.variables = []
        self._trainable_flags = []
        self._scope = None
        self._current_scope = None
        self._graph = None  # the graph of the last call
        self._penalties = []  # (variable or shard, regularizer, variable name) for the variables this layer created
        if scope:
            with tf.compat.v1.variable_scope(scope) as captured:
                self._scope = captured
            self.name = captured.name.rsplit("/", 1)[-1]

    # -- scope ------------------------------------------------------------------

    @property
    def scope_name(self):
        """The layer's variable scope (``"dense_1"``); set by the first call."""
        if self._scope is None:
            raise ValueError(
                f"Layer {self._base_name!r} has no scope yet: the scope name is decided the first time "
                "the layer is called. Call the layer before reading `scope_name`."
            )
        return self._scope.name

    def _set_scope(self, scope=None):
        if self._scope is not None:
            return
        if self._reuse:
            context = tf.compat.v1.variable_scope(scope if scope is not None else self._base_name)
        else:
            context = tf.compat.v1.variable_scope(scope, default_name=self._base_name)
        with context as captured:
            self._scope = captured
        self.name = captured.name.rsplit("/", 1)[-1]

    # -- variables --------------------------------------------------------------

    @property
    def trainable_variables(self):
        """The layer's variables that are trainable (TF1: in ``TRAINABLE_VARIABLES``)."""
        return [v for v, trainable in self.variables_and_flags if trainable]

    @property
    def non_trainable_variables(self):
        return [v for v, trainable in self.variables_and_flags if not trainable]

    trainable_weights = trainable_variables
    non_trainable_weights = non_trainable_variables

    @property
    def weights(self):
        return self.trainable_variables + self.non_trainable_variables

    @property
    def variables_and_flags(self):
        return list(zip(self.variables, self._trainable_flags))

    def add_weight(
        self,
        name,
        shape,
        dtype=None,
        initializer=None,
        regularizer=None,
        trainable=True,
        constraint=None,
        synchronization=tf.VariableSynchronization.AUTO,
        aggregation=tf.VariableAggregation.NONE,
        partitioner=None,
    ):
        """``tf.compat.v1.get_variable(name, ...)`` in the layer's scope, TF1's regularizer rules applied.

        ``regularizer(v)`` is added once, when ``v`` is created; the enclosing
        scope's regularizer, if any, is added for ``v`` as well (TF1's legacy
        layers add both).
        """
        self._set_scope(None)
        reuse = True if self.built else self._reuse
        dtype = tf.as_dtype(dtype or self.dtype or tf.float32)
        with tf.compat.v1.variable_scope(self._scope, reuse=reuse, auxiliary_name_scope=False) as scope:
            self._current_scope = scope
            with tf.name_scope(scope.original_name_scope):
                # Partitioned: TF1 adds the layer's own penalty per shard as `<scope>/<name>/Regularizer`,
                # after get_variable has added the scope's; get_variable would name it `<name>/part_0/...`.
                partitioned = (partitioner or scope.partitioner) is not None and regularizer is not None
                both = regularizer is not None and scope.regularizer is not None and not partitioned
                losses = tf.compat.v1.get_collection_ref(REGULARIZATION_LOSSES)
                count = len(losses)
                maybe_shared = scope.reuse is tf.compat.v1.AUTO_REUSE
                needs_before = both or partitioned or maybe_shared
                before = {id(v) for v in tf.compat.v1.global_variables()} if needs_before else ()
                variable = tf.compat.v1.get_variable(
                    name,
                    shape=shape,
                    dtype=dtype,
                    initializer=initializer,
                    regularizer=None if partitioned else regularizer,
                    trainable=bool(trainable and self.trainable),
                    constraint=constraint,
                    partitioner=partitioner,
                    synchronization=synchronization,
                    aggregation=aggregation,
                )
                created = [] if scope.reuse is True else _new_parts(variable, before)
                self._penalties.extend(
                    (part, r, name) for part in created for r in (scope.regularizer, regularizer) if r is not None
                )
                if partitioned:
                    for part in created:
                        with tf.name_scope(f"{name}/Regularizer"):
                            loss = regularizer(part)
                        if loss is not None:
                            tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, loss)
                if both:
                    self._add_scope_regularizer(scope, variable, before, losses, count)
                self.losses.extend(losses[count:])
        self.variables.append(variable)
        self._trainable_flags.append(bool(trainable and self.trainable))
        return variable

    @staticmethod
    def _add_scope_regularizer(scope, variable, before, losses, count):
        """Add ``scope.regularizer(v)`` for each new shard, before the layer's own penalty (TF1's order)."""
        for part in _new_parts(variable, before):
            name = part.name.split(":")[0]
            with tf.name_scope(f"{name}/Regularizer/"):
                loss = scope.regularizer(part)
            if loss is None:
                continue
            if len(losses) == count:  # get_variable added nothing (e.g. TF1Layer's store records it instead)
                tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, loss)
            else:
                losses.insert(count, loss)
            count += 1

    # -- calling ----------------------------------------------------------------

    def build(self, input_shape):
        """Create the variables for inputs of ``input_shape`` (nothing by default)."""

    def call(self, inputs, **kwargs):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def apply(self, inputs, *args, **kwargs):
        """The same as calling the layer (``tf.compat.v1.layers.Layer.apply``)."""
        return self(inputs, *args, **kwargs)

    def __call__(self, inputs, *args, **kwargs):
        if tf.executing_eagerly():
            raise RuntimeError(
                f"compat_reg.layers.{type(self).__name__} builds TF1 graph code: call it inside a tf.Graph "
                "(`with tf.Graph().as_default():`), a tf.function, or a compat_reg.keras.TF1Layer, "
                "not eagerly."
            )
        scope = kwargs.pop("scope", None)
        self._set_scope(scope)
        reuse = True if self.built else self._reuse
        graph = tf.compat.v1.get_default_graph()
        with tf.compat.v1.variable_scope(self._scope, reuse=reuse, auxiliary_name_scope=False) as var_scope:
            self._current_scope = var_scope
            with tf.name_scope(var_scope.original_name_scope):
                inputs = tf.convert_to_tensor(inputs)
                if self.dtype is None:
                    self.dtype = inputs.dtype.base_dtype if inputs.dtype.is_floating else tf.float32
                if inputs.dtype.is_floating and inputs.dtype.base_dtype != self.dtype:
                    inputs = tf.cast(inputs, self.dtype)
                if not self.built:
                    self.build(inputs.shape)
                    self.built = True
                elif graph is not self._graph:
                    self._add_penalties_again()
                self._graph = graph
                start = len(self._updates)
                outputs = self.call(inputs, *args, **kwargs)
                if self.activity_regularizer is not None:
                    self._add_activity_loss(outputs)
        if self.trainable:  # TF1: a frozen layer reports no updates (its ops are built, never collected)
            for update in self._updates[start:]:
                tf.compat.v1.add_to_collection(UPDATE_OPS, update)
        return outputs

    def _add_penalties_again(self):
        """Called in a graph other than the one it was built in: add its variables' penalties there too.

        ``compat_reg.keras.TF1Layer`` traces every call in a graph of its own, and a
        layer object made outside the function it runs is built only in the first; its
        ``get_variable`` penalties would be missing from the later ones. As tf_keras'
        legacy layers do under TF2, the penalties are added to the collection of the
        new graph (TF1Layer counts them once per call).
        """
        for part, regularizer, name in self._penalties:
            with tf.name_scope(f"{name}/Regularizer"):
                loss = regularizer(part)
            if loss is not None:
                self.losses.append(loss)
                tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, loss)

    def _add_activity_loss(self, outputs):
        """``activity_regularizer(y) / batch_size`` into ``REGULARIZATION_LOSSES`` (Keras 2's convention)."""
        with tf.name_scope("ActivityRegularizer"):
            for output in tf.nest.flatten(outputs):
                raw = tf.convert_to_tensor(self.activity_regularizer(output))
                batch = tf.cast(tf.compat.v1.shape(output)[0], raw.dtype)
                loss = raw / batch
                self.losses.append(loss)
                tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, loss)

    @property
    def updates(self):
        """The update ops of every call so far; none when the layer is not trainable (as TF1)."""
        return list(self._updates) if self.trainable else []

    def add_update(self, update):
        """Record an update (a tensor or an op) to run with the train op; it goes to ``UPDATE_OPS``."""
        self._updates.append(update if isinstance(update, tf.Operation) else update.op)

    def __repr__(self):
        return f"<compat_reg.layers.{type(self).__name__} {self.name!r}>"
