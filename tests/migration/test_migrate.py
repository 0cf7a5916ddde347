"""``migrate``: before/after blocks (LibCST ``CodemodTest`` style) with expected warnings.

Each case is a module-level row: source before, source after, target, and the
sites expected to be *reported* (left unchanged) as ``(line, kind, text in reason)``.
Untouched lines are part of every block, so a rewrite that touches anything else
fails the comparison. That the rewritten code runs and gives the same numbers is
tested in ``test_rewrite_execution.py``.
"""

import textwrap

import pytest

from migration.codemods.driver import migrate_source


def _src(text):
    return textwrap.dedent(text).lstrip("\n")


# (id, target, before, after, expected reports [(line, kind, reason substring)])
CASES = [
    ("keras-slim-alias-l2-literal-and-name", "keras", """
        import tensorflow as tf
        import tf_slim as s

        WD = 0.0005
        untouched = s.conv2d  # not a site
        reg = s.l2_regularizer(0.0005)
        reg2 = s.l2_regularizer(WD)
        """, """
        import tensorflow as tf
        import tf_slim as s

        WD = 0.0005
        untouched = s.conv2d  # not a site
        reg = tf.keras.regularizers.L2(0.00025)
        reg2 = tf.keras.regularizers.L2(WD / 2)
        """, []),
    ("keras-nets-form-adds-tensorflow-import", "keras", """
        \"\"\"Docstring.\"\"\"
        from __future__ import print_function
        from tf_slim.layers import regularizers
        from tf_slim.ops.arg_scope import arg_scope


        def arg_sc(weight_decay=0.0005):
          with arg_scope([], weights_regularizer=regularizers.l2_regularizer(weight_decay)) as sc:
            return sc
        """, """
        \"\"\"Docstring.\"\"\"
        from __future__ import print_function
        from tf_slim.layers import regularizers
        from tf_slim.ops.arg_scope import arg_scope
        import tensorflow as tf


        def arg_sc(weight_decay=0.0005):
          with arg_scope([], weights_regularizer=tf.keras.regularizers.L2(weight_decay / 2)) as sc:
            return sc
        """, []),
    ("keras-from-import-as-and-expression-scale", "keras", """
        import tensorflow as T
        from tf_slim import l2_regularizer as r
        from tf_slim import l1_l2_regularizer

        a = r(base + extra)
        b = l1_l2_regularizer(scale_l2=0.3)
        c = l1_l2_regularizer(0.1, 0.2, scope="reg")
        """, """
        import tensorflow as T
        from tf_slim import l2_regularizer as r
        from tf_slim import l1_l2_regularizer

        a = T.keras.regularizers.L2((base + extra) / 2)
        b = T.keras.regularizers.L1L2(l1=1.0, l2=0.15)
        c = T.keras.regularizers.L1L2(l1=0.1, l2=0.1)
        """, []),
    ("keras-contrib-attribute-and-sum", "keras", """
        import tensorflow as tf

        slim = tf.contrib.slim
        l1 = tf.contrib.layers.l1_regularizer(scale=0.25)
        s = slim.sum_regularizer([slim.l1_regularizer(0.1), None, slim.l2_regularizer(0.2),
                                  slim.l1_l2_regularizer(0.05, 0.4)])
        """, """
        import tensorflow as tf

        slim = tf.contrib.slim
        l1 = tf.keras.regularizers.L1(0.25)
        s = tf.keras.regularizers.L1L2(l1=0.1 + 0.05, l2=0.1 + 0.2)
        """, []),
    ("keras-unsafe-sites-are-reported-not-rewritten", "keras", """
        import tensorflow as tf
        import tf_slim as slim

        bad_int = slim.l2_regularizer(1)
        tensor_scale = slim.l2_regularizer(tf.constant(0.1))
        mixed = slim.sum_regularizer([my_reg, slim.l2_regularizer(0.2)])
        commented = slim.l2_regularizer(  # keep me
            0.1)
        loss = tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
        pen = 0.01 * tf.nn.l2_loss(w)
        """, """
        import tensorflow as tf
        import tf_slim as slim

        bad_int = slim.l2_regularizer(1)
        tensor_scale = slim.l2_regularizer(tf.constant(0.1))
        mixed = slim.sum_regularizer([my_reg, tf.keras.regularizers.L2(0.1)])
        commented = slim.l2_regularizer(  # keep me
            0.1)
        loss = tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
        pen = 0.01 * tf.nn.l2_loss(w)
        """, [
            (4, "tf1_regularizer", "integer 1: TF1 raises ValueError"),
            (5, "tf1_regularizer", "is a tensor"),
            (6, "tf1_regularizer", "`my_reg` is not a TF1 l1/l2/l1_l2 factory call"),
            (7, "tf1_regularizer", "contains a comment"),
            (9, "collection_read", "not provably the same"),
            (10, "manual_l2_penalty", "which layer owns w"),
        ]),
    ("keras-l-keyword-and-l1_l2-defaults-both-targets", "keras", """
        import tensorflow as tf
        from tensorflow.keras import regularizers as kr
        import keras

        a = tf.keras.regularizers.l2(l=0.3)
        b = kr.l1(l=0.2)
        c = tf.keras.regularizers.l1_l2(0.1)
        d = keras.regularizers.l1_l2()
        e = tf.keras.regularizers.L2(0.1)
        """, """
        import tensorflow as tf
        from tensorflow.keras import regularizers as kr
        import keras

        a = tf.keras.regularizers.l2(l2=0.3)
        b = kr.l1(l1=0.2)
        c = tf.keras.regularizers.l1_l2(l1=0.1, l2=0.01)
        d = keras.regularizers.l1_l2()
        e = tf.keras.regularizers.L2(0.1)
        """, [(8, "keras_regularizer", "defaults differ")]),
    ("keras-shadowed-names-are-not-sites", "keras", """
        import tensorflow as tf
        from tf_slim.layers import regularizers


        def f(regularizers, tf):
            return regularizers.l2_regularizer(0.1), tf.contrib.layers.l2_regularizer(0.1)


        class C:
            regularizers = None

            def m(self):
                return regularizers.l2_regularizer(0.1)
        """, """
        import tensorflow as tf
        from tf_slim.layers import regularizers


        def f(regularizers, tf):
            return regularizers.l2_regularizer(0.1), tf.contrib.layers.l2_regularizer(0.1)


        class C:
            regularizers = None

            def m(self):
                return tf.keras.regularizers.L2(0.05)
        """, []),
    ("keras-contrib-import-reported-with-its-successor", "keras", """
        from tensorflow.contrib.layers import l2_regularizer
        reg = l2_regularizer(0.1)
        """, """
        from tensorflow.contrib.layers import l2_regularizer
        import tensorflow as tf
        reg = tf.keras.regularizers.L2(0.05)
        """, [(1, "contrib_import", "tensorflow.contrib.layers.l2_regularizer -> compat_reg.l2_regularizer")]),
    ("compat-contrib-to-compat_reg-and-v1-names", "compat", """
        import tensorflow as tf
        import tf_slim as slim

        reg = tf.contrib.layers.l2_regularizer(0.1, scope="wd")
        keep = slim.l2_regularizer(0.1)
        with tf.variable_scope("s", regularizer=reg):
            w = tf.get_variable("w", [2], regularizer=tf.no_regularizer)
        pen = tf.contrib.layers.apply_regularization(reg, [w])
        losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES, "s")
        tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, pen)
        total = tf.losses.get_total_loss() + tf.losses.get_regularization_loss()
        same = tf.compat.v1.losses.get_regularization_losses()
        """, """
        import tensorflow.compat.v1 as tf
        import tf_slim as slim
        import compat_reg

        reg = compat_reg.l2_regularizer(0.1, scope="wd")
        keep = slim.l2_regularizer(0.1)
        with tf.variable_scope("s", regularizer=reg):
            w = tf.get_variable("w", [2], regularizer=tf.no_regularizer)
        pen = compat_reg.apply_regularization(reg, [w])
        losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES, "s")
        tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, pen)
        total = compat_reg.get_total_loss() + compat_reg.get_regularization_loss()
        same = tf.compat.v1.losses.get_regularization_losses()
        """, []),
    ("compat-contrib-imports", "compat", """
        from tensorflow.contrib.layers import l2_regularizer, apply_regularization as ap
        from tensorflow.contrib.layers import fully_connected
        import tensorflow.contrib.slim as slim

        reg = l2_regularizer(0.1)
        """, """
        from compat_reg import l2_regularizer, apply_regularization as ap
        from tf_slim import fully_connected
        import tf_slim as slim

        reg = l2_regularizer(0.1)
        """, []),
    ("compat-v1-already-imported-keeps-imports-and-renames", "compat", """
        import tensorflow as tf
        import tensorflow.compat.v1 as tfv1

        w = tf.get_variable("w", [2], regularizer=r)
        """, """
        import tensorflow as tf
        import tensorflow.compat.v1 as tfv1

        w = tf.compat.v1.get_variable("w", [2], regularizer=r)
        """, []),
    ("compat-contrib-internals-every-import-form", "compat", """
        import tensorflow as tf
        from tensorflow.contrib.framework.python.ops import add_arg_scope, variables
        from tensorflow.contrib.layers.python.layers import initializers, utils
        from tensorflow.contrib import slim as contrib_slim
        slim = tf.contrib.slim  # the alias
        init = tf.contrib.layers.xavier_initializer()
        scope = tf.contrib.framework.arg_scope
        """, """
        import tensorflow.compat.v1 as tf
        from tf_slim.ops.arg_scope import add_arg_scope
        from tf_slim.ops import variables
        from tf_slim.layers import initializers, utils
        import tf_slim as contrib_slim
        import tf_slim
        slim = tf_slim  # the alias
        init = tf_slim.xavier_initializer()
        scope = tf_slim.arg_scope
        """, []),
    ("compat-contrib-without-successor-reported-rest-rewritten", "compat", """
        import tensorflow as tf
        dist = tf.contrib.distributions.Normal(0.0, 1.0)
        hp = tf.contrib.training.HParams(lr=0.1)
        net = tf.contrib.layers.fully_connected(x, 3)
        """, """
        import tensorflow.compat.v1 as tf
        import tf_slim
        dist = tf.contrib.distributions.Normal(0.0, 1.0)
        hp = tf.contrib.training.HParams(lr=0.1)
        net = tf_slim.fully_connected(x, 3)
        """, [(2, "contrib_symbol", "tensorflow_probability"), (3, "contrib_symbol", "dict or dataclass")]),
    ("compat-contrib-unknown-and-bare-reported", "compat", """
        import tensorflow as tf
        from tensorflow import contrib
        from tensorflow.contrib.foo import bar
        import tensorflow.contrib.slim
        x = contrib.layers.l2_regularizer(0.1)
        y = tensorflow.contrib.slim.conv2d
        z = tf.contrib.layers.python.layers.utils.collect_named_outputs
        """, """
        import tensorflow.compat.v1 as tf
        from tensorflow import contrib
        from tensorflow.contrib.foo import bar
        import tensorflow
        import compat_reg
        import tf_slim
        x = compat_reg.l2_regularizer(0.1)
        y = tf_slim.conv2d
        z = tf.contrib.layers.python.layers.utils.collect_named_outputs
        """, [(2, "contrib_import", "one by one"), (3, "contrib_import", "contrib.foo has no known successor"),
              (7, "contrib_symbol", "write `from tf_slim.layers import utils`")]),
    ("compat-tf-layers-to-compat_reg-layers", "compat", """
        import tensorflow as tf
        h = tf.layers.dense(x, 10, kernel_regularizer=reg)
        h = tf.compat.v1.layers.dropout(h, 0.5, training=True)
        layers = tf.layers
        """, """
        import tensorflow.compat.v1 as tf
        import compat_reg.layers
        h = compat_reg.layers.dense(x, 10, kernel_regularizer=reg)
        h = compat_reg.layers.dropout(h, 0.5, training=True)
        layers = compat_reg.layers
        """, []),
    ("compat-entry-point-gets-disable-v2-behavior", "compat", """
        import tensorflow as tf

        x = tf.placeholder(tf.float32, [None, 3])
        with tf.Session() as sess:
            pass
        """, """
        import tensorflow.compat.v1 as tf
        tf.disable_v2_behavior()

        x = tf.placeholder(tf.float32, [None, 3])
        with tf.Session() as sess:
            pass
        """, []),
    ("compat-entry-point-with-from-imports-imports-compat-v1", "compat", """
        from tensorflow import placeholder, Session, float32

        if __name__ == "__main__":
            x = placeholder(float32, [None, 3])
        """, """
        from tensorflow.compat.v1 import placeholder, Session, float32
        import tensorflow.compat.v1 as tf
        tf.disable_v2_behavior()

        if __name__ == "__main__":
            x = placeholder(float32, [None, 3])
        """, []),
    ("compat-commented-tensorflow-import-reported", "compat", """
        from tensorflow import (placeholder,  # inputs
                                Session)
        x = placeholder("float", [None])
        """, """
        from tensorflow import (placeholder,  # inputs
                                Session)
        x = placeholder("float", [None])
        """, [(1, "tf1_api", "move the comment out")]),
    ("compat-library-module-gets-no-disable-v2-behavior", "compat", """
        import tensorflow as tf

        def inputs():
            return tf.placeholder(tf.float32, [None, 3])
        """, """
        import tensorflow.compat.v1 as tf

        def inputs():
            return tf.placeholder(tf.float32, [None, 3])
        """, []),
    ("compat-local-alias-of-no_regularizer-is-one-site", "compat", """
        from tensorflow import no_regularizer, get_variable
        import tf_slim as slim

        def block(x, reg=None):
            if reg is None:
                reg = no_regularizer
            w = get_variable("w", [2], regularizer=reg)
            return slim.conv2d(x, 3, [3, 3], weights_regularizer=no_regularizer)
        """, """
        from tensorflow.compat.v1 import no_regularizer, get_variable
        import tf_slim as slim

        def block(x, reg=None):
            if reg is None:
                reg = no_regularizer
            w = get_variable("w", [2], regularizer=reg)
            return slim.conv2d(x, 3, [3, 3], weights_regularizer=no_regularizer)
        """, []),
    ("compat-keras-only-idioms-reported", "compat", """
        def port(model, tf):
            model.add_loss(lambda: 0.1)
            return model.total_loss - sum(model.losses)
        """, """
        def port(model, tf):
            model.add_loss(lambda: 0.1)
            return model.total_loss - sum(model.losses)
        """, [(2, "callable_add_loss", "tf_keras only"), (3, "total_minus_losses", "tf_keras only")]),
]


@pytest.mark.parametrize("target,before,after,reports", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_before_after(target, before, after, reports):
    result = migrate_source(_src(before), "example.py", target)
    assert result.new_text == _src(after)
    got = [(f.site.line, f.site.kind, f.reason) for f in result.findings if f.action == "report"]
    assert [(line, kind) for line, kind, _ in got] == [(line, kind) for line, kind, _ in reports], got
    for (_, _, reason), (_, _, expected) in zip(got, reports):
        assert expected in reason


@pytest.mark.parametrize("target,before", [c[1:3] for c in CASES], ids=[c[0] for c in CASES])
def test_a_second_run_is_a_no_op(target, before):
    once = migrate_source(_src(before), "x.py", target).new_text
    assert migrate_source(once, "x.py", target).new_text == once


def test_one_span_is_one_site_and_the_local_alias_is_no_site():
    result = migrate_source(_src(CASES[[c[0] for c in CASES].index(
        "compat-local-alias-of-no_regularizer-is-one-site")][2]), "x.py", "compat")
    sites = sorted((f.site.line, f.site.kind) for f in result.findings if f.site.kind != "tf1_api")
    assert sites == [(6, "no_regularizer"), (7, "variable_regularizer"), (8, "no_regularizer")]


def test_tf_bound_to_compat_v1_gets_a_full_tensorflow_import():
    before = _src("""
        import tensorflow.compat.v1 as tf
        import tf_slim as slim
        reg = slim.l2_regularizer(0.1)
        """)
    after = _src("""
        import tensorflow.compat.v1 as tf
        import tf_slim as slim
        import tensorflow
        reg = tensorflow.keras.regularizers.L2(0.05)
        """)
    assert migrate_source(before, "x.py", "keras").new_text == after


def test_name_clash_on_tf_is_reported_not_guessed():
    before = _src("""
        from tf_slim import l2_regularizer
        tf = "not tensorflow"
        tensorflow = None
        reg = l2_regularizer(0.1)
        """)
    result = migrate_source(before, "x.py", "keras")
    assert result.new_text == before
    [finding] = [f for f in result.findings if f.action == "report"]
    assert "the names `tf` and `tensorflow` are taken in this file, so `import tensorflow` cannot be added" \
        in finding.reason


def test_crlf_and_non_ascii_columns_are_preserved():
    before = "import tf_slim as s\r\nnom = 'é'; reg = s.l2_regularizer(0.5)\r\n"
    result = migrate_source(before, "x.py", "keras")
    assert result.new_text == ("import tf_slim as s\r\nimport tensorflow as tf\r\n"
                               "nom = 'é'; reg = tf.keras.regularizers.L2(0.25)\r\n")


def test_unknown_target_error_names_the_argument():
    with pytest.raises(ValueError, match=r"Invalid value for argument `target`. Expected one of "
                                         r"\('keras', 'compat'\). Received: target='jax'"):
        migrate_source("x = 1\n", "x.py", "jax")


def test_unparseable_source_raises_syntax_error():
    with pytest.raises(SyntaxError):
        migrate_source("def f(:\n", "bad.py", "keras")


def test_tf1_only_names_are_absent_from_tf2_and_present_in_compat_v1():
    import tensorflow as tf

    from migration.codemods.to_compat import TF1_ONLY
    for module, names in TF1_ONLY.items():
        rest = module.split(".")[1:]
        tf2, v1 = tf, tf.compat.v1
        for part in rest:
            tf2, v1 = getattr(tf2, part), getattr(v1, part)
        assert [n for n in names if hasattr(tf2, n)] == [], module
        assert [n for n in names if not hasattr(v1, n)] == [], module


def test_tf2_code_keeps_its_tensorflow_import():
    before = _src("""
        import tensorflow as tf

        @tf.function
        def step(model, x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(model(x)) + tf.add_n(model.losses)
            return tape.gradient(loss, model.trainable_variables)
        """)
    result = migrate_source(before, "x.py", "compat")
    assert result.new_text == before and result.findings == []
