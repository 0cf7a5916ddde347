"""Several inputs and several outputs: how a check names, pairs and sums them.

* **Inputs** are one array (batch first), a list/tuple of arrays (one per model
  input, in order) or a dict ``{input name: array}``; every array has the same batch.
* **Outputs** of either side are one tensor, or several *heads*: a dict (heads named
  by key) or a list/tuple (heads named ``"0"``, ``"1"``... by position). A tuple of
  two whose second element is a dict is tf_slim's ``(net, end_points)``: its first
  element is the output, as before. The two sides' heads pair by key (both dicts) or
  by position (both sequences); anything else is a failure naming both.
* **The data loss** of several heads is what Keras' ``compile(loss=..., loss_weights=...)``
  trains with: ``sum_h w_h * loss_h(targets_h, outputs_h)``, ``w_h = 1`` unless given.
  ``loss`` is one loss for every head, or ``{head: loss}``; ``loss_weights`` is
  ``{head: w}`` or a list by position. Targets are ``{head: array}`` (a list by position).
"""

import numbers

import numpy as np
import tensorflow as tf

from . import _losses
from .sides import UsageError

SINGLE = None  # the heads of a one-output model


def normalize_inputs(inputs):
    """``inputs`` as an array, a list of arrays or a dict of arrays (float64 -> float32), validated."""
    if isinstance(inputs, dict):
        if not inputs:
            raise UsageError("Invalid value for argument `inputs`. Expected a non-empty dict of arrays. Received: {}")
        out = {str(k): _array(v, f"inputs[{k!r}]") for k, v in inputs.items()}
    elif isinstance(inputs, (list, tuple)) and any(isinstance(v, (np.ndarray, tf.Tensor)) for v in inputs):
        # several inputs: a list whose elements are arrays (not the rows of one nested-list array)
        out = [_array(v, f"inputs[{i}]") for i, v in enumerate(inputs)]
    else:
        return _array(inputs, "inputs")
    batches = {name: a.shape[0] for name, a in _items(out)}
    if len(set(batches.values())) > 1:
        raise UsageError(f"Invalid value for argument `inputs`. Expected the same batch size for every input. "
                         f"Received: batch sizes {batches}")
    return out


def _array(value, label):
    a = np.asarray(value)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    if a.ndim < 1 or a.shape[0] < 1 or a.size == 0:
        raise UsageError(f"Invalid value for argument `{label}`. Expected a non-empty array, batch first. "
                         f"Received: {label} of shape {a.shape}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise UsageError(f"Invalid value for argument `{label}`. Expected finite numbers. Received: {label} with "
                         "NaN or inf")
    return a


def _items(structure):
    if isinstance(structure, dict):
        return list(structure.items())
    return [(str(i), v) for i, v in enumerate(structure)]


def first(inputs):
    """The first input (a dict's first in its own order, not ``tf.nest``'s sorted one)."""
    if isinstance(inputs, dict):
        return next(iter(inputs.values()))
    return inputs[0] if isinstance(inputs, list) else inputs


def batch_size(inputs):
    return int(first(inputs).shape[0])


def shapes(inputs):
    """The report's ``inputs_shape``: a list (one input), a list of lists, or ``{name: list}``."""
    return tf.nest.map_structure(lambda a: list(a.shape), inputs) if not isinstance(inputs, np.ndarray) \
        else list(inputs.shape)


def describe(inputs):
    """``(4, 8)`` / ``[(4, 8), (4, 3)]`` / ``{'a': (4, 8)}`` for messages."""
    if isinstance(inputs, np.ndarray):
        return str(tuple(inputs.shape))
    if isinstance(inputs, dict):
        return "{" + ", ".join(f"{k!r}: {tuple(v.shape)}" for k, v in inputs.items()) + "}"
    return "[" + ", ".join(str(tuple(v.shape)) for v in inputs) + "]"


def outputs_of(out, who):
    """One output tensor, or ``{head: tensor}`` (ordered) for several heads; see the module docstring."""
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
        out = out[0]  # tf_slim's (net, end_points)
    if isinstance(out, (list, tuple)):
        if not out:
            raise UsageError(f"{who} returned an empty {type(out).__name__}; return the output tensor(s).")
        if len(out) == 1:
            return out[0]
        return {str(i): t for i, t in enumerate(out)}
    if isinstance(out, dict):
        if not out:
            raise UsageError(f"{who} returned an empty dict; return the output tensor(s).")
        return {str(k): t for k, t in out.items()}
    return out


def kind(out):
    """``"single"``, ``"dict"`` or ``"list"`` (the heads of ``outputs_of``, named by position)."""
    if not isinstance(out, dict):
        return "single"
    return "list" if all(k.isdigit() for k in out) and list(out) == [str(i) for i in range(len(out))] else "dict"


def heads(out):
    """The head names of an ``outputs_of`` result, or ``SINGLE``."""
    return list(out) if isinstance(out, dict) else SINGLE


def describe_heads(names):
    if names is SINGLE:
        return "one output"
    if all(n.isdigit() for n in names):
        return f"a list of {len(names)} outputs"
    return f"outputs {names}"


def pairing_problem(old_heads, new_heads):
    """A message when the two sides' heads cannot be paired (by key or by position), else ``None``."""
    if old_heads == new_heads:
        return None
    if old_heads is not SINGLE and new_heads is not SINGLE and sorted(old_heads) == sorted(new_heads):
        return None  # same keys, another order: paired by key
    return (f"the outputs do not pair: old has {describe_heads(old_heads)}, new has {describe_heads(new_heads)}. "
            "Return the same heads on both sides: dicts with the same keys (paired by key) or lists of the same "
            "length (paired by position)")


def resolve_losses(loss, loss_weights):
    """``(per_head, weights)``: validate ``loss`` (a name, callable or ``{head: loss}``) and ``loss_weights``.

    Returns the per-head callables (``{head: fn}``, or one fn for every head) and the
    weights (``{head: w}``, list, or ``None``); a ``ValueError`` names what is wrong.
    """
    if isinstance(loss, dict):
        if not loss:
            raise ValueError("Invalid value for argument `loss`. Expected a loss or a non-empty {head: loss}. "
                             "Received: loss={}")
        per_head = {str(k): _losses.resolve(v) for k, v in loss.items()}
    else:
        per_head = _losses.resolve(loss)
    if loss_weights is not None:
        values = loss_weights.values() if isinstance(loss_weights, dict) else loss_weights
        if not isinstance(loss_weights, (dict, list, tuple)) or not all(
                isinstance(w, numbers.Real) and not isinstance(w, bool) and np.isfinite(w) and w >= 0
                for w in values):
            raise ValueError("Invalid value for argument `loss_weights`. Expected {head: number >= 0} or a list of "
                             f"numbers >= 0. Received: loss_weights={loss_weights!r}")
        if isinstance(loss_weights, dict):
            loss_weights = {str(k): float(v) for k, v in loss_weights.items()}
        else:
            loss_weights = [float(w) for w in loss_weights]
    return per_head, loss_weights


def head_plan(per_head, weights, names, loss_label):
    """``[(head, loss fn, weight, loss name)]`` for the heads ``names``; ``UsageError`` on keys that do not fit."""
    if isinstance(per_head, dict) and sorted(per_head) != sorted(names):
        raise UsageError(f"Invalid value for argument `loss`. Expected a loss for each head {names}. "
                         f"Received: loss for {sorted(per_head)}")
    if isinstance(weights, dict) and sorted(weights) != sorted(names):
        raise UsageError(f"Invalid value for argument `loss_weights`. Expected a weight for each head {names}. "
                         f"Received: loss_weights for {sorted(weights)}")
    if isinstance(weights, list) and len(weights) != len(names):
        raise UsageError(f"Invalid value for argument `loss_weights`. Expected {len(names)} weights (one per head "
                         f"{names}). Received: {len(weights)}")
    plan = []
    for i, h in enumerate(names):
        fn = per_head[h] if isinstance(per_head, dict) else per_head
        label = loss_label[h] if isinstance(loss_label, dict) else loss_label
        w = 1.0 if weights is None else (weights[h] if isinstance(weights, dict) else weights[i])
        plan.append((h, fn, w, label))
    return plan


def structured_loss(per_head, weights):
    """The data loss the sides call as ``loss(targets, outputs)``: one loss, or the weighted sum over the heads.

    On one output with one loss and no weights it is that loss itself (a one-output check
    is unchanged); otherwise the heads are read off ``outputs`` (``{head: tensor}``) when
    it is called.
    """

    def loss(targets, outputs):
        if not isinstance(outputs, dict) and callable(per_head) and weights is None:
            return per_head(targets, outputs)
        if not isinstance(outputs, dict):
            fn = per_head if callable(per_head) else None
            if fn is None:
                raise UsageError(f"a loss per head {sorted(per_head)} was given, but the model has one output")
            w = weights[0] if isinstance(weights, list) and weights else 1.0
            return tf.cast(fn(targets, outputs), tf.float32) * w
        return combined_loss(head_plan(per_head, weights, list(outputs), ""))(targets, outputs)

    return loss


def combined_loss(plan):
    """``loss(targets, outputs) = sum_h w_h * loss_h(targets[h], outputs[h])`` over ``{head: ...}`` structures."""

    def loss(targets, outputs):
        terms = [tf.cast(fn(targets[h], outputs[h]), tf.float32) * w for h, fn, w, _ in plan]
        return tf.math.add_n(terms)

    return loss


def seeded_targets(plan, output_shapes, seed=1):
    """``{head: targets}`` fitted to each head's loss and shape (one seed per head)."""
    return {h: _losses.seeded_targets(fn, output_shapes[h], seed=seed + i) for i, (h, fn, _, _) in enumerate(plan)}


def targets_for(targets, names):
    """Given targets (``{head: array}`` or a list by position) as ``{head: array}``; ``UsageError`` if they do not fit."""
    if isinstance(targets, dict):
        got = {str(k): np.asarray(v) for k, v in targets.items()}
    elif isinstance(targets, (list, tuple)):
        got = {str(i): np.asarray(v) for i, v in enumerate(targets)}
    else:
        raise UsageError(f"Invalid value for argument `targets`. Expected {{head: array}} for the heads {names}. "
                         f"Received: one array of shape {np.asarray(targets).shape}")
    if sorted(got) != sorted(names):
        raise UsageError(f"Invalid value for argument `targets`. Expected targets for each head {names}. "
                         f"Received: targets for {sorted(got)}")
    return {h: got[h] for h in names}
