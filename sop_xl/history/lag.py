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

Two ways to the same cells: :func:`cells_at_lag` merges text keys per lag (plain, what the
scorecard's :func:`accuracy_at_lag` uses); :func:`lag_accuracy` and the FVA key the archive and
the sales once (:func:`keyed`) and take every lag's cells by array lookup (:func:`fast_cells`),
the same rows in the same order (tests/history/test_lag_fast.py checks the tables are equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sop_xl.errors import ArgumentError
from sop_xl.history.archive import REPORT_LAGS, SERIES, lead_time_lag
from sop_xl.kpi.cells import GrainSums, joint_codes, joint_column, outer_join
from sop_xl.kpi.codes import codes_of
from sop_xl.kpi.forecast import forecast_accuracy
from sop_xl.kpi.table import grain_frame  # the KPI engine's cell policy, shared on purpose
from sop_xl.model.periods import add_months
from sop_xl.model.schema import LAG_ACCURACY, LAG_DETAIL

LEAD_TIME = "lead time"
#: The scope of series whose region is unknown (sales of a customer not in Customers) and of
#: items without a family (not in Items): named, never blank (a blank scope is the company's)
UNKNOWN_REGION = "(unknown region)"
NO_FAMILY = "(no family)"
SCOPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Total", ()),
    ("Region", ("region",)),
    ("Family", ("family",)),
)
_MISSING_SCOPE = {"Region": UNKNOWN_REGION, "Family": NO_FAMILY}


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
    cells = grain_frame(actuals, plan, SERIES, "quantity", "quantity", months)
    if items is not None and "family" in items:
        fam = items.drop_duplicates("item").set_index("item")["family"]
        cells["family"] = cells["item"].map(fam).to_numpy()
    return cells


@dataclass(frozen=True)
class Keyed:
    """The posted sales and the forecast archive on integer keys, made once per click
    (:func:`keyed`): each lag's cells are then array lookups, not merges on text keys.

    Series codes number the distinct (region, item, location) of both tables, period codes
    their distinct periods (``labels`` and ``periods`` give the text of each code)."""

    labels: dict[str, np.ndarray]  # region / item / location of each series code
    periods: np.ndarray  # the text of each period code
    # posted sales, one row per series x period, summed and in the order the KPI engine's
    # grouping gives them (first appearance), and the rows as given (the naive forecast)
    act_series: np.ndarray
    act_period: np.ndarray
    act_qty: np.ndarray
    raw_series: np.ndarray
    raw_period: np.ndarray
    raw_qty: np.ndarray
    # the archive's rows
    arc_stage: np.ndarray  # the stage text of each row
    arc_cycle: np.ndarray  # the cycle text of each row
    arc_series: np.ndarray
    arc_period: np.ndarray
    arc_lag: np.ndarray
    arc_qty: np.ndarray
    _plans: dict[str, Plans] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_series(self) -> int:
        return len(self.labels[SERIES[0]])

    def plans(self, stage: str) -> Plans:
        """:class:`Plans` of ``stage``, made once."""
        if stage not in self._plans:
            self._plans[stage] = Plans(self, stage)
        return self._plans[stage]


def keyed(archive: pd.DataFrame, actuals: pd.DataFrame) -> Keyed:
    """:class:`Keyed` of the normalised ``archive`` and ``actuals`` (:func:`actuals_by_series`)."""
    n = len(actuals)
    frames, cache = [actuals, archive], {}
    # series codes: the distinct (region, item, location) of both tables, by first appearance
    key = np.asarray(pd.factorize(np.concatenate(joint_codes(frames, SERIES, cache=cache)))[0])
    key = key.astype(np.int64, copy=False)
    _, first = np.unique(key, return_index=True)  # a row of each series code, in code order
    in_sales = first < n
    labels = {}
    for c in SERIES:  # each series' values, as the joint numbering gives them
        (a_codes, r_codes), (a_map, r_map), uniq = joint_column(frames, c, cache)
        at = np.empty(len(first), dtype=np.int64)
        at[in_sales] = a_map[a_codes[first[in_sales]]]
        at[~in_sales] = r_map[r_codes[first[~in_sales] - n]]
        labels[c] = np.asarray(uniq, dtype=object)[at]
    period, periods = codes_of(np.concatenate([f["period"].to_numpy(dtype=object) for f in frames]))
    raw_s, raw_p = key[:n], period[:n]
    n_p = len(periods) + 1
    qty = actuals["quantity"].to_numpy(dtype=float, na_value=np.nan)
    summed = GrainSums.of(raw_s * n_p + raw_p, qty, np.arange(n))
    return Keyed(
        labels=labels,
        periods=periods,
        act_series=summed.keys // n_p,
        act_period=summed.keys % n_p,
        act_qty=summed.sums,
        raw_series=raw_s,
        raw_period=raw_p,
        raw_qty=qty,
        arc_stage=archive["stage"].to_numpy(dtype=object),
        arc_cycle=archive["cycle"].to_numpy(dtype=object),
        arc_series=key[n:],
        arc_period=period[n:],
        arc_lag=archive["lag"].to_numpy(dtype=np.int64),
        arc_qty=archive["quantity"].to_numpy(dtype=float, na_value=np.nan),
    )


@dataclass(frozen=True)
class Cells:
    """The compared cells of one lag on :class:`Keyed` codes, in :func:`cells_at_lag`'s rows
    and order: the posted cells first, then the planned cells without sales."""

    series: np.ndarray
    period: np.ndarray
    actual: np.ndarray
    forecast: np.ndarray
    no_sales: np.ndarray
    no_plan: np.ndarray


def item_values(k: Keyed, items: pd.DataFrame | None, column: str) -> np.ndarray | None:
    """``items[column]`` of each series' item (NaN when the item is not in Items)."""
    if items is None or column not in items:
        return None
    values = items.drop_duplicates("item").set_index("item")[column]
    return pd.Series(k.labels["item"], dtype=object).map(values).to_numpy()


def _lead_lags(k: Keyed, items: pd.DataFrame | None) -> np.ndarray | None:
    """Each series' item lead time in months (:func:`_lags_of`), None without lead times."""
    days = item_values(k, items, "lead_time_days")
    if days is None:
        return None
    return lead_time_lag(pd.Series(days, dtype=object).to_numpy(dtype=float, na_value=np.nan))


class Plans:
    """One ``stage``'s archived forecasts summed per lag x series x period (the KPI engine's
    grouping: first appearance, blank when every value is blank), for :func:`fast_cells`."""

    def __init__(self, k: Keyed, stage: str) -> None:
        rows = np.flatnonzero(k.arc_stage == stage)
        cycles = pd.Series(k.arc_cycle[rows], dtype=object)
        self.first_cycle = str(cycles.min()) if len(rows) else ""
        lag_code, self.lags = pd.factorize(k.arc_lag[rows])
        n_s, n_p = k.n_series + 1, len(k.periods) + 1
        key = (lag_code.astype(np.int64) * n_s + k.arc_series[rows]) * n_p + k.arc_period[rows]
        # GrainSums.of's sums; it would also find each group's first row (3.5 -> 4.6 ms CPU
        # on the 84,000 consensus rows of a 2,000-series archive), which plans need not
        summed = pd.Series(k.arc_qty[rows]).groupby(key, sort=False).sum(min_count=1)
        g = summed.index.to_numpy(dtype=np.int64)
        self.lag = np.asarray(self.lags, dtype=np.int64)[g // (n_s * n_p)]
        self.series = (g // n_p) % n_s
        self.period = g % n_p
        self.qty = summed.to_numpy(dtype=float)


def _closed(k: Keyed, cycle: str) -> np.ndarray:
    """Per period code: a closed month (its text before ``cycle``)."""
    return np.array([isinstance(p, str) and p < cycle for p in k.periods], dtype=bool)


def fast_cells(
    k: Keyed,
    plans: Plans,
    cycle: str,
    lag: int | None,
    *,
    lead: np.ndarray | None = None,
    periods: Sequence[str] | None = None,
    closed: np.ndarray | None = None,
) -> Cells | None:
    """:func:`cells_at_lag` on codes (None when no month is compared); ``lead``: each series'
    lead-time lag (:func:`_lead_lags`), for ``lag=None``."""
    if lag is not None:
        take = plans.lag == lag
    elif lead is None:
        return None
    else:
        take = plans.lag == lead[plans.series]
    p_series, p_period, p_qty = plans.series[take], plans.period[take], plans.qty[take]
    closed = _closed(k, cycle) if closed is None else closed
    n_p = len(k.periods) + 1
    in_plan = np.zeros(n_p, dtype=bool)
    in_plan[p_period] = True
    in_act = np.zeros(n_p, dtype=bool)
    in_act[k.act_period] = True
    month = np.zeros(n_p, dtype=bool)
    month[:-1] = in_plan[:-1] & in_act[:-1] & closed
    if lag is None and len(p_series):  # every item needs its cycle: from the first one + max lag
        longest = int(lead[p_series].max())
        for c in np.flatnonzero(month):
            month[c] = add_months(k.periods[c], -longest) >= plans.first_cycle
    if periods is not None:
        wanted = set(periods)
        for c in np.flatnonzero(month):
            month[c] = k.periods[c] in wanted
    if not month.any():
        return None
    a = np.flatnonzero(month[k.act_period])
    p = np.flatnonzero(month[p_period])
    a_key = k.act_series[a] * n_p + k.act_period[a]
    p_key = p_series[p] * n_p + p_period[p]
    j = outer_join(a_key, k.act_qty[a], p_key, p_qty[p])  # the KPI engine's cell policy
    only = p[j.plan_only]  # planned, no sales: after the posted cells, in the plan's order
    return Cells(
        series=np.concatenate([k.act_series[a], p_series[only]]),
        period=np.concatenate([k.act_period[a], p_period[only]]),
        actual=j.actual,
        forecast=j.forecast,
        no_sales=j.no_sales,
        no_plan=j.no_plan,
    )


def scope_codes(k: Keyed, items: pd.DataFrame | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per scope of :data:`SCOPES` that applies: (scope code of each series, the text of each
    code as the scope column shows it), codes in the order of the sorted values, a missing one
    last and named (:data:`UNKNOWN_REGION`, :data:`NO_FAMILY`)."""
    out = []
    for name, by in SCOPES:
        if not by:
            out.append((np.zeros(k.n_series, dtype=np.int64), np.array([""], dtype=object)))
            continue
        values = k.labels[by[0]] if by[0] in k.labels else item_values(k, items, by[0])
        if values is None:
            out.append((np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)))
            continue
        codes, uniq = codes_of(pd.Series(values, dtype=object), sort=True)
        texts = pd.Series(uniq, dtype=object)
        missing = texts.isna().to_numpy()  # (pandas 3 keeps NaN through astype(str))
        texts = texts.astype(str).to_numpy(dtype=object)
        texts[missing] = _MISSING_SCOPE[name]
        out.append((codes, texts))
    return out


def scope_labels(
    scopes: Sequence[tuple[np.ndarray, np.ndarray]], st: np.ndarray, sc: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ``scope_type`` and ``scope`` columns of report rows from their scope index ``st``
    (into :data:`SCOPES` and ``scopes``, :func:`scope_codes`) and scope code ``sc``: the
    scope's name, and the code's text (as :func:`scope_codes` gives it)."""
    scope = np.empty(len(st), dtype=object)
    for i, (_codes, texts) in enumerate(scopes):
        m = st == i
        if m.any():
            scope[m] = texts[sc[m]]
    return np.array([n for n, _ in SCOPES], dtype=object)[st], scope


def lag_accuracy(
    archive: pd.DataFrame,
    actuals: pd.DataFrame,
    cycle: str,
    *,
    items: pd.DataFrame | None = None,
    lags: Sequence[int] = REPORT_LAGS,
    stage: str = "Consensus",
    keys: Keyed | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(LagAccuracy rows: company per month and lag, wide; LagDetail rows: long, every scope).

    ``archive`` is the normalised forecast archive, ``actuals`` from :func:`actuals_by_series`;
    ``keys``: their :func:`keyed` when the caller made it already. The cells of every lag are
    those of :func:`cells_at_lag`; all lags and scopes are scored in two calls of the KPI
    engine (per month, all months), each cell keeping its order within its group, so every
    sum is the one a call per lag and scope gives.
    """
    k = keyed(archive, actuals) if keys is None else keys
    plans = k.plans(stage)
    closed = _closed(k, cycle)
    lead = _lead_lags(k, items)
    variants: list[tuple[str, int | None]] = [(str(x), x) for x in lags] + [(LEAD_TIME, None)]
    got = [
        (v, name, fast_cells(k, plans, cycle, lag, lead=lead, closed=closed))
        for v, (name, lag) in enumerate(variants)
    ]
    got = [(v, name, c) for v, name, c in got if c is not None]
    if not got:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in LAG_DETAIL.names})
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LAG_ACCURACY.names}), empty
    months = {v: np.unique(c.period) for v, _, c in got}
    sets = [set(months[v].tolist()) for v, name, _ in got if name != LEAD_TIME]
    common = set.intersection(*sets) if len(sets) == len(lags) and sets else set()
    text = k.periods

    def by_text(codes) -> list[str]:
        return sorted(text[c] for c in codes)

    window_of, note_of = {}, {}
    for v, _name, _c in got:
        codes = sorted(common) if common else months[v].tolist()
        window_of[v] = np.zeros(len(text) + 1, dtype=bool)
        window_of[v][codes] = True
        window = by_text(codes)
        note_of[v] = (
            f"all months: {window[0]} to {window[-1]}"
            + (" (months every lag 0-3 is scored in)" if common else "")
            if window
            else ""
        )
    scopes = scope_codes(k, items)
    cols: dict[str, list[np.ndarray]] = {n: [] for n in ("v", "st", "sc", "p", "a", "f", "w")}
    for v, _name, c in got:
        for st, (codes, _uniq) in enumerate(scopes):
            if not len(codes):
                continue
            cols["v"].append(np.full(len(c.series), v))
            cols["st"].append(np.full(len(c.series), st))
            cols["sc"].append(codes[c.series])
            cols["p"].append(c.period)
            cols["a"].append(c.actual)
            cols["f"].append(c.forecast)
            cols["w"].append(window_of[v][c.period])
    flat = {n: np.concatenate(x) for n, x in cols.items()}
    monthly = forecast_accuracy(
        pd.DataFrame({n: flat[n] for n in ("v", "st", "sc", "p", "a", "f")}),
        actual="a",
        forecast="f",
        by=["v", "st", "sc", "p"],
    )
    w = flat["w"]
    total = forecast_accuracy(
        pd.DataFrame(
            {
                "v": flat["v"][w],
                "st": flat["st"][w],
                "sc": flat["sc"][w],
                "period": text[flat["p"][w]] if len(text) else np.zeros(0, dtype=object),
                "a": flat["a"][w],
                "f": flat["f"][w],
            }
        ),
        actual="a",
        forecast="f",
        by=["v", "st", "sc"],
    )
    v_note = pd.Series(note_of)
    total["note"] = (
        total["note"].astype(str) + "; " + total["v"].map(v_note).to_numpy(dtype=object)
    ).str.strip("; ")
    total["p"] = -1
    d = pd.concat([monthly, total], ignore_index=True)
    names = np.array([n for n, _ in variants], dtype=object)
    st = d["st"].to_numpy(dtype=np.int64)
    scope_type, scope = scope_labels(scopes, st, d["sc"].to_numpy(dtype=np.int64))
    p = d["p"].to_numpy(dtype=np.int64)
    period = np.where(p >= 0, text[np.maximum(p, 0)] if len(text) else "", "")
    out = pd.DataFrame(
        {
            "scope_type": scope_type,
            "scope": scope,
            "lag": names[d["v"].to_numpy(dtype=np.int64)],
            "period": period,
            "n": d["n"].to_numpy(),
            "actual_qty": d["sum_actual"].to_numpy(),
            "forecast_qty": d["sum_forecast"].to_numpy(),
            "wmape": d["wmape"].to_numpy(),
            "accuracy": d["forecast_accuracy"].to_numpy(),
            "bias_pct": d["bias_pct"].to_numpy(),
            "bias": d["bias"].to_numpy(),
            "note": pd.Series(d["note"].to_numpy(dtype=object), dtype=object),
            "_s": st,
            "_l": d["v"].to_numpy(dtype=np.int64),
            "_p": p < 0,
        }
    )
    out = out.sort_values(["_s", "scope", "_l", "_p", "period"], kind="stable")
    out = out[LAG_DETAIL.names].reset_index(drop=True)
    return _company_wide(out), out


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
    return accuracies_at_lag(archive, actuals, cycle, lag, [by], items=items, periods=periods)[0]


def accuracies_at_lag(
    archive: pd.DataFrame,
    actuals: pd.DataFrame,
    cycle: str,
    lag: int,
    bys: Sequence[Sequence[str]],
    *,
    items: pd.DataFrame | None = None,
    periods: Sequence[str] | None = None,
) -> list[pd.DataFrame]:
    """:func:`accuracy_at_lag` for each grouping in ``bys``, the compared cells found once."""
    c = cells_at_lag(archive, actuals, cycle, lag, items=items, periods=periods)
    if c.empty:
        return [pd.DataFrame() for _ in bys]
    memo: dict = {}  # the same cells each time: factorised once
    return [forecast_accuracy(c, by=[*by, "period"], memo=memo) for by in bys]
