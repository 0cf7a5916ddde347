"""One package, two names in a source checkout: ``compat_reg.migration`` is ``migration``.

Installed (``pip install``), the porting tools are the subpackage
``compat_reg.migration``: the wheel holds no top-level ``migration``, so a user
project with its own ``migration/`` package keeps it. In a source checkout the
folder sits at the top, as the README shows, and ``import migration`` still works
there (deprecated: a ``DeprecationWarning`` says to import ``compat_reg.migration``).

Both names must give the SAME module objects, or every class would exist twice
(``isinstance`` fails across the two, registries hold two copies). In a checkout
the loaded package is ``migration`` (importing it imports no TensorFlow, so
``compat-reg scan`` stays fast) and this module's finder answers
``compat_reg.migration.X`` with the module ``migration.X``; the checkout-only
shim ``compat_reg/migration/__init__.py`` answers ``compat_reg.migration`` itself.
"""

import importlib
import importlib.util
import sys

PUBLIC = "compat_reg.migration"
CHECKOUT = "migration"
DEPRECATION = (
    "`import migration` works only in a compat-reg source checkout and is deprecated; "
    "import `compat_reg.migration` instead (the installed name)."
)


class AliasFinder:
    """Answer ``compat_reg.migration.X`` with the already importable ``migration.X``.

    ``create_module`` imports and returns the real module; importlib then sets the
    module's ``__spec__`` to the alias spec, which ``exec_module`` puts back, so the
    module keeps its one true name (relative imports, ``reload``, pickling).
    (A ``MetaPathFinder`` and ``Loader`` by protocol; ``importlib.abc`` costs
    50 ms of start-up.)
    """

    def __init__(self):
        self._own_specs = {}

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PUBLIC + "."):
            return None
        real = CHECKOUT + fullname[len(PUBLIC):]
        if real not in sys.modules and importlib.util.find_spec(real) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module(CHECKOUT + spec.name[len(PUBLIC):])
        self._own_specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        """The real module is already executed; give it back its own spec."""
        module.__spec__ = self._own_specs.pop(module.__spec__.name)


def install():
    """Put the finder first on ``sys.meta_path`` (once), ahead of the path finder."""
    if not any(isinstance(f, AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
