"""Shared fixtures: a fresh tf.compat.v1 graph + Session per graph-mode test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib.metadata  # noqa: E402

import pytest  # noqa: E402

from compat_reg import _flavor  # noqa: E402  (imports no TensorFlow)

LOGICAL_CPUS = None
"""The two logical CPU device names MirroredStrategy tests use (set by ``pytest_configure``)."""


def _is_xdist_controller(config):
    """True in the process that only hands tests to ``-n N`` workers: it runs none."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_configure(config):
    """Two logical CPU devices, before TensorFlow initializes its runtime (i.e. before any test module).

    Not in the xdist controller: it runs no test, and importing TensorFlow there cost
    ~3.7 s of CPU before the workers could start.
    """
    global LOGICAL_CPUS
    if _is_xdist_controller(config):
        return
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
    LOGICAL_CPUS = [d.name for d in tf.config.list_logical_devices("CPU")]


@pytest.fixture
def graph():
    """A fresh ``tf.Graph`` made default for the test; never a leftover default graph."""
    import tensorflow as tf

    g = tf.Graph()
    with g.as_default():
        yield g


@pytest.fixture
def sess(graph):
    """A ``tf.compat.v1.Session`` on the fresh ``graph`` fixture."""
    import tensorflow as tf

    with tf.compat.v1.Session(graph=graph) as session:
        yield session


@pytest.fixture
def keras():
    """The Keras module the suite runs under (Keras 3, or tf_keras with TF_USE_LEGACY_KERAS=1)."""
    return _flavor.keras()


def pytest_report_header(config):
    """Printed by the process that reports (the xdist controller too): versions from metadata, no imports."""
    keras_dist = "keras" if _flavor.is_keras3() else "tf-keras"
    return (f"compat_reg flavor: {_flavor.name()} {importlib.metadata.version(keras_dist)}, "
            f"tensorflow {importlib.metadata.version('tensorflow')}")


def pytest_collection_modifyitems(config, items):
    """Longest modules first, so that xdist's last module is a short one (tests/_schedule.py)."""
    from tests._schedule import longest_first

    longest_first(items)
