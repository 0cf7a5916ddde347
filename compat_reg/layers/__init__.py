"""``compat_reg.layers``: the ``tf.compat.v1.layers`` Keras 3 removed, with TF1 semantics.

``import compat_reg.layers as layers`` then ``layers.dense(x, 10, kernel_regularizer=...)``
builds what ``tf.compat.v1.layers.dense`` built on TF 1.x / tf_keras: the same
variable names (``dense/kernel``, ``dense_1/kernel``), ``REGULARIZATION_LOSSES``
entries, ``UPDATE_OPS`` and ``reuse`` rules, on either Keras flavor (it depends
on neither), in a ``tf.Graph`` and inside ``compat_reg.keras.TF1Layer``. The
variables are made by ``tf.compat.v1.get_variable``; see ``docs/layers.md`` for
why this is not a wrapper of tf_keras' legacy layers, and for what differs.

Modules: ``base`` (the TF1 ``Layer`` protocol: scopes, unique names, ``reuse``,
collections), ``core`` (dense, dropout, flatten), ``convolutional`` (conv1d/2d/3d,
conv2d_transpose, separable_conv2d), ``normalization`` (batch_normalization),
``pooling`` (max / average pooling 1-3D); each a function and its class.
"""

from compat_reg.layers.base import Layer
from compat_reg.layers.convolutional import Conv1D
from compat_reg.layers.convolutional import Conv2D
from compat_reg.layers.convolutional import Conv2DTranspose
from compat_reg.layers.convolutional import Conv3D
from compat_reg.layers.convolutional import SeparableConv2D
from compat_reg.layers.convolutional import conv1d
from compat_reg.layers.convolutional import conv2d
from compat_reg.layers.convolutional import conv2d_transpose
from compat_reg.layers.convolutional import conv3d
from compat_reg.layers.convolutional import separable_conv2d
from compat_reg.layers.core import Dense
from compat_reg.layers.core import Dropout
from compat_reg.layers.core import Flatten
from compat_reg.layers.core import dense
from compat_reg.layers.core import dropout
from compat_reg.layers.core import flatten
from compat_reg.layers.normalization import BatchNormalization
from compat_reg.layers.normalization import batch_normalization
from compat_reg.layers.pooling import AveragePooling1D
from compat_reg.layers.pooling import AveragePooling2D
from compat_reg.layers.pooling import AveragePooling3D
from compat_reg.layers.pooling import MaxPooling1D
from compat_reg.layers.pooling import MaxPooling2D
from compat_reg.layers.pooling import MaxPooling3D
from compat_reg.layers.pooling import average_pooling1d
from compat_reg.layers.pooling import average_pooling2d
from compat_reg.layers.pooling import average_pooling3d
from compat_reg.layers.pooling import max_pooling1d
from compat_reg.layers.pooling import max_pooling2d
from compat_reg.layers.pooling import max_pooling3d

__all__ = [
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "BatchNormalization", "Conv1D", "Conv2D",
    "Conv2DTranspose", "Conv3D", "Dense", "Dropout", "Flatten", "Layer", "MaxPooling1D", "MaxPooling2D",
    "MaxPooling3D", "SeparableConv2D", "average_pooling1d", "average_pooling2d", "average_pooling3d",
    "batch_normalization", "conv1d", "conv2d", "conv2d_transpose", "conv3d", "dense", "dropout", "flatten",
    "max_pooling1d", "max_pooling2d", "max_pooling3d", "separable_conv2d",
]
