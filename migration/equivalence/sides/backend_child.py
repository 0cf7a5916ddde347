"""The child process of a check whose new side runs on Keras 3's JAX or PyTorch backend.

Started by ``child_process.ChildSide`` as ``python -m <package>.sides.backend_child
DIR`` with ``KERAS_BACKEND`` set. It builds NEW (imported by ``module:attr``) and
answers one request per line on stdin, ``{"op": method, "args": {...}}``, with one
JSON line on its protocol channel (the original stdout; the user's prints go to
stderr). ``release`` drops the side and clears Keras' session, so a parent that
keeps the child (``child_process.reuse_children``) can ``init`` the next NEW in it. Arrays cross in both directions as ``.npz`` files in ``DIR``
(``encode`` / ``decode``: an array in a message is ``{"__npz__": key}``).

``BackendSide`` is the in-process ``KerasSide`` with everything TensorFlow-specific
done with the backend's own machinery:

* ``model.losses`` after ``model(x)`` (eager) for the values;
* gradients: ``jax.grad`` over ``model.stateless_call(..., return_losses=True)``,
  or torch autograd through the variables' ``torch.nn.Parameter``;
* which weights (and whether the inputs) each loss reads: torch autograd with
  ``allow_unused`` (exact), JAX's Jacobian at seeded non-zero weights (a zero
  bias hides an L2 term's gradient);
* steps: the Keras optimizer's ``apply_gradients`` on that backend (or
  ``train_on_batch`` for a model with its own ``train_step``).
"""

import json
import os
import sys
import traceback

import numpy as np

import keras

from .. import _structure
from . import LossInfo
from . import first_output
from .keras_inprocess import KerasSide
from .keras_inprocess import keras_name
from .keras_inprocess import switch_off_dropout


def data_loss(name):
    """The checker's named data losses with ``keras.ops`` (same math as ``_losses``)."""
    ops = keras.ops

    def mse(t, out):
        return ops.mean(ops.square(ops.cast(out, "float32") - ops.cast(t, "float32")))

    def xent(t, out):
        logits = ops.reshape(ops.cast(out, "float32"), (out.shape[0], -1))
        labels = ops.reshape(ops.cast(t, "int32"), (-1,))
        return ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))

    return {"mse": mse, "sparse_softmax_cross_entropy": xent, "xent": xent}.get(name)


def import_reference(ref):
    import importlib

    module, qualname = ref.split(":", 1)
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class _Choice:
    """What ``KerasSide.ensure_optimizer`` reads of an ``optimizers.Choice``: rebuilt from its name."""

    def __init__(self, name, learning_rate, params):
        from .. import optimizers

        self.name, self.learning_rate, self.params = name, learning_rate, params
        self.spec = optimizers.spec(name)


class BackendSide(KerasSide):
    """The new side on Keras 3's ``jax`` or ``torch`` backend (the child's half of ``ChildSide``)."""

    def __init__(self, model, inputs, loss_fn, optimizer, training=False):  # noqa: D107 - KerasSide's, without TF
        from .keras_inprocess import _overrides_train_step

        self.backend = keras.backend.backend()
        self.model, self.inputs, self.training, self.strategy = model, inputs, training, None
        self._loss_fn, self._choice = loss_fn, optimizer
        self.x = keras.ops.convert_to_tensor(inputs)
        out = first_output(self._call(), "the new model")
        self.heads = _structure.SINGLE  # one output: several heads are compared on TensorFlow only
        self.outputs_shape = tuple(int(d) for d in out.shape)
        self.weights = list(model.weights)
        n_first = len(self.weights)
        self._call()
        self.created_twice = len(model.weights) - n_first
        self.names = [keras_name(v) for v in self.weights]
        self.by_name = dict(zip(self.names, self.weights))
        self.shapes = {n: tuple(v.shape) for n, v in self.by_name.items()}
        trainable_ids = {id(w) for w in model.trainable_weights}
        self.trainable = {n: id(v) in trainable_ids for n, v in self.by_name.items()}
        self.custom_train_step = _overrides_train_step(model)
        compiled = getattr(model, "optimizer", None)
        self.optimizer = compiled if compiled is not None and not isinstance(compiled, str) else None
        self.optimizer_from_model = self.optimizer is not None
        self.losses = None

    def _call(self):
        """Call the model; in training mode the moving statistics are restored (as ``KerasSide._call``)."""
        if not self.training:
            return self.model(self.x, training=False)
        saved = [(v, np.array(keras.ops.convert_to_numpy(v.value))) for v in self.model.non_trainable_weights]
        out = self.model(self.x, training=True)
        for v, value in saved:
            v.assign(value)
        return out

    def set_targets(self, targets):
        self.targets = targets
        self.t = keras.ops.convert_to_tensor(targets)
        self.losses = self._loss_infos()

    # -- which variables each loss reads
    def _loss_infos(self):
        reads = self._reads_torch() if self.backend == "torch" else self._reads_jax()
        order = {n: i for i, n in enumerate(self.names)}
        return [LossInfo(f"model.losses[{i}]", tuple(sorted(names, key=order.get)), bool(x))
                for i, (names, x) in enumerate(reads)]

    def _reads_torch(self):
        import torch

        x = torch.tensor(np.asarray(self.inputs), requires_grad=True)
        self.model(x, training=self.training)
        losses = list(self.model.losses)
        params = [(n, v.value) for n, v in self.by_name.items() if getattr(v.value, "requires_grad", False)]
        out = []
        for loss in losses:
            if not getattr(loss, "requires_grad", False):
                out.append(((), False))
                continue
            grads = torch.autograd.grad(loss, [x] + [p for _, p in params], allow_unused=True, retain_graph=True)
            out.append((tuple(n for (n, _), g in zip(params, grads[1:]) if g is not None), grads[0] is not None))
        return out

    def _reads_jax(self):
        import jax

        model = self.model
        tv_names = [self._name_of(v) for v in model.trainable_variables]
        ntv_names = [self._name_of(v) for v in model.non_trainable_variables]
        rng = np.random.default_rng(11)
        seeded = lambda vs: [jax.numpy.asarray(rng.standard_normal(v.shape).astype(v.dtype)) for v in vs]  # noqa: E731

        def losses(x, tv, ntv):
            _, _, ls = model.stateless_call(tv, ntv, x, training=self.training, return_losses=True)
            return [keras.ops.cast(l, "float32") for l in ls]

        jac = jax.jit(jax.jacrev(losses, argnums=(0, 1, 2)))(jax.numpy.asarray(self.inputs),
                                                    seeded(model.trainable_variables),
                                                    seeded(model.non_trainable_variables))
        out = []
        for gx, gtv, gntv in jac:
            names = [n for n, g in zip(tv_names + ntv_names, list(gtv) + list(gntv)) if np.any(np.asarray(g))]
            out.append((tuple(names), bool(np.any(np.asarray(gx)))))
        return out

    def _name_of(self, variable):
        for n, v in self.by_name.items():
            if v is variable:
                return n
        return keras_name(variable)

    # -- values
    def values(self):
        return {n: np.array(keras.ops.convert_to_numpy(v.value)) for n, v in self.by_name.items()}

    def evaluate(self):
        out = first_output(self._call(), "the new model")
        regs = [float(keras.ops.convert_to_numpy(r)) for r in self.model.losses]
        data = float(keras.ops.convert_to_numpy(self._loss_fn(self.t, out)))
        return {"outputs": np.asarray(keras.ops.convert_to_numpy(out)), "data": data, "reg_values": regs}

    def reg_values(self):
        self._call()
        return [float(keras.ops.convert_to_numpy(r)) for r in self.model.losses]

    def slot_values(self, slot):
        opt = self.ensure_optimizer()
        found = [v for v in opt.variables if slot in keras_name(v)]
        if not found:
            opt.build([v for _, v in self._trainable_pairs()])
            found = [v for v in opt.variables if slot in keras_name(v)]
        if not found:
            return None
        return np.concatenate([np.asarray(keras.ops.convert_to_numpy(v.value)).ravel() for v in found])

    # -- gradients and steps
    def _grads(self, which, update=False):
        """``{trainable name: gradient}`` of ``data``, ``reg`` or ``total`` by the backend's autodiff."""
        pairs = self._trainable_pairs()
        if self.backend == "torch":
            return self._grads_torch(which, pairs, update)
        return self._grads_jax(which, pairs, update)

    def _objective(self, which, out, losses):
        ops = keras.ops
        reg = ops.cast(0.0, "float32")
        for l in losses:
            reg = reg + ops.cast(l, "float32")
        data = ops.cast(self._loss_fn(self.t, first_output(out, "the new model")), "float32")
        return {"data": data, "reg": reg, "total": data + reg}[which]

    def _grads_jax(self, which, pairs, update):
        import jax

        model = self.model
        tv = [v.value for v in model.trainable_variables]
        ntv = [v.value for v in model.non_trainable_variables]
        x = jax.numpy.asarray(self.inputs)
        cache = self.__dict__.setdefault("_jitted_grads", {})
        if which not in cache:  # traced once per objective (the targets are fixed by then)
            def f(tv, ntv, x):
                out, _, losses = model.stateless_call(tv, ntv, x, training=self.training, return_losses=True)
                return self._objective(which, out, losses)

            cache[which] = jax.jit(jax.grad(f))
        grads = cache[which](tv, ntv, x)
        if update:  # the training step's own call: moving statistics move once, as with KerasSide
            _, new_ntv = model.stateless_call(tv, ntv, x, training=self.training)
            for v, value in zip(model.non_trainable_variables, new_ntv):
                v.assign(value)
        by_id = {id(v): np.asarray(g) for v, g in zip(model.trainable_variables, grads)}
        return {n: by_id.get(id(v), np.zeros(v.shape, np.float32)) for n, v in pairs}

    def _grads_torch(self, which, pairs, update):
        import torch

        out = self.model(self.x, training=self.training) if update else self._call()
        y = self._objective(which, out, list(self.model.losses))
        params = [v.value for _, v in pairs]
        grads = torch.autograd.grad(y, params, allow_unused=True) if y.requires_grad else [None] * len(params)
        return {n: (np.zeros(v.shape, np.float32) if g is None else g.detach().cpu().numpy())
                for (n, v), g in zip(pairs, grads)}

    def gradients(self):
        d, r = self._grads("data"), self._grads("reg")
        return {n: (d[n], r[n], d[n] + r[n]) for n in d}

    def step(self):
        opt = self.ensure_optimizer()
        if self.custom_train_step:
            if not getattr(self.model, "compiled", False) or getattr(self.model, "optimizer", None) is None:
                self.model.compile(optimizer=opt, loss=self._loss_fn, jit_compile=False)
            self.model.train_on_batch(self.inputs, self.targets)
            return
        grads = self._grads("total", update=True)
        pairs = self._trainable_pairs()
        opt.apply_gradients([(keras.ops.convert_to_tensor(grads[n]), v) for n, v in pairs])

    def replica_reg_values(self, indices):
        return []


def in_process(model, spec):
    """A ``BackendSide`` in this process (its Keras 3 is on JAX / torch) for ``spec`` (a ``context.Spec``).

    A named data loss is taken in its ``keras.ops`` form (``data_loss``): the
    TensorFlow one cannot enter ``jax.grad`` or torch autograd.
    """
    loss_fn = data_loss(spec.loss) if isinstance(spec.loss, str) else spec.loss
    return BackendSide(model, spec.inputs, loss_fn, spec.optimizer, training=spec.training)


# ----------------------------------------------------------------------------
# The protocol: JSON lines, arrays in .npz files.
# ----------------------------------------------------------------------------

def encode(value, arrays):
    """``value`` with every numpy array replaced by ``{"__npz__": key}`` (the array put in ``arrays``)."""
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__npz__": key}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, arrays), encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [encode(v, arrays) for v in value]
    if isinstance(value, LossInfo):
        return {"__loss__": [value.label, list(value.variables), value.reads_inputs]}
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return repr(value)  # an object the parent has no use for (e.g. the optimizer ensure_optimizer returns)


def decode(value, arrays):
    if isinstance(value, dict):
        if "__npz__" in value:
            return arrays[value["__npz__"]]
        if "__dict__" in value:
            return {_hashable(decode(k, arrays)): decode(v, arrays) for k, v in value["__dict__"]}
        if "__loss__" in value:
            label, variables, reads = value["__loss__"]
            return LossInfo(label, tuple(variables), reads)
        return {k: decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, arrays) for v in value]
    return value


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


def write_message(stream, directory, name, value):
    """One JSON line on ``stream``; its arrays in ``directory/name.npz``."""
    arrays = {}
    message = encode(value, arrays)
    if arrays:
        path = os.path.join(directory, f"{name}.npz")
        np.savez(path, **arrays)
        message = {"npz": path, "body": message}
    else:
        message = {"body": message}
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def read_message(line):
    message = json.loads(line)
    arrays = {}
    if "npz" in message:
        with np.load(message["npz"], allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        os.remove(message["npz"])
    return decode(message["body"], arrays)


def _user_files(refs):
    files = set()
    for ref in refs:
        try:
            import inspect

            files.add(inspect.getsourcefile(import_reference(ref)))
        except Exception:  # noqa: BLE001 - only used to classify errors
            continue
    return files


def _error(e, user_files):
    frames = traceback.extract_tb(e.__traceback__)
    user = any(f.filename in user_files for f in frames)
    usage = isinstance(e, (TypeError, ValueError)) and not user
    return {"error": {"type": type(e).__name__, "message": str(e), "user": user, "usage": usage,
                      "traceback": "".join(traceback.format_exception(type(e), e, e.__traceback__))}}


def serve(directory, stdin, proto):
    side, user_files, n = None, set(), 0
    for line in stdin:
        n += 1
        request = read_message(line)
        op, args = request["op"], request.get("args", {})
        if op == "close":
            write_message(proto, directory, f"resp{n}", {"result": None})
            return
        if op == "release":  # kept by the parent for its next check (child_process.reuse_children)
            side, user_files = None, set()
            keras.utils.clear_session()  # the next NEW is named as in a fresh process (dense, not dense_1)
            write_message(proto, directory, f"resp{n}", {"result": None})
            continue
        try:
            if op == "init":
                user_files = _user_files([args["new"]] + ([args["loss"]] if ":" in args["loss"] else []))
                side = _build(args)
                result = {k: getattr(side, k) for k in ("names", "shapes", "trainable", "outputs_shape",
                                                         "created_twice", "optimizer_from_model", "backend",
                                                         "dropout")}
            elif op == "get":
                result = getattr(side, args["name"])
            else:
                result = getattr(side, op)(*args.get("args", []))
            response = {"result": result}
        except Exception as e:  # noqa: BLE001 - every error goes back to the parent
            response = _error(e, user_files)
        write_message(proto, directory, f"resp{n}", response)


def _build(args):
    new = import_reference(args["new"])
    loss = args["loss"]
    loss_fn = import_reference(loss) if ":" in loss else data_loss(loss)
    model = new() if not isinstance(new, (keras.Model, keras.layers.Layer)) else new
    if not isinstance(model, (keras.Model, keras.layers.Layer)):
        raise TypeError(f"NEW {args['new']!r} returned {type(model).__name__}, not a Keras 3 Model")
    dropout = switch_off_dropout(model) if args["training"] else []
    opt = args["optimizer"]
    choice = _Choice(opt["name"], opt["learning_rate"], opt["params"])
    if keras.backend.backend() == "tensorflow":  # a TF child of a parent on JAX / torch: the usual side
        side = KerasSide(model, args["inputs"], loss_fn, choice, training=args["training"])
        side.backend = "tensorflow"
    else:
        side = BackendSide(model, args["inputs"], loss_fn, choice, training=args["training"])
    side.dropout = dropout
    return side


def main(argv):
    directory = argv[1]
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the user's prints (and C-level output) go to stderr
    serve(directory, sys.stdin, proto)
    # The parent has every answer and removes DIR. Skip the interpreter's shutdown (TensorFlow's,
    # torch's and JAX's exit handlers: seconds the parent would wait for at each check's close).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
