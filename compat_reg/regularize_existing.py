"""``regularize(variables, regularizer, partitioned="per_shard")``: penalize variables that already exist.

TF1 had only ``apply_regularization``, which sums everything into one anonymous
tensor. ``regularize`` adds one loss per variable, built once, colocated with it and
named as TF1's ``get_variable(regularizer=...)`` names it (``<var>/Regularizer/...``),
so scope filters treat it the same. Regularizing a variable twice emits a
``DoubleRegularizationWarning`` naming it; the same regularizer object twice
through compat_reg is added once.
"""

import warnings

import tensorflow as tf

from compat_reg import _checks
from compat_reg import _registry
from compat_reg import fused as _fused
from compat_reg import regularizers as _regularizers
from compat_reg._internals import tf_graph
from compat_reg._registry import REGULARIZATION_LOSSES
from compat_reg._registry import DoubleRegularizationWarning

PARTITIONED_MODES = ("per_shard", "whole")


def _check_penalty(penalty, var_name, regularizer, fn_name):
    if penalty is None:
        return None
    return _checks.check_scalar_penalty(penalty, f"variable {var_name!r} (regularizer {regularizer!r})", fn_name)


def build_once(variable, regularizer, fn_name, scope_name=None):
    """``regularizer(variable)`` colocated with it, in TF1's name scope ``<var>/Regularizer/``."""
    scope_name = scope_name or variable.op.name
    weights = variable
    if isinstance(regularizer, _regularizers.Regularizer) and tf.as_dtype(variable.dtype).base_dtype.is_floating:
        # compat_reg's own regularizers only read the value: reuse the read op made at creation
        weights = _fused.reusable_creation_read(variable)
        weights = variable if weights is None else weights
    with tf_graph.colocate_with(variable):
        with tf.name_scope(scope_name + "/Regularizer/"):
            penalty = regularizer(weights)
    return _check_penalty(penalty, variable.name, regularizer, fn_name)


def _flatten_variables(variables):
    if isinstance(variables, (tf.Variable, tf_graph.partitioned_variable_class())):
        return [variables]
    if isinstance(variables, (list, tuple)):
        out = []
        for v in variables:
            out.extend(_flatten_variables(v))
        return out
    raise TypeError(
        "regularize: `variables` must be a tf.Variable, a PartitionedVariable or a list of "
        f"them. Received: {variables!r} ({type(variables).__name__}). For a tensor that is "
        "not a variable (an activation), use compat_reg.activity_regularize."
    )


def _warn_double(var_name, earlier, now):
    warnings.warn(
        f"Variable {var_name!r} is regularized twice: already by {earlier}, now by {now}. "
        "Both penalties are in REGULARIZATION_LOSSES and its loss counts twice. If that is "
        "not intended, drop one of them (e.g. create the variable with "
        "regularizer=tf.compat.v1.no_regularizer).",
        DoubleRegularizationWarning,
        stacklevel=4,
    )


def _add_one(variable, regularizer, scope_name, mechanism, state):
    """Add ``regularizer(variable)``; returns the loss added or None (skipped / scale 0)."""
    earlier = state.regularized.get(variable.name, [])
    for reg, how in earlier:
        if reg is regularizer or (reg == regularizer):
            warnings.warn(
                f"Variable {variable.name!r} is already regularized by {regularizer!r} via "
                f"{how}; regularize() does not add it a second time.",
                DoubleRegularizationWarning,
                stacklevel=4,
            )
            return None
    if earlier:
        _warn_double(variable.name, " and ".join(f"{r!r} via {h}" for r, h in earlier), mechanism)
    elif _registry.tf1_regularization_losses_of(variable):
        _warn_double(
            variable.name,
            "get_variable(regularizer=...) / variable_scope(regularizer=...) (its loss "
            f"{_registry.tf1_regularization_losses_of(variable)[0].name!r})",
            mechanism,
        )
    penalty = build_once(variable, regularizer, "regularize", scope_name=scope_name)
    if penalty is None:
        return None
    variable.graph.add_to_collection(REGULARIZATION_LOSSES, penalty)
    state.record(variable.name, regularizer, mechanism)
    return penalty


def regularize(variables, regularizer, partitioned="per_shard"):
    """Add ``regularizer(w)`` to ``REGULARIZATION_LOSSES`` for variables that already exist.

    The loss of ``w`` is built once, colocated with ``w`` and named as TF1's
    ``get_variable(regularizer=...)`` names it (``<w>/Regularizer/...``), so
    scope filters (``get_regularization_loss(scope="net/")``) treat it the same.

    Args:
      variables: a ``tf.Variable``, a ``PartitionedVariable`` or a (nested) list.
      regularizer: a callable ``penalty = regularizer(weights)`` returning a scalar
        or ``None`` (then nothing is added, TF1's scale-0 convention).
      partitioned: for a ``PartitionedVariable``: ``"per_shard"`` (TF1: one loss per
        shard, right for additive penalties) or ``"whole"`` (one loss on the
        concatenated full tensor, ``regularizer(pv.as_tensor())``, for penalties
        that are not additive over shards, e.g. orthogonality).

    Returns:
      The list of losses added.

    Warns:
      DoubleRegularizationWarning: naming the variable if it is already
        regularized (by ``regularized_scope``, ``regularize`` or TF1's
        ``get_variable(regularizer=...)``). The same regularizer object twice
        through compat_reg is not added again.
    """
    _checks.require_graph_mode("regularize")
    _checks.check_callable("regularizer", regularizer, "regularize")
    _checks.check_choice("partitioned", partitioned, PARTITIONED_MODES, "regularize")
    graph = tf.compat.v1.get_default_graph()
    state = _registry.state(graph)
    variables = _flatten_variables(variables)
    for v in variables:
        _check_same_graph(v, graph)
    added = []
    for v in variables:
        if isinstance(v, tf_graph.partitioned_variable_class()):
            if partitioned == "per_shard":
                for shard in v:
                    loss = _add_one(shard, regularizer, None, "regularize()", state)
                    if loss is not None:
                        added.append(loss)
            else:
                added.extend(_regularize_whole(v, regularizer, state))
        else:
            loss = _add_one(v, regularizer, None, "regularize()", state)
            if loss is not None:
                added.append(loss)
    return added


def _variable_graph(v):
    return (list(v)[0] if isinstance(v, tf_graph.partitioned_variable_class()) else v).graph


def _check_same_graph(v, graph):
    """Refuse a variable of another graph: its loss would go to that graph's collection, unseen here."""
    other = _variable_graph(v)
    if other is graph or (graph.building_function and _outer_graphs_contain(graph, other)):
        return
    raise ValueError(
        f"regularize: variable {v.name!r} belongs to another graph than the default graph, so its loss "
        "would go into that graph's REGULARIZATION_LOSSES and the total of this graph would silently "
        "omit it. Call regularize() inside `with variable.graph.as_default():` (the graph that built "
        "the model), or create the variable in this graph."
    )


def _outer_graphs_contain(graph, other):
    """A ``tf.function`` may use variables of the graphs it is traced in (they are captured)."""
    while getattr(graph, "outer_graph", None) is not None:
        graph = graph.outer_graph
        if graph is other:
            return True
    return False


def _regularize_whole(pv, regularizer, state):
    name = pv.name
    mechanism = "regularize(partitioned='whole')"
    shards = list(pv)
    for shard in shards:
        earlier = state.regularized.get(shard.name) or _registry.tf1_regularization_losses_of(shard)
        if earlier:
            _warn_double(shard.name, "a per-shard regularizer", mechanism)
    full = pv.as_tensor()
    with tf_graph.colocate_with(shards[0]):
        with tf.name_scope(name + "/Regularizer/"):
            penalty = regularizer(full)
    penalty = _check_penalty(penalty, name, regularizer, "regularize")
    if penalty is None:
        return []
    pv_graph = shards[0].graph
    pv_graph.add_to_collection(REGULARIZATION_LOSSES, penalty)
    for shard in shards:
        state.record(shard.name, regularizer, mechanism)
    return [penalty]
