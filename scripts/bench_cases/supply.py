"""Supply review: the constrained plan (LP, HiGHS, sparse) at a large user's size
(2,000 items x 20 resources x 18 months) next to the naive per-period greedy baseline
(scale every overloaded resource's requests down by the same share, never build ahead):
time of each (wall clock and CPU: the machine may be shared) and the objective each reaches
(minus the backorder, lost-margin, holding and safety-stock costs, see sop_xl/supply/lp.py),
plus the margin lost on demand still unmet at the horizon's end."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sop_xl.supply import lp


def make_problem(items: int, resources: int, months: int, seed: int = 11) -> lp.Problem:
    """Seasonal demand, 1-2 resources per item, capacity at 95% of the average load so that
    peak months overload and off-peak months have room to build ahead."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    season = 1 + 0.45 * np.sin(2 * np.pi * (t[None, :] + rng.integers(0, 12, (items, 1))) / 12)
    base = rng.lognormal(4.0, 0.8, items)[:, None]
    demand = np.round(base * season * rng.gamma(8, 1 / 8, (items, months)))
    price = rng.uniform(20, 300, items)
    cost = price * rng.uniform(0.5, 0.8, items)
    main = rng.integers(0, resources, items)
    second = rng.integers(0, resources, items)
    has2 = rng.random(items) < 0.5
    rows = np.concatenate([main, second[has2]])
    cols = np.concatenate([np.arange(items), np.flatnonzero(has2)])
    vals = np.concatenate([rng.uniform(0.05, 0.5, items), rng.uniform(0.01, 0.1, has2.sum())])
    hours = sp.csr_matrix((vals, (rows, cols)), shape=(resources, items))
    load = np.asarray(hours @ demand)
    capacity = np.repeat(0.95 * load.mean(axis=1, keepdims=True), months, axis=1)
    return lp.Problem(
        demand=demand,
        opening=np.round(demand[:, 0] * rng.uniform(0.2, 1.0, items)),
        receipts=np.zeros((items, months)),
        safety=np.round(0.3 * demand),
        hours=hours,
        capacity=capacity,
        margin=price - cost,
        holding=cost * 0.25 / 12,
    )


def cases(quick: bool) -> list[dict]:
    items, resources, months = (200, 5, 12) if quick else (2000, 20, 18)
    p = make_problem(items, resources, months)
    ours = lp.solve(p)
    base = lp.greedy(p)
    price_unmet = lambda plan: float((plan.unmet(p) * p.margin[:, None]).sum())  # noqa: E731
    return [
        {
            "case": "supply: constrained plan (LP) vs greedy",
            "size": f"{items:,} items x {resources} resources x {months} months",
            "ours_s": ours.seconds,
            "ours_cpu": ours.cpu_seconds,
            "baseline": "greedy per month",
            "baseline_s": base.seconds,
            "baseline_cpu": base.cpu_seconds,
            "ratio": base.seconds / ours.seconds,
            "note": (
                f"{ours.method}; "
                f"objective (minus costs) LP {ours.objective(p):,.0f} vs greedy "
                f"{base.objective(p):,.0f}; margin lost on demand unmet at the end LP "
                f"{price_unmet(ours):,.0f} vs greedy {price_unmet(base):,.0f}"
            ),
        }
    ]
