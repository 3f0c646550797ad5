"""The supply review's KPIs (definitions: :data:`sop_xl.kpi.defs.SUPPLY_KPIS`).

They are projections made at the cycle, so they carry one value: the month the cycle reviews
(``cycle - 1``), like the scorecard's other KPIs.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sop_xl.model.book import ResultMemo, content_digest
from sop_xl.model.periods import add_months
from sop_xl.model.schema import Settings

COLUMNS = ("kpi", "period", "value", "numerator", "denominator", "n", "note")


def supply_kpis(result, period: str) -> pd.DataFrame:
    """Peak capacity utilisation, stock-out item-months and past-due backlog value of a
    :class:`~sop_xl.supply.step.SupplyResult`, as a long frame like ``kpi_table``."""
    cap, plan, pdue = result.capacity, result.supply_plan, result.past_due
    note = f"Projected over {plan['period'].min()} to {plan['period'].max()}" if len(plan) else ""
    rows = []
    c = cap[cap["capacity_hours"] > 0]
    if len(c):
        peak = c.loc[c["utilisation"].idxmax()]
        rows.append(
            (
                "capacity_utilisation",
                float(peak["utilisation"]),
                float(peak["unconstrained_load"]),
                float(peak["capacity_hours"]),
                len(c),
                f"{peak['resource']} in {peak['period']}",
            )
        )
    else:
        rows.append(("capacity_utilisation", np.nan, np.nan, np.nan, 0, "No resource capacity"))
    short = int((plan["backorder"] > 0).sum()) if len(plan) else 0
    rows.append(("stockout_months", float(short), float(short), np.nan, len(plan), note))
    value = float(pdue["open_value"].sum()) if len(pdue) else 0.0
    rows.append(("past_due_backlog_value", round(value, 2), value, np.nan, len(pdue), ""))
    return pd.DataFrame(
        [(k, period, v, num, den, n, nt) for k, v, num, den, n, nt in rows], columns=COLUMNS
    )


def supply_kpis_of_tables(
    tables: Mapping[str, pd.DataFrame],
    settings: Settings,
    *,
    adjust: Callable[[Any, dict[str, pd.DataFrame], Settings], Any] | None = None,
    memo: ResultMemo | None = None,
) -> pd.DataFrame:
    """Run the supply review on input tables keyed by alias and return its KPIs for the
    month the cycle reviews; empty when the workbook has no Resources.

    ``adjust``: what makes the plan of record from the inputs, e.g. the chosen scenario's (the
    supply step's :data:`sop_xl.supply.step.Adjust`, spelled out here because that module
    imports this one), so these KPIs are those of the plan on the SupplyPlan sheet.

    ``memo``: KPIs of a plan solved earlier (:func:`remember`, called by the supply step) on
    exactly the same LP data (:func:`memo_key`): the scorecard's click after the supply click
    does not solve the plan again."""
    from sop_xl.supply.step import build_inputs, supply_review

    resources = tables.get("Resources")
    if resources is None or resources.empty:
        return pd.DataFrame(columns=COLUMNS)
    frames = {a: df for a, df in tables.items() if df is not None}
    inputs = build_inputs(frames, settings)
    if adjust is not None:
        inputs = adjust(inputs, frames, settings)
    period = add_months(settings.cycle, -1)
    key = memo_key(inputs, period) if memo is not None else None
    got = memo.get(key) if memo is not None and key else None
    if got is not None:
        return got[0]
    out = supply_kpis(supply_review(inputs), period)
    if memo is not None and key:
        memo.put(key, out, {})
    return out


def remember(memo: ResultMemo | None, result, settings: Settings) -> None:
    """Keep the KPIs of the supply step's plan ``result`` (a
    :class:`~sop_xl.supply.step.SupplyResult`) in ``memo`` under :func:`memo_key` of its LP
    data, for :func:`supply_kpis_of_tables` (the scorecard)."""
    if memo is None:
        return
    period = add_months(settings.cycle, -1)
    key = memo_key(result.inputs, period)
    if key:
        memo.put(key, supply_kpis(result, period), {})


def memo_key(inputs, period: str) -> str | None:
    """A digest of everything the supply review's KPIs depend on: every field of its
    :class:`~sop_xl.supply.step.Inputs` (frames with their index, arrays with dtype and shape,
    the LP problem's arrays, sparse matrix and options) and the month reported. None when a
    field cannot be hashed (then nothing is kept)."""
    h = hashlib.sha256(f"supply_kpis\0{period}".encode())
    try:
        for name, value in _fields(inputs):
            h.update(f"\0{name}:".encode())
            if isinstance(value, pd.DataFrame):
                digest = content_digest({name: value.reset_index()})
                if digest is None:
                    return None
                h.update(digest.encode())
            elif isinstance(value, np.ndarray):
                if value.dtype == object:
                    return None
                h.update(f"{value.dtype}{value.shape}".encode())
                h.update(np.ascontiguousarray(value).tobytes())
            elif sp.issparse(value):
                m = sp.csr_matrix(value)
                h.update(f"csr{m.shape}{m.dtype}".encode())
                for a in (m.data, m.indices, m.indptr):
                    h.update(np.ascontiguousarray(a).tobytes())
            elif value is None or isinstance(value, (bool, int, float, str, list, tuple)):
                h.update(repr(value).encode())
            else:
                return None
    except (TypeError, ValueError):
        return None
    return h.hexdigest()


def _fields(obj, prefix: str = ""):
    """(name, value) of every field of a dataclass, nested dataclasses flattened."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _fields(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", value
