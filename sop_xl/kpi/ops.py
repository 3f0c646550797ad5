"""Operational and financial KPIs over whole tables: fill rates, on-time delivery and OTIF,
schedule attainment and adherence, vendor performance, inventory turns, days of supply, revenue
vs budget and gross margin.

What each KPI means (formula, numerator, denominator, zero policy, sign) is written once, in
the registry :data:`sop_xl.kpi.defs.KPIS`, under the KPI id each function returns as a column;
the docstrings here say only how a function applies those definitions to the tables.

Every public function has one signature style: ``(table, ..., settings, by=(), *, options)``:
the long tables it reads first, then :class:`~sop_xl.model.schema.Settings` where its window
rules need them, then ``by``, then keyword-only options (``basis=``, ``as_of=``, ``annualise=``,
``months=``); tests/kpi/test_kpi_ops.py checks it. Each takes the schema's long tables (engine
column names), returns one row per group
of ``by`` with, per KPI, the value and its numerator (``<kpi>_num``) and denominator
(``<kpi>_den``), plus ``n`` (records counted) and a plain-language ``note``. ``by`` may name any
column of the input plus ``period``, which means the month the record is *due* in (sales lines:
due date; production orders: due date; receipts: promised date). Rates with a zero denominator
are NaN with a note, never 0.

Window rules (from :class:`~sop_xl.model.schema.Settings`):

- customer on time: ship date in [due - customer_days_early, due + customer_days_late];
- fill: shipped complete, whenever shipped (the date is on-time delivery's job);
- production: finished by due + production_days_late (early is fine);
- vendor on time: received in [promised - vendor_days_early, promised + vendor_days_late].

Records due on or after ``as_of`` (default: none excluded) are not yet due and are left out;
records due before it that were never shipped / finished / received count as failures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from sop_xl.kpi.cells import joint_codes
from sop_xl.kpi.codes import codes_of, group_codes
from sop_xl.kpi.forecast import KpiInputError
from sop_xl.model.schema import Settings

Basis = Literal["promised", "requested"]
FALLBACK_NOTE = "{n} line(s) without a promised date measured against the requested date"


# --- helpers -----------------------------------------------------------------------------------
def _need(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KpiInputError(
            f"{what}: column(s) {missing} missing; the table has {list(df.columns)}",
            fix="pass the table as read from the workbook (engine column names)",
        )


def _dates(s: pd.Series) -> np.ndarray:
    """Dates as datetime64[D] (NaT for blanks)."""
    return pd.to_datetime(s, errors="coerce").to_numpy(dtype="datetime64[D]")


def _qty(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def month_text(d: np.ndarray) -> np.ndarray:
    """datetime64 array -> 'YYYY-MM' object array (None for NaT), vectorised."""
    months = d.astype("datetime64[M]")
    ok = ~np.isnat(months)
    out = np.full(d.shape, None, dtype=object)
    if ok.any():
        uniq, inv = np.unique(months[ok], return_inverse=True)
        out[ok] = np.array([str(u) for u in uniq], dtype=object)[inv.reshape(-1)]
    return out


def _texts(s: pd.Series) -> pd.Series:
    """The distinct values of ``s`` as text (``astype(str)``: a missing value stays missing)."""
    return pd.Series(pd.unique(s.to_numpy(dtype=object)), dtype=object).astype(str)


def _text_isin(s: pd.Series, values: set) -> np.ndarray:
    """Per row: ``s.astype(str).isin(values)``, computed once per distinct value of ``s``
    (a missing value stays missing as text, so it matches nothing)."""
    codes, uniq = codes_of(s.to_numpy(dtype=object))
    return pd.Series(uniq, dtype=object).astype(str).isin(values).to_numpy(dtype=bool)[codes]


def _as_of(as_of: dt.date | str | None) -> np.datetime64 | None:
    """'2026-11' (first day of that month) or a date -> datetime64[D]."""
    if as_of is None:
        return None
    if isinstance(as_of, str) and len(as_of) == 7:
        as_of = f"{as_of}-01"
    return np.datetime64(pd.Timestamp(as_of).date(), "D")


def _grouped(
    frame: pd.DataFrame,
    by: Sequence[str],
    parts: dict[str, np.ndarray],
    ratios: dict[str, tuple[str, str]],
    scale: dict[str, float] | None = None,
    count_notes: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Sum ``parts`` per group of ``by`` and derive ``ratios`` (kpi -> (num part, den part)).

    ``count_notes`` maps a part to a note template with ``{n}``, added where the part's group
    sum is above 0 (e.g. lines measured against a fallback date).
    """
    by = list(by)
    inv, groups = group_codes(frame, by)
    ng = len(groups)
    sums = {k: np.bincount(inv, weights=v, minlength=ng) for k, v in parts.items()}
    columns: dict[str, object] = {c: groups[c] for c in by}
    columns["n"] = sums["n"].astype(np.int64) if "n" in sums else np.zeros(ng, dtype=np.int64)
    notes = np.full(ng, "", dtype=object)
    for kpi, (num, den) in ratios.items():
        nv, dv = sums[num], sums[den]
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.where(dv > 0, nv / np.where(dv > 0, dv, 1.0), np.nan)
        columns[kpi] = val * (scale or {}).get(kpi, 1.0)
        columns[f"{kpi}_num"] = nv
        columns[f"{kpi}_den"] = dv
        notes = np.where(dv > 0, notes, notes + f"{kpi}: nothing due; ")
    for part, template in (count_notes or {}).items():
        k = sums[part].astype(np.int64)
        notes = notes + np.array(
            [template.format(n=v) + "; " if v > 0 else "" for v in k], dtype=object
        )
    columns["note"] = pd.Series([t.rstrip("; ") for t in notes], dtype=object)
    return pd.DataFrame(columns, index=pd.RangeIndex(ng))


def _frame(df: pd.DataFrame, by: Sequence[str], period: np.ndarray) -> pd.DataFrame:
    """The grouping columns of ``df`` plus ``period`` (the due month)."""
    cols = [c for c in by if c != "period"]
    _need(df, cols, "grouping")
    frame = df[cols].copy() if cols else pd.DataFrame(index=df.index)
    frame["period"] = period
    return frame


def _due_dates(lines: pd.DataFrame, basis: Basis) -> tuple[np.ndarray, np.ndarray]:
    """Due date per line: promised date (requested when blank), or requested date."""
    requested = _dates(lines["requested_date"])
    if basis == "requested":
        return requested, np.zeros(len(requested), dtype=bool)
    if basis != "promised":
        raise KpiInputError(f"basis must be 'promised' or 'requested', got {basis!r}")
    if "promised_date" not in lines.columns:
        return requested, np.ones(len(requested), dtype=bool)
    promised = _dates(lines["promised_date"])
    fallback = np.isnat(promised)
    return np.where(fallback, requested, promised), fallback


def _line_flags(
    lines: pd.DataFrame, settings: Settings, basis: Basis, as_of
) -> dict[str, np.ndarray]:
    """Per line: due date, whether it counts, and its fill / on-time / OTIF outcome.

    Cutoff rule (no restatement after freeze): with ``as_of``, only lines due before it count,
    and a shipment dated on or after it is not seen (as of the cutoff the line had not shipped).
    """
    _need(lines, ["requested_date", "qty_ordered", "qty_shipped", "ship_date"], "sales order lines")
    due, fallback = _due_dates(lines, basis)
    ordered = _qty(lines["qty_ordered"])
    shipped = np.nan_to_num(_qty(lines["qty_shipped"]), nan=0.0)  # blank = nothing shipped yet
    ship = _dates(lines["ship_date"])
    cutoff = _as_of(as_of)
    valid = ~np.isnat(due) & (ordered > 0)
    due_ok = valid.copy()
    shipped_at = ~np.isnat(ship)
    if cutoff is not None:
        due_ok &= due < cutoff
        shipped_at &= ship < cutoff
    shipped = np.where(shipped_at, shipped, 0.0)
    early = np.timedelta64(settings.customer_days_early, "D")
    late = np.timedelta64(settings.customer_days_late, "D")
    by_due = shipped_at & (ship <= due + late)
    in_window = by_due & (ship >= due - early)
    complete = shipped_at & (shipped >= ordered)
    return {
        "due": due,
        "valid": valid,
        "considered": due_ok,
        "complete": valid & complete,
        "filled": due_ok & complete,
        "on_time": due_ok & in_window,
        "otif": due_ok & in_window & complete,
        "units_ordered": np.where(due_ok, ordered, 0.0),
        "units_filled": np.where(due_ok, np.minimum(shipped, ordered), 0.0),
        "fallback": (due_ok & fallback).astype(float),
        "cutoff": cutoff,
    }


# --- customer fill and delivery -----------------------------------------------------------------
def fill_rates(
    lines: pd.DataFrame,
    settings: Settings,
    by: Sequence[str] = (),
    *,
    basis: Basis = "promised",
    as_of: dt.date | str | None = None,
) -> pd.DataFrame:
    """``line_fill_rate``, ``order_fill_rate`` and ``unit_fill_rate`` per group (definitions:
    :data:`sop_xl.kpi.defs.KPIS`; timing is :func:`delivery`'s job).

    An order is judged over its lines in the group, in the month of its LATEST line due date,
    and only once that date is before ``as_of`` (an order with a line due after the cutoff is
    not yet scored). Lines with quantity 0 or no due date are excluded (not counted in ``n``).
    A line's recorded shipment is its first (the table holds one shipment date per line).
    """
    fl = _line_flags(lines, settings, basis, as_of)
    frame = _frame(lines, by, month_text(fl["due"]))
    c = fl["considered"]
    line = _grouped(
        frame,
        by,
        {
            "n": c.astype(float),
            "_filled": fl["filled"].astype(float),
            "_lines": c.astype(float),
            "_uf": fl["units_filled"],
            "_uo": fl["units_ordered"],
            "_fb": fl["fallback"],
        },
        {"line_fill_rate": ("_filled", "_lines"), "unit_fill_rate": ("_uf", "_uo")},
        count_notes={"_fb": FALLBACK_NOTE},
    )
    # Orders: judged on all their lines within the group; month = latest due month; scored
    # only when that latest due date is before the cutoff (issue 14: no partial orders).
    _need(lines, ["order"], "sales order lines")
    keys = [b for b in by if b != "period"]
    orders, filled = _orders(frame[keys], lines["order"], fl)
    of = _grouped(
        orders,
        by,
        {"n": np.ones(len(orders)), "_of": filled.astype(float), "_od": np.ones(len(orders))},
        {"order_fill_rate": ("_of", "_od")},
    )
    of = of.rename(columns={"n": "order_fill_rate_n"}).drop(columns="note")
    if by:
        out = line.merge(of, on=list(by), how="left")
        out["order_fill_rate_n"] = out["order_fill_rate_n"].fillna(0).astype(np.int64)
    else:
        out = line.assign(**{c: of[c].to_numpy() for c in of.columns})
    return out


def _orders(
    keys: pd.DataFrame, order: pd.Series, fl: dict[str, np.ndarray]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The orders of the valid lines, per order id within each group of ``keys`` (the group
    columns of the lines): their group columns and ``period`` (the month of the latest line due
    date), only those whose latest due date is before the cutoff, and whether every line is
    complete."""
    v = np.flatnonzero(fl["valid"])
    lines = keys.iloc[v].reset_index(drop=True)
    lines["_order"] = order.to_numpy()[v]
    (key,) = joint_codes([lines], [*keys.columns, "_order"])
    of_line, distinct = pd.factorize(key)
    n = len(distinct)
    latest = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(latest, of_line, fl["due"][v].astype("datetime64[D]").astype(np.int64))
    due = latest.astype("datetime64[D]")
    complete = np.ones(n, dtype=bool)
    np.logical_and.at(complete, of_line, fl["complete"][v])
    first = np.full(n, len(v), dtype=np.int64)
    np.minimum.at(first, of_line, np.arange(len(v)))
    keep = due < fl["cutoff"] if fl["cutoff"] is not None else np.ones(n, dtype=bool)
    orders = lines[list(keys.columns)].iloc[first[keep]].reset_index(drop=True)
    orders["period"] = month_text(due[keep])
    return orders, complete[keep]


def delivery(
    lines: pd.DataFrame,
    settings: Settings,
    by: Sequence[str] = (),
    *,
    basis: Basis = "promised",
    as_of: dt.date | str | None = None,
) -> pd.DataFrame:
    """``otd`` and ``otif`` per group (definitions: :data:`sop_xl.kpi.defs.KPIS`).

    Due = promised date (requested date where no promise) or, with ``basis='requested'``, the
    requested date (the registry's ``otd_request``). Unshipped lines that are due count as late.
    """
    fl = _line_flags(lines, settings, basis, as_of)
    frame = _frame(lines, by, month_text(fl["due"]))
    c = fl["considered"].astype(float)
    out = _grouped(
        frame,
        by,
        {
            "n": c,
            "_ot": fl["on_time"].astype(float),
            "_otif": fl["otif"].astype(float),
            "_due": c,
            "_fb": fl["fallback"],
        },
        {"otd": ("_ot", "_due"), "otif": ("_otif", "_due")},
        count_notes={"_fb": FALLBACK_NOTE},
    )
    return out


# --- production ---------------------------------------------------------------------------------
RELEASED_STATUSES = ("Released", "Finished")


def schedule_attainment(
    orders: pd.DataFrame,
    settings: Settings,
    by: Sequence[str] = (),
    *,
    cap: bool = True,
    as_of: dt.date | str | None = None,
) -> pd.DataFrame:
    """``schedule_attainment``, ``schedule_adherence`` and ``schedule_otif`` of released and
    finished production orders per group (definitions: :data:`sop_xl.kpi.defs.KPIS`).

    ``cap=False`` counts an order's completed quantity above its planned one. Planned and firm
    planned orders are not part of the released schedule and are excluded. With ``as_of`` a
    completion dated on or after it is not seen (no restatement after freeze).
    """
    _need(
        orders,
        ["status", "planned_qty", "due_date", "completed_qty", "completion_date"],
        "production orders",
    )
    due = _dates(orders["due_date"])
    done = _dates(orders["completion_date"])
    planned = _qty(orders["planned_qty"])
    completed = np.nan_to_num(_qty(orders["completed_qty"]), nan=0.0)
    released = orders["status"].astype(str).isin(RELEASED_STATUSES).to_numpy()
    considered = released & ~np.isnat(due) & (planned > 0)
    cutoff = _as_of(as_of)
    if cutoff is not None:
        considered &= due < cutoff
    if cutoff is not None:
        done = np.where(done < cutoff, done, np.datetime64("NaT"))
    late = np.timedelta64(settings.production_days_late, "D")
    in_time = considered & ~np.isnat(done) & (done <= due + late)
    qty = np.minimum(completed, planned) if cap else completed
    frame = _frame(orders, by, month_text(due))
    c = considered.astype(float)
    return _grouped(
        frame,
        by,
        {
            "n": c,
            "_qty": np.where(in_time, qty, 0.0),
            "_planned": np.where(considered, planned, 0.0),
            "_ok": in_time.astype(float),
            "_full": (in_time & (completed >= planned)).astype(float),
            "_due": c,
        },
        {
            "schedule_attainment": ("_qty", "_planned"),
            "schedule_adherence": ("_ok", "_due"),
            "schedule_otif": ("_full", "_due"),
        },
    )


# --- vendors ------------------------------------------------------------------------------------
def vendor_performance(
    receipts: pd.DataFrame,
    settings: Settings,
    by: Sequence[str] = (),
    *,
    as_of: dt.date | str | None = None,
) -> pd.DataFrame:
    """``vendor_otd`` and ``vendor_qty_complete`` per group, usually ``by=['vendor']``
    (definitions: :data:`sop_xl.kpi.defs.KPIS`)."""
    _need(receipts, ["promised_date", "received_date", "qty_ordered", "qty_received"], "receipts")
    promised = _dates(receipts["promised_date"])
    received = _dates(receipts["received_date"])
    ordered = _qty(receipts["qty_ordered"])
    got = np.nan_to_num(_qty(receipts["qty_received"]), nan=0.0)
    considered = ~np.isnat(promised) & (ordered > 0)
    cutoff = _as_of(as_of)
    if cutoff is not None:
        considered &= promised < cutoff
        seen = ~np.isnat(received) & (received < cutoff)
        received = np.where(seen, received, np.datetime64("NaT"))
        got = np.where(seen, got, 0.0)
    early = np.timedelta64(settings.vendor_days_early, "D")
    late = np.timedelta64(settings.vendor_days_late, "D")
    on_time = (
        considered
        & ~np.isnat(received)
        & (received >= promised - early)
        & (received <= promised + late)
    )
    frame = _frame(receipts, by, month_text(promised))
    c = considered.astype(float)
    return _grouped(
        frame,
        by,
        {
            "n": c,
            "_ot": on_time.astype(float),
            "_full": (considered & (got >= ordered)).astype(float),
            "_due": c,
        },
        {"vendor_otd": ("_ot", "_due"), "vendor_qty_complete": ("_full", "_due")},
    )


# --- inventory ----------------------------------------------------------------------------------
def _pidx(periods: pd.Series) -> np.ndarray:
    """'YYYY-MM' -> year * 12 + month, parsing each distinct period once (a blank one raises)."""
    codes, uniq = pd.factorize(periods)
    if (codes < 0).any():  # a missing period: the per-row parse below raises as it always did
        uniq, codes = periods, np.arange(len(periods))
    s = pd.Series(np.asarray(uniq, dtype=object)).astype(str)
    idx = s.str.slice(0, 4).astype(int).to_numpy() * 12 + s.str.slice(5, 7).astype(int).to_numpy()
    return idx[codes] if len(idx) else np.zeros(0, dtype=np.int64)


def _months(idx: np.ndarray) -> np.ndarray:
    """Month index (year * 12 + month) -> datetime64[M]."""
    return (np.asarray(idx, dtype=np.int64) - 1 - 1970 * 12).astype("datetime64[M]")


def _ptext(idx: np.ndarray) -> np.ndarray:
    """Month index -> 'YYYY-MM' text (vectorised)."""
    return _months(idx).astype(str).astype(object)


def _days_in(idx: np.ndarray) -> np.ndarray:
    """Month index -> number of calendar days in that month."""
    m = _months(idx)
    return ((m + 1).astype("datetime64[D]") - m.astype("datetime64[D]")).astype(np.int64)


def _cogs_and_stock(
    actuals: pd.DataFrame, inventory: pd.DataFrame, keys: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    _need(actuals, [*keys, "period", "cost"], "sales actuals")
    _need(inventory, [*keys, "period", "value"], "inventory")
    cogs = actuals.groupby([*keys, "period"], sort=False, dropna=False)["cost"].sum().reset_index()
    stock = inventory.groupby([*keys, "period"], sort=False, dropna=False)["value"].sum()
    stock = stock.reset_index()
    cogs["_p"] = _pidx(cogs["period"])
    stock["_p"] = _pidx(stock["period"])
    return cogs.drop(columns="period"), stock.drop(columns="period")


def _inventory_base(
    actuals: pd.DataFrame, inventory: pd.DataFrame, by: Sequence[str]
) -> pd.DataFrame:
    """Per group (and month when ``period`` in by): cogs, opening, closing, months, days."""
    keys = [c for c in by if c != "period"]
    cogs, stock = _cogs_and_stock(actuals, inventory, keys)
    if "period" in by:
        base = cogs.merge(stock.rename(columns={"value": "closing"}), on=[*keys, "_p"], how="outer")
        opening = stock.assign(_p=stock["_p"] + 1).rename(columns={"value": "opening"})
        base = base.merge(opening, on=[*keys, "_p"], how="left")
        base["period"] = _ptext(base["_p"].to_numpy())
        base["months"] = 1
        base["days"] = _days_in(base["_p"].to_numpy())
        base["points"] = base[["opening", "closing"]].notna().sum(axis=1)
        base["stock_sum"] = base[["opening", "closing"]].sum(axis=1, min_count=1)
        return base.drop(columns="_p")
    # One span for every group: the months with sales; points = month-ends first-1 .. last.
    if len(cogs) == 0:
        first = last = 0
    else:
        first, last = int(cogs["_p"].min()), int(cogs["_p"].max())
    pts = stock[(stock["_p"] >= first - 1) & (stock["_p"] <= last)]
    agg = {"cost": ("cost", "sum")}
    c = cogs.groupby(keys, dropna=False).agg(**agg) if keys else cogs[["cost"]].sum().to_frame().T
    if keys:
        s = pts.groupby(keys, dropna=False).agg(
            stock_sum=("value", "sum"), points=("_p", "nunique")
        )
        closing = pts[pts["_p"] == last].groupby(keys, dropna=False)["value"].sum()
        base = c.join(s, how="outer").join(closing.rename("closing"), how="left").reset_index()
    else:
        base = c.assign(
            stock_sum=pts["value"].sum() if len(pts) else np.nan,
            points=pts["_p"].nunique(),
            closing=pts.loc[pts["_p"] == last, "value"].sum()
            if (pts["_p"] == last).any()
            else np.nan,
        ).reset_index(drop=True)
    base["months"] = last - first + 1
    base["days"] = int(_days_in(np.arange(first, last + 1)).sum())
    base["opening"] = np.nan
    return base


def inventory_turns(
    actuals: pd.DataFrame,
    inventory: pd.DataFrame,
    by: Sequence[str] = (),
    *,
    annualise: bool = False,
) -> pd.DataFrame:
    """``inventory_turns`` per group (definition: :data:`sop_xl.kpi.defs.KPIS`).

    With ``period`` in ``by``: per month, average = mean of the opening (previous month-end)
    and closing month-end values that exist. Without: COGS over the months with sales, average
    over the month-ends from the month before the first to the last. ``annualise`` multiplies by
    12 / months. COGS is the Cost Amount of sales actuals (positive for sales, negative for
    returns).
    """
    return _turns(_inventory_base(actuals, inventory, by), by, annualise)


def _turns(base: pd.DataFrame, by: Sequence[str], annualise: bool) -> pd.DataFrame:
    cost = base["cost"].fillna(0.0).to_numpy(float)  # a month with stock and no sales: COGS 0
    points = base["points"].fillna(0).to_numpy(float)
    avg = np.where(points > 0, base["stock_sum"].to_numpy(float) / np.maximum(points, 1), np.nan)
    factor = 12.0 / base["months"].to_numpy(float) if annualise else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        turns = np.where(avg > 0, cost / np.where(avg > 0, avg, 1.0) * factor, np.nan)
    out = base[list(by)].copy() if by else pd.DataFrame(index=base.index)
    out["inventory_turns"] = turns
    out["inventory_turns_num"] = cost * factor
    out["inventory_turns_den"] = avg
    out["n"] = points.astype(np.int64)
    note = np.where(~(avg > 0), "no inventory value: turns undefined", "")
    if "period" in by:
        one = (points == 1) & np.isnan(base["opening"].to_numpy(float))
        note = np.where(one & (avg > 0), "no opening month-end: closing value used", note)
    out["note"] = note
    return out.reset_index(drop=True)


def days_of_supply(
    actuals: pd.DataFrame, inventory: pd.DataFrame, by: Sequence[str] = ()
) -> pd.DataFrame:
    """``days_of_supply`` per group (definition: :data:`sop_xl.kpi.defs.KPIS`).

    With ``period`` in ``by``: per month (closing = that month-end, days in the month).
    Without: closing = the last month-end of the span, COGS and days over the span.
    """
    return _days_of_supply(_inventory_base(actuals, inventory, by), by)


def _days_of_supply(base: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    cost = base["cost"].fillna(0.0).to_numpy(float)
    closing = base["closing"].to_numpy(float)
    per_day = cost / base["days"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        dos = np.where((per_day > 0) & ~np.isnan(closing), closing / per_day, np.nan)
    out = base[list(by)].copy() if by else pd.DataFrame(index=base.index)
    out["days_of_supply"] = dos
    out["days_of_supply_num"] = closing
    out["days_of_supply_den"] = per_day
    out["n"] = (~np.isnan(closing)).astype(np.int64)
    out["note"] = np.where(
        np.isnan(closing),
        "no closing inventory",
        np.where(per_day > 0, "", "no cost of sales: days of supply undefined"),
    )
    return out.reset_index(drop=True)


def turns_and_days_of_supply(
    actuals: pd.DataFrame,
    inventory: pd.DataFrame,
    by: Sequence[str] = (),
    *,
    annualise: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`inventory_turns` and :func:`days_of_supply` of the same tables, from one pass
    over them (the KPI table reports both)."""
    base = _inventory_base(actuals, inventory, by)
    return _turns(base, by, annualise), _days_of_supply(base, by)


# --- finance ------------------------------------------------------------------------------------
def revenue_vs_budget(
    actuals: pd.DataFrame, budget: pd.DataFrame, by: Sequence[str] = ()
) -> pd.DataFrame:
    """``revenue_vs_budget_pct`` per group (definition: :data:`sop_xl.kpi.defs.KPIS`). Only
    periods present in the budget count."""
    by = list(by)
    _need(actuals, [*by, "amount"], "sales actuals")
    _need(budget, [*by, "amount"], "sales budget")
    keep = np.ones(len(actuals), dtype=bool)
    if "period" in actuals.columns and "period" in budget.columns:
        keep = _text_isin(actuals["period"], set(_texts(budget["period"])))
    both = pd.concat([actuals.loc[keep, by], budget[by]], ignore_index=True)
    n_a = int(keep.sum())
    av = np.concatenate([actuals["amount"].to_numpy(float)[keep], np.zeros(len(budget))])
    bv = np.concatenate([np.zeros(n_a), budget["amount"].to_numpy(float)])
    out = _grouped(
        both,
        by,
        {"n": np.r_[np.zeros(n_a), np.ones(len(budget))], "_var": av - bv, "_b": bv},
        {"revenue_vs_budget_pct": ("_var", "_b")},
    )
    out["note"] = out["note"].str.replace("nothing due", "no budget revenue")
    return out


def gross_margin(actuals: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """``gross_margin_pct`` per group (definition: :data:`sop_xl.kpi.defs.KPIS`)."""
    by = list(by)
    _need(actuals, [*by, "amount", "cost"], "sales actuals")
    amount = actuals["amount"].to_numpy(float)
    cost = actuals["cost"].to_numpy(float)
    out = _grouped(
        actuals,
        by,
        {"n": np.ones(len(actuals)), "_gm": amount - cost, "_rev": amount},
        {"gross_margin_pct": ("_gm", "_rev")},
    )
    out["note"] = out["note"].str.replace("nothing due", "no revenue")
    return out


# --- inventory: trailing twelve months and forward coverage --------------------------------------
def _grid(
    df: pd.DataFrame, keys: list[str], values: np.ndarray, p: np.ndarray, first: int, last: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Sum ``values`` (one per row of ``df``, in month ``p``: see :func:`_pidx`) per group of
    ``keys`` x month into a groups x months grid (NaN = none); the groups in the order of their
    first row."""
    ok = np.flatnonzero((p >= first) & (p <= last))
    if keys:
        (key,) = joint_codes([df[keys].iloc[ok]], keys)
        gi = pd.factorize(key)[0]  # groups in the order of their first row
        _, first_row = np.unique(gi, return_index=True)
        groups = df[keys].iloc[ok[first_row]].reset_index(drop=True)
    else:
        groups = pd.DataFrame(index=[0])
        gi = np.zeros(len(ok), dtype=np.int64)
    ng, nm = len(groups), last - first + 1
    flat = gi * nm + (p[ok] - first)
    vals = values[ok]
    total = np.bincount(flat, weights=np.nan_to_num(vals), minlength=ng * nm).reshape(ng, nm)
    seen = np.bincount(flat, weights=~np.isnan(vals), minlength=ng * nm).reshape(ng, nm)
    return groups, np.where(seen > 0, total, np.nan)


def _align(groups: pd.DataFrame, other: pd.DataFrame, grid: np.ndarray, keys: list[str]):
    """Rows of ``grid`` (keyed by ``other``) in the order of ``groups`` (NaN where missing)."""
    if not keys:
        return grid if len(grid) else np.full((1, grid.shape[1]), np.nan)
    pos = pd.MultiIndex.from_frame(other[keys]).get_indexer(pd.MultiIndex.from_frame(groups[keys]))
    out = np.full((len(groups), grid.shape[1]), np.nan)
    out[pos >= 0] = grid[pos[pos >= 0]]
    return out


def inventory_turns_ttm(
    actuals: pd.DataFrame,
    inventory: pd.DataFrame,
    by: Sequence[str] = (),
    *,
    months: int = 12,
) -> pd.DataFrame:
    """``inventory_turns_ttm`` per group and month, the headline turns figure (definition:
    :data:`sop_xl.kpi.defs.KPIS`; ``months`` is its 12-month window).

    One row per group of ``by`` (``period`` is always added) and month with a closing
    month-end. Fewer month-ends or COGS months than a full window: computed over what exists
    and said in the note.
    """
    keys = [c for c in by if c != "period"]
    _need(actuals, [*keys, "period", "cost"], "sales actuals")
    _need(inventory, [*keys, "period", "value"], "inventory")
    cols = [*keys, "period", "inventory_turns_ttm"]
    if not len(inventory):
        return pd.DataFrame(columns=[*cols, "inventory_turns_ttm_num", "n", "note"])
    pa = _pidx(actuals["period"]) if len(actuals) else np.zeros(0, dtype=np.int64)
    pi = _pidx(inventory["period"])
    first = int(min(pi.min(), pa.min() if len(pa) else pi.min()))
    last = int(pi.max())
    groups, stock = _grid(inventory, keys, inventory["value"].to_numpy(float), pi, first, last)
    cg, cogs = _grid(actuals, keys, actuals["cost"].to_numpy(float), pa, first, last)
    cogs = _align(groups, cg, cogs, keys)
    ng, nm = stock.shape
    pts = ~np.isnan(stock)
    cs = np.nancumsum(np.nan_to_num(stock), axis=1)
    cn = np.cumsum(pts, axis=1)
    cc = np.cumsum(np.nan_to_num(cogs), axis=1)
    cm = np.cumsum(~np.isnan(cogs), axis=1)

    def window(c: np.ndarray, width: int) -> np.ndarray:
        shifted = np.concatenate([np.zeros((ng, width)), c[:, :-width]], axis=1)[:, :nm]
        return c - shifted

    stock_sum, n_pts = window(cs, months + 1), window(cn, months + 1)
    cogs_sum, n_cogs = window(cc, months), window(cm, months)
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.where(n_pts > 0, stock_sum / np.maximum(n_pts, 1), np.nan)
        turns = np.where(avg > 0, cogs_sum / np.where(avg > 0, avg, 1.0), np.nan)
    gi, mi = np.nonzero(pts)  # one row per group x month with a closing month-end
    out = groups.iloc[gi].reset_index(drop=True) if keys else pd.DataFrame(index=range(len(gi)))
    out["period"] = _ptext(mi + first)
    out["inventory_turns_ttm"] = turns[gi, mi]
    out["inventory_turns_ttm_num"] = cogs_sum[gi, mi]
    out["inventory_turns_ttm_den"] = avg[gi, mi]
    out["n"] = n_pts[gi, mi].astype(np.int64)
    short = (n_pts[gi, mi] < months + 1) | (n_cogs[gi, mi] < months)
    out["note"] = np.where(
        ~(avg[gi, mi] > 0),
        "no inventory value: turns undefined",
        np.where(
            short,
            [
                f"partial window: {int(a)} of {months} COGS months, {int(b)} of {months + 1} "
                "month-ends"
                for a, b in zip(n_cogs[gi, mi], n_pts[gi, mi], strict=True)
            ],
            "",
        ),
    )
    return out


def forward_days_of_supply(
    inventory: pd.DataFrame,
    forecast: pd.DataFrame,
    items: pd.DataFrame,
    by: Sequence[str] = (),
    *,
    months: int = 3,
) -> pd.DataFrame:
    """``forward_days_of_supply`` per group and month: how long the stock lasts against the
    forecast (definition: :data:`sop_xl.kpi.defs.KPIS`; ``months`` is its 3-month window).

    Months past the forecast horizon are left out (days and demand), and the note says so.
    """
    keys = [c for c in by if c != "period"]
    _need(inventory, [*keys, "period", "value"], "inventory")
    _need(forecast, [*keys, "item", "period", "quantity"], "forecast")
    _need(items, ["item", "unit_cost"], "items")
    cols = [*keys, "period", "forward_days_of_supply"]
    if not len(inventory):
        return pd.DataFrame(columns=[*cols, "n", "note"])
    cost = items.drop_duplicates("item").set_index("item")["unit_cost"]
    value = pd.to_numeric(forecast["quantity"], errors="coerce").to_numpy(float) * forecast[
        "item"
    ].map(cost).to_numpy(float)
    pi = _pidx(inventory["period"])
    pf = _pidx(forecast["period"]) if len(forecast) else np.zeros(0, dtype=np.int64)
    first, last = int(pi.min()), int(pi.max()) + months
    groups, stock = _grid(inventory, keys, inventory["value"].to_numpy(float), pi, first, last)
    fg, demand = _grid(forecast, keys, value, pf, first, last)
    demand = _align(groups, fg, demand, keys)
    ng, nm = stock.shape
    days = _days_in(np.arange(first, last + 1)).astype(float)
    d = np.nan_to_num(demand)
    cd = np.concatenate([np.zeros((ng, 1)), np.cumsum(d, axis=1)], axis=1)
    known = ~np.isnan(demand)
    # days of the months that HAVE a forecast: past the horizon demand is unknown, not 0
    cday = np.concatenate([np.zeros((ng, 1)), np.cumsum(known * days, axis=1)], axis=1)
    have = np.concatenate([np.zeros((ng, 1)), np.cumsum(known, axis=1)], axis=1)
    gi, mi = np.nonzero(~np.isnan(stock))
    end = np.minimum(mi + 1 + months, nm)
    fwd = cd[gi, end] - cd[gi, mi + 1]
    span = cday[gi, end] - cday[gi, mi + 1]
    n_fc = have[gi, end] - have[gi, mi + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_day = np.where(span > 0, fwd / np.where(span > 0, span, 1.0), 0.0)
        dos = np.where(per_day > 0, stock[gi, mi] / np.where(per_day > 0, per_day, 1.0), np.nan)
    out = groups.iloc[gi].reset_index(drop=True) if keys else pd.DataFrame(index=range(len(gi)))
    out["period"] = _ptext(mi + first)
    out["forward_days_of_supply"] = dos
    out["forward_days_of_supply_num"] = stock[gi, mi]
    out["forward_days_of_supply_den"] = per_day
    out["n"] = n_fc.astype(np.int64)
    out["note"] = np.where(
        per_day > 0,
        np.where(n_fc < months, f"fewer than {months} forecast months ahead", ""),
        f"no forecast demand in the next {months} months: coverage undefined",
    )
    return out
