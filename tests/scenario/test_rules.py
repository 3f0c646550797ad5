"""The chosen scenario is the plan of record; an unknown chosen scenario or decision option is a
located finding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_scenarios import drivers, tiny_inputs

from sop_xl.errors import ValidationError
from sop_xl.model import schema
from sop_xl.model.schema import Settings
from sop_xl.scenario import drivers as drv
from sop_xl.scenario.rules import check, options, plan_of_record
from sop_xl.scenario.runs import run_all
from sop_xl.supply.step import supply_review

TABLE = [("Up 50%", "Demand %", "G", None, None, 0.50, None)]


def frames(decisions: list[tuple] | None = None) -> dict[str, pd.DataFrame]:
    out = {schema.SCENARIOS.alias: drivers(TABLE)}
    labels = Settings.labels()
    out[schema.SETTINGS.alias] = pd.DataFrame(
        {"setting": [labels["company"], labels["chosen_scenario"]], "value": ["A", "X"]}
    )
    if decisions is not None:
        out[schema.DECISIONS.alias] = pd.DataFrame(decisions, columns=schema.DECISIONS.names)
    return out


def test_unknown_chosen_scenario_names_the_settings_cell() -> None:
    rows = {schema.SETTINGS.alias: np.array([2, 3])}
    found = check(frames(), rows, "b.xlsm", Settings(chosen_scenario="Up 5O%"))
    assert [f.rule for f in found] == ["scenario.chosen"]
    f = found[0]
    assert (f.where.sheet, f.where.row, f.where.column) == ("Settings", 3, "Value")
    assert "Up 50%" in f.fix and "Chosen scenario" in f.fix
    assert check(frames(), rows, "b.xlsm", Settings(chosen_scenario="Up 50%")) == []


def test_decision_options_must_name_scenarios_and_the_recommendation_an_option() -> None:
    day = pd.Timestamp("2026-11-20")
    rows = {schema.DECISIONS.alias: np.array([5, 6, 7])}
    found = check(
        frames(
            [
                ("Q1?", "Base; Up 50%", "Up 50%", "CEO", day, None),
                ("Q2?", "Base; Second shift", None, "COO", day, None),
                ("Q3?", "Base, Up 50%", "Hold", "CFO", day, None),
            ]
        ),
        rows,
        "b.xlsm",
    )
    assert [(f.rule, f.where.row, f.where.column) for f in found] == [
        ("decision.options", 6, "Options"),
        ("decision.recommendation", 7, "Recommendation"),
    ]
    assert "'Second shift'" in found[0].message
    assert options("Base, Up 50% ;") == ["Base", "Up 50%"]


def test_the_chosen_scenario_is_the_supply_plan_of_record() -> None:
    base = tiny_inputs()
    f = frames()
    assert plan_of_record(base, f, Settings()) is base
    chosen = supply_review(plan_of_record(base, f, Settings(chosen_scenario="Up 50%")))
    runs, _ = run_all([drv.apply(base, "Up 50%", drivers(TABLE))])
    np.testing.assert_allclose(chosen.plan.met, runs[0].plan.met, atol=1e-6)
    # by hand (test_scenarios): 3 units of A unmet, valued at A's price 10
    assert chosen.supply_plan["unmet_qty"].sum() == pytest.approx(3.0)
    assert chosen.supply_plan["unmet_value"].sum() == pytest.approx(30.0)
    assert chosen.supply_plan["demand"].sum() == pytest.approx(8 + 15)  # the scenario's demand
    with pytest.raises(ValidationError) as e:
        plan_of_record(base, f, Settings(chosen_scenario="Nope"))
    assert e.value.findings[0].rule == "scenario.chosen"
