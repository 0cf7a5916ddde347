"""migration.equivalence: the staged numerical equivalence checker (TF1 graph vs Keras).

``check_equivalence(old, new, inputs=...)`` runs the stages (``stages/``: build,
variables, regularization, forward, gradients, steps, and statistics in training
mode) over two sides (``sides/``: the TF1 graph, the Keras model), stops at the
first failing stage and says which and why (``CheckResult``; ``Diagnosis`` codes
from the rule table in ``diagnoses``). ``optimizers`` holds the TF1 / Keras
optimizer table; ``checkpoint`` carries a TF1 checkpoint to the port.

Also here, one concept each: ``checker`` (``check_equivalence``: the spec, the sides,
the pipeline), ``context`` (what one check knows), ``compare`` (tolerances and the one
comparison), ``_matching`` (old variables to new weights), ``_penalties`` / ``probing``
(penalties found by probing, never by trusting regularizer objects), ``_structure``
(several inputs and outputs), ``_losses`` (data losses by name, seeded data),
``_rule`` / ``_training_rules`` (the diagnosis table's records and training rules),
``optimizer_conventions`` (re-measured conventions), ``backends`` (the Keras 3
backends a new side may use), ``result`` (``CheckResult``, JSON, table), ``plots``,
``cases`` and ``selftest`` (the registered case table, ``compat-reg selftest``),
``command`` / ``checkpoint_command`` / ``_cli_inputs`` (the ``check``, ``selftest`` and
``convert-checkpoint`` verbs).
"""

import importlib

# public name -> the submodule that defines it, imported on first use (PEP 562): the CLI
# registers `check`'s parser through this package without importing TensorFlow.
_EXPORTS = {
    "DEFAULT_TOLERANCES": ".checker",
    "check_equivalence": ".checker",
    "Diagnosis": ".diagnoses",
    "STAGES": ".result",
    "CheckResult": ".result",
    "Stage": ".result",
    "UsageError": ".sides",
    "UserCodeError": ".sides",
}

__all__ = sorted(_EXPORTS) + ["diagnoses"]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    if name == "diagnoses":
        return importlib.import_module(".diagnoses", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
