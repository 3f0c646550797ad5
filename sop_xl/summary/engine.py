"""The Executive Summary's rows from the cycle's tables (pure: frames in, one frame out).

One row per line of the page, in five sections, each capped so the page stays one page:

1. **Decisions** asked for this cycle (Decisions sheet): question, options, recommendation, the
   recommended scenario's gross margin and unmet demand against Base (ScenarioResults).
2. **Scorecard: red** KPIs of the Scorecard (actual vs target, owner).
3. **Supply risks**: the families with the largest unmet demand value (SupplyPlan), the
   overloaded resources (Capacity: months over 100 %, peak utilisation), the past-due backlog
   (Backlog).
4. **Full-year outlook**: revenue outlook vs financial budget and the bridge's volume, price
   and mix (Outlook, OutlookBridge); without them a line saying to run the outlook.
5. **Actions**: overdue first, then open (ActionsCarried of the plan history; else the Actions
   sheet, overdue = due before the cycle month).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sop_xl.model import schema

SECTIONS = ("Decisions", "Scorecard: red", "Supply risks", "Full-year outlook", "Actions")
#: lines per section at most (the page must stay one page)
MAX_LINES = {"Decisions": 4, "Scorecard: red": 6, "Supply risks": 6, "Actions": 6}
OPEN = ("Open", "In progress")


def _money(x: float, cur: str) -> str:
    if not np.isfinite(x):
        return "-"
    for div, unit in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:,.2f} {unit} {cur}".strip()
    return f"{x:,.0f} {cur}".strip()


def _signed(x: float, cur: str) -> str:
    text = _money(abs(x), cur)
    return ("+" if x >= 0 else "-") + text


def _row(section, item, detail="", figure="", owner="", date=None, flag="") -> dict:
    return {
        "section": section,
        "item": item,
        "detail": detail,
        "figure": figure,
        "owner": owner,
        "date": date,
        "flag": flag,
    }


def _get(frames: Mapping[str, pd.DataFrame], table: schema.Table) -> pd.DataFrame | None:
    df = frames.get(table.alias)
    return None if df is None or df.empty else df


def decisions(frames, cur: str) -> list[dict]:
    from sop_xl.scenario.rules import options

    dec = _get(frames, schema.DECISIONS)
    if dec is None:
        return [_row("Decisions", "No decision asked for this cycle (Decisions sheet is empty).")]
    res = _get(frames, schema.SCENARIO_RESULTS)
    by = res.set_index(["measure", "scenario"]) if res is not None else None
    out = []
    for d in dec.sort_values("due_date", kind="stable").itertuples(index=False):
        opts = options(d.options)
        rec = d.recommendation if isinstance(d.recommendation, str) and d.recommendation else ""
        detail = "Options: " + " | ".join(opts) + (f". Recommended: {rec}." if rec else ".")
        figure = ""
        if by is not None and rec and ("Gross margin", rec) in by.index:
            m = by.loc[("Gross margin", rec), "delta"]
            u = by.loc[("Unmet demand (units)", rec), "delta"]
            figure = f"{rec} vs Base: margin {_signed(m, cur)}, unmet {u:+,.0f} units"
            if ("Backorders (unit-months)", rec) in by.index:  # how long customers wait
                b = by.loc[("Backorders (unit-months)", rec), "delta"]
                figure += f", backorders {b:+,.0f} unit-months"
        if isinstance(d.note, str) and d.note:
            detail += " " + d.note
        out.append(_row("Decisions", d.question, detail, figure, d.owner, d.due_date, "Decide"))
    return out[: MAX_LINES["Decisions"]]


def scorecard_red(frames) -> list[dict]:
    sc = _get(frames, schema.SCORECARD)
    if sc is None:
        return [_row("Scorecard: red", "No scorecard yet: run Build Scorecard.")]
    red = sc[sc["status"] == "Red"]
    if red.empty:
        return [_row("Scorecard: red", "No KPI is red this month.", flag="OK")]
    out = []
    for r in red.itertuples(index=False):
        target = r.target_text if isinstance(r.target_text, str) else "-"
        gap = f"; gap {r.gap_text}" if isinstance(r.gap_text, str) and r.gap_text else ""
        out.append(
            _row(
                "Scorecard: red",
                r.name,
                f"{r.perspective}: actual {r.actual_text} vs target {target}{gap}",
                str(r.actual_text),
                r.owner_role if isinstance(r.owner_role, str) else "",
                None,
                "Red",
            )
        )
    more = len(out) - MAX_LINES["Scorecard: red"]
    out = out[: MAX_LINES["Scorecard: red"]]
    if more > 0:
        out[-1]["detail"] += f" (+{more} more red on the Scorecard)"
    return out


def supply_risks(frames, cur: str) -> list[dict]:
    out: list[dict] = []
    sp = _get(frames, schema.SUPPLY_PLAN)
    capacity = _get(frames, schema.CAPACITY_PLAN)
    backlog = _get(frames, schema.BACKLOG)
    if sp is None and capacity is None and backlog is None:
        return [_row("Supply risks", "No supply review yet: run Supply Review.")]
    if sp is not None:
        # backorders (demand owed at month-end) when the plan carries them, else unmet demand
        late = "backorder" if "backorder" in sp else "unmet_qty"
        short = sp[sp[late] > 0]
        fam = (
            short.groupby("family", dropna=False)
            .agg(units=(late, "sum"), value=("unmet_value", "sum"))
            .sort_values(["value", "units"], ascending=False)
        )
        months = short.groupby("family", dropna=False)["period"].agg(["min", "max"])
        for f, r in fam.head(3).iterrows():
            lo, hi = months.loc[f, "min"], months.loc[f, "max"]
            out.append(
                _row(
                    "Supply risks",
                    f"Shortfall {f}",
                    f"{r['units']:,.0f} unit-months of backorders, {lo} to {hi} (SupplyPlan)"
                    if late == "backorder"
                    else f"{r['units']:,.0f} units of demand unmet, {lo} to {hi} (SupplyPlan)",
                    _money(r["value"], cur),
                    flag="Short",
                )
            )
    if capacity is not None:
        over = capacity[capacity["flag"] == "Overload"]
        res = over.groupby("resource").agg(
            months=("period", "count"),
            first=("period", "min"),
            last=("period", "max"),
            peak=("utilisation", "max"),
        )
        for k, r in res.sort_values("peak", ascending=False).head(2).iterrows():
            out.append(
                _row(
                    "Supply risks",
                    f"Overload {k}",
                    f"{r['months']} month(s) over capacity, {r['first']} to {r['last']} "
                    "(Capacity, unconstrained load)",
                    f"peak {r['peak']:.0%}",
                    flag="Overload",
                )
            )
    if backlog is not None:
        past = backlog[backlog["status"] == "Past due"]
        if len(past):
            out.append(
                _row(
                    "Supply risks",
                    "Past-due backlog",
                    f"{int(past['lines'].sum()):,} open order line(s) due before the cycle "
                    "(Backlog, PastDueOrders)",
                    _money(float(past["open_value"].sum()), cur),
                    flag="Past due",
                )
            )
    return out[: MAX_LINES["Supply risks"]] or [
        _row("Supply risks", "No shortfall, overload or past-due backlog.", flag="OK")
    ]


def outlook(frames, cur: str) -> list[dict]:
    ol = _get(frames, schema.OUTLOOK)
    if ol is None:
        return [
            _row(
                "Full-year outlook",
                "Run the financial outlook",
                "No Outlook sheet in this workbook: run Financial Outlook (S&OP tab) or "
                "sop-xl outlook to see the full-year outlook against the budget.",
                flag="Missing",
            )
        ]
    out = []
    for kind, label in (("Revenue", "Revenue"), ("Cost", "Cost of goods sold")):
        part = ol[ol["account_type"] == kind]
        if part.empty:
            continue
        fy, budget = float(part["outlook"].sum()), float(part["financial_budget"].sum())
        gap = fy - budget
        pct = f" ({gap / abs(budget):+.1%})" if budget else ""
        worse = gap < 0 if kind == "Revenue" else gap > 0
        out.append(
            _row(
                "Full-year outlook",
                f"{label}: outlook vs budget",
                f"actual YTD {_money(float(part['actual_ytd'].sum()), cur)} + plan rest of year "
                f"{_money(float(part['plan_rest'].sum()), cur)} = {_money(fy, cur)}; financial "
                f"budget {_money(budget, cur)}",
                f"gap {_signed(gap, cur)}{pct}",
                flag="Gap" if worse and abs(gap) > 0.005 else "OK",
            )
        )
    br = _get(frames, schema.OUTLOOK_BRIDGE)
    if br is not None:
        steps = br.set_index("step")["amount"]
        parts = [
            f"{s} {_signed(float(steps[s]), cur)}" for s in ("Volume", "Price", "Mix") if s in steps
        ]
        if parts:
            out.append(
                _row(
                    "Full-year outlook",
                    "Revenue gap to the sales budget, explained",
                    "; ".join(parts) + " (OutlookBridge)",
                    "",
                )
            )
    return out


def actions(frames, cycle: str) -> list[dict]:
    carried = _get(frames, schema.ACTIONS_CARRIED)
    start = pd.Timestamp(f"{cycle}-01")
    rows = []
    if carried is not None:
        live = carried[carried["status_now"].isin(OPEN)].copy()
        live["overdue"] = live["flag"].eq("Overdue")
    else:
        act = _get(frames, schema.ACTIONS)
        if act is None:
            return [_row("Actions", "No actions recorded.")]
        live = act[act["status"].isin(OPEN)].copy()
        live["overdue"] = pd.to_datetime(live["due_date"]) < start
    if live.empty:
        return [_row("Actions", "No open actions.", flag="OK")]
    live = live.sort_values(["overdue", "due_date"], ascending=[False, True], kind="stable")
    n_over = int(live["overdue"].sum())
    for r in live.head(MAX_LINES["Actions"]).itertuples(index=False):
        owner = r.owner if isinstance(r.owner, str) and r.owner else (r.owner_role or "")
        rows.append(
            _row(
                "Actions",
                f"{r.action_id}: {r.decision}" if isinstance(r.decision, str) else r.action_id,
                "overdue" if r.overdue else "open",
                "",
                owner,
                r.due_date,
                "Overdue" if r.overdue else "Open",
            )
        )
    more = len(live) - len(rows)
    if more > 0:
        rows[-1]["detail"] += f" (+{more} more; {n_over} overdue in all: ActionsCarried)"
    return rows


def summary(frames: Mapping[str, pd.DataFrame], cycle: str, currency: str) -> pd.DataFrame:
    """All rows of the Executive Summary, in section order."""
    rows = (
        decisions(frames, currency)
        + scorecard_red(frames)
        + supply_risks(frames, currency)
        + outlook(frames, currency)
        + actions(frames, cycle)
    )
    df = pd.DataFrame(rows, columns=schema.EXEC_SUMMARY.names)
    df["date"] = pd.to_datetime(df["date"])
    return df
