"""A table's columns in the schema's types, one way for every producer of a typed frame: the
reader (:func:`sop_xl.io.reader.coerce`), the table store, external files and the demo."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from sop_xl.model.schema import DECIMAL_DTYPES, NUMERIC_DTYPES, Column, Dtype, Table


def typed(table: Table, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with exactly the table's long columns, in order, each in its schema type
    (:func:`typed_column`; a column ``df`` lacks is all blank)."""
    out = {}
    for c in table.long_columns:
        s = df[c.name] if c.name in df else pd.Series([None] * len(df), dtype=object)
        out[c.name] = typed_column(c, s)
    return pd.DataFrame(out, columns=[c.name for c in table.long_columns])


def typed_column(c: Column, s: pd.Series) -> pd.Series:
    """One column in its type: decimals float64, whole numbers Int64, dates datetime64[ns],
    anything else objects with None for a blank."""
    if c.dtype in DECIMAL_DTYPES:
        s = pd.to_numeric(s, errors="coerce").astype("float64")
    elif c.dtype == Dtype.INT:
        s = pd.to_numeric(s, errors="coerce").round().astype("Int64")
    elif c.dtype in (Dtype.DATE, Dtype.DATETIME):
        s = pd.to_datetime(s, errors="coerce").astype("datetime64[ns]")
    elif s.dtype != object or (infer_dtype(s, skipna=False) != "string" and s.isna().any()):
        s = s.astype(object).where(s.notna(), None)  # all texts: nothing to replace
    return s.reset_index(drop=True)


def typed_arrays(table: Table, data: dict[str, np.ndarray], n: int) -> pd.DataFrame:
    """:func:`typed` of ``n`` rows of columns (each ``n`` long) already held in their types
    (the table store's arrays: decimals and whole numbers as float64 with NaN, dates as
    datetime64[ns], texts as str objects with None for a blank, never NaN), without a
    conversion pass each: the same frame, in a fraction of the time. A column held any other
    way takes :func:`typed_column`'s way."""
    out: dict[str, Any] = {}
    for c in table.long_columns:
        v = data.get(c.name)
        if v is None:
            out[c.name] = typed_column(c, pd.Series([None] * n, dtype=object))
        elif c.dtype in DECIMAL_DTYPES and v.dtype == np.float64:
            out[c.name] = v
        elif c.dtype == Dtype.INT and v.dtype == np.float64 and _exact_ints(v):
            missing = np.isnan(v)
            out[c.name] = pd.arrays.IntegerArray(
                np.round(np.where(missing, 0.0, v)).astype(np.int64), missing
            )
        elif c.dtype in (Dtype.DATE, Dtype.DATETIME) and v.dtype == np.dtype("datetime64[ns]"):
            out[c.name] = v
        elif c.dtype not in _CONVERTED and v.dtype == object:
            out[c.name] = pd.Series(v, dtype=object)  # texts and None (never NaN: see above)
        else:
            out[c.name] = typed_column(c, pd.Series(v))
    return pd.DataFrame(out, columns=[c.name for c in table.long_columns])


#: Types :func:`typed_column` converts (any other column is kept as objects).
_CONVERTED = NUMERIC_DTYPES | {Dtype.DATE, Dtype.DATETIME}


def _exact_ints(v: np.ndarray) -> bool:
    """Whether float64 ``v`` rounds to whole numbers int64 holds (NaN aside): each converts
    exactly, as :func:`typed_column` converts it."""
    with np.errstate(invalid="ignore"):
        return bool(np.nanmax(np.abs(v), initial=0.0) < 2**63)
