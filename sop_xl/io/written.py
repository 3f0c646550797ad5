"""A table this process has just written, as reading it back would give it, without reading.

A step of the cycle may read a table an earlier step wrote moments before: the outlook and the
executive summary read the SupplyPlan sheet the supply review wrote (about 0.25 s of parsing on
the demo). :func:`as_read` gives the same typed frame from the frame that was written, when it
can tell that the sheet keeps every value as it is and that reading accepts every cell:

- a long table (no pivoted months) of text, month and decimal columns, at least one row;
- texts: strings without edge spaces, control characters or Excel's ``_x`` escapes, none an
  error value (``#N/A``...), months already ``YYYY-MM``, choices spelled as declared, none
  longer than a cell holds; missing ones only where a value is optional;
- numbers: float or integer columns, within the column's bound and minimum; a missing or
  non-finite one (written as an empty cell) only where a value is optional;
- no two rows with the same key.

Otherwise it returns None and the caller reads the sheet. The frame it returns is the reader's
(:func:`sop_xl.io.reader.coerce`): texts as Python strings or None (object), numbers as float64
(an empty cell NaN, ``-0.0`` written as ``0``). tests/io/test_written.py writes frames, reads
them back and compares, on random frames and on the demo's SupplyPlan.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sop_xl.io.reader import ERROR_SET
from sop_xl.model import periods
from sop_xl.model.schema import DECIMAL_DTYPES, MAX_TEXT, Dtype, Table

__all__ = ["as_read"]

#: characters a cell may not keep as they are (XML-illegal ones are dropped, C1 controls
#: are left to chance) and Excel's escape of a character (``_x0041_``)
_UNSAFE_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]|_x")


def as_read(table: Table, df: pd.DataFrame) -> pd.DataFrame | None:
    """The frame reading ``table`` back gives after the writer wrote ``df`` to it, or None
    when that is not certain (see the module's doc)."""
    columns = table.long_columns
    if table.layout != "long" or df.empty or not any(c.required for c in columns):
        return None  # (a row without a required value could be blank: reading drops it)
    if not df.columns.is_unique or any(c.name not in df.columns for c in columns):
        return None
    out: dict[str, pd.Series] = {}
    for c in columns:
        s = df[c.name]
        if c.dtype in DECIMAL_DTYPES:
            values = _numbers(s, c.required, c.bound, c.min_value)
        elif c.dtype in (Dtype.TEXT, Dtype.PERIOD):
            values = _texts(s, c.required, c.dtype == Dtype.PERIOD, c.choices)
        else:  # whole numbers, dates, booleans: read back through other paths
            return None
        if values is None:
            return None
        out[c.name] = pd.Series(values, dtype=values.dtype)  # object stays object
    frame = pd.DataFrame(out, columns=[c.name for c in columns])
    keys = [k for k in table.keys if k in frame.columns]
    if keys and frame.duplicated(keys, keep=False).any():
        return None  # reading reports duplicate keys (and drops those rows)
    return frame


def _numbers(
    s: pd.Series, required: bool, bound: float | None, low: float | None
) -> np.ndarray | None:
    if s.dtype.kind not in "fiu":
        return None
    values = s.to_numpy(dtype="float64", na_value=np.nan) + 0.0  # -0.0 is written as 0
    values[~np.isfinite(values)] = np.nan  # no cell
    filled = ~np.isnan(values)
    if required and not filled.all():
        return None
    v = values[filled]
    if (bound is not None and not (np.abs(v) <= bound).all()) or (
        low is not None and (v < low).any()
    ):
        return None
    return values


def _texts(
    s: pd.Series, required: bool, period: bool, choices: tuple[str, ...] | None
) -> np.ndarray | None:
    values = np.array(s.to_numpy(dtype=object, na_value=None), dtype=object)  # a copy
    codes, uniq = pd.factorize(values)
    if required and (codes < 0).any():
        return None
    for text in uniq.tolist():
        if (
            type(text) is not str
            or not text
            or text != text.strip()
            or len(text) > MAX_TEXT
            or text in ERROR_SET
            or _UNSAFE_RE.search(text)
            or (period and periods.to_period(text) != text)
            or (choices is not None and text not in choices)
        ):
            return None
    return values
