"""tf_slim's own ``layers/regularizers_test.py``, unchanged, run against compat_reg's functions (issue 9 item 6).

The installed test module is imported as it is and its module-global ``regularizers`` (the
``tf_slim.layers.regularizers`` it tests) is replaced by a namespace of compat_reg's functions; its
``TestCase`` then runs through ``unittest``. It runs in a child process because its ``setUpModule``
calls ``tf.disable_eager_execution()``, which would switch the rest of this pytest process to graph
mode. Every compat_reg function is wrapped to count its calls, so the run proves it exercised ours.
"""

import json
import os
import subprocess
import sys
import textwrap

import tf_slim.layers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEER = os.path.join(os.path.dirname(tf_slim.layers.__file__), "regularizers_test.py")
SWAPPED = ("l1_regularizer", "l2_regularizer", "l1_l2_regularizer", "sum_regularizer", "apply_regularization")

RUNNER = textwrap.dedent(
    """
    import collections, importlib.util, json, sys, types, unittest
    import compat_reg

    spec = importlib.util.spec_from_file_location("tf_slim_regularizers_test", sys.argv[1])
    peer = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = peer  # unittest finds setUpModule through sys.modules
    spec.loader.exec_module(peer)
    calls = collections.Counter()

    def counted(name):
        fn = getattr(compat_reg, name)
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    peer.regularizers = types.SimpleNamespace(**{name: counted(name) for name in sys.argv[2].split(",")})
    suite = unittest.defaultTestLoader.loadTestsFromModule(peer)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    print(json.dumps({
        "run": result.testsRun, "expected": suite.countTestCases(),
        "failures": [str(t) + ": " + tb for t, tb in result.failures],
        "errors": [str(t) + ": " + tb for t, tb in result.errors],
        "skipped": [str(t) for t, _ in result.skipped], "calls": dict(calls),
    }))
    """
)


def test_tf_slim_regularizers_test_passes_unchanged_on_compat_reg():
    with open(PEER, encoding="utf-8") as f:
        source = f.read()
    assert "from tf_slim.layers import regularizers" in source  # the reference we swap
    peer_tests = source.count("\n  def test")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", RUNNER, PEER, ",".join(SWAPPED)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["failures"] == [] and report["errors"] == [], out.stderr[-3000:]
    # tf.test.TestCase itself defines a deprecated `test_session` that always skips ("Not a test.")
    assert [name.split()[0] for name in report["skipped"]] == ["test_session"]
    assert report["run"] == report["expected"] == peer_tests + 1 == 12
    assert set(report["calls"]) == set(SWAPPED), report["calls"]
