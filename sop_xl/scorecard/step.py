"""The balanced scorecard: the executive page that says what is on and off track.

For the month a cycle reviews (the last closed month, ``cycle - 1``), every KPI of the Targets
table is shown in Kaplan and Norton's four perspectives (financial; customer; internal process;
learning and growth) with:

- **actual** (the KPI engine's value for the month) and **target** (Targets sheet);
- **gap to target**, signed so that **positive = better** than target (higher-is-better:
  actual - target; lower-is-better: target - actual; zero-is-best: |target| - |actual|);
- the **prior month**'s value;
- the **trend**: the last 12 months' values (a list and a text sparkline), and an arrow for the
  recent direction, the mean of the last 3 months minus the mean of the 3 before (▲ up, ▼ down,
  ▶ flat), with whether that is improving or worsening for the KPI's direction
  (:data:`TREND_MEANING`);
- a **status** from the Targets thresholds (:func:`sop_xl.scorecard.rag.rag`): Green at or better
than the
  green threshold, Amber at or better than amber, else Red; "No data" (grey, never green) when
  the month has no value; "No target" when thresholds are missing;
- the **owner role**.

The same rows are built per sales region and per item family (:attr:`ScorecardResult.detail`),
each KPI's total first. A Targets row with a Scope (a region or family code) sets that scope's
thresholds; other scopes use the company total's.

Learning and growth holds forecast value added (from the KPI engine, ``fva``) and decision
follow-through from the Actions table (:mod:`sop_xl.kpi.actions`).

:func:`run_scorecard` is the cycle step: it reads the workbook, and writes the ``Scorecard``,
``ScorecardDetail``, ``Trends`` and ``Definitions`` sheets in one write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sop_xl.errors import SopError
from sop_xl.kpi.actions import ACTION_KPIS, action_kpis
from sop_xl.kpi.defs import KPIS, KpiDef
from sop_xl.kpi.native import native_for
from sop_xl.kpi.table import READ as KPI_READ
from sop_xl.model import schema
from sop_xl.model.book import Book, ResultMemo, read_tables
from sop_xl.model.periods import add_months, period_range
from sop_xl.model.sheets import (
    AMBER_FILL,
    AMBER_FONT,
    GREEN_FILL,
    GREEN_FONT,
    GREY_FILL,
    GREY_FONT,
    RED_FILL,
    RED_FONT,
    CellRule,
    ChartSpec,
    FormulaRule,
    IconRule,
    SheetOutput,
)
from sop_xl.scorecard.rag import (
    NO_DATA,
    NO_TARGET,
    STATUSES,
    gap_to_target,
    rag,
    sparkline,
    status_code,
    trend_text,
)

if TYPE_CHECKING:
    from sop_xl.supply.step import Adjust

__all__ = [
    "ALL_KPIS",
    "ScorecardResult",
    "build_scorecard",
    "default_targets",
    "definitions_frame",
    "format_values",
    "kpi_values",
    "run_scorecard",
    "scorecard_outputs",
]

#: Every KPI the scorecard can show: the one registry (kept under this name for callers).
ALL_KPIS: dict[str, KpiDef] = KPIS
#: What the trend arrow means, as the Definitions sheet states it.
TREND_MEANING = (
    "Trend arrow: the average of the last 3 months minus the average of the 3 months before "
    "(at least 2 values in each). \u25b2 up, \u25bc down, \u25b6 stable (within 0.5 pp for "
    "percentages, 1% of the level otherwise); 'improving' or 'worsening' for the KPI's "
    "direction. The sparkline shows the last 12 months."
)
#: Months in the trend window (the reviewed month and the 11 before it).
WINDOW = 12
LEVELS = ("Total", "Region", "Family")
#: KPIs charted on the Scorecard (Trends sheet column -> candidate KPI ids, first in Targets wins).
CHARTED: dict[str, tuple[str, ...]] = {
    "forecast_accuracy": ("forecast_accuracy",),
    "fill_rate": ("order_fill_rate", "line_fill_rate", "unit_fill_rate", "otif"),
    "otd": ("otd", "otif"),
}
#: Tables the step reads (KPI engine inputs + Targets and Actions).
READ = (*KPI_READ, "Regions", "Targets", "Actions", "ForecastArchive")
#: The supply review's inputs: its KPIs join the internal-process perspective (issue 11).
SUPPLY_READ = ("Customers", "PurchaseReceipts", *(t.sheet for t in schema.SUPPLY_INPUTS))


@dataclass
class ScorecardResult:
    """What :func:`build_scorecard` computed (and :func:`run_scorecard` wrote)."""

    cycle: str
    period: str  # the month reviewed (last closed month)
    scorecard: pd.DataFrame  # company total rows (Scorecard table columns + ``trend_values``)
    detail: pd.DataFrame  # total, region and family rows (ScorecardDetail columns + trend_values)
    trends: pd.DataFrame  # Trends table rows (chart data)
    definitions: pd.DataFrame  # Definitions table rows
    values: pd.DataFrame  # every KPI value used: kpi, period, level, scope, value, note
    plan_status: str = "draft"
    summary: str = ""
    ok: bool = True
    counts: dict[str, int] = field(default_factory=dict)
    outputs: list[SheetOutput] = field(default_factory=list)


# --- inputs ------------------------------------------------------------------------------------
def default_targets() -> pd.DataFrame:
    """A reasonable starting Targets table (company level) for a new workbook or the demo.

    Thresholds are conventional industry starting points, meant to be edited on the Targets sheet.
    """
    fin, cus, ip, lg = schema.PERSPECTIVES
    sp, ex = "Supply planning", "Executive management"
    rows = [
        # kpi, perspective, target, direction, green, amber, owner
        ("revenue_vs_budget_pct", fin, 0.0, "higher", 0.0, -0.05, "Finance"),
        ("gross_margin_pct", fin, 0.35, "higher", 0.35, 0.30, "Finance"),
        ("inventory_turns_ttm", fin, 6.0, "higher", 6.0, 4.5, sp),
        ("budget_accuracy", fin, 0.90, "higher", 0.90, 0.80, "Finance"),
        ("order_fill_rate", cus, 0.95, "higher", 0.95, 0.90, sp),
        ("otd", cus, 0.95, "higher", 0.95, 0.90, sp),
        ("otif", cus, 0.90, "higher", 0.90, 0.85, sp),
        ("otd_request", cus, 0.90, "higher", 0.90, 0.80, sp),
        ("forecast_accuracy", ip, 0.80, "higher", 0.80, 0.70, "Demand planner"),
        ("bias_pct", ip, 0.0, "lower", 0.05, 0.10, "Sales and marketing leader"),
        ("tracking_signal", ip, 0.0, "lower", 3.0, 4.0, "Demand planner"),
        (
            "schedule_attainment",
            "Internal process",
            0.95,
            "higher",
            0.95,
            0.90,
            "Operations leader",
        ),
        ("vendor_otd", ip, 0.95, "higher", 0.95, 0.85, sp),
        ("forward_days_of_supply", ip, 45.0, "band", 30.0, 20.0, sp),
        ("fva", lg, 0.0, "higher", 0.0, -0.02, "Demand planner"),
        (
            "actions_closed_on_time",
            "Learning and growth",
            0.9,
            "higher",
            0.9,
            0.75,
            "Executive management",
        ),
        ("actions_overdue", lg, 0.0, "lower", 0.0, 2.0, ex),
        (
            "oldest_open_action_days",
            "Learning and growth",
            60.0,
            "lower",
            60.0,
            90.0,
            "Executive management",
        ),
    ]
    cols = ["kpi", "perspective", "target", "direction", "green", "amber", "owner_role"]
    df = pd.DataFrame(rows, columns=cols)
    df["scope"] = None
    band = df["direction"] == "band"  # forward days of supply: green 30-60 days, amber 20-90
    df["green_max"] = np.where(band, 60.0, np.nan)
    df["amber_max"] = np.where(band, 90.0, np.nan)
    return df


def _targets(targets: pd.DataFrame | None) -> pd.DataFrame:
    """Targets with clean keys: kpi lower-case, scope '' for the company total."""
    cols = schema.TARGETS.names
    if targets is None or len(targets) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols}).assign(scope="")
    t = targets.reset_index(drop=True).copy()
    for c in cols:
        if c not in t:
            t[c] = None
    t["kpi"] = t["kpi"].astype("string").str.strip().str.lower()
    t["scope"] = t["scope"].astype("string").str.strip().fillna("")
    t["direction"] = t["direction"].astype("string").str.strip().str.lower()
    for c in ("target", "green", "amber", "green_max", "amber_max"):
        t[c] = pd.to_numeric(t[c], errors="coerce").astype(float)
    return t[t["kpi"].notna() & (t["kpi"] != "")].reset_index(drop=True)


def _levelled(values: pd.DataFrame) -> pd.DataFrame:
    """KPI long rows -> columns kpi, period, level, scope, value, note.

    Accepts rows that already carry ``level``/``scope``, or ``region``/``family`` columns
    (a row with neither is the company total).
    """
    v = values.copy()
    if "level" not in v:
        level = pd.Series("Total", index=v.index, dtype=object)
        scope = pd.Series("", index=v.index, dtype=object)
        for col, name in (("family", "Family"), ("region", "Region")):
            if col in v:
                has = v[col].notna() & (v[col].astype("string").fillna("") != "")
                level = level.mask(has, name)
                scope = scope.mask(has, v[col].astype("string"))
        v["level"], v["scope"] = level, scope
    v["scope"] = v["scope"].astype("string").fillna("").astype(object)
    v["kpi"] = v["kpi"].astype("string").str.lower().astype(object)
    v["period"] = v["period"].astype(str)
    v["value"] = pd.to_numeric(v["value"], errors="coerce").astype(float)
    v["note"] = v["note"].astype("string").fillna("").astype(object) if "note" in v else ""
    v = v[["kpi", "period", "level", "scope", "value", "note"]]
    return v.drop_duplicates(["kpi", "period", "level", "scope"], keep="last").reset_index(
        drop=True
    )


def kpi_values(
    tables: Mapping[str, pd.DataFrame],
    settings: schema.Settings,
    periods: Sequence[str],
    *,
    memo: ResultMemo | None = None,
    adjust: Adjust | None = None,
) -> pd.DataFrame:
    """Every KPI for ``periods`` at company, region and family level, plus the action KPIs.
    ``memo``: KPI rows an earlier click computed (:func:`sop_xl.kpi.table.kpi_scopes`);
    ``adjust``: makes the supply plan of record (see :func:`run_scorecard`)."""
    from sop_xl.kpi.table import (
        kpi_scopes,  # the KPI engine (imported late: heavy, optional for tests)
    )

    levels = (("Total", ()), ("Region", ("region",)), ("Family", ("family",)))
    scoped = kpi_scopes(tables, settings, [by for _, by in levels], periods=periods, memo=memo)
    parts = []
    for (level, by), long in zip(levels, scoped, strict=True):
        if len(long):
            scope = long[by[0]].astype("string").fillna(f"(no {by[0]})") if by else ""
            long = long.assign(level=level, scope=scope)
            parts.append(long[["kpi", "period", "level", "scope", "value", "note"]])
    parts.append(
        action_kpis(tables.get("Actions"), settings.cycle, periods).assign(level="Total", scope="")
    )
    parts.append(_supply_values(tables, settings, memo, adjust))
    values = _levelled(pd.concat(parts, ignore_index=True))
    return _at_accuracy_lag(values, tables, settings, periods)


#: Forecast KPIs the scorecard measures at the Settings accuracy lag (from the forecast archive).
LAGGED_KPIS = ("forecast_accuracy", "wmape", "bias_pct")


def _at_accuracy_lag(
    values: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    settings: schema.Settings,
    periods: Sequence[str],
) -> pd.DataFrame:
    """Replace the forecast KPIs by their values at ``settings.accuracy_lag`` (issue 13).

    Lag 0 is the KPI engine's value (the forecast kept for the month in the Forecast table).
    With a lag L > 0 each month is scored with the consensus locked L cycles before it
    (ForecastArchive); a month no archived cycle covers has no value (and says so). A workbook
    with no forecast archive at all keeps lag 0, with a note.
    """
    lag = settings.accuracy_lag
    archive = tables.get("ForecastArchive")
    mask = values["kpi"].isin(LAGGED_KPIS)
    if lag == 0 or not mask.any():
        return values
    if archive is None or archive.empty:
        values = values.copy()
        note = "measured at lag 0: no forecast archive yet (run Plan history / sop-xl history)"
        values.loc[mask, "note"] = (values.loc[mask, "note"] + "; " + note).str.strip("; ")
        return values
    from sop_xl.history.archive import normalise
    from sop_xl.history.lag import accuracies_at_lag, actuals_by_series

    arch = normalise(archive)
    actuals = actuals_by_series(tables["SalesActuals"], tables.get("Customers"))
    items = tables.get("Items")
    lagged = []
    scopes = (("Total", ()), ("Region", ("region",)), ("Family", ("family",)))
    found = accuracies_at_lag(
        arch, actuals, settings.cycle, lag, [by for _, by in scopes], items=items, periods=periods
    )
    for (level, by), r in zip(scopes, found, strict=True):
        if r.empty:
            continue
        r = r.rename(columns={"forecast_accuracy": "forecast_accuracy_"})
        for k, col in zip(LAGGED_KPIS, ("forecast_accuracy_", "wmape", "bias_pct"), strict=True):
            lagged.append(
                pd.DataFrame(
                    {
                        "kpi": k,
                        "period": r["period"].astype(str),
                        "level": level,
                        "scope": r[by[0]].astype(str) if by else "",
                        "value": r[col].astype(float),
                        "note": f"at lag {lag}: the consensus locked {lag} cycle(s) before "
                        "the month (ForecastArchive)",
                    }
                )
            )
    new = _levelled(pd.concat(lagged, ignore_index=True)) if lagged else values.iloc[0:0]
    missing = values[mask][["kpi", "period", "level", "scope"]].merge(
        new[["kpi", "period", "level", "scope"]], how="left", indicator=True
    )
    missing = missing[missing["_merge"] == "left_only"].drop(columns="_merge")
    missing = missing.assign(
        value=np.nan, note=f"no forecast archived at lag {lag} for this month (ForecastArchive)"
    )
    return pd.concat([values[~mask], new, missing], ignore_index=True)


def _supply_values(
    tables: Mapping[str, pd.DataFrame],
    settings: schema.Settings,
    memo: ResultMemo | None = None,
    adjust: Adjust | None = None,
) -> pd.DataFrame:
    """The supply review's KPIs (company total) of the plan of record when the workbook has its
    inputs; ``memo``: those of the supply step's plan on the same LP data
    (:func:`sop_xl.supply.kpis.supply_kpis_of_tables`)."""
    from sop_xl.supply.kpis import supply_kpis_of_tables

    got = supply_kpis_of_tables(tables, settings, adjust=adjust, memo=memo)
    return got.assign(level="Total", scope="")


# --- assessment --------------------------------------------------------------------------------
def _registry(ids: pd.Series, attr: str, default: object = "") -> pd.Series:
    lookup = {k: getattr(d, attr) for k, d in ALL_KPIS.items()}
    return ids.map(lookup).astype(object).where(ids.isin(list(lookup)), default)


def _scope_levels(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """scope code -> level from the master data (Regions.region, Items.family)."""
    parts = []
    for alias, col, level in (("Regions", "region", "Region"), ("Items", "family", "Family")):
        df = tables.get(alias)
        if df is not None and col in df:
            codes = df[col].dropna().astype(str).str.strip().unique()
            parts.append(pd.DataFrame({"scope": codes, "level": level}))
    if not parts:
        return pd.DataFrame({"scope": pd.Series(dtype=object), "level": pd.Series(dtype=object)})
    return pd.concat(parts, ignore_index=True)


def _rows(
    targets: pd.DataFrame, values: pd.DataFrame, master_scopes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Scorecard rows: the total of each company-level target, and every region / family scope
    that has values or a scoped target, with the thresholds that apply to it.

    A scoped target's level comes from the KPI values, else the master data (``master_scopes``);
    a scope found in neither is listed under Region with a note."""
    total = targets[targets["scope"] == ""].drop_duplicates("kpi", keep="last")
    total = total.assign(level="Total", threshold_scope="company", _order=np.arange(len(total)))
    scoped = targets[targets["scope"] != ""].drop_duplicates(["kpi", "scope"], keep="last")
    known = values.loc[values["level"] != "Total", ["kpi", "level", "scope"]].drop_duplicates()
    # scopes with values for a KPI that has a company target -> company thresholds
    inherit = known.merge(total.drop(columns=["level", "scope"]), on="kpi", how="inner")
    # a scoped target overrides (or adds) its scope's row
    scope_level = pd.concat([known[["scope", "level"]], master_scopes], ignore_index=True)
    own = scoped.merge(scope_level.drop_duplicates("scope"), on="scope", how="left")
    own["_unknown_scope"] = own["level"].isna()
    own["level"] = own["level"].fillna("Region")
    own["threshold_scope"] = own["scope"]
    order = dict(zip(total["kpi"], total["_order"], strict=True))
    own["_order"] = own["kpi"].map(order).fillna(len(total) + own.index.to_series()).to_numpy()
    rows = pd.concat([own, inherit.assign(threshold_scope="company"), total], ignore_index=True)
    rows = rows.drop_duplicates(["kpi", "level", "scope"], keep="first")
    rows["_unknown_scope"] = rows["_unknown_scope"].astype("boolean").fillna(False).astype(bool)
    return rows.reset_index(drop=True)


def _assess(
    rows: pd.DataFrame, values: pd.DataFrame, period: str, window: list[str]
) -> pd.DataFrame:
    """Actual, prior, trend, gap and status for each row (vectorised over rows)."""
    keys = ["kpi", "level", "scope"]
    at = values[values["period"] == period].set_index(keys)
    prior = values[values["period"] == add_months(period, -1)].set_index(keys)["value"]
    idx = pd.MultiIndex.from_frame(rows[keys])
    df = rows.copy()
    df["actual"] = at["value"].reindex(idx).to_numpy(float)
    df["value_note"] = at["note"].reindex(idx).fillna("").to_numpy(object)
    df["prior"] = prior.reindex(idx).to_numpy(float)
    win = values[values["period"].isin(window)]
    wide = win.pivot_table(index=keys, columns="period", values="value", aggfunc="last")
    matrix = wide.reindex(index=idx, columns=window).to_numpy(float)

    known = df["kpi"].isin(list(ALL_KPIS))
    df["name"] = _registry(df["kpi"], "name").where(known, df["kpi"])
    df["unit"] = _registry(df["kpi"], "unit", "number")
    reg_dir = _registry(df["kpi"], "direction", None)
    given = df["direction"].astype("string").fillna("")
    # zero-is-best KPIs (bias) are always judged on |value|, band KPIs (forward days of supply)
    # always on their band; otherwise the Targets direction.
    fixed = reg_dir.isin(["target", "band"]).to_numpy()
    eff = np.where(fixed, reg_dir, np.where(given != "", given, reg_dir))
    df["direction"] = pd.Series(eff, index=df.index).replace({None: np.nan})
    df["owner_role"] = df["owner_role"].where(
        df["owner_role"].notna(), _registry(df["kpi"], "owner_role", None)
    )
    df["perspective"] = df["perspective"].where(
        df["perspective"].notna(), _registry(df["kpi"], "perspective", None)
    )

    gmax = df.get("green_max", np.nan)
    amax = df.get("amber_max", np.nan)
    df["status"] = rag(
        df["actual"], df["green"], df["amber"], df["direction"], gmax, amax
    ).to_numpy(object)
    df["signal"] = status_code(df["status"]).to_numpy()
    df["gap"] = gap_to_target(
        df["actual"], df["target"], df["direction"], df["green"], gmax
    ).to_numpy(float)
    trend, change = trend_text(matrix, df["direction"].fillna("higher"), df["unit"])
    df["trend"] = trend.to_numpy(object)
    df["change_12m"] = change
    df["sparkline"] = sparkline(matrix).to_numpy(object)
    df["trend_values"] = list(np.round(matrix, 10))
    df["period"] = period

    notes = pd.Series("", index=df.index, dtype=object)

    def add(mask: pd.Series | np.ndarray, text: str) -> None:
        m = np.asarray(mask, dtype=bool)
        notes[m] = np.where(notes[m] == "", text, notes[m] + "; " + text)

    add(~known, "unknown KPI id: not in the KPI registry (see the Definitions sheet)")
    add(df["_unknown_scope"], "scope is neither a region nor an item family code")
    add(df["status"].eq(NO_DATA) & known, f"no value for {period}")
    band = (df["direction"] == "band").to_numpy()
    add(
        df["status"].eq(NO_TARGET).to_numpy() & band,
        "band target: give Green Threshold and Green Max (and Amber Threshold and Amber Max)",
    )
    add(
        df["status"].eq(NO_TARGET).to_numpy() & ~band,
        "no green/amber threshold on the Targets sheet",
    )
    has_band = band & df["status"].ne(NO_TARGET).to_numpy()
    if has_band.any():
        txt = [
            f"band: green {g:g} to {gx:g}, amber {a:g} to {ax:g}; too low or too high is off"
            for g, gx, a, ax in zip(df["green"], gmax, df["amber"], amax, strict=False)
        ]
        notes[has_band] = [
            (n + "; " if n else "") + t
            for n, t in zip(notes[has_band], np.asarray(txt, dtype=object)[has_band], strict=True)
        ]
    both = df["green"].notna() & df["amber"].notna()
    inverted = both & np.where(
        df["direction"] == "higher", df["green"] < df["amber"], df["green"] > df["amber"]
    )
    inverted &= ~df["direction"].isin(["target", "band"])
    add(inverted, "green threshold is worse than amber: check the Targets row")
    as_points = (df["unit"] == "pct") & (df[["target", "green", "amber"]].abs().max(axis=1) > 1.5)
    add(as_points, "target looks like percentage points: enter 95% as 0.95")
    clash = (reg_dir.isin(["higher", "lower"])) & (given != "") & (given != reg_dir)
    add(clash, "Targets direction differs from the KPI definition")
    vnote = df["value_note"].astype(str)
    df["note"] = np.where(
        vnote != "", np.where(notes != "", notes + "; " + vnote, vnote), notes
    ).astype(object)
    return df


def format_values(
    values: pd.Series, unit: pd.Series, *, signed: bool = False, currency: str = ""
) -> pd.Series:
    """Text per the KPI unit: pct 95.3% (gap: +1.2 pp), ratio 4.20, days 38.5 days, units and
    counts 1,234, money EUR 12,345. Missing -> ''."""
    v = pd.to_numeric(values, errors="coerce").astype(float).reset_index(drop=True)
    u = unit.astype(str).reset_index(drop=True)
    sign = "+" if signed else ""
    fmts = {
        "pct": ("{:" + sign + ".1f} pp" if signed else "{:.1%}"),
        "ratio": "{:" + sign + ",.2f}",
        "days": "{:" + sign + ",.1f} days",
        "units": "{:" + sign + ",.0f}",
        "count": "{:" + sign + ",.0f}",
        "money": (currency + " " if currency else "") + "{:" + sign + ",.0f}",
    }
    out = pd.Series("", index=v.index, dtype=object)
    ok = v.notna()
    for name, fmt in fmts.items():
        m = ok & (u == name)
        if m.any():
            x = v[m] * 100 if (name == "pct" and signed) else v[m]
            out[m] = x.map(fmt.format).to_numpy(object)
    rest = ok & ~u.isin(list(fmts))
    if rest.any():
        out[rest] = v[rest].map(("{:" + sign + ",.2f}").format).to_numpy(object)
    return out.set_axis(values.index)


def _display(df: pd.DataFrame, currency: str) -> pd.DataFrame:
    df["actual_text"] = format_values(df["actual"], df["unit"], currency=currency).where(
        df["actual"].notna(), "\u2013"
    )
    df["target_text"] = format_values(df["target"], df["unit"], currency=currency)
    df["gap_text"] = format_values(df["gap"], df["unit"], signed=True, currency=currency)
    df["prior_text"] = format_values(df["prior"], df["unit"], currency=currency)
    return df


def _order(df: pd.DataFrame, by_level: bool) -> pd.DataFrame:
    persp = {p: i for i, p in enumerate(schema.PERSPECTIVES)}
    lvl = {lv: i for i, lv in enumerate(LEVELS)}
    o = df.assign(
        _p=df["perspective"].map(persp).fillna(len(persp)),
        _l=df["level"].map(lvl).fillna(len(lvl)),
    )
    keys = ["_p", "_order", "kpi", "_l", "scope"] if by_level else ["_p", "_order", "kpi"]
    return o.sort_values(keys, kind="stable").drop(columns=["_p", "_l"]).reset_index(drop=True)


# --- trends and definitions ------------------------------------------------------------------
def _revenue(tables: Mapping[str, pd.DataFrame], window: list[str]) -> pd.DataFrame:
    """Posted sales amount and sales budget amount per month of the window."""
    out = pd.DataFrame({"period": window})
    for alias, name in (("SalesActuals", "revenue"), ("SalesBudget", "revenue_budget")):
        df = tables.get(alias)
        if df is None or not {"period", "amount"} <= set(df.columns) or df.empty:
            out[name] = np.nan
            continue
        s = df.groupby(df["period"].astype(str))["amount"].sum(min_count=1).round(2)
        out[name] = s.reindex(window).to_numpy(float)
    rev, bud = out["revenue"].to_numpy(float), out["revenue_budget"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["revenue_vs_budget_pct"] = np.where(
            bud != 0, rev / np.where(bud != 0, bud, 1) - 1, np.nan
        )
    return out


def _charted(targets: pd.DataFrame, values: pd.DataFrame) -> dict[str, str]:
    """Trends column -> KPI id: the first candidate on the Targets sheet, else with data."""
    total = targets[targets["scope"] == ""]
    have = set(values.loc[values["level"] == "Total", "kpi"])
    chosen = {}
    for col, ids in CHARTED.items():
        pick = next((k for k in ids if k in set(total["kpi"])), None)
        pick = pick or next((k for k in ids if k in have), ids[0])
        chosen[col] = pick
    return chosen


def _trends(
    tables: Mapping[str, pd.DataFrame],
    targets: pd.DataFrame,
    values: pd.DataFrame,
    window: list[str],
) -> tuple[pd.DataFrame, dict[str, str]]:
    chosen = _charted(targets, values)
    total = values[values["level"] == "Total"]
    tgt = targets[targets["scope"] == ""].drop_duplicates("kpi", keep="last").set_index("kpi")
    out = _revenue(tables, window)
    for col, kpi in chosen.items():
        s = total[total["kpi"] == kpi].set_index("period")["value"]
        out[col] = s.reindex(window).to_numpy(float)
        out[f"{col}_target"] = float(tgt["target"].get(kpi, np.nan))
    return out[schema.TRENDS.names], chosen


def definitions_frame(on_scorecard: Sequence[str] = ()) -> pd.DataFrame:
    """Definitions sheet rows: the KPI registry plus the action KPIs."""
    defs = list(ALL_KPIS.values())
    df = pd.DataFrame(
        {
            "kpi": [d.id for d in defs],
            "name": [d.name for d in defs],
            "perspective": [d.perspective for d in defs],
            "formula": [d.formula for d in defs],
            "numerator": [d.numerator for d in defs],
            "denominator": [d.denominator for d in defs],
            "unit": [d.unit for d in defs],
            "direction": [d.direction for d in defs],
            "zero_policy": [d.zero_policy for d in defs],
            "sign_convention": [d.sign_convention for d in defs],
            "owner_role": [d.owner_role for d in defs],
            "source_tables": [", ".join(d.source_tables) for d in defs],
        }
    )
    df["on_scorecard"] = np.where(df["kpi"].isin(list(on_scorecard)), "yes", "")
    natives = [native_for(d.udf) for d in defs]
    df["udf"] = [d.udf for d in defs]
    df["native_function"] = [nf.name if nf and nf.body else "" for nf in natives]
    df["native_formula"] = [
        (nf.lambda_formula() if nf.body else f"Python only: {nf.python_only}") if nf else ""
        for nf in natives
    ]
    persp = {p: i for i, p in enumerate(schema.PERSPECTIVES)}
    df = df.assign(_p=df["perspective"].map(persp)).sort_values(["_p"], kind="stable")
    return df.drop(columns="_p").reset_index(drop=True)[schema.DEFINITIONS.names]


# --- build ---------------------------------------------------------------------------------------
def build_scorecard(
    tables: Mapping[str, pd.DataFrame],
    settings: schema.Settings,
    kpis: pd.DataFrame | None = None,
    *,
    plan_status: str = "draft",
    memo: ResultMemo | None = None,
    adjust: Adjust | None = None,
) -> ScorecardResult:
    """The scorecard for ``settings.cycle`` (reviewing month ``cycle - 1``), as DataFrames.

    ``tables``: input tables by alias ('Targets', 'Actions', 'SalesActuals', 'SalesBudget', ...).
    ``kpis``: KPI values as a long frame (``kpi, period, value[, note]`` and either
    ``region``/``family`` columns or ``level``/``scope``); None computes them with
    :func:`sop_xl.kpi.table.kpi_table` (company, region, family) plus :func:`action_kpis`. When
    given,
    the action KPIs are added unless the frame already has them.
    """
    period = add_months(settings.cycle, -1)
    window = period_range(add_months(period, -(WINDOW - 1)), WINDOW)
    trend_window = period_range(add_months(period, -WINDOW), WINDOW + 1)  # + prior of first
    if kpis is None:
        values = kpi_values(tables, settings, trend_window, memo=memo, adjust=adjust)
    else:
        values = _levelled(kpis)
        if not values["kpi"].isin(list(ACTION_KPIS)).any():
            acts = action_kpis(tables.get("Actions"), settings.cycle, trend_window)
            values = _levelled(pd.concat([values, acts.assign(level="Total", scope="")]))
    targets = _targets(tables.get("Targets"))
    rows = _rows(targets, values, _scope_levels(tables))
    assessed = _display(_assess(rows, values, period, window), settings.currency)
    detail = _order(assessed, by_level=True)
    total = detail[detail["level"] == "Total"].reset_index(drop=True)
    trends, chosen = _trends(tables, targets, values, window)
    definitions = definitions_frame(list(targets["kpi"]))

    counts = {s: int((total["status"] == s).sum()) for s in STATUSES}
    parts = [f"{counts['Green']} green", f"{counts['Amber']} amber", f"{counts['Red']} red"]
    parts.append(f"{counts[NO_DATA]} no data")
    if counts[NO_TARGET]:
        parts.append(f"{counts[NO_TARGET]} no target")
    ok = len(total) > 0
    summary = f"Scorecard {period}: " + ", ".join(parts)
    if not ok:
        summary = (
            f"Scorecard {period}: no KPI targets: add rows to the Targets sheet "
            "(KPI ID, perspective, target, direction, thresholds, owner)"
        )
    result = ScorecardResult(
        cycle=settings.cycle,
        period=period,
        scorecard=total[[*schema.SCORECARD.names, "trend_values"]],
        detail=detail[[*schema.SCORECARD_DETAIL.names, "trend_values"]],
        trends=trends,
        definitions=definitions,
        values=values,
        plan_status=plan_status,
        summary=summary,
        ok=ok,
        counts=counts,
    )
    result.outputs = scorecard_outputs(result, settings, chosen)
    return result


# --- sheets --------------------------------------------------------------------------------------
_STATUS_RULES = (
    ("Green", GREEN_FILL, GREEN_FONT),
    ("Amber", AMBER_FILL, AMBER_FONT),
    ("Red", RED_FILL, RED_FONT),
    ("No data", GREY_FILL, GREY_FONT),
    ("No target", GREY_FILL, GREY_FONT),
)
#: Character widths of the executive columns (the charts are anchored from them).
_WIDTHS = {
    "perspective": 19.0,
    "name": 28.0,
    "signal": 7.0,
    "status": 9.0,
    "actual_text": 10.0,
    "target_text": 10.0,
    "gap_text": 14.0,
    "prior_text": 12.0,
    "trend": 15.0,
    "sparkline": 14.0,
    "owner_role": 22.0,
    "note": 45.0,
}


def _formats() -> list:
    rules: list = [
        CellRule("status", "equal", (f'"{s}"',), fill, font, bold=s in ("Red", "Green"))
        for s, fill, font in _STATUS_RULES
    ]
    for s, fill, font in _STATUS_RULES[:3]:
        rules.append(FormulaRule("actual_text", f'{{status}}="{s}"', fill, font))
    rules.append(FormulaRule("trend", 'ISNUMBER(SEARCH("worsening",{trend}))', None, RED_FONT))
    rules.append(FormulaRule("trend", 'ISNUMBER(SEARCH("improving",{trend}))', None, GREEN_FONT))
    rules.append(IconRule("signal", "3TrafficLights1", (0, 2, 3), show_value=False))
    return rules


def _off_track(total: pd.DataFrame, limit: int = 5) -> str:
    """'Off track: Line fill rate (Supply planning), ...': the red KPIs, worst gap first."""
    red = total[total["status"] == "Red"]
    if red.empty:
        return "Off track: none (no KPI is red)."
    # worst first: the gap relative to the target's size (units differ between KPIs)
    scale = red["target"].abs().where(red["target"].abs() > 0, red["green"].abs()).fillna(1.0)
    red = red.assign(_r=(red["gap"] / scale.where(scale > 0, 1.0))).sort_values("_r")
    owner = red["owner_role"].astype("string").fillna("no owner")
    names = (red["name"].astype(str) + " (" + owner + ")").tolist()
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return "Off track: " + ", ".join(names[:limit]) + more + "."


def scorecard_outputs(
    result: ScorecardResult,
    settings: schema.Settings,
    charted: Mapping[str, str] | None = None,
) -> list[SheetOutput]:
    """The Scorecard, ScorecardDetail, Trends and Definitions sheets (charts read Trends)."""
    charted = charted or {k: v[0] for k, v in CHARTED.items()}
    c = result.counts
    title = [
        f"{settings.company} \u2013 S&OP balanced scorecard",
        f"Cycle {result.cycle} \u00b7 month reviewed: {result.period} (last closed month) "
        f"\u00b7 Plan status: {result.plan_status}",
        f"{c.get('Green', 0)} green \u00b7 {c.get('Amber', 0)} amber \u00b7 {c.get('Red', 0)} red "
        f"\u00b7 {c.get(NO_DATA, 0)} no data"
        + (f" \u00b7 {c.get(NO_TARGET, 0)} no target" if c.get(NO_TARGET) else ""),
        _off_track(result.scorecard),
        "Green = at or better than the green threshold; Amber = at or better than amber; "
        "grey = no data or no target.",
        "Gap: positive = better than target (pp = percentage points). Trend: last 3 months vs "
        "the 3 before. Formulas: Definitions sheet.",
    ]
    n = len(result.scorecard)
    header_row = len(title) + 2
    chart_row = header_row + max(n, 1) + 3
    # Charts two by two under the table, inside the printed columns (A and G).
    w, h = 14.0, 7.0
    step = 16  # rows per chart: 7 cm ~ 14 rows of 0.53 cm, plus a gap
    anchors = [f"{col}{chart_row + (i // 2) * step}" for i, col in enumerate("AGAG")]
    names = {k: ALL_KPIS[v].name if v in ALL_KPIS else v for k, v in charted.items()}
    pct = "0%"
    charts = [
        ChartSpec(
            "line",
            f"{names['forecast_accuracy']} vs target",
            "Trends",
            "period",
            ("forecast_accuracy", "forecast_accuracy_target"),
            anchors[0],
            w,
            h,
            pct,
        ),
        ChartSpec(
            "line",
            f"{names['fill_rate']} vs target",
            "Trends",
            "period",
            ("fill_rate", "fill_rate_target"),
            anchors[1],
            w,
            h,
            pct,
        ),
        ChartSpec(
            "line",
            f"{names['otd']} vs target",
            "Trends",
            "period",
            ("otd", "otd_target"),
            anchors[2],
            w,
            h,
            pct,
        ),
        ChartSpec(
            "column",
            f"Revenue vs budget ({settings.currency})",
            "Trends",
            "period",
            ("revenue", "revenue_budget"),
            anchors[3],
            w,
            h,
            "#,##0",
        ),
    ]
    scorecard = SheetOutput(
        schema.SCORECARD,
        result.scorecard[schema.SCORECARD.names],
        title=title,
        conditional_formats=_formats(),
        charts=charts,
        tab_color="1F4E78",
        column_widths=dict(_WIDTHS),
        print_columns=schema.SCORECARD.names.index("owner_role") + 1,
        fit_to_height=True,  # the executive page: table and all four charts on one sheet
    )
    detail = SheetOutput(
        schema.SCORECARD_DETAIL,
        result.detail[schema.SCORECARD_DETAIL.names],
        title=[
            f"{settings.company} \u2013 scorecard by region and item family",
            f"Cycle {result.cycle} \u00b7 month reviewed: {result.period}. Each KPI's company "
            "total first, then its regions and families. Thresholds From: 'company' or the "
            "scope of a scoped Targets row.",
        ],
        conditional_formats=_formats(),
        tab_color="1F4E78",
        column_widths={**_WIDTHS, "level": 8.0, "scope": 11.0},
        print_columns=schema.SCORECARD_DETAIL.names.index("owner_role") + 1,
    )
    fields = ", ".join(f"{k} = {names[k]}" for k in charted)
    trends = SheetOutput(
        schema.TRENDS,
        result.trends,
        title=[
            f"{settings.company} \u2013 scorecard trends (data of the Scorecard charts)",
            f"Last 12 closed months to {result.period}. Charted KPIs: {fields}. Targets from "
            "the Targets sheet (company rows).",
        ],
        tab_color="1F4E78",
    )
    definitions = SheetOutput(
        schema.DEFINITIONS,
        result.definitions,
        title=[
            "KPI definitions",
            "Generated from the KPI registry: the formula, denominator, zero policy and sign "
            "convention behind every number on the scorecard.",
            TREND_MEANING,
            "Band KPIs (forward days of supply): green inside [Green Threshold, Green Max], "
            "amber inside [Amber Threshold, Amber Max], else red: too low and too high are off "
            "track. Tracking signal: green |TS| <= 3, amber <= 4, red above 4 (APICS).",
        ],
        tab_color="1F4E78",
        column_widths={
            "formula": 60.0,
            "numerator": 35.0,
            "denominator": 35.0,
            "zero_policy": 60.0,
            "sign_convention": 40.0,
            "udf": 26.0,
            "native_function": 26.0,
            "native_formula": 80.0,
        },
    )
    return [scorecard, detail, trends, definitions]


# --- the cycle step ------------------------------------------------------------------------------
def _empty(table: schema.Table) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype=object) for c in table.long_columns})


def run_scorecard(
    book: Book,
    *,
    plan_status: str = "draft",
    memo: ResultMemo | None = None,
    adjust: Adjust | None = None,
    extra: tuple[schema.Table, ...] = (),
) -> ScorecardResult:
    """Read the workbook, build the scorecard, write its four sheets in one write.

    ``plan_status``: text for the title block (e.g. "frozen v03"); the caller knows it
    (:func:`sop_xl.cycle.scorecard` asks the snapshots ledger), the scorecard never reads files.
    ``memo``: the KPI rows the KPIs step kept (:func:`sop_xl.kpi.table.kpi_scopes`).
    ``adjust`` (with the ``extra`` tables it reads): makes the supply plan of record, as for
    :func:`sop_xl.supply.step.run_supply`, so the supply KPIs are those of the SupplyPlan sheet
    (the chosen scenario's), not of the unadjusted inputs.
    """
    settings = book.read_settings()
    wanted = [schema.table(a) for a in dict.fromkeys((*READ, *SUPPLY_READ))] + list(extra)
    tables = read_tables(book, wanted, share=0.6)
    tables |= {t.alias: _empty(t) for t in wanted if t.alias not in tables}
    if not book.has_table(schema.TARGETS):
        raise SopError(
            f"{book.name} has no Targets sheet (table {schema.TARGETS.name})",
            fix="rebuild the workbook from the standard template (sop-xl build-workbook) and "
            "enter the KPI targets on the Targets sheet",
        )
    book.progress("Computing KPIs and the scorecard", 0.65)
    result = build_scorecard(tables, settings, plan_status=plan_status, memo=memo, adjust=adjust)
    book.progress("Writing the Scorecard", 0.9)
    book.write(result.outputs)
    book.progress(result.summary, 1.0)
    return result
