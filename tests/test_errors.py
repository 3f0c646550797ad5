"""sop_xl.errors: every exception class lives in errors.py, under SopError."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from sop_xl import errors

PKG = Path(errors.__file__).parent
#: stand-ins for third-party exceptions (pywin32's com_error, stubbed to import xlwings on Linux)
FOREIGN = {"com_error"}


def test_no_exception_class_outside_errors_py() -> None:
    """A class whose base name ends in Error/Exception, or is SopError, is declared only in
    errors.py (one place to read what can go wrong)."""
    strays = []
    for path in sorted(PKG.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PKG:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                }
                if node.name not in FOREIGN and any(
                    b.endswith(("Error", "Exception")) for b in bases
                ):
                    strays.append(f"{path.relative_to(PKG.parent)}:{node.lineno} {node.name}")
    assert strays == []


def test_every_exception_is_a_sop_error() -> None:
    classes = [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, BaseException) and c.__module__ == errors.__name__
    ]
    assert len(classes) >= 10
    assert all(issubclass(c, errors.SopError) for c in classes)


def test_argument_error_is_also_a_value_error() -> None:
    """Callers that catch ValueError for a bad option keep working."""
    e = errors.ArgumentError("by must be one of item, family; not 'x'", fix="Use item.")
    assert isinstance(e, ValueError)
    assert str(e) == "by must be one of item, family; not 'x' Fix: Use item."


def test_user_triggered_bad_options_are_sop_errors() -> None:
    """The bad options a planner can type (a scorecard direction, a comparison level) raise a
    SopError subclass with the accepted values, not a bare ValueError."""
    import pandas as pd

    from sop_xl.scorecard.rag import rag
    from sop_xl.variance.plan import compare

    with pytest.raises(errors.ArgumentError, match="direction must be one of"):
        rag(pd.Series([1.0]), pd.Series([1.0]), pd.Series([0.9]), pd.Series(["up"]))
    with pytest.raises(errors.ArgumentError, match="by must be one of"):
        compare(None, "nowhere", pd.DataFrame(), pd.DataFrame())  # type: ignore[arg-type]


#: the engine packages (tests/test_architecture.py): what they raise, a user may see
ENGINES = ("kpi", "variance", "scorecard", "supply", "scenario", "history", "summary", "outlook")


def test_engines_raise_no_bare_value_error() -> None:
    """Issue 19 counted 17 bare ValueErrors; an engine raises a SopError subclass (ArgumentError
    is also a ValueError), so the CLI and the ribbon show its message and fix."""
    strays = []
    for pkg in ENGINES:
        for path in sorted((PKG / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                exc = node.exc if isinstance(node, ast.Raise) else None
                name = exc.func if isinstance(exc, ast.Call) else exc
                if isinstance(name, ast.Name) and name.id in ("ValueError", "TypeError"):
                    strays.append(f"{path.relative_to(PKG.parent)}:{node.lineno}")
    assert strays == []


def test_registry_and_grouping_misuse_raise_argument_errors() -> None:
    import dataclasses

    from sop_xl.kpi.defs import KPIS
    from sop_xl.kpi.native import NATIVE
    from sop_xl.variance.group import group_ids

    with pytest.raises(errors.ArgumentError, match="perspective 'Fun' not in PERSPECTIVES"):
        dataclasses.replace(KPIS["wmape"], perspective="Fun")
    with pytest.raises(errors.ArgumentError, match="owner_role"):
        dataclasses.replace(KPIS["wmape"], owner_role="Nobody")
    with pytest.raises(errors.ArgumentError, match="at least one key column"):
        group_ids([])
    with pytest.raises(errors.ArgumentError, match="no parameter"):
        NATIVE["SOP_WMAPE"].call(actuals="A1", forecasts="B1", season="12")
    with pytest.raises(errors.ArgumentError, match="'forecasts' is required"):
        NATIVE["SOP_WMAPE"].call(actuals="A1")
