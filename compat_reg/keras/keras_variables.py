"""The Keras side of a ``TF1Layer``'s variables: creating them, and setting their trainable flag.

On Keras 3 each TF1 variable is a ``keras.Variable`` named by the TF1 name's scopes
(``variable.path == f"{layer.name}/{tf1_name}"``), created outside any symbolic
``StatelessScope`` (TF1 code needs the variable object itself); the ``tf.Variable``
TF1 code sees is its ``.value``. On tf_keras it is an ``add_weight`` variable named
by the TF1 name. What differs between Keras 3 releases (``keras.Variable``'s
keywords) is asked of ``compat_reg._internals.keras3``.
"""

import contextlib

import tensorflow as tf

from compat_reg import _flavor
from compat_reg._internals import tf_variable_scope as _tf_vs


def set_trainable(layer, keras_variable, tf_variable, trainable):
    _tf_vs.set_variable_trainable(tf_variable, trainable)
    if _flavor.is_keras3():
        keras_variable.trainable = trainable
    else:
        from compat_reg._internals import tf_keras as _tf_keras  # pylint: disable=import-outside-toplevel

        _tf_keras.set_weight_trainable(layer, keras_variable, trainable)


@contextlib.contextmanager
def outside_symbolic_scope():
    if not _flavor.is_keras3():
        yield
        return
    from compat_reg._internals import keras3 as _keras3  # pylint: disable=import-outside-toplevel

    with _keras3.outside_stateless_scope():
        yield


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


def _tf1_distribution_creator(synchronization, aggregation):
    """A variable creator that sets the TF1 variable's ``synchronization`` / ``aggregation`` on the tf.Variable."""
    inject = {}
    if synchronization is not None and synchronization != tf.VariableSynchronization.ON_READ:
        inject["synchronization"] = synchronization
    if aggregation is not None:
        inject["aggregation"] = aggregation

    def creator(next_creator, **kwargs):
        kwargs.update(inject)
        return next_creator(**kwargs)

    return creator


def keras3_constraint(keras, constraint):
    """A TF1 constraint (any callable ``w -> w``) as Keras 3 wants one (older releases take only ``Constraint``)."""
    if constraint is None or isinstance(constraint, keras.constraints.Constraint):
        return constraint

    class TF1Constraint(keras.constraints.Constraint):
        def __call__(self, w):
            return constraint(w)

        def __repr__(self):
            return f"TF1Constraint({constraint!r})"

    return TF1Constraint()


def new_keras3_variable(keras, name, value, trainable, synchronization, aggregation):
    """A ``keras.Variable`` named by the TF1 name's scopes (``path == f"{layer}/{tf1_name}"``)."""
    from compat_reg._internals import keras3 as _keras3  # pylint: disable=import-outside-toplevel

    try:
        options = _keras3.variable_options(
            _AGGREGATIONS.get(aggregation, "none"), _SYNCHRONIZATIONS.get(synchronization, "auto")
        )
    except ValueError as error:
        raise ValueError(f"TF1Layer: variable {name!r}: {error}. Upgrade Keras, or create it with the "
                         "default synchronization and aggregation.") from None
    parts = name.split("/")
    with contextlib.ExitStack() as stack:
        if not _keras3.variable_supports_synchronization():
            # Keras 3.3.3 makes its tf.Variable without synchronization / aggregation; give the
            # tf.Variable (and the creator scopes TF1 code entered) the TF1 ones. ON_READ stays
            # out: variable_options made that a plain variable (no multi-replica strategy).
            stack.enter_context(tf.variable_creator_scope(_tf1_distribution_creator(synchronization, aggregation)))
        for part in parts[:-1]:
            stack.enter_context(keras.name_scope(part or "_"))
        return keras.Variable(
            initializer=lambda shape, dtype: value,
            shape=tuple(value.shape.as_list()),
            dtype=value.dtype.name,
            trainable=trainable,
            name=parts[-1] or "_",
            **options,
        )
