"""The supply review's KPIs (definitions: :data:`sop_xl.kpi.defs.SUPPLY_KPIS`).

They are projections made at the cycle, so they carry one value: the month the cycle reviews
(``cycle - 1``), like the scorecard's other KPIs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sop_xl.model.periods import add_months
from sop_xl.model.schema import Settings

COLUMNS = ("kpi", "period", "value", "numerator", "denominator", "n", "note")


def supply_kpis(result, period: str) -> pd.DataFrame:
    """Peak capacity utilisation, stock-out item-months and past-due backlog value of a
    :class:`~sop_xl.supply.step.SupplyResult`, as a long frame like ``kpi_table``."""
    cap, plan, pdue = result.capacity, result.supply_plan, result.past_due
    note = f"Projected over {plan['period'].min()} to {plan['period'].max()}" if len(plan) else ""
    rows = []
    c = cap[cap["capacity_hours"] > 0]
    if len(c):
        peak = c.loc[c["utilisation"].idxmax()]
        rows.append(
            (
                "capacity_utilisation",
                float(peak["utilisation"]),
                float(peak["unconstrained_load"]),
                float(peak["capacity_hours"]),
                len(c),
                f"{peak['resource']} in {peak['period']}",
            )
        )
    else:
        rows.append(("capacity_utilisation", np.nan, np.nan, np.nan, 0, "No resource capacity"))
    short = int((plan["backorder"] > 0).sum()) if len(plan) else 0
    rows.append(("stockout_months", float(short), float(short), np.nan, len(plan), note))
    value = float(pdue["open_value"].sum()) if len(pdue) else 0.0
    rows.append(("past_due_backlog_value", round(value, 2), value, np.nan, len(pdue), ""))
    return pd.DataFrame(
        [(k, period, v, num, den, n, nt) for k, v, num, den, n, nt in rows], columns=COLUMNS
    )


def supply_kpis_of_tables(tables: Mapping[str, pd.DataFrame], settings: Settings) -> pd.DataFrame:
    """Run the supply review on input tables keyed by alias and return its KPIs for the
    month the cycle reviews; empty when the workbook has no Resources."""
    from sop_xl.supply.step import build_inputs, supply_review

    resources = tables.get("Resources")
    if resources is None or resources.empty:
        return pd.DataFrame(columns=COLUMNS)
    frames = {a: df for a, df in tables.items() if df is not None}
    result = supply_review(build_inputs(frames, settings))
    return supply_kpis(result, add_months(settings.cycle, -1))
