"""The Excel side that can be measured without Excel: preparing what the ribbon hands to
Excel in one ``range.value = grid`` call, for a wide Forecast (keys x 24 months) pivoted and
formula-guarded by :func:`sop_xl.excel.xlbook.to_grid`. Baseline: the straightforward per-row
loop (a dict per key, the formula guard per cell), as such macros are often written; both give
the same grid (checked). The COM transfer itself needs Excel and is not measured here.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd


def _forecast(n_keys: int) -> pd.DataFrame:
    periods = [f"{2026 + m // 12}-{m % 12 + 1:02d}" for m in range(24)]
    keys = np.arange(n_keys)
    return pd.DataFrame(
        {
            "region": np.repeat([f"R{k % 4}" for k in keys], 24),
            "item": np.repeat([f"I{k:05d}" for k in keys], 24),
            "location": np.repeat([f"L{k % 7}" for k in keys], 24),
            "source": np.repeat(
                ["=HYPERLINK(x)" if k % 50 == 0 else "file.xlsx" for k in keys], 24
            ),
            "version": "v1",
            "period": periods * n_keys,
            "quantity": np.random.default_rng(1).integers(0, 500, n_keys * 24).astype(float),
        }
    )


def _naive_grid(df: pd.DataFrame) -> list[list[object]]:
    from sop_xl.model.schema import FORECAST

    ids = FORECAST.names
    rows: dict[tuple, dict[str, object]] = {}
    periods: set[str] = set()
    for rec in df.to_dict("records"):
        key = tuple(rec[c] for c in ids)
        row = rows.setdefault(key, {c: rec[c] for c in ids})
        row[rec["period"]] = rec["quantity"]
        periods.add(rec["period"])
    cols = [*ids, *sorted(periods)]
    out: list[list[object]] = [[*FORECAST.headers, *sorted(periods)]]
    for key in sorted(rows, key=lambda k: k[:3]):
        values = []
        for c in cols:
            v = rows[key].get(c)
            if isinstance(v, str) and v.startswith(("=", "+", "-", "@")):
                v = "'" + v
            values.append(v)
        out.append(values)
    return out


def _timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def cases(quick: bool = False) -> list[dict]:
    from sop_xl.excel.xlbook import to_grid
    from sop_xl.model.schema import FORECAST
    from sop_xl.model.sheets import SheetOutput

    out: list[dict] = []
    n = 500 if quick else 10_000
    df = _forecast(n)
    assert to_grid(SheetOutput(FORECAST, df))[1] == _naive_grid(df), "grids differ"
    ours = _timed(lambda: to_grid(SheetOutput(FORECAST, df)))
    base = _timed(lambda: _naive_grid(df))
    out.append(
        {
            "case": "ribbon write: Forecast grid for Excel",
            "size": f"{n} rows x 24 months",
            "ours_s": ours,
            "baseline": "per-row dict loop",
            "baseline_s": base,
            "ratio": base / ours,
            "note": "one range.value call in Excel either way",
        }
    )
    return out


if __name__ == "__main__":
    for case in cases(quick=True):
        print(case)
