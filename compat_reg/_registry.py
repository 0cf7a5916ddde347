"""Leaf module: the graph-collection keys compat_reg works with, and who regularized what.

Imported by every other compat_reg module and importing none of them, so that
``collections`` and ``scopes`` (and the Keras bridge) share state without importing
each other. ``REGULARIZATION_LOSSES`` is defined here and only here.
"""

import tensorflow as tf

REGULARIZATION_LOSSES = tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES
