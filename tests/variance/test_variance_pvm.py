"""Price / volume / mix: hand-computed examples and the exact identity as a property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.variance.money import to_cents
from sop_xl.variance.step import price_volume_mix


def frame(rows, period="2026-01"):
    return pd.DataFrame(
        {
            "period": period,
            "item": [r[0] for r in rows],
            "quantity": pd.Series([r[1] for r in rows], dtype="float64"),
            "amount": pd.Series([r[2] for r in rows], dtype="float64"),
        }
    )


def effects(p: pd.DataFrame) -> dict[str, tuple[float, float, float, float]]:
    return {
        r.item: (r.revenue_variance, r.volume_effect, r.mix_effect, r.price_effect)
        for r in p.itertuples()
    }


def test_standard_pvm_two_items():
    # Budget: A 100 x 10.00, B 100 x 20.00 -> Qb 200, budget avg price 15.00.
    # Actual: A 150 x 11.00, B 90 x 19.00 -> Qa 240.
    # Volume = (240 - 200) x 15 = 600 (A 40 x 0.5 x 10 = 200, B 40 x 0.5 x 20 = 400).
    # Mix: A (150 - 240 x 0.5) x 10 = 300; B (90 - 120) x 20 = -600.
    # Price: A (11 - 10) x 150 = 150; B (19 - 20) x 90 = -90.
    # Total 3,360 - 3,000 = 360 = 600 - 300 + 60.
    p = price_volume_mix(
        frame([("A", 150, 1650), ("B", 90, 1710)]), frame([("A", 100, 1000), ("B", 100, 2000)])
    )
    assert effects(p) == {"A": (650.0, 200.0, 300.0, 150.0), "B": (-290.0, 400.0, -600.0, -90.0)}
    assert p["status"].tolist() == ["continuing", "continuing"]
    assert p["actual_price"].tolist() == [11.0, 19.0]
    assert p["budget_price"].tolist() == [10.0, 20.0]


def test_new_and_discontinued_items():
    # Budget: A 10 x 10, D 10 x 30 -> Qb 20, avg price 20. Actual: A 12 x 11, C 8 x 5 (new).
    # Volume = (20 - 20) x 20 = 0. Mix: A (12 - 10) x 10 = 20; C (8 - 0) x 5 = 40 (new items
    # are priced at their actual price); D (0 - 10) x 30 = -300. Price: A (11 - 10) x 12 = 12.
    # Total 172 - 400 = -228 = 0 - 240 + 12.
    p = price_volume_mix(
        frame([("A", 12, 132), ("C", 8, 40)]), frame([("A", 10, 100), ("D", 10, 300)])
    )
    assert effects(p) == {
        "A": (32.0, 0.0, 20.0, 12.0),
        "C": (40.0, 0.0, 40.0, 0.0),
        "D": (-300.0, 0.0, -300.0, 0.0),
    }
    assert dict(zip(p["item"], p["status"], strict=True)) == {
        "A": "continuing",
        "C": "new",
        "D": "discontinued",
    }
    assert np.isnan(p.set_index("item").loc["D", "actual_price"])


def test_credit_note_without_quantity_is_a_price_effect():
    # Budget A 10 x 10, B 10 x 10. Actual: B 20 x 10, and a rebate on A of -5 with qty 0.
    # Volume 0; mix A (0 - 10) x 10 = -100, B (20 - 10) x 10 = 100; price A = -5.
    p = price_volume_mix(
        frame([("B", 20, 200), ("A", 0, -5)]), frame([("A", 10, 100), ("B", 10, 100)])
    )
    assert effects(p) == {"A": (-105.0, 0.0, -100.0, -5.0), "B": (100.0, 0.0, 100.0, 0.0)}


def test_returns_net_negative_quantities():
    # Budget A 10 x 10. Actual A: 12 sold for 120, 3 returned for -30 -> 9 x 10.
    p = price_volume_mix(frame([("A", 12, 120), ("A", -3, -30)]), frame([("A", 10, 100)]))
    assert effects(p) == {"A": (-10.0, -10.0, 0.0, 0.0)}


def test_no_budget_quantity_in_a_group_is_all_volume():
    p = price_volume_mix(frame([("A", 2, 30)]), frame([], period=None))
    assert effects(p) == {"A": (30.0, 30.0, 0.0, 0.0)}
    assert np.isnan(p["variance_pct"].iloc[0])


def test_groups_by_period_are_independent_and_rounding_is_exact():
    # Three items at 1/3 prices: effects are not whole cents; lines still add up exactly.
    act = pd.concat(
        [frame([("A", 7, 10), ("B", 5, 10), ("C", 1, 0.01)]), frame([("A", 3, 3)], "2026-02")]
    )
    bud = pd.concat(
        [frame([("A", 3, 10), ("B", 3, 10), ("C", 3, 10)]), frame([("A", 3, 3.33)], "2026-02")]
    )
    p = price_volume_mix(act, bud, by="period")
    assert p["period"].tolist() == ["2026-01"] * 3 + ["2026-02"]
    lines = to_cents(p["volume_effect"]) + to_cents(p["mix_effect"]) + to_cents(p["price_effect"])
    assert np.array_equal(lines, to_cents(p["revenue_variance"]))
    jan = p.loc[p["period"] == "2026-01"]
    # volume total = (13 - 9) x (30 / 9) = 13.333... -> 13.33 exactly as the rounded total
    assert to_cents(jan["volume_effect"]).sum() == 1333
    feb = p.loc[p["period"] == "2026-02"].iloc[0]
    assert (feb.volume_effect, feb.mix_effect, feb.price_effect) == (0.0, 0.0, -0.33)
    assert feb.variance_pct == pytest.approx(-33 / 333)


rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C", "D", "E"]),
        st.sampled_from(["2026-01", "2026-02"]),
        st.integers(-50, 500).map(float),
        st.integers(-(10**7), 10**7).map(lambda c: c / 100),
    ),
    max_size=25,
)


@settings(max_examples=80, deadline=None)
@given(rows, rows)
def test_volume_mix_price_always_add_up_to_the_revenue_variance(a_rows, b_rows):
    def mk(rs):
        return pd.DataFrame(
            {
                "item": [r[0] for r in rs],
                "period": [r[1] for r in rs],
                "quantity": pd.Series([r[2] for r in rs], dtype="float64"),
                "amount": pd.Series([r[3] for r in rs], dtype="float64"),
            }
        )

    a, b = mk(a_rows), mk(b_rows)
    p = price_volume_mix(a, b, by="period")
    parts = to_cents(p["volume_effect"]) + to_cents(p["mix_effect"]) + to_cents(p["price_effect"])
    assert np.array_equal(parts, to_cents(p["revenue_variance"]))
    assert (
        to_cents(p["revenue_variance"]).sum()
        == to_cents(a["amount"]).sum() - to_cents(b["amount"]).sum()
    )
    assert len(p) == len(
        set(zip(a["period"], a["item"], strict=True))
        | set(zip(b["period"], b["item"], strict=True))
    )
    # a new or discontinued item never carries a price effect
    # (unless it has amounts without quantity, which are price effects by definition)
    nd = p["status"].isin(["new", "discontinued"])
    qtyless = ((p["actual_qty"] == 0) & (p["actual_amount"] != 0)) | (
        (p["budget_qty"] == 0) & (p["budget_amount"] != 0)
    )
    assert (p.loc[nd & ~qtyless, "price_effect"] == 0).all()
