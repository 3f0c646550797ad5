"""The realised price and cost basis, hand-computed: item actuals, family ratio, list price."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sop_xl.outlook import prices as pr

ITEMS = pd.DataFrame(
    {
        "item": ["A", "B", "C", "D", "E"],
        "family": ["F", "F", "F", "G", "G"],
        "unit_price": [10.0, 20.0, 30.0, 5.0, np.nan],
        "unit_cost": [6.0, 12.0, 18.0, 3.0, 2.0],
    }
)


def actuals(rows):
    return pd.DataFrame(
        rows, columns=["customer", "item", "location", "period", "quantity", "amount", "cost"]
    )


SALES = actuals(
    [
        # A: 10 units for 95 and a return of 2 units for -19 in the window: 8 units, 76 -> 9.50
        ("C1", "A", "L", "2026-01", 10.0, 95.0, 62.0),
        ("C1", "A", "L", "2026-10", -2.0, -19.0, -12.0),
        # B: 5 units for 90 -> 18.00 (cost 65 -> 13.00)
        ("C2", "B", "L", "2025-11", 5.0, 90.0, 65.0),
        # outside the window (cycle 2026-11: window 2025-11 .. 2026-10): ignored
        ("C1", "A", "L", "2025-10", 100.0, 1.0, 1.0),
        ("C1", "C", "L", "2026-11", 100.0, 1.0, 1.0),
        # D: only a return in the window: net quantity < 0 -> not usable
        ("C1", "D", "L", "2026-03", -1.0, -5.0, -3.0),
    ]
)


def test_rules_by_hand() -> None:
    p = pr.realised_prices(ITEMS, SALES, "2026-11")
    assert list(p.columns) == pr.COLUMNS
    assert p.loc["A", "price"] == pytest.approx(76 / 8)
    assert p.loc["A", "cost"] == pytest.approx(50 / 8)
    assert p.loc["A", "price_basis"] == pr.ITEM_ACTUALS
    assert p.loc["A", "realisation"] == pytest.approx(0.95)
    assert p.loc["B", "price"] == pytest.approx(18.0)
    assert p.loc["B", "cost"] == pytest.approx(13.0)
    # C: no sales in the window: family F's ratio (76 + 90) / (8 x 10 + 5 x 20) = 166/180
    assert p.loc["C", "price_basis"] == pr.FAMILY_RATIO
    assert p.loc["C", "price"] == pytest.approx(30 * 166 / 180)
    # cost: (50 + 65) / (8 x 6 + 5 x 12) = 115/108 of the card's 18
    assert p.loc["C", "cost"] == pytest.approx(18 * 115 / 108)
    assert p.loc["C", "cost_basis"] == pr.FAMILY_RATIO
    # D: a net return and no other G item priced by actuals: list price and card cost
    assert (p.loc["D", "price"], p.loc["D", "price_basis"]) == (5.0, pr.LIST_PRICE)
    assert (p.loc["D", "cost"], p.loc["D", "cost_basis"]) == (3.0, pr.UNIT_COST)
    # E: no list price at all: no price, stated; its card cost still values its cost
    assert np.isnan(p.loc["E", "price"]) and p.loc["E", "price_basis"] == pr.NO_PRICE
    assert np.isnan(p.loc["E", "realisation"])
    assert p.loc["E", "cost"] == 2.0
    assert p.loc["A", "trailing_qty"] == 8.0


def test_window_is_the_closed_months_before_the_cycle() -> None:
    assert pr.trailing_periods("2026-11") == [f"2025-{m}" for m in ("11", "12")] + [
        f"2026-{m:02d}" for m in range(1, 11)
    ]
    assert pr.trailing_periods("2026-01", 2) == ["2025-11", "2025-12"]


def test_no_sales_at_all_is_list_price() -> None:
    p = pr.realised_prices(ITEMS, SALES.iloc[:0], "2026-11")
    assert (p["price_basis"].iloc[:4] == pr.LIST_PRICE).all()
    np.testing.assert_array_equal(p["price"].to_numpy()[:4], ITEMS["unit_price"].to_numpy()[:4])
    assert "List price 4" in pr.basis_text(p, "2026-11")
