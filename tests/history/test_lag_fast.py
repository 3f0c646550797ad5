"""Accuracy by lag and the FVA stairstep on integer keys (one keying per click, all lags and
scopes in one or two KPI-engine calls) give exactly what the straightforward pandas way gives:
a merge of text keys per lag (:func:`sop_xl.history.lag.cells_at_lag`) and one
:func:`~sop_xl.kpi.forecast.forecast_accuracy` call per lag, scope and stage (the reference
below, the engine as it was before the fast path). Random small archives: unsorted rows,
duplicate keys, blank quantities, negative and long lags, items without a lead time or family,
sales without a region."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sop_xl.history import archive as arc
from sop_xl.history.fva import NO_CHANGE, fva_report
from sop_xl.history.lag import (
    LEAD_TIME,
    NO_FAMILY,
    SCOPES,
    UNKNOWN_REGION,
    _company_wide,
    cells_at_lag,
    keyed,
    lag_accuracy,
)
from sop_xl.kpi.forecast import forecast_accuracy
from sop_xl.model.periods import add_months
from sop_xl.model.schema import FORECAST_STAGES, FVA, FVA_DETAIL, LAG_DETAIL

CYCLE = "2026-06"
PERIODS = ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]
CYCLES = ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
STAGES = ["Consensus", "Statistical", "Submission"]
ITEMS = ["I1", "I2", "I3"]


# --- the reference: one merge of text keys per lag, one engine call per lag/scope/stage ---------
def scope_text(values: pd.Series, scope_type: str) -> pd.Series:
    """The scope column: the region or family as text, a missing one named."""
    missing = UNKNOWN_REGION if scope_type == "Region" else NO_FAMILY
    return values.astype(object).where(values.notna(), missing).astype(str)


def reference_lag_accuracy(archive, actuals, cycle, *, items=None, lags=arc.REPORT_LAGS):
    variants = [(str(x), x) for x in lags] + [(LEAD_TIME, None)]
    cells = {
        name: cells_at_lag(archive, actuals, cycle, lag, items=items) for name, lag in variants
    }
    sets = [set(cells[str(x)]["period"]) for x in lags if len(cells[str(x)])]
    common = sorted(set.intersection(*sets)) if len(sets) == len(lags) and sets else []
    detail = []
    for name, _lag in variants:
        c = cells[name]
        if c.empty:
            continue
        window = common if common else sorted(c["period"].unique())
        note = f"all months: {window[0]} to {window[-1]}" + (
            " (months every lag 0-3 is scored in)" if common else ""
        )
        for scope_type, by in SCOPES:
            if by and by[0] not in c:
                continue
            monthly = forecast_accuracy(c, by=[*by, "period"])
            part = c[c["period"].isin(window)]
            total = forecast_accuracy(part, by=list(by)) if len(part) else pd.DataFrame()
            if len(total):
                total["period"] = ""
                total["note"] = (total["note"].astype(str) + "; " + note).str.strip("; ")
            for r in (monthly, total):
                if r.empty:
                    continue
                r = r.assign(scope_type=scope_type, lag=name)
                r["scope"] = scope_text(r[by[0]], scope_type) if by else ""
                detail.append(r)
    if not detail:
        return None
    d = pd.concat(detail, ignore_index=True).rename(
        columns={"sum_actual": "actual_qty", "sum_forecast": "forecast_qty"}
    )
    d = d.rename(columns={"forecast_accuracy": "accuracy"})
    order = {n: i for i, (n, _) in enumerate(variants)}
    st_ = {s: i for i, (s, _) in enumerate(SCOPES)}
    d = d.assign(_s=d["scope_type"].map(st_), _l=d["lag"].map(order), _p=d["period"] == "")
    d = d.sort_values(["_s", "scope", "_l", "_p", "period"], kind="stable")
    d = d[LAG_DETAIL.names].reset_index(drop=True)
    return _company_wide(d), d


def _period_of(index):
    return np.array([f"{int(i) // 12:04d}-{int(i) % 12 + 1:02d}" for i in index], dtype=object)


def reference_fva(archive, actuals, cycle, lag, *, items=None):
    c = cells_at_lag(archive, actuals, cycle, lag, items=items)
    if c.empty:
        return None
    keep = sorted(c["period"].unique())[-12:]
    c = c[c["period"].isin(keep)].rename(columns={"forecast": "consensus"}).reset_index(drop=True)
    made_in = _period_of(arc.month_index(c["period"]) - lag)
    keys = [*arc.SERIES, "period"]
    for stage in ("Statistical", "Submission"):
        a = archive[(archive["stage"] == stage) & (archive["lag"] == lag)]
        v = a.set_index(keys)["quantity"]
        v = v[~v.index.duplicated()]
        c[stage.lower()] = v.reindex(pd.MultiIndex.from_frame(c[keys])).to_numpy(dtype=float)
    last = _period_of(arc.month_index(made_in) - 1)
    act = actuals.set_index(keys)["quantity"]
    act = act[~act.index.duplicated()]
    idx = pd.MultiIndex.from_arrays([c[k] for k in arc.SERIES] + [pd.Index(last)])
    c["naive"] = np.nan_to_num(act.reindex(idx).to_numpy(dtype=float), nan=0.0)
    prev = "naive"
    for stage in ("Statistical", "Submission", "Consensus"):
        col = stage.lower()
        missing = c[col].isna()
        c[f"filled_{col}"] = missing.astype(np.int64)
        c[col] = c[col].where(~missing, c[prev])
        prev = col
    parts = []
    for scope_type, by in SCOPES:
        if by and by[0] not in c:
            continue
        rows = []
        for step, stage in enumerate(FORECAST_STAGES, 1):
            col = stage.lower()
            r = forecast_accuracy(c.assign(forecast=c[col]), by=list(by))
            r = r.assign(step=step, stage=stage)
            filled = f"filled_{col}"
            if filled in c:
                counts = c.groupby(list(by))[filled].sum() if by else pd.Series([c[filled].sum()])
                n = r[by[0]].map(counts).to_numpy() if by else counts.to_numpy()
                r["note"] = [
                    f"{int(k)} cell(s) without a {stage.lower()} value: previous step carried"
                    if k > 0
                    else ""
                    for k in n
                ]
            else:
                r["note"] = ""
            rows.append(r)
        d = pd.concat(rows, ignore_index=True).rename(columns={"forecast_accuracy": "accuracy"})
        key = list(by) if by else [pd.Series(0, index=d.index)]
        g = d.sort_values("step", kind="stable").groupby(key, sort=False)["wmape"]
        d["fva_step"] = (g.shift(1) - d["wmape"]).where(d["step"] > 1)
        naive = d[d["step"] == 1].set_index(list(by))["wmape"] if by else d["wmape"].iloc[0]
        base = d[by[0]].map(naive).to_numpy(dtype=float) if by else float(naive)
        d["fva_naive"] = (base - d["wmape"]).where(d["step"] > 1)
        d["scope_type"] = scope_type
        d["scope"] = scope_text(d[by[0]], scope_type) if by else ""
        parts.append(d)
    d = pd.concat(parts, ignore_index=True)
    d["verdict"] = np.select(
        [d["fva_step"].isna(), d["fva_step"] > NO_CHANGE, d["fva_step"] < -NO_CHANGE],
        ["", "adds value", "hurts"],
        "no change",
    )
    months = sorted(c["period"].unique())
    total = d[d["scope_type"] == "Total"].copy()
    span = f"lag {lag}, {months[0]} to {months[-1]}"
    total["note"] = (span + "; " + total["note"].astype(str)).str.strip("; ")
    return total[FVA.names].reset_index(drop=True), d[FVA_DETAIL.names].reset_index(drop=True), c


# --- random small histories -------------------------------------------------------------------
quantities = st.one_of(
    st.none(), st.integers(0, 400).map(float), st.floats(0, 400).map(lambda x: round(x, 3))
)


@st.composite
def histories(draw, *, every_item_known: bool = False):
    """(archive, actuals, items) over a few series and months around :data:`CYCLE`."""
    series = draw(
        st.lists(
            st.tuples(st.sampled_from(["R1", "R2"]), st.sampled_from(ITEMS), st.just("L1")),
            min_size=1,
            max_size=4,
        )
    )
    one_series = st.sampled_from(series)
    # dense: each cycle x stage x series x lag -1..4 kept or not, then a few extra (duplicate) rows
    grid = [
        (c, stage, key, lag)
        for c in CYCLES
        for stage in STAGES
        for key in series
        for lag in range(-1, 5)
    ]
    kept = draw(st.lists(st.booleans(), min_size=len(grid), max_size=len(grid)))
    rows = [g for g, k in zip(grid, kept, strict=True) if k]
    rows += draw(st.lists(st.sampled_from(grid), max_size=5))
    amounts = draw(st.lists(quantities, min_size=len(rows), max_size=len(rows)))
    evidence = draw(
        st.lists(st.sampled_from(["workbook", "snapshot"]), min_size=len(rows), max_size=len(rows))
    )
    archive = arc.normalise(
        pd.DataFrame(
            [
                (c, stage, *key, add_months(c, lag), q, ev)
                for (c, stage, key, lag), q, ev in zip(rows, amounts, evidence, strict=True)
            ],
            columns=[
                "cycle",
                "stage",
                "region",
                "item",
                "location",
                "period",
                "quantity",
                "evidence",
            ],
        ).sample(frac=1, random_state=draw(st.integers(0, 9)))  # rows in any order
    )
    cells = [(key, p) for key in series for p in PERIODS]
    sold = draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells)))
    sales = [c for c, k in zip(cells, sold, strict=True) if k]
    no_region = (None, "I1", "L1") if not every_item_known else series[0]
    sales += draw(
        st.lists(
            st.tuples(st.one_of(one_series, st.just(no_region)), st.sampled_from(PERIODS)),
            max_size=4,
        )
    )
    amounts = draw(st.lists(quantities, min_size=len(sales), max_size=len(sales)))
    actuals = pd.DataFrame(
        [(*key, p, q) for (key, p), q in zip(sales, amounts, strict=True)],
        columns=["region", "item", "location", "period", "quantity"],
    )
    actuals["quantity"] = actuals["quantity"].astype(float)
    known = ITEMS if every_item_known else ITEMS[:2]
    lead = draw(st.lists(st.one_of(st.none(), st.integers(0, 100)), min_size=3, max_size=3))
    items = pd.DataFrame(
        {
            "item": known,
            "family": ["F1", "F2", "F1"][: len(known)],
            "lead_time_days": pd.array(lead[: len(known)], dtype="Int64"),
        }
    )
    with_items = draw(st.sampled_from(["all", "all", "no lead time", "none"]))
    if with_items == "no lead time":
        items = items.drop(columns="lead_time_days")
    elif with_items == "none":
        items = None
    return archive, actuals, items


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_lag_accuracy_equals_one_merge_per_lag(history) -> None:
    archive, actuals, items = history
    wide, detail = lag_accuracy(archive, actuals, CYCLE, items=items)
    ref = reference_lag_accuracy(archive, actuals, CYCLE, items=items)
    if ref is None:
        assert detail.empty and wide.empty
        return
    pd.testing.assert_frame_equal(detail, ref[1], check_exact=True)
    pd.testing.assert_frame_equal(wide, ref[0], check_exact=True)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(every_item_known=True), st.integers(0, 3))
def test_fva_report_equals_one_engine_call_per_stage_and_scope(history, lag: int) -> None:
    archive, actuals, items = history
    fva, detail, cells = fva_report(archive, actuals, CYCLE, lag, items=items)
    ref = reference_fva(archive, actuals, CYCLE, lag, items=items)
    if ref is None:
        assert fva.empty and detail.empty and cells.empty
        return
    pd.testing.assert_frame_equal(fva, ref[0], check_exact=True)
    pd.testing.assert_frame_equal(detail, ref[1], check_exact=True)
    pd.testing.assert_frame_equal(cells, ref[2], check_exact=True)


def test_keys_made_once_give_the_same_tables() -> None:
    """build_history keys the archive and the sales once and passes them to both reports."""
    archive = arc.normalise(
        pd.DataFrame(
            {
                "cycle": ["2026-04", "2026-04", "2026-05", "2026-05"],
                "stage": ["Consensus", "Statistical", "Consensus", "Submission"],
                "region": "R1",
                "item": "I1",
                "location": "L1",
                "period": ["2026-05", "2026-05", "2026-05", "2026-05"],
                "quantity": [12.5, 10.0, 11.0, 9.0],
                "evidence": "workbook",
            }
        )
    )
    actuals = pd.DataFrame(
        {
            "region": ["R1"],
            "item": ["I1"],
            "location": ["L1"],
            "period": ["2026-05"],
            "quantity": [10.0],
        }
    )
    k = keyed(archive, actuals)
    for a, b in zip(
        lag_accuracy(archive, actuals, CYCLE, keys=k),
        lag_accuracy(archive, actuals, CYCLE),
        strict=True,
    ):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    fast = fva_report(archive, actuals, CYCLE, 1, keys=k)
    # lag 1 in 2026-05: consensus 12.5 (made 2026-04) against 10 sold: WMAPE 2.5 / 10
    assert fast[0].set_index("stage").loc["Consensus", "wmape"] == 0.25
    # the statistical forecast of 2026-04 for 2026-05 was 10: a perfect score
    assert fast[0].set_index("stage").loc["Statistical", "wmape"] == 0.0
