"""Reconciliation lines and findings of the variance step: small, shared builders.

A reconciliation line is (section, line, rows, amount, status, note); ``status`` is ``OK`` when a
difference line is 0.00, ``Difference`` otherwise, ``Finding`` for findings. Amounts are built
from integer cents.
"""

from __future__ import annotations

import pandas as pd

from sop_xl.variance.money import to_cents

FINDING_COLUMNS = ["severity", "kind", "gl_account", "period", "rows", "amount", "message"]
RECON_COLUMNS = ["section", "line", "rows", "amount", "status", "note"]


def sum_cents(s: pd.Series) -> int:
    """Total of displayed amounts in integer cents (blank cells count 0)."""
    return int(to_cents(s.fillna(0.0)).sum())


def finding(
    severity: str,
    kind: str,
    message: str,
    gl_account: str | None = None,
    period: str | None = None,
    rows: int | None = None,
    amount: float | None = None,
) -> dict:
    """One reconciliation finding (a row of ``VarianceResult.findings``)."""
    return {
        "severity": severity,
        "kind": kind,
        "gl_account": gl_account,
        "period": period,
        "rows": rows,
        "amount": amount,
        "message": message,
    }


def recon_line(
    section: str,
    line: str,
    rows: int | None = None,
    amount_cents: int | None = None,
    status: str = "",
    note: str = "",
) -> dict:
    """One reconciliation line; the amount is given in integer cents."""
    return {
        "section": section,
        "line": line,
        "rows": None if rows is None else int(rows),
        "amount": None if amount_cents is None else int(amount_cents) / 100,
        "status": status,
        "note": note,
    }


def check(section: str, line: str, diff_cents: int, note: str = "") -> dict:
    """A difference line: status OK when it is exactly 0 cents, Difference otherwise."""
    status = "OK" if diff_cents == 0 else "Difference"
    return recon_line(section, line, None, diff_cents, status, note)


def recon_frame(lines: list[dict]) -> pd.DataFrame:
    """Reconciliation lines as a typed frame (rows Int64, amount float of exact cents)."""
    df = pd.DataFrame(lines, columns=RECON_COLUMNS)
    df["rows"] = df["rows"].astype("Int64")
    df["amount"] = df["amount"].astype("float64")
    return df


def finding_lines(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings as reconciliation lines (section Findings, status Finding, note = kind)."""
    rows = [
        recon_line(
            "Findings",
            f.message,
            None if pd.isna(f.rows) else f.rows,
            None if pd.isna(f.amount) else to_cents(f.amount),
            "Finding",
            f.kind,
        )
        for f in findings.itertuples()
    ]
    return recon_frame(rows)
