"""The small exception hierarchy of sop_xl.

Every error a user can cause carries *where* (file, sheet, row, column) and *what to do next*
(``fix``). ``str(error)`` is a complete plain-language sentence: the CLI prints it, the ribbon
shows it in a message box, a UDF returns it as ``#SOP! ...`` text. No traceback reaches a user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """Where a finding is: any field may be unknown (None)."""

    file: str | None = None
    sheet: str | None = None
    table: str | None = None
    row: int | None = None  # 1-based Excel row number
    column: str | None = None  # column header as the user sees it
    cell: str | None = None  # A1 reference, when known

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"file {Path(self.file).name}")
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        if self.table:
            parts.append(f"table {self.table}")
        if self.cell:
            parts.append(f"cell {self.cell}")
        else:
            if self.row is not None:
                parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)


def reading_failure(exc: BaseException) -> bool:
    """True for what a reader (python-calamine) raises on a damaged or hostile file: its own
    error types, and a Rust panic, which pyo3 raises as ``PanicException``, a BaseException that
    ``except Exception`` misses (the step would end in a traceback); False for Ctrl+C and an
    exit. The one test of "this file cannot be read" around every calamine call."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def failure_text(exc: BaseException) -> str:
    """A reading failure for a message: its type and its text on one line, at most 200 chars."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


class SopError(Exception):
    """Base class: something the user can act on. ``str()`` is the full message."""

    def __init__(self, message: str, *, where: Location | None = None, fix: str | None = None):
        self.message = message
        self.where = where or Location()
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = self.message
        where = str(self.where)
        if where:
            text = f"{where}: {text}"
        if self.fix:
            text = f"{text} Fix: {self.fix}"
        return text


class InputFileError(SopError):
    """A file cannot be read safely: wrong type, corrupt, encrypted, too large, a bomb."""


class SchemaError(SopError):
    """A sheet or table is missing, or its columns do not match the declared schema."""


@dataclass
class Finding:
    """One validation finding, as shown in validation reports."""

    severity: str  # "error" | "warning" | "info"
    message: str
    where: Location = field(default_factory=Location)
    fix: str = ""
    rule: str = ""

    def __str__(self) -> str:
        return str(SopError(self.message, where=self.where, fix=self.fix or None))


class ValidationError(SopError):
    """One or more cell-level findings of severity error. ``findings`` lists them all."""

    def __init__(self, findings: list[Finding], *, max_shown: int = 10):
        self.findings = findings
        errors = [f for f in findings if f.severity == "error"]
        shown = "\n".join(f"  - {f}" for f in errors[:max_shown])
        more = f"\n  ... and {len(errors) - max_shown} more" if len(errors) > max_shown else ""
        super().__init__(f"{len(errors)} problem(s) found:\n{shown}{more}")

    def __str__(self) -> str:
        return self.message


class StepError(SopError):
    """A cycle step cannot run (for example a missing output of an earlier step)."""


class ArgumentError(SopError, ValueError):
    """An option has a value the function does not know (``by='cutomer'``, a direction that is
    neither ``higher`` nor ``lower``...). Also a ``ValueError``, as Python callers expect."""


class BuildError(SopError):
    """The workbook cannot be built (missing source, UDF module that does not import...)."""


class KpiUndefined(SopError):
    """The KPI has no meaningful value for this input (e.g. WMAPE when actuals sum to 0)."""


class KpiInputError(SopError):
    """The input cannot be scored as given (mismatched lengths, text in a numeric range...)."""


class MissingCachedValues(SopError):
    """Formulas without cached values and no way to recalculate them (freezing a plan)."""


class MissingStep(SopError):
    """The installed sop_xl has no cycle function for this ribbon button."""


class FrozenPlanError(SopError):
    """A command or button would write into a frozen plan snapshot; frozen plans never change."""
