"""The old side: a TF1 model function ``fn(inputs) -> outputs`` in a fresh ``tf.Graph`` + ``Session``.

Regularization is what TF1 trained with: ``REGULARIZATION_LOSSES`` summed
(``get_regularization_loss``); total loss = data loss + that sum; the step is the
``tf.compat.v1.train`` optimizer of the check (``optimizers.OPTIMIZERS``)
``minimize(total)`` with ``UPDATE_OPS`` as control dependencies, as tf_slim's
``create_train_op`` does (so batch-norm moving statistics update in training mode).
The learning rate is a ``placeholder_with_default`` so a step can be fed the new
side's scheduled rate.
"""

import numpy as np
import tensorflow as tf

from compat_reg import _graph_walk
from compat_reg._registry import REGULARIZATION_LOSSES
from . import LossInfo
from . import UsageError
from . import UserCodeError
from .. import _structure

_VARIABLE_OPS = ("VarHandleOp", "VariableV2", "Variable", "VarHandle")
# Ops that sample random numbers (dropout's mask): their outputs differ between the sides.
_RANDOM_OPS = ("RandomUniform", "RandomStandardNormal", "TruncatedNormal", "RandomUniformInt",
               "StatelessRandomUniformV2", "StatelessRandomNormalV2", "StatelessRandomUniformFullIntV2")


class GraphSide:
    """The TF1 graph side of a check (implements ``sides.Side``)."""

    label = "old"

    def __init__(self, fn, inputs, loss_fn, optimizer, seed=0):
        self.graph = tf.Graph()
        self.inputs = inputs
        self._optimizer = optimizer  # an optimizers.Choice
        with self.graph.as_default():
            tf.compat.v1.set_random_seed(seed)
            self.x = _placeholders(inputs, "check_inputs")
            self._input_ops = [t.op for t in tf.nest.flatten(self.x)]
            out = _call_user(fn, self.x, inputs)
            out = _structure.outputs_of(out, "the old model function")
            for t in tf.nest.flatten(out):
                if not isinstance(t, tf.Tensor):
                    raise UsageError(
                        f"the old model function must return tf.Tensor(s) built in the graph, got "
                        f"{type(t).__name__}. OLD is a TF1 model function fn(inputs) -> outputs (a tensor, "
                        "a list or a dict of tensors)."
                    )
            self.outputs = out
            self.heads = _structure.heads(out)
            self.outputs_shape = tf.nest.map_structure(lambda t: tuple(t.shape.as_list()), out)
            self.variables = list(tf.compat.v1.global_variables())
            if not self.variables:
                raise UsageError(
                    "the old model function created no variables (tf.compat.v1.get_variable / "
                    "tf_slim layers); there is nothing to compare."
                )
            trainable = {id(v) for v in tf.compat.v1.trainable_variables()}
            self.names = [v.op.name for v in self.variables]
            self.by_name = dict(zip(self.names, self.variables))
            self.shapes = {n: tuple(v.shape.as_list()) for n, v in self.by_name.items()}
            self.trainable = {n: id(v) in trainable for n, v in self.by_name.items()}
            self.reg_tensors = list(tf.compat.v1.get_collection(REGULARIZATION_LOSSES))
            self.update_ops = list(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS))
            self.losses = [self._loss_info(t) for t in self.reg_tensors]
            self._loss_fn = loss_fn
            self.session = tf.compat.v1.Session(graph=self.graph)
            self.session.run(tf.compat.v1.global_variables_initializer())
            self.session.run(tf.compat.v1.local_variables_initializer())
        self._train_op = None

    def set_targets(self, targets):
        self.targets = targets
        with self.graph.as_default():
            self.t = _placeholders(targets, "check_targets")
            self.data = tf.cast(self._loss_fn(self.t, self.outputs), tf.float32)
            self.reg = (
                tf.math.add_n([tf.cast(t, tf.float32) for t in self.reg_tensors])
                if self.reg_tensors else tf.constant(0.0)
            )
            self.total = self.data + self.reg
            self.train_vars = [v for v in self.variables if self.trainable[v.op.name]]
            grads = lambda y: [  # noqa: E731
                tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                for v, g in zip(self.train_vars, tf.gradients(y, self.train_vars))
            ]
            # One backward graph for the data loss, one (small) for the regularization;
            # the total's gradient is their sum (gradients are linear), and the train op
            # applies it, so no third backward graph is built.
            data_g, reg_g = grads(self.data), grads(self.reg)
            self._grads = (data_g, reg_g, [d + r for d, r in zip(data_g, reg_g)])

    def _feed(self):
        feed = dict(zip(tf.nest.flatten(self.x), tf.nest.flatten(self.inputs)))
        feed.update(zip(tf.nest.flatten(self.t), tf.nest.flatten(self.targets)))
        return feed

    def _loss_info(self, tensor):
        var_ops = set(self.names)

        def is_leaf(op):
            return op.type in _VARIABLE_OPS or op.name in var_ops or op in self._input_ops

        leaves = _graph_walk.reached(tensor.op, is_leaf)
        found = {op.name for op in leaves if op.name in var_ops}
        order = {n: i for i, n in enumerate(self.names)}
        return LossInfo(tensor.name, tuple(sorted(found, key=order.get)), any(op in self._input_ops for op in leaves))

    def random_ops(self):
        """Names of the random-sampling ops the outputs depend on (a dropout mask), in graph order."""
        return [op.name for op in self._reached(lambda op: op.type in _RANDOM_OPS)]

    def batch_norm_epsilons(self):
        """The ``epsilon`` attribute of every fused batch-norm op the outputs depend on."""
        ops = self._reached(lambda op: op.type.startswith("FusedBatchNorm"))
        return sorted(float(op.get_attr("epsilon")) for op in ops)

    def _reached(self, is_leaf):
        """The ops ``is_leaf`` selects that any output depends on (each once, in order)."""
        found = {}
        for t in tf.nest.flatten(self.outputs):
            for op in _graph_walk.reached(t.op, is_leaf):
                found.setdefault(op.name, op)
        return list(found.values())

    def update_statistics(self):
        """Run ``UPDATE_OPS`` once on the fixed inputs (what a TF1 train op runs before its step)."""
        if self.update_ops:
            self.session.run(self.update_ops, self._feed())

    def values(self):
        return dict(zip(self.names, self.session.run(self.variables)))

    def assign(self, values):
        """Set variables from numpy arrays (one placeholder + assign op per variable, built once)."""
        if not hasattr(self, "_assigners"):
            with self.graph.as_default(), tf.compat.v1.name_scope("check_assign"):
                self._assigners = {}
                for n, v in self.by_name.items():
                    ph = tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape)
                    self._assigners[n] = (ph, v.assign(ph, read_value=False))
        ops, feed = [], {}
        for name, value in values.items():
            ph, op = self._assigners[name]
            ops.append(op)
            feed[ph] = value
        if ops:
            self.session.run(ops, feed)

    def evaluate(self):
        out, data, regs = self.session.run([self.outputs, self.data, self.reg_tensors], self._feed())
        return {"outputs": out, "data": float(data), "reg_values": [float(r) for r in regs]}

    def reg_values(self):
        return [float(r) for r in self.session.run(self.reg_tensors, self._feed())]

    def gradients(self):
        data, reg, total = self.session.run(self._grads, self._feed())
        names = [v.op.name for v in self.train_vars]
        return {n: (d, r, t) for n, d, r, t in zip(names, data, reg, total)}

    def _build_train_op(self):
        with self.graph.as_default():
            self._lr = tf.compat.v1.placeholder_with_default(
                np.float32(self._optimizer.learning_rate), [], name="check_learning_rate")
            opt = self._optimizer.spec.make_tf1(self._lr, self._optimizer.params)
            with tf.control_dependencies(self.update_ops):
                # == opt.minimize(self.total, var_list=train_vars), reusing the gradients.
                self._train_op = opt.apply_gradients(zip(self._grads[2], self.train_vars))
            known = set(self.variables)
            self.session.run(tf.compat.v1.variables_initializer(
                [v for v in tf.compat.v1.global_variables() if v not in known]))

    def step(self, learning_rate=None):
        """One optimizer step on the total loss (``learning_rate`` overrides the constant rate)."""
        if self._train_op is None:
            self._build_train_op()
        feed = self._feed()
        if learning_rate is not None:
            feed[self._lr] = np.float32(learning_rate)
        self.session.run(self._train_op, feed)

    def describe_optimizer(self):
        return self._optimizer.spec.describe_tf1(self._optimizer.learning_rate, self._optimizer.params)

    def close(self):
        self.session.close()


def _call_user(fn, x, inputs):
    """Build the user's OLD function; shape-like errors are usage errors, anything else their code's."""
    try:
        return fn(x)
    except (TypeError, ValueError) as e:
        raise UsageError(
            f"the old model function {getattr(fn, '__name__', fn)!r} failed on inputs of shape "
            f"{_structure.describe(inputs)} ({type(e).__name__}: {e}). Check --input-shape / inputs "
            "(batch first; one --input-shape per input, in order) against what the function expects."
        ) from e
    except KeyError as e:
        if isinstance(inputs, dict) and e.args and e.args[0] not in inputs:
            raise UsageError(
                f"the old model function {getattr(fn, '__name__', fn)!r} asked for input {e.args[0]!r}, but the "
                f"inputs are {sorted(inputs)}. Name the inputs as the function reads them (the keys of the "
                "inputs dict / the --inputs .npz)."
            ) from e
        raise UserCodeError(f"OLD {getattr(fn, '__name__', fn)!r}", e) from e
    except Exception as e:  # noqa: BLE001 - the user's own code raised: reported as theirs (exit 3)
        raise UserCodeError(f"OLD {getattr(fn, '__name__', fn)!r}", e) from e


def _placeholders(arrays, name):
    """A placeholder per array of ``arrays`` (an array, a list or a dict), in the same structure."""
    if isinstance(arrays, np.ndarray):
        return tf.compat.v1.placeholder(tf.as_dtype(arrays.dtype), arrays.shape, name=name)
    items = arrays.items() if isinstance(arrays, dict) else enumerate(arrays)
    made = {k: tf.compat.v1.placeholder(tf.as_dtype(a.dtype), a.shape, name=f"{name}_{_op_name(k)}")
            for k, a in items}
    return made if isinstance(arrays, dict) else [made[i] for i in range(len(arrays))]


def _op_name(key):
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in str(key)) or "input"
