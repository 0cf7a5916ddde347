import tensorflow as tf
from tests.conftest import LOGICAL_CPUS


def test_two_logical_cpus_and_fresh_graph(sess, graph):
    assert len(LOGICAL_CPUS) == 2
    assert tf.compat.v1.get_default_graph() is graph
    assert graph.get_operations() == []
    x = tf.constant(2.0) * 3.0
    assert sess.run(x) == 6.0
