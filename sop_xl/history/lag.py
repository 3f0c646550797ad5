"""Forecast accuracy and bias by lag, from the forecast archive.

The forecast **at lag L** for month p is the one the cycle ``p - L`` made (lag 0: made in the
month itself; lag 1: made the month before, what supply could still act on). For each lag the
archived consensus of month p is compared with the posted sales of p at region x item x location,
with the KPI engine's policy and formulas (:mod:`sop_xl.kpi.forecast`, the same cells as the
scorecard's forecast accuracy): a series with sales but no archived forecast was planned at 0; a
series with a forecast but no sales sold 0. Only closed months (before the cycle) are scored.

The **lead-time lag** scores each item at the lag of its own lead time (Items, days / 30
rounded up): the forecast that its replenishment was actually planned on.

Per lag, month and scope (company, region, family): ``accuracy_by_lag`` with the WMAPE, bias
and bias % of the same cells (the registry's ``wmape``, ``bias`` and ``bias_pct``: definitions
in :data:`sop_xl.kpi.defs.KPIS`, written once there). The 'all months' row of a lag is
computed on the months every lag 0 to 3 can be scored in, so the lags are compared on the same
months.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sop_xl.errors import ArgumentError
from sop_xl.history.archive import REPORT_LAGS, SERIES, lead_time_lag
from sop_xl.kpi.forecast import forecast_accuracy
from sop_xl.kpi.table import _grain_frame  # the KPI engine's cell policy, shared on purpose
from sop_xl.model.periods import add_months
from sop_xl.model.schema import LAG_ACCURACY, LAG_DETAIL

LEAD_TIME = "lead time"
SCOPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Total", ()),
    ("Region", ("region",)),
    ("Family", ("family",)),
)


def actuals_by_series(sales: pd.DataFrame, customers: pd.DataFrame | None) -> pd.DataFrame:
    """Posted sales quantity per region x item x location x month (region of the customer)."""
    s = sales
    if "region" not in s.columns:
        if customers is None or "region" not in customers:
            raise ArgumentError("sales actuals need the Customers table to know each region")
        region = customers.drop_duplicates("customer").set_index("customer")["region"]
        s = s.assign(region=s["customer"].map(region).to_numpy())
    out = s.groupby([*SERIES, "period"], sort=False, dropna=False)["quantity"].sum()
    out = out.reset_index()
    out["period"] = out["period"].astype(str)
    return out


def _stage_at(archive: pd.DataFrame, stage: str, lag: int | None, items: pd.DataFrame | None):
    """Archive rows of ``stage`` at ``lag`` (None: each item at its lead-time lag)."""
    a = archive[archive["stage"] == stage]
    if lag is not None:
        return a[a["lag"] == lag]
    if items is None or "lead_time_days" not in items:
        return a.iloc[0:0]
    return a[a["lag"].to_numpy() == _lags_of(a, items)]


def _lags_of(rows: pd.DataFrame, items: pd.DataFrame | None) -> np.ndarray:
    """Each row's item lead time in months (0 when the item or its lead time is unknown)."""
    if items is None or "lead_time_days" not in items:
        return np.zeros(len(rows), dtype=np.int64)
    lt = items.drop_duplicates("item").set_index("item")["lead_time_days"]
    return lead_time_lag(rows["item"].map(lt).to_numpy(dtype=float, na_value=np.nan))


def cells_at_lag(
    archive: pd.DataFrame,
    actuals: pd.DataFrame,
    cycle: str,
    lag: int | None,
    *,
    stage: str = "Consensus",
    items: pd.DataFrame | None = None,
    periods: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Compared cells (region, item, location, period, actual, forecast[, family]) at ``lag``:
    closed months that have both an archived ``stage`` forecast at that lag and posted sales."""
    plan = _stage_at(archive, stage, lag, items)
    closed_plan = set(plan["period"][plan["period"] < cycle])
    closed_act = set(actuals["period"][actuals["period"] < cycle])
    months = sorted(closed_plan & closed_act)
    if lag is None and len(plan):  # every item needs its cycle: from the first one + max lag
        longest = int(_lags_of(plan, items).max())
        first = str(archive.loc[archive["stage"] == stage, "cycle"].min())
        months = [p for p in months if add_months(p, -longest) >= first]
    if periods is not None:
        months = [p for p in months if p in set(periods)]
    if not months:
        return pd.DataFrame(columns=[*SERIES, "period", "actual", "forecast", "family"])
    cells = _grain_frame(actuals, plan, SERIES, "quantity", "quantity", months)
    if items is not None and "family" in items:
        fam = items.drop_duplicates("item").set_index("item")["family"]
        cells["family"] = cells["item"].map(fam).to_numpy()
    return cells


def _scored(cells: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    if cells.empty:
        return pd.DataFrame()
    res = forecast_accuracy(cells, by=by)
    return res


def lag_accuracy(
    archive: pd.DataFrame,
    actuals: pd.DataFrame,
    cycle: str,
    *,
    items: pd.DataFrame | None = None,
    lags: Sequence[int] = REPORT_LAGS,
    stage: str = "Consensus",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(LagAccuracy rows: company per month and lag, wide; LagDetail rows: long, every scope).

    ``archive`` is the normalised forecast archive, ``actuals`` from :func:`actuals_by_series`.
    """
    variants: list[tuple[str, int | None]] = [(str(x), x) for x in lags] + [(LEAD_TIME, None)]
    cells = {
        name: cells_at_lag(archive, actuals, cycle, lag, stage=stage, items=items)
        for name, lag in variants
    }
    sets = [set(cells[str(x)]["period"]) for x in lags if len(cells[str(x)])]
    common = sorted(set.intersection(*sets)) if len(sets) == len(lags) and sets else []
    detail = []
    for name, _lag in variants:
        c = cells[name]
        if c.empty:
            continue
        window = common if common else sorted(c["period"].unique())
        note = (
            f"all months: {window[0]} to {window[-1]}"
            + (" (months every lag 0-3 is scored in)" if common else "")
            if window
            else ""
        )
        for scope_type, by in SCOPES:
            if by and by[0] not in c:
                continue
            monthly = _scored(c, [*by, "period"])
            total = _scored(c[c["period"].isin(window)], list(by))
            if len(total):
                total["period"] = ""
                total["note"] = (total["note"].astype(str) + "; " + note).str.strip("; ")
            for r in (monthly, total):
                if r.empty:
                    continue
                r = r.assign(scope_type=scope_type, lag=name)
                r["scope"] = r[by[0]].astype(str) if by else ""
                detail.append(r)
    cols = LAG_DETAIL.names
    if not detail:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LAG_ACCURACY.names}), empty
    d = pd.concat(detail, ignore_index=True)
    d = d.rename(
        columns={
            "sum_actual": "actual_qty",
            "sum_forecast": "forecast_qty",
            "forecast_accuracy": "accuracy",
        }
    )
    order = {n: i for i, (n, _) in enumerate(variants)}
    st = {s: i for i, (s, _) in enumerate(SCOPES)}
    d = d.assign(_s=d["scope_type"].map(st), _l=d["lag"].map(order), _p=d["period"] == "")
    d = d.sort_values(["_s", "scope", "_l", "_p", "period"], kind="stable")
    d = d[cols].reset_index(drop=True)
    return _company_wide(d), d


def _company_wide(detail: pd.DataFrame) -> pd.DataFrame:
    """LagAccuracy rows: per closed month, company accuracy at each lag (chart data)."""
    t = detail[(detail["scope_type"] == "Total") & (detail["period"] != "")]
    acc = t.pivot_table(index="period", columns="lag", values="accuracy", aggfunc="first")
    out = pd.DataFrame({"period": acc.index.astype(str)})
    for x in REPORT_LAGS:
        out[f"accuracy_lag{x}"] = acc[str(x)].to_numpy() if str(x) in acc else np.nan
    out["accuracy_lead_time"] = acc[LEAD_TIME].to_numpy() if LEAD_TIME in acc else np.nan
    b1 = t[t["lag"] == "1"].set_index("period")["bias_pct"]
    out["bias_pct_lag1"] = out["period"].map(b1).to_numpy(dtype=float, na_value=np.nan)
    return out[LAG_ACCURACY.names]


def accuracy_at_lag(
    archive: pd.DataFrame,
    actuals: pd.DataFrame,
    cycle: str,
    lag: int,
    *,
    by: Sequence[str] = (),
    items: pd.DataFrame | None = None,
    periods: Sequence[str] | None = None,
) -> pd.DataFrame:
    """All forecast KPIs (forecast_accuracy() columns) per ``by`` x month at one lag: what the
    scorecard shows when its accuracy lag is set."""
    c = cells_at_lag(archive, actuals, cycle, lag, items=items, periods=periods)
    if c.empty:
        return pd.DataFrame()
    return forecast_accuracy(c, by=[*by, "period"])
