"""compat_reg's only door into tf graph internals (see ``compat_reg._internals``).

Each function names, in its docstring, the private symbol it reaches and the
versions it was checked on; ``REACHES`` lists them for the seam test. Checked on
TensorFlow 2.21 (graph mode, ``tf.compat.v1``) unless a docstring says otherwise.
"""

import importlib

from compat_reg._internals import Reach

_OPS = "tensorflow.python.framework.ops"
FRAMEWORK_OPS = _OPS  # the module name, for a caller that must know whether TensorFlow is loaded yet
_VARIABLES = "tensorflow.python.ops.variables"
_VARIABLE_SCOPE = "tensorflow.python.ops.variable_scope"
_CHECKED = "tensorflow 2.21"

REACHES = (
    Reach(_VARIABLE_SCOPE, "_LazyEvalTensor", _CHECKED,
          "to recognise get_variable's lazily evaluated collection entries (lazy_loss_master)"),
    Reach(_OPS, "Operation._get_control_flow_context", _CHECKED,
          "to reuse a tensor only outside tf.cond/while contexts (control_flow_context)"),
    Reach("tensorflow.python.ops.resource_variable_ops", "BaseResourceVariable._as_graph_element", _CHECKED,
          "to reuse the ReadVariableOp a graph-mode variable built at creation (creation_read)"),
    Reach(_OPS, "colocate_with", _CHECKED,
          "to colocate a penalty with its variable as TF1's get_variable does, without the deprecation "
          "log of tf.compat.v1.colocate_with (colocate_with)"),
    Reach(_VARIABLES, "PartitionedVariable", _CHECKED,
          "to recognise partitioned variables, which TF exports no class for (partitioned_variable_class)"),
    Reach(_OPS, "_as_graph_element", _CHECKED,
          "so Session.run fetches compat_reg's FusedPenalty through the _as_graph_element protocol "
          "(make_fetchable)"),
    Reach(_OPS, "", _CHECKED,
          "tf_slim 1.1.0 reads ops.Tensor from this module; slim_compat gives it a proxy (framework_ops_module)"),
    Reach("tf_keras.src.legacy_tf_layers", "", "tf_keras 2.21",
          "TF's tf.compat.v1.layers lazy-load tf_keras.legacy_tf_layers, shipped under tf_keras.src "
          "(LEGACY_LAYERS_TARGET)"),
)


def lazy_loss_master(loss):
    """The tensor built once at ``get_variable`` time behind a ``_LazyEvalTensor``, else ``None``.

    ``get_variable(regularizer=r)`` stores a ``variable_scope._LazyEvalTensor`` in
    ``REGULARIZATION_LOSSES``; converting it rebuilds ``r``'s ops, while its
    ``_master_tensor`` is the same computation built at creation. Reaches
    ``_LazyEvalTensor._master_tensor`` (TensorFlow 2.21).
    """
    master = getattr(loss, "_master_tensor", None)
    module = importlib.import_module(_VARIABLE_SCOPE)
    if isinstance(loss, module._LazyEvalTensor) and master is not None:  # pylint: disable=protected-access
        return master
    return None


def control_flow_context(op):
    """The control-flow context (``tf.cond``/``while_loop`` of TF1) ``op`` was built in, or ``None``.

    Reaches ``Operation._get_control_flow_context`` (TensorFlow 2.21).
    """
    return op._get_control_flow_context()  # pylint: disable=protected-access


def creation_read(variable):
    """The ``ReadVariableOp`` tensor a graph-mode resource variable built at creation, or ``None``.

    Reaches ``BaseResourceVariable._graph_element`` (TensorFlow 2.21); ``None`` for
    other variables (ref variables, Keras/mirrored wrappers) that do not have it.
    """
    return getattr(variable, "_graph_element", None)


def colocate_with(variable):
    """Context manager placing new ops with ``variable`` (TF1's ``get_variable`` colocates penalties).

    ``tensorflow.python.framework.ops.colocate_with``: the internal, non-deprecated
    form of ``tf.compat.v1.colocate_with`` (TensorFlow 2.21).
    """
    return importlib.import_module(_OPS).colocate_with(variable)


def partitioned_variable_class():
    """``tensorflow.python.ops.variables.PartitionedVariable`` (not exported by TF 2.21)."""
    return importlib.import_module(_VARIABLES).PartitionedVariable


def make_fetchable(cls, to_tensor):
    """Let ``Session.run`` and ``Graph.as_graph_element`` fetch instances of ``cls`` as ``to_tensor(obj)``.

    TF's fetch machinery calls ``obj._as_graph_element()`` (``ops._as_graph_element``,
    TensorFlow 2.21); this installs that method on ``cls``.
    """
    cls._as_graph_element = lambda self: to_tensor(self)  # pylint: disable=protected-access
    return cls


def framework_ops_module():
    """The module ``tensorflow.python.framework.ops`` (tf_slim 1.1.0 binds it as ``ops``)."""
    return importlib.import_module(_OPS)


LEGACY_LAYERS_ALIAS = "tf_keras.legacy_tf_layers"
"""The name TensorFlow 2.21's ``tf.compat.v1.layers`` code lazy-loads (no longer shipped)."""

LEGACY_LAYERS_TARGET = "tf_keras.src.legacy_tf_layers"
"""Where tf_keras 2.21 ships those modules."""



def collections_dict(graph):
    """``graph._collections``: the dict ``{key: list}`` behind ``get_collection_ref`` (TF 2.16-2.21).

    The Keras bridge replaces one list object in it (``REGULARIZATION_LOSSES`` by a
    list that tags each append with its replica thread) and deletes the keys a
    ``TF1Layer`` call created, which ``get_collection_ref`` cannot do.
    """
    return graph._collections  # pylint: disable=protected-access


REACHES = REACHES + (
    Reach("tensorflow.python.framework.ops", "Graph", "TensorFlow 2.16.2-2.21.0",
          "for its instance dict _collections, to swap REGULARIZATION_LOSSES for a per-replica "
          "tagged list during a TF1Layer call (collections_dict)"),
)
