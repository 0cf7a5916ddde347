"""What a ``TF1Layer`` is built for: the input spec of its first call, and the check of later inputs.

Variables are created at build time from a trace of ``fn`` on placeholders of the
first call's spec with a free batch dimension; their shapes follow from the
feature shape, so a later call with another feature shape is an error naming both.
"""

import numpy as np
import tensorflow as tf


def spec_of(x, float_dtype):
    shape = tf.TensorShape(getattr(x, "shape", np.shape(x)))
    dtype = tf.as_dtype(getattr(x, "dtype", None) or np.asarray(x).dtype)
    if dtype.is_floating:
        dtype = tf.as_dtype(float_dtype)
    if shape.rank:
        shape = tf.TensorShape([None] + shape.as_list()[1:])
    return tf.TensorSpec(shape, dtype)


def spec_from_shape(shape, dtype):
    """A ``TensorSpec`` (or a nest of them) with a free batch dimension, from Keras' ``input_shape``."""
    if isinstance(shape, dict):
        return {k: spec_from_shape(v, dtype) for k, v in shape.items()}
    if isinstance(shape, tf.TensorShape):
        shape = shape.as_list() if shape.rank is not None else None
    if shape is None or all(d is None or isinstance(d, (int, np.integer)) for d in shape):
        dims = None if shape is None else ([None] + list(shape)[1:] if len(shape) else [])
        return tf.TensorSpec(dims, dtype)
    return type(shape)(spec_from_shape(s, dtype) for s in shape)


def check_input_shapes(layer_name, spec, inputs):
    """Inputs must have the non-batch shape the layer was built for; name both shapes otherwise."""
    flat_spec = tf.nest.flatten(spec)
    flat_inputs = tf.nest.flatten(inputs)
    for s, x in zip(flat_spec, flat_inputs):
        shape = getattr(x, "shape", None)
        if shape is None or s.shape.rank is None:
            continue
        got = tf.TensorShape(shape)
        if got.rank is None:
            continue
        if not s.shape[1:].is_compatible_with(got[1:]) or got.rank != s.shape.rank:
            raise ValueError(
                f"TF1Layer {layer_name!r} was built for inputs of shape {s.shape.as_list()} (its "
                f"variables' shapes follow from it) and received shape {got.as_list()}. Call it on "
                "inputs of the same feature shape, or build a new TF1Layer for the other shape."
            )
