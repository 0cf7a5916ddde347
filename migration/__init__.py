"""compat_reg.migration: porting tools built on compat_reg.

* ``compat_reg.migration.equivalence``: the staged numerical checker (``check_equivalence``).
* ``compat_reg.migration.codemods``: ``scan`` and ``migrate`` by qualified name.
* ``compat_reg.migration.cli``: the ``compat-reg`` command (also ``python -m compat_reg``).
* ``compat_reg.migration.demo_models``: the TF1 model and two Keras ports ``compat-reg demo`` checks;
  ``demo`` is the ``compat-reg demo`` verb.
* ``compat_reg.migration.exit_codes``: the exit codes of every verb, defined once.

Installed, this folder is the subpackage ``compat_reg.migration`` (no top-level
``migration`` is installed, so a project's own ``migration/`` is never shadowed).
In a source checkout ``import migration`` still works and gives the same module
objects as ``compat_reg.migration`` (see ``_alias``); it is deprecated there.

``check_equivalence`` and ``CheckResult`` are re-exported here, loaded on first
use: importing this package (as ``compat-reg scan`` does) must not import
TensorFlow.
"""

import importlib

_LAZY = {
    "check_equivalence": ".equivalence",
    "CheckResult": ".equivalence",
}

__all__ = sorted(_LAZY)

if __name__ == "migration":  # a source checkout: the top-level folder, imported by its old name
    from . import _alias

    import warnings

    _alias.install()
    warnings.warn(_alias.DEPRECATION, DeprecationWarning, stacklevel=2)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
