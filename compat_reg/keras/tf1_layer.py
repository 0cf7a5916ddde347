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

How it works (the traps it avoids, and where it differs from tf_keras' shim on
purpose, are in ``docs/keras_bridge.md``): every call of ``fn`` is a TF1 graph build
(``build_window``) in graph mode — the ``tf.function`` Keras is tracing or, for an
eager call, one of the layer's own — with the layer's variable store
(``variable_store``), and every collection is restored after it. ``UPDATE_OPS``
need no handling: TF2 runs every stateful op of a traced function. The training
flag goes to ``is_training``/``training`` or to ``training_arg=`` (``training_arg``).
A second call in the same forward pass (a shared tower) adds no second weight
penalty, as TF1's ``reuse=True``; activity penalties count once per call.

The concepts live in their own modules: ``build_window`` (one TF1 graph build per
call), ``variable_store`` (``get_variable`` semantics), ``activity`` (activity
penalties and their conventions), ``checkpoint`` (TF1 Saver checkpoints).
"""

import contextlib
import re

import numpy as np
import tensorflow as tf

from compat_reg import _flavor
from compat_reg import _registry
from compat_reg._internals import tf_variable_scope as _tf_vs
from compat_reg.keras import activity as _activity
from compat_reg.keras import build_window
from compat_reg.keras import checkpoint as _checkpoint
from compat_reg.keras import construction as _construction
from compat_reg.keras import input_spec as _input_spec
from compat_reg.keras import keras_variables as _keras_variables
from compat_reg.keras import conventions as _conventions
from compat_reg.keras import training_arg as _training_arg
from compat_reg.keras.variable_store import BridgeVariableStore
from compat_reg.keras.variable_store import TF1VariableCreationError
from compat_reg.keras.variable_store import regularization_losses_now
from compat_reg.keras.variable_store import weight_losses_of

REGULARIZATION_LOSSES = _registry.REGULARIZATION_LOSSES
TRAINABLE_VARIABLES = tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES
_RESERVED = ("name", "conventions", "training_arg")

__all__ = ["TF1Layer", "TF1VariableCreationError", "tf1_layer"]


def _layer_name_from(fn):
    base = getattr(fn, "__name__", None) or type(fn).__name__
    base = re.sub(r"[^0-9A-Za-z_.-]", "_", base).strip("_") or "tf1_layer"
    return base if base != "lambda" else "tf1_layer"


def _make_layer_class():
    keras = _flavor.keras()

    class TF1Layer(keras.layers.Layer):
        """A Keras layer running a TF1-style model function ``fn(inputs, **fn_kwargs)``.

        Args:
          fn: the TF1 model function. Its first argument receives the layer's inputs.
          name: the layer name (default: ``fn.__name__``).
          conventions: a ``compat_reg.keras.Conventions`` (default
            ``Conventions.tf1()``: activity penalties as the TF1 code wrote them,
            regularizers of frozen weights counted).
          training_arg: the parameter of ``fn`` that receives Keras' ``training``
            flag (default: ``is_training`` or ``training`` if ``fn`` has one).
          **fn_kwargs: passed to ``fn`` at every call. ``name``, ``conventions`` and
            ``training_arg`` are reserved.

        Reproduces TF1 graph mode: ``sum(layer.losses)`` after a call equals
        ``get_regularization_loss()`` of ``fn`` built in a fresh ``tf.Graph`` with
        the same weights. Variables are created at build time from one trace of
        ``fn`` per value of the training flag (shapes must not depend on the batch
        size).

        Raises:
          ValueError: a boolean parameter of ``fn`` looks like a training flag
            (``phase_train``...) and is neither wired nor fixed.
          RuntimeError: under a Keras 3 backend other than TensorFlow.

        >>> def net(x, is_training=False):
        ...     with tf.compat.v1.variable_scope("dense", regularizer=compat_reg.l2_regularizer(0.1)):
        ...         w = tf.compat.v1.get_variable("w", [3, 2])
        ...     return tf.matmul(x, w)
        >>> layer = TF1Layer(net)
        >>> y = layer(tf.ones([4, 3]))
        >>> sorted(layer.tf1_variables)
        ['dense/w']
        """

        def __init__(self, fn, name=None, conventions=None, training_arg=None, **fn_kwargs):
            _flavor_check()
            if not callable(fn):
                raise TypeError(
                    f"TF1Layer: `fn` must be a callable TF1-style model function fn(inputs, ...). "
                    f"Received: fn={fn!r} of type {type(fn).__name__}"
                )
            super().__init__(name=name or _layer_name_from(fn))
            self._tf1_fn = fn
            self._tf1_fn_kwargs = dict(fn_kwargs)
            self._tf1_conventions = _conventions.as_conventions(conventions)
            self._tf1_training_arg = _training_arg.training_parameter(fn, fn_kwargs, training_arg, self.name)
            self._tf1_store = BridgeVariableStore(self._create_tf1_variable, self.name, self._is_trainable_tf1)
            self._tf1_sublayers = []  # TF1Layers fn calls (tracked by Keras: weights and losses)
            self._tf1_store.adopt_sublayer = self._adopt_tf1_sublayer
            self._tf1_build_spec = None
            self._tf1_first_training = False
            self._tf1_eager_fn = None
            self._tf1_weight_pairs = []  # (tf1 name, regularizer) recorded when built
            self._tf1_last_weight_losses = []  # what the latest call added (shared-call dedup)
            self._tf1_called_on_data = False  # until then, losses are computed on access (construction)
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
        def training_arg(self):
            """The parameter of ``fn`` that receives Keras' ``training`` flag (or None)."""
            return self._tf1_training_arg

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
            return regularization_losses_now(self.name, self._tf1_store, self._tf1_weight_pairs, frozen)

        def load_tf1_checkpoint(self, path, scope=None):
            """Assign every variable from a TF1 checkpoint, matching by TF1 name.

            Reads a checkpoint written by ``tf.compat.v1.train.Saver`` (or any
            name-based checkpoint) for the same function; see
            ``compat_reg.keras.checkpoint``. ``scope``: the variable scope the TF1
            graph built ``fn`` under, if any. Returns the list of TF1 names assigned.

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
            return _checkpoint.load_tf1_checkpoint(self.name, self._tf1_store, path, scope)

        # --- Keras hooks -----------------------------------------------------

        def __call__(self, *args, **kwargs):
            inputs = args[0] if args else kwargs.get("inputs")
            if not self.built and self._tf1_build_spec is None:
                if inputs is not None:
                    self._tf1_build_spec = tf.nest.map_structure(
                        lambda x: _input_spec.spec_of(x, self._float_dtype()), inputs
                    )
                training = kwargs.get("training", args[1] if len(args) > 1 else None)
                if isinstance(training, (bool, np.bool_)):
                    self._tf1_first_training = bool(training)
            elif self.built and inputs is not None and self._tf1_build_spec is not None:
                _input_spec.check_input_shapes(self.name, self._tf1_build_spec, inputs)
            if _construction.is_construction_call(keras, inputs):  # Keras' scratch-graph trace
                with _construction.tracing(self):
                    return super().__call__(*args, **kwargs)
            return super().__call__(*args, **kwargs)

        def _float_dtype(self):
            return getattr(self, "compute_dtype", None) or self.dtype or "float32"

        def build(self, input_shape):
            spec = self._tf1_build_spec
            if spec is None:
                spec = self._tf1_build_spec = _input_spec.spec_from_shape(input_shape, self._float_dtype())
            # One trace of fn per value of the training flag, in a scratch function
            # graph, creates the variables (lifted out of it by init_scope): both
            # branches share them, whichever the first call uses. The graph is dropped.
            branches = [self._tf1_first_training]
            if self._tf1_training_arg is not None:
                branches.append(not self._tf1_first_training)
            pairs, in_trainable = [], None
            for branch, training in enumerate(branches):
                existing = set(self._tf1_store.persistent)
                scratch = tf.__internal__.FuncGraph(f"{self.name}_tf1_build", collections={})
                with scratch.as_default():
                    placeholders = tf.nest.map_structure(
                        lambda s: tf.compat.v1.placeholder(s.dtype, s.shape), spec
                    )
                    _, _, _, trainable_now, call_pairs = self._run_tf1(placeholders, training, allow_create=True)
                names = {id(v): n for n, v in self._tf1_store.persistent.items()}
                # The other branch adds only penalties of variables the first did not regularize
                # (its regularizer objects are new ones for the same variables).
                regularized = {n for n, _ in pairs}
                pairs.extend(
                    (names[id(v)], r) for v, r in call_pairs if not branch or names[id(v)] not in regularized
                )
                # As one TF1 graph building both branches (reuse): a variable's trainability is
                # decided by the branch that creates it (the other branch's collection does not list
                # variables it never touches).
                if in_trainable is None:
                    in_trainable = trainable_now
                else:
                    in_trainable = (in_trainable & existing) | (trainable_now - existing)
            self._tf1_weight_pairs = pairs
            if self.trainable:
                self._apply_tf1_trainability(in_trainable)
            self.built = True

        # TF1 code ran without autograph; converting it (tf_keras does for functional
        # models, tf.function for fit) only costs time (x8 for resnet_v1_50 here).
        @tf.autograph.experimental.do_not_convert
        def call(self, inputs, training=None):
            if _construction.in_construction():  # its losses would be dead-graph tensors
                return self._run_tf1(inputs, training)[0]
            self._tf1_called_on_data = True
            if tf.executing_eagerly():
                if self._tf1_eager_fn is None:
                    self._tf1_eager_fn = tf.function(
                        lambda x, training, trainable_key: self._run_tf1(x, training)[:3],
                        reduce_retracing=True,
                        autograph=False,
                    )
                inputs = tf.nest.map_structure(tf.convert_to_tensor, inputs)
                # Which variables are trainable decides the frozen-weight convention
                # and TRAINABLE_VARIABLES: retrace when it changes (layer.trainable = ...).
                trainable_key = tuple(id(v) for v in self.trainable_weights)
                outputs, weight_losses, other_losses = self._tf1_eager_fn(inputs, bool(training), trainable_key)
            else:
                parent = build_window.current_store()
                outputs, weight_losses, other_losses, _, _ = self._run_tf1(inputs, training)
                if parent is not None and parent is not self._tf1_store:
                    # Called inside another TF1Layer's fn: its penalties are TF1 collection
                    # entries of that call (weight penalties once per outer call, as reuse=True).
                    if id(self) in parent.nested_weight_penalties:
                        weight_losses = []
                    parent.nested_weight_penalties.add(id(self))
                    for loss in weight_losses + other_losses:
                        tf.compat.v1.add_to_collection(REGULARIZATION_LOSSES, loss)
                    return outputs
            # A second call in the same forward pass (shared tower) reuses the
            # variables: TF1 with reuse=True adds no second weight penalty.
            if not self._weight_losses_added_in_this_pass():
                for loss in weight_losses:
                    self.add_loss(loss)
                self._tf1_last_weight_losses = list(weight_losses)
            for loss in other_losses:
                self.add_loss(loss)
            return outputs

        def get_config(self):
            raise NotImplementedError(
                f"TF1Layer {self.name!r} wraps the Python function {self._tf1_fn!r}, which Keras "
                "cannot serialize. Save and restore its weights with save_weights/load_weights "
                "(or a TF1 checkpoint with load_tf1_checkpoint) and rebuild the layer in code."
            )

        # --- internals -------------------------------------------------------

        def _weight_losses_added_in_this_pass(self):
            """True when this forward pass already holds this layer's weight penalties (a shared call).

            Keras clears a layer's call losses at the start of each outermost call,
            so the penalties of the latest call still being in ``self.losses``, made
            in the graph being built now (or both eager), means a second call in the
            same pass. (tf_keras keeps functional-construction losses, made in
            another graph, for ever: those do not count.)
            """
            if not self._tf1_last_weight_losses:
                return False
            first = self._tf1_last_weight_losses[0]
            if _graph_of(first) is not (None if tf.executing_eagerly() else tf.compat.v1.get_default_graph()):
                return False
            return any(loss is first for loss in self.losses)

        def _adopt_tf1_sublayer(self, layer):
            if not any(layer is known for known in self._tf1_sublayers):
                self._tf1_sublayers.append(layer)

        def _create_tf1_variable(self, name, value, trainable, constraint, synchronization, aggregation):
            with tf.init_scope(), _keras_variables.outside_symbolic_scope():
                if _flavor.is_keras3():
                    kv = _keras_variables.new_keras3_variable(keras, name, value, trainable, synchronization, aggregation)
                    if constraint is not None:
                        kv.constraint = _keras_variables.keras3_constraint(keras, constraint)
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
            return _tf_vs.adopt_tf1_view(tf_var, name, constraint)

        def _apply_tf1_trainability(self, in_trainable):
            """Match Keras' flags to TF1's: trainable iff in TRAINABLE_VARIABLES after the build trace."""
            for name, kv in self._tf1_store.keras_variables.items():
                want = name in in_trainable
                if want == self._is_trainable_tf1(name):
                    continue
                _keras_variables.set_trainable(self, kv, self._tf1_store.persistent[name], want)

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
            """Run ``fn`` once as a TF1 graph build.

            Returns ``(outputs, weight_losses, other_losses, trainable_names, pairs)``:
            the per-variable penalties, the other collection entries (activity,
            group, manual) under the layer's conventions, the TF1 names in
            ``TRAINABLE_VARIABLES`` at the end of the call, and the recorded
            ``(variable, regularizer)`` pairs.
            """
            if tf.executing_eagerly():  # pragma: no cover - callers guarantee graph mode
                raise RuntimeError("TF1Layer._run_tf1 must run in graph mode (inside a tf.function).")
            kwargs = dict(self._tf1_fn_kwargs)
            if self._tf1_training_arg is not None:
                kwargs[self._tf1_training_arg] = False if training is None else training
            store = self._tf1_store
            conv = self._tf1_conventions
            graph = tf.compat.v1.get_default_graph()
            parent = build_window.current_store()
            if parent is not None and parent is not store and parent.adopt_sublayer is not None:
                parent.adopt_sublayer(self)  # a TF1Layer called in another's fn is its sublayer
            # TF1 builds fn at the graph's root name scope; a tf_keras functional model calls
            # layers under their own (original_name_scope would carry the layer's name).
            root = graph.name_scope(None) if not _flavor.is_keras3() and parent is None else contextlib.nullcontext()
            with root, build_window.fresh_tf1_build(graph, store) as capture:
                store.begin_call(allow_create)
                with _activity.recording() as records, _tf_vs.variable_creator_scope_tolerating_leaks(store.raw_variable_creator):
                    outputs = self._tf1_fn(inputs, **kwargs)
                frozen = self._frozen_ids() if not conv.count_frozen_weights else ()
                weight_losses = weight_losses_of(store.pairs, frozen)
                other = []
                for loss in capture.added_regularization_losses():
                    loss = _activity.under_conventions(tf.convert_to_tensor(loss), records, conv)
                    if loss.shape.rank not in (0, None):
                        raise ValueError(
                            f"TF1Layer {self.name!r}: the function added {loss.name!r} of shape "
                            f"{loss.shape} to REGULARIZATION_LOSSES; every regularization loss must "
                            "be a scalar (TF1's get_regularization_loss could not sum it either). "
                            "Reduce it with tf.reduce_sum before adding it."
                        )
                    other.append(loss)
                in_trainable = graph.get_collection(TRAINABLE_VARIABLES)
                trainable_names = {
                    n for n, v in store.persistent.items() if any(v is t for t in in_trainable)
                }
                pairs = list(store.pairs)
            return outputs, weight_losses, other, trainable_names, pairs

    return TF1Layer


def _graph_of(tensor):
    """The graph of a symbolic tensor; None for an eager one."""
    try:
        return tensor.graph
    except AttributeError:
        return None


def _flavor_check():
    """TF1Layer runs TensorFlow graphs: under a Keras 3 backend other than TensorFlow it cannot work."""
    backend = _flavor.keras().backend.backend() if _flavor.is_keras3() else "tensorflow"
    if backend != "tensorflow":
        raise RuntimeError(
            f"TF1Layer runs TF1 graph code (variable scopes, collections, tf.compat.v1 ops), which "
            f"only the TensorFlow backend can execute; Keras runs on the {backend!r} backend "
            f"(KERAS_BACKEND={backend}). Port the function instead: `compat-reg migrate` rewrites "
            "its regularizers for Keras, then `compat-reg check OLD NEW --backend "
            f"{backend}` proves the Keras port equal to the TF1 original (docs/keras_bridge.md)."
        )


TF1Layer = _make_layer_class()
_construction.install(TF1Layer)
TF1Layer.__qualname__ = "TF1Layer"
TF1Layer.__module__ = __name__

from compat_reg.keras.decorator import tf1_layer  # noqa: E402  (the decorator form)
