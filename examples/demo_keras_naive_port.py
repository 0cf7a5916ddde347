"""The demo's naive Keras port, as ``examples.demo_keras_naive_port:build`` in a source checkout.

It ships inside the package (``compat_reg.migration.demo_models.keras_naive_port``);
this module re-exports it under the name the README and ``compat-reg check`` examples use.
"""

from compat_reg.migration.demo_models.keras_naive_port import build

__all__ = ["build"]
