"""Hand-made fixture for the variance tests (every expected number is computed by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_xl.model import schema
from sop_xl.model.schema import Settings

GL_ACCOUNTS = pd.DataFrame(
    {
        "gl_account": ["4000", "4100", "4200", "5000"],
        "name": ["Sales domestic", "Sales export", "Sales wholesale", "Cost of goods sold"],
        "account_type": ["Revenue", "Revenue", "Revenue", "Cost"],
    }
)
CUSTOMERS = pd.DataFrame(
    {
        "customer": ["C1", "C2", "C3", "C4"],
        "name": ["Alpha", "Beta", "Gamma", "Delta"],
        "region": ["NORTH", "SOUTH", "SOUTH", "NORTH"],
        "gen_bus_posting_group": ["DOM", "EXP", "DOM", None],
    }
)
ITEMS = pd.DataFrame(
    {
        "item": ["I1", "I2", "I3", "I4", "I5"],
        "description": ["Widget", "Gadget", "Bolt", "Nut", "Service"],
        "family": ["A", "A", "B", "B", "S"],
        "gen_prod_posting_group": ["RETAIL", "RETAIL", "WHOLESALE", None, "SPECIAL"],
        "unit_cost": [6.0, 12.0, 3.0, 0.5, 0.0],
        "unit_price": [10.0, 20.0, 5.0, 1.0, 9.99],
        "lead_time_days": [5, 5, 5, 5, 5],
    }
)
LOCATIONS = pd.DataFrame(
    {"location": ["L1", "L2"], "name": ["Main", "South DC"], "region": ["NORTH", "SOUTH"]}
)
POSTING_SETUP = pd.DataFrame(
    {
        "gen_bus_posting_group": ["DOM", "EXP", "DOM", "DOM", "EXP"],
        "gen_prod_posting_group": ["RETAIL", "RETAIL", "WHOLESALE", "SPECIAL", "SPECIAL"],
        "sales_account": ["4000", "4100", "4200", None, "4999"],
        "cogs_account": ["5000"] * 5,
    }
)
_SB = [
    # customer, item, location, period, quantity, amount -> expected mapping
    ("C1", "I1", "L1", "2026-01", 10, 100.00),  # 4000
    ("C1", "I2", "L1", "2026-01", 5, 100.10),  # 4000
    ("C3", "I1", "L2", "2026-01", -2, -20.00),  # 4000, budgeted return (credit)
    ("C2", "I1", "L1", "2026-01", 3, 33.33),  # 4100
    ("C2", "I1", "L1", "2026-02", 3, 33.33),  # 4100, financial budget cell blank
    ("C1", "I3", "L1", "2026-01", 100, 500.00),  # 4200: not in the financial budget
    ("C1", "I1", "L1", "2026-03", 1, 10.00),  # 4000, period not in the financial budget
    ("C9", "I1", "L1", "2026-01", 1, 11.11),  # unknown customer
    ("C1", "I8", "L1", "2026-01", 1, 22.22),  # unknown item
    ("C4", "I1", "L1", "2026-01", 1, 3.33),  # customer without bus. group
    ("C1", "I4", "L1", "2026-01", 1, 4.44),  # item without prod. group
    ("C2", "I3", "L1", "2026-01", 1, 5.55),  # no posting setup EXP x WHOLESALE
    ("C1", "I5", "L1", "2026-01", 1, 6.66),  # posting setup without sales account
    ("C2", "I5", "L1", "2026-01", 1, -7.77),  # sales account 4999 not in G/L accounts (credit)
]
SALES_BUDGET = pd.DataFrame(
    _SB, columns=["customer", "item", "location", "period", "quantity", "amount"]
).astype({"quantity": "float64", "amount": "float64"})
MAPPED_TOTAL = 756.76  # 100 + 100.10 - 20 + 33.33 + 33.33 + 500 + 10
UNMAPPED_TOTAL = 45.54  # 11.11 + 22.22 + 3.33 + 4.44 + 5.55 + 6.66 - 7.77
INPUT_TOTAL = 802.30

FINANCIAL_BUDGET = pd.DataFrame(
    [
        ("4000", "2026-01", 150.00),
        ("4000", "2026-02", 50.00),
        ("4000", "2026-04", 25.00),  # period only in the financial budget
        ("4100", "2026-01", 40.00),
        ("4100", "2026-02", np.nan),  # blank cell: no budget
        ("5000", "2026-01", 60.00),  # cost account, outside the sales budget
    ],
    columns=["gl_account", "period", "amount"],
)

SALES_ACTUALS = pd.DataFrame(
    [
        ("C1", "I1", "L1", "2026-01", 12, 126.00, 72.0),
        ("C1", "I2", "L1", "2026-01", 4, 84.00, 48.0),
        ("C3", "I1", "L2", "2026-01", -1, -10.50, -6.0),  # return
        ("C2", "I1", "L1", "2026-02", 2, 19.00, 12.0),
        ("C9", "I3", "L1", "2026-02", 10, 45.00, 30.0),  # unknown customer
    ],
    columns=["customer", "item", "location", "period", "quantity", "amount", "cost"],
).astype({"quantity": "float64", "amount": "float64", "cost": "float64"})

FORECAST = pd.DataFrame(
    [
        ("NORTH", "I1", "L1", "master", "v1", "2026-01", 11.0),
        ("SOUTH", "I1", "L2", "master", "v1", "2026-01", 2.0),
        ("NORTH", "I2", "L1", "master", "v1", "2026-01", 3.0),
        ("NORTH", "I2", "L1", "master", "v1", "2026-02", np.nan),  # blank cell
        ("SOUTH", "I1", "L1", "master", "v1", "2026-02", 2.5),
    ],
    columns=["region", "item", "location", "source", "version", "period", "quantity"],
)

SETTINGS = Settings(
    cycle="2026-03",
    variance_threshold_pct=0.10,
    variance_threshold_amount=20.0,
    company="Test Co",
)


class FakeBook:
    """In-memory Book: a dict of DataFrames keyed by table name; records writes."""

    name = "fake.xlsx"

    def __init__(self, tables: dict[str, pd.DataFrame], settings: Settings = SETTINGS):
        self.tables = tables
        self.settings = settings
        self.writes: list[list] = []
        self.messages: list[tuple[str, float | None]] = []

    def has_table(self, table: schema.Table) -> bool:
        return table.name in self.tables

    def read_table(self, table: schema.Table) -> pd.DataFrame:
        return self.tables[table.name].copy()

    def read_settings(self) -> Settings:
        return self.settings

    def write(self, outputs) -> None:
        self.writes.append(list(outputs))

    def progress(self, message: str, fraction: float | None = None) -> None:
        self.messages.append((message, fraction))


def book(**drop: bool) -> FakeBook:
    tables = {
        schema.SALES_BUDGET.name: SALES_BUDGET,
        schema.FINANCIAL_BUDGET.name: FINANCIAL_BUDGET,
        schema.CUSTOMERS.name: CUSTOMERS,
        schema.ITEMS.name: ITEMS,
        schema.LOCATIONS.name: LOCATIONS,
        schema.POSTING_SETUP.name: POSTING_SETUP,
        schema.GL_ACCOUNTS.name: GL_ACCOUNTS,
        schema.SALES_ACTUALS.name: SALES_ACTUALS,
        schema.FORECAST.name: FORECAST,
    }
    for name in drop:
        tables.pop(schema.table(name).name)
    return FakeBook(tables)
