"""Output sheets of the variance step: titles with totals, threshold highlighting, formats.

Number formats come from the column types in :mod:`sop_xl.model.schema`; this module adds the title
blocks (totals and reconciliation lines computed in integer cents, so they equal the sum of the
displayed lines) and the conditional formats: a variance beyond BOTH Settings thresholds is red
when unfavourable and green when favourable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_xl.model import schema
from sop_xl.model.schema import Settings
from sop_xl.model.sheets import (
    AMBER_FILL,
    AMBER_FONT,
    GREEN_FILL,
    GREEN_FONT,
    RED_FILL,
    RED_FONT,
    CellRule,
    FormulaRule,
    SheetOutput,
)
from sop_xl.variance.money import money_text, to_cents
from sop_xl.variance.recon import finding_lines, sum_cents
from sop_xl.variance.result import VarianceResult

FAVOURABLE, UNFAVOURABLE, ON_BUDGET = "Favourable", "Unfavourable", "On budget"


# --- thresholds and sheets --------------------------------------------------------------------
def beyond_thresholds(
    variance: pd.Series, variance_pct: pd.Series, settings: Settings
) -> np.ndarray:
    """True where |variance| > the amount threshold AND |variance %| > the % threshold.

    An undefined variance % (budget 0) counts as beyond the % threshold (it is infinite)."""
    v = np.abs(np.asarray(variance, dtype="float64"))
    p = np.abs(np.asarray(variance_pct, dtype="float64"))
    over_pct = np.isnan(p) | (p > settings.variance_threshold_pct)
    return (v > settings.variance_threshold_amount) & over_pct & ~np.isnan(v)


def flagged(by_account: pd.DataFrame, settings: Settings) -> np.ndarray:
    """Lines of the G/L summary highlighted on the sheet: beyond both thresholds and comparable
    (assessed Favourable or Unfavourable)."""
    beyond = beyond_thresholds(by_account["variance"], by_account["variance_pct"], settings)
    return beyond & by_account["assessment"].isin([FAVOURABLE, UNFAVOURABLE]).to_numpy()


def _num(x: float) -> str:
    return f"{x:.10g}"


def threshold_rules(
    var: str, pct_col: str, settings: Settings, assessment: str | None = None
) -> list[FormulaRule]:
    """Red (unfavourable) / green (favourable) fills on ``var`` and ``pct_col`` where the
    variance is beyond BOTH Settings thresholds. Without ``assessment``, the column is revenue:
    a positive variance is favourable."""
    v, p = "{" + var + "}", "{" + pct_col + "}"
    beyond = (
        f"ISNUMBER({v}),ABS({v})>{_num(settings.variance_threshold_amount)},"
        f"OR(NOT(ISNUMBER({p})),ABS({p})>{_num(settings.variance_threshold_pct)})"
    )
    if assessment:
        a = "{" + assessment + "}"
        bad, good = f'{a}="{UNFAVOURABLE}"', f'{a}="{FAVOURABLE}"'
    else:
        bad, good = f"{v}<0", f"{v}>0"
    rules = []
    for column in (var, pct_col):
        rules.append(FormulaRule(column, f"AND({beyond},{bad})", fill=RED_FILL, font=RED_FONT))
        rules.append(FormulaRule(column, f"AND({beyond},{good})", fill=GREEN_FILL, font=GREEN_FONT))
    return rules


def _pct_text(x: float) -> str:
    return "n/a" if x is None or np.isnan(x) else f"{x:+.1%}"


def variance_outputs(result: VarianceResult, settings: Settings) -> list[SheetOutput]:
    """The output sheets of a :class:`VarianceResult` (titles with totals, threshold rules)."""
    cur = settings.currency
    head = f"{settings.company} | amounts in {cur} | cycle {settings.cycle}"
    thr = (
        f"Highlighted: |variance| > {money_text(to_cents(settings.variance_threshold_amount))} and "
        f"|variance %| > {settings.variance_threshold_pct:.1%} "
        "(red unfavourable, green favourable)."
    )
    ba = result.by_account
    periods = sorted(set(ba["period"])) if len(ba) else []
    span = f"periods {periods[0]} to {periods[-1]}" if periods else "no periods"
    title = [
        "Sales budget vs financial budget",
        f"{head} | {span}",
        "Variance = sales budget - financial budget. Revenue above budget is favourable; "
        "cost above budget is unfavourable.",
    ]
    for row in result.totals.itertuples():
        if row.account_type == "Outside the sales budget":
            title.append(
                f"Outside the sales budget (financial budget only, not assessed): "
                f"{row.lines} lines, financial budget {money_text(to_cents(row.financial_budget))}"
            )
            continue
        title.append(
            f"{row.account_type} accounts: sales budget {money_text(to_cents(row.sales_budget))} | "
            f"financial budget {money_text(to_cents(row.financial_budget))} | variance "
            f"{money_text(to_cents(row.variance))} ({_pct_text(row.variance_pct)})"
        )
    rc = result.reconciliation.set_index("line")
    in_c = to_cents(rc.loc["Sales budget input", "amount"])
    map_c = to_cents(rc.loc["Mapped to G/L accounts", "amount"])
    un_c = to_cents(rc.loc["Unmapped total", "amount"])
    n_un = len(result.unmapped)
    title.append(
        f"Reconciliation: sales budget input {money_text(in_c)} = mapped {money_text(map_c)} + "
        f"unmapped {money_text(un_c)} ({n_un} lines, sheet Unmapped); difference "
        f"{money_text(in_c - map_c - un_c)}. "
        f"Findings: {len(result.findings)} (sheet VarianceRecon)."
    )
    n_flag = int(flagged(ba, settings).sum())
    title.append(f"{thr} {n_flag} lines.")
    outs = [
        SheetOutput(
            schema.VARIANCE_SUMMARY,
            ba,
            title=title,
            conditional_formats=threshold_rules("variance", "variance_pct", settings, "assessment"),
        )
    ]

    d = result.detail
    if len(d):
        a, b = sum_cents(d["actual_amount"]), sum_cents(d["budget_amount"])
        f = sum_cents(d["forecast_amount"])
        dspan = f"periods {d['period'].min()} to {d['period'].max()}"
        dtotal = (
            f"Totals: actual {money_text(a)} | budget {money_text(b)} | variance "
            f"{money_text(a - b)} | forecast {money_text(f)} | variance {money_text(a - f)}"
        )
    else:
        dspan, dtotal = "no periods", "No sales actuals, budget or forecast in the review periods."
    common = [
        f"{head} | {dspan}",
        "Variance = actual - plan; sales above plan is favourable. Forecast amount = forecast "
        "qty x expected realised price (trailing 12 months' actuals; docs/outlook.md).",
        dtotal,
    ]
    rules = threshold_rules("var_budget", "var_budget_pct", settings) + threshold_rules(
        "var_forecast", "var_forecast_pct", settings
    )
    outs.append(
        SheetOutput(
            schema.VARIANCE_DETAIL,
            d if len(d) else _empty(schema.VARIANCE_DETAIL),
            title=["Actual vs budget vs forecast by item, location and period", *common, thr],
            conditional_formats=rules,
        )
    )
    outs.append(
        SheetOutput(
            schema.VARIANCE_ROLLUP,
            _rollup_frame(result.rollups),
            title=["Actual vs budget vs forecast by family, region and customer", *common, thr],
            conditional_formats=rules,
        )
    )

    p = result.pvm
    if len(p):
        eff = {
            c: sum_cents(p[c])
            for c in ("revenue_variance", "volume_effect", "mix_effect", "price_effect")
        }
        ptotal = (
            f"Volume {money_text(eff['volume_effect'])} + mix {money_text(eff['mix_effect'])} + "
            f"price {money_text(eff['price_effect'])} = revenue variance "
            f"{money_text(eff['revenue_variance'])}"
        )
    else:
        ptotal = "No actuals or budget in the review periods."
    outs.append(
        SheetOutput(
            schema.PRICE_VOLUME_MIX,
            p if len(p) else _empty(schema.PRICE_VOLUME_MIX),
            title=[
                "Revenue variance vs budget: price, volume and mix effects",
                f"{head} | {dspan}",
                "Volume = (Qa - Qb) x budget avg price; mix = (actual share - budget share) x Qa x "
                "budget price; price = (actual price - budget price) x actual qty. Per period.",
                ptotal,
                thr,
            ],
            conditional_formats=threshold_rules("revenue_variance", "variance_pct", settings),
        )
    )
    c = result.pvm_by_customer
    levels = [("Item", p)] + [(lv, c[c["level"] == lv]) for lv in ("Region", "Customer")]
    lines = [
        f"Mix unit {lv.lower()}{'' if lv == 'Item' else ' x item'}: volume "
        f"{money_text(sum_cents(f['volume_effect']))}, mix {money_text(sum_cents(f['mix_effect']))}"
        f", price {money_text(sum_cents(f['price_effect']))}"
        for lv, f in levels
        if len(f)
    ]
    outs.append(
        SheetOutput(
            schema.PVM_BY_CUSTOMER,
            c if len(c) else _empty(schema.PVM_BY_CUSTOMER),
            title=[
                "Revenue variance vs budget: price, volume and mix by region and by customer",
                f"{head} | {dspan}",
                "Same formulas as PriceVolumeMix with a finer mix unit (region x item, customer "
                "x item), summed per region or customer: a shift of volume to a cheaper region "
                "or customer is mix here, price there. Filter on Level: each level alone sums "
                "to the revenue variance.",
                "; ".join(lines) if lines else "No actuals or budget in the review periods.",
                thr,
            ],
            conditional_formats=threshold_rules("revenue_variance", "variance_pct", settings),
        )
    )

    un = result.unmapped
    un_cols = [c.name for c in schema.UNMAPPED.columns]
    un_out = un.reindex(columns=un_cols)
    outs.append(
        SheetOutput(
            schema.UNMAPPED,
            un_out,
            title=[
                "Sales budget lines not mapped to a G/L account",
                head,
                (
                    f"{n_un} lines, amount {money_text(un_c)}: included in the reconciliation, "
                    "not in the G/L variance. Fix the master data and run again."
                    if n_un
                    else "None: every sales budget line is mapped to a G/L account."
                ),
            ],
        )
    )
    outs.append(
        SheetOutput(
            schema.VARIANCE_RECONCILIATION,
            pd.concat([result.reconciliation, finding_lines(result.findings)], ignore_index=True),
            title=[
                "Variance reconciliation: totals in = totals out, to the cent",
                head,
                "Status OK: the difference is 0.00. Finding: check before signing off.",
            ],
            conditional_formats=[
                CellRule("status", "equal", ('"OK"',), fill=GREEN_FILL, font=GREEN_FONT),
                CellRule("status", "equal", ('"Difference"',), fill=RED_FILL, font=RED_FONT),
                CellRule("status", "equal", ('"Finding"',), fill=AMBER_FILL, font=AMBER_FONT),
            ],
        )
    )
    return outs


def _empty(table: schema.Table) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series([], dtype=object) for c in table.long_columns})


ROLLUP_LEVELS = {"family": "Family", "region": "Region", "customer": "Customer"}


def _rollup_frame(rollups: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cols = [c.name for c in schema.VARIANCE_ROLLUP.columns]
    frames = []
    for by, label in ROLLUP_LEVELS.items():
        r = rollups.get(by)
        if r is None or not len(r):
            continue
        f = r.rename(columns={by: "key"})
        f.insert(0, "level", label)
        if "name" not in f:
            f["name"] = f["key"]
        frames.append(f.reindex(columns=cols))
    return pd.concat(frames, ignore_index=True) if frames else _empty(schema.VARIANCE_ROLLUP)
