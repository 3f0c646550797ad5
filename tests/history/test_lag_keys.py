"""history.lag's keys and cells on the KPI engine's helpers (kpi.cells.joint_codes /
joint_column, GrainSums, outer_join), and the report rows' scope labels and FVA fill counts
(lag.scope_labels, kpi.codes.group_codes) against the code they replaced, kept here verbatim as
references: the same keys, sums, cells, labels and counts (values, dtypes, order) on random
archives and sales with blank keys of every kind, mixed key types, duplicate rows, blank
quantities and no rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sop_xl.history.lag import SCOPES, Cells, Keyed, Plans, fast_cells, keyed, scope_labels
from sop_xl.kpi.cells import GrainSums, _key_values, grain_cells, joint_codes
from sop_xl.kpi.codes import codes_of, group_codes
from sop_xl.kpi.forecast import forecast_accuracy, memo_codes
from sop_xl.model.periods import add_months

SERIES = ["region", "item", "location"]
CYCLE = "2026-06"


# --- the code the helpers replaced (as it was; codes_of is the old archive.codes_of, checked
# equal in tests/kpi/test_kpi_codes.py) ------------------------------------------------------
def old_keyed(archive, actuals):
    n = len(actuals)

    def both(c):
        return np.concatenate(
            [actuals[c].to_numpy(dtype=object), archive[c].to_numpy(dtype=object)]
        )

    key = np.zeros(n + len(archive), dtype=np.int64)
    per_column = []
    for c in SERIES:
        codes, uniq = codes_of(both(c))
        key, _ = pd.factorize(key * (len(uniq) + 1) + codes)  # dense after each column
        per_column.append((codes, uniq))
    key = np.asarray(key, dtype=np.int64)
    _, first = np.unique(key, return_index=True)
    labels = {c: uniq[codes[first]] for c, (codes, uniq) in zip(SERIES, per_column, strict=True)}
    period, periods = codes_of(both("period"))
    raw_s, raw_p = key[:n], period[:n]
    n_p = len(periods) + 1
    qty = actuals["quantity"].to_numpy(dtype=float, na_value=np.nan)
    summed = pd.Series(qty).groupby(raw_s * n_p + raw_p, sort=False).sum()
    cell = summed.index.to_numpy(dtype=np.int64)
    return Keyed(
        labels=labels,
        periods=periods,
        act_series=cell // n_p,
        act_period=cell % n_p,
        act_qty=summed.to_numpy(dtype=float),
        raw_series=raw_s,
        raw_period=raw_p,
        raw_qty=qty,
        arc_stage=archive["stage"].to_numpy(dtype=object),
        arc_cycle=archive["cycle"].to_numpy(dtype=object),
        arc_series=key[n:],
        arc_period=period[n:],
        arc_lag=archive["lag"].to_numpy(dtype=np.int64),
        arc_qty=archive["quantity"].to_numpy(dtype=float, na_value=np.nan),
    )


class OldPlans:
    def __init__(self, k, stage):
        rows = np.flatnonzero(k.arc_stage == stage)
        cycles = pd.Series(k.arc_cycle[rows], dtype=object)
        self.first_cycle = str(cycles.min()) if len(rows) else ""
        lag_code, self.lags = pd.factorize(k.arc_lag[rows])
        n_s, n_p = k.n_series + 1, len(k.periods) + 1
        key = (lag_code.astype(np.int64) * n_s + k.arc_series[rows]) * n_p + k.arc_period[rows]
        summed = pd.Series(k.arc_qty[rows]).groupby(key, sort=False).sum(min_count=1)
        g = summed.index.to_numpy(dtype=np.int64)
        self.lag = np.asarray(self.lags, dtype=np.int64)[g // (n_s * n_p)]
        self.series = (g // n_p) % n_s
        self.period = g % n_p
        self.qty = summed.to_numpy(dtype=float)


def _closed(k, cycle):
    return np.array([isinstance(p, str) and p < cycle for p in k.periods], dtype=bool)


def old_fast_cells(k, plans, cycle, lag, *, lead=None, periods=None, closed=None):
    if lag is not None:
        take = plans.lag == lag
    elif lead is None:
        return None
    else:
        take = plans.lag == lead[plans.series]
    p_series, p_period, p_qty = plans.series[take], plans.period[take], plans.qty[take]
    closed = _closed(k, cycle) if closed is None else closed
    n_p = len(k.periods) + 1
    in_plan = np.zeros(n_p, dtype=bool)
    in_plan[p_period] = True
    in_act = np.zeros(n_p, dtype=bool)
    in_act[k.act_period] = True
    month = np.zeros(n_p, dtype=bool)
    month[:-1] = in_plan[:-1] & in_act[:-1] & closed
    if lag is None and len(p_series):
        longest = int(lead[p_series].max())
        for c in np.flatnonzero(month):
            month[c] = add_months(k.periods[c], -longest) >= plans.first_cycle
    if periods is not None:
        wanted = set(periods)
        for c in np.flatnonzero(month):
            month[c] = k.periods[c] in wanted
    if not month.any():
        return None
    a = np.flatnonzero(month[k.act_period])
    p = np.flatnonzero(month[p_period])
    a_key = k.act_series[a] * n_p + k.act_period[a]
    p_key = p_series[p] * n_p + p_period[p]
    at = pd.Index(p_key).get_indexer(a_key)
    matched = np.zeros(len(p), dtype=bool)
    matched[at[at >= 0]] = True
    only = p[~matched]
    forecast = np.where(at >= 0, p_qty[p][np.maximum(at, 0)] if len(p) else np.nan, np.nan)
    forecast = np.concatenate([forecast, p_qty[only]])
    actual = np.concatenate([k.act_qty[a], np.full(len(only), np.nan)])
    no_sales, no_plan = np.isnan(actual), np.isnan(forecast)
    return Cells(
        series=np.concatenate([k.act_series[a], p_series[only]]),
        period=np.concatenate([k.act_period[a], p_period[only]]),
        actual=np.where(no_sales, 0.0, actual),
        forecast=np.where(no_plan, 0.0, forecast),
        no_sales=no_sales.astype(np.int64),
        no_plan=no_plan.astype(np.int64),
    )


def old_grain_cells(actuals, actual_sums, plan, plan_key, plan_col, plan_rows, keys, cache=None):
    plan_col_values = plan[plan_col].to_numpy(dtype=float, na_value=np.nan)
    p = GrainSums.of(plan_key, plan_col_values, plan_rows, min_count=1)
    at = pd.Index(actual_sums.keys).get_indexer(p.keys)
    new = at < 0
    n_a = len(actual_sums.keys)
    forecast = np.full(n_a + int(new.sum()), np.nan)
    forecast[at[~new]] = p.sums[~new]
    forecast[n_a:] = p.sums[new]
    actual = np.concatenate([actual_sums.sums, np.full(int(new.sum()), np.nan)])
    parts = [(actuals, actual_sums.first), (plan, p.first[new])]
    cells = {c: _key_values(parts, c, cache) for c in keys}
    no_sales, no_plan = np.isnan(actual), np.isnan(forecast)
    cells["actual"] = pd.Series(np.where(no_sales, 0.0, actual))
    cells["forecast"] = pd.Series(np.where(no_plan, 0.0, forecast))
    cells["_no_sales"] = pd.Series(no_sales.astype(np.int64))
    cells["_no_plan"] = pd.Series(no_plan.astype(np.int64))
    return pd.DataFrame(cells)


def old_scope_labels(scopes, st, sc):  # lag_accuracy's lines (fva's: the same, non-empty only)
    scope = np.empty(len(st), dtype=object)
    for i, (_codes, uniq) in enumerate(scopes):
        m = st == i
        if m.any():
            scope[m] = uniq[sc[m]]
    return np.array([n for n, _ in SCOPES], dtype=object)[st], scope


def old_fill_counts(scored_keys, flat, stages):  # fva_report's group key by hand
    st, sc, step = scored_keys[:, 0], scored_keys[:, 1], scored_keys[:, 2]
    n_group = (st * (sc.max(initial=0) + 1) + sc) * (stages + 1) + step
    row_group = (flat["st"] * (sc.max(initial=0) + 1) + flat["sc"]) * (stages + 1) + flat["step"]
    at = pd.Index(n_group).get_indexer(row_group)
    return np.bincount(at, weights=flat["fill"], minlength=len(n_group)).astype(np.int64)


# --- comparing -------------------------------------------------------------------------------
def _typed(values) -> list[tuple[type, str]]:
    return [(type(v), repr(v)) for v in np.asarray(values, dtype=object).tolist()]


def assert_arrays(got, want, what) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, what
    if got.dtype == object:
        assert _typed(got) == _typed(want), what
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def assert_keyed(got: Keyed, want: Keyed) -> None:
    assert list(got.labels) == list(want.labels)
    for c in want.labels:
        assert_arrays(got.labels[c], want.labels[c], c)
    for f in Keyed.__dataclass_fields__:
        if f not in ("labels", "_plans"):
            assert_arrays(getattr(got, f), getattr(want, f), f)


# --- random archives and sales ------------------------------------------------------------------
key_value = st.one_of(
    st.sampled_from(["R1", "R2", "I1", "L1", "", None, np.nan, pd.NA]),
    st.sampled_from([1, 1.0, True, 2]),
)
PERIODS = ["2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]
period_value = st.one_of(  # mostly closed months (before CYCLE), the ones that are scored
    st.sampled_from(PERIODS[:3]), st.sampled_from(PERIODS), st.sampled_from([None, np.nan])
)
quantity = st.one_of(
    st.none(), st.integers(-5, 400).map(float), st.floats(0, 400).map(lambda x: round(x, 3))
)


@st.composite
def tables(draw):
    """(archive, actuals): any key values, duplicates, blanks, either of them empty."""
    keys = draw(st.lists(st.tuples(key_value, key_value, key_value), min_size=1, max_size=5))
    one_key = st.sampled_from(keys)
    arc_rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["2026-03", "2026-04", "2026-05"]),
                st.sampled_from(["Consensus", "Consensus", "Statistical", "Submission"]),
                one_key,
                period_value,
                st.one_of(st.integers(0, 1), st.integers(-1, 3)),
                quantity,
            ),
            max_size=60,
        )
    )
    archive = pd.DataFrame(
        [(c, s, *k, p, lag, q) for c, s, k, p, lag, q in arc_rows],
        columns=["cycle", "stage", *SERIES, "period", "lag", "quantity"],
    ).astype({c: object for c in ["cycle", "stage", *SERIES, "period"]})
    archive = archive.astype({"lag": np.int64, "quantity": float})
    act_rows = draw(st.lists(st.tuples(one_key, period_value, quantity), max_size=30))
    actuals = pd.DataFrame(
        [(*k, p, q) for k, p, q in act_rows], columns=[*SERIES, "period", "quantity"]
    ).astype({c: object for c in [*SERIES, "period"]})
    actuals["quantity"] = actuals["quantity"].astype(float)
    return archive, actuals


BOOL = st.booleans()


def _draws(data, values, n: int) -> np.ndarray:
    """``n`` values drawn from ``values`` (an int64 array; bool for :data:`BOOL`)."""
    got = data.draw(st.lists(values, min_size=n, max_size=n))
    return np.array(got, dtype=bool if values is BOOL else np.int64)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.data())
def test_keys_plans_and_cells_are_what_they_were(tables, data) -> None:
    archive, actuals = tables
    k, old = keyed(archive, actuals), old_keyed(archive, actuals)
    assert_keyed(k, old)
    lead = _draws(data, st.integers(0, 3), k.n_series)
    for stage in ("Consensus", "Statistical", "Nothing"):
        plans, old_plans = Plans(k, stage), OldPlans(old, stage)
        assert plans.first_cycle == old_plans.first_cycle
        for f in ("lags", "lag", "series", "period", "qty"):
            assert_arrays(getattr(plans, f), getattr(old_plans, f), f)
        for lag in (-1, 0, 1, 2, None):
            periods = data.draw(st.one_of(st.none(), st.lists(st.sampled_from(PERIODS))))
            got = fast_cells(k, plans, CYCLE, lag, lead=lead, periods=periods)
            want = old_fast_cells(old, old_plans, CYCLE, lag, lead=lead, periods=periods)
            assert (got is None) == (want is None)
            if want is not None:
                for f in Cells.__dataclass_fields__:
                    assert_arrays(getattr(got, f), getattr(want, f), f)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.data())
def test_grain_cells_join_is_what_it_was(tables, data) -> None:
    """kpi.cells.grain_cells on outer_join: the old inline join's frame, on the same sums."""
    archive, actuals = tables
    plan = archive
    a_key, p_key = joint_codes([actuals, plan], [*SERIES, "period"])
    a_values = actuals["quantity"].to_numpy(dtype=float, na_value=np.nan)
    a_rows, p_rows = (np.flatnonzero(_draws(data, BOOL, len(f))) for f in (actuals, plan))
    sums = GrainSums.of(a_key, a_values, a_rows)
    args = (actuals, sums, plan, p_key, "quantity", p_rows, SERIES)
    got, want = grain_cells(*args, {}), old_grain_cells(*args, {})
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_scope_labels_and_fill_counts_are_what_they_were(data) -> None:
    """Report rows of random scopes (some empty, as the family scope without Items): the same
    scope names and texts; per scored group the same count of carried cells."""
    scopes = []
    for _ in SCOPES:
        uniq = np.asarray(
            data.draw(st.lists(key_value, max_size=4, unique_by=lambda v: repr(v))), dtype=object
        )
        scopes.append((np.zeros(len(uniq), dtype=np.int64), uniq))
    usable = [i for i, (_, u) in enumerate(scopes) if len(u)]
    rows = data.draw(
        st.lists(
            st.sampled_from(usable).flatmap(
                lambda i: st.tuples(st.just(i), st.integers(0, len(scopes[i][1]) - 1))
            ),
            max_size=30,
        )
        if usable
        else st.just([])
    )
    st_ = np.array([r[0] for r in rows], dtype=np.int64)
    sc = np.array([r[1] for r in rows], dtype=np.int64)
    got, want = scope_labels(scopes, st_, sc), old_scope_labels(scopes, st_, sc)
    for g, w in zip(got, want, strict=True):
        assert_arrays(g, w, "labels")
    # fill counts: rows of (step, st, sc) with a 0/1 fill flag, scored as fva_report scores
    # them; the counts by group_codes on the scoring's factorised columns, as fva_report does
    steps = _draws(data, st.integers(1, 4), len(rows))
    fill = _draws(data, st.integers(0, 1), len(rows))
    a, f = (_draws(data, st.integers(0, 9), len(rows)).astype(float) for _ in "af")
    frame = pd.DataFrame({"step": steps, "st": st_, "sc": sc, "a": a, "f": f})
    by = ["st", "sc", "step"]
    if not len(rows):
        return  # fva_report scores no rows
    memo: dict = {}
    scored = forecast_accuracy(frame, actual="a", forecast="f", by=by, memo=memo)
    at, _ = group_codes(frame, by, memo_codes(memo))
    new = np.bincount(at, weights=fill, minlength=len(scored)).astype(np.int64)
    flat = {"st": st_, "sc": sc, "step": steps, "fill": fill}
    old = old_fill_counts(scored[by].to_numpy(dtype=np.int64), flat, 4)
    assert_arrays(new, old, "fill counts")
