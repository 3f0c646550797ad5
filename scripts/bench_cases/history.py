"""Plan history: the statistical baseline at 2,000 series x 36 months, and accuracy by lag + FVA
over 12 archived cycles.

Baseline case. Ours: :func:`sop_xl.history.baseline.statistical_baseline` as the cycle runs it,
Holt-Winters (statsmodels) fitted per region x family and split to item x location by 12-month
share. Baseline: the obvious alternative, the same model fitted on every series on its own
(``fit_by=None``). The statsmodels import (about 2 s, once per process) is done before timing.

History case. Ours: what the history step computes besides the baseline, on a 12-cycle archive
of the same series: :func:`~sop_xl.history.archive.replace` (this cycle into the archive),
:func:`lag_accuracy` (lags 0-3 + lead time, company/region/family) and :func:`fva_report`, the
two sharing one :func:`~sop_xl.history.lag.keyed`. Baseline: the same three functions of sop_xl
before they ran on integer keys (commit ``BASELINE_COMMIT``: a text-key merge per lag and one
KPI-engine call per lag, scope and stage), loaded from git in the same run; both must give the
same tables. CPU time, best of alternating runs.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sop_xl.history import archive as arc
from sop_xl.history.baseline import statistical_baseline
from sop_xl.history.fva import fva_report
from sop_xl.history.lag import keyed, lag_accuracy
from sop_xl.model.periods import add_months, period_range

CYCLE = "2026-11"
ROOT = Path(__file__).resolve().parents[2]
#: sop_xl before the history step ran on integer keys; another: SOP_XL_BENCH_BASELINE=<commit>
BASELINE_COMMIT = os.environ.get("SOP_XL_BENCH_BASELINE") or "cee308d"


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


def _baseline_history(tmp: Path):
    """(archive, lag, fva) modules of sop_xl/history at ``BASELINE_COMMIT``, importing each
    other (not this checkout's), or None when git cannot give them."""
    names = ("archive", "lag", "fva")
    package = "history_baseline"
    (tmp / package).mkdir()
    (tmp / package / "__init__.py").write_text("")
    try:
        for name in names:
            text = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{BASELINE_COMMIT}:sop_xl/history/{name}.py"],
                capture_output=True,
                check=True,
                text=True,
            ).stdout
            text = text.replace("sop_xl.history.", f"{package}.")
            (tmp / package / f"{name}.py").write_text(text)
    except (OSError, subprocess.CalledProcessError):
        return None
    sys.path.insert(0, str(tmp))
    try:
        out = []
        for name in names:
            spec = importlib.util.spec_from_file_location(
                f"{package}.{name}", tmp / package / f"{name}.py"
            )
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[f"{package}.{name}"] = module
            spec.loader.exec_module(module)
            out.append(module)
        return tuple(out)
    finally:
        sys.path.remove(str(tmp))


def _history_case(n: int, quick: bool) -> dict:
    sales = _sales(n, months=36)
    actuals = sales.drop(columns="family")
    rng = np.random.default_rng(5)
    parts = []
    for k in range(12, 0, -1):
        cycle = add_months(CYCLE, -k)
        f = actuals[(actuals["period"] >= cycle) & (actuals["period"] <= add_months(cycle, 3))]
        for stage, sd in (("Consensus", 0.25), ("Statistical", 0.2), ("Submission", 0.3)):
            g = f.assign(quantity=np.round(f["quantity"] * rng.lognormal(0, sd, len(f)), 1))
            parts.append(arc.stage_rows(g, cycle, stage, lags=3))
    archive = arc.replace(arc.empty(), pd.concat(parts, ignore_index=True))
    f = actuals[(actuals["period"] >= CYCLE) & (actuals["period"] <= add_months(CYCLE, 3))]
    this_cycle = arc.stage_rows(f, CYCLE, "Consensus", lags=3)
    items = pd.DataFrame(
        {
            "item": actuals["item"].unique(),
            "lead_time_days": 30 + 15 * (np.arange(actuals["item"].nunique()) % 4),
            "family": "F",
        }
    )

    def ours():
        a = arc.replace(archive, this_cycle)
        keys = keyed(a, actuals)
        lag = lag_accuracy(a, actuals, CYCLE, items=items, keys=keys)
        return a, lag, fva_report(a, actuals, CYCLE, 1, items=items, keys=keys)

    with tempfile.TemporaryDirectory(prefix="sop_bench_history_") as tmp:
        base_modules = _baseline_history(Path(tmp))
    runs = {"ours": ours}
    if base_modules is not None:
        b_arc, b_lag, b_fva = base_modules

        def base():
            a = b_arc.replace(archive, this_cycle)
            lag = b_lag.lag_accuracy(a, actuals, CYCLE, items=items)
            return a, lag, b_fva.fva_report(a, actuals, CYCLE, 1, items=items)

        runs["base"] = base
    cpu: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
    got = {}
    for _ in range(1 if quick else 3):  # alternating, so machine load hits both alike
        for key, fn in runs.items():
            t, c = time.perf_counter(), time.process_time()
            got[key] = fn()
            cpu[key].append((time.perf_counter() - t, time.process_time() - c))
    if "base" in got:  # the same tables, exactly
        a, (wide, detail), fva = got["ours"]
        b, (b_wide, b_detail), b_fva_out = got["base"]
        for x, y in [(a, b), (wide, b_wide), (detail, b_detail), *zip(fva, b_fva_out, strict=True)]:
            pd.testing.assert_frame_equal(x, y, check_exact=True)
    best = {k: min(v, key=lambda x: x[1]) for k, v in cpu.items()}
    base_s, base_cpu = best.get("base", (None, None))
    _, (_, detail), (fva, _, _) = got["ours"]
    return {
        "case": "history step without the baseline: archive replace + accuracy by lag + FVA",
        "size": f"{n:,} series, 13 cycles, {len(got['ours'][0]):,} archive rows",
        "ours_s": best["ours"][0],
        "ours_cpu": best["ours"][1],
        "baseline": f"the same, sop_xl {BASELINE_COMMIT} (a merge per lag)" if base_s else "-",
        "baseline_s": base_s,
        "baseline_cpu": base_cpu,
        "ratio": round(base_cpu / best["ours"][1], 1) if base_cpu else None,
        "note": f"identical tables; {len(detail):,} lag rows; consensus accuracy "
        f"{fva['accuracy'].iloc[-1]:.1%}; ratio of CPU",
    }


def cases(quick: bool = False) -> list[dict]:
    n = 200 if quick else 2000
    return [_baseline_case(n), _history_case(n, quick)]
