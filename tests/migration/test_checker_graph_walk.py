"""compat_reg._graph_walk: the one dependency walk shared by the checker and keras.publish."""

import tensorflow as tf

from compat_reg import _graph_walk


def _chain_graph():
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [2], name="x")
        w = tf.compat.v1.get_variable("w", [2])
        a = tf.add(x, w.read_value() if hasattr(w, "read_value") else w, name="a")
        b = tf.square(a, name="b")
        c = tf.multiply(b, a, name="c")  # a reached twice (diamond)
    return g, x, w, c


def test_postorder_yields_each_dependency_once_inputs_first():
    g, x, w, c = _chain_graph()
    memo = {}
    order = []
    for op in _graph_walk.postorder(c.op, memo):
        memo[op.name] = True
        order.append(op.name)
    assert len(order) == len(set(order))
    assert order[-1] == "c"
    for op_name in order:
        op = g.get_operation_by_name(op_name)
        for t in op.inputs:
            assert order.index(t.op.name) < order.index(op_name), (t.op.name, op_name)
    assert {"x", "a", "b", "c"} <= set(order)


def test_postorder_skips_what_memo_holds():
    g, x, w, c = _chain_graph()
    memo = {"a": True}
    names = []
    for op in _graph_walk.postorder(c.op, memo):
        memo[op.name] = True
        names.append(op.name)
    assert names == ["b", "c"]


def test_reached_stops_at_leaves_and_does_not_walk_past_them():
    g, x, w, c = _chain_graph()
    var_op = w.op.name
    leaves = _graph_walk.reached(c.op, lambda op: op.name in (var_op, "x"))
    assert sorted(op.name for op in leaves) == sorted([var_op, "x"])
    only_a = _graph_walk.reached(c.op, lambda op: op.name == "a")
    assert [op.name for op in only_a] == ["a"]


def test_control_inputs_are_walked_only_when_asked():
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [], name="x")
        side = tf.identity(x, name="side")
        with tf.control_dependencies([side]):
            y = tf.constant(1.0, name="y")
    is_x = lambda op: op.name == "x"  # noqa: E731
    assert _graph_walk.reached(y.op, is_x) == []
    assert [op.name for op in _graph_walk.reached(y.op, is_x, control_inputs=True)] == ["x"]


def test_deep_graphs_do_not_hit_the_recursion_limit():
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [], name="x")
        h = x
        for _ in range(3000):
            h = tf.identity(h)
    leaves = _graph_walk.reached(h.op, lambda op: op.name == "x")
    assert [op.name for op in leaves] == ["x"]
