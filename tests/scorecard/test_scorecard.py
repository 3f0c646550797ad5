"""Balanced scorecard: action KPIs by hand, the fixture's known statuses, the sheets, the step."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import test_scorecard_fixtures as fx
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from sop_xl.kpi.actions import ACTION_KPIS, action_kpis
from sop_xl.kpi.defs import HISTORY_KPIS, KPIS, SUPPLY_KPIS
from sop_xl.model import schema
from sop_xl.model.sheets import CellRule, IconRule
from sop_xl.scorecard.step import (
    ALL_KPIS,
    build_scorecard,
    default_targets,
    format_values,
    run_scorecard,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "workbook" / "SOP_Planning.xlsx"


@pytest.fixture(scope="module")
def result():
    return build_scorecard(fx.tables(), fx.settings(), fx.kpis(), plan_status="frozen v2")


def _row(df: pd.DataFrame, kpi: str, level: str = "Total", scope: str = "") -> pd.Series:
    m = (df["kpi"] == kpi) & (df.get("level", "Total") == level)
    if "scope" in df:
        m &= df["scope"] == scope
    assert m.sum() == 1, (kpi, level, scope)
    return df[m].iloc[0]


# --- action KPIs ---------------------------------------------------------------------------------
def test_action_kpis_by_hand():
    got = action_kpis(fx.actions(), fx.CYCLE, [fx.PRIOR, fx.PERIOD])
    v = got.set_index(["kpi", "period"])
    # see the fixture's docstring for the hand count
    assert v.loc[("actions_closed_on_time", fx.PERIOD), "value"] == 0.5
    assert v.loc[("actions_closed_on_time", fx.PERIOD), "denominator"] == 2
    assert v.loc[("actions_closed_on_time", fx.PRIOR), "value"] == 0.5
    assert v.loc[("actions_overdue", fx.PERIOD), "value"] == 1
    assert v.loc[("actions_overdue", fx.PERIOD), "n"] == 2  # open at month end
    assert v.loc[("actions_overdue", fx.PRIOR), "value"] == 1
    assert v.loc[("actions_overdue", fx.PRIOR), "n"] == 3
    assert v.loc[("oldest_open_action_days", fx.PERIOD), "value"] == 61
    assert v.loc[("oldest_open_action_days", fx.PERIOD), "note"] == (
        "A3, Cy (Supply planning), due 2026-10-10"
    )
    assert v.loc[("oldest_open_action_days", fx.PRIOR), "note"].startswith("A2, Bob")


def test_action_kpis_cancelled_undated_and_empty_months():
    a = fx.actions()
    a.loc[a["action_id"] == "A3", "status"] = "Cancelled"  # the overdue one
    a.loc[a["action_id"] == "A4", "closed_date"] = pd.NaT  # closed without a date
    got = action_kpis(a, fx.CYCLE, [fx.PERIOD, "2026-07"]).set_index(["kpi", "period"])
    # October: A3 cancelled, A4 not judgeable -> nothing judged: no value, never 100%
    assert np.isnan(got.loc[("actions_closed_on_time", fx.PERIOD), "value"])
    assert (
        "1 closed without a Closed Date" in got.loc[("actions_closed_on_time", fx.PERIOD), "note"]
    )
    # A4 has no Closed Date but Cycle Closed 2026-11: open until 2026-11-01, due 10-20: overdue
    assert got.loc[("actions_overdue", fx.PERIOD), "value"] == 1
    assert got.loc[("oldest_open_action_days", fx.PERIOD), "note"].startswith("A4")
    # July: nothing raised yet
    assert got.loc[("actions_overdue", "2026-07"), "value"] == 0
    assert got.loc[("oldest_open_action_days", "2026-07"), "note"] == "no open action"
    assert got.loc[("actions_closed_on_time", "2026-07"), "note"] == "no action due this month"


def test_action_kpis_without_actions():
    got = action_kpis(None, fx.CYCLE)
    assert len(got) == 36  # 3 KPIs x 12 default months
    assert sorted(got["period"].unique())[-1] == "2026-10"
    oc = got[got["kpi"] == "actions_closed_on_time"]
    assert oc["value"].isna().all()
    assert (got.loc[got["kpi"] == "actions_overdue", "value"] == 0).all()


def test_action_kpis_live_in_the_one_registry():
    # issue 19: kpi('actions_overdue') used to raise KeyError
    from sop_xl.kpi.defs import kpi

    assert set(ACTION_KPIS) == {
        "actions_closed_on_time",
        "actions_overdue",
        "oldest_open_action_days",
    }
    for k, d in ACTION_KPIS.items():
        assert d.perspective == "Learning and growth"
        assert d.formula and d.zero_policy and d.sign_convention
        assert KPIS[k] is d and kpi(k) is d


# --- build_scorecard on the hand-made fixture ----------------------------------------------
def test_total_statuses_known(result):
    got = dict(zip(result.scorecard["kpi"], result.scorecard["status"], strict=True))
    assert got == fx.EXPECTED_TOTAL
    assert result.summary == "Scorecard 2026-10: 1 green, 2 amber, 3 red, 1 no data, 1 no target"
    assert result.ok
    assert result.period == fx.PERIOD


def test_total_values_gap_prior_and_trend(result):
    sc = result.scorecard
    fa = _row(sc, "forecast_accuracy")
    assert fa["actual"] == pytest.approx(0.80)
    assert fa["prior"] == pytest.approx(0.79)
    assert fa["gap"] == pytest.approx(0.0)
    assert fa["actual_text"] == "80.0%" and fa["gap_text"] == "+0.0 pp"
    assert fa["trend"] == "\u25b2 improving"
    assert len(fa["trend_values"]) == 12 and fa["trend_values"][-1] == pytest.approx(0.80)
    # last 3 months (0.78, 0.79, 0.80) vs the 3 before (0.75, 0.76, 0.77): +0.03
    assert fa["change_12m"] == pytest.approx(0.03)
    assert fa["signal"] == 3
    dos = _row(sc, "days_of_supply")
    assert dos["gap"] == pytest.approx(-7.0)  # lower is better: target 45 - actual 52
    assert dos["gap_text"] == "-7.0 days"
    assert dos["trend"] == "\u25b2 worsening"
    otd = _row(sc, "otd")
    assert otd["gap"] == pytest.approx(-0.06) and otd["gap_text"] == "-6.0 pp"
    bias = _row(sc, "bias_pct")
    assert bias["direction"] == "target" and bias["gap"] == pytest.approx(-0.12)
    nd = _row(sc, "order_fill_rate")
    assert nd["actual_text"] == "\u2013" and pd.isna(nd["signal"])
    assert nd["prior"] == pytest.approx(0.96)
    assert "no value for 2026-10" in nd["note"]
    nt = _row(sc, "gross_margin_pct")
    assert "no green/amber threshold" in nt["note"]


def test_rows_are_grouped_by_perspective_in_kaplan_norton_order(result):
    order = [schema.PERSPECTIVES.index(p) for p in result.scorecard["perspective"]]
    assert order == sorted(order)
    assert result.scorecard["perspective"].iloc[0] == "Financial"
    assert result.scorecard["perspective"].iloc[-1] == "Learning and growth"


def test_detail_by_region_and_family_with_scoped_thresholds(result):
    d = result.detail
    eu, na = _row(d, "otd", "Region", "EU"), _row(d, "otd", "Region", "NA")
    assert eu["status"] == "Green" and eu["threshold_scope"] == "company"
    # NA at 0.85 is Red on the company's 0.95/0.90 but Green on its own scoped target row
    assert na["status"] == "Green" and na["threshold_scope"] == "NA"
    assert na["target"] == 0.85
    assert _row(d, "forecast_accuracy", "Family", "FAM1")["status"] == "Red"
    assert _row(d, "forecast_accuracy", "Family", "FAM2")["status"] == "Green"
    # each KPI's total first, then its scopes
    otd_rows = d[d["kpi"] == "otd"]
    assert otd_rows["level"].tolist() == ["Total", "Region", "Region"]
    assert d[d["level"] == "Total"]["kpi"].tolist() == result.scorecard["kpi"].tolist()


def test_trends_sheet_data(result):
    t = result.trends.set_index("period")
    assert list(t.index) == fx.WINDOW
    assert t.loc[fx.PRIOR, "revenue"] == 1500 and t.loc[fx.PRIOR, "revenue_budget"] == 1400
    assert t.loc[fx.PERIOD, "revenue_vs_budget_pct"] == pytest.approx(0.2)
    assert t.loc[fx.PERIOD, "otd"] == pytest.approx(0.89)
    assert (t["forecast_accuracy_target"] == 0.8).all()
    assert t.loc[fx.PRIOR, "fill_rate"] == pytest.approx(0.96)  # order fill rate is on Targets
    assert np.isnan(t.loc["2025-11", "revenue"])  # no sales posted: blank, not 0


def test_definitions_cover_registry_and_action_kpis(result):
    d = result.definitions
    # one registry: actions (issue 19), supply and history KPIs are all in KPIS (issue 14)
    assert set(d["kpi"]) == set(ALL_KPIS) == set(KPIS) and len(d) == len(KPIS)
    assert set(SUPPLY_KPIS) | set(HISTORY_KPIS) < set(KPIS)
    assert set(d.loc[d["on_scorecard"] == "yes", "kpi"]) == set(fx.targets()["kpi"])
    row = d[d["kpi"] == "wmape"].iloc[0]
    assert row["formula"] == KPIS["wmape"].formula and row["direction"] == "lower"


def test_outputs_sheets_formats_and_charts(result):
    outs = {o.sheet: o for o in result.outputs}
    assert list(outs) == ["Scorecard", "ScorecardDetail", "Trends", "Definitions"]
    sc = outs["Scorecard"]
    assert list(sc.df.columns) == schema.SCORECARD.names
    assert "Plan status: frozen v2" in sc.title[1] and sc.title[0].startswith("Fixture Ltd")
    cells = {r.values[0] for r in sc.conditional_formats if isinstance(r, CellRule)}
    assert cells == {'"Green"', '"Amber"', '"Red"', '"No data"', '"No target"'}
    icons = [r for r in sc.conditional_formats if isinstance(r, IconRule)]
    assert icons and icons[0].column == "signal" and icons[0].thresholds == (0, 2, 3)
    kinds = [(c.kind, c.source_sheet) for c in sc.charts]
    assert kinds == [("line", "Trends")] * 3 + [("column", "Trends")]
    for c in sc.charts:
        assert set(c.series) <= set(schema.TRENDS.names)
    assert list(outs["ScorecardDetail"].df.columns) == schema.SCORECARD_DETAIL.names


def test_no_targets_is_not_ok():
    tables = fx.tables() | {"Targets": fx.targets().iloc[0:0]}
    r = build_scorecard(tables, fx.settings(), fx.kpis())
    assert not r.ok and "add rows to the Targets sheet" in r.summary
    assert len(r.outputs) == 4  # still writes the (empty) sheets and the definitions


def test_unknown_kpi_and_inverted_thresholds_are_explained():
    t = fx.targets()
    t.loc[len(t)] = ["made_up", "Customer", 1, "higher", 1, 0.5, "Finance", None]
    t.loc[t["kpi"] == "otd", ["green", "amber"]] = [0.90, 0.95]  # inverted for higher
    r = build_scorecard(fx.tables() | {"Targets": t}, fx.settings(), fx.kpis())
    bad = _row(r.scorecard, "made_up")
    assert bad["status"] == "No data" and "unknown KPI id" in bad["note"]
    assert "green threshold is worse than amber" in _row(r.scorecard, "otd")["note"]


def test_percent_typed_as_points_is_flagged():
    t = fx.targets()
    t.loc[t["kpi"] == "otd", ["target", "green", "amber"]] = [95, 95, 90]
    r = build_scorecard(fx.tables() | {"Targets": t}, fx.settings(), fx.kpis())
    assert "percentage points" in _row(r.scorecard, "otd")["note"]


def test_format_values_per_unit():
    v = pd.Series([0.953, 4.2, 38.46, 1234.4, 3.0, 12345.6, np.nan])
    u = pd.Series(["pct", "ratio", "days", "units", "count", "money", "pct"])
    assert format_values(v, u, currency="EUR").tolist() == [
        "95.3%",
        "4.20",
        "38.5 days",
        "1,234",
        "3",
        "EUR 12,346",
        "",
    ]
    assert format_values(
        pd.Series([0.012, -2.0]), pd.Series(["pct", "days"]), signed=True
    ).tolist() == [
        "+1.2 pp",
        "-2.0 days",
    ]


def test_default_targets_are_valid_targets_rows():
    d = default_targets()
    assert set(d["kpi"]) <= set(ALL_KPIS)
    assert set(d["perspective"]) == set(schema.PERSPECTIVES)
    assert set(d["owner_role"]) <= set(schema.OWNER_ROLES)
    # every perspective has at least two KPIs, learning and growth included
    assert d.groupby("perspective").size().min() >= 2


# --- through the KPI engine -----------------------------------------------------------------------
def _raw_tables() -> dict[str, pd.DataFrame]:
    """One item, one region: Oct 100 sold vs 90 forecast -> accuracy 1 - 10/100 = 0.9; Sep
    50 vs 40 -> 1 - 10/50 = 0.8."""
    actuals = pd.DataFrame(
        {
            "customer": ["C1", "C1"],
            "item": ["I1", "I1"],
            "location": ["L1", "L1"],
            "period": [fx.PRIOR, fx.PERIOD],
            "quantity": [50.0, 100.0],
            "amount": [500.0, 1000.0],
            "cost": [300.0, 600.0],
        }
    )
    forecast = pd.DataFrame(
        {
            "region": ["EU", "EU"],
            "item": ["I1", "I1"],
            "location": ["L1", "L1"],
            "source": "master",
            "version": "1",
            "period": [fx.PRIOR, fx.PERIOD],
            "quantity": [40.0, 90.0],
        }
    )
    items = pd.DataFrame({"item": ["I1"], "family": ["FAM1"], "unit_price": [10.0]})
    customers = pd.DataFrame({"customer": ["C1"], "region": ["EU"]})
    return {
        "SalesActuals": actuals,
        "Forecast": forecast,
        "Items": items,
        "Customers": customers,
        "Targets": fx.targets(),
        "Actions": fx.actions(),
    }


def test_build_scorecard_through_the_kpi_engine():
    r = build_scorecard(_raw_tables(), fx.settings())
    fa = _row(r.scorecard, "forecast_accuracy")
    assert fa["actual"] == pytest.approx(0.9) and fa["prior"] == pytest.approx(0.8)
    assert fa["status"] == "Green"
    assert _row(r.detail, "forecast_accuracy", "Region", "EU")["actual"] == pytest.approx(0.9)
    assert _row(r.detail, "forecast_accuracy", "Family", "FAM1")["actual"] == pytest.approx(0.9)
    assert _row(r.scorecard, "actions_overdue")["actual"] == 1
    assert _row(r.scorecard, "otd")["status"] == "No data"  # no sales order lines


# --- the cycle step ----------------------------------------------------------------------
class FakeBook:
    """An in-memory Book: tables by alias, records writes."""

    name = "fake.xlsx"
    path = None  # in memory: no file beside which snapshots could be

    def __init__(self, tables: dict[str, pd.DataFrame]):
        self.tables = tables
        self.writes: list[list] = []
        self.messages: list[str] = []

    def has_table(self, table: schema.Table) -> bool:
        return table.name.removeprefix("tbl") in self.tables

    def read_table(self, table: schema.Table) -> pd.DataFrame:
        return self.tables[table.name.removeprefix("tbl")]

    def read_settings(self) -> schema.Settings:
        return fx.settings()

    def write(self, outputs) -> None:
        self.writes.append(list(outputs))

    def progress(self, message: str, fraction: float | None = None) -> None:
        self.messages.append(message)


def test_run_scorecard_writes_once():
    book = FakeBook(_raw_tables())
    r = run_scorecard(book, plan_status="frozen v3")
    assert len(book.writes) == 1
    assert [o.sheet for o in book.writes[0]] == [
        "Scorecard",
        "ScorecardDetail",
        "Trends",
        "Definitions",
    ]
    assert r.summary.startswith("Scorecard 2026-10: ")
    assert "Plan status: frozen v3" in book.writes[0][0].title[1]
    assert book.messages[-1] == r.summary


def test_run_scorecard_without_targets_sheet_says_how_to_fix():
    tables = _raw_tables()
    del tables["Targets"]
    with pytest.raises(Exception, match="Targets") as err:
        run_scorecard(FakeBook(tables))
    assert "build-workbook" in (err.value.fix or "")


def test_written_workbook_read_back_independently(tmp_path):
    """FileBook writes the four sheets; openpyxl reads values and conditional formats back."""
    pytest.importorskip("sop_xl.io.writer")
    from sop_xl.io.filebook import FileBook

    path = tmp_path / "wb.xlsx"
    path.write_bytes(TEMPLATE.read_bytes())
    r = build_scorecard(fx.tables(), fx.settings(), fx.kpis(), plan_status="draft")
    FileBook(path).write(r.outputs)
    wb = load_workbook(path)
    ws = wb["Scorecard"]
    header = [c.value for c in ws[len(r.outputs[0].title) + 2]]
    assert header[:4] == ["Perspective", "KPI", "Signal", "Status"]
    first = len(r.outputs[0].title) + 3
    statuses = [ws.cell(first + i, 4).value for i in range(len(r.scorecard))]
    assert statuses == r.scorecard["status"].tolist()
    rules = [rule for cf in ws.conditional_formatting for rule in cf.rules]
    assert {rule.type for rule in rules} >= {"cellIs", "iconSet", "expression"}
    assert ws.cell(1, 1).value == "Fixture Ltd \u2013 S&OP balanced scorecard"
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) >= 4
    trends = wb["Trends"]
    assert trends.cell(len(r.outputs[2].title) + 2, 1).value == "Period"


def test_title_names_the_red_kpis_worst_first(result):
    assert result.outputs[0].title[3] == (
        "Off track: Forecast bias % (Demand planner), S&OP actions closed on time (Executive "
        "management), On-time delivery to promise (Supply planning)."
    )


def test_scoped_target_without_values_uses_master_data_level():
    t = fx.targets()
    t.loc[len(t)] = ["otd", "Customer", 0.9, "higher", 0.9, 0.8, "Supply planning", "FAM3"]
    t.loc[len(t)] = ["otd", "Customer", 0.9, "higher", 0.9, 0.8, "Supply planning", "XX"]
    items = pd.DataFrame({"item": ["I9"], "family": ["FAM3"]})
    r = build_scorecard(fx.tables() | {"Targets": t, "Items": items}, fx.settings(), fx.kpis())
    fam3 = _row(r.detail, "otd", "Family", "FAM3")
    assert fam3["status"] == "No data" and fam3["threshold_scope"] == "FAM3"
    xx = _row(r.detail, "otd", "Region", "XX")
    assert "neither a region nor an item family" in xx["note"]
    assert "neither" not in _row(r.detail, "otd", "Region", "NA")["note"]


@st.composite
def action_tables(draw):
    n = draw(st.integers(0, 25))
    day = st.integers(0, 500)
    due = [pd.Timestamp("2025-06-01") + pd.Timedelta(days=draw(day)) for _ in range(n)]
    closed = [
        d + pd.Timedelta(days=draw(st.integers(-30, 60))) if draw(st.booleans()) else pd.NaT
        for d in due
    ]
    status = [
        draw(st.sampled_from(["Cancelled", "Open"])) if pd.isna(c) else "Closed" for c in closed
    ]
    raised = [(d - pd.Timedelta(days=draw(st.integers(0, 120)))).strftime("%Y-%m") for d in due]
    return pd.DataFrame(
        {
            "action_id": [f"A{i}" for i in range(n)],
            "owner": "x",
            "owner_role": "Finance",
            "due_date": pd.to_datetime(pd.Series(due, dtype="datetime64[ns]")),
            "status": pd.Series(status, dtype=object),
            "cycle_raised": pd.Series(raised, dtype=object),
            "cycle_closed": None,
            "closed_date": pd.to_datetime(pd.Series(closed, dtype="datetime64[ns]")),
        }
    )


@given(action_tables())
@settings(max_examples=60, deadline=None)
def test_action_kpi_invariants(actions):
    got = action_kpis(actions, fx.CYCLE).pivot(index="period", columns="kpi", values="value")
    share = got["actions_closed_on_time"].dropna()
    assert ((share >= 0) & (share <= 1)).all()
    assert (got["actions_overdue"] >= 0).all() and (got["oldest_open_action_days"] >= 0).all()
    live = actions[actions["status"] != "Cancelled"]
    assert (got["actions_overdue"] <= len(live)).all()
    # closing every action on its due date makes every judged month 100% on time
    on_time = live.assign(status="Closed", closed_date=live["due_date"])
    full = action_kpis(on_time, fx.CYCLE)
    assert (full.loc[full["kpi"] == "actions_closed_on_time", "value"].dropna() == 1.0).all()
