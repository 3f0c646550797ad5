"""Twelve past S&OP cycles for the demo company, so the history sheets show real numbers.

``past_cycles(demo)`` returns the ``ForecastArchive`` and ``ActionLog`` the demo master starts
with, as if the company had run sop_xl for the 12 cycles before the demo cycle. Vectorised, no
cycle is re-run (a few seconds in all):

- **consensus**: at lag 0 the frozen consensus the Forecast table already holds for each past
  month (so lag-0 accuracy equals the KPIs sheet); at lag L the forecast the cycle L months
  earlier locked: the same value with a forecast-horizon drift (lognormal, sigma 0.07 x L), so
  accuracy falls with the lag as it does in real companies;
- **statistical**: the real baseline (:func:`sop_xl.history.baseline.statistical_baseline`) of
  each past cycle, fitted on the sales before it;
- **submission**: what each region submitted before the consensus meeting. Planted: **EU**
  overrode a good statistical baseline badly (optimistic, noisy overrides on a third of its
  cells: the consensus meeting undid half of that), **LATAM** over-forecasts (its submissions ran
  ~6% above even its already high consensus); the other regions submitted close to the consensus;
- **action log** of the last cycle: the Actions table as it stood mid-cycle, with one action closed
  then and reopened since (A-2026-08-13) and one open action that has since vanished from the
  Actions sheet (planted: 'Missing').
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_xl.history.archive import SERIES, max_lag, replace, stage_rows
from sop_xl.history.baseline import statistical_baseline
from sop_xl.history.carry import log_rows
from sop_xl.history.lag import actuals_by_series
from sop_xl.model.periods import add_months

PAST_CYCLES = 12
OVERRIDE_REGION, OVERRIDE_SHARE = "EU", 0.35
BIASED_SUBMITTER, SUBMIT_BIAS = "LATAM", 1.06
DRIFT_PER_LAG = 0.07
REOPENED = "A-2026-08-13"
MISSING = {
    "action_id": "A-2026-10-25",
    "decision": "Expedite CN-PLANT cooling components for the Q1 build",
    "owner_role": "Supply planning",
    "owner": "Lena Fischer",
    "due_date": pd.Timestamp("2026-11-05"),
    "status": "Open",
    "cycle_raised": "2026-10",
    "closed_date": pd.NaT,
}


def _consensus(forecast: pd.DataFrame, cycles: list[str], lags: int, rng) -> pd.DataFrame:
    """Past consensus per cycle at lags 0..lags from the Forecast table's values."""
    f = forecast[[*SERIES, "period", "quantity"]].copy()
    f["period"] = f["period"].astype(str)
    parts = []
    for cycle in cycles:
        months = [add_months(cycle, k) for k in range(lags + 1)]
        rows = f[f["period"].isin(months)].copy()
        lag = rows["period"].map({m: k for k, m in enumerate(months)}).to_numpy()
        drift = rng.lognormal(0.0, DRIFT_PER_LAG * np.maximum(lag, 1e-9))
        rows["quantity"] = np.round(rows["quantity"].to_numpy(float) * np.where(lag > 0, drift, 1))
        parts.append(stage_rows(rows, cycle, "Consensus", lags=lags))
    return pd.concat(parts, ignore_index=True)


def _submissions(consensus: pd.DataFrame, rng) -> pd.DataFrame:
    """Regional submissions from the consensus: EU's bad overrides, LATAM's bias."""
    s = consensus.copy()
    n = len(s)
    q = s["quantity"].to_numpy(float)
    region = s["region"].to_numpy()
    tweak = rng.lognormal(0.0, 0.04, n)  # the meeting's small changes elsewhere
    override = (region == OVERRIDE_REGION) & (rng.random(n) < OVERRIDE_SHARE)
    # the consensus kept half of an override: submission = consensus x (override factor)
    factor = np.where(override, rng.lognormal(0.25, 0.35, n), tweak)
    factor = np.where(region == BIASED_SUBMITTER, factor * SUBMIT_BIAS, factor)
    s["quantity"] = np.round(q * factor)
    s["stage"] = "Submission"
    return s


def _statistical(demo, actuals: pd.DataFrame, cycles: list[str], lags: int) -> pd.DataFrame:
    items = demo.tables["Items"]
    fam = items.drop_duplicates("item").set_index("item")["family"]
    sales = actuals.assign(family=actuals["item"].map(fam).to_numpy())
    parts = []
    for cycle in cycles:
        fit = sales[sales["period"] < cycle]
        b = statistical_baseline(fit, cycle, lags + 1)
        parts.append(stage_rows(b, cycle, "Statistical", lags=lags))
    return pd.concat(parts, ignore_index=True)


def _action_log(actions: pd.DataFrame, cycle: str) -> pd.DataFrame:
    """The Actions table as it stood in the middle of ``cycle`` (+ the planted cases)."""
    asof = pd.Timestamp(f"{cycle}-15")
    a = actions[actions["cycle_raised"].astype(str) <= cycle].copy()
    closed_later = a["status"].eq("Closed") & (pd.to_datetime(a["closed_date"]) > asof)
    a.loc[closed_later, "status"] = "In progress"
    a.loc[closed_later, "closed_date"] = pd.NaT
    a.loc[a["action_id"] == REOPENED, "status"] = "Closed"
    a.loc[a["action_id"] == REOPENED, "closed_date"] = pd.Timestamp(f"{cycle}-05")
    a = pd.concat([a, pd.DataFrame([MISSING])], ignore_index=True)
    return log_rows(a, cycle, evidence="demo history")


def past_cycles(demo, *, seed: int = 13) -> dict[str, pd.DataFrame]:
    """ForecastArchive and ActionLog frames of the 12 cycles before the demo cycle."""
    rng = np.random.default_rng(seed)
    cycle = demo.settings.cycle
    cycles = [add_months(cycle, -k) for k in range(PAST_CYCLES, 0, -1)]
    lags = max_lag(demo.tables["Items"])
    actuals = actuals_by_series(demo.tables["SalesActuals"], demo.tables["Customers"])
    consensus = _consensus(demo.tables["Forecast"], cycles, lags, rng)
    archive = replace(consensus, _submissions(consensus, rng))
    archive = replace(archive, _statistical(demo, actuals, cycles, lags))
    archive["evidence"] = "demo history"
    log = _action_log(demo.tables["Actions"], add_months(cycle, -1))
    return {"ForecastArchive": archive, "ActionLog": log}
