"""A small hand-made scorecard fixture with known answers (shared by the scorecard tests).

Cycle 2026-11 reviews 2026-10 (prior month 2026-09). Expected statuses at company level:

| KPI                    | actual 2026-10 | thresholds (green / amber, better) | status    |
| ---------------------- | -------------- | ---------------------------------- | --------- |
| forecast_accuracy      | 0.80           | 0.80 / 0.70 higher (exactly green) | Green     |
| otd                    | 0.89           | 0.95 / 0.90 higher                 | Red       |
| days_of_supply         | 52             | 45 / 60 lower                      | Amber     |
| order_fill_rate        | (none)         | 0.95 / 0.90 higher                 | No data   |
| gross_margin_pct       | 0.31           | (blank)                            | No target |
| bias_pct               | -0.12          | 0.05 / 0.10 on abs(value)          | Red       |
| actions_closed_on_time | 1/2 = 0.5      | 0.9 / 0.75 higher                  | Red       |
| actions_overdue        | 1              | 0 / 2 lower                        | Amber     |
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_xl.model.periods import add_months, period_range
from sop_xl.model.schema import Settings

CYCLE = "2026-11"
PERIOD = "2026-10"
PRIOR = "2026-09"
WINDOW = period_range("2025-11", 12)  # 2025-11 .. 2026-10

EXPECTED_TOTAL = {
    "forecast_accuracy": "Green",
    "otd": "Red",
    "days_of_supply": "Amber",
    "order_fill_rate": "No data",
    "gross_margin_pct": "No target",
    "bias_pct": "Red",
    "actions_closed_on_time": "Red",
    "actions_overdue": "Amber",
}


def settings() -> Settings:
    return Settings(company="Fixture Ltd", cycle=CYCLE, currency="EUR")


def _series(kpi: str, values: list[float], periods: list[str], **extra: str) -> pd.DataFrame:
    return pd.DataFrame({"kpi": kpi, "period": periods, "value": values, "note": "", **extra})


def kpis() -> pd.DataFrame:
    """KPI long values as kpi_table gives them (region / family columns for the scopes)."""
    fa = list(np.round(np.linspace(0.69, 0.80, 12), 4))  # rising to exactly 0.80
    dos = list(np.linspace(41.0, 52.0, 12))  # rising days of supply: worsening
    parts = [
        _series("forecast_accuracy", fa, WINDOW),
        _series("otd", [0.91, 0.89], [PRIOR, PERIOD]),
        _series("days_of_supply", dos, WINDOW),
        _series("order_fill_rate", [0.96], [PRIOR]),
        _series("gross_margin_pct", [0.30, 0.31], [PRIOR, PERIOD]),
        _series("bias_pct", [0.02, -0.12], [PRIOR, PERIOD]),
        _series("otd", [0.95, 0.96], [PRIOR, PERIOD], region="EU"),
        _series("otd", [0.80, 0.85], [PRIOR, PERIOD], region="NA"),
        _series("forecast_accuracy", [0.70, 0.65], [PRIOR, PERIOD], family="FAM1"),
        _series("forecast_accuracy", [0.90, 0.91], [PRIOR, PERIOD], family="FAM2"),
    ]
    out = pd.concat(parts, ignore_index=True)
    for c in ("region", "family"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def targets() -> pd.DataFrame:
    rows = [
        (
            "forecast_accuracy",
            "Internal process",
            0.80,
            "higher",
            0.80,
            0.70,
            "Demand planner",
            None,
        ),
        ("otd", "Customer", 0.95, "higher", 0.95, 0.90, "Supply planning", None),
        ("otd", "Customer", 0.85, "higher", 0.85, 0.80, "Supply planning", "NA"),
        ("days_of_supply", "Internal process", 45.0, "lower", 45.0, 60.0, "Supply planning", None),
        ("order_fill_rate", "Customer", 0.95, "higher", 0.95, 0.90, "Supply planning", None),
        ("gross_margin_pct", "Financial", 0.35, "higher", np.nan, np.nan, "Finance", None),
        ("bias_pct", "Internal process", 0.0, "lower", 0.05, 0.10, "Demand planner", None),
        (
            "actions_closed_on_time",
            "Learning and growth",
            0.9,
            "higher",
            0.9,
            0.75,
            "Executive management",
            None,
        ),
        ("actions_overdue", "Learning and growth", 0, "lower", 0, 2, "Executive management", None),
    ]
    cols = ["kpi", "perspective", "target", "direction", "green", "amber", "owner_role", "scope"]
    return pd.DataFrame(rows, columns=cols)


def actions() -> pd.DataFrame:
    """Five actions; by hand for month 2026-10 (as of 2026-11-01):

    due in October: A3 (still open: not on time) and A4 (closed on its due date: on time) -> 1/2;
    open at 2026-11-01: A3 (due 10-10: overdue) and A5 (due 11-30: not yet) -> 1 overdue;
    oldest open: A3, raised 2026-09 -> 2026-09-01 .. 2026-11-01 = 61 days.
    For 2026-09 (as of 2026-10-01): due in September A1 (on time) and A2 (closed 10-05, late)
    -> 1/2; open: A2, A3, A4 -> overdue A2 only; oldest A2 raised 2026-08 -> 61 days.
    """
    return pd.DataFrame(
        {
            "action_id": ["A1", "A2", "A3", "A4", "A5"],
            "decision": ["Cut SKU", "Add shift", "Fix MOQ", "Review safety stock", "New DC"],
            "owner_role": [
                "Finance",
                "Operations leader",
                "Supply planning",
                "Demand planner",
                "Executive management",
            ],
            "owner": ["Ann", "Bob", "Cy", "Di", "Ed"],
            "due_date": pd.to_datetime(
                ["2026-09-15", "2026-09-30", "2026-10-10", "2026-10-20", "2026-11-30"]
            ),
            "status": ["Closed", "Closed", "Open", "Closed", "In progress"],
            "cycle_raised": ["2026-08", "2026-08", "2026-09", "2026-09", "2026-10"],
            "cycle_closed": ["2026-10", "2026-11", None, "2026-11", None],
            "closed_date": pd.to_datetime(["2026-09-14", "2026-10-05", None, "2026-10-20", None]),
        }
    )


def sales() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sales actuals and budget amounts for the last two months (revenue vs budget chart)."""
    actuals = pd.DataFrame(
        {
            "customer": ["C1", "C2", "C1"],
            "item": ["I1", "I1", "I2"],
            "location": ["L1"] * 3,
            "period": [PRIOR, PRIOR, PERIOD],
            "quantity": [10.0, 5.0, 7.0],
            "amount": [1000.0, 500.0, 1200.0],
            "cost": [600.0, 300.0, 800.0],
        }
    )
    budget = pd.DataFrame(
        {
            "customer": ["C1", "C1"],
            "item": ["I1", "I2"],
            "location": ["L1", "L1"],
            "period": [PRIOR, PERIOD],
            "quantity": [12.0, 8.0],
            "amount": [1400.0, 1000.0],
        }
    )
    return actuals, budget


def tables() -> dict[str, pd.DataFrame]:
    actuals, budget = sales()
    return {
        "Targets": targets(),
        "Actions": actions(),
        "SalesActuals": actuals,
        "SalesBudget": budget,
    }


__all__ = ["CYCLE", "EXPECTED_TOTAL", "PERIOD", "PRIOR", "WINDOW", "add_months"]
