"""The sides of a check: what every stage may ask of the old and of the new model.

A stage never asks which side it looks at; it uses this protocol only. Two sides
live here, each in its own module:

* ``tf1_graph.GraphSide`` — the TF1 model function in a fresh ``tf.Graph`` +
  ``Session`` (the old side);
* ``keras_inprocess.KerasSide`` — a Keras model of the active flavor in this
  process, optionally under a ``tf.distribute`` strategy (the new side).

A third side, ``child_process.ChildSide`` — a Keras 3 port on JAX or PyTorch in a
child process (``backend_child``, which serves ``BackendSide`` requests and exchanges
``.npz`` files) — implements the same protocol: every value crosses as a numpy
array or a float keyed by variable name, so the stages need no change.
"""

import dataclasses
import re
import typing


class UsageError(ValueError):
    """A check that cannot run as asked (wrong kind of callable, shapes that do not fit)."""


class UserCodeError(RuntimeError):
    """The user's OLD or NEW code raised while the checker ran it (``__cause__`` is their exception)."""

    def __init__(self, who, error):
        # One line, no terminal colours: Keras decorates a layer's error over several lines.
        text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(error)).split())
        if len(text) > 300:
            text = text[:297] + "..."
        super().__init__(f"{who} raised {type(error).__name__}: {text}")
        self.who, self.error = who, error


@dataclasses.dataclass
class LossInfo:
    """One regularization loss: a label, the variables it reads, whether it reads the inputs."""

    label: str
    variables: tuple
    reads_inputs: bool

    @property
    def kind(self):
        """``activity`` (reads the inputs), ``weight`` (one variable), ``group`` (several), ``constant``."""
        if self.reads_inputs:
            return "activity"
        if len(self.variables) == 1:
            return "weight"
        if not self.variables:
            return "constant"
        return "group"


class Side(typing.Protocol):
    """What the stages ask of a side. Values are numpy arrays / floats keyed by variable name.

    Attributes:
      names: variable names in creation order.
      shapes, trainable: ``{name: tuple}``, ``{name: bool}``.
      outputs_shape: the output's shape (a tuple).
      losses: one ``LossInfo`` per regularization loss (after ``set_targets``).
    """

    label: str
    names: list
    shapes: dict
    trainable: dict
    outputs_shape: tuple
    losses: list

    def set_targets(self, targets): ...

    def values(self) -> dict: ...

    def assign(self, values: dict): ...

    def evaluate(self) -> dict:
        """``{"outputs": array, "data": float, "reg_values": [float]}`` at the current weights."""

    def reg_values(self) -> list: ...

    def gradients(self) -> dict:
        """``{trainable name: (data grad, regularization grad, total grad)}``."""

    def step(self): ...

    def update_statistics(self):
        """Update the moving statistics once on the fixed inputs, as the training step does."""

    def batch_norm_epsilons(self) -> list:
        """The batch-norm epsilons the outputs use (sorted)."""

    def describe_optimizer(self) -> str: ...

    def close(self): ...


class NewSide(Side, typing.Protocol):
    """What the stages also ask of the new (Keras) side: its own optimizer and build behaviour."""

    created_twice: int
    optimizer_from_model: bool

    def weight_decay(self) -> dict:
        """``{name: wd}`` of the variables the optimizer decays (decoupled), else ``{}``."""

    def optimizer_is_plain_sgd(self) -> bool: ...

    def scheduled_learning_rate(self):
        """The rate a learning-rate schedule gives the next step, or ``None`` for a constant rate."""

    def optimizer_config(self) -> dict:
        """``{"class": name, **get_config()}`` of the optimizer the steps use."""

    def replica_reg_values(self, indices) -> list:
        """Under a strategy: each replica's values of ``losses[i]`` for ``indices``."""


def first_output(out, who):
    """The output tensor of a model's result (a tuple's / list's first element)."""
    if isinstance(out, (tuple, list)) and out:
        out = out[0]
    if isinstance(out, dict):
        raise UsageError(
            f"{who} returned a dict ({sorted(out)}); the checker compares one output tensor. "
            "Return the logits/outputs tensor (a tuple's first element is taken, as for "
            "tf_slim nets' (net, end_points))."
        )
    return out
