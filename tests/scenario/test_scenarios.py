"""Scenarios: a known answer by hand, Base = the supply review's plan, more capacity never
lowers the plan's value, one stacked LP = one LP per scenario, and bad drivers are located."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sop_xl.errors import ValidationError
from sop_xl.model import schema
from sop_xl.scenario import drivers as drv
from sop_xl.scenario.compare import compare
from sop_xl.scenario.runs import run_all, run_each
from sop_xl.supply import lp
from sop_xl.supply.step import Inputs


def tiny_inputs() -> Inputs:
    """Items A (family F) and B (family G), one resource K of 10 h a month, 2 months.

    A: 1 h/unit, demand 4 + 4, price 10, cost 6. B: 1 h/unit, demand 5 + 5, price 20, cost 12.
    No stock, no orders, no safety stock, no holding cost.
    """
    items = pd.DataFrame(
        {
            "description": ["a", "b"],
            "family": ["F", "G"],
            "unit_price": [10.0, 20.0],
            "unit_cost": [6.0, 12.0],
            "made_at": ["L", "L"],
            "replenishment": ["Make", "Make"],
        },
        index=pd.Index(["A", "B"], name="item"),
    )
    demand = np.array([[4.0, 4.0], [5.0, 5.0]])
    capacity = np.array([[10.0, 10.0]])
    problem = lp.Problem(
        demand=demand.copy(),
        opening=np.zeros(2),
        receipts=np.zeros((2, 2)),
        safety=np.zeros((2, 2)),
        hours=sp.csr_matrix(np.array([[1.0, 1.0]])),
        capacity=capacity.copy(),
        margin=np.array([4.0, 8.0]),
        holding=np.zeros(2),
    )
    return Inputs(
        periods=["2026-11", "2026-12"],
        items=items,
        resources=pd.DataFrame({"name": ["k"], "location": ["L"]}, index=pd.Index(["K"])),
        problem=problem,
        backlog_qty=np.zeros(2),
        consensus=demand.copy(),
        capacity_hours=capacity.copy(),
        scheduled_load=np.zeros((1, 2)),
        max_days=np.full(2, np.nan),
    )


def drivers(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=schema.SCENARIOS.names)


def test_ten_percent_more_demand_on_one_family_by_hand() -> None:
    # Base: 9 units of demand a month on 10 h: all met. Revenue 2 x (4 x 10 + 5 x 20) = 280.
    # "Up": B's demand +10% -> 5.5 a month; A 4 + B 5.5 = 9.5 h <= 10: all met.
    # Revenue 2 x (40 + 5.5 x 20) = 300, unmet 0. "Up 50%": B 7.5 a month, 11.5 h > 10:
    # B has the higher margin (8 vs 4), so A gets 10 - 7.5 = 2.5 -> unmet A 1.5 a month = 3
    # units, value 30; revenue 2 x (25 + 150) = 350; margin 2 x (2.5 x 4 + 7.5 x 8) = 140.
    table = drivers(
        [
            ("Up", "Demand %", "G", None, None, 0.10, None),
            ("Up 50%", "Demand %", "G", None, None, 0.50, None),
        ]
    )
    base = tiny_inputs()
    runs, _ = run_all([drv.apply(base, n, table) for n in drv.names(table)])
    c = compare(runs).set_index(["measure", "scenario"])
    assert c.loc[("Revenue", "Base"), "value"] == pytest.approx(280.0)
    assert c.loc[("Revenue", "Up"), "value"] == pytest.approx(300.0)
    assert c.loc[("Unmet demand (units)", "Up"), "value"] == pytest.approx(0.0)
    assert c.loc[("Revenue", "Up 50%"), "value"] == pytest.approx(350.0)
    assert c.loc[("Unmet demand (units)", "Up 50%"), "value"] == pytest.approx(3.0)
    assert c.loc[("Unmet demand (value)", "Up 50%"), "value"] == pytest.approx(30.0)
    assert c.loc[("Gross margin", "Up 50%"), "value"] == pytest.approx(140.0)
    assert c.loc[("Revenue", "Up 50%"), "delta"] == pytest.approx(70.0)
    assert c.loc[("Revenue", "Up 50%"), "best"] == "Best"
    # service level 17 met / 20 demand... = (2.5 + 7.5) x 2 / (4 + 7.5) x 2 = 20 / 23
    assert c.loc[("Service level", "Up 50%"), "value"] == pytest.approx(20 / 23, abs=1e-4)


def test_base_is_the_supply_plan_without_scenarios() -> None:
    from sop_xl.demo.company import make_demo
    from sop_xl.supply.step import build_inputs, supply_review

    d = make_demo()
    frames = {schema.table(a).alias: df for a, df in d.tables.items()}
    inputs = build_inputs(frames, d.settings)
    review = supply_review(inputs)
    runs, _ = run_all([drv.apply(inputs, drv.BASE, drivers([]))])
    np.testing.assert_allclose(runs[0].plan.met, review.plan.met, atol=1e-4)
    assert runs[0].plan.objective(inputs.problem) == pytest.approx(
        review.plan.objective(inputs.problem), rel=1e-7
    )


@pytest.mark.parametrize("change", [0.0, 0.2, 1.0])
def test_more_capacity_never_lowers_the_plan(change: float) -> None:
    table = drivers(
        [
            ("Tight", "Demand %", None, None, None, 0.5, None),
            ("Tight+cap", "Demand %", None, None, None, 0.5, None),
            ("Tight+cap", "Capacity %", "K", None, None, change, None),
        ]
    )
    base = tiny_inputs()
    runs, _ = run_all([drv.apply(base, n, table) for n in drv.names(table)])
    by = {r.scenario.name: r for r in runs}
    tight, more = by["Tight"], by["Tight+cap"]
    assert more.plan.met.sum() >= tight.plan.met.sum() - 1e-6
    assert (
        more.plan.objective(more.scenario.inputs.problem)
        >= tight.plan.objective(tight.scenario.inputs.problem) - 1e-6
    )


def test_one_stacked_lp_equals_one_lp_per_scenario() -> None:
    table = drivers(
        [
            ("A", "Demand %", "G", "2026-12", None, 0.6, None),
            ("B", "Capacity %", None, None, "2026-11", -0.3, None),
            ("C", "Price %", "F", None, None, 0.5, None),
        ]
    )
    base = tiny_inputs()
    scen = [drv.apply(base, n, table) for n in drv.names(table)]
    together, _ = run_all(scen)
    apart, _ = run_each(scen)
    for a, b in zip(together, apart, strict=True):
        p = a.scenario.inputs.problem
        assert a.plan.objective(p) == pytest.approx(b.plan.objective(p), rel=1e-7, abs=1e-6)


def test_unknown_family_resource_month_and_driver_are_located() -> None:
    table = drivers(
        [
            ("X", "Demand %", "NOPE", None, None, 0.1, None),
            ("X", "Capacity %", "K9", None, None, 0.1, None),
            ("X", "Demand %", None, "2030-01", None, 0.1, None),
            ("X", "Magic %", None, None, None, 0.1, None),
        ]
    )
    found = drv.check(table, {"F", "G"}, {"K"}, ["2026-11", "2026-12"], "b.xlsx", np.arange(5, 9))
    assert [f.rule for f in found] == [
        "scenario.target",
        "scenario.target",
        "scenario.month",
        "scenario.driver",
    ]
    assert [f.where.row for f in found] == [5, 6, 7, 8]
    assert found[0].where.column == "Target" and "F, G" in found[0].fix


def test_scenarios_step_on_the_demo_tells_the_shift_story(demo_dir, tmp_path) -> None:
    from sop_xl import cycle
    from sop_xl.io.filebook import FileBook

    master = demo_dir / "SOP_Planning.xlsm"
    r = cycle.scenarios(FileBook(master, out=tmp_path / "s.xlsm"))
    c = r.detail.compare.set_index(["measure", "scenario"])["value"]
    # a second shift at the HEATING plant serves the winter demand sooner than Base: fewer
    # backorders (every unit is shipped by the horizon's end in both), never less margin
    shift, base = "Second shift DE", "Base"
    assert c[("Backorders (unit-months)", shift)] < 0.5 * c[("Backorders (unit-months)", base)]
    assert c[("Unmet demand (units)", shift)] <= c[("Unmet demand (units)", base)]
    assert c[("Gross margin", shift)] >= c[("Gross margin", base)] - 1.0
    assert "Second shift DE" in r.summary
    with pytest.raises(ValidationError):
        from sop_xl.scenario.step import scenarios

        frames = {schema.SCENARIOS.alias: drivers([("X", "Demand %", "NOPE", None, None, 1, None)])}
        frames[schema.ITEMS.alias] = pd.DataFrame(columns=schema.ITEMS.names)
        scenarios(frames, FileBook(master).read_settings())


def tiny_result(table: pd.DataFrame):
    from sop_xl.scenario.step import ScenarioResult

    runs, seconds = run_all([drv.apply(tiny_inputs(), n, table) for n in drv.names(table)])
    return ScenarioResult(compare(runs), runs, seconds, [])


def test_compare_sheet_has_one_column_per_scenario_deltas_best_and_a_chart(tmp_path) -> None:
    import openpyxl

    from sop_xl.io.writer import write_sheets
    from sop_xl.model.schema import Settings
    from sop_xl.scenario.step import compare_outputs

    table = drivers(
        [
            ("Up 50%", "Demand %", "G", None, None, 0.50, None),
            ("Shift", "Demand %", "G", None, None, 0.50, None),
            ("Shift", "Capacity %", "K", None, None, 0.25, None),
        ]
    )
    result = tiny_result(table)
    outs = compare_outputs(result, Settings(currency="EUR"))
    wide = outs[0].df.set_index("measure")
    # by hand: Up 50% revenue 350 (see above), Base 280; Shift: 12.5 h a month covers all
    # 11.5 h of demand -> revenue 2 x (40 + 150) = 380, unmet 0
    assert list(wide.loc["Revenue", ["v0", "v1", "v2"]]) == pytest.approx([280, 350, 380])
    assert wide.loc["Revenue", "d2"] == pytest.approx(100.0)
    assert wide.loc["Revenue", "best"] == "Shift"
    assert wide.loc["Unmet demand (units)", "v1"] == pytest.approx(3.0)
    assert wide.loc["Unmet demand (units)", "best"] == "Base, Shift"
    assert wide.loc["Service level", "v1"] == pytest.approx(100 * 20 / 23, abs=1e-2)  # % points
    assert wide.loc["Peak utilisation K", "v0"] == pytest.approx(90.0)  # 9 h of 10
    assert wide.loc["Peak utilisation K", "unit"] == "%"
    assert wide.loc["Revenue", "unit"] == "EUR"
    book = tmp_path / "b.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Start"
    wb.save(book)
    write_sheets(book, outs)
    ws = openpyxl.load_workbook(book)["ScenarioCompare"]
    headers = [c.value for c in next(r for r in ws.iter_rows() if r[0].value == "Measure")]
    assert headers == [
        "Measure", "Unit", "Better", "Base", "Up 50%", "Shift", "Up 50% vs Base",
        "Shift vs Base", "Best Scenario",
    ]  # fmt: skip
    import re
    import zipfile

    with zipfile.ZipFile(book) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        xml = z.read(charts[0]).decode()
        assert xml.count("<ser>") == 3  # one bar per scenario
        header = next(r[0].row for r in ws.iter_rows() if r[0].value == "Measure")
        cats = set(re.findall(r"\$A\$(\d+):\$A\$(\d+)", xml))
        assert cats == {(str(header + 1), str(header + 4))}  # the four money rows only
    rules = [r for rng in ws.conditional_formatting for r in rng.rules]
    assert any("MAX(" in (r.formula or [""])[0] for r in rules)


def test_base_alone_marks_nothing_best() -> None:
    result = tiny_result(drivers([]))
    assert (result.compare["best"] == "").all()


# --- properties (hypothesis) ------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_qty = st.floats(0, 20, allow_nan=False).map(lambda x: round(x, 1))


def _two_item_inputs(demand, hours, margins, cap) -> Inputs:
    base = tiny_inputs()
    d = np.array(demand, float).reshape(2, 2)
    base.problem.demand, base.consensus = d.copy(), d.copy()
    base.problem.hours = sp.csr_matrix(np.array([hours], float))
    base.items = base.items.assign(unit_price=[m + 1.0 for m in margins], unit_cost=1.0)
    base.problem.margin = np.array(margins, float)
    base.capacity_hours = np.full((1, 2), cap)
    base.problem.capacity = base.capacity_hours.copy()
    return base


@settings(max_examples=40, deadline=None)
@given(
    demand=st.lists(_qty, min_size=4, max_size=4),
    hours=st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=2, max_size=2),
    margins=st.lists(st.floats(0.5, 20).map(lambda x: round(x, 2)), min_size=2, max_size=2),
    cap=st.floats(0, 30).map(lambda x: round(x, 1)),
    more=st.floats(0, 2).map(lambda x: round(x, 2)),
)
def test_more_capacity_never_lowers_the_plan_value_property(demand, hours, margins, cap, more):
    """A Capacity % increase never lowers the plan's value (the LP's objective: margin of met
    demand less holding and safety-stock penalties); with equal hours per unit it never lowers
    met demand either (see the counterexample below for unequal hours)."""
    base = _two_item_inputs(demand, hours, margins, cap)
    table = drivers([("More", "Capacity %", None, None, None, more, None)])
    runs, _ = run_all([drv.apply(base, n, table) for n in drv.names(table)])
    b, m = runs
    assert (
        m.plan.objective(m.scenario.inputs.problem)
        >= b.plan.objective(b.scenario.inputs.problem) - 1e-6
    )
    if hours[0] == hours[1]:
        assert m.plan.met.sum() >= b.plan.met.sum() - 1e-6


def test_more_capacity_can_meet_fewer_units_at_more_margin() -> None:
    """Why the general property is on value, not units. K (2 h) is shared: A takes 1 h of K
    (margin 3, demand 2), B takes 2 h of K and 1 h of L (margin 10, demand 1). L 0.5 h: half a
    B (1 h of K, 5) + one A (3) = 8 beats two A (6) -> 1.5 units. L doubled to 1 h: one B (10)
    beats half a B + one A (8) -> 1 unit: more margin from fewer units."""
    base = _two_item_inputs([2, 0, 1, 0], [1.0, 2.0], [3.0, 10.0], 2.0)
    base.problem.hours = sp.csr_matrix(np.array([[1.0, 2.0], [0.0, 1.0]]))
    base.capacity_hours = np.array([[2.0, 2.0], [0.5, 0.5]])
    base.problem.capacity = base.capacity_hours.copy()
    base.scheduled_load = np.zeros((2, 2))
    base.resources = pd.DataFrame(
        {"name": ["k", "l"], "location": ["L", "L"]}, index=pd.Index(["K", "L"])
    )
    table = drivers([("More", "Capacity %", "L", None, None, 1.0, None)])
    b, m = run_all([drv.apply(base, n, table) for n in drv.names(table)])[0]
    assert b.plan.met[:, 0].sum() == pytest.approx(1.5, abs=1e-6)
    assert m.plan.met[:, 0].sum() == pytest.approx(1.0, abs=1e-6)
    # in the month itself (month 2 has room: with backorders both catch up by then)
    first = lambda r: float(r.plan.met[:, 0] @ r.scenario.inputs.problem.margin)  # noqa: E731
    assert first(m) == pytest.approx(10.0) and first(b) == pytest.approx(8.0)
