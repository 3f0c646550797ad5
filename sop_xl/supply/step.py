"""The supply review step: read the book, plan, write SupplyPlan, Capacity, Backlog sheets.

:func:`build_inputs` turns the input tables into the arrays of :class:`~sop_xl.supply.lp.Problem`
(rows = items, columns = horizon months); :func:`supply_review` plans and builds the output
frames without touching a book (used by tests and the benchmark); :func:`run_supply` is the cycle
step (reads, plans, writes all sheets in one write).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sop_xl.errors import Finding
from sop_xl.model import schema
from sop_xl.model.book import Book, ResultMemo, read_tables
from sop_xl.model.periods import add_months, period_range
from sop_xl.model.schema import Settings
from sop_xl.model.sheets import (
    AMBER_FILL,
    AMBER_FONT,
    GREEN_FILL,
    GREEN_FONT,
    RED_FILL,
    RED_FONT,
    CellRule,
    ChartSpec,
    DataBar,
    SheetOutput,
)
from sop_xl.outlook.prices import realised_prices
from sop_xl.supply import backlog as bl
from sop_xl.supply import capacity as cap
from sop_xl.supply import inventory as inv
from sop_xl.supply import lp
from sop_xl.supply.kpis import remember
from sop_xl.supply.rules import check, resolve_policy

#: Tables the step reads.
READ: tuple[schema.Table, ...] = (
    schema.ITEMS,
    schema.CUSTOMERS,
    schema.FORECAST,
    schema.INVENTORY,
    schema.PRODUCTION_ORDERS,
    schema.PURCHASE_RECEIPTS,
    schema.SALES_ORDER_LINES,
    schema.SALES_ACTUALS,  # the realised price and cost basis (sop_xl.outlook.prices)
    *schema.SUPPLY_INPUTS,
)
#: Production order statuses whose open quantity is scheduled supply (Planned orders are MRP
#: suggestions: the supply plan replans them).
SCHEDULED_STATUSES = ("Released", "Firm Planned")


@dataclass
class Inputs:
    """The supply review's data, aligned on items (rows), resources and horizon months."""

    periods: list[str]
    #: one row per LP row (index item): location, made_at, description, family, unit_price,
    #: unit_cost, ...; unit_price and unit_cost are the expected realised price and unit cost
    #: (sop_xl.outlook.prices), the card's list price is list_price
    items: pd.DataFrame
    resources: pd.DataFrame  # index resource: name, location
    problem: lp.Problem
    backlog_qty: np.ndarray  # past-due open order qty per item (in demand[:, 0])
    consensus: np.ndarray  # consensus demand (R, T) without backlog
    capacity_hours: np.ndarray  # (K, T) full capacity
    scheduled_load: np.ndarray  # (K, T) hours of scheduled production orders
    max_days: np.ndarray  # (R,) NaN = no maximum
    open_lines: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class SupplyResult:
    """What the supply review found; ``outputs`` are the sheets written."""

    supply_plan: pd.DataFrame
    capacity: pd.DataFrame
    backlog: pd.DataFrame
    past_due: pd.DataFrame
    plan: lp.Plan
    unconstrained: np.ndarray
    inputs: Inputs
    findings: list[Finding]
    summary: str = ""
    outputs: list[SheetOutput] = field(default_factory=list)


def _days(periods: list[str]) -> np.ndarray:
    starts = np.array([f"{p}-01" for p in periods], dtype="datetime64[M]")
    return ((starts + 1).astype("datetime64[D]") - starts.astype("datetime64[D]")).astype(float)


def _month_of(dates: pd.Series, periods: list[str]) -> pd.Series:
    """YYYY-MM of each date; dates before the horizon fall into its first month."""
    p = pd.to_datetime(dates).dt.strftime("%Y-%m")  # an empty table reads as object dtype
    return p.where(p >= periods[0], periods[0])


def build_inputs(frames: dict[str, pd.DataFrame], settings: Settings) -> Inputs:
    """The LP data from the input tables (by table alias; supply tables may be missing)."""
    get = lambda t: frames.get(t.alias, pd.DataFrame(columns=[c.name for c in t.long_columns]))  # noqa: E731
    periods = period_range(settings.cycle, settings.horizon_months)
    days = _days(periods)
    cycle_start = pd.Timestamp(f"{settings.cycle}-01")
    items_df = get(schema.ITEMS).drop_duplicates("item").set_index("item")
    forecast = get(schema.FORECAST)
    forecast = forecast[forecast["period"].isin(periods)]
    lines = get(schema.SALES_ORDER_LINES)
    open_ = bl.open_lines(lines, cycle_start) if not lines.empty else lines.assign(open_qty=[])
    stock_tbl = get(schema.INVENTORY)
    last_closed = add_months(settings.cycle, -1)
    stock_tbl = stock_tbl[stock_tbl["period"] <= last_closed]
    if not stock_tbl.empty:  # the last closed month with stock figures
        stock_tbl = stock_tbl[stock_tbl["period"] == stock_tbl["period"].max()]
    orders = get(schema.PRODUCTION_ORDERS)
    orders = orders[orders["status"].isin(SCHEDULED_STATUSES)].assign(
        qty=lambda d: (d["planned_qty"] - d["completed_qty"].fillna(0.0)).clip(lower=0.0)
    )
    orders = orders.assign(period=_month_of(orders["due_date"], periods))
    purchases = get(schema.PURCHASE_RECEIPTS)
    purchases = purchases[purchases["received_date"].isna()].assign(
        qty=lambda d: (d["qty_ordered"] - d["qty_received"].fillna(0.0)).clip(lower=0.0)
    )
    purchases = purchases.assign(period=_month_of(purchases["promised_date"], periods))
    past_due = open_[open_["past_due"]] if len(open_) else open_

    # resources, capacity, routings
    res = get(schema.RESOURCES).drop_duplicates("resource").set_index("resource")
    res_idx = pd.Index(res.index, name="resource")
    policy_items = resolve_policy(items_df.reset_index(), get(schema.INVENTORY_POLICY))
    routings = get(schema.ROUTINGS)
    buy_items = set(policy_items.index[policy_items["replenishment"].eq("Buy")])
    routings = routings[~routings["item"].isin(buy_items) & routings["resource"].isin(res_idx)]
    # where each made item is made: the location of the resource with most hours per unit
    made_at = pd.Series(dtype=object)
    if len(routings):
        main = routings.sort_values("hours_per_unit", ascending=False, kind="stable")
        main = main.drop_duplicates("item").set_index("item")["resource"]
        made_at = main.map(res["location"]).dropna()

    # rows: item x location with demand, backlog, stock or receipts in the horizon, plus the
    # row where each of those items is made (its source)
    keys = ["item", "location"]
    involved = pd.concat(
        [
            forecast.loc[forecast["quantity"].fillna(0) > 0, keys],
            past_due[keys] if len(past_due) else pd.DataFrame(columns=keys),
            stock_tbl.loc[stock_tbl["quantity"] > 0, keys],
            orders[keys],
            purchases[keys],
        ]
    ).dropna()
    involved = involved[involved["item"].isin(items_df.index)]
    src_rows = pd.DataFrame({"item": made_at.index, "location": made_at.to_numpy()})
    src_rows = src_rows[src_rows["item"].isin(involved["item"])]
    pairs = (
        pd.concat([involved, src_rows])
        .drop_duplicates()
        .sort_values(keys, kind="stable")
        .reset_index(drop=True)
    )
    rows = pd.MultiIndex.from_frame(pairs)
    row_item = pd.Index(pairs["item"], name="item")
    # source row of each row: (item, made at) for made items, else the row itself
    src_loc = pairs["item"].map(made_at).astype(object)
    src_key = pd.MultiIndex.from_arrays(
        [pairs["item"], src_loc.where(src_loc.notna(), pairs["location"])]
    )
    source = rows.get_indexer(src_key)

    def grid(df: pd.DataFrame, value: str) -> np.ndarray:
        out = np.zeros((len(rows), len(periods)))
        if df.empty:
            return out
        r = rows.get_indexer(pd.MultiIndex.from_frame(df[keys]))
        c = pd.Index(periods).get_indexer(df["period"])
        ok = (r >= 0) & (c >= 0)
        np.add.at(out, (r[ok], c[ok]), df[value].to_numpy(float)[ok])
        return out

    def per_row(df: pd.DataFrame, value: str) -> np.ndarray:
        if df.empty:
            return np.zeros(len(rows))
        g = df.groupby(keys)[value].sum()
        return g.reindex(rows).fillna(0.0).to_numpy(float)

    consensus = grid(forecast, "quantity")
    backlog_qty = per_row(past_due, "open_qty") if len(past_due) else np.zeros(len(rows))
    demand = consensus.copy()
    demand[:, 0] += backlog_qty
    opening = per_row(stock_tbl, "quantity")
    purchased = grid(purchases, "qty")
    sched = grid(orders, "qty")

    capacity = np.repeat(
        res["capacity_hours"].fillna(0.0).to_numpy(float)[:, None], len(periods), 1
    )
    cap_grid = get(schema.RESOURCE_CAPACITY)
    if not cap_grid.empty:
        g = cap_grid[cap_grid["hours"].notna()]
        r = res_idx.get_indexer(g["resource"])
        c = pd.Index(periods).get_indexer(g["period"])
        ok = (r >= 0) & (c >= 0)
        capacity[r[ok], c[ok]] = g["hours"].to_numpy(float)[ok]
    # hours per unit of every row of a routed item (new supply loads them at its source row,
    # an open production order wherever it is)
    rt = routings.merge(pairs.reset_index(), on="item")
    hours = sp.csr_matrix(
        (
            rt["hours_per_unit"].to_numpy(float),
            (res_idx.get_indexer(rt["resource"]), rt["index"].to_numpy()),
        ),
        shape=(len(res_idx), len(rows)),
    )
    scheduled_load = cap.load(hours, sched)

    # policy -> safety stock (units per month-end) per row: days of the row's own demand, or the
    # item's units split by the row's share of the item's horizon demand (all at the source
    # row when the item has none)
    policy = policy_items.reindex(row_item)
    ss_units = policy["safety_stock"].to_numpy(float)
    row_dem = consensus.sum(axis=1)
    item_dem = pd.Series(row_dem).groupby(pairs["item"].to_numpy()).transform("sum").to_numpy()
    share = np.where(
        item_dem > 0,
        row_dem / np.where(item_dem > 0, item_dem, 1.0),
        (source == np.arange(len(rows))).astype(float),
    )
    min_days = policy["min_days"].fillna(0.0).to_numpy(float)
    from_days = inv.days_to_units(min_days, consensus, days)
    safety = np.where(
        np.isnan(ss_units)[:, None], from_days, (np.nan_to_num(ss_units) * share)[:, None]
    )

    basis = realised_prices(get(schema.ITEMS), get(schema.SALES_ACTUALS), settings.cycle)
    item_rows = items_df.reindex(row_item).assign(list_price=lambda d: d["unit_price"])
    item_rows["unit_price"] = basis["price"].reindex(row_item).to_numpy(float)
    item_rows["unit_cost"] = basis["cost"].reindex(row_item).to_numpy(float)
    price = item_rows["unit_price"].fillna(0.0).to_numpy(float)
    cost = item_rows["unit_cost"].fillna(0.0).to_numpy(float)
    item_rows = item_rows.assign(
        location=pairs["location"].to_numpy(),
        made_at=src_loc.to_numpy(),
        replenishment=policy["replenishment"].to_numpy(),
    )
    if len(open_):
        fam = items_df["family"]
        region = get(schema.CUSTOMERS).drop_duplicates("customer").set_index("customer")["region"]
        open_ = open_.assign(
            family=open_["item"].map(fam),
            region=open_["customer"].map(region),
            open_value=(open_["open_qty"] * open_["item"].map(basis["price"])).round(2),
        )
    problem = lp.Problem(
        demand=demand,
        opening=opening,
        receipts=purchased,
        scheduled=sched,
        safety=safety,
        hours=hours,
        capacity=capacity,
        margin=price - cost,
        holding=cost * settings.holding_cost_rate / 12.0,
        hard_safety_stock=settings.safety_stock_policy == "hard",
        source=source,
    )
    return Inputs(
        periods=periods,
        items=item_rows,
        resources=res[["name", "location"]]
        if len(res)
        else pd.DataFrame(columns=["name", "location"]),
        problem=problem,
        backlog_qty=backlog_qty,
        consensus=consensus,
        capacity_hours=capacity,
        scheduled_load=scheduled_load,
        max_days=policy["max_days"].to_numpy(float),
        open_lines=open_,
    )


def supply_review(inputs: Inputs, findings: list[Finding] | None = None) -> SupplyResult:
    """Plan (unconstrained and constrained) and build the output frames."""
    p, periods = inputs.problem, inputs.periods
    n_r, n_t = p.shape
    days = _days(periods)
    receipts = p.receipts + p.scheduled  # the ERP's view: every open order arrives as due
    unconstrained, _, _ = lp.unconstrained(p)
    plan = lp.solve(p) if n_r else lp.greedy(p)
    made = plan.scheduled_made
    unmet = plan.unmet(p)
    late = np.asarray(plan.backorder)
    coverage = inv.coverage_days(plan.stock, inputs.consensus, days)
    opening = np.column_stack([p.opening, plan.stock[:, :-1]]) if n_t > 1 else p.opening[:, None]
    price = inputs.items["unit_price"].fillna(0.0).to_numpy(float)
    backlog0 = np.zeros((n_r, n_t))
    backlog0[:, 0] = inputs.backlog_qty
    transfer_out = plan.transfer_out(p)
    eps = 1e-6
    max_days = inputs.max_days[:, None]
    flag = np.select(
        [
            late > eps,
            plan.stock < p.safety - 1e-3,
            ~np.isnan(max_days) & (coverage > max_days) & np.isfinite(coverage),
        ],
        ["Short", "Below safety stock", "Excess"],
        "OK",
    )
    rep = lambda a: np.repeat(np.asarray(a), n_t)  # noqa: E731
    r2 = lambda a: np.round(np.asarray(a, float).ravel(), 2)  # noqa: E731
    items = inputs.items
    plan_df = pd.DataFrame(
        {
            "item": rep(items.index),
            "location": rep(items.get("location", pd.Series([None] * len(items)))),
            "description": rep(items["description"]),
            "family": rep(items["family"]),
            "made_at": rep(items["made_at"]),
            "replenishment": rep(items["replenishment"]),
            "period": np.tile(periods, n_r),
            "opening": r2(opening),
            "demand": r2(inputs.consensus),
            "past_due_backlog": r2(backlog0),
            "scheduled_receipts": r2(receipts),
            "scheduled_at_risk": r2(p.scheduled - made),
            "orders_only": r2(inv.orders_only(p.opening, receipts, p.demand)),
            "unconstrained_supply": r2(unconstrained),
            "constrained_supply": r2(plan.supply),
            "supply_gap": r2(unconstrained - plan.supply),
            "transfer_in": r2(plan.transfer_in),
            "transfer_out": r2(transfer_out),
            "met_demand": r2(plan.met),
            "backorder": r2(late),
            "unmet_qty": r2(unmet),
            "unmet_value": r2(unmet * price[:, None]),
            "projected": r2(plan.stock),
            "safety_stock": r2(p.safety),
            "coverage_days": np.where(np.isfinite(coverage), np.round(coverage, 1), np.nan).ravel(),
            "max_days": np.repeat(inputs.max_days, n_t),
            "flag": flag.ravel(),
        }
    )
    # capacity
    res = inputs.resources
    n_k = len(res)
    load_u = inputs.scheduled_load + cap.load(p.hours, unconstrained)
    load_c = cap.load(p.hours, made + plan.supply)
    capacity = inputs.capacity_hours
    util_u, util_c = cap.utilisation(load_u, capacity), cap.utilisation(load_c, capacity)
    rk = lambda a: np.repeat(np.asarray(a), n_t)  # noqa: E731
    cap_df = pd.DataFrame(
        {
            "resource": rk(res.index),
            "name": rk(res["name"]),
            "location": rk(res["location"]),
            "period": np.tile(periods, n_k),
            "capacity_hours": r2(capacity),
            "scheduled_load": r2(inputs.scheduled_load),
            "unconstrained_load": r2(load_u),
            "constrained_load": r2(load_c),
            "utilisation": util_u.ravel(),
            "constrained_utilisation": util_c.ravel(),
            "overload_hours": r2(np.maximum(load_u - capacity, 0.0)),
            "flag": cap.flags(load_u, capacity).ravel(),
        }
    )
    open_ = inputs.open_lines
    if len(open_):
        backlog = bl.summary(open_)
        pdue = open_[open_["past_due"]].sort_values(["due_date", "order", "line"], kind="stable")
        pdue = pdue[[c.name for c in schema.PAST_DUE_ORDERS.columns]].reset_index(drop=True)
    else:
        backlog = bl.summary(open_)
        pdue = pd.DataFrame(columns=[c.name for c in schema.PAST_DUE_ORDERS.columns])
    return SupplyResult(
        supply_plan=plan_df,
        capacity=cap_df,
        backlog=backlog.reset_index(drop=True),
        past_due=pdue,
        plan=plan,
        unconstrained=unconstrained,
        inputs=inputs,
        findings=list(findings or []),
    )


def critical_resource(capacity: pd.DataFrame) -> str | None:
    """The resource with the highest peak unconstrained utilisation (None without resources)."""
    if capacity.empty or capacity["utilisation"].isna().all():
        return None
    peak = capacity.groupby("resource")["utilisation"].max()
    return str(peak.idxmax())


def outputs(result: SupplyResult, settings: Settings) -> list[SheetOutput]:
    """The SupplyPlan, Capacity (+ chart data), Backlog and PastDueOrders sheets."""
    cur = settings.currency
    sp_df, cap_df = result.supply_plan, result.capacity
    short = sp_df[sp_df["flag"] == "Short"]
    plan_out = SheetOutput(
        schema.SUPPLY_PLAN,
        sp_df,
        title=[
            f"Supply Plan - {settings.company}, cycle {settings.cycle}",
            f"{result.inputs.items.index.nunique()} items at {len(result.inputs.items)} item "
            f"locations x {len(result.inputs.periods)} months. Backordered in {len(short)} "
            f"item-location-months; still unmet at the horizon's end "
            f"{sp_df['unmet_qty'].sum():,.0f} units = {sp_df['unmet_value'].sum():,.0f} "
            f"{cur}; constrained plan solved by "
            f"{result.plan.method} in {result.plan.seconds:.2f} s. Formulas: docs/supply.md.",
            f"Plan of record: scenario {settings.chosen_scenario}"
            + (
                " (no change to the consensus)"
                if settings.chosen_scenario == "Base"
                else " (its drivers applied to demand, capacity, price, cost and safety stock; "
                "the Forecast sheet keeps the consensus). docs/scenarios.md"
            ),
        ],
        conditional_formats=[
            CellRule("flag", "equal", ('"Short"',), RED_FILL, RED_FONT, bold=True),
            CellRule("flag", "equal", ('"Below safety stock"',), AMBER_FILL, AMBER_FONT),
            CellRule("flag", "equal", ('"Excess"',), AMBER_FILL, AMBER_FONT),
            CellRule("unmet_qty", "greaterThan", ("0",), RED_FILL, RED_FONT),
            CellRule("orders_only", "lessThan", ("0",), RED_FILL, RED_FONT),
            CellRule("supply_gap", "greaterThan", ("0",), AMBER_FILL, AMBER_FONT),
        ],
        tab_color="2F75B5",
    )
    crit = critical_resource(cap_df)
    chart_df = (
        cap_df.loc[
            cap_df["resource"] == crit,
            ["period", "resource", "capacity_hours", "unconstrained_load", "constrained_load"],
        ]
        if crit
        else pd.DataFrame(columns=schema.CAPACITY_CHART.names)
    )
    over = cap_df[cap_df["flag"] == "Overload"]
    cap_out = SheetOutput(
        schema.CAPACITY_PLAN,
        cap_df,
        title=[
            f"Rough-Cut Capacity - {settings.company}, cycle {settings.cycle}",
            f"{over['resource'].nunique()} resource(s) overloaded in {len(over)} resource-months "
            f"by the unconstrained plan; critical resource: {crit or '-'}.",
        ],
        conditional_formats=[
            CellRule("flag", "equal", ('"Overload"',), RED_FILL, RED_FONT, bold=True),
            CellRule("flag", "equal", ('"Tight"',), AMBER_FILL, AMBER_FONT),
            CellRule("flag", "equal", ('"OK"',), GREEN_FILL, GREEN_FONT),
            CellRule("utilisation", "greaterThan", ("1",), RED_FILL, RED_FONT),
            DataBar("constrained_utilisation"),
        ],
        charts=[
            ChartSpec(
                "line",
                f"Load vs capacity: {crit or 'no resource'} (hours)",
                schema.CAPACITY_CHART.sheet,
                "period",
                ("capacity_hours", "unconstrained_load", "constrained_load"),
                "O3",
                y_format="#,##0",
                y_title="Hours",
            )
        ]
        if crit
        else [],
        tab_color="2F75B5",
    )
    chart_out = SheetOutput(
        schema.CAPACITY_CHART,
        chart_df.reset_index(drop=True),
        title=[f"Chart data: load vs capacity of {crit or '-'}"],
    )
    bl_df = result.backlog
    pdv = bl_df.loc[bl_df["status"] == "Past due", "open_value"].sum() if len(bl_df) else 0.0
    backlog_out = SheetOutput(
        schema.BACKLOG,
        bl_df,
        title=[
            f"Sales Order Backlog - {settings.company}, cycle {settings.cycle}",
            f"Open value {bl_df['open_value'].sum() if len(bl_df) else 0:,.0f} {cur}, of which "
            f"past due {pdv:,.0f} {cur} ({len(result.past_due)} lines on PastDueOrders).",
        ],
        conditional_formats=[
            CellRule("status", "equal", ('"Past due"',), RED_FILL, RED_FONT, bold=True)
        ],
        tab_color="2F75B5",
    )
    past_out = SheetOutput(
        schema.PAST_DUE_ORDERS,
        result.past_due,
        title=[f"Past-due sales order lines at the start of {settings.cycle}"],
        conditional_formats=[DataBar("days_late", "C00000")],
    )
    return [plan_out, cap_out, chart_out, backlog_out, past_out]


def summary_line(result: SupplyResult, settings: Settings) -> str:
    sp_df, cap_df = result.supply_plan, result.capacity
    cur = settings.currency
    over = cap_df[cap_df["flag"] == "Overload"]
    fams = sp_df[sp_df["unmet_qty"] > 0].groupby("family")["unmet_qty"].sum().sort_values()[::-1]
    worst = ", ".join(f"{f} {q:,.0f}" for f, q in fams.head(3).items()) or "none"
    pdv = result.past_due["open_value"].sum() if len(result.past_due) else 0.0
    text = (
        f"Supply review: {result.inputs.items.index.nunique()} items at "
        f"{len(result.inputs.items)} item locations x {len(result.inputs.periods)} months; "
        f"{len(over)} overloaded resource-months; unmet at the horizon's end "
        f"{sp_df['unmet_qty'].sum():,.0f} units ({sp_df['unmet_value'].sum():,.0f} {cur}; by "
        f"family: {worst}); past-due backlog {pdv:,.0f} {cur}."
    )
    n_warn = sum(f.severity != "info" for f in result.findings)
    if n_warn:
        text += f" {n_warn} input finding(s): run Validate Inputs for the cells."
    return text


#: turns the inputs into the plan of record's (the chosen scenario), given every frame read
Adjust = Callable[[Inputs, dict[str, pd.DataFrame], Settings], Inputs]


def run_supply(
    book: Book,
    adjust: Adjust | None = None,
    extra: tuple[schema.Table, ...] = (),
    *,
    memo: ResultMemo | None = None,
) -> SupplyResult:
    """The cycle step: read the inputs, plan, write the supply review sheets in one write.

    ``adjust`` (with the ``extra`` tables it reads) makes the plan of record, e.g. the chosen
    scenario's (sop_xl.cycle passes it; the supply engine knows nothing of scenarios).
    ``memo``: where the plan's KPIs are kept for the scorecard
    (:func:`sop_xl.supply.kpis.remember`).
    """
    settings = book.read_settings()
    tables = (*READ, *extra)
    frames = read_tables(book, tables, share=len(tables) / (len(tables) + 2))
    horizon = period_range(settings.cycle, settings.horizon_months)
    findings = check(frames, None, book.name, horizon)
    book.progress("Planning supply against capacity", len(tables) / (len(tables) + 2))
    inputs = build_inputs(frames, settings)
    if adjust is not None:
        inputs = adjust(inputs, frames, settings)
    result = supply_review(inputs, findings)
    remember(memo, result, settings)
    result.outputs = outputs(result, settings)
    result.summary = summary_line(result, settings)
    book.progress("Writing the supply review", (len(tables) + 1) / (len(tables) + 2))
    book.write(result.outputs)
    book.progress("Supply review written", 1.0)
    return result
