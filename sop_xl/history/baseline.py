"""The statistical baseline: a forecast per series made from its own sales history.

Method (stated on the Definitions sheet, ``BASELINE_DEFINITION``): fitted per region x item family
(top-down: each item x location then gets its share of its group's last 12 months of sales; pass
``fit_by=None`` to fit every series), on the monthly posted sales quantity of at most
``FIT_MONTHS`` closed months before the cycle (months without sales count as 0, from the series'
first posted month on):

- 24 months or more: Holt-Winters exponential smoothing with additive level and additive
  12-month seasonality, no trend (ETS(A,N,A)), smoothing weights fitted by least squares,
  heuristic initial states (``statsmodels.tsa.holtwinters.ExponentialSmoothing``);
- 3 to 23 months: simple exponential smoothing (ETS(A,N,N)), weight fitted the same way;
- 1 or 2 months: the mean of the months posted (too little history for a model);
- no sales at all: 0.

Forecasts below 0 (a series in decline, or with returns) are set to 0: demand is never negative.
The library is ``statsmodels`` (pinned in pyproject.toml); it is imported only when a baseline is
made, so the rest of sop_xl starts without it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from sop_xl.errors import ArgumentError
from sop_xl.kpi.defs import FIT_MONTHS, HOLT_WINTERS, MIN_SEASONAL, MIN_SMOOTHING, SEASON, SES
from sop_xl.model.periods import add_months, period_range

# The method's parameters and its definition live in the one KPI registry (sop_xl.kpi.defs).
MEAN = "Mean (under 3 months of history)"
ZERO = "Zero (no sales)"


def _fit_one(y: np.ndarray, horizon: int) -> tuple[np.ndarray, str]:
    """Forecast ``horizon`` months after the history vector ``y`` and name the method used."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    if not np.any(y):
        return np.zeros(horizon), ZERO
    if len(y) < MIN_SMOOTHING:
        return np.full(horizon, float(y.mean())), MEAN
    if len(y) >= MIN_SEASONAL and np.ptp(y) > 0:
        model = ExponentialSmoothing(
            y,
            trend=None,
            seasonal="add",
            seasonal_periods=SEASON,
            initialization_method="heuristic",
        )
        method = HOLT_WINTERS
    else:
        model = ExponentialSmoothing(
            y,
            trend=None,
            seasonal=None,
            initialization_method="known",
            initial_level=float(y[:MIN_SMOOTHING].mean()),
        )
        method = SES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the fit is still the best found
        fc = np.asarray(model.fit(use_brute=False).forecast(horizon), dtype=float)
    if not np.all(np.isfinite(fc)):
        return np.full(horizon, float(y[-SEASON:].mean())), MEAN
    return fc, method


def history_matrix(
    sales: pd.DataFrame, keys: Sequence[str], cycle: str, fit_months: int = FIT_MONTHS
) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """Series keys, the fitted months and a series x month matrix of summed ``quantity``.

    ``sales`` is long (``keys``, ``period``, ``quantity``); months after ``cycle - 1`` and before
    the fit window are left out; months without a row are 0.
    """
    keys = list(keys)
    months = period_range(add_months(cycle, -fit_months), fit_months)
    s = sales[sales["period"].astype(str).isin(set(months))]
    s = s.groupby([*keys, "period"], sort=True, dropna=False)["quantity"].sum().reset_index()
    series = s[keys].drop_duplicates().reset_index(drop=True)
    if series.empty:
        return series, months, np.zeros((0, len(months)))
    code = series.reset_index().merge(s, on=keys)
    col = pd.Index(months).get_indexer(code["period"].astype(str))
    mat = np.zeros((len(series), len(months)))
    np.add.at(mat, (code["index"].to_numpy(), col), code["quantity"].to_numpy(float))
    return series, months, mat


def statistical_baseline(
    sales: pd.DataFrame,
    cycle: str,
    horizon: int,
    *,
    keys: Sequence[str] = ("region", "item", "location"),
    fit_by: Sequence[str] | None = ("region", "family"),
    fit_months: int = FIT_MONTHS,
    progress: Callable[[str, float | None], None] | None = None,
) -> pd.DataFrame:
    """The baseline forecast for ``horizon`` months from ``cycle`` on, per series of ``keys``.

    ``fit_by``: the model is fitted on the totals of these columns (default region x family, the
    level where seasonality is clear and fits are few) and each series gets its share of its
    group's last 12 months of sales (top-down). ``None`` (or ``fit_by == keys``) fits every
    series on its own. Returns long rows: ``keys``, ``period``, ``quantity``, ``method``,
    ``fit_months`` (months of history the fitted series had, from its first posted month).
    """
    keys = list(keys)
    fit_keys = list(fit_by) if fit_by else keys
    missing = [c for c in {*keys, *fit_keys, "period", "quantity"} if c not in sales.columns]
    if missing:
        raise ArgumentError(f"statistical_baseline: sales lack column(s) {sorted(missing)}")
    series, _months, mat = history_matrix(
        sales, [*keys, *[c for c in fit_keys if c not in keys]], cycle, fit_months
    )
    out_periods = period_range(cycle, horizon)
    n = len(series)
    if fit_keys == keys or set(fit_keys) >= set(keys):
        group = np.arange(n)
        groups = series
    else:
        group, uniq = pd.MultiIndex.from_frame(series[fit_keys]).factorize()
        groups = uniq.to_frame(index=False)
    ng = len(groups)
    gmat = np.zeros((ng, mat.shape[1]))
    np.add.at(gmat, group, mat)
    gfc = np.zeros((ng, horizon))
    gmethod = np.empty(ng, dtype=object)
    gused = np.zeros(ng, dtype=np.int64)
    posted = gmat != 0
    first = np.where(posted.any(axis=1), posted.argmax(axis=1), gmat.shape[1])
    for i in range(ng):
        if progress is not None and i % 50 == 0:
            progress(f"Statistical baseline: fitting {i + 1} of {ng}", i / max(ng, 1))
        y = gmat[i, first[i] :]
        gused[i] = len(y)
        gfc[i], gmethod[i] = _fit_one(y, horizon)
    if ng == n and np.array_equal(group, np.arange(n)):
        fc, method = gfc, gmethod
    else:
        recent = mat[:, -SEASON:].sum(axis=1)
        total = np.bincount(group, weights=recent, minlength=ng)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(total[group] > 0, recent / total[group], 0.0)
        share = np.maximum(share, 0.0)
        fc = gfc[group] * share[:, None]
        label = " x ".join(fit_keys)
        method = np.array(
            [f"{m} on {label}, split by 12-month share" for m in gmethod[group]], dtype=object
        )
    fc = np.maximum(np.round(fc, 2), 0.0)
    rep = np.repeat(np.arange(n), horizon)
    out = series[keys].iloc[rep].reset_index(drop=True)
    out["period"] = np.tile(out_periods, n)
    out["quantity"] = fc.ravel()
    out["method"] = method[rep] if ng != n else gmethod[rep]
    out["fit_months"] = gused[group][rep]
    return out
