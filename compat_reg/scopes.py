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
    (``_LazyEvalTensor``). ``regularized_scope`` builds it once per variable,
    colocated with it and named as TF1 names it (``<var>/Regularizer/...``), and
    every later conversion returns that same tensor. The collection therefore
    holds what TF1's holds: one loss per variable, so a loss list taken inside
    the block is a snapshot (it sums only the variables created so far, as in
    TF1) and ``get_regularization_loss("net/w1")`` selects ``net/w1``'s loss alone.

    **Fused (opt-in, ``fuse=True``).** For compat_reg's own L1/L2/L1-L2/sum
    regularizers one penalty per (variable scope, dtype),
    ``scale * add_n([l2_loss(w) for w])``: two ops per variable instead of TF1's
    ten. While the block is open the collection holds one live placeholder per
    scope that grows as variables are created; when the block exits it becomes an
    ordinary ``tf.Tensor``. Values equal TF1's up to float32 summation order
    (rtol 1e-6), but the layout is not TF1's: a loss list taken inside the block
    later sums variables created after it (0.7 where TF1 gives 0.25 in the
    documented example), a ``scope=`` regex selects a whole variable scope or
    nothing (``"net/w1"`` of ``net/w1, net/w2`` selects nothing), and the penalty
    is not colocated with each variable. It was the default before; the default
    per-variable build measured 0.97x bare ``get_variable`` (fused 1.03x; figures
    and method in ``docs/scopes_and_patterns.md``), so TF1's layout costs little.

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
import os

import tensorflow as tf

from compat_reg import _checks
from compat_reg import _registry
from compat_reg import fused as _fused
from compat_reg import regularize_existing as _existing
from compat_reg._registry import REGULARIZATION_LOSSES
from compat_reg._registry import DoubleRegularizationWarning
from compat_reg._registry import regularized_by
from compat_reg._registry import tf1_regularization_losses_of
from compat_reg.fused import FusedPenalty
from compat_reg.regularize_existing import regularize

__all__ = [
    "DoubleRegularizationWarning", "FusedPenalty", "REGULARIZATION_LOSSES", "regularize", "regularized_by",
    "regularized_scope", "tf1_regularization_losses_of", "unwrap_regularizer",
]


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
        self._terms = _fused.fusable_terms(regularizer) if fuse else None
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
                    fused = _fused.FusedPenalty(variable.graph, self.regularizer, self._terms, dtype, scope_dir)
                    self._fused[fkey] = fused
                    variable.graph.add_to_collection(REGULARIZATION_LOSSES, fused)
                fused.add(variable)
                _registry.state(variable.graph).record(variable.name, self.regularizer, self.description)
        else:
            penalty = _existing.build_once(variable, self.regularizer, "regularized_scope")
            if penalty is not None:
                _registry.state(variable.graph).record(variable.name, self.regularizer, self.description)
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
def regularized_scope(name_or_scope, regularizer, fuse=False, **variable_scope_kwargs):
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
      fuse: ``False`` (default): TF1's one loss per variable, named
        ``<var>/Regularizer/...``, built once. ``True`` (opt-in): one penalty per
        variable scope and dtype for compat_reg's L1/L2/L1-L2/sum regularizers
        (see ``compat_reg.fused`` for what that changes). Other regularizers are
        never fused.
      **variable_scope_kwargs: passed to ``tf.compat.v1.variable_scope`` (``reuse``,
        ``initializer``, ``partitioner``, ``default_name``, ``values``...).

    Yields:
      The ``VariableScope``.

    Raises:
      RuntimeError: when executing eagerly (collections do not exist).
      TypeError: if ``regularizer`` is not callable.
    """
    _checks.require_graph_mode("regularized_scope")
    if regularizer is None:
        with tf.compat.v1.variable_scope(
            name_or_scope, regularizer=tf.compat.v1.no_regularizer, **variable_scope_kwargs
        ) as vs:
            yield vs
        return
    _checks.check_callable("regularizer", regularizer, "regularized_scope")
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
