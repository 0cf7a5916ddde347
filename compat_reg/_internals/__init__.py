"""The one seam between compat_reg and the private internals of its upstreams.

Nothing outside this package imports ``tensorflow.python``, ``keras.src`` or
``tf_keras.src``, or touches an underscore name of a TensorFlow, Keras, tf_keras or
tf_slim object; ``tests/test_internals_seam.py`` guards that. Each upstream has one
small module here:

* ``tf_variable_scope``: TF1's variable store and variable-scope store;
* ``tf_graph``: graph, tensor and op internals (collections, control-flow contexts);
* ``keras3``: Keras 3 internals;
* ``tf_keras``: tf_keras (Keras 2) internals.

Every module declares ``REACHES``: one :class:`Reach` per private symbol it uses,
with the versions it was checked on. The seam test imports each module and probes
every reach on the installed stack, so an upgrade that removes or renames one fails
with a message naming the symbol and the version, instead of breaking silently
inside a user's model.
"""

import dataclasses
import importlib


@dataclasses.dataclass(frozen=True)
class Reach:
    """One private upstream symbol: ``module`` (importable) and a dotted ``attribute`` path in it.

    ``checked_on`` names the upstream versions it was read and tested on; ``why`` says
    what compat_reg needs it for and what would replace it.
    """

    module: str
    attribute: str
    checked_on: str
    why: str

    def probe(self):
        """Resolve the symbol; raise ``LookupError`` naming it and the installed version."""
        try:
            obj = importlib.import_module(self.module)
        except ImportError as error:
            raise LookupError(f"{self.module} cannot be imported ({error}); checked on {self.checked_on}") from None
        for part in self.attribute.split(".") if self.attribute else ():
            if not hasattr(obj, part):
                top = importlib.import_module(self.module.split(".")[0])
                version = getattr(top, "__version__", "unknown version")
                raise LookupError(
                    f"{self.module}.{self.attribute} is missing on {self.module.split('.')[0]} {version} "
                    f"(checked on {self.checked_on}); compat_reg needs it {self.why}"
                )
            obj = getattr(obj, part)
        return obj


MODULES = ("tf_variable_scope", "tf_graph", "keras3", "tf_keras")
