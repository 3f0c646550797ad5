"""Actual vs budget vs forecast: drill-down and roll-ups, hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_variance_fixtures import (
    CUSTOMERS,
    FORECAST,
    ITEMS,
    LOCATIONS,
    SALES_ACTUALS,
    SALES_BUDGET,
)

from sop_xl.variance.money import to_cents
from sop_xl.variance.step import actual_vs_plan

PERIODS = ["2026-01", "2026-02"]


def avp(by="item_location", periods=PERIODS, **kw):
    args = dict(
        sales_actuals=SALES_ACTUALS,
        sales_budget=SALES_BUDGET,
        forecast=FORECAST,
        items=ITEMS,
        customers=CUSTOMERS,
        locations=LOCATIONS,
    )
    args.update(kw)
    return actual_vs_plan(**args, by=by, periods=periods)


def test_item_location_line_hand_computed():
    d = avp().set_index(["item", "location", "period"])
    line = d.loc[("I1", "L1", "2026-01")]
    # actual: C1 12 for 126.00; budget: C1 10/100.00 + C2 3/33.33 + C9 1/11.11 + C4 1/3.33
    assert (line.actual_qty, line.budget_qty, line.qty_var_budget) == (12.0, 15.0, -3.0)
    assert (line.actual_amount, line.budget_amount, line.var_budget) == (126.00, 147.77, -21.77)
    assert line.var_budget_pct == pytest.approx(-2177 / 14777)
    # forecast: NORTH I1 L1 11 units x unit price 10.00
    assert (line.forecast_qty, line.forecast_amount, line.var_forecast) == (11.0, 110.00, 16.00)
    assert line.qty_var_forecast == 1.0
    assert (line.description, line.family, line.note) == ("Widget", "A", "")


def test_returns_and_fractional_forecast():
    d = avp().set_index(["item", "location", "period"])
    ret = d.loc[("I1", "L2", "2026-01")]  # actual return -1/-10.50 vs budgeted return -2/-20.00
    assert (ret.actual_amount, ret.budget_amount, ret.var_budget) == (-10.50, -20.00, 9.50)
    assert ret.var_budget_pct == pytest.approx(950 / 2000)  # divided by |budget|: favourable
    feb = d.loc[("I1", "L1", "2026-02")]  # forecast 2.5 units x 10.00; blank cells ignored
    assert (feb.forecast_qty, feb.forecast_amount) == (2.5, 25.00)


def test_one_sided_lines_have_zero_and_note():
    d = avp().set_index(["item", "location", "period"])
    new = d.loc[("I3", "L1", "2026-02")]  # sold, never budgeted, never forecast
    assert (new.budget_amount, new.actual_amount, new.var_budget) == (0.0, 45.00, 45.00)
    assert np.isnan(new.var_budget_pct) and np.isnan(new.var_forecast_pct)
    assert new.note == "no budget; no forecast"
    unsold = d.loc[("I3", "L1", "2026-01")]  # 500.00 (C1) + 5.55 (C2) budgeted, none sold
    assert (unsold.budget_amount, unsold.actual_amount, unsold.note) == (
        505.55,
        0.0,
        "no actuals; no forecast",
    )
    unknown = d.loc[("I8", "L1", "2026-01")]
    assert unknown.family == "(unknown item)" and unknown.budget_amount == 22.22


def test_rollups_add_up_to_the_detail_exactly():
    detail = avp()
    for by in ("family", "region", "customer", "item", "location"):
        r = avp(by)
        for col in ("actual_amount", "budget_amount", "var_budget"):
            assert to_cents(r[col]).sum() == to_cents(detail[col]).sum(), (by, col)
        if by != "customer":
            assert to_cents(r["forecast_amount"]).sum() == to_cents(detail["forecast_amount"]).sum()
    assert to_cents(detail["actual_amount"]).sum() == 26350  # 126 + 84 - 10.50 + 19 + 45
    assert to_cents(detail["forecast_amount"]).sum() == 21500  # 110 + 20 + 60 + 25


def test_region_is_the_customers_region_and_forecast_its_own():
    r = avp("region").set_index(["region", "period"])
    north = r.loc[("NORTH", "2026-01")]
    # actuals C1: 126 + 84; forecast NORTH: 11 x 10 + 3 x 20
    assert (north.actual_amount, north.forecast_amount) == (210.00, 170.00)
    # budget C1 (NORTH): 100 + 100.10 + 500 + 22.22 + 4.44 + 6.66; C4 (NORTH): 3.33
    assert north.budget_amount == 736.75
    unknown = r.loc[("(unknown customer)", "2026-02")]
    assert unknown.actual_amount == 45.00


def test_customer_rollup_has_no_forecast():
    r = avp("customer").set_index(["customer", "period"])
    assert r["forecast_amount"].isna().all() and r["var_forecast"].isna().all()
    c1 = r.loc[("C1", "2026-01")]
    assert (c1["name"], c1.region, c1.actual_amount) == ("Alpha", "NORTH", 210.00)
    assert "forecast is by region, not by customer" in c1.note


def test_family_rollup_and_period_filter():
    r = avp("family", periods=["2026-02"]).set_index(["family", "period"])
    assert list(r.index) == [("A", "2026-02"), ("B", "2026-02")]
    assert r.loc[("A", "2026-02"), "var_budget"] == pytest.approx(19.00 - 33.33)
    assert avp(periods=None)["period"].max() == "2026-03"


def test_unpriced_forecast_is_noted():
    fc = pd.concat(
        [
            FORECAST,
            pd.DataFrame(
                [("NORTH", "I9", "L1", "m", "v", "2026-01", 4.0)], columns=FORECAST.columns
            ),
        ]
    )
    d = avp(forecast=fc).set_index(["item", "location", "period"])
    line = d.loc[("I9", "L1", "2026-01")]
    assert line.forecast_qty == 4.0 and line.forecast_amount == 0.0
    assert "forecast not priced" in line.note


def test_bad_by_is_rejected():
    with pytest.raises(ValueError, match="by must be one of"):
        avp("planet")


# --- property: roll-ups and detail always add up to the inputs --------------------------------

_line = st.tuples(
    st.sampled_from(["C1", "C2", "C3", "C9"]),
    st.sampled_from(["I1", "I2", "I3", "I8"]),
    st.sampled_from(["L1", "L2"]),
    st.sampled_from(["2026-01", "2026-02", "2026-03"]),
    st.integers(-20, 50).map(float),
    st.integers(-(10**8), 10**8).map(lambda c: c / 100),
)


def _frame(rows, cols):
    return pd.DataFrame(rows, columns=cols).astype({"quantity": "float64", "amount": "float64"})


@settings(max_examples=40, deadline=None)
@given(st.lists(_line, max_size=30), st.lists(_line, max_size=30), st.lists(_line, max_size=15))
def test_rollups_always_reconcile_to_inputs(act_rows, bud_rows, fc_rows):
    cols = ["customer", "item", "location", "period", "quantity", "amount"]
    act, bud = _frame(act_rows, cols), _frame(bud_rows, cols)
    fc = pd.DataFrame(
        {
            "region": ["NORTH" if r[0] in ("C1", "C4") else "SOUTH" for r in fc_rows],
            "item": [r[1] for r in fc_rows],
            "location": [r[2] for r in fc_rows],
            "source": "m",
            "version": "v",
            "period": [r[3] for r in fc_rows],
            "quantity": pd.Series([abs(r[4]) for r in fc_rows], dtype="float64"),
        }
    )
    periods = ["2026-01", "2026-02"]
    kw = dict(sales_actuals=act, sales_budget=bud, forecast=fc, items=ITEMS, customers=CUSTOMERS)
    detail = actual_vs_plan(**kw, periods=periods)
    in_p = act["period"].isin(periods)
    assert to_cents(detail["actual_amount"]).sum() == to_cents(act.loc[in_p, "amount"]).sum()
    bp = bud["period"].isin(periods)
    assert to_cents(detail["budget_amount"]).sum() == to_cents(bud.loc[bp, "amount"]).sum()
    assert detail["actual_qty"].sum() == pytest.approx(act.loc[in_p, "quantity"].sum())
    for by in ("family", "region", "customer", "location"):
        r = actual_vs_plan(**kw, by=by, periods=periods)
        for c in ("actual_amount", "budget_amount", "var_budget"):
            assert to_cents(r[c]).sum() == to_cents(detail[c]).sum(), (by, c)
        assert np.array_equal(
            to_cents(r["var_budget"]), to_cents(r["actual_amount"]) - to_cents(r["budget_amount"])
        )
