"""Acceptance of ``migrate --to compat`` (issue 8 item 3): TF1 trees build on TF 2.21 after one command.

Each tree of ``fixture_trees/`` (and tf_slim's own ``nets/`` restored to their
contrib-era imports) is copied to a temporary directory, ``git init``-ed and
committed, and migrated with ``compat-reg migrate --to compat --write .`` run from the
copy (``migration.cli.main`` in this process: the console script's own process is
tested in test_cli_check.py and test_cli_scan_migrate.py). One fresh interpreter then
imports the migrated code and the same code written by hand for tf_slim / compat_reg /
tf.compat.v1, builds each in its own ``tf.Graph``, and reports REGULARIZATION_LOSSES:
their names, their values, and the NumPy value of each expected penalty computed from
the variables' values (``scale * sum(w**2) / 2`` for TF1's L2, ``scale * sum|w|`` for
L1). The test checks count and names against the hand-written build and values against
NumPy at rtol 1e-6. That interpreter is a child of its own because one migrated entry
point runs ``tf.disable_v2_behavior()`` at import; the Keras check (the migrated code in
a ``TF1Layer``) runs in this process, under the flavor the suite runs with.
"""

import contextlib
import importlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from benchmarks.bench_migrate_vs_tf_upgrade_v2 import contrib_era_nets
from migration.cli import main
from tests.helpers import RTOL_F32
from tests.helpers import np_l1
from tests.helpers import np_l2_tf1

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TREES = os.path.join(HERE, "fixture_trees")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)


def _src(text):
    return textwrap.dedent(text).lstrip("\n")


# --- the same code, written by hand for tf_slim / compat_reg / tf.compat.v1 --------------

BY_HAND = {
    "hand_slim_net": """
        import tensorflow.compat.v1 as tf
        import tf_slim as slim
        import compat_reg

        def facenet_arg_scope(weight_decay=4e-5):
            with slim.arg_scope([slim.conv2d, slim.fully_connected],
                                weights_initializer=slim.xavier_initializer(),
                                weights_regularizer=slim.l2_regularizer(weight_decay),
                                biases_regularizer=compat_reg.l1_regularizer(weight_decay / 4)):
                with slim.arg_scope([slim.max_pool2d], padding="SAME") as sc:
                    return sc

        def facenet(images, bottleneck=4, scope="FaceNet"):
            with tf.variable_scope(scope, "FaceNet", [images]):
                net = slim.conv2d(images, 4, [3, 3], scope="conv1")
                net = slim.max_pool2d(net, [2, 2], scope="pool1")
                net = slim.conv2d(net, 6, [3, 3], scope="conv2")
                net = slim.flatten(net)
                net = slim.fully_connected(net, bottleneck, activation_fn=None, scope="bottleneck",
                                           weights_regularizer=slim.l2_regularizer(1e-3))
            return tf.nn.l2_normalize(net, 1, 1e-10, name="embeddings")
        """,
    "hand_custom_layers": """
        import tensorflow.compat.v1 as tf
        import tf_slim as slim

        @slim.add_arg_scope
        def scaled_dense(inputs, units, weights_regularizer=None, scale=1.0, scope=None, outputs_collections=None):
            with tf.variable_scope(scope, "scaled_dense", [inputs]) as sc:
                depth = inputs.get_shape()[-1]
                weights = slim.model_variable("weights", shape=[depth, units],
                                              initializer=slim.xavier_initializer(), regularizer=weights_regularizer)
                biases = slim.model_variable("biases", shape=[units], initializer=tf.zeros_initializer())
                return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                                        scale * tf.matmul(inputs, weights) + biases)

        def build(inputs, weight_decay=1e-3):
            with slim.arg_scope([scaled_dense], weights_regularizer=slim.l2_regularizer(weight_decay)):
                return scaled_dense(scaled_dense(inputs, 6, scope="fc1"), 3, scale=0.5, scope="fc2")
        """,
    "hand_train": """
        import tensorflow.compat.v1 as tf
        import compat_reg.layers as layers

        def build():
            x = tf.placeholder(tf.float32, [None, 5], name="x")
            y = tf.placeholder(tf.int64, [None], name="y")
            is_training = tf.placeholder_with_default(False, [], name="is_training")
            h = layers.dense(x, 8, activation=tf.nn.relu, name="fc1")
            h = layers.batch_normalization(h, training=is_training, name="bn1")
            h = layers.dropout(h, rate=0.5, training=is_training)
            logits = layers.dense(h, 2, name="logits")
            data_loss = tf.losses.sparse_softmax_cross_entropy(y, logits)
            kernels = [v for v in tf.trainable_variables() if v.name.endswith("kernel:0")]
            wd = tf.multiply(1e-3, tf.add_n([tf.nn.l2_loss(k) for k in kernels]), name="weight_decay")
            tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, wd)
            total = data_loss + tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
            with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
                train_op = tf.train.MomentumOptimizer(0.01, 0.9).minimize(total)
            return x, y, is_training, total, train_op
        """,
    "hand_config_module": """
        import tensorflow.compat.v1 as tf
        import compat_reg

        def build(inputs):
            with tf.variable_scope("encoder", regularizer=compat_reg.l2_regularizer(scale=1e-4)):
                w_enc = tf.get_variable("w", [3, 4])
            b_enc = tf.get_variable("b_enc", [4], regularizer=compat_reg.l2_regularizer(scale=3e-4))
            w_dec = tf.get_variable("w_dec", [4, 2], regularizer=compat_reg.l1_regularizer(scale=2e-4))
            return tf.matmul(tf.matmul(inputs, w_enc) + b_enc, w_dec)
        """,
    "hand_compat_pkg": """
        import tensorflow.compat.v1 as tf
        import tf_slim as slim
        import compat_reg.layers

        def block(inputs, weight_decay=5e-4):
            reg = slim.l2_regularizer(weight_decay)
            hidden = compat_reg.layers.dense(inputs, 4, kernel_regularizer=reg, name="hidden")
            with tf.variable_scope("head", regularizer=reg):
                w = tf.get_variable("w", [4, 2])
            return tf.matmul(hidden, w)

        def regularization_loss():
            return tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
        """,
}

# tree -> (migrated module, hand module, build snippet using `m`, expected penalties in collection order:
#          (variables, "l1" | "l2", scale)).
CASES = {
    "slim_net": ("nets.facenet", "hand_slim_net", """
        import tf_slim
        with tf_slim.arg_scope(m.facenet_arg_scope()):
            m.facenet(tf.zeros([2, 8, 8, 3]))
        """, [(["FaceNet/conv1/weights"], "l2", 4e-5), (["FaceNet/conv1/biases"], "l1", 1e-5),
              (["FaceNet/conv2/weights"], "l2", 4e-5), (["FaceNet/conv2/biases"], "l1", 1e-5),
              (["FaceNet/bottleneck/weights"], "l2", 1e-3), (["FaceNet/bottleneck/biases"], "l1", 1e-5)]),
    "custom_layers": ("ops.net", "hand_custom_layers", "m.build(tf.ones([2, 5]))",
                      [(["fc1/weights"], "l2", 1e-3), (["fc2/weights"], "l2", 1e-3)]),
    "config_module": ("seq2seq.model", "hand_config_module", "m.build(tf.ones([2, 3]))",
                      [(["encoder/w"], "l2", 1e-4), (["b_enc"], "l2", 3e-4), (["w_dec"], "l1", 2e-4)]),
    "compat_pkg": ("mypkg.models.block", "hand_compat_pkg", "m.block(tf.ones([2, 3])); m.regularization_loss()",
                   [(["hidden/kernel"], "l2", 5e-4), (["head/w"], "l2", 5e-4)]),
    # Last: its import runs tf.disable_v2_behavior() (an entry point), for the rest of the process.
    "train_script": ("train", "hand_train", "m.build()", [(["fc1/kernel", "logits/kernel"], "l2", 1e-3)]),
}

BUILDER = r'''
import importlib, json, sys
import numpy as np
import tensorflow.compat.v1 as tf
from tests.helpers import np_l1, np_l2_tf1  # float64, chunked: alexnet's 46M weights in ~0.1 s, not 4 s

def penalty(values, kind, scale):
    return float(sum((np_l1 if kind == "l1" else np_l2_tf1)(v, scale) for v in values))

out = {}
for job in json.loads(sys.argv[1]):
    graph = tf.Graph()
    with graph.as_default():
        m = importlib.import_module(job["module"])
        exec(job["snippet"], {"tf": tf, "m": m})
        losses = graph.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
        with tf.Session(graph=graph) as sess:
            sess.run(tf.global_variables_initializer())
            variables = {v.op.name: v for v in graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)}
            if "expected_suffix" in job:  # every variable named `*/<suffix>`, one penalty in all
                suffix, kind, scale = job["expected_suffix"]
                job["expected"] = [([n for n in variables if n.endswith("/" + suffix)], kind, scale)]
            expected = [penalty(sess.run([variables[n] for n in names]), kind, scale)
                        for names, kind, scale in job["expected"]]
            out[job["id"]] = {"names": [t.name for t in losses], "values": [float(v) for v in sess.run(losses)],
                              "numpy": expected, "variables": sorted(variables),
                              "expected_variables": [names for names, _, _ in job["expected"]]}
    if job.get("run_main"):
        with tf.Graph().as_default():
            m.main()
print("JSON" + json.dumps(out))
'''


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _migrate_in_place(cwd):
    """``compat-reg migrate --to compat --write .`` run from ``cwd`` (in this process): its stderr."""
    root = logging.getLogger()
    saved = root.level, list(root.handlers)  # main() installs its stderr handler; put the test's back
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["migrate", "--to", "compat", "--write", "."])
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
    assert code == 0, err.getvalue()
    return err.getvalue()


def _migrate_copy(src, dst):
    """Copy ``src``, commit it in a new git repository, migrate it in place; the two runs' stderr."""
    shutil.copytree(src, dst)
    _git(dst, "init", "-q")
    _git(dst, "add", ".")
    _git(dst, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "TF1 original")
    first = _migrate_in_place(dst)
    _git(dst, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "migrated")
    second = _migrate_in_place(dst)
    return first, second


def _build(jobs, paths):
    env = dict(ENV, PYTHONPATH=os.pathsep.join([*paths, REPO]))
    proc = subprocess.run([sys.executable, "-c", BUILDER, json.dumps(jobs)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.split("JSON", 1)[1]), proc.stdout


# The same migrated code as a Keras layer (TF1Layer), on both Keras flavors: tree -> (fn, input shape).
BRIDGED = {
    "slim_net": ("""
        import tf_slim
        def fn(x):
            with tf_slim.arg_scope(m.facenet_arg_scope()):
                return m.facenet(x)
        """, [2, 8, 8, 3]),
    "custom_layers": ("def fn(x):\n    return m.build(x)\n", [2, 5]),
    "config_module": ("def fn(x):\n    return m.build(x)\n", [2, 3]),
    "compat_pkg": ("def fn(x):\n    return m.block(x)\n", [2, 3]),
}


NET_BUILDS = {  # net: (snippet, variables regularized by the arg_scope's l2(weight_decay))
    "alexnet": ("""
        import tf_slim
        with tf_slim.arg_scope(m.alexnet_v2_arg_scope(weight_decay=0.0005)):
            m.alexnet_v2(tf.zeros([1, 224, 224, 3]), num_classes=3)
        """, "weights"),
    "resnet_v1": ("""
        import tf_slim
        blocks = [m.resnet_v1_block("block1", base_depth=2, num_units=1, stride=2)]
        with tf_slim.arg_scope(m.resnet_arg_scope(weight_decay=0.0001)):
            with tf_slim.arg_scope([tf_slim.conv2d], normalizer_fn=None):  # slim's batch_norm needs tf_keras
                m.resnet_v1(tf.zeros([1, 16, 16, 3]), blocks, num_classes=3, scope="tiny")
        """, "weights"),
}
NET_SCALES = {"alexnet": 0.0005, "resnet_v1": 0.0001}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """Every tree copied, committed and migrated twice; the by-hand modules written next to them.

    ``{"reports": {tree: (first stderr, second stderr)}, "paths": [tree roots], "hand_dir": ...,
    "era": (first, second) of tf_slim's nets restored to contrib-era imports, "era_dir": its copy}``.
    """
    root = tmp_path_factory.mktemp("trees")
    reports, paths = {}, []
    for tree in CASES:
        reports[tree] = _migrate_copy(os.path.join(TREES, tree), root / tree)
        paths.append(str(root / tree))
    hand_dir = root / "by_hand"
    hand_dir.mkdir()
    for name, text in BY_HAND.items():
        (hand_dir / f"{name}.py").write_text(_src(text))
    era = root / "era"
    contrib_era_nets(str(era / "nets_ce"))
    era_reports = _migrate_copy(str(era), root / "era_migrated")
    return {"reports": reports, "paths": paths, "hand_dir": str(hand_dir), "era": era_reports,
            "era_dir": root / "era_migrated"}


def _era_modules(migrated):
    """The modules of the contrib-era copy of tf_slim's nets (its ``.py`` files; a ``__pycache__`` is not one)."""
    names = os.listdir(migrated["era_dir"] / "nets_ce")
    return sorted(f[:-3] for f in names if f.endswith(".py") and f != "__init__.py")


@pytest.fixture(scope="module")
def built(migrated):
    """One child builds the migrated trees, the hand ports and the contrib-era nets: ``(results, stdout)``."""
    jobs = [{"id": f"import:{name}", "module": f"nets_ce.{name}", "snippet": "", "expected": []}
            for name in _era_modules(migrated)]
    for net, (snippet, suffix) in NET_BUILDS.items():
        for which, module in (("migrated", f"nets_ce.{net}"), ("tf_slim", f"tf_slim.nets.{net}")):
            jobs.append({"id": f"{net}:{which}", "module": module, "snippet": _src(snippet),
                         "expected_suffix": [suffix, "l2", NET_SCALES[net]]})
    for tree, (module, hand, snippet, expected) in CASES.items():  # train_script last (see CASES)
        for which, name in (("migrated", module), ("by_hand", hand)):
            jobs.append({"id": f"{tree}:{which}", "module": name, "snippet": _src(snippet), "expected": expected,
                         "run_main": tree == "train_script" and which == "migrated"})
    return _build(jobs, [*migrated["paths"], migrated["hand_dir"], str(migrated["era_dir"])])


@pytest.mark.parametrize("tree", list(CASES))
def test_migrated_tree_builds_with_the_losses_of_the_hand_port(migrated, built, tree):
    results, _ = built
    first, second = migrated["reports"][tree]
    assert "left unchanged and reported" in first and " 0 left unchanged and reported" in first, first
    assert "0 file(s) changed" in second, second  # a second run is a no-op
    ported, by_hand = results[f"{tree}:migrated"], results[f"{tree}:by_hand"]
    assert ported["names"] == by_hand["names"]
    assert len(ported["names"]) == sum(1 for _ in CASES[tree][3])
    for got in (ported, by_hand):
        np.testing.assert_allclose(got["values"], got["numpy"], rtol=RTOL_F32)
        assert sum(got["values"]) > 0  # (zero-initialized biases give zero L1 terms)


def test_the_migrated_entry_point_trains(built):
    _, stdout = built
    steps = [line.split() for line in stdout.splitlines() if line[:2] in ("0 ", "1 ", "2 ")]
    assert [s[0] for s in steps] == ["0", "1", "2"] and all(np.isfinite(float(s[1])) for s in steps)


@pytest.fixture
def migrated_module(migrated, monkeypatch):
    """``import(tree, module)``: the migrated module, imported in this process from its tree's copy.

    The tree's top-level package leaves ``sys.modules`` (and its root ``sys.path``) after the test.
    """
    tops = []

    def load(tree, module):
        path = migrated["paths"][list(CASES).index(tree)]
        top = module.split(".")[0]
        assert top not in sys.modules, f"a module {top!r} is imported already; the tree's would not be"
        tops.append(top)
        monkeypatch.syspath_prepend(path)
        importlib.invalidate_caches()
        m = importlib.import_module(module)
        assert m.__file__.startswith(path + os.sep), (m.__file__, path)
        return m

    yield load
    for name in [n for n in sys.modules if n.split(".")[0] in tops]:
        del sys.modules[name]


def _penalty(values, kind, scale):
    return float(sum((np_l1 if kind == "l1" else np_l2_tf1)(v, scale) for v in values))


@pytest.mark.keras
@pytest.mark.parametrize("tree", list(BRIDGED))
def test_migrated_trees_run_inside_tf1layer_with_the_same_losses(migrated_module, tree):
    """The migrated code as a Keras layer, under the flavor this run uses (`make test` runs both)."""
    import tensorflow as tf

    from compat_reg.keras import TF1Layer

    fn, shape = BRIDGED[tree]
    module, _, _, expected = CASES[tree]
    namespace = {"tf": tf, "m": migrated_module(tree, module)}
    exec(_src(fn), namespace)
    layer = TF1Layer(namespace["fn"], name=tree)
    layer(tf.ones(shape))
    variables = {name: np.asarray(v) for name, v in layer.tf1_variables.items()}
    losses = float(sum(np.asarray(loss, np.float64) for loss in layer.losses))
    want = sum(_penalty([variables[n] for n in names], kind, scale) for names, kind, scale in expected)
    assert want > 0
    np.testing.assert_allclose(losses, want, rtol=RTOL_F32, err_msg=tree)


# --- tf_slim's own nets, restored to contrib-era imports and migrated back ------------------


def test_contrib_era_nets_migrate_back_and_build_with_the_same_losses(migrated, built):
    first, second = migrated["era"]
    assert " 0 left unchanged and reported" in first and "0 file(s) changed" in second, (first, second)
    results, _ = built
    # Every migrated module imports; two nets are built next to the installed tf_slim originals.
    assert {f"import:{name}" for name in _era_modules(migrated)} <= set(results)
    assert len(_era_modules(migrated)) > 5
    for net in NET_BUILDS:
        ported, original = results[f"{net}:migrated"], results[f"{net}:tf_slim"]
        assert ported["names"] == original["names"] and len(ported["names"]) > 3
        assert ported["variables"] == original["variables"]
        # TF1 names the loss ops after the layer's kernel, not the variable: the count per `weights`
        # variable and the sum against NumPy.
        for got in (ported, original):
            assert len(got["expected_variables"][0]) == len(got["names"])
            np.testing.assert_allclose(np.sum(np.float64(got["values"])), got["numpy"][0], rtol=RTOL_F32)
