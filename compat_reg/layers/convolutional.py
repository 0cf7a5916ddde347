"""``conv1d/2d/3d``, ``conv2d_transpose``, ``separable_conv2d`` and their classes, as ``tf.compat.v1.layers``.

Variables (tf_keras 2.21's shapes): ``kernel`` ``kernel_size + (in_channels, filters)``
(``conv2d_transpose``: ``kernel_size + (filters, in_channels)``), ``bias``
``(filters,)``; ``separable_conv2d``: ``depthwise_kernel`` ``kernel_size +
(in_channels, depth_multiplier)``, ``pointwise_kernel`` ``(1, 1, in_channels *
depth_multiplier, filters)``. ``outputs = activation(conv(inputs, kernel) + bias)``.
"""

import tensorflow as tf

from compat_reg.layers import base

_ZEROS = tf.compat.v1.zeros_initializer()
_CONV_NAMES = {1: "Conv1D", 2: "Conv2D", 3: "Conv3D"}


class _Conv(base.Layer):
    """N-D convolution (``tf.nn.convolution``) with TF1's variables; ``padding="causal"`` for 1-D only."""

    RANK = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format="channels_last",
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer=None,
        bias_initializer=_ZEROS,
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        trainable=True,
        name=None,
        **kwargs,
    ):
        super().__init__(trainable=trainable, name=name, activity_regularizer=activity_regularizer, **kwargs)
        rank = self.RANK
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(
                f"Invalid value for argument `filters`. Expected a positive integer. Received: filters={filters!r}"
            )
        self.filters = filters
        self.kernel_size = base.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = base.normalize_tuple(strides, rank, "strides")
        self.padding = base.normalize_padding(padding, ("valid", "same", "causal") if rank == 1 else ("valid", "same"))
        self.data_format = base.normalize_data_format(data_format)
        self.dilation_rate = base.normalize_tuple(dilation_rate, rank, "dilation_rate")
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.kernel = None
        self.bias = None

    @property
    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else -1 - self.RANK

    def _input_channels(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        if input_shape.rank is None or input_shape.rank < self.RANK + 2:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected inputs of rank {self.RANK + 2}. "
                f"Received: input_shape={input_shape}"
            )
        channels = tf.compat.dimension_value(input_shape[self._channel_axis])
        if channels is None:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: the channel dimension (axis {self._channel_axis}) of the "
                f"inputs must be defined. Received: input_shape={input_shape}"
            )
        return channels

    def _bias_variable(self):
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                shape=[self.filters],
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            shape=list(self.kernel_size) + [channels, self.filters],
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self._bias_variable()

    def _add_bias(self, outputs):
        if not self.use_bias:
            return outputs
        if self.RANK == 1 and self.data_format == "channels_first":
            return outputs + tf.reshape(self.bias, (1, self.filters, 1))
        return tf.nn.bias_add(outputs, self.bias, data_format=base.tf_data_format(self.data_format, self.RANK))

    def _finish(self, outputs):
        outputs = self._add_bias(outputs)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def call(self, inputs):
        if self.padding == "causal":
            left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
            pads = [[0, 0], [left, 0], [0, 0]] if self.data_format == "channels_last" else [[0, 0], [0, 0], [left, 0]]
            inputs = tf.pad(inputs, pads)
        outputs = tf.nn.convolution(
            inputs,
            self.kernel,
            strides=list(self.strides),
            padding="VALID" if self.padding == "causal" else self.padding.upper(),
            dilations=list(self.dilation_rate),
            data_format=base.tf_data_format(self.data_format, self.RANK),
            name=_CONV_NAMES[self.RANK],
        )
        return self._finish(outputs)


class Conv1D(_Conv):
    """1-D convolution; inputs ``[batch, length, channels]`` (``channels_last``)."""

    BASE_NAME = "conv1d"
    RANK = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format="channels_last",
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer=None, bias_initializer=_ZEROS,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, trainable=True, name=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, trainable=trainable, name=name, **kwargs)

class Conv2D(_Conv):
    """2-D convolution; inputs ``[batch, height, width, channels]`` (``channels_last``)."""

    BASE_NAME = "conv2d"
    RANK = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer=None, bias_initializer=_ZEROS,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, trainable=True, name=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, trainable=trainable, name=name, **kwargs)

class Conv3D(_Conv):
    """3-D convolution; inputs ``[batch, depth, height, width, channels]`` (``channels_last``)."""

    BASE_NAME = "conv3d"
    RANK = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format="channels_last",
                 dilation_rate=(1, 1, 1), activation=None, use_bias=True, kernel_initializer=None,
                 bias_initializer=_ZEROS,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, trainable=True, name=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, trainable=trainable, name=name, **kwargs)

class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution.

    Output side: ``in * stride + max(k - stride, 0)`` (valid) or ``in * stride`` (same).
    """

    BASE_NAME = "conv2d_transpose"
    RANK = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                 activation=None, use_bias=True, kernel_initializer=None, bias_initializer=_ZEROS,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, trainable=True, name=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, 1, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, trainable=trainable, name=name, **kwargs)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            shape=list(self.kernel_size) + [self.filters, channels],
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self._bias_variable()

    def _output_length(self, length, kernel, stride):
        if self.padding == "same":
            return length * stride
        return length * stride + max(kernel - stride, 0)

    def call(self, inputs):
        dynamic = tf.shape(inputs)
        h_axis, w_axis = (1, 2) if self.data_format == "channels_last" else (2, 3)
        dims = inputs.shape.as_list()
        height = dims[h_axis] if dims[h_axis] is not None else dynamic[h_axis]
        width = dims[w_axis] if dims[w_axis] is not None else dynamic[w_axis]
        out_h = self._output_length(height, self.kernel_size[0], self.strides[0])
        out_w = self._output_length(width, self.kernel_size[1], self.strides[1])
        if self.data_format == "channels_first":  # TF's CPU kernel is NHWC only: transpose around it
            inputs = tf.transpose(inputs, (0, 2, 3, 1))
        outputs = tf.nn.conv2d_transpose(
            inputs,
            self.kernel,
            tf.stack([dynamic[0], out_h, out_w, self.filters]),
            strides=(1,) + self.strides + (1,),
            padding=self.padding.upper(),
        )
        if self.data_format == "channels_first":
            outputs = tf.transpose(outputs, (0, 3, 1, 2))
        static = [dims[0]] + [
            None if d is None else self._output_length(d, k, s)
            for d, k, s in zip((dims[h_axis], dims[w_axis]), self.kernel_size, self.strides)
        ]
        outputs.set_shape(static + [self.filters] if self.data_format == "channels_last" else
                          [static[0], self.filters] + static[1:])
        return self._finish(outputs)


class SeparableConv2D(_Conv):
    """Depthwise then pointwise 2-D convolution (``tf.nn.separable_conv2d``)."""

    BASE_NAME = "separable_conv2d"
    RANK = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format="channels_last",
        dilation_rate=(1, 1),
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer=None,
        pointwise_initializer=None,
        bias_initializer=_ZEROS,
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        trainable=True,
        name=None,
        **kwargs,
    ):
        super().__init__(
            filters, kernel_size, strides, padding, data_format, dilation_rate,
            activation=activation, use_bias=use_bias, bias_initializer=bias_initializer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            bias_constraint=bias_constraint, trainable=trainable, name=name, **kwargs,
        )
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = depthwise_initializer
        self.pointwise_initializer = pointwise_initializer
        self.depthwise_regularizer = depthwise_regularizer
        self.pointwise_regularizer = pointwise_regularizer
        self.depthwise_constraint = depthwise_constraint
        self.pointwise_constraint = pointwise_constraint
        self.depthwise_kernel = None
        self.pointwise_kernel = None

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel",
            shape=list(self.kernel_size) + [channels, self.depth_multiplier],
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel",
            shape=[1, 1, channels * self.depth_multiplier, self.filters],
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
        )
        self._bias_variable()

    def call(self, inputs):
        strides = (1,) + self.strides + (1,) if self.data_format == "channels_last" else (1, 1) + self.strides
        outputs = tf.nn.separable_conv2d(
            inputs,
            self.depthwise_kernel,
            self.pointwise_kernel,
            strides=strides,
            padding=self.padding.upper(),
            dilations=self.dilation_rate,
            data_format=base.tf_data_format(self.data_format, 2),
        )
        return self._finish(outputs)


def conv1d(inputs, filters, kernel_size, strides=1, padding="valid", data_format="channels_last", dilation_rate=1,
           activation=None, use_bias=True, kernel_initializer=None, bias_initializer=_ZEROS, kernel_regularizer=None,
           bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
           trainable=True, name=None, reuse=None):
    """Functional :class:`Conv1D` (``tf.compat.v1.layers.conv1d``)."""
    return Conv1D(filters, kernel_size, strides, padding, data_format, dilation_rate, activation=activation,
                  use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                  kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                  activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                  bias_constraint=bias_constraint, trainable=trainable, name=name, _scope=name, _reuse=reuse)(inputs)


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
           dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer=None, bias_initializer=_ZEROS,
           kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
           bias_constraint=None, trainable=True, name=None, reuse=None):
    """Functional :class:`Conv2D` (``tf.compat.v1.layers.conv2d``)."""
    return Conv2D(filters, kernel_size, strides, padding, data_format, dilation_rate, activation=activation,
                  use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                  kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                  activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                  bias_constraint=bias_constraint, trainable=trainable, name=name, _scope=name, _reuse=reuse)(inputs)


def conv3d(inputs, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format="channels_last",
           dilation_rate=(1, 1, 1), activation=None, use_bias=True, kernel_initializer=None, bias_initializer=_ZEROS,
           kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
           bias_constraint=None, trainable=True, name=None, reuse=None):
    """Functional :class:`Conv3D` (``tf.compat.v1.layers.conv3d``)."""
    return Conv3D(filters, kernel_size, strides, padding, data_format, dilation_rate, activation=activation,
                  use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                  kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                  activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                  bias_constraint=bias_constraint, trainable=trainable, name=name, _scope=name, _reuse=reuse)(inputs)


def conv2d_transpose(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                     activation=None, use_bias=True, kernel_initializer=None, bias_initializer=_ZEROS,
                     kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                     kernel_constraint=None, bias_constraint=None, trainable=True, name=None, reuse=None):
    """Functional :class:`Conv2DTranspose` (``tf.compat.v1.layers.conv2d_transpose``)."""
    return Conv2DTranspose(filters, kernel_size, strides, padding, data_format, activation=activation,
                           use_bias=use_bias, kernel_initializer=kernel_initializer,
                           bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                           bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                           kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                           trainable=trainable, name=name, _scope=name, _reuse=reuse)(inputs)


def separable_conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                     dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                     depthwise_initializer=None, pointwise_initializer=None, bias_initializer=_ZEROS,
                     depthwise_regularizer=None, pointwise_regularizer=None, bias_regularizer=None,
                     activity_regularizer=None, depthwise_constraint=None, pointwise_constraint=None,
                     bias_constraint=None, trainable=True, name=None, reuse=None):
    """Functional :class:`SeparableConv2D` (``tf.compat.v1.layers.separable_conv2d``)."""
    return SeparableConv2D(filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                           activation=activation, use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                           pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
                           depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                           bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                           depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
                           bias_constraint=bias_constraint, trainable=trainable, name=name, _scope=name,
                           _reuse=reuse)(inputs)
