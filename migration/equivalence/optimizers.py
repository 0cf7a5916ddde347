"""The optimizers both sides can step with, as one table: TF1 class, Keras class, hyper-parameters.

Each row says how to build ``tf.compat.v1.train.<tf1>`` and the Keras optimizer that
reproduces it exactly (when one exists), from the same hyper-parameters, named as in
TF1. The conventions, read in the installed sources (TF 2.21
``tensorflow/python/training/*.py`` and the ``Apply*`` kernels, Keras 3.15
``keras/src/optimizers/*.py``, tf_keras 2.21 ``tf_keras/src/optimizers/*.py``) and
re-measured by ``compat-reg selftest``:

==========  ===================================================  =======================================
optimizer   TF1 (``tf.compat.v1.train``)                          Keras arguments that reproduce it
==========  ===================================================  =======================================
sgd         ``w -= lr g``                                         ``SGD(lr)``
momentum    ``a = m a + g; w -= lr a``                            ``SGD(lr, momentum=m)``: Keras keeps
                                                                  ``v = m v - lr g; w += v``, the same
                                                                  only while ``lr`` is constant
nesterov    ``a = m a + g; w -= lr (g + m a)``                    ``SGD(lr, momentum=m, nesterov=True)``
                                                                  (same proviso)
adam        ``lr_t = lr sqrt(1-b2^t)/(1-b1^t);                    ``Adam(lr, beta_1, beta_2,
            w -= lr_t m / (sqrt(v) + eps)``, eps 1e-8 ("hat")     epsilon=1e-8)``: same placement, Keras'
                                                                  default epsilon is 1e-7
rmsprop     ``ms`` starts at **1.0**; ``ms = d ms + (1-d) g^2;``  ``RMSprop(lr, rho=d, momentum, epsilon=
            ``mom = m mom + lr g / sqrt(ms + eps)``, eps 1e-10    1e-10, centered)`` — epsilon is inside
                                                                  the root on both (tf_keras too); Keras'
                                                                  velocity starts at **0**: no argument
                                                                  for it, exact only by assigning 1.0 to
                                                                  the velocity slots after ``build``
adagrad     ``acc`` starts at 0.1; ``w -= lr g / sqrt(acc)``      ``Adagrad(lr, initial_accumulator_value=
            (no epsilon)                                          0.1, epsilon=0.0)``: Keras adds 1e-7
                                                                  inside the root by default
adadelta    ``w -= lr sqrt(u + eps) / sqrt(acc + eps) g``,        ``Adadelta(lr, rho, epsilon=1e-8)``:
            eps 1e-8                                              Keras' default epsilon is 1e-7
==========  ===================================================  =======================================

Decoupled ``weight_decay`` (``SGD(weight_decay=)``, ``AdamW``) equals an L2 penalty in
the loss only for plain SGD; that is diagnosed in the regularization stage.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from compat_reg import _flavor


@dataclasses.dataclass(frozen=True)
class Param:
    """A hyper-parameter: its TF1 keyword, the Keras keyword, TF1's default, and its type."""

    tf1: str
    keras: str
    default: object
    kind: type = float


@dataclasses.dataclass(frozen=True)
class Spec:
    """One optimizer row: ``tf.compat.v1.train.<tf1>`` and ``keras.optimizers.<keras>``.

    ``tf1_fixed`` / ``keras_fixed`` are keywords always passed (``use_nesterov``,
    Adagrad's ``epsilon=0.0``); ``keras_slot_init`` maps a Keras slot name to the
    value TF1 starts it at when Keras has no argument for it (RMSProp's ``velocity``).
    """

    name: str
    tf1: str
    keras: str
    params: tuple = ()
    tf1_fixed: dict = dataclasses.field(default_factory=dict)
    keras_fixed: dict = dataclasses.field(default_factory=dict)
    keras_slot_init: dict = dataclasses.field(default_factory=dict)

    def resolve(self, given):
        """TF1 hyper-parameters: the defaults updated with ``given``; errors name the parameter."""
        given = dict(given or {})
        known = {p.tf1: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ValueError(
                f"Invalid optimizer parameter {unknown[0]!r} for optimizer={self.name!r}. Expected one of "
                f"{sorted(known) or 'none'}. Received: optimizer_params={given!r}"
            )
        out = {}
        for p in self.params:
            value = given.get(p.tf1, p.default)
            if p.kind is bool:
                if not isinstance(value, (bool, np.bool_)):
                    raise ValueError(f"Invalid value for optimizer parameter `{p.tf1}`. Expected True or "
                                     f"False. Received: {p.tf1}={value!r}")
                out[p.tf1] = bool(value)
                continue
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = float("nan")
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"Invalid value for optimizer parameter `{p.tf1}`. Expected a finite "
                                 f"number >= 0. Received: {p.tf1}={given.get(p.tf1)!r}")
            out[p.tf1] = value
        return out

    def make_tf1(self, learning_rate, params):
        kwargs = dict(self.tf1_fixed)
        kwargs.update(params)
        return getattr(tf.compat.v1.train, self.tf1)(learning_rate, **kwargs)

    def keras_kwargs(self, learning_rate, params):
        """The Keras keywords that reproduce the TF1 optimizer with ``params``."""
        kwargs = {"learning_rate": learning_rate}
        kwargs.update({p.keras: params[p.tf1] for p in self.params})
        kwargs.update(self.keras_fixed)
        return kwargs

    def make_keras(self, learning_rate, params):
        return getattr(_flavor.keras().optimizers, self.keras)(**self.keras_kwargs(learning_rate, params))

    def describe_tf1(self, learning_rate, params):
        args = [f"{learning_rate:g}"] + [f"{k}={_fmt(v)}" for k, v in {**self.tf1_fixed, **params}.items()]
        return f"tf.compat.v1.train.{self.tf1}({', '.join(args)})"

    def describe_keras(self, learning_rate, params):
        kw = self.keras_kwargs(learning_rate, params)
        return f"{self.keras}({', '.join(f'{k}={_fmt(v)}' for k, v in kw.items())})"


def _fmt(v):
    return f"{v:g}" if isinstance(v, float) else repr(v)


OPTIMIZERS = {
    "sgd": Spec("sgd", "GradientDescentOptimizer", "SGD", keras_fixed={"momentum": 0.0, "nesterov": False}),
    "momentum": Spec("momentum", "MomentumOptimizer", "SGD", (Param("momentum", "momentum", 0.9),),
                     keras_fixed={"nesterov": False}),
    "nesterov": Spec("nesterov", "MomentumOptimizer", "SGD", (Param("momentum", "momentum", 0.9),),
                     tf1_fixed={"use_nesterov": True}, keras_fixed={"nesterov": True}),
    "adam": Spec("adam", "AdamOptimizer", "Adam", (
        Param("beta1", "beta_1", 0.9), Param("beta2", "beta_2", 0.999), Param("epsilon", "epsilon", 1e-8)),
        keras_fixed={"amsgrad": False}),
    "rmsprop": Spec("rmsprop", "RMSPropOptimizer", "RMSprop", (
        Param("decay", "rho", 0.9), Param("momentum", "momentum", 0.0), Param("epsilon", "epsilon", 1e-10),
        Param("centered", "centered", False, bool)), keras_slot_init={"velocity": 1.0}),
    "adagrad": Spec("adagrad", "AdagradOptimizer", "Adagrad", (
        Param("initial_accumulator_value", "initial_accumulator_value", 0.1),), keras_fixed={"epsilon": 0.0}),
    "adadelta": Spec("adadelta", "AdadeltaOptimizer", "Adadelta", (
        Param("rho", "rho", 0.95), Param("epsilon", "epsilon", 1e-8))),
}
NAMES = tuple(OPTIMIZERS)


def spec(name):
    """The row for ``name``; ``ValueError`` naming the choices otherwise."""
    if name not in OPTIMIZERS:
        raise ValueError(
            f"Invalid value for argument `optimizer`. Expected one of {NAMES}. Received: optimizer={name!r}"
        )
    return OPTIMIZERS[name]


@dataclasses.dataclass(frozen=True)
class Choice:
    """The optimizer of one check: the row, the learning rate and the resolved TF1 hyper-parameters."""

    spec: Spec
    learning_rate: float
    params: dict

    @property
    def name(self):
        return self.spec.name


def choose(name, learning_rate, params=None):
    """Validate and resolve ``--optimizer``, ``--learning-rate`` and the hyper-parameters."""
    row = spec(name)
    try:
        lr = float(learning_rate)
    except (TypeError, ValueError):
        lr = float("nan")
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(
            f"Invalid value for argument `learning_rate`. Expected a finite number > 0. "
            f"Received: learning_rate={learning_rate!r}"
        )
    return Choice(row, lr, row.resolve(params))
