"""``compat-reg check``'s inputs, targets and per-head losses from the command line.

* ``--input-shape`` once: one seeded input (seed 0); repeated: one seeded input per
  flag, in the order of the model's inputs (seeds 0, 1, ...), passed as a list.
* ``--inputs FILE.npz``: key ``inputs`` is one input (with ``targets``, as before); else
  keys ``arr_0``, ``arr_1``... (``np.savez(path, a, b)``) are a list of inputs in that
  order, and any other keys are a dict ``{input name: array}``. Keys ``targets.HEAD``
  (``targets.0``... for list outputs) are per-head targets. ``.npy``: one input.
* ``--loss NAME`` is every head's loss; ``--loss head1=xent,head2=mse`` one per head
  (a value may be ``module:callable``). ``--loss-weights head1=1,head2=0.5`` or ``1,0.5``.

Everything here is checked before the user's code is imported (``CommandUsageError``).
"""

import os
import re

import numpy as np

from .command import CommandUsageError

_ARR = re.compile(r"arr_(\d+)$")
_TARGET_PREFIX = "targets."


def _open(path, flag):
    if not os.path.exists(path):
        raise CommandUsageError(f"{flag} {path!r}: no such file")
    try:
        return np.load(path)
    except Exception as e:  # noqa: BLE001
        raise CommandUsageError(f"{flag} {path!r}: not a .npy/.npz file ({e})") from e


def load_inputs(path, flag="--inputs"):
    """``(inputs, targets)`` from a ``.npz``/``.npy`` (see the module docstring); ``targets`` may be ``None``."""
    data = _open(path, flag)
    if isinstance(data, np.ndarray):
        return data, None
    names = list(data.files)
    if not names:
        raise CommandUsageError(f"{flag} {path!r}: the archive holds no arrays")
    targets = _targets_in(data, names)
    input_keys = [k for k in names if k != "targets" and not k.startswith(_TARGET_PREFIX)]
    if not input_keys:
        raise CommandUsageError(f"{flag} {path!r}: no inputs in the archive (keys {names}); save the inputs under "
                                "'inputs', arr_0, arr_1... (in order) or the model's input names")
    if "inputs" in input_keys and len(input_keys) == 1:
        inputs = data["inputs"]
    elif "inputs" in input_keys:
        raise CommandUsageError(f"{flag} {path!r}: key 'inputs' is one input, but the archive holds other inputs "
                                f"too ({input_keys}); use 'inputs' alone, or name every input")
    elif all(_ARR.match(k) for k in input_keys):
        order = sorted(int(_ARR.match(k).group(1)) for k in input_keys)
        if order != list(range(len(order))):
            raise CommandUsageError(f"{flag} {path!r}: positional inputs must be arr_0..arr_{len(order) - 1}, "
                                    f"found {sorted(input_keys)}")
        inputs = [data[f"arr_{i}"] for i in order]
        inputs = inputs[0] if len(inputs) == 1 else inputs
    else:
        inputs = {k: data[k] for k in input_keys}
    _same_batch(inputs, flag, path)
    return inputs, targets


def _targets_in(data, names):
    if "targets" in names:
        return data["targets"]
    per_head = {k[len(_TARGET_PREFIX):]: data[k] for k in names if k.startswith(_TARGET_PREFIX)}
    return per_head or None


def load_targets(path):
    """``--targets``: one array (``.npy``, or ``.npz`` key ``targets``/the first array) or ``targets.HEAD`` keys."""
    data = _open(path, "--targets")
    if isinstance(data, np.ndarray):
        return data
    names = list(data.files)
    if not names:
        raise CommandUsageError(f"--targets {path!r}: the archive holds no arrays")
    return _targets_in(data, names) if _targets_in(data, names) is not None else data[names[0]]


def _same_batch(inputs, flag, path):
    arrays = inputs.items() if isinstance(inputs, dict) else enumerate(inputs) if isinstance(inputs, list) else []
    batches = {str(k): (a.shape[0] if a.ndim else None) for k, a in arrays}
    if len(set(batches.values())) > 1 or None in batches.values():
        raise CommandUsageError(f"{flag} {path!r}: every input needs the same batch size (first dimension), "
                                f"found {batches}")


def seeded_inputs(shapes):
    """One seeded standard-normal input per shape (seed = its position); a single shape gives one array."""
    from . import _losses

    arrays = [_losses.seeded_inputs(shape, seed=i) for i, shape in enumerate(shapes)]
    if len({s[0] for s in shapes}) > 1:
        raise CommandUsageError(f"--input-shape: every input needs the same batch size (first dimension), "
                                f"received {[','.join(map(str, s)) for s in shapes]}")
    return arrays[0] if len(arrays) == 1 else arrays


def describe(inputs):
    """``(4, 8)`` / ``[(4, 8), (4, 3)]`` / ``{'a': (4, 8)}`` for the progress line."""
    if isinstance(inputs, dict):
        return "{" + ", ".join(f"{k!r}: {tuple(v.shape)}" for k, v in inputs.items()) + "}"
    if isinstance(inputs, list):
        return "[" + ", ".join(str(tuple(v.shape)) for v in inputs) + "]"
    return str(tuple(inputs.shape))


def parse_loss(text):
    """``--loss``: a name / ``module:callable``, or ``{head: name}`` from ``head1=xent,head2=mse``."""
    if "=" not in text:
        return text
    per_head = {}
    for item in text.split(","):
        head, sep, name = item.partition("=")
        head, name = head.strip(), name.strip()
        if not sep or not head or not name or head in per_head:
            raise CommandUsageError(f"--loss {text!r}: per-head losses are HEAD=LOSS separated by commas, each head "
                                    "once, e.g. --loss cls=xent,box=mse")
        per_head[head] = name
    return per_head


def parse_loss_weights(text):
    """``--loss-weights``: ``{head: w}`` from ``a=1,b=0.5``, or a list from ``1,0.5``; numbers >= 0."""
    if text is None:
        return None
    items = [i.strip() for i in text.split(",")]
    named = ["=" in i for i in items]
    if any(named) and not all(named):
        raise CommandUsageError(f"--loss-weights {text!r}: give every weight by head (a=1,b=0.5) or all by "
                                "position (1,0.5)")
    try:
        if all(named):
            weights = {h.strip(): float(w) for h, _, w in (i.partition("=") for i in items)}
            values = list(weights.values())
        else:
            weights = values = [float(i) for i in items]
    except ValueError:
        raise CommandUsageError(f"--loss-weights {text!r}: weights must be numbers, e.g. cls=1,box=0.5") from None
    if not all(np.isfinite(w) and w >= 0 for w in values):
        raise CommandUsageError(f"--loss-weights {text!r}: weights must be finite numbers >= 0")
    return weights


def check_loss_names(loss):
    """Validate the named losses of ``--loss`` (before any import); ``module:callable`` entries are loaded later."""
    from . import _losses

    for name in (loss.values() if isinstance(loss, dict) else [loss]):
        if ":" not in name:
            try:
                _losses.resolve(name)
            except ValueError as e:
                raise CommandUsageError(str(e)) from e


def load_losses(loss, load_object):
    """``module:callable`` entries of ``--loss`` loaded (``load_object(spec, flag)``)."""
    if isinstance(loss, dict):
        return {h: load_object(v, "--loss") if ":" in v else v for h, v in loss.items()}
    return load_object(loss, "--loss") if ":" in loss else loss
