"""The compared cells and the actuals history of forecast accuracy (sop_xl/kpi/cells.py, through
kpi/table.py's ``_compared``) against a straightforward pandas reference: a groupby per table,
an outer concat, a cross join of series and months. The fast path must give the same frame,
row order and float bits included (the accuracy sums run in row order), on random small tables
with blank keys, blank values, months outside the window and text that is not a month."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.kpi import cells as cells_module
from sop_xl.kpi.codes import group_codes
from sop_xl.kpi.table import _compared, _notes_for_kpi, grain_frame
from sop_xl.model.periods import add_months

CYCLE = "2025-04"
LAST = add_months(CYCLE, -1)
MONTHS = ["2024-01", "2024-02", "2024-11", "2025-01", "2025-02", "2025-03", "2025-04", "2025-06"]


# --- the reference: the pandas formulation the fast path replaced ---------------------------------
def reference_cells(actuals, plan, grain, periods):
    keys = [*grain, "period"]
    a = actuals[actuals["period"].astype(str).isin(periods)]
    p = plan[plan["period"].astype(str).isin(periods)]
    a = a.groupby(keys, dropna=False, sort=False)["quantity"].sum().rename("actual")
    p = p.groupby(keys, dropna=False, sort=False)["quantity"].sum(min_count=1).rename("forecast")
    both = pd.concat([a, p], axis=1, join="outer").reset_index()
    both["_no_sales"] = both["actual"].isna().astype(np.int64)
    both["_no_plan"] = both["forecast"].isna().astype(np.int64)
    both["actual"] = both["actual"].fillna(0.0)
    both["forecast"] = both["forecast"].fillna(0.0)
    return both


def reference_history(actuals, grain, last):
    h = actuals[actuals["period"].astype(str) <= last]
    h = h.groupby([*grain, "period"], dropna=False, sort=False)["quantity"].sum()
    h = h.rename("actual").reset_index()
    first, months = str(h["period"].min()), []
    while first <= last:
        months.append(first)
        first = add_months(first, 1)
    series = h[grain].drop_duplicates()
    start = h.groupby(grain, dropna=False)["period"].min().rename("_start").reset_index()
    full = series.merge(pd.DataFrame({"period": months}), how="cross").merge(start, on=grain)
    full = full[full["period"] >= full["_start"]].drop(columns="_start")
    full = full.merge(h, on=[*grain, "period"], how="left")
    full["actual"] = full["actual"].fillna(0.0)
    return full.reset_index(drop=True)


# --- random tables ---------------------------------------------------------------------------
key = st.sampled_from(["N", "S", "E", None])
item = st.sampled_from(["I1", "I2", "I3"])
money = st.one_of(
    st.floats(-50, 500, allow_nan=False).map(lambda x: round(x, 2)),
    st.just(np.nan),
    st.just(0.1),
)


def table(rows):
    return st.lists(st.tuples(key, item, st.sampled_from(MONTHS), money), max_size=rows).map(
        lambda r: pd.DataFrame(r, columns=["region", "item", "period", "quantity"]).astype(
            {"region": object, "item": object, "period": object, "quantity": float}
        )
    )


def _closed(df):
    return set(df["period"].astype(str)[(df["period"].astype(str) < CYCLE).to_numpy()])


@settings(max_examples=120, deadline=None)
@given(actuals=table(40), plan=table(25), family=st.booleans(), tiny_key_space=st.booleans())
def test_cells_and_history_equal_the_pandas_reference(actuals, plan, family, tiny_key_space):
    grain = ["region", "item"]
    if family:  # a scope's own column, derived from the item as kpi_table's family is
        for df in (actuals, plan):
            df["family"] = df["item"].map({"I1": "F1", "I2": "F1", "I3": None})
        grain.append("family")
    periods = sorted(_closed(actuals) & _closed(plan))
    if not periods:
        return
    space = cells_module._KEY_SPACE
    cells_module._KEY_SPACE = 4 if tiny_key_space else space  # renumber after every column
    try:
        got_cells, got_history = _compared(
            actuals, plan, grain, "quantity", "quantity", periods, LAST, {}
        )
    finally:
        cells_module._KEY_SPACE = space
    pd.testing.assert_frame_equal(
        got_cells, reference_cells(actuals, plan, grain, periods), check_exact=True
    )
    pd.testing.assert_frame_equal(
        got_history, reference_history(actuals, grain, LAST), check_exact=True
    )
    # without history (the budget), and as the history engine's lag accuracy asks: the same
    no_history, none = _compared(actuals, plan, grain, "quantity", "quantity", periods, None, {})
    assert none is None
    pd.testing.assert_frame_equal(no_history, got_cells, check_exact=True)
    lag_cells = grain_frame(actuals, plan, grain, "quantity", "quantity", periods)
    pd.testing.assert_frame_equal(lag_cells, got_cells, check_exact=True)


def test_a_cell_with_only_blank_plan_values_is_scored_as_planned_at_zero():
    """Known answer: sales of 5 against a plan row whose quantity is blank = a cell with sales
    but no plan (counted in _no_plan), and a plan of 3 with no sales = 0 sold (_no_sales)."""
    actuals = pd.DataFrame(
        {"region": ["N"], "item": ["I1"], "period": ["2025-01"], "quantity": [5.0]}
    )
    plan = pd.DataFrame(
        {
            "region": ["N", "N"],
            "item": ["I1", "I2"],
            "period": ["2025-01", "2025-01"],
            "quantity": [np.nan, 3.0],
        }
    )
    got, _ = _compared(
        actuals, plan, ["region", "item"], "quantity", "quantity", ["2025-01"], None, {}
    )
    assert got[["item", "actual", "forecast", "_no_sales", "_no_plan"]].values.tolist() == [
        ["I1", 5.0, 0.0, 0, 1],
        ["I2", 0.0, 3.0, 1, 0],
    ]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["mape", "mase", "fva", "wmape", "tracking_signal", "bias"]),
            st.lists(
                st.sampled_from(
                    [
                        "MAPE skipped 2 zero-actual cell(s)",
                        "actuals sum to 0: WMAPE undefined",
                        "MASE: no series with enough history",
                        "FVA: no naive value (history too short)",
                        "tracking signal undefined: every monthly error is 0",
                        "1 cell(s) with a forecast but no sales: scored as 0 sold",
                    ]
                ),
                max_size=4,
            ).map("; ".join),
        ),
        max_size=30,
    )
)
def test_note_segments_per_kpi_equal_a_row_by_row_reference(rows):
    """_notes_for_kpi works once per distinct (KPI, note); the reference filters every row."""
    kpis = pd.Series([k for k, _ in rows], dtype=object)
    notes = pd.Series([n for _, n in rows], dtype=object)
    words = {
        "MAPE skipped": ("mape",),
        "WMAPE undefined": ("mape", "wmape", "forecast_accuracy", "bias_pct", "fva"),
        "MASE": ("mase",),
        "FVA": ("fva",),
        "tracking signal": ("tracking_signal",),
    }
    expected = []
    for k, note in rows:
        kept = [
            seg.strip()
            for seg in note.split(";")
            if seg.strip() and all(k in ks or w not in seg for w, ks in words.items())
        ]
        expected.append("; ".join(kept))
    assert _notes_for_kpi(kpis, notes).tolist() == expected


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.sampled_from(["b", "a", "c", None, np.nan]), max_size=30),
    st.lists(st.sampled_from(["2024-02", "2024-01", None]), max_size=30),
)
def test_group_codes_of_text_with_blanks_equal_pandas_factorize(first, second):
    """group_codes factorises an object column through the hash table's own missing-value
    check (fast), blanks last: the same codes and keys as pandas' use_na_sentinel=False."""
    n = min(len(first), len(second))
    df = pd.DataFrame({"k": first[:n], "p": second[:n]}, dtype=object)
    inv, groups = group_codes(df, ["k", "p"])
    # reference: the (k, p) pairs of each row, with pandas' own factorisation per column
    ref = {
        c: np.asarray(pd.factorize(df[c], sort=True, use_na_sentinel=False)[1], dtype=object)[
            pd.factorize(df[c], sort=True, use_na_sentinel=False)[0]
        ]
        for c in ("k", "p")
    }
    for c in ("k", "p"):
        got = groups[c].to_numpy(dtype=object)[inv] if n else np.array([], dtype=object)
        assert pd.Series(got, dtype=object).equals(pd.Series(ref[c], dtype=object)), c
    # groups sorted by key, blanks last, each distinct pair once
    assert len(groups) == len(set(zip(*(map(str, ref[c]) for c in ("k", "p")), strict=True)))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 4),
            st.one_of(
                st.integers(-(10**6), 10**6).map(float),  # whole numbers: the bincount path
                st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: round(x, 2)),
                st.just(np.nan),
                st.just(1e16),
            ),
        ),
        max_size=40,
    ),
    st.sampled_from([0, 1]),
)
def test_group_sums_equal_the_pandas_groupby_sum(rows, min_count):
    """cells.group_sums: pandas' groupby sum (compensated, in row order), bit for bit, whether
    the values are whole numbers (summed by np.bincount) or not; blanks skipped; min_count."""
    codes = pd.factorize(np.array([c for c, _ in rows], dtype=np.int64))[0]
    values = np.array([v for _, v in rows], dtype=float)
    groups = int(codes.max(initial=-1)) + 1
    expected = pd.Series(values).groupby(codes).sum(min_count=min_count).to_numpy(dtype=float)
    got = cells_module.group_sums(codes, values, groups, min_count)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)


def old_grain_sums_of(key, values, rows, min_count=0):
    """GrainSums.of as it was (codes by pd.factorize, then group_sums), kept as the reference."""
    codes, keys = pd.factorize(key[rows])
    first = np.full(len(keys), len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    v = values[rows]
    ok = ~np.isnan(v)
    v0 = np.where(ok, v, 0.0)
    if np.array_equal(v0, np.round(v0)) and np.abs(v0).sum() < 2.0**53:
        sums = np.bincount(codes, weights=v0, minlength=len(keys)).astype(float)
    else:
        sums = pd.Series(v).groupby(codes).sum().to_numpy(dtype=float)
    if min_count:
        counted = np.bincount(codes, weights=ok, minlength=len(keys))
        sums = np.where(counted >= min_count, sums, np.nan)
    return np.asarray(keys), rows[first], sums


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf - inf
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6),
            st.one_of(
                st.integers(-(10**6), 10**6).map(float),
                st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: round(x, 2)),
                st.sampled_from([np.nan, 1e16, np.inf, -np.inf, 0.1, -0.0]),
            ),
            st.booleans(),
        ),
        max_size=40,
    ),
    st.sampled_from([0, 1]),
    st.booleans(),
)
def test_grain_sums_of_is_what_it_was(rows, min_count, shuffle_keys):
    """GrainSums.of (whole numbers: np.bincount on pandas' codes; else pandas' grouping and
    compensated sum in one) against the code before: the same keys in the same order, the same
    first rows, the same sums bit for bit (blanks, min_count, 1e16, infinities, no rows)."""
    key = np.array([k * 7919 if shuffle_keys else k for k, _, _ in rows], dtype=np.int64)
    values = np.array([v for _, v, _ in rows], dtype=float)
    taken = np.flatnonzero(np.array([t for _, _, t in rows], dtype=bool))
    got = cells_module.GrainSums.of(key, values, taken, min_count)
    keys, first, sums = old_grain_sums_of(key, values, taken, min_count)
    assert got.keys.dtype == keys.dtype and got.first.dtype == first.dtype
    assert got.sums.dtype == sums.dtype == np.float64
    np.testing.assert_array_equal(got.keys, keys)
    np.testing.assert_array_equal(got.first, first)
    np.testing.assert_array_equal(got.sums, sums)
    np.testing.assert_array_equal(np.signbit(got.sums), np.signbit(sums))  # -0.0 is not 0.0
