"""One source of truth for the standard S&OP workbook: every sheet, Excel Table and column.

Each input is an Excel Table (ListObject) declared here with its columns, types, keys and value
rules. Column *headers* are what a Business Central-style ERP export gives ("Item No.",
"Gen. Prod. Posting Group"); column *names* are the snake_case keys the engine uses. The template
builder, the reader's validation, the docs (``docs/workbook.md``) and the output writers all read
these declarations; no other module spells a sheet, table or header.

Layouts:
- ``long`` tables have one row per record (transactions, master data).
- ``wide`` planning grids have a few id columns then one column per period (``YYYY-MM``
  headers), as planners expect to type them. The reader melts them, so the engine always gets a
  long DataFrame with a ``period`` column and the grid's value column.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Dtype(StrEnum):
    """Column types. Each maps to a pandas dtype and an Excel number format."""

    TEXT = "text"
    INT = "int"
    QTY = "qty"  # quantities in units: float, shown with thousands separators
    MONEY = "money"  # currency amounts, shown to the cent, negatives red in parentheses
    NUMBER = "number"  # plain decimals (targets, thresholds)
    PCT = "pct"  # fractions shown as percentages (0.95 -> 95.0%)
    DATE = "date"
    DATETIME = "datetime"
    PERIOD = "period"  # 'YYYY-MM' text


#: Types whose values are decimal numbers (stored as float).
DECIMAL_DTYPES = frozenset({Dtype.QTY, Dtype.MONEY, Dtype.NUMBER, Dtype.PCT})
#: Types whose cells hold numbers: the decimal ones and whole numbers.
NUMERIC_DTYPES = DECIMAL_DTYPES | {Dtype.INT}


#: Excel number format per dtype (finance conventions: thousands separators, negatives in red
#: parentheses, percentages with one decimal).
NUMBER_FORMATS: dict[Dtype, str] = {
    Dtype.TEXT: "@",
    Dtype.INT: "#,##0",
    Dtype.QTY: "#,##0;[Red](#,##0)",
    Dtype.MONEY: "#,##0.00;[Red](#,##0.00)",
    Dtype.NUMBER: "#,##0.00;[Red]-#,##0.00",
    Dtype.PCT: "0.0%;[Red]-0.0%",
    Dtype.DATE: "yyyy-mm-dd",
    Dtype.DATETIME: "yyyy-mm-dd hh:mm",
    Dtype.PERIOD: "@",
}

#: Excel's limit of characters in one cell: longer text is cut at read time, with a finding.
MAX_TEXT = 32767

#: The sane bound of a number per column type: |value| at most this. Beyond it a value is a
#: typing mistake or an attack (1E+308 overflows every total to inf); so are inf and NaN. A
#: column may declare its own bound (``Column.max_abs``). Quantities: a trillion units; money:
#: ten trillion in the currency; whole numbers and decimals: 1E+15 (Excel keeps 15 digits).
MAX_ABS: dict[Dtype, float] = {
    Dtype.QTY: 1e12,
    Dtype.MONEY: 1e13,
    Dtype.NUMBER: 1e15,
    Dtype.INT: 1e15,
    Dtype.PCT: 1e6,
}

#: pandas dtype the reader produces per column type.
PANDAS_DTYPES: dict[Dtype, str] = {
    Dtype.TEXT: "object",
    Dtype.INT: "Int64",
    Dtype.QTY: "float64",
    Dtype.MONEY: "float64",
    Dtype.NUMBER: "float64",
    Dtype.PCT: "float64",
    Dtype.DATE: "datetime64[ns]",
    Dtype.DATETIME: "datetime64[ns]",
    Dtype.PERIOD: "object",
}


class Column(BaseModel):
    """One column of a table."""

    model_config = ConfigDict(frozen=True)

    name: str  # engine key, snake_case
    header: str  # what the Excel user sees
    dtype: Dtype = Dtype.TEXT
    required: bool = True  # a value must be present in every row
    doc: str = ""
    choices: tuple[str, ...] | None = None  # allowed values (data validation list)
    ref: str | None = None  # "Table.column": value must exist there (list validation)
    min_value: float | None = None  # e.g. 0 for non-negative quantities
    width: float | None = None  # Excel column width; derived from header/dtype when None
    max_abs: float | None = None  # sane bound of |value|; MAX_ABS of the dtype when None

    @property
    def number_format(self) -> str:
        return NUMBER_FORMATS[self.dtype]

    @property
    def bound(self) -> float | None:
        """|value| allowed at most (numeric columns; None for text, dates, periods)."""
        return self.max_abs if self.max_abs is not None else MAX_ABS.get(self.dtype)


class Table(BaseModel):
    """An Excel Table on its own sheet."""

    model_config = ConfigDict(frozen=True)

    name: str  # Excel table (ListObject) name, e.g. "tblItems"
    sheet: str  # worksheet name
    title: str  # plain-language title shown above / in docs
    group: str  # Settings | Master data | Budgets | Demand | Operations | Targets | Outputs
    doc: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()  # columns that identify a row (must be unique)
    layout: Literal["long", "wide"] = "long"
    value: Column | None = None  # wide grids: the measure in the period columns
    output: bool = False  # written by sop_xl (True) or typed/pasted by people (False)
    optional: bool = False  # an input a workbook may lack (older workbooks): missing = empty

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        if self.value is not None and name == self.value.name:
            return self.value
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def alias(self) -> str:
        """The short name ('Items' for tblItems), as ``Column.ref`` names a table: frames of
        several tables are keyed by it (:func:`sop_xl.model.book.read_tables`)."""
        return self.name.removeprefix("tbl")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @property
    def long_columns(self) -> tuple[Column, ...]:
        """Columns of the long DataFrame the engine receives."""
        if self.layout == "wide":
            assert self.value is not None
            return (*self.columns, PERIOD_COLUMN, self.value)
        return self.columns


def col(name: str, header: str, dtype: Dtype = Dtype.TEXT, **kw) -> Column:
    return Column(name=name, header=header, dtype=dtype, **kw)


PERIOD_COLUMN = col("period", "Period", Dtype.PERIOD, doc="Calendar month, YYYY-MM.")

# --- reusable columns --------------------------------------------------------------------------
ITEM = col("item", "Item No.", ref="Items.item", doc="Item number, as in the Items table.")
CUSTOMER = col(
    "customer", "Customer No.", ref="Customers.customer", doc="Customer number (Customers)."
)
LOCATION = col("location", "Location Code", ref="Locations.location", doc="Location (Locations).")
REGION = col("region", "Region", ref="Regions.region", doc="Sales region code (Regions).")
VENDOR = col("vendor", "Vendor No.", ref="Vendors.vendor", doc="Vendor number (Vendors).")
GL_ACCOUNT = col("gl_account", "G/L Account No.", ref="GLAccounts.gl_account", doc="G/L account.")
GEN_BUS = col("gen_bus_posting_group", "Gen. Bus. Posting Group", doc="Customer posting group.")
GEN_PROD = col("gen_prod_posting_group", "Gen. Prod. Posting Group", doc="Item posting group.")
QTY_NONNEG = {"dtype": Dtype.QTY, "min_value": 0.0}

OWNER_ROLES = (
    "Executive management",
    "Demand planner",
    "Operations leader",
    "Supply planning",
    "Sales and marketing leader",
    "Sales team",
    "Finance",
)
PERSPECTIVES = ("Financial", "Customer", "Internal process", "Learning and growth")


# --- Settings ----------------------------------------------------------------------------------
class Settings(BaseModel):
    """Cycle settings, kept as a two-column Setting/Value table on the Settings sheet.

    Each field's ``title`` is the label in the Setting column.
    """

    model_config = ConfigDict(populate_by_name=True)

    company: str = Field("Demo Company", title="Company", description="Company name on every page.")
    currency: str = Field("EUR", title="Currency", description="ISO currency code of amounts.")
    cycle: str = Field(
        "2026-11",
        title="Cycle",
        description="Planning month of this S&OP cycle (YYYY-MM); the month before is the "
        "last closed month.",
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
    )
    horizon_months: int = Field(
        12, title="Horizon (months)", ge=1, le=60, description="Months planned from the cycle on."
    )
    fiscal_year_start_month: int = Field(
        1, title="Fiscal year start month", ge=1, le=12, description="1 = January."
    )
    forecast_cutoff: dt.datetime = Field(
        dt.datetime(2026, 11, 10, 17, 0),
        title="Forecast submission cutoff",
        description="Regional forecasts received after this are late.",
    )
    late_submission_policy: Literal["accept", "reject"] = Field(
        "accept",
        title="Late submission policy",
        description="accept: late files are used and flagged; reject: late files are ignored.",
    )
    forecast_change_threshold_pct: float = Field(
        0.25,
        title="Forecast change review threshold",
        ge=0,
        description="Flag a submitted cell moving more than this share vs the previous consensus.",
    )
    customer_days_early: int = Field(
        2,
        title="Customer on-time window: days early",
        ge=0,
        description="Ship this early = on time.",
    )
    customer_days_late: int = Field(
        0, title="Customer on-time window: days late", ge=0, description="Ship this late = on time."
    )
    vendor_days_early: int = Field(
        5,
        title="Vendor on-time window: days early",
        ge=0,
        description="Receive this early = on time.",
    )
    vendor_days_late: int = Field(
        2,
        title="Vendor on-time window: days late",
        ge=0,
        description="Receive this late = on time.",
    )
    production_days_late: int = Field(
        2, title="Production due window: days late", ge=0, description="Finish this late = on time."
    )
    variance_threshold_pct: float = Field(
        0.05,
        title="Variance threshold %",
        ge=0,
        description="Variances beyond this share of budget are highlighted.",
    )
    variance_threshold_amount: float = Field(
        10000.0,
        title="Variance threshold amount",
        ge=0,
        description="...and beyond this absolute amount.",
    )
    # --- supply review (issue 11) ---
    holding_cost_rate: float = Field(
        0.25,
        title="Inventory holding cost rate (per year)",
        ge=0,
        le=2,
        description="Cost of holding one unit in stock for a year, as a share of its unit cost; "
        "the supply plan charges 1/12 of it per unit per month-end.",
    )
    chosen_scenario: str = Field(
        "Base",
        title="Chosen scenario",
        description="The scenario of the Scenarios sheet the S&OP meeting approved ('Base' = "
        "no change); named on the ScenarioCompare sheet.",
    )
    safety_stock_policy: Literal["soft", "hard"] = Field(
        "soft",
        title="Safety stock policy",
        description="soft: the supply plan may dip below safety stock to meet demand (at a "
        "penalty); hard: never below safety stock, even if demand goes unmet.",
    )

    accuracy_lag: int = Field(
        1,
        title="Forecast accuracy lag (months)",
        ge=0,
        le=12,
        description="The scorecard scores the forecast made this many months before the month "
        "(1 = last cycle's forecast; 0 = the forecast kept during the month itself).",
    )

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Field name -> label shown in the Setting column."""
        return {name: f.title or name for name, f in cls.model_fields.items()}


SETTINGS = Table(
    name="tblSettings",
    sheet="Settings",
    title="Settings",
    group="Settings",
    doc="One row per setting of this S&OP cycle (see the Settings model).",
    columns=(
        col("setting", "Setting", doc="Setting label (do not edit)."),
        col("value", "Value", required=False, doc="Value; dates as yyyy-mm-dd hh:mm."),
        col("description", "Description", required=False, doc="What the setting does."),
    ),
    keys=("setting",),
)

# --- Master data -------------------------------------------------------------------------------
REGIONS = Table(
    name="tblRegions",
    sheet="Regions",
    title="Regions",
    group="Master data",
    doc="Sales regions that submit a regional forecast.",
    columns=(
        col("region", "Region", doc="Region code."),
        col("name", "Name", doc="Region name."),
        col("planner", "Demand Planner", required=False, doc="Who submits the regional forecast."),
    ),
    keys=("region",),
)
ITEMS = Table(
    name="tblItems",
    sheet="Items",
    title="Items",
    group="Master data",
    doc="Item card export: one row per item.",
    columns=(
        col("item", "Item No.", doc="Item number."),
        col("description", "Description", required=False),
        col("family", "Item Family", doc="Product family (Item Category Code)."),
        GEN_PROD,
        col("unit_cost", "Unit Cost", Dtype.MONEY, min_value=0.0),
        col("unit_price", "Unit Price", Dtype.MONEY, min_value=0.0),
        col("lead_time_days", "Lead Time (Days)", Dtype.INT, min_value=0.0),
    ),
    keys=("item",),
)
CUSTOMERS = Table(
    name="tblCustomers",
    sheet="Customers",
    title="Customers",
    group="Master data",
    doc="Customer card export.",
    columns=(
        col("customer", "Customer No.", doc="Customer number."),
        col("name", "Name", required=False),
        REGION,
        GEN_BUS,
    ),
    keys=("customer",),
)
LOCATIONS = Table(
    name="tblLocations",
    sheet="Locations",
    title="Locations",
    group="Master data",
    doc="Warehouses and plants.",
    columns=(
        col("location", "Location Code", doc="Location code."),
        col("name", "Name", required=False),
        REGION,
    ),
    keys=("location",),
)
VENDORS = Table(
    name="tblVendors",
    sheet="Vendors",
    title="Vendors",
    group="Master data",
    doc="Vendor card export.",
    columns=(
        col("vendor", "Vendor No.", doc="Vendor number."),
        col("name", "Name", required=False),
        col("country", "Country/Region Code", required=False),
        col("lead_time_days", "Lead Time (Days)", Dtype.INT, required=False, min_value=0.0),
    ),
    keys=("vendor",),
)
GL_ACCOUNTS = Table(
    name="tblGLAccounts",
    sheet="GLAccounts",
    title="G/L Accounts",
    group="Master data",
    doc="Chart of accounts used by the budgets (income statement accounts).",
    columns=(
        col("gl_account", "G/L Account No.", doc="Account number."),
        col("name", "Name", required=False),
        col(
            "account_type",
            "Account Type",
            choices=("Revenue", "Cost"),
            doc="Revenue: above budget is favourable. Cost: above budget is unfavourable.",
        ),
    ),
    keys=("gl_account",),
)
POSTING_SETUP = Table(
    name="tblPostingSetup",
    sheet="PostingSetup",
    title="General Posting Setup",
    group="Master data",
    doc="Gen. Bus. x Gen. Prod. posting group -> sales and COGS G/L accounts.",
    columns=(
        GEN_BUS,
        GEN_PROD,
        col("sales_account", "Sales Account", ref="GLAccounts.gl_account"),
        col("cogs_account", "COGS Account", ref="GLAccounts.gl_account", required=False),
    ),
    keys=("gen_bus_posting_group", "gen_prod_posting_group"),
)

# --- Budgets -----------------------------------------------------------------------------------
FINANCIAL_BUDGET = Table(
    name="tblFinancialBudget",
    sheet="FinancialBudget",
    title="Financial Budget",
    group="Budgets",
    doc="Finance budget module: amount per G/L account and month (months across).",
    columns=(GL_ACCOUNT,),
    keys=("gl_account",),
    layout="wide",
    value=col("amount", "Amount", Dtype.MONEY, required=False),
)
SALES_BUDGET = Table(
    name="tblSalesBudget",
    sheet="SalesBudget",
    title="Sales Budget",
    group="Budgets",
    doc="Sales budget module: customer x item x location x month, quantity and amount.",
    columns=(
        CUSTOMER,
        ITEM,
        LOCATION,
        PERIOD_COLUMN,
        col("quantity", "Quantity", Dtype.QTY),
        col("amount", "Amount", Dtype.MONEY),
    ),
    keys=("customer", "item", "location", "period"),
)

# --- Demand ------------------------------------------------------------------------------------
FORECAST = Table(
    name="tblForecast",
    sheet="Forecast",
    title="Consensus Forecast",
    group="Demand",
    doc="The consolidated demand plan: region x item x location, months across (units).",
    columns=(
        REGION,
        ITEM,
        LOCATION,
        col("source", "Source", required=False, doc="Submission file or 'master'."),
        col("version", "Version", required=False, doc="Submission version stamp."),
    ),
    keys=("region", "item", "location"),
    layout="wide",
    value=col("quantity", "Quantity", Dtype.QTY, required=False, min_value=0.0),
)
SALES_ACTUALS = Table(
    name="tblSalesActuals",
    sheet="SalesActuals",
    title="Sales Actuals",
    group="Demand",
    doc="Posted sales by customer x item x location x month. Returns are negative.",
    columns=(
        CUSTOMER,
        ITEM,
        LOCATION,
        PERIOD_COLUMN,
        col("quantity", "Quantity", Dtype.QTY),
        col("amount", "Sales Amount", Dtype.MONEY),
        col("cost", "Cost Amount", Dtype.MONEY),
    ),
    keys=("customer", "item", "location", "period"),
)

# --- Operations --------------------------------------------------------------------------------
INVENTORY = Table(
    name="tblInventory",
    sheet="Inventory",
    title="Inventory",
    group="Operations",
    doc="Month-end on-hand by item and location.",
    columns=(
        ITEM,
        LOCATION,
        PERIOD_COLUMN,
        col("quantity", "Quantity on Hand", **QTY_NONNEG),
        col("value", "Inventory Value", Dtype.MONEY, min_value=0.0),
    ),
    keys=("item", "location", "period"),
)
PRODUCTION_ORDERS = Table(
    name="tblProductionOrders",
    sheet="ProductionOrders",
    title="Production Orders",
    group="Operations",
    doc="Released and finished production orders: plan vs completion.",
    columns=(
        col("order", "Prod. Order No."),
        ITEM,
        LOCATION,
        col("status", "Status", choices=("Planned", "Firm Planned", "Released", "Finished")),
        col("planned_qty", "Quantity", **QTY_NONNEG),
        col("due_date", "Due Date", Dtype.DATE),
        col("completed_qty", "Finished Quantity", Dtype.QTY, required=False, min_value=0.0),
        col("completion_date", "Finished Date", Dtype.DATE, required=False),
    ),
    keys=("order",),
)
PURCHASE_RECEIPTS = Table(
    name="tblPurchaseReceipts",
    sheet="PurchaseReceipts",
    title="Purchase Receipts",
    group="Operations",
    doc="Purchase order lines with their receipts: promised vs received.",
    columns=(
        col("order", "Order No."),
        col("line", "Line No.", Dtype.INT),
        VENDOR,
        ITEM,
        LOCATION,
        col("promised_date", "Promised Receipt Date", Dtype.DATE),
        col("received_date", "Receipt Date", Dtype.DATE, required=False),
        col("qty_ordered", "Quantity", **QTY_NONNEG),
        col("qty_received", "Quantity Received", Dtype.QTY, required=False, min_value=0.0),
    ),
    keys=("order", "line"),
)
SALES_ORDER_LINES = Table(
    name="tblSalesOrderLines",
    sheet="SalesOrderLines",
    title="Sales Order Lines",
    group="Operations",
    doc="Sales order lines with shipments: requested / promised vs shipped.",
    columns=(
        col("order", "Order No."),
        col("line", "Line No.", Dtype.INT),
        CUSTOMER,
        ITEM,
        LOCATION,
        col("requested_date", "Requested Delivery Date", Dtype.DATE),
        col("promised_date", "Promised Delivery Date", Dtype.DATE, required=False),
        col("qty_ordered", "Quantity", **QTY_NONNEG),
        col("qty_shipped", "Quantity Shipped", Dtype.QTY, required=False, min_value=0.0),
        col("ship_date", "Shipment Date", Dtype.DATE, required=False),
    ),
    keys=("order", "line"),
)

# --- Targets and actions -----------------------------------------------------------------------
TARGETS = Table(
    name="tblTargets",
    sheet="Targets",
    title="KPI Targets",
    group="Targets",
    doc="Corporate targets per KPI, with RAG thresholds and the owner role.",
    columns=(
        col("kpi", "KPI ID", doc="KPI id from the KPI registry (see Definitions)."),
        col("perspective", "Perspective", choices=PERSPECTIVES),
        col("target", "Target", Dtype.NUMBER),
        col(
            "direction",
            "Direction",
            choices=("higher", "lower", "band"),
            doc="Which is better; band = inside [Green Threshold, Green Max] (days of supply).",
        ),
        col("green", "Green Threshold", Dtype.NUMBER, doc="Green when at or better than this."),
        col("amber", "Amber Threshold", Dtype.NUMBER, doc="Amber when at or better than this."),
        col("owner_role", "Owner Role", choices=OWNER_ROLES),
        col("scope", "Scope", required=False, doc="Blank = company total; or a region/family."),
        col(
            "green_max",
            "Green Max",
            Dtype.NUMBER,
            required=False,
            doc="Band targets only: upper end of the green band (Green Threshold is the lower).",
        ),
        col(
            "amber_max",
            "Amber Max",
            Dtype.NUMBER,
            required=False,
            doc="Band targets only: upper end of the amber band (Amber Threshold is the lower).",
        ),
    ),
    keys=("kpi", "scope"),
)
ACTIONS = Table(
    name="tblActions",
    sheet="Actions",
    title="S&OP Actions",
    group="Targets",
    doc="Decisions from S&OP meetings and their follow-through.",
    columns=(
        col("action_id", "Action ID"),
        col("decision", "Decision"),
        col("owner_role", "Owner Role", choices=OWNER_ROLES),
        col("owner", "Owner"),
        col("due_date", "Due Date", Dtype.DATE),
        col("status", "Status", choices=("Open", "In progress", "Closed", "Cancelled")),
        col("cycle_raised", "Cycle Raised", Dtype.PERIOD),
        col("cycle_closed", "Cycle Closed", Dtype.PERIOD, required=False),
        col("closed_date", "Closed Date", Dtype.DATE, required=False),
    ),
    keys=("action_id",),
)

#: Transaction tables that may live outside the workbook (Parquet, CSV or DuckDB file named on
#: the DataSources sheet), for companies with more lines than Excel's 1,048,576 rows.
EXTERNAL_TABLES: tuple[Table, ...] = (
    SALES_ACTUALS,
    SALES_ORDER_LINES,
    INVENTORY,
    PRODUCTION_ORDERS,
    PURCHASE_RECEIPTS,
)
#: The title of the forecast archive (:data:`FORECAST_ARCHIVE`), which may live in a Parquet file
#: too (:data:`WRITTEN_EXTERNAL_TABLES`): it grows by every cycle's forecasts.
FORECAST_ARCHIVE_TITLE = "Forecast Archive"
DATA_SOURCES = Table(
    name="tblDataSources",
    sheet="DataSources",
    title="Data Sources",
    group="Settings",
    doc="Tables kept outside the workbook: one row per table read from a Parquet, CSV or DuckDB "
    "file instead of its sheet, a transaction table or the forecast archive (see "
    "docs/workbook.md, 'Beyond the grid').",
    columns=(
        col(
            "table",
            "Table",
            choices=(*(t.title for t in EXTERNAL_TABLES), FORECAST_ARCHIVE_TITLE),
            doc="Which table the file holds; its sheet in this workbook is then ignored (the "
            "Forecast Archive's sheet only says where it is: sop_xl writes the archive to the "
            "file).",
        ),
        col(
            "file",
            "File",
            doc="Path of the file, relative to this workbook's folder (e.g. data/sales.parquet).",
        ),
        col(
            "format",
            "Format",
            required=False,
            choices=("parquet", "csv", "duckdb"),
            doc="parquet, csv or duckdb; blank = from the file name's extension.",
        ),
        col(
            "source_table",
            "DuckDB Table",
            required=False,
            doc="For a .duckdb file: the table inside it (default: the table's sheet name).",
        ),
        col("note", "Note", required=False, doc="Where the extract comes from, who refreshes it."),
    ),
    keys=("table",),
    optional=True,
)

# --- Supply review inputs (issue 11) -------------------------------------------------------------
RESOURCES = Table(
    name="tblResources",
    sheet="Resources",
    title="Resources",
    group="Operations",
    doc="Work centres and lines whose capacity the supply review checks (rough-cut capacity).",
    columns=(
        col("resource", "Resource", doc="Resource / work centre code."),
        col("name", "Name", required=False),
        LOCATION,
        col(
            "capacity_hours",
            "Monthly Capacity (Hours)",
            Dtype.NUMBER,
            min_value=0.0,
            doc="Available hours in a normal month; a month on the Resource Capacity grid "
            "overrides it (a shutdown, an extra shift).",
        ),
    ),
    keys=("resource",),
    optional=True,
)
RESOURCE_CAPACITY = Table(
    name="tblResourceCapacity",
    sheet="ResourceCapacity",
    title="Resource Capacity by Month",
    group="Operations",
    doc="Hours available per resource and month, where they differ from the Resources table's "
    "monthly capacity (months across; blank = the normal month).",
    columns=(col("resource", "Resource", ref="Resources.resource"),),
    keys=("resource",),
    layout="wide",
    value=col("hours", "Hours", Dtype.NUMBER, required=False, min_value=0.0),
    optional=True,
)
ROUTINGS = Table(
    name="tblRoutings",
    sheet="Routings",
    title="Routings (Load per Unit)",
    group="Operations",
    doc="Hours of each resource one unit of an item needs (rough-cut bill of resources).",
    columns=(
        ITEM,
        col("resource", "Resource", ref="Resources.resource"),
        col("hours_per_unit", "Hours per Unit", Dtype.NUMBER, min_value=0.0),
    ),
    keys=("item", "resource"),
    optional=True,
)
INVENTORY_POLICY = Table(
    name="tblInventoryPolicy",
    sheet="InventoryPolicy",
    title="Inventory Policy",
    group="Operations",
    doc="Safety stock or a days-of-supply band per item family or item (an item row overrides "
    "its family's row), and whether the item is made (capacity-checked) or bought.",
    columns=(
        col("family", "Item Family", required=False, doc="Family the row applies to."),
        col("item", "Item No.", required=False, ref="Items.item", doc="Or one item."),
        col(
            "safety_stock",
            "Safety Stock",
            Dtype.QTY,
            required=False,
            min_value=0.0,
            doc="Units to keep at every month-end; wins over Min Days of Supply.",
        ),
        col(
            "min_days",
            "Min Days of Supply",
            Dtype.NUMBER,
            required=False,
            min_value=0.0,
            doc="Safety stock as days of forward demand.",
        ),
        col(
            "max_days",
            "Max Days of Supply",
            Dtype.NUMBER,
            required=False,
            min_value=0.0,
            doc="Above this forward coverage the month is flagged as excess.",
        ),
        col(
            "replenishment",
            "Replenishment",
            required=False,
            choices=("Make", "Buy"),
            doc="Make: needs a routing and is capacity-checked; Buy: purchased, not checked. "
            "Blank = Make.",
        ),
    ),
    keys=("family", "item"),
    optional=True,
)
SCENARIO_DRIVERS = ("Demand %", "Capacity %", "Price %", "Cost %", "Safety stock %")
SCENARIOS = Table(
    name="tblScenarios",
    sheet="Scenarios",
    title="Scenarios",
    group="Operations",
    doc="Trade-off scenarios as drivers: one row per change a scenario makes to demand, "
    "capacity, price, cost or safety stock ('Base' always exists and means no change).",
    columns=(
        col("scenario", "Scenario", doc="Name of the option, e.g. 'Second shift DE'."),
        col("driver", "Driver", choices=SCENARIO_DRIVERS),
        col(
            "target",
            "Target",
            required=False,
            doc="Item family (demand, price, cost, safety stock) or resource (capacity); "
            "blank = all.",
        ),
        col("from_period", "From Month", Dtype.PERIOD, required=False, doc="Blank = first."),
        col("to_period", "To Month", Dtype.PERIOD, required=False, doc="Blank = last."),
        col("change", "Change", Dtype.PCT, doc="Fraction: 0.10 = +10%, -0.25 = -25%."),
        col("note", "Note", required=False),
    ),
    keys=("scenario", "driver", "target", "from_period"),
    optional=True,
)

DECISIONS = Table(
    name="tblDecisions",
    sheet="Decisions",
    title="Decisions",
    group="Operations",
    doc="The decisions this cycle's executive S&OP meeting is asked to take, each between "
    "scenarios of the Scenarios sheet; the Executive Summary lists them first.",
    columns=(
        col(
            "question",
            "Question",
            doc="The decision asked for, e.g. 'Add a second HEATING shift Dec-Feb or let "
            "winter demand go unmet?'",
        ),
        col(
            "options",
            "Options",
            doc="Two or more scenario names of the Scenarios sheet, separated by ';' "
            "(Base = no change).",
        ),
        col(
            "recommendation",
            "Recommendation",
            required=False,
            doc="The option the planners recommend (one of the options), blank = none.",
        ),
        col("owner", "Owner", doc="Who decides (name, role)."),
        col("due_date", "Decision Date", Dtype.DATE, doc="When the decision is needed."),
        col("note", "Note", required=False, doc="Why, in one line: the trade-off in numbers."),
    ),
    keys=("question",),
    optional=True,
)

#: The supply review's inputs (optional: workbooks built before them validate without them).
SUPPLY_INPUTS: tuple[Table, ...] = (RESOURCES, RESOURCE_CAPACITY, ROUTINGS, INVENTORY_POLICY)

#: Input tables in workbook order.
INPUT_TABLES: tuple[Table, ...] = (
    SETTINGS,
    REGIONS,
    ITEMS,
    CUSTOMERS,
    LOCATIONS,
    VENDORS,
    GL_ACCOUNTS,
    POSTING_SETUP,
    FINANCIAL_BUDGET,
    SALES_BUDGET,
    FORECAST,
    SALES_ACTUALS,
    INVENTORY,
    PRODUCTION_ORDERS,
    PURCHASE_RECEIPTS,
    SALES_ORDER_LINES,
    TARGETS,
    ACTIONS,
    DATA_SOURCES,
    *SUPPLY_INPUTS,
    SCENARIOS,
    DECISIONS,
)

# --- Output tables (written by the cycle steps) ------------------------------------------------
VALIDATION_REPORT = Table(
    name="tblValidation",
    sheet="Validation",
    title="Validation Report",
    group="Outputs",
    doc="Every finding of the last validation or consolidation, with where and how to fix it.",
    columns=(
        col("severity", "Severity", choices=("error", "warning", "info")),
        col("rule", "Rule", required=False),
        col("file", "File", required=False),
        col("sheet", "Sheet", required=False),
        col("cell", "Cell", required=False),
        col("message", "Message"),
        col("fix", "Suggested Fix", required=False),
    ),
    output=True,
)

# Later issues add their output tables below, each in its own marked section.
# --- outputs: kpis (issue 3) ---
KPIS_TABLE = Table(
    name="tblKPIs",
    sheet="KPIs",
    title="KPIs",
    group="Outputs",
    doc="Every KPI per closed month for the company, each region and each item family "
    "(definitions: docs/kpis.md, =SOP_KPI_INFO(id)).",
    columns=(
        col("kpi", "KPI ID", doc="KPI id from the KPI registry."),
        col("name", "KPI"),
        col("period", "Period", Dtype.PERIOD),
        col("scope_type", "Scope Type", choices=("Total", "Region", "Family")),
        col("scope", "Scope", required=False, doc="Region or family; blank = company total."),
        col("value_pct", "Value (%)", Dtype.PCT, required=False, doc="Percentage KPIs."),
        col("value", "Value", Dtype.NUMBER, required=False, doc="Ratios, days, units, money."),
        col("unit", "Unit", choices=("pct", "ratio", "days", "units", "money", "count")),
        col("numerator", "Numerator", Dtype.NUMBER, required=False),
        col("denominator", "Denominator", Dtype.NUMBER, required=False),
        col("n", "Count", Dtype.INT, doc="Records compared / due."),
        col("note", "Note", required=False, doc="Why a value is blank; what was skipped."),
    ),
    keys=("kpi", "period", "scope_type", "scope"),
    output=True,
)
# --- outputs: variances (issue 4) ---
_VAR_NOTE = col(
    "note", "Note", required=False, doc="Why a line is special (one side missing, no budget)."
)
_VAR_PCT_DOC = "Variance / |budget|; blank when the budget is 0 (see Note)."


def _var_measures() -> tuple[Column, ...]:
    """Measure columns shared by the actual-vs-plan detail and roll-up sheets."""
    return (
        col("actual_qty", "Actual Qty", Dtype.QTY, doc="Posted sales quantity (returns negative)."),
        col("budget_qty", "Budget Qty", Dtype.QTY, doc="Sales budget quantity."),
        col("forecast_qty", "Forecast Qty", Dtype.QTY, required=False, doc="Consensus forecast."),
        col("qty_var_budget", "Qty Var. vs Budget", Dtype.QTY, doc="Actual qty - budget qty."),
        col(
            "qty_var_forecast",
            "Qty Var. vs Forecast",
            Dtype.QTY,
            required=False,
            doc="Actual qty - forecast qty.",
        ),
        col("actual_amount", "Actual Amount", Dtype.MONEY, doc="Posted sales amount."),
        col("budget_amount", "Budget Amount", Dtype.MONEY, doc="Sales budget amount."),
        col(
            "forecast_amount",
            "Forecast Amount",
            Dtype.MONEY,
            required=False,
            doc="Forecast qty x expected realised price (docs/outlook.md), rounded to cents per "
            "forecast line.",
        ),
        col("var_budget", "Variance vs Budget", Dtype.MONEY, doc="Actual - budget amount."),
        col("var_budget_pct", "Var. % vs Budget", Dtype.PCT, required=False, doc=_VAR_PCT_DOC),
        col(
            "var_forecast",
            "Variance vs Forecast",
            Dtype.MONEY,
            required=False,
            doc="Actual - forecast amount.",
        ),
        col(
            "var_forecast_pct",
            "Var. % vs Forecast",
            Dtype.PCT,
            required=False,
            doc="Variance vs forecast / |forecast amount|; blank when the forecast is 0.",
        ),
        _VAR_NOTE,
    )


VARIANCE_SUMMARY = Table(
    name="tblVarianceSummary",
    sheet="VarianceSummary",
    title="Sales Budget vs Financial Budget",
    group="Outputs",
    doc="Sales budget mapped to G/L accounts (General Posting Setup) vs the financial budget, "
    "by G/L account and period. Variance = sales budget - financial budget.",
    columns=(
        col("gl_account", "G/L Account No."),
        col("account_name", "Account Name", required=False),
        col("account_type", "Account Type", required=False, doc="Revenue or Cost."),
        PERIOD_COLUMN,
        col("sales_budget", "Sales Budget", Dtype.MONEY, doc="Mapped sales budget amount."),
        col("financial_budget", "Financial Budget", Dtype.MONEY),
        col("variance", "Variance", Dtype.MONEY, doc="Sales budget - financial budget."),
        col("variance_pct", "Variance %", Dtype.PCT, required=False, doc=_VAR_PCT_DOC),
        col(
            "assessment",
            "Assessment",
            required=False,
            doc="Favourable / Unfavourable by account type (revenue above budget is favourable, "
            "cost above budget unfavourable); On budget; blank when not comparable.",
        ),
        _VAR_NOTE,
    ),
    keys=("gl_account", "period"),
    output=True,
)
VARIANCE_DETAIL = Table(
    name="tblVarianceDetail",
    sheet="VarianceDetail",
    title="Actual vs Budget vs Forecast",
    group="Outputs",
    doc="Sales actuals vs sales budget and consensus forecast by item, location and period.",
    columns=(
        col("item", "Item No."),
        col("description", "Description", required=False),
        col("family", "Item Family", required=False),
        col("location", "Location Code"),
        PERIOD_COLUMN,
        *_var_measures(),
    ),
    keys=("item", "location", "period"),
    output=True,
)
VARIANCE_ROLLUP = Table(
    name="tblVarianceRollup",
    sheet="VarianceRollup",
    title="Actual vs Budget vs Forecast: Roll-ups",
    group="Outputs",
    doc="The detail rolled up by item family, sales region (the customer's) and customer.",
    columns=(
        col("level", "Level", doc="Family, Region or Customer."),
        col("key", "Code", doc="Family, region or customer code."),
        col("name", "Name", required=False),
        PERIOD_COLUMN,
        *_var_measures(),
    ),
    keys=("level", "key", "period"),
    output=True,
)
PRICE_VOLUME_MIX = Table(
    name="tblPriceVolumeMix",
    sheet="PriceVolumeMix",
    title="Revenue Variance: Price, Volume, Mix",
    group="Outputs",
    doc="Actual vs budget revenue variance split into volume, mix and price effects per item "
    "and period; volume + mix + price = revenue variance on every line.",
    columns=(
        PERIOD_COLUMN,
        col("item", "Item No."),
        col("family", "Item Family", required=False),
        col("status", "Status", doc="continuing, new (no budget qty) or discontinued (no sales)."),
        col("actual_qty", "Actual Qty", Dtype.QTY),
        col("budget_qty", "Budget Qty", Dtype.QTY),
        col(
            "actual_price", "Actual Price", Dtype.MONEY, required=False, doc="Actual amount / qty."
        ),
        col("budget_price", "Budget Price", Dtype.MONEY, required=False, doc="Used for effects."),
        col("actual_amount", "Actual Amount", Dtype.MONEY),
        col("budget_amount", "Budget Amount", Dtype.MONEY),
        col("revenue_variance", "Revenue Variance", Dtype.MONEY, doc="Actual - budget amount."),
        col("variance_pct", "Variance %", Dtype.PCT, required=False, doc=_VAR_PCT_DOC),
        col("volume_effect", "Volume Effect", Dtype.MONEY, doc="(Qa - Qb) x budget avg price."),
        col("mix_effect", "Mix Effect", Dtype.MONEY, doc="(mix share a - b) x Qa x budget price."),
        col("price_effect", "Price Effect", Dtype.MONEY, doc="(actual - budget price) x qa."),
    ),
    keys=("period", "item"),
    output=True,
)
PVM_BY_CUSTOMER = Table(
    name="tblPvmByCustomer",
    sheet="PVMByCustomer",
    title="Revenue Variance: Price, Volume, Mix by Region and Customer",
    group="Outputs",
    doc="The revenue variance split with a finer mix unit: region x item (level Region) or "
    "customer x item (level Customer), summed per region or customer and period. Selling more "
    "to a cheaper region or customer is mix here, where the item-level PriceVolumeMix calls it "
    "price. Each level alone sums to the revenue variance; volume + mix + price = revenue "
    "variance on every line.",
    columns=(
        col("level", "Level", doc="Region (mix unit region x item) or Customer (customer x item)."),
        PERIOD_COLUMN,
        col("region", "Region Code", doc="The customer's sales region."),
        col("customer", "Customer No.", required=False, doc="Blank at level Region."),
        col("actual_qty", "Actual Qty", Dtype.QTY, doc="All items, summed."),
        col("budget_qty", "Budget Qty", Dtype.QTY, doc="All items, summed."),
        *PRICE_VOLUME_MIX.columns[8:],  # actual amount .. price effect, as on PriceVolumeMix
    ),
    keys=("level", "period", "region", "customer"),
    output=True,
)
UNMAPPED = Table(
    name="tblUnmapped",
    sheet="Unmapped",
    title="Unmapped Sales Budget Lines",
    group="Outputs",
    doc="Sales budget lines that cannot be mapped to a G/L account, with the reason and the fix. "
    "Their amount is in the reconciliation, never dropped.",
    columns=(
        col("customer", "Customer No."),
        col("item", "Item No."),
        col("location", "Location Code"),
        PERIOD_COLUMN,
        col("quantity", "Quantity", Dtype.QTY, required=False),
        col("amount", "Amount", Dtype.MONEY, required=False),
        col("gen_bus_posting_group", "Gen. Bus. Posting Group", required=False),
        col("gen_prod_posting_group", "Gen. Prod. Posting Group", required=False),
        col("gl_account", "G/L Account No.", required=False),
        col("reason_code", "Reason Code"),
        col("reason", "Reason"),
        col("fix", "Suggested Fix", required=False),
    ),
    output=True,
)
VARIANCE_RECONCILIATION = Table(
    name="tblVarianceRecon",
    sheet="VarianceRecon",
    title="Variance Reconciliation",
    group="Outputs",
    doc="Totals in = totals out, to the cent, and every reconciliation finding.",
    columns=(
        col("section", "Section"),
        col("line", "Line"),
        col("rows", "Rows", Dtype.INT, required=False),
        col("amount", "Amount", Dtype.MONEY, required=False),
        col("status", "Status", required=False, doc="OK, Difference or Finding."),
        col("note", "Note", required=False),
    ),
    output=True,
)
# --- outputs: consolidation (issue 5) ---
#: Layout version of the regional submission workbook (stamped in it; bump on layout changes).
SUBMISSION_TEMPLATE_VERSION = "1"

REGIONAL_SUBMISSION = Table(
    name="tblRegionalForecast",
    sheet="Forecast",
    title="Regional Forecast Submission",
    group="Demand",
    doc="The grid a region fills in its submission workbook: item x location rows, horizon "
    "months across (units). Only the yellow quantity cells are editable.",
    columns=(
        ITEM,
        LOCATION,
        col("description", "Description", required=False, doc="Item description (context)."),
    ),
    keys=("item", "location"),
    layout="wide",
    value=col("quantity", "Quantity", Dtype.QTY, required=False, min_value=0.0),
)
REGIONAL_HISTORY = Table(
    name="tblRegionalHistory",
    sheet="History",
    title="Sales History (last 12 months)",
    group="Demand",
    doc="Posted sales quantity of the region's item x location over the 12 closed months before "
    "the cycle, for context (protected).",
    columns=(ITEM, LOCATION),
    keys=("item", "location"),
    layout="wide",
    value=col("quantity", "Quantity", Dtype.QTY, required=False),
)
SUBMISSION_STAMP = Table(
    name="tblStamp",
    sheet="Stamp",
    title="Submission Stamp",
    group="Settings",
    doc="Who and what this submission is: region, cycle, template and submission version, "
    "submitter and time. Region, cycle and template version are protected; the submitter "
    "fills Submitted By, Submission Version and Submitted At.",
    columns=(
        col("field", "Field", doc="Stamp field (do not edit)."),
        col("value", "Value", required=False),
    ),
    keys=("field",),
)
_SUBMISSION_STATUS = (
    "accepted",
    "rejected",
    "superseded",
    "duplicate",
    "late (ignored)",
    "unreadable",
    "missing",
)
SUBMISSIONS = Table(
    name="tblSubmissions",
    sheet="Submissions",
    title="Regional Submissions",
    group="Outputs",
    doc="One row per submission considered by the last consolidation (and per region that did "
    "not submit): who, when, which file (SHA-256), rows, completeness and what happened to it.",
    columns=(
        col("region", "Region", required=False),
        col("status", "Status", choices=_SUBMISSION_STATUS),
        col("reason", "Reason", required=False, doc="Why this status, in one sentence."),
        col("file", "File", required=False),
        col("submitted_by", "Submitted By", required=False),
        col("version", "Version", Dtype.INT, required=False, doc="Submission version stamp."),
        col("received_at", "Received At", Dtype.DATETIME, required=False),
        col(
            "received_from",
            "Received At Source",
            required=False,
            doc="stamp (Submitted At in the file) or file time (modification time).",
        ),
        col("late", "Late", required=False, doc="yes when received after the cutoff."),
        col("sha256", "File SHA-256", required=False),
        col("rows", "Rows", Dtype.INT, required=False, doc="Item x location rows submitted."),
        col(
            "completeness",
            "Completeness",
            Dtype.PCT,
            required=False,
            doc="Filled item x location x month cells / expected cells of the region.",
        ),
        col("errors", "Errors", Dtype.INT, required=False),
        col("warnings", "Warnings", Dtype.INT, required=False),
        col("total_qty", "Submitted Qty", Dtype.QTY, required=False, doc="Sum over the horizon."),
        col(
            "consensus_qty",
            "Previous Consensus Qty",
            Dtype.QTY,
            required=False,
            doc="The region's previous consensus over the horizon.",
        ),
        col(
            "change_pct",
            "Change vs Consensus",
            Dtype.PCT,
            required=False,
            doc="Submitted / previous consensus - 1; blank when there was none.",
        ),
    ),
    output=True,
)
CONSOLIDATION = Table(
    name="tblConsolidation",
    sheet="Consolidation",
    title="Consolidation Audit Trail",
    group="Outputs",
    doc="Append-only audit trail: one row per region per consolidation run, with when, by whom, "
    "the submission used (file and SHA-256), the region's totals before and after and the "
    "number of changed item x location x month cells.",
    columns=(
        col("run", "Run", Dtype.INT, doc="Consolidation run number (1, 2, ...)."),
        col("run_at", "Run At", Dtype.DATETIME),
        col("run_by", "Run By", required=False),
        col("cycle", "Cycle", Dtype.PERIOD),
        col("region", "Region"),
        col("status", "Status", choices=_SUBMISSION_STATUS),
        col("file", "File", required=False),
        col("sha256", "File SHA-256", required=False),
        col("version", "Version", Dtype.INT, required=False),
        col("submitted_by", "Submitted By", required=False),
        col("received_at", "Received At", Dtype.DATETIME, required=False),
        col("total_before", "Total Before", Dtype.QTY, doc="Region's forecast, all periods."),
        col("total_after", "Total After", Dtype.QTY),
        col(
            "changed_rows",
            "Changed Rows",
            Dtype.INT,
            doc="Item x location x month cells whose quantity changed (added, removed, new value).",
        ),
        col("note", "Note", required=False),
    ),
    keys=("run", "region"),
    output=True,
)
# --- outputs: scorecard (issue 6) ---
SCORECARD_STATUSES = ("Green", "Amber", "Red", "No data", "No target")


def _scorecard_columns() -> tuple[Column, ...]:
    """Columns shared by the Scorecard (total) and ScorecardDetail (region, family) sheets.

    The first block is for reading (text formatted per KPI unit: 95.3%, 4.20, 38.5 days); the
    numeric block after it holds the same figures as numbers (pct KPIs as fractions).
    """
    return (
        col("perspective", "Perspective", choices=PERSPECTIVES),
        col("name", "KPI"),
        col(
            "signal",
            "Signal",
            Dtype.INT,
            required=False,
            doc="Status as a number for the traffic-light icon set: 3 green, 2 amber, 1 red, "
            "blank when there is no data or no target.",
        ),
        col("status", "Status", choices=SCORECARD_STATUSES, doc="RAG against the thresholds."),
        col("actual_text", "Actual", doc="Value for the period reviewed, in the KPI's unit."),
        col("target_text", "Target", required=False),
        col(
            "gap_text",
            "Gap to Target",
            required=False,
            doc="Signed so that positive = better than target; percentage points for % KPIs.",
        ),
        col("prior_text", "Prior Month", required=False),
        col(
            "trend",
            "Trend",
            required=False,
            doc="Arrow of the fitted slope over the last 12 months (up, down, flat) and whether "
            "that is improving or worsening for this KPI's direction.",
        ),
        col("sparkline", "Last 12 Months", required=False, doc="Oldest left, newest right."),
        col("owner_role", "Owner", required=False, choices=OWNER_ROLES),
        col("note", "Note", required=False, doc="Why a value is missing or special."),
        col("kpi", "KPI ID"),
        col("unit", "Unit", required=False),
        col("direction", "Better", required=False, doc="higher, lower, or target (zero best)."),
        col("actual", "Actual (value)", Dtype.NUMBER, required=False),
        col("target", "Target (value)", Dtype.NUMBER, required=False),
        col("gap", "Gap (value)", Dtype.NUMBER, required=False, doc="Positive = better."),
        col("prior", "Prior (value)", Dtype.NUMBER, required=False),
        col("green", "Green Threshold", Dtype.NUMBER, required=False),
        col("amber", "Amber Threshold", Dtype.NUMBER, required=False),
        col(
            "change_12m",
            "12-Month Change",
            Dtype.NUMBER,
            required=False,
            doc="Fitted (least-squares) change over the trend window, in the KPI's unit.",
        ),
        col("period", "Period", Dtype.PERIOD),
    )


SCORECARD = Table(
    name="tblScorecard",
    sheet="Scorecard",
    title="S&OP Balanced Scorecard",
    group="Outputs",
    doc="Each KPI of the Targets table for the last closed month, company total, in the four "
    "balanced-scorecard perspectives: actual, target, gap, prior month, 12-month trend, "
    "red/amber/green status and owner.",
    columns=_scorecard_columns(),
    keys=("kpi",),
    output=True,
)
SCORECARD_DETAIL = Table(
    name="tblScorecardDetail",
    sheet="ScorecardDetail",
    title="Balanced Scorecard by Region and Family",
    group="Outputs",
    doc="The scorecard per sales region and item family, each KPI's total row first. A target "
    "row with a Scope applies to that region or family; otherwise the total's thresholds.",
    columns=(
        *_scorecard_columns()[:2],  # perspective, KPI
        col("level", "Level", choices=("Total", "Region", "Family")),
        col("scope", "Scope", required=False, doc="Region or family code; blank for the total."),
        *_scorecard_columns()[2:],
        col(
            "threshold_scope",
            "Thresholds From",
            required=False,
            doc="'company' (the total's target row) or the scope code of a scoped target row.",
        ),
    ),
    keys=("kpi", "level", "scope"),
    output=True,
)
TRENDS = Table(
    name="tblTrends",
    sheet="Trends",
    title="Scorecard Trends (chart data)",
    group="Outputs",
    doc="The last 12 closed months of the KPIs charted on the Scorecard, with their targets, "
    "and sales revenue vs the sales budget.",
    columns=(
        PERIOD_COLUMN,
        col("forecast_accuracy", "Forecast Accuracy", Dtype.PCT, required=False),
        col("forecast_accuracy_target", "Forecast Accuracy Target", Dtype.PCT, required=False),
        col("fill_rate", "Fill Rate", Dtype.PCT, required=False, doc="Order fill rate."),
        col("fill_rate_target", "Fill Rate Target", Dtype.PCT, required=False),
        col("otd", "On-Time Delivery", Dtype.PCT, required=False),
        col("otd_target", "On-Time Delivery Target", Dtype.PCT, required=False),
        col("revenue", "Revenue", Dtype.MONEY, required=False, doc="Posted sales amount."),
        col("revenue_budget", "Revenue Budget", Dtype.MONEY, required=False, doc="Sales budget."),
        col(
            "revenue_vs_budget_pct",
            "Revenue vs Budget %",
            Dtype.PCT,
            required=False,
            doc="Revenue / budget - 1; blank when the budget is 0.",
        ),
    ),
    keys=("period",),
    output=True,
)
DEFINITIONS = Table(
    name="tblDefinitions",
    sheet="Definitions",
    title="KPI Definitions",
    group="Outputs",
    doc="Every KPI the scorecard can show, generated from the KPI registry: formula, numerator, "
    "denominator, unit, direction, empty/zero policy, sign convention and owner.",
    columns=(
        col("kpi", "KPI ID"),
        col("name", "KPI"),
        col("perspective", "Perspective", choices=PERSPECTIVES),
        col("formula", "Formula"),
        col("numerator", "Numerator", required=False),
        col("denominator", "Denominator", required=False),
        col("unit", "Unit"),
        col("direction", "Better", doc="higher, lower, or target (zero best)."),
        col("zero_policy", "Zero / Empty Policy", required=False),
        col("sign_convention", "Sign Convention", required=False),
        col("owner_role", "Owner", required=False),
        col("source_tables", "Source Tables", required=False),
        col(
            "on_scorecard", "On Scorecard", required=False, doc="yes when the Targets table has it."
        ),
        col("udf", "Excel Function", required=False, doc="The =SOP_... function (Python add-in)."),
        col(
            "native_function",
            "Excel 365 Function",
            required=False,
            doc="The named LAMBDA in the standard workbook (no add-in: Windows, Mac, web).",
        ),
        col(
            "native_formula",
            "Native Formula",
            required=False,
            doc="The LAMBDA behind it, or why the KPI stays Python-only.",
        ),
    ),
    keys=("kpi",),
    output=True,
)
# --- outputs: plan history (issue 13) ---
#: Forecast stages of the FVA stairstep, in process order (naive is computed, never archived).
FORECAST_STAGES = ("Naive", "Statistical", "Submission", "Consensus")
#: Stages the forecast archive keeps (the naive forecast is recomputed from sales history).
ARCHIVED_STAGES = ("Statistical", "Submission", "Consensus")
_LAG_DOC = "Months between the cycle that made the forecast and the month forecast (0 = same)."
FORECAST_ARCHIVE = Table(
    name="tblForecastArchive",
    sheet="ForecastArchive",
    title=FORECAST_ARCHIVE_TITLE,
    group="Outputs",
    doc="The forecasts each past cycle made, per stage (statistical baseline, accepted regional "
    "submission, locked consensus), for the months lag 0 to the longest lead time after the "
    "cycle. Rebuilt from verified snapshots by sop-xl history --snapshots; the history step "
    "adds the current cycle. Read by lag accuracy, the FVA stairstep and the scorecard.",
    columns=(
        col("cycle", "Cycle", Dtype.PERIOD, doc="S&OP cycle that made the forecast."),
        col("stage", "Stage", choices=ARCHIVED_STAGES),
        col("region", "Region"),
        col("item", "Item No."),
        col("location", "Location Code"),
        PERIOD_COLUMN,
        col("lag", "Lag", Dtype.INT, doc=_LAG_DOC),
        col("quantity", "Quantity", Dtype.QTY, required=False),
        col(
            "evidence",
            "Evidence",
            required=False,
            doc="Where the row comes from: the verified snapshot file, or 'workbook' (recorded "
            "by the history or consolidation step of this workbook).",
        ),
    ),
    keys=("cycle", "stage", "region", "item", "location", "period"),
    output=True,
)
STAT_FORECAST = Table(
    name="tblStatForecast",
    sheet="StatForecast",
    title="Statistical Baseline Forecast",
    group="Outputs",
    doc="The statistical forecast per region x item x location for the horizon, fitted on the "
    "posted sales history: the first step of the FVA stairstep and a reference next to the "
    "regional submissions (method and fit window per row; definition on the Definitions sheet).",
    columns=(
        col("region", "Region"),
        col("item", "Item No."),
        col("location", "Location Code"),
        col("method", "Method", doc="Model used for this series (see Definitions)."),
        col("fit_months", "Fit Months", Dtype.INT, doc="Months of sales history fitted."),
    ),
    keys=("region", "item", "location"),
    layout="wide",
    value=col("quantity", "Quantity", Dtype.QTY, required=False),
    output=True,
)
LAG_ACCURACY = Table(
    name="tblLagAccuracy",
    sheet="LagAccuracy",
    title="Forecast Accuracy by Lag",
    group="Outputs",
    doc="Company forecast accuracy (1 - WMAPE) of the locked consensus per closed month, scored "
    "at lag 0 to 3 and at each item's lead time, from the forecast archive (chart data).",
    columns=(
        PERIOD_COLUMN,
        col("accuracy_lag0", "Accuracy Lag 0", Dtype.PCT, required=False),
        col("accuracy_lag1", "Accuracy Lag 1", Dtype.PCT, required=False),
        col("accuracy_lag2", "Accuracy Lag 2", Dtype.PCT, required=False),
        col("accuracy_lag3", "Accuracy Lag 3", Dtype.PCT, required=False),
        col(
            "accuracy_lead_time",
            "Accuracy at Lead Time",
            Dtype.PCT,
            required=False,
            doc="Each item scored at the lag of its lead time (Items, rounded up to months).",
        ),
        col("bias_pct_lag1", "Bias % Lag 1", Dtype.PCT, required=False, doc="sum(F-A)/sum A."),
    ),
    keys=("period",),
    output=True,
)
LAG_DETAIL = Table(
    name="tblLagDetail",
    sheet="LagDetail",
    title="Forecast Accuracy and Bias by Lag, Region and Family",
    group="Outputs",
    doc="Accuracy, WMAPE and bias of the locked consensus per lag, for the company, each region "
    "and each family: one row per closed month and one 'all months' row (blank period).",
    columns=(
        col("scope_type", "Scope Type", choices=("Total", "Region", "Family")),
        col("scope", "Scope", required=False, doc="Region or family; blank = company total."),
        col("lag", "Lag", doc="0, 1, 2, 3 or 'lead time'."),
        col("period", "Period", Dtype.PERIOD, required=False, doc="Blank = all months."),
        col("n", "Cells", Dtype.INT, doc="Item x location x month cells compared."),
        col("actual_qty", "Actual Qty", Dtype.QTY),
        col("forecast_qty", "Forecast Qty", Dtype.QTY),
        col("wmape", "WMAPE", Dtype.PCT, required=False),
        col("accuracy", "Accuracy", Dtype.PCT, required=False, doc="max(0, 1 - WMAPE)."),
        col("bias_pct", "Bias %", Dtype.PCT, required=False, doc="Positive = over-forecast."),
        col("bias", "Bias (units)", Dtype.QTY, required=False),
        col("note", "Note", required=False),
    ),
    keys=("scope_type", "scope", "lag", "period"),
    output=True,
)
FVA = Table(
    name="tblFVA",
    sheet="FVA",
    title="Forecast Value Added Stairstep",
    group="Outputs",
    doc="Accuracy of each forecasting step (naive, statistical, regional submission, "
    "consensus) over the same cells and months at the scorecard lag, company total, with the "
    "value each step adds (chart data).",
    columns=(
        col("step", "Step", Dtype.INT),
        col("stage", "Stage", choices=FORECAST_STAGES),
        col("accuracy", "Accuracy", Dtype.PCT, required=False),
        col("wmape", "WMAPE", Dtype.PCT, required=False),
        col("bias_pct", "Bias %", Dtype.PCT, required=False),
        col(
            "fva_step",
            "Value Added vs Previous Step",
            Dtype.PCT,
            required=False,
            doc="WMAPE of the previous step - WMAPE of this step: positive = this step "
            "removed error, negative = it added error.",
        ),
        col("fva_naive", "Value Added vs Naive", Dtype.PCT, required=False),
        col("n", "Cells", Dtype.INT),
        col("note", "Note", required=False),
    ),
    keys=("step",),
    output=True,
)
FVA_DETAIL = Table(
    name="tblFVADetail",
    sheet="FVADetail",
    title="Forecast Value Added by Region and Family",
    group="Outputs",
    doc="The FVA stairstep per region and family: which step adds accuracy and which override "
    "hurts.",
    columns=(
        col("scope_type", "Scope Type", choices=("Total", "Region", "Family")),
        col("scope", "Scope", required=False),
        col("step", "Step", Dtype.INT),
        col("stage", "Stage", choices=FORECAST_STAGES),
        col("accuracy", "Accuracy", Dtype.PCT, required=False),
        col("wmape", "WMAPE", Dtype.PCT, required=False),
        col("bias_pct", "Bias %", Dtype.PCT, required=False),
        col("fva_step", "Value Added vs Previous Step", Dtype.PCT, required=False),
        col("fva_naive", "Value Added vs Naive", Dtype.PCT, required=False),
        col("verdict", "Verdict", required=False, doc="adds value, hurts, or no change."),
        col("n", "Cells", Dtype.INT),
    ),
    keys=("scope_type", "scope", "step"),
    output=True,
)
ACTION_STATUSES = ("Open", "In progress", "Closed", "Cancelled")
ACTIONS_CARRIED = Table(
    name="tblActionsCarried",
    sheet="ActionsCarried",
    title="Actions Carried from Last Cycle",
    group="Outputs",
    doc="What the last cycle decided and what happened to it: every action of the last "
    "recorded cycle and every action open now, with owner, due date, status then and now, and "
    "a flag (Overdue, Reopened, Missing, Closed, Carried, New).",
    columns=(
        col(
            "flag",
            "Flag",
            choices=("Overdue", "Reopened", "Missing", "Closed", "Carried", "New", "Cancelled"),
        ),
        col("action_id", "Action ID"),
        col("decision", "Decision", required=False),
        col("owner_role", "Owner Role", required=False),
        col("owner", "Owner", required=False),
        col("due_date", "Due Date", Dtype.DATE, required=False),
        col("cycle_raised", "Cycle Raised", Dtype.PERIOD, required=False),
        col("status_last", "Status Last Cycle", required=False),
        col("status_now", "Status Now", required=False),
        col("days_overdue", "Days Overdue", Dtype.INT, required=False),
        col("note", "Note", required=False),
    ),
    keys=("action_id",),
    output=True,
)
ACTION_LOG = Table(
    name="tblActionLog",
    sheet="ActionLog",
    title="Action Log by Cycle",
    group="Outputs",
    doc="Each cycle's actions as they stood when the cycle's history was recorded (one row "
    "per cycle and action): what the next cycle compares with.",
    columns=(
        col("cycle", "Cycle", Dtype.PERIOD),
        col("action_id", "Action ID"),
        col("decision", "Decision", required=False),
        col("owner_role", "Owner Role", required=False),
        col("owner", "Owner", required=False),
        col("due_date", "Due Date", Dtype.DATE, required=False),
        col("status", "Status", choices=ACTION_STATUSES),
        col("cycle_raised", "Cycle Raised", Dtype.PERIOD, required=False),
        col("closed_date", "Closed Date", Dtype.DATE, required=False),
        col("evidence", "Evidence", required=False),
    ),
    keys=("cycle", "action_id"),
    output=True,
)

# --- outputs: supply review (issue 11) ---
SUPPLY_FLAGS = ("Short", "Below safety stock", "Excess", "OK")
SUPPLY_PLAN = Table(
    name="tblSupplyPlan",
    sheet="SupplyPlan",
    title="Supply Plan",
    group="Outputs",
    doc="Per item, stocking location and horizon month: demand, scheduled receipts, the "
    "unconstrained and the capacity-constrained plan, transfers from the plant, backorders, "
    "projected inventory, forward coverage, unmet demand and the flag (docs/supply.md).",
    columns=(
        ITEM.model_copy(update={"ref": None}),
        col("location", "Location Code", doc="Stocking location (warehouse or plant)."),
        col("description", "Description", required=False),
        col("family", "Item Family", required=False),
        col(
            "made_at",
            "Made At",
            required=False,
            doc="Location of the item's main resource: new supply is made there and "
            "transferred to the item's other locations.",
        ),
        col("replenishment", "Replenishment", required=False, choices=("Make", "Buy")),
        PERIOD_COLUMN,
        col(
            "opening", "Opening Stock", Dtype.QTY, doc="Projected stock at the start of the month."
        ),
        col("demand", "Consensus Demand", Dtype.QTY, doc="Consensus forecast, all regions."),
        col(
            "past_due_backlog",
            "Past-Due Backlog",
            Dtype.QTY,
            doc="Open sales order quantity already due before the cycle (first month only).",
        ),
        col(
            "scheduled_receipts",
            "Scheduled Receipts",
            Dtype.QTY,
            doc="Open released / firm planned production orders and open purchase lines, "
            "in their due month (overdue ones in the first month).",
        ),
        col(
            "scheduled_at_risk",
            "Orders at Risk",
            Dtype.QTY,
            doc="Part of the open production orders the capacity cannot make in the month.",
        ),
        col(
            "orders_only",
            "Projected Stock (Orders Only)",
            Dtype.QTY,
            doc="Opening + scheduled receipts - demand - backlog, cumulated, without new supply; "
            "negative = new supply is needed.",
        ),
        col(
            "unconstrained_supply",
            "Unconstrained Plan",
            Dtype.QTY,
            doc="New supply needed to meet demand and keep safety stock (no capacity limit).",
        ),
        col(
            "constrained_supply",
            "Constrained Plan",
            Dtype.QTY,
            doc="The LP's feasible plan (new supply; made at the Made At location).",
        ),
        col(
            "supply_gap",
            "Supply Gap",
            Dtype.QTY,
            doc="Unconstrained - constrained plan (positive = capacity cuts it).",
        ),
        col(
            "transfer_in",
            "Transfer In",
            Dtype.QTY,
            doc="Units shipped in from the Made At location in the month.",
        ),
        col(
            "transfer_out",
            "Transfer Out",
            Dtype.QTY,
            doc="Units the Made At location ships to the item's other locations.",
        ),
        col(
            "met_demand",
            "Shipped",
            Dtype.QTY,
            doc="Demand shipped in the month (backorders included, so it may exceed demand).",
        ),
        col(
            "backorder",
            "Backorder",
            Dtype.QTY,
            doc="Demand owed at month-end (carried to the next month).",
        ),
        col(
            "unmet_qty",
            "Unmet Demand",
            Dtype.QTY,
            doc="Still owed at the end of the horizon (last month only).",
        ),
        col(
            "unmet_value",
            "Unmet Value",
            Dtype.MONEY,
            doc="Unmet demand x expected realised price (docs/outlook.md).",
        ),
        col(
            "projected",
            "Projected Stock",
            Dtype.QTY,
            doc="Month-end stock of the constrained plan.",
        ),
        col("safety_stock", "Safety Stock", Dtype.QTY, doc="From the Inventory Policy."),
        col(
            "coverage_days",
            "Forward Days of Supply",
            Dtype.NUMBER,
            required=False,
            doc="Days of future demand the month-end stock covers (walking forward month by "
            "month); capped at the end of the horizon.",
        ),
        col("max_days", "Max Days of Supply", Dtype.NUMBER, required=False),
        col(
            "flag",
            "Flag",
            choices=SUPPLY_FLAGS,
            doc="Short (backorder at month-end) > Below safety stock > Excess > OK.",
        ),
    ),
    keys=("item", "location", "period"),
    output=True,
)
CAPACITY_PLAN = Table(
    name="tblCapacity",
    sheet="Capacity",
    title="Rough-Cut Capacity",
    group="Outputs",
    doc="Per resource and horizon month: capacity, load of scheduled orders, load of the "
    "unconstrained and the constrained plan (hours = quantity x hours per unit), utilisation.",
    columns=(
        col("resource", "Resource"),
        col("name", "Name", required=False),
        col("location", "Location Code", required=False),
        PERIOD_COLUMN,
        col("capacity_hours", "Capacity (Hours)", Dtype.NUMBER),
        col("scheduled_load", "Scheduled Load", Dtype.NUMBER, doc="Released/firm planned orders."),
        col(
            "unconstrained_load",
            "Unconstrained Load",
            Dtype.NUMBER,
            doc="Scheduled load + unconstrained plan load.",
        ),
        col(
            "constrained_load",
            "Constrained Load",
            Dtype.NUMBER,
            doc="Load of the open orders the capacity can make + constrained plan load; never "
            "above capacity.",
        ),
        col(
            "utilisation",
            "Utilisation (Unconstrained)",
            Dtype.PCT,
            required=False,
            doc="Unconstrained load / capacity; blank when capacity is 0.",
        ),
        col("constrained_utilisation", "Utilisation (Constrained)", Dtype.PCT, required=False),
        col(
            "overload_hours",
            "Overload (Hours)",
            Dtype.NUMBER,
            doc="Unconstrained load - capacity when positive.",
        ),
        col(
            "flag", "Flag", choices=("Overload", "Tight", "OK"), doc="Overload > 100%, Tight > 90%."
        ),
    ),
    keys=("resource", "period"),
    output=True,
)
CAPACITY_CHART = Table(
    name="tblCapacityChart",
    sheet="CapacityChart",
    title="Load vs Capacity of the Critical Resource (chart data)",
    group="Outputs",
    doc="The most loaded resource's capacity and loads by month, charted on the Capacity sheet.",
    columns=(
        PERIOD_COLUMN,
        col("resource", "Resource"),
        col("capacity_hours", "Capacity", Dtype.NUMBER),
        col("unconstrained_load", "Unconstrained Load", Dtype.NUMBER),
        col("constrained_load", "Constrained Load", Dtype.NUMBER),
    ),
    keys=("period", "resource"),
    output=True,
)
BACKLOG = Table(
    name="tblBacklog",
    sheet="Backlog",
    title="Sales Order Backlog",
    group="Outputs",
    doc="Open sales order lines (not yet shipped) by item family, region and due month "
    "(promised date, else requested); lines due before the cycle are past due.",
    columns=(
        col("family", "Item Family", required=False),
        col("region", "Region", required=False),
        col("due_period", "Due Month", Dtype.PERIOD),
        col("status", "Status", choices=("Past due", "Future")),
        col("lines", "Lines", Dtype.INT),
        col("open_qty", "Open Qty", Dtype.QTY),
        col(
            "open_value",
            "Open Value",
            Dtype.MONEY,
            doc="Open qty x the item's expected realised price (docs/outlook.md).",
        ),
    ),
    keys=("family", "region", "due_period"),
    output=True,
)
PAST_DUE_ORDERS = Table(
    name="tblPastDueOrders",
    sheet="PastDueOrders",
    title="Past-Due Sales Order Lines",
    group="Outputs",
    doc="Every open sales order line due before the cycle month, oldest first.",
    columns=(
        col("order", "Order No."),
        col("line", "Line No.", Dtype.INT),
        col("customer", "Customer No."),
        col("region", "Region", required=False),
        col("item", "Item No."),
        col("family", "Item Family", required=False),
        col("location", "Location Code"),
        col("due_date", "Due Date", Dtype.DATE),
        col("days_late", "Days Past Due", Dtype.INT, doc="Cycle start - due date."),
        col("open_qty", "Open Qty", Dtype.QTY),
        col("open_value", "Open Value", Dtype.MONEY),
    ),
    keys=("order", "line"),
    output=True,
)

# --- outputs: scenarios (issue 12) ---
SCENARIO_COMPARE = Table(
    name="tblScenarioCompare",
    sheet="ScenarioCompare",
    title="Scenario Comparison",
    group="Outputs",
    doc="What the executive reads: one row per measure, one column per scenario (Base first), "
    "then one column per scenario's delta to Base ('<name> vs Base'), the best scenario of each "
    "row named and marked; percentages in % points. The scenario columns are added when the "
    "sheet is written (docs/scenarios.md).",
    columns=(
        col("measure", "Measure"),
        col("unit", "Unit"),
        col("better", "Better", choices=("higher", "lower")),
        col("best", "Best Scenario", required=False, doc="The best scenario(s) of the row."),
    ),
    keys=("measure",),
    output=True,
)
SCENARIO_RESULTS = Table(
    name="tblScenarioResults",
    sheet="ScenarioResults",
    title="Scenario Results",
    group="Outputs",
    doc="The comparison for code and pivot tables: one row per measure and scenario, the delta "
    "to Base and the best value marked (docs/scenarios.md).",
    columns=(
        col("measure", "Measure"),
        col("unit", "Unit", choices=("money", "units", "pct", "days")),
        col("better", "Better", choices=("higher", "lower")),
        col("scenario", "Scenario"),
        col("value", "Value", Dtype.NUMBER, required=False),
        col("delta", "Delta vs Base", Dtype.NUMBER, required=False),
        col("delta_pct", "Delta % vs Base", Dtype.PCT, required=False),
        col("best", "Best", required=False, doc="'Best' on the best scenario of the measure."),
    ),
    keys=("measure", "scenario"),
    output=True,
)

# --- outputs: financial outlook (issue 12 item 3, issue 14) ---
_OUTLOOK_MONEY = "Revenue accounts: sales amount; COGS accounts: cost amount."
OUTLOOK = Table(
    name="tblOutlook",
    sheet="Outlook",
    title="Financial Outlook by G/L Account",
    group="Outputs",
    doc="Full-year outlook per revenue and COGS account: actuals of the closed months + the plan "
    "of record for the rest of the fiscal year at expected realised price and cost, posted "
    "through the General Posting Setup, against the financial budget (docs/outlook.md).",
    columns=(
        col(
            "gl_account",
            "Account No.",
            doc="G/L account; '(unmapped)' = sales no posting setup line posts.",
        ),
        col("account_name", "Account Name", required=False),
        col("account_type", "Account Type", choices=("Revenue", "Cost")),
        col(
            "actual_ytd",
            "Actual YTD",
            Dtype.MONEY,
            doc="Posted sales of the fiscal year's closed months. " + _OUTLOOK_MONEY,
        ),
        col(
            "plan_rest",
            "Plan Rest of Year",
            Dtype.MONEY,
            doc="Plan of record for the cycle "
            "month to the fiscal year end, at expected realised price / unit cost.",
        ),
        col("outlook", "Full-Year Outlook", Dtype.MONEY, doc="Actual YTD + plan rest of year."),
        col("financial_budget", "Financial Budget", Dtype.MONEY, doc="Fiscal year total."),
        col("gap", "Gap", Dtype.MONEY, doc="Full-year outlook - financial budget."),
        col(
            "gap_pct",
            "Gap %",
            Dtype.PCT,
            required=False,
            doc="Gap / |financial budget|; blank when the budget is 0.",
        ),
        col(
            "sales_budget",
            "Sales Budget",
            Dtype.MONEY,
            doc="Revenue: sales budget amount "
            "mapped to the account; COGS: sales budget qty x expected unit cost (budgeted COGS).",
        ),
        col("note", "Note", required=False),
    ),
    keys=("gl_account", "account_type"),
    output=True,
)
OUTLOOK_BRIDGE = Table(
    name="tblOutlookBridge",
    sheet="OutlookBridge",
    title="Revenue Bridge: Sales Budget to Full-Year Outlook",
    group="Outputs",
    doc="Sales budget + volume + price + mix = full-year revenue outlook (exact to the cent), "
    "and the financial budget for reference (docs/outlook.md).",
    columns=(
        col("step", "Step"),
        col("amount", "Amount", Dtype.MONEY),
        col("note", "Note", required=False),
        col(
            "chart_base",
            "Chart: Base",
            Dtype.MONEY,
            required=False,
            doc="Waterfall chart: the invisible bar under a step.",
        ),
        col(
            "chart_total",
            "Chart: Total",
            Dtype.MONEY,
            required=False,
            doc="Waterfall chart: a total's bar (budgets, outlook).",
        ),
        col("chart_up", "Chart: Increase", Dtype.MONEY, required=False),
        col("chart_down", "Chart: Decrease", Dtype.MONEY, required=False),
    ),
    keys=("step",),
    output=True,
)
OUTLOOK_MONTHLY = Table(
    name="tblOutlookMonthly",
    sheet="OutlookMonthly",
    title="Financial Outlook by Month",
    group="Outputs",
    doc="Revenue, COGS and gross margin per fiscal month (actual or plan) against the budgets.",
    columns=(
        PERIOD_COLUMN,
        col("source", "Source", choices=("Actual", "Plan")),
        col("revenue", "Revenue Outlook", Dtype.MONEY),
        col(
            "financial_budget",
            "Revenue Budget",
            Dtype.MONEY,
            doc="Financial budget, revenue accounts.",
        ),
        col("sales_budget", "Sales Budget", Dtype.MONEY),
        col("revenue_gap", "Revenue Gap", Dtype.MONEY, doc="Revenue outlook - revenue budget."),
        col("cogs", "COGS Outlook", Dtype.MONEY),
        col("cogs_budget", "COGS Budget", Dtype.MONEY, doc="Financial budget, cost accounts."),
        col("gross_margin", "Gross Margin Outlook", Dtype.MONEY),
        col("margin_budget", "Gross Margin Budget", Dtype.MONEY),
        col("cumulative_gap", "Cumulative Revenue Gap", Dtype.MONEY),
    ),
    keys=("period",),
    output=True,
)


def scenario_compare_table(names: list[str]) -> Table:
    """ScenarioCompare with its columns for these scenarios: ``v<i>`` (value, header = the
    name) and ``d<i>`` (delta to Base, header '<name> vs Base') for every scenario after Base."""
    fixed = {c.name: c for c in SCENARIO_COMPARE.columns}
    values = [col(f"v{i}", n, Dtype.NUMBER, required=False) for i, n in enumerate(names)]
    deltas = [
        col(f"d{i}", f"{n} vs {names[0]}", Dtype.NUMBER, required=False)
        for i, n in enumerate(names[1:], start=1)
    ]
    columns = (fixed["measure"], fixed["unit"], fixed["better"], *values, *deltas, fixed["best"])
    return SCENARIO_COMPARE.model_copy(update={"columns": columns})


# --- outputs: executive summary (issue 12 item 5) ---
EXEC_SUMMARY = Table(
    name="tblExecutiveSummary",
    sheet="ExecutiveSummary",
    title="Executive Summary",
    group="Outputs",
    doc="The one page the executive S&OP meeting starts from, first after the Cover of the "
    "frozen plan: the decisions asked for (Decisions), the scorecard's red KPIs, the top supply "
    "risks, the full-year outlook vs budget and the open and overdue actions "
    "(docs/scenarios.md).",
    columns=(
        col(
            "section",
            "Section",
            choices=("Decisions", "Scorecard: red", "Supply risks", "Full-year outlook", "Actions"),
        ),
        col("item", "Item"),
        col("detail", "Detail", required=False),
        col("figure", "Figure", required=False, doc="The line's number, formatted."),
        col("owner", "Owner", required=False),
        col("date", "Date", Dtype.DATE, required=False, doc="Decision date or action due date."),
        col(
            "flag",
            "Flag",
            required=False,
            doc="Decide, Red, Short, Overload, Past due, Gap, Missing, Overdue, Open or OK.",
        ),
    ),
    output=True,
)

#: Every table declared above with ``output=True``, in declaration order.
OUTPUT_TABLES: tuple[Table, ...] = tuple(
    v for v in list(globals().values()) if isinstance(v, Table) and v.output
)

#: Output tables the cycle reads back the next month, its memory of past cycles: validation
#: checks them with the inputs (a hand-edited or pasted row stops the cycle before any step
#: writes), when the workbook has them.
CARRIED_TABLES: tuple[Table, ...] = (FORECAST_ARCHIVE, ACTION_LOG)
#: sop_xl's own tables that may live in a Parquet file beside the workbook (a DataSources row):
#: the steps then write them to that file, not to their sheet. The forecast archive grows by
#: stages x series x lags rows every cycle (the demo: 8,640; 5,000 series: about 60,000), so
#: a mid-size company's fills a sheet in about a year.
WRITTEN_EXTERNAL_TABLES: tuple[Table, ...] = (FORECAST_ARCHIVE,)

TABLES: dict[str, Table] = {t.name: t for t in (*INPUT_TABLES, *OUTPUT_TABLES)}
BY_SHEET: dict[str, Table] = {t.sheet: t for t in TABLES.values()}
#: Short alias ("Items") -> table, as used in ``Column.ref``.
BY_ALIAS: dict[str, Table] = {t.alias: t for t in TABLES.values()}


def table(name: str) -> Table:
    """Look a table up by table name ('tblItems'), alias ('Items') or sheet name."""
    for index in (TABLES, BY_ALIAS, BY_SHEET):
        if name in index:
            return index[name]
    raise KeyError(f"unknown table {name!r}; known: {', '.join(sorted(BY_ALIAS))}")
