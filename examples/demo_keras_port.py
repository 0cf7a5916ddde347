"""The demo's correct Keras port, as ``examples.demo_keras_port:build`` in a source checkout.

It ships inside the package (``compat_reg.migration.demo_models.keras_port``); this
module re-exports it under the name the README and ``compat-reg check`` examples use.
"""

from compat_reg.migration.demo_models.keras_port import build

__all__ = ["build"]
