"""A realistic, deterministic demo company for the S&OP workbook.

``make_demo(seed, cycle)`` returns every input table of the standard workbook as a typed long
DataFrame (engine column names and dtypes of :mod:`sop_xl.model.schema`), plus one new regional
forecast
per region. Everything is generated with vectorised numpy from ``np.random.default_rng(seed)``:
the same seed and cycle give identical frames.

The company, *Northwind Outdoor & Home GmbH* (EUR), sells 180 items in 6 families through 4 sales
regions and 8 locations (one plant and one distribution centre per region), about 95 M EUR of
revenue a year. The data carries the situations an S&OP cycle must surface:

* **seasonality**: HEATING and LIGHTING peak in Q4, COOLING in summer, GARDEN in spring; trend per
  family; noise; **promotions** (spikes, with a dip the month after) in the actuals and planned
  promotions in the horizon;
* **returns**: some months of some customer/item pairs are net negative;
* **a supply-constrained family** (HEATING, made at DE-MAIN): its production orders finish late and
  short, its inventory is low and its sales order lines ship late and partially more often;
* **late vendors** (V-1004, V-1009, V-1011) with poor on-time receipt performance;
* **partial shipments** on sales order lines;
* **budgets that disagree**: the financial budget is 5% above the sales budget on one account
  (6120), has June moved into July on another (6310), and is rounded to hundreds; the sales
  budget also uses one posting-group combination (EXPORT x SPARES) that the General Posting Setup
  does not map, so variance mapping has an unmapped case;
* **forecast history**: the Forecast table holds the frozen consensus for the last 12 closed
  months (WMAPE about 30% against actuals, LATAM biased high by ~18-20%) and the previous
  consensus for the horizon;
* **targets** for every KPI and **actions** from earlier cycles (closed on time, closed late,
  overdue, open, cancelled).

Sign conventions: sales quantities and amounts are positive, returns negative; ``cost`` has the
sign of the quantity; budget amounts are positive for revenue and cost accounts alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sop_xl.demo.decisions import decision_inputs
from sop_xl.model import schema
from sop_xl.model.frames import typed
from sop_xl.model.periods import add_months, period_range
from sop_xl.model.schema import Settings, Table

COMPANY = "Northwind Outdoor & Home GmbH"
ACTUAL_MONTHS = 34
FROZEN_MONTHS = 12
INVENTORY_MONTHS = 25
TARGET_REVENUE = 95_000_000.0  # per year, EUR

REGIONS = ("NA", "EU", "APAC", "LATAM")
REGION_NAMES = ("North America", "Europe", "Asia Pacific", "Latin America")
REGION_PLANNERS = ("Maria Lopez", "Jonas Weber", "Mei Tan", "Carlos Souza")
REGION_SHARE = np.array([0.35, 0.36, 0.17, 0.12])
#: Two locations per region: (code, name); the first is the region's plant.
LOCATIONS = (
    ("US-EAST", "Columbus Plant", "NA"),
    ("US-WEST", "Reno Distribution Center", "NA"),
    ("DE-MAIN", "Frankfurt Plant", "EU"),
    ("NL-DC", "Venlo Distribution Center", "EU"),
    ("CN-PLANT", "Suzhou Plant", "APAC"),
    ("SG-DC", "Singapore Distribution Center", "APAC"),
    ("MX-PLANT", "Monterrey Plant", "LATAM"),
    ("BR-DC", "Sao Paulo Distribution Center", "LATAM"),
)

#: family, item code prefix, item count, base unit price, gross margin, yearly growth, made at
FAMILIES = (
    ("HEATING", "HT", 30, 180.0, 0.36, 0.05, "DE-MAIN"),
    ("COOLING", "CL", 30, 240.0, 0.34, 0.02, "CN-PLANT"),
    ("GARDEN", "GD", 35, 60.0, 0.40, 0.04, "MX-PLANT"),
    ("TOOLS", "TL", 35, 90.0, 0.38, 0.03, None),
    ("LIGHTING", "LT", 25, 45.0, 0.42, 0.07, "US-EAST"),
    ("SPARES", "SP", 25, 15.0, 0.55, -0.02, None),
)
FAMILY_NOUNS = {
    "HEATING": ("Radiator", "Fan Heater", "Infrared Panel", "Oil Heater", "Patio Heater"),
    "COOLING": ("Tower Fan", "Portable AC", "Air Cooler", "Ceiling Fan", "Dehumidifier"),
    "GARDEN": ("Hose Reel", "Sprinkler", "Pruner", "Lawn Trimmer", "Planter"),
    "TOOLS": ("Drill", "Jigsaw", "Sander", "Tool Case", "Work Lamp"),
    "LIGHTING": ("LED Bulb", "String Lights", "Floodlight", "Desk Lamp", "Lantern"),
    "SPARES": ("Filter", "Blade", "Nozzle", "Power Cord", "Remote"),
}
SIZES = ("S", "M", "L", "XL", "Pro", "Eco")
#: Seasonal index per calendar month (Jan..Dec), normalised to mean 1 below.
SEASON = {
    "HEATING": (1.5, 1.2, 0.9, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.4, 1.9, 2.0),
    "COOLING": (0.4, 0.4, 0.6, 0.9, 1.4, 1.9, 2.0, 1.7, 0.9, 0.6, 0.4, 0.4),
    "GARDEN": (0.4, 0.6, 1.3, 1.8, 1.9, 1.6, 1.2, 0.9, 0.7, 0.5, 0.4, 0.4),
    "TOOLS": (0.9, 0.9, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 1.0, 1.0, 1.2, 1.4),
    "LIGHTING": (0.9, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.8, 1.0, 1.2, 1.6, 2.0),
    "SPARES": (1.0,) * 12,
}
CONSTRAINED_FAMILY = "HEATING"
PURCHASED_FAMILIES = ("TOOLS", "SPARES")
LATE_VENDORS = ("V-1004", "V-1009", "V-1011")
BIASED_REGION, BIAS = "LATAM", 1.18
UNMAPPED_COMBINATION = ("EXPORT", "SPARES")
BUS_GROUPS = ("DOMESTIC", "EU", "EXPORT")
#: Finance budget disagreements with the sales budget.
UPLIFT_ACCOUNT, UPLIFT = "6120", 1.05
SHIFT_ACCOUNT, SHIFT_FROM_MONTH = "6310", 6  # June moved into July
VENDORS = (
    ("V-1001", "Rheinmetall Components AG", "DE", 14),
    ("V-1002", "Shenzhen Brightway Tools Co.", "CN", 45),
    ("V-1003", "Nordic Spare Parts AB", "SE", 10),
    ("V-1004", "Pacific Rim Trading Ltd.", "HK", 50),
    ("V-1005", "Iberia Industrial S.A.", "ES", 12),
    ("V-1006", "Great Lakes Supply Inc.", "US", 14),
    ("V-1007", "Ningbo Precision Parts", "CN", 40),
    ("V-1008", "Alpen Werkzeug GmbH", "AT", 10),
    ("V-1009", "Saigon Metalworks JSC", "VN", 55),
    ("V-1010", "Milano Ricambi S.p.A.", "IT", 12),
    ("V-1011", "Delhi Tools Export Pvt.", "IN", 60),
    ("V-1012", "Ontario Fasteners Ltd.", "CA", 18),
)
CUSTOMERS_PER_REGION = 15
CUSTOMER_WORDS = (
    "Alpha",
    "Summit",
    "Harbor",
    "Pioneer",
    "Crown",
    "Metro",
    "Evergreen",
    "Atlas",
    "Horizon",
    "Keystone",
    "Liberty",
    "Northstar",
    "Oakridge",
    "Redwood",
    "Sterling",
    "Union",
    "Vista",
)
CUSTOMER_KINDS = (
    "Home Centers",
    "Hardware",
    "Retail Group",
    "Outdoor Stores",
    "Trading",
    "DIY Markets",
    "Wholesale",
    "E-Commerce",
    "Supply",
)
KPI_TARGETS = (
    # kpi, perspective, target, direction, green, amber, owner role
    (
        "forecast_accuracy",
        "Internal process",
        0.75,
        "higher",
        0.75,
        0.65,
        "Sales and marketing leader",
    ),
    ("wmape", "Internal process", 0.25, "lower", 0.25, 0.35, "Demand planner"),
    ("bias_pct", "Internal process", 0.0, "lower", 0.05, 0.10, "Demand planner"),
    ("budget_accuracy", "Financial", 0.90, "higher", 0.90, 0.80, "Finance"),
    ("inventory_turns_ttm", "Financial", 6.0, "higher", 6.0, 4.5, "Supply planning"),
    # a band (issue 14): green 30-60 days, amber 20-90 (BAND_TARGETS); a stocked-out family is red
    ("forward_days_of_supply", "Internal process", 45.0, "band", 30.0, 20.0, "Supply planning"),
    ("tracking_signal", "Internal process", 0.0, "lower", 3.0, 4.0, "Demand planner"),
    ("otd_request", "Customer", 0.90, "higher", 0.90, 0.80, "Operations leader"),
    ("line_fill_rate", "Customer", 0.95, "higher", 0.95, 0.90, "Supply planning"),
    ("order_fill_rate", "Customer", 0.90, "higher", 0.90, 0.85, "Operations leader"),
    ("unit_fill_rate", "Customer", 0.97, "higher", 0.97, 0.93, "Supply planning"),
    ("otd", "Customer", 0.95, "higher", 0.95, 0.90, "Operations leader"),
    ("otif", "Customer", 0.90, "higher", 0.90, 0.85, "Operations leader"),
    ("schedule_attainment", "Internal process", 0.95, "higher", 0.95, 0.90, "Operations leader"),
    ("schedule_adherence", "Internal process", 0.90, "higher", 0.90, 0.80, "Operations leader"),
    ("vendor_otd", "Internal process", 0.95, "higher", 0.95, 0.90, "Supply planning"),
    ("revenue_vs_budget_pct", "Financial", 0.0, "higher", 0.0, -0.03, "Executive management"),
    ("gross_margin_pct", "Financial", 0.33, "higher", 0.33, 0.30, "Finance"),
    ("fva", "Learning and growth", 0.0, "higher", 0.0, -0.05, "Demand planner"),
    (
        "actions_closed_on_time",
        "Learning and growth",
        0.90,
        "higher",
        0.90,
        0.75,
        "Executive management",
    ),
    ("actions_overdue", "Learning and growth", 0.0, "lower", 0.0, 2.0, "Executive management"),
    # supply review (issue 11)
    ("capacity_utilisation", "Internal process", 0.95, "lower", 0.95, 1.05, "Operations leader"),
    ("stockout_months", "Internal process", 0.0, "lower", 0.0, 5.0, "Supply planning"),
    (
        "past_due_backlog_value",
        "Internal process",
        0.0,
        "lower",
        50000.0,
        150000.0,
        "Operations leader",
    ),
)
#: Upper ends (green max, amber max) of the band targets.
BAND_TARGETS = {"forward_days_of_supply": (60.0, 90.0)}
#: Scoped targets (a region or a family) in addition to the company-wide ones.
SCOPED_TARGETS = (
    ("forecast_accuracy", "LATAM", 0.70, 0.70, 0.60),
    ("otif", "HEATING", 0.85, 0.85, 0.75),
)
ACTION_DECISIONS = (
    ("Add a second shift on the DE-MAIN heater line until January", "Operations leader"),
    ("Qualify a second source for heater thermostats", "Supply planning"),
    ("Move 20% of LATAM cooling volume to the Q1 promotion calendar", "Sales and marketing leader"),
    ("Review LATAM forecast bias with the regional sales team", "Demand planner"),
    ("Escalate Pacific Rim Trading delivery performance", "Supply planning"),
    ("Reduce SPARES safety stock at NL-DC by two weeks", "Supply planning"),
    ("Confirm garden season price list with key accounts", "Sales team"),
    ("Align finance budget phasing for GARDEN revenue", "Finance"),
    ("Launch the LED floodlight range in APAC", "Sales and marketing leader"),
    ("Rebalance heater stock from US-WEST to US-EAST", "Supply planning"),
    ("Approve overtime budget for Q4 peak", "Executive management"),
    ("Renegotiate freight terms with Saigon Metalworks", "Supply planning"),
    ("Clean up item master lead times for TOOLS", "Demand planner"),
    ("Set up weekly consensus call for peak season", "Demand planner"),
    ("Publish revised capacity plan for Suzhou", "Operations leader"),
    ("Review obsolete SPARES items for phase-out", "Finance"),
    ("Agree promotion uplift assumptions with marketing", "Sales and marketing leader"),
    ("Add customer-specific allocation rules for HEATING", "Operations leader"),
    ("Train regional planners on the submission template", "Demand planner"),
    ("Decide on dual sourcing for Delhi Tools items", "Executive management"),
    ("Validate inventory record accuracy at BR-DC", "Operations leader"),
    ("Update standard costs for COOLING after price increase", "Finance"),
    ("Share the frozen plan with the sales team within two days", "Sales team"),
    ("Reduce sales order promise changes in EU", "Sales team"),
)
#: Each action above: (cycles ago it was raised, days from that cycle's start to its due date,
#: follow-through). Older actions are mostly closed; the last closed month has a mix.
ACTION_PLAN = (
    (6, 35, "closed_on_time"),
    (6, 40, "closed_late"),
    (6, 45, "closed_on_time"),
    (6, 38, "closed_on_time"),
    (5, 36, "closed_on_time"),
    (5, 42, "cancelled"),
    (5, 30, "closed_late"),
    (5, 44, "closed_on_time"),
    (4, 35, "open_overdue"),
    (4, 40, "closed_on_time"),
    (4, 33, "closed_on_time"),
    (4, 45, "closed_late"),
    (3, 38, "in_progress_overdue"),
    (3, 41, "closed_on_time"),
    (3, 36, "closed_on_time"),
    (3, 44, "closed_on_time"),
    (2, 36, "closed_on_time"),
    (2, 40, "closed_late"),
    (2, 48, "closed_on_time"),
    (2, 54, "closed_on_time"),
    (1, 24, "closed_on_time"),
    (1, 50, "open"),
    (1, 55, "open"),
    (1, 75, "in_progress"),
)
OWNERS = {
    "Executive management": "Anna Schmidt",
    "Demand planner": "Jonas Weber",
    "Operations leader": "Peter Braun",
    "Supply planning": "Lena Fischer",
    "Sales and marketing leader": "Sofia Rossi",
    "Sales team": "Tom Becker",
    "Finance": "Claire Martin",
}


@dataclass
class DemoData:
    """The demo company: settings, typed input tables and regional submissions.

    ``demo["Items"]`` returns a table by alias (``demo["Settings"]`` the :class:`Settings`);
    ``facts`` names the deliberate situations planted in the data (for docs and tests).
    """

    settings: Settings
    tables: dict[str, pd.DataFrame]
    regional_submissions: dict[str, pd.DataFrame]
    facts: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, alias: str) -> Settings | pd.DataFrame:
        if alias == "Settings":
            return self.settings
        return self.tables[alias]

    def __contains__(self, alias: object) -> bool:
        return alias == "Settings" or alias in self.tables

    def keys(self) -> list[str]:
        return ["Settings", *self.tables]

    def frames(self) -> list[tuple[Table, pd.DataFrame]]:
        """(declared table, frame) for every table except Settings, in workbook order."""
        return [(schema.table(a), df) for a, df in self.tables.items()]

    def settings_frame(self) -> pd.DataFrame:
        """The Settings table as rows (setting label, value, description)."""
        labels = Settings.labels()
        fields = Settings.model_fields
        return pd.DataFrame(
            {
                "setting": [labels[n] for n in fields],
                "value": [getattr(self.settings, n) for n in fields],
                "description": [fields[n].description or "" for n in fields],
            },
            dtype=object,
        )


# --- helpers -----------------------------------------------------------------------------------
def _month_starts(periods: list[str]) -> np.ndarray:
    return np.array([f"{p}-01" for p in periods], dtype="datetime64[D]")


def _days_in_month(starts: np.ndarray) -> np.ndarray:
    nxt = (starts.astype("datetime64[M]") + 1).astype("datetime64[D]")
    return (nxt - starts).astype(int)


def _random_day(rng: np.random.Generator, starts: np.ndarray) -> np.ndarray:
    """A random day within each month (vectorised)."""
    return starts + np.floor(rng.random(len(starts)) * _days_in_month(starts)).astype(
        "timedelta64[D]"
    )


def _to_ns(days: np.ndarray) -> pd.Series:
    return pd.Series(days.astype("datetime64[ns]"))


# --- generation: one function per table family, called in a fixed order -----------------------
# Every function draws from the one generator in the order the tables are built, so the same seed
# and cycle give the same frames; the small dataclasses carry what later families reuse.
@dataclass
class _Calendar:
    settings: Settings
    cycle: str
    actual_periods: list[str]
    horizon: list[str]
    all_periods: list[str]
    n_t: int
    cal_month: np.ndarray  # calendar month 0..11 of every period
    t_index: np.ndarray  # months from the cycle month (0 = cycle month)
    cycle_start: np.datetime64


@dataclass
class _Master:
    regions: pd.DataFrame
    locations: pd.DataFrame
    items: pd.DataFrame
    customers: pd.DataFrame
    region_locs: np.ndarray  # region x its two location codes
    fam_idx: np.ndarray  # family index of every item
    n_items: int
    fam_names: np.ndarray
    item_ids: np.ndarray
    price: np.ndarray
    unit_cost: np.ndarray
    purchased: np.ndarray
    n_cust: int
    cust_region: np.ndarray
    cust_ids: np.ndarray
    bus: np.ndarray  # general business posting group of every customer
    cust_weight: np.ndarray
    discount: np.ndarray


@dataclass
class _Demand:
    """Which customer buys which item where (k = one customer x item pair), and the expected
    demand of every pair by month, promotions included."""

    k_cust: np.ndarray
    k_item: np.ndarray
    k_region: np.ndarray
    k_loc: np.ndarray
    key_ri: np.ndarray  # region x item key of every pair
    item_loc_choice: np.ndarray
    expected: np.ndarray  # pair x month
    company_exp: np.ndarray  # item x month, all customers
    promo: np.ndarray  # item x region x month multiplier
    pi: np.ndarray  # promotions: item, region, month, uplift (past ones first)
    pr: np.ndarray
    pt: np.ndarray
    uplift: np.ndarray
    promo_known: np.ndarray  # past promotions the forecast knew of
    n_past: int


@dataclass
class _ForecastLevel:
    """Region x item x location (the forecast grain) and the forecast tables."""

    ril_item: np.ndarray
    ril_loc: np.ndarray
    exp_ril: np.ndarray
    frozen: slice
    forecast: pd.DataFrame
    submissions: dict[str, pd.DataFrame]


def _calendar(cycle: str) -> _Calendar:
    settings = Settings(
        company=COMPANY,
        currency="EUR",
        cycle=cycle,
        horizon_months=12,
        fiscal_year_start_month=1,
        forecast_cutoff=dt.datetime(int(cycle[:4]), int(cycle[5:7]), 10, 17, 0),
    )
    first = add_months(cycle, -ACTUAL_MONTHS)
    actual_periods = period_range(first, ACTUAL_MONTHS)
    horizon = period_range(cycle, settings.horizon_months)
    all_periods = actual_periods + horizon
    n_t = len(all_periods)
    return _Calendar(
        settings=settings,
        cycle=cycle,
        actual_periods=actual_periods,
        horizon=horizon,
        all_periods=all_periods,
        n_t=n_t,
        cal_month=np.array([int(p[5:7]) - 1 for p in all_periods]),
        t_index=np.arange(n_t) - ACTUAL_MONTHS,
        cycle_start=np.datetime64(f"{cycle}-01", "D"),
    )


def _master_data(rng: np.random.Generator) -> _Master:
    """Regions, locations, items (prices, costs, lead times) and customers."""
    regions = pd.DataFrame(
        {"region": REGIONS, "name": REGION_NAMES, "planner": REGION_PLANNERS}, dtype=object
    )
    locations = pd.DataFrame(
        {
            "location": [x[0] for x in LOCATIONS],
            "name": [x[1] for x in LOCATIONS],
            "region": [x[2] for x in LOCATIONS],
        },
        dtype=object,
    )
    region_locs = np.array([[x[0] for x in LOCATIONS if x[2] == r] for r in REGIONS])

    fam_idx = np.concatenate([np.full(f[2], i) for i, f in enumerate(FAMILIES)])
    n_items = len(fam_idx)
    fam_names = np.array([f[0] for f in FAMILIES])
    within = np.concatenate([np.arange(f[2]) for f in FAMILIES])
    item_ids = np.array(
        [f"{FAMILIES[f][1]}-{1001 + w}" for f, w in zip(fam_idx, within, strict=True)]
    )
    descriptions = [
        f"{FAMILY_NOUNS[FAMILIES[f][0]][w % 5]} {SIZES[(w // 5) % 6]}"
        + (f" Mk{w // 30 + 2}" if w >= 30 else "")
        for f, w in zip(fam_idx, within, strict=True)
    ]
    base_price = np.array([f[3] for f in FAMILIES])[fam_idx]
    price = np.round(base_price * rng.lognormal(0.0, 0.35, n_items), 2)
    margin = np.clip(
        np.array([f[4] for f in FAMILIES])[fam_idx] + rng.normal(0, 0.04, n_items), 0.15, 0.70
    )
    unit_cost = np.round(price * (1 - margin), 2)
    purchased = np.isin(fam_names[fam_idx], PURCHASED_FAMILIES)
    lead_time = np.where(purchased, rng.integers(20, 61, n_items), rng.integers(7, 29, n_items))
    items = pd.DataFrame(
        {
            "item": item_ids,
            "description": descriptions,
            "family": fam_names[fam_idx],
            "gen_prod_posting_group": fam_names[fam_idx],
            "unit_cost": unit_cost,
            "unit_price": price,
            "lead_time_days": lead_time,
        }
    )

    # Customers: 15 per region; EU region split into domestic (DE) and other EU
    n_cust = CUSTOMERS_PER_REGION * len(REGIONS)
    cust_region = np.repeat(np.arange(len(REGIONS)), CUSTOMERS_PER_REGION)
    cust_ids = np.array([f"C-{10001 + i}" for i in range(n_cust)])
    names = [
        f"{CUSTOMER_WORDS[(i * 7 + 3) % len(CUSTOMER_WORDS)]} "
        f"{CUSTOMER_KINDS[(i * 5 + i // 9) % len(CUSTOMER_KINDS)]} {REGIONS[cust_region[i]]}"
        for i in range(n_cust)
    ]
    eu = cust_region == REGIONS.index("EU")
    bus = np.where(eu, np.where(np.arange(n_cust) % 2 == 0, "DOMESTIC", "EU"), "EXPORT")
    customers = pd.DataFrame(
        {
            "customer": cust_ids,
            "name": names,
            "region": np.array(REGIONS)[cust_region],
            "gen_bus_posting_group": bus,
        }
    )
    cust_weight = rng.pareto(1.6, n_cust) + 0.3  # a few big accounts
    discount = np.round(rng.uniform(0.0, 0.15, n_cust), 3)
    return _Master(
        regions=regions,
        locations=locations,
        items=items,
        customers=customers,
        region_locs=region_locs,
        fam_idx=fam_idx,
        n_items=n_items,
        fam_names=fam_names,
        item_ids=item_ids,
        price=price,
        unit_cost=unit_cost,
        purchased=purchased,
        n_cust=n_cust,
        cust_region=cust_region,
        cust_ids=cust_ids,
        bus=bus,
        cust_weight=cust_weight,
        discount=discount,
    )


def _demand(rng: np.random.Generator, cal: _Calendar, m: _Master) -> _Demand:
    """The assortment (popular items more often) and the expected demand per pair x month:
    seasonality, family trend, promotions, scaled to the target revenue."""
    n_items, n_cust, n_t = m.n_items, m.n_cust, cal.n_t
    popularity = rng.lognormal(0.0, 0.9, n_items)
    prob = np.clip(0.14 * popularity / popularity.mean(), 0.02, 0.6)
    buys = rng.random((n_cust, n_items)) < prob[None, :]
    # every item is sold in at least one customer of each region
    for r in range(len(REGIONS)):
        block = slice(r * CUSTOMERS_PER_REGION, (r + 1) * CUSTOMERS_PER_REGION)
        missing = ~buys[block].any(axis=0)
        pick = rng.integers(0, CUSTOMERS_PER_REGION, n_items)
        buys[r * CUSTOMERS_PER_REGION + pick[missing], np.flatnonzero(missing)] = True
    k_cust, k_item = np.nonzero(buys)
    k_region = m.cust_region[k_cust]
    item_loc_choice = rng.integers(0, 2, (len(REGIONS), n_items))
    k_loc = m.region_locs[k_region, item_loc_choice[k_region, k_item]]
    # weight of customer within (region, item)
    w = m.cust_weight[k_cust] * rng.lognormal(0, 0.5, len(k_cust))
    key_ri = k_region * n_items + k_item
    w_sum = np.bincount(key_ri, weights=w, minlength=len(REGIONS) * n_items)
    share = REGION_SHARE[k_region] * w / w_sum[key_ri]

    season = np.array([SEASON[f[0]] for f in FAMILIES])
    season = season / season.mean(axis=1, keepdims=True)
    growth = np.array([f[5] for f in FAMILIES])
    trend = (1 + growth[:, None]) ** (cal.t_index[None, :] / 12)  # family x month
    fam_k = m.fam_idx[k_item]
    promo = np.ones((n_items, len(REGIONS), n_t))
    # past promotions: 30 events (month spike, dip after); 6 planned in the horizon
    n_past, n_plan = 30, 6
    pi = rng.integers(0, n_items, n_past + n_plan)
    pr = rng.integers(0, len(REGIONS), n_past + n_plan)
    pt = np.concatenate(
        [rng.integers(2, ACTUAL_MONTHS - 1, n_past), ACTUAL_MONTHS + rng.integers(1, 11, n_plan)]
    )
    uplift = rng.uniform(1.6, 2.6, n_past + n_plan)
    promo[pi, pr, pt] *= uplift
    promo[pi, pr, np.minimum(pt + 1, n_t - 1)] *= 0.85
    promo_known = rng.random(n_past) < 0.5  # half the past promotions were in the forecast
    base = popularity * rng.lognormal(0, 0.3, n_items)
    expected = (
        base[k_item, None]
        * share[:, None]
        * season[fam_k][:, cal.cal_month]
        * trend[fam_k]
        * promo[k_item, k_region]
    )
    # scale to the target revenue over the last 12 closed months
    last12 = slice(ACTUAL_MONTHS - 12, ACTUAL_MONTHS)
    revenue = (expected[:, last12].sum(axis=1) * m.price[k_item] * (1 - m.discount[k_cust])).sum()
    expected *= TARGET_REVENUE / revenue
    company_exp = np.zeros((n_items, n_t))
    np.add.at(company_exp, k_item, expected)
    return _Demand(
        k_cust=k_cust,
        k_item=k_item,
        k_region=k_region,
        k_loc=k_loc,
        key_ri=key_ri,
        item_loc_choice=item_loc_choice,
        expected=expected,
        company_exp=company_exp,
        promo=promo,
        pi=pi,
        pr=pr,
        pt=pt,
        uplift=uplift,
        promo_known=promo_known,
        n_past=n_past,
    )


def _sales_actuals(
    rng: np.random.Generator, cal: _Calendar, m: _Master, d: _Demand
) -> pd.DataFrame:
    """Posted sales by customer x item x location x month, returns negative, 3% price rise a
    year."""
    e_act = d.expected[:, :ACTUAL_MONTHS]
    qty = rng.poisson(e_act * rng.gamma(6.0, 1 / 6.0, e_act.shape)).astype(float)
    returns = (qty == 0) & (rng.random(qty.shape) < 0.06)
    qty[returns] = -rng.integers(1, 4, int(returns.sum()))
    kk, tt = np.nonzero(qty)
    q = qty[kk, tt]
    year_index = np.array([int(p[:4]) for p in cal.actual_periods]) - int(cal.actual_periods[0][:4])
    price_idx = 1.03 ** year_index[tt]
    amount = np.round(q * m.price[d.k_item[kk]] * price_idx * (1 - m.discount[d.k_cust[kk]]), 2)
    cost = np.round(q * m.unit_cost[d.k_item[kk]] * price_idx, 2)
    return pd.DataFrame(
        {
            "customer": m.cust_ids[d.k_cust[kk]],
            "item": m.item_ids[d.k_item[kk]],
            "location": d.k_loc[kk],
            "period": np.array(cal.actual_periods)[tt],
            "quantity": q,
            "amount": amount,
            "cost": cost,
        }
    )


def _forecasts(rng: np.random.Generator, cal: _Calendar, m: _Master, d: _Demand) -> _ForecastLevel:
    """The Forecast table (frozen consensus of the last 12 closed months, blind to the promotions
    nobody told the planners about, LATAM biased high; previous consensus for the horizon) and
    each region's new submission for the horizon."""
    n_items, n_t, horizon = m.n_items, cal.n_t, cal.horizon
    ril_keys, ril_of_k = np.unique(d.key_ri, return_inverse=True)
    n_ril = len(ril_keys)
    ril_region = ril_keys // n_items
    ril_item = ril_keys % n_items
    ril_loc = m.region_locs[ril_region, d.item_loc_choice[ril_region, ril_item]]

    exp_ril = np.zeros((n_ril, d.expected.shape[1]))
    np.add.at(exp_ril, ril_of_k, d.expected)
    # forecast of the past ignored the unknown promotions
    n_past, known = d.n_past, d.promo_known
    unknown = np.ones((n_items, len(REGIONS), n_t))
    unknown[d.pi[:n_past][~known], d.pr[:n_past][~known], d.pt[:n_past][~known]] = d.uplift[
        :n_past
    ][~known]
    exp_ril_fc = exp_ril / unknown[ril_item, ril_region]
    bias = np.where(np.array(REGIONS)[ril_region] == BIASED_REGION, BIAS, 1.0)[:, None]
    frozen = slice(ACTUAL_MONTHS - FROZEN_MONTHS, ACTUAL_MONTHS)
    fc_past = np.round(exp_ril_fc[:, frozen] * bias * rng.lognormal(0, 0.22, (n_ril, 12)))
    hz = slice(ACTUAL_MONTHS, n_t)
    fc_hz = np.round(exp_ril[:, hz] * bias * rng.lognormal(0, 0.08, (n_ril, len(horizon))))
    fc_periods = cal.actual_periods[frozen] + horizon
    fc = np.concatenate([fc_past, fc_hz], axis=1)
    forecast = pd.DataFrame(
        {
            "region": np.repeat(np.array(REGIONS)[ril_region], len(fc_periods)),
            "item": np.repeat(m.item_ids[ril_item], len(fc_periods)),
            "location": np.repeat(ril_loc, len(fc_periods)),
            "source": "master",
            "version": f"Consensus {add_months(cal.cycle, -1)}",
            "period": np.tile(fc_periods, n_ril),
            "quantity": fc.ravel(),
        }
    )

    # Regional submissions: the new forecast for the horizon
    drift = rng.lognormal(0, 0.08, fc_hz.shape)
    jump = rng.random(fc_hz.shape) < 0.03
    drift[jump] *= rng.choice([0.55, 1.5, 1.8], int(jump.sum()))
    new_fc = np.round(fc_hz * drift / bias * np.where(bias > 1, 1.08, 1.0))  # LATAM still high
    submissions: dict[str, pd.DataFrame] = {}
    for r, region in enumerate(REGIONS):
        rows = np.flatnonzero(ril_region == r)
        submissions[region] = pd.DataFrame(
            {
                "item": np.repeat(m.item_ids[ril_item[rows]], len(horizon)),
                "location": np.repeat(ril_loc[rows], len(horizon)),
                "period": np.tile(horizon, len(rows)),
                "quantity": new_fc[rows].ravel(),
            }
        )
    return _ForecastLevel(ril_item, ril_loc, exp_ril, frozen, forecast, submissions)


def _chart_of_accounts() -> tuple[pd.DataFrame, pd.DataFrame]:
    """G/L accounts and the General Posting Setup (one combination deliberately unmapped)."""
    gl_rows = []
    setup_rows = []
    for p_i, prod in enumerate(f[0] for f in FAMILIES):
        cogs = f"7{p_i + 1}00"
        for b_i, busg in enumerate(BUS_GROUPS):
            acct = f"6{p_i + 1}{b_i + 1}0"
            gl_rows.append((acct, f"Sales, {prod.title()} - {busg.title()}", "Revenue"))
            if (busg, prod) != UNMAPPED_COMBINATION:
                setup_rows.append((busg, prod, acct, cogs))
        gl_rows.append((cogs, f"Cost of Goods Sold, {prod.title()}", "Cost"))
    gl_accounts = pd.DataFrame(gl_rows, columns=["gl_account", "name", "account_type"])
    gl_accounts = gl_accounts.sort_values("gl_account", kind="stable")
    posting_setup = pd.DataFrame(
        setup_rows,
        columns=[
            "gen_bus_posting_group",
            "gen_prod_posting_group",
            "sales_account",
            "cogs_account",
        ],
    )
    return gl_accounts, posting_setup


def _budgets(
    rng: np.random.Generator, cal: _Calendar, m: _Master, d: _Demand
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], tuple[str, str]]:
    """The sales budget of the cycle's fiscal year (made a year ahead: no promotions, family
    growth off by a few points) and finance's own version of it by account (one account 5% up,
    June moved into July on another, rounded to hundreds). Returns (sales budget, financial
    budget, fiscal-year periods, (shifted from, shifted to))."""
    prod_groups = [f[0] for f in FAMILIES]
    cycle = cal.cycle
    fy_month = cal.settings.fiscal_year_start_month
    fy_start = int(cycle[:4]) if int(cycle[5:7]) >= fy_month else int(cycle[:4]) - 1
    fy = period_range(f"{fy_start:04d}-{fy_month:02d}", 12)
    fy_t = np.array([cal.all_periods.index(p) for p in fy])
    growth_err = rng.normal(0.0, 0.05, len(FAMILIES))
    fam_k = m.fam_idx[d.k_item]
    budget_exp = (
        d.expected[:, fy_t]
        / d.promo[d.k_item, d.k_region][:, fy_t]
        * (1 + growth_err[fam_k])[:, None]
    )
    b_qty = np.round(budget_exp)
    bk, bt = np.nonzero(b_qty > 0)
    fy_year_idx = np.array([int(p[:4]) for p in fy]) - int(cal.actual_periods[0][:4])
    b_price = m.price[d.k_item[bk]] * 1.03 ** fy_year_idx[bt] * (1 - m.discount[d.k_cust[bk]])
    sales_budget = pd.DataFrame(
        {
            "customer": m.cust_ids[d.k_cust[bk]],
            "item": m.item_ids[d.k_item[bk]],
            "location": d.k_loc[bk],
            "period": np.array(fy)[bt],
            "quantity": b_qty[bk, bt],
            "amount": np.round(b_qty[bk, bt] * b_price, 2),
        }
    )
    b_cost = b_qty[bk, bt] * m.unit_cost[d.k_item[bk]] * 1.03 ** fy_year_idx[bt]

    full_map = {
        (b, p): f"6{i + 1}{j + 1}0"
        for i, p in enumerate(prod_groups)
        for j, b in enumerate(BUS_GROUPS)
    }
    combo_bus = m.bus[d.k_cust[bk]]
    combo_prod = m.fam_names[m.fam_idx[d.k_item[bk]]]
    rev_acct = np.array([full_map[(b, p)] for b, p in zip(combo_bus, combo_prod, strict=True)])
    cogs_acct = np.array([f"7{prod_groups.index(p) + 1}00" for p in combo_prod])
    fin = pd.concat(
        [
            pd.DataFrame(
                {
                    "gl_account": rev_acct,
                    "period": sales_budget["period"],
                    "amount": sales_budget["amount"],
                }
            ),
            pd.DataFrame(
                {"gl_account": cogs_acct, "period": sales_budget["period"], "amount": b_cost}
            ),
        ]
    )
    fin = fin.groupby(["gl_account", "period"], as_index=False)["amount"].sum()
    fin.loc[fin["gl_account"] == UPLIFT_ACCOUNT, "amount"] *= UPLIFT
    shift_from = fy[SHIFT_FROM_MONTH - 1]
    shift_to = fy[SHIFT_FROM_MONTH]
    src = (fin["gl_account"] == SHIFT_ACCOUNT) & (fin["period"] == shift_from)
    dst = (fin["gl_account"] == SHIFT_ACCOUNT) & (fin["period"] == shift_to)
    fin.loc[dst, "amount"] += fin.loc[src, "amount"].sum()
    fin.loc[src, "amount"] = 0.0
    fin["amount"] = np.round(fin["amount"], -2)
    financial_budget = fin.sort_values(["gl_account", "period"], kind="stable")
    return sales_budget, financial_budget, fy, (shift_from, shift_to)


def _inventory(
    rng: np.random.Generator, cal: _Calendar, m: _Master, f: _ForecastLevel
) -> pd.DataFrame:
    """Month-end on hand per item x location (low, with stock-outs, in the constrained family)."""
    il = pd.DataFrame({"item": f.ril_item, "location": f.ril_loc}).drop_duplicates()
    il_items = il["item"].to_numpy()
    il_locs = il["location"].to_numpy()
    inv_t = np.arange(ACTUAL_MONTHS - INVENTORY_MONTHS, ACTUAL_MONTHS)
    ril_df = pd.DataFrame({"item": f.ril_item, "location": f.ril_loc})
    exp_il = (
        pd.DataFrame(f.exp_ril[:, ACTUAL_MONTHS - 12 : ACTUAL_MONTHS].mean(axis=1), columns=["d"])
        .assign(item=ril_df["item"], location=ril_df["location"])
        .groupby(["item", "location"])["d"]
        .sum()
    )
    avg_demand = exp_il.reindex(pd.MultiIndex.from_arrays([il_items, il_locs])).to_numpy()
    constrained_il = m.fam_names[m.fam_idx[il_items]] == CONSTRAINED_FAMILY
    cover = np.where(constrained_il, 0.45, 1.7)[:, None] * rng.lognormal(
        0, 0.35, (len(il_items), len(inv_t))
    )
    on_hand = np.round(avg_demand[:, None] * cover)
    stockout = constrained_il[:, None] & (rng.random(on_hand.shape) < 0.15)
    on_hand[stockout] = 0.0
    inv_value = np.round(on_hand * m.unit_cost[il_items][:, None], 2)
    return pd.DataFrame(
        {
            "item": np.repeat(m.item_ids[il_items], len(inv_t)),
            "location": np.repeat(il_locs, len(inv_t)),
            "period": np.tile(np.array(cal.all_periods)[inv_t], len(il_items)),
            "quantity": on_hand.ravel(),
            "value": inv_value.ravel(),
        }
    )


def _production_orders(
    rng: np.random.Generator, cal: _Calendar, m: _Master, d: _Demand
) -> pd.DataFrame:
    """Production orders of the manufactured families at their plant: healthy plants finish
    most orders in full and on time; the constrained one finishes late and short."""
    all_periods, cycle_start = cal.all_periods, cal.cycle_start
    made = np.flatnonzero(~m.purchased)
    plant_of_family = {f[0]: f[6] for f in FAMILIES}
    prod_t = np.arange(ACTUAL_MONTHS - 12, ACTUAL_MONTHS + 3)
    company_exp = d.company_exp
    n_orders = np.where(
        company_exp[made, :].mean(axis=1) > np.median(company_exp[made].mean(1)), 2, 1
    )
    oi = np.concatenate(
        [np.repeat(i, n * len(prod_t)) for i, n in zip(made, n_orders, strict=True)]
    )
    ot = np.concatenate([np.tile(prod_t, n) for n in n_orders])
    per_order = np.concatenate([np.full(n * len(prod_t), n) for n in n_orders])
    planned = np.maximum(10.0, np.ceil(company_exp[oi, ot] / per_order / 10.0) * 10.0)
    due = _random_day(rng, _month_starts([all_periods[t] for t in ot]))
    order_sort = np.lexsort((oi, due))
    oi, ot, planned, due = oi[order_sort], ot[order_sort], planned[order_sort], due[order_sort]
    n_po = len(oi)
    constrained_o = m.fam_names[m.fam_idx[oi]] == CONSTRAINED_FAMILY
    past = due < cycle_start
    finished = past & (rng.random(n_po) < 0.97)
    u_qty = rng.random(n_po)
    ratio = np.where(
        constrained_o,
        np.clip(rng.normal(0.82, 0.10, n_po), 0.45, 1.0),
        np.select(
            [u_qty < 0.86, u_qty < 0.95],
            [1.0, rng.uniform(1.0, 1.03, n_po)],
            rng.uniform(0.85, 0.99, n_po),
        ),
    )
    u_day = rng.random(n_po)
    delay = np.where(
        constrained_o,
        np.where(u_day < 0.45, rng.integers(-2, 3, n_po), rng.integers(3, 16, n_po)),
        np.where(u_day < 0.9, rng.integers(-3, 3, n_po), rng.integers(3, 11, n_po)),
    ).astype(int)
    completed = np.where(finished, np.round(planned * ratio), np.nan)
    # past due, still released: partly done
    open_past = past & ~finished
    completed[open_past] = np.round(planned[open_past] * 0.4)
    completion = np.where(finished, due + delay.astype("timedelta64[D]"), np.datetime64("NaT"))
    months_ahead = ot - ACTUAL_MONTHS
    status = np.select(
        [finished, past | (months_ahead == 0), months_ahead == 1],
        ["Finished", "Released", "Firm Planned"],
        "Planned",
    )
    return pd.DataFrame(
        {
            "order": [f"RPO-{100001 + i}" for i in range(n_po)],
            "item": m.item_ids[oi],
            "location": [plant_of_family[f] for f in m.fam_names[m.fam_idx[oi]]],
            "status": status,
            "planned_qty": planned,
            "due_date": _to_ns(due),
            "completed_qty": completed,
            "completion_date": _to_ns(completion),
        }
    )


def _purchase_receipts(
    rng: np.random.Generator, cal: _Calendar, m: _Master, d: _Demand
) -> pd.DataFrame:
    """Purchase receipt lines of the purchased families (late vendors late and short more often);
    one order per vendor and promised week, lines numbered 10000, 20000, ..."""
    all_periods, cycle_start, n_items = cal.all_periods, cal.cycle_start, m.n_items
    bought = np.flatnonzero(m.purchased)
    vendor_ids = np.array([v[0] for v in VENDORS])
    vendor_p = np.where(np.isin(vendor_ids, LATE_VENDORS), 0.5, 1.0)
    item_vendor = rng.choice(vendor_ids, n_items, p=vendor_p / vendor_p.sum())
    rcv_loc_choice = rng.integers(0, len(LOCATIONS), n_items)
    loc_codes = np.array([x[0] for x in LOCATIONS])
    pur_t = np.arange(ACTUAL_MONTHS - 12, ACTUAL_MONTHS + 2)
    li = np.repeat(bought, len(pur_t) * 2)
    lt = np.tile(np.repeat(pur_t, 2), len(bought))
    promised = _random_day(rng, _month_starts([all_periods[t] for t in lt]))
    vend = item_vendor[li]
    late_v = np.isin(vend, LATE_VENDORS)
    qty_ord = np.maximum(
        20.0, np.ceil(d.company_exp[li, lt] / 2 * rng.uniform(0.8, 1.2, len(li)) / 10) * 10
    )
    received_past = promised < cycle_start
    offset = np.where(
        late_v, np.round(rng.normal(6, 6, len(li))), np.round(rng.normal(-0.5, 1.6, len(li)))
    ).astype(int)
    received = promised + offset.astype("timedelta64[D]")
    got = received_past & (received < cycle_start) & ~(late_v & (rng.random(len(li)) < 0.05))
    short = rng.random(len(li)) < np.where(late_v, 0.15, 0.04)
    qty_rcv = np.where(short, np.round(qty_ord * rng.uniform(0.6, 0.95, len(li))), qty_ord)
    pr_df = pd.DataFrame(
        {
            "vendor": vend,
            "item": m.item_ids[li],
            "location": loc_codes[rcv_loc_choice[li]],
            "promised_date": _to_ns(promised),
            "received_date": _to_ns(np.where(got, received, np.datetime64("NaT"))),
            "qty_ordered": qty_ord,
            "qty_received": np.where(got, qty_rcv, np.nan),
        }
    )
    week = pr_df["promised_date"].dt.to_period("W").astype(str)
    pr_df = pr_df.assign(_w=week).sort_values(["promised_date", "vendor", "item"], kind="stable")
    grp = pr_df.groupby(["vendor", "_w"], sort=False)
    order_no = grp.ngroup()
    codes = pd.factorize(order_no)[0]
    pr_df["order"] = [f"PO-{200001 + c}" for c in codes]
    pr_df["line"] = (grp.cumcount() + 1) * 10000
    return pr_df.drop(columns="_w")


def _sales_order_lines(
    rng: np.random.Generator, cal: _Calendar, m: _Master, d: _Demand
) -> pd.DataFrame:
    """Sales order lines of the 12 closed months and the cycle month: promised dates, late and
    partial shipments (more often in the constrained family), a few back orders."""
    all_periods, cycle_start = cal.all_periods, cal.cycle_start
    n_cust, k_cust, k_item = m.n_cust, d.k_cust, d.k_item
    so_t = np.arange(ACTUAL_MONTHS - 12, ACTUAL_MONTHS + 1)  # 12 closed months + cycle month
    lam = 2.0 + 10.0 * m.cust_weight / m.cust_weight.max()
    n_ord = rng.poisson(np.repeat(lam[:, None], len(so_t), axis=1))
    oc, om = np.nonzero(n_ord)
    reps = n_ord[oc, om]
    ord_c = np.repeat(oc, reps)
    ord_t = so_t[np.repeat(om, reps)]
    n_orders_so = len(ord_c)
    lines_per = 1 + rng.poisson(2.6, n_orders_so)
    line_order = np.repeat(np.arange(n_orders_so), lines_per)
    line_no = (
        np.arange(len(line_order)) - np.repeat(np.cumsum(lines_per) - lines_per, lines_per) + 1
    ) * 10000
    lc = ord_c[line_order]
    ltm = ord_t[line_order]
    # pick an item from the customer's assortment
    assort_start = np.searchsorted(k_cust, np.arange(n_cust))
    assort_len = np.bincount(k_cust, minlength=n_cust)
    kpick = assort_start[lc] + np.floor(rng.random(len(lc)) * assort_len[lc]).astype(int)
    order_req = _random_day(rng, _month_starts([all_periods[t] for t in ord_t]))
    requested = order_req[line_order]
    promise_delay = rng.choice([0, 0, 0, 0, 0, 1, 2, 3, 5], len(lc)).astype("timedelta64[D]")
    promised_so = requested + promise_delay
    no_promise = rng.random(len(lc)) < 0.03
    constrained_l = m.fam_names[m.fam_idx[k_item[kpick]]] == CONSTRAINED_FAMILY
    e_line = d.expected[kpick, ltm] / np.maximum(1, n_ord[lc, np.searchsorted(so_t, ltm)])
    qty_so = np.maximum(1.0, np.round(e_line * rng.uniform(0.4, 1.6, len(lc))))
    ship_offset = np.where(
        rng.random(len(lc)) < np.where(constrained_l, 0.30, 0.04),
        rng.integers(1, 12, len(lc)),
        rng.integers(-2, 1, len(lc)),
    ).astype("timedelta64[D]")
    anchor = np.where(no_promise, requested, promised_so)
    ship = anchor + ship_offset
    shipped_yet = ship < cycle_start
    backorder = rng.random(len(lc)) < 0.005
    shipped = shipped_yet & ~backorder
    partial = rng.random(len(lc)) < np.where(constrained_l, 0.20, 0.03)
    qty_ship = np.where(partial, np.floor(qty_so * rng.uniform(0.5, 0.95, len(lc))), qty_so)
    return pd.DataFrame(
        {
            "order": [f"SO-{300001 + o}" for o in line_order],
            "line": line_no,
            "customer": m.cust_ids[lc],
            "item": m.item_ids[k_item[kpick]],
            "location": d.k_loc[kpick],
            "requested_date": _to_ns(requested),
            "promised_date": _to_ns(np.where(no_promise, np.datetime64("NaT"), promised_so)),
            "qty_ordered": qty_so,
            "qty_shipped": np.where(shipped, qty_ship, np.nan),
            "ship_date": _to_ns(np.where(shipped, ship, np.datetime64("NaT"))),
        }
    )


def _targets() -> pd.DataFrame:
    """A target per KPI (company level) plus the scoped ones."""
    tgt = [(*t, None) for t in KPI_TARGETS]
    base_t = {t[0]: t for t in KPI_TARGETS}
    for kpi, scope, target, green, amber in SCOPED_TARGETS:
        b = base_t[kpi]
        tgt.append((kpi, b[1], target, b[3], green, amber, b[6], scope))
    targets = pd.DataFrame(
        tgt,
        columns=[
            "kpi",
            "perspective",
            "target",
            "direction",
            "green",
            "amber",
            "owner_role",
            "scope",
        ],
    )
    bands = targets["kpi"].map(BAND_TARGETS)
    targets["green_max"] = [b[0] if isinstance(b, tuple) else np.nan for b in bands]
    targets["amber_max"] = [b[1] if isinstance(b, tuple) else np.nan for b in bands]
    return targets


def _actions(rng: np.random.Generator, cal: _Calendar) -> pd.DataFrame:
    """Actions from the six previous cycles (:data:`ACTION_PLAN`): closed on time, closed late,
    overdue, open, cancelled."""
    cycle, cycle_start = cal.cycle, cal.cycle_start
    n_act = len(ACTION_DECISIONS)
    plan = ACTION_PLAN[:n_act]
    raised = [add_months(cycle, -p[0]) for p in plan]
    raised_start = _month_starts(raised)
    due_a = raised_start + np.array([p[1] for p in plan]).astype("timedelta64[D]")
    state = np.array([p[2] for p in plan])
    early = rng.integers(0, 8, n_act).astype("timedelta64[D]")
    late = rng.integers(3, 12, n_act).astype("timedelta64[D]")
    closed_date = np.select(
        [state == "closed_on_time", state == "closed_late"],
        [np.maximum(due_a - early, raised_start + 3), due_a + late],
        np.datetime64("NaT"),
    )
    closed_date = np.where(closed_date >= cycle_start, cycle_start - 1, closed_date)
    status = np.select(
        [
            np.isin(state, ["closed_on_time", "closed_late"]),
            state == "cancelled",
            np.char.startswith(state, "in_progress"),
        ],
        ["Closed", "Cancelled", "In progress"],
        "Open",
    )
    cd_series = _to_ns(closed_date)
    return pd.DataFrame(
        {
            "action_id": [f"A-{raised[i]}-{i + 1:02d}" for i in range(n_act)],
            "decision": [d for d, _ in ACTION_DECISIONS],
            "owner_role": [r for _, r in ACTION_DECISIONS],
            "owner": [OWNERS[r] for _, r in ACTION_DECISIONS],
            "due_date": _to_ns(due_a),
            "status": status,
            "cycle_raised": raised,
            "cycle_closed": cd_series.dt.strftime("%Y-%m").where(cd_series.notna(), None),
            "closed_date": cd_series,
        }
    )


def make_demo(seed: int = 7, cycle: str = "2026-11") -> DemoData:
    """Generate the demo company for the S&OP cycle ``cycle`` (deterministic in ``seed``).

    The table families are generated in a fixed order from one generator (the order is part of
    the output: changing it changes every later table)."""
    rng = np.random.default_rng(seed)
    cal = _calendar(cycle)
    m = _master_data(rng)
    d = _demand(rng, cal, m)
    sales_actuals = _sales_actuals(rng, cal, m, d)
    f = _forecasts(rng, cal, m, d)
    gl_accounts, posting_setup = _chart_of_accounts()
    sales_budget, financial_budget, fy, (shift_from, shift_to) = _budgets(rng, cal, m, d)
    inventory = _inventory(rng, cal, m, f)
    production_orders = _production_orders(rng, cal, m, d)
    purchase_receipts = _purchase_receipts(rng, cal, m, d)
    sales_order_lines = _sales_order_lines(rng, cal, m, d)
    targets = _targets()
    actions = _actions(rng, cal)

    raw = {
        "Regions": m.regions,
        "Items": m.items,
        "Customers": m.customers,
        "Locations": m.locations,
        "Vendors": pd.DataFrame(VENDORS, columns=["vendor", "name", "country", "lead_time_days"]),
        "GLAccounts": gl_accounts,
        "PostingSetup": posting_setup,
        "FinancialBudget": financial_budget,
        "SalesBudget": sales_budget,
        "Forecast": f.forecast,
        "SalesActuals": sales_actuals,
        "Inventory": inventory,
        "ProductionOrders": production_orders,
        "PurchaseReceipts": purchase_receipts,
        "SalesOrderLines": sales_order_lines,
        "Targets": targets,
        "Actions": actions,
    }
    raw.update(supply_inputs(m.items, f.forecast, cal.horizon, rng))
    plant = {fam[0]: fam[6] for fam in FAMILIES}[CONSTRAINED_FAMILY]
    raw.update(decision_inputs(raw["Scenarios"], cycle, f"{plant}-ASSY", CONSTRAINED_FAMILY))
    tables = {alias: typed(schema.table(alias), df) for alias, df in raw.items()}
    sub_table = Table(
        name="tblSubmission",
        sheet="Submission",
        title="Regional submission",
        group="Demand",
        doc="",
        columns=(schema.ITEM, schema.LOCATION, schema.PERIOD_COLUMN, schema.FORECAST.value),  # type: ignore[arg-type]
    )
    submissions = {r: typed(sub_table, df) for r, df in f.submissions.items()}
    n_past, all_periods = d.n_past, cal.all_periods
    facts = {
        "constrained_family": CONSTRAINED_FAMILY,
        "seasonal_q4_families": ("HEATING", "LIGHTING"),
        "summer_family": "COOLING",
        "late_vendors": LATE_VENDORS,
        "biased_region": BIASED_REGION,
        "bias": BIAS,
        "unmapped_combination": UNMAPPED_COMBINATION,
        "budget_uplift": (UPLIFT_ACCOUNT, UPLIFT),
        "budget_shift": (SHIFT_ACCOUNT, shift_from, shift_to),
        "actual_periods": cal.actual_periods,
        "frozen_periods": cal.actual_periods[f.frozen],
        "horizon": cal.horizon,
        "fiscal_year": fy,
        "promotions_planned": [
            (m.item_ids[i], REGIONS[r], all_periods[t])
            for i, r, t in zip(d.pi[n_past:], d.pr[n_past:], d.pt[n_past:], strict=True)
        ],
    }
    return DemoData(
        settings=cal.settings, tables=tables, regional_submissions=submissions, facts=facts
    )


# --- supply review inputs (issue 11) ------------------------------------------------------------
#: family -> (days of supply min, max, replenishment); HEATING runs lean.
SUPPLY_POLICY = {
    "HEATING": (20.0, 60.0, "Make"),
    "COOLING": (30.0, 90.0, "Make"),
    "GARDEN": (30.0, 90.0, "Make"),
    "LIGHTING": (25.0, 75.0, "Make"),
    "TOOLS": (45.0, 120.0, "Buy"),
    "SPARES": (60.0, 150.0, "Buy"),
}
#: Assembly hours per unit by family (packing is a tenth of it).
ASSEMBLY_HOURS = {"HEATING": 0.40, "COOLING": 0.50, "GARDEN": 0.15, "LIGHTING": 0.10}
#: The constrained assembly line runs at this share of its winter peak load; December loses a
#: quarter of it to the Christmas shutdown. Other lines have this much headroom over their peak.
TIGHT_SHARE, SHUTDOWN_SHARE, HEADROOM = 0.88, 0.75, 1.35


def supply_inputs(
    items: pd.DataFrame, forecast: pd.DataFrame, horizon: list[str], rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """Resources (assembly and packing per plant), routings of the made families, the capacity
    grid (December shutdown at the HEATING plant) and the inventory policy. Capacities follow
    the consensus over the horizon so that HEATING's assembly line is short in the winter months
    while every other line has headroom."""
    made = items[items["family"].isin(list(ASSEMBLY_HOURS))]
    plant = {f[0]: f[6] for f in FAMILIES}
    hours = np.round(
        made["family"].map(ASSEMBLY_HOURS).to_numpy() * rng.uniform(0.8, 1.2, len(made)), 3
    )
    routings = pd.concat(
        [
            pd.DataFrame(
                {
                    "item": made["item"].to_numpy(),
                    "resource": [f"{plant[f]}-{kind}" for f in made["family"]],
                    "hours_per_unit": np.round(hours * share, 3),
                }
            )
            for kind, share in (("ASSY", 1.0), ("PACK", 0.1))
        ],
        ignore_index=True,
    )
    fc = forecast[forecast["period"].isin(horizon)]
    qty = fc.groupby(["item", "period"])["quantity"].sum().rename("qty").reset_index()
    load = (
        routings.merge(qty, on="item")
        .assign(h=lambda d: d["hours_per_unit"] * d["qty"])
        .groupby(["resource", "period"])["h"]
        .sum()
        .unstack(fill_value=0.0)
    )
    tight = f"{plant[CONSTRAINED_FAMILY]}-ASSY"
    peak = load.max(axis=1)
    winter = load.loc[tight, horizon[:3]].mean()
    capacity = np.where(load.index == tight, TIGHT_SHARE * winter, HEADROOM * peak)
    capacity = np.ceil(capacity / 100.0) * 100.0
    loc_of = {r: r.rsplit("-", 1)[0] for r in load.index}
    resources = pd.DataFrame(
        {
            "resource": load.index,
            "name": [
                f"{'Assembly' if r.endswith('ASSY') else 'Packing'} line {loc_of[r]}"
                for r in load.index
            ],
            "location": [loc_of[r] for r in load.index],
            "capacity_hours": capacity,
        }
    )
    december = [p for p in horizon if p.endswith("-12")][:1]
    cap_tight = float(resources.loc[resources["resource"] == tight, "capacity_hours"].iloc[0])
    grid = pd.DataFrame(
        {
            "resource": [tight] * len(december),
            "period": december,
            "hours": [round(cap_tight * SHUTDOWN_SHARE)] * len(december),
        }
    )
    policy = pd.DataFrame(
        [(fam, None, None, lo, hi, rep) for fam, (lo, hi, rep) in SUPPLY_POLICY.items()],
        columns=["family", "item", "safety_stock", "min_days", "max_days", "replenishment"],
    )
    top = qty.groupby("item")["qty"].sum()
    top_heating = top[top.index.str.startswith("HT-")].idxmax()
    override = pd.DataFrame(
        [(None, top_heating, float(np.ceil(top[top_heating] / 12 / 100) * 100), None, None, None)],
        columns=policy.columns,
    )
    scenarios = pd.DataFrame(
        [
            ("Second shift DE", "Capacity %", tight, horizon[0], horizon[3], 0.5, "Nov-Feb"),
            ("Winter upside", "Demand %", CONSTRAINED_FAMILY, horizon[0], horizon[3], 0.1, None),
            ("Price +3%", "Price %", None, None, None, 0.03, "all families"),
        ],
        columns=["scenario", "driver", "target", "from_period", "to_period", "change", "note"],
    )
    return {
        "Resources": resources,
        "ResourceCapacity": grid,
        "Routings": routings,
        "InventoryPolicy": pd.concat([policy, override], ignore_index=True),
        "Scenarios": scenarios,
    }
