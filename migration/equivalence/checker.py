"""``check_equivalence``: does a Keras port regularize and train like the TF1 graph?

The stages follow TensorFlow's migration guide ("Validating correctness &
numerical equivalence") and stop at the first failure; each lives in its own
module under ``stages/`` (``stages.pipeline``):

1. **build** — the TF1 function in a fresh ``tf.Graph`` + ``Session``; the Keras
   model built and called twice (each variable created once);
2. **variables** — old variables matched to new weights (explicit map, regex
   rules, or creation order + shape);
3. **regularization** — weights copied old -> new; per variable, which penalty
   each side applies (probed) and its value; activity penalties; totals;
4. **forward** — outputs and data loss;
5. **gradients** — per trainable variable: of the data loss, of the
   regularization, of the total;
6. **steps** — N optimizer steps on both sides from the same weights and data,
   losses compared step by step, then the weights and the optimizer conventions;
7. **statistics** (``training=True`` only) — batch-norm moving statistics after
   the steps, variable by variable.

Comparisons are ``|new - old| <= atol + rtol * |old|`` with the stage's
tolerances (``compare``; reported in the result).
"""

import inspect
import time
import traceback

import numpy as np
import tensorflow as tf

from compat_reg import _flavor
from . import _structure
from . import backends
from . import optimizers
from .compare import DEFAULT_TOLERANCES  # noqa: F401  (re-exported)
from .compare import tolerances
from .context import Context
from .context import Spec
from .result import PASS
from .result import CheckResult
from .result import Stage
from .sides import UsageError
from .sides import UserCodeError
from .stages import pipeline
from .stages.steps import record_trajectories as _record_trajectories


ADAPTIVE = ("adam", "rmsprop", "adagrad", "adadelta")


def check_equivalence(
    old,
    new,
    *,
    inputs,
    targets=None,
    loss="mse",
    loss_weights=None,
    steps=3,
    optimizer="sgd",
    learning_rate=0.1,
    optimizer_params=None,
    weight_map=None,
    rtol=None,
    atol=None,
    strategy=None,
    training=False,
    progress=None,
    names=None,
    record_trajectories=False,
    backend=None,
):
    """Check a Keras port ``new`` against a TF1 model function ``old``, stage by stage.

    Args:
      old: ``fn(inputs) -> outputs``, a TF1-style model function (``get_variable``,
        tf_slim, ``variable_scope(regularizer=...)``, ``apply_regularization``...). It
        is built in a fresh ``tf.Graph``; a tuple result's first element is the output.
      new: a Keras model (of the active flavor), or a zero-argument callable
        returning one (required with ``strategy``: the model must be built in its scope).
      inputs: a numpy array, batch first; for several inputs a list (in order) or a dict
        ``{input name: array}`` of them.
      targets: numpy targets for the data loss (``{head: array}`` or a list by position
        for several outputs); default: seeded, fitted to ``loss``.
      loss: ``"mse"``, ``"sparse_softmax_cross_entropy"`` or ``fn(targets, outputs)``;
        for several outputs (heads: dict keys, or ``"0"``, ``"1"``... by position) one
        loss for every head or ``{head: loss}``. The data loss is then
        ``sum_h loss_weights[h] * loss_h`` as Keras' ``compile(loss=, loss_weights=)``.
      loss_weights: ``{head: number}`` or a list by position; default 1 for every head.
      steps: number of optimizer steps compared (0 skips the stage's training).
      optimizer: one of ``optimizers.NAMES`` (``sgd``, ``momentum``, ``nesterov``,
        ``adam``, ``rmsprop``, ``adagrad``, ``adadelta``): the ``tf.compat.v1.train``
        optimizer of the old side. The new side uses the model's compiled optimizer
        (reported, and checked against TF1's conventions) or the Keras optimizer that
        reproduces the TF1 one (``optimizers.OPTIMIZERS``).
      learning_rate: for both sides.
      optimizer_params: TF1 hyper-parameters by their TF1 names (``{"beta1": 0.9,
        "epsilon": 1e-8}``); defaults are TF1's.
      weight_map: ``{old: new}``, ``[(pattern, replacement), ...]`` or
        ``{"map": ..., "rules": ...}``; default: automatic matching.
      rtol, atol: a number >= 0 for every stage, or ``{stage: number}``; defaults in
        ``DEFAULT_TOLERANCES`` (with an adaptive optimizer, the steps' default atol is
        ``max(1e-6, 1e-4 * learning_rate)``: a round-off-sized gradient element still
        steps by up to the learning rate).
      strategy: ``None``, ``"mirrored"`` or a ``tf.distribute.Strategy`` for the new side.
      training: call the new model with ``training=True`` and compare batch-norm
        moving statistics after the steps (the old side runs ``UPDATE_OPS``).
      progress: ``fn(stage_name, status, summary)`` called as stages finish.
      names: ``{"old": str, "new": str}`` labels for the report.
      record_trajectories: when a stage after ``variables`` fails, still run the
        ``steps`` updates (without comparing) so the report can plot both sides'
        loss curves; the ``steps`` stage stays ``skipped``.
      backend: ``None`` (this process' Keras), ``"tensorflow"``, ``"jax"`` or ``"torch"``:
        the Keras 3 backend of the new side; another one than this process' runs in a
        child process (``sides.child_process``; NEW must then be importable as module:attr).

    Returns:
      A ``CheckResult``.

    Raises:
      UsageError: arguments that cannot work (wrong kind of model, shapes, values).
      UserCodeError: the user's OLD or NEW code raised (``__cause__`` is their error).
    """
    spec = _validate(old, new, inputs, targets, loss, steps, optimizer, learning_rate, optimizer_params,
                     weight_map, strategy, training, loss_weights)
    spec.backend = _validate_backend(backend, spec)
    tol = tolerances(rtol, atol)
    if spec.optimizer.name in ADAPTIVE and atol is None:
        # An adaptive optimizer divides each gradient element by its own running magnitude: an element whose
        # gradient is round-off (|g| ~ 1e-8) still steps by up to lr, so its float noise is relative to lr.
        tol["steps"]["atol"] = max(tol["steps"]["atol"], 1e-4 * spec.optimizer.learning_rate)
    stage_list = pipeline(training=spec.training)
    records = [Stage(s.name) for s in stage_list]
    result = CheckResult(stages=records, tolerances=tol)
    result.info = {
        "old": (names or {}).get("old", getattr(old, "__name__", repr(old))),
        "new": (names or {}).get("new", getattr(new, "__name__", type(new).__name__)),
        "flavor": _flavor.name(),
        "keras_version": _flavor.version(),
        "tensorflow": tf.__version__,
        "inputs_shape": list(_structure.first(spec.inputs).shape),  # the first input's
        "loss": _loss_label(loss),
        "steps": spec.steps,
        "optimizer": spec.optimizer.name,
        "optimizer_params": dict(spec.optimizer.params),
        "learning_rate": spec.optimizer.learning_rate,
        "training": spec.training,
        "strategy": None if spec.strategy is None else type(spec.strategy).__name__,
        "replicas": 1 if spec.strategy is None else spec.strategy.num_replicas_in_sync,
    }
    if spec.backend is not None or backends.current() != "tensorflow":
        result.info["new_backend"] = backends.report(spec.backend or backends.current())
    if not isinstance(spec.inputs, np.ndarray):
        result.info["inputs"] = _structure.shapes(spec.inputs)
    if loss_weights is not None:
        result.info["loss_weights"] = spec.per_head[1]
    ctx = Context(spec, tol, result)
    try:
        for stage, record in zip(stage_list, records):
            start = time.perf_counter()
            _run_user_facing(stage.run, ctx, record, spec)
            record.seconds = time.perf_counter() - start
            if progress:
                progress(record.name, record.status, record.summary)
            if record.status != PASS:
                break
        if record_trajectories and result.failed_stage in ("regularization", "forward", "gradients"):
            _run_user_facing(lambda c, _r: _record_trajectories(c), ctx, None, spec)
    finally:
        ctx.close()
    return result


def _run_user_facing(fn, ctx, record, spec):
    """Run a stage; an exception raised inside the user's own files becomes ``UserCodeError``."""
    try:
        fn(ctx, record)
    except (UsageError, UserCodeError):
        raise
    except Exception as e:  # noqa: BLE001 - classified below, re-raised either way
        who = _user_frame(e, spec)
        if who is None:
            raise
        raise UserCodeError(who, e) from e


def _user_frame(error, spec):
    """``"OLD 'name'"`` / ``"NEW 'name'"`` when the traceback passes through the user's source.

    The innermost frame inside the source lines of OLD, NEW (or its class) or the
    ``--loss`` callable names the culprit; a frame elsewhere in one of their files names
    the first of them defined in that file. An installed library's file (a Keras
    ``Functional`` model's class) is not the user's code.
    """
    spans, files = [], {}
    loss = spec.loss if callable(spec.loss) else None
    for who, obj in (("OLD", spec.old_fn), ("NEW", spec.new_arg), ("--loss", loss)):
        label = f"{who} {getattr(obj, '__name__', type(obj).__name__)!r}"
        for target in (obj, type(obj)):
            try:
                path = inspect.getsourcefile(target)
                lines, start = inspect.getsourcelines(target)
            except (TypeError, OSError):
                continue
            if path and path != __file__ and not any(p in path for p in ("site-packages", "dist-packages")):
                spans.append((path, start, start + len(lines), label))
                files.setdefault(path, label)
    frames = list(reversed(traceback.extract_tb(error.__traceback__)))
    for frame in frames:
        for path, start, end, label in spans:
            if frame.filename == path and start <= (frame.lineno or 0) < end:
                return label
    for frame in frames:
        if frame.filename in files:
            return files[frame.filename]
    return None


def _loss_label(loss):
    if isinstance(loss, dict):
        return ",".join(f"{h}={_loss_label(v)}" for h, v in loss.items())
    return loss if isinstance(loss, str) else getattr(loss, "__name__", "custom")


def _validate(old, new, inputs, targets, loss, steps, optimizer, learning_rate, optimizer_params,
              weight_map, strategy, training, loss_weights=None):
    """Every argument checked before any work; ``UsageError`` naming the argument and the fix."""
    try:
        per_head = _structure.resolve_losses(loss, loss_weights)
        loss_fn = _structure.structured_loss(*per_head)
        choice = optimizers.choose(optimizer, learning_rate, optimizer_params)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise UsageError(f"Invalid value for argument `steps`. Expected an integer >= 0. Received: steps={steps!r}")
    inputs = _structure.normalize_inputs(inputs)
    if targets is not None and any(np.asarray(t).dtype.kind == "f" and not np.all(np.isfinite(t))
                                   for t in tf.nest.flatten(targets)):
        raise UsageError("Invalid value for argument `targets`. Expected finite numbers. Received: targets with "
                         "NaN or inf")
    strategy = _resolve_strategy(strategy)
    if strategy is not None and _structure.batch_size(inputs) % strategy.num_replicas_in_sync:
        raise UsageError(
            f"the batch ({_structure.batch_size(inputs)}) must divide evenly over {strategy.num_replicas_in_sync} "
            "replicas; pick a batch size that is a multiple of the replica count"
        )
    if not isinstance(training, bool):
        raise UsageError(f"Invalid value for argument `training`. Expected True or False. Received: training={training!r}")
    return Spec(old, new, inputs, targets, loss, loss_fn, int(steps), choice, weight_map, strategy, training,
                per_head=per_head)


def _validate_backend(backend, spec):
    problem = backends.problem(backend)
    if problem is None and spec.strategy is not None and (backends.runs_in_child(backend)
                                                          or backends.current() != "tensorflow"):
        problem = (f"a tf.distribute strategy needs the new side on TensorFlow in this process; drop strategy= "
                   f"or backend={backend!r} (this process' Keras backend: {backends.current()})")
    if problem:
        raise UsageError(problem)
    return backend


_STRATEGIES = {}


def _resolve_strategy(strategy):
    if strategy is None or isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
        devices = gpus or devices
        if len(devices) < 2:
            raise UsageError(
                f"strategy='mirrored' needs at least 2 devices, found {devices}. Configure logical CPU "
                "devices before TensorFlow initializes (the CLI does this for --strategy mirrored), e.g. "
                "tf.config.set_logical_device_configuration(cpu, [LogicalDeviceConfiguration()] * 2)."
            )
        key = tuple(devices)
        # Reduction through one device, not collective all-reduce: collective ops of two
        # MirroredStrategy objects in one process (the checker's and the user's own) reuse
        # instance keys and abort with "Shape mismatch in the collective instance". The
        # arithmetic (a sum of the replicas' gradients) is the same. One strategy per device set.
        if key not in _STRATEGIES:
            _STRATEGIES[key] = tf.distribute.MirroredStrategy(
                devices, cross_device_ops=tf.distribute.ReductionToOneDevice()
            )
        return _STRATEGIES[key]
    raise UsageError(f"Invalid value for argument `strategy`. Expected None, 'mirrored' or a tf.distribute.Strategy. Received: strategy={strategy!r}")


