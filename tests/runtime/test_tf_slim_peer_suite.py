"""tf_slim's own ``layers/regularizers_test.py``, unchanged, run against compat_reg's functions (issue 9 item 6).

The installed test module is imported as it is and its module-global ``regularizers`` (the
``tf_slim.layers.regularizers`` it tests) is replaced by a namespace of compat_reg's functions; its
``TestCase`` then runs through ``unittest``. It runs in the session's clean child process
(``tests/runtime/clean_process.py``) because its ``setUpModule`` calls ``tf.disable_eager_execution()``,
which would switch the rest of this pytest process to graph mode. Every compat_reg function is
wrapped to count its calls, so the run proves it exercised ours.
"""

from tests.runtime.conftest import PEER
from tests.runtime.conftest import SWAPPED


def test_tf_slim_regularizers_test_passes_unchanged_on_compat_reg(clean_process):
    with open(PEER, encoding="utf-8") as f:
        source = f.read()
    assert "from tf_slim.layers import regularizers" in source  # the reference that is swapped
    peer_tests = source.count("\n  def test")
    report = clean_process["peer"]
    assert report["failures"] == [] and report["errors"] == [], report["log"][-3000:]
    # tf.test.TestCase itself defines a deprecated `test_session` that always skips ("Not a test.")
    assert [name.split()[0] for name in report["skipped"]] == ["test_session"]
    assert report["run"] == report["expected"] == peer_tests + 1 == 12
    assert set(report["calls"]) == set(SWAPPED), report["calls"]
