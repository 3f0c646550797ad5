"""The side-by-side comparison: one row per measure and scenario, delta to Base, best marked.

Measures (over the horizon, constrained plan, at the scenario's price and cost):

- Revenue = sum of met demand x unit price; Gross margin = met demand x (price - cost);
- Unmet demand (units) and its value at unit price; Service level = met / demand (units,
  consensus + past-due backlog; blank when there is no demand);
- Peak capacity utilisation = highest load / capacity of any resource-month, load of the
  unconstrained plan and the open orders (the supply review's KPI);
- Closing inventory value = stock at the end of the horizon x unit cost; Closing days of supply
  = closing stock / average daily demand over the horizon (all items).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_xl.scenario.drivers import BASE
from sop_xl.scenario.runs import Run
from sop_xl.supply import capacity as cap
from sop_xl.supply import inventory as inv

#: measure -> (unit, better: 'higher' / 'lower')
MEASURES = {
    "Revenue": ("money", "higher"),
    "Gross margin": ("money", "higher"),
    "Unmet demand (units)": ("units", "lower"),
    "Unmet demand (value)": ("money", "lower"),
    "Service level": ("pct", "higher"),
    "Peak capacity utilisation": ("pct", "lower"),
    "Closing inventory value": ("money", "lower"),
    "Closing days of supply": ("days", "lower"),
}


def measures(run: Run) -> dict[str, float]:
    s, plan = run.scenario, run.plan
    p, inputs = s.inputs.problem, s.inputs
    unmet = plan.unmet(p)
    demand = p.demand.sum()
    unc, _ = inv.unconstrained_plan(p.opening, p.receipts + p.scheduled, p.demand, p.safety)
    load = inputs.scheduled_load + cap.load(p.hours, unc)
    util = cap.utilisation(load, inputs.capacity_hours)
    days = sum(pd.Period(x).days_in_month for x in inputs.periods)
    daily = demand / days if days else np.nan
    closing = plan.stock[:, -1].sum() if plan.stock.size else 0.0
    return {
        "Revenue": float((plan.met * s.price[:, None]).sum()),
        "Gross margin": float((plan.met * (s.price - s.cost)[:, None]).sum()),
        "Unmet demand (units)": float(unmet.sum()),
        "Unmet demand (value)": float((unmet * s.price[:, None]).sum()),
        "Service level": float(plan.met.sum() / demand) if demand > 0 else np.nan,
        "Peak capacity utilisation": float(np.nanmax(util)) if np.isfinite(util).any() else np.nan,
        "Closing inventory value": float((plan.stock[:, -1] * s.cost).sum())
        if plan.stock.size
        else 0.0,
        "Closing days of supply": float(closing / daily) if daily and daily > 0 else np.nan,
    }


def compare(runs: list[Run]) -> pd.DataFrame:
    """The ScenarioCompare rows: measure, unit, scenario, value, delta and % vs Base, best."""
    values = {r.scenario.name: measures(r) for r in runs}
    base = values.get(BASE, next(iter(values.values())))
    rows = []
    for m, (unit, better) in MEASURES.items():
        col = {name: v[m] for name, v in values.items()}
        finite = {k: x for k, x in col.items() if np.isfinite(x)}
        best = (max if better == "higher" else min)(finite.values()) if finite else None
        for name, x in col.items():
            delta = x - base[m] if np.isfinite(x) and np.isfinite(base[m]) else np.nan
            pct = delta / abs(base[m]) if np.isfinite(delta) and base[m] else np.nan
            rows.append(
                {
                    "measure": m,
                    "unit": unit,
                    "better": better,
                    "scenario": name,
                    "value": round(x, 4) if np.isfinite(x) else np.nan,
                    "delta": round(delta, 4) if np.isfinite(delta) else np.nan,
                    "delta_pct": pct,
                    "best": "Best"
                    if best is not None
                    and np.isfinite(x)
                    and np.isclose(x, best)
                    and len(finite) > 1
                    else "",
                }
            )
    return pd.DataFrame(rows)
