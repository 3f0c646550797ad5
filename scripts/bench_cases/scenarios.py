"""Scenarios: 10 scenarios of the demo.

1. The scenarios step (inputs built once, drivers applied as array operations, one LP per
   scenario, the comparison) against running the supply review's engine 10 times (build the
   inputs from the tables, apply the scenario, plan, build the output frames), as a planner
   editing the inputs and re-running the supply review would.
2. The scenarios' LPs stacked into ONE block-diagonal LP against one LP per scenario.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sop_xl.demo.company import make_demo
from sop_xl.model import schema
from sop_xl.scenario import drivers as drv
from sop_xl.scenario.runs import run_all, run_each
from sop_xl.scenario.step import scenarios
from sop_xl.supply.step import build_inputs, supply_review


def cases(quick: bool) -> list[dict]:
    d = make_demo()
    frames = {schema.table(a).name: df for a, df in d.tables.items()}
    base = build_inputs(frames, d.settings)
    n = 3 if quick else 10
    rows = [
        (f"Demand {5 * i:+d}%", "Demand %", None, None, None, 0.05 * i, None) for i in range(1, n)
    ]
    table = pd.DataFrame(rows, columns=schema.SCENARIOS.names)
    frames[schema.SCENARIOS.name] = table
    t0 = time.perf_counter()
    step = scenarios(frames, d.settings)
    t_step = time.perf_counter() - t0
    t0 = time.perf_counter()
    for name in drv.names(table):
        supply_review(drv.apply(build_inputs(frames, d.settings), name, table).inputs)
    t_loop = time.perf_counter() - t0
    scen = [drv.apply(base, name, table) for name in drv.names(table)]
    together, t1 = run_all(scen)
    apart, t2 = run_each(scen)
    gap = max(
        abs(
            a.plan.objective(a.scenario.inputs.problem)
            - b.plan.objective(b.scenario.inputs.problem)
        )
        for a, b in zip(together, apart, strict=True)
    )
    return [
        {
            "case": "scenarios step vs the supply review 10 times",
            "size": f"{len(step.runs)} scenarios x demo",
            "ours_s": t_step,
            "baseline": f"build inputs + plan, {len(step.runs)} times",
            "baseline_s": t_loop,
            "ratio": t_loop / t_step,
            "note": "both without workbook reads/writes (the step reads the book once)",
        },
        {
            "case": "scenarios: one stacked LP vs one LP per scenario",
            "size": f"{len(scen)} scenarios x demo (180 items x 8 resources x 12 months)",
            "ours_s": t1,
            "baseline": f"{len(scen)} separate LPs",
            "baseline_s": t2,
            "ratio": t2 / t1,
            "note": f"largest objective difference {gap:.4f}",
        },
    ]
