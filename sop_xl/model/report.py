"""Findings as the Validation report: one table, one look, for every step that validates."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from sop_xl.errors import Finding
from sop_xl.model.schema import VALIDATION_REPORT
from sop_xl.model.sheets import (
    AMBER_FILL,
    AMBER_FONT,
    GREEN_FILL,
    GREY_FILL,
    GREY_FONT,
    RED_FILL,
    RED_FONT,
    CellRule,
    SheetOutput,
)

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


#: A message quoting what a sender typed stays readable (and within Excel's cell limit).
MAX_MESSAGE = 2000


def _clip(text: str, n: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``n`` characters, marked with '...' when cut."""
    return text if len(text) <= n else text[: n - 3] + "..."


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings -> Validation table rows, errors first (then by file, in the order found).

    ``cell`` is the A1 reference (or "row N" when only the row is known); the column header, when
    known, leads the message so a reader never has to decode a letter.
    """
    recs = []
    for f in findings:
        w = f.where
        recs.append(
            {
                "severity": f.severity,
                "rule": f.rule or None,
                "file": Path(w.file).name if w.file else None,
                "sheet": _clip(w.sheet, 200) if w.sheet else w.sheet,
                "cell": w.cell or (f"row {w.row}" if w.row is not None else None),
                "message": _clip(
                    (f"column '{_clip(w.column, 200)}': " if w.column else "") + f.message
                ),
                "fix": _clip(f.fix) or None,
            }
        )
    df = pd.DataFrame(recs, columns=VALIDATION_REPORT.names).astype(object)
    if len(df):
        order = df["severity"].map(SEVERITY_ORDER).fillna(3)
        df = df.assign(_o=order).sort_values(["_o", "file"], kind="stable", na_position="first")
        df = df.drop(columns="_o").reset_index(drop=True)
    return df


def severity_formats() -> list[CellRule]:
    """Errors red and bold, warnings amber, info grey."""
    return [
        CellRule("severity", "equal", ('"error"',), fill=RED_FILL, font=RED_FONT, bold=True),
        CellRule("severity", "equal", ('"warning"',), fill=AMBER_FILL, font=AMBER_FONT),
        CellRule("severity", "equal", ('"info"',), fill=GREY_FILL, font=GREY_FONT),
    ]


def validation_output(findings: list[Finding], title: list[str]) -> SheetOutput:
    """The Validation sheet: the findings table under ``title``, tab red when errors exist."""
    errors = any(f.severity == "error" for f in findings)
    return SheetOutput(
        VALIDATION_REPORT,
        findings_frame(findings),
        title=title,
        conditional_formats=severity_formats(),
        tab_color=RED_FILL if errors else GREEN_FILL,
        column_widths={"message": 70, "fix": 55},
    )
