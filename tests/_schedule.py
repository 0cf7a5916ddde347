"""The order test modules are handed to pytest-xdist workers: the longest first.

``make test`` runs ``pytest -n auto --dist loadfile --no-loadscope-reorder``: each
module goes whole to one worker, in collection order. xdist's default reorder
(modules with the most tests first) sends a one-test module that runs 15 s last,
and one worker then finishes it alone. Longest-first keeps both cores busy to the
end (the classic LPT rule). Only the order changes; every test still runs.

``LONGEST_FIRST`` is data: the modules that took the longest in one ``make test``
on 2 cores (``--durations``), longest first. Modules not named keep their
collection order after them. A name that no longer exists is an error at
collection, so the table cannot rot silently.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LONGEST_FIRST = (  # measured 2026-12-01 (junit times of both runs, the larger of the two)
    "tests/runtime/test_slim_compat.py",
    "tests/keras_bridge/test_tf1_layer_resnet.py",
    "tests/migration/test_equivalence_resnet.py",
    "tests/keras_bridge/test_tf1_layer.py",
    "tests/migration/test_equivalence_cases.py",
    "tests/keras_bridge/test_distribute.py",
    "tests/migration/test_cli_check.py",
    "tests/migration/test_migrate_trees.py",
    "tests/test_cli_startup.py",
    "tests/keras_bridge/test_shim_peer_cases.py",
    "tests/keras_bridge/test_examples_losses.py",
    "tests/migration/test_checker_multi_io.py",
    "tests/migration/test_checker_optimizers.py",
    "tests/keras_bridge/test_examples_tf1_layer.py",
    "tests/layers/test_against_tf_keras_legacy.py",
    "tests/migration/test_checker_training.py",
    "tests/keras_bridge/test_tf1_layer_backend.py",
    "tests/backends/test_check.py",
    "tests/backends/test_check_children.py",
)


def longest_first(items):
    """Reorder ``items`` in place: modules of ``LONGEST_FIRST`` first, in its order; the rest as collected."""
    missing = [path for path in LONGEST_FIRST if not os.path.exists(os.path.join(ROOT, path))]
    if missing:
        raise RuntimeError(f"tests/_schedule.py names test modules that do not exist: {missing}. "
                           "Remove or rename them in LONGEST_FIRST.")
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    first_seen = {}
    for i, item in enumerate(items):
        first_seen.setdefault(item.nodeid.split("::", 1)[0], i)

    def key(item):
        path = item.nodeid.split("::", 1)[0]
        return (rank.get(path, len(rank)), first_seen[path])

    items.sort(key=key)  # stable: the tests of a module keep their order
