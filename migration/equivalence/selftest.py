"""``compat-reg selftest``: which TF1 / Keras conventions hold on this install.

Measures each convention the porting rules depend on against the installed
TensorFlow, Keras (the active flavor) and tf_slim, compares it with what
``compat_reg._flavor`` documents, then runs the registered equivalence cases
(``migration.equivalence.cases``). Everything is measured, nothing is looked up
by version number.
"""

import dataclasses
import time

import numpy as np
import tensorflow as tf

import compat_reg
from compat_reg import _flavor


@dataclasses.dataclass
class Row:
    convention: str
    measured: object
    documented: object
    holds: bool
    note: str = ""


@dataclasses.dataclass
class Report:
    conventions: list
    cases: list  # (id, ok, what, seconds)
    info: dict

    @property
    def ok(self):
        return all(r.holds for r in self.conventions) and all(c[1] for c in self.cases)

    def to_dict(self):
        return {
            "ok": self.ok,
            "info": self.info,
            "conventions": [dataclasses.asdict(r) for r in self.conventions],
            "cases": [{"id": i, "ok": ok, "outcome": what, "seconds": round(s, 3)} for i, ok, what, s in self.cases],
        }

    def format_table(self):
        i = self.info
        lines = [
            f"tensorflow {i['tensorflow']}, {i['flavor']} {i['keras']}, tf_slim {i['tf_slim']}",
            "",
            f"{'convention':<58} {'measured':<14} {'documented':<14} holds",
        ]
        for r in self.conventions:
            lines.append(f"{r.convention:<58} {str(r.measured):<14} {str(r.documented):<14} {'yes' if r.holds else 'NO'}"
                         + (f"  ({r.note})" if r.note else ""))
        if self.cases:
            passed = sum(1 for c in self.cases if c[1])
            lines += ["", f"equivalence cases: {passed}/{len(self.cases)} behave as registered"]
            for cid, ok, what, secs in self.cases:
                lines.append(f"  {'ok  ' if ok else 'FAIL'} {cid:<40} {secs:5.2f}s  {what}")
        lines += ["", "SELFTEST OK" if self.ok else "SELFTEST FAILED: see the rows marked NO / FAIL"]
        return "\n".join(lines)


def _graph_value(build):
    g = tf.Graph()
    with g.as_default():
        out = build()
        with tf.compat.v1.Session(graph=g) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            return s.run(out)


def _l2_factor():
    import tf_slim as slim

    w = np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3)
    tf1 = _graph_value(lambda: slim.l2_regularizer(0.1)(tf.constant(w)))
    k = float(_flavor.keras().regularizers.L2(0.1)(tf.constant(w)))
    return round(k / float(tf1), 6)


def _activity_divided():
    keras = _flavor.keras()
    layer = keras.layers.Dense(2, activity_regularizer=keras.regularizers.L1(1.0), kernel_initializer="ones")
    x = np.ones((4, 3), np.float32)
    y = layer(x)
    raw = float(np.sum(np.abs(np.asarray(y))))
    got = float(sum(float(v) for v in layer.losses))
    return bool(abs(got - raw / 4) <= 1e-6 * raw)


def _frozen_counted():
    keras = _flavor.keras()
    layer = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L2(1.0))
    layer.trainable = False
    layer(np.ones((1, 3), np.float32))
    return len(layer.losses) > 0


def _callable_add_loss():
    keras = _flavor.keras()
    layer = keras.layers.Dense(2)
    layer(np.ones((1, 3), np.float32))
    try:
        layer.add_loss(lambda: tf.reduce_sum(layer.kernel))
        return len(layer.losses) == 1
    except (TypeError, ValueError, AttributeError):
        return False


def _l1_l2_defaults():
    cfg = _flavor.keras().regularizers.l1_l2().get_config()
    return (round(float(cfg["l1"]), 6), round(float(cfg["l2"]), 6))


def _scope_regularizes_biases():
    def build():
        with tf.compat.v1.variable_scope("s", regularizer=compat_reg.l2_regularizer(0.1)):
            tf.compat.v1.get_variable("biases", [2], initializer=tf.compat.v1.ones_initializer())
        return tf.constant(len(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)))

    return int(_graph_value(build)) == 1


def _apply_regularization_appends():
    import tf_slim as slim

    def build():
        w = tf.compat.v1.get_variable("w", [2], initializer=tf.compat.v1.ones_initializer())
        slim.apply_regularization(slim.l2_regularizer(0.1), [w])
        return tf.constant(len(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)))

    return int(_graph_value(build)) == 1


def _slim_batch_norm_builds():
    import tf_slim as slim

    def build():
        x = tf.constant(np.ones((2, 3, 3, 2), np.float32))
        return slim.batch_norm(x, is_training=True)

    try:
        _graph_value(build)
        return True
    except Exception:  # noqa: BLE001 - any failure to build is the finding
        return False


def conventions():
    """Measure each convention; ``documented`` is what compat_reg (``_flavor``) says for this flavor."""
    k3 = _flavor.is_keras3()
    rows = []

    def row(name, fn, documented, note=""):
        measured = fn()
        rows.append(Row(name, measured, documented, measured == documented, note))

    row("Keras L2(s) / TF1 l2_regularizer(s)", _l2_factor, 2.0, "port TF1 l2(s) as L2(s/2)")
    row("activity_regularizer divided by the batch", _activity_divided, _flavor.activity_loss_divided_by_batch())
    row("regularizers of frozen (non-trainable) weights counted", _frozen_counted, _flavor.frozen_weights_regularized())
    row("zero-argument add_loss(lambda: ...) supported", _callable_add_loss, _flavor.supports_callable_add_loss())
    row("keras.regularizers.l1_l2() defaults (l1, l2)", _l1_l2_defaults, (0.0, 0.0) if k3 else (0.01, 0.01),
        "TF1 l1_l2_regularizer() is (1.0, 1.0)")
    row("TF1 variable_scope(regularizer=) regularizes biases", _scope_regularizes_biases, True)
    row("TF1 apply_regularization appends its sum to the collection", _apply_regularization_appends, True)
    row("tf_slim batch_norm builds (compat_reg slim compat)", _slim_batch_norm_builds, True)
    from . import optimizer_conventions

    for name, measured, documented, note in optimizer_conventions.rows():
        rows.append(Row(name, measured, documented, measured == documented, note))
    return rows


def run(quick=False, progress=None):
    """Measure the conventions and (unless ``quick``) run every registered case."""
    import tf_slim

    from . import cases as cases_mod

    info = {
        "tensorflow": tf.__version__, "flavor": _flavor.name(), "keras": _flavor.version(),
        "tf_slim": getattr(tf_slim, "__version__", "1.1.0"),
    }
    rows = conventions()
    if progress:
        for r in rows:
            progress(f"[selftest] {'holds' if r.holds else 'NO   '} {r.convention}: measured {r.measured}")
    results = []
    if not quick:
        replicas = cases_mod.replicas_available()
        for case in cases_mod.all_cases():
            start = time.perf_counter()
            if case.needs_replicas and not replicas:
                results.append((case.id, False, "needs 2 devices (run `compat-reg selftest` in a fresh process)", 0.0))
                continue
            try:
                ok, what = cases_mod.outcome(case, case.run())
            except Exception as e:  # noqa: BLE001 - a crash is a failed case, reported with its type
                ok, what = False, f"error: {type(e).__name__}: {e}"
            results.append((case.id, ok, what, time.perf_counter() - start))
            if progress:
                progress(f"[selftest] {'ok  ' if ok else 'FAIL'} {case.id}")
    return Report(rows, results, info)
