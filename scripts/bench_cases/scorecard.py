"""Balanced scorecard assessment: RAG, gap, prior month, 12-month trend and sparkline for every KPI
x scope (company, regions, families), plus the action follow-through KPIs.

Ours: :func:`sop_xl.scorecard.step.build_scorecard` given the KPI engine's long values (the KPI
engine
itself is benchmarked in ``kpi.py``), vectorised over all rows at once.

Baseline: the obvious per-row implementation: for each KPI x scope, filter the long table, pick
the month and the prior month, fit the trend with ``numpy.polyfit`` and decide RAG with if/else;
action KPIs with a loop over months and actions. Both produce the same statuses (checked).
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd

from sop_xl.model.periods import add_months, period_range
from sop_xl.model.schema import Settings
from sop_xl.scorecard.step import ALL_KPIS, build_scorecard

CYCLE = "2026-11"


def _fixture(n_scopes: int, n_actions: int, seed: int = 7) -> tuple[dict, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    kpis = [k for k, d in ALL_KPIS.items() if d.family != "actions"]
    periods = period_range(add_months(CYCLE, -24), 24)
    regions = [f"R{i:03d}" for i in range(n_scopes // 2)]
    families = [f"F{i:03d}" for i in range(n_scopes - len(regions))]
    scopes = [("Total", "")] + [("Region", r) for r in regions] + [("Family", f) for f in families]
    idx = pd.MultiIndex.from_product(
        [kpis, [s for s in range(len(scopes))], periods], names=["kpi", "s", "period"]
    ).to_frame(index=False)
    idx["level"] = [scopes[i][0] for i in idx["s"]]
    idx["scope"] = [scopes[i][1] for i in idx["s"]]
    idx["value"] = rng.uniform(0.5, 1.0, len(idx))
    idx.loc[rng.random(len(idx)) < 0.05, "value"] = np.nan
    idx["note"] = ""
    values = idx.drop(columns="s")
    targets = pd.DataFrame(
        {
            "kpi": [*kpis, "actions_closed_on_time", "actions_overdue"],
            "perspective": [ALL_KPIS[k].perspective for k in kpis] + ["Learning and growth"] * 2,
            "target": [0.8] * len(kpis) + [0.9, 0.0],
            "direction": ["lower" if ALL_KPIS[k].direction == "lower" else "higher" for k in kpis]
            + ["higher", "lower"],
            "green": [0.8] * len(kpis) + [0.9, 0.0],
            "amber": [0.7] * len(kpis) + [0.75, 2.0],
            "owner_role": "Finance",
            "scope": None,
        }
    )
    lower = targets["direction"] == "lower"
    targets.loc[lower & (targets.index < len(kpis)), ["green", "amber"]] = [0.7, 0.8]
    due = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 700, n_actions), "D")
    closed = due + pd.to_timedelta(rng.integers(-20, 40, n_actions), "D")
    is_closed = rng.random(n_actions) < 0.8
    actions = pd.DataFrame(
        {
            "action_id": [f"A{i}" for i in range(n_actions)],
            "decision": "x",
            "owner_role": "Finance",
            "owner": "x",
            "due_date": due,
            "status": np.where(is_closed, "Closed", "Open"),
            "cycle_raised": (due - pd.Timedelta(days=45)).strftime("%Y-%m"),
            "cycle_closed": None,
            "closed_date": closed.where(is_closed),
        }
    )
    return {"Targets": targets, "Actions": actions}, values


def _baseline(tables: dict, values: pd.DataFrame) -> pd.Series:
    period = add_months(CYCLE, -1)
    window = period_range(add_months(period, -11), 12)
    out = {}
    for t in tables["Targets"].itertuples(index=False):
        sub_k = values[values["kpi"] == t.kpi]
        for level, scope in sub_k[["level", "scope"]].drop_duplicates().itertuples(index=False):
            sub = sub_k[(sub_k["level"] == level) & (sub_k["scope"] == scope)]
            by_p = dict(zip(sub["period"], sub["value"], strict=True))
            actual = by_p.get(period, np.nan)
            green, amber, direction = t.green, t.amber, t.direction
            if ALL_KPIS[t.kpi].direction == "target":  # zero is best: judge the distance
                actual, green, amber, direction = abs(actual), abs(green), abs(amber), "lower"
            _prior = by_p.get(add_months(period, -1), np.nan)
            ys = [(i, by_p[p]) for i, p in enumerate(window) if p in by_p and by_p[p] == by_p[p]]
            if len(ys) >= 3:
                np.polyfit([x for x, _ in ys], [y for _, y in ys], 1)
            if actual != actual:
                status = "No data"
            elif direction == "higher":
                status = "Green" if actual >= green else "Amber" if actual >= amber else "Red"
            else:
                status = "Green" if actual <= green else "Amber" if actual <= amber else "Red"
            out[(t.kpi, level, scope)] = status
    # action KPIs, one month and one action at a time
    a = tables["Actions"]
    for p in window:
        as_of = pd.Timestamp(add_months(p, 1) + "-01")
        _overdue = 0
        for r in a.itertuples(index=False):
            open_ = r.cycle_raised <= p and (pd.isna(r.closed_date) or r.closed_date >= as_of)
            _overdue += bool(open_ and r.due_date < as_of)
    return pd.Series(out)


def _run(n_scopes: int, n_actions: int) -> dict:
    tables, values = _fixture(n_scopes, n_actions)
    settings = Settings(cycle=CYCLE)
    t0 = time.perf_counter()
    res = build_scorecard(tables, settings, values)
    ours = time.perf_counter() - t0
    tracemalloc.start()  # peak measured on a second run (tracemalloc slows what it traces)
    build_scorecard(tables, settings, values)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    t0 = time.perf_counter()
    base = _baseline(tables, values)
    base_s = time.perf_counter() - t0
    mine = res.detail.set_index(["kpi", "level", "scope"])["status"]
    mine = mine.drop(["actions_closed_on_time", "actions_overdue"], level="kpi")
    same = bool((mine.reindex(base.index) == base).all())
    return {
        "case": "scorecard: RAG + trend per KPI x scope",
        "size": f"{len(values):,} KPI values, {len(res.detail):,} rows, {n_actions:,} actions",
        "ours_s": round(ours, 4),
        "baseline": "per-row filter + polyfit + if/else",
        "baseline_s": round(base_s, 4),
        "ratio": round(base_s / ours, 1) if ours > 0 else None,
        "note": f"peak {peak:.0f} MiB (tracemalloc); same statuses: {same}",
    }


def cases(quick: bool = False) -> list[dict]:
    sizes = [(10, 200)] if quick else [(10, 200), (200, 5000)]
    return [_run(s, a) for s, a in sizes]


if __name__ == "__main__":
    for c in cases(quick=True):
        print(c)
