"""compat_reg's Keras-side math with ``keras.ops``, for Keras 3 on a backend other than TensorFlow.

Keras 3 picks its backend once per process (``KERAS_BACKEND``). On ``jax`` or
``torch`` a layer's weights are JAX arrays / torch tensors, traced inside
``fit`` (``jax.jit``) or watched by autograd, so a penalty computed with
TensorFlow ops cannot run there (``TracerArrayConversionError``). The
regularizers of ``compat_reg.regularizers`` hand such weights to this module,
which computes exactly the same formulas with ``keras.ops``:

    l1(s)(w)       = s * sum(|w|)
    l2(s)(w)       = s * sum(w ** 2) / 2          (TF1's tf.nn.l2_loss convention)
    sum([r1, r2])  = r1(w) + r2(w)                 (members returning None skipped)
    orthogonality(s)(kernels) = s * sum_{i != j} (W^T W)_{ij} ** 2

The values equal the TensorFlow backend's at float32 rtol 1e-6 (tested in
``tests/backends``). Configs, registration and ``.keras`` files are those of the
same classes, so a model saved on one backend loads on another. TF1 graph code
never comes here: a ``tf.Tensor`` / ``tf.Variable`` keeps the tf_slim op layout.
"""

import functools
import numbers


@functools.lru_cache(maxsize=None)
def _keras3():
    import keras

    return keras


def backend():
    """The Keras 3 backend name (``"tensorflow"``, ``"jax"``, ``"torch"``, ``"numpy"``), or ``None`` under tf_keras."""
    from compat_reg import _flavor

    if not _flavor.is_keras3():
        return None
    return _keras3().backend.backend()


def applies(weights):
    """Whether ``weights`` must be penalized with ``keras.ops``: Keras 3 on a non-TF backend, not a TF value.

    A ``tf.Tensor`` or ``tf.Variable`` (TF1 graph code, ``tf.function``) always
    keeps the TensorFlow path, whatever the Keras backend.
    """
    name = backend()
    if name in (None, "tensorflow"):
        return False
    module = type(weights).__module__.split(".")[0]
    return module != "tensorflow"


def _float_input(weights, regularizer, describe):
    """The weights as a backend tensor; integer/bool/complex weights refused as on the TF path."""
    ops = _keras3().ops
    keras = _keras3()
    dtype = keras.backend.standardize_dtype(getattr(weights, "dtype", None) or ops.convert_to_tensor(weights).dtype)
    if dtype.startswith("complex"):
        raise TypeError(
            f"{regularizer!r} cannot regularize {describe(weights)!r}: its dtype is {dtype}. TF1's L1/L2 "
            "penalties are defined for real floating-point weights. Penalize the real and imaginary parts, "
            "e.g. regularizer(keras.ops.real(w)) + regularizer(keras.ops.imag(w)), or keras.ops.abs(w)."
        )
    if not (dtype.startswith("float") or dtype.startswith("bfloat")):
        raise TypeError(
            f"{regularizer!r} cannot regularize {describe(weights)!r}: its dtype is {dtype}, and a weight "
            "penalty is only defined for floating-point weights (Keras 3 silently returns 0 here). Do not "
            "pass a regularizer for integer variables (counters, step variables, lookup ids), or cast them "
            "with keras.ops.cast if you really mean to penalize their values."
        )
    return ops.convert_to_tensor(weights), dtype


def _scale(scale, dtype, regularizer):
    """The scale as a backend scalar of the weights' dtype (a Python number or a Keras variable)."""
    ops = _keras3().ops
    if isinstance(scale, numbers.Real):
        return ops.cast(float(scale), dtype)
    if type(scale).__module__.split(".")[0] == "tensorflow":
        raise TypeError(
            f"{regularizer!r} has a TensorFlow scale ({scale!r}), which cannot enter a Keras 3 "
            f"{backend()} computation. Use a Python float, or a keras.Variable tracked by the model "
            "for a trainable coefficient."
        )
    return ops.cast(scale, dtype)


NORMS = {
    "l1_regularizer": lambda ops, w: ops.sum(ops.abs(w)),
    "l2_regularizer": lambda ops, w: ops.sum(ops.square(w)) / 2.0,
}


def scaled_norm(regularizer, weights, describe):
    """``scale * norm(weights)`` of an L1/L2 regularizer (``NORMS[regularizer.default_name]``)."""
    ops = _keras3().ops
    w, dtype = _float_input(weights, regularizer, describe)
    return ops.multiply(_scale(regularizer.scale, dtype, regularizer), NORMS[regularizer.default_name](ops, w))


def sum_of(regularizer, weights, describe):
    """``sum(member(weights))`` of a ``SumRegularizer``; a scalar zero when every member returns ``None``.

    The members get the Keras variable itself, so compat_reg members come back here
    and Keras ones compute as they do anywhere.
    """
    ops = _keras3().ops
    _, dtype = _float_input(weights, regularizer, describe)
    parts = [p for p in (member(weights) for member in regularizer.regularizer_list) if p is not None]
    if not parts:
        return ops.zeros((), dtype=dtype)
    total = parts[0]
    for p in parts[1:]:
        total = ops.add(total, p)
    return total


def penalty(regularizer, weights, describe):
    """The penalty of a compat_reg L1 / L2 (``scaled_norm``) or sum (``sum_of``) regularizer."""
    if getattr(regularizer, "default_name", None) in NORMS:
        return scaled_norm(regularizer, weights, describe)
    if hasattr(regularizer, "regularizer_list"):
        return sum_of(regularizer, weights, describe)
    raise TypeError(
        f"{regularizer!r} has no keras.ops form for Keras 3's {backend()} backend: only compat_reg's "
        "l1/l2/l1_l2/sum regularizers do. Use compat_reg.to_keras(...) or a Keras Regularizer subclass "
        "written with keras.ops."
    )


def orthogonality(scale, kernels):
    """``scale * sum((W^T W - diag(W^T W)) ** 2)``, ``W`` the kernels reshaped to ``[-1, cout]`` and concatenated."""
    ops = _keras3().ops
    mats = [ops.reshape(k, (-1, k.shape[-1])) for k in kernels]
    w = ops.concatenate(mats, axis=1)
    gram = ops.matmul(ops.transpose(w), w)
    off = gram - ops.diag(ops.diagonal(gram))
    return ops.multiply(ops.cast(scale, w.dtype), ops.sum(ops.square(off)))


def scalar_loss(value, who):
    """``value`` as a backend scalar of a float dtype (``floatx`` for an integer one); a non-scalar refused."""
    keras = _keras3()
    ops = keras.ops
    value = ops.convert_to_tensor(value)
    if len(value.shape) != 0:
        raise ValueError(
            f"{who} returned a tensor of shape {tuple(value.shape)}; a loss must be a scalar. Reduce it "
            "with keras.ops.sum or keras.ops.mean inside the callable."
        )
    if not keras.backend.standardize_dtype(value.dtype).startswith(("float", "bfloat")):
        value = ops.cast(value, keras.backend.floatx())
    return value


def strategy_scope(model):
    """``model.distribute_strategy.scope()`` (TensorFlow models), else a no-op context (JAX / torch)."""
    import contextlib

    strategy = getattr(model, "distribute_strategy", None)
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def check_loss_split_supported():
    """``LossSplit`` cannot run on Keras 3's JAX backend: raise saying why and what to do instead."""
    if backend() == "jax":
        raise NotImplementedError(
            "LossSplit does not run on Keras 3's JAX backend: JAX's jitted, stateless train_step carries "
            "the state of model.metrics only, so a callback's metrics cannot be updated inside it. Log "
            "sum(model.losses) from a custom train_step's compute_metrics, or use the TensorFlow or torch backend."
        )


def split_loss(losses, total, x, y_pred):
    """``(sum(losses), total - sum(losses), batch size)`` with ``keras.ops``, as ``LossSplit`` logs them.

    No replica factor: ``tf.distribute`` does not exist on these backends.
    """
    keras = _keras3()
    ops = keras.ops
    reg = ops.cast(0.0, "float32")
    for loss in losses:
        reg = reg + ops.cast(ops.sum(loss), "float32")
    weight = ops.cast(1.0, "float32")
    for candidate in keras.tree.flatten(x) + keras.tree.flatten(y_pred):
        if candidate is not None and len(getattr(candidate, "shape", ()) or ()):
            weight = ops.cast(ops.shape(candidate)[0], "float32")
            break
    return reg, ops.cast(total, "float32") - reg, weight
