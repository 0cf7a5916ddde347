"""A TF1 graph-mode training loop on today's TensorFlow, with compat_reg's idioms.

tf.Graph + Session + SGD on synthetic data. Regularization comes from:

* ``compat_reg.regularized_scope``: L2 weight decay on every variable of the trunk;
* ``slim.arg_scope(..., weights_regularizer=...)``: weight decay on the head, TF1 style;
* ``compat_reg.activity_regularize``: an L1 penalty on the trunk's activation
  (batch-mean convention, as tf_keras / tf.compat.v1.layers);
* ``compat_reg.group_regularizer``: one orthogonality penalty over three 1x1 convs;
* ``compat_reg.split_total_loss``: data loss, regularization loss and total loss.

Every step prints ``data_loss``, ``regularization_loss`` and ``total_loss``
(``total_loss = data_loss + regularization_loss``).

Run: ``python examples/graph_mode_training.py [--steps 20]``
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_slim as slim  # noqa: E402

import compat_reg  # noqa: E402  (also makes slim.batch_norm work on TF 2.21)

BATCH, SIZE, CHANNELS, CLASSES = 16, 8, 3, 4


def synthetic_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH * 4, SIZE, SIZE, CHANNELS)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64) + 2 * (x[:, 0, 0, 0] > 0)
    return x, y


def build_model(x, y):
    # regularized_scope penalizes *every* variable created in it (TF1 semantics), batch-norm
    # moving statistics included: keep batch_norm outside it.
    with compat_reg.regularized_scope("trunk", compat_reg.l2_regularizer(1e-3)):
        h = slim.conv2d(x, 8, [3, 3], activation_fn=None, scope="conv1")
    h = tf.nn.relu(slim.batch_norm(h, is_training=True, scope="bn1"))
    h = compat_reg.activity_regularize(h, compat_reg.l1_regularizer(1e-4), reduction="batch_mean")
    with compat_reg.regularized_scope("trunk", compat_reg.l2_regularizer(1e-3)):
        branches = [slim.conv2d(h, 4, [1, 1], scope=f"branch{i}") for i in range(3)]
    kernels = [_variable(f"trunk/branch{i}/weights") for i in range(3)]
    compat_reg.group_regularizer(compat_reg.orthogonality(1e-2), kernels, name="branch_orthogonality")
    h = tf.concat(branches, axis=-1)
    h = tf.reduce_mean(h, axis=[1, 2])
    with slim.arg_scope([slim.fully_connected], weights_regularizer=compat_reg.l2_regularizer(1e-3)):
        logits = slim.fully_connected(h, CLASSES, activation_fn=None, scope="head")
    tf.compat.v1.losses.sparse_softmax_cross_entropy(y, logits)  # registers in LOSSES
    return compat_reg.split_total_loss()


def _variable(name):
    (var,) = [v for v in tf.compat.v1.global_variables() if v.op.name == name]
    return var


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    args = parser.parse_args(argv)

    x_np, y_np = synthetic_data()
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(0)
        x = tf.compat.v1.placeholder(tf.float32, [None, SIZE, SIZE, CHANNELS], name="x")
        y = tf.compat.v1.placeholder(tf.int64, [None], name="y")
        split = build_model(x, y)
        update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            train_op = tf.compat.v1.train.GradientDescentOptimizer(args.learning_rate).minimize(split.total_loss)
        print(f"regularization losses in the collection: {len(compat_reg.get_regularization_losses())}")
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for step in range(args.steps):
                i = (step * BATCH) % len(x_np)
                feed = {x: x_np[i:i + BATCH], y: y_np[i:i + BATCH]}
                _, data, reg, total = sess.run(
                    [train_op, split.data_loss, split.regularization_loss, split.total_loss], feed
                )
                print(f"step {step:3d}  data_loss={data:.9g}  regularization_loss={reg:.9g}  "
                      f"total_loss={total:.9g}")


if __name__ == "__main__":
    main()
