"""The KPI definitions registry: what each S&OP KPI means, in words, once.

Every KPI has an id, a name, its formula in words, numerator, denominator, unit, direction
(which way is better), zero/empty policy and sign convention. The registry feeds the UDF help
(``SOP_KPI_INFO``, and :func:`udf_doc`: the function wizard's description of each ``=SOP_...``
function and the Name Manager comment of its named LAMBDA), ``docs/kpis.md`` and the
scorecard's definitions sheet, so the number on a slide and the definition under it can never
drift apart. Nothing else restates a formula: the engines name the KPI ids they compute.

Sign convention for forecast errors throughout: **error = forecast - actual**. A positive bias
means the forecast was *above* what sold (over-forecast: inventory risk); negative means
under-forecast (service risk).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from sop_xl.errors import ArgumentError
from sop_xl.model.schema import OWNER_ROLES, PERSPECTIVES

Unit = Literal["pct", "ratio", "days", "units", "money", "count"]
Direction = Literal["higher", "lower", "target", "band"]


@dataclass(frozen=True)
class KpiDef:
    """Definition of one KPI.

    ``direction``: 'higher' or 'lower' is better; 'target' means zero is best and the distance
    from zero in either direction is bad (bias); 'band' means inside a min..max band is best and
    both too low and too high are off track (days of supply). ``unit='pct'`` values are
    fractions (0.953 is 95.3%). ``source``: where the definition comes from (APICS/ASCM
    dictionary, SCOR, or common practice).
    """

    id: str
    name: str
    formula: str
    numerator: str
    denominator: str
    unit: Unit
    direction: Direction
    zero_policy: str
    sign_convention: str
    perspective: str
    owner_role: str
    source_tables: tuple[str, ...]
    family: str = (
        ""  # forecast | budget | inventory | fill | delivery | schedule | vendor | finance
    )
    udf: str = ""  # the Excel function that computes it
    source: str = ""  # APICS/ASCM, SCOR or common practice

    def __post_init__(self) -> None:
        if self.perspective not in PERSPECTIVES:
            raise ArgumentError(
                f"{self.id}: perspective {self.perspective!r} not in PERSPECTIVES",
                fix="use one of " + ", ".join(PERSPECTIVES),
            )
        if self.owner_role not in OWNER_ROLES:
            raise ArgumentError(
                f"{self.id}: owner_role {self.owner_role!r} not in OWNER_ROLES",
                fix="use one of " + ", ".join(OWNER_ROLES),
            )

    @property
    def native(self):
        """The native Excel formula of this KPI's function (:mod:`sop_xl.kpi.native`): a named
        LAMBDA for Excel 365 without Python, or a ``python_only`` reason. None without a UDF."""
        from sop_xl.kpi.native import native_for

        return native_for(self.udf)

    def describe(self) -> str:
        """One paragraph for UDF help and definition sheets."""
        better = {
            "higher": "Higher is better.",
            "lower": "Lower is better.",
            "target": "Zero is best.",
            "band": "Inside the target band is best; too low and too high are both off track.",
        }[self.direction]
        return (
            f"{self.name} ({self.id}): {self.formula} Unit: {self.unit}. {better} "
            f"Empty/zero policy: {self.zero_policy} Sign: {self.sign_convention}"
            + (f" Source: {self.source}" if self.source else "")
        )


_ERR = "Error = forecast - actual; positive = over-forecast."
_NONE = "Not applicable (a rate)."
_FA = ("SalesActuals", "Forecast", "Customers")
_LINES = ("SalesOrderLines",)
_DEMAND, _SUPPLY, _FIN, _SALES = (
    "Demand planner",
    "Supply planning",
    "Finance",
    "Sales and marketing leader",
)


def _k(**kw) -> KpiDef:
    return KpiDef(**kw)


_DEFS: tuple[KpiDef, ...] = (
    # --- forecast accuracy (consensus forecast vs actual, units) --------------------------------
    _k(
        id="mae",
        name="Mean absolute error (MAD)",
        formula="Average of |forecast - actual| over the item x location x month cells.",
        numerator="sum |F - A|",
        denominator="number of cells compared",
        unit="units",
        direction="lower",
        zero_policy="Zero actuals are ordinary cells. Cells with a blank actual or forecast are "
        "skipped and counted. No cells: undefined.",
        sign_convention="Absolute: never negative.",
        perspective="Internal process",
        owner_role=_DEMAND,
        source_tables=_FA,
        family="forecast",
        udf="SOP_MAE",
    ),
    _k(
        id="mape",
        name="Mean absolute percentage error",
        formula="Average of |F - A| / |A| over cells whose actual is not zero.",
        numerator="sum |F - A| / |A| over non-zero-actual cells",
        denominator="number of non-zero-actual cells",
        unit="pct",
        direction="lower",
        zero_policy="Cells with actual = 0 are SKIPPED and counted (zero_actuals_skipped), never "
        "scored 0% or infinite. All actuals zero: undefined. Prefer WMAPE for decisions.",
        sign_convention="Absolute: never negative.",
        perspective="Internal process",
        owner_role=_DEMAND,
        source_tables=_FA,
        family="forecast",
        udf="SOP_MAPE",
    ),
    _k(
        id="wmape",
        name="Weighted MAPE",
        formula="sum |F - A| / sum |A| (volume-weighted error).",
        numerator="sum |F - A|",
        denominator="sum |A|",
        unit="pct",
        direction="lower",
        zero_policy="Undefined when sum |A| = 0 (says so; never 0 or infinity). Zero-actual "
        "cells with a forecast add error but no volume.",
        sign_convention="Absolute: never negative. Returns (negative A) count as volume |A|.",
        perspective="Internal process",
        owner_role=_DEMAND,
        source_tables=_FA,
        family="forecast",
        udf="SOP_WMAPE",
    ),
    _k(
        id="forecast_accuracy",
        name="Forecast accuracy",
        formula="max(0, 1 - WMAPE).",
        numerator="sum |A| - sum |F - A| (floored at 0)",
        denominator="sum |A|",
        unit="pct",
        direction="higher",
        zero_policy="Undefined when WMAPE is undefined (sum |A| = 0). Floored at 0%: an error "
        "larger than the volume is 0% accurate, not negative.",
        sign_convention="0% to 100%.",
        perspective="Customer",
        owner_role=_SALES,
        source_tables=_FA,
        family="forecast",
        udf="SOP_FORECAST_ACCURACY",
    ),
    _k(
        id="bias",
        name="Forecast bias (units)",
        formula="sum (F - A).",
        numerator="sum (F - A)",
        denominator="none (a total)",
        unit="units",
        direction="target",
        zero_policy="No cells: undefined. Blank cells skipped and counted.",
        sign_convention=_ERR,
        perspective="Internal process",
        owner_role=_DEMAND,
        source_tables=_FA,
        family="forecast",
        udf="SOP_BIAS",
    ),
    _k(
        id="bias_pct",
        name="Forecast bias %",
        formula="sum (F - A) / sum A.",
        numerator="sum (F - A)",
        denominator="sum A",
        unit="pct",
        direction="target",
        zero_policy="Undefined when sum A <= 0 (no sales, or net returns).",
        sign_convention=_ERR,
        perspective="Internal process",
        owner_role=_DEMAND,
        source_tables=_FA,
        family="forecast",
        udf="SOP_BIAS_PCT",
    ),
    _k(
        id="rmse",
        name="Root mean squared error",
        formula="sqrt(average of (F - A)^2) over the cells compared.",
        numerator="sum (F - A)^2",
        denominator="number of cells compared",
        unit="units",
        direction="lower",
        zero_policy="No cells: undefined.",
        sign_convention="Never negative; punishes large misses more than MAE.",
        perspective="Internal process",
        owner_role=_DEMAND,
        source_tables=_FA,
        family="forecast",
        udf="SOP_RMSE",
    ),
    _k(
        id="tracking_signal",
        name="Tracking signal",
        formula="Cumulative error / MAD over the months of a series: sum_t (F_t - A_t) / "
        "(average_t |F_t - A_t|), on the scope's monthly totals. KPIs sheet: the last (up to) "
        "12 months to the period. Outside +/-4 signals a biased forecast.",
        numerator="sum of monthly errors (F - A)",
        denominator="mean absolute monthly error (MAD)",
        unit="ratio",
        direction="target",
        zero_policy="Undefined when every monthly error is 0 (a perfect forecast has no signal).",
        sign_convention=_ERR + " Bounded by +/- the number of months.",
        perspective="Internal process",
        owner_role=_DEMAND,
        source_tables=_FA,
        family="forecast",
        udf="SOP_TRACKING_SIGNAL",
    ),
    _k(
        id="mase",
        name="Mean absolute scaled error",
        formula="Average of |F - A| / scale, where a series' scale is the mean absolute "
        "seasonal-naive change |A_t - A_(t-12)| over its actual history.",
        numerator="sum |F - A| / scale of the series",
        denominator="number of cells whose series has a non-zero scale",
        unit="ratio",
        direction="lower",
        zero_policy="Series with too little history (no month t with t-12 also known) or a "
        "constant history (scale 0) are skipped and counted. Below 1 = better than the "
        "seasonal-naive forecast.",
        sign_convention="Never negative.",
        perspective="Internal process",
        owner_role=_DEMAND,
        source_tables=_FA,
        family="forecast",
        udf="SOP_MASE",
    ),
    _k(
        id="fva",
        name="Forecast value added",
        formula="WMAPE of the seasonal-naive forecast (actual 12 months earlier) minus WMAPE of "
        "the forecast, over the same cells.",
        numerator="WMAPE(naive) - WMAPE(forecast)",
        denominator="(percentage points)",
        unit="pct",
        direction="higher",
        zero_policy="Cells without a naive value (no actual 12 months earlier) are skipped and "
        "counted. Undefined when sum |A| = 0.",
        sign_convention="Positive = the planning process beats the naive forecast.",
        perspective="Learning and growth",
        owner_role=_DEMAND,
        source_tables=_FA,
        family="forecast",
        udf="SOP_FVA",
    ),
    # --- sales budget vs actual (revenue) -------------------------------------------------------
    _k(
        id="budget_accuracy",
        name="Sales budget accuracy",
        formula="max(0, 1 - WMAPE) of sales budget amount vs actual sales amount, per region x "
        "item x location x month.",
        numerator="sum |A| - sum |Budget - A| (floored at 0)",
        denominator="sum |A| (actual revenue)",
        unit="pct",
        direction="higher",
        zero_policy="Undefined when actual revenue sums to 0.",
        sign_convention="0% to 100%.",
        perspective="Financial",
        owner_role=_FIN,
        source_tables=("SalesActuals", "SalesBudget", "Customers"),
        family="budget",
        udf="SOP_FORECAST_ACCURACY",
    ),
    _k(
        id="budget_bias_pct",
        name="Sales budget bias %",
        formula="sum (Budget - Actual) / sum Actual, revenue.",
        numerator="sum (Budget - A)",
        denominator="sum A",
        unit="pct",
        direction="target",
        zero_policy="Undefined when actual revenue <= 0.",
        sign_convention="Positive = budget above actual sales (over-budgeted).",
        perspective="Financial",
        owner_role=_FIN,
        source_tables=("SalesActuals", "SalesBudget", "Customers"),
        family="budget",
        udf="SOP_BIAS_PCT",
    ),
    _k(
        id="revenue_vs_budget_pct",
        name="Revenue vs budget %",
        formula="(actual revenue - budget revenue) / budget revenue.",
        numerator="actual revenue - budget revenue",
        denominator="budget revenue",
        unit="pct",
        direction="higher",
        zero_policy="Undefined when budget revenue is 0.",
        sign_convention="Positive = revenue above budget (favourable).",
        perspective="Financial",
        owner_role=_FIN,
        source_tables=("SalesActuals", "SalesBudget"),
        family="finance",
        udf="SOP_VARIANCE_PCT",
    ),
    _k(
        id="gross_margin_pct",
        name="Gross margin %",
        formula="(sales amount - cost amount) / sales amount.",
        numerator="sales amount - cost amount",
        denominator="sales amount",
        unit="pct",
        direction="higher",
        zero_policy="Undefined when sales amount <= 0.",
        sign_convention="Cost amounts are positive for sales, negative for returns.",
        perspective="Financial",
        owner_role=_FIN,
        source_tables=("SalesActuals",),
        family="finance",
        udf="SOP_GROSS_MARGIN_PCT",
    ),
    # --- inventory ------------------------------------------------------------------------------
    _k(
        id="inventory_turns_ttm",
        name="Inventory turns (trailing 12 months)",
        formula="COGS of the 12 months to the month / average of the 13 month-end inventory "
        "values (12 months before to the month). A whole year: seasons do not swing it.",
        numerator="COGS (cost amount of sales) of the trailing 12 months",
        denominator="average of 13 month-end inventory values",
        unit="ratio",
        direction="higher",
        zero_policy="Undefined when average inventory is 0. With less history: computed over "
        "the months that exist and said in the note.",
        sign_convention="Turns per year.",
        perspective="Financial",
        owner_role=_SUPPLY,
        source_tables=("SalesActuals", "Inventory"),
        family="inventory",
        udf="SOP_INVENTORY_TURNS",
    ),
    _k(
        id="inventory_turns",
        name="Inventory turns (monthly, annualised)",
        formula="COGS of the month x 12 / average of opening and closing inventory value.",
        numerator="COGS (cost amount of sales) x 12 / months",
        denominator="average inventory value (opening and closing month-ends)",
        unit="ratio",
        direction="higher",
        zero_policy="Undefined when average inventory is 0. When the opening month-end is "
        "missing the closing value alone is used (noted).",
        sign_convention="Turns per year.",
        perspective="Financial",
        owner_role=_SUPPLY,
        source_tables=("SalesActuals", "Inventory"),
        family="inventory",
        udf="SOP_INVENTORY_TURNS",
    ),
    _k(
        id="days_of_supply",
        name="Days of supply (backward)",
        formula="Closing inventory value / (COGS of the month / days in the month). Looks back; "
        "the scorecard uses forward days of supply.",
        numerator="closing inventory value",
        denominator="COGS per day",
        unit="days",
        direction="lower",
        zero_policy="Undefined when COGS is 0 or negative (stock does not run down).",
        sign_convention="Days.",
        perspective="Internal process",
        owner_role=_SUPPLY,
        source_tables=("SalesActuals", "Inventory"),
        family="inventory",
        udf="SOP_DAYS_OF_SUPPLY",
    ),
    _k(
        id="forward_days_of_supply",
        name="Forward days of supply",
        formula="Month-end inventory value / (forecast demand of the next 3 months valued at unit "
        "cost / calendar days of those months). Judged against a band: too few days risks "
        "service, too many ties up cash.",
        numerator="month-end inventory value",
        denominator="forecast cost of the next 3 months per day",
        unit="days",
        direction="band",
        zero_policy="Undefined when the forecast of the next 3 months is 0 or missing (never "
        "infinite).",
        sign_convention="Days.",
        perspective="Internal process",
        owner_role=_SUPPLY,
        source_tables=("Inventory", "Forecast", "Items"),
        family="inventory",
        udf="SOP_DAYS_OF_SUPPLY",
    ),
    # --- customer fill and delivery -------------------------------------------------------------
    _k(
        id="line_fill_rate",
        name="Line fill rate",
        formula="Order lines shipped complete from stock at their first shipment (qty shipped >= "
        "qty ordered), whenever they shipped / order lines due. Timing is OTIF's job.",
        numerator="lines with qty shipped >= qty ordered (shipment dated before the cutoff)",
        denominator="lines due in the month (quantity > 0)",
        unit="pct",
        direction="higher",
        zero_policy="Lines with quantity 0 are excluded. No lines due: undefined. Unshipped "
        "lines due in a closed month count as not filled.",
        sign_convention="0% to 100%. Early or late, a complete shipment is filled.",
        perspective="Customer",
        owner_role=_SUPPLY,
        source_tables=_LINES,
        family="fill",
        udf="SOP_FILL_RATE",
    ),
    _k(
        id="order_fill_rate",
        name="Order fill rate",
        formula="Orders whose every line shipped complete / orders due. An order belongs to the "
        "month of its latest line due date and is scored only when that date is before the "
        "cycle (no partial orders, no restatement after freeze).",
        numerator="orders with every line filled",
        denominator="orders due (month of the order's latest line due date)",
        unit="pct",
        direction="higher",
        zero_policy="No orders due: undefined.",
        sign_convention="0% to 100%.",
        perspective="Customer",
        owner_role=_SUPPLY,
        source_tables=_LINES,
        family="fill",
        udf="SOP_FILL_RATE",
    ),
    _k(
        id="unit_fill_rate",
        name="Unit fill rate",
        formula="Units shipped, capped at the ordered quantity per line / units ordered.",
        numerator="sum min(shipped, ordered) over lines due (shipments before the cutoff)",
        denominator="sum qty ordered of lines due",
        unit="pct",
        direction="higher",
        zero_policy="No units due: undefined. Over-shipment never offsets a short line.",
        sign_convention="0% to 100%.",
        perspective="Customer",
        owner_role=_SUPPLY,
        source_tables=_LINES,
        family="fill",
        udf="SOP_FILL_RATE",
    ),
    _k(
        id="otd",
        name="On-time delivery to promise",
        formula="Order lines shipped within [promised - days early, promised + days late] / "
        "lines due. Due = the (re)promised date; the requested date when no promise.",
        numerator="lines shipped inside the on-time window",
        denominator="lines due in the month",
        unit="pct",
        direction="higher",
        zero_policy="Unshipped lines due in a closed month count as late. No lines: undefined.",
        sign_convention="0% to 100%. Too early is not on time.",
        perspective="Customer",
        owner_role=_SUPPLY,
        source_tables=_LINES,
        family="delivery",
        udf="SOP_OTD",
    ),
    _k(
        id="otd_request",
        name="On-time delivery to request",
        formula="Order lines shipped within [requested - days early, requested + days late] / "
        "lines due by their requested date. What the customer asked for, before any re-promise.",
        numerator="lines shipped inside the window around the requested date",
        denominator="lines requested in the month",
        unit="pct",
        direction="higher",
        zero_policy="Unshipped lines requested in a closed month count as late. No lines: "
        "undefined.",
        sign_convention="0% to 100%. The gap to OTD to promise = lines promised later than asked.",
        perspective="Customer",
        owner_role=_SUPPLY,
        source_tables=_LINES,
        family="delivery",
        udf="SOP_OTD",
    ),
    _k(
        id="otif",
        name="On time in full (to promise)",
        formula="Order lines shipped inside the on-time window around the promised date AND "
        "complete / lines due.",
        numerator="lines on time and qty shipped >= qty ordered",
        denominator="lines due in the month",
        unit="pct",
        direction="higher",
        zero_policy="As OTD.",
        sign_convention="0% to 100%.",
        perspective="Customer",
        owner_role=_SUPPLY,
        source_tables=_LINES,
        family="delivery",
        udf="SOP_OTIF",
    ),
    # --- production -----------------------------------------------------------------------------
    _k(
        id="schedule_attainment",
        name="Schedule attainment",
        formula="Quantity completed by the due date (+ late days), capped at planned per order "
        "/ planned quantity of released and finished orders due.",
        numerator="sum min(completed, planned) of orders finished by due + late days",
        denominator="sum planned quantity of orders due",
        unit="pct",
        direction="higher",
        zero_policy="Planned and firm planned orders are not a released schedule: excluded. No "
        "orders due: undefined.",
        sign_convention="0% to 100% (capped per order unless configured).",
        perspective="Internal process",
        owner_role="Operations leader",
        source_tables=("ProductionOrders",),
        family="schedule",
        udf="SOP_SCHEDULE_ATTAINMENT",
    ),
    _k(
        id="schedule_adherence",
        name="Schedule adherence",
        formula="Released/finished orders finished by the due date (+ late days) / orders due.",
        numerator="orders with a finished date <= due + late days",
        denominator="orders due",
        unit="pct",
        direction="higher",
        zero_policy="No orders due: undefined. Finishing early counts as on time.",
        sign_convention="0% to 100%.",
        perspective="Internal process",
        owner_role="Operations leader",
        source_tables=("ProductionOrders",),
        family="schedule",
        udf="SOP_SCHEDULE_ADHERENCE",
    ),
    _k(
        id="schedule_otif",
        name="Production on time and complete",
        formula="Released/finished orders finished by the due date (+ late days) with completed "
        "quantity >= planned / orders due. Schedule adherence that also asks for the quantity.",
        numerator="orders finished by due + late days and completed >= planned",
        denominator="orders due",
        unit="pct",
        direction="higher",
        zero_policy="No orders due: undefined. A short order on time is not complete.",
        sign_convention="0% to 100%.",
        perspective="Internal process",
        owner_role="Operations leader",
        source_tables=("ProductionOrders",),
        family="schedule",
        udf="SOP_SCHEDULE_OTIF",
    ),
    # --- vendors --------------------------------------------------------------------------------
    _k(
        id="vendor_otd",
        name="Vendor on-time delivery",
        formula="Receipt lines received within [promised - days early, promised + days late] / "
        "receipt lines due.",
        numerator="lines received inside the vendor window",
        denominator="purchase lines promised in the month",
        unit="pct",
        direction="higher",
        zero_policy="Not yet received lines promised in a closed month count as late.",
        sign_convention="0% to 100%.",
        perspective="Internal process",
        owner_role=_SUPPLY,
        source_tables=("PurchaseReceipts",),
        family="vendor",
        udf="SOP_VENDOR_OTD",
    ),
    _k(
        id="vendor_qty_complete",
        name="Vendor quantity complete",
        formula="Receipt lines received complete (qty received >= qty ordered) / lines due.",
        numerator="lines received in full",
        denominator="purchase lines promised in the month",
        unit="pct",
        direction="higher",
        zero_policy="Lines with quantity 0 excluded. No lines due: undefined.",
        sign_convention="0% to 100%.",
        perspective="Internal process",
        owner_role=_SUPPLY,
        source_tables=("PurchaseReceipts",),
        family="vendor",
        udf="SOP_VENDOR_QTY_COMPLETE",
    ),
)

_ACT = ("Actions",)
_EXEC = "Executive management"
_ACTION_DEFS: tuple[KpiDef, ...] = (
    _k(
        id="actions_closed_on_time",
        name="S&OP actions closed on time",
        formula="Actions due in the month closed on or before their due date / actions due "
        "in the month (cancelled left out).",
        numerator="actions due in the month with Closed Date <= Due Date",
        denominator="actions due in the month, not cancelled, with a judgeable status",
        unit="pct",
        direction="higher",
        zero_policy="No action due in the month: no value (never 100%). Closed without a "
        "Closed Date: left out and counted in the note.",
        sign_convention="A share between 0 and 1.",
        perspective="Learning and growth",
        owner_role=_EXEC,
        source_tables=_ACT,
        family="actions",
    ),
    _k(
        id="actions_overdue",
        name="Overdue S&OP actions",
        formula="Count of actions open at month end whose due date has passed.",
        numerator="open actions with Due Date before the end of the month",
        denominator="none (a count)",
        unit="count",
        direction="lower",
        zero_policy="No open action: 0.",
        sign_convention="A count: never negative.",
        perspective="Learning and growth",
        owner_role=_EXEC,
        source_tables=_ACT,
        family="actions",
    ),
    _k(
        id="oldest_open_action_days",
        name="Oldest open S&OP action (days)",
        formula="Days from the first day of the Cycle Raised month of the oldest action open "
        "at month end to the end of the month.",
        numerator="month end - first day of the oldest open action's Cycle Raised",
        denominator="none (days)",
        unit="days",
        direction="lower",
        zero_policy="No open action: 0 days.",
        sign_convention="Age: never negative.",
        perspective="Learning and growth",
        owner_role=_EXEC,
        source_tables=_ACT,
        family="actions",
    ),
)

# --- supply review (issue 11): forward-looking, as projected at the cycle -----------------------
_SUPPLY_SRC = ("Forecast", "Inventory", "ProductionOrders", "Resources", "Routings")
_SUPPLY_DEFS: tuple[KpiDef, ...] = (
    _k(
        id="capacity_utilisation",
        name="Peak capacity utilisation",
        formula="Highest load / capacity of any resource and horizon month, load of the "
        "unconstrained plan plus open released/firm planned orders (docs/supply.md).",
        numerator="unconstrained load of the peak resource-month (hours)",
        denominator="capacity of that resource-month (hours)",
        unit="pct",
        direction="lower",
        zero_policy="Resources with 0 capacity are left out. No resource or routing: undefined.",
        sign_convention="Above 100% = the plan does not fit the capacity.",
        perspective="Internal process",
        owner_role="Operations leader",
        source_tables=_SUPPLY_SRC,
        family="supply",
    ),
    _k(
        id="stockout_months",
        name="Projected stock-out item-months",
        formula="Item x location x horizon months that end with a backorder in the "
        "capacity-constrained plan (demand, consensus + past-due backlog, owed at month-end).",
        numerator="item-location-months with backorder > 0",
        denominator="none (a count)",
        unit="count",
        direction="lower",
        zero_policy="No item with demand: 0.",
        sign_convention="A count: never negative.",
        perspective="Internal process",
        owner_role=_SUPPLY,
        source_tables=_SUPPLY_SRC,
        family="supply",
    ),
    _k(
        id="past_due_backlog_value",
        name="Past-due backlog value",
        formula="Open quantity x expected realised price of sales order lines not shipped and due "
        "(promised, else requested date) before the cycle month.",
        numerator="sum of open qty x realised price of past-due lines",
        denominator="none (money)",
        unit="money",
        direction="lower",
        zero_policy="No open past-due line: 0.",
        sign_convention="Money: never negative.",
        perspective="Internal process",
        owner_role="Operations leader",
        source_tables=("SalesOrderLines", "Items"),
        family="supply",
    ),
)

# --- plan history (issue 13): how the LagAccuracy, FVA and StatForecast sheets are computed ----
#: The statistical baseline's method (sop_xl.history.baseline fits it; stated here once).
FIT_MONTHS = 36  # months of sales history fitted (at most); 3 years holds three seasons
SEASON = 12
MIN_SEASONAL = 2 * SEASON
MIN_SMOOTHING = 3
HOLT_WINTERS = "Holt-Winters ETS(A,N,A)"
SES = "Simple exponential smoothing ETS(A,N,N)"
BASELINE_DEFINITION = (
    f"Statistical baseline per region x item x location. Fitted on the monthly posted sales "
    f"quantity of each region x item family over up to {FIT_MONTHS} closed months before the "
    f"cycle (0 for months without sales, from the first sale): {HOLT_WINTERS} (additive "
    f"12-month seasonality, no trend) with {MIN_SEASONAL}+ months of history, else {SES} with "
    f"{MIN_SMOOTHING}+ months, else the mean of the months posted; weights fitted by least "
    "squares (statsmodels ExponentialSmoothing). Each item x location gets its share of its "
    "region x family sales of the last 12 months. Forecasts below 0 are set to 0."
)
_HIST = ("ForecastArchive", "SalesActuals", "Customers", "Items")
_HISTORY_DEFS: tuple[KpiDef, ...] = (
    _k(
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
    _k(
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
        sign_convention="Positive = the step removed error; negative = it made the forecast worse.",
        perspective="Learning and growth",
        owner_role=_DEMAND,
        source_tables=_HIST,
        family="history",
        udf="SOP_FVA_TABLE",
    ),
    _k(
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

# --- financial outlook (issue 12 item 3): full fiscal year, actuals + plan of record ----------
_OUTLOOK_SRC = ("SalesActuals", "Forecast", "SupplyPlan", "FinancialBudget", "PostingSetup")
_OUTLOOK_DEFS: tuple[KpiDef, ...] = (
    _k(
        id="revenue_outlook_vs_budget_pct",
        name="Full-year revenue outlook vs budget %",
        formula="(full-year revenue outlook - financial budget revenue) / financial budget "
        "revenue; outlook = actual sales of the fiscal year's closed months + the plan of "
        "record for the rest of the year at expected realised prices (docs/outlook.md).",
        numerator="revenue outlook - budget (fiscal year, revenue accounts)",
        denominator="financial budget revenue of the fiscal year",
        unit="pct",
        direction="higher",
        zero_policy="Undefined when the financial budget's revenue is 0.",
        sign_convention="Positive = outlook above budget (favourable).",
        perspective="Financial",
        owner_role=_FIN,
        source_tables=_OUTLOOK_SRC,
        family="outlook",
    ),
    _k(
        id="margin_outlook_vs_budget_pct",
        name="Full-year gross margin outlook vs budget %",
        formula="(gross margin outlook - budgeted gross margin) / |budgeted gross margin|; "
        "margin = revenue accounts - COGS accounts, outlook as above at realised cost.",
        numerator="gross margin outlook - budget (fiscal year)",
        denominator="|financial budget revenue - financial budget COGS|",
        unit="pct",
        direction="higher",
        zero_policy="Undefined when the budgeted gross margin is 0.",
        sign_convention="Positive = margin outlook above budget (favourable).",
        perspective="Financial",
        owner_role=_FIN,
        source_tables=_OUTLOOK_SRC,
        family="outlook",
    ),
)

#: Where each definition comes from (shown by SOP_KPI_INFO, docs/kpis.md, the Definitions sheet).
_APICS = "APICS/ASCM Dictionary"
_SOURCES: dict[str, str] = {
    "mae": f"{_APICS} (mean absolute deviation)",
    "mape": f"{_APICS} (mean absolute percentage error)",
    "wmape": "Common practice (volume-weighted MAPE; IBF, Kolassa & Schutz 2007)",
    "forecast_accuracy": "Common practice (1 - WMAPE)",
    "bias": f"{_APICS} (forecast bias)",
    "bias_pct": "Common practice (bias as a share of actual demand)",
    "rmse": "Common practice (statistics: root mean squared error)",
    "tracking_signal": f"{_APICS} (tracking signal = running sum of errors / MAD; +/-4 limits)",
    "mase": "Hyndman & Koehler 2006 (mean absolute scaled error)",
    "fva": "Common practice (Gilliland, forecast value added)",
    "budget_accuracy": "Common practice (1 - WMAPE of budget vs actual revenue)",
    "budget_bias_pct": "Common practice (bias as a share of actual revenue)",
    "revenue_vs_budget_pct": "Common practice (finance variance analysis)",
    "gross_margin_pct": "Common practice (finance: (revenue - COGS) / revenue)",
    "revenue_outlook_vs_budget_pct": "Common practice (FP&A latest estimate / forecast to "
    "complete: actuals to date + forecast for the rest of the year vs budget)",
    "margin_outlook_vs_budget_pct": "Common practice (FP&A latest estimate of gross margin vs "
    "budget)",
    "inventory_turns_ttm": f"{_APICS} (inventory turnover = annual COGS / average inventory)",
    "inventory_turns": f"{_APICS} (inventory turnover), one month annualised",
    "days_of_supply": "Common practice (days of inventory on hand, backward)",
    "forward_days_of_supply": f"{_APICS} (days of supply against forecast demand)",
    "line_fill_rate": f"{_APICS} (fill rate, line item)",
    "order_fill_rate": f"{_APICS} (fill rate, order)",
    "unit_fill_rate": f"{_APICS} (fill rate, units)",
    "otd": "SCOR / common practice (delivery performance to commit date)",
    "otd_request": "SCOR / common practice (delivery performance to customer request date)",
    "otif": "Common practice (on time in full)",
    "schedule_attainment": f"{_APICS} (schedule attainment)",
    "schedule_adherence": "Common practice (schedule adherence, orders on time)",
    "schedule_otif": "Common practice (on time and complete, production)",
    "vendor_otd": "SCOR / common practice (supplier on-time delivery)",
    "vendor_qty_complete": "Common practice (supplier delivery in full)",
    "actions_closed_on_time": "Common practice (S&OP maturity: decision follow-through)",
    "actions_overdue": "Common practice (S&OP maturity: decision follow-through)",
    "oldest_open_action_days": "Common practice (S&OP maturity: decision follow-through)",
    "capacity_utilisation": f"{_APICS} (capacity utilization = load / available capacity, "
    "rough-cut capacity planning)",
    "stockout_months": "Common practice (projected stockouts of the constrained supply plan)",
    "past_due_backlog_value": f"{_APICS} (past due backlog)",
    "accuracy_by_lag": "Common practice (forecast accuracy at lag, IBF; lag = the forecast's "
    "age when the month closed)",
    "fva_step": "Common practice (Gilliland, forecast value added stairstep)",
    "statistical_baseline": "Hyndman & Athanasopoulos, Forecasting: Principles and Practice "
    "(exponential smoothing, ETS)",
}
_DEFS = tuple(
    replace(d, source=_SOURCES.get(d.id, d.source))
    for d in (*_DEFS, *_ACTION_DEFS, *_SUPPLY_DEFS, *_HISTORY_DEFS, *_OUTLOOK_DEFS)
)

#: The one registry: KPI id -> definition, every KPI of every engine (kpi_table's, the actions',
#: the supply review's and the plan history's).
KPIS: dict[str, KpiDef] = {d.id: d for d in _DEFS}

#: Families whose KPIs another engine computes (not :func:`sop_xl.kpi.table.kpi_table`).
OTHER_ENGINES: dict[str, str] = {
    "actions": "sop_xl.kpi.actions",
    "supply": "sop_xl.supply.kpis",
    "history": "sop_xl.history",
    "outlook": "sop_xl.outlook",
}
#: Views of the registry by family (the same KpiDef objects as in KPIS).
SUPPLY_KPIS: dict[str, KpiDef] = {k: d for k, d in KPIS.items() if d.family == "supply"}
HISTORY_KPIS: dict[str, KpiDef] = {k: d for k, d in KPIS.items() if d.family == "history"}
OUTLOOK_KPIS: dict[str, KpiDef] = {k: d for k, d in KPIS.items() if d.family == "outlook"}


def kpi(kpi_id: str) -> KpiDef:
    """Look a KPI up by id (case-insensitive); KeyError lists the known ids."""
    key = str(kpi_id).strip().lower()
    if key in KPIS:
        return KPIS[key]
    raise KeyError(f"unknown KPI {kpi_id!r}; known: {', '.join(KPIS)}")


def definitions_frame():
    """The registry as a DataFrame (one row per KPI), for definition sheets."""
    import pandas as pd

    return pd.DataFrame([d.__dict__ for d in _DEFS]).assign(
        source_tables=lambda d: d["source_tables"].map(", ".join)
    )


def sources_markdown() -> str:
    """The docs/kpis.md table of every registry entry with its unit, direction and source
    (generated, so the docs list exactly the registry)."""
    rows = ["| KPI (id) | family | unit | better | source |", "| --- | --- | --- | --- | --- |"]
    for d in KPIS.values():
        rows.append(
            f"| {d.name} (`{d.id}`) | {d.family} | {d.unit} | {d.direction} | "
            + d.source.replace("|", "\\|")
            + " |"
        )
    return "\n".join(rows)


#: Excel's limit on a function wizard description (xlwings cuts there).
EXCEL_DOC_LIMIT = 255


#: Functions that compute no single registry KPI: their one description (the Function Wizard's
#: and the Name Manager's text of the native form, as for the KPI functions below).
FUNCTION_DOCS: dict[str, str] = {
    "SOP_VARIANCE": "Budget variance, favourable positive: Revenue = actual - budget; Cost = "
    "budget - actual. The sign option 'raw' gives actual - budget for any account (as on the "
    "Variance sheets).",
    "SOP_ACCURACY_TABLE": "Forecast-accuracy KPIs (n, MAE, MAPE, WMAPE, accuracy, bias, bias %, "
    "RMSE) per group as one spilled table with a header and a Total row; undefined cells blank.",
}


def udf_doc(udf: str) -> str:
    """What Excel shows for the function ``udf`` (``'SOP_WMAPE'``), in the function wizard for
    the ``=SOP_...`` UDF and in the Name Manager for its native form (``SOP.WMAPE``): the name
    and formula of the first registry entry computed by it, then the ids of the others it also
    computes (or, for a function that computes no registry KPI, its :data:`FUNCTION_DOCS`
    text). The UDFs of :mod:`sop_xl.excel.udfs` and the native formulas of
    :mod:`sop_xl.kpi.native` take their description from here, so a formula is written once,
    in the registry."""
    defs = [d for d in KPIS.values() if d.udf == udf]
    if not defs:
        if udf in FUNCTION_DOCS:
            return FUNCTION_DOCS[udf]
        raise KeyError(f"no KPI in the registry is computed by {udf!r}")
    first, others = defs[0], defs[1:]
    text = f"{first.name}: {first.formula}"
    if others:
        text += " Also computes: " + ", ".join(d.id for d in others) + " (see SOP_KPI_INFO)."
    return text
