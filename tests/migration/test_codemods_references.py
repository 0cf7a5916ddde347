"""scan sees what real code writes: factories passed as values, names bound in other modules of the tree.

Issue 8 item 2. A TF1 regularizer factory referenced without a call (a config value,
``functools.partial``'s argument) is a ``regularizer_reference`` site; a package's
``compat.py`` that binds ``tfv1 = tf.compat.v1`` makes ``from ..compat import tfv1``
elsewhere resolve to ``tensorflow.compat.v1``; a local variable is never an imported
TF1 name; one source span is one site.
"""

import textwrap

import pytest

from migration.codemods.scan import scan_paths, scan_source


def _src(text):
    return textwrap.dedent(text).lstrip("\n")


REFERENCE_CASES = [
    ("config-dict-contrib", """
        import tensorflow as tf
        CONFIG = {"regularizer": tf.contrib.layers.l2_regularizer, "regularizer_params": {"scale": 1e-4}}
        """, [(2, "regularizer_reference", "l2_regularizer", "contrib")]),
    ("partial-of-imported-name", """
        import functools
        from tf_slim import l1_regularizer
        make = functools.partial(l1_regularizer, scale=0.1)
        """, [(3, "regularizer_reference", "l1_regularizer", "slim")]),
    ("factory-as-default-argument", """
        import tf_slim as slim
        def block(x, regularizer_fn=slim.l2_regularizer):
            return regularizer_fn(0.1)
        """, [(2, "regularizer_reference", "l2_regularizer", "slim")]),
    ("alias-assignment-is-not-a-reference-its-call-is-the-site", """
        import tf_slim as slim
        r = slim.l2_regularizer
        reg = r(0.1)
        """, [(3, "tf1_regularizer", "l2_regularizer", "slim")]),
    ("no_regularizer-keyword-is-one-site", """
        import tensorflow as tf
        import tf_slim as slim
        net = slim.conv2d(x, 3, [3, 3], weights_regularizer=tf.no_regularizer)
        """, [(3, "no_regularizer", "no_regularizer", "tf1")]),
    ("factory-keyword-is-one-site", """
        import tf_slim as slim
        net = slim.conv2d(x, 3, [3, 3], weights_regularizer=slim.l2_regularizer)
        """, [(2, "regularizer_reference", "l2_regularizer", "slim")]),
    ("local-alias-of-no_regularizer-is-no-site", """
        import tensorflow as tf
        def f(reg=None):
            reg = tf.no_regularizer
            return g(reg)
        """, [(3, "no_regularizer", "no_regularizer", "tf1")]),
    ("parameter-named-like-the-factory-is-no-site", """
        from tf_slim import l2_regularizer
        def f(l2_regularizer):
            return [l2_regularizer]
        """, []),
]


@pytest.mark.parametrize("source,expected", [c[1:] for c in REFERENCE_CASES], ids=[c[0] for c in REFERENCE_CASES])
def test_references_and_spans(source, expected):
    sites = scan_source(_src(source), "example.py", package="")
    assert [(s.line, s.kind, s.name, s.origin) for s in sites] == expected
    spans = [(s.line, s.col, s.end_line, s.end_col) for s in sites]
    assert len(spans) == len(set(spans))


def test_reference_suggests_converting_the_scale():
    [site] = scan_source(_src(REFERENCE_CASES[0][1]), "example.py", package="")
    assert "L2(s / 2)" in site.suggestion


def _tree(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_src(text))
    return tmp_path


CROSS_MODULE = {
    "pkg/__init__.py": "",
    "pkg/compat.py": """
        import tensorflow as tf
        tfv1 = tf.compat.v1
        slim = tf.contrib.slim
        """,
    "pkg/reexport.py": "from .compat import tfv1 as v1\n",
    "pkg/models/__init__.py": "",
    "pkg/models/net.py": """
        from ..compat import tfv1, slim
        from ..reexport import v1
        from pkg import compat

        def losses():
            reg = slim.l2_regularizer(0.1)
            a = tfv1.get_collection(tfv1.GraphKeys.REGULARIZATION_LOSSES)
            b = v1.losses.get_regularization_loss()
            return compat.tfv1.get_variable("w", [2], regularizer=reg), a, b
        """,
}


def test_aliases_defined_in_another_module_of_the_tree_resolve(tmp_path):
    root = _tree(tmp_path, CROSS_MODULE)
    result = scan_paths([str(root)])
    got = [(s.path.rsplit("/", 1)[1], s.line, s.kind, s.qualified_name) for s in result.sites]
    assert got == [
        ("net.py", 6, "tf1_regularizer", "tensorflow.contrib.slim.l2_regularizer"),
        ("net.py", 7, "collection_read", "tensorflow.compat.v1.get_collection"),
        ("net.py", 8, "regularization_loss", "tensorflow.compat.v1.losses.get_regularization_loss"),
        ("net.py", 9, "variable_regularizer", "tensorflow.compat.v1.get_variable"),
    ]


def test_without_the_tree_the_same_file_has_no_site(tmp_path):
    root = _tree(tmp_path, CROSS_MODULE)
    result = scan_paths([str(root / "pkg" / "models" / "net.py")])
    assert result.sites == []
