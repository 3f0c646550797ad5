"""Plan history: the statistical baseline at 2,000 series x 36 months, and accuracy by lag + FVA
over 12 archived cycles.

Baseline case. Ours: :func:`sop_xl.history.baseline.statistical_baseline` as the cycle runs it,
Holt-Winters (statsmodels) fitted per region x family and split to item x location by 12-month
share. Baseline: the obvious alternative, the same model fitted on every series on its own
(``fit_by=None``). The statsmodels import (about 2 s, once per process) is done before timing.

History case. Ours: :func:`lag_accuracy` (lags 0-3 + lead time, company/region/family) and
:func:`fva_report` on a 12-cycle archive of the same series. No baseline (nothing obvious to
compare with); the time is what the history step adds to a cycle.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from sop_xl.history import archive as arc
from sop_xl.history.baseline import statistical_baseline
from sop_xl.history.fva import fva_report
from sop_xl.history.lag import lag_accuracy
from sop_xl.model.periods import add_months, period_range

CYCLE = "2026-11"


def _sales(n_series: int, months: int = 36, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    periods = period_range(add_months(CYCLE, -months), months)
    regions = np.array([f"R{i}" for i in range(4)])
    fams = np.array([f"F{i:02d}" for i in range(25)])
    s = np.arange(n_series)
    season = 1 + 0.4 * np.sin(2 * np.pi * (np.arange(months)[None, :] + (s % 25)[:, None]) / 12)
    level = rng.lognormal(3, 1, n_series)[:, None]
    q = rng.poisson(level * season).astype(float)
    return pd.DataFrame(
        {
            "region": np.repeat(regions[s % 4], months),
            "item": np.repeat([f"I{i:05d}" for i in s], months),
            "location": "L1",
            "family": np.repeat(fams[(s // 4) % 25], months),
            "period": np.tile(periods, n_series),
            "quantity": q.ravel(),
        }
    )


def _baseline_case(n: int) -> dict:
    import statsmodels.tsa.holtwinters  # noqa: F401  (import time is not the fit's)

    sales = _sales(n)
    t = time.perf_counter()
    ours = statistical_baseline(sales, CYCLE, 12)
    ours_s = time.perf_counter() - t
    t = time.perf_counter()
    statistical_baseline(sales, CYCLE, 12, fit_by=None)
    base_s = time.perf_counter() - t
    return {
        "case": "statistical baseline (Holt-Winters, 12 months ahead)",
        "size": f"{n:,} series x 36 months",
        "ours_s": ours_s,
        "baseline": "one fit per series",
        "baseline_s": base_s,
        "ratio": round(base_s / ours_s, 1) if ours_s > 0 else None,
        "note": f"{ours['method'].iloc[0].split(' on ')[0]}; 100 region x family fits vs {n:,}",
    }


def _history_case(n: int) -> dict:
    sales = _sales(n, months=36)
    actuals = sales.drop(columns="family")
    rng = np.random.default_rng(5)
    parts = []
    for k in range(12, 0, -1):
        cycle = add_months(CYCLE, -k)
        f = actuals[(actuals["period"] >= cycle) & (actuals["period"] <= add_months(cycle, 3))]
        for stage, sd in (("Consensus", 0.25), ("Statistical", 0.2), ("Submission", 0.3)):
            g = f.assign(quantity=np.round(f["quantity"] * rng.lognormal(0, sd, len(f))))
            parts.append(arc.stage_rows(g, cycle, stage, lags=3))
    archive = arc.replace(arc.empty(), pd.concat(parts, ignore_index=True))
    items = pd.DataFrame({"item": actuals["item"].unique(), "lead_time_days": 30, "family": "F"})
    t = time.perf_counter()
    _, detail = lag_accuracy(archive, actuals, CYCLE, items=items)
    fva, _, _ = fva_report(archive, actuals, CYCLE, 1, items=items)
    ours_s = time.perf_counter() - t
    return {
        "case": "accuracy by lag + FVA stairstep",
        "size": f"{n:,} series, 12 cycles, {len(archive):,} archive rows",
        "ours_s": ours_s,
        "baseline": "-",
        "baseline_s": None,
        "ratio": None,
        "note": f"{len(detail):,} lag rows; consensus accuracy {fva['accuracy'].iloc[-1]:.1%}",
    }


def cases(quick: bool = False) -> list[dict]:
    n = 200 if quick else 2000
    return [_baseline_case(n), _history_case(n)]
