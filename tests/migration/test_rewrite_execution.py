"""Every rewrite rule, executed: the original and the rewritten code on the same weights.

Each row is a small module defining ``penalty(w)`` (a scalar tensor in a TF1 graph).
``migrate`` rewrites it; both modules are executed in a fresh graph and session and
their values compared at float32 ``rtol=1e-6``. Originals written with
``tf.contrib`` / TF1 top-level names cannot run on TF 2.21 (that is the point of
migrating); for them the row gives the *reference* the original meant — the same
code through ``tf_slim`` (where ``tf.contrib.layers``' code lives on, unchanged) or
``tf.compat.v1``. A coverage test checks every rule of ``rewrite`` has a row here.

The done-when of issue 5 is at the end: every ``tf_slim.nets`` module rewritten
``--to keras`` is imported from a temporary package, and its arg_scope regularizer
and the regularization losses of whole built nets equal the original's.
"""

import importlib
import os
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from compat_reg import _flavor
from migration.codemods import keras_fix, successors, to_compat, to_keras
from migration.codemods.driver import migrate_source
from tests.helpers import RTOL_F32, assert_close, np_l2_keras

WEIGHTS = np.array([[0.5, -1.25, 2.0], [-0.75, 0.0, 3.5]], np.float32)

K = pytest.mark.keras


def _src(text):
    return textwrap.dedent(text).lstrip("\n")


SLIM_HEADER = "import tensorflow as tf\nimport tf_slim as s\n"
# (id, target, rule, original source, reference source or None (= the original), marks)
EXEC_CASES = [
    ("keras-l1", "keras", "l1_regularizer", SLIM_HEADER + "def penalty(w):\n    return s.l1_regularizer(0.3)(w)\n",
     None, [K]),
    ("keras-l2-literal-folded", "keras", "l2_regularizer",
     SLIM_HEADER + "def penalty(w):\n    return s.l2_regularizer(0.0005)(w)\n", None, [K]),
    ("keras-l2-name", "keras", "l2_regularizer",
     SLIM_HEADER + "WD = 0.07\ndef penalty(w):\n    return s.l2_regularizer(WD)(w)\n", None, [K]),
    ("keras-l2-expression", "keras", "l2_regularizer",
     SLIM_HEADER + "WD = 0.07\ndef penalty(w):\n    return s.l2_regularizer(WD * 2 + 0.01)(w)\n", None, [K]),
    ("keras-l1_l2-positional", "keras", "l1_l2_regularizer",
     SLIM_HEADER + "def penalty(w):\n    return s.l1_l2_regularizer(0.01, 0.02)(w)\n", None, [K]),
    ("keras-l1_l2-tf1-defaults", "keras", "l1_l2_regularizer",
     SLIM_HEADER + "def penalty(w):\n    return s.l1_l2_regularizer()(w)\n", None, [K]),
    ("keras-l1_l2-keywords-scope", "keras", "l1_l2_regularizer",
     SLIM_HEADER + "def penalty(w):\n    return s.l1_l2_regularizer(scale_l2=0.3, scope='r')(w)\n", None, [K]),
    ("keras-sum", "keras", "sum_regularizer",
     SLIM_HEADER + "def penalty(w):\n    return s.sum_regularizer([s.l1_regularizer(0.1), None, "
                   "s.l2_regularizer(0.2), s.l1_l2_regularizer(0.05, 0.4)])(w)\n", None, [K]),
    ("keras-layers-regularizers-module", "keras", "l2_regularizer", _src("""
        from tf_slim.layers import regularizers
        def penalty(w):
            return regularizers.l2_regularizer(0.25)(w)
        """), None, [K]),
    ("keras-compat_reg", "keras", "l2_regularizer", _src("""
        import compat_reg
        def penalty(w):
            return compat_reg.l2_regularizer(0.3)(w) + compat_reg.l1_regularizer(0.2)(w)
        """), None, [K]),
    ("keras-contrib", "keras", "l2_regularizer", _src("""
        import tensorflow as tf
        def penalty(w):
            return tf.contrib.layers.l2_regularizer(scale=0.25)(w) + tf.contrib.layers.l1_regularizer(0.5)(w)
        """), _src("""
        import tf_slim
        def penalty(w):
            return tf_slim.l2_regularizer(scale=0.25)(w) + tf_slim.l1_regularizer(0.5)(w)
        """), [K]),
    ("compat-contrib-regularizers", "compat", "contrib->compat_reg", _src("""
        import tensorflow as tf
        def penalty(w):
            reg = tf.contrib.layers.sum_regularizer([tf.contrib.layers.l1_regularizer(0.1),
                                                     tf.contrib.layers.l1_l2_regularizer(0.2, 0.3)])
            return reg(w) + tf.contrib.layers.l2_regularizer(0.1, scope="wd")(w)
        """), _src("""
        import tf_slim
        def penalty(w):
            reg = tf_slim.sum_regularizer([tf_slim.l1_regularizer(0.1), tf_slim.l1_l2_regularizer(0.2, 0.3)])
            return reg(w) + tf_slim.l2_regularizer(0.1, scope="wd")(w)
        """), []),
    ("compat-contrib-import", "compat", "contrib-import", _src("""
        from tensorflow.contrib.layers import l2_regularizer as r, l1_regularizer
        def penalty(w):
            return r(0.3)(w) + l1_regularizer(0.2)(w)
        """), _src("""
        from tf_slim import l2_regularizer as r, l1_regularizer
        def penalty(w):
            return r(0.3)(w) + l1_regularizer(0.2)(w)
        """), []),
    ("compat-apply_regularization", "compat", "contrib->compat_reg", _src("""
        import tensorflow as tf
        def penalty(w):
            total = tf.contrib.layers.apply_regularization(tf.contrib.layers.l2_regularizer(0.2), [w, 2.0 * w])
            return total + tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
        """), _src("""
        import tensorflow as tf
        import tf_slim
        def penalty(w):
            total = tf_slim.apply_regularization(tf_slim.l2_regularizer(0.2), [w, 2.0 * w])
            return total + tf.add_n(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES))
        """), []),
    ("compat-collection-v1", "compat", "v1-names", _src("""
        import tensorflow as tf
        import tensorflow.compat.v1 as tfv1
        def penalty(w):
            tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, 0.5 * tf.reduce_sum(w))
            return tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
        """), _src("""
        import tensorflow as tf
        import tensorflow.compat.v1 as tfv1
        def penalty(w):
            tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES, 0.5 * tf.reduce_sum(w))
            return tf.add_n(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES))
        """), []),
    ("compat-tf1-import-switch", "compat", "v1-import", _src("""
        import tensorflow as tf
        def penalty(w):
            with tf.variable_scope("s", regularizer=tf.contrib.layers.l2_regularizer(0.25)):
                v = tf.get_variable("v", initializer=w)
            return tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
        """), _src("""
        import tensorflow as tf
        import tf_slim
        def penalty(w):
            with tf.compat.v1.variable_scope("s", regularizer=tf_slim.l2_regularizer(0.25)):
                v = tf.compat.v1.get_variable("v", initializer=w)
            return tf.add_n(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES))
        """), []),
    ("compat-variables-and-getters", "compat", "losses->compat_reg", _src("""
        import tensorflow as tf
        def penalty(w):
            v = tf.get_variable("v", initializer=w, regularizer=tf.contrib.layers.l2_regularizer(0.3))
            with tf.variable_scope("inner", regularizer=tf.contrib.layers.l1_regularizer(0.2)):
                u = tf.get_variable("u", initializer=2.0 * w)
                z = tf.get_variable("z", initializer=w, regularizer=tf.no_regularizer)
            tf.compat.v1.losses.add_loss(tf.reduce_sum(v * u * z))
            return (tf.losses.get_regularization_loss() + tf.add_n(tf.losses.get_regularization_losses())
                    + tf.losses.get_total_loss())
        """), _src("""
        import tensorflow as tf
        import tf_slim
        def penalty(w):
            v = tf.compat.v1.get_variable("v", initializer=w, regularizer=tf_slim.l2_regularizer(0.3))
            with tf.compat.v1.variable_scope("inner", regularizer=tf_slim.l1_regularizer(0.2)):
                u = tf.compat.v1.get_variable("u", initializer=2.0 * w)
                z = tf.compat.v1.get_variable("z", initializer=w, regularizer=tf.compat.v1.no_regularizer)
            tf.compat.v1.losses.add_loss(tf.reduce_sum(v * u * z))
            v1 = tf.compat.v1.losses
            return v1.get_regularization_loss() + tf.add_n(v1.get_regularization_losses()) + v1.get_total_loss()
        """), []),
]

# Every rule the transforms implement, and the rows above that execute it.
RULES = {
    "l1_regularizer": to_keras.transform, "l2_regularizer": to_keras.transform,
    "l1_l2_regularizer": to_keras.transform, "sum_regularizer": to_keras.transform,
    "contrib->compat_reg": successors.transform, "losses->compat_reg": to_compat.transform,
    "contrib-import": successors.transform, "v1-names": to_compat.transform,
    "v1-import": to_compat.switch_import,
    "keras-l-keyword": keras_fix.transform, "keras-l1_l2-defaults": keras_fix.transform,
}


def _load(source, name):
    namespace = {"__name__": name}
    exec(compile(source, f"<{name}>", "exec"), namespace)  # noqa: S102 - the code under test
    return namespace


def _value(source, name, weights):
    graph = tf.Graph()
    with graph.as_default():
        penalty = _load(source, name)["penalty"](tf.constant(weights))
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return sess.run(penalty)


@pytest.mark.parametrize(
    "target,original,reference",
    [pytest.param(c[1], c[3], c[4], marks=c[5], id=c[0]) for c in EXEC_CASES])
def test_rewritten_code_runs_and_equals_original(target, original, reference):
    result = migrate_source(original, "case.py", target)
    assert result.changed, "the rule under test did not fire"
    assert not [f for f in result.findings if f.action == "report" and f.site.kind != "contrib_import"]
    expected = _value(reference or original, "original", WEIGHTS)
    actual = _value(result.new_text, "rewritten", WEIGHTS)
    assert_close(actual, expected, what=result.new_text)
    assert expected != 0.0  # a vacuous comparison would prove nothing


@pytest.mark.parametrize("weights", [np.zeros((2, 2), np.float32), WEIGHTS], ids=["zero-weights", "weights"])
@pytest.mark.keras
def test_keras_l_keyword_fix(weights):
    """``l2(l=x)`` works in tf_keras only; ``l2(l2=x)`` works in both with the same value."""
    original = "import tensorflow as tf\ndef penalty(w):\n    return tf.keras.regularizers.l2(l=0.3)(w)\n"
    rewritten = migrate_source(original, "case.py", "keras").new_text
    assert "l2(l2=0.3)" in rewritten
    actual = _value(rewritten, "rewritten", weights)
    assert_close(actual, np_l2_keras(weights, 0.3), atol=0.0)
    if _flavor.is_keras3():
        with pytest.raises(TypeError):
            _value(original, "original", weights)
    else:
        assert_close(actual, _value(original, "original", weights))


@pytest.mark.keras
def test_keras_l1_l2_defaults_fix_keeps_tf_keras_values():
    """tf.keras' ``l1_l2()`` meant 0.01/0.01 (tf_keras); Keras 3 silently makes it 0/0."""
    original = "import tensorflow as tf\ndef penalty(w):\n    return tf.keras.regularizers.l1_l2()(w)\n"
    rewritten = migrate_source(original, "case.py", "compat").new_text
    assert "l1_l2(l1=0.01, l2=0.01)" in rewritten
    w64 = WEIGHTS.astype(np.float64)
    expected = 0.01 * np.abs(w64).sum() + 0.01 * np.square(w64).sum()
    assert_close(_value(rewritten, "rewritten", WEIGHTS), expected)
    original_value = _value(original, "original", WEIGHTS)
    if _flavor.is_keras3():
        assert original_value == 0.0  # the silent change the rewrite prevents
    else:
        assert_close(original_value, expected)


def test_every_rewrite_rule_has_an_execution_case():
    executed = {c[2] for c in EXEC_CASES} | {"keras-l-keyword", "keras-l1_l2-defaults"}
    assert set(RULES) - executed == set()


# --- done-when: tf_slim.nets rewritten --to keras -----------------------------------------

NETS_DIR = os.path.join(os.path.dirname(importlib.util.find_spec("tf_slim").origin), "nets")
NET_ARG_SCOPES = [  # module, arg_scope function
    ("alexnet", "alexnet_v2_arg_scope"), ("inception_v1", "inception_v1_arg_scope"),
    ("inception_v2", "inception_v2_arg_scope"), ("inception_v3", "inception_v3_arg_scope"),
    ("overfeat", "overfeat_arg_scope"), ("resnet_utils", "resnet_arg_scope"), ("vgg", "vgg_arg_scope"),
]


@pytest.fixture(scope="module")
def rewritten_nets(tmp_path_factory):
    """Every ``tf_slim/nets/*.py`` (tests excluded) rewritten ``--to keras`` into a package."""
    root = tmp_path_factory.mktemp("rewritten")
    package = root / "rewritten_nets"
    package.mkdir()
    (package / "__init__.py").write_text("")
    changed = []
    for name in sorted(os.listdir(NETS_DIR)):
        if not name.endswith(".py") or name.endswith("_test.py") or name == "__init__.py":
            continue
        with open(os.path.join(NETS_DIR, name), encoding="utf-8") as handle:
            result = migrate_source(handle.read(), name, "keras")
        assert not [f for f in result.findings if f.action == "report"], name
        compile(result.new_text, name, "exec")  # parses
        (package / name).write_text(result.new_text)
        if result.changed:
            changed.append(name[:-3])
    sys.path.insert(0, str(root))
    try:
        yield {m: importlib.import_module(f"rewritten_nets.{m}") for m in changed}
    finally:
        sys.path.remove(str(root))
        for m in [m for m in sys.modules if m.startswith("rewritten_nets")]:
            del sys.modules[m]


def _weights_regularizer(scope_dict):
    regs = [kw["weights_regularizer"] for kw in scope_dict.values() if "weights_regularizer" in kw]
    assert regs, "the arg_scope sets no weights_regularizer"
    return regs[0]


@pytest.mark.keras
def test_every_rewritten_net_module_imports(rewritten_nets):
    assert sorted(rewritten_nets) == sorted(m for m, _ in NET_ARG_SCOPES)


@pytest.mark.parametrize("module,function", NET_ARG_SCOPES, ids=[m for m, _ in NET_ARG_SCOPES])
@pytest.mark.keras
def test_rewritten_net_arg_scope_regularizes_identically(rewritten_nets, module, function, graph, sess):
    original = importlib.import_module(f"tf_slim.nets.{module}")
    weights = tf.constant(WEIGHTS)
    values = []
    for mod in (original, rewritten_nets[module]):
        reg = _weights_regularizer(getattr(mod, function)(weight_decay=0.0004))
        values.append(reg(weights))
    before, after = sess.run(values)
    assert_close(after, before)
    assert_close(before, 0.0004 * np.square(WEIGHTS.astype(np.float64)).sum() / 2)


_SLIM_RENAMES = {"kernel": "weights", "bias": "biases"}


def _regularized_net(build, arg_scope, image_size):
    """Build a net in a fresh graph; ``{variable name: (variable, its loss)}``."""
    graph = tf.Graph()
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [1, image_size, image_size, 3])
        import tf_slim

        with tf_slim.arg_scope(arg_scope(weight_decay=0.0004)):
            build(images, num_classes=10, is_training=False)
        variables = {v.op.name: v for v in tf.compat.v1.global_variables()}
        losses = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
        by_var = {}
        for loss in losses:
            owner = loss.name.split("/Regularizer/")[0]
            # tf_slim's conv2d/fully_connected build Keras-style layers whose losses are
            # named after `kernel`/`bias`; slim renames the variables `weights`/`biases`.
            head, _, last = owner.rpartition("/")
            owner = owner if owner in variables else f"{head}/{_SLIM_RENAMES.get(last, last)}"
            by_var[owner] = (variables[owner], loss)
        assert len(by_var) == len(losses)
    return graph, by_var


NET_BUILDS = [("vgg", "vgg_a", "vgg_arg_scope", 224), ("alexnet", "alexnet_v2", "alexnet_v2_arg_scope", 224)]


@pytest.mark.parametrize("module,net,arg_scope,size", NET_BUILDS, ids=[n[1] for n in NET_BUILDS])
@pytest.mark.keras
def test_rewritten_net_builds_with_identical_regularization_losses(rewritten_nets, module, net, arg_scope, size):
    """Whole nets: the same regularized variables, and the same loss on the same weights.

    Only variables up to 2.5M entries are initialized and compared (the fully
    connected ones are 10^8 floats; their regularizer is the same object).
    """
    original = importlib.import_module(f"tf_slim.nets.{module}")
    rewritten = rewritten_nets[module]
    g1, losses1 = _regularized_net(getattr(original, net), getattr(original, arg_scope), size)
    g2, losses2 = _regularized_net(getattr(rewritten, net), getattr(rewritten, arg_scope), size)
    assert sorted(losses1) == sorted(losses2)
    rng = np.random.default_rng(0)
    compared = 0
    with tf.compat.v1.Session(graph=g1) as s1, tf.compat.v1.Session(graph=g2) as s2:
        for name, (var1, loss1) in sorted(losses1.items()):
            shape = var1.shape.as_list()
            if np.prod(shape) > 2_500_000:
                continue
            value = rng.standard_normal(shape).astype(np.float32) * 0.05
            var2, loss2 = losses2[name]
            s1.run(var1.initializer, {var1.initial_value: value})
            s2.run(var2.initializer, {var2.initial_value: value})
            assert_close(s2.run(loss2), s1.run(loss1), rtol=RTOL_F32, what=name)
            compared += 1
    assert compared >= 5
