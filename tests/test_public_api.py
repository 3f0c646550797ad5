"""sop_xl/__init__.py: the public API is complete, resolves lazily, keeps the import cheap."""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import subprocess
import sys

import pytest

import sop_xl


def test_import_is_cheap() -> None:
    """`import sop_xl` loads neither pandas, numpy nor xlwings (a fresh interpreter proves it)."""
    code = (
        "import sys, sop_xl; heavy = {'pandas', 'numpy', 'xlwings', 'openpyxl'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_all_matches_the_lazy_table() -> None:
    assert sorted(sop_xl.__all__) == sorted(["__version__", *sop_xl._MODULES, *sop_xl._EXPORTS])


def test_version_from_metadata() -> None:
    assert sop_xl.__version__ == importlib.metadata.version("sop-xl")


def test_every_public_name_resolves_and_survives_subpackage_imports() -> None:
    """Each name in __all__ is the object of its defining module, even after every subpackage was
    imported (a subpackage named like a step would silently replace the step's attribute)."""
    for info in pkgutil.walk_packages(sop_xl.__path__, "sop_xl."):
        importlib.import_module(info.name)
    for name in sop_xl.__all__:
        value = getattr(sop_xl, name)
        if name == "__version__" or name in sop_xl._MODULES:
            continue
        assert value is getattr(importlib.import_module(sop_xl._EXPORTS[name]), name), name
    assert sop_xl.cycle.consolidate.__module__ == "sop_xl.cycle"
    assert set(dir(sop_xl)) >= set(sop_xl.__all__)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        sop_xl.no_such_thing  # noqa: B018
