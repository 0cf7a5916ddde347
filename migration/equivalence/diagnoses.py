"""The known porting mistakes the checker names, as codes and message templates.

Each failing comparison is explained by the first cause that fits its numbers;
the codes are stable (tests and JSON reports use them), the messages say what to
change on the new side.
"""

import dataclasses

# Codes of the known mistakes (issue list), plus generic fallbacks.
L2_TWICE = "l2-twice"  # contrib l2_regularizer(s) ported as Keras L2(s)
L1L2_DEFAULTS = "l1-l2-defaults"  # l1_l2 coefficients/defaults differ between flavors
BIAS_ONE_SIDE = "bias-one-side"  # a bias regularized on one side only
ACTIVITY_BATCH = "activity-batch"  # activity penalty divided by the batch on one side
FROZEN_ONE_SIDE = "frozen-one-side"  # non-trainable weight regularized on one side
COUNTED_TWICE = "counted-twice"  # a penalty added twice (apply_regularization + collection)
DECOUPLED_WEIGHT_DECAY = "decoupled-weight-decay"  # optimizer weight_decay standing in for L2
NOT_SCALED_PER_REPLICA = "not-scaled-per-replica"  # regularization not scaled per replica
COEFFICIENT = "coefficient"
MISSING_REGULARIZER = "missing-regularizer"
EXTRA_REGULARIZER = "extra-regularizer"
ACTIVITY_MISMATCH = "activity-mismatch"
GROUP_MISMATCH = "group-mismatch"
TOTAL_MISMATCH = "total-mismatch"

KNOWN = (
    L2_TWICE, L1L2_DEFAULTS, BIAS_ONE_SIDE, ACTIVITY_BATCH, FROZEN_ONE_SIDE,
    COUNTED_TWICE, DECOUPLED_WEIGHT_DECAY, NOT_SCALED_PER_REPLICA,
)

L1L2_DEFAULTS_NOTE = (
    "the defaults differ: TF1 l1_l2_regularizer() is (scale_l1=1.0, scale_l2=1.0), "
    "Keras 3 L1L2() is (l1=0.0, l2=0.0), tf_keras l1_l2() is (l1=0.01, l2=0.01)"
)
BIAS_NOTE = (
    "TF1 variable_scope(regularizer=...) and get_variable regularize biases too, while "
    "tf_slim arg_scope(weights_regularizer=...) and Keras kernel_regularizer do not"
)
FROZEN_NOTE = (
    "the TF1 collection and tf_keras count regularizers of non-trainable weights, Keras 3 "
    "does not (it sums only trainable_weights' regularizers)"
)
ACTIVITY_NOTE = (
    "Keras activity_regularizer (tf_keras, Keras >= 3.14) and tf.compat.v1.layers divide the "
    "penalty by the batch size; a raw add_loss(reg(x)) / add_to_collection does not"
)
COUNTED_TWICE_NOTE = (
    "TF1's apply_regularization already appends its sum to REGULARIZATION_LOSSES, so code that "
    "adds apply_regularization(...) and get_regularization_loss() counts it twice; port the "
    "penalty once"
)
REPLICA_NOTE = (
    "under tf.distribute each replica's regularization must be divided by the number of "
    "replicas (tf.nn.scale_regularization_loss; Keras fit does it) because gradients are "
    "summed across replicas"
)


@dataclasses.dataclass
class Diagnosis:
    """One explained divergence: a stable ``code``, the ``variable`` (if any) and the message."""

    code: str
    message: str
    variable: str = None

    def to_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        return self.message
