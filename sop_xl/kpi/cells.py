"""The compared cells and the actuals history behind forecast (and budget) accuracy, grouped
with integer codes.

:func:`sop_xl.kpi.table.kpi_table` scores a forecast cell by cell: one cell is a grain
(region x item x location, plus the scope's own column) and a month. Its inputs here:

- :func:`grain_cells`: the outer join of the summed actuals and the summed plan per cell, for
  the scored months (a cell with a plan and no sales sold 0; a cell with sales and no plan row
  was planned at 0; both are counted);
- :func:`grain_history`: the monthly actuals of every series (grain) from its first posted
  month to the last closed month, 0 where nothing was posted (MASE's scale and FVA's naive
  forecast).

Both come from one :class:`GrainSums` of the actuals: the rows are keyed by integer codes (one
factorisation per column, shared by the actuals and the plan: :func:`joint_codes`), summed per
key as a pandas groupby sums (:func:`group_sums`: the same compensated sum, in row order), and
the groups keep the order of their first row. So the cells and the history hold the same
values, in the same order, as the groupby / merge formulation they replace (tests/kpi/
test_kpi_cells.py compares them exactly), at a fraction of its cost on text keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop_xl.kpi.codes import codes_of
from sop_xl.model.periods import add_months

#: Above this many combined key values, the codes are renumbered after each column.
_KEY_SPACE = 1 << 40
#: Factorised columns by (id of the frame, column): see :func:`column_codes`.
Codes = dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class PeriodCodes:
    """A frame's ``period`` column as codes into its distinct values, and those values as text
    (``astype(str)``, what a comparison with a 'YYYY-MM' month needs; missing stays missing)."""

    codes: np.ndarray
    text: pd.Series

    @classmethod
    def of(cls, df: pd.DataFrame, cache: Codes | None = None) -> PeriodCodes:
        codes, uniq = column_codes(df, "period", cache)
        return cls(codes, pd.Series(uniq, dtype=object).astype(str))

    def rows_before(self, cycle: str) -> np.ndarray:
        """Per row: is its period a closed month (before ``cycle``)?"""
        return (self.text < cycle).to_numpy(dtype=bool)[self.codes]

    def closed(self, cycle: str) -> set[str]:
        """The distinct closed months (before ``cycle``) the rows hold."""
        return set(self.text[(self.text < cycle).to_numpy(dtype=bool)])


def column_codes(
    df: pd.DataFrame, col: str, cache: Codes | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``df[col]`` factorised (missing values a code of their own), once per frame and column
    with ``cache`` (keyed by the frame's ``id``: the cache must not outlive the frames)."""
    key = (id(df), col)
    if cache is not None and key in cache:
        return cache[key]
    out = codes_of(df[col].to_numpy(dtype=object))
    if cache is not None:
        cache[key] = out
    return out


def joint_column(
    frames: Sequence[pd.DataFrame], col: str, cache: Codes | None = None
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """``col`` of every frame numbered together: (per frame, each row's code among the frame's
    own distinct values (:func:`column_codes`); per frame, the map from those codes to codes
    among the distinct values of all the frames; those values). Row r of frame f has the joint
    code ``maps[f][codes[f][r]]``; missing values are one value, as in a groupby with
    ``dropna=False``; a value seen in several frames is given as first seen, frame by frame."""
    coded = [column_codes(f, col, cache) for f in frames]
    # the frames' distinct values numbered together: a small factorisation
    joint, uniq = pd.factorize(np.concatenate([u for _, u in coded]), use_na_sentinel=False)
    offsets = np.cumsum([0, *(len(u) for _, u in coded)])
    maps = [joint[o : o + len(u)] for (_, u), o in zip(coded, offsets[:-1], strict=True)]
    return [codes for codes, _ in coded], maps, uniq


def joint_codes(
    frames: Sequence[pd.DataFrame],
    cols: Sequence[str],
    start: Sequence[np.ndarray] | None = None,
    cache: Codes | None = None,
) -> list[np.ndarray]:
    """Per frame, one integer key per row: equal keys = equal values in every column of
    ``cols`` (missing values equal each other, as in a groupby with ``dropna=False``) and equal
    ``start`` keys (keys this function gave for the same frames, to extend)."""
    if start is None:
        keys = [np.zeros(len(f), dtype=np.int64) for f in frames]
        space = 1
    else:
        keys = [np.asarray(k, dtype=np.int64) for k in start]
        space = int(max((int(k.max(initial=0)) for k in keys), default=0)) + 1
    for c in cols:
        codes, maps, uniq = joint_column(frames, c, cache)
        base = max(len(uniq), 1)
        keys = [k * base + m[cd] for k, cd, m in zip(keys, codes, maps, strict=True)]
        space *= base
        if space > _KEY_SPACE:  # renumber the keys so that they stay far from overflow
            flat, seen = pd.factorize(np.concatenate(keys))
            keys = np.split(flat, np.cumsum([len(k) for k in keys])[:-1])
            space = len(seen)
    return keys


def _bincount_exact(values: np.ndarray) -> bool:
    """Whole numbers (blanks aside) whose total stays below 2**53: ``np.bincount`` sums them
    exactly, in any order."""
    v = np.where(np.isnan(values), 0.0, values)
    return bool(np.array_equal(v, np.round(v)) and np.abs(v).sum() < 2.0**53)


def group_sums(
    codes: np.ndarray,
    values: np.ndarray,
    groups: int,
    min_count: int = 0,
    exact: bool | None = None,
) -> np.ndarray:
    """Per group code (0 .. groups - 1, each present): the sum of its ``values`` as a pandas
    groupby sums them (blanks skipped; compensated summation in row order; NaN for a group
    with fewer than ``min_count`` values). Whole numbers (quantities) sum exactly in any order
    while their total stays below 2**53, so ``np.bincount`` gives those same sums, faster
    (``exact``: :func:`_bincount_exact` of ``values`` when the caller knows it)."""
    ok = ~np.isnan(values)
    v = np.where(ok, values, 0.0)
    if _bincount_exact(values) if exact is None else exact:
        sums = np.bincount(codes, weights=v, minlength=groups).astype(float)  # (empty: int)
    else:
        sums = pd.Series(values).groupby(codes).sum().to_numpy(dtype=float)
    if min_count:
        counted = np.bincount(codes, weights=ok, minlength=groups)
        sums = np.where(counted >= min_count, sums, np.nan)
    return sums


@dataclass(frozen=True)
class GrainSums:
    """Sums of one value column per key, the groups in the order of their first row."""

    keys: np.ndarray  # the distinct keys
    first: np.ndarray  # the frame row of each group's first row
    sums: np.ndarray

    @classmethod
    def of(
        cls, key: np.ndarray, values: np.ndarray, rows: np.ndarray, min_count: int = 0
    ) -> GrainSums:
        """Sum ``values`` of the ``rows`` (positions) per ``key``; what
        ``groupby(sort=False, dropna=False)[col].sum(min_count=...)`` gives, in its order."""
        k, v = key[rows], values[rows]
        if _bincount_exact(v):
            codes, keys = pd.factorize(k)
            sums = group_sums(codes, v, len(keys), min_count, exact=True)
        else:  # pandas' compensated sums on its own grouping: one factorisation, not two
            grouped = pd.Series(v).groupby(k, sort=False, dropna=False)
            summed = grouped.sum(min_count=min_count)
            codes, keys = grouped.ngroup().to_numpy(), summed.index.to_numpy()
            sums = summed.to_numpy(dtype=float)
        first = np.full(len(keys), len(codes), dtype=np.int64)
        np.minimum.at(first, codes, np.arange(len(codes)))
        return cls(np.asarray(keys), rows[first], sums)

    def take(self, keep: np.ndarray) -> GrainSums:
        return GrainSums(self.keys[keep], self.first[keep], self.sums[keep])


@dataclass(frozen=True)
class Joined:
    """The outer join of the actuals and the plan summed per key (:func:`outer_join`), under
    the cell policy: the actuals' cells first, then the plan's cells without sales."""

    plan_only: np.ndarray  # positions among the plan's keys of its cells without sales, in order
    actual: np.ndarray  # 0 where nothing was posted
    forecast: np.ndarray  # 0 where nothing was planned
    no_sales: np.ndarray  # int64 flags
    no_plan: np.ndarray


def outer_join(
    actual_keys: np.ndarray, actual: np.ndarray, plan_keys: np.ndarray, plan: np.ndarray
) -> Joined:
    """Outer join of ``actual`` and ``plan`` sums on their keys (each key once per side).

    Policy: a cell with a plan but no posted sales sold 0; a cell with sales but no plan row
    (or only blank plan values: a NaN sum) was planned at 0. Both are real misses and are
    scored, not dropped; ``no_sales`` / ``no_plan`` count them.
    """
    at = pd.Index(actual_keys).get_indexer(plan_keys)
    new = at < 0
    n_a, n_new = len(actual_keys), int(new.sum())
    forecast = np.full(n_a + n_new, np.nan)
    forecast[at[~new]] = plan[~new]
    forecast[n_a:] = plan[new]
    sold = np.concatenate([actual, np.full(n_new, np.nan)])
    no_sales, no_plan = np.isnan(sold), np.isnan(forecast)
    return Joined(
        plan_only=np.flatnonzero(new),
        actual=np.where(no_sales, 0.0, sold),  # no posted sales = 0 sold
        forecast=np.where(no_plan, 0.0, forecast),  # no plan = planned at 0
        no_sales=no_sales.astype(np.int64),
        no_plan=no_plan.astype(np.int64),
    )


def _key_values(
    parts: Sequence[tuple[pd.DataFrame, np.ndarray]], col: str, cache: Codes | None
) -> pd.Series:
    """``col`` of the given rows of each frame, one after the other, as a groupby gives its
    keys: a missing value as NaN, of the column's type (inferred from the values when the
    frames' columns are of no one type but ``object``). Typed once per distinct value."""
    coded = [column_codes(frame, col, cache) for frame, _ in parts]
    uniq = pd.Series(np.concatenate([u for _, u in coded]), dtype=object)
    offsets = np.cumsum([0, *(len(u) for _, u in coded)])
    at = np.concatenate(
        [
            o + codes[rows]
            for (codes, _), (_, rows), o in zip(coded, parts, offsets[:-1], strict=True)
        ]
    )
    dtypes = {frame[col].dtype for frame, _ in parts}
    if len(dtypes) == 1 and (dtype := dtypes.pop()) != np.dtype(object):
        return pd.Series(uniq.astype(dtype).array.take(at))
    present, inverse = np.unique(at, return_inverse=True)  # infer from the values taken only
    return pd.Series(uniq.iloc[present].infer_objects().array.take(inverse.reshape(-1)))


def grain_cells(
    actuals: pd.DataFrame,
    actual_sums: GrainSums,
    plan: pd.DataFrame,
    plan_key: np.ndarray,
    plan_col: str,
    plan_rows: np.ndarray,
    keys: list[str],
    cache: Codes | None = None,
) -> pd.DataFrame:
    """Outer join of ``actual_sums`` (the actuals per key, already narrowed to the scored
    months) and the plan summed per key over ``plan_rows``: columns ``keys``, ``actual``,
    ``forecast``, ``_no_sales``, ``_no_plan``; the actuals' cells first, then the plan's
    cells without sales, each in the order of their first row (policy: :func:`outer_join`).
    """
    plan_col_values = plan[plan_col].to_numpy(dtype=float, na_value=np.nan)
    p = GrainSums.of(plan_key, plan_col_values, plan_rows, min_count=1)
    j = outer_join(actual_sums.keys, actual_sums.sums, p.keys, p.sums)
    parts = [(actuals, actual_sums.first), (plan, p.first[j.plan_only])]
    cells = {c: _key_values(parts, c, cache) for c in keys}
    cells["actual"] = pd.Series(j.actual)
    cells["forecast"] = pd.Series(j.forecast)
    cells["_no_sales"] = pd.Series(j.no_sales)
    cells["_no_plan"] = pd.Series(j.no_plan)
    return pd.DataFrame(cells)


def _months(first: str, last: str) -> list[str]:
    """'YYYY-MM' months from ``first`` to ``last``, both included."""
    months = []
    while first <= last:
        months.append(first)
        first = add_months(first, 1)
    return months


def _spans(begin: np.ndarray, months: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per series and month from the series' ``begin`` month to the last of
    ``months``: each row's series and month, and where each series' rows start."""
    count = months - begin
    offset = np.concatenate([[0], np.cumsum(count)])
    owner = np.repeat(np.arange(len(begin)), count)
    return owner, np.arange(offset[-1]) - offset[owner] + begin[owner], offset


def grain_history(
    actuals: pd.DataFrame,
    sums: GrainSums,
    series_key: np.ndarray,
    periods: PeriodCodes,
    grain: list[str],
    last: str,
    cache: Codes | None = None,
) -> pd.DataFrame:
    """Monthly actuals per series (``grain``) from its first posted month to ``last``, 0 where
    not posted: columns ``grain``, ``period``, ``actual``; the series in the order of their
    first row, each month by month. ``sums``: the actuals per series and month up to ``last``;
    ``series_key``: each actuals row's series."""
    cols = [*grain, "period", "actual"]
    if not len(sums.keys):
        return pd.DataFrame({c: [] for c in cols})
    code = periods.codes[sums.first]  # each group's period, as a code into periods.text
    present = np.unique(code)
    text = periods.text.to_numpy(dtype=object)[present].astype(str)
    months = _months(str(min(text)), last)
    # the groups' periods and the months ranked among all those texts: string order, exactly
    month_text = np.array(months, dtype=str)
    universe = np.unique(np.concatenate([text, month_text]))
    rank = np.zeros(len(periods.text), dtype=np.int64)
    rank[present] = np.searchsorted(universe, text)
    at_month = np.full(len(periods.text), -1, dtype=np.int64)  # -1: not a month of `months`
    at_month[present] = [months.index(t) if t in months else -1 for t in text]
    series, s_first = pd.factorize(series_key[sums.first])
    start = np.full(len(s_first), len(universe), dtype=np.int64)
    np.minimum.at(start, series, rank[code])  # the series' first month
    begin = np.searchsorted(np.searchsorted(universe, month_text), start)  # ... in `months`
    owner, month, offset = _spans(begin, len(months))
    actual = np.zeros(len(owner))
    pos = at_month[code]
    ok = pos >= 0  # a period that is not a month text has no row (as in a merge on months)
    actual[offset[series[ok]] + pos[ok] - begin[series[ok]]] = sums.sums[ok]
    _, row_of_series = np.unique(series, return_index=True)
    first_row = sums.first[row_of_series]
    out = {c: _key_values([(actuals, first_row[owner])], c, cache) for c in grain}
    out["period"] = pd.Series(np.array(months, dtype=object)[month], dtype=object).infer_objects()
    out["actual"] = pd.Series(actual)
    return pd.DataFrame(out)
