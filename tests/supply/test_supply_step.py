"""The supply review step on workbooks: rules with located findings, the demo's story, the
written sheets read back by independent readers, and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ooxml_check import load_trimmed
from python_calamine import CalamineWorkbook

from sop_xl import cli, cycle
from sop_xl.demo.company import CONSTRAINED_FAMILY
from sop_xl.io import reader
from sop_xl.io.filebook import FileBook
from sop_xl.model import schema
from sop_xl.supply.rules import check, resolve_policy


def test_rules_name_the_row_and_the_fix() -> None:
    items = pd.DataFrame({"item": ["A", "B", "C"], "family": ["F", "F", "G"]})
    policy = pd.DataFrame(
        {
            "family": [None, "NOPE", "G"],
            "item": [None, None, None],
            "safety_stock": [None, None, None],
            "min_days": [10.0, 10.0, 10.0],
            "max_days": [None, None, None],
            "replenishment": [None, None, "Buy"],
        }
    )
    routings = pd.DataFrame({"item": ["A"], "resource": ["R9"], "hours_per_unit": [1.0]})
    resources = pd.DataFrame(
        {"resource": ["R1"], "name": [None], "location": ["L"], "capacity_hours": [10.0]}
    )
    forecast = pd.DataFrame(
        {
            "region": ["EU"] * 3,
            "item": ["A", "B", "C"],
            "location": ["L"] * 3,
            "source": [None] * 3,
            "version": [None] * 3,
            "period": ["2026-11"] * 3,
            "quantity": [5.0, 5.0, 5.0],
        }
    )
    frames = {
        schema.ITEMS.alias: items,
        schema.INVENTORY_POLICY.alias: policy,
        schema.ROUTINGS.alias: routings,
        schema.RESOURCES.alias: resources,
        schema.FORECAST.alias: forecast,
    }
    rows = {
        schema.INVENTORY_POLICY.alias: np.array([5, 6, 7]),
        schema.ROUTINGS.alias: np.array([5]),
        schema.FORECAST.alias: np.array([2, 3, 4]),
    }
    found = check(frames, rows, "book.xlsx", ["2026-11"])
    by_rule = {f.rule: f for f in found}
    assert by_rule["supply.policy_scope"].where.row == 5
    assert (
        by_rule["supply.policy_family"].where.row == 6
        and "F, G" in by_rule["supply.policy_family"].fix
    )
    assert by_rule["supply.routing_resource"].where.column == "Resource"
    # B has demand, no routing and is Make (family F); C is Buy (family G); A has a routing.
    no_routing = [f for f in found if f.rule == "supply.no_routing"]
    assert len(no_routing) == 1 and "'B'" in no_routing[0].message
    assert no_routing[0].where.row == 3 and no_routing[0].where.sheet == "Forecast"
    assert "Routings" in no_routing[0].fix and "Buy" in no_routing[0].fix


def test_item_policy_overrides_its_family_field_by_field() -> None:
    items = pd.DataFrame({"item": ["A", "B"], "family": ["F", "F"]})
    policy = pd.DataFrame(
        {
            "family": ["F", None],
            "item": [None, "B"],
            "safety_stock": [None, 40.0],
            "min_days": [10.0, None],
            "max_days": [30.0, None],
            "replenishment": [None, None],
        }
    )
    p = resolve_policy(items, policy)
    assert p.loc["A", "min_days"] == 10.0 and np.isnan(p.loc["A", "safety_stock"])
    assert p.loc["B", "safety_stock"] == 40.0 and p.loc["B", "max_days"] == 30.0
    assert (p["replenishment"] == "Make").all()


@pytest.fixture(scope="module")
def demo_supply(demo_dir: Path):
    """The supply review as the demo's cycle wrote it, read back with calamine."""
    master = demo_dir / "SOP_Planning.xlsm"
    wb = CalamineWorkbook.from_path(str(master))
    out = {}
    for t in (schema.SUPPLY_PLAN, schema.CAPACITY_PLAN, schema.BACKLOG, schema.PAST_DUE_ORDERS):
        out[t.sheet] = reader.coerce(t, reader.read_raw(master, t.sheet, t)).df
    assert "SupplyPlan" in wb.sheet_names
    return out


def test_demo_heating_is_short_in_winter_and_nothing_else_is(demo_supply) -> None:
    plan = demo_supply["SupplyPlan"]
    late = plan.groupby("family")["backorder"].sum()
    assert late[CONSTRAINED_FAMILY] > 1000
    assert late.drop(CONSTRAINED_FAMILY).sum() == pytest.approx(0.0, abs=1e-3)
    short_months = set(plan.loc[plan["backorder"] > 0, "period"])
    assert short_months and all(p[5:] in ("11", "12", "01", "02", "03") for p in short_months)
    heating = plan[plan["family"] == CONSTRAINED_FAMILY]
    assert (heating["flag"] == "Short").any() and heating["orders_only"].min() < 0
    # per location: HEATING is made at DE-MAIN and shipped to the other locations, where
    # customers wait too
    assert set(heating["made_at"]) == {"DE-MAIN"}
    assert heating.loc[heating["location"] != "DE-MAIN", "transfer_in"].sum() > 0
    assert heating.loc[heating["location"] == "DE-MAIN", "constrained_supply"].sum() > 0
    assert heating.loc[heating["location"] != "DE-MAIN", "constrained_supply"].sum() == 0
    assert heating.loc[heating["backorder"] > 0, "location"].nunique() >= 2


def test_demo_sheets_keep_their_definitions(demo_supply) -> None:
    plan, capacity = demo_supply["SupplyPlan"], demo_supply["Capacity"]
    assert not plan.duplicated(["item", "location", "period"]).any()
    # stock balance per item-location-month: opening + receipts - orders at risk + constrained
    # plan + transfers in - transfers out - shipped = projected
    lhs = (
        plan["opening"]
        + plan["scheduled_receipts"]
        - plan["scheduled_at_risk"]
        + plan["constrained_supply"]
        + plan["transfer_in"]
        - plan["transfer_out"]
        - plan["met_demand"]
    )
    np.testing.assert_allclose(lhs, plan["projected"], atol=0.08)
    # what a location ships out = what the item's other locations receive
    moved = plan.groupby(["item", "period"])[["transfer_in", "transfer_out"]].sum()
    np.testing.assert_allclose(moved["transfer_in"], moved["transfer_out"], atol=0.05)
    # backorder balance: last month's backorder + demand + past-due - shipped = backorder
    owed = plan.groupby(["item", "location"])["backorder"].shift(1).fillna(0.0)
    np.testing.assert_allclose(
        owed + plan["demand"] + plan["past_due_backlog"] - plan["met_demand"],
        plan["backorder"],
        atol=0.05,
    )
    last = plan["period"] == plan["period"].max()
    np.testing.assert_allclose(plan.loc[last, "unmet_qty"], plan.loc[last, "backorder"])
    assert (plan.loc[~last, "unmet_qty"] == 0).all()
    assert (plan["backorder"] >= 0).all() and (plan["projected"] >= -0.01).all()
    # the constrained plan never exceeds capacity; the unconstrained one does where flagged
    assert (capacity["constrained_load"] <= capacity["capacity_hours"] + 0.01).all()
    over = capacity[capacity["flag"] == "Overload"]
    assert len(over) and (over["unconstrained_load"] > over["capacity_hours"]).all()
    assert set(over["resource"]) >= {"DE-MAIN-ASSY"}
    # December shutdown from the capacity grid
    de = capacity[capacity["resource"] == "DE-MAIN-ASSY"].set_index("period")["capacity_hours"]
    assert de.filter(like="-12").iloc[0] < de.filter(like="-01").iloc[0]


def test_demo_backlog_ties_to_its_past_due_lines(demo_supply) -> None:
    backlog, lines = demo_supply["Backlog"], demo_supply["PastDueOrders"]
    past = backlog[backlog["status"] == "Past due"]
    assert len(lines) and past["lines"].sum() == len(lines)
    assert past["open_value"].sum() == pytest.approx(lines["open_value"].sum(), abs=0.05)
    assert (lines["days_late"] > 0).all()


def test_frozen_plan_carries_the_supply_sheets_with_chart_and_formats(demo_dir: Path) -> None:
    frozen = sorted((demo_dir / "snapshots").glob("SOP_Plan_*.xlsx"))[-1]
    wb = load_trimmed(frozen, keep=["Capacity"], rows=1)  # other big sheets cut: see load_trimmed
    for sheet in ("SupplyPlan", "Capacity", "CapacityChart", "Backlog", "PastDueOrders"):
        assert sheet in wb.sheetnames
    cap = wb["Capacity"]
    assert len(cap._charts) == 1
    rules = [r for rng in cap.conditional_formatting for r in rng.rules]
    assert any('"Overload"' in (r.formula or [""])[0] for r in rules)


def test_cli_supply_writes_a_copy_and_leaves_the_master(demo_dir: Path, tmp_path: Path, capsys):
    master = demo_dir / "SOP_Planning.xlsm"
    before = master.read_bytes()
    out = tmp_path / "supply.xlsm"
    code = cli.main(["supply", str(master), "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "unmet at the horizon's end" in text and "past-due backlog" in text
    assert master.read_bytes() == before
    again = cycle.supply(FileBook(out))
    assert again.summary.split(";")[0] in text


def test_no_supply_tables_is_an_empty_review_not_an_error() -> None:
    """A workbook built before the supply review (no Resources etc.): the plan is uncapacitated."""
    from sop_xl.demo.company import make_demo
    from sop_xl.supply.step import build_inputs, supply_review

    d = make_demo()
    frames = {
        schema.table(a).alias: df
        for a, df in d.tables.items()
        if schema.table(a) not in schema.SUPPLY_INPUTS
    }
    r = supply_review(build_inputs(frames, d.settings))
    assert r.capacity.empty and len(r.supply_plan)
    # without capacity limits only what the opening stock cannot bridge is unmet: nothing
    assert r.supply_plan["unmet_qty"].sum() == pytest.approx(0.0, abs=1e-3)
    assert r.supply_plan["backorder"].sum() == pytest.approx(0.0, abs=1e-3)
