"""THE realised price and cost basis: what one unit of an item is expected to sell for and cost.

Every place that turns planned units into money (forecast value on the variance sheets, the
supply review's unmet demand, the scenarios, the financial outlook) values them here, so one
item has one price in every report (issue 14: the list price overstates revenue, realised prices
are about 98.5 % of list on the demo).

Expected realised net price of item *i*, first rule that applies (the rule is stated per row in
``price_basis``):

1. **Item actuals**: Σ sales amount / Σ quantity of the item's posted sales in the trailing
   window (the last ``months`` closed months before the cycle; returns included, netted), when
   both sums are positive;
2. **Family ratio**: the item's list price x its family's realisation rate, Σ amount / Σ (quantity
   x list price) over the family's items priced by rule 1 in the window (a new item sells at the
   discount its family gets);
3. **List price**: the item card's *Unit Price* (no usable sales in the family either);
4. blank (NaN) when the item has no list price either: the caller says so.

Unit cost, the same three rules on the posted *Cost Amount* (Σ cost / Σ quantity; family ratio
to the card's *Unit Cost*; the card's Unit Cost), stated in ``cost_basis``.

Pure pandas/numpy over the Items and SalesActuals frames; imports only ``sop_xl.model``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_xl.model.periods import add_months, period_range

#: Trailing window of closed months the realised price and cost are measured over.
TRAILING_MONTHS = 12

ITEM_ACTUALS = "Item actuals"
FAMILY_RATIO = "Family ratio x list"
LIST_PRICE = "List price"
UNIT_COST = "Unit cost (card)"
NO_PRICE = "No price"

#: Columns of :func:`realised_prices`, in order.
COLUMNS = [
    "family",
    "list_price",
    "price",
    "realisation",
    "price_basis",
    "card_cost",
    "cost",
    "cost_basis",
    "trailing_qty",
]


def trailing_periods(cycle: str, months: int = TRAILING_MONTHS) -> list[str]:
    """The ``months`` closed months before ``cycle`` (oldest first)."""
    return period_range(add_months(cycle, -months), months)


def _rule(
    own_num: np.ndarray,
    qty: np.ndarray,
    card: np.ndarray,
    family: np.ndarray,
    card_basis: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Per item (value, basis) of one measure (price: amounts and list price; cost: cost
    amounts and card unit cost): own actuals ``own_num / qty``, else family ratio x card, else
    card (basis ``card_basis``), else NaN."""
    labels = (ITEM_ACTUALS, FAMILY_RATIO, card_basis)
    own_ok = (qty > 0) & (own_num > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(own_ok, own_num / np.where(own_ok, qty, 1.0), np.nan)
    # family ratio over the items priced by their own actuals and carrying a card value
    use = own_ok & np.isfinite(card) & (card > 0)
    fam = pd.DataFrame({"f": family, "num": np.where(use, own_num, 0.0)})
    fam["den"] = np.where(use, qty * np.nan_to_num(card), 0.0)
    sums = fam.groupby("f", dropna=False)[["num", "den"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (sums["num"] / sums["den"]).where(sums["den"] > 0)
    fam_ratio = ratio.reindex(pd.Index(family, dtype=object)).to_numpy(float)
    has_card = np.isfinite(card)
    by_family = ~own_ok & has_card & np.isfinite(fam_ratio)
    value = np.where(
        own_ok, own, np.where(by_family, card * fam_ratio, np.where(has_card, card, np.nan))
    )
    basis = np.select([own_ok, by_family, has_card], list(labels), default=NO_PRICE).astype(object)
    return value, basis


def realised_prices(
    items: pd.DataFrame,
    sales_actuals: pd.DataFrame,
    cycle: str,
    months: int = TRAILING_MONTHS,
) -> pd.DataFrame:
    """Expected realised net price and unit cost per item (index: item, every Items row).

    Columns :data:`COLUMNS`: ``family``, ``list_price`` (card Unit Price), ``price`` (expected
    realised net price), ``realisation`` (price / list price, NaN without a list price),
    ``price_basis``, ``card_cost`` (card Unit Cost), ``cost`` (expected unit cost),
    ``cost_basis`` and ``trailing_qty`` (net units sold in the window). Rules: module docstring.
    """
    it = items.drop_duplicates("item").set_index("item")
    index = pd.Index(it.index, name="item")
    window = set(trailing_periods(cycle, months))
    sa = sales_actuals
    sa = sa.loc[sa["period"].isin(window).to_numpy()]
    cost_col = sa["cost"] if "cost" in sa else pd.Series(np.nan, index=sa.index)
    g = (
        pd.DataFrame(
            {
                "item": sa["item"].to_numpy(),
                "qty": sa["quantity"].astype("float64").fillna(0.0).to_numpy(),
                "amount": sa["amount"].astype("float64").fillna(0.0).to_numpy(),
                "cost": cost_col.astype("float64").fillna(0.0).to_numpy(),
            }
        )
        .groupby("item")[["qty", "amount", "cost"]]
        .sum()
        .reindex(index)
        .fillna(0.0)
    )
    qty = g["qty"].to_numpy(float)
    family = it["family"].to_numpy(object)
    list_price = pd.to_numeric(it["unit_price"], errors="coerce").to_numpy(float)
    card_cost = pd.to_numeric(it["unit_cost"], errors="coerce").to_numpy(float)
    price, price_basis = _rule(g["amount"].to_numpy(float), qty, list_price, family, LIST_PRICE)
    cost, cost_basis = _rule(g["cost"].to_numpy(float), qty, card_cost, family, UNIT_COST)
    with np.errstate(divide="ignore", invalid="ignore"):
        realisation = np.where(
            list_price > 0, price / np.where(list_price > 0, list_price, 1.0), np.nan
        )
    return pd.DataFrame(
        {
            "family": family,
            "list_price": list_price,
            "price": price,
            "realisation": realisation,
            "price_basis": price_basis,
            "card_cost": card_cost,
            "cost": cost,
            "cost_basis": cost_basis,
            "trailing_qty": qty,
        },
        index=index,
    )[COLUMNS]


def basis_text(prices: pd.DataFrame, cycle: str, months: int = TRAILING_MONTHS) -> str:
    """One line for a sheet's title: the window and how many items each rule priced."""
    w = trailing_periods(cycle, months)
    counts = prices["price_basis"].value_counts()
    parts = ", ".join(f"{k} {int(v)}" for k, v in counts.items())
    return (
        f"Valued at expected realised net price (trailing {months} closed months {w[0]} to "
        f"{w[-1]}; items by basis: {parts}), not list price. docs/outlook.md"
    )
