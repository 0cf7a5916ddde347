"""Train a two-layer classifier (TF1 style: placeholders, a session, tf.layers, manual weight decay)."""
import numpy as np
import tensorflow as tf

WEIGHT_DECAY = 1e-3


def model(x, is_training):
    h = tf.layers.dense(x, 8, activation=tf.nn.relu, name="fc1")
    h = tf.layers.batch_normalization(h, training=is_training, name="bn1")
    h = tf.layers.dropout(h, rate=0.5, training=is_training)
    return tf.layers.dense(h, 2, name="logits")


def build():
    x = tf.placeholder(tf.float32, [None, 5], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    is_training = tf.placeholder_with_default(False, [], name="is_training")
    logits = model(x, is_training)
    data_loss = tf.losses.sparse_softmax_cross_entropy(y, logits)
    kernels = [v for v in tf.trainable_variables() if v.name.endswith("kernel:0")]
    weight_decay = tf.multiply(WEIGHT_DECAY, tf.add_n([tf.nn.l2_loss(k) for k in kernels]), name="weight_decay")
    tf.add_to_collection(tf.GraphKeys.REGULARIZATION_LOSSES, weight_decay)
    total = data_loss + tf.add_n(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.MomentumOptimizer(0.01, 0.9).minimize(total)
    return x, y, is_training, total, train_op


def main():
    x, y, is_training, total, train_op = build()
    rng = np.random.RandomState(0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(3):
            feed = {x: rng.randn(4, 5), y: rng.randint(0, 2, 4), is_training: True}
            _, value = sess.run([train_op, total], feed)
            print(step, value)


if __name__ == "__main__":
    main()
