"""The new side: a Keras model (Keras 3 or tf_keras, the active flavor) in this process.

Regularization is ``sum(model.losses)`` after a call on the inputs; total = data
loss + that sum (Keras 3's ``compute_loss`` and tf_keras'
``compiled_loss(regularization_losses=model.losses)`` both add it). The step uses
the model's own compiled optimizer if it has one, else the Keras optimizer that
reproduces the TF1 one (``optimizers.Spec.make_keras``; RMSprop's velocity slots
set to TF1's 1.0). A model that overrides ``train_step`` is stepped through
``train_on_batch`` so its own training logic is what is checked. Under a strategy
the checker's step runs ``strategy.run`` with the data loss and
``tf.nn.scale_regularization_loss(sum(model.losses))`` per replica.
"""

import numpy as np
import tensorflow as tf

from compat_reg import _flavor
from compat_reg import _graph_walk
from compat_reg._internals import keras3 as _keras3_internals
from compat_reg._internals import tf_keras as _tf_keras_internals
from . import LossInfo
from .. import _structure


def _internals():
    return _keras3_internals if _flavor.is_keras3() else _tf_keras_internals


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


def _scheduled_learning_rate(opt):
    """The rate a ``LearningRateSchedule`` gives the optimizer's next step, or ``None`` for a constant rate."""
    cfg = opt.get_config().get("learning_rate")
    if not isinstance(cfg, dict):  # a constant rate (a float)
        return None
    schedule = _flavor.keras().optimizers.schedules.deserialize(cfg)
    return float(np.asarray(schedule(int(np.asarray(opt.iterations)))))


def _layers(model):
    """Every layer reachable through ``.layers`` (functional, Sequential and subclassed models)."""
    seen, stack, out = set(), [model], []
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        out.append(layer)
        stack.extend(getattr(layer, "layers", None) or [])
    return out


def switch_off_dropout(model):
    """Set every Keras dropout layer's ``rate`` to 0 (identity in training mode); returns their names."""
    keras = _flavor.keras()
    kinds = tuple(getattr(keras.layers, n) for n in ("Dropout", "GaussianDropout", "AlphaDropout")
                  if hasattr(keras.layers, n))
    names = []
    for layer in _layers(model):
        if isinstance(layer, kinds) and getattr(layer, "rate", 0):
            layer.rate = 0.0
            names.append(layer.name)
    return names


class KerasSide:
    """The in-process Keras side of a check (implements ``sides.NewSide``)."""

    label = "new"

    def __init__(self, model, inputs, loss_fn, optimizer, training=False, strategy=None):
        self.model, self.inputs, self.training, self.strategy = model, inputs, training, strategy
        self._loss_fn = loss_fn
        self._choice = optimizer  # an optimizers.Choice: what to build when the model has none
        self.x = tf.nest.map_structure(tf.constant, inputs)
        self._traced = None
        n_built = len(model.weights)
        if not training and strategy is None and getattr(model, "built", False) and not _overrides_train_step(model):
            try:
                self._trace()
            except Exception:  # noqa: BLE001 - a model that cannot be traced (creates weights per call) runs eagerly
                self._traced = None
                n_built = len(model.weights)
        out, _ = self._forward()
        self.heads = _structure.heads(out)
        self.outputs_shape = tf.nest.map_structure(lambda t: tuple(np.asarray(t).shape), out)
        n_first = len(model.weights)
        self._forward()
        # A built model that still creates weights when called creates them once per call: in
        # the traced path the trace was that (second) call.
        self.created_twice = len(model.weights) - (n_built if self._traced is not None else n_first)
        self.weights = list(model.weights)
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
        self.custom_train_step = _overrides_train_step(model)
        compiled = getattr(model, "optimizer", None)
        self.optimizer = compiled if compiled is not None and not isinstance(compiled, str) else None
        self.optimizer_from_model = self.optimizer is not None
        self.losses = None

    # -- calls
    def _call(self):
        """Call the model on the inputs; in training mode, moving statistics are left as they were.

        Keras updates batch-norm statistics inside every ``training=True`` call, while the
        TF1 side updates them only with its train op: the checker's evaluations, probes
        and gradients must not count as training steps.
        """
        if not self.training:
            return self.model(self.x, training=False)
        frozen = [v for v in self.model.non_trainable_weights]
        saved = [np.asarray(_tf_variable(v).numpy()) for v in frozen]
        out = self.model(self.x, training=True)
        for v, value in zip(frozen, saved):
            v.assign(value)
        return out

    def _trace(self):
        """Trace ``model(x); model.losses`` once; every later forward pass runs that concrete function.

        A built model in inference mode needs no eager call: tracing it once here (a
        ``TF1Layer`` traces its TF1 function inline) serves the forward passes, the
        probes, the gradients and the steps, and its graph tells which variables each loss
        reads — one trace of the model instead of two (eager call + loss-reading trace).
        """
        holder = {}

        def fn(x):
            out = _structure.outputs_of(self.model(x, training=False), "the new model")
            holder["losses"] = [tf.convert_to_tensor(l) for l in self.model.losses]
            return out, holder["losses"]

        concrete = tf.function(fn, autograph=False).get_concrete_function(_specs(self.x))
        self._traced = (concrete, holder["losses"])

    def _forward(self, x=None):
        """``(outputs, [regularization loss tensors])`` at the current weights, on ``x`` (default: the inputs)."""
        if self._traced is not None and x is None:
            out, losses = self._traced[0](self.x)
            return out, list(losses)
        if x is not None:
            out = _structure.outputs_of(self.model(x, training=self.training), "the new model")
            return out, list(self.model.losses)
        out = _structure.outputs_of(self._call(), "the new model")
        return out, list(self.model.losses)

    def set_targets(self, targets):
        self.targets = targets
        self.t = tf.nest.map_structure(tf.constant, targets)
        self.losses = self._loss_infos()

    def _loss_infos(self):
        """Which weights (and whether the inputs) each ``model.losses`` entry reads.

        Traces ``model(x); model.losses`` once in a ``tf.function`` and walks each
        loss back through the function graph (``compat_reg._graph_walk``, control
        inputs too) to the captured variable handles and the input placeholder
        (layers that wrap their eager path in their own ``tf.function``, like
        ``TF1Layer``, build inline while traced, so the walk sees through them). A
        nested function call op is opaque and counts as reading all its inputs. If
        the traced losses do not match the eager ones, falls back to
        ``GradientTape`` connectivity with non-zero gradients.
        """
        try:
            infos = self._loss_infos_traced()
        except Exception:  # noqa: BLE001 - any tracing problem: use the tape instead
            infos = None
        return infos if infos is not None else self._loss_infos_tape()

    def _loss_infos_traced(self):
        holder = {}
        if self._traced is not None:
            concrete, holder["losses"] = self._traced
        else:
            def fn(x):
                self.model(x, training=self.training)
                holder["losses"] = [tf.convert_to_tensor(l) for l in self.model.losses]
                return holder["losses"]

            concrete = tf.function(fn, autograph=False).get_concrete_function(_specs(self.x))
        graph = concrete.graph
        handles = {}
        for n, v in self.by_name.items():
            handle = getattr(_tf_variable(v), "handle", None)
            if handle is not None:
                handles[id(handle)] = n
        captured = {internal.op.name: handles[id(external)] for external, internal in graph.captures
                    if id(external) in handles}
        input_ops = {t.op.name for t in graph.inputs[: len(tf.nest.flatten(self.x))]}
        if self._traced is None:  # the eager losses must be the traced ones, else trust the tape
            traced = [float(v) for v in concrete(self.x)]
            self._call()
            eager = [float(l) for l in self.model.losses]
            if len(traced) != len(eager) or not np.allclose(traced, eager, rtol=1e-5, atol=1e-12):
                return None
        order = {n: i for i, n in enumerate(self.names)}

        def is_leaf(op):
            return op.name in captured or op.name in input_ops

        infos = []
        for i, loss in enumerate(holder["losses"]):
            leaves = _graph_walk.reached(loss.op, is_leaf, control_inputs=True)
            found = {captured[op.name] for op in leaves if op.name in captured}
            reads_inputs = any(op.name in input_ops for op in leaves)
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

        def reads(g):
            return g is not None and bool(np.any(np.asarray(tf.convert_to_tensor(g))))

        infos = []
        for i, loss in enumerate(losses):
            xs = tf.nest.flatten(self.x)
            grads = tape.gradient(loss, xs + tf_vars, unconnected_gradients=tf.UnconnectedGradients.NONE)
            names = tuple(n for n, g in zip(self.names, grads[len(xs):]) if reads(g))
            infos.append(LossInfo(f"model.losses[{i}]", names, any(reads(g) for g in grads[:len(xs)])))
        del tape
        return infos

    def batch_norm_epsilons(self):
        """The ``epsilon`` of every Keras ``BatchNormalization`` layer of the model."""
        bn = _flavor.keras().layers.BatchNormalization
        return sorted(float(layer.epsilon) for layer in _layers(self.model) if isinstance(layer, bn))

    def update_statistics(self):
        """One call in training mode: Keras updates batch-norm moving statistics inside the call."""
        self.model(self.x, training=True)  # not self._call(): this one must update

    def values(self):
        return {n: np.asarray(_tf_variable(v).numpy()) for n, v in self.by_name.items()}

    def assign(self, values):
        for name, value in values.items():
            self.by_name[name].assign(value)

    def evaluate(self):
        out, losses = self._forward()
        regs = [float(r) for r in losses]
        data = float(self._loss_fn(self.t, out))
        return {"outputs": tf.nest.map_structure(np.asarray, out), "data": data, "reg_values": regs}

    def reg_values(self):
        return [float(r) for r in self._forward()[1]]

    def replica_reg_values(self, indices):
        dataset = tf.data.Dataset.from_tensor_slices(_sliceable(self.inputs)).batch(
            _structure.batch_size(self.inputs))
        for x in self.strategy.experimental_distribute_dataset(dataset):
            def replica_fn(x):
                self.model(x, training=self.training)
                losses = list(self.model.losses)
                return tf.stack([tf.cast(losses[i], tf.float32) for i in indices])

            per_replica = self.strategy.run(replica_fn, args=(x,))
            return [np.asarray(v) for v in self.strategy.experimental_local_results(per_replica)]
        return []

    # -- the optimizer
    def ensure_optimizer(self):
        """The optimizer the steps use: the model's own, or the Keras one that reproduces TF1's."""
        if self.optimizer is None:
            make = lambda: self._choice.spec.make_keras(self._choice.learning_rate, self._choice.params)  # noqa: E731
            if self.strategy is not None:
                with self.strategy.scope():
                    self.optimizer = make()
            else:
                self.optimizer = make()
            self._init_slots()
        return self.optimizer

    def _init_slots(self):
        """Start the slots Keras has no argument for at TF1's value (RMSProp's mean square at 1.0)."""
        init = self._choice.spec.keras_slot_init
        if not init or self.custom_train_step:
            return
        variables = [v for _, v in self._trainable_pairs()]
        if self.strategy is not None:
            with self.strategy.scope():
                self.optimizer.build(variables)
        else:
            self.optimizer.build(variables)
        for v in self.optimizer.variables:
            for slot, value in init.items():
                if slot in keras_name(v):
                    v.assign(np.full(v.shape, value, np.float32))

    def slot_values(self, slot):
        """Values of the optimizer's variables named ``*slot*`` (built first), flattened; ``None`` if none."""
        opt = self.ensure_optimizer()
        found = [v for v in opt.variables if slot in keras_name(v)]
        if not found:  # not built yet (a compiled optimizer builds at its first step)
            opt.build([v for _, v in self._trainable_pairs()])
            found = [v for v in opt.variables if slot in keras_name(v)]
        return np.concatenate([np.asarray(_tf_variable(v).numpy()).ravel() for v in found]) if found else None

    def weight_decay(self):
        opt = self.optimizer
        wd = getattr(opt, "weight_decay", None) if opt is not None else None
        if not wd:
            return {}
        decays = _internals().optimizer_decays_variable
        return {n: float(wd) for n, v in self.by_name.items() if self.trainable[n] and decays(opt, v)}

    def optimizer_is_plain_sgd(self):
        opt = self.optimizer
        if opt is None:
            return self._choice.name == "sgd"
        return (type(opt).__name__ == "SGD" and not float(getattr(opt, "momentum", 0.0) or 0.0)
                and not getattr(opt, "nesterov", False))

    def optimizer_config(self):
        opt = self.ensure_optimizer()
        return {"class": type(opt).__name__, **opt.get_config()}

    def scheduled_learning_rate(self):
        """The scheduled rate of the next step, or ``None`` when the rate is constant."""
        return _scheduled_learning_rate(self.ensure_optimizer())

    def describe_optimizer(self):
        opt = self.ensure_optimizer()
        cfg = opt.get_config()
        keys = [k for k in ("learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "rho", "epsilon",
                            "initial_accumulator_value", "centered", "weight_decay")
                if k in cfg and cfg.get(k) not in (None, 0.0, False)]
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
                out, losses = self._forward()
                if which == "data":
                    y = tf.cast(self._loss_fn(self.t, out), tf.float32)
                else:
                    y = tf.math.add_n([tf.cast(l, tf.float32) for l in losses]) if losses else tf.constant(0.0)
            g.append(tape.gradient(y, tf_vars))
        result = {}
        for i, (n, v) in enumerate(pairs):
            d, r = (np.zeros(v.shape, np.float32) if gi[i] is None else np.asarray(tf.convert_to_tensor(gi[i]))
                    for gi in g)
            result[n] = (d, r, d + r)  # the total's gradient is the sum (linearity), as on the old side
        return result

    def step(self):
        opt = self.ensure_optimizer()
        if self.custom_train_step:
            if not _internals().model_is_compiled(self.model) or getattr(self.model, "optimizer", None) is None:
                self.model.compile(optimizer=opt, loss=self._loss_fn, jit_compile=False)
            self.model.train_on_batch(self.inputs, self.targets)
            return
        variables = [v for _, v in self._trainable_pairs()]
        if self.strategy is None:
            grads = self._grads_one(variables, self.x, self.t, 1)
            opt.apply_gradients(zip(grads, variables))
            return
        replicas = self.strategy.num_replicas_in_sync
        dataset = tf.data.Dataset.from_tensor_slices((_sliceable(self.inputs), _sliceable(self.targets))).batch(
            _structure.batch_size(self.inputs))
        for x, t in self.strategy.experimental_distribute_dataset(dataset):
            def replica_step(x, t):
                grads = self._grads_one(variables, x, t, replicas)
                opt.apply_gradients(zip(grads, variables))

            self.strategy.run(replica_step, args=(x, t))

    def _grads_one(self, variables, x, t, replicas):
        with tf.GradientTape() as tape:
            out, losses = self._forward(None if replicas == 1 and self._traced is not None else x)
            data = tf.cast(self._loss_fn(t, out), tf.float32) / replicas
            reg = tf.math.add_n([tf.cast(l, tf.float32) for l in losses]) if losses else tf.constant(0.0)
            if replicas > 1:
                reg = tf.nn.scale_regularization_loss(reg)
            total = data + reg
        grads = tape.gradient(total, [_tf_variable(v) for v in variables])
        return [tf.zeros_like(_tf_variable(v)) if g is None else g for g, v in zip(grads, variables)]

    def close(self):
        pass


def _sliceable(arrays):
    """A list of arrays as a tuple: ``from_tensor_slices`` would stack a list into one tensor."""
    return tuple(arrays) if isinstance(arrays, list) else arrays


def _specs(x):
    """``tf.TensorSpec``s of the inputs, in their structure (an array, a list or a dict)."""
    return tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype), x)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, dict):
        return v.get("class_name", "schedule")
    return repr(v)
