"""Sales actuals vs sales budget vs consensus forecast, in quantity and amount.

Grain and roll-ups (``by``):

- ``item_location`` (default): item x location x period, the drill-down;
- ``item``, ``location``, ``family`` (the item's family), ``region`` (the **customer's** sales
  region for actuals and budget, the forecast's own region column), ``customer``.

Definitions (every amount summed in integer cents, so roll-ups add up to the detail exactly):

- ``qty_var_budget = actual_qty - budget_qty``; ``qty_var_forecast = actual_qty - forecast_qty``.
- ``var_budget = actual_amount - budget_amount``; ``var_budget_pct = var_budget /
  |budget_amount|``, NaN with note "no budget" when the budget amount is 0.
- **Forecast amount** = forecast quantity x the item's *Unit Price* (Items), rounded to cents on
  each forecast line (region x item x location x period) before any sum. The consensus forecast is
  in units only; the list price is the price a planner would quote. A forecast line whose item has
  no unit price counts 0 with a note.
- ``var_forecast = actual_amount - forecast_amount``, ``var_forecast_pct`` likewise.
- Sales revenue: a positive variance is favourable (more sales than planned).

The forecast has no customer dimension, so at ``by="customer"`` its columns are NaN with a note.
Unknown items or customers are never dropped: they roll up under ``(unknown item)`` /
``(unknown customer)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sop_xl import schema
from sop_xl.variance_mapping import as_key, lookup
from sop_xl.variance_money import from_cents, to_cents

UNKNOWN_ITEM = "(unknown item)"
UNKNOWN_CUSTOMER = "(unknown customer)"
BLANK = "(blank)"

#: ``by`` -> the key columns of the result (before ``period``).
BY_KEYS: dict[str, list[str]] = {
    "item_location": ["item", "location"],
    "item": ["item"],
    "location": ["location"],
    "family": ["family"],
    "region": ["region"],
    "customer": ["customer"],
}

MEASURES = [
    "actual_qty",
    "budget_qty",
    "forecast_qty",
    "qty_var_budget",
    "qty_var_forecast",
    "actual_amount",
    "budget_amount",
    "forecast_amount",
    "var_budget",
    "var_budget_pct",
    "var_forecast",
    "var_forecast_pct",
    "note",
]


def _labels(values: np.ndarray, found: np.ndarray, keys: pd.Series, unknown: str) -> np.ndarray:
    out = np.where(found, values, unknown).astype(object)
    blank = found & pd.isna(values)
    out[blank] = BLANK
    out[keys.isna().to_numpy()] = BLANK if unknown == UNKNOWN_ITEM else unknown
    return out


def enrich(df: pd.DataFrame, items: pd.DataFrame, customers: pd.DataFrame | None) -> pd.DataFrame:
    """Add ``family`` (from Items) and, when the frame has customers, ``region`` (the customer's).

    Keys are normalised text; unknown codes get ``(unknown item)`` / ``(unknown customer)``."""
    out = pd.DataFrame(index=df.index)
    for k in ("customer", "item", "location", "period", "region"):
        if k in df:
            out[k] = as_key(df[k]).fillna(BLANK)
    fam, found = lookup(as_key(df["item"]), items, "item", "family", schema.ITEMS)
    out["family"] = _labels(fam, found, df["item"], UNKNOWN_ITEM)
    out["item_known"] = found
    if customers is not None and "customer" in df:
        reg, cfound = lookup(
            as_key(df["customer"]), customers, "customer", "region", schema.CUSTOMERS
        )
        out["region"] = _labels(reg, cfound, df["customer"], UNKNOWN_CUSTOMER)
    out["quantity"] = df["quantity"].astype("float64").to_numpy()
    return out


def forecast_amounts(forecast: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Forecast lines with ``amount_cents`` = round(quantity x item unit price) and ``priced``."""
    fc = forecast.loc[forecast["quantity"].notna()]
    out = enrich(fc, items, None)
    price, found = lookup(as_key(fc["item"]), items, "item", "unit_price", schema.ITEMS)
    price = pd.to_numeric(pd.Series(price, dtype=object), errors="coerce").to_numpy("float64")
    priced = found & ~np.isnan(price)
    out["amount_cents"] = to_cents(np.where(priced, out["quantity"].to_numpy() * price, 0.0))
    out["unpriced"] = ~priced
    return out


def _agg(df: pd.DataFrame, keys: list[str], extra: Sequence[str] = ()) -> pd.DataFrame:
    cols = {"q": ("quantity", "sum"), "c": ("amount_cents", "sum"), "n": ("quantity", "size")}
    for e in extra:
        cols[e] = (e, "any")
    return df.groupby(keys, sort=False, dropna=False).agg(**cols)


def actual_vs_plan(
    sales_actuals: pd.DataFrame,
    sales_budget: pd.DataFrame,
    forecast: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    locations: pd.DataFrame | None = None,
    by: str = "item_location",
    periods: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Actual vs budget vs consensus forecast at the grain ``by`` x period (see module doc).

    Returns the key columns, ``period``, descriptive columns (``description``/``family`` for
    items, ``name`` for locations and customers, ``region`` for customers) and :data:`MEASURES`.
    Amounts are exact cents (as floats); a key present in any one source appears, with the
    missing sides 0 and a note.
    """
    if by not in BY_KEYS:
        raise ValueError(f"by must be one of {', '.join(BY_KEYS)}, not {by!r}")
    keys = [*BY_KEYS[by], "period"]
    act = enrich(sales_actuals, items, customers)
    act["amount_cents"] = to_cents(sales_actuals["amount"])
    bud = enrich(sales_budget, items, customers)
    bud["amount_cents"] = to_cents(sales_budget["amount"])
    fc = forecast_amounts(forecast, items)
    if periods is not None:
        ps = set(periods)
        act, bud, fc = (f.loc[f["period"].isin(ps)] for f in (act, bud, fc))

    a = _agg(act, keys).add_prefix("a_")
    b = _agg(bud, keys).add_prefix("b_")
    parts = [a, b]
    with_forecast = by != "customer"
    if with_forecast:
        parts.append(_agg(fc, keys, extra=["unpriced"]).add_prefix("f_"))
    m = pd.concat(parts, axis=1, join="outer", sort=False)
    m = m.reset_index().sort_values(keys, kind="stable").reset_index(drop=True)
    for p in ("a", "b", *(("f",) if with_forecast else ())):
        m[f"{p}_q"] = m[f"{p}_q"].fillna(0.0)
        m[f"{p}_c"] = m[f"{p}_c"].fillna(0).astype(np.int64)
        m[f"{p}_n"] = m[f"{p}_n"].fillna(0).astype(np.int64)

    out = m[keys].copy()
    _describe(out, by, items, customers, locations)
    ac, bc = m["a_c"].to_numpy(), m["b_c"].to_numpy()
    out["actual_qty"] = m["a_q"].to_numpy()
    out["budget_qty"] = m["b_q"].to_numpy()
    out["qty_var_budget"] = out["actual_qty"] - out["budget_qty"]
    out["actual_amount"] = from_cents(ac)
    out["budget_amount"] = from_cents(bc)
    out["var_budget"] = from_cents(ac - bc)
    out["var_budget_pct"] = pct(ac - bc, bc)
    notes: list[tuple[np.ndarray, str]] = [
        (m["a_n"].to_numpy() == 0, "no actuals"),
        (bc == 0, "no budget"),
    ]
    if with_forecast:
        fcc = m["f_c"].to_numpy()
        out["forecast_qty"] = m["f_q"].to_numpy()
        out["qty_var_forecast"] = out["actual_qty"] - out["forecast_qty"]
        out["forecast_amount"] = from_cents(fcc)
        out["var_forecast"] = from_cents(ac - fcc)
        out["var_forecast_pct"] = pct(ac - fcc, fcc)
        notes.append((fcc == 0, "no forecast"))
        unpriced = m["f_unpriced"].fillna(False).astype(bool).to_numpy()
        notes.append((unpriced, "forecast not priced: item has no unit price"))
    else:
        for c in ("forecast_qty", "qty_var_forecast", "forecast_amount"):
            out[c] = np.nan
        out["var_forecast"] = np.nan
        out["var_forecast_pct"] = np.nan
        notes.append((np.ones(len(m), dtype=bool), "forecast is by region, not by customer"))
    out["note"] = join_notes(notes, len(m))
    lead = [c for c in out.columns if c not in MEASURES]
    return out[lead + MEASURES]


def pct(var_cents: np.ndarray, base_cents: np.ndarray) -> np.ndarray:
    """Variance % = variance / |base|; NaN where the base is 0."""
    base = np.asarray(base_cents, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(base != 0, np.asarray(var_cents, "float64") / np.abs(base), np.nan)


def join_notes(parts: list[tuple[np.ndarray, str]], n: int) -> np.ndarray:
    """Vectorised '; '-join of the notes whose mask is true per row ('' when none)."""
    out = np.full(n, "", dtype=object)
    for mask, text in parts:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            continue
        has = out[mask] != ""
        out[mask] = np.where(has, out[mask] + "; " + text, text)
    return out


def _describe(
    out: pd.DataFrame,
    by: str,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    locations: pd.DataFrame | None,
) -> None:
    """Insert descriptive columns after the key columns (in place)."""
    if by in ("item_location", "item"):
        desc = (
            lookup(out["item"], items, "item", "description", schema.ITEMS)[0]
            if "description" in items
            else np.full(len(out), None, dtype=object)
        )
        fam, found = lookup(out["item"], items, "item", "family", schema.ITEMS)
        out.insert(1, "description", desc)
        out.insert(2, "family", _labels(fam, found, out["item"], UNKNOWN_ITEM))
    elif by == "customer":
        name = (
            lookup(out["customer"], customers, "customer", "name", schema.CUSTOMERS)[0]
            if "name" in customers
            else np.full(len(out), None, dtype=object)
        )
        reg, found = lookup(out["customer"], customers, "customer", "region", schema.CUSTOMERS)
        out.insert(1, "name", name)
        out.insert(2, "region", _labels(reg, found, out["customer"], UNKNOWN_CUSTOMER))
    elif by == "location" and locations is not None and "name" in locations:
        name = lookup(out["location"], locations, "location", "name", schema.LOCATIONS)[0]
        out.insert(1, "name", name)
