"""Regularize variables by scope (``regularized_scope``) or after the fact (``regularize``).

TF1 had two ways to put a weight penalty into ``REGULARIZATION_LOSSES``:
``get_variable(..., regularizer=r)`` and ``variable_scope(..., regularizer=r)``,
both at creation time. This module adds the two things people kept writing by
hand, with TF1's semantics where TF1 had an answer:

``regularized_scope(name_or_scope, regularizer, **variable_scope_kwargs)``
    A ``tf.compat.v1.variable_scope`` whose ``get_variable`` calls (direct, or
    through tf_slim / ``tf.compat.v1.layers``) are regularized by ``regularizer``:

    * an explicit ``get_variable(regularizer=other)`` wins (TF1 semantics, the
      drop-in behaviour of ``get_variable`` is unchanged);
    * inner scopes override: an inner ``regularized_scope`` or
      ``variable_scope(regularizer=...)`` replaces the outer regularizer, a plain
      inner ``variable_scope`` inherits it (TF1);
    * ``reuse`` never adds a second loss: a reused variable is returned by TF's
      variable store before any regularizer runs;
    * partitioned variables are regularized **once per shard** (what TF1 did:
      right for additive penalties such as L1/L2, wrong for e.g. a spectral or
      orthogonality penalty). For the whole tensor, create the variable with
      ``regularizer=tf.compat.v1.no_regularizer`` and call
      ``regularize(pv, r, partitioned="whole")``.
    * every variable the scope creates is regularized, trainable or not, e.g.
      batch-norm moving statistics — exactly as TF1's ``variable_scope(regularizer=)``.

    **Built once.** TF1's ``get_variable`` builds the regularizer subgraph twice
    at creation and once more every time the collection is summed
    (``_LazyEvalTensor``). ``regularized_scope`` builds it once. For compat_reg's
    own L1/L2/L1-L2/sum regularizers (``fuse=True``, the default) it builds **one**
    penalty per (variable scope, dtype): ``scale * add_n([l2_loss(w) for w])``,
    i.e. two ops per variable instead of TF1's ten. That tensor is in
    ``REGULARIZATION_LOSSES`` from the first regularized variable on, so an
    unmodified TF1 training loop sees it: inside the ``with`` block the
    collection holds a tensor-like placeholder (convertible, fetchable,
    summable) covering the variables created so far; when the block exits it is
    replaced by an ordinary ``tf.Tensor`` covering all of them. Any other
    callable (tf_slim closures, lambdas, Keras regularizers) is called once per
    variable and named as TF1 names it (``<var>/Regularizer/...``).

    Values equal TF1's up to float32 summation order (rtol 1e-6). What differs
    from TF1 in fused mode: the fused penalty is not colocated with each variable
    (TF1 colocated every per-variable loss; for parameter-server placement use
    ``fuse=False``), and the collection holds one tensor per variable scope
    named ``<scope>/Regularizer/<regularizer>`` instead of one per variable named
    ``<scope>/<var>/Regularizer/<regularizer>``, so a ``scope=`` regex that selects
    *some* variables of one scope (``"net/w"`` of ``net/w1, net/w2, net/b``)
    selects all or none of them. Scope-level filters (``"net"``, ``"net/"``)
    behave as in TF1. Pass ``fuse=False`` for TF1's one-tensor-per-variable layout.

``regularize(variables, regularizer, partitioned="per_shard")``
    Add ``regularizer(w)`` for variables that already exist (TF1 had only
    ``apply_regularization``, which sums everything into one anonymous tensor).
    One loss per variable, named ``<var>/Regularizer/...`` like TF1's.

Regularizing the same variable twice (``regularized_scope`` + ``regularize``, or
``get_variable(regularizer=)`` + ``regularize``) emits a
``DoubleRegularizationWarning`` naming the variable. The same regularizer object
requested twice through compat_reg's helpers is added once (never double
counted); a *different* regularizer is added as asked, with the warning.
"""

import contextlib
import numbers
import os
import warnings
import weakref

import tensorflow as tf
from tensorflow.python.framework import ops as _tf_ops
from tensorflow.python.ops.variables import PartitionedVariable

from compat_reg import collections as _collections
from compat_reg import regularizers as _regularizers

REGULARIZATION_LOSSES = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES

_PARTITIONED_MODES = ("per_shard", "whole")


class DoubleRegularizationWarning(UserWarning):
    """A variable is regularized by more than one mechanism (its loss would count twice)."""


# ----------------------------------------------------------------------------
# Per-graph bookkeeping: which variable was regularized by what, through which helper.
# ----------------------------------------------------------------------------


class _GraphState:
    def __init__(self):
        # variable name ("net/w:0") -> list of (regularizer, mechanism description)
        self.regularized = {}

    def record(self, var_name, regularizer, mechanism):
        self.regularized.setdefault(var_name, []).append((regularizer, mechanism))


_STATES = weakref.WeakKeyDictionary()


def _state(graph=None):
    graph = graph or tf.compat.v1.get_default_graph()
    state = _STATES.get(graph)
    if state is None:
        state = _STATES[graph] = _GraphState()
    return state


def regularized_by(variable):
    """How compat_reg has regularized ``variable`` so far: a list of ``(regularizer, mechanism)``.

    ``mechanism`` is a short description such as ``"regularized_scope('net')"``
    or ``"regularize()"``. Empty if compat_reg has not regularized it. (TF1's own
    ``get_variable(regularizer=...)`` losses are found by name, see
    ``tf1_regularization_losses_of``.)
    """
    return list(_state(variable.graph).regularized.get(variable.name, ()))


def tf1_regularization_losses_of(variable):
    """Losses in ``REGULARIZATION_LOSSES`` that TF1 named after ``variable`` (``<var>/Regularizer/...``)."""
    prefix = variable.op.name + "/Regularizer/"
    return [
        t for t in variable.graph.get_collection(REGULARIZATION_LOSSES)
        if getattr(t, "name", "").startswith(prefix)
    ]


def _regularizer_label(regularizer):
    scope = getattr(regularizer, "scope", None)
    if scope:
        return scope
    if isinstance(regularizer, _regularizers.L1Regularizer):
        return "l1_regularizer"
    if isinstance(regularizer, _regularizers.L2Regularizer):
        return "l2_regularizer"
    if isinstance(regularizer, _regularizers.SumRegularizer):
        return "sum_regularizer"
    return getattr(regularizer, "__name__", type(regularizer).__name__)


def _check_regularizer(regularizer, fn_name):
    if not callable(regularizer):
        raise TypeError(
            f"{fn_name}: `regularizer` must be a callable `penalty = regularizer(weights)` "
            f"(e.g. compat_reg.l2_regularizer(1e-4)). Received: regularizer={regularizer!r}."
        )


def _check_penalty(penalty, var_name, regularizer, fn_name):
    if penalty is None:
        return None
    penalty = tf.convert_to_tensor(penalty)
    rank = penalty.shape.ndims
    if rank not in (0, None):
        raise ValueError(
            f"{fn_name}: regularizer {regularizer!r} returned a tensor of shape {penalty.shape} "
            f"for variable {var_name!r}; a regularization loss must be a scalar. Reduce it "
            "with tf.reduce_sum inside the regularizer."
        )
    return penalty


def _build_once(variable, regularizer, fn_name, scope_name=None):
    """``regularizer(variable)`` colocated with it, in TF1's name scope ``<var>/Regularizer/``."""
    scope_name = scope_name or variable.op.name
    with _tf_ops.colocate_with(variable):
        with tf.name_scope(scope_name + "/Regularizer/"):
            penalty = regularizer(variable)
    return _check_penalty(penalty, variable.name, regularizer, fn_name)


# ----------------------------------------------------------------------------
# Fused penalties.
# ----------------------------------------------------------------------------


def _fusable_terms(regularizer):
    """``[(kind, scale), ...]`` with kind in {"l1", "l2"} if ``regularizer`` is a fusable sum, else None.

    Zero Python scales are dropped (TF1: a scale-0 regularizer adds nothing).
    """
    if type(regularizer) is _regularizers.L1Regularizer:
        kind = "l1"
    elif type(regularizer) is _regularizers.L2Regularizer:
        kind = "l2"
    elif type(regularizer) is _regularizers.SumRegularizer:
        terms = []
        for member in regularizer.regularizer_list:
            sub = _fusable_terms(member)
            if sub is None:
                return None
            terms.extend(sub)
        return terms
    else:
        return None
    scale = regularizer.scale
    if isinstance(scale, numbers.Real) and scale == 0.0:
        return []
    return [(kind, scale)]


def _read(variable):
    """The variable's value as a tensor, reusing the read op made when it was created.

    A graph-mode resource variable keeps the ``ReadVariableOp`` it built at creation
    (``_graph_element``); it reads the *current* value at every ``Session.run`` and
    gradients flow through it to the handle like through any read. Reusing it saves one
    op per variable; anything else (ref variables, mirrored variables, a read inside a
    control-flow context) is converted the ordinary way.
    """
    element = getattr(variable, "_graph_element", None)
    if (
        isinstance(element, tf.Tensor)
        and element.op.type == "ReadVariableOp"
        and element.graph is variable.graph
        and not element.op.control_inputs
        and element.op._get_control_flow_context() is None  # pylint: disable=protected-access
    ):
        return element
    return tf.convert_to_tensor(variable)


def _fused_penalty(variables, terms, dtype):
    """``sum_k scale_k * add_n([term_k(w) for w in variables])``: one op per variable and term."""
    values = []
    for v in variables:
        values.append(_read(v))
    parts = []
    for kind, scale in terms:
        if kind == "l2":
            per_var = [tf.nn.l2_loss(x) for x in values]
        else:
            per_var = [tf.reduce_sum(tf.abs(x)) for x in values]
        summed = per_var[0] if len(per_var) == 1 else tf.math.add_n(per_var)
        scale_t = tf.convert_to_tensor(scale, dtype=dtype, name="scale")
        parts.append(tf.multiply(scale_t, summed))
    return parts[0] if len(parts) == 1 else tf.math.add_n(parts)


class FusedPenalty:
    """A scalar penalty over the variables one ``regularized_scope`` created, built lazily, once.

    Stands in ``REGULARIZATION_LOSSES`` while its ``regularized_scope`` is open:
    it converts to a tensor (``tf.add_n``, ``tf.convert_to_tensor``, arithmetic),
    is fetchable by ``Session.run`` and has ``name``/``dtype``/``shape``/``graph``,
    so TF1 code that sums the collection works. Converting it builds the penalty
    of the variables recorded so far (later conversions only add the newly
    recorded ones). When the scope exits it is replaced in the collection by the
    final ``tf.Tensor``.
    """

    def __init__(self, graph, regularizer, terms, dtype, scope_name):
        self.graph = graph
        self.regularizer = regularizer
        self.dtype = dtype
        self._terms = terms
        self._scope_name = scope_name
        self._prefix = (scope_name + "/" if scope_name else "") + "Regularizer/"
        self._label = _regularizer_label(regularizer)
        self.variables = []
        self._tensor = None
        self._built_count = 0

    shape = tf.TensorShape([])

    def get_shape(self):
        return self.shape

    @property
    def name(self):
        if self._tensor is not None:
            return self._tensor.name
        return f"{self._prefix}{self._label}:0"

    @property
    def op(self):
        return self.tensor().op

    def add(self, variable):
        self.variables.append(variable)

    def tensor(self):
        """The penalty over every variable recorded so far (built now if needed)."""
        n = len(self.variables)
        if self._tensor is not None and self._built_count == n:
            return self._tensor
        new_vars = self.variables[self._built_count:]
        with self.graph.as_default(), self.graph.control_dependencies(None):
            with tf.name_scope(self._prefix):
                with tf.name_scope(self._label) as name:
                    part = _fused_penalty(new_vars, self._terms, self.dtype)
                    if self._tensor is None:
                        total = tf.identity(part, name=name)
                    else:
                        total = tf.add(self._tensor, part, name=name)
        self._tensor, self._built_count = total, n
        return total

    def _as_graph_element(self):
        return self.tensor()

    def __repr__(self):
        return (
            f"<FusedPenalty {self.name!r} {self._label} over {len(self.variables)} "
            f"{self.dtype.name} variables>"
        )


def _convert_fused(value, dtype=None, name=None, as_ref=False):
    del name
    if as_ref:
        raise ValueError(f"{value!r} is a computed loss, not a variable; it cannot be assigned to.")
    tensor = value.tensor()
    if dtype is not None and not tf.as_dtype(dtype).is_compatible_with(tensor.dtype):
        raise ValueError(
            f"Cannot convert {value!r} (a {tensor.dtype.name} loss) to {tf.as_dtype(dtype).name}; "
            "cast it with tf.cast."
        )
    return tensor


tf.register_tensor_conversion_function(FusedPenalty, _convert_fused)


def _binary(name):
    def method(self, other):
        return getattr(self.tensor(), name)(other)

    method.__name__ = name
    return method


for _op in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
            "__truediv__", "__rtruediv__"):
    setattr(FusedPenalty, _op, _binary(_op))
FusedPenalty.__neg__ = lambda self: -self.tensor()


# ----------------------------------------------------------------------------
# The scope regularizer.
# ----------------------------------------------------------------------------


class _ScopeRegularizer:
    """The regularizer ``regularized_scope`` installs on its ``variable_scope``.

    ``VariableScope.get_variable`` calls it twice when it creates a variable
    (``if regularizer(v) is not None`` and inside ``_LazyEvalTensor``), and every
    time the collection entry is converted. It builds the penalty once:

    * fused (scope open, compat_reg L1/L2 regularizer): records the variable in
      the scope's ``FusedPenalty`` and returns ``None`` so ``get_variable`` adds
      nothing itself;
    * otherwise: builds ``regularizer(v)`` once (TF1's name scope and colocation)
      and returns that same tensor on every later call.
    """

    def __init__(self, regularizer, fuse, description):
        self.regularizer = regularizer
        self._terms = _fusable_terms(regularizer) if fuse else None
        self.description = description
        self._open = True
        self._fused = {}  # (graph, scope dir, dtype) -> FusedPenalty
        self._seen = {}  # (graph, var name) -> penalty tensor or None

    @property
    def scope(self):  # so _regularizer_label and reprs see the wrapped one's name
        return getattr(self.regularizer, "scope", None)

    def __repr__(self):
        return f"<regularizer {self.regularizer!r} of {self.description}>"

    def __call__(self, variable):
        key = (variable.graph, variable.name)
        if key in self._seen:
            return self._seen[key]
        dtype = tf.as_dtype(variable.dtype).base_dtype
        if self._open and self._terms is not None and dtype.is_floating:
            penalty = None
            if self._terms:
                scope_dir = os.path.dirname(variable.op.name)
                fkey = (variable.graph, scope_dir, dtype)
                fused = self._fused.get(fkey)
                if fused is None:
                    fused = FusedPenalty(variable.graph, self.regularizer, self._terms, dtype, scope_dir)
                    self._fused[fkey] = fused
                    variable.graph.add_to_collection(REGULARIZATION_LOSSES, fused)
                fused.add(variable)
                _state(variable.graph).record(variable.name, self.regularizer, self.description)
        else:
            penalty = _build_once(variable, self.regularizer, "regularized_scope")
            if penalty is not None:
                _state(variable.graph).record(variable.name, self.regularizer, self.description)
        self._seen[key] = penalty
        return penalty

    def abandon(self):
        """Stop fusing without building: later variables are regularized one by one."""
        self._open = False
        self._fused = {}

    def close(self):
        """Finalize fused penalties: replace each placeholder in the collection by its tensor.

        Variables created later through this scope object (re-entered with a plain
        ``variable_scope``) are regularized one by one, TF1-style, built once.
        """
        self._open = False
        for fused in self._fused.values():
            tensor = fused.tensor()
            ref = fused.graph.get_collection_ref(REGULARIZATION_LOSSES)
            for i, item in enumerate(ref):
                if item is fused:
                    ref[i] = tensor
        self._fused = {}


def unwrap_regularizer(regularizer):
    """The regularizer the user gave ``regularized_scope``, behind its build-once wrapper.

    A scope made by ``regularized_scope`` holds a wrapper that builds each penalty
    once per graph (and returns ``None`` while fusing). Code that recomputes
    penalties itself, such as ``compat_reg.keras.TF1Layer``, calls the user's
    regularizer instead. Any other regularizer is returned as it is.
    """
    if isinstance(regularizer, _ScopeRegularizer):
        return regularizer.regularizer
    return regularizer


@contextlib.contextmanager
def regularized_scope(name_or_scope, regularizer, fuse=True, **variable_scope_kwargs):
    """A ``tf.compat.v1.variable_scope`` whose ``get_variable`` calls are regularized.

    Example::

        with compat_reg.regularized_scope("net", compat_reg.l2_regularizer(1e-4)):
            w = tf.compat.v1.get_variable("w", [3, 3, 16, 32])   # penalized
            b = tf.compat.v1.get_variable("b", [32], regularizer=tf.compat.v1.no_regularizer)
        loss = data_loss + tf.compat.v1.losses.get_regularization_loss()  # 1e-4 * sum(w**2) / 2

    Args:
      name_or_scope: as ``tf.compat.v1.variable_scope``: a name or a ``VariableScope``.
      regularizer: a callable ``penalty = regularizer(weights)``: a compat_reg / tf_slim
        regularizer, a Keras one, or any function returning a scalar (``None`` for
        "no penalty", TF1's convention). ``None`` here means "no regularizer in this
        scope", overriding an outer one (TF1 would inherit it).
      fuse: build one penalty per variable scope and dtype for compat_reg's L1/L2/
        L1-L2/sum regularizers (default). ``False`` keeps TF1's one loss per
        variable, named ``<var>/Regularizer/...``. Other regularizers are never fused.
      **variable_scope_kwargs: passed to ``tf.compat.v1.variable_scope`` (``reuse``,
        ``initializer``, ``partitioner``, ``default_name``, ``values``...).

    Yields:
      The ``VariableScope``.

    Raises:
      RuntimeError: when executing eagerly (collections do not exist).
      TypeError: if ``regularizer`` is not callable.
    """
    _collections.require_graph_mode("regularized_scope")
    if regularizer is None:
        with tf.compat.v1.variable_scope(
            name_or_scope, regularizer=tf.compat.v1.no_regularizer, **variable_scope_kwargs
        ) as vs:
            yield vs
        return
    _check_regularizer(regularizer, "regularized_scope")
    scope_label = name_or_scope.name if hasattr(name_or_scope, "name") else name_or_scope
    marker = _ScopeRegularizer(regularizer, fuse, f"regularized_scope({scope_label!r})")
    try:
        with tf.compat.v1.variable_scope(name_or_scope, regularizer=marker, **variable_scope_kwargs) as vs:
            yield vs
    except BaseException:
        # Do not build anything while an error propagates; the placeholders stay in the
        # collection and still convert lazily if the caller recovers and goes on.
        marker.abandon()
        raise
    marker.close()


# ----------------------------------------------------------------------------
# regularize(): variables that already exist.
# ----------------------------------------------------------------------------


def _flatten_variables(variables):
    if isinstance(variables, (tf.Variable, PartitionedVariable)):
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
    elif tf1_regularization_losses_of(variable):
        _warn_double(
            variable.name,
            "get_variable(regularizer=...) / variable_scope(regularizer=...) (its loss "
            f"{tf1_regularization_losses_of(variable)[0].name!r})",
            mechanism,
        )
    penalty = _build_once(variable, regularizer, "regularize", scope_name=scope_name)
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
    _collections.require_graph_mode("regularize")
    _check_regularizer(regularizer, "regularize")
    if partitioned not in _PARTITIONED_MODES:
        raise ValueError(
            "Invalid value for argument `partitioned`. Expected one of "
            f"{set(_PARTITIONED_MODES)}. Received: partitioned={partitioned!r}"
        )
    state = _state()
    added = []
    for v in _flatten_variables(variables):
        if isinstance(v, PartitionedVariable):
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


def _regularize_whole(pv, regularizer, state):
    name = pv.name
    mechanism = "regularize(partitioned='whole')"
    shards = list(pv)
    for shard in shards:
        earlier = state.regularized.get(shard.name) or tf1_regularization_losses_of(shard)
        if earlier:
            _warn_double(shard.name, "a per-shard regularizer", mechanism)
    full = pv.as_tensor()
    with _tf_ops.colocate_with(shards[0]):
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
