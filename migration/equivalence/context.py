"""What one check knows: its arguments (``Spec``), the two sides, and what stages hand to later ones."""

import dataclasses


@dataclasses.dataclass
class Spec:
    """The validated arguments of one check (see ``check_equivalence``)."""

    old_fn: object
    new_arg: object
    inputs: object
    targets: object
    loss: object  # the name or callable as given (for the report and seeded targets)
    loss_fn: object
    steps: int
    optimizer: object  # optimizers.Choice
    weight_map: object
    strategy: object
    training: bool
    # (per-head losses, loss weights) from ``_structure.resolve_losses``: several heads' data loss
    per_head: object = None
    backend: object = None  # a Keras 3 backend for the new side (backends.BACKENDS), None: this process'


@dataclasses.dataclass
class Context:
    """State shared by the stages of one check.

    ``old`` / ``new`` are the sides (``sides.Side`` / ``sides.NewSide``) once the build
    stage made them; ``matching`` the variables stage's pairs; ``handoff`` what a
    stage leaves for a later one, by key: ``decay`` (regularization: decoupled weight
    decay counted as L2), ``old_grads`` (gradients), ``reg_totals`` (regularization).
    """

    spec: Spec
    tol: dict
    result: object
    old: object = None
    new: object = None
    matching: object = None
    handoff: dict = dataclasses.field(default_factory=dict)

    @property
    def decay(self):
        return self.handoff.get("decay", {})

    def close(self):
        if self.old is not None:
            self.old.close()
        if self.new is not None:
            self.new.close()
