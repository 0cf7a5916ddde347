"""Max and average pooling in 1, 2 and 3 dimensions, as ``tf.compat.v1.layers`` (tf_keras 2.21).

``outputs[b, i, c] = max / mean of inputs[b, window(i), c]``, windows of
``pool_size`` every ``strides``, ``padding`` ``"valid"`` or ``"same"`` (average
pooling counts only the in-bounds elements). No variables; each layer still opens
its scope (``max_pooling2d``, ``max_pooling2d_1``, ...), so op names are TF1's.
1-D pooling runs the 2-D op on an expanded axis, as TF1. 2-D pooling passes the
layout to the op, as TF1; 1-D and 3-D ``channels_first`` inputs are pooled in
channels-last layout and transposed back (TF's 3-D kernels are channels-last only,
as TF1 does; the numbers are the same).
"""

import tensorflow as tf

from compat_reg.layers import base

# (rank, kind) -> the TF op.
_POOL_OPS = {
    (1, "max"): tf.compat.v1.nn.max_pool,
    (2, "max"): tf.compat.v1.nn.max_pool,
    (3, "max"): tf.nn.max_pool3d,
    (1, "avg"): tf.compat.v1.nn.avg_pool,
    (2, "avg"): tf.compat.v1.nn.avg_pool,
    (3, "avg"): tf.nn.avg_pool3d,
}


class _Pooling(base.Layer):
    RANK = 2
    KIND = "max"

    def __init__(self, pool_size, strides, padding="valid", data_format="channels_last", name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if strides is None:
            strides = pool_size
        self.pool_size = base.normalize_tuple(pool_size, self.RANK, "pool_size")
        self.strides = base.normalize_tuple(strides, self.RANK, "strides")
        self.padding = base.normalize_padding(padding)
        self.data_format = base.normalize_data_format(data_format)

    def call(self, inputs):
        rank = self.RANK
        if inputs.shape.rank is not None and inputs.shape.rank != rank + 2:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected inputs of rank {rank + 2}. "
                f"Received: input_shape={inputs.shape}"
            )
        if rank == 2:  # TF1 passes the layout to the op (``NCHW`` runs on CPU with oneDNN and on GPU)
            layout = base.tf_data_format(self.data_format, 2)
            window = (1,) + self.pool_size + (1,) if layout == "NHWC" else (1, 1) + self.pool_size
            steps = (1,) + self.strides + (1,) if layout == "NHWC" else (1, 1) + self.strides
            return _POOL_OPS[(2, self.KIND)](
                inputs, ksize=window, strides=steps, padding=self.padding.upper(), data_format=layout
            )
        first = self.data_format == "channels_first"
        if first:
            inputs = tf.transpose(inputs, [0] + list(range(2, rank + 2)) + [1])
        size, strides = self.pool_size, self.strides
        if rank == 1:
            inputs = tf.expand_dims(inputs, 2)
            size, strides = size + (1,), strides + (1,)
        outputs = _POOL_OPS[(rank, self.KIND)](
            inputs, ksize=(1,) + size + (1,), strides=(1,) + strides + (1,), padding=self.padding.upper()
        )
        if rank == 1:
            outputs = tf.squeeze(outputs, 2)
        if first:
            outputs = tf.transpose(outputs, [0, rank + 1] + list(range(1, rank + 1)))
        return outputs


def _pooling_class(class_name, rank, kind, base_name):
    def __init__(self, pool_size, strides, padding="valid", data_format="channels_last", name=None, **kwargs):
        _Pooling.__init__(self, pool_size, strides, padding=padding, data_format=data_format, name=name, **kwargs)

    what = "Max" if kind == "max" else "Average"
    dims = "dimension" if rank == 1 else "dimensions"
    doc = f"{what} pooling over {rank} spatial {dims} (``tf.compat.v1.layers.{class_name}``)."
    return type(class_name, (_Pooling,), {
        "__init__": __init__, "__doc__": doc, "RANK": rank, "KIND": kind, "BASE_NAME": base_name,
        "__module__": __name__,
    })


def _pooling_function(cls, function_name):
    def pool(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
        return cls(pool_size=pool_size, strides=strides, padding=padding, data_format=data_format, name=name)(inputs)

    pool.__name__ = pool.__qualname__ = function_name
    pool.__doc__ = f"Functional :class:`{cls.__name__}` (``tf.compat.v1.layers.{function_name}``)."
    return pool


MaxPooling1D = _pooling_class("MaxPooling1D", 1, "max", "max_pooling1d")
MaxPooling2D = _pooling_class("MaxPooling2D", 2, "max", "max_pooling2d")
MaxPooling3D = _pooling_class("MaxPooling3D", 3, "max", "max_pooling3d")
AveragePooling1D = _pooling_class("AveragePooling1D", 1, "avg", "average_pooling1d")
AveragePooling2D = _pooling_class("AveragePooling2D", 2, "avg", "average_pooling2d")
AveragePooling3D = _pooling_class("AveragePooling3D", 3, "avg", "average_pooling3d")

max_pooling1d = _pooling_function(MaxPooling1D, "max_pooling1d")
max_pooling2d = _pooling_function(MaxPooling2D, "max_pooling2d")
max_pooling3d = _pooling_function(MaxPooling3D, "max_pooling3d")
average_pooling1d = _pooling_function(AveragePooling1D, "average_pooling1d")
average_pooling2d = _pooling_function(AveragePooling2D, "average_pooling2d")
average_pooling3d = _pooling_function(AveragePooling3D, "average_pooling3d")
