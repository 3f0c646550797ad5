"""Plan history engine: known answers by hand, the lag-0 property, FVA, actions carried."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.history import archive as arc
from sop_xl.history.baseline import HOLT_WINTERS, MEAN, SES, ZERO, statistical_baseline
from sop_xl.history.carry import carry_actions, update_log
from sop_xl.history.fva import fva_report
from sop_xl.history.lag import (
    NO_FAMILY,
    UNKNOWN_REGION,
    accuracy_at_lag,
    actuals_by_series,
    lag_accuracy,
)
from sop_xl.kpi.table import kpi_table
from sop_xl.model.schema import Settings

CYCLE = "2026-05"
ITEMS = pd.DataFrame({"item": ["I1", "I2"], "family": ["F1", "F2"], "lead_time_days": [20, 45]})


def _rows(stage: str, cycle: str, values: dict[tuple[str, str], float]) -> pd.DataFrame:
    """Archive rows: {(item, period): qty} for region R1, location L1."""
    f = pd.DataFrame(
        [("R1", i, "L1", p, q) for (i, p), q in values.items()],
        columns=["region", "item", "location", "period", "quantity"],
    )
    return arc.stage_rows(f, cycle, stage, lags=3)


def _archive() -> pd.DataFrame:
    parts = [
        _rows("Consensus", "2026-02", {("I1", "2026-03"): 110, ("I2", "2026-03"): 40,
                                        ("I1", "2026-04"): 60, ("I2", "2026-04"): 50}),
        _rows("Consensus", "2026-03", {("I1", "2026-03"): 105, ("I2", "2026-03"): 50,
                                        ("I1", "2026-04"): 90, ("I2", "2026-04"): 30}),
        _rows("Consensus", "2026-04", {("I1", "2026-04"): 80, ("I2", "2026-04"): 44}),
        _rows("Statistical", "2026-02", {("I1", "2026-03"): 100, ("I2", "2026-03"): 45}),
        _rows("Statistical", "2026-03", {("I1", "2026-04"): 85, ("I2", "2026-04"): 40}),
        # 2026-02: I2 did not submit (the statistical value is carried)
        _rows("Submission", "2026-02", {("I1", "2026-03"): 120}),
        _rows("Submission", "2026-03", {("I1", "2026-04"): 95, ("I2", "2026-04"): 35}),
    ]  # fmt: skip
    return arc.replace(arc.empty(), pd.concat(parts, ignore_index=True))


def _actuals() -> pd.DataFrame:
    rows = [
        ("I1", "2026-01", 90), ("I2", "2026-01", 60),
        ("I1", "2026-02", 70), ("I2", "2026-02", 45),
        ("I1", "2026-03", 100), ("I2", "2026-03", 50),
        ("I1", "2026-04", 80), ("I2", "2026-04", 40),
    ]  # fmt: skip
    return pd.DataFrame(
        [("R1", i, "L1", p, float(q)) for i, p, q in rows],
        columns=["region", "item", "location", "period", "quantity"],
    )


def test_lag_of_each_row_is_months_from_cycle_to_period() -> None:
    a = _archive()
    got = a.set_index(["cycle", "stage", "item", "period"])["lag"]
    assert got[("2026-02", "Consensus", "I1", "2026-04")] == 2
    assert got[("2026-04", "Consensus", "I2", "2026-04")] == 0
    assert (a["lag"] >= 0).all()


def test_known_answer_accuracy_by_lag() -> None:
    wide, detail = lag_accuracy(_archive(), _actuals(), CYCLE, items=ITEMS)
    w = wide.set_index("period")
    # lag 0: 2026-03 |105-100| + |50-50| = 5 over 150; 2026-04 |80-80| + |44-40| = 4 over 120
    assert w.loc["2026-03", "accuracy_lag0"] == pytest.approx(1 - 5 / 150)
    assert w.loc["2026-04", "accuracy_lag0"] == pytest.approx(1 - 4 / 120)
    # lag 1: 2026-03 |110-100| + |40-50| = 20 / 150; 2026-04 |90-80| + |30-40| = 20 / 120
    assert w.loc["2026-03", "accuracy_lag1"] == pytest.approx(1 - 20 / 150)
    assert w.loc["2026-04", "accuracy_lag1"] == pytest.approx(1 - 20 / 120)
    # lag 2: only 2026-04 (cycle 2026-02): |60-80| + |50-40| = 30 / 120; no month at lag 3
    assert np.isnan(w.loc["2026-03", "accuracy_lag2"])
    assert w.loc["2026-04", "accuracy_lag2"] == pytest.approx(1 - 30 / 120)
    assert w["accuracy_lag3"].isna().all()
    # lead time: I1 20 days -> lag 1 (90), I2 45 days -> lag 2 (50); only 2026-04 has both
    assert np.isnan(w.loc["2026-03", "accuracy_lead_time"])
    assert w.loc["2026-04", "accuracy_lead_time"] == pytest.approx(1 - (10 + 10) / 120)
    d = detail.set_index(["scope_type", "scope", "lag", "period"])
    # lag 2 bias: (60 - 80) + (50 - 40) = -10 units, -10 / 120
    assert d.loc[("Total", "", "2", "2026-04"), "bias"] == pytest.approx(-10)
    assert d.loc[("Total", "", "2", "2026-04"), "bias_pct"] == pytest.approx(-10 / 120)
    # all months of lag 1 (no month has every lag 0-3, so each lag's own months): 40 / 270
    assert d.loc[("Total", "", "1", ""), "wmape"] == pytest.approx(40 / 270)
    # family F2 = item I2 at lag 1: |40-50| + |30-40| = 20 over 90
    assert d.loc[("Family", "F2", "1", ""), "accuracy"] == pytest.approx(1 - 20 / 90)


def test_an_unknown_region_and_family_are_named_in_the_detail() -> None:
    # sales of a customer not in Customers have no region, an item not in Items no family: the
    # scope said nothing (a blank cell, read as the company total, under pandas 3) or 'nan'
    sales = pd.DataFrame(
        {
            "customer": ["C1", "C1", "C9", "C9"],
            "item": ["I1", "I2", "I1", "I3"],
            "location": "L1",
            "period": "2026-04",
            "quantity": [80.0, 40.0, 20.0, 5.0],
        }
    )
    customers = pd.DataFrame({"customer": ["C1"], "region": ["R1"]})
    actuals = actuals_by_series(sales, customers)
    archive = arc.replace(
        arc.empty(),
        _rows("Consensus", "2026-03", {("I1", "2026-04"): 90, ("I2", "2026-04"): 30}),
    )
    _, detail = lag_accuracy(archive, actuals, CYCLE, items=ITEMS, lags=[1])
    month = detail[(detail["lag"] == "1") & (detail["period"] == "2026-04")]
    scopes = month.set_index(["scope_type", "scope"])
    assert set(month["scope"][month["scope_type"] != "Total"]) == {
        "R1",
        UNKNOWN_REGION,
        "F1",
        "F2",
        NO_FAMILY,
    }
    assert not month["scope"][month["scope_type"] != "Total"].isin(["", "nan"]).any()
    # the unknown region sold 20 (I1) + 5 (I3) and was planned at 0 (no archived forecast)
    assert scopes.loc[("Region", UNKNOWN_REGION), "actual_qty"] == 25
    assert scopes.loc[("Region", UNKNOWN_REGION), "forecast_qty"] == 0
    # R1: |90-80| + |30-40| = 20 over 120; I3 has no family: 5 sold, planned at 0
    assert scopes.loc[("Region", "R1"), "wmape"] == pytest.approx(20 / 120)
    assert scopes.loc[("Family", NO_FAMILY), "actual_qty"] == 5
    # the FVA detail names them the same way
    _, fva_detail, _ = fva_report(archive, actuals, CYCLE, 1, items=ITEMS)
    assert {UNKNOWN_REGION, NO_FAMILY} <= set(fva_detail["scope"])
    assert not fva_detail["scope"][fva_detail["scope_type"] != "Total"].isin(["", "nan"]).any()


def test_known_answer_fva_stairstep() -> None:
    fva, detail, cells = fva_report(_archive(), _actuals(), CYCLE, 1, items=ITEMS)
    s = fva.set_index("stage")
    # naive = sales of the month before the cycle: cycle 2026-02 -> Jan (90, 60) for March,
    # cycle 2026-03 -> Feb (70, 45) for April: |90-100|+|60-50| + |70-80|+|45-40| = 35 / 270
    assert s.loc["Naive", "wmape"] == pytest.approx(35 / 270)
    # statistical: |100-100|+|45-50| + |85-80|+|40-40| = 10 / 270
    assert s.loc["Statistical", "wmape"] == pytest.approx(10 / 270)
    # submission (I2 March carried from statistical 45): 20 + 5 + 15 + 5 = 45 / 270
    assert s.loc["Submission", "wmape"] == pytest.approx(45 / 270)
    assert s.loc["Consensus", "wmape"] == pytest.approx(40 / 270)
    assert s.loc["Statistical", "fva_step"] == pytest.approx(25 / 270)
    assert s.loc["Submission", "fva_step"] == pytest.approx(-35 / 270)  # the override hurt
    assert s.loc["Consensus", "fva_step"] == pytest.approx(5 / 270)
    assert s.loc["Consensus", "fva_naive"] == pytest.approx(-5 / 270)
    assert "1 cell(s) without a submission value" in s.loc["Submission", "note"]
    assert np.isnan(s.loc["Naive", "fva_step"])
    v = detail.set_index(["scope_type", "scope", "stage"])["verdict"]
    assert v[("Total", "", "Submission")] == "hurts"
    assert v[("Total", "", "Statistical")] == "adds value"
    assert len(cells) == 4


def test_stage_rows_keeps_only_lags_zero_to_max() -> None:
    f = pd.DataFrame(
        {
            "region": "R1",
            "item": "I1",
            "location": "L1",
            "period": ["2026-04", "2026-05", "2026-08", "2026-09"],
            "quantity": [1.0, 2.0, 3.0, np.nan],
        }
    )
    rows = arc.stage_rows(f, "2026-05", "Consensus", lags=3)
    assert rows["period"].tolist() == ["2026-05", "2026-08"]  # before cycle, blank, lag 4 out
    assert rows["lag"].tolist() == [0, 3]
    with pytest.raises(ValueError, match="stage"):
        arc.stage_rows(f, "2026-05", "Naive", lags=3)


def test_lead_time_lag_rounds_up_whole_months() -> None:
    assert arc.lead_time_lag(np.array([0, 1, 30, 31, 59, 60, 61])).tolist() == [
        0, 1, 1, 2, 2, 2, 3,
    ]  # fmt: skip
    assert arc.max_lag(pd.DataFrame({"lead_time_days": [10, 200]})) == 7
    assert arc.max_lag(None) == 3


# --- property: consensus at lag 0 equals today's KPI values -----------------------------------
@settings(max_examples=25, deadline=None)
@given(
    fc=st.lists(st.integers(0, 400), min_size=6, max_size=6),
    act=st.lists(st.integers(-3, 400), min_size=6, max_size=6),
)
def test_consensus_at_lag_zero_equals_the_kpi_engine(fc: list[int], act: list[int]) -> None:
    months = ["2026-02", "2026-03", "2026-04"]
    series = [("R1", "I1", "L1"), ("R2", "I2", "L2")]
    forecast = pd.DataFrame(
        [(*s, p, float(fc[i * 3 + j])) for i, s in enumerate(series) for j, p in
         enumerate(months)],
        columns=["region", "item", "location", "period", "quantity"],
    )  # fmt: skip
    customers = pd.DataFrame({"customer": ["C1", "C2"], "region": ["R1", "R2"]})
    sales = pd.DataFrame(
        [(f"C{i + 1}", s[1], s[2], p, float(act[i * 3 + j]), 1.0, 1.0)
         for i, s in enumerate(series) for j, p in enumerate(months)],
        columns=["customer", "item", "location", "period", "quantity", "amount", "cost"],
    )  # fmt: skip
    sales = sales[sales["quantity"] != 0]  # no posting for a month without sales
    archive = arc.replace(
        arc.empty(),
        pd.concat([arc.stage_rows(forecast, p, "Consensus", lags=3) for p in months]),
    )
    tables = {"Forecast": forecast, "SalesActuals": sales, "Customers": customers}
    today = kpi_table(tables, Settings(cycle="2026-05"))
    today = today[today["kpi"] == "forecast_accuracy"].set_index("period")["value"]
    lagged = accuracy_at_lag(archive, actuals_by_series(sales, customers), "2026-05", 0)
    if today.empty:  # no month with posted sales: neither scores anything
        assert lagged.empty
        return
    lagged = lagged.set_index("period")["forecast_accuracy"]
    pd.testing.assert_series_equal(
        lagged.sort_index(), today.sort_index(), check_names=False, check_index_type=False
    )


# --- statistical baseline --------------------------------------------------------------------
def _sales(values: dict[str, np.ndarray], start: str = "2023-11") -> pd.DataFrame:
    from sop_xl.model.periods import period_range

    rows = []
    for item, v in values.items():
        for p, q in zip(period_range(start, len(v)), v, strict=True):
            rows.append(("R1", item, "L1", "F1", p, float(q)))
    return pd.DataFrame(rows, columns=["region", "item", "location", "family", "period",
                                       "quantity"])  # fmt: skip


def test_baseline_follows_a_clean_seasonal_pattern() -> None:
    season = np.array([50, 60, 80, 120, 150, 160, 150, 120, 90, 70, 60, 50], dtype=float)
    sales = _sales({"I1": np.tile(season, 3)})  # 36 months 2023-11 .. 2026-10
    b = statistical_baseline(sales, "2026-11", 12, fit_by=None)
    assert (b["method"] == HOLT_WINTERS).all() and (b["fit_months"] == 36).all()
    # a pure repeating pattern is forecast as itself (2026-11 is the pattern's first month)
    np.testing.assert_allclose(b["quantity"].to_numpy(), season, rtol=0.03)


def test_baseline_methods_by_history_length_and_no_negatives() -> None:
    sales = _sales({"SHORT": np.array([10.0, 20.0])}, start="2026-09")
    sales = pd.concat(
        [
            sales,
            _sales({"MID": np.linspace(100, 10, 10)}, start="2026-01"),
            _sales({"ZERO": np.zeros(5)}, start="2026-06"),
        ]
    )
    b = statistical_baseline(sales, "2026-11", 3, fit_by=None).set_index("item")
    assert set(b.loc["SHORT", "method"]) == {MEAN}
    assert b.loc["SHORT", "quantity"].tolist() == [15.0, 15.0, 15.0]  # (10 + 20) / 2
    assert set(b.loc["MID", "method"]) == {SES}
    assert set(b.loc["ZERO", "method"]) == {ZERO}
    assert (b["quantity"] >= 0).all()


def test_baseline_top_down_splits_by_recent_share() -> None:
    season = np.tile(np.array([5, 6, 8, 12, 15, 16, 15, 12, 9, 7, 6, 5], dtype=float), 3)
    sales = _sales({"A": 3 * season, "B": season})  # A sells 3x B in every month
    b = statistical_baseline(sales, "2026-11", 6, fit_by=("region", "family"))
    a, bb = (b[b["item"] == i]["quantity"].to_numpy() for i in ("A", "B"))
    np.testing.assert_allclose(a, 3 * bb, rtol=1e-3)  # shares 75% / 25%
    assert b["method"].str.contains("split by 12-month share").all()


# --- actions carried ------------------------------------------------------------------------
def _actions(rows) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["action_id", "decision", "owner_role", "owner", "due_date", "status",
                       "cycle_raised", "cycle_closed", "closed_date"],
    ).assign(due_date=lambda d: pd.to_datetime(d["due_date"]))  # fmt: skip


def test_actions_carried_flags() -> None:
    last = _actions([
        ("A1", "x", "Finance", "Ann", "2026-04-10", "Open", "2026-03", None, None),
        ("A2", "x", "Finance", "Ann", "2026-05-20", "Closed", "2026-03", "2026-04", None),
        ("A3", "x", "Finance", "Ann", "2026-05-20", "Open", "2026-04", None, None),
        ("A4", "x", "Finance", "Ann", "2026-06-20", "Open", "2026-04", None, None),
        ("A5", "x", "Finance", "Ann", "2026-06-20", "In progress", "2026-04", None, None),
        ("A6", "x", "Finance", "Ann", "2026-03-20", "Closed", "2026-02", "2026-03", None),
    ])  # fmt: skip
    now = _actions([
        ("A1", "x", "Finance", "Ann", "2026-04-10", "In progress", "2026-03", None, None),
        ("A2", "x", "Finance", "Ann", "2026-05-20", "Open", "2026-03", None, None),
        ("A3", "x", "Finance", "Ann", "2026-05-20", "Closed", "2026-04", "2026-05", None),
        ("A5", "x", "Finance", "Ann", "2026-06-20", "In progress", "2026-04", None, None),
        ("A6", "x", "Finance", "Ann", "2026-03-20", "Closed", "2026-02", "2026-03", None),
        ("A7", "x", "Finance", "Ann", "2026-07-01", "Open", "2026-05", None, None),
    ])  # fmt: skip
    log = update_log(None, last, "2026-04")
    out, prev = carry_actions(now, log, "2026-05")
    assert prev == "2026-04"
    flags = dict(zip(out["action_id"], out["flag"], strict=True))
    assert flags == {"A1": "Overdue", "A2": "Reopened", "A3": "Closed", "A4": "Missing",
                     "A5": "Carried", "A7": "New"}  # fmt: skip
    days = dict(zip(out["action_id"], out["days_overdue"], strict=True))
    assert days["A1"] == 21  # 2026-05-01 - 2026-04-10
    assert out["flag"].tolist()[:2] == ["Overdue", "Reopened"]  # worst first
    # the log keeps each cycle once: running the same cycle again replaces its rows
    log2 = update_log(update_log(log, now, "2026-05"), now, "2026-05")
    assert (log2["cycle"] == "2026-05").sum() == len(now)


def test_baseline_is_kept_between_clicks_and_refitted_when_a_sale_changes(
    tmp_path, monkeypatch
) -> None:
    """The statistical baseline of one month's actuals is fitted once: a second click (a new
    process) reads it from the result store, equal to a fresh fit; one changed sales cell is a
    new key and is fitted again (a store that ignored the content would serve the old fit)."""
    from sop_xl.history import step
    from sop_xl.io.tablestore import ResultStore

    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "store"))
    season = np.array([50, 60, 80, 120, 150, 160, 150, 120, 90, 70, 60, 50], dtype=float)
    sales = _sales({"A": np.tile(season, 3), "B": np.tile(season, 3) / 2})
    fits = []
    monkeypatch.setattr(
        step, "statistical_baseline", lambda *a, **k: fits.append(1) or statistical_baseline(*a)
    )
    first = step.baseline_of(sales, "2026-11", 6, memo=ResultStore())
    again = step.baseline_of(sales.copy(), "2026-11", 6, memo=ResultStore())
    assert len(fits) == 1
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    pd.testing.assert_frame_equal(again, statistical_baseline(sales, "2026-11", 6))
    changed = sales.copy()
    changed.loc[changed.index[-1], "quantity"] += 500.0  # the last month of one series
    moved = step.baseline_of(changed, "2026-11", 6, memo=ResultStore())
    assert len(fits) == 2
    assert not moved["quantity"].equals(first["quantity"])
    step.baseline_of(sales, "2026-12", 6, memo=ResultStore())  # another cycle: its own fit
    assert len(fits) == 3
