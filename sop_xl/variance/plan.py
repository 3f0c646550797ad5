"""Sales actuals vs sales budget vs consensus forecast, in quantity and amount.

Grain and roll-ups (``by``):

- ``item_location`` (default): item x location x period, the drill-down;
- ``item``, ``location``, ``family`` (the item's family), ``region`` (the **customer's** sales
  region for actuals and budget, the forecast's own region column), ``customer``.

Definitions (every amount summed in integer cents, so roll-ups add up to the detail exactly):

- ``qty_var_budget = actual_qty - budget_qty``; ``qty_var_forecast = actual_qty - forecast_qty``.
- ``var_budget = actual_amount - budget_amount``; ``var_budget_pct = var_budget /
  |budget_amount|``, NaN with note "no budget" when the budget amount is 0.
- **Forecast amount** = forecast quantity x the item's expected realised net price
  (:mod:`sop_xl.outlook.prices`: trailing 12 closed months' sales amount / quantity, else the
  family's realisation rate x list price, else the list price), rounded to cents on each forecast
  line (region x item x location x period) before any sum. The consensus forecast is in units
  only; valuing it at list price would make a price effect look like a demand miss (issue 14).
  Without ``prices`` (direct calls) the item's *Unit Price* is used. A forecast line whose item
  has no price counts 0 with a note.
- ``var_forecast = actual_amount - forecast_amount``, ``var_forecast_pct`` likewise.
- Sales revenue: a positive variance is favourable (more sales than planned).

The forecast has no customer dimension, so at ``by="customer"`` its columns are NaN with a note.
Unknown items or customers are never dropped: they roll up under ``(unknown item)`` /
``(unknown customer)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop_xl.errors import ArgumentError
from sop_xl.model import schema
from sop_xl.variance.group import count, float_sum, group_ids, int_sum
from sop_xl.variance.mapping import as_key, lookup
from sop_xl.variance.money import from_cents, to_cents

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


def _labels(values: np.ndarray, found: np.ndarray, keys: np.ndarray, unknown: str) -> np.ndarray:
    """Looked-up labels: ``unknown`` where the key is not found, ``(blank)`` where the label or
    the key itself is blank."""
    out = np.where(found, values, unknown).astype(object)
    out[found & pd.isna(values)] = BLANK
    out[keys == BLANK] = BLANK if unknown == UNKNOWN_ITEM else unknown
    return out


def _column(values: object) -> object:
    """Object arrays stay object Series (no costly text-dtype inference on 500k rows)."""
    arr = np.asarray(values)
    return pd.Series(arr, dtype=object) if arr.dtype == object else arr


def _factor(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """One hash pass over a key column: (row codes, normalised text of each distinct value);
    the last distinct value is the blank (code -1 rows point at it)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    norm = as_key(pd.Series(np.asarray(uniques, dtype=object), dtype=object)).fillna(BLANK)
    return codes, np.append(norm.to_numpy(object), BLANK)


@dataclass
class PlanSources:
    """Actuals, budget and forecast lines restricted to the compared periods, with every key as
    an integer code into ``vocab[key]`` (sorted distinct texts shared by the three sources).

    Frames: key code columns (``item``, ``location``, ``period``, ``family``, ``region``, and
    ``customer`` for actuals and budget), ``quantity``, ``amount_cents``; forecast also
    ``unpriced``. ``inputs``: (rows, cents) of each source's input lines in the periods.
    """

    actuals: pd.DataFrame
    budget: pd.DataFrame
    forecast: pd.DataFrame
    vocab: dict[str, np.ndarray]
    inputs: dict[str, tuple[int, int]]
    item_family: np.ndarray  # family label of each vocab["item"] entry

    def decoded(self, name: str, keys: Sequence[str]) -> pd.DataFrame:
        """A source with the given key columns as text (for code that wants labels)."""
        f = getattr(self, name)
        out = {k: _column(self.vocab[k][f[k].to_numpy()]) for k in keys}
        return pd.DataFrame({**out, "quantity": f["quantity"], "amount_cents": f["amount_cents"]})


def _vocab(parts: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sorted distinct texts of ``parts`` and, per part, each value's index in it."""
    vocab = np.unique(np.concatenate([*parts, np.array([], dtype=object)]).astype(object))
    index = pd.Index(vocab, dtype=object)
    return vocab, [index.get_indexer(p) for p in parts]


def prepare(
    sales_actuals: pd.DataFrame,
    sales_budget: pd.DataFrame,
    forecast: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    periods: Sequence[str] | None = None,
    prices: pd.Series | None = None,
) -> PlanSources:
    """Restrict the three sources to ``periods``, code their keys once, attach ``family`` (the
    item's) and ``region`` (the customer's for actuals and budget, the forecast's own), and price
    the forecast (quantity x ``prices[item]``, the expected realised price by item from
    :func:`sop_xl.outlook.prices.realised_prices`; the item's Unit Price when ``prices`` is None;
    rounded per line). :func:`compare` then rolls them up at any level with integer arithmetic
    only. Blank forecast cells are dropped."""
    raw = {
        "actuals": sales_actuals,
        "budget": sales_budget,
        "forecast": forecast.loc[forecast["quantity"].notna().to_numpy()],
    }
    ps = None if periods is None else set(periods)
    rows: dict[str, np.ndarray] = {}
    factors: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for name, df in raw.items():
        codes, norm = _factor(df["period"])
        keep = np.ones(len(df), dtype=bool) if ps is None else np.isin(norm, list(ps))[codes]
        rows[name] = keep
        factors[name] = {"period": (codes[keep], norm)}
        for k in ("customer", "item", "location", "region"):
            if k in df:
                c, u = _factor(df[k].loc[keep] if not keep.all() else df[k])
                factors[name][k] = (c, u)

    vocab: dict[str, np.ndarray] = {}
    coded: dict[str, dict[str, np.ndarray]] = {name: {} for name in raw}
    for k in ("customer", "item", "location", "period"):
        names = [n for n in raw if k in factors[n]]
        vocab[k], maps = _vocab([factors[n][k][1] for n in names])
        for n, m in zip(names, maps, strict=True):
            coded[n][k] = m[factors[n][k][0]]  # the -1 code takes the trailing BLANK entry

    # family per item, region per customer: looked up once per distinct code
    fam, found = lookup(
        pd.Series(vocab["item"], dtype=object), items, "item", "family", schema.ITEMS
    )
    item_family = _labels(fam, found, vocab["item"], UNKNOWN_ITEM)
    reg, cfound = lookup(
        pd.Series(vocab["customer"], dtype=object),
        customers,
        "customer",
        "region",
        schema.CUSTOMERS,
    )
    customer_region = _labels(reg, cfound, vocab["customer"], UNKNOWN_CUSTOMER)
    vocab["family"], (fam_map,) = _vocab([item_family])
    fc_region = factors["forecast"]["region"]
    vocab["region"], (reg_map, fc_map) = _vocab([customer_region, fc_region[1]])
    for n in raw:
        coded[n]["family"] = fam_map[coded[n]["item"]]
        coded[n]["region"] = (
            fc_map[fc_region[0]] if n == "forecast" else reg_map[coded[n]["customer"]]
        )

    frames, inputs = {}, {}
    for n, df in raw.items():
        keep = rows[n]
        qty = df["quantity"].astype("float64").fillna(0.0).to_numpy()[keep]
        cols = {k: v.astype(np.int64) for k, v in coded[n].items()}
        cols["quantity"] = qty
        if n == "forecast":
            if prices is None:
                price_u, found_u = lookup(
                    pd.Series(vocab["item"], dtype=object),
                    items,
                    "item",
                    "unit_price",
                    schema.ITEMS,
                )
            else:
                by_key = pd.Series(prices.to_numpy(float), index=as_key(prices.index.to_series()))
                price_u = by_key[~by_key.index.duplicated()].reindex(vocab["item"]).to_numpy()
                found_u = ~np.isnan(price_u)
            price_u = pd.to_numeric(pd.Series(price_u, dtype=object), errors="coerce")
            price = price_u.to_numpy("float64")[cols["item"]]
            priced = found_u[cols["item"]] & ~np.isnan(price)
            cols["amount_cents"] = to_cents(np.where(priced, qty * price, 0.0))
            cols["unpriced"] = ~priced
        else:
            cols["amount_cents"] = to_cents(df["amount"].to_numpy()[keep])
        frames[n] = pd.DataFrame(cols)
        inputs[n] = (int(keep.sum()), int(cols["amount_cents"].sum()))
    return PlanSources(
        frames["actuals"], frames["budget"], frames["forecast"], vocab, inputs, item_family
    )


def actual_vs_plan(
    sales_actuals: pd.DataFrame,
    sales_budget: pd.DataFrame,
    forecast: pd.DataFrame,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    locations: pd.DataFrame | None = None,
    by: str = "item_location",
    periods: Sequence[str] | None = None,
    prices: pd.Series | None = None,
) -> pd.DataFrame:
    """Actual vs budget vs consensus forecast at the grain ``by`` x period (see module doc).

    Returns the key columns, ``period``, descriptive columns (``description``/``family`` for
    items, ``name`` for locations and customers, ``region`` for customers) and :data:`MEASURES`.
    Amounts are exact cents (as floats); a key present in any one source appears, with the
    missing sides 0 and a note.
    """
    if by not in BY_KEYS:
        raise ArgumentError(f"by must be one of {', '.join(BY_KEYS)}, not {by!r}")
    src = prepare(sales_actuals, sales_budget, forecast, items, customers, periods, prices)
    return compare(src, by, items, customers, locations)


def compare(
    src: PlanSources,
    by: str,
    items: pd.DataFrame,
    customers: pd.DataFrame,
    locations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Roll the prepared sources up to ``by`` x period and compute the measures."""
    if by not in BY_KEYS:
        raise ArgumentError(f"by must be one of {', '.join(BY_KEYS)}, not {by!r}")
    keys = [*BY_KEYS[by], "period"]
    with_forecast = by != "customer"
    frames = [src.actuals, src.budget] + ([src.forecast] if with_forecast else [])
    sizes = [len(f) for f in frames]
    cols = [np.concatenate([f[k].to_numpy(np.int64) for f in frames]) for k in keys]
    gid, key_codes = group_ids(cols)
    key_values = [src.vocab[k][c] for k, c in zip(keys, key_codes, strict=True)]
    ng = len(key_codes[0])
    bounds = np.cumsum([0, *sizes])
    sums = []
    for f, lo, hi in zip(frames, bounds[:-1], bounds[1:], strict=True):
        g = gid[lo:hi]
        sums.append(
            (
                float_sum(g, f["quantity"].to_numpy(), ng),
                int_sum(g, f["amount_cents"].to_numpy(), ng),
                count(g, ng),
            )
        )
    (aq, ac, an), (bq, bc, _bn) = sums[0], sums[1]

    out = pd.DataFrame(
        {k: pd.Series(v, dtype=object) for k, v in zip(keys, key_values, strict=True)}
    )
    _describe(out, by, items, customers, locations)
    out["actual_qty"] = aq
    out["budget_qty"] = bq
    out["qty_var_budget"] = aq - bq
    out["actual_amount"] = from_cents(ac)
    out["budget_amount"] = from_cents(bc)
    out["var_budget"] = from_cents(ac - bc)
    out["var_budget_pct"] = pct(ac - bc, bc)
    notes: list[tuple[np.ndarray, str]] = [(an == 0, "no actuals"), (bc == 0, "no budget")]
    if with_forecast:
        fq, fcc, _fn = sums[2]
        f = src.forecast
        unpriced = (
            int_sum(gid[bounds[2] : bounds[3]], f["unpriced"].to_numpy().astype(np.int64), ng) > 0
        )
        out["forecast_qty"] = fq
        out["qty_var_forecast"] = aq - fq
        out["forecast_amount"] = from_cents(fcc)
        out["var_forecast"] = from_cents(ac - fcc)
        out["var_forecast_pct"] = pct(ac - fcc, fcc)
        notes.append((fcc == 0, "no forecast"))
        notes.append((unpriced, "forecast not priced: item has no price"))
    else:
        for c in ("forecast_qty", "qty_var_forecast", "forecast_amount", "var_forecast"):
            out[c] = np.nan
        out["var_forecast_pct"] = np.nan
        notes.append((np.ones(ng, dtype=bool), "forecast is by region, not by customer"))
    out["note"] = pd.Series(join_notes(notes, ng), dtype=object)
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
        out.insert(2, "family", _labels(fam, found, out["item"].to_numpy(object), UNKNOWN_ITEM))
    elif by == "customer":
        name = (
            lookup(out["customer"], customers, "customer", "name", schema.CUSTOMERS)[0]
            if "name" in customers
            else np.full(len(out), None, dtype=object)
        )
        reg, found = lookup(out["customer"], customers, "customer", "region", schema.CUSTOMERS)
        out.insert(1, "name", name)
        keys = out["customer"].to_numpy(object)
        out.insert(2, "region", _labels(reg, found, keys, UNKNOWN_CUSTOMER))
    elif by == "location" and locations is not None and "name" in locations:
        name = lookup(out["location"], locations, "location", "name", schema.LOCATIONS)[0]
        out.insert(1, "name", name)
