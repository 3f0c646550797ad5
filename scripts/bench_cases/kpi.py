"""KPIs: every forecast-accuracy KPI grouped by item x location over 1,000,000 rows (target
< 1.5 s) next to a straightforward per-group Python loop; the same with history (MASE, FVA);
the whole kpi_table on the demo company; and the Python-side cost of one scalar UDF call on two
24-cell column ranges (target < 50 us), called as xlwings calls it (lists of lists)."""

from __future__ import annotations

import sys
import time
import timeit
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sop_xl.kpi.table import forecast_accuracy, kpi_table

POINT_KPIS = ("mae", "mape", "wmape", "forecast_accuracy", "bias", "bias_pct", "rmse")


def make_rows(rows: int, seed: int = 7) -> pd.DataFrame:
    """region x item x location x month cells: 4 regions, 5 locations, 25 months, items to fit."""
    rng = np.random.default_rng(seed)
    months = [f"{2024 + (m // 12)}-{m % 12 + 1:02d}" for m in range(25)]
    n_item = max(rows // (4 * 5 * 25), 1)
    grid = pd.MultiIndex.from_product(
        [
            ["NA", "EU", "APAC", "LATAM"],
            [f"I{i:05d}" for i in range(n_item)],
            [f"L{i}" for i in range(5)],
            months,
        ],
        names=["region", "item", "location", "period"],
    ).to_frame(index=False)
    level = rng.gamma(2.0, 20.0, len(grid) // 25).repeat(25)
    actual = rng.poisson(level).astype(float)
    actual[rng.random(len(grid)) < 0.03] *= -0.2  # some returns
    forecast = np.round(level * rng.normal(1.05, 0.25, len(grid)).clip(0))
    grid["actual"] = actual
    grid["forecast"] = forecast
    for c in ("region", "item", "location", "period"):
        grid[c] = grid[c].astype(str)
    return grid


def loop_baseline(df: pd.DataFrame) -> pd.DataFrame:
    """The obvious implementation: one pass of numpy per group of a pandas groupby."""
    out = []
    for (item, loc), g in df.groupby(["item", "location"], sort=True):
        a, f = g["actual"].to_numpy(), g["forecast"].to_numpy()
        e = f - a
        nz = a != 0
        wm = np.abs(e).sum() / np.abs(a).sum() if np.abs(a).sum() else np.nan
        monthly = pd.Series(e).groupby(g["period"].to_numpy()).sum()
        mad = monthly.abs().mean()
        out.append(
            {
                "item": item,
                "location": loc,
                "mae": np.abs(e).mean(),
                "mape": (np.abs(e[nz]) / np.abs(a[nz])).mean() if nz.any() else np.nan,
                "wmape": wm,
                "forecast_accuracy": max(0.0, 1 - wm),
                "bias": e.sum(),
                "bias_pct": e.sum() / a.sum() if a.sum() > 0 else np.nan,
                "rmse": np.sqrt((e * e).mean()),
                "tracking_signal": monthly.sum() / mad if mad else np.nan,
            }
        )
    return pd.DataFrame(out)


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def cases(quick: bool = False) -> list[dict]:
    rows = 50_000 if quick else 1_000_000
    df = make_rows(rows)
    out: list[dict] = []

    ours_s, ours = best_of(lambda: forecast_accuracy(df, by=["item", "location"]), 3)
    cpu0 = time.process_time()
    forecast_accuracy(df, by=["item", "location"])
    cpu_s = time.process_time() - cpu0  # CPU time: what wall time would be on an idle machine
    base_s, base = best_of(lambda: loop_baseline(df), 1)
    merged = ours.merge(base, on=["item", "location"], suffixes=("", "_b"))
    worst = max(
        float(np.nanmax(np.abs(merged[k] - merged[f"{k}_b"])))
        for k in (*POINT_KPIS, "tracking_signal")
    )
    out.append(
        {
            "case": "forecast accuracy KPIs by item x location",
            "size": f"{len(df):,} rows, {len(ours):,} groups",
            "ours_s": ours_s,
            "baseline": "per-group Python loop",
            "baseline_s": base_s,
            "ratio": base_s / ours_s,
            "note": f"target < 1.5 s; CPU {cpu_s:.2f} s; max |difference| vs loop {worst:.1e}",
        }
    )

    hist = df[["region", "item", "location", "period", "actual"]]
    hist_s, res = best_of(
        lambda: forecast_accuracy(
            df, by=["item", "location"], history=hist, keys=["region", "item", "location"]
        ),
        2,
    )
    out.append(
        {
            "case": "... plus MASE and FVA (12-month seasonal naive)",
            "size": f"{len(df):,} rows + history",
            "ours_s": hist_s,
            "baseline": "same call without history",
            "baseline_s": ours_s,
            "ratio": ours_s / hist_s,
            "note": f"MASE defined for {int(res['mase'].notna().sum()):,} groups",
        }
    )

    try:
        from sop_xl.demo.company import make_demo

        demo = make_demo()
        tables = {k: demo[k] for k in demo.keys() if k != "Settings"}  # noqa: SIM118
        from sop_xl.kpi import table

        def by_region():
            table._MEMO.clear()  # computed each run, not served from the in-process memo
            return kpi_table(tables, demo["Settings"], by=["region"])

        t_s, t = best_of(by_region, 2)
        out.append(
            {
                "case": "kpi_table by region, demo company",
                "size": f"{len(tables['SalesActuals']):,} sales rows -> {len(t):,} KPI rows",
                "ours_s": t_s,
                "baseline": "-",
                "baseline_s": None,
                "ratio": None,
                "note": "every KPI x month x region",
            }
        )
        out.append(_kpis_click_compute(tables, demo["Settings"]))
    except ImportError:  # demo generator not present
        pass

    from sop_xl.excel import udfs

    rng = np.random.default_rng(1)
    a = [[float(x)] for x in rng.integers(0, 100, 24)]
    f = [[float(x)] for x in rng.integers(0, 100, 24)]
    a[5] = [None]  # a blank cell, as Excel passes it
    for name in ("SOP_WMAPE", "SOP_FORECAST_ACCURACY", "SOP_MASE"):
        fn = getattr(udfs, name)
        n = 2_000 if quick else 20_000
        per_call = min(timeit.repeat(lambda fn=fn: fn(a, f), number=n, repeat=3)) / n
        cpu0 = time.process_time()
        for _ in range(n):
            fn(a, f)
        cpu_call = (time.process_time() - cpu0) / n
        out.append(
            {
                "case": f"UDF {name} python side",
                "size": "2 x 24-cell column ranges",
                "ours_s": per_call,
                "baseline": "pandas Series per call",
                "baseline_s": _pandas_call(a, f, n // 10),
                "ratio": None,
                "note": f"target < 50 us; CPU {cpu_call * 1e6:.1f} us per call",
            }
        )
        out[-1]["ratio"] = out[-1]["baseline_s"] / per_call
    return out


def _kpis_click_compute(tables: dict, settings) -> dict:
    """What the KPIs click computes: kpi_scopes for the company, each region and each family,
    with the in-process memo emptied before each run (so the rows are computed, not reused)."""
    from sop_xl.kpi import table

    scopes = [list(by) for _, by in table.SCOPES]

    def run():
        table._MEMO.clear()
        return table.kpi_scopes(tables, settings, scopes)

    wall, rows = best_of(run, 3)
    cpu = float("inf")
    for _ in range(3):
        cpu0 = time.process_time()
        run()
        cpu = min(cpu, time.process_time() - cpu0)
    return {
        "case": "KPIs click compute: company, region and family scopes, demo company",
        "size": f"{len(tables['SalesActuals']):,} sales rows -> {sum(map(len, rows)):,} KPI rows",
        "ours_s": wall,
        "ours_cpu": cpu,
        "baseline": "-",
        "baseline_s": None,
        "ratio": None,
        "note": "memo emptied each run (digest included); see docs/benchmarks.md, KPI rows",
    }


def _pandas_call(a, f, n: int) -> float:
    """What a naive UDF would do: build pandas objects from the ranges each call."""

    def call():
        s_a = pd.Series([r[0] for r in a], dtype=float)
        s_f = pd.Series([r[0] for r in f], dtype=float)
        ok = s_a.notna() & s_f.notna()
        return (s_f[ok] - s_a[ok]).abs().sum() / s_a[ok].abs().sum()

    return min(timeit.repeat(call, number=n, repeat=3)) / n


if __name__ == "__main__":
    for row in cases(quick="--quick" in sys.argv):
        print(row)
