"""Shared fixtures: a fresh tf.compat.v1 graph + Session per graph-mode test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from compat_reg import _flavor  # noqa: E402

# Two logical CPU devices for tf.distribute.MirroredStrategy tests. This must run
# before TensorFlow initializes its runtime, i.e. at conftest import.
_CPUS = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _CPUS[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
LOGICAL_CPUS = [d.name for d in tf.config.list_logical_devices("CPU")]


@pytest.fixture
def graph():
    """A fresh ``tf.Graph`` made default for the test; never a leftover default graph."""
    g = tf.Graph()
    with g.as_default():
        yield g


@pytest.fixture
def sess(graph):
    """A ``tf.compat.v1.Session`` on the fresh ``graph`` fixture."""
    with tf.compat.v1.Session(graph=graph) as session:
        yield session


@pytest.fixture
def keras():
    """The Keras module the suite runs under (Keras 3, or tf_keras with TF_USE_LEGACY_KERAS=1)."""
    return _flavor.keras()


def pytest_report_header(config):
    return f"compat_reg flavor: {_flavor.name()} {_flavor.version()}, tensorflow {tf.__version__}"


def pytest_collection_modifyitems(config, items):
    """Longest modules first, so that xdist's last module is a short one (tests/_schedule.py)."""
    from tests._schedule import longest_first

    longest_first(items)
