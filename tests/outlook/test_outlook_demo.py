"""The demo's full-year revenue outlook recomputed WITHOUT sop_xl (issue 12 item 3).

Reads the demo master with python-calamine only and recomputes from docs/outlook.md: posted
sales of the fiscal year's closed months + the supply plan's met demand of the open months x
each item's realised price (trailing 12 closed months' amount / quantity). Then compares with
the Outlook sheets the cycle wrote, and checks the frozen plan carries them. Nothing from
``sop_xl`` is imported here on purpose.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook


def _sheet(wb: CalamineWorkbook, name: str, first_header: str) -> pd.DataFrame:
    rows = wb.get_sheet_by_name(name).to_python()
    at = next(i for i, r in enumerate(rows) if str(r[0]).strip() == first_header)
    header = [str(h).strip() for h in rows[at]]
    body = [r for r in rows[at + 1 :] if any(v not in ("", None) for v in r)]
    return pd.DataFrame(body, columns=header)


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.replace("", np.nan), errors="coerce")


def _months(start: str, n: int) -> list[str]:
    y, m = int(start[:4]), int(start[5:7])
    return [
        f"{(y * 12 + m - 1 + i) // 12:04d}-{(y * 12 + m - 1 + i) % 12 + 1:02d}" for i in range(n)
    ]


@pytest.fixture(scope="module")
def wb(demo_dir):
    return CalamineWorkbook.from_path(str(demo_dir / "SOP_Planning.xlsm"))


def test_full_year_revenue_outlook_recomputed(wb) -> None:
    settings = _sheet(wb, "Settings", "Setting").set_index("Setting")["Value"].astype(str)
    cycle = settings["Cycle"].strip()[:7]
    start = int(float(settings["Fiscal year start month"]))
    assert (cycle, start) == ("2026-11", 1)
    fy = _months(f"{cycle[:4]}-{start:02d}", 12)  # the cycle is in the fiscal year's 1st year
    closed = [p for p in fy if p < cycle]
    open_ = [p for p in fy if p >= cycle]
    sa = _sheet(wb, "SalesActuals", "Customer No.")
    sa["qty"], sa["amt"] = _num(sa["Quantity"]), _num(sa["Sales Amount"])
    actual = sa.loc[sa["Period"].isin(closed), "amt"].sum()
    window = _months("2025-11", 12)  # the 12 closed months before the cycle 2026-11
    w = sa[sa["Period"].isin(window)].groupby("Item No.")[["qty", "amt"]].sum()
    assert ((w["qty"] > 0) & (w["amt"] > 0)).all()  # every demo item is priced by its actuals
    price = w["amt"] / w["qty"]
    sp = _sheet(wb, "SupplyPlan", "Item No.")
    sp = sp[sp["Period"].isin(open_)]
    plan = (_num(sp["Shipped"]) * sp["Item No."].map(price)).sum()  # shipped: met demand

    out = _sheet(wb, "Outlook", "Account No.")
    rev = out[out["Account Type"] == "Revenue"].copy()
    for col in ("Actual YTD", "Plan Rest of Year", "Full-Year Outlook", "Financial Budget"):
        rev[col] = _num(rev[col])
    assert rev["Actual YTD"].sum() == pytest.approx(actual, abs=0.01)
    assert round(actual / 1e6, 2) == 84.20  # the "84.20 M actual"
    # the plan is spread over customers and rounded per line: a few cents at most in total
    assert rev["Plan Rest of Year"].sum() == pytest.approx(plan, abs=5.0)
    assert rev["Full-Year Outlook"].sum() == pytest.approx(actual + plan, abs=5.0)

    fb = _sheet(wb, "FinancialBudget", "G/L Account No.")
    gl = _sheet(wb, "GLAccounts", "G/L Account No.")
    key = lambda s: s.map(lambda v: str(int(v)) if isinstance(v, float) else str(v))  # noqa: E731
    revenue_accounts = set(key(gl.loc[gl["Account Type"] == "Revenue", "G/L Account No."]))
    fb_rev = fb[key(fb["G/L Account No."]).isin(revenue_accounts)]
    budget = sum(_num(fb_rev[p]).sum() for p in fy if p in fb_rev)
    assert budget == pytest.approx(103_583_000.0)  # the 103.6 M
    assert rev["Financial Budget"].sum() == pytest.approx(budget)

    bridge = _sheet(wb, "OutlookBridge", "Step").set_index("Step")
    b = (_num(bridge["Amount"]) * 100).round().astype(np.int64)
    assert b["Sales budget"] + b["Volume"] + b["Price"] + b["Mix"] == b["Full-year outlook"]
    assert b["Full-year outlook"] == round(rev["Full-Year Outlook"].sum() * 100)
    assert b["Financial budget"] == round(budget * 100)
    assert b["Gap to financial budget"] == b["Full-year outlook"] - b["Financial budget"]


def test_frozen_plan_carries_the_outlook(demo_dir) -> None:
    snap = sorted((demo_dir / "snapshots").glob("SOP_Plan_*.xlsx"))[-1]
    with zipfile.ZipFile(snap) as z:
        tables = " ".join(
            z.read(n).decode()[:600] for n in z.namelist() if n.startswith("xl/tables/")
        )
        book = z.read("xl/workbook.xml").decode()
    for name in ("tblOutlook", "tblOutlookBridge", "tblOutlookMonthly"):
        assert f'name="{name}"' in tables or f'displayName="{name}"' in tables, name
    for sheet in ("Outlook", "OutlookBridge", "OutlookMonthly"):
        assert f'name="{sheet}"' in book


def test_outlook_charts_in_the_master(demo_dir) -> None:
    """The bridge is a waterfall: stacked columns whose base series has no fill and no legend
    entry, on an axis that starts above zero; the monthly chart compares outlook and budget."""
    with zipfile.ZipFile(demo_dir / "SOP_Planning.xlsm") as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    bridge = [c for c in charts if "sales budget to full-year outlook" in c]
    monthly = [c for c in charts if "outlook vs financial budget" in c]
    assert len(bridge) == 1 and len(monthly) == 1
    x = bridge[0]
    assert 'grouping val="stacked"/>' in x and 'overlap val="100"/>' in x
    assert ":noFill" in x and '<legendEntry><idx val="0"/><delete val="1"/>' in x
    assert "<min val=" in x
    assert "OutlookBridge" in x and "OutlookMonthly" in monthly[0]
