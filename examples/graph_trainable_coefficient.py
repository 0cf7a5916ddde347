"""Q: "Can the weight-decay coefficient itself be a trainable variable?"

A: TF1 allowed ``l2_regularizer(tf.Variable(...))`` and so does compat_reg, but if the
coefficient ``lam`` is trained on the same loss, ``d(total)/d(lam) = R(w) >= 0`` pushes it
below zero and then the total loss runs to -inf. ``compat_reg.trainable_coefficient(...,
parameterization="softplus")`` (or ``"exp"``) keeps ``lam > 0``: the total loss stays above
the data loss. Prints both runs.

Run: ``python examples/graph_trainable_coefficient.py``
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import compat_reg  # noqa: E402


def run(parameterization, steps=40):
    rng = np.random.default_rng(2)
    x_np = rng.standard_normal((16, 4)).astype(np.float32)
    y_np = x_np @ np.ones(4, np.float32)
    with tf.Graph().as_default():
        w = tf.compat.v1.get_variable("w", initializer=tf.zeros([4]))
        lam = compat_reg.trainable_coefficient("lam", 0.5, parameterization=parameterization)
        compat_reg.regularize(w, compat_reg.l2_regularizer(lam.value))
        data = tf.reduce_mean(tf.square(tf.linalg.matvec(tf.constant(x_np), w) - y_np))
        split = compat_reg.split_total_loss(data)
        train = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(split.total_loss)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for step in range(steps):
                d, t, c = sess.run([split.data_loss, split.total_loss, lam.value])
                if step % 10 == 0 or step == steps - 1:
                    print(f"{parameterization} step {step} lam={c:.6g} data_loss={d:.6g} total_loss={t:.6g}")
                sess.run(train)


def main():
    for p in ("identity", "softplus", "exp"):
        run(p)


if __name__ == "__main__":
    main()
