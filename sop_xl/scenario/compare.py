"""The side-by-side comparison: every measure for every scenario, delta to Base, best marked.

Measures (over the horizon, constrained plan, at the scenario's price and cost):

- Revenue = sum of met demand x expected realised price (sop_xl.outlook.prices); Gross
  margin = met demand x (price - cost);
- Unmet demand (units) and its value at that price; Service level = met / demand (units,
  consensus + past-due backlog; blank when there is no demand);
- Peak capacity utilisation: the supply review's KPI ``capacity_utilisation`` (defined in
  :data:`sop_xl.kpi.defs.KPIS`) on each scenario's run; the same per critical resource
  (Base's peak >= 90%, the tight threshold of the supply review; at most three, the most
  loaded first; the most loaded one when none is tight);
- Closing inventory value = stock at the end of the horizon x unit cost; Closing days of supply
  = closing stock / average daily demand over the horizon (all items).

Two shapes: :func:`compare` is long (one row per measure and scenario: what code reads, the
ScenarioResults sheet); :func:`wide` is what the executive reads (one column per scenario and
one per delta to Base, the best scenario of each row named, the ScenarioCompare sheet).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_xl.scenario.drivers import BASE
from sop_xl.scenario.runs import Run
from sop_xl.supply import capacity as cap
from sop_xl.supply import lp

#: measure -> (unit, better: 'higher' / 'lower'); money measures first (the chart's rows)
MEASURES = {
    "Revenue": ("money", "higher"),
    "Gross margin": ("money", "higher"),
    "Unmet demand (value)": ("money", "lower"),
    "Closing inventory value": ("money", "lower"),
    "Unmet demand (units)": ("units", "lower"),
    "Backorders (unit-months)": ("units", "lower"),
    "Service level": ("pct", "higher"),
    "Peak capacity utilisation": ("pct", "lower"),
    "Closing days of supply": ("days", "lower"),
}
#: the money measures charted on the ScenarioCompare sheet (its first rows)
CHARTED = 4
#: at most this many critical resources get a row of their own
MAX_CRITICAL = 3


def utilisation(run: Run) -> np.ndarray:
    """(resources, months) load of the unconstrained plan and open orders / capacity."""
    s = run.scenario
    p, inputs = s.inputs.problem, s.inputs
    unc, _, _ = lp.unconstrained(p)  # new supply at each item's Made At row
    return cap.utilisation(inputs.scheduled_load + cap.load(p.hours, unc), inputs.capacity_hours)


def _peaks(util: np.ndarray) -> np.ndarray:
    if util.size == 0:
        return np.zeros(util.shape[0])
    finite = np.where(np.isfinite(util), util, -np.inf)
    peak = finite.max(axis=1)
    return np.where(np.isfinite(peak), peak, np.nan)


def critical(base: Run) -> list[str]:
    """Base's critical resources: peak utilisation >= 90%, most loaded first, at most three;
    the most loaded resource when none is tight; none without resources."""
    res = list(base.scenario.inputs.resources.index)
    peak = _peaks(utilisation(base))
    if not res or not np.isfinite(peak).any():
        return []
    order = [i for i in np.argsort(-np.nan_to_num(peak, nan=-np.inf), kind="stable")]
    tight = [res[i] for i in order if np.isfinite(peak[i]) and peak[i] >= cap.TIGHT]
    return (tight or [res[order[0]]])[:MAX_CRITICAL]


def resource_measure(resource: str) -> str:
    return f"Peak utilisation {resource}"


def measures(run: Run, critical_resources: list[str] = ()) -> dict[str, float]:
    s, plan = run.scenario, run.plan
    p, inputs = s.inputs.problem, s.inputs
    unmet = plan.unmet(p)
    demand = p.demand.sum()
    util = utilisation(run)
    peak = _peaks(util)
    days = sum(pd.Period(x).days_in_month for x in inputs.periods)
    daily = demand / days if days else np.nan
    closing = plan.stock[:, -1].sum() if plan.stock.size else 0.0
    out = {
        "Revenue": float((plan.met * s.price[:, None]).sum()),
        "Gross margin": float((plan.met * (s.price - s.cost)[:, None]).sum()),
        "Unmet demand (value)": float((unmet * s.price[:, None]).sum()),
        "Closing inventory value": float((plan.stock[:, -1] * s.cost).sum())
        if plan.stock.size
        else 0.0,
        "Unmet demand (units)": float(unmet.sum()),
        "Backorders (unit-months)": float(np.asarray(plan.backorder).sum()),
        "Service level": float(plan.met.sum() / demand) if demand > 0 else np.nan,
        "Peak capacity utilisation": float(np.nanmax(util)) if np.isfinite(util).any() else np.nan,
        "Closing days of supply": float(closing / daily) if daily and daily > 0 else np.nan,
    }
    res = list(inputs.resources.index)
    for r in critical_resources:
        out[resource_measure(r)] = float(peak[res.index(r)]) if r in res else np.nan
    return out


def compare(runs: list[Run]) -> pd.DataFrame:
    """The ScenarioResults rows: measure, unit, scenario, value, delta and % vs Base, best."""
    by_name = {r.scenario.name: r for r in runs}
    crit = critical(by_name.get(BASE, runs[0]))
    values = {name: measures(r, crit) for name, r in by_name.items()}
    base = values.get(BASE, next(iter(values.values())))
    kinds = dict(MEASURES)
    kinds.update({resource_measure(r): ("pct", "lower") for r in crit})
    rows = []
    for m, (unit, better) in kinds.items():
        col = {name: v[m] for name, v in values.items()}
        finite = {k: x for k, x in col.items() if np.isfinite(x)}
        best = (max if better == "higher" else min)(finite.values()) if finite else None
        differ = len(finite) > 1 and not np.allclose(list(finite.values()), best)
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
                    if differ and np.isfinite(x) and np.isclose(x, best)  # type: ignore[arg-type]
                    else "",
                }
            )
    return pd.DataFrame(rows)


#: how a unit reads on the one-column-per-scenario sheet (percentages shown as % points)
UNIT_LABEL = {"money": "{cur}", "units": "units", "pct": "%", "days": "days"}


def wide(long: pd.DataFrame, currency: str = "") -> tuple[pd.DataFrame, list[str]]:
    """One row per measure, one column per scenario (``v0``, ``v1``...) then one per delta to
    Base (``d1``...), ``best`` names the best scenario(s). Percentages are in % points so one
    number format fits a column. Returns the frame and the scenario names in column order."""
    names = list(dict.fromkeys(long["scenario"]))
    scale = np.where(long["unit"] == "pct", 100.0, 1.0)
    long = long.assign(value=long["value"] * scale, delta=long["delta"] * scale)
    measures_ = list(dict.fromkeys(long["measure"]))
    first = long.drop_duplicates("measure").set_index("measure").loc[measures_]
    out = pd.DataFrame(
        {
            "measure": measures_,
            "unit": [UNIT_LABEL[u].format(cur=currency or "money") for u in first["unit"]],
            "better": first["better"].to_numpy(),
        }
    )
    v = long.pivot(index="measure", columns="scenario", values="value").loc[measures_]
    d = long.pivot(index="measure", columns="scenario", values="delta").loc[measures_]
    for i, n in enumerate(names):
        out[f"v{i}"] = v[n].to_numpy(float)
    for i, n in enumerate(names[1:], start=1):
        out[f"d{i}"] = d[n].to_numpy(float)
    best = long[long["best"] == "Best"].groupby("measure", sort=False)["scenario"].agg(", ".join)
    out["best"] = out["measure"].map(best).fillna("").to_numpy()
    return out, names
