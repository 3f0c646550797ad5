"""Operational and financial KPIs: hand-computed answers for fill, delivery, schedule, vendor,
inventory and finance KPIs, including empty input, blanks and zero denominators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.kpi.forecast import KpiInputError
from sop_xl.kpi.ops import forward_days_of_supply, inventory_turns_ttm
from sop_xl.kpi.table import (
    days_of_supply,
    delivery,
    fill_rates,
    gross_margin,
    inventory_turns,
    revenue_vs_budget,
    schedule_attainment,
    vendor_performance,
)
from sop_xl.model.schema import Settings

approx = pytest.approx
S = Settings(customer_days_early=2, customer_days_late=0, vendor_days_early=5, vendor_days_late=2,
             production_days_late=2)  # fmt: skip


def D(*xs):
    return pd.to_datetime(list(xs))


def lines_fixture() -> pd.DataFrame:
    """Four lines, three orders, due Jan/Feb 2026.

    L1 O1 due 01-10 shipped 5/5 on 01-09 (1 day early: in window, filled)
    L2 O1 no promise, requested 01-12, shipped 2/3 on 01-12 (on time, short)
    L3 O2 due 02-05 shipped 4/4 on 02-09 (late)
    L4 O3 due 01-20 shipped 6/6 on 01-14 (6 days early: filled, not on time)
    L5 O3 due 01-25 qty 0 (cancelled: excluded)
    L6 O4 due 01-28 not shipped (due, counts as a failure)
    """
    return pd.DataFrame(
        {
            "order": ["O1", "O1", "O2", "O3", "O3", "O4"],
            "line": [1, 2, 1, 1, 2, 1],
            "customer": ["C1", "C1", "C2", "C2", "C2", "C1"],
            "item": ["A", "B", "A", "B", "B", "A"],
            "location": "L1",
            "requested_date": D(
                "2026-01-10", "2026-01-12", "2026-02-05", "2026-01-20", "2026-01-25", "2026-01-28"
            ),
            "promised_date": D("2026-01-10", None, "2026-02-05", "2026-01-20", "2026-01-25", None),
            "qty_ordered": [5.0, 3.0, 4.0, 6.0, 0.0, 2.0],
            "qty_shipped": [5.0, 2.0, 4.0, 6.0, 0.0, np.nan],
            "ship_date": D("2026-01-09", "2026-01-12", "2026-02-09", "2026-01-14", None, None),
        }
    )


def test_fill_rates_line_order_unit():
    r = fill_rates(lines_fixture(), S, by=["period"]).set_index("period")
    jan, feb = r.loc["2026-01"], r.loc["2026-02"]
    # Jan lines due: L1 filled, L2 short, L4 filled (early is fine), L6 unshipped -> 2/4
    assert jan["n"] == 4 and jan["line_fill_rate"] == approx(2 / 4)
    # units: 5 + 2 + 6 + 0 over 5 + 3 + 6 + 2
    assert jan["unit_fill_rate"] == approx(13 / 16)
    # orders in Jan: O1 (L2 short) no, O3 yes (L5 excluded), O4 no -> 1/3
    assert jan["order_fill_rate"] == approx(1 / 3)
    assert jan["order_fill_rate_den"] == 3
    # Feb: L3 shipped late but complete -> filled (APICS fill ignores timing; OTIF does not)
    assert (feb["line_fill_rate"], feb["unit_fill_rate"], feb["order_fill_rate"]) == (1, 1, 1)
    assert "2 line(s) without a promised date" in jan["note"]  # L2 and L6
    assert "promised" not in feb["note"]
    total = fill_rates(lines_fixture(), S).iloc[0]
    assert total["line_fill_rate"] == approx(3 / 5) and total["order_fill_rate"] == approx(2 / 4)


def test_delivery_otd_otif_promised_and_requested():
    r = delivery(lines_fixture(), S, by=["period"]).set_index("period")
    jan = r.loc["2026-01"]
    # on time (window -2..0 days): L1 (-1) yes, L2 (0) yes, L4 (-6) no, L6 unshipped no
    assert jan["otd"] == approx(2 / 4)
    assert jan["otif"] == approx(1 / 4)  # L2 is short
    assert r.loc["2026-02", "otd"] == 0
    # late tolerance of 4 days makes the Feb line on time
    wide = S.model_copy(update={"customer_days_late": 4})
    assert delivery(lines_fixture(), wide, by=["period"]).set_index("period").loc[
        "2026-02", "otd"
    ] == approx(1.0)
    # requested basis: promise ignored; identical here except nothing changes for L1/L3/L4
    req = delivery(lines_fixture(), S, basis="requested").iloc[0]
    assert req["otd"] == approx(2 / 5)


def test_not_yet_due_lines_are_left_out_with_as_of():
    r = delivery(lines_fixture(), S, by=["period"], as_of="2026-02")
    feb = r.set_index("period").loc["2026-02"]
    assert feb["n"] == 0 and np.isnan(feb["otd"]) and "nothing due" in feb["note"]


def test_production_schedule_attainment_and_adherence():
    orders = pd.DataFrame(
        {
            "order": ["P1", "P2", "P3", "P4"],
            "item": ["A", "B", "A", "B"],
            "location": "L1",
            "status": ["Finished", "Released", "Planned", "Released"],
            "planned_qty": [10.0, 10.0, 10.0, 20.0],
            "due_date": D("2026-01-15", "2026-01-20", "2026-01-15", "2026-01-25"),
            "completed_qty": [12.0, 5.0, np.nan, np.nan],
            "completion_date": D("2026-01-17", "2026-01-25", None, None),
        }
    )
    r = schedule_attainment(orders, S).iloc[0]
    # P1 finished 2 days late (inside +2), 12 capped to 10; P2 5 days late; P3 planned only;
    # P4 not finished. -> 10 / (10 + 10 + 20); adherence 1 / 3
    assert r["n"] == 3
    assert r["schedule_attainment"] == approx(10 / 40)
    assert r["schedule_adherence"] == approx(1 / 3)
    # on time and complete: P1 (12 >= 10, +2 days) only -> 1 / 3
    assert r["schedule_otif"] == approx(1 / 3)
    uncapped = schedule_attainment(orders, S, cap=False).iloc[0]
    assert uncapped["schedule_attainment"] == approx(12 / 40)
    by_item = schedule_attainment(orders, S, by=["item"]).set_index("item")
    assert by_item.loc["A", "schedule_attainment"] == 1.0
    assert by_item.loc["B", "schedule_attainment"] == 0.0


def test_vendor_performance():
    rec = pd.DataFrame(
        {
            "order": ["R1", "R2", "R3", "R4"],
            "line": [1, 1, 1, 1],
            "vendor": ["V1", "V1", "V2", "V2"],
            "item": "A",
            "location": "L1",
            "promised_date": D("2026-01-10", "2026-01-10", "2026-01-10", "2026-01-10"),
            "received_date": D("2026-01-05", "2026-01-13", "2026-01-04", None),
            "qty_ordered": [5.0, 5.0, 5.0, 5.0],
            "qty_received": [5.0, 4.0, 6.0, np.nan],
        }
    )
    r = vendor_performance(rec, S, by=["vendor"]).set_index("vendor")
    # window -5..+2: R1 -5 yes, R2 +3 no; R3 -6 no, R4 not received
    assert r.loc["V1", "vendor_otd"] == 0.5 and r.loc["V2", "vendor_otd"] == 0.0
    assert r.loc["V1", "vendor_qty_complete"] == 0.5 and r.loc["V2", "vendor_qty_complete"] == 0.5


def _inv_data():
    actuals = pd.DataFrame(
        {
            "item": ["A", "A", "B"],
            "location": "L1",
            "period": ["2026-01", "2026-02", "2026-02"],
            "cost": [100.0, 120.0, 30.0],
            "amount": [200.0, 220.0, 30.0],
        }
    )
    inventory = pd.DataFrame(
        {
            "item": ["A", "A", "A", "B", "B"],
            "location": "L1",
            "period": ["2025-12", "2026-01", "2026-02", "2026-01", "2026-02"],
            "value": [300.0, 500.0, 700.0, 0.0, 0.0],
        }
    )
    return actuals, inventory


def test_inventory_turns_monthly_and_span():
    a, inv = _inv_data()
    m = inventory_turns(a, inv, by=["item", "period"]).set_index(["item", "period"])
    assert m.loc[("A", "2026-01"), "inventory_turns"] == approx(100 / 400)  # (300+500)/2
    assert m.loc[("A", "2026-02"), "inventory_turns"] == approx(120 / 600)
    assert np.isnan(m.loc[("B", "2026-02"), "inventory_turns"])  # no stock value
    assert "no inventory value" in m.loc[("B", "2026-02"), "note"]
    annual = inventory_turns(a, inv, by=["item", "period"], annualise=True)
    assert annual.set_index(["item", "period"]).loc[("A", "2026-01"), "inventory_turns"] == approx(
        12 * 100 / 400
    )
    span = inventory_turns(a, inv, by=["item"]).set_index("item")
    # A: COGS 220 over the average of month-ends 2025-12, 2026-01, 2026-02 = 500
    assert span.loc["A", "inventory_turns"] == approx(220 / 500)
    span12 = inventory_turns(a, inv, by=["item"], annualise=True).set_index("item")
    assert span12.loc["A", "inventory_turns"] == approx(220 / 500 * 6)
    total = inventory_turns(a, inv).iloc[0]
    assert total["inventory_turns"] == approx(250 / ((300 + 500 + 700) / 3))


def test_days_of_supply():
    a, inv = _inv_data()
    m = days_of_supply(a, inv, by=["item", "period"]).set_index(["item", "period"])
    assert m.loc[("A", "2026-01"), "days_of_supply"] == approx(500 / (100 / 31))
    assert m.loc[("A", "2026-02"), "days_of_supply"] == approx(700 / (120 / 28))
    span = days_of_supply(a, inv, by=["item"]).set_index("item")
    assert span.loc["A", "days_of_supply"] == approx(700 / (220 / 59))
    # no cost of sales: undefined, never infinite
    zero = days_of_supply(a.assign(cost=0.0), inv, by=["item"]).set_index("item")
    assert np.isnan(zero.loc["A", "days_of_supply"]) and "no cost of sales" in zero.loc["A", "note"]


def test_finance_kpis():
    a, _ = _inv_data()
    gm = gross_margin(a, by=["period"]).set_index("period")
    assert gm.loc["2026-01", "gross_margin_pct"] == approx(0.5)
    assert gm.loc["2026-02", "gross_margin_pct"] == approx((250 - 150) / 250)
    budget = pd.DataFrame(
        {"item": ["A", "B"], "period": ["2026-02", "2026-02"], "amount": [200.0, 50.0]}
    )
    rv = revenue_vs_budget(a, budget, by=["period"]).iloc[0]
    assert rv["period"] == "2026-02"  # January has no budget: not compared
    assert rv["revenue_vs_budget_pct"] == approx((250 - 250) / 250)
    rv_item = revenue_vs_budget(a, budget, by=["item"]).set_index("item")
    assert rv_item.loc["B", "revenue_vs_budget_pct"] == approx((30 - 50) / 50)
    none = revenue_vs_budget(a, budget.assign(amount=0.0)).iloc[0]
    assert np.isnan(none["revenue_vs_budget_pct"]) and "no budget revenue" in none["note"]


def test_empty_tables_and_missing_columns():
    empty = lines_fixture().iloc[0:0]
    r = fill_rates(empty, S)
    assert r.iloc[0]["n"] == 0 and np.isnan(r.iloc[0]["line_fill_rate"])
    assert len(fill_rates(empty, S, by=["customer"])) == 0
    with pytest.raises(KpiInputError, match="ship_date"):
        delivery(lines_fixture().drop(columns="ship_date"), S)
    with pytest.raises(KpiInputError, match=r"\['received_date', 'qty_received'\] missing"):
        vendor_performance(lines_fixture(), S)
    with pytest.raises(KpiInputError, match=r"\['vendor'\] missing"):
        delivery(lines_fixture(), S, by=["vendor"])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["C1", "C2", "C3"]),
            st.integers(0, 10),  # ordered
            st.integers(0, 12),  # shipped
            st.integers(-5, 5),  # ship day vs due
        ),
        min_size=1,
        max_size=30,
    )
)
def test_rates_stay_in_0_1_and_group_counts_add_up(rows):
    df = pd.DataFrame(rows, columns=["customer", "qty_ordered", "qty_shipped", "delta"])
    due = pd.Timestamp("2026-01-15")
    df = df.assign(
        order=[f"O{i}" for i in range(len(df))],
        requested_date=due,
        promised_date=due,
        ship_date=due + pd.to_timedelta(df["delta"], unit="D"),
        qty_ordered=df["qty_ordered"].astype(float),
        qty_shipped=df["qty_shipped"].astype(float),
    )
    g = delivery(df, S, by=["customer"])
    t = delivery(df, S).iloc[0]
    assert g["otd_num"].sum() == t["otd_num"] and g["otd_den"].sum() == t["otd_den"]
    f = fill_rates(df, S)
    for k in ("line_fill_rate", "order_fill_rate", "unit_fill_rate"):
        v = f[k].iloc[0]
        assert np.isnan(v) or 0.0 <= v <= 1.0
    assert (g["otif"].fillna(0) <= g["otd"].fillna(0) + 1e-12).all()


def test_order_fill_counts_an_order_only_when_its_latest_line_is_due_before_the_cutoff():
    # Issue 14: O1 has a line due 10-15 (shipped complete) and one due 11-05 (not shipped yet);
    # O2 has one line due 10-20, shipped short. Cycle 2026-11 (as_of 2026-11-01).
    lines = pd.DataFrame(
        {
            "order": ["O1", "O1", "O2"],
            "requested_date": D("2026-10-15", "2026-11-05", "2026-10-20"),
            "promised_date": D("2026-10-15", "2026-11-05", "2026-10-20"),
            "qty_ordered": [5.0, 5.0, 4.0],
            "qty_shipped": [5.0, np.nan, 3.0],
            "ship_date": D("2026-10-14", None, "2026-10-20"),
        }
    )
    r = fill_rates(lines, S, by=["period"], as_of="2026-11").set_index("period")
    octo = r.loc["2026-10"]
    # O1 belongs to November (latest line due 11-05): not yet scored. O2 only: 0 / 1.
    # Today's code scored O1 on its October line alone (filled) -> 1 / 2, restated next month.
    assert octo["order_fill_rate_den"] == 1 and octo["order_fill_rate"] == 0
    # lines are judged one by one: L1 filled, O2's line short -> 1 / 2
    assert octo["line_fill_rate"] == approx(1 / 2)


def test_nothing_after_the_cutoff_changes_a_closed_month():
    # A line due 10-31 shipped 11-02 (2 days late tolerance): as of 11-01 it had not shipped,
    # so it is late and not filled; the same figures come out whether or not the later
    # shipment is already in the table (no restatement after freeze).
    late2 = S.model_copy(update={"customer_days_late": 2})
    base = pd.DataFrame(
        {
            "order": ["O1"],
            "requested_date": D("2026-10-31"),
            "promised_date": D("2026-10-31"),
            "qty_ordered": [5.0],
            "qty_shipped": [np.nan],
            "ship_date": pd.to_datetime([None]),
        }
    )
    later = base.assign(qty_shipped=[5.0], ship_date=D("2026-11-02"))
    for df in (base, later):
        d = delivery(df, late2, as_of="2026-11").iloc[0]
        f = fill_rates(df, late2, as_of="2026-11").iloc[0]
        assert (d["otd"], d["otif"], f["line_fill_rate"], f["unit_fill_rate"]) == (0, 0, 0, 0)
    orders = pd.DataFrame(
        {
            "status": ["Finished"],
            "planned_qty": [10.0],
            "due_date": D("2026-10-31"),
            "completed_qty": [10.0],
            "completion_date": D("2026-11-01"),
        }
    )
    sa = schedule_attainment(orders, late2, as_of="2026-11").iloc[0]
    assert sa["schedule_adherence"] == 0 and sa["schedule_attainment"] == 0


def test_line_fill_rate_differs_from_otif_on_late_complete_and_early_lines():
    # fixture, Jan: fill = complete whenever shipped -> L1, L4 of L1 L2 L4 L6 = 2/4
    # OTIF = in window (-2..0) and complete -> L1 only = 1/4 (L4 shipped 6 days early)
    f = fill_rates(lines_fixture(), S, by=["period"]).set_index("period").loc["2026-01"]
    o = delivery(lines_fixture(), S, by=["period"]).set_index("period").loc["2026-01"]
    assert f["line_fill_rate"] == approx(2 / 4) and o["otif"] == approx(1 / 4)


def test_inventory_turns_ttm_known_answer():
    # 13 month-ends 2025-01..2026-01 valued 100, 110, ..., 220 (average 160); COGS 80 a month
    # in 2025-02..2026-01 (12 months = 960) -> 960 / 160 = 6.0 turns at 2026-01.
    periods = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01"]
    inv = pd.DataFrame({"period": periods, "value": [100.0 + 10 * i for i in range(13)]})
    act = pd.DataFrame({"period": periods[1:], "cost": 80.0})
    r = inventory_turns_ttm(act, inv).set_index("period")
    assert r.loc["2026-01", "inventory_turns_ttm"] == approx(960 / 160)
    assert r.loc["2026-01", "n"] == 13 and r.loc["2026-01", "note"] == ""
    # 2025-03: COGS 2025-02..03 = 160 over month-ends 2025-01..03 (avg 110); partial, said so
    assert r.loc["2025-03", "inventory_turns_ttm"] == approx(160 / 110)
    assert "partial window: 2 of 12 COGS months, 3 of 13" in r.loc["2025-03", "note"]


def test_forward_days_of_supply_known_answer():
    # Stock of item A at the end of 2026-01: 10 units x cost 5 = 50.00. Forecast Feb 28, Mar 31,
    # Apr 30 units (89 days, 89 units x 5 = 445.00 -> 5.00 a day) -> 50 / 5 = 10 days.
    items = pd.DataFrame({"item": ["A"], "unit_cost": [5.0]})
    inv = pd.DataFrame({"item": "A", "period": ["2026-01"], "value": [50.0]})
    fc = pd.DataFrame(
        {"item": "A", "period": ["2026-02", "2026-03", "2026-04"], "quantity": [28.0, 31.0, 30.0]}
    )
    r = forward_days_of_supply(inv, fc, items).iloc[0]
    assert r["period"] == "2026-01" and r["forward_days_of_supply"] == approx(10.0)
    none = forward_days_of_supply(inv, fc.assign(quantity=0.0), items).iloc[0]
    assert np.isnan(none["forward_days_of_supply"]) and "no forecast demand" in none["note"]


def test_every_ops_kpi_has_one_signature_style() -> None:
    """(issue 19) ``(table, ..., settings, by=(), *, options)``: tables positional without
    defaults, Settings only where used and right before ``by``, ``by`` defaulting to (), every
    option keyword-only, so no call passes a bare positional boolean such as ``annualise``."""
    import inspect

    import sop_xl.kpi.ops as ops

    public = [
        f
        for name, f in vars(ops).items()
        if inspect.isfunction(f) and f.__module__ == ops.__name__ and not name.startswith("_")
    ]
    kpi_functions = [f for f in public if "by" in inspect.signature(f).parameters]
    assert len(kpi_functions) >= 10
    for f in kpi_functions:
        params = list(inspect.signature(f).parameters.values())
        names = [p.name for p in params]
        at = names.index("by")
        assert params[at].default == (), f.__name__
        head, tail = params[:at], params[at + 1 :]
        assert head and all(p.default is inspect.Parameter.empty for p in head), f.__name__
        assert all(p.annotation in ("pd.DataFrame", "Settings") for p in head), f.__name__
        assert [p.name for p in head if p.annotation == "Settings"] in ([], [head[-1].name])
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in tail), f.__name__


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["N", "S", None]),  # the group column
            st.sampled_from(["O1", "O2", "O3", None]),  # the order id
            st.integers(0, 90),  # due, days after 2025-01-01
            st.booleans(),  # line complete
            st.booleans(),  # line valid
        ),
        max_size=30,
    ),
    st.sampled_from([None, 45]),
)
def test_orders_equal_the_pandas_groupby_reference(rows, cutoff_day):
    """ops._orders (order fill rate's orders) against the groupby/agg it replaced: the same
    orders in the same order, with their latest due month and whether every line is complete."""
    from sop_xl.kpi.ops import _orders, month_text

    day0 = np.datetime64("2025-01-01", "D")
    keys = pd.DataFrame({"region": [r[0] for r in rows]}, dtype=object)
    order = pd.Series([r[1] for r in rows], dtype=object)
    fl = {
        "due": day0 + np.array([r[2] for r in rows], dtype=np.int64).astype("timedelta64[D]"),
        "complete": np.array([r[3] for r in rows], dtype=bool),
        "valid": np.array([r[4] for r in rows], dtype=bool),
        "cutoff": None if cutoff_day is None else day0 + np.timedelta64(cutoff_day, "D"),
    }
    got, filled = _orders(keys, order, fl)

    v = fl["valid"]
    ol = keys.loc[v].copy()
    ol["_order"] = order.to_numpy()[v]
    ol["_due"] = fl["due"][v]
    ol["_filled"] = fl["complete"][v]
    ref = ol.groupby(["region", "_order"], sort=False, dropna=False).agg(
        _due=("_due", "max"), _filled=("_filled", "all")
    )
    if fl["cutoff"] is not None:
        ref = ref[ref["_due"].to_numpy(dtype="datetime64[D]") < fl["cutoff"]]
    ref = ref.reset_index()
    ref["period"] = month_text(ref["_due"].to_numpy(dtype="datetime64[D]"))
    assert got["region"].tolist() == ref["region"].tolist() or (
        got["region"].isna().tolist() == ref["region"].isna().tolist()
        and got["region"].dropna().tolist() == ref["region"].dropna().tolist()
    )
    assert got["period"].tolist() == ref["period"].tolist()
    assert filled.tolist() == ref["_filled"].tolist()


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(
        st.one_of(
            st.sampled_from(["2026-01", "2026-02", "nan", "None", "", None, np.nan, pd.NA, pd.NaT]),
            st.integers(-3, 3),
            st.floats(allow_nan=False, width=32),
        ),
        max_size=30,
    ),
    wanted=st.sets(st.sampled_from(["2026-01", "nan", "None", "<NA>", "NaT", "1", "1.0", ""])),
)
def test_text_isin_is_astype_str_isin(cells, wanted):
    # the definition, cell by cell; missing values never match (astype(str) keeps them missing)
    from sop_xl.kpi.ops import _text_isin

    s = pd.Series(cells, dtype=object)
    want = s.astype(str).isin(wanted).to_numpy(dtype=bool)
    np.testing.assert_array_equal(_text_isin(s, wanted), want)
