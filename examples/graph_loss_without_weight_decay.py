"""Q: "How do I log the loss without weight decay next to the loss I minimize?"

A: ``data, reg, total = compat_reg.split_total_loss()``: the data loss (the LOSSES
collection, what ``tf.compat.v1.losses.*`` register), the regularization loss (the
REGULARIZATION_LOSSES collection) and their sum, which equals
``tf.compat.v1.losses.get_total_loss()``. Prints all three per step.

Run: ``python examples/graph_loss_without_weight_decay.py``
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import compat_reg  # noqa: E402


def main(steps=10):
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal((32, 6)).astype(np.float32)
    y_np = x_np @ rng.standard_normal((6, 1)).astype(np.float32)
    with tf.Graph().as_default():
        with compat_reg.regularized_scope("linear", compat_reg.l2_regularizer(0.05)):
            w = tf.compat.v1.get_variable("w", [6, 1])
        pred = tf.matmul(tf.constant(x_np), w)
        tf.compat.v1.losses.mean_squared_error(tf.constant(y_np), pred)
        loss_no_weight_decay, weight_decay, loss = compat_reg.split_total_loss()
        tf1_total = tf.compat.v1.losses.get_total_loss()
        train = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for step in range(steps):
                d, r, t, ref = sess.run([loss_no_weight_decay, weight_decay, loss, tf1_total])
                print(f"step {step} loss_no_weight_decay={d:.9g} weight_decay={r:.9g} loss={t:.9g} "
                      f"tf1_get_total_loss={ref:.9g}")
                sess.run(train)


if __name__ == "__main__":
    main()
