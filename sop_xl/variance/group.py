"""Grouped sums over integer group ids: the aggregation engine of the variance modules.

Keys are factorised once (sorted) and combined into one integer per row by
:func:`sop_xl.kpi.codes.group_codes`, and sums are taken with integer arithmetic, so grouping
500,000 text-keyed lines costs a few hash passes, and groups come out in key order without
sorting text. Money is summed as ``int64`` cents: exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sop_xl.errors import ArgumentError
from sop_xl.kpi.codes import group_codes


def group_ids(columns: Sequence[np.ndarray | pd.Series]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Joint group id per row for the key ``columns``, groups in key order: the groups of
    :func:`sop_xl.kpi.codes.group_codes` (integer codes as they are, anything else as objects).

    Returns ``(gid, keys)``: ``gid[i]`` in ``0..G-1`` and ``keys[k][g]`` the value of key ``k``
    for group ``g`` (of the column's dtype). A blank key (None, NaN, NaT, pd.NA) is an
    :class:`ArgumentError`: the variance engine labels its blanks first.
    """
    cols = [np.asarray(c) for c in columns]  # integer codes hash fast; the rest as objects
    cols = [c if c.dtype.kind in "iu" else c.astype(object, copy=False) for c in cols]
    if not cols:
        raise ArgumentError("group_ids needs at least one key column")
    frame = pd.DataFrame(  # objects stay objects (not pandas' inferred str): sorted_codes' path
        {k: pd.Series(c, dtype=c.dtype, copy=False) for k, c in enumerate(cols)}, copy=False
    )
    gid, groups = group_codes(frame, range(len(cols)), typed=True)
    keys = [groups[k].to_numpy(dtype=c.dtype) for k, c in enumerate(cols)]
    for k, values in enumerate(keys):
        if values.dtype == object and pd.isna(values).any():
            raise ArgumentError(
                f"group_ids: key column {k + 1} of {len(keys)} has blank values",
                fix="label the blanks first, e.g. '(blank)'",
            )
    return gid.astype(np.int64, copy=False), keys


def int_sum(gid: np.ndarray, values: np.ndarray, ngroups: int) -> np.ndarray:
    """Exact ``int64`` sum of ``values`` per group (groups without rows: 0)."""
    v = np.asarray(values, dtype=np.int64)
    if len(v) == 0:
        return np.zeros(ngroups, dtype=np.int64)
    if np.abs(v).sum(dtype=np.float64) < 2.0**52:  # float sums of integers are exact below 2^53
        return np.rint(np.bincount(gid, weights=v, minlength=ngroups)).astype(np.int64)
    out = np.zeros(ngroups, dtype=np.int64)
    s = pd.Series(v).groupby(gid, sort=False).sum()
    out[s.index.to_numpy()] = s.to_numpy()
    return out


def float_sum(gid: np.ndarray, values: np.ndarray, ngroups: int) -> np.ndarray:
    """Sum of float ``values`` per group (quantities)."""
    return np.bincount(gid, weights=np.asarray(values, dtype="float64"), minlength=ngroups)


def count(gid: np.ndarray, ngroups: int) -> np.ndarray:
    """Rows per group."""
    return np.bincount(gid, minlength=ngroups).astype(np.int64)
