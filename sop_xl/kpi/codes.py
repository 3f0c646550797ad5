"""Integer codes of key columns, shared by the KPI and history engines.

:func:`codes_of` is the one factorisation of a column with its blanks (None, NaN, NaT, pd.NA)
as one more distinct value, the last: what pandas' ``factorize(use_na_sentinel=False)``
gives, without its separate pass over every row to find the missing values (the hash table
already marks them -1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def codes_of(
    values: pd.Series | pd.Index | np.ndarray, sort: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(int64 code per value, the distinct values as objects): codes in the order of first
    appearance (``sort=True``: of the sorted values); a missing value is one more distinct
    value, NaN, the last."""
    codes, uniq = pd.factorize(values, sort=sort)
    codes = np.asarray(codes, dtype=np.int64)  # a new array of factorize's: changed in place
    uniq = np.asarray(uniq, dtype=object)
    missing = codes < 0
    if missing.any():
        codes[missing] = len(uniq)
        uniq = np.append(uniq, np.array([np.nan], dtype=object))
    return codes, uniq
