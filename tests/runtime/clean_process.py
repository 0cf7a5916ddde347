"""Run in ONE child Python process the checks that need a process of their own (a TF import costs seconds).

``python tests/runtime/clean_process.py <regularizers_test.py> <comma-separated names>`` with
``COMPAT_REG_NO_SLIM_COMPAT=1`` prints one JSON object:

* ``"opt_out"``: what plain tf_slim 1.1.0 on TF 2.21 does without compat_reg's fix, then with it
  (``"BROKEN: ..."`` lines, then ``"FIXED"``); read by ``test_slim_compat.py``;
* ``"peer"``: the report of tf_slim's own ``layers/regularizers_test.py`` run unchanged with its
  ``regularizers`` replaced by compat_reg's functions; read by ``test_tf_slim_peer_suite.py``. It
  comes second because its ``setUpModule`` disables eager execution for the process.

``tests/runtime/conftest.py`` runs it once per session (fixture ``clean_process``).
"""

import collections
import contextlib
import importlib.util
import io
import json
import sys
import types
import unittest


def opt_out_then_enable():
    import tensorflow as tf
    import tf_slim as slim

    import compat_reg
    from compat_reg import slim_compat

    lines = [f"enabled at import: {slim_compat.is_enabled()}"]
    with tf.Graph().as_default():
        x = tf.zeros([2, 4, 4, 3])
        try:
            slim.batch_norm(x, fused=False)
        except ModuleNotFoundError as e:
            lines.append(f"BROKEN: {e}")
        try:
            slim.batch_norm(x, fused=True, zero_debias_moving_mean=True, scope="f")
        except AttributeError as e:
            lines.append(f"BROKEN: {e}")
        compat_reg.enable_tf_slim_compat()
        slim.batch_norm(x, fused=False, scope="d2")
        slim.batch_norm(x, fused=True, zero_debias_moving_mean=True, scope="f2")
        lines.append("FIXED")
    return lines


def peer_suite(path, names):
    import compat_reg

    spec = importlib.util.spec_from_file_location("tf_slim_regularizers_test", path)
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

    peer.regularizers = types.SimpleNamespace(**{name: counted(name) for name in names})
    suite = unittest.defaultTestLoader.loadTestsFromModule(peer)
    log = io.StringIO()
    result = unittest.TextTestRunner(stream=log, verbosity=2).run(suite)
    return {
        "run": result.testsRun, "expected": suite.countTestCases(),
        "failures": [f"{t}: {tb}" for t, tb in result.failures],
        "errors": [f"{t}: {tb}" for t, tb in result.errors],
        "skipped": [str(t) for t, _ in result.skipped], "calls": dict(calls), "log": log.getvalue(),
    }


def main(argv):
    with contextlib.redirect_stdout(sys.stderr):  # only the JSON goes to stdout
        report = {"opt_out": opt_out_then_enable(), "peer": peer_suite(argv[0], argv[1].split(","))}
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
