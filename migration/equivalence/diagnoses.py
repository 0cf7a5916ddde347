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

# The optimizer convention traps (steps stage; see ``optimizers``).
OPTIMIZER_CLASS = "optimizer-class"  # a different optimizer on the new side
MOMENTUM_LR_FORM = "momentum-lr-form"  # TF1 lr * a vs Keras v: equal only at a constant learning rate
RMSPROP_ACCUMULATOR_INIT = "rmsprop-accumulator-init"  # TF1 mean square starts at 1.0, Keras at 0
RMSPROP_EPSILON = "rmsprop-epsilon"  # default epsilon 1e-10 vs 1e-7 (inside the root on both)
ADAGRAD_INITIAL_ACCUMULATOR = "adagrad-initial-accumulator"  # initial_accumulator_value differs
ADAGRAD_EPSILON = "adagrad-epsilon"  # TF1 has none, Keras adds 1e-7 inside the root
ADAM_EPSILON = "adam-epsilon"  # epsilon-hat 1e-8 vs 1e-7, or tf_keras adaptive_epsilon
ADADELTA_EPSILON = "adadelta-epsilon"  # default epsilon 1e-8 vs 1e-7
LEARNING_RATE = "learning-rate"  # the constant learning rates differ
OPTIMIZER_HYPERPARAMETER = "optimizer-hyperparameter"  # beta_1, rho, momentum, nesterov, amsgrad ... differ

KNOWN = (
    L2_TWICE, L1L2_DEFAULTS, BIAS_ONE_SIDE, ACTIVITY_BATCH, FROZEN_ONE_SIDE,
    COUNTED_TWICE, DECOUPLED_WEIGHT_DECAY, NOT_SCALED_PER_REPLICA,
)
# Batch norm in training mode (statistics stage; epsilon at the forward stage).
BN_UPDATES_FORGOTTEN = "bn-updates-forgotten"  # moving statistics never updated on one side
BN_MOMENTUM_DECAY = "bn-momentum-decay"  # Keras momentum vs TF1 decay (momentum = 1 - decay is wrong)
BN_EPSILON = "bn-epsilon"  # batch-norm epsilon differs
BN_VARIANCE_CORRECTION = "bn-variance-correction"  # moving variance from the unbiased vs biased batch variance
STATISTICS_MISMATCH = "statistics-mismatch"
BATCH_NORM_TRAPS = (BN_UPDATES_FORGOTTEN, BN_MOMENTUM_DECAY, BN_EPSILON, BN_VARIANCE_CORRECTION)

OPTIMIZER_TRAPS = (
    MOMENTUM_LR_FORM, RMSPROP_ACCUMULATOR_INIT, RMSPROP_EPSILON, ADAGRAD_INITIAL_ACCUMULATOR, ADAGRAD_EPSILON,
    ADAM_EPSILON, ADADELTA_EPSILON,
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


@dataclasses.dataclass(frozen=True)
class Rule:
    """``when(facts) -> bool`` selects the rule; ``message(facts) -> str``; ``variable(facts)`` names it."""

    code: str
    scope: str
    when: object
    message: object
    variable: object = None


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


_OTHER_RULES = (
    Rule(ACTIVITY_BATCH, "activity", lambda f: _times_batch(f, inverse=False), lambda f: (
        f"activity penalty: new {f.a_new:.6g} is {f.batch}x (the batch size) the TF1 {f.a_old:.6g}: it is "
        f"divided by the batch on the TF1 side only. {ACTIVITY_NOTE}. Divide the new penalty by the "
        "batch size (or use activity_regularizer=)")),
    Rule(ACTIVITY_BATCH, "activity", lambda f: _times_batch(f, inverse=True), lambda f: (
        f"activity penalty: new {f.a_new:.6g} is 1/{f.batch} (the batch size) of the TF1 {f.a_old:.6g}: it is "
        f"divided by the batch on the new side only. {ACTIVITY_NOTE}. Add the raw sum with add_loss "
        "instead of activity_regularizer=")),
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

# ------------------------------------------------------------------ optimizer scope


@dataclasses.dataclass
class OptimizerFacts:
    """The old side's ``optimizers.Choice`` against the new optimizer's class and ``get_config()``.

    ``velocity_start`` is the value the new RMSprop velocity slots hold before the
    first step (measured), ``None`` when not RMSprop.
    """

    choice: object
    new_class: str
    config: dict
    velocity_start: float = None

    n = None

    @property
    def name(self):
        return self.choice.name

    @property
    def scheduled(self):
        return isinstance(self.config.get("learning_rate"), dict)

    @property
    def wanted(self):
        """The Keras keywords that reproduce the TF1 optimizer."""
        return self.choice.spec.keras_kwargs(self.choice.learning_rate, self.choice.params)

    @property
    def same_family(self):
        return self.new_class == self.choice.spec.keras or (self.choice.spec.keras == "Adam" and self.new_class == "AdamW")

    def differs(self, key):
        """Whether the new config's ``key`` differs from what reproduces TF1 (numbers to rtol 1e-6)."""
        want, got = self.wanted.get(key), self.config.get(key)
        if isinstance(want, bool) or isinstance(got, bool) or got is None or want is None:
            return bool(want) != bool(got)
        return abs(float(got) - float(want)) > 1e-6 * max(abs(float(want)), 1e-30)

    def keras_fix(self):
        return self.choice.spec.describe_keras(self.choice.learning_rate, self.choice.params)

    @property
    def tf1(self):
        return self.choice.spec.describe_tf1(self.choice.learning_rate, self.choice.params)

    def eps(self):
        return self.choice.params.get("epsilon", 0.0)


def _other_hyperparameters(f):
    return [k for k in f.wanted if k not in ("learning_rate", "epsilon", "initial_accumulator_value")
            and f.differs(k)]


def _fmt(v):
    return f"{v:g}" if isinstance(v, float) else repr(v)


_OPTIMIZER_RULES = (
    Rule(OPTIMIZER_CLASS, "optimizer", lambda f: not f.same_family, lambda f: (
        f"the new side steps with {f.new_class} but the TF1 side with {f.tf1}; the Keras optimizer that "
        f"reproduces it is {f.keras_fix()}")),
    Rule(MOMENTUM_LR_FORM, "optimizer", lambda f: (
        f.same_family and f.name in ("momentum", "nesterov") and f.scheduled), lambda f: (
        f"TF1 MomentumOptimizer keeps a = momentum * a + g and steps w -= lr_t * a; Keras SGD keeps "
        f"v = momentum * v - lr_t * g and steps w += v. They agree only while the learning rate is constant: under "
        f"the schedule {f.config['learning_rate'].get('class_name', 'LearningRateSchedule')}, TF1 applies each new "
        "rate to the whole accumulated velocity, Keras only to the new gradient. No exact Keras equivalent with a "
        "schedule: keep the rate constant, or port TF1's update as a custom optimizer")),
    Rule(RMSPROP_ACCUMULATOR_INIT, "optimizer", lambda f: (
        f.same_family and f.name == "rmsprop" and f.velocity_start is not None
        and abs(f.velocity_start - 1.0) > 1e-6), lambda f: (
        f"TF1 RMSPropOptimizer starts its mean-square accumulator at 1.0 (slot 'rms', ones_initializer), Keras "
        f"RMSprop starts its velocity at {f.velocity_start:g}, so the first steps are far larger in Keras. No "
        "Keras argument reproduces it (no exact Keras equivalent by arguments); exact: build the optimizer and "
        "set its velocities to 1.0 before training: opt.build(model.trainable_variables); then "
        "v.assign(tf.ones_like(v)) for each v in opt.variables whose name contains 'velocity'")),
    Rule(RMSPROP_EPSILON, "optimizer", lambda f: f.same_family and f.name == "rmsprop" and f.differs("epsilon"),
         lambda f: (
        f"TF1 RMSPropOptimizer(epsilon={_fmt(f.eps())}) and Keras RMSprop both add epsilon inside the square "
        f"root (lr * g / sqrt(ms + epsilon)), but the new side has epsilon={_fmt(f.config.get('epsilon'))} "
        f"(defaults: TF1 1e-10, Keras 1e-07); use RMSprop(epsilon={_fmt(f.eps())})")),
    Rule(ADAGRAD_INITIAL_ACCUMULATOR, "optimizer", lambda f: (
        f.same_family and f.name == "adagrad" and f.differs("initial_accumulator_value")), lambda f: (
        f"TF1 AdagradOptimizer starts its accumulator at initial_accumulator_value="
        f"{_fmt(f.choice.params['initial_accumulator_value'])}, the new Adagrad at "
        f"{_fmt(f.config.get('initial_accumulator_value'))} (both default to 0.1); use "
        f"Adagrad(initial_accumulator_value={_fmt(f.choice.params['initial_accumulator_value'])})")),
    Rule(ADAGRAD_EPSILON, "optimizer", lambda f: f.same_family and f.name == "adagrad" and f.differs("epsilon"),
         lambda f: (
        f"TF1 AdagradOptimizer has no epsilon (w -= lr * g / sqrt(acc)); Keras Adagrad adds "
        f"epsilon={_fmt(f.config.get('epsilon'))} inside the square root (default 1e-07); use "
        "Adagrad(epsilon=0.0)")),
    Rule(ADAM_EPSILON, "optimizer", lambda f: (
        f.same_family and f.name == "adam" and (f.differs("epsilon") or bool(f.config.get("adaptive_epsilon")))),
        lambda f: (
        "tf_keras Adam(adaptive_epsilon=True) scales epsilon by sqrt(1 - beta_2^t) (Algorithm 1 of the paper), "
        "while TF1 AdamOptimizer adds it unscaled after the square root (epsilon-hat: lr_t * m / (sqrt(v) + "
        f"epsilon)); use Adam(epsilon={_fmt(f.eps())}, adaptive_epsilon=False)"
        if f.config.get("adaptive_epsilon") else
        "TF1 AdamOptimizer and Keras Adam both add epsilon after the square root, to the bias-corrected step "
        f"(epsilon-hat: lr_t * m / (sqrt(v) + epsilon)), but the new side has epsilon="
        f"{_fmt(f.config.get('epsilon'))} (defaults: TF1 1e-08, Keras 1e-07); use Adam(epsilon={_fmt(f.eps())})")),
    Rule(ADADELTA_EPSILON, "optimizer", lambda f: f.same_family and f.name == "adadelta" and f.differs("epsilon"),
         lambda f: (
        f"TF1 AdadeltaOptimizer(epsilon={_fmt(f.eps())}) and Keras Adadelta both add epsilon inside both square "
        f"roots, but the new side has epsilon={_fmt(f.config.get('epsilon'))} (defaults: TF1 1e-08, Keras "
        f"1e-07); use Adadelta(epsilon={_fmt(f.eps())})")),
    Rule(LEARNING_RATE, "optimizer", lambda f: f.same_family and not f.scheduled and f.differs("learning_rate"),
         lambda f: (
        f"the new optimizer's learning_rate={_fmt(float(f.config.get('learning_rate')))} differs from the TF1 "
        f"side's {_fmt(f.choice.learning_rate)}; use learning_rate={_fmt(f.choice.learning_rate)}")),
    Rule(OPTIMIZER_HYPERPARAMETER, "optimizer", lambda f: f.same_family and bool(_other_hyperparameters(f)),
         lambda f: (
        "the new optimizer's " + ", ".join(
            f"{k}={_fmt(f.config.get(k))}" for k in _other_hyperparameters(f))
        + f" differ from what reproduces the TF1 {f.tf1}: " + ", ".join(
            f"{k}={_fmt(f.wanted[k])}" for k in _other_hyperparameters(f))
        + f" (the whole Keras equivalent: {f.keras_fix()})")),
)

# ------------------------------------------------------------------ batch-norm scopes


@dataclasses.dataclass
class StatisticsFacts:
    """One moving statistic: its update factor ``f`` on each side (``moving <- f * moving + (1 - f) * batch``).

    Measured by probing: the statistic set to 0 and to 1, one update each, ``f`` is the
    difference of the results (``1.0``: never updated).
    """

    o: str
    n: str
    f_old: float
    f_new: float
    old_value: float
    new_value: float
    batch_ratio: float = 1.0  # new / old batch value the statistic moves towards

    def near(self, a, b):
        return abs(a - b) <= 1e-4

    @property
    def bessel_n(self):
        """``N`` when the batch values differ by exactly ``N / (N - 1)`` (either way), else ``None``."""
        r = self.batch_ratio
        if abs(r - 1.0) < 1e-6:
            return None
        n = 1.0 / (1.0 - r) if r < 1.0 else r / (r - 1.0)
        return int(round(n)) if n >= 2 and abs(n - round(n)) < 1e-2 * n else None


def _f(x):
    return f"{float(f'{x:.6g}'):g}"


_BATCH_NORM_RULES = (
    Rule(BN_UPDATES_FORGOTTEN, "statistics", lambda f: f.near(f.f_new, 1.0) and not f.near(f.f_old, 1.0),
         lambda f: (
        f"new/{f.n}: the moving statistic is never updated on the new side in training mode, while TF1 updates "
        f"it with decay={_f(f.f_old)} (its UPDATE_OPS run with the train op). Update it in the layer's call "
        f"(keras.layers.BatchNormalization(momentum={_f(f.f_old)}) does; a hand-written layer must assign "
        "moving = momentum * moving + (1 - momentum) * batch when training)")),
    Rule(BN_UPDATES_FORGOTTEN, "statistics", lambda f: f.near(f.f_old, 1.0) and not f.near(f.f_new, 1.0),
         lambda f: (
        f"new/{f.n}: updated on the new side (momentum={_f(f.f_new)}) but never by the TF1 graph: its update op "
        "is not in UPDATE_OPS (or not run by the train op). TF1 code must run "
        "tf.compat.v1.get_collection(UPDATE_OPS) with its step (tf_slim's create_train_op does)")),
    Rule(BN_MOMENTUM_DECAY, "statistics", lambda f: f.near(f.f_new, 1.0 - f.f_old), lambda f: (
        f"new/{f.n}: Keras momentum={_f(f.f_new)} is 1 - the TF1 decay={_f(f.f_old)}: Keras "
        "BatchNormalization(momentum=) is TF1's decay (moving = momentum * moving + (1 - momentum) * batch), not "
        f"PyTorch's 1 - decay; use momentum={_f(f.f_old)}")),
    Rule(BN_MOMENTUM_DECAY, "statistics", lambda f: not f.near(f.f_new, f.f_old), lambda f: (
        f"new/{f.n}: moving statistics update with momentum={_f(f.f_new)} on the new side, TF1 with "
        f"decay={_f(f.f_old)}; use BatchNormalization(momentum={_f(f.f_old)})")),
    Rule(BN_VARIANCE_CORRECTION, "statistics", lambda f: f.bessel_n is not None, lambda f: (
        f"new/{f.n}: the moving variance moves towards the batch variance "
        f"{'without' if f.batch_ratio < 1 else 'with'} the N/(N-1) correction (N = {f.bessel_n} values per "
        f"channel) while TF1 uses it {'with' if f.batch_ratio < 1 else 'without'}: TF1's fused batch norm "
        "(tf_slim batch_norm / tf.compat.v1.layers with fused=None or True) and tf_keras' fused "
        "BatchNormalization update with the unbiased variance, the non-fused ones and Keras 3 with the biased "
        "one (the normalization itself uses the biased variance on every path). "
        + ("No Keras 3 argument reproduces the fused TF1 update: build the TF1 batch_norm with fused=False "
           "(same training math), or run the port under tf_keras" if f.batch_ratio < 1 else
           "Use BatchNormalization(fused=False) under tf_keras, or build the TF1 batch_norm with fused=True"))),
    Rule(STATISTICS_MISMATCH, "statistics", lambda f: True, lambda f: (
        f"new/{f.n}: moving statistic differs after the steps (old {f.old_value:.9g}, new {f.new_value:.9g}) "
        f"although both update with factor {_f(f.f_old)}: the batch statistics differ (inputs to the layer)")),
)


@dataclasses.dataclass
class BatchNormEpsilonFacts:
    """The batch-norm epsilons of each side (sorted lists)."""

    old: list
    new: list

    n = None

    @property
    def differ(self):
        return bool(self.old) and bool(self.new) and self.old != self.new


_FORWARD_RULES = (
    Rule(BN_EPSILON, "forward", lambda f: f.differ, lambda f: (
        f"batch-norm epsilon differs: TF1 {sorted(set(f.old))}, new {sorted(set(f.new))}; outputs are "
        "x_hat = (x - mean) / sqrt(var + epsilon) on both sides, so use "
        f"BatchNormalization(epsilon={_f(f.old[0])}) (tf_slim batch_norm and tf.layers default to 0.001)")),
)

RULES = _VARIABLE_RULES + _OTHER_RULES + _OPTIMIZER_RULES + _BATCH_NORM_RULES + _FORWARD_RULES
