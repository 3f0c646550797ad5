"""Money arithmetic that reconciles to the cent.

Amounts arrive as floats (Excel stores every number as a double). The variance engine converts
each input line to **integer cents once**, does every sum and difference in ``int64``, and only
divides by 100 when it hands a DataFrame back. So a displayed total is, by construction, the sum
of the displayed lines: no floating drift, no "off by 0.01" between a sheet's total and its rows.

Rounding rule: half away from zero, like Excel's ``ROUND`` (``0.125 -> 0.13``, ``-0.125 ->
-0.13``), after removing binary representation noise (``0.285 * 100 == 28.499999999999996`` is
treated as 28.5).

Derived amounts that are *allocations of a total* (the price/volume/mix effects) use the largest
remainder method (:func:`allocate_cents`): the lines are rounded so that they add up exactly to the
rounded total.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Binary noise removed before rounding: values are first rounded to this many decimals of a cent.
_NOISE_DECIMALS = 6


def to_cents(values: pd.Series | np.ndarray | float) -> np.ndarray:
    """Amounts -> ``int64`` cents, half away from zero. NaN becomes 0 (callers flag blanks first).

    >>> to_cents(np.array([0.125, -0.125, 1234.56, 0.285])).tolist()
    [13, -13, 123456, 29]
    """
    x = np.asarray(values, dtype="float64") * 100.0
    x = np.round(x, _NOISE_DECIMALS)
    out = np.sign(x) * np.floor(np.abs(x) + 0.5)
    return np.nan_to_num(out, nan=0.0).astype(np.int64)


def from_cents(cents: pd.Series | np.ndarray | int) -> np.ndarray | float:
    """Integer cents -> float amounts (the nearest double to the exact cent value)."""
    if np.isscalar(cents):
        return int(cents) / 100.0
    return np.asarray(cents, dtype=np.int64) / 100.0


def allocate_cents(values: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Round float amounts to cents so that each group's lines sum to its rounded total.

    Largest remainder method, vectorised: every line is floored to a cent; the cents still missing
    to reach ``round(group total)`` go, one each, to the lines with the largest remainders (ties:
    first line first). ``groups`` are integer group codes (``None`` = one group).

    >>> allocate_cents(np.array([1/3, 1/3, 1/3])).tolist()  # 1.00 in total
    [34, 33, 33]
    """
    v = np.round(np.asarray(values, dtype="float64") * 100.0, _NOISE_DECIMALS)
    n = len(v)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    codes = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    floor = np.floor(v)
    frac = v - floor
    ngroups = int(codes.max()) + 1
    total = np.bincount(codes, weights=v, minlength=ngroups)
    target = to_cents(total / 100.0)
    floor_sum = np.bincount(codes, weights=floor, minlength=ngroups).round().astype(np.int64)
    deficit = target - floor_sum  # 0 <= deficit <= lines in group
    order = np.lexsort((np.arange(n), -frac, codes))  # by group, then largest remainder first
    sorted_codes = codes[order]
    starts = np.searchsorted(sorted_codes, np.arange(ngroups))
    rank = np.arange(n) - starts[sorted_codes]
    bump = np.zeros(n, dtype=np.int64)
    bump[order] = (rank < deficit[sorted_codes]).astype(np.int64)
    return floor.astype(np.int64) + bump


def money_text(cents: int, currency: str = "") -> str:
    """``123456 -> '1,234.56'``; negatives in parentheses, as on the sheets."""
    text = f"{abs(int(cents)) / 100:,.2f}"
    text = f"({text})" if cents < 0 else text
    return f"{text} {currency}".rstrip()
