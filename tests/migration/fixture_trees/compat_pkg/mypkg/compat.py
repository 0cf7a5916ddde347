"""One place that decides which TensorFlow API the package uses."""
import tensorflow as tf

tfv1 = tf.compat.v1
