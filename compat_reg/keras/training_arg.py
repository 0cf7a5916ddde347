"""Which parameter of a TF1 model function receives Keras' ``training`` flag.

TF1 model functions take their mode as a boolean parameter, under many names
(tf_slim's nets: ``is_training``; FaceNet: ``phase_train``; others ``is_train``,
``train``, ``mode``...). ``TF1Layer`` wires exactly one: the one named with
``training_arg=``, else ``is_training`` or ``training``. Any other boolean
parameter that looks like a training flag and is neither wired nor fixed in
``fn_kwargs`` is an error, because it would silently keep its default (a
``phase_train=True`` net would update its batch-norm moving averages under
``model(x, training=False)``).
"""

import inspect
import re

WIRED_BY_DEFAULT = ("is_training", "training")

# Names (lower case, underscores removed) of parameters that look like a training flag.
LOOKS_LIKE_TRAINING = frozenset({
    "istraining", "training", "phasetrain", "phasetraining", "istrain", "train", "trainmode",
    "trainingmode", "trainphase", "trainingphase", "istrainingphase", "mode", "phase", "trainflag",
    "trainingflag", "isphasetrain",
})


def _normalized(name):
    return re.sub(r"_", "", name).lower()


def _parameters(fn):
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}


def training_parameter(fn, fn_kwargs, training_arg=None, layer_name="tf1_layer"):
    """The parameter of ``fn`` that receives Keras' ``training`` (or None); raises for an unwired look-alike.

    Raises:
      ValueError: ``training_arg`` is not a parameter of ``fn`` or is fixed in
        ``fn_kwargs``; or a boolean parameter that looks like a training flag is
        neither wired nor fixed (the message names it and both fixes).
    """
    params = _parameters(fn)
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    if training_arg is not None:
        if not isinstance(training_arg, str) or not training_arg:
            raise ValueError(
                "Invalid value for argument `training_arg`. Expected the name of a parameter of "
                f"`fn` (a string). Received: training_arg={training_arg!r}"
            )
        if training_arg not in params and not takes_kwargs:
            raise ValueError(
                f"Invalid value for argument `training_arg`. Expected a parameter of "
                f"{getattr(fn, '__name__', fn)!r}, whose parameters are {list(params)}. "
                f"Received: training_arg={training_arg!r}"
            )
        if training_arg in fn_kwargs:
            raise ValueError(
                f"TF1Layer {layer_name!r}: training_arg={training_arg!r} is also fixed in the "
                f"function's keyword arguments ({training_arg}={fn_kwargs[training_arg]!r}). Either "
                "wire it to Keras' training flag (training_arg=...) or fix its value, not both."
            )
        wired = training_arg
    else:
        wired = next((a for a in WIRED_BY_DEFAULT if a in params and a not in fn_kwargs), None)
    for name, param in params.items():
        if name == wired or name in fn_kwargs or name in WIRED_BY_DEFAULT:
            continue
        if _normalized(name) in LOOKS_LIKE_TRAINING and isinstance(param.default, bool):
            raise ValueError(
                f"TF1Layer {layer_name!r}: the function {getattr(fn, '__name__', fn)!r} has the boolean "
                f"parameter `{name}` (default {param.default}), which looks like a training flag, "
                f"but Keras' `training` is wired to {('`' + wired + '`') if wired else 'no parameter'}. "
                f"Left alone it stays {param.default} under model(x, training=...). Pass "
                f"training_arg={name!r} to wire it, or fix it with {name}=... in the TF1Layer's "
                "keyword arguments."
            )
    return wired
