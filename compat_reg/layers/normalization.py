"""``batch_normalization`` and ``BatchNormalization``, as ``tf.compat.v1.layers`` (tf_keras 2.21, V1 behaviour).

Math (per channel of ``axis``)::

    training:   y = gamma * (x - mean_B) / sqrt(var_B + epsilon) + beta
                moving_mean     -= (moving_mean     - mean_B)  * (1 - momentum)
                moving_variance -= (moving_variance - var_B')  * (1 - momentum)
    inference:  y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta

``var_B'`` is the biased batch variance on the plain path and the Bessel-corrected
(``n / (n - 1)``) one on the fused path, as TF1: ``fused=None`` means fused for 4-D
(and 5-D with ``axis`` 1 or 4) float32/16 inputs. The two moving-average
assignments (``<scope>/AssignMovingAvg``) are this layer's ``updates`` and go to
``UPDATE_OPS`` whenever ``training`` is not the Python value ``False``; for a bool
tensor they are conditional (the fused path uses ``momentum`` or ``1.0``,
the plain path assigns under a ``tf.cond``), so running them with
``training=False`` leaves the statistics unchanged. Variables: ``gamma``/``beta``
(trainable, if ``scale``/``center``), ``moving_mean``/``moving_variance``
(non-trainable, ``ON_READ``/``MEAN``; the scope's partitioner is not applied).
"""

import tensorflow as tf

from compat_reg.layers import base

_ZEROS = tf.compat.v1.zeros_initializer()
_ONES = tf.compat.v1.ones_initializer()
_FUSED_LAYOUTS = {(4, 1): "NCHW", (4, 3): "NHWC", (5, 1): "NCDHW", (5, 4): "NDHWC"}
_FUSED_DTYPES = (tf.float16, tf.bfloat16, tf.float32)


class BatchNormalization(base.Layer):
    """Batch normalization with TF1's variables, moving-average updates and ``UPDATE_OPS``."""

    BASE_NAME = "batch_normalization"

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer=_ZEROS,
        gamma_initializer=_ONES,
        moving_mean_initializer=_ZEROS,
        moving_variance_initializer=_ONES,
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        fused=None,
        trainable=True,
        virtual_batch_size=None,
        adjustment=None,
        name=None,
        **kwargs,
    ):
        super().__init__(trainable=trainable, name=name, **kwargs)
        for argument, value, default in (
            ("renorm", renorm, False),
            ("renorm_clipping", renorm_clipping, None),
            ("virtual_batch_size", virtual_batch_size, None),
            ("adjustment", adjustment, None),
        ):
            if value != default:
                raise NotImplementedError(
                    f"compat_reg.layers.BatchNormalization does not implement `{argument}`. "
                    f"Received: {argument}={value!r}. Use the default ({default!r}), or keep this layer on "
                    "tf_keras (TF_USE_LEGACY_KERAS=1 and tf.compat.v1.layers)."
                )
        if not isinstance(axis, int):
            raise ValueError(f"Invalid value for argument `axis`. Expected an int. Received: axis={axis!r}")
        self.axis = axis
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = beta_initializer
        self.gamma_initializer = gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.beta_regularizer = beta_regularizer
        self.gamma_regularizer = gamma_regularizer
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.fused = fused
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        rank = input_shape.rank
        if rank is None:
            raise ValueError(f"BatchNormalization {self.name!r}: the rank of the inputs must be known.")
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis is None:
            raise ValueError(
                f"Invalid value for argument `axis`. Expected an axis of the rank-{rank} inputs. "
                f"Received: axis={self.axis}"
            )
        self._axis = axis
        channels = tf.compat.dimension_value(input_shape[axis])
        if channels is None:
            raise ValueError(
                f"BatchNormalization {self.name!r}: the inputs' `axis` dimension must be defined. "
                f"Received: input_shape={input_shape}, axis={self.axis}"
            )
        layout = _FUSED_LAYOUTS.get((rank, axis))
        can_fuse = layout is not None and self.dtype in _FUSED_DTYPES
        if self.fused and not can_fuse:
            raise ValueError(
                f"BatchNormalization {self.name!r}: `fused=True` needs 4-D inputs with axis 1 or 3 (5-D: 1 or 4) "
                f"in float32/16. Received: input_shape={input_shape}, axis={self.axis}, dtype={self.dtype.name}. "
                "Pass fused=None or fused=False."
            )
        self.fused = can_fuse if self.fused in (None, True) else False
        self._layout = layout
        param_dtype = tf.float32 if self.dtype in (tf.float16, tf.bfloat16) else self.dtype
        self._param_dtype = param_dtype
        shape = [channels]
        if self.scale:
            self.gamma = self.add_weight(
                "gamma", shape, param_dtype, self.gamma_initializer, self.gamma_regularizer,
                constraint=self.gamma_constraint,
            )
        if self.center:
            self.beta = self.add_weight(
                "beta", shape, param_dtype, self.beta_initializer, self.beta_regularizer,
                constraint=self.beta_constraint,
            )
        partitioner = self._scope.partitioner
        self._scope.set_partitioner(None)
        try:
            stats = dict(
                trainable=False,
                synchronization=tf.VariableSynchronization.ON_READ,
                aggregation=tf.VariableAggregation.MEAN,
            )
            self.moving_mean = self.add_weight("moving_mean", shape, param_dtype, self.moving_mean_initializer, **stats)
            self.moving_variance = self.add_weight(
                "moving_variance", shape, param_dtype, self.moving_variance_initializer, **stats
            )
        finally:
            self._scope.set_partitioner(partitioner)

    def _moving_average(self, variable, value, momentum):
        """``variable -= (variable - value) * (1 - momentum)`` as TF1's ``AssignMovingAvg``."""
        with tf.name_scope("AssignMovingAvg") as scope:
            with tf.compat.v1.colocate_with(variable):
                decay = tf.convert_to_tensor(1.0 - momentum, name="decay")
                if decay.dtype != variable.dtype.base_dtype:
                    decay = tf.cast(decay, variable.dtype.base_dtype)
                delta = (variable - tf.cast(value, variable.dtype.base_dtype)) * decay
                return tf.compat.v1.assign_sub(variable, delta, name=scope)

    def call(self, inputs, training=False):
        known = base.training_value(training)
        if self.fused:
            return self._fused(inputs, training, known)
        return self._plain(inputs, training, known)

    def _fused(self, inputs, training, known):
        gamma = self.gamma if self.scale else tf.constant(1.0, self._param_dtype, shape=self.moving_mean.shape)
        beta = self.beta if self.center else tf.constant(0.0, self._param_dtype, shape=self.moving_mean.shape)

        def run(is_training):
            return lambda: tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, mean=self.moving_mean, variance=self.moving_variance,
                epsilon=self.epsilon, is_training=is_training, data_format=self._layout,
            )

        outputs, mean, variance = base.smart_cond(training if known is None else known, run(True), run(False))
        if known is not False:
            if known is None:  # TF1 builds a tf.cond of two constants; a select gives the same value, cheaper
                momentum = tf.where(training, tf.cast(self.momentum, tf.float32), tf.ones([], tf.float32))
            else:
                momentum = tf.convert_to_tensor(self.momentum)
            self.add_update(self._moving_average(self.moving_mean, mean, momentum))
            self.add_update(self._moving_average(self.moving_variance, variance, momentum))
        return outputs

    def _plain(self, inputs, training, known):
        rank = inputs.shape.rank
        reduction = [i for i in range(rank) if i != self._axis]
        broadcast = [1] * rank
        broadcast[self._axis] = self.moving_mean.shape[0]

        def expand(v):
            if v is None or self._axis == rank - 1:
                return v
            return tf.reshape(v, broadcast)

        work = tf.cast(inputs, tf.float32) if inputs.dtype in (tf.float16, tf.bfloat16) else inputs
        if known is False:
            mean, variance = self.moving_mean, self.moving_variance
        else:
            batch_mean, batch_variance = tf.nn.moments(tf.cast(work, self._param_dtype), reduction, keepdims=False)
            mean = base.smart_cond(training, lambda: batch_mean, lambda: tf.convert_to_tensor(self.moving_mean))
            variance = base.smart_cond(
                training, lambda: batch_variance, lambda: tf.convert_to_tensor(self.moving_variance)
            )
            for variable, value in ((self.moving_mean, mean), (self.moving_variance, variance)):
                self.add_update(
                    base.smart_cond(
                        training,
                        lambda variable=variable, value=value: self._moving_average(variable, value, self.momentum),
                        lambda variable=variable: tf.convert_to_tensor(variable),
                    )
                )
        scale = tf.cast(expand(self.gamma), work.dtype) if self.scale else None
        offset = tf.cast(expand(self.beta), work.dtype) if self.center else None
        outputs = tf.nn.batch_normalization(
            work,
            expand(tf.cast(mean, work.dtype)),
            expand(tf.cast(variance, work.dtype)),
            offset,
            scale,
            self.epsilon,
        )
        if work.dtype != inputs.dtype:
            outputs = tf.cast(outputs, inputs.dtype)
        outputs.set_shape(inputs.shape)
        return outputs


def batch_normalization(
    inputs,
    axis=-1,
    momentum=0.99,
    epsilon=1e-3,
    center=True,
    scale=True,
    beta_initializer=_ZEROS,
    gamma_initializer=_ONES,
    moving_mean_initializer=_ZEROS,
    moving_variance_initializer=_ONES,
    beta_regularizer=None,
    gamma_regularizer=None,
    beta_constraint=None,
    gamma_constraint=None,
    training=False,
    trainable=True,
    name=None,
    reuse=None,
    renorm=False,
    renorm_clipping=None,
    renorm_momentum=0.99,
    fused=None,
    virtual_batch_size=None,
    adjustment=None,
):
    """Functional :class:`BatchNormalization` (``tf.compat.v1.layers.batch_normalization``).

    Run ``tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)`` with the
    train op (``tf.control_dependencies``) to update the moving statistics.
    """
    layer = BatchNormalization(
        axis=axis, momentum=momentum, epsilon=epsilon, center=center, scale=scale,
        beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
        moving_mean_initializer=moving_mean_initializer, moving_variance_initializer=moving_variance_initializer,
        beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
        beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
        renorm=renorm, renorm_clipping=renorm_clipping, renorm_momentum=renorm_momentum, fused=fused,
        trainable=trainable, virtual_batch_size=virtual_batch_size, adjustment=adjustment,
        name=name, _reuse=reuse, _scope=name,
    )
    return layer(inputs, training=training)
