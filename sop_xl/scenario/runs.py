"""Every scenario through the same constrained supply plan.

Scenarios do not share capacity or stock, so their LPs are independent. :func:`run_each` solves
one LP per scenario (what the step uses); :func:`run_all` stacks their items (rows) and
resources block-diagonally into one LP whose optimum is every scenario's optimum at once. Both
give the same plans (tests/scenario); on the demo one LP per scenario is the faster of the two
(HiGHS's time grows faster than the LP's size; scripts/bench.py --only scenarios).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sop_xl.scenario.drivers import Scenario
from sop_xl.supply import lp


@dataclass
class Run:
    """One scenario's constrained plan (arrays (items, months) of that scenario)."""

    scenario: Scenario
    plan: lp.Plan


def stack(scenarios: list[Scenario]) -> lp.Problem:
    """One LP over all scenarios: rows and resources of each scenario stacked."""
    ps = [s.inputs.problem for s in scenarios]
    offsets = np.cumsum([0] + [p.shape[0] for p in ps[:-1]])
    return lp.Problem(
        demand=np.vstack([p.demand for p in ps]),
        opening=np.concatenate([p.opening for p in ps]),
        receipts=np.vstack([p.receipts for p in ps]),
        safety=np.vstack([p.safety for p in ps]),
        hours=sp.block_diag([p.hours for p in ps], format="csr"),
        capacity=np.vstack([p.capacity for p in ps]),
        margin=np.concatenate([p.margin for p in ps]),
        holding=np.concatenate([p.holding for p in ps]),
        hard_safety_stock=ps[0].hard_safety_stock,
        scheduled=np.vstack([p.scheduled for p in ps]),
        source=np.concatenate([p.source + o for p, o in zip(ps, offsets, strict=True)]),
        backorders=ps[0].backorders,
    )


def run_all(scenarios: list[Scenario]) -> tuple[list[Run], float]:
    """Solve all scenarios in one LP; returns the runs and the seconds it took."""
    start = time.perf_counter()
    plan = lp.solve(stack(scenarios))
    runs, r0 = [], 0
    for s in scenarios:
        n = s.inputs.problem.shape[0]
        cut = slice(r0, r0 + n)
        runs.append(
            Run(
                s,
                lp.Plan(
                    supply=plan.supply[cut],
                    met=plan.met[cut],
                    stock=plan.stock[cut],
                    below_safety=plan.below_safety[cut],
                    seconds=plan.seconds,
                    method=plan.method,
                    scheduled_made=plan.scheduled_made[cut],
                    backorder=plan.backorder[cut],
                    transfer_in=plan.transfer_in[cut],
                ),
            )
        )
        r0 += n
    return runs, time.perf_counter() - start


def run_each(scenarios: list[Scenario]) -> tuple[list[Run], float]:
    """One LP per scenario, one after the other (what the step uses)."""
    start = time.perf_counter()
    runs = [Run(s, lp.solve(s.inputs.problem)) for s in scenarios]
    return runs, time.perf_counter() - start
