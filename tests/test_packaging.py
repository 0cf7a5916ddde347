"""The package as built: the wheel's contents and metadata, a clean tree, one module per name.

The wheel is built once per module from this checkout (``pip wheel --no-deps``,
in an isolated build environment as a user's pip does) and read as a zip; the working tree is
compared before and after.
"""

import email.parser
import os
import re
import subprocess
import sys
import zipfile

import pytest

import compat_reg
from compat_reg import _flavor
from migration import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tree_listing():
    """Every path under the checkout except .git and caches: what a build must not change."""
    listing = set()
    for base, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in (".git", "__pycache__", ".pytest_cache", ".venv")]
        listing.update(os.path.relpath(os.path.join(base, n), ROOT) for n in dirs + files)
    return listing


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``(wheel zipfile, tree before, tree after)`` for one build of this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    before = _tree_listing()
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), ROOT],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    after = _tree_listing()
    (wheel,) = out.glob("compat_reg-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        yield zf, before, after


def _metadata(zf):
    name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
    return email.parser.Parser().parsestr(zf.read(name).decode())


def _requirement_lines(path):
    lines = open(os.path.join(ROOT, path), encoding="utf-8").read().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def _normalized(requirement):
    """``"keras<3.16,>=3.3.3"`` and ``"keras>=3.3.3,<3.16"`` -> ``("keras", {"<3.16", ">=3.3.3"})``."""
    name, spec = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement.split(";")[0]).groups()
    return name.lower().replace("_", "-"), frozenset(s.strip() for s in spec.split(",") if s.strip())


def test_build_leaves_the_tree_as_it_was(built):
    _, before, after = built
    assert sorted(after - before) == []
    assert not [p for p in after if p == "build" or p.endswith(".egg-info")]


def test_wheel_holds_every_package_under_its_installed_name(built):
    zf, _, _ = built
    names = set(zf.namelist())
    expected = set()
    for top, installed in (("compat_reg", "compat_reg"), ("migration", "compat_reg/migration")):
        for base, dirs, files in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            rel = os.path.relpath(base, os.path.join(ROOT, top))
            if top == "compat_reg" and (rel == "migration" or rel.startswith("migration" + os.sep)):
                continue  # the checkout-only shim; the wheel builds compat_reg.migration from migration/
            for f in files:
                if f.endswith(".py"):
                    expected.add("/".join(p for p in (installed, rel.replace(os.sep, "/"), f) if p != "."))
    assert sorted(expected - names) == []
    shipped_py = {n for n in names if n.endswith(".py")}
    assert sorted(shipped_py - expected) == [], "the wheel holds files this tree does not have (a stale build dir?)"
    shipped_init = zf.read("compat_reg/migration/__init__.py").decode()
    assert shipped_init == open(os.path.join(ROOT, "migration", "__init__.py"), encoding="utf-8").read()


def test_wheel_ships_the_demo_models_and_entry_point(built):
    zf, _, _ = built
    names = set(zf.namelist())
    for module in ("tf1_model", "keras_port", "keras_naive_port"):
        assert f"compat_reg/migration/demo_models/{module}.py" in names
    assert "compat_reg/__main__.py" in names
    entry_points = zf.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "compat-reg = compat_reg.migration.cli:main" in entry_points


def test_metadata_license_python_and_ranges(built):
    zf, _, _ = built
    meta = _metadata(zf)
    assert meta["Version"] == compat_reg.__version__ == cli.VERSION
    assert meta["License-Expression"] == "Apache-2.0"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in zf.namelist())
    assert meta["Requires-Python"] == ">=3.11"
    pythons = sorted(c.rsplit(":: ", 1)[1] for c in meta.get_all("Classifier") if re.search(r"Python :: 3\.\d+$", c))
    assert pythons == ["3.11", "3.12", "3.13"]
    requires = meta.get_all("Requires-Dist")
    runtime = {_normalized(r) for r in requires if "extra ==" not in r}
    test_extra = {_normalized(r) for r in requires if 'extra == "test"' in r}
    assert runtime == {_normalized(r) for r in _requirement_lines("requirements.txt")}
    assert test_extra == {_normalized(r) for r in _requirement_lines("requirements-test.txt")}
    assert all(any(s.startswith("<") for s in spec) for _, spec in runtime), "every range has an upper bound"


def test_tested_ranges_in_flavor_match_requirements():
    """``_flavor.TESTED`` (what selftest checks) states the same ranges as requirements.txt."""
    ranges = dict(_normalized(r) for r in _requirement_lines("requirements.txt"))
    for dist, (oldest, first_untested) in _flavor.TESTED.items():
        dotted = (".".join(map(str, oldest)), ".".join(map(str, first_untested)))
        assert ranges[dist] == {f">={dotted[0]}", f"<{dotted[1]}"}, dist


def test_constraint_files_pin_a_version_inside_every_range():
    ranges = dict(_normalized(r) for r in _requirement_lines("requirements.txt"))
    for path in ("constraints.txt", os.path.join(".ci", "constraints-tf216.txt")):
        pins = dict(ln.split("==", 1) for ln in _requirement_lines(path))
        pins = {k.lower().replace("_", "-"): v for k, v in pins.items()}
        for dist, spec in ranges.items():
            oldest = next(s[2:] for s in spec if s.startswith(">="))
            first_untested = next(s[1:] for s in spec if s.startswith("<"))
            found = _flavor.version_tuple(pins[dist])
            assert _flavor.version_tuple(oldest) <= found < _flavor.version_tuple(first_untested), (path, dist)


_PUBLIC_FIRST = """
import sys, warnings
warnings.simplefilter("error", DeprecationWarning)
import compat_reg.migration.cli
import migration.cli
import compat_reg.migration.codemods.rules as public
import migration.codemods.rules as checkout
import compat_reg.migration.equivalence.result as public_result
import migration.equivalence.result as checkout_result
print(public is checkout, public_result.CheckResult is checkout_result.CheckResult,
      sys.modules["compat_reg.migration"] is sys.modules["migration"], public.__spec__.name)
"""


def test_public_name_first_then_checkout_name_give_the_same_module_objects():
    """A fresh process importing ``compat_reg.migration`` first (the shim's path), without a warning."""
    proc = subprocess.run([sys.executable, "-c", _PUBLIC_FIRST], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "True", "True", "migration.codemods.rules"]


def test_checkout_name_first_then_public_name_give_the_same_module_objects():
    """This process imported ``migration`` before any ``compat_reg.migration`` (conftest, test modules)."""
    import importlib

    import migration.codemods.scan

    public = importlib.import_module("compat_reg.migration.codemods.scan")
    assert public is migration.codemods.scan
    assert public.ScanResult is migration.codemods.scan.ScanResult
    assert importlib.import_module("compat_reg.migration") is migration
    assert public.__spec__.name == "migration.codemods.scan"


def test_importing_the_checkout_name_warns_once_with_the_fix():
    code = (
        "import sys, warnings\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    import migration.cli\n"
        "print([str(x.message) for x in w if x.category is DeprecationWarning])\n"
        "print('tensorflow' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warned, tensorflow_imported = proc.stdout.strip().splitlines()
    assert warned == (
        "['`import migration` works only in a compat-reg source checkout and is deprecated; "
        "import `compat_reg.migration` instead (the installed name).']"
    )
    assert tensorflow_imported == "False"
