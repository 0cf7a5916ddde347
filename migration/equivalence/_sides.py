"""The two sides of a check: a TF1 model function in a graph, and a Keras model.

Both expose the same small interface, so the stages never ask which side they
look at:

* ``names`` (creation order), ``shapes``, ``trainable``;
* ``values()`` / ``assign(values)`` — numpy arrays by variable name;
* ``evaluate()`` — outputs, data loss, each regularization loss, at the current
  weights and the fixed inputs/targets;
* ``losses`` — for each regularization loss, the variables it reads and whether it
  reads the inputs (an activity penalty), found structurally: by walking the TF1
  graph, and with ``GradientTape`` connectivity on the Keras side;
* ``gradients()`` — data / regularization / total gradient of each trainable variable;
* ``step()`` — one optimizer step on the total loss.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from compat_reg import _flavor

REGULARIZATION_LOSSES = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES
_VARIABLE_OPS = ("VarHandleOp", "VariableV2", "Variable", "VarHandle")
MOMENTUM = 0.9


class UsageError(ValueError):
    """A check that cannot run as asked (wrong kind of callable, shapes that do not fit)."""


@dataclasses.dataclass
class LossInfo:
    """One regularization loss: a label, the variables it reads, whether it reads the inputs."""

    label: str
    variables: tuple
    reads_inputs: bool

    @property
    def kind(self):
        if self.reads_inputs:
            return "activity"
        if len(self.variables) == 1:
            return "weight"
        if not self.variables:
            return "constant"
        return "group"


def _first_output(out, who):
    if isinstance(out, (tuple, list)) and out:
        out = out[0]
    if isinstance(out, dict):
        raise UsageError(
            f"{who} returned a dict ({sorted(out)}); the checker compares one output tensor. "
            "Return the logits/outputs tensor (a tuple's first element is taken, as for "
            "tf_slim nets' (net, end_points))."
        )
    return out


# --------------------------------------------------------------------------- old


class GraphSide:
    """A TF1 model function ``fn(inputs) -> outputs`` built in a fresh ``tf.Graph`` + ``Session``.

    Regularization is what TF1 trained with: ``REGULARIZATION_LOSSES`` summed
    (``get_regularization_loss``); total loss = data loss + that sum; the step is
    ``GradientDescentOptimizer`` (or ``MomentumOptimizer(momentum=0.9)``)
    ``minimize(total)`` with ``UPDATE_OPS`` as control dependencies, as tf_slim's
    ``create_train_op`` does.
    """

    label = "old"

    def __init__(self, fn, inputs, loss_fn, optimizer, learning_rate, seed=0):
        self.graph = tf.Graph()
        self.inputs = inputs
        with self.graph.as_default():
            tf.compat.v1.set_random_seed(seed)
            self.x = tf.compat.v1.placeholder(tf.as_dtype(inputs.dtype), inputs.shape, name="check_inputs")
            try:
                out = fn(self.x)
            except (TypeError, ValueError) as e:
                raise UsageError(
                    f"the old model function {getattr(fn, '__name__', fn)!r} failed on inputs of shape "
                    f"{tuple(inputs.shape)} ({type(e).__name__}: {e}). Check --input-shape / inputs "
                    "(batch first) against what the function expects."
                ) from e
            out = _first_output(out, "the old model function")
            if not isinstance(out, tf.Tensor):
                raise UsageError(
                    f"the old model function must return a tf.Tensor built in the graph, got "
                    f"{type(out).__name__}. OLD is a TF1 model function fn(inputs) -> outputs."
                )
            self.outputs = out
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
            self.losses = [self._loss_info(t) for t in self.reg_tensors]
            self._loss_fn = loss_fn
            self._targets_ph = None
            self.session = tf.compat.v1.Session(graph=self.graph)
            self.session.run(tf.compat.v1.global_variables_initializer())
            self.session.run(tf.compat.v1.local_variables_initializer())
        self._optimizer, self._learning_rate = optimizer, learning_rate
        self._built_training = False

    def set_targets(self, targets):
        self.targets = targets
        with self.graph.as_default():
            self.t = tf.compat.v1.placeholder(tf.as_dtype(targets.dtype), targets.shape, name="check_targets")
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
        return {self.x: self.inputs, self.t: self.targets}

    def _loss_info(self, tensor):
        var_ops = {v.op.name: v.op.name for v in self.variables}
        seen, stack, found, reads_inputs = set(), [tensor.op], set(), False
        while stack:
            op = stack.pop()
            if op.name in seen:
                continue
            seen.add(op.name)
            if op.type in _VARIABLE_OPS or op.name in var_ops:
                if op.name in var_ops:
                    found.add(op.name)
                continue
            if op is self.x.op:
                reads_inputs = True
                continue
            stack.extend(t.op for t in op.inputs)
        order = {n: i for i, n in enumerate(self.names)}
        return LossInfo(tensor.name, tuple(sorted(found, key=order.get)), reads_inputs)

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

    def step(self):
        if not self._built_training:
            with self.graph.as_default():
                if self._optimizer == "momentum":
                    opt = tf.compat.v1.train.MomentumOptimizer(self._learning_rate, MOMENTUM)
                else:
                    opt = tf.compat.v1.train.GradientDescentOptimizer(self._learning_rate)
                update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
                with tf.control_dependencies(update_ops):
                    # == opt.minimize(self.total, var_list=train_vars), reusing the gradients.
                    self._train_op = opt.apply_gradients(zip(self._grads[2], self.train_vars))
                new_vars = [v for v in tf.compat.v1.global_variables() if v not in set(self.variables)]
                self.session.run(tf.compat.v1.variables_initializer(new_vars))
            self._built_training = True
        self.session.run(self._train_op, self._feed())

    def describe_optimizer(self):
        if self._optimizer == "momentum":
            return f"tf.compat.v1.train.MomentumOptimizer({self._learning_rate:g}, momentum={MOMENTUM})"
        return f"tf.compat.v1.train.GradientDescentOptimizer({self._learning_rate:g})"

    def close(self):
        self.session.close()


# --------------------------------------------------------------------------- new


def _tf_variable(v):
    """The ``tf.Variable`` behind a Keras 3 variable (tf_keras weights are ``tf.Variable``)."""
    return v if isinstance(v, tf.Variable) else v.value


def keras_name(v):
    """A Keras weight's name: Keras 3 ``path`` (``dense/kernel``), tf_keras ``name`` without ``:0``."""
    name = getattr(v, "path", None) or v.name
    return name[:-2] if name.endswith(":0") else name


def _overrides_train_step(model):
    base = _flavor.keras().Model
    return getattr(type(model), "train_step", None) is not getattr(base, "train_step", None)


class KerasSide:
    """A Keras model (Keras 3 or tf_keras: the active flavor), optionally under a ``tf.distribute`` strategy.

    Regularization is ``sum(model.losses)`` after a call on the inputs; total =
    data loss + that sum (Keras 3's ``compute_loss`` and tf_keras'
    ``compiled_loss(regularization_losses=model.losses)`` both add it). The step
    is the same optimizer as the old side's (Keras ``SGD``), or the model's own
    compiled optimizer if it has one; a model that overrides ``train_step`` is
    stepped through ``train_on_batch`` so its own training logic is what is checked.
    Under a strategy, the checker's step runs ``strategy.run`` with the data loss
    and ``tf.nn.scale_regularization_loss(sum(model.losses))`` per replica.
    """

    label = "new"

    def __init__(self, model, inputs, loss_fn, optimizer, learning_rate, training=False, strategy=None):
        self.model, self.inputs, self.training, self.strategy = model, inputs, training, strategy
        self._loss_fn = loss_fn
        self.x = tf.constant(inputs)
        out = self._call()
        out = _first_output(out, "the new model")
        self.outputs_shape = tuple(np.asarray(out).shape)
        self.weights = list(model.weights)
        n_first = len(self.weights)
        self._call()
        self.created_twice = len(model.weights) - n_first
        self.names = [keras_name(v) for v in self.weights]
        dup = sorted({n for n in self.names if self.names.count(n) > 1})
        if dup:
            # Keras 3 paths are unique per model; tf_keras names may repeat across nested models.
            self.names = [f"{n}#{i}" if n in dup else n for i, n in enumerate(self.names)]
        self.by_name = dict(zip(self.names, self.weights))
        self.shapes = {n: tuple(v.shape) for n, v in self.by_name.items()}
        # Membership in trainable_weights, not Variable.trainable: tf_keras keeps a frozen
        # layer's variables trainable=True and only moves them to non_trainable_weights.
        trainable_ids = {id(w) for w in model.trainable_weights}
        self.trainable = {n: id(v) in trainable_ids for n, v in self.by_name.items()}
        self._opt_spec, self._learning_rate = optimizer, learning_rate
        self.custom_train_step = _overrides_train_step(model)
        compiled = getattr(model, "optimizer", None)
        self.optimizer = compiled if compiled is not None and not isinstance(compiled, str) else None
        self.optimizer_from_model = self.optimizer is not None
        self.losses = None

    # -- calls
    def _call(self):
        return self.model(self.x, training=self.training)

    def set_targets(self, targets):
        self.targets = targets
        self.t = tf.constant(targets)
        self.losses = self._loss_infos()

    def _loss_infos(self):
        """Which weights (and whether the inputs) each ``model.losses`` entry reads.

        Traces ``model(x); model.losses`` once in a ``tf.function`` and walks each
        loss back through the function graph to the captured variable handles and
        the input placeholder (layers that wrap their eager path in their own
        ``tf.function``, like ``TF1Layer``, build inline while traced, so the walk
        sees through them). A nested function call op is opaque and counts as
        reading all its inputs. If the traced losses do not match the eager ones,
        falls back to ``GradientTape`` connectivity with non-zero gradients.
        """
        try:
            infos = self._loss_infos_traced()
        except Exception:  # noqa: BLE001 - any tracing problem: use the tape instead
            infos = None
        return infos if infos is not None else self._loss_infos_tape()

    def _loss_infos_traced(self):
        captured = {}
        holder = {}

        def fn(x):
            out = self.model(x, training=self.training)
            losses = [tf.convert_to_tensor(l) for l in self.model.losses]
            holder["losses"] = losses
            return losses

        concrete = tf.function(fn, autograph=False).get_concrete_function(
            tf.TensorSpec(self.x.shape, self.x.dtype)
        )
        graph = concrete.graph
        handles = {}
        for n, v in self.by_name.items():
            tv = _tf_variable(v)
            handle = getattr(tv, "handle", None)
            if handle is not None:
                handles[id(handle)] = n
        for external, internal in graph.captures:
            if id(external) in handles:
                captured[internal.op.name] = handles[id(external)]
        input_ops = {t.op.name for t in graph.inputs[: len(tf.nest.flatten(self.x))]}
        traced = [float(v) for v in concrete(self.x)]
        self._call()
        eager = [float(l) for l in self.model.losses]
        if len(traced) != len(eager) or not np.allclose(traced, eager, rtol=1e-5, atol=1e-12):
            return None
        order = {n: i for i, n in enumerate(self.names)}
        infos = []
        for i, loss in enumerate(holder["losses"]):
            seen, stack, found, reads_inputs = set(), [loss.op], set(), False
            while stack:
                op = stack.pop()
                if op.name in seen:
                    continue
                seen.add(op.name)
                if op.name in captured:
                    found.add(captured[op.name])
                    continue
                if op.name in input_ops:
                    reads_inputs = True
                    continue
                stack.extend(t.op for t in op.inputs)
                stack.extend(op.control_inputs)
            infos.append(LossInfo(f"model.losses[{i}]", tuple(sorted(found, key=order.get)), reads_inputs))
        return infos

    def _loss_infos_tape(self):
        tf_vars = [_tf_variable(v) for v in self.weights]
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(self.x)
            for v in tf_vars:
                tape.watch(v)
            self._call()
            losses = list(self.model.losses)
        infos = []

        def reads(g):
            return g is not None and bool(np.any(np.asarray(tf.convert_to_tensor(g))))

        for i, loss in enumerate(losses):
            grads = tape.gradient(loss, [self.x] + tf_vars, unconnected_gradients=tf.UnconnectedGradients.NONE)
            names = tuple(n for n, g in zip(self.names, grads[1:]) if reads(g))
            infos.append(LossInfo(f"model.losses[{i}]", names, reads(grads[0])))
        del tape
        return infos

    def values(self):
        return {n: np.asarray(_tf_variable(v).numpy() if hasattr(_tf_variable(v), "numpy") else v)
                for n, v in self.by_name.items()}

    def assign(self, values):
        for name, value in values.items():
            self.by_name[name].assign(value)

    def evaluate(self):
        out = _first_output(self._call(), "the new model")
        regs = [float(r) for r in self.model.losses]
        data = float(self._loss_fn(self.t, out))
        return {"outputs": np.asarray(out), "data": data, "reg_values": regs}

    def reg_values(self):
        self._call()
        return [float(r) for r in self.model.losses]

    def replica_reg_values(self, indices):
        """Under the strategy: each replica's values of ``model.losses[i]`` for ``indices``, on its shard."""
        dataset = tf.data.Dataset.from_tensor_slices(self.inputs).batch(len(self.inputs))
        for x in self.strategy.experimental_distribute_dataset(dataset):
            def replica_fn(x):
                self.model(x, training=self.training)
                losses = list(self.model.losses)
                return tf.stack([tf.cast(losses[i], tf.float32) for i in indices])

            per_replica = self.strategy.run(replica_fn, args=(x,))
            return [np.asarray(v) for v in self.strategy.experimental_local_results(per_replica)]
        return []

    # -- weight decay of the optimizer (decoupled, not a loss)
    def _ensure_optimizer(self):
        if self.optimizer is None:
            make = lambda: _keras_sgd(self._opt_spec, self._learning_rate)  # noqa: E731
            if self.strategy is not None:
                with self.strategy.scope():
                    self.optimizer = make()
            else:
                self.optimizer = make()
        return self.optimizer

    def weight_decay(self):
        """``{name: wd}`` for variables the optimizer decays (decoupled), else ``{}``."""
        opt = self.optimizer
        wd = getattr(opt, "weight_decay", None) if opt is not None else None
        if not wd:
            return {}
        use = getattr(opt, "_use_weight_decay", None)
        out = {}
        for n, v in self.by_name.items():
            if not self.trainable[n]:
                continue
            if use is None or use(v):
                out[n] = float(wd)
        return out

    def optimizer_is_plain_sgd(self):
        opt = self.optimizer
        if opt is None:
            return self._opt_spec == "sgd"
        name = type(opt).__name__
        return name == "SGD" and not float(getattr(opt, "momentum", 0.0) or 0.0) and not getattr(opt, "nesterov", False)

    def optimizer_learning_rate(self):
        opt = self.optimizer
        if opt is None:
            return self._learning_rate
        lr = opt.learning_rate
        return float(lr.numpy() if hasattr(lr, "numpy") else lr)

    def describe_optimizer(self):
        opt = self._ensure_optimizer()
        cfg = opt.get_config()
        keys = [k for k in ("learning_rate", "momentum", "weight_decay") if cfg.get(k) not in (None, 0.0, False)]
        args = ", ".join(f"{k}={_fmt(cfg[k])}" for k in keys)
        origin = " (the model's compiled optimizer)" if self.optimizer_from_model else ""
        via = " via the model's own train_step (train_on_batch)" if self.custom_train_step else ""
        return f"{type(opt).__name__}({args}){origin}{via}"

    # -- gradients and steps
    def _trainable_pairs(self):
        return [(n, v) for n, v in self.by_name.items() if self.trainable[n]]

    def gradients(self):
        pairs = self._trainable_pairs()
        tf_vars = [_tf_variable(v) for _, v in pairs]
        # Two first-order tapes rather than one persistent tape: a persistent tape makes
        # TensorFlow build higher-order forward/backward functions for every tf.function
        # the model calls (e.g. TF1Layer's), which costs as much as a fresh trace.
        g = []
        for which in ("data", "reg"):
            with tf.GradientTape() as tape:
                for v in tf_vars:
                    tape.watch(v)
                out = _first_output(self._call(), "the new model")
                if which == "data":
                    y = tf.cast(self._loss_fn(self.t, out), tf.float32)
                else:
                    losses = list(self.model.losses)
                    y = tf.math.add_n([tf.cast(l, tf.float32) for l in losses]) if losses else tf.constant(0.0)
            g.append(tape.gradient(y, tf_vars))
        result = {}
        for i, (n, v) in enumerate(pairs):
            d, r = (np.zeros(v.shape, np.float32) if gi[i] is None else np.asarray(tf.convert_to_tensor(gi[i]))
                    for gi in g)
            result[n] = (d, r, d + r)  # the total's gradient is the sum (linearity), as on the old side
        return result

    def step(self):
        opt = self._ensure_optimizer()
        if self.custom_train_step:
            if not getattr(self.model, "compiled_loss", None) and not getattr(self.model, "_is_compiled", False):
                self._compile(opt)
            elif getattr(self.model, "optimizer", None) is None:
                self._compile(opt)
            self.model.train_on_batch(self.inputs, self.targets)
            return
        pairs = self._trainable_pairs()
        variables = [v for _, v in pairs]
        if self.strategy is None:
            grads = self._grads_one(variables, self.x, self.t, 1)
            opt.apply_gradients(zip(grads, variables))
            return
        replicas = self.strategy.num_replicas_in_sync
        dataset = tf.data.Dataset.from_tensor_slices((self.inputs, self.targets)).batch(len(self.inputs))
        dist = self.strategy.experimental_distribute_dataset(dataset)
        for x, t in dist:
            def replica_step(x, t):
                grads = self._grads_one(variables, x, t, replicas)
                opt.apply_gradients(zip(grads, variables))

            self.strategy.run(replica_step, args=(x, t))

    def _grads_one(self, variables, x, t, replicas):
        with tf.GradientTape() as tape:
            out = _first_output(self.model(x, training=self.training), "the new model")
            data = tf.cast(self._loss_fn(t, out), tf.float32) / replicas
            losses = list(self.model.losses)
            reg = tf.math.add_n([tf.cast(l, tf.float32) for l in losses]) if losses else tf.constant(0.0)
            if replicas > 1:
                reg = tf.nn.scale_regularization_loss(reg)
            total = data + reg
        grads = tape.gradient(total, [_tf_variable(v) for v in variables])
        return [tf.zeros_like(_tf_variable(v)) if g is None else g for g, v in zip(grads, variables)]

    def _compile(self, opt):
        kwargs = {"optimizer": opt, "loss": self._loss_fn}
        kwargs["jit_compile"] = False
        self.model.compile(**kwargs)

    def close(self):
        pass


def _fmt(v):
    if isinstance(v, float):
        return f"{v:g}"
    return repr(v)


def _keras_sgd(spec, learning_rate):
    keras = _flavor.keras()
    if spec == "momentum":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=MOMENTUM)
    return keras.optimizers.SGD(learning_rate=learning_rate)


OPTIMIZERS = ("sgd", "momentum")
