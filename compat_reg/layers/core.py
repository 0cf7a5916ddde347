"""``dense``, ``dropout``, ``flatten`` and their classes, as ``tf.compat.v1.layers`` (tf_keras 2.21) builds them."""

import functools
import operator

import tensorflow as tf

from compat_reg.layers import base

_ZEROS = tf.compat.v1.zeros_initializer()


class Dense(base.Layer):
    """``outputs = activation(inputs @ kernel + bias)``; variables ``<scope>/kernel`` ``[in, units]``, ``<scope>/bias``.

    Inputs of rank > 2 contract their last axis (``tensordot``), as TF1's layer.
    """

    BASE_NAME = "dense"

    def __init__(
        self,
        units,
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
        if not isinstance(units, int) or units <= 0:
            raise ValueError(
                f"Invalid value for argument `units`. Expected a positive integer. Received: units={units!r}"
            )
        self.units = units
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

    def build(self, input_shape):
        last = tf.compat.dimension_value(tf.TensorShape(input_shape)[-1])
        if last is None:
            raise ValueError(
                f"Dense {self.name!r}: the last dimension of the inputs must be defined to create the kernel. "
                f"Received: input_shape={input_shape}"
            )
        self.kernel = self.add_weight(
            "kernel",
            shape=[last, self.units],
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                shape=[self.units],
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def call(self, inputs):
        rank = inputs.shape.rank
        if rank == 2 or rank is None:
            outputs = tf.matmul(inputs, self.kernel)
        else:
            outputs = tf.tensordot(inputs, self.kernel, [[rank - 1], [0]])
            outputs.set_shape(inputs.shape[:-1].concatenate([self.units]))
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


def dense(
    inputs,
    units,
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
    reuse=None,
):
    """Functional :class:`Dense` (``tf.compat.v1.layers.dense``): ``name`` is a fixed scope, ``reuse`` shares it."""
    layer = Dense(
        units,
        activation=activation,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        bias_initializer=bias_initializer,
        kernel_regularizer=kernel_regularizer,
        bias_regularizer=bias_regularizer,
        activity_regularizer=activity_regularizer,
        kernel_constraint=kernel_constraint,
        bias_constraint=bias_constraint,
        trainable=trainable,
        name=name,
        _scope=name,
        _reuse=reuse,
    )
    return layer(inputs)


class Dropout(base.Layer):
    """``training``: ``tf.nn.dropout(inputs, rate, noise_shape, seed)`` (kept units scaled by ``1/(1-rate)``);
    otherwise ``tf.identity(inputs)``. ``training`` may be a Python bool or a bool tensor (then a ``tf.cond``).
    """

    BASE_NAME = "dropout"

    def __init__(self, rate=0.5, noise_shape=None, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(rate, (int, float)) and not 0 <= rate <= 1:
            raise ValueError(f"Invalid value for argument `rate`. Expected a float in [0, 1]. Received: rate={rate!r}")
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed

    def _noise_shape(self, inputs):
        if self.noise_shape is None:
            return None
        concrete = tf.shape(inputs)
        return tf.stack([concrete[i] if v is None else v for i, v in enumerate(self.noise_shape)])

    def call(self, inputs, training=False):
        if isinstance(self.rate, (int, float)) and self.rate == 0:
            return tf.identity(inputs)
        return base.smart_cond(
            training if training is not None else False,
            lambda: tf.nn.dropout(inputs, rate=self.rate, noise_shape=self._noise_shape(inputs), seed=self.seed),
            lambda: tf.identity(inputs),
        )


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    """Functional :class:`Dropout` (``tf.compat.v1.layers.dropout``); identity unless ``training``."""
    layer = Dropout(rate, noise_shape=noise_shape, seed=seed, name=name)
    return layer(inputs, training=training)


class Flatten(base.Layer):
    """``[batch, d1, ..., dn] -> [batch, d1 * ... * dn]``.

    ``channels_first`` inputs are first moved to channels-last, so the order is TF1's.
    """

    BASE_NAME = "flatten"

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = base.normalize_data_format(data_format)

    def call(self, inputs):
        rank = inputs.shape.rank
        if self.data_format == "channels_first" and rank and rank > 1:
            inputs = tf.transpose(inputs, perm=[0] + list(range(2, rank)) + [1])
        if rank == 1:
            return tf.expand_dims(inputs, axis=1)
        batch = tf.compat.dimension_value(inputs.shape[0])
        rest = inputs.shape[1:]
        if rest.is_fully_defined():
            shape = tf.constant([-1, int(functools.reduce(operator.mul, rest.as_list(), 1))])
        elif batch is not None:
            shape = tf.constant([int(batch), -1])
        else:
            shape = [tf.compat.v1.shape(inputs)[0], -1]
        return tf.reshape(inputs, shape)


def flatten(inputs, name=None, data_format="channels_last"):
    """Functional :class:`Flatten` (``tf.compat.v1.layers.flatten``)."""
    return Flatten(name=name, data_format=data_format)(inputs)
