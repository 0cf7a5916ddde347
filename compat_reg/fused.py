"""Fused penalties: one ``scale * add_n([norm(w) for w])`` per variable scope and dtype.

Used by ``regularized_scope(..., fuse=True)`` (opt-in) for compat_reg's own
L1/L2/L1-L2/sum regularizers: two ops per variable instead of TF1's ten. While the
scope is open a ``FusedPenalty`` stands in ``REGULARIZATION_LOSSES`` (convertible,
fetchable, summable); when it closes it is replaced by an ordinary ``tf.Tensor``.

What fusing changes from TF1, which is why it is not the default: the collection
holds one entry per variable scope (``<scope>/Regularizer/<regularizer>``), so a
``scope=`` regex that selects *some* variables of one scope selects all or none of
them, a loss list taken inside the block grows as variables are added to the scope,
and the penalty is not colocated with each variable.
"""

import numbers

import tensorflow as tf

from compat_reg import regularizers as _regularizers
from compat_reg._internals import tf_graph


def regularizer_label(regularizer):
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


def fusable_terms(regularizer):
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
            sub = fusable_terms(member)
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


def reusable_creation_read(variable):
    """The ``ReadVariableOp`` a graph-mode resource variable made at creation, if it can be reused here; else None.

    It reads the *current* value at every ``Session.run`` and gradients flow through it to
    the handle like through any read (see ``tf_graph.creation_read``). Reusing it saves one op
    per variable. Not reused: ref variables, Keras/mirrored wrappers, a read made under control
    dependencies or inside a control-flow context, or one of another graph than the default.
    """
    element = tf_graph.creation_read(variable)
    if (
        isinstance(element, tf.Tensor)
        and element.op.type == "ReadVariableOp"
        and element.graph is variable.graph
        and element.graph is tf.compat.v1.get_default_graph()
        and not element.op.control_inputs
        and tf_graph.control_flow_context(element.op) is None
    ):
        return element
    return None


def _read(variable):
    """The variable's value as a tensor, reusing the creation-time read op when possible."""
    element = reusable_creation_read(variable)
    return element if element is not None else tf.convert_to_tensor(variable)


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
        self._label = regularizer_label(regularizer)
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
tf_graph.make_fetchable(FusedPenalty, FusedPenalty.tensor)


def _binary(name):
    def method(self, other):
        return getattr(self.tensor(), name)(other)

    method.__name__ = name
    return method


for _op in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
            "__truediv__", "__rtruediv__"):
    setattr(FusedPenalty, _op, _binary(_op))
FusedPenalty.__neg__ = lambda self: -self.tensor()


