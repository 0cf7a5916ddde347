"""migration: porting tools built on compat_reg.

* ``migration.equivalence``: the staged numerical checker (``check_equivalence``).
* ``migration.codemods``: ``scan`` and ``migrate`` by qualified name.
* ``migration.cli``: the ``compat-reg`` command.

``check_equivalence`` and ``CheckResult`` are re-exported here, loaded on first
use: importing ``migration`` (as ``compat-reg scan`` does) must not import
TensorFlow.
"""

import importlib

_LAZY = {
    "check_equivalence": ".equivalence",
    "CheckResult": ".equivalence",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
