"""kpi_table (the long KPI table the scorecard uses) and the run_kpis cycle step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from ooxml_check import load_trimmed

from sop_xl.kpi.defs import OTHER_ENGINES
from sop_xl.kpi.forecast import KpiInputError
from sop_xl.kpi.table import KPIS, KpiResult, kpi_table, run_kpis
from sop_xl.model import schema
from sop_xl.model.schema import Settings
from sop_xl.model.sheets import SheetOutput

approx = pytest.approx
PERIODS = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01", "2026-02"]


def small_tables() -> dict[str, pd.DataFrame]:
    """Two customers/regions/items, 14 months of sales rising by 1 a month, a flat forecast of
    12 for 2026-01..04, a budget 10% above sales, flat inventory and a few operations rows."""
    rows = [
        dict(customer=c, item=it, location="L1", period=p, quantity=10.0 + i,
             amount=100.0 + 10 * i, cost=60.0 + 5 * i)
        for c, it in (("C1", "A"), ("C2", "B"))
        for i, p in enumerate(PERIODS)
    ]  # fmt: skip
    actuals = pd.DataFrame(rows)
    forecast = pd.DataFrame(
        [
            dict(region=r, item=it, location="L1", period=p, quantity=12.0)
            for r, it in (("N", "A"), ("S", "B"))
            for p in ("2026-01", "2026-02", "2026-03", "2026-04")
        ]
    )
    budget = actuals.assign(amount=actuals["amount"] * 1.1).drop(columns="cost")
    inventory = pd.DataFrame(
        [
            dict(item=it, location="L1", period=p, quantity=5.0, value=200.0)
            for it in "AB"
            for p in PERIODS
        ]
    )
    d = pd.to_datetime
    lines = pd.DataFrame(
        {
            "order": ["O1", "O1", "O2"],
            "line": [1, 2, 1],
            "customer": ["C1", "C1", "C2"],
            "item": ["A", "B", "A"],
            "location": "L1",
            "requested_date": d(["2026-01-10", "2026-01-12", "2026-03-05"]),
            "promised_date": d(["2026-01-10", "2026-01-12", "2026-03-05"]),
            "qty_ordered": [5.0, 3.0, 4.0],
            "qty_shipped": [5.0, 2.0, np.nan],
            "ship_date": d(["2026-01-09", "2026-01-12", None]),
        }
    )
    orders = pd.DataFrame(
        {
            "order": ["P1", "P2"],
            "item": ["A", "B"],
            "location": "L1",
            "status": ["Finished", "Released"],
            "planned_qty": [10.0, 10.0],
            "due_date": d(["2026-01-15", "2026-02-15"]),
            "completed_qty": [12.0, 5.0],
            "completion_date": d(["2026-01-16", "2026-02-20"]),
        }
    )
    receipts = pd.DataFrame(
        {
            "order": ["R1", "R2"],
            "line": [1, 1],
            "vendor": ["V1", "V2"],
            "item": ["A", "B"],
            "location": "L1",
            "promised_date": d(["2026-01-10", "2026-02-10"]),
            "received_date": d(["2026-01-11", None]),
            "qty_ordered": [5.0, 5.0],
            "qty_received": [5.0, np.nan],
        }
    )
    return {
        "SalesActuals": actuals,
        "Forecast": forecast,
        "SalesBudget": budget,
        "Inventory": inventory,
        "SalesOrderLines": lines,
        "ProductionOrders": orders,
        "PurchaseReceipts": receipts,
        "Items": pd.DataFrame(
            {"item": ["A", "B"], "family": ["F1", "F2"], "unit_cost": [10.0, 20.0]}
        ),
        "Customers": pd.DataFrame({"customer": ["C1", "C2"], "region": ["N", "S"]}),
        "Locations": pd.DataFrame({"location": ["L1"], "region": ["N"]}),
    }


S = Settings(cycle="2026-03")


def value(t: pd.DataFrame, kpi: str, period: str, **scope) -> float:
    m = (t["kpi"] == kpi) & (t["period"] == period)
    for k, v in scope.items():
        m &= t[k] == v
    assert m.sum() == 1, (kpi, period, scope, m.sum())
    return float(t.loc[m, "value"].iloc[0])


def test_kpi_table_shape_and_known_values():
    t = kpi_table(small_tables(), S)
    assert list(t.columns) == ["kpi", "period", "value", "numerator", "denominator", "n", "note"]
    # every KPI has data in this book (the action KPIs come from the Actions table, scorecard)
    assert set(t["kpi"]) == {k for k, d in KPIS.items() if d.family not in OTHER_ENGINES}
    assert (t["period"] < "2026-03").all()  # closed months only
    # forecast scored for the closed months the Forecast table holds: 2026-01, 2026-02
    assert sorted(t.loc[t["kpi"] == "wmape", "period"]) == ["2026-01", "2026-02"]
    # Jan: actual 22 per item, forecast 12 -> |e| 10 each
    assert value(t, "wmape", "2026-01") == approx(20 / 44)
    assert value(t, "bias", "2026-01") == approx(-20)
    # seasonal-naive scale 12, so MASE = 10 / 12
    assert value(t, "mase", "2026-01") == approx(10 / 12)
    # naive (12 months earlier) = 10: error 12 vs 10 -> FVA = (24 - 20) / 44
    assert value(t, "fva", "2026-01") == approx(4 / 44)
    # trailing tracking signal: Jan -20/20 = -1; Feb (-20 - 22) / 21 = -2
    assert value(t, "tracking_signal", "2026-01") == approx(-1)
    assert value(t, "tracking_signal", "2026-02") == approx(-2)
    # budget 10% above sales every month
    assert value(t, "budget_accuracy", "2025-06") == approx(0.9)
    assert value(t, "budget_bias_pct", "2025-06") == approx(0.1)
    assert value(t, "revenue_vs_budget_pct", "2025-06") == approx(1 / 1.1 - 1)
    # gross margin Jan 2026 (i = 12): (220 - 120) / 220
    assert value(t, "gross_margin_pct", "2026-01") == approx(100 / 220)
    # forward days of supply at 2026-02: stock 200 + 200 = 400; forecast Mar and Apr (May is
    # past the horizon) 12 x 10 + 12 x 20 = 360 a month -> 720 over 31 + 30 days -> 400 / (720/61)
    assert value(t, "forward_days_of_supply", "2026-02") == approx(400 / (720 / 61))
    # turns (trailing 12 months) at 2026-02: COGS 2025-03..2026-02 = 2 x sum(60 + 5i, i=2..13)
    # = 2 x 1,185 = 2,370 over the flat 400 stock -> 5.925
    assert value(t, "inventory_turns_ttm", "2026-02") == approx(
        2 * sum(60 + 5 * i for i in range(2, 14)) / 400
    )
    # turns Jan 2026: COGS 2 x 120 x 12 over (400 + 400) / 2
    assert value(t, "inventory_turns", "2026-01") == approx(240 * 12 / 400)
    assert value(t, "days_of_supply", "2026-01") == approx(400 / (240 / 31))
    # operations: the March line is not yet due, so only Jan counts
    assert value(t, "line_fill_rate", "2026-01") == approx(0.5)
    assert "2026-03" not in set(t.loc[t["kpi"] == "otd", "period"])
    assert value(t, "schedule_attainment", "2026-02") == 0.0
    assert value(t, "vendor_otd", "2026-01") == 1.0
    # first month of inventory has no opening value: noted
    first = t[(t["kpi"] == "inventory_turns") & (t["period"] == "2025-01")]["note"].iloc[0]
    assert "no opening month-end" in first


def test_kpi_table_by_region_and_family_and_periods():
    tables = small_tables()
    r = kpi_table(tables, S, by=["region"])
    assert list(r.columns)[:3] == ["kpi", "period", "region"]
    # forecast keeps its own region; sales use the customer's region
    assert value(r, "wmape", "2026-01", region="N") == approx(10 / 22)
    # production / receipts use the location's region (all N here)
    assert set(r.loc[r["kpi"] == "vendor_otd", "region"]) == {"N"}
    f = kpi_table(tables, S, by=["family"], periods=["2026-02"])
    assert set(f["period"]) == {"2026-02"}
    assert value(f, "bias", "2026-02", family="F2") == approx(12 - 23)
    # additive numerators: region sums equal the total
    t = kpi_table(tables, S)
    for k in ("bias", "gross_margin_pct"):
        per_region = r[(r["kpi"] == k) & (r["period"] == "2026-01")]["numerator"].sum()
        assert per_region == approx(
            t[(t["kpi"] == k) & (t["period"] == "2026-01")]["numerator"].sum()
        )


def test_kpi_table_skips_what_it_cannot_compute_and_says_so():
    tables = small_tables()
    t = kpi_table({"SalesActuals": tables["SalesActuals"]}, S)
    assert set(t["kpi"]) == {"gross_margin_pct"}
    assert "forecast accuracy" in t.attrs["skipped"] and "budget" in t.attrs["skipped"]
    v = kpi_table(tables, S, by=["vendor"])  # only receipts know the vendor
    assert set(v["kpi"]) == {"vendor_otd", "vendor_qty_complete"}
    assert "forecast accuracy" in v.attrs["skipped"]
    with pytest.raises(KpiInputError, match="period"):
        kpi_table(tables, S, by=["period"])
    empty = kpi_table({}, S)
    assert len(empty) == 0 and "value" in empty.columns


class FakeBook:
    """A tiny in-memory Book: tables by alias, one recorded write."""

    name = "fake.xlsx"

    def __init__(self, tables: dict[str, pd.DataFrame], settings: Settings):
        self.tables, self.settings = tables, settings
        self.written: list[list[SheetOutput]] = []
        self.messages: list[str] = []

    def has_table(self, table: schema.Table) -> bool:
        return table.name.removeprefix("tbl") in self.tables

    def read_table(self, table: schema.Table) -> pd.DataFrame:
        return self.tables[table.name.removeprefix("tbl")]

    def read_settings(self) -> Settings:
        return self.settings

    def write(self, outputs: Sequence[SheetOutput]) -> None:
        self.written.append(list(outputs))

    def progress(self, message: str, fraction: float | None = None) -> None:
        self.messages.append(message)


def test_run_kpis_writes_one_kpis_sheet_with_scopes_and_units():
    book = FakeBook(small_tables(), S)
    res = run_kpis(book)
    assert isinstance(res, KpiResult) and len(book.written) == 1
    (out,) = book.written[0]
    assert out.table is schema.table("KPIs") and out.table in schema.OUTPUT_TABLES
    df = out.df
    assert list(df.columns) == [c.name for c in out.table.columns]
    assert set(df["scope_type"]) == {"Total", "Region", "Family"}
    assert set(df.loc[df["scope_type"] == "Total", "scope"]) == {""}
    pct = df["unit"] == "pct"
    assert df.loc[pct, "value"].isna().all() and df.loc[~pct, "value_pct"].isna().all()
    row = df[(df["kpi"] == "wmape") & (df["period"] == "2026-01") & (df["scope_type"] == "Total")]
    assert row["value_pct"].iloc[0] == approx(20 / 44) and row["name"].iloc[0] == "Weighted MAPE"
    keys = list(out.table.keys)
    assert not df.duplicated(keys).any()
    assert "2025-01 to 2026-02" in res.summary and out.title[0].startswith("S&OP KPIs")
    assert book.messages[-1] == "KPIs written"


def test_run_kpis_on_a_book_without_operations_tables():
    tables = {
        k: v for k, v in small_tables().items() if k in ("SalesActuals", "Items", "Customers")
    }
    book = FakeBook(tables, S)
    res = run_kpis(book)
    assert set(res.table["kpi"]) == {"gross_margin_pct"}
    assert "forecast accuracy (total)" in res.skipped and "skipped" in res.summary


def test_demo_company_kpis_are_plausible():
    demo = pytest.importorskip("sop_xl.demo.company")
    d = demo.make_demo()
    tables = {k: d[k] for k in d.keys() if k != "Settings"}  # noqa: SIM118
    t = kpi_table(tables, d["Settings"], by=["region"])
    fa = t[t["kpi"] == "forecast_accuracy"]
    assert fa["value"].between(0, 1).all() and len(fa["period"].unique()) == 12
    # the demo's LATAM consensus is biased high; the others much less
    bias = (
        t[t["kpi"] == "bias_pct"].groupby("region")["numerator"].sum()
        / t[t["kpi"] == "bias_pct"].groupby("region")["denominator"].sum()
    )
    assert bias["LATAM"] > 0.08 and bias["LATAM"] == bias.max()
    # each note sits on the KPI it concerns
    mape_notes = t[t["note"].str.contains("MAPE skipped")]
    assert len(mape_notes) and set(mape_notes["kpi"]) == {"mape"}
    assert not t["note"].str.startswith(";").any() and not t["note"].str.endswith(";").any()
    for k in ("otd", "otif", "line_fill_rate", "schedule_attainment", "vendor_otd"):
        assert t.loc[t["kpi"] == k, "value"].between(0, 1).all(), k


def test_kpis_sheet_in_the_demo_workbook_read_back_with_openpyxl(demo_dir):
    """End to end: the demo cycle wrote the KPIs sheet; an independent reader (openpyxl) sees
    the declared table, percentage formats, and the numbers kpi_table computes from the file."""

    from sop_xl.io.filebook import FileBook

    master = demo_dir / "SOP_Planning.xlsm"
    wb = load_trimmed(master, keep=["KPIs"], rows=1)  # other big sheets cut: see load_trimmed
    ws = wb["KPIs"]
    assert "tblKPIs" in ws.tables
    ref = ws.tables["tblKPIs"].ref
    rows = list(ws[ref])
    header = [c.value for c in rows[0]]
    assert header == [c.header for c in schema.table("KPIs").columns]
    col = {h: i for i, h in enumerate(header)}
    cells = {
        (r[col["KPI ID"]].value, r[col["Period"]].value, r[col["Scope Type"]].value,
         r[col["Scope"]].value or ""): r
        for r in rows[1:]
    }  # fmt: skip
    assert {k[0] for k in cells} == {k for k, d in KPIS.items() if d.family not in OTHER_ENGINES}
    book = FileBook(master)
    settings = book.read_settings()
    tables = {
        alias: book.read_table(schema.table(alias))
        for alias in ("SalesActuals", "Forecast", "Customers", "Items", "Locations")
    }
    fresh = kpi_table(tables, settings, by=["region"])
    last = max(fresh.loc[fresh["kpi"] == "wmape", "period"])
    for _, f in fresh[(fresh["kpi"] == "wmape") & (fresh["period"] == last)].iterrows():
        cell = cells[("wmape", last, "Region", f["region"])][col["Value (%)"]]
        assert cell.value == approx(f["value"])
        assert "%" in cell.number_format
    dos = next(r for k, r in cells.items() if k[0] == "days_of_supply")
    assert dos[col["Value"]].value > 0 and "%" not in dos[col["Value"]].number_format


def test_every_ratio_kpi_re_adds_from_its_numerator_and_denominator():
    t = kpi_table(small_tables(), S, by=["region"])
    ratio = t[t["numerator"].notna() & t["denominator"].notna() & t["value"].notna()]
    ratio = ratio[~ratio["kpi"].isin(["forecast_accuracy", "budget_accuracy", "inventory_turns"])]
    assert {"mase", "fva", "tracking_signal", "wmape", "otd"} <= set(ratio["kpi"])
    assert (ratio["value"] - ratio["numerator"] / ratio["denominator"]).abs().max() < 1e-9
    turns = t[t["kpi"] == "inventory_turns"]  # annualised numerator: COGS x 12
    assert ((turns["value"] - turns["numerator"] / turns["denominator"]).abs() < 1e-9).all()


def test_unforecast_sales_and_unsold_forecasts_are_scored_and_noted():
    tables = small_tables()
    extra = pd.DataFrame(
        [dict(customer="C1", item="B", location="L1", period="2026-01", quantity=5.0,
              amount=50.0, cost=30.0)]
    )  # fmt: skip
    tables["SalesActuals"] = pd.concat([tables["SalesActuals"], extra], ignore_index=True)
    fc = tables["Forecast"]
    tables["Forecast"] = pd.concat(
        [
            fc,
            pd.DataFrame(
                [dict(region="S", item="A", location="L1", period="2026-01", quantity=4.0)]
            ),
        ],
        ignore_index=True,
    )
    t = kpi_table(tables, S)
    # Jan: the two matched cells miss by 10 each, plus 5 unforecast (N, B) and 4 unsold (S, A)
    assert value(t, "wmape", "2026-01") == approx((10 + 10 + 5 + 4) / (22 + 22 + 5))
    note = t[(t["kpi"] == "wmape") & (t["period"] == "2026-01")]["note"].iloc[0]
    assert "1 cell(s) with sales but no forecast: scored as forecast 0" in note
    assert "1 cell(s) with a forecast but no sales: scored as 0 sold" in note
    feb = t[(t["kpi"] == "wmape") & (t["period"] == "2026-02")]["note"].iloc[0]
    assert feb == ""


def test_kpi_table_memo_shares_rows_between_steps_and_never_serves_stale_ones(monkeypatch):
    """The KPIs step and the scorecard of one cycle compute each scope once (issue 16): a
    second call with equal inputs is served from the memo and equals a fresh computation; a
    changed input value, settings or scope is never served the old rows."""
    import sop_xl.kpi.table as kt

    kt._MEMO.clear()
    calls = []
    real = kt._kpi_rows
    monkeypatch.setattr(kt, "_kpi_rows", lambda *a: calls.append(1) or real(*a))
    first = kpi_table(small_tables(), S, by=["region"])
    again = kpi_table(small_tables(), S, by=["region"])  # equal content, other frame objects
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first, again)
    window = kpi_table(small_tables(), S, by=["region"], periods=["2026-01", "2026-02"])
    assert len(calls) == 1  # the scorecard's window comes from the same rows
    # the scorecard reads more tables (Targets, Regions, ...): kpi_table does not use them
    extra = {"Targets": pd.DataFrame({"kpi": ["wmape"]}), "Regions": pd.DataFrame({"r": [1]})}
    kpi_table({**small_tables(), **extra}, S, by=["region"])
    assert len(calls) == 1
    kt._MEMO.clear()
    fresh = kpi_table(small_tables(), S, by=["region"], periods=["2026-01", "2026-02"])
    pd.testing.assert_frame_equal(window, fresh)
    assert window.attrs["skipped"] == fresh.attrs["skipped"]
    # one sales quantity changed: recomputed, and the accuracy moves
    changed = small_tables()
    changed["SalesActuals"].loc[changed["SalesActuals"]["period"] == "2026-01", "quantity"] = 12.0
    n = len(calls)
    moved = kpi_table(changed, S, by=["region"])
    assert len(calls) == n + 1
    assert value(moved, "wmape", "2026-01", region="N") == 0.0
    kpi_table(small_tables(), Settings(cycle="2026-02"), by=["region"])
    kpi_table(small_tables(), S, by=["family"])
    assert len(calls) == n + 3


def test_kpi_rows_kept_between_clicks_are_reused_and_a_changed_cell_recomputes(
    tmp_path, monkeypatch
):
    """The KPIs click keeps its rows in the result store; the scorecard's click (a new process:
    the in-process memo is empty) reuses them, and they equal a fresh computation. One changed
    sales quantity is a new key: recomputed, with the new accuracy (a store that ignored the
    inputs' content would serve the old rows)."""
    import sop_xl.kpi.table as kt
    from sop_xl.io.tablestore import ResultStore
    from sop_xl.scorecard.step import kpi_values

    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "store"))
    calls = []
    real = kt._kpi_rows
    monkeypatch.setattr(kt, "_kpi_rows", lambda *a: calls.append(a[2]) or real(*a))
    kt._MEMO.clear()
    run_kpis(FakeBook(small_tables(), S), memo=ResultStore())
    assert calls == [[], ["region"], ["family"]]
    assert len(list((tmp_path / "store").glob("*.result.npz"))) == 3

    kt._MEMO.clear()  # as in the scorecard's own process
    window = ["2026-01", "2026-02"]
    kept = kpi_values(small_tables(), S, window, memo=ResultStore())
    assert len(calls) == 3  # nothing computed again
    kt._MEMO.clear()
    fresh = kpi_values(small_tables(), S, window)
    pd.testing.assert_frame_equal(kept, fresh)
    for by in ([], ["region"], ["family"]):
        kt._MEMO.clear()
        stored = kpi_table(small_tables(), S, by=by, memo=ResultStore())
        kt._MEMO.clear()
        pd.testing.assert_frame_equal(stored, kpi_table(small_tables(), S, by=by))

    changed = small_tables()
    changed["SalesActuals"].loc[changed["SalesActuals"]["period"] == "2026-01", "quantity"] = 12.0
    kt._MEMO.clear()
    n = len(calls)
    moved = kpi_table(changed, S, by=["region"], memo=ResultStore())
    assert len(calls) == n + 1
    assert value(moved, "wmape", "2026-01", region="N") == 0.0
    old = kpi_table(small_tables(), S, by=["region"], memo=ResultStore())
    assert value(old, "wmape", "2026-01", region="N") != 0.0
