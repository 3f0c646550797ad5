"""The demo company: deterministic, schema-exact, referentially sound, and carrying every situation
an S&OP cycle must surface (seasonality, constrained supply, late vendors, partial shipments,
budgets that disagree, a biased region, an unmapped posting-group combination)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.demo.company import make_demo
from sop_xl.model import schema
from sop_xl.model.periods import add_months, is_period, period_range
from sop_xl.model.schema import PANDAS_DTYPES, Settings


@pytest.fixture(scope="module")
def demo():
    return make_demo()


def _tables(demo):
    return [(schema.table(alias), df) for alias, df in demo.tables.items()]


def test_same_seed_gives_identical_frames_other_seed_differs(demo):
    again = make_demo()
    assert again.settings == demo.settings
    assert list(again.tables) == list(demo.tables)
    for alias, df in demo.tables.items():
        pd.testing.assert_frame_equal(again.tables[alias], df, check_exact=True)
    for region, df in demo.regional_submissions.items():
        pd.testing.assert_frame_equal(again.regional_submissions[region], df, check_exact=True)
    other = make_demo(seed=8)
    assert not other.tables["SalesActuals"].equals(demo.tables["SalesActuals"])


def test_every_input_table_is_present_with_schema_columns_and_dtypes(demo):
    # every required table, and the optional inputs of the supply review, the scenarios and the
    # executive meeting's decisions (the demo tells its story)
    demo_optional = (*schema.SUPPLY_INPUTS, schema.SCENARIOS, schema.DECISIONS)
    expected = [t for t in schema.INPUT_TABLES if not t.optional or t in demo_optional]
    assert demo.keys() == [t.sheet for t in expected]
    assert isinstance(demo["Settings"], Settings)
    for table, df in _tables(demo):
        assert list(df.columns) == [c.name for c in table.long_columns], table.name
        for c in table.long_columns:
            assert str(df[c.name].dtype) == PANDAS_DTYPES[c.dtype], (table.name, c.name)
            s = df[c.name]
            if c.required:
                assert s.notna().all(), (table.name, c.name)
            if c.choices:
                assert s.dropna().isin(c.choices).all(), (table.name, c.name)
            if c.min_value is not None:
                assert (s.dropna() >= c.min_value).all(), (table.name, c.name)
            if c.dtype == schema.Dtype.PERIOD:
                assert s.dropna().map(is_period).all(), (table.name, c.name)
            if PANDAS_DTYPES[c.dtype] == "object":
                assert s.dropna().map(type).eq(str).all(), (table.name, c.name)


def test_keys_are_unique(demo):
    for table, df in _tables(demo):
        keys = list(table.keys) + (["period"] if table.layout == "wide" else [])
        assert keys, table.name
        assert not df.duplicated(keys).any(), table.name


def test_sizes_and_coverage(demo):
    t = demo.tables
    cycle = demo.settings.cycle
    assert len(t["Regions"]) >= 3 and len(t["Regions"]) == 4
    assert len(t["Items"]) >= 150 and t["Items"]["family"].nunique() >= 5
    assert len(t["Locations"]) >= 6
    assert t["Locations"]["region"].value_counts().min() >= 1
    assert t["Customers"].groupby("region").size().min() >= 10
    actual = sorted(t["SalesActuals"]["period"].unique())
    assert len(actual) >= 24
    assert actual == period_range(actual[0], len(actual))  # no gap
    assert actual[-1] == add_months(cycle, -1)
    horizon = sorted(p for p in t["Forecast"]["period"].unique() if p >= cycle)
    assert horizon == period_range(cycle, 12)
    past = sorted(p for p in t["Forecast"]["period"].unique() if p < cycle)
    assert past == period_range(add_months(cycle, -12), 12)
    assert len(t["SalesActuals"]) <= 120_000
    assert len(t["SalesOrderLines"]) <= 40_000
    yearly = t["SalesActuals"].groupby(t["SalesActuals"]["period"].str[:4])["amount"].sum()
    full_year = yearly[str(int(cycle[:4]) - 1)]
    assert 50e6 <= full_year <= 150e6
    assert (t["SalesActuals"]["quantity"] < 0).sum() > 10  # returns


def _refs(demo):
    """(table alias, column, referenced alias, referenced column) for every declared ref."""
    for table, _ in _tables(demo):
        for c in table.columns:
            if c.ref:
                alias, col = c.ref.split(".")
                yield table.name.removeprefix("tbl"), c.name, alias, col


def test_every_foreign_key_resolves(demo):
    t = demo.tables
    checked = 0
    for alias, column, ref_alias, ref_col in _refs(demo):
        values = t[alias][column].dropna()
        missing = set(values) - set(t[ref_alias][ref_col])
        assert not missing, f"{alias}.{column} -> {ref_alias}.{ref_col}: {sorted(missing)[:5]}"
        checked += 1
    assert checked >= 20
    # locations of a region's forecast and customers' sales belong to that region
    loc_region = t["Locations"].set_index("location")["region"]
    fc = t["Forecast"]
    assert (fc["location"].map(loc_region) == fc["region"]).all()
    sa = t["SalesActuals"].merge(t["Customers"][["customer", "region"]], on="customer")
    assert (sa["location"].map(loc_region) == sa["region"]).all()
    for region, sub in demo.regional_submissions.items():
        assert set(sub["item"]) <= set(t["Items"]["item"])
        assert (sub["location"].map(loc_region) == region).all()


def test_exactly_one_sales_budget_posting_combination_is_unmapped(demo):
    t = demo.tables
    sb = t["SalesBudget"].merge(t["Customers"], on="customer").merge(t["Items"], on="item")
    used = set(zip(sb["gen_bus_posting_group"], sb["gen_prod_posting_group"], strict=True))
    setup = t["PostingSetup"]
    mapped = set(zip(setup["gen_bus_posting_group"], setup["gen_prod_posting_group"], strict=True))
    assert used - mapped == {demo.facts["unmapped_combination"]} == {("EXPORT", "SPARES")}
    assert len(used & mapped) >= 15


def test_regional_submissions_cover_each_regions_horizon(demo):
    t = demo.tables
    horizon = period_range(demo.settings.cycle, 12)
    assert sorted(demo.regional_submissions) == sorted(t["Regions"]["region"])
    for region, sub in demo.regional_submissions.items():
        assert list(sub.columns) == ["item", "location", "period", "quantity"]
        assert sorted(sub["period"].unique()) == horizon
        fc = t["Forecast"]
        rows = fc[(fc["region"] == region) & fc["period"].isin(horizon)]
        assert len(sub) == len(rows)
        assert not sub.duplicated(["item", "location", "period"]).any()
        assert (sub["quantity"] >= 0).all()
        merged = sub.merge(rows, on=["item", "location", "period"], suffixes=("_new", "_old"))
        change = (merged["quantity_new"] / merged["quantity_old"].where(lambda s: s > 0) - 1).abs()
        assert (change > 0.25).any()  # something for the change review to flag


def _family(demo, df):
    return df.merge(demo.tables["Items"][["item", "family"]], on="item")["family"]


def test_seasonality_q4_and_summer_peaks(demo):
    sa = demo.tables["SalesActuals"]
    sa = sa.assign(family=_family(demo, sa).to_numpy(), month=sa["period"].str[5:].astype(int))
    total = sa.groupby("family")["quantity"].sum()
    q4 = sa[sa["month"] >= 10].groupby("family")["quantity"].sum() / total
    summer = sa[sa["month"].between(6, 8)].groupby("family")["quantity"].sum() / total
    assert q4["HEATING"] > 0.25 * 1.4  # an even year would give 25%
    assert q4["LIGHTING"] > 0.25 * 1.2
    assert summer["COOLING"] > 0.25 * 1.6
    assert 0.2 < q4["SPARES"] < 0.3


def test_promotions_spike_above_the_seasonal_pattern(demo):
    # biggest month/previous-month jump of a single item-region series far above seasonal swing
    sa = demo.tables["SalesActuals"].merge(demo.tables["Customers"], on="customer")
    series = sa.groupby(["item", "region", "period"])["quantity"].sum().unstack(fill_value=0)
    vol = series[series.mean(axis=1) > 50]
    ratio = vol / vol.T.rolling(3, center=True).median().T
    assert (ratio > 1.8).sum().sum() >= 5
    assert len(demo.facts["promotions_planned"]) >= 3


def test_constrained_family_schedule_attainment_is_visibly_lower(demo):
    po = demo.tables["ProductionOrders"]
    done = po[po["status"] == "Finished"].assign(family=lambda d: _family(demo, d).to_numpy())
    attainment = done.groupby("family").apply(
        lambda g: g["completed_qty"].sum() / g["planned_qty"].sum(), include_groups=False
    )
    constrained = demo.facts["constrained_family"]
    others = attainment.drop(constrained)
    assert attainment[constrained] < others.min() - 0.1
    assert (others > 0.95).all()
    late = (done["completion_date"] - done["due_date"]).dt.days > 2
    late_share = late.groupby(done["family"]).mean()
    assert late_share[constrained] > 2 * late_share.drop(constrained).max()
    # its inventory cover is low too
    inv = demo.tables["Inventory"]
    inv = inv.assign(family=_family(demo, inv).to_numpy())
    value = inv.groupby("family")["value"].mean()
    cost = demo.tables["SalesActuals"].assign(family=lambda d: _family(demo, d).to_numpy())
    monthly_cost = cost.groupby("family")["cost"].sum() / cost["period"].nunique()
    cover = value / monthly_cost
    assert cover[constrained] < cover.drop(constrained).min()


def test_late_vendors_have_poor_on_time_receipts(demo):
    s = demo.settings
    pr = demo.tables["PurchaseReceipts"].dropna(subset=["received_date"])
    days = (pr["received_date"] - pr["promised_date"]).dt.days
    on_time = days.between(-s.vendor_days_early, s.vendor_days_late)
    by_vendor = on_time.groupby(pr["vendor"]).mean()
    late = list(demo.facts["late_vendors"])
    assert len(late) >= 2
    assert (by_vendor[late] < 0.5).all()
    assert (by_vendor.drop(late) > 0.8).all()
    open_lines = demo.tables["PurchaseReceipts"]["received_date"].isna()
    assert open_lines.any()


def test_partial_shipments_exist_and_open_lines_are_unshipped(demo):
    so = demo.tables["SalesOrderLines"]
    shipped = so.dropna(subset=["ship_date"])
    partial = (shipped["qty_shipped"] < shipped["qty_ordered"]) & (shipped["qty_shipped"] > 0)
    assert 0.03 < partial.mean() < 0.2
    unshipped = so["ship_date"].isna()
    assert unshipped.any()
    assert so.loc[unshipped, "qty_shipped"].isna().all()
    assert (so["qty_shipped"].dropna() <= so.loc[so["qty_shipped"].notna(), "qty_ordered"]).all()
    assert so["promised_date"].isna().any() and so["promised_date"].notna().mean() > 0.9
    assert so["order"].nunique() < len(so)  # multi-line orders


def test_budgets_disagree_where_planted_and_agree_elsewhere(demo):
    t = demo.tables
    sb = t["SalesBudget"].merge(t["Customers"], on="customer").merge(t["Items"], on="item")
    groups = ["DOMESTIC", "EU", "EXPORT"]
    families = list(dict.fromkeys(t["Items"]["gen_prod_posting_group"]))
    # finance books every combination on its own revenue account 6<family><group>0
    sb["gl_account"] = [
        f"6{families.index(p) + 1}{groups.index(b) + 1}0"
        for b, p in zip(sb["gen_bus_posting_group"], sb["gen_prod_posting_group"], strict=True)
    ]
    sales = sb.groupby(["gl_account", "period"])["amount"].sum()
    fin = t["FinancialBudget"].set_index(["gl_account", "period"])["amount"]
    fin = fin[fin.index.get_level_values(0).str.startswith("6")]
    both = pd.concat({"sales": sales, "fin": fin}, axis=1).fillna(0.0)
    diff = both["fin"] - both["sales"]
    account, factor = demo.facts["budget_uplift"]
    shift_account, shift_from, shift_to = demo.facts["budget_shift"]
    up = both.xs(account)
    assert np.allclose(up["fin"], up["sales"] * factor, atol=60)
    sh = both.xs(shift_account)
    assert sh.loc[shift_from, "fin"] == 0 and sh.loc[shift_from, "sales"] > 0
    assert abs(sh.loc[shift_to, "fin"] - sh.loc[[shift_from, shift_to], "sales"].sum()) <= 60
    others = diff.drop([account, shift_account], level=0)
    assert others.abs().max() <= 50  # rounding to hundreds only
    assert abs(diff.xs(account).sum()) > 10_000


def test_frozen_forecast_accuracy_is_realistic_with_one_biased_region(demo):
    t = demo.tables
    cycle = demo.settings.cycle
    sa = t["SalesActuals"].merge(t["Customers"][["customer", "region"]], on="customer")
    actual = sa.groupby(["region", "item", "location", "period"])["quantity"].sum()
    fc = t["Forecast"][t["Forecast"]["period"] < cycle]
    fc = fc.set_index(["region", "item", "location", "period"])["quantity"]
    both = pd.concat({"f": fc, "a": actual}, axis=1, join="inner")
    assert len(both) > 0.8 * len(fc)
    err = both["f"] - both["a"]
    wmape = err.abs().sum() / both["a"].abs().sum()
    assert 0.20 <= wmape <= 0.35
    bias = err.groupby(level="region").sum() / both["a"].groupby(level="region").sum()
    region = demo.facts["biased_region"]
    assert bias[region] > 0.10
    assert bias.drop(region).abs().max() < 0.06
    assert set(t["Forecast"]["source"]) == {"master"}


def test_targets_cover_every_kpi_and_are_consistent(demo):
    tg = demo.tables["Targets"]
    company = tg[tg["scope"].isna()]
    assert set(company["kpi"]) == {
        "forecast_accuracy", "wmape", "bias_pct", "budget_accuracy", "inventory_turns_ttm",
        "forward_days_of_supply", "line_fill_rate", "order_fill_rate", "unit_fill_rate", "otd",
        "otif", "schedule_attainment", "schedule_adherence", "vendor_otd", "revenue_vs_budget_pct",
        "gross_margin_pct", "fva", "actions_closed_on_time", "actions_overdue",
        "capacity_utilisation", "stockout_months", "past_due_backlog_value",
        "tracking_signal", "otd_request",
    }  # fmt: skip
    higher = tg["direction"] == "higher"
    lower = tg["direction"] == "lower"
    band = tg["direction"] == "band"
    assert (tg.loc[higher, "green"] >= tg.loc[higher, "amber"]).all()
    assert (tg.loc[lower, "green"] <= tg.loc[lower, "amber"]).all()
    # a band: the green band sits inside the amber band
    b = tg.loc[band]
    assert len(b) and (b["amber"] <= b["green"]).all() and (b["green"] < b["green_max"]).all()
    assert (b["green_max"] <= b["amber_max"]).all()
    assert tg["owner_role"].isin(schema.OWNER_ROLES).all()
    assert tg["scope"].notna().any()


def test_actions_mix_closed_late_overdue_and_open(demo):
    a = demo.tables["Actions"]
    start = pd.Timestamp(f"{demo.settings.cycle}-01")
    closed = a[a["status"] == "Closed"]
    assert (closed["closed_date"] <= closed["due_date"]).sum() >= 5
    assert (closed["closed_date"] > closed["due_date"]).sum() >= 2
    assert (closed["closed_date"] < start).all()
    assert (closed["cycle_closed"] == closed["closed_date"].dt.strftime("%Y-%m")).all()
    still_open = a[a["status"].isin(["Open", "In progress"])]
    assert (still_open["due_date"] < start).sum() >= 2  # overdue
    assert (still_open["due_date"] >= start).sum() >= 1
    assert still_open["closed_date"].isna().all()
    assert (a["status"] == "Cancelled").any()
    assert (a["cycle_raised"] < demo.settings.cycle).all()


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000), month=st.integers(0, 60))
def test_any_seed_and_cycle_gives_sound_data(seed, month):
    cycle = add_months("2025-01", month)
    demo = make_demo(seed=seed, cycle=cycle)
    assert demo.settings.cycle == cycle
    for table, df in _tables(demo):
        keys = list(table.keys) + (["period"] if table.layout == "wide" else [])
        assert not df.duplicated(keys).any(), table.name
    for alias, column, ref_alias, ref_col in _refs(demo):
        assert set(demo.tables[alias][column].dropna()) <= set(demo.tables[ref_alias][ref_col])
    assert max(demo.tables["SalesActuals"]["period"]) == add_months(cycle, -1)
    budget_periods = sorted(demo.tables["FinancialBudget"]["period"].unique())
    assert cycle in budget_periods and len(budget_periods) == 12
