"""Thin: metadata is in pyproject.toml; here only what a TOML table cannot say.

* **Packages, found, and the name mapping.** The checkout keeps ``migration/`` at
  the top (the README's layout); installed it is the subpackage
  ``compat_reg.migration``, so no generic top-level ``migration`` lands in
  site-packages. Subpackages are found, never listed, so a new one cannot be left
  out of the wheel. The checkout-only shim ``compat_reg/migration/`` is not
  shipped: the mapping builds ``compat_reg.migration`` from ``migration/``.
* **A clean tree.** setuptools writes ``build/`` and ``*.egg-info`` next to the
  sources by default, even under ``pip install .``; both go to a fresh temporary
  directory instead (one per build, removed when the build exits: a directory
  shared between builds would carry files of one tree or revision into the next
  wheel), so a build leaves the checkout as it was.
"""

import atexit
import os
import shutil
import tempfile

from setuptools import find_packages
from setuptools import setup

PACKAGES = (
    ["compat_reg"]
    + ["compat_reg." + p for p in find_packages("compat_reg") if p != "migration" and not p.startswith("migration.")]
    + ["compat_reg.migration"]
    + ["compat_reg.migration." + p for p in find_packages("migration")]
)

_OUT = tempfile.mkdtemp(prefix="compat-reg-build-")
atexit.register(shutil.rmtree, _OUT, ignore_errors=True)

setup(
    packages=PACKAGES,
    package_dir={"compat_reg.migration": "migration"},
    options={"egg_info": {"egg_base": _OUT}, "build": {"build_base": os.path.join(_OUT, "build")}},
)
