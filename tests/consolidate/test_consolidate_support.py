"""Shared fakes for the consolidation tests (no tests here).

``FakeBook`` is an in-memory :class:`sop_xl.model.book.Book`: a dict of long DataFrames per table
and
a Settings object; ``write`` records the outputs (all or nothing) and updates the tables it
owns, so a second consolidation sees the first one's Forecast and audit trail.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from sop_xl.model import schema
from sop_xl.model.periods import period_range
from sop_xl.model.schema import Settings

REGIONS = ["APAC", "EU", "US"]
ITEMS = [f"I{i}" for i in range(1, 8)]
LOCS = {"L-EU1": "EU", "L-EU2": "EU", "L-US1": "US", "L-AP1": "APAC"}
#: region -> its item x location pairs (the assortment)
ASSORTMENT = {
    "EU": [("I1", "L-EU1"), ("I2", "L-EU1"), ("I3", "L-EU1"), ("I4", "L-EU2")],
    "US": [("I1", "L-US1"), ("I5", "L-US1")],
    "APAC": [("I6", "L-AP1")],
}
CYCLE = "2026-11"
HORIZON = period_range(CYCLE, 12)
PAST = ["2026-09", "2026-10"]


class FakeBook:
    """A master workbook in memory."""

    def __init__(
        self, tables: dict[str, pd.DataFrame], settings: Settings, path: Path | None = None
    ):
        self.name = "master.xlsx"
        self.tables = tables
        self.settings = settings
        self.writes: list[list] = []
        self.path = path
        self.fail_write = False

    def has_table(self, table) -> bool:
        return table.name in self.tables

    def read_table(self, table) -> pd.DataFrame:
        return self.tables[table.name].copy()

    def read_settings(self) -> Settings:
        return self.settings

    def write(self, outputs) -> None:
        if self.fail_write:
            raise OSError("disk full")
        self.writes.append(list(outputs))
        for o in outputs:
            self.tables[o.table.name] = o.df.copy()

    def progress(self, message: str, fraction: float | None = None) -> None:
        pass


def base_forecast() -> pd.DataFrame:
    """Previous consensus: 100 units per cell for EU, 200 for US, 300 for APAC, past + horizon."""
    base = {"EU": 100.0, "US": 200.0, "APAC": 300.0}
    recs = [
        {
            "region": r,
            "item": i,
            "location": loc,
            "source": "master",
            "version": None,
            "period": p,
            "quantity": base[r],
        }
        for r, pairs in ASSORTMENT.items()
        for i, loc in pairs
        for p in [*PAST, *HORIZON]
    ]
    return pd.DataFrame(recs)


def make_book(**settings_kw) -> FakeBook:
    settings = Settings(
        **{
            "cycle": CYCLE,
            "horizon_months": 12,
            "forecast_cutoff": dt.datetime(2026, 11, 10, 17, 0),
            **settings_kw,
        }
    )
    tables = {
        schema.REGIONS.name: pd.DataFrame(
            {
                "region": REGIONS,
                "name": ["Asia Pacific", "Europe", "United States"],
                "planner": ["Aiko", "Elena", "Sam"],
            }
        ),
        schema.ITEMS.name: pd.DataFrame(
            {
                "item": ITEMS,
                "description": [f"Item {i}" for i in ITEMS],
                "family": "F",
                "gen_prod_posting_group": "RETAIL",
                "unit_cost": 1.0,
                "unit_price": 2.0,
                "lead_time_days": 5,
            }
        ),
        schema.LOCATIONS.name: pd.DataFrame(
            {"location": list(LOCS), "name": list(LOCS), "region": list(LOCS.values())}
        ),
        schema.FORECAST.name: base_forecast(),
        schema.SALES_ACTUALS.name: pd.DataFrame(
            [
                {
                    "customer": "C1",
                    "item": i,
                    "location": loc,
                    "period": p,
                    "quantity": 90.0,
                    "amount": 180.0,
                    "cost": 90.0,
                }
                for pairs in ASSORTMENT.values()
                for i, loc in pairs
                for p in period_range("2025-11", 12)
            ]
        ),
    }
    return FakeBook(tables, settings)


def submission(region: str, value: float = 110.0) -> pd.DataFrame:
    """A full long submission of ``region``: every pair x horizon month = value."""
    return pd.DataFrame(
        [
            {"item": i, "location": loc, "period": p, "quantity": value}
            for i, loc in ASSORTMENT[region]
            for p in HORIZON
        ]
    )
