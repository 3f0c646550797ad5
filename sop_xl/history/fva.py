"""The forecast value added (FVA) stairstep: does each step of the process add accuracy?

After Gilliland (*The Business Forecasting Deal*, 2010): the same cells and months are scored for
each step of the forecasting process, in order:

1. **Naive**: the no-change forecast, last closed month's sales at the time of the forecast (the
   month before its cycle) for every month forecast. It costs nothing; every step must beat it.
2. **Statistical**: the statistical baseline of that cycle (:mod:`sop_xl.history.baseline`).
3. **Submission**: the region's accepted submission of that cycle.
4. **Consensus**: the consensus locked by the freeze.

All at one lag (the scorecard's accuracy lag, default 1), over the closed months with an archived
consensus at that lag (the cells of :func:`sop_xl.history.lag.cells_at_lag`). A step that has no
archived value for a cell (a region that did not submit, a cycle before the baseline existed)
carries the previous step's value: it did not touch the forecast, so it adds nothing, and the note
counts those cells. Value added of a step = WMAPE of the previous step - WMAPE of this step
(percentage points; positive = the step removed error, negative = it made the forecast worse);
value added vs naive = WMAPE(naive) - WMAPE(step).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sop_xl.history.archive import SERIES, month_index
from sop_xl.history.lag import SCOPES, cells_at_lag
from sop_xl.kpi.forecast import forecast_accuracy
from sop_xl.model.schema import FORECAST_STAGES, FVA, FVA_DETAIL

#: Value added within +-0.5 percentage points is 'no change' (rounding noise).
NO_CHANGE = 0.005
_COL = {s: s.lower() for s in FORECAST_STAGES}


def _period_of(index: np.ndarray) -> np.ndarray:
    return np.array([f"{i // 12:04d}-{i % 12 + 1:02d}" for i in index], dtype=object)


def stage_cells(
    archive: pd.DataFrame,
    actuals: pd.DataFrame,
    cycle: str,
    lag: int,
    *,
    items: pd.DataFrame | None = None,
    months: int = 12,
) -> pd.DataFrame:
    """Cells at ``lag`` (last ``months`` closed months) with one column per stage
    (naive, statistical, submission, consensus) and ``filled_<stage>`` flags."""
    c = cells_at_lag(archive, actuals, cycle, lag, items=items)
    if c.empty:
        return c
    keep = sorted(c["period"].unique())[-months:]
    c = c[c["period"].isin(keep)].rename(columns={"forecast": "consensus"}).reset_index(drop=True)
    made_in = _period_of(month_index(c["period"]) - lag)  # the cycle that made the forecast
    for stage in ("Statistical", "Submission"):
        a = archive[(archive["stage"] == stage) & (archive["lag"] == lag)]
        v = a.set_index([*SERIES, "period"])["quantity"]
        v = v[~v.index.duplicated()]
        idx = pd.MultiIndex.from_frame(c[[*SERIES, "period"]])
        c[_COL[stage]] = v.reindex(idx).to_numpy(dtype=float)
    # naive: sales of the month before the forecasting cycle, per series (0 if none posted)
    last = _period_of(month_index(made_in) - 1)
    act = actuals.set_index([*SERIES, "period"])["quantity"]
    act = act[~act.index.duplicated()]
    idx = pd.MultiIndex.from_arrays([c[k] for k in SERIES] + [pd.Index(last)])
    c["naive"] = np.nan_to_num(act.reindex(idx).to_numpy(dtype=float), nan=0.0)
    prev = "naive"
    for stage in ("Statistical", "Submission", "Consensus"):
        col = _COL[stage]
        missing = c[col].isna()
        c[f"filled_{col}"] = missing.astype(np.int64)
        c[col] = c[col].where(~missing, c[prev])
        prev = col
    return c


def stairstep(cells: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """One row per scope of ``by`` and stage: accuracy, WMAPE, bias %, value added."""
    by = list(by)
    rows = []
    for step, stage in enumerate(FORECAST_STAGES, 1):
        col = _COL[stage]
        r = forecast_accuracy(cells.assign(forecast=cells[col]), by=by)
        r = r.assign(step=step, stage=stage)
        filled = f"filled_{col}"
        if filled in cells:
            counts = cells.groupby(by)[filled].sum() if by else pd.Series([cells[filled].sum()])
            n_filled = r[by[0]].map(counts).to_numpy() if by else counts.to_numpy()
            r["note"] = np.where(
                n_filled > 0,
                [
                    f"{int(k)} cell(s) without a {stage.lower()} value: previous step carried"
                    for k in n_filled
                ],
                "",
            )
        else:
            r["note"] = ""
        rows.append(r)
    d = pd.concat(rows, ignore_index=True)
    d = d.rename(columns={"forecast_accuracy": "accuracy"})
    key = [*by] if by else [pd.Series(0, index=d.index)]
    g = d.sort_values("step", kind="stable").groupby(key, sort=False)["wmape"]
    d["fva_step"] = (g.shift(1) - d["wmape"]).where(d["step"] > 1)
    naive = d[d["step"] == 1].set_index(by)["wmape"] if by else d.loc[d["step"] == 1, "wmape"]
    base = d[by[0]].map(naive).to_numpy(dtype=float) if by else float(naive.iloc[0])
    d["fva_naive"] = (base - d["wmape"]).where(d["step"] > 1)
    return d


def _verdict(fva: pd.Series) -> np.ndarray:
    return np.select(
        [fva.isna(), fva > NO_CHANGE, fva < -NO_CHANGE],
        ["", "adds value", "hurts"],
        "no change",
    )


def fva_report(
    archive: pd.DataFrame,
    actuals: pd.DataFrame,
    cycle: str,
    lag: int,
    *,
    items: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(FVA rows: company stairstep; FVADetail rows: company, each region and family; the cells)."""
    cells = stage_cells(archive, actuals, cycle, lag, items=items)
    if cells.empty:
        empty = {
            t: pd.DataFrame({c: pd.Series(dtype=object) for c in t.names})
            for t in (FVA, FVA_DETAIL)
        }
        return empty[FVA], empty[FVA_DETAIL], cells
    parts = []
    for scope_type, by in SCOPES:
        if by and by[0] not in cells:
            continue
        s = stairstep(cells, by)
        s["scope_type"] = scope_type
        s["scope"] = s[by[0]].astype(str) if by else ""
        parts.append(s)
    d = pd.concat(parts, ignore_index=True)
    d["verdict"] = _verdict(d["fva_step"])
    months = sorted(cells["period"].unique())
    total = d[d["scope_type"] == "Total"].copy()
    span = f"lag {lag}, {months[0]} to {months[-1]}"
    total["note"] = (span + "; " + total["note"].astype(str)).str.strip("; ")
    return (
        total[FVA.names].reset_index(drop=True),
        d[FVA_DETAIL.names].reset_index(drop=True),
        cells,
    )
