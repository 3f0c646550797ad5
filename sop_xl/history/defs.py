"""Definitions of the plan-history measures, for the Definitions sheet and =SOP_KPI_INFO.

They are not scorecard KPIs of their own (the scorecard's forecast accuracy is measured at the
Settings lag); they state how the LagAccuracy, FVA and StatForecast sheets are computed.
"""

from __future__ import annotations

from sop_xl.history.baseline import BASELINE_DEFINITION, FIT_MONTHS
from sop_xl.kpi.defs import KpiDef

_HIST = ("ForecastArchive", "SalesActuals", "Customers", "Items")
_DEMAND = "Demand planner"

HISTORY_KPIS: dict[str, KpiDef] = {
    d.id: d
    for d in (
        KpiDef(
            id="accuracy_by_lag",
            name="Forecast accuracy at lag L",
            formula="max(0, 1 - sum|F_L - A| / sum|A|), F_L = the consensus the cycle L months "
            "before the month locked (ForecastArchive); lag 'lead time' = each item at its lead "
            "time in months (days / 30 rounded up).",
            numerator="sum |A| - sum |F_L - A| (floored at 0)",
            denominator="sum |A|",
            unit="pct",
            direction="higher",
            zero_policy="Sales but no archived forecast: forecast 0. Forecast but no sales: "
            "sold 0. Undefined when sum |A| = 0. Months with no archived cycle L months before "
            "are not scored.",
            sign_convention="0% to 100%; bias by lag: positive = over-forecast.",
            perspective="Internal process",
            owner_role=_DEMAND,
            source_tables=_HIST,
            family="history",
            udf="SOP_ACCURACY_BY_LAG",
        ),
        KpiDef(
            id="fva_step",
            name="Forecast value added of a step",
            formula="WMAPE(previous step) - WMAPE(step), over the same cells and months at "
            "the scorecard lag; steps: naive (last closed month's sales), statistical "
            "baseline, regional submission, consensus.",
            numerator="sum|F_prev - A| - sum|F_step - A|",
            denominator="sum |A|",
            unit="pct",
            direction="higher",
            zero_policy="A step with no archived value for a cell carries the previous step's "
            "value (it added nothing). Undefined when sum |A| = 0.",
            sign_convention="Positive = the step removed error; negative = it made the "
            "forecast worse.",
            perspective="Learning and growth",
            owner_role=_DEMAND,
            source_tables=_HIST,
            family="history",
            udf="SOP_FVA_TABLE",
        ),
        KpiDef(
            id="statistical_baseline",
            name="Statistical baseline (method)",
            formula=BASELINE_DEFINITION,
            numerator=f"monthly sales, up to {FIT_MONTHS} closed months",
            denominator="none (a forecast)",
            unit="units",
            direction="target",
            zero_policy="No sales in the window: 0. Negative forecasts set to 0.",
            sign_convention="Units, never negative.",
            perspective="Internal process",
            owner_role=_DEMAND,
            source_tables=("SalesActuals", "Customers", "Items"),
            family="history",
        ),
    )
}
