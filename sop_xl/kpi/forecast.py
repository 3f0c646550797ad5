"""Forecast-accuracy KPIs: MAE, MAPE, WMAPE, accuracy, bias, bias %, RMSE, tracking signal, MASE
and forecast value added.

Two entry points share one set of definitions, each written once in the registry
(:data:`sop_xl.kpi.defs.KPIS`, by the KPI id a function names or returns as a column):

- :func:`forecast_accuracy` over a long DataFrame, grouped by any columns, in one vectorised
  groupby (one row per group). Used by the cycle and the scorecard.
- ``*_arrays`` functions over two numpy vectors (one series): the fast path of the Excel UDFs,
  no pandas. They raise :class:`KpiUndefined` with a readable reason instead of returning 0 or
  infinity.

Conventions: error e = F - A (positive = over-forecast). A row (cell) with a missing actual or
forecast is skipped and counted, never filled with 0. MAPE skips zero actuals and counts them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from sop_xl.errors import KpiInputError, KpiUndefined
from sop_xl.kpi.codes import KEY_LIMIT, Factorized, compact, group_codes, sorted_key
from sop_xl.model.periods import month_index


# --- numpy fast path (one series) ----------------------------------------------------------------
def _flat_pair(a: np.ndarray, f: np.ndarray, what: str = "forecasts") -> tuple[np.ndarray, ...]:
    """Actuals and ``what`` flattened, of one size (else :class:`KpiInputError`)."""
    a = np.ravel(a)
    f = np.ravel(f)
    if a.shape[0] != f.shape[0]:
        raise KpiInputError(
            f"actuals has {a.shape[0]} cells but {what} has {f.shape[0]}",
            fix="select ranges of the same size",
        )
    return a, f


def clean_pairs(a: np.ndarray, f: np.ndarray, what: str = "forecasts") -> tuple[np.ndarray, ...]:
    """Flatten two float arrays, check equal length, drop pairs where either is NaN (blank)."""
    a, f = _flat_pair(a, f, what)
    bad = np.isnan(a + f)  # one pass: NaN when either side is blank
    if bad.any():
        ok = ~bad
        a, f = a[ok], f[ok]
    if a.shape[0] == 0:
        raise KpiUndefined("no pairs of actual and forecast to compare")
    return a, f


def mae_arrays(a: np.ndarray, f: np.ndarray) -> float:
    """``mae`` of one series."""
    a, f = clean_pairs(a, f)
    return float(np.abs(f - a).mean())


def mape_arrays(a: np.ndarray, f: np.ndarray) -> float:
    """``mape`` of one series."""
    a, f = clean_pairs(a, f)
    nz = a != 0
    if not nz.any():
        raise KpiUndefined("every actual is 0; MAPE is undefined (use WMAPE or MAE)")
    return float((np.abs(f[nz] - a[nz]) / np.abs(a[nz])).mean())


def wmape_arrays(a: np.ndarray, f: np.ndarray) -> float:
    """``wmape`` of one series."""
    a, f = clean_pairs(a, f)
    den = np.abs(a).sum()
    if den == 0:
        raise KpiUndefined("actuals sum to 0")
    return float(np.abs(f - a).sum() / den)


def accuracy_arrays(a: np.ndarray, f: np.ndarray) -> float:
    """``forecast_accuracy`` of one series."""
    return max(0.0, 1.0 - wmape_arrays(a, f))


def bias_arrays(a: np.ndarray, f: np.ndarray) -> float:
    """``bias`` of one series."""
    a, f = clean_pairs(a, f)
    return float((f - a).sum())


def bias_pct_arrays(a: np.ndarray, f: np.ndarray) -> float:
    """``bias_pct`` of one series."""
    a, f = clean_pairs(a, f)
    den = a.sum()
    if den <= 0:
        raise KpiUndefined("actuals sum to 0" if den == 0 else "actuals sum below 0 (net returns)")
    return float((f - a).sum() / den)


def rmse_arrays(a: np.ndarray, f: np.ndarray) -> float:
    """``rmse`` of one series."""
    a, f = clean_pairs(a, f)
    e = f - a
    return float(np.sqrt((e * e).mean()))


def tracking_signal_arrays(a: np.ndarray, f: np.ndarray) -> float:
    """``tracking_signal`` of one series (its periods in order)."""
    a, f = clean_pairs(a, f)
    e = f - a
    mad = np.abs(e).mean()
    if mad == 0:
        raise KpiUndefined("every error is 0 (perfect forecast), so there is no signal")
    return float(e.sum() / mad)


def naive_scale(history: np.ndarray, season: int) -> float:
    """Mean |y_t - y_(t-season)| over a history vector (blank pairs skipped)."""
    h = np.ravel(history)
    if season < 1:
        raise KpiInputError(f"season must be 1 or more, got {season}")
    if h.shape[0] <= season:
        raise KpiUndefined(
            f"history has {h.shape[0]} periods; the naive scale needs more than {season}",
            fix=f"give a longer history range, or a shorter season than {season}",
        )
    d = np.abs(h[season:] - h[:-season])
    d = d[~np.isnan(d)]
    if d.shape[0] == 0:
        raise KpiUndefined("history has no pair of periods season apart")
    scale = d.mean()
    if scale == 0:
        raise KpiUndefined("history is constant, so the naive error scale is 0")
    return float(scale)


def mase_arrays(
    a: np.ndarray, f: np.ndarray, history: np.ndarray | None = None, season: int = 12
) -> float:
    """``mase`` of one series, scaled by :func:`naive_scale` of ``history`` (default: the
    actuals)."""
    scale = naive_scale(a if history is None else history, season)
    return mae_arrays(a, f) / scale


def fva_arrays(
    a: np.ndarray, f: np.ndarray, naive: np.ndarray | None = None, season: int = 1
) -> float:
    """``fva`` of one series, against ``naive`` over the same cells.

    Without ``naive`` the benchmark is the actual ``season`` periods earlier in the same vector,
    so the first ``season`` cells are only history.
    """
    a, f = _flat_pair(a, f)
    if naive is None:
        if season < 1:
            raise KpiInputError(f"season must be 1 or more, got {season}")
        naive = np.concatenate([np.full(min(season, a.shape[0]), np.nan), a[:-season]])
    a, n = _flat_pair(a, naive, "the naive forecast")
    ok = ~(np.isnan(a) | np.isnan(f) | np.isnan(n))
    a, f, n = a[ok], f[ok], n[ok]
    if a.shape[0] == 0:
        raise KpiUndefined("no cell has an actual, a forecast and a naive value")
    den = np.abs(a).sum()
    if den == 0:
        raise KpiUndefined("actuals sum to 0")
    return float((np.abs(n - a).sum() - np.abs(f - a).sum()) / den)


# --- DataFrame API (many series, grouped) ---------------------------------------------------------
ACCURACY_COLUMNS = (
    "n",
    "zero_actuals_skipped",
    "missing_skipped",
    "sum_actual",
    "sum_forecast",
    "sum_abs_actual",
    "sum_abs_error",
    "sum_ape",
    "mae",
    "mape",
    "wmape",
    "forecast_accuracy",
    "bias",
    "bias_pct",
    "rmse",
    "tracking_signal",
    "ts_num",
    "ts_den",
    "mase",
    "sum_scaled_error",
    "mase_n",
    "fva",
    "fva_num",
    "fva_den",
    "fva_n",
    "note",
)


def _period_index(period: pd.Series) -> np.ndarray:
    """'YYYY-MM' text -> months since year 0 (int; -1 for a missing period)."""
    return month_index(period, blank=-1)


def memo_codes(memo: dict) -> Factorized:
    """The factorised columns a :func:`forecast_accuracy` ``memo`` keeps, for a
    :func:`~sop_xl.kpi.codes.group_codes` of the same frame (the groups it scored, in its
    order) that need not factorise them again."""
    return memo.setdefault("factorized", {})


def _scale_and_naive(
    df: pd.DataFrame,
    history: pd.DataFrame,
    series: list[str],
    actual: str,
    period: str,
    season: int,
    d_p: np.ndarray,
    cache: Factorized | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``df``: its series' naive scale mean|y_t - y_(t-season)| over ``history``
    and the naive forecast y_(t-season) (NaN where unknown), with integer keys only."""
    n_rows = len(df)
    # series keys of df (its columns factorised once, shared with the grouping); history rows
    # are looked up in them, and history of series the data does not hold is not needed
    key = sorted_key(df, series, cache)
    h_ser = key.find(history)
    known = np.ones(n_rows, dtype=bool)
    h_p = np.where(h_ser >= 0, _period_index(history[period]), -1)
    ok_h = h_p >= 0
    if ok_h.any():
        p0 = int(min(h_p[ok_h].min(), d_p[d_p >= 0].min(initial=h_p[ok_h].min())))
        span = int(max(h_p.max(), d_p.max())) - p0 + 2 * season + 1
        if key.space > KEY_LIMIT // span:  # (series, month) keys would pass int64: rank first
            key = key.ranked()
            h_ser = key.find(history)
            ok_h &= h_ser >= 0  # a series the data does not hold is not needed
    if not ok_h.any():
        return np.full(n_rows, np.nan), np.full(n_rows, np.nan)
    d_ser = key.codes
    h_key = h_ser[ok_h] * span + (h_p[ok_h] - p0 + season)
    hk, inv = np.unique(h_key, return_inverse=True)  # one actual per (series, month)
    hv = np.bincount(inv.reshape(-1), weights=history[actual].to_numpy(float)[ok_h])
    index = pd.Index(hk)
    lag = index.get_indexer(hk - season)
    has = lag >= 0
    h_series, s_inv = np.unique(hk[has] // span, return_inverse=True)
    diff = np.abs(hv[has] - hv[lag[has]])
    cnt = np.bincount(s_inv.reshape(-1), minlength=len(h_series))
    scale_of = np.bincount(s_inv.reshape(-1), weights=diff, minlength=len(h_series))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_of = scale_of / cnt
    pos = pd.Index(h_series).get_indexer(d_ser)
    sc = np.where(known & (pos >= 0), scale_of[np.maximum(pos, 0)] if len(h_series) else 0, np.nan)
    d_key = d_ser * span + (d_p - p0)  # the month `season` earlier, in history's key space
    at = index.get_indexer(d_key)
    nv = np.where(known & (d_p >= 0) & (at >= 0), hv[np.maximum(at, 0)], np.nan)
    return sc.astype(float), nv.astype(float)


def forecast_accuracy(
    df: pd.DataFrame,
    *,
    actual: str = "actual",
    forecast: str = "forecast",
    by: Sequence[str] = (),
    history: pd.DataFrame | None = None,
    season: int = 12,
    period: str = "period",
    keys: Sequence[str] | None = None,
    memo: dict | None = None,
) -> pd.DataFrame:
    """All forecast-accuracy KPIs per group of ``by``, in one vectorised pass: ``mae``,
    ``mape``, ``wmape``, ``forecast_accuracy``, ``bias``, ``bias_pct``, ``rmse``,
    ``tracking_signal``, ``mase`` and ``fva`` (definitions: :data:`sop_xl.kpi.defs.KPIS`).

    Each row of ``df`` is one compared cell (e.g. region x item x location x month) with an
    ``actual`` and a ``forecast``. How the definitions apply here:

    - ``zero_actuals_skipped`` counts the cells MAPE skips;
    - ``tracking_signal`` runs on the group's monthly totals when a ``period`` column exists
      (otherwise each row is a time point);
    - ``mase``: a series is ``keys`` (default: the columns shared by ``df`` and ``history``),
      scaled by its ``history`` with lag ``season``;
    - ``fva``: the naive value is the ``history`` actual ``season`` months earlier; rows
      without one are left out.

    Rows with a missing actual or forecast are skipped and counted in ``missing_skipped``.
    Undefined values are NaN and ``note`` says why. Reference: Hyndman & Koehler (2006),
    "Another look at measures of forecast accuracy"; Gilliland (2010) for FVA.

    ``memo``: a dict the caller keeps between calls on the same ``df`` and ``history`` (the
    same cells grouped by another ``by``), so that their factorised columns, month numbers and
    naive values are computed once; never shared between two frames.
    """
    by = list(by)
    missing = [c for c in (actual, forecast, *by) if c not in df.columns]
    if missing:
        raise KpiInputError(
            f"forecast_accuracy: column(s) {missing} not in the data; it has {list(df.columns)}"
        )
    a = df[actual].to_numpy(dtype=float, na_value=np.nan)
    f = df[forecast].to_numpy(dtype=float, na_value=np.nan)
    valid = ~(np.isnan(a) | np.isnan(f))
    a0 = np.where(valid, a, 0.0)
    f0 = np.where(valid, f, 0.0)
    e = f0 - a0
    ae = np.abs(e)
    nz = valid & (a0 != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.where(nz, ae / np.abs(np.where(nz, a0, 1.0)), 0.0)
    parts = {
        "n": valid.astype(np.int64),
        "zero_actuals_skipped": (valid & ~nz).astype(np.int64),
        "missing_skipped": (~valid).astype(np.int64),
        "sum_actual": a0,
        "sum_forecast": f0,
        "sum_abs_actual": np.abs(a0),
        "sum_abs_error": ae,
        "_se": e,
        "_sse": e * e,
        "_ape": ape,
        "_nz": nz.astype(np.int64),
    }

    # MASE and FVA need the series' history.
    memo = {} if memo is None else memo
    cache = memo_codes(memo)
    if ("months", period) not in memo:
        memo["months", period] = _period_index(df[period]) if period in df.columns else None
    d_p = memo["months", period]
    has_hist = history is not None
    if has_hist:
        series = (
            list(keys)
            if keys is not None
            else [
                c
                for c in df.columns
                if c in history.columns and c not in (actual, forecast, period)
            ]
        )
        if period not in df.columns or period not in history.columns:
            raise KpiInputError(f"MASE/FVA need a {period!r} column in the data and the history")
        hist_actual = actual if actual in history.columns else "actual"
        naive = ("naive", tuple(series), hist_actual, period, season)
        if naive not in memo:
            memo[naive] = _scale_and_naive(
                df, history, series, hist_actual, period, season, d_p, cache
            )
        sc, nv = memo[naive]
        m_ok = valid & ~np.isnan(sc) & (np.nan_to_num(sc) > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            parts["_q"] = np.where(m_ok, ae / np.where(m_ok, sc, 1.0), 0.0)
        parts["mase_n"] = m_ok.astype(np.int64)
        n_ok = valid & ~np.isnan(nv)
        nv0 = np.where(n_ok, nv, 0.0)
        parts["fva_n"] = n_ok.astype(np.int64)
        parts["_fva_naive_err"] = np.where(n_ok, np.abs(nv0 - a0), 0.0)
        parts["_fva_fc_err"] = np.where(n_ok, ae, 0.0)
        parts["_fva_abs_a"] = np.where(n_ok, np.abs(a0), 0.0)

    inv, groups = group_codes(df, by, cache)
    ng = len(groups)
    g = pd.DataFrame(
        {k: np.bincount(inv, weights=v, minlength=ng) for k, v in parts.items()},
        index=groups.index,
    )

    # Tracking signal on each group's monthly totals E_t.
    if period in df.columns and period not in by:
        assert d_p is not None
        ok_p = d_p >= 0
        pcode = np.where(ok_p, d_p - d_p[ok_p].min(initial=0) + 1, 0)  # missing: own "month" 0
        month_key = inv.astype(np.int64) * (int(pcode.max(initial=0)) + 1) + pcode
        mk, minv = compact(month_key, ng * (int(pcode.max(initial=0)) + 1))
        e_t = np.bincount(minv, weights=parts["_se"], minlength=len(mk))
        n_t = np.bincount(minv, weights=parts["n"], minlength=len(mk))
        owner = mk // (int(pcode.max(initial=0)) + 1)  # group of each month
        g["_ts_num"] = np.bincount(owner, weights=e_t, minlength=ng)
        months = np.bincount(owner, weights=(n_t > 0).astype(float), minlength=ng)
        with np.errstate(divide="ignore", invalid="ignore"):
            g["_ts_den"] = np.bincount(owner, weights=np.abs(e_t), minlength=ng) / months
    else:
        g["_ts_num"] = g["_se"]
        g["_ts_den"] = g["sum_abs_error"] / g["n"].where(g["n"] > 0)
    if by:
        g.index = pd.MultiIndex.from_frame(groups) if len(by) > 1 else pd.Index(groups[by[0]])

    return _finish(g, by, has_hist)


def _finish(g: pd.DataFrame, by: list[str], has_hist: bool) -> pd.DataFrame:
    """Derive ratio KPIs from the summed parts; NaN + note where undefined. Column by column on
    numpy arrays, one frame built at the end (it runs once per scope, month and lag)."""

    def col(c: str) -> np.ndarray:
        return g[c].to_numpy(dtype=float)

    def where(ok: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.where(ok, x, np.nan)

    n = col("n")
    npos = n > 0
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in ("n", "zero_actuals_skipped", "missing_skipped"):
            out[c] = g[c].to_numpy().astype(np.int64)
        for c in ("sum_actual", "sum_forecast", "sum_abs_actual", "sum_abs_error"):
            out[c] = col(c)
        out["sum_ape"] = col("_ape")
        out["mae"] = where(npos, col("sum_abs_error") / n)
        nzc = col("_nz")
        out["mape"] = where(nzc > 0, col("_ape") / nzc)
        den = col("sum_abs_actual")
        out["wmape"] = where(den > 0, col("sum_abs_error") / den)
        acc = 1.0 - out["wmape"]
        out["forecast_accuracy"] = np.where(acc < 0.0, 0.0, acc)  # clip at 0, NaN stays NaN
        out["bias"] = where(npos, col("_se"))
        out["bias_pct"] = where(col("sum_actual") > 0, col("_se") / col("sum_actual"))
        out["rmse"] = where(npos, np.sqrt(col("_sse") / n))
        ts_den = col("_ts_den")
        out["tracking_signal"] = where(ts_den > 0, col("_ts_num") / ts_den)
        out["ts_num"] = col("_ts_num")
        out["ts_den"] = ts_den
        if has_hist:
            mn = col("mase_n")
            out["mase"] = where(mn > 0, col("_q") / mn)
            out["sum_scaled_error"] = col("_q")
            out["mase_n"] = g["mase_n"].to_numpy().astype(np.int64)
            fden = col("_fva_abs_a")
            out["fva_num"] = col("_fva_naive_err") - col("_fva_fc_err")
            out["fva_den"] = fden
            out["fva"] = where(fden > 0, out["fva_num"] / fden)
            out["fva_n"] = g["fva_n"].to_numpy().astype(np.int64)
        else:
            for c in ("mase", "sum_scaled_error", "fva", "fva_num", "fva_den"):
                out[c] = np.full(len(g), np.nan)
            out["mase_n"] = np.zeros(len(g), dtype=np.int64)
            out["fva_n"] = np.zeros(len(g), dtype=np.int64)
    columns: dict[str, object] = dict(out)
    columns["note"] = pd.Series(_notes(out, has_hist), index=g.index, dtype=object)
    frame = pd.DataFrame(columns, index=g.index)
    frame = frame.reset_index() if by else frame.reset_index(drop=True)
    return frame[[*by, *ACCURACY_COLUMNS]]


def _notes(out: Mapping[str, np.ndarray], has_hist: bool) -> np.ndarray:
    """Plain-language reasons for undefined values and skipped rows, per group (``; ``-joined,
    in this order)."""
    n, zs, ms = out["n"], out["zero_actuals_skipped"], out["missing_skipped"]
    rules: list[tuple[np.ndarray, Callable[[int], str]]] = [
        (n == 0, lambda i: "no pairs of actual and forecast"),
        ((n > 0) & (out["sum_abs_actual"] == 0), lambda i: "actuals sum to 0: WMAPE undefined"),
        (zs > 0, lambda i: f"MAPE skipped {zs[i]} zero-actual cell(s)"),
        (
            (n > 0) & np.isnan(out["tracking_signal"]),
            lambda i: "tracking signal undefined: every monthly error is 0",
        ),
        (ms > 0, lambda i: f"{ms[i]} cell(s) with a blank actual or forecast skipped"),
    ]
    if has_hist:
        rules.append(
            ((n > 0) & (out["mase_n"] == 0), lambda i: "MASE: no series with enough history")
        )
        rules.append(
            ((n > 0) & (out["fva_n"] == 0), lambda i: "FVA: no naive value (history too short)")
        )
    texts: list[list[str]] = [[] for _ in range(len(n))]
    for mask, text in rules:
        for i in np.flatnonzero(mask).tolist():
            texts[i].append(text(i))
    notes = np.empty(len(n), dtype=object)
    notes[:] = ["; ".join(t) for t in texts]
    return notes
