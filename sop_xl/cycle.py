"""The S&OP cycle steps as plain functions over a :class:`~sop_xl.book.Book`.

The ribbon (``sop_xl.excel.ribbon``) and the CLI (``sop_xl.cli``) both call these and nothing
else, so a button and a command produce the same tables. Each step reads what it needs, writes its
output sheets in one all-or-nothing write, and returns a :class:`StepResult` whose ``summary`` is
the plain-language line shown to the user.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sop_xl import reader
from sop_xl.book import Book
from sop_xl.errors import Finding, Location, SopError
from sop_xl.schema import BY_ALIAS, INPUT_TABLES, VALIDATION_REPORT, Table
from sop_xl.sheets import AMBER_FILL, AMBER_FONT, RED_FILL, RED_FONT, CellRule, SheetOutput


@dataclass
class StepResult:
    """What a step did, in one line for people and in detail for code."""

    step: str
    summary: str
    ok: bool = True
    outputs: list[SheetOutput] = field(default_factory=list)
    detail: Any = None  # the step module's own result object


def user() -> str:
    """Who runs the step (for audit trails)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers and services
        return "unknown"


# --- validate ------------------------------------------------------------------------------------
def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    """Findings as rows of the Validation report table (errors first)."""
    order = {"error": 0, "warning": 1, "info": 2}
    rows = [
        {
            "severity": f.severity,
            "rule": f.rule,
            "file": Path(f.where.file).name if f.where.file else None,
            "sheet": f.where.sheet,
            "cell": f.where.cell or (f"row {f.where.row}" if f.where.row else None),
            "message": (f"column '{f.where.column}': " if f.where.column else "") + f.message,
            "fix": f.fix,
        }
        for f in sorted(findings, key=lambda f: order.get(f.severity, 3))
    ]
    return pd.DataFrame(rows, columns=VALIDATION_REPORT.names)


def validation_output(findings: list[Finding], title: str) -> SheetOutput:
    """The Validation sheet, severity in colour."""
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    return SheetOutput(
        VALIDATION_REPORT,
        findings_frame(findings),
        title=[title, f"{errors} error(s), {warnings} warning(s)"],
        conditional_formats=[
            CellRule("severity", "equal", ('"error"',), RED_FILL, RED_FONT, bold=True),
            CellRule("severity", "equal", ('"warning"',), AMBER_FILL, AMBER_FONT),
        ],
        column_widths={"message": 70, "fix": 55},
    )


def check_references(tables: dict[str, reader.Coerced], book_name: str) -> list[Finding]:
    """Every ``Column.ref`` value must exist in the referenced master table."""
    findings: list[Finding] = []
    for table in INPUT_TABLES:
        result = tables.get(table.name)
        if result is None or result.df.empty:
            continue
        for column in table.columns:
            if not column.ref:
                continue
            alias, key = column.ref.split(".")
            target = tables.get(BY_ALIAS[alias].name)
            if target is None:
                continue
            values = result.df[column.name]
            unknown = values.notna() & ~values.isin(set(target.df[key].dropna()))
            idx = np.flatnonzero(unknown.to_numpy(bool))
            seen: set[object] = set()
            for i in idx:
                value = values.iloc[i]
                if value in seen:
                    continue
                seen.add(value)
                row = int(result.excel_rows[i]) if len(result.excel_rows) > i else None
                findings.append(
                    Finding(
                        "error",
                        f"'{value}' is not in {BY_ALIAS[alias].title} "
                        f"({(unknown & values.eq(value)).sum()} row(s)).",
                        Location(book_name, table.sheet, table.name, row=row, column=column.header),
                        f"Add '{value}' to the {BY_ALIAS[alias].sheet} sheet, or correct it.",
                        "ref.unknown",
                    )
                )
                if len(seen) >= reader.MAX_FINDINGS_PER_COLUMN:
                    break
    return findings


def validate(book: Book, *, write: bool = True) -> StepResult:
    """Validate every input table: types, required values, keys, references, settings."""
    findings: list[Finding] = []
    coerced: dict[str, reader.Coerced] = {}
    for i, table in enumerate(INPUT_TABLES):
        book.progress(f"Checking {table.title}", i / len(INPUT_TABLES))
        if not book.has_table(table):
            findings.append(
                Finding(
                    "error",
                    f"sheet '{table.sheet}' with table {table.name} is missing.",
                    Location(book.name, table.sheet),
                    "Rebuild the workbook from the standard template (sop-xl build-workbook).",
                    "sheet.missing",
                )
            )
            continue
        try:
            result = read_coerced(book, table)
        except SopError as exc:
            findings.append(Finding("error", exc.message, exc.where, exc.fix or "", "read"))
            continue
        coerced[table.name] = result
        findings.extend(result.findings)
    findings.extend(check_references(coerced, book.name))
    try:
        book.read_settings()
    except SopError as exc:
        findings.extend(getattr(exc, "findings", [Finding("error", exc.message, exc.where)]))
    book.progress("Validation done", 1.0)
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    output = validation_output(findings, f"Validation of {book.name}")
    if write:
        book.write([output])
    summary = (
        f"Inputs valid: {len(coerced)} tables checked, {warnings} warning(s)."
        if not errors
        else f"{errors} error(s) and {warnings} warning(s) in the inputs: see the Validation sheet."
    )
    return StepResult("validate", summary, errors == 0, [output], findings)


def read_coerced(book: Book, table: Table) -> reader.Coerced:
    """Non-strict read: typed good rows plus findings (books that cannot, read strictly)."""
    read_raw: Callable[[Table], reader.RawTable] | None = getattr(book, "read_raw", None)
    if read_raw is not None:
        return reader.coerce(table, read_raw(table))
    return reader.Coerced(book.read_table(table))
