"""Loading a TF1 name-based checkpoint (``tf.compat.v1.train.Saver``) into a ``TF1Layer``'s variables.

Variables are matched by TF1 name (``f"{scope}/{tf1_name}"`` when the TF1 graph
built the function under a variable scope). A partitioned variable is stored whole
in the checkpoint and sliced into the layer's shards. Nothing is assigned unless
every variable is found with its shape.
"""

import tensorflow as tf


def load_tf1_checkpoint(layer_name, store, path, scope=None):
    """Assign every variable of ``store`` (a ``BridgeVariableStore``) from the checkpoint at ``path``.

    Returns the list of TF1 names assigned. Raises ``ValueError`` naming each
    variable missing from the checkpoint or of another shape, before assigning.
    """
    if tf.io.gfile.isdir(path):
        path = tf.train.latest_checkpoint(path) or path
    reader = tf.train.load_checkpoint(path)
    available = reader.get_variable_to_shape_map()
    prefix = f"{scope.rstrip('/')}/" if scope else ""
    plan, problems = [], []
    for name, var in store.persistent.items():
        shard = store.shards.get(name)
        key = prefix + (shard.full_name if shard else name)
        want = shard.full_shape if shard else var.shape.as_list()
        if key not in available:
            problems.append(f"{key!r} is not in the checkpoint")
        elif list(available[key]) != list(want):
            problems.append(f"{key!r} has shape {list(available[key])} in the checkpoint, {want} in the layer")
        else:
            plan.append((name, var, key, shard))
    if problems:
        near = sorted(available)[:10]
        raise ValueError(
            f"TF1Layer {layer_name!r}: cannot load {path!r}: " + "; ".join(problems)
            + f". The checkpoint has e.g. {near}. If the TF1 graph built the function under "
            "a variable scope, pass it as scope=..."
        )
    for name, var, key, shard in plan:
        value = reader.get_tensor(key)
        if shard is not None:
            value = value[tuple(slice(o, o + s) for o, s in zip(shard.offset, shard.shape))]
        var.assign(value)
    return [name for name, *_ in plan]
