"""Finance variances, reconciled to the cent (issue 4).

Three comparisons, all pure pandas/numpy over the schema's long frames, plus one cycle step:

1. **Sales budget vs financial budget** (:func:`budget_vs_budget`): the sales budget is mapped to
   sales G/L accounts through General Posting Setup (:func:`map_sales_budget`), summed by G/L
   account x period and compared with the financial budget.
   ``variance = sales budget - financial budget``; ``variance % = variance / |financial budget|``
   (NaN with note "no budget" when the financial budget is 0); *favourable* when a revenue
   account's variance is > 0 or a cost account's variance is < 0.
2. **Actual vs budget vs forecast** (:func:`actual_vs_plan`): by item x location x period and
   rolled up by family, region and customer, in quantity and amount.
   ``variance = actual - budget`` (or ``- forecast``); sales above plan is favourable.
3. **Price / volume / mix** (:func:`price_volume_mix`) of the actual vs budget revenue variance.

Every amount is converted to integer cents once per input line and summed as integers, so a
displayed total is exactly the sum of its displayed lines; the reconciliation shows input totals
= mapped + unmapped = output totals, to the cent. See ``docs/variances.md``.

:func:`run_variances` is the cycle step: it reads the tables from a
:class:`~sop_xl.model.book.Book`,
computes everything, and writes the output sheets VarianceSummary, VarianceDetail,
VarianceRollup, PriceVolumeMix, Unmapped and VarianceRecon in one ``book.write`` call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sop_xl.errors import Location, StepError
from sop_xl.model import schema
from sop_xl.model.book import Book
from sop_xl.model.periods import add_months, months_between, period_range
from sop_xl.model.schema import Settings
from sop_xl.outlook.prices import realised_prices
from sop_xl.variance.group import count, group_ids, int_sum
from sop_xl.variance.mapping import REASONS, as_key, lookup, map_sales_budget
from sop_xl.variance.money import allocate_cents, from_cents, money_text, to_cents
from sop_xl.variance.plan import actual_vs_plan, compare, join_notes, pct, prepare
from sop_xl.variance.pvm import PVM_LEVELS, price_volume_mix
from sop_xl.variance.recon import (
    FINDING_COLUMNS,
    check,
    finding,
    recon_frame,
    recon_line,
    sum_cents,
)
from sop_xl.variance.result import VarianceResult
from sop_xl.variance.sheets import (
    FAVOURABLE,
    ON_BUDGET,
    ROLLUP_LEVELS,
    UNFAVOURABLE,
    beyond_thresholds,
    flagged,
    variance_outputs,
)

__all__ = [
    "REASONS",
    "VarianceResult",
    "actual_vs_plan",
    "allocate_cents",
    "beyond_thresholds",
    "budget_vs_budget",
    "map_sales_budget",
    "price_volume_mix",
    "review_periods",
    "run_variances",
    "to_cents",
    "variance_outputs",
]


# --- sales budget vs financial budget ---------------------------------------------------------
def _assessment(var_cents: np.ndarray, account_type: np.ndarray, comparable: np.ndarray):
    """Favourable / Unfavourable / On budget by account type; '' when not comparable."""
    revenue = account_type == "Revenue"
    cost = account_type == "Cost"
    good = (revenue & (var_cents > 0)) | (cost & (var_cents < 0))
    bad = (revenue & (var_cents < 0)) | (cost & (var_cents > 0))
    out = np.where(good, FAVOURABLE, np.where(bad, UNFAVOURABLE, ON_BUDGET)).astype(object)
    out[~(comparable & (revenue | cost))] = ""
    return out


def budget_vs_budget(
    sales_budget: pd.DataFrame,
    financial_budget: pd.DataFrame,
    customers: pd.DataFrame,
    items: pd.DataFrame,
    posting_setup: pd.DataFrame,
    gl_accounts: pd.DataFrame,
    *,
    currency: str = "",
) -> VarianceResult:
    """Sales budget (mapped to sales G/L accounts) vs financial budget by G/L account x period.

    ``variance = sales_budget - financial_budget``; ``variance_pct = variance /
    |financial_budget|`` (NaN, note "no budget", when the financial budget is 0);
    ``assessment`` Favourable when a Revenue account's variance > 0 or a Cost account's < 0.

    An account/period on one side only appears with the other side 0 and a note, never
    dropped. Blank financial budget cells are "no budget", not 0-amount lines. Findings: G/L
    accounts receiving sales budget but missing from the financial budget, accounts missing from
    G/L Accounts, sales accounts of type Cost, revenue accounts budgeted negative (the G/L credit
    sign), periods on one side only, duplicate financial budget lines, sub-cent input amounts.
    """
    mapped, unmapped = map_sales_budget(sales_budget, customers, items, posting_setup, gl_accounts)
    mapped["period"] = as_key(mapped["period"]).fillna("(blank)")
    fb_all = pd.DataFrame(
        {
            "gl_account": as_key(financial_budget["gl_account"]).fillna("(blank)"),
            "period": as_key(financial_budget["period"]).fillna("(blank)"),
            "amount": financial_budget["amount"].astype("float64").to_numpy(),
        }
    )
    fb_rows = fb_all.loc[fb_all["amount"].notna().to_numpy()].reset_index(drop=True)
    fb_rows["amount_cents"] = to_cents(fb_rows["amount"])
    # one joint grouping of both sides by (G/L account, period), in key order
    n_sb = len(mapped)
    gid, (acct_keys, period_keys) = group_ids(
        [
            np.concatenate([mapped[k].to_numpy(object), fb_rows[k].to_numpy(object)])
            for k in ("gl_account", "period")
        ]
    )
    ng = len(acct_keys)
    m = pd.DataFrame(
        {
            "gl_account": pd.Series(acct_keys, dtype=object),
            "period": pd.Series(period_keys, dtype=object),
            "sb_c": int_sum(gid[:n_sb], mapped["amount_cents"].to_numpy(), ng),
            "sb_n": count(gid[:n_sb], ng),
            "fb_c": int_sum(gid[n_sb:], fb_rows["amount_cents"].to_numpy(), ng),
            "fb_n": count(gid[n_sb:], ng),
        }
    )

    gla = gl_accounts.assign(gl_account=as_key(gl_accounts["gl_account"]))
    acct = m["gl_account"]
    name = lookup(acct, gla, "gl_account", "name", schema.GL_ACCOUNTS)[0] if "name" in gla else None
    atype, known = lookup(acct, gla, "gl_account", "account_type", schema.GL_ACCOUNTS)
    sales_accounts = set(as_key(posting_setup["sales_account"]).dropna())
    fb_accounts = set(fb_all["gl_account"])
    sb_periods = set(m.loc[m["sb_n"].to_numpy() > 0, "period"])
    fb_periods = set(fb_all["period"])

    sbc, fbc = m["sb_c"].to_numpy(), m["fb_c"].to_numpy()
    in_sb, in_fb = m["sb_n"].to_numpy() > 0, m["fb_n"].to_numpy() > 0
    is_sales = acct.isin(sales_accounts).to_numpy()
    # A Revenue account finance budgeted is assessed even when no posting-setup line points to
    # it: the sales budget that belongs there is unmapped, so it shows -100 % (issue 14).
    is_revenue = np.asarray(atype, dtype=object) == "Revenue"
    orphan = ~is_sales & is_revenue
    acct_in_fb = acct.isin(fb_accounts).to_numpy()
    per = m["period"]
    var = sbc - fbc
    note = join_notes(
        [
            (~in_fb & ~acct_in_fb, "G/L account not in financial budget"),
            (
                ~in_fb & acct_in_fb & ~per.isin(fb_periods).to_numpy(),
                "period not in financial budget",
            ),
            (
                ~in_fb & acct_in_fb & per.isin(fb_periods).to_numpy(),
                "no financial budget for this account and period",
            ),
            (
                ~in_sb & ~is_sales & ~is_revenue,
                "not a sales account in General Posting Setup: outside the sales budget",
            ),
            (
                ~in_sb & orphan,
                "Revenue account no General Posting Setup line points to: no sales budget can "
                "reach it (see the unmapped lines)",
            ),
            (~in_sb & is_sales & ~per.isin(sb_periods).to_numpy(), "period not in sales budget"),
            (
                ~in_sb & is_sales & per.isin(sb_periods).to_numpy(),
                "no sales budget for this account and period",
            ),
            (fbc == 0, "no budget"),
            (~known, "account not in G/L Accounts: favourable direction unknown"),
        ],
        len(m),
    )
    comparable = in_sb | is_sales | is_revenue
    out = pd.DataFrame(
        {
            "gl_account": acct.to_numpy(),
            "account_name": name if name is not None else None,
            "account_type": atype,
            "period": per.to_numpy(),
            "sales_budget": from_cents(sbc),
            "financial_budget": from_cents(fbc),
            "variance": from_cents(var),
            "variance_pct": pct(var, fbc),
            "assessment": _assessment(var, np.asarray(atype, dtype=object), comparable),
            "note": note,
        }
    )

    totals = _totals(out, sbc, fbc, comparable)
    findings = _bvb_findings(
        m, out, mapped, financial_budget, fb_all, fb_rows, gla, known, sales_budget
    )
    findings += _orphan_revenue_findings(out, orphan, unmapped)
    recon = _bvb_reconciliation(sales_budget, mapped, unmapped, fb_rows, fb_all, sbc, fbc)
    return VarianceResult(
        by_account=out,
        totals=totals,
        mapped=mapped,
        unmapped=unmapped,
        reconciliation=recon,
        findings=pd.DataFrame(findings, columns=FINDING_COLUMNS),
        summary=_bvb_summary(out, totals, unmapped, findings, currency),
    )


OUTSIDE = "Outside the sales budget"


def _totals(
    out: pd.DataFrame, sbc: np.ndarray, fbc: np.ndarray, comparable: np.ndarray
) -> pd.DataFrame:
    """Totals by account type (Revenue, Cost, unknown) over the compared lines, and one total of
    the lines outside the sales budget (financial budget only, not assessed); integer cents."""
    t = out["account_type"].fillna("(unknown)").to_numpy(dtype=object).copy()
    t[~comparable] = OUTSIDE
    rows = []
    for kind in ("Revenue", "Cost", "(unknown)", OUTSIDE):
        mask = t == kind
        if not mask.any():
            continue
        s, f = int(sbc[mask].sum()), int(fbc[mask].sum())
        rows.append(
            {
                "account_type": kind,
                "lines": int(mask.sum()),
                "sales_budget": s / 100,
                "financial_budget": f / 100,
                "variance": (s - f) / 100,
                "variance_pct": (s - f) / abs(f) if f else np.nan,
            }
        )
    cols = ["account_type", "lines", "sales_budget", "financial_budget", "variance"]
    return pd.DataFrame(rows, columns=[*cols, "variance_pct"])


def _bvb_findings(m, out, mapped, financial_budget, fb_all, fb_rows, gla, known, sales_budget):
    findings: list[dict] = []
    # G/L accounts that receive sales budget but are not in the financial budget at all.
    missing = out.loc[out["note"].str.contains("G/L account not in financial budget", regex=False)]
    if len(missing):
        g = mapped.loc[mapped["gl_account"].isin(set(missing["gl_account"]))].groupby("gl_account")
        for acct_, grp in g:
            cents = int(grp["amount_cents"].sum())
            findings.append(
                finding(
                    "warning",
                    "account_not_in_financial_budget",
                    f"G/L account {acct_} receives {money_text(cents)} of sales budget "
                    f"({len(grp)} lines) but is not in the financial budget.",
                    acct_,
                    rows=len(grp),
                    amount=cents / 100,
                )
            )
    for acct_ in sorted(set(out.loc[~known, "gl_account"])):
        findings.append(
            finding(
                "warning",
                "account_not_in_gl_accounts",
                f"G/L account {acct_} (financial budget) is not in G/L Accounts.",
                acct_,
            )
        )
    # Sales accounts of type Cost: the sales budget lands on a cost account.
    cost_sales = out.loc[(out["sales_budget"] != 0) & (out["account_type"] == "Cost"), "gl_account"]
    for acct_ in sorted(set(cost_sales)):
        findings.append(
            finding(
                "warning",
                "sales_account_is_cost",
                f"Sales budget maps to G/L account {acct_}, which is a Cost account.",
                acct_,
            )
        )
    # Revenue accounts budgeted negative: G/L credit sign convention.
    rev = out.loc[out["account_type"] == "Revenue"]
    fb_tot = rev.groupby("gl_account")["financial_budget"].sum()
    for acct_, amount in fb_tot[fb_tot < 0].items():
        findings.append(
            finding(
                "warning",
                "revenue_budget_negative",
                f"Revenue account {acct_} has a negative financial budget "
                f"({money_text(int(to_cents(amount)))}): the financial budget may use the G/L "
                "credit sign. Enter revenue as positive amounts.",
                acct_,
                amount=float(amount),
            )
        )
    sb_p = set(m.loc[m["sb_n"] > 0, "period"])
    fb_p = set(fb_rows["period"])
    for side, only, frame in (
        ("sales budget", sorted(sb_p - fb_p), out.set_index("period")["sales_budget"]),
        ("financial budget", sorted(fb_p - sb_p), out.set_index("period")["financial_budget"]),
    ):
        for p in only:
            cents = int(to_cents(frame.loc[[p]]).sum())
            findings.append(
                finding(
                    "warning",
                    "period_one_side_only",
                    f"Period {p} is only in the {side} ({money_text(cents)}).",
                    period=p,
                    amount=cents / 100,
                )
            )
    dup = fb_all.duplicated(["gl_account", "period"], keep=False)
    for acct_ in sorted(set(fb_all.loc[dup, "gl_account"])):
        findings.append(
            finding(
                "warning",
                "financial_budget_duplicate",
                f"G/L account {acct_} is on more than one financial budget row; "
                "amounts are summed.",
                acct_,
            )
        )
    for label, frame in (("sales budget", sales_budget), ("financial budget", financial_budget)):
        x = frame["amount"].astype("float64").dropna().to_numpy()
        diff = float(np.sum(x) - to_cents(x).sum() / 100)
        sub = int((np.abs(np.round(x * 100, 6) - np.round(x * 100)) > 0).sum())
        if sub:
            findings.append(
                finding(
                    "info",
                    "sub_cent_amounts",
                    f"{sub} {label} amounts have fractions of a cent; each line is rounded to "
                    f"cents (half away from zero) before summing (total effect {diff:+.4f}).",
                    rows=sub,
                )
            )
    return findings


def _orphan_revenue_findings(
    out: pd.DataFrame, orphan: np.ndarray, unmapped: pd.DataFrame
) -> list[dict]:
    """One finding per budgeted Revenue account that no General Posting Setup line points to,
    linking it to the unmapped sales budget lines that probably belong there.

    Candidates are the unmapped lines whose (Gen. Bus., Gen. Prod.) combination has no posting
    setup (or no Sales Account); when the account's name names both groups of a combination
    (e.g. "Sales, Spares - Export" for EXPORT x SPARES) that combination is the likely one.
    """
    findings: list[dict] = []
    rows = out.loc[orphan]
    if not len(rows):
        return findings
    un = unmapped.loc[unmapped["reason_code"].isin(("no_posting_setup", "no_sales_account"))]
    combos = (
        un.groupby(["gen_bus_posting_group", "gen_prod_posting_group"], dropna=False)[
            "amount_cents"
        ].agg(["size", "sum"])
        if len(un)
        else pd.DataFrame(columns=["size", "sum"])
    )
    for acct_, grp in rows.groupby("gl_account", sort=True):
        fb_c = int(to_cents(grp["financial_budget"]).sum())
        if fb_c == 0:
            continue
        name = str(grp["account_name"].iloc[0] or "") if "account_name" in grp else ""
        low = name.lower()
        likely = [c for c in combos.index if all(str(g).lower() in low for g in c if g is not None)]
        pick = likely or list(combos.index)
        if pick:
            lines = int(sum(combos.loc[c, "size"] for c in pick))
            cents = int(sum(combos.loc[c, "sum"] for c in pick))
            what = ", ".join(f"{b} x {p}" for b, p in pick)
            link = (
                f" {lines} unmapped sales budget lines ({money_text(cents)}, {what}) probably "
                "belong there: add the General Posting Setup line, see sheet Unmapped."
            )
        else:
            lines, cents, link = 0, 0, " No unmapped sales budget line is a candidate."
        findings.append(
            finding(
                "warning",
                "revenue_account_not_mapped",
                f"Revenue account {acct_} {name} is in the financial budget "
                f"({money_text(fb_c)}) but no General Posting Setup line points to it: "
                f"assessed at -100 %.{link}",
                acct_,
                rows=lines,
                amount=cents / 100,
            )
        )
    return findings


def _bvb_reconciliation(sales_budget, mapped, unmapped, fb_rows, fb_all, sbc, fbc):
    s = "Sales budget -> G/L"
    in_c = int(to_cents(sales_budget["amount"]).sum())
    map_c, un_c = int(mapped["amount_cents"].sum()), int(unmapped["amount_cents"].sum())
    lines = [
        recon_line(s, "Sales budget input", len(sales_budget), in_c),
        recon_line(s, "Mapped to G/L accounts", len(mapped), map_c),
    ]
    if len(unmapped):
        g = unmapped.groupby("reason_code", sort=False)["amount_cents"].agg(["size", "sum"])
        for code in REASONS:
            if code in g.index:
                lines.append(
                    recon_line(
                        s,
                        f"Unmapped: {REASONS[code]}",
                        g.loc[code, "size"],
                        g.loc[code, "sum"],
                        note="see sheet Unmapped",
                    )
                )
    lines.append(recon_line(s, "Unmapped total", len(unmapped), un_c))
    lines.append(check(s, "Difference: input - mapped - unmapped", in_c - map_c - un_c))
    lines.append(recon_line(s, "Sales budget in VarianceSummary", None, int(sbc.sum())))
    lines.append(check(s, "Difference: mapped - VarianceSummary", map_c - int(sbc.sum())))
    f = "Financial budget"
    fin_c = int(fb_rows["amount_cents"].sum())
    lines.append(
        recon_line(
            f,
            "Financial budget input",
            len(fb_rows),
            fin_c,
            note=f"{len(fb_all) - len(fb_rows)} blank cells (no budget)",
        )
    )
    lines.append(recon_line(f, "Financial budget in VarianceSummary", None, int(fbc.sum())))
    lines.append(check(f, "Difference: input - VarianceSummary", fin_c - int(fbc.sum())))
    return recon_frame(lines)


def _summary(result: VarianceResult, settings: Settings) -> str:
    """One line for the status bar / terminal."""
    cur = settings.currency
    text = _bvb_summary(
        result.by_account, result.totals, result.unmapped, result.findings, cur
    ).removesuffix(" reconciled to the cent.")
    n_flag = int(flagged(result.by_account, settings).sum())
    diff = int(result.reconciliation["status"].eq("Difference").sum())
    act = sum_cents(result.detail["actual_amount"]) if len(result.detail) else 0
    bud = sum_cents(result.detail["budget_amount"]) if len(result.detail) else 0
    end = "reconciled to the cent." if diff == 0 else f"{diff} RECONCILIATION DIFFERENCES."
    return (
        f"{text} {n_flag} beyond thresholds; actual vs budget {money_text(act - bud, cur)} "
        f"over {len(result.detail)} item/location/period lines; {end}"
    )


def _bvb_summary(out, totals, unmapped, findings, currency) -> str:
    t = totals.set_index("account_type")
    rev = t.loc["Revenue"] if "Revenue" in t.index else None
    part = (
        f"revenue: sales budget {money_text(to_cents(rev.sales_budget), currency)} vs financial "
        f"budget {money_text(to_cents(rev.financial_budget), currency)}, variance "
        f"{money_text(to_cents(rev.variance), currency)}"
        if rev is not None
        else "no revenue accounts"
    )
    un = money_text(int(unmapped["amount_cents"].sum()), currency)
    return (
        f"Variances: {out['gl_account'].nunique()} G/L accounts x {out['period'].nunique()} "
        f"periods; {part}; {len(unmapped)} unmapped lines ({un}); {len(findings)} findings; "
        "reconciled to the cent."
    )


# --- the cycle step ---------------------------------------------------------------------------
def review_periods(settings: Settings) -> list[str]:
    """Closed periods of the fiscal year to date: fiscal year start .. the month before the cycle.

    When the cycle is the first month of a fiscal year, that is the whole previous fiscal year."""
    last = add_months(settings.cycle, -1)
    year, month = int(last[:4]), int(last[5:7])
    start_year = year if month >= settings.fiscal_year_start_month else year - 1
    start = f"{start_year:04d}-{settings.fiscal_year_start_month:02d}"
    return period_range(start, months_between(start, last) + 1)


def _read(book: Book, name: str, required: bool = True) -> pd.DataFrame | None:
    t = schema.table(name)
    if not book.has_table(t):
        if not required:
            return None
        raise StepError(
            f"The variance step needs the table {t.name} ({t.title}), which is missing.",
            where=Location(file=book.name, sheet=t.sheet, table=t.name),
            fix=f"Add the sheet '{t.sheet}' with the table {t.name} (see docs/workbook.md).",
        )
    return book.read_table(t)


def _empty_input(name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.name: pd.Series(
                [], dtype="float64" if c.dtype in (schema.Dtype.QTY, schema.Dtype.MONEY) else object
            )
            for c in schema.table(name).long_columns
        }
    )


def _pvm(src, level: str) -> pd.DataFrame:
    """Price/volume/mix per period at one of :data:`PVM_LEVELS`, on integer codes (fast), then
    decoded to texts with the item's family."""
    keys = PVM_LEVELS[level]
    pvm = price_volume_mix(src.actuals, src.budget, level=list(keys), by="period")
    item_codes = pvm["item"].to_numpy(np.int64)
    for k in ("period", *keys):
        pvm[k] = pd.Series(src.vocab[k][pvm[k].to_numpy(np.int64)], dtype=object)
    pvm.insert(1 + len(keys), "family", pd.Series(src.item_family[item_codes], dtype=object))
    return pvm


_PVM_SUMS = ("actual_amount", "budget_amount", "revenue_variance", "volume_effect", "mix_effect",
             "price_effect")  # fmt: skip


def _pvm_totals(pvm: pd.DataFrame, level: str) -> pd.DataFrame:
    """A mix level's lines summed per period x region (x customer), to the cent: the effects
    add up (the mix unit still decides what is price and what is mix)."""
    keys = ["period", "region"] + (["customer"] if level == "customer" else [])
    cents = pvm[keys].copy()
    for c in _PVM_SUMS:
        cents[c] = to_cents(pvm[c])
    cents["actual_qty"], cents["budget_qty"] = pvm["actual_qty"], pvm["budget_qty"]
    out = cents.groupby(keys, sort=True, dropna=False).sum().reset_index()
    rb = out["budget_amount"].to_numpy()
    out["variance_pct"] = pct(out["revenue_variance"].to_numpy(), rb)
    for c in _PVM_SUMS:
        out[c] = from_cents(out[c].to_numpy())
    out["level"] = level.title()
    return out.reindex(columns=schema.PVM_BY_CUSTOMER.names)


def plan_comparison(
    result: VarianceResult,
    sales_actuals: pd.DataFrame,
    sales_budget: pd.DataFrame,
    forecast: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    locations: pd.DataFrame | None,
    periods: Sequence[str],
    prices: pd.Series | None = None,
) -> VarianceResult:
    """Fill ``detail``, ``rollups`` and ``pvm`` of ``result`` for ``periods`` and extend its
    reconciliation and findings (actuals, budget and forecast totals in = totals out)."""
    src = prepare(sales_actuals, sales_budget, forecast, items, customers, periods, prices)
    result.detail = compare(src, "item_location", items, customers, locations)
    result.rollups = {by: compare(src, by, items, customers, locations) for by in ROLLUP_LEVELS}
    act, bud, fc = src.actuals, src.budget, src.forecast
    pvm = _pvm(src, "item")
    result.pvm = pvm
    by_customer = [_pvm(src, lv) for lv in ("region", "customer")]
    result.pvm_levels = dict(zip(("item", "region", "customer"), (pvm, *by_customer), strict=True))
    result.pvm_by_customer = pd.concat(
        [_pvm_totals(f, lv) for f, lv in zip(by_customer, ("region", "customer"), strict=True)],
        ignore_index=True,
    )

    d = result.detail
    lines = []
    sec = "Actual vs plan"
    for label, (n, total), col in (
        ("Sales actuals", src.inputs["actuals"], "actual_amount"),
        ("Sales budget", src.inputs["budget"], "budget_amount"),
        ("Forecast (qty x realised price)", src.inputs["forecast"], "forecast_amount"),
    ):
        lines.append(recon_line(sec, f"{label}, review periods", n, total))
        shown = sum_cents(d[col])
        lines.append(check(sec, f"Difference: input - VarianceDetail {col}", total - shown))
        for by, r in result.rollups.items():
            if col in r and r[col].notna().any():
                lines.append(
                    check(
                        sec,
                        f"Difference: VarianceDetail - {ROLLUP_LEVELS[by]} roll-up {col}",
                        shown - sum_cents(r[col]),
                    )
                )
    total_var = src.inputs["actuals"][1] - src.inputs["budget"][1]
    lines.append(
        recon_line("Price/volume/mix", "Revenue variance (actual - budget)", None, total_var)
    )
    labels = {"item": "item", "region": "region x item", "customer": "customer x item"}
    for lv, frame in result.pvm_levels.items():
        label = labels[lv]
        eff = sum(sum_cents(frame[c]) for c in ("volume_effect", "mix_effect", "price_effect"))
        lines.append(
            check(
                "Price/volume/mix",
                f"Difference: variance - (volume + mix + price), mix unit {label}",
                total_var - eff,
            )
        )

    findings = []
    for label, frame in (("sales actuals", act), ("sales budget", bud)):
        for col, unknown, what in (
            ("family", "(unknown item)", "items not in Items"),
            ("region", "(unknown customer)", "customers not in Customers"),
        ):
            bad = src.vocab[col][frame[col].to_numpy(np.int64)] == unknown
            if bad.any():
                cents = int(frame["amount_cents"].to_numpy()[bad].sum())
                findings.append(
                    finding(
                        "warning",
                        f"unknown_{col}",
                        f"{int(bad.sum())} {label} lines in the review periods have {what}; "
                        f"shown under {unknown} ({money_text(cents)}).",
                        rows=int(bad.sum()),
                        amount=cents / 100,
                    )
                )
    if fc["unpriced"].any():
        findings.append(
            finding(
                "warning",
                "forecast_unpriced",
                f"{int(fc['unpriced'].sum())} forecast lines have no price (no list price, "
                "no sales); their "
                "forecast amount counts 0.",
                rows=int(fc["unpriced"].sum()),
            )
        )
    if not len(act):
        findings.append(
            finding(
                "info",
                "no_actuals",
                f"No sales actuals in the review periods {periods[0]} to {periods[-1]}.",
            )
        )
    result.reconciliation = pd.concat(
        [result.reconciliation, recon_frame(lines)], ignore_index=True
    )
    result.findings = pd.concat(
        [result.findings, pd.DataFrame(findings, columns=FINDING_COLUMNS)], ignore_index=True
    )
    return result


def run_variances(book: Book, *, periods: Sequence[str] | None = None) -> VarianceResult:
    """Cycle step *Compute variances*: budget vs budget, actual vs plan, PVM, reconciliation.

    Reads SalesBudget, FinancialBudget, Customers, Items, PostingSetup, GLAccounts, Locations,
    and (when present) SalesActuals and Forecast; ``periods`` for actual vs plan defaults to the
    closed months of the fiscal year to date (:func:`review_periods`). Writes VarianceSummary,
    VarianceDetail, VarianceRollup, PriceVolumeMix, Unmapped and VarianceRecon in one
    ``book.write`` call and returns the :class:`VarianceResult`.
    """
    book.progress("Variances: reading budgets and master data", 0.05)
    settings = book.read_settings()
    sales_budget = _read(book, "SalesBudget")
    financial_budget = _read(book, "FinancialBudget")
    customers = _read(book, "Customers")
    items = _read(book, "Items")
    posting_setup = _read(book, "PostingSetup")
    gl_accounts = _read(book, "GLAccounts")
    locations = _read(book, "Locations", required=False)
    actuals = _read(book, "SalesActuals", required=False)
    forecast = _read(book, "Forecast", required=False)
    book.progress("Variances: sales budget vs financial budget", 0.3)
    result = budget_vs_budget(
        sales_budget,
        financial_budget,
        customers,
        items,
        posting_setup,
        gl_accounts,
        currency=settings.currency,
    )
    book.progress("Variances: actual vs budget vs forecast", 0.55)
    review = list(periods) if periods is not None else review_periods(settings)
    sold = actuals if actuals is not None else _empty_input("SalesActuals")
    basis = realised_prices(items, sold, settings.cycle)
    plan_comparison(
        result,
        sold,
        sales_budget,
        forecast if forecast is not None else _empty_input("Forecast"),
        items,
        customers,
        locations,
        review,
        basis["price"],
    )
    for name, frame in (("SalesActuals", actuals), ("Forecast", forecast)):
        if frame is None:
            result.findings.loc[len(result.findings)] = finding(
                "info",
                "table_missing",
                f"Table {schema.table(name).name} is missing: counted as empty.",
            )
    book.progress("Variances: writing sheets", 0.8)
    result.outputs = variance_outputs(result, settings)
    result.summary = _summary(result, settings)
    book.write(result.outputs)
    book.progress("Variances: done", 1.0)
    return result
