"""The known porting mistakes the checker names: codes, notes, and the rule table that picks one.

Each failing comparison is explained by the first rule of its scope whose
condition fits the numbers (``diagnose(scope, facts)``, the one evaluator);
every scope ends with a generic fallback. Codes are stable (tests and JSON
reports use them); messages say what to change on the new side. Rules are data:
``RULES`` is a tuple of ``Rule(code, scope, when, message)``, in priority order.

Scopes and their facts (attributes the conditions read):

* ``variable`` — one matched variable whose penalties differ (``VariableFacts``);
* ``activity`` — activity penalties differ (``a_old``, ``a_new``, ``batch``, ``ratio``);
* ``group`` — non-additive multi-variable penalties differ (``old``, ``new``: label -> value);
* ``optimizer`` — the new optimizer's configuration against the TF1 one's conventions
  (``OptimizerFacts``; no fallback: ``diagnose(..., every=True)`` lists every trap);
* ``statistics`` — a batch-norm moving statistic differs after the steps (``StatisticsFacts``);
* ``forward`` — outputs differ and the batch-norm epsilons do (``BatchNormEpsilonFacts``).

The last three scopes' codes, facts and rules are in ``_training_rules`` and part of ``RULES``.
"""

import dataclasses

from ._rule import Diagnosis  # noqa: F401  (re-exported: the report's record type)
from ._rule import Rule
# The optimizer and batch-norm codes, facts and rules (re-exported: one table, one namespace).
from ._training_rules import ADADELTA_EPSILON  # noqa: F401
from ._training_rules import ADAGRAD_EPSILON  # noqa: F401
from ._training_rules import ADAGRAD_INITIAL_ACCUMULATOR  # noqa: F401
from ._training_rules import ADAM_EPSILON  # noqa: F401
from ._training_rules import BATCH_NORM_TRAPS  # noqa: F401
from ._training_rules import BN_EPSILON  # noqa: F401
from ._training_rules import BN_MOMENTUM_DECAY  # noqa: F401
from ._training_rules import BN_UPDATES_FORGOTTEN  # noqa: F401
from ._training_rules import BN_VARIANCE_CORRECTION  # noqa: F401
from ._training_rules import BatchNormEpsilonFacts  # noqa: F401
from ._training_rules import LEARNING_RATE  # noqa: F401
from ._training_rules import MOMENTUM_LR_FORM  # noqa: F401
from ._training_rules import OPTIMIZER_CLASS  # noqa: F401
from ._training_rules import OPTIMIZER_HYPERPARAMETER  # noqa: F401
from ._training_rules import OPTIMIZER_TRAPS  # noqa: F401
from ._training_rules import OptimizerFacts  # noqa: F401
from ._training_rules import RMSPROP_ACCUMULATOR_INIT  # noqa: F401
from ._training_rules import RMSPROP_EPSILON  # noqa: F401
from ._training_rules import STATISTICS_MISMATCH  # noqa: F401
from ._training_rules import StatisticsFacts  # noqa: F401
from ._training_rules import _BATCH_NORM_RULES
from ._training_rules import _FORWARD_RULES
from ._training_rules import _OPTIMIZER_RULES

# Codes of the known mistakes (issue list), plus generic fallbacks.
L2_TWICE = "l2-twice"  # contrib l2_regularizer(s) ported as Keras L2(s)
L1L2_DEFAULTS = "l1-l2-defaults"  # l1_l2 coefficients/defaults differ between flavors
BIAS_ONE_SIDE = "bias-one-side"  # a bias regularized on one side only
ACTIVITY_BATCH = "activity-batch"  # activity penalty divided by the batch on one side
FROZEN_ONE_SIDE = "frozen-one-side"  # non-trainable weight regularized on one side
COUNTED_TWICE = "counted-twice"  # a penalty added twice (apply_regularization + collection)
DECOUPLED_WEIGHT_DECAY = "decoupled-weight-decay"  # optimizer weight_decay standing in for L2
NOT_SCALED_PER_REPLICA = "not-scaled-per-replica"  # regularization not scaled per replica
KERAS_REPLICA_STEPS = "keras-replica-steps"  # not a port mistake: this Keras' multi-replica step is inexact
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
# Per-variable coefficients inferred by probing are compared looser than values:
# they come from differences of float32 penalties.
COEFFICIENT_RTOL = 1e-3


def diagnose(scope, facts, every=False):
    """The ``Diagnosis`` of the first rule of ``scope`` (in ``RULES`` order) whose condition holds.

    With ``every=True``, the list of every fitting rule's diagnosis (the ``optimizer``
    scope has no fallback: an empty list means the conventions agree).
    """
    found = []
    for rule in RULES:
        if rule.scope == scope and rule.when(facts):
            variable = rule.variable(facts) if rule.variable else getattr(facts, "n", None)
            found.append(Diagnosis(rule.code, rule.message(facts), variable))
            if not every:
                return found[0]
    if every:
        return found
    raise LookupError(f"no rule of scope {scope!r} fits (every scope ends with a fallback)")


# ------------------------------------------------------------------ variable scope


@dataclasses.dataclass
class VariableFacts:
    """One matched pair whose penalties differ: ``op``/``np_`` are ``_penalties.Penalty``."""

    o: str
    n: str
    op: object
    np_: object
    old_contribs: list
    new_contribs: list
    frozen: bool
    is_bias: bool

    @property
    def where(self):
        return f"new/{self.n}"

    @property
    def ratio(self):
        if self.op.value:
            return self.np_.value / self.op.value
        return (self.np_.a + self.np_.b) / (self.op.a + self.op.b) if (self.op.a + self.op.b) else float("inf")

    @property
    def old_only(self):
        return self.op.kind != "none" and self.np_.kind == "none"

    @property
    def new_only(self):
        return self.op.kind == "none" and self.np_.kind != "none"

    @property
    def both_l1_l2_family(self):
        return self.op.kind in ("l1", "l2", "l1_l2") and self.np_.kind in ("l1", "l2", "l1_l2")


def _l2_doubled(f):
    same_l1 = abs(f.np_.a - f.op.a) <= COEFFICIENT_RTOL * max(f.op.a, f.np_.a, 1e-30)
    return bool(f.op.b) and same_l1 and abs(f.np_.b - 2 * f.op.b) <= COEFFICIENT_RTOL * f.np_.b


def _keras_l1_l2_defaults(f):
    return (abs(f.np_.a - 0.01) <= 1e-6 and abs(f.np_.b - 0.01) <= 1e-6) or "l1_l2" in (f.op.kind, f.np_.kind)


_VARIABLE_RULES = (
    Rule(FROZEN_ONE_SIDE, "variable", lambda f: f.old_only and f.frozen, lambda f: (
        f"{f.where}: frozen (trainable=False) weight regularized on the TF1 side only "
        f"({f.op.tf1()}, value {f.op.value:.6g}): {FROZEN_NOTE}. Add its penalty with "
        "compat_reg.keras.add_callable_loss, or run under tf_keras")),
    Rule(BIAS_ONE_SIDE, "variable", lambda f: f.old_only and f.is_bias, lambda f: (
        f"{f.where}: bias regularized on the TF1 side only ({f.op.tf1()}): {BIAS_NOTE}. "
        f"Add bias_regularizer={f.op.keras()} on the new side")),
    Rule(L1L2_DEFAULTS, "variable", lambda f: f.old_only and f.op.kind == "l1_l2", lambda f: (
        f"{f.where}: TF1 {f.op.tf1()} but no penalty on the new side (Keras 3 L1L2() with default "
        f"arguments is zero); {L1L2_DEFAULTS_NOTE}. Use {f.op.keras()} or compat_reg.to_keras")),
    Rule(MISSING_REGULARIZER, "variable", lambda f: f.old_only, lambda f: (
        f"{f.where}: regularized on the TF1 side only ({f.op.tf1()}, value {f.op.value:.6g}); "
        f"use {f.op.keras()} or compat_reg.to_keras on the new side")),
    Rule(FROZEN_ONE_SIDE, "variable", lambda f: f.new_only and f.frozen, lambda f: (
        f"{f.where}: frozen (trainable=False) weight regularized on the new side only "
        f"({f.np_.keras()}), not in the TF1 collection: {FROZEN_NOTE}. Remove the frozen "
        "layer's regularizer (or regularize the TF1 variable too)")),
    Rule(BIAS_ONE_SIDE, "variable", lambda f: f.new_only and f.is_bias, lambda f: (
        f"{f.where}: bias regularized on the new side only ({f.np_.keras()}) but not in TF1: "
        f"{BIAS_NOTE}. Remove the bias_regularizer")),
    Rule(EXTRA_REGULARIZER, "variable", lambda f: f.new_only, lambda f: (
        f"{f.where}: regularized on the new side only ({f.np_.keras()}, value {f.np_.value:.6g}); "
        "the TF1 graph adds no penalty for it")),
    Rule(COUNTED_TWICE, "variable", lambda f: (
        f.both_l1_l2_family and len(f.new_contribs) >= 2 and len(f.old_contribs) <= 1
        and abs(f.ratio - 2.0) < 1e-3), lambda f: (
        f"{f.where}: penalized twice on the new side ({', '.join(lbl for lbl, _ in f.new_contribs)}), "
        f"{f.ratio:.1f}x the TF1 {f.op.tf1()}: {COUNTED_TWICE_NOTE}")),
    Rule(L2_TWICE, "variable", lambda f: f.both_l1_l2_family and _l2_doubled(f), lambda f: (
        f"{f.where}: Keras {f.np_.keras()} "
        f"{'is 2.0x' if f.op.kind == 'l2' and f.np_.kind == 'l2' else 'has 2.0x the L2 part of'} the TF1 "
        f"{f.op.tf1()}; use {f.op.keras()} or compat_reg.to_keras (TF1's l2 is scale * sum(w**2) / 2, "
        "Keras' is scale * sum(w**2))")),
    Rule(L1L2_DEFAULTS, "variable", lambda f: f.both_l1_l2_family and _keras_l1_l2_defaults(f), lambda f: (
        f"{f.where}: Keras {f.np_.keras()} differs from the TF1 {f.op.tf1()} ({f.ratio:.6g}x); "
        f"{L1L2_DEFAULTS_NOTE}. Pass both coefficients explicitly: {f.op.keras()} or compat_reg.to_keras")),
    Rule(COEFFICIENT, "variable", lambda f: f.both_l1_l2_family, lambda f: (
        f"{f.where}: Keras {f.np_.keras()} is {f.ratio:.6g}x the TF1 {f.op.tf1()}; use "
        f"{f.op.keras()} or compat_reg.to_keras")),
    Rule(COEFFICIENT, "variable", lambda f: True, lambda f: (
        f"{f.where}: penalty {f.np_.value:.9g} differs from TF1's {f.op.value:.9g} "
        f"(old {f.op.tf1()}, new {f.np_.keras()})")),
)


# ------------------------------------------------------------------ activity and group scopes


@dataclasses.dataclass
class ActivityFacts:
    a_old: float
    a_new: float
    batch: int

    @property
    def ratio(self):
        return self.a_new / self.a_old if self.a_old else float("inf")

    @property
    def n(self):
        return None


@dataclasses.dataclass
class GroupFacts:
    old: dict
    new: dict

    @property
    def repeated(self):
        """A value that appears more often on the new side than on the old (and at least twice), or ``None``."""
        o_vals, n_vals = sorted(self.old.values()), sorted(self.new.values())
        for v in sorted(set(n_vals)):
            if n_vals.count(v) >= 2 and o_vals.count(v) < n_vals.count(v):
                return v, n_vals.count(v), o_vals.count(v)
        return None

    @property
    def n(self):
        return None


def _times_batch(f, inverse):
    r = (1.0 / f.ratio if f.a_new else 0.0) if inverse else f.ratio
    return f.batch > 1 and abs(r - f.batch) <= 1e-4 * f.batch


def _activity_advice(divide):
    """The fix to suggest for an activity-batch mismatch, for what this Keras' activity_regularizer does."""
    from compat_reg import _flavor  # pylint: disable=import-outside-toplevel  (the CLI starts without Keras)

    if _flavor.activity_loss_divided_by_batch():
        return " (or use activity_regularizer=)" if divide else (
            "Add the raw sum with add_loss instead of activity_regularizer=")
    return (f" (Keras {_flavor.version()}'s activity_regularizer= adds the raw sum too; it divides from "
            "Keras 3.14 on)") if divide else "Add the raw sum instead of dividing it by the batch size"


def keras_replica_steps(strategy, replicas):
    """The diagnosis for steps under ``replicas`` > 1 on a Keras whose multi-replica step is inexact, or None."""
    from compat_reg import _flavor  # pylint: disable=import-outside-toplevel

    if replicas <= 1 or _flavor.multi_replica_training_exact():
        return None
    return Diagnosis(KERAS_REPLICA_STEPS, (
        f"Keras {_flavor.version()} under {strategy} with {replicas} replicas: upstream, this Keras' step "
        "is not the one-device step (its TF optimizer applies each replica's gradient without summing "
        "them, keras-team/keras#19969, fixed in 3.5; fit does not scale the loss per replica, "
        "keras-team/keras#20609, fixed in 3.8), so no port can match the TF1 steps here. Check the "
        "steps without a strategy, or with Keras >= 3.8"))


_OTHER_RULES = (
    Rule(ACTIVITY_BATCH, "activity", lambda f: _times_batch(f, inverse=False), lambda f: (
        f"activity penalty: new {f.a_new:.6g} is {f.batch}x (the batch size) the TF1 {f.a_old:.6g}: it is "
        f"divided by the batch on the TF1 side only. {ACTIVITY_NOTE}. Divide the new penalty by the "
        f"batch size{_activity_advice(divide=True)}")),
    Rule(ACTIVITY_BATCH, "activity", lambda f: _times_batch(f, inverse=True), lambda f: (
        f"activity penalty: new {f.a_new:.6g} is 1/{f.batch} (the batch size) of the TF1 {f.a_old:.6g}: it is "
        f"divided by the batch on the new side only. {ACTIVITY_NOTE}. {_activity_advice(divide=False)}")),
    Rule(ACTIVITY_MISMATCH, "activity", lambda f: True, lambda f: (
        f"activity penalties differ: TF1 {f.a_old:.9g}, new {f.a_new:.9g} (ratio {f.ratio:.6g})")),
    Rule(COUNTED_TWICE, "group", lambda f: f.repeated is not None, lambda f: (
        f"a multi-variable penalty of value {f.repeated[0]:.6g} appears {f.repeated[1]} times in model.losses "
        f"but {f.repeated[2]} time(s) in the TF1 collection: {COUNTED_TWICE_NOTE}")),
    Rule(GROUP_MISMATCH, "group", lambda f: True, lambda f: (
        f"custom multi-variable penalties differ: TF1 "
        f"{', '.join(f'{k}={v:.6g}' for k, v in f.old.items()) or 'none'}; "
        f"new {', '.join(f'{k}={v:.6g}' for k, v in f.new.items()) or 'none'}")),
)

RULES = _VARIABLE_RULES + _OTHER_RULES + _OPTIMIZER_RULES + _BATCH_NORM_RULES + _FORWARD_RULES
