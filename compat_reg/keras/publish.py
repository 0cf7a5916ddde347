"""``publish_losses``: a Keras model's ``losses`` into a TF1 graph's ``REGULARIZATION_LOSSES``.

Keras layers never write to the TF1 collection, so an unmodified TF1 training
loop — ``tf.compat.v1.losses.get_regularization_loss()``, ``get_total_loss()``,
``get_collection(REGULARIZATION_LOSSES)`` — trains a Keras model built in its
graph with zero regularization. After ``publish_losses(model)`` it trains it with
the model's regularization::

    REGULARIZATION_LOSSES += [model's losses not yet published]

What works under each flavor (decided from the installed Keras 3.15 / tf_keras
2.21, and tested):

* **tf_keras**: the classic TF1 way. A model built (or called) inside a
  ``tf.Graph`` runs in graph mode; its weight regularizers, activity losses and
  ``add_loss``/``add_callable_loss`` losses are graph tensors.
* **Keras 3**: no TF1 graph mode as such, but a model *created* inside
  ``with graph.as_default():`` makes graph variables (initialized by
  ``tf.compat.v1.global_variables_initializer()``), can be called on graph
  tensors (placeholders, ``tf.data`` iterators) and its ``losses`` are graph
  tensors: weight regularizers read from the graph variables, and the activity
  losses of the last call on graph tensors. A Keras 3 model created eagerly
  cannot be used in a graph (its variables are eager); ``publish_losses``
  raises and names the two alternatives (create it in the graph, or train it
  the TF2 way, where ``fit`` already adds ``model.losses``).

Conventions (``conventions=``, a ``compat_reg.keras.Conventions``; default
``Conventions.tf1()``, what TF1 code did):

* ``frozen_weights="count"`` (default): regularizers of non-trainable weights
  are published, as the TF1 collection and tf_keras count them — under Keras 3,
  which leaves them out of ``model.losses``, ``publish_losses`` adds
  ``regularizer(w)`` for them. ``"skip"``: they are left out (Keras 3's rule),
  under tf_keras too.
* ``activity_loss``: Keras (tf_keras and Keras >= 3.14) already divides each
  activity penalty by the batch size, as ``tf.compat.v1.layers`` did, so
  ``"as_written"`` and ``"batch_mean"`` publish the Keras value. ``"sum"`` cannot
  be recovered from a Keras activity loss and raises if the model has activity
  regularizers. Keras 3 before 3.14 adds the raw sum: there ``"as_written"`` and
  ``"sum"`` publish the Keras value and ``"batch_mean"`` raises.

Idempotence: calling ``publish_losses`` again for the same model adds only
losses that are new (e.g. activity losses of a new call). Keras recomputes
weight-regularization tensors at every read of ``losses``, so "already
published" is decided on what a tensor computes, not on tensor identity: each
loss gets a structural signature of its graph (op types, attributes, and the
variables, placeholders and stateful ops it reads), and the published
signatures are counted per graph. A model whose ``losses`` legitimately holds
two equal penalties (a layer called twice on the same input) publishes both.

Published tensors are ``tf.identity`` copies named
``<model.name>/regularization_loss[_N]``, so ``get_regularization_loss(scope=
model.name)`` selects them.

tf_keras keeps the activity losses of *every* call in ``model.losses``: a
functional model built on ``keras.Input(shape)`` and then called on a tensor
``x`` has activity losses on both, and the first kind reads the ``Input``
placeholder that a loop fed with ``x`` never feeds. When the model has losses on
other input data, those construction-call losses are not published, with a
warning that names them (build the model on ``keras.Input(tensor=x)`` to avoid
them). A model used only through its ``Input`` placeholders publishes them all.
"""

import collections
import hashlib
import warnings
import weakref

import tensorflow as tf

from compat_reg import _flavor
from compat_reg import _graph_walk
from compat_reg._registry import REGULARIZATION_LOSSES
from compat_reg.keras.conventions import ActivityLoss
from compat_reg.keras.conventions import as_conventions

# graph -> Counter of signatures published into it by publish_losses.
_PUBLISHED = weakref.WeakKeyDictionary()

# Ops that read state but, for the same input, compute the same value every time.
_PURE_READS = {"ReadVariableOp", "Identity", "Enter"}
# Leaf ops identified by name: the same op is the same variable / input.
_NAMED_LEAVES = {"VarHandleOp", "VariableV2", "Variable", "Placeholder", "PlaceholderWithDefault"}


def _eager_error(model_name):
    return RuntimeError(
        f"publish_losses(model={model_name!r}) needs a tf.compat.v1 graph, but TensorFlow is "
        "executing eagerly and no graph was given. Call it inside `with graph.as_default():` "
        "(the graph your TF1 training loop builds), or pass graph=. In TF2 code there is "
        "nothing to publish: model.fit already adds model.losses, and a custom loop adds "
        "tf.add_n(model.losses) itself."
    )


def _tf_variable(weight):
    """The ``tf.Variable`` behind a Keras weight (Keras 3 wraps one in ``.value``)."""
    if isinstance(weight, tf.Variable):
        return weight
    inner = getattr(weight, "value", None)
    return inner if isinstance(inner, tf.Variable) else None


def _check_model_in_graph(model, graph):
    for weight in model.weights:
        var = _tf_variable(weight)
        if var is None:
            continue
        in_graph = getattr(var, "_in_graph_mode", False)
        if not in_graph or var.graph is not graph:
            where = "eagerly" if not in_graph else "in another tf.Graph"
            raise ValueError(
                f"publish_losses: weight {weight.name!r} of model {model.name!r} was created "
                f"{where}, not in the graph to publish into ({graph!r}). Create the Keras model "
                "inside `with graph.as_default():` (both Keras 3 and tf_keras then make graph "
                "variables), or, for a model built eagerly, train it the TF2 way — model.fit "
                "adds model.losses itself, and a custom loop adds tf.add_n(model.losses)."
            )


def _check_activity_convention(model, conventions):
    """Refuse the activity convention this Keras did not compute (it cannot be recovered from its loss).

    tf_keras and Keras >= 3.14 publish ``r(y) / B`` (``'sum'`` is refused); Keras 3
    before 3.14 publishes the raw ``r(y)`` (``'batch_mean'`` is refused), as
    ``compat_reg._flavor.activity_loss_divided_by_batch()`` says.
    """
    divided = _flavor.activity_loss_divided_by_batch()
    refused = ActivityLoss.SUM if divided else ActivityLoss.BATCH_MEAN
    if conventions.activity_loss is not refused:
        return
    with_activity = [
        layer.name for layer in _every_layer(model) if getattr(layer, "activity_regularizer", None) is not None
    ]
    if not with_activity:
        return
    if divided:
        done, fix = ("Keras already divided them by the batch size",
                     "Use activity_loss='batch_mean' or 'as_written' (the Keras value, which is what "
                     "tf.compat.v1.layers computed), or add the raw penalty yourself.")
    else:
        done, fix = (f"Keras {_flavor.version()} adds the raw penalty, it divides by the batch size "
                     "from Keras 3.14 on",
                     "Use activity_loss='sum' or 'as_written' (the Keras value, the raw sum), or add "
                     "the penalty divided by the batch size yourself.")
    raise ValueError(
        f"publish_losses: conventions.activity_loss={refused.value!r} cannot be applied to Keras activity "
        f"losses ({done}); layers {with_activity} of model {model.name!r} have activity regularizers. "
        f"Received: conventions={conventions!r}. {fix}"
    )


def _frozen_regularized_weights_keras3(model):
    """(weight, regularizer) for non-trainable Keras 3 weights that carry a regularizer."""
    trainable = {id(w) for w in model.trainable_weights}
    return [
        (w, w.regularizer)
        for w in model.weights
        if id(w) not in trainable and getattr(w, "regularizer", None) is not None
    ]


def _tf_keras_losses_without_frozen(model):
    """tf_keras ``model.losses`` minus the regularizers of non-trainable weights.

    tf_keras keeps a weight regularizer as a callable loss bound to its variable
    (``compat_reg._internals.tf_keras.regularized_variable``); those whose variable
    is not in ``model.trainable_weights`` are left out.
    """
    from compat_reg._internals import tf_keras as _tf_keras  # pylint: disable=import-outside-toplevel

    trainable = {id(w) for w in model.trainable_weights}
    losses = []
    for layer in _tf_keras.flatten_layers(model):
        losses.extend(_tf_keras.eager_losses(layer))
        for loss_fn in _tf_keras.callable_losses(layer):
            variable = _tf_keras.regularized_variable(loss_fn)
            if variable is not None and id(variable) not in trainable:
                continue
            value = loss_fn()
            if value is not None:
                losses.append(value)
    return losses


def _every_layer(model):
    """Every layer of ``model``, itself included, on either flavor."""
    if _flavor.is_keras3():
        from compat_reg._internals import keras3 as _keras3  # pylint: disable=import-outside-toplevel

        return _keras3.flatten_layers(model)
    from compat_reg._internals import tf_keras as _tf_keras  # pylint: disable=import-outside-toplevel

    return _tf_keras.flatten_layers(model)


def _model_losses(model, conventions):
    """The losses to publish, under ``conventions``, as graph tensors."""
    if _flavor.is_keras3():
        losses = list(model.losses)
        if conventions.count_frozen_weights:
            for weight, regularizer in _frozen_regularized_weights_keras3(model):
                with tf.name_scope(weight.path.replace(":", "_") + "/Regularizer"):
                    losses.append(regularizer(weight))
        return losses
    if conventions.count_frozen_weights:
        return list(model.losses)
    return _tf_keras_losses_without_frozen(model)


def _signature(tensor, memo):
    """A hash of what ``tensor`` computes: op types + attributes down to variables/inputs.

    Iterative (activity losses can sit on deep networks). Stateful ops other than
    variable reads (random ops, queue/iterator reads) are identified by name, so
    two dropout samples are never taken for the same value.
    """
    for op in _graph_walk.postorder(tensor.op, memo):
        digest = hashlib.sha1(op.type.encode())
        stateful = op.op_def is not None and op.op_def.is_stateful and op.type not in _PURE_READS
        if op.type in _NAMED_LEAVES or stateful:
            digest.update(b"@" + op.name.encode())
        for key in sorted(op.node_def.attr):
            if key.startswith("_"):
                continue
            digest.update(key.encode())
            digest.update(op.node_def.attr[key].SerializeToString(deterministic=True))
        for t in op.inputs:
            digest.update(memo[t.op.name].encode() + b":%d" % t.value_index)
        memo[op.name] = digest.hexdigest()
    return memo[tensor.op.name] + ":%d" % tensor.value_index


_DATA_OPS = {"Placeholder", "PlaceholderWithDefault", "IteratorGetNext", "IteratorGetNextSync", "OptionalGetValue"}


def _keras_made_input_placeholders(model):
    """Op names of the placeholders tf_keras made for ``keras.Input(shape)`` (not ``Input(tensor=x)``)."""
    names = set()
    for layer, tensor in zip(getattr(model, "_input_layers", None) or [], getattr(model, "inputs", None) or []):
        if getattr(layer, "is_placeholder", False) and isinstance(tensor, tf.Tensor) and hasattr(tensor, "op"):
            names.add(tensor.op.name)
    return names


def _data_dependence(tensor, keras_inputs, memo):
    """(reads a Keras-made Input placeholder, reads other input data) for ``tensor``."""
    for op in _graph_walk.postorder(tensor.op, memo):
        on_keras = op.name in keras_inputs
        on_other = op.type in _DATA_OPS and not on_keras
        for t in op.inputs:
            k, o = memo[t.op.name]
            on_keras, on_other = on_keras or k, on_other or o
        memo[op.name] = (on_keras, on_other)
    return memo[tensor.op.name]


def _drop_construction_losses(model, losses):
    """tf_keras: drop activity losses of the functional construction once the model ran on real data.

    A functional model built on ``keras.Input(shape)`` and then called on the graph's
    tensor ``x`` keeps the activity losses of both in ``model.losses``; the first kind
    reads the ``Input`` placeholder, which a training loop fed with ``x`` never feeds.
    """
    keras_inputs = _keras_made_input_placeholders(model)
    if not keras_inputs:
        return losses
    memo = {}
    flags = [_data_dependence(loss, keras_inputs, memo) for loss in losses]
    if not any(other and not keras for keras, other in flags):
        return losses  # the model only ran on its Input placeholders: those are fed
    dropped = [loss.name for loss, (keras, other) in zip(losses, flags) if keras and not other]
    if dropped:
        warnings.warn(
            f"publish_losses: model {model.name!r} was built on keras.Input placeholders "
            f"{sorted(keras_inputs)} and then called on other tensors; not publishing the losses "
            f"of the construction call, which read only the Input placeholders: {dropped}. Build "
            "the model on your tensor with keras.Input(tensor=x) to avoid them.",
            stacklevel=3,
        )
    return [loss for loss, (keras, other) in zip(losses, flags) if not (keras and not other)]


def publish_losses(model, graph=None, conventions=None):
    """Add ``model``'s losses to ``graph``'s ``REGULARIZATION_LOSSES``, once.

    After this, ``get_regularization_loss()`` (TF1 / ``compat_reg``) equals
    ``add_n(model.losses)`` — plus, by default, the regularizers of frozen
    weights that Keras 3 leaves out (see the module docstring) — and
    ``get_total_loss()`` includes it.

    Args:
      model: a Keras Model or Layer (active flavor) whose variables live in ``graph``.
      graph: the ``tf.Graph`` of the TF1 training loop; default: the current
        default graph (which must not be the eager context).
      conventions: ``compat_reg.keras.Conventions`` (or its config dict); default
        ``Conventions.tf1()``.

    Returns:
      The list of tensors added to the collection by this call (empty when
      everything was already published).

    Raises:
      TypeError: ``model`` is not a Keras layer of the active flavor.
      RuntimeError: executing eagerly with no graph given.
      ValueError: the model's weights are not variables of ``graph``; a loss is
        not a scalar; ``activity_loss='sum'`` with activity regularizers.
    """
    keras = _flavor.keras()
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(
            f"publish_losses(model, graph=None): `model` must be a {_flavor.name()} Model or "
            f"Layer (the Keras that tf.keras is in this process). Received: model={model!r} "
            f"of type {type(model).__name__}."
        )
    conventions = as_conventions(conventions)
    if graph is None:
        if tf.executing_eagerly():
            raise _eager_error(model.name)
        graph = tf.compat.v1.get_default_graph()
    if not isinstance(graph, tf.Graph):
        raise TypeError(
            f"publish_losses: `graph` must be a tf.Graph or None. Received: graph={graph!r} "
            f"of type {type(graph).__name__}."
        )
    _check_model_in_graph(model, graph)
    _check_activity_convention(model, conventions)
    with graph.as_default():
        losses = _model_losses(model, conventions)
        for loss in losses:
            if not isinstance(loss, tf.Tensor) or loss.graph is not graph:
                raise ValueError(
                    f"publish_losses: model {model.name!r} has a loss that is not a tensor of the "
                    f"graph to publish into: {loss!r}. Its layers were probably called eagerly or in "
                    "another graph; call the model on this graph's tensors before publishing."
                )
            if loss.shape.rank not in (0, None):
                raise ValueError(
                    f"publish_losses: loss {loss.name!r} of model {model.name!r} has shape "
                    f"{loss.shape}; REGULARIZATION_LOSSES holds scalars. Reduce it (tf.reduce_sum) "
                    "where it is added."
                )
        losses = _drop_construction_losses(model, losses)
        published = _PUBLISHED.setdefault(graph, collections.Counter())
        in_collection = {id(t) for t in graph.get_collection(REGULARIZATION_LOSSES)}
        memo, seen, added = {}, collections.Counter(), []
        for loss in losses:
            sig = _signature(loss, memo)
            seen[sig] += 1
            if seen[sig] <= published[sig]:
                continue
            published[sig] += 1
            if id(loss) in in_collection:
                continue  # put there by someone else: count it, do not add it twice
            with tf.name_scope(model.name + "/"):
                copy = tf.identity(loss, name="regularization_loss")
            graph.add_to_collection(REGULARIZATION_LOSSES, copy)
            added.append(copy)
    return added
