"""Scenario drivers: what a planner types on the Scenarios sheet, applied to the supply data.

A driver is one row: scenario, driver type, target (an item family, a resource, or blank for
all), month range (blank = the whole horizon) and a change as a fraction (0.10 = +10%).
'Base' always exists and means no change; the drivers of one scenario multiply.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sop_xl.errors import Finding, Location
from sop_xl.model.schema import SCENARIOS

if TYPE_CHECKING:  # the supply step imports the LP solver: validation needs none of it
    from sop_xl.supply.step import Inputs

BASE = "Base"
#: driver type -> what it scales (family-targeted or resource-targeted)
DRIVERS = {
    "Demand %": "family",
    "Capacity %": "resource",
    "Price %": "family",
    "Cost %": "family",
    "Safety stock %": "family",
}


@dataclass
class Scenario:
    """A scenario's supply data and its price and cost per item."""

    name: str
    inputs: Inputs
    price: np.ndarray
    cost: np.ndarray


def names(drivers: pd.DataFrame) -> list[str]:
    """Scenario names in the order typed, Base first."""
    typed = [s for s in dict.fromkeys(drivers["scenario"].dropna().astype(str)) if s != BASE]
    return [BASE, *typed]


def check(
    drivers: pd.DataFrame,
    families: set[str],
    resources: set[str],
    periods: list[str],
    book: str = "",
    rows: np.ndarray | None = None,
) -> list[Finding]:
    """A driver that names an unknown type, family, resource or month is an error."""
    out: list[Finding] = []

    def where(i: int, column: str) -> Location:
        row = int(rows[i]) if rows is not None and len(rows) > i else None
        header = SCENARIOS.column(column).header
        return Location(book, SCENARIOS.sheet, SCENARIOS.name, row=row, column=header)

    for i, d in enumerate(drivers.itertuples(index=False)):
        kind = DRIVERS.get(d.driver)
        if kind is None:
            out.append(
                Finding(
                    "error",
                    f"'{d.driver}' is not a driver type.",
                    where(i, "driver"),
                    f"Use one of: {', '.join(DRIVERS)}.",
                    "scenario.driver",
                )
            )
            continue
        known = families if kind == "family" else resources
        if isinstance(d.target, str) and d.target and d.target not in known:
            out.append(
                Finding(
                    "error",
                    f"'{d.target}' is not a known {kind} for a '{d.driver}' driver.",
                    where(i, "target"),
                    f"Use one of: {', '.join(sorted(known))}, or leave it blank for all.",
                    "scenario.target",
                )
            )
        for col in ("from_period", "to_period"):
            p = getattr(d, col)
            if isinstance(p, str) and p and p not in periods:
                out.append(
                    Finding(
                        "error",
                        f"month {p} is outside the horizon {periods[0]} to {periods[-1]}.",
                        where(i, col),
                        "Type a month of the horizon (YYYY-MM), or leave it blank.",
                        "scenario.month",
                    )
                )
    return out


def _months(d, periods: list[str]) -> np.ndarray:
    lo = d.from_period if isinstance(d.from_period, str) and d.from_period else periods[0]
    hi = d.to_period if isinstance(d.to_period, str) and d.to_period else periods[-1]
    p = np.array(periods)
    return (p >= lo) & (p <= hi)


def apply(base: Inputs, name: str, drivers: pd.DataFrame) -> Scenario:
    """The scenario ``name``: a copy of ``base`` with its drivers applied."""
    inputs = copy.deepcopy(base)
    p = inputs.problem
    fam = inputs.items["family"].to_numpy()
    res = np.asarray(inputs.resources.index)
    price = inputs.items["unit_price"].fillna(0.0).to_numpy(float).copy()
    cost = inputs.items["unit_cost"].fillna(0.0).to_numpy(float).copy()
    for d in drivers[drivers["scenario"] == name].itertuples(index=False):
        kind = DRIVERS.get(d.driver)
        if kind is None:
            continue
        factor = 1.0 + float(d.change)
        months = _months(d, inputs.periods)
        target = d.target if isinstance(d.target, str) and d.target else None
        if kind == "resource":
            rows = res == target if target else np.ones(len(res), bool)
            inputs.capacity_hours[np.ix_(rows, months)] *= factor
            continue
        rows = fam == target if target else np.ones(len(fam), bool)
        if d.driver == "Demand %":
            grid = np.ix_(rows, months)
            inputs.consensus[grid] *= factor
            p.demand[grid] *= factor
        elif d.driver == "Safety stock %":
            p.safety[np.ix_(rows, months)] *= factor
        elif d.driver == "Price %":
            price[rows] *= factor
        elif d.driver == "Cost %":
            cost[rows] *= factor
    p.capacity = inputs.capacity_hours
    p.margin = price - cost
    p.holding = p.holding * np.divide(
        cost,
        inputs.items["unit_cost"].fillna(0.0).to_numpy(float),
        where=cost > 0,
        out=np.ones_like(cost),
    )
    inputs.items = inputs.items.assign(unit_price=price, unit_cost=cost)  # values follow
    return Scenario(name, inputs, price, cost)
