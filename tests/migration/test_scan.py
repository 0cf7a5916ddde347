"""``scan``: sites found by qualified name through imports, and nothing found by text alone.

Expected sites are written by hand (line, kind) or computed independently of the
scanner (a regular expression over tf_slim's sources), never by the scanner.
"""

import importlib.util
import os
import re
import textwrap

import pytest

from migration.codemods import rules
from migration.codemods.scan import scan_paths, scan_source

HERE = os.path.dirname(__file__)
ALL_IDIOMS = os.path.join(HERE, "fixtures_codemods", "tf1_all_idioms.py")
TF_SLIM_DIR = os.path.dirname(importlib.util.find_spec("tf_slim").origin)
NETS_DIR = os.path.join(TF_SLIM_DIR, "nets")


def _src(text):
    return textwrap.dedent(text).lstrip("\n")


def _kinds(text, path="example.py"):
    return [(s.line, s.kind) for s in scan_source(_src(text), path)]


# The fixture's sites, read off the file by hand: (line, kind).
ALL_IDIOMS_SITES = [
    (13, "tf1_regularizer"), (14, "tf1_regularizer"), (15, "tf1_regularizer"), (16, "tf1_regularizer"),
    (17, "tf1_regularizer"), (17, "tf1_regularizer"), (17, "tf1_regularizer"), (18, "keras_regularizer"),
    (19, "tf1_regularizer"), (20, "variable_regularizer"), (21, "no_regularizer"),
    (21, "variable_regularizer"), (22, "regularizer_argument"), (22, "regularizer_argument"),
    (24, "keras_regularizer"), (25, "apply_regularization"), (27, "manual_l2_penalty"),
    (28, "collection_read"), (29, "collection_write"), (30, "regularization_loss"), (31, "total_loss"),
    (35, "callable_add_loss"), (36, "total_minus_losses"), (46, "collection_read"), (46, "collection_key"),
    (49, "regularizer_reference"),
]


def test_every_idiom_of_the_fixture_is_found_and_nothing_else():
    result = scan_paths([ALL_IDIOMS])
    assert sorted((s.line, s.kind) for s in result.sites) == sorted(ALL_IDIOMS_SITES)
    assert set(rules.KINDS) == {k for _, k in ALL_IDIOMS_SITES}  # the fixture covers every kind


# (id, source, expected (kind, canonical name, origin)) — one site each.
ALIAS_FORMS = [
    ("slim-nets-module", "from tf_slim.layers import regularizers\nregularizers.l2_regularizer(wd)\n",
     ("tf1_regularizer", "l2_regularizer", "slim")),
    ("import-as", "import tf_slim as s\ns.l2_regularizer(wd)\n", ("tf1_regularizer", "l2_regularizer", "slim")),
    ("from-import-as", "from tf_slim import l2_regularizer as r\nr(wd)\n",
     ("tf1_regularizer", "l2_regularizer", "slim")),
    ("contrib-attribute", "import tensorflow as tf\ntf.contrib.layers.l1_regularizer(0.1)\n",
     ("tf1_regularizer", "l1_regularizer", "contrib")),
    ("contrib-alias-assignment", "import tensorflow as tf\nslim = tf.contrib.slim\nslim.sum_regularizer([])\n",
     ("tf1_regularizer", "sum_regularizer", "contrib")),
    ("contrib-module-import", "import tensorflow.contrib.slim as slim\nslim.l1_l2_regularizer(0.1, 0.2)\n",
     ("tf1_regularizer", "l1_l2_regularizer", "contrib")),
    ("contrib-deep-module", "from tensorflow.contrib.layers.python.layers import regularizers as R\n"
                            "R.apply_regularization(r, ws)\n", ("apply_regularization", "apply_regularization",
                                                               "contrib")),
    ("compat-v1-losses", "import tensorflow.compat.v1 as tf\ntf.losses.get_regularization_losses()\n",
     ("regularization_loss", "get_regularization_losses", "v1")),
    ("tf1-losses", "import tensorflow as tf\ntf.losses.get_regularization_loss()\n",
     ("regularization_loss", "get_regularization_loss", "tf1")),
    ("compat-v1-get-variable", "import tensorflow as tf\ntf.compat.v1.get_variable('w', regularizer=r)\n",
     ("variable_regularizer", "get_variable", "v1")),
    ("positional-regularizer", "import tensorflow as tf\ntf.get_variable('w', [2], None, None, reg)\n",
     ("variable_regularizer", "get_variable", "tf1")),
    ("compat_reg", "import compat_reg\ncompat_reg.l2_regularizer(0.1)\n", ("tf1_regularizer", "l2_regularizer",
                                                                         "compat_reg")),
    ("star-import", "from tf_slim import *\nl2_regularizer(0.1)\n", ("tf1_regularizer", "l2_regularizer", "slim")),
    ("keras-standalone", "from keras import regularizers\nregularizers.L2(0.1)\n",
     ("keras_regularizer", "keras.L2", "keras")),
    ("tf-keras", "import tensorflow as tf\ntf.keras.regularizers.l1_l2(0.1, 0.2)\n",
     ("keras_regularizer", "keras.l1_l2", "tf_keras")),
    ("string-key", "import tensorflow as tf\ntf.get_collection('regularization_losses')\n",
     ("collection_read", "get_collection", "tf1")),
    ("graph-method-with-key", "import tensorflow as tf\ng.get_collection_ref(tf.GraphKeys.REGULARIZATION_LOSSES)\n",
     ("collection_read", "get_collection_ref", "structural")),
    ("internal-ops-key", "from tensorflow.python.framework import ops\n"
                         "ops.add_to_collections([ops.GraphKeys.REGULARIZATION_LOSSES], x)\n",
     ("collection_write", "add_to_collections", "v1")),
    ("key-elsewhere", "import tensorflow as tf\nf(loss_collection=tf.GraphKeys.REGULARIZATION_LOSSES)\n",
     ("collection_key", "REGULARIZATION_LOSSES", "tf1")),
    ("manual-penalty-over-list", "import tensorflow as tf\n"
                                 "wd * tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()])\n",
     ("manual_l2_penalty", "l2_loss", "tf2")),
    ("try-except-import", "try:\n    import tensorflow.contrib.slim as slim\nexcept ImportError:\n"
                          "    slim = None\nslim.l2_regularizer(0.1)\n", ("tf1_regularizer", "l2_regularizer",
                                                                         "contrib")),
    ("global-declared", "def setup():\n    global slim\n    import tf_slim as slim\n"
                        "def use():\n    return slim.l1_regularizer(0.1)\n",
     ("tf1_regularizer", "l1_regularizer", "slim")),
    ("relative-import-free", "import tensorflow as tf\nwith tf.variable_scope('s', regularizer=r):\n"
                             "    w = tf.get_variable('w', [2])\n", ("variable_regularizer", "variable_scope", "tf1")),
]


@pytest.mark.parametrize("source,expected", [c[1:] for c in ALIAS_FORMS], ids=[c[0] for c in ALIAS_FORMS])
def test_alias_forms_resolve_to_the_qualified_name(source, expected):
    sites = scan_source(source, "example.py")
    assert (sites[0].kind, sites[0].name, sites[0].origin) == expected
    if expected[2] != "structural" and sites[0].kind not in ("regularizer_argument",):
        assert sites[0].qualified_name in rules.SYMBOLS


def test_get_variable_inside_a_regularized_scope_inherits_it():
    sites = scan_source(ALIAS_FORMS[-1][1], "example.py")
    assert [(s.line, s.kind, s.name) for s in sites] == [
        (2, "variable_regularizer", "variable_scope"), (3, "variable_regularizer", "get_variable")]
    assert sites[1].suggestion.startswith("inherits the regularizer of the enclosing variable_scope")


# (id, source): nothing here is a regularization site, although the text says so.
NOT_SITES = [
    ("parameter-shadows-import", """
        from tf_slim.layers import regularizers
        def f(regularizers):
            return regularizers.l2_regularizer(0.1)
        """),
    ("local-function-of-same-name", """
        def l2_regularizer(scale):
            return scale
        l2_regularizer(0.1)
        """),
    ("class-attribute-not-visible-in-method", """
        class C:
            import tf_slim as slim
            def m(self):
                return slim.l2_regularizer(0.1)
        """),
    ("comprehension-variable-shadows", """
        import tf_slim as s
        regs = [s.l2_regularizer for s in objects]
        """),
    ("strings-and-comments", """
        # tf.contrib.layers.l2_regularizer(0.1)
        doc = "tf.contrib.layers.l2_regularizer(0.1) and REGULARIZATION_LOSSES"
        """),
    ("unimported-tf-name", """
        tf.contrib.layers.l2_regularizer(0.1)
        """),
    ("other-module-same-attribute", """
        import mylib
        mylib.layers.l2_regularizer(0.1)
        mylib.get_collection(mylib.REGULARIZATION_LOSSES)
        """),
    ("add-loss-with-tensor-and-module-function", """
        import tensorflow as tf
        model.add_loss(penalty)
        tf.compat.v1.losses.add_loss(lambda: 0)
        """),
    ("explicit-none-regularizers", """
        import tensorflow as tf
        tf.keras.layers.Dense(3, kernel_regularizer=None)
        tf.compat.v1.get_variable('w', [2], regularizer=None)
        """),
]


@pytest.mark.parametrize("source", [c[1] for c in NOT_SITES], ids=[c[0] for c in NOT_SITES])
def test_text_alone_is_never_a_site(source):
    assert _kinds(source) == []


def test_lines_and_columns_are_one_based_characters():
    [site] = scan_source("import tf_slim as s\nx = 'é'; r = s.l2_regularizer(0.1)\n", "x.py")
    assert (site.line, site.col, site.end_line, site.end_col) == (2, 14, 2, 35)
    assert site.code == "s.l2_regularizer(0.1)"


def test_json_record_has_the_documented_fields():
    [site] = scan_source("import tf_slim as s\ns.l2_regularizer(0.1)\n", "x.py")
    record = site.to_json()
    assert {"path", "line", "col", "kind", "code", "suggestion"} <= set(record)
    assert record["suggestion"] == "Keras: L2(scale / 2)  (TF1's L2 is scale * sum(w**2) / 2)"


def test_unparseable_file_is_reported_and_the_rest_scanned(tmp_path):
    (tmp_path / "bad.py").write_text("import tf_slim as s\nx = a[1:2:3:4]\ns.l2_regularizer(\n")
    (tmp_path / "good.py").write_text("import tf_slim as s\ns.l2_regularizer(0.1)\n")
    result = scan_paths([str(tmp_path)])
    assert [(os.path.basename(s.path), s.line) for s in result.sites] == [("good.py", 2)]
    [error] = result.errors
    assert error.path.endswith("bad.py") and "cannot parse" in error.message


def test_relative_imports_resolve_against_the_package(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text("from . import regs\nfrom .regs import l2_regularizer\nl2_regularizer(0.1)\n")
    # pkg.regs.l2_regularizer is not a known name: nothing is matched by its text.
    assert scan_paths([str(package)]).sites == []


# --- done-when: tf_slim.nets ---------------------------------------------------------

NETS_CALL = re.compile(r"regularizers\.l2_regularizer\(weight_decay\)")


def _expected_nets_sites():
    """Every ``regularizers.l2_regularizer(weight_decay)`` in tf_slim/nets/*.py, by regex."""
    expected = set()
    for name in sorted(os.listdir(NETS_DIR)):
        if name.endswith(".py"):
            with open(os.path.join(NETS_DIR, name), encoding="utf-8") as handle:
                for lineno, line in enumerate(handle, 1):
                    for match in NETS_CALL.finditer(line):
                        expected.add((name, lineno, match.start() + 1))
    return expected


def test_scan_finds_every_l2_regularizer_weight_decay_in_tf_slim_nets():
    expected = _expected_nets_sites()
    assert len(expected) >= 7  # alexnet, inception_v1/2/3, overfeat, resnet_utils, vgg
    found = {(os.path.basename(s.path), s.line, s.col) for s in scan_paths([NETS_DIR]).sites
             if s.kind == "tf1_regularizer" and s.code == "regularizers.l2_regularizer(weight_decay)"}
    assert found == expected


def test_tf_upgrade_v2_misses_the_nets_form(tmp_path):
    """The baseline: tf_upgrade_v2 leaves vgg.py's regularizer unchanged and reports nothing.

    The upgrader ``tf_upgrade_v2_main --infile/--outfile`` builds (default mode, no import
    rename), run in this process: its report's summary is the list of errors returned here.
    """
    from tensorflow.tools.compatibility import ast_edits, tf_upgrade_v2

    out = tmp_path / "vgg_out.py"
    upgrader = ast_edits.ASTCodeUpgrader(tf_upgrade_v2.TFAPIChangeSpec(import_rename=False))
    files, report, errors = upgrader.process_file(os.path.join(NETS_DIR, "vgg.py"), str(out))
    assert files == 1 and report  # it ran and wrote its detailed log
    assert "weights_regularizer=regularizers.l2_regularizer(weight_decay)" in out.read_text()
    assert "regulariz" not in "\n".join(errors).lower()
    assert [s.line for s in scan_paths([os.path.join(NETS_DIR, "vgg.py")]).sites] == [74]


def test_prefilter_is_sound_on_the_whole_tf_slim_tree():
    """Skipping files without any PREFILTER_TOKENS changes no result."""
    with_filter = scan_paths([TF_SLIM_DIR])
    without = scan_paths([TF_SLIM_DIR], prefilter=False)
    key = lambda s: (s.path, s.line, s.col, s.kind)  # noqa: E731
    assert sorted(map(key, with_filter.sites)) == sorted(map(key, without.sites))
    assert with_filter.errors == without.errors == []
    assert len(with_filter.sites) > 100
