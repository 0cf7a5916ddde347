"""Source-checkout shim: ``compat_reg.migration`` is the top-level ``migration/`` folder.

Installed, this file does not exist: the wheel builds ``compat_reg.migration``
from ``migration/`` (``package-dir`` in pyproject.toml). In a checkout the folder
stays at the top, as the README shows; this shim makes ``compat_reg.migration``
the very module object ``migration`` is (loading it from this checkout's folder
when nothing has yet), and ``migration._alias`` answers ``compat_reg.migration.X``.
"""

import importlib.util
import os
import sys
import warnings

_FOLDER = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "migration")


def _checkout_migration():
    loaded = sys.modules.get("migration")
    if loaded is not None:
        if [os.path.abspath(p) for p in getattr(loaded, "__path__", [])] == [_FOLDER]:
            return loaded
        raise ImportError(
            f"compat_reg.migration: a different top-level `migration` package is already imported "
            f"({getattr(loaded, '__file__', loaded)!r}); in a compat-reg source checkout the name is taken "
            f"by {_FOLDER!r}. Install compat-reg (`pip install .`), which has no top-level `migration`."
        )
    spec = importlib.util.spec_from_file_location(
        "migration", os.path.join(_FOLDER, "__init__.py"), submodule_search_locations=[_FOLDER]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["migration"] = module
    try:
        with warnings.catch_warnings():  # the public name is being used: no deprecation warning
            warnings.simplefilter("ignore", DeprecationWarning)
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["migration"]
        raise
    return module


sys.modules[__name__] = _checkout_migration()
