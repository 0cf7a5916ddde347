"""Q: "How do I put an L1 penalty on an intermediate activation in a TF1 graph?"

A: ``compat_reg.activity_regularize(h, regularizer, reduction=...)`` adds the penalty to
``REGULARIZATION_LOSSES`` and returns ``h`` unchanged, so it goes inline. Choose the
convention explicitly: ``"batch_mean"`` (tf_keras, Keras >= 3.14, tf.compat.v1.layers:
penalty / batch size) or ``"sum"`` (the raw penalty). Prints both next to NumPy.

Run: ``python examples/graph_activity_penalty.py``
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import compat_reg  # noqa: E402


SCALE = 0.01


def data():
    """The inputs ``x`` (batch 8, 5 features) and the weights ``w`` (5 -> 3), float32."""
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((8, 5)).astype(np.float32)
    w_np = rng.standard_normal((5, 3)).astype(np.float32)
    return x_np, w_np


def main():
    x_np, w_np = data()
    with tf.Graph().as_default():
        w = tf.compat.v1.get_variable("w", initializer=tf.constant(w_np))
        hidden = tf.nn.relu(tf.matmul(tf.constant(x_np), w))
        reg = compat_reg.l1_regularizer(SCALE)
        hidden = compat_reg.activity_regularize(hidden, reg, reduction="batch_mean", name="act_mean")
        hidden = compat_reg.activity_regularize(hidden, reg, reduction="sum", name="act_sum")
        mean_pen, sum_pen = compat_reg.get_regularization_losses()
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            h, m, s = sess.run([hidden, mean_pen, sum_pen])
    np_sum = SCALE * np.abs(h.astype(np.float64)).sum()
    print(f"batch_mean penalty={m:.9g} numpy={np_sum / len(h):.9g}")
    print(f"sum penalty={s:.9g} numpy={np_sum:.9g}")
    print(f"ratio sum/batch_mean={s / m:.6g} batch_size={len(h)}")


if __name__ == "__main__":
    main()
