"""The full-year financial outlook by G/L account, and its bridge from the sales budget.

Definitions (docs/outlook.md):

- **Fiscal year**: the 12 months from the fiscal year start month that contain the cycle month.
  **Closed months** are the fiscal year's months before the cycle; **open months** the cycle
  month to the fiscal year end.
- **Actual YTD**: posted sales (SalesActuals) of the closed months: Sales Amount to the sales
  account, Cost Amount to the COGS account of the General Posting Setup line of (customer's Gen.
  Bus., item's Gen. Prod. posting group) - the variance package's mapping
  (:func:`sop_xl.variance.mapping.map_sales_budget`), reused as it is. Closed months come from
  actuals only, never from a plan.
- **Plan rest of year**: the plan of record's units for the open months - the constrained supply
  plan's met demand when the supply review ran for this cycle, else the consensus forecast -
  spread over customers in the proportion of each item's sales in the trailing 12 months (else
  its family's, else the company's), valued at the expected realised price and unit cost
  (:mod:`sop_xl.outlook.prices`) times the chosen scenario's Price % / Cost % drivers, rounded to
  cents per line, and posted through the same mapping.
- **Full-year outlook** = Actual YTD + Plan rest of year; **Gap** = outlook - financial budget
  of the fiscal year; **Gap %** = gap / |financial budget| (blank when the budget is 0). Revenue
  above budget and cost below budget are favourable.
- **Sales budget** column: revenue accounts, the sales budget's amount mapped to the account;
  COGS accounts, the sales budget's quantity x expected unit cost mapped to the COGS account
  (budgeted COGS, issue 14).
- **Bridge** (revenue, whole fiscal year, item level, :func:`sop_xl.variance.pvm.
  price_volume_mix` with the outlook as "actual"): sales budget + volume + price + mix =
  full-year outlook, exact to the cent.

Sales that cannot be posted (no posting setup line, unknown customer...) are kept on an
``(unmapped)`` line of each type, so the accounts add up to the bridge's outlook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sop_xl.model import schema
from sop_xl.model.periods import period_range
from sop_xl.model.schema import Settings
from sop_xl.outlook.prices import realised_prices, trailing_periods
from sop_xl.variance.mapping import as_key, map_sales_budget
from sop_xl.variance.money import from_cents, to_cents
from sop_xl.variance.pvm import price_volume_mix

UNMAPPED = "(unmapped)"
ACTUAL, PLAN = "Actual", "Plan"
SUPPLY_PLAN = "constrained supply plan (met demand)"
CONSENSUS = "consensus forecast"
#: The bridge's steps, in order (tblOutlookBridge).
BRIDGE_STEPS = (
    "Sales budget",
    "Volume",
    "Price",
    "Mix",
    "Full-year outlook",
    "Financial budget",
    "Gap to financial budget",
)


@dataclass
class OutlookResult:
    """The outlook's frames: ``accounts`` (tblOutlook), ``bridge`` (tblOutlookBridge),
    ``monthly`` (tblOutlookMonthly), every posted ``lines`` (actual and plan) and the price basis.
    """

    accounts: pd.DataFrame
    bridge: pd.DataFrame
    monthly: pd.DataFrame
    lines: pd.DataFrame
    prices: pd.DataFrame
    plan_source: str
    fiscal_year: list[str]
    closed: list[str]
    open: list[str]
    scenario: str = "Base"
    totals: dict[str, float] = field(default_factory=dict)


def fiscal_year(cycle: str, start_month: int) -> list[str]:
    """The 12 months of the fiscal year that contains ``cycle``."""
    year, month = int(cycle[:4]), int(cycle[5:7])
    start_year = year if month >= start_month else year - 1
    return period_range(f"{start_year:04d}-{start_month:02d}", 12)


def plan_units(
    forecast: pd.DataFrame, supply_plan: pd.DataFrame | None, open_months: list[str]
) -> tuple[pd.DataFrame, str]:
    """Units per item and open month: the supply plan's met demand when given, else the
    consensus forecast (all regions and locations). Returns (item, period, quantity; source)."""
    if supply_plan is not None:
        src = supply_plan.rename(columns={"met_demand": "quantity"})
        label = SUPPLY_PLAN
    else:
        src, label = forecast, CONSENSUS
    src = src.loc[src["period"].isin(open_months).to_numpy() & src["quantity"].notna().to_numpy()]
    out = src.groupby(["item", "period"], as_index=False)["quantity"].sum()
    return out.loc[out["quantity"] != 0].reset_index(drop=True), label


def customer_shares(
    actuals: pd.DataFrame, items: pd.DataFrame, plan_items: pd.Index, window: list[str]
) -> pd.DataFrame:
    """(item, customer, share) for each plan item: the item's share of units sold per customer
    in ``window`` (net, negatives as 0), else its family's, else the company's."""
    fam = items.drop_duplicates("item").set_index("item")["family"]
    sa = actuals.loc[actuals["period"].isin(window).to_numpy(), ["item", "customer", "quantity"]]
    q = sa.groupby(["item", "customer"], as_index=False)["quantity"].sum()
    q = q.loc[q["quantity"] > 0]
    q["family"] = q["item"].map(fam)

    def norm(df: pd.DataFrame, key: str | None) -> pd.DataFrame:
        tot = df.groupby(key)["quantity"].transform("sum") if key else df["quantity"].sum()
        return df.assign(share=df["quantity"] / tot)

    by_item = norm(q, "item")[["item", "customer", "share"]]
    by_family = norm(q.groupby(["family", "customer"], as_index=False)["quantity"].sum(), "family")
    company = norm(q.groupby("customer", as_index=False)["quantity"].sum(), None)
    want = pd.DataFrame({"item": plan_items})
    want["family"] = want["item"].map(fam)
    a = by_item.loc[by_item["item"].isin(plan_items)]
    rest = want.loc[~want["item"].isin(a["item"])]
    b = rest.merge(by_family[["family", "customer", "share"]], on="family")
    rest = rest.loc[~rest["item"].isin(b["item"])]
    c = rest.merge(company[["customer", "share"]], how="cross")
    rest = rest.loc[~rest["item"].isin(c["item"])]  # no sales at all: one unknown customer
    d = rest.assign(customer=None, share=1.0)
    cols = ["item", "customer", "share"]
    return pd.concat([a[cols], b[cols], c[cols], d[cols]], ignore_index=True)


def scenario_factors(
    drivers: pd.DataFrame | None,
    chosen: str,
    driver: str,
    families: np.ndarray,
    periods: np.ndarray,
) -> np.ndarray:
    """Per line, the product of the chosen scenario's ``driver`` ('Price %' / 'Cost %') changes
    whose family (blank = all) and month range (blank = open-ended) cover the line."""
    out = np.ones(len(families))
    if drivers is None or drivers.empty:
        return out
    rows = drivers.loc[(drivers["scenario"] == chosen) & (drivers["driver"] == driver)]
    for d in rows.itertuples(index=False):
        hit = np.ones(len(families), bool)
        if isinstance(d.target, str) and d.target:
            hit &= families == d.target
        if isinstance(d.from_period, str) and d.from_period:
            hit &= periods >= d.from_period
        if isinstance(d.to_period, str) and d.to_period:
            hit &= periods <= d.to_period
        out = np.where(hit, out * (1.0 + float(d.change)), out)
    return out


def plan_lines(
    units: pd.DataFrame,
    actuals: pd.DataFrame,
    items: pd.DataFrame,
    prices: pd.DataFrame,
    window: list[str],
    drivers: pd.DataFrame | None = None,
    chosen: str = "Base",
) -> pd.DataFrame:
    """The plan's units spread over customers and valued: customer, item, period, quantity,
    amount, cost (rounded to cents per line)."""
    shares = customer_shares(actuals, items, pd.Index(units["item"].unique()), window)
    lines = units.merge(shares, on="item")
    qty = lines["quantity"].to_numpy(float) * lines["share"].to_numpy(float)
    items_ = lines["item"]
    fam = items_.map(prices["family"]).to_numpy(object)
    per = lines["period"].to_numpy(object)
    price = items_.map(prices["price"]).to_numpy(float)
    cost = items_.map(prices["cost"]).to_numpy(float)
    price = price * scenario_factors(drivers, chosen, "Price %", fam, per)
    cost = cost * scenario_factors(drivers, chosen, "Cost %", fam, per)
    return pd.DataFrame(
        {
            "customer": lines["customer"].to_numpy(object),
            "item": items_.to_numpy(object),
            "period": per,
            "quantity": qty,
            "amount": from_cents(to_cents(np.nan_to_num(qty * price))),
            "cost": from_cents(to_cents(np.nan_to_num(qty * cost))),
            "unpriced": np.isnan(price),
        }
    )


def post(
    lines: pd.DataFrame,
    customers: pd.DataFrame,
    items: pd.DataFrame,
    posting_setup: pd.DataFrame,
    gl_accounts: pd.DataFrame,
) -> pd.DataFrame:
    """Sales lines with their sales account (``gl_account``) and COGS account
    (``cogs_account``) by the General Posting Setup; lines that cannot be posted get
    :data:`UNMAPPED` for both and keep their ``reason``."""
    if lines.empty:
        return lines.assign(gl_account=[], cogs_account=[], reason=[])
    mapped, unmapped = map_sales_budget(lines, customers, items, posting_setup, gl_accounts)
    setup = pd.DataFrame(
        {
            "gen_bus_posting_group": as_key(posting_setup["gen_bus_posting_group"]),
            "gen_prod_posting_group": as_key(posting_setup["gen_prod_posting_group"]),
            "cogs_account": as_key(posting_setup["cogs_account"])
            if "cogs_account" in posting_setup
            else None,
        }
    ).drop_duplicates(["gen_bus_posting_group", "gen_prod_posting_group"])
    mapped = mapped.merge(setup, on=["gen_bus_posting_group", "gen_prod_posting_group"], how="left")
    mapped["cogs_account"] = (
        mapped["cogs_account"].astype(object).where(mapped["cogs_account"].notna(), UNMAPPED)
    )
    mapped["reason"] = ""
    unmapped = unmapped.assign(gl_account=UNMAPPED, cogs_account=UNMAPPED)
    keep = [*lines.columns, "gl_account", "cogs_account", "reason"]
    return pd.concat([mapped[keep], unmapped[keep]], ignore_index=True)


def _sum_by(df: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Exact cents summed by ``key`` (an int64 Series)."""
    if df.empty:
        return pd.Series(dtype=np.int64)
    return pd.Series(to_cents(df[value]), index=df.index).groupby(df[key].to_numpy()).sum()


def compute(
    frames: dict[str, pd.DataFrame],
    settings: Settings,
    supply_plan: pd.DataFrame | None = None,
) -> OutlookResult:
    """The outlook from the input frames (by table alias); ``supply_plan``: the SupplyPlan
    table of this cycle (item, period, met_demand) or None to plan with the consensus forecast.
    """
    get = lambda t: frames.get(t.alias, pd.DataFrame(columns=[c.name for c in t.long_columns]))  # noqa: E731
    items, customers = get(schema.ITEMS), get(schema.CUSTOMERS)
    setup, gla = get(schema.POSTING_SETUP), get(schema.GL_ACCOUNTS)
    actuals, forecast = get(schema.SALES_ACTUALS), get(schema.FORECAST)
    fy = fiscal_year(settings.cycle, settings.fiscal_year_start_month)
    closed = [p for p in fy if p < settings.cycle]
    open_ = [p for p in fy if p >= settings.cycle]
    window = trailing_periods(settings.cycle)
    prices = realised_prices(items, actuals, settings.cycle)
    chosen = settings.chosen_scenario or "Base"
    drivers = frames.get(schema.SCENARIOS.alias)

    sold = actuals.loc[actuals["period"].isin(closed).to_numpy()]
    act = pd.DataFrame(
        {
            "customer": sold["customer"].to_numpy(object),
            "item": sold["item"].to_numpy(object),
            "period": sold["period"].to_numpy(object),
            "quantity": sold["quantity"].astype(float).fillna(0.0).to_numpy(),
            "amount": from_cents(to_cents(sold["amount"].astype(float).to_numpy())),
            "cost": from_cents(to_cents(sold["cost"].astype(float).to_numpy())),
            "unpriced": False,
        }
    )
    units, source = plan_units(forecast, supply_plan, open_)
    plan = plan_lines(units, actuals, items, prices, window, drivers, chosen)
    lines = pd.concat(
        [act.assign(source=ACTUAL), plan.assign(source=PLAN)], ignore_index=True
    ).astype({"customer": object, "item": object, "period": object})
    lines = post(lines, customers, items, setup, gla)

    # budgets of the fiscal year
    sb = get(schema.SALES_BUDGET)
    sb = sb.loc[sb["period"].isin(fy).to_numpy()]
    sb_cost = sb["quantity"].astype(float).fillna(0.0) * sb["item"].map(prices["cost"]).fillna(0.0)
    sb_lines = pd.DataFrame(
        {
            "customer": sb["customer"].to_numpy(object),
            "item": sb["item"].to_numpy(object),
            "period": sb["period"].to_numpy(object),
            "quantity": sb["quantity"].astype(float).to_numpy(),
            "amount": sb["amount"].astype(float).to_numpy(),
            "cost": from_cents(to_cents(sb_cost.to_numpy())),
        }
    )
    sb_posted = post(sb_lines, customers, items, setup, gla)
    fb = get(schema.FINANCIAL_BUDGET)
    fb = fb.assign(gl_account=as_key(fb["gl_account"]), period=as_key(fb["period"]))
    fb = fb.loc[fb["period"].isin(fy).to_numpy() & fb["amount"].notna().to_numpy()]

    accounts = _accounts(lines, sb_posted, fb, gla)
    monthly = _monthly(lines, sb, fb, gla, fy, closed)
    bridge = _bridge(lines, sb, fb, gla)
    rev = accounts["account_type"] == "Revenue"
    cost = accounts["account_type"] == "Cost"
    t = {
        "revenue": float(accounts.loc[rev, "outlook"].sum()),
        "revenue_budget": float(accounts.loc[rev, "financial_budget"].sum()),
        "cogs": float(accounts.loc[cost, "outlook"].sum()),
        "cogs_budget": float(accounts.loc[cost, "financial_budget"].sum()),
        "actual_revenue": float(accounts.loc[rev, "actual_ytd"].sum()),
        "plan_revenue": float(accounts.loc[rev, "plan_rest"].sum()),
    }
    t["margin"] = t["revenue"] - t["cogs"]
    t["margin_budget"] = t["revenue_budget"] - t["cogs_budget"]
    rb, mb = t["revenue_budget"], t["margin_budget"]
    # the outlook KPIs (sop_xl.kpi.defs.OUTLOOK_KPIS)
    t["revenue_outlook_vs_budget_pct"] = (t["revenue"] - rb) / abs(rb) if rb else np.nan
    t["margin_outlook_vs_budget_pct"] = (t["margin"] - mb) / abs(mb) if mb else np.nan
    return OutlookResult(
        accounts=accounts,
        bridge=bridge,
        monthly=monthly,
        lines=lines,
        prices=prices,
        plan_source=source,
        fiscal_year=fy,
        closed=closed,
        open=open_,
        scenario=chosen,
        totals=t,
    )


def _accounts(
    lines: pd.DataFrame, sb: pd.DataFrame, fb: pd.DataFrame, gla: pd.DataFrame
) -> pd.DataFrame:
    """tblOutlook: one row per revenue and COGS account (and the unmapped lines)."""
    g = gla.assign(gl_account=as_key(gla["gl_account"])).drop_duplicates("gl_account")
    g = g.set_index("gl_account")
    act, pln = lines["source"] == ACTUAL, lines["source"] == PLAN
    cols = {
        ("Revenue", "actual_ytd"): _sum_by(lines.loc[act], "gl_account", "amount"),
        ("Revenue", "plan_rest"): _sum_by(lines.loc[pln], "gl_account", "amount"),
        ("Revenue", "sales_budget"): _sum_by(sb, "gl_account", "amount"),
        ("Cost", "actual_ytd"): _sum_by(lines.loc[act], "cogs_account", "cost"),
        ("Cost", "plan_rest"): _sum_by(lines.loc[pln], "cogs_account", "cost"),
        ("Cost", "sales_budget"): _sum_by(sb, "cogs_account", "cost"),
    }
    fb_sum = _sum_by(fb, "gl_account", "amount")
    rows = []
    for kind in ("Revenue", "Cost"):
        typed = set(g.index[g["account_type"] == kind])
        keys = set(fb_sum.index) & typed
        for c in ("actual_ytd", "plan_rest", "sales_budget"):
            keys |= set(cols[(kind, c)].index[cols[(kind, c)] != 0])
        named = sorted(k for k in keys if k != UNMAPPED and (k in typed or k not in g.index))
        for acct in [*named, *([UNMAPPED] if UNMAPPED in keys else [])]:
            a = int(cols[(kind, "actual_ytd")].get(acct, 0))
            p = int(cols[(kind, "plan_rest")].get(acct, 0))
            b = int(fb_sum.get(acct, 0)) if acct in typed else 0
            s = int(cols[(kind, "sales_budget")].get(acct, 0))
            known = acct in g.index
            note = []
            if acct == UNMAPPED:
                note.append("sales no posting setup line posts: kept so the accounts add up")
            elif not known:
                note.append("account not in G/L Accounts")
            if acct != UNMAPPED and b == 0:
                note.append("no financial budget")
            if acct in typed and a == 0 and p == 0 and b != 0:
                note.append("nothing posts here: check the General Posting Setup")
            rows.append(
                {
                    "gl_account": acct,
                    "account_name": g["name"].get(acct) if "name" in g else None,
                    "account_type": kind,
                    "actual_ytd": a,
                    "plan_rest": p,
                    "outlook": a + p,
                    "financial_budget": b,
                    "gap": a + p - b,
                    "sales_budget": s,
                    "note": "; ".join(note),
                }
            )
    out = pd.DataFrame(
        rows,
        columns=[
            "gl_account",
            "account_name",
            "account_type",
            "actual_ytd",
            "plan_rest",
            "outlook",
            "financial_budget",
            "gap",
            "sales_budget",
            "note",
        ],
    )
    money = ["actual_ytd", "plan_rest", "outlook", "financial_budget", "gap", "sales_budget"]
    bud = out["financial_budget"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap_pct = np.where(bud != 0, out["gap"].to_numpy(float) / np.abs(bud), np.nan)
    for c in money:
        out[c] = from_cents(out[c].to_numpy(np.int64)) if len(out) else out[c].astype(float)
    out.insert(out.columns.get_loc("gap") + 1, "gap_pct", gap_pct)
    return out


def _monthly(
    lines: pd.DataFrame,
    sb: pd.DataFrame,
    fb: pd.DataFrame,
    gla: pd.DataFrame,
    fy: list[str],
    closed: list[str],
) -> pd.DataFrame:
    """tblOutlookMonthly: revenue, COGS and margin per fiscal month against the budgets."""
    typ = dict(zip(as_key(gla["gl_account"]), gla["account_type"], strict=False))
    ftype = fb["gl_account"].map(typ)
    rev = _sum_by(lines, "period", "amount")
    cogs = _sum_by(lines, "period", "cost")
    fb_rev = _sum_by(fb.loc[(ftype == "Revenue").to_numpy()], "period", "amount")
    fb_cost = _sum_by(fb.loc[(ftype == "Cost").to_numpy()], "period", "amount")
    sbr = _sum_by(sb.assign(period=as_key(sb["period"])), "period", "amount")
    g = lambda s: np.array([int(s.get(p, 0)) for p in fy], dtype=np.int64)  # noqa: E731
    r, c, fr, fc, s = g(rev), g(cogs), g(fb_rev), g(fb_cost), g(sbr)
    return pd.DataFrame(
        {
            "period": fy,
            "source": [ACTUAL if p in closed else PLAN for p in fy],
            "revenue": from_cents(r),
            "financial_budget": from_cents(fr),
            "sales_budget": from_cents(s),
            "revenue_gap": from_cents(r - fr),
            "cogs": from_cents(c),
            "cogs_budget": from_cents(fc),
            "gross_margin": from_cents(r - c),
            "margin_budget": from_cents(fr - fc),
            "cumulative_gap": from_cents(np.cumsum(r - fr)),
        }
    )


def _bridge(
    lines: pd.DataFrame, sb: pd.DataFrame, fb: pd.DataFrame, gla: pd.DataFrame
) -> pd.DataFrame:
    """tblOutlookBridge: sales budget -> volume, price, mix -> full-year outlook (revenue)."""
    pvm = price_volume_mix(
        lines[["item", "quantity", "amount"]], sb[["item", "quantity", "amount"]], level="item"
    )
    sb_c = int(to_cents(sb["amount"].astype(float).fillna(0.0)).sum())
    out_c = int(to_cents(lines["amount"]).sum())
    vol, price, mix = (
        int(to_cents(pvm[c]).sum()) for c in ("volume_effect", "price_effect", "mix_effect")
    )
    typ = dict(zip(as_key(gla["gl_account"]), gla["account_type"], strict=False))
    fb_rev = int(
        to_cents(fb.loc[(fb["gl_account"].map(typ) == "Revenue").to_numpy(), "amount"]).sum()
    )
    notes = {
        "Sales budget": "Sales budget of the fiscal year, every line (mapped or not)",
        "Volume": "(outlook units - budget units) x budget average price",
        "Price": "(outlook price - budget price) x outlook units, per item",
        "Mix": "(outlook mix share - budget share) x outlook units x budget price, per item",
        "Full-year outlook": "Actual closed months + plan of record, at realised prices",
        "Financial budget": "Revenue accounts of the financial budget, fiscal year (reference)",
        "Gap to financial budget": "Full-year outlook - financial budget",
    }
    amounts = [sb_c, vol, price, mix, out_c, fb_rev, out_c - fb_rev]
    out = pd.DataFrame(
        {
            "step": list(BRIDGE_STEPS),
            "amount": from_cents(np.array(amounts, dtype=np.int64)),
            "note": [notes[s] for s in BRIDGE_STEPS],
        }
    )
    return pd.concat([out, waterfall(out["amount"].to_numpy(float)[:-1])], axis=1)


def waterfall(amounts: np.ndarray) -> pd.DataFrame:
    """The stacked-column waterfall of the bridge: budgets and outlook stand on the axis
    (``chart_total``); each effect floats from the running level (``chart_base`` is invisible)
    and rises (``chart_up``) or falls (``chart_down``). The gap row is not charted."""
    n = len(BRIDGE_STEPS)
    base, total, up, down = (np.full(n, np.nan) for _ in range(4))
    level = 0.0
    for i, a in enumerate(amounts):
        if BRIDGE_STEPS[i] in ("Sales budget", "Full-year outlook", "Financial budget"):
            total[i] = a
            level = a if BRIDGE_STEPS[i] != "Financial budget" else level
        else:
            base[i] = level + min(a, 0.0)
            (up if a >= 0 else down)[i] = abs(a)
            level += a
    return pd.DataFrame(
        {"chart_base": base, "chart_total": total, "chart_up": up, "chart_down": down}
    )
