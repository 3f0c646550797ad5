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

import numpy as np
import pandas as pd

from sop_xl.history.archive import SERIES
from sop_xl.history.lag import (
    Cells,
    Keyed,
    fast_cells,
    item_values,
    keyed,
    scope_codes,
    scope_labels,
)
from sop_xl.kpi.codes import group_codes
from sop_xl.kpi.forecast import forecast_accuracy, memo_codes
from sop_xl.model.periods import month_index
from sop_xl.model.schema import FORECAST_STAGES, FVA, FVA_DETAIL

#: Value added within +-0.5 percentage points is 'no change' (rounding noise).
NO_CHANGE = 0.005
_COL = {s: s.lower() for s in FORECAST_STAGES}


def _period_of(index: np.ndarray) -> np.ndarray:
    return np.array(
        [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in np.asarray(index, dtype=np.int64).tolist()],
        dtype=object,
    )


def _cells_frame(k: Keyed, got: _Staged | None, items: pd.DataFrame | None) -> pd.DataFrame:
    """The compared cells of :func:`_stage_values`' arrays as a frame: one column per stage
    and ``filled_<stage>`` flags."""
    if got is None:
        return pd.DataFrame(columns=[*SERIES, "period", "actual", "forecast", "family"])
    c, values, filled = got
    out = {col: k.labels[col][c.series] for col in SERIES}
    out["period"] = k.periods[c.period]
    out["actual"] = c.actual
    out["consensus"] = values["consensus"]
    out["_no_sales"] = c.no_sales
    out["_no_plan"] = c.no_plan
    family = item_values(k, items, "family")
    if family is not None:
        out["family"] = family[c.series]
    for col in ("statistical", "submission", "naive"):
        out[col] = values[col]
    for col in ("statistical", "submission", "consensus"):
        out[f"filled_{col}"] = filled[col]
    return pd.DataFrame(out)


_Staged = tuple[Cells, dict[str, np.ndarray], dict[str, np.ndarray]]


def _stage_values(k: Keyed, cycle: str, lag: int, months: int) -> _Staged | None:
    """The consensus cells at ``lag`` of the last ``months`` closed months, each stage's value
    of every cell (a stage without one carries the previous step's) and the carried flags."""
    c = fast_cells(k, k.plans("Consensus"), cycle, lag)
    if c is None:
        return None
    text = k.periods
    keep = sorted({text[p] for p in np.unique(c.period).tolist()})[-months:]
    kept = np.zeros(len(text) + 1, dtype=bool)
    kept[[i for i, p in enumerate(text.tolist()) if p in set(keep)]] = True
    rows = np.flatnonzero(kept[c.period])
    c = Cells(*(getattr(c, f)[rows] for f in Cells.__dataclass_fields__))
    n_p = len(text) + 1
    key = c.series * n_p + c.period
    values: dict[str, np.ndarray] = {"consensus": c.forecast}
    for stage in ("Statistical", "Submission"):
        at = np.flatnonzero((k.arc_stage == stage) & (k.arc_lag == lag))
        values[_COL[stage]] = _first_value(
            k.arc_series[at] * n_p + k.arc_period[at], k.arc_qty[at], key
        )
    # naive: sales of the month before the forecasting cycle, per series (0 if none posted)
    made_in = month_index(text[c.period]) - lag  # the cycle that made the forecast
    blank = np.isnan(made_in)  # a blank period: no month before it, so no naive value
    code_of = {p: i for i, p in enumerate(text.tolist()) if isinstance(p, str)}
    before = np.where(blank, 0, made_in - 1).astype(np.int64)
    months_before, at = np.unique(before, return_inverse=True)  # each month text once
    last_code = [code_of.get(p, n_p) for p in _period_of(months_before)]
    last = np.where(blank, n_p, np.asarray(last_code, dtype=np.int64)[at.reshape(-1)])
    naive = _first_value(k.raw_series * n_p + k.raw_period, k.raw_qty, c.series * n_p + last)
    values["naive"] = np.nan_to_num(naive, nan=0.0)
    filled: dict[str, np.ndarray] = {}
    prev = "naive"
    for stage in ("Statistical", "Submission", "Consensus"):
        col = _COL[stage]
        missing = np.isnan(values[col])
        filled[col] = missing.astype(np.int64)
        values[col] = np.where(missing, values[prev], values[col])
        prev = col
    return c, values, filled


def _first_value(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The value of the first row with each ``wanted`` key (NaN when none has it)."""
    uniq, first = np.unique(keys, return_index=True)
    at = pd.Index(uniq).get_indexer(wanted)
    found = values[first][np.maximum(at, 0)] if len(uniq) else np.zeros(len(wanted))
    return np.where(at >= 0, found, np.nan)


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
    keys: Keyed | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(FVA rows: company stairstep; FVADetail rows: company, each region and family; the cells).

    Every stage and scope is scored in one call of the KPI engine, each cell keeping its order
    within its group (the sums of a call per stage and scope)."""
    k = keyed(archive, actuals) if keys is None else keys
    got = _stage_values(k, cycle, lag, 12)
    cells = _cells_frame(k, got, items)
    if got is None:
        empty = {
            t: pd.DataFrame({c: pd.Series(dtype=object) for c in t.names})
            for t in (FVA, FVA_DETAIL)
        }
        return empty[FVA], empty[FVA_DETAIL], cells
    c, values, filled = got
    all_scopes = scope_codes(k, items)
    scopes = [
        (st, codes[c.series], uniq)
        for st, (codes, uniq) in enumerate(all_scopes)
        if len(codes)  # no family scope without the Items' families
    ]
    parts: dict[str, list[np.ndarray]] = {n: [] for n in ("step", "st", "sc", "a", "f", "fill")}
    for step, stage in enumerate(FORECAST_STAGES, 1):
        col = _COL[stage]
        for st, sc, _uniq in scopes:
            parts["step"].append(np.full(len(sc), step))
            parts["st"].append(np.full(len(sc), st))
            parts["sc"].append(sc)
            parts["a"].append(c.actual)
            parts["f"].append(values[col])
            parts["fill"].append(filled.get(col, np.zeros(len(sc), dtype=np.int64)))
    flat = {n: np.concatenate(x) for n, x in parts.items()}
    frame = pd.DataFrame({n: flat[n] for n in ("step", "st", "sc", "a", "f")})
    memo: dict = {}
    scored = forecast_accuracy(frame, actual="a", forecast="f", by=["st", "sc", "step"], memo=memo)
    group = scored[["st", "sc", "step"]].to_numpy(dtype=np.int64)
    wmape = scored["wmape"].to_numpy(dtype=float)
    st, sc, step = group[:, 0], group[:, 1], group[:, 2]
    same = np.r_[False, (st[1:] == st[:-1]) & (sc[1:] == sc[:-1])]
    prev = np.r_[np.nan, wmape[:-1]]
    fva_step = np.where((step > 1) & same, prev - wmape, np.nan)
    first = np.flatnonzero(~same)
    naive_of = np.repeat(wmape[first], np.diff(np.r_[first, len(wmape)]))
    fva_naive = np.where(step > 1, naive_of - wmape, np.nan)
    at, _ = group_codes(frame, ["st", "sc", "step"], memo_codes(memo))  # the scored groups
    n_filled = np.bincount(at, weights=flat["fill"], minlength=len(scored)).astype(np.int64)
    stage_of = np.array(FORECAST_STAGES, dtype=object)[step - 1]
    note = np.array(
        [
            f"{int(m)} cell(s) without a {s.lower()} value: previous step carried"
            if m > 0 and s != FORECAST_STAGES[0]
            else ""
            for m, s in zip(n_filled, stage_of, strict=True)
        ],
        dtype=object,
    )
    scope_type, scope = scope_labels(all_scopes, st, sc)
    d = pd.DataFrame(
        {
            "scope_type": scope_type,
            "scope": scope,
            "step": step,
            "stage": stage_of,
            "accuracy": scored["forecast_accuracy"].to_numpy(),
            "wmape": wmape,
            "bias_pct": scored["bias_pct"].to_numpy(),
            "fva_step": fva_step,
            "fva_naive": fva_naive,
            "n": scored["n"].to_numpy(),
            "note": note,
        }
    )
    d = d.iloc[np.lexsort((sc, step, st))].reset_index(drop=True)
    d["verdict"] = _verdict(d["fva_step"])
    total = d[d["scope_type"] == "Total"].copy()
    months = sorted(cells["period"].unique())
    span = f"lag {lag}, {months[0]} to {months[-1]}"
    total["note"] = (span + "; " + total["note"].astype(str)).str.strip("; ")
    return (
        total[FVA.names].reset_index(drop=True),
        d[FVA_DETAIL.names].reset_index(drop=True),
        cells,
    )
