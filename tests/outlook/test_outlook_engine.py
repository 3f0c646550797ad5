"""The financial outlook on a tiny hand-computed book: accounts, bridge, months; closed months
never from the plan; the supply plan and the chosen scenario as the plan of record; and the
bridge identity as a property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sop_xl.model import schema
from sop_xl.model.schema import Settings
from sop_xl.model.sheets import SheetOutput
from sop_xl.outlook import engine
from sop_xl.outlook.engine import CONSENSUS, SUPPLY_PLAN, UNMAPPED
from sop_xl.outlook.step import run_outlook
from sop_xl.variance.money import to_cents

# Fiscal year Dec 2025 .. Nov 2026; cycle 2026-11: closed Dec..Oct, open Nov (one month).
SETTINGS = Settings(cycle="2026-11", fiscal_year_start_month=12, company="Tiny Co")

ITEMS = pd.DataFrame(
    {
        "item": ["A", "B"],
        "description": ["a", "b"],
        "family": ["F", "F"],
        "gen_prod_posting_group": ["RETAIL", "RETAIL"],
        "unit_cost": [6.0, 12.0],
        "unit_price": [10.0, 20.0],
        "lead_time_days": [5, 5],
    }
)
CUSTOMERS = pd.DataFrame(
    {
        "customer": ["C1", "C2"],
        "name": ["Dom", "Exp"],
        "region": ["N", "S"],
        "gen_bus_posting_group": ["DOM", "EXP"],
    }
)
GL = pd.DataFrame(
    {
        "gl_account": ["4000", "4100", "5000"],
        "name": ["Sales dom", "Sales exp", "COGS"],
        "account_type": ["Revenue", "Revenue", "Cost"],
    }
)
SETUP = pd.DataFrame(
    {
        "gen_bus_posting_group": ["DOM", "EXP"],
        "gen_prod_posting_group": ["RETAIL", "RETAIL"],
        "sales_account": ["4000", "4100"],
        "cogs_account": ["5000", "5000"],
    }
)
_SA = ["customer", "item", "location", "period", "quantity", "amount", "cost"]
ACTUALS = pd.DataFrame(
    [
        ("C1", "A", "L", "2026-01", 6.0, 54.0, 36.0),
        ("C2", "A", "L", "2026-02", 2.0, 18.0, 12.0),
        ("C1", "B", "L", "2026-03", 5.0, 95.0, 62.5),
        ("C1", "A", "L", "2025-10", 100.0, 1.0, 1.0),  # before the window and the fiscal year
    ],
    columns=_SA,
)
_FC = ["region", "item", "location", "source", "version", "period", "quantity"]
FORECAST = pd.DataFrame(
    [
        ("N", "A", "L", "master", "", "2026-11", 4.0),
        ("S", "B", "L", "master", "", "2026-11", 2.0),
        ("N", "A", "L", "master", "", "2026-01", 1000.0),  # a closed month: never used
        ("N", "A", "L", "master", "", "2026-12", 500.0),  # after the fiscal year
    ],
    columns=_FC,
)
SALES_BUDGET = pd.DataFrame(
    [
        ("C1", "A", "L", "2026-01", 10.0, 100.0),
        ("C1", "B", "L", "2026-11", 2.0, 40.0),
        ("C2", "B", "L", "2026-06", 1.0, 20.0),
    ],
    columns=["customer", "item", "location", "period", "quantity", "amount"],
)
FIN_BUDGET = pd.DataFrame(
    [
        ("4000", "2026-01", 100.0),
        ("4000", "2026-11", 120.0),
        ("4100", "2026-06", 30.0),
        ("5000", "2026-06", 150.0),
        ("4000", "2027-01", 999.0),  # next fiscal year
    ],
    columns=["gl_account", "period", "amount"],
)


def frames(**over: pd.DataFrame) -> dict[str, pd.DataFrame]:
    base = {
        "Items": ITEMS,
        "Customers": CUSTOMERS,
        "GLAccounts": GL,
        "PostingSetup": SETUP,
        "SalesActuals": ACTUALS,
        "Forecast": FORECAST,
        "SalesBudget": SALES_BUDGET,
        "FinancialBudget": FIN_BUDGET,
    }
    base.update(over)
    return {schema.table(k).alias: v for k, v in base.items()}


def test_known_answer_by_hand() -> None:
    r = engine.compute(frames(), SETTINGS)
    assert r.fiscal_year[0] == "2025-12" and r.open == ["2026-11"] and len(r.closed) == 11
    assert r.plan_source == CONSENSUS
    # realised prices (window 2025-11..2026-10): A 72 / 8 = 9.00 (cost 48 / 8 = 6.00);
    # B 95 / 5 = 19.00 (cost 62.50 / 5 = 12.50)
    assert r.prices.loc["A", "price"] == 9.0 and r.prices.loc["B", "cost"] == 12.5
    # plan Nov: A 4 units spread 6:2 over C1:C2 -> C1 3 x 9 = 27.00 (4000), C2 1 x 9 = 9.00
    # (4100); B 2 units all C1 -> 2 x 19 = 38.00 (4000). Costs 18 + 6 + 25 = 49.00.
    a = r.accounts.set_index(["gl_account", "account_type"])
    rev = a.loc[("4000", "Revenue")]
    assert (rev.actual_ytd, rev.plan_rest, rev.outlook) == (149.0, 65.0, 214.0)
    assert (rev.financial_budget, rev.gap) == (220.0, -6.0)
    assert rev.gap_pct == pytest.approx(-6 / 220)
    assert rev.sales_budget == 140.0
    exp = a.loc[("4100", "Revenue")]
    assert (exp.actual_ytd, exp.plan_rest, exp.outlook, exp.gap) == (18.0, 9.0, 27.0, -3.0)
    assert exp.gap_pct == pytest.approx(-0.1)
    cogs = a.loc[("5000", "Cost")]
    assert (cogs.actual_ytd, cogs.plan_rest, cogs.outlook) == (110.5, 49.0, 159.5)
    assert (cogs.financial_budget, cogs.gap) == (150.0, 9.5)
    # budgeted COGS: sales budget qty x expected unit cost: A 10 x 6 + B 3 x 12.50
    assert cogs.sales_budget == 97.5
    assert UNMAPPED not in a.index.get_level_values(0)
    # bridge: budget A 10 u / 100 (p 10), B 3 u / 60 (p 20); outlook A 12 u / 108, B 7 u / 133.
    # volume = (19 - 13) x (10/13 x 10 + 3/13 x 20) = 960/13 = 73.85; price = (9 - 10) x 12 +
    # (19 - 20) x 7 = -19.00; mix = 81.00 - 73.85 + 19.00 = 26.15.
    b = r.bridge.set_index("step")["amount"]
    assert list(r.bridge["step"]) == list(engine.BRIDGE_STEPS)
    assert (b["Sales budget"], b["Volume"], b["Price"], b["Mix"]) == (160.0, 73.85, -19.0, 26.15)
    assert (b["Full-year outlook"], b["Financial budget"], b["Gap to financial budget"]) == (
        241.0,
        250.0,
        -9.0,
    )
    m = r.monthly.set_index("period")
    assert m.loc["2026-11", "source"] == "Plan" and m.loc["2026-10", "source"] == "Actual"
    assert m.loc["2026-11", "revenue"] == 74.0 and m.loc["2026-11", "financial_budget"] == 120.0
    assert m["cumulative_gap"].iloc[-1] == -9.0
    assert r.totals["margin"] == pytest.approx(241.0 - 159.5)


def test_closed_months_never_come_from_the_plan() -> None:
    before = engine.compute(frames(), SETTINGS)
    fc = FORECAST.copy()
    fc.loc[fc["period"] == "2026-01", "quantity"] = 7.0  # a closed month's forecast changes
    sp = pd.DataFrame(
        {
            "item": ["A", "A", "B"],
            "period": ["2026-02", "2026-11", "2026-11"],
            "met_demand": [9e6, 4.0, 2.0],
        }
    )
    after = engine.compute(frames(Forecast=fc), SETTINGS)
    pd.testing.assert_frame_equal(before.accounts, after.accounts)
    pd.testing.assert_frame_equal(before.bridge, after.bridge)
    # a supply plan with a closed month in it: that month is ignored, the open one used
    with_supply = engine.compute(frames(Forecast=fc), SETTINGS, sp)
    assert with_supply.plan_source == SUPPLY_PLAN
    pd.testing.assert_frame_equal(before.accounts, with_supply.accounts)


def test_supply_plan_is_the_plan_of_record_when_given() -> None:
    sp = pd.DataFrame({"item": ["A"], "period": ["2026-11"], "met_demand": [2.0]})
    r = engine.compute(frames(), SETTINGS, sp)
    # only A's 2 met units: C1 1.5 x 9 = 13.50, C2 0.5 x 9 = 4.50; nothing of B
    a = r.accounts.set_index(["gl_account", "account_type"])
    assert a.loc[("4000", "Revenue"), "plan_rest"] == 13.5
    assert a.loc[("4100", "Revenue"), "plan_rest"] == 4.5


def test_chosen_scenario_price_and_cost_drivers() -> None:
    drivers = pd.DataFrame(
        [
            ("Up", "Price %", "F", "2026-11", None, 0.10, None),
            ("Up", "Cost %", None, None, None, -0.5, None),
            ("Other", "Price %", None, None, None, 5.0, None),
        ],
        columns=schema.SCENARIOS.names,
    )
    s = SETTINGS.model_copy(update={"chosen_scenario": "Up"})
    r = engine.compute(frames(Scenarios=drivers), s)
    a = r.accounts.set_index(["gl_account", "account_type"])
    assert a.loc[("4000", "Revenue"), "plan_rest"] == 71.5  # (27 + 38) x 1.1
    assert a.loc[("5000", "Cost"), "plan_rest"] == 24.5  # 49 x 0.5
    assert a.loc[("4000", "Revenue"), "actual_ytd"] == 149.0  # actuals never change
    base = engine.compute(frames(Scenarios=drivers), SETTINGS)  # Base chosen: no change
    assert (
        base.accounts.set_index(["gl_account", "account_type"]).loc[
            ("4000", "Revenue"), "plan_rest"
        ]
        == 65.0
    )


def test_sales_nothing_posts_are_kept_on_the_unmapped_line() -> None:
    setup = SETUP.iloc[:1]  # no EXP line: C2's sales cannot post
    r = engine.compute(frames(PostingSetup=setup), SETTINGS)
    a = r.accounts.set_index(["gl_account", "account_type"])
    assert a.loc[(UNMAPPED, "Revenue"), "outlook"] == 27.0  # 18 actual + 9 plan
    assert a.loc[(UNMAPPED, "Cost"), "outlook"] == 18.0
    assert a.loc[("4100", "Revenue"), "outlook"] == 0.0
    assert a.loc[("4100", "Revenue"), "gap_pct"] == -1.0
    assert "nothing posts" in a.loc[("4100", "Revenue"), "note"]
    rev = r.accounts[r.accounts["account_type"] == "Revenue"]
    assert to_cents(rev["outlook"]).sum() == to_cents(r.bridge.set_index("step")["amount"])[4]


class FakeBook:
    name = "tiny.xlsx"

    def __init__(self, tables: dict[str, pd.DataFrame], s: Settings = SETTINGS) -> None:
        self.tables, self.settings, self.writes = tables, s, []

    def has_table(self, table: schema.Table) -> bool:
        return table.alias in self.tables

    def read_table(self, table: schema.Table) -> pd.DataFrame:
        return self.tables[table.alias].copy()

    def read_settings(self) -> Settings:
        return self.settings

    def write(self, outputs: list[SheetOutput]) -> None:
        self.writes.append(list(outputs))

    def progress(self, message: str, fraction: float | None = None) -> None:
        pass


def test_step_writes_the_declared_sheets_once_and_says_the_plan_source() -> None:
    t = frames()
    t[schema.SUPPLY_PLAN.alias] = pd.DataFrame(
        {"item": ["A"], "period": ["2025-11"], "met_demand": [1.0]}  # an old cycle's plan
    )
    book = FakeBook(t)
    r = run_outlook(book)
    assert len(book.writes) == 1
    names = [o.table.name for o in book.writes[0]]
    assert names == ["tblOutlook", "tblOutlookBridge", "tblOutlookMonthly"]
    assert all(o.table in schema.OUTPUT_TABLES for o in book.writes[0])
    assert r.result.plan_source == CONSENSUS  # the stale supply plan is not used
    assert "consensus forecast" in r.summary and "(9)" in r.summary  # gap -9 in parentheses
    main = book.writes[0][0]
    assert main.landscape and main.fit_to_width and len(main.charts) == 2
    assert "not list price" in " ".join(main.title)
    for o in book.writes[0]:
        assert list(o.df.columns) == o.table.names, o.table.name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["C1", "C2"]),
            st.sampled_from(["A", "B"]),
            st.sampled_from(["2026-01", "2026-05", "2026-10"]),
            st.integers(-3, 40),
            st.integers(-5000, 90000),
        ),
        max_size=8,
    ),
    st.lists(st.tuples(st.sampled_from(["A", "B"]), st.integers(0, 50)), max_size=3),
    st.lists(
        st.tuples(
            st.sampled_from(["C1", "C2"]),
            st.sampled_from(["A", "B"]),
            st.sampled_from(["2026-02", "2026-11"]),
            st.integers(0, 30),
            st.integers(0, 80000),
        ),
        max_size=6,
    ),
)
def test_bridge_adds_up(sales, plan, budget) -> None:
    """Sales budget + volume + price + mix = full-year outlook, to the cent, whatever the data;
    the revenue accounts (unmapped line included) add up to the same outlook."""
    acts = pd.DataFrame(
        [(c, i, "L", p, float(q), a / 100, a / 200) for c, i, p, q, a in sales], columns=_SA
    ).astype({"quantity": float, "amount": float, "cost": float})
    fc = pd.DataFrame(
        [("N", i, "L", "", "", "2026-11", float(q)) for i, q in plan], columns=_FC
    ).astype({"quantity": float})
    sb = pd.DataFrame(
        [(c, i, "L", p, float(q), a / 100) for c, i, p, q, a in budget],
        columns=["customer", "item", "location", "period", "quantity", "amount"],
    ).astype({"quantity": float, "amount": float})
    r = engine.compute(frames(SalesActuals=acts, Forecast=fc, SalesBudget=sb), SETTINGS)
    b = dict(zip(r.bridge["step"], to_cents(r.bridge["amount"]), strict=True))
    assert b["Sales budget"] + b["Volume"] + b["Price"] + b["Mix"] == b["Full-year outlook"]
    assert b["Sales budget"] == to_cents(sb["amount"]).sum()
    rev = r.accounts[r.accounts["account_type"] == "Revenue"]
    assert to_cents(rev["outlook"]).sum() == b["Full-year outlook"]
    np.testing.assert_array_equal(
        to_cents(rev["outlook"]), to_cents(rev["actual_ytd"]) + to_cents(rev["plan_rest"])
    )


def test_waterfall_bars_float_from_the_running_level() -> None:
    w = engine.waterfall(np.array([100.0, 10.0, -5.0, 2.0, 107.0, 110.0]))
    nan = np.nan
    np.testing.assert_array_equal(w["chart_total"], [100, nan, nan, nan, 107, 110, nan])
    np.testing.assert_array_equal(w["chart_base"], [nan, 100, 105, 105, nan, nan, nan])
    np.testing.assert_array_equal(w["chart_up"], [nan, 10, nan, 2, nan, nan, nan])
    np.testing.assert_array_equal(w["chart_down"], [nan, nan, 5, nan, nan, nan, nan])


def test_outlook_kpis_by_hand_and_in_the_registry() -> None:
    from sop_xl.kpi.defs import KPIS, OTHER_ENGINES, OUTLOOK_KPIS

    r = engine.compute(frames(), SETTINGS)
    # revenue 241 vs 250: -9 / 250; margin (241 - 159.50) vs (250 - 150): -18.50 / 100
    assert r.totals["revenue_outlook_vs_budget_pct"] == pytest.approx(-0.036)
    assert r.totals["margin_outlook_vs_budget_pct"] == pytest.approx(-0.185)
    assert set(OUTLOOK_KPIS) == {"revenue_outlook_vs_budget_pct", "margin_outlook_vs_budget_pct"}
    assert OTHER_ENGINES["outlook"] == "sop_xl.outlook"
    for k in OUTLOOK_KPIS:
        d = KPIS[k]
        assert d.direction == "higher" and d.unit == "pct" and d.source and d.zero_policy
    empty = FIN_BUDGET.iloc[:0]
    r0 = engine.compute(frames(FinancialBudget=empty), SETTINGS)
    assert np.isnan(r0.totals["revenue_outlook_vs_budget_pct"])
