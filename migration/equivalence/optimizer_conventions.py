"""Re-measure, on the installed TensorFlow and Keras, the optimizer conventions the checker relies on.

``compat-reg selftest`` shows each as a row (measured vs documented): that the
Keras arguments of ``optimizers.OPTIMIZERS`` step exactly like TF1, where each side
puts epsilon, where the slots start, the default epsilons, and that the momentum
forms part under a changing learning rate. Everything is measured by running the
optimizers on one small variable, nothing is looked up by version.
"""

import inspect

import numpy as np
import tensorflow as tf

from compat_reg import _flavor
from .optimizers import OPTIMIZERS

W0 = np.array([1.0, -2.0, 0.5], np.float32)
C = np.array([0.3, -0.1, 0.7], np.float32)
LR = 0.1


def _grad(w):
    """Gradient of ``loss(w) = sum(C * w) + 0.5 * sum(w ** 2)``: ``C + w``."""
    return C + w


def _tf1_run(make, learning_rates):
    g = tf.Graph()
    with g.as_default():
        w = tf.compat.v1.get_variable("w", initializer=W0)
        lr = tf.compat.v1.placeholder(tf.float32, [])
        opt = make(lr)
        loss = tf.reduce_sum(C * w) + 0.5 * tf.reduce_sum(tf.square(w))
        train = opt.minimize(loss, var_list=[w])
        with tf.compat.v1.Session(graph=g) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            slots = {name: s.run(opt.get_slot(w, name)) for name in opt.get_slot_names()}
            out = []
            for rate in learning_rates:
                s.run(train, {lr: rate})
                out.append(s.run(w))
    return np.array(out), slots


def _keras_run(make, learning_rates, slot_init=None):
    keras = _flavor.keras()
    w = tf.Variable(W0)
    opt = make(keras)
    opt.build([w])
    slots = {}
    for v in opt.variables:
        name = getattr(v, "path", None) or v.name
        for slot in ("velocity", "accumulator", "momentum"):
            if slot in name and "iteration" not in name:
                slots[slot] = np.asarray(v.numpy())
                if slot_init and slot in slot_init:
                    v.assign(np.full(v.shape, slot_init[slot], np.float32))
    out = []
    for rate in learning_rates:
        opt.learning_rate = rate
        opt.apply_gradients([(tf.constant(_grad(w.numpy())), w)])
        out.append(w.numpy().copy())
    return np.array(out), slots


def _rel(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def reproduces(name, steps=3):
    """Max relative difference of ``w`` over ``steps`` between TF1 and the documented Keras arguments."""
    spec = OPTIMIZERS[name]
    params = spec.resolve({})
    tf1, _ = _tf1_run(lambda lr: spec.make_tf1(lr, params), [LR] * steps)
    kw = spec.keras_kwargs(LR, params)
    keras, _ = _keras_run(lambda k: getattr(k.optimizers, spec.keras)(**kw), [LR] * steps, spec.keras_slot_init)
    return _rel(keras, tf1)


def _one_step_delta(side, make):
    run = _tf1_run if side == "tf1" else _keras_run
    out, _ = run(make, [LR])
    return out[0] - W0


def rmsprop_epsilon_placement():
    """``(tf1, keras)``: ``"inside"`` or ``"outside"`` the square root, measured with epsilon = 1."""
    g = _grad(W0).astype(np.float64)

    def place(delta, ms0):
        ms = 0.9 * ms0 + 0.1 * g * g
        inside = -LR * g / np.sqrt(ms + 1.0)
        outside = -LR * g / (np.sqrt(ms) + 1.0)
        return "inside" if _rel(delta, inside) < 1e-5 else "outside" if _rel(delta, outside) < 1e-5 else "other"

    tf1 = _one_step_delta("tf1", lambda lr: tf.compat.v1.train.RMSPropOptimizer(lr, epsilon=1.0))
    keras = _one_step_delta("keras", lambda k: k.optimizers.RMSprop(LR, epsilon=1.0))
    return place(tf1, 1.0), place(keras, 0.0)


def adam_epsilon_placement():
    """``(tf1, keras)``: ``"hat"`` (added to sqrt(v), after bias correction) or ``"algorithm-1"``, epsilon = 1."""
    g = _grad(W0).astype(np.float64)
    m, v = 0.1 * g, 0.001 * g * g
    lr_t = LR * np.sqrt(1 - 0.999) / (1 - 0.9)

    def place(delta):
        hat = -lr_t * m / (np.sqrt(v) + 1.0)
        alg1 = -lr_t * m / (np.sqrt(v) + 1.0 * np.sqrt(1 - 0.999))
        return "hat" if _rel(delta, hat) < 1e-5 else "algorithm-1" if _rel(delta, alg1) < 1e-5 else "other"

    tf1 = _one_step_delta("tf1", lambda lr: tf.compat.v1.train.AdamOptimizer(lr, epsilon=1.0))
    keras = _one_step_delta("keras", lambda k: k.optimizers.Adam(LR, epsilon=1.0))
    return place(tf1), place(keras)


def adagrad_has_epsilon():
    """``(tf1, keras default)``: whether a step differs from ``lr g / sqrt(acc)``, i.e. adds an epsilon."""
    g = _grad(W0).astype(np.float64)
    plain = -LR * g / np.sqrt(0.1 + g * g)
    tf1 = _one_step_delta("tf1", lambda lr: tf.compat.v1.train.AdagradOptimizer(lr))
    keras_eps = float(_flavor.keras().optimizers.Adagrad().epsilon)
    return _rel(tf1, plain) > 1e-6, keras_eps


def slot_starts():
    """``(TF1 RMSProp 'rms', Keras RMSprop velocity, TF1 Adagrad, Keras Adagrad)`` initial slot values."""
    _, tf1_rms = _tf1_run(lambda lr: tf.compat.v1.train.RMSPropOptimizer(lr), [])
    _, k_rms = _keras_run(lambda k: k.optimizers.RMSprop(LR), [])
    _, tf1_ada = _tf1_run(lambda lr: tf.compat.v1.train.AdagradOptimizer(lr), [])
    _, k_ada = _keras_run(lambda k: k.optimizers.Adagrad(LR), [])
    values = (tf1_rms["rms"][0], k_rms["velocity"][0], tf1_ada["accumulator"][0], k_ada["accumulator"][0])
    return tuple(float(f"{float(v):.6g}") for v in values)


def default_epsilons():
    """``{name: (TF1 default, Keras default)}`` for Adam, RMSProp, Adadelta."""
    keras = _flavor.keras()
    out = {}
    for name, tf1_cls, keras_cls in (("adam", "AdamOptimizer", "Adam"), ("rmsprop", "RMSPropOptimizer", "RMSprop"),
                                     ("adadelta", "AdadeltaOptimizer", "Adadelta")):
        tf1_default = inspect.signature(getattr(tf.compat.v1.train, tf1_cls)).parameters["epsilon"].default
        out[name] = (float(tf1_default), float(np.float32(getattr(keras.optimizers, keras_cls)().epsilon)))
    return out


def momentum_agrees_under_changing_rate():
    """Whether TF1 ``lr * a`` and Keras ``v`` momentum agree when the rate changes between steps."""
    rates = [0.1, 0.05, 0.025]
    tf1, _ = _tf1_run(lambda lr: tf.compat.v1.train.MomentumOptimizer(lr, 0.9), rates)
    keras, _ = _keras_run(lambda k: k.optimizers.SGD(0.1, momentum=0.9), rates)
    return _rel(keras, tf1) < 1e-5


def rows():
    """``[(convention, measured, documented, note)]`` for ``selftest``."""
    out = []
    for name, spec in OPTIMIZERS.items():
        params = spec.resolve({})
        out.append((f"{spec.describe_keras(LR, params)} steps like TF1 {spec.tf1}",
                     reproduces(name) < 1e-5, True, "3 steps, rtol 1e-5"))
    out.append(("RMSProp epsilon placement (TF1, Keras)", rmsprop_epsilon_placement(), ("inside", "inside"),
                "both lr*g/sqrt(ms + eps)"))
    out.append(("Adam epsilon placement (TF1, Keras)", adam_epsilon_placement(), ("hat", "hat"),
                "lr_t*m/(sqrt(v) + eps)"))
    has_eps, keras_eps = adagrad_has_epsilon()
    out.append(("Adagrad epsilon (TF1 adds one, Keras default)", (has_eps, keras_eps), (False, 1e-07),
                "use Adagrad(epsilon=0.0)"))
    out.append(("slot starts (TF1 rms, Keras velocity, TF1/Keras Adagrad acc)", slot_starts(), (1.0, 0.0, 0.1, 0.1),
                "RMSprop: no Keras argument"))
    for name, pair in default_epsilons().items():
        documented = {"adam": (1e-08, 1e-07), "rmsprop": (1e-10, 1e-07), "adadelta": (1e-08, 1e-07)}[name]
        measured = tuple(float(f"{v:.6g}") for v in pair)
        out.append((f"{name} default epsilon (TF1, Keras)", measured, documented, f"pass epsilon={documented[0]:g}"))
    out.append(("momentum TF1 lr*a and Keras v agree under a changing rate", momentum_agrees_under_changing_rate(),
                False, "equal only at a constant rate"))
    return out
