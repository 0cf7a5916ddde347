"""The rules of the diagnosis table for training set-ups: optimizer conventions and batch norm in training mode.

Part of ``diagnoses.RULES`` (evaluated by ``diagnoses.diagnose``); kept in their own module
so each stays readable. The conventions are those of ``optimizers`` (read in the
installed sources, re-measured by ``compat-reg selftest``).
"""

import dataclasses

from ._rule import Rule

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
