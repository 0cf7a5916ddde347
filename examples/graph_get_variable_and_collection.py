"""Q: "get_variable(regularizer=...), the collection and apply_regularization: how not to count twice?"

A: ``get_variable(regularizer=r)`` puts ``r(w)`` in REGULARIZATION_LOSSES.
``apply_regularization(r, weights)`` returns a sum **and also appends it to the
collection**. So use ``apply_regularization`` only for variables created without a
regularizer, and then sum the collection once (``get_regularization_loss()``); adding the
returned tensor as well counts it twice. Prints the right total, the double-counted one,
and NumPy.

Run: ``python examples/graph_get_variable_and_collection.py``
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import compat_reg  # noqa: E402


def main():
    rng = np.random.default_rng(3)
    a_np = rng.standard_normal((4, 3)).astype(np.float32)
    b_np = rng.standard_normal((3,)).astype(np.float32)
    with tf.Graph().as_default():
        # 1. at creation: the TF1 way, unchanged
        a = tf.compat.v1.get_variable("a", initializer=tf.constant(a_np),
                                      regularizer=compat_reg.l2_regularizer(0.1))
        # 2. a variable created without a regularizer, regularized afterwards
        b = tf.compat.v1.get_variable("b", initializer=tf.constant(b_np))
        applied = compat_reg.apply_regularization(compat_reg.l1_regularizer(0.2), [b])
        right = compat_reg.get_regularization_loss()   # a's loss + applied, each once
        wrong = right + applied                        # the classic double count
        n_losses = len(compat_reg.get_regularization_losses())
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            r, w = sess.run([right, wrong])
    expected = 0.1 * np.sum(a_np.astype(np.float64) ** 2) / 2 + 0.2 * np.abs(b_np.astype(np.float64)).sum()
    print(f"collection entries={n_losses}")
    print(f"right total={r:.9g} numpy={expected:.9g}")
    print(f"double counted={w:.9g} excess={w - r:.9g} applied_penalty={0.2 * np.abs(b_np).sum():.9g}")
    del a, b


if __name__ == "__main__":
    main()
