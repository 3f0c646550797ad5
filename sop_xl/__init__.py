"""sop_xl: spreadsheet-native Sales & Operations Planning for Excel.

The public API is the S&OP cycle as plain functions over a workbook (the CLI and the ribbon call
exactly these), the file-backed :class:`FileBook`, and the error types::

    import sop_xl
    book = sop_xl.FileBook("SOP_Planning.xlsm")
    print(sop_xl.validate(book).summary)
    print(sop_xl.cycle.consolidate(book, "submissions").summary)

Three steps share their name with a subpackage (``consolidate``, ``scorecard``, ``demo``); a
subpackage wins the attribute once imported, so those steps are reached as ``sop_xl.cycle.NAME``.

``import sop_xl`` stays cheap: the names below are loaded on first use (module ``__getattr__``),
so importing the package does not import pandas, numpy or xlwings.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# public name -> module that defines it (one table: __all__, __getattr__ and __dir__ use it)
_EXPORTS: dict[str, str] = {
    # the cycle steps (sop_xl.cycle)
    "StepResult": "sop_xl.cycle",
    "validate": "sop_xl.cycle",
    "regional_template": "sop_xl.cycle",
    "variances": "sop_xl.cycle",
    "kpis": "sop_xl.cycle",
    "freeze": "sop_xl.cycle",
    "verify": "sop_xl.cycle",
    "diff": "sop_xl.cycle",
    "build_workbook": "sop_xl.cycle",
    "run_cycle": "sop_xl.cycle",
    # workbooks
    "Book": "sop_xl.model.book",
    "FileBook": "sop_xl.io.filebook",
    # errors
    "SopError": "sop_xl.errors",
    "InputFileError": "sop_xl.errors",
    "SchemaError": "sop_xl.errors",
    "ValidationError": "sop_xl.errors",
    "StepError": "sop_xl.errors",
    "Finding": "sop_xl.errors",
    "Location": "sop_xl.errors",
}

_MODULES = ("cycle", "errors")  # submodules reachable as attributes without an explicit import

__all__ = [  # a literal list, so linters see it; a test keeps it equal to _MODULES + _EXPORTS
    "Book",
    "FileBook",
    "Finding",
    "InputFileError",
    "Location",
    "SchemaError",
    "SopError",
    "StepError",
    "StepResult",
    "ValidationError",
    "__version__",
    "build_workbook",
    "cycle",
    "diff",
    "errors",
    "freeze",
    "kpis",
    "regional_template",
    "run_cycle",
    "validate",
    "variances",
    "verify",
]


def _version() -> str:
    """The installed distribution's version (``importlib.metadata`` costs a click 30-40 ms:
    asked for only when ``__version__`` is)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sop-xl")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    """Load a public name on first access and cache it in the package namespace."""
    if name == "__version__":
        value = globals()[name] = _version()
        return value
    if name in _MODULES:
        return import_module(f"sop_xl.{name}")  # the import binds it in this namespace
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sop_xl' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), "__version__", *_MODULES, *_EXPORTS})


if TYPE_CHECKING:  # static checkers and IDEs see the real names
    from sop_xl import cycle, errors
    from sop_xl.cycle import (
        StepResult,
        build_workbook,
        diff,
        freeze,
        kpis,
        regional_template,
        run_cycle,
        validate,
        variances,
        verify,
    )
    from sop_xl.errors import (
        Finding,
        InputFileError,
        Location,
        SchemaError,
        SopError,
        StepError,
        ValidationError,
    )
    from sop_xl.io.filebook import FileBook
    from sop_xl.model.book import Book
