"""The one walk over a TensorFlow graph's dependencies (TF1 ``tf.Graph`` or a traced ``FuncGraph``).

Two users, one walk:

* ``compat_reg.keras.publish`` hashes what a loss computes (its fingerprint) and
  asks whether it reads input data — both fold a value over the ops a tensor
  depends on, inputs first: :func:`postorder` with the caller's ``memo``;
* ``migration.equivalence`` asks which variables (and whether the inputs) a
  regularization loss reads: :func:`reached`, the same walk stopped at leaves.

Iterative, so losses on deep networks (a ResNet's activity penalties) do not hit
Python's recursion limit. Only public ``tf.Operation`` attributes are read
(``inputs``, ``control_inputs``, ``name``).
"""


def _predecessors(op, control_inputs):
    ops = [t.op for t in op.inputs]
    if control_inputs:
        ops.extend(op.control_inputs)
    return ops


def postorder(root, memo, *, stop=None, control_inputs=False):
    """Yield the ops ``root`` depends on that are not in ``memo`` yet, inputs first.

    Args:
      root: a ``tf.Operation``.
      memo: a dict keyed by op name. The caller must put each yielded op's name
        into ``memo`` before asking for the next one (the value is the caller's:
        a hash, a flag...); ops already in it are not visited again.
      stop: ``fn(op) -> bool``; an op for which it is true is yielded but its
        inputs are not walked (a variable, the inputs placeholder).
      control_inputs: walk control dependencies too (a traced function's
        ``add_loss`` may hang on one).
    """
    stack = [root]
    while stack:
        op = stack[-1]
        if op.name in memo:
            stack.pop()
            continue
        if stop is None or not stop(op):
            pending = [p for p in _predecessors(op, control_inputs) if p.name not in memo]
            if pending:
                stack.extend(pending)
                continue
        stack.pop()
        yield op


def reached(root, is_leaf, *, control_inputs=False):
    """The ops for which ``is_leaf(op)`` is true that ``root`` depends on (without walking past them).

    Returns:
      A list of those ops, in the order they were reached.
    """
    memo, leaves = {}, []
    for op in postorder(root, memo, stop=is_leaf, control_inputs=control_inputs):
        memo[op.name] = True
        if is_leaf(op):
            leaves.append(op)
    return leaves
