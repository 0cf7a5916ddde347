"""Build a case in a fresh tf.Graph with one implementation, load deterministic weights, run it once.

Everything a comparison needs comes back as plain NumPy data, cached per
(implementation, case), so each case's graph is built once per implementation
for the whole module.
"""

import functools

import numpy as np
import tensorflow as tf

import compat_reg.layers
from tests.layers import cases as C

IMPLEMENTATIONS = {"compat_reg": compat_reg.layers, "reference": C.reference_layers}
UPDATE_OPS = tf.compat.v1.GraphKeys.UPDATE_OPS
REG_KEY = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES


@functools.lru_cache(maxsize=None)
def run(implementation, case_id):
    case = C.CASES[C.CASE_IDS.index(case_id)]
    L = IMPLEMENTATIONS[implementation]
    x_value = C.inputs_for(case)
    graph = tf.Graph()
    with graph.as_default():
        if case.seed is not None:
            tf.compat.v1.set_random_seed(case.seed)
        x = tf.compat.v1.placeholder(case.dtype, x_value.shape, name="x")
        feed = {x: x_value}
        training = case.training
        if isinstance(training, str):
            training = tf.compat.v1.placeholder_with_default(False, [], name="training")
            feed[training] = case.training == "tensor-true"
        outputs = case.build(L, x, training)
        variables = tf.compat.v1.global_variables()
        trainable = tf.compat.v1.trainable_variables()
        reg_losses = tf.compat.v1.get_collection(REG_KEY)
        updates = tf.compat.v1.get_collection(UPDATE_OPS)
        probe = tf.constant(
            np.random.default_rng(1).standard_normal(outputs.shape.as_list()), dtype=outputs.dtype
        )
        objective = tf.reduce_sum(outputs * probe)
        if reg_losses:
            objective += tf.add_n(reg_losses)
        grads = tf.gradients(objective, trainable)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for var in variables:
                var.load(C.weights_for(var, 0), sess)
            out_v, reg_v, grad_v = sess.run([outputs, reg_losses, grads], feed)
            sess.run(updates, feed)
            after = sess.run(variables)
    return {
        "variables": [(v.op.name, tuple(v.shape.as_list()), v.dtype.base_dtype.name) for v in variables],
        "trainable": [v.op.name for v in trainable],
        "output_name": outputs.name,
        "outputs": out_v,
        "reg_names": [r.name for r in reg_losses],
        "reg_values": [float(r) for r in reg_v],
        "grads": {v.op.name: np.asarray(g) for v, g in zip(trainable, grad_v)},
        "update_count": len(updates),
        "after_updates": {v.op.name: a for v, a in zip(variables, after)},
        "before_updates": {v.op.name: C.weights_for(v, 0) for v in variables},
    }
