"""The S&OP KPI engine: one vectorised library behind the cycle, the scorecard and the Excel UDFs.

Public API:

- :data:`KPIS` / :class:`KpiDef`: the definitions registry (:mod:`sop_xl.kpi.defs`).
- :func:`forecast_accuracy` (:mod:`sop_xl.kpi.forecast`) and the operational families
  :func:`fill_rates`, :func:`delivery`, :func:`schedule_attainment`,
  :func:`vendor_performance`, :func:`inventory_turns`, :func:`days_of_supply`,
  :func:`revenue_vs_budget`, :func:`gross_margin` (:mod:`sop_xl.kpi.ops`): pure functions over
  long DataFrames, one row per group.
- :func:`kpi_table`: every KPI per month (and group) as one LONG table: what the scorecard uses.
- :func:`run_kpis`: the cycle step; reads the workbook, writes the ``KPIs`` sheet.

Which forecast is scored: the consensus ``Forecast`` table holds the plan horizon *and* (in the
standard workbook) the frozen forecasts of past months, because consolidation rewrites only the
horizon months. For every closed month (before the cycle month) that the Forecast table holds and
that has posted sales, the forecast in the table is compared with the sales actuals. A month the
Forecast table no longer holds is not scored (there is nothing honest to compare with).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sop_xl.kpi.cells import (
    GrainSums,
    PeriodCodes,
    column_codes,
    grain_cells,
    grain_history,
    joint_codes,
)
from sop_xl.kpi.codes import group_codes
from sop_xl.kpi.defs import KPIS, KpiDef, definitions_frame, kpi
from sop_xl.kpi.forecast import KpiInputError, KpiUndefined, forecast_accuracy
from sop_xl.kpi.ops import (
    days_of_supply,
    delivery,
    fill_rates,
    forward_days_of_supply,
    gross_margin,
    inventory_turns,
    inventory_turns_ttm,
    revenue_vs_budget,
    schedule_attainment,
    turns_and_days_of_supply,
    vendor_performance,
)
from sop_xl.model import schema
from sop_xl.model.book import Book, ResultMemo, content_digest, read_tables
from sop_xl.model.periods import add_months
from sop_xl.model.sheets import SheetOutput

__all__ = [
    "KPIS",
    "KPI_TABLE_COLUMNS",
    "KpiDef",
    "KpiInputError",
    "KpiResult",
    "KpiUndefined",
    "days_of_supply",
    "definitions_frame",
    "delivery",
    "fill_rates",
    "forecast_accuracy",
    "forward_days_of_supply",
    "gross_margin",
    "inventory_turns",
    "inventory_turns_ttm",
    "kpi",
    "kpi_scopes",
    "kpi_table",
    "revenue_vs_budget",
    "run_kpis",
    "schedule_attainment",
    "vendor_performance",
]

KPI_TABLE_COLUMNS = ("kpi", "period", "value", "numerator", "denominator", "n", "note")
#: Months of trailing window for the tracking signal in :func:`kpi_table`.
TRACKING_WINDOW = 12
SEASON = 12

# numerator / denominator columns of forecast_accuracy() per KPI (None = not a ratio of sums)
_FA_PARTS: dict[str, tuple[str | None, str | None]] = {
    "mae": ("sum_abs_error", "n"),
    "mape": ("sum_ape", "_nz"),
    "wmape": ("sum_abs_error", "sum_abs_actual"),
    "forecast_accuracy": ("_acc_num", "sum_abs_actual"),
    "bias": ("bias", None),
    "bias_pct": ("bias", "sum_actual"),
    "rmse": (None, "n"),  # value = sqrt(sum of squared errors / n): not a plain ratio
    "tracking_signal": ("ts_num", "ts_den"),
    "mase": ("sum_scaled_error", "mase_n"),
    "fva": ("fva_num", "fva_den"),
}


# --- enrichment: family / region for grouping ----------------------------------------------------
def _lookup(
    df: pd.DataFrame, master: pd.DataFrame | None, key: str, attr: str, as_: str | None = None
) -> pd.DataFrame:
    """Add ``master[attr]`` to ``df`` through ``key`` (left join, one value per key)."""
    name = as_ or attr
    if master is None or key not in df.columns or name in df.columns or attr not in master:
        return df
    m = master.drop_duplicates(key).set_index(key)[attr]
    codes, uniq = column_codes(df, key)  # each distinct key looked up once, typed once
    return df.assign(**{name: pd.Series(uniq, dtype=object).map(m).array.take(codes)})


def _enrich(df: pd.DataFrame, tables: Mapping[str, pd.DataFrame], region_from: str) -> pd.DataFrame:
    df = _lookup(df, tables.get("Items"), "item", "family")
    if region_from == "customer":
        df = _lookup(df, tables.get("Customers"), "customer", "region")
    else:
        df = _lookup(df, tables.get("Locations"), "location", "region")
    return df


def _has(df: pd.DataFrame | None, cols: Sequence[str]) -> bool:
    return df is not None and len(df) > 0 and all(c in df.columns for c in cols)


# --- long-table assembly -------------------------------------------------------------------------
def _melt(wide: pd.DataFrame, by: list[str], kpis: Sequence[str], *, value_of=None) -> pd.DataFrame:
    """Per-KPI rows from a frame with ``<kpi>``, ``<kpi>_num``, ``<kpi>_den`` columns: the
    rows of ``wide`` once per KPI of ``kpis`` it has, KPI by KPI, built in one go."""
    present = [k for k in kpis if k in wide.columns]
    if not present:
        return pd.DataFrame()
    size = len(wide)

    def stacked(columns: list[str | None], default: object, dtype=None) -> np.ndarray:
        parts = [
            wide[c].to_numpy(dtype=dtype) if c is not None and c in wide else None for c in columns
        ]
        if all(p is None for p in parts):  # one scalar, as a column assignment broadcasts it
            return np.full(size * len(present), default)
        return np.concatenate([np.full(size, default) if p is None else p for p in parts])

    parts = [(value_of or {}).get(k, (f"{k}_num", f"{k}_den")) for k in present]
    rows = np.tile(np.arange(size), len(present))
    columns: dict[str, object] = {c: wide[c].take(rows).reset_index(drop=True) for c in by}
    columns["kpi"] = np.repeat(np.array(present, dtype=object), size)
    columns["value"] = stacked(present, np.nan, float)
    columns["numerator"] = stacked([num for num, _ in parts], np.nan, float)
    columns["denominator"] = stacked([den for _, den in parts], np.nan, float)
    columns["n"] = stacked([f"{k}_n" if f"{k}_n" in wide else "n" for k in present], 0)
    columns["note"] = stacked(["note"] * len(present), "")
    return pd.DataFrame(columns, index=pd.RangeIndex(size * len(present)))


#: delivery() columns -> the to-request KPI ids (the same rule measured against the request).
_TO_REQUEST = {"otd": "otd_request", "otd_num": "otd_request_num", "otd_den": "otd_request_den"}


def _closed(df: pd.DataFrame, cycle: str, shared: dict) -> pd.DataFrame:
    """The rows of ``df`` of closed months (before ``cycle``), once per frame."""
    key = ("closed", id(df), cycle)
    if key not in shared:
        shared[key] = df[_period_codes(df, shared).rows_before(cycle)]
    return shared[key]


def _period_codes(df: pd.DataFrame, shared: dict) -> PeriodCodes:
    """``df``'s periods as codes (see :class:`PeriodCodes`), once per frame."""
    key = ("periods", id(df))
    if key not in shared:
        shared[key] = PeriodCodes.of(df, shared.setdefault("codes", {}))
    return shared[key]


def _compared(
    actuals: pd.DataFrame,
    plan: pd.DataFrame,
    grain: list[str],
    actual_col: str,
    plan_col: str,
    periods: list[str],
    last: str | None,
    shared: dict,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The compared cells at ``grain`` x period for ``periods`` (:func:`grain_cells`) and, with
    ``last``, the actuals history of each series up to ``last`` (:func:`grain_history`): both
    from one grouped sum of the actuals."""
    key = ("compared", tuple(grain), actual_col, plan_col, id(actuals), id(plan), tuple(periods))
    key += (last,)
    if key in shared:
        return shared[key]
    pa, pp = _period_codes(actuals, shared), _period_codes(plan, shared)
    codes = shared.setdefault("codes", {})
    a_series, p_series = joint_codes([actuals, plan], grain, cache=codes)
    a_key, p_key = joint_codes([actuals, plan], ["period"], [a_series, p_series], codes)
    scored = pa.text.isin(periods).to_numpy(dtype=bool)  # per distinct period of the actuals
    upto = (pa.text <= last).to_numpy(dtype=bool) if last is not None else scored
    values = actuals[actual_col].to_numpy(dtype=float, na_value=np.nan)
    sums = GrainSums.of(a_key, values, np.flatnonzero((scored | upto)[pa.codes]))
    g_period = pa.codes[sums.first]
    plan_rows = np.flatnonzero(pp.text.isin(periods).to_numpy(dtype=bool)[pp.codes])
    scored_sums = sums.take(scored[g_period])
    keys = [*grain, "period"]
    cells = grain_cells(actuals, scored_sums, plan, p_key, plan_col, plan_rows, keys, codes)
    history = None
    if last is not None:
        upto_sums = sums.take(upto[g_period])
        history = grain_history(actuals, upto_sums, a_series, pa, grain, last, codes)
    shared[key] = cells, history
    return cells, history


def grain_frame(
    actuals: pd.DataFrame,
    plan: pd.DataFrame,
    grain: list[str],
    actual_col: str,
    plan_col: str,
    periods: list[str],
) -> pd.DataFrame:
    """Outer join of actuals and plan at ``grain`` x period, for ``periods`` only (see
    :func:`grain_cells` for the policy). The history engine's lag accuracy scores its cells
    with it, so that both engines share one cell policy."""
    return _compared(actuals, plan, grain, actual_col, plan_col, list(periods), None, {})[0]


def _accuracy_rows(
    actuals: pd.DataFrame,
    plan: pd.DataFrame,
    *,
    grain: list[str],
    by: list[str],
    actual_col: str,
    plan_col: str,
    cycle: str,
    rename: Mapping[str, str] | None,
    with_history: bool,
    shared: dict | None = None,
) -> pd.DataFrame:
    """Forecast (or budget) accuracy rows per ``by`` and month. ``shared``: the compared cells
    and the actuals history of a grain, kept for the other scopes of one :func:`kpi_scopes`
    call (the company and region scopes compare the same cells)."""
    shared = {} if shared is None else shared
    closed = _period_codes(plan, shared).closed(cycle)
    periods = sorted(closed & _period_codes(actuals, shared).closed(cycle))
    if not periods:
        return pd.DataFrame()
    last = add_months(cycle, -1) if with_history else None
    cells, history = _compared(actuals, plan, grain, actual_col, plan_col, periods, last, shared)
    res = forecast_accuracy(
        cells,
        by=[*by, "period"],
        history=history,
        season=SEASON,
        keys=grain if with_history else None,
        memo=shared.setdefault(("accuracy memo", id(cells)), {}),  # cells and history kept
    )
    if with_history:
        res = _trailing_tracking_signal(res, by)
        undefined = res["tracking_signal"].isna() & (res["n"] > 0)
        res["note"] = res["note"].str.replace(
            "tracking signal undefined: every monthly error is 0", "", regex=False
        )
        res.loc[undefined, "note"] = (
            res.loc[undefined, "note"] + "; tracking signal undefined: every monthly error in "
            f"the last {TRACKING_WINDOW} months is 0"
        )
    res = _with_fill_notes(res, cells, [*by, "period"], "forecast" if with_history else "budget")
    res["_acc_num"] = np.maximum(res["sum_abs_actual"] - res["sum_abs_error"], 0.0)
    res["_nz"] = res["n"] - res["zero_actuals_skipped"]
    ids = list(rename) if rename else list(_FA_PARTS)
    long = _melt(res, [*by, "period"], ids, value_of=_FA_PARTS)
    long["note"] = _notes_for_kpi(long["kpi"], long["note"])
    if rename:
        long["kpi"] = long["kpi"].map(rename)
    return long


def _with_fill_notes(
    res: pd.DataFrame, cells: pd.DataFrame, keys: list[str], plan: str
) -> pd.DataFrame:
    """Say, per group, how many cells were scored with a 0 actual or a 0 plan (the policy).
    ``res``: forecast_accuracy() of ``cells`` by ``keys``, one row per group in key order."""
    inv, groups = group_codes(cells, keys)
    if len(groups) != len(res):
        raise AssertionError("forecast_accuracy() rows are not the groups of its cells")

    def count(col: str) -> np.ndarray:
        per_group = np.bincount(inv, weights=cells[col].to_numpy(float), minlength=len(groups))
        return per_group.astype(np.int64)

    no_plan, no_sales = count("_no_plan"), count("_no_sales")
    extra = np.full(len(res), "", dtype=object)
    m = no_plan > 0
    extra[m] = [f"{v} cell(s) with sales but no {plan}: scored as {plan} 0; " for v in no_plan[m]]
    m = no_sales > 0
    extra[m] = extra[m] + np.array(
        [f"{v} cell(s) with a {plan} but no sales: scored as 0 sold; " for v in no_sales[m]],
        dtype=object,
    )
    notes = res["note"].fillna("").to_numpy(dtype=object) + "; " + extra
    res = res.copy()
    res["note"] = pd.Series([n.strip("; ") for n in notes], index=res.index, dtype=object)
    return res


#: Which KPIs a note segment of forecast_accuracy() concerns (by a word in the segment).
_NOTE_KPIS = {
    "MAPE skipped": ("mape",),
    "WMAPE undefined": ("mape", "wmape", "forecast_accuracy", "bias_pct", "fva"),
    "MASE": ("mase",),
    "FVA": ("fva",),
    "tracking signal": ("tracking_signal",),
}


def _notes_for_kpi(kpis: pd.Series, notes: pd.Series) -> pd.Series:
    """Keep, per row, only the note segments that concern that row's KPI (once per distinct
    KPI and note)."""
    k_codes, k_uniq = pd.factorize(kpis.to_numpy(dtype=object))
    n_codes, n_uniq = pd.factorize(notes.fillna("").to_numpy(dtype=object))
    base = max(len(n_uniq), 1)
    distinct, inverse = np.unique(k_codes.astype(np.int64) * base + n_codes, return_inverse=True)
    texts = np.array(
        [_note_for(k_uniq[p // base], n_uniq[p % base]) for p in distinct.tolist()] or [""],
        dtype=object,
    )
    return pd.Series(texts[inverse.reshape(-1)], index=notes.index, dtype=object)


_NOTE_PATTERNS = [(re.compile(rf"[^;]*{re.escape(w)}[^;]*"), ks) for w, ks in _NOTE_KPIS.items()]


def _note_for(kpi: str, note: str) -> str:
    """``note`` without the segments that concern other KPIs than ``kpi``, tidied."""
    for pattern, ks in _NOTE_PATTERNS:
        if kpi not in ks:
            note = pattern.sub("", note)
    return re.sub(r"(;\s*)+", "; ", note).strip("; ")


def _trailing_tracking_signal(res: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Tracking signal per group at each month over the last TRACKING_WINDOW months."""
    r = res.sort_values([*by, "period"]).copy()
    e = r["bias"].fillna(0.0)
    has = (r["n"] > 0).astype(float)
    keyed = pd.DataFrame({"e": e, "ae": e.abs(), "m": has}, index=r.index)
    if by:
        roll = keyed.groupby([r[c] for c in by], dropna=False, sort=False).rolling(
            TRACKING_WINDOW, min_periods=1
        )
        sums = roll.sum().reset_index(level=list(range(len(by))), drop=True)
    else:
        sums = keyed.rolling(TRACKING_WINDOW, min_periods=1).sum()
    sums = sums.reindex(r.index)
    mad = sums["ae"] / sums["m"].where(sums["m"] > 0)
    r["tracking_signal"] = (sums["e"] / mad).where(mad > 0)
    r["ts_num"] = sums["e"]
    r["ts_den"] = mad
    return r.sort_index()


def kpi_table(
    tables: Mapping[str, pd.DataFrame],
    settings: schema.Settings,
    *,
    by: Sequence[str] = (),
    periods: Sequence[str] | None = None,
    memo: ResultMemo | None = None,
) -> pd.DataFrame:
    """Every KPI per closed month (and group of ``by``) as one long table.

    Columns: ``kpi, period, <by...>, value, numerator, denominator, n, note``; ``value`` of a
    'pct' KPI is a fraction. Months are attributed as: actuals / forecast / budget by their
    period; sales order lines by due (promised, else requested) date month; production orders by
    due-date month; receipts by promised-date month; inventory turns per month from the month's
    COGS x 12 over the average of the opening and closing inventory value. Only closed months
    (before ``settings.cycle``) with data are reported; ``periods`` narrows them further.

    ``tables`` is keyed by alias ('SalesActuals', 'Forecast', ...). ``by`` may use item,
    location, customer, vendor, family (from Items) and region (forecast: its own region; sales
    and budget: the customer's region; operations: the location's region). A KPI family whose
    tables lack a ``by`` column, or are absent, is skipped and listed in ``result.attrs
    ['skipped']``.

    ``memo``: where rows computed in an earlier click are kept (see :func:`kpi_scopes`).
    """
    return kpi_scopes(tables, settings, [by], periods=periods, memo=memo)[0]


def kpi_scopes(
    tables: Mapping[str, pd.DataFrame],
    settings: schema.Settings,
    scopes: Sequence[Sequence[str]],
    *,
    periods: Sequence[str] | None = None,
    memo: ResultMemo | None = None,
) -> list[pd.DataFrame]:
    """:func:`kpi_table` for each ``by`` of ``scopes`` (the KPIs sheet's and the scorecard's
    company, region and family), hashing the input tables once.

    The rows of a scope are computed once per content of their inputs: kept in this process
    (the KPIs step and the scorecard of one ``cycle``) and, with ``memo``
    (:class:`sop_xl.io.tablestore.ResultStore`), between clicks, under a digest of the tables'
    values, the settings and the scope (:func:`_memo_key`): a changed input cell is a new key.
    """
    scopes = [list(by) for by in scopes]
    if any("period" in by for by in scopes):
        raise KpiInputError("kpi_table reports per period already; leave 'period' out of by")
    digest = _inputs_digest(tables, settings)
    shared: dict = {}  # what the scopes have in common (see _kpi_rows)
    out = []
    for by in scopes:
        key = _scope_key(digest, by) if digest else None
        hit = _MEMO.get(key) if key else None
        if hit is None and key and memo is not None:
            hit = _from_memo(memo.get(f"kpi_rows\0{key}"))
        if hit is None:
            hit = _kpi_rows(tables, settings, by, shared)
            if key and memo is not None:
                rows, skipped = hit
                facts = {"skipped": list(skipped), "empty": rows is None}
                memo.put(f"kpi_rows\0{key}", pd.DataFrame() if rows is None else rows, facts)
        if key:
            _MEMO[key] = hit
            while len(_MEMO) > _MEMO_SIZE:  # the oldest first
                del _MEMO[next(iter(_MEMO))]
        out.append(_finish(hit, by, periods))
    return out


def _from_memo(
    got: tuple[pd.DataFrame, dict] | None,
) -> tuple[pd.DataFrame | None, list[str]] | None:
    if got is None:
        return None
    frame, facts = got
    return (None if facts["empty"] else frame), list(facts["skipped"])


def _finish(
    hit: tuple[pd.DataFrame | None, list[str]], by: list[str], periods: Sequence[str] | None
) -> pd.DataFrame:
    """The rows of one scope (before the period filter) as kpi_table returns them."""
    out, skipped = hit
    cols = ["kpi", "period", *by, "value", "numerator", "denominator", "n", "note"]
    if out is None:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    else:
        if periods is not None:
            out = out[out["period"].astype(str).isin(set(periods))]
        order = {k: i for i, k in enumerate(KPIS)}
        out = out.assign(_o=out["kpi"].map(order)).sort_values(["_o", *by, "period"])
        out = out.drop(columns="_o").reset_index(drop=True)
        out["n"] = out["n"].astype(np.int64)
        out["note"] = out["note"].fillna("").astype(str)
    out.attrs["skipped"] = list(skipped)
    return out


#: kpi_table's rows before the period filter, by a digest of its inputs (see :func:`_memo_key`).
_MEMO: dict[str, tuple[pd.DataFrame | None, list[str]]] = {}
_MEMO_SIZE = 6  # the three scopes of the KPIs sheet and of the scorecard


def _memo_key(
    tables: Mapping[str, pd.DataFrame], settings: schema.Settings, by: Sequence[str]
) -> str | None:
    """A digest of everything kpi_table's rows depend on: the content (values, columns, dtypes)
    of the tables it reads, the settings and ``by``. The KPIs step and the scorecard of one
    cycle read the same tables, so the scorecard reuses the KPIs step's rows instead of
    computing them again. None (no memo) when a table cannot be hashed."""
    digest = _inputs_digest(tables, settings)
    return _scope_key(digest, list(by)) if digest else None


def _scope_key(digest: str, by: list[str]) -> str:
    return hashlib.sha256(f"{digest}\0{by}".encode()).hexdigest()


def _inputs_digest(tables: Mapping[str, pd.DataFrame], settings: schema.Settings) -> str | None:
    """A digest of the settings and of the content (values, columns, dtypes) of the tables
    kpi_table reads (and _enrich looks up); None when a table cannot be hashed."""
    read = {alias: tables.get(alias) for alias in READ}
    return content_digest(read, "kpi_rows", settings.model_dump_json())


def _kpi_rows(
    tables: Mapping[str, pd.DataFrame],
    settings: schema.Settings,
    by: list[str],
    shared: dict | None = None,
) -> tuple[pd.DataFrame | None, list[str]]:
    """Every KPI row per closed month and group of ``by`` (unsorted), and what was skipped.

    ``shared``: what does not depend on ``by`` (the enriched tables, the compared cells of a
    grain), kept across the scopes of one :func:`kpi_scopes` call; it holds the frames it keys
    by ``id``, so a key cannot name another frame while it lives. Nothing in it is modified.
    """
    cycle = settings.cycle
    as_of = f"{cycle}-01"
    frames: list[pd.DataFrame] = []
    skipped: list[str] = []
    shared = {} if shared is None else shared

    def t(alias: str, region_from: str, own_region: bool = True) -> pd.DataFrame | None:
        key = ("enriched", alias, region_from, own_region)
        if key not in shared:
            df = tables.get(alias)
            if df is not None and not own_region:
                df = df.drop(columns=["region"], errors="ignore")
            shared[key] = None if df is None else _enrich(df, tables, region_from)
        return shared[key]

    actuals = t("SalesActuals", "customer")
    forecast = t("Forecast", "location")  # Forecast carries its own region; kept as is
    budget = t("SalesBudget", "customer")

    # Forecast accuracy: region x item x location x month (+ customer when grouping by it).
    if _has(actuals, ["quantity", *by]) and _has(forecast, ["quantity", *by]):
        grain = [c for c in ("region", "item", "location") if c in forecast.columns]
        grain += [c for c in by if c not in grain]
        if all(c in actuals.columns for c in grain):
            frames.append(
                _accuracy_rows(
                    actuals,
                    forecast,
                    grain=grain,
                    by=by,
                    actual_col="quantity",
                    plan_col="quantity",
                    cycle=cycle,
                    rename=None,
                    with_history=True,
                    shared=shared,
                )
            )
        else:
            skipped.append("forecast accuracy (actuals lack a grain column)")
    else:
        skipped.append("forecast accuracy")

    # Sales budget vs actual revenue, same grain.
    if _has(actuals, ["amount", *by]) and _has(budget, ["amount", *by]):
        grain = [c for c in ("region", "item", "location") if c in budget.columns]
        grain += [c for c in by if c not in grain]
        frames.append(
            _accuracy_rows(
                actuals,
                budget,
                grain=grain,
                by=by,
                actual_col="amount",
                plan_col="amount",
                cycle=cycle,
                rename={"forecast_accuracy": "budget_accuracy", "bias_pct": "budget_bias_pct"},
                with_history=False,
                shared=shared,
            )
        )
        closed_a = _closed(actuals, cycle, shared)
        rv = revenue_vs_budget(closed_a, budget, by=[*by, "period"])
        frames.append(_melt(rv, [*by, "period"], ["revenue_vs_budget_pct"]))
    else:
        skipped.append("budget")
    if _has(actuals, ["amount", "cost", *by]):
        closed_a = _closed(actuals, cycle, shared)
        frames.append(
            _melt(gross_margin(closed_a, by=[*by, "period"]), [*by, "period"], ["gross_margin_pct"])
        )

    lines = t("SalesOrderLines", "customer")
    if _has(lines, by):
        pb = [*by, "period"]
        fr = fill_rates(lines, settings, pb, as_of=as_of)
        frames.append(_melt(fr, pb, ["line_fill_rate", "order_fill_rate", "unit_fill_rate"]))
        frames.append(_melt(delivery(lines, settings, pb, as_of=as_of), pb, ["otd", "otif"]))
        to_request = delivery(lines, settings, pb, basis="requested", as_of=as_of)
        frames.append(_melt(to_request.rename(columns=_TO_REQUEST), pb, ["otd_request"]))
    else:
        skipped.append("fill rates and delivery")

    orders = t("ProductionOrders", "location")
    if _has(orders, by):
        pb = [*by, "period"]
        sa = schedule_attainment(orders, settings, pb, as_of=as_of)
        frames.append(_melt(sa, pb, ["schedule_attainment", "schedule_adherence", "schedule_otif"]))
    else:
        skipped.append("schedule attainment")

    receipts = t("PurchaseReceipts", "location")
    if _has(receipts, by):
        pb = [*by, "period"]
        vp = vendor_performance(receipts, settings, pb, as_of=as_of)
        frames.append(_melt(vp, pb, ["vendor_otd", "vendor_qty_complete"]))
    else:
        skipped.append("vendor performance")

    inventory = t("Inventory", "location")
    if _has(inventory, ["value", *by]) and _has(actuals, ["cost", *by]):
        pb = [*by, "period"]
        closed_a = _closed(actuals, cycle, shared)
        closed_i = _closed(inventory, cycle, shared)
        turns, days = turns_and_days_of_supply(closed_a, closed_i, pb, annualise=True)
        frames.append(_melt(turns, pb, ["inventory_turns"]))
        frames.append(_melt(days, pb, ["days_of_supply"]))
        ttm = inventory_turns_ttm(closed_a, closed_i, pb)
        frames.append(_melt(ttm, pb, ["inventory_turns_ttm"]))
        fc = tables.get("Forecast")
        items = tables.get("Items")
        if _has(fc, ["item", "location", "period", "quantity"]) and _has(items, ["unit_cost"]):
            # demand against the stock that serves it: the forecast's location region
            fc = t("Forecast", "location", own_region=False)
            if all(c in fc.columns for c in by):
                fwd = forward_days_of_supply(closed_i, fc, items, pb)
                frames.append(_melt(fwd, pb, ["forward_days_of_supply"]))
    else:
        skipped.append("inventory")

    frames = [f for f in frames if len(f)]
    cols = ["kpi", "period", *by, "value", "numerator", "denominator", "n", "note"]
    if not frames:
        return None, skipped
    out = pd.concat(frames, ignore_index=True)[cols]
    out = out[out["period"].notna() & (out["period"].astype(str) < cycle)]
    family = {k: d.family for k, d in KPIS.items()}
    ops = ~out["kpi"].map(family).isin(("forecast", "budget", "finance"))
    return out[~(ops & (out["n"] == 0))], skipped  # ops groups with nothing due that month


# --- the cycle step -------------------------------------------------------------------------------
#: Scopes written to the KPIs sheet: company total, per region, per item family.
SCOPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Total", ()),
    ("Region", ("region",)),
    ("Family", ("family",)),
)
READ = (
    "SalesActuals",
    "Forecast",
    "SalesBudget",
    "SalesOrderLines",
    "ProductionOrders",
    "PurchaseReceipts",
    "Inventory",
    "Items",
    "Customers",
    "Locations",
)


@dataclass
class KpiResult:
    """What :func:`run_kpis` computed and wrote."""

    table: pd.DataFrame  # the KPIs sheet rows (engine column names)
    outputs: list[SheetOutput] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    summary: str = ""


def sheet_frame(long: pd.DataFrame, scope_type: str, by: Sequence[str]) -> pd.DataFrame:
    """kpi_table rows -> KPIs sheet rows (name, unit, scope, value split by unit)."""
    by = list(by)
    df = long.copy()
    df["name"] = df["kpi"].map({k: d.name for k, d in KPIS.items()})
    df["unit"] = df["kpi"].map({k: d.unit for k, d in KPIS.items()})
    df["scope_type"] = scope_type
    df["scope"] = df[by[0]].astype(str) if by else ""
    pct = (df["unit"] == "pct").to_numpy()
    vals = df["value"].to_numpy(float)
    df["value_pct"] = np.where(pct, vals, np.nan)
    df["value"] = np.where(pct, np.nan, vals)
    return df[[c.name for c in KPIS_TABLE.columns]]


def run_kpis(book: Book, *, memo: ResultMemo | None = None) -> KpiResult:
    """Compute every KPI per closed month for the company, each region and each item family and
    write the ``KPIs`` sheet (one write, at the end). ``memo``: see :func:`kpi_scopes`."""
    settings = book.read_settings()
    share = len(READ) / (len(READ) + 1)
    tables = read_tables(book, map(schema.table, READ), share=share)
    book.progress("Computing KPIs: company, regions, families", share)
    scoped = kpi_scopes(tables, settings, [by for _, by in SCOPES], memo=memo)
    parts, skipped = [], []
    for (scope_type, by), long in zip(SCOPES, scoped, strict=True):
        skipped += [f"{s} ({scope_type.lower()})" for s in long.attrs.get("skipped", [])]
        if len(long):
            parts.append(sheet_frame(long, scope_type, by))
    cols = [c.name for c in KPIS_TABLE.columns]
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    months = sorted(df["period"].unique()) if len(df) else []
    span = f"{months[0]} to {months[-1]}" if months else "no closed month with data"
    title = [
        f"S&OP KPIs - {settings.company}",
        f"Cycle {settings.cycle}: closed months {span}. Percent KPIs in 'Value (%)', others in "
        "'Value'. Definitions: SOP_KPI_INFO(id) or docs/kpis.md.",
    ]
    out = SheetOutput(table=KPIS_TABLE, df=df, title=title)
    book.write([out])
    summary = f"{len(df)} KPI values for {df['kpi'].nunique() if len(df) else 0} KPIs, {span}"
    if skipped:
        summary += f"; skipped: {', '.join(dict.fromkeys(skipped))}"
    book.progress("KPIs written", 1.0)
    return KpiResult(table=df, outputs=[out], skipped=skipped, summary=summary)


KPIS_TABLE = schema.KPIS_TABLE
