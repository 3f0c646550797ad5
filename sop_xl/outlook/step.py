"""The financial outlook step: read the book, compute the outlook, write Outlook (by G/L
account, with the charts), OutlookBridge and OutlookMonthly in one write."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sop_xl.model import schema
from sop_xl.model.book import Book, read_tables
from sop_xl.model.schema import Settings
from sop_xl.model.sheets import (
    GREEN_FILL,
    GREEN_FONT,
    RED_FILL,
    RED_FONT,
    CellRule,
    ChartSpec,
    FormulaRule,
    SheetOutput,
)
from sop_xl.outlook import engine
from sop_xl.outlook.prices import basis_text

#: Tables the step reads (the SupplyPlan output too, when the supply review ran this cycle).
READ: tuple[schema.Table, ...] = (
    schema.ITEMS,
    schema.CUSTOMERS,
    schema.GL_ACCOUNTS,
    schema.POSTING_SETUP,
    schema.FINANCIAL_BUDGET,
    schema.SALES_BUDGET,
    schema.FORECAST,
    schema.SALES_ACTUALS,
    schema.SCENARIOS,
)


@dataclass
class OutlookStepResult:
    result: engine.OutlookResult
    summary: str = ""
    outputs: list[SheetOutput] = field(default_factory=list)


def _money(x: float, cur: str = "") -> str:
    """Whole currency units, thousands separated, negatives in parentheses (as finance writes)."""
    text = f"{abs(x):,.0f}"
    return f"{f'({text})' if round(x) < 0 else text} {cur}".rstrip()


def _pct(gap: float, base: float) -> str:
    return f"{gap / abs(base):+.1%}" if base else "n/a"


def headline(r: engine.OutlookResult, currency: str) -> str:
    """Revenue and margin outlook vs the financial budget, in one sentence."""
    t = r.totals
    gap = t["revenue"] - t["revenue_budget"]
    mgap = t["margin"] - t["margin_budget"]
    return (
        f"Full-year revenue outlook {_money(t['revenue'], currency)} (actual "
        f"{_money(t['actual_revenue'])} + plan {_money(t['plan_revenue'])}) vs financial budget "
        f"{_money(t['revenue_budget'])}: gap {_money(gap)} ({_pct(gap, t['revenue_budget'])}); "
        f"gross margin {_money(t['margin'])} vs {_money(t['margin_budget'])}: gap "
        f"{_money(mgap)} ({_pct(mgap, t['margin_budget'])})."
    )


def supply_plan_of_cycle(sheet: pd.DataFrame | None, settings: Settings) -> pd.DataFrame | None:
    """The met demand of the SupplyPlan table ``sheet`` (None: the workbook has none) when the
    supply review ran for this cycle (its first month is the cycle month), else None."""
    if sheet is None or sheet.empty or str(sheet["period"].min()) != settings.cycle:
        return None
    return sheet[["item", "period", "met_demand"]]


def outputs(r: engine.OutlookResult, settings: Settings) -> list[SheetOutput]:
    cur = settings.currency
    fy = f"{r.fiscal_year[0]} to {r.fiscal_year[-1]}"
    closed = f"{r.closed[0]} to {r.closed[-1]}" if r.closed else "none"
    open_ = f"{r.open[0]} to {r.open[-1]}" if r.open else "none"
    plan = f"{r.plan_source}, chosen scenario '{r.scenario}'"
    gap_rules = []  # revenue below / cost above budget red, the other way green
    for kind, bad, good in (("Revenue", "<0", ">0"), ("Cost", ">0", "<0")):
        cond = f'{{account_type}}="{kind}",{{gl_account}}<>"{engine.UNMAPPED}"'
        for c in ("gap", "gap_pct"):
            gap_rules.append(FormulaRule(c, f"AND({cond},{{{c}}}{bad})", RED_FILL, RED_FONT))
            gap_rules.append(FormulaRule(c, f"AND({cond},{{{c}}}{good})", GREEN_FILL, GREEN_FONT))
    below = len(r.accounts) + 7  # charts below the table (title 4 lines + blank + header)
    main = SheetOutput(
        schema.OUTLOOK,
        r.accounts,
        title=[
            f"Financial Outlook - {settings.company}, fiscal year {fy} (cycle {settings.cycle})",
            headline(r, cur),
            f"Actual YTD = posted sales {closed} (never the plan); plan rest of year = {open_} "
            f"from the {plan}; posted to G/L accounts through the General Posting Setup.",
            basis_text(r.prices, settings.cycle) + "; cost: posted cost per unit, same rules. "
            "Gap = outlook - budget: revenue below / cost above budget in red. Bridge: "
            "OutlookBridge.",
        ],
        conditional_formats=gap_rules,
        column_widths={"account_name": 28.0, "note": 56.0},
        print_columns=len(schema.OUTLOOK.columns),
        charts=[
            ChartSpec(
                "column",
                f"Revenue by month: outlook vs financial budget ({cur})",
                schema.OUTLOOK_MONTHLY.sheet,
                "period",
                ("revenue", "financial_budget"),
                f"A{below}",
                width_cm=17.0,
                y_format="#,##0",
            ),
            ChartSpec(
                "column",
                f"Bridge: sales budget to full-year outlook ({cur})",
                schema.OUTLOOK_BRIDGE.sheet,
                "step",
                ("chart_base", "chart_total", "chart_up", "chart_down"),
                f"G{below}",
                width_cm=17.0,
                y_format="#,##0",
                stacked=True,
                hidden=("chart_base",),
                y_min=_axis_floor(r.bridge),
            ),
        ],
        tab_color="548235",
    )
    b = r.bridge.set_index("step")["amount"]
    bridge = SheetOutput(
        schema.OUTLOOK_BRIDGE,
        r.bridge,
        title=[
            f"Revenue bridge, fiscal year {fy}: sales budget + volume + price + mix = outlook",
            f"Volume {_money(b['Volume'])}, price {_money(b['Price'])}, mix {_money(b['Mix'])} "
            f"{cur}; item level, budget prices (PriceVolumeMix's formulas). docs/outlook.md",
        ],
        conditional_formats=[
            CellRule("amount", "lessThan", ("0",), None, RED_FONT),
        ],
        tab_color="548235",
    )
    monthly = SheetOutput(
        schema.OUTLOOK_MONTHLY,
        r.monthly,
        title=[
            f"Financial outlook by month, fiscal year {fy}",
            f"Actual months {closed}; plan months {open_} ({plan}).",
        ],
        conditional_formats=[
            CellRule("source", "equal", ('"Plan"',), "DDEBF7", None, bold=True),
            CellRule("revenue_gap", "lessThan", ("0",), RED_FILL, RED_FONT),
        ],
        tab_color="548235",
    )
    return [main, bridge, monthly]


def _axis_floor(bridge: pd.DataFrame) -> float | None:
    """The waterfall's axis start: a round number below every bar's bottom, so effects of a
    few percent of the budget are visible (None when the bars reach zero or below)."""
    tops = bridge[["chart_total"]].stack().tolist() + (bridge["chart_base"].dropna().tolist())
    low = min(tops, default=0.0)
    if low <= 0:
        return None
    step = 10 ** max(int(np.floor(np.log10(low))) - 1, 0)
    return float(np.floor(low * 0.95 / step) * step)


def run_outlook(book: Book) -> OutlookStepResult:
    """The cycle step: read, compute, write Outlook, OutlookBridge and OutlookMonthly."""
    settings = book.read_settings()
    frames = read_tables(book, (*READ, schema.SUPPLY_PLAN), share=len(READ) / (len(READ) + 2))
    supply = supply_plan_of_cycle(frames.pop(schema.SUPPLY_PLAN.alias, None), settings)
    book.progress("Computing the financial outlook", len(READ) / (len(READ) + 2))
    r = engine.compute(frames, settings, supply)
    out = OutlookStepResult(r, outputs=outputs(r, settings))
    out.summary = "Outlook: " + headline(r, settings.currency) + f" Plan: {r.plan_source}."
    book.write(out.outputs)
    book.progress("Financial outlook written", 1.0)
    return out
