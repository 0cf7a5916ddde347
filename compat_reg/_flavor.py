"""The one place that decides which Keras compat_reg talks to, and what differs.

TensorFlow 2.16+ ships Keras 3 as ``tf.keras``; setting ``TF_USE_LEGACY_KERAS=1``
before TensorFlow is imported makes ``tf.keras`` the tf_keras 2.x package instead.
compat_reg follows the same switch, so a process uses exactly one Keras, the one
``tf.keras`` is. Every module that needs Keras asks this module rather than testing
versions itself.

What differs between the flavors, and is exposed here as data:

================================  ==================  =====================
behaviour                         Keras 3             tf_keras (2.x)
================================  ==================  =====================
activity loss divided by batch    from 3.14 on        yes
regularizers on frozen weights    not counted         counted
zero-argument ``add_loss(fn)``    removed             supported
``compiled_loss`` includes reg.   yes                 no
serialization registry            ``keras.saving``    ``tf_keras.utils``
multi-replica steps = one device  from 3.8 on         yes
================================  ==================  =====================

The versions compat-reg is tested on are data too (``TESTED``, the same ranges as
``requirements.txt`` / pyproject's dependencies, proven by ``make test-matrix``);
``untested_versions()`` names every installed package outside them, which
``compat-reg selftest`` reports as a failure.
"""

import functools
import os


def legacy_keras_requested():
    """True when ``TF_USE_LEGACY_KERAS`` asks for tf_keras (same parsing as TF)."""
    return os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true", "yes")


@functools.lru_cache(maxsize=None)
def keras():
    """The Keras module in use: ``keras`` (Keras 3) or ``tf_keras``."""
    if legacy_keras_requested():
        import tf_keras

        return tf_keras
    import keras as keras3

    return keras3


def is_keras3():
    """True when the Keras in use is Keras 3."""
    return not legacy_keras_requested()


def name():
    """``"keras3"`` or ``"tf_keras"``, for reports and test ids."""
    return "keras3" if is_keras3() else "tf_keras"


def version():
    """The version string of the Keras in use."""
    return keras().__version__


def register_serializable(package="compat_reg"):
    """Class decorator registering a class with the active flavor's registry.

    Keras 3 looks objects up in ``keras.saving``'s registry by the registered name
    ``"compat_reg>ClassName"``. tf_keras writes configs in that format too, but reads
    H5 files and SavedModels through its legacy path, which looks the *bare* class
    name up in the custom objects; so under tf_keras the bare name is added to
    ``tf_keras.utils.get_custom_objects()`` as well (never replacing an entry).
    """

    def decorate(cls):
        k = keras()
        if is_keras3():
            return k.saving.register_keras_serializable(package=package)(cls)
        cls = k.utils.register_keras_serializable(package=package)(cls)
        k.utils.get_custom_objects().setdefault(cls.__name__, cls)
        return cls

    return decorate


def activity_loss_divided_by_batch():
    """Whether this Keras divides an ``activity_regularizer`` penalty by the batch size.

    tf_keras and ``tf.compat.v1.layers`` always did; Keras 3 does from 3.14 on
    (earlier Keras 3 releases added the raw sum).
    """
    if not is_keras3():
        return True
    return version_tuple(version()) >= ACTIVITY_BATCH_DIVISION_SINCE


def frozen_weights_regularized():
    """Whether this Keras adds regularizers of non-trainable weights to ``losses``.

    Keras 3 only looks at ``trainable_weights``; tf_keras, like the TF1
    collection, counts every weight created with a regularizer.
    """
    return not is_keras3()


def supports_callable_add_loss():
    """Whether ``layer.add_loss(lambda: ...)`` is supported (tf_keras only)."""
    return not is_keras3()


def compiled_loss_includes_regularization():
    """Keras 3's ``compute_loss`` adds ``model.losses``; tf_keras' ``compiled_loss`` does not."""
    return is_keras3()


def multi_replica_training_exact():
    """Whether a training step under a multi-replica ``tf.distribute`` strategy gives the one-device update.

    tf_keras: yes. Keras 3 before 3.5 applies each replica's own gradient to the
    mirrored weights without summing them (its TF optimizer all-reduces inside the
    ``merge_call``, where there is no replica context: keras-team/keras#19969), in
    ``fit`` and in custom loops; and ``fit`` before 3.8 does not scale the loss by
    ``1 / num_replicas_in_sync`` (keras-team/keras#20609). Measured: Keras 3.3.3
    (TF 2.16) differs with plain Keras layers and no compat_reg; Keras 3.15.1 agrees.
    """
    if not is_keras3():
        return True
    return version_tuple(version()) >= MULTI_REPLICA_TRAINING_EXACT_SINCE


# Keras 3 divides activity penalties by the batch from this release on
# (keras-team/keras#22021, "activity regularizer not normalized by batch size").
ACTIVITY_BATCH_DIVISION_SINCE = (3, 14)
# Keras 3 sums replica gradients (3.5, keras-team/keras#19969) and scales fit's loss per
# replica (3.8, keras-team/keras#20609) from this release on.
MULTI_REPLICA_TRAINING_EXACT_SINCE = (3, 8)

# Distribution -> (oldest tested, first untested): the stacks `make test-matrix`
# runs (docs/supported_versions.md). requirements.txt states the same ranges.
TESTED = {
    "tensorflow": ((2, 16, 2), (2, 22)),
    "keras": ((3, 3, 3), (3, 16)),
    "tf-keras": ((2, 16, 0), (2, 22)),
    "tf-slim": ((1, 1, 0), (1, 2)),
    "numpy": ((1, 26, 4), (2, 5)),
}


def version_tuple(text):
    """``"3.14.0rc1"`` -> ``(3, 14, 0)``: the leading integers of a version string."""
    parts = []
    for piece in str(text).split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) < len(piece):
            break
    return tuple(parts)


def untested_versions(tested=None):
    """One message per installed package outside ``tested`` (default ``TESTED``; empty when all are in).

    Reads the installed distributions' metadata (tf_slim has no ``__version__``);
    a missing package is reported too, except tf-keras under Keras 3.
    """
    from importlib import metadata

    problems = []
    for dist, (oldest, first_untested) in (TESTED if tested is None else tested).items():
        try:
            found = metadata.version(dist)
        except metadata.PackageNotFoundError:
            if dist == "tf-keras" and is_keras3():
                continue
            problems.append(f"{dist} is not installed; compat-reg needs {dist}>={_dotted(oldest)},<{_dotted(first_untested)}")
            continue
        if not oldest <= version_tuple(found) < first_untested:
            problems.append(
                f"{dist} {found} is outside the tested range >={_dotted(oldest)},<{_dotted(first_untested)}: "
                "results may differ from what compat-reg documents; install a tested version "
                "(pip install -c constraints.txt .) or run `make test-matrix` on this stack"
            )
    return problems


def _dotted(parts):
    return ".".join(str(p) for p in parts)
