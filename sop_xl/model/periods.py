"""Planning periods are calendar months written ``YYYY-MM`` (text), everywhere.

Text sorts correctly, survives every spreadsheet application and date system, and is what a
planner types as a column header of a planning grid.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def is_period(text: object) -> bool:
    """True for ``'2026-11'``-style text."""
    return isinstance(text, str) and PERIOD_RE.match(text.strip()) is not None


def to_period(value: object) -> str | None:
    """``'2026-11'``, a date/datetime or an Excel-style ``'2026-11-01'`` text -> ``'2026-11'``.

    Returns None when the value is not a month.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, dt.date | pd.Timestamp):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, str):
        text = value.strip()
        if PERIOD_RE.match(text):
            return text
        m = re.match(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?$", text)
        if m and 1 <= int(m.group(2)) <= 12:
            return f"{m.group(1)}-{m.group(2)}"
    return None


def add_months(period: str, n: int) -> str:
    """``add_months('2026-11', 2) == '2027-01'``."""
    year, month = int(period[:4]), int(period[5:7])
    index = year * 12 + (month - 1) + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def period_range(start: str, count: int) -> list[str]:
    """``count`` consecutive periods starting at ``start``."""
    return [add_months(start, i) for i in range(count)]


def months_between(a: str, b: str) -> int:
    """Number of months from ``a`` to ``b`` (b - a)."""
    return (int(b[:4]) - int(a[:4])) * 12 + int(b[5:7]) - int(a[5:7])


def month_index(
    period: pd.Series | np.ndarray | Sequence[object], blank: float = np.nan
) -> np.ndarray:
    """'YYYY-MM' -> months since year 0 (``'2026-01'`` -> 2026 * 12), vectorised: each distinct
    value parsed once. A blank (None, NaN, NaT, pd.NA, '' or spaces) is never a month but
    ``blank``: NaN (floats out), the explicit missing marker that stays NaN through arithmetic
    and fails every comparison (the history engine's policy), or an int such as -1 (int64 out:
    the KPI engine's). Text that is not a month raises ValueError."""
    # objects: faster to factorise than a pyarrow string column, and every blank kind is -1
    codes, uniq = pd.factorize(np.asarray(period, dtype=object))
    u = pd.Series(np.asarray(uniq, dtype=object), dtype=object).astype(str).str.strip()
    filled = (u != "").to_numpy()
    idx = np.full(len(u) + 1, blank, dtype=np.int64 if isinstance(blank, int) else float)
    f = u[filled]  # the last entry of idx: for code -1, a missing value
    idx[:-1][filled] = (
        f.str.slice(0, 4).astype(int) * 12 + f.str.slice(5, 7).astype(int) - 1
    ).to_numpy()
    return idx[codes]


def period_of_dates(dates: pd.Series) -> pd.Series:
    """Vectorised: a datetime Series -> ``YYYY-MM`` text Series (NaT -> None)."""
    d = pd.to_datetime(dates)
    out = d.dt.strftime("%Y-%m")
    return out.where(d.notna(), None)


def period_end(period: str) -> dt.date:
    """Last calendar day of the period."""
    first_next = add_months(period, 1)
    return dt.date(int(first_next[:4]), int(first_next[5:7]), 1) - dt.timedelta(days=1)
