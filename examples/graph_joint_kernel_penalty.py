"""Q: "How do I add ONE penalty over the kernels of ten conv layers, some of them frozen?"

A: ``compat_reg.group_regularizer(fn, variables)``. Here ``fn`` is
``compat_reg.orthogonality(scale)``: the concatenated 1x1 kernels ``W = [K_0 ... K_9]``
(each ``[cin, cout]``) are pushed towards pairwise orthogonal columns,
``penalty = scale * sum_{i != j} (W^T W)_ij^2``. Frozen kernels (trainable=False) count in
the value but enter through ``tf.stop_gradient`` and are never updated.

Run: ``python examples/graph_joint_kernel_penalty.py``
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_slim as slim  # noqa: E402

import compat_reg  # noqa: E402

N_LAYERS, FROZEN, CIN, COUT = 10, (0, 3, 6), 32, 3


def numpy_orthogonality(kernels, scale):
    w = np.concatenate([k.reshape(-1, k.shape[-1]).astype(np.float64) for k in kernels], axis=1)
    gram = w.T @ w
    return scale * np.sum((gram - np.diag(np.diag(gram))) ** 2)


def main(steps=5):
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(0)
        x = tf.random.normal([4, 6, 6, CIN], seed=1)
        kernels = []
        for i in range(N_LAYERS):
            slim.conv2d(x, COUT, [1, 1], trainable=i not in FROZEN, scope=f"conv{i}")
            (k,) = [v for v in tf.compat.v1.global_variables() if v.op.name == f"conv{i}/weights"]
            kernels.append(k)
        penalty = compat_reg.group_regularizer(compat_reg.orthogonality(1e-2), kernels, name="joint_ortho")
        train = tf.compat.v1.train.GradientDescentOptimizer(0.5).minimize(compat_reg.get_regularization_loss())
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            start = sess.run(kernels)
            for step in range(steps):
                p, ks = sess.run([penalty, kernels])
                print(f"step {step} penalty={p:.9g} numpy={numpy_orthogonality(ks, 1e-2):.9g}")
                sess.run(train)
            end = sess.run(kernels)
    for i in range(N_LAYERS):
        moved = not np.array_equal(start[i], end[i])
        print(f"conv{i} frozen={i in FROZEN} updated={moved}")


if __name__ == "__main__":
    main()
