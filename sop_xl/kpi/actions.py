"""Decision follow-through KPIs from the Actions table (the scorecard's learning and growth).

An S&OP meeting that decides things nobody does is theatre. Three KPIs measure follow-through,
each per month ``p`` as seen at the end of that month (``as_of`` = first day of the next month;
for the month reviewed by a cycle, that is the first day of the cycle):

- ``actions_closed_on_time``: of the actions **due in month p** (not cancelled), the share closed
  on or before their due date (``closed_date <= due_date``). An action still open, or closed
  late, is not on time. An action marked Closed without a Closed Date cannot be judged: it is
  left out and counted in the note. No action due that month: no value (not 100%).
- ``actions_overdue``: actions open at ``as_of`` (raised in or before p, not cancelled, not
  closed before ``as_of``) whose due date is before ``as_of``. A count; lower is better.
- ``oldest_open_action_days``: age in days, at ``as_of``, of the oldest action open then, counted
  from the first day of its Cycle Raised month; 0 when nothing is open. The note names it, its
  owner and due date.

"Closed before as_of" uses the Closed Date; when it is blank on a Closed action, the first day of
its Cycle Closed month, and when that is blank too the action counts as closed all along.
Cancelled actions are left out of all three KPIs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sop_xl.kpi.defs import KPIS, KpiDef
from sop_xl.model.periods import add_months, period_range

#: The follow-through KPIs' definitions, from the one registry (sop_xl.kpi.defs).
ACTION_KPIS: dict[str, KpiDef] = {k: d for k, d in KPIS.items() if d.family == "actions"}

COLUMNS = ("kpi", "period", "value", "numerator", "denominator", "n", "note")


def _first_day(period: pd.Series) -> pd.Series:
    """'YYYY-MM' text -> Timestamp of the month's first day (NaT when blank/invalid)."""
    return pd.to_datetime(period.astype("string") + "-01", format="%Y-%m-%d", errors="coerce")


def action_kpis(
    actions: pd.DataFrame | None,
    cycle: str,
    periods: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Follow-through KPIs per month, as a long table like :func:`sop_xl.kpi.table.kpi_table`.

    ``actions``: the Actions table (engine columns). ``cycle``: the S&OP cycle 'YYYY-MM'.
    ``periods``: months to report (default the 12 closed months before the cycle).
    Columns: ``kpi, period, value, numerator, denominator, n, note``.
    """
    if periods is None:
        periods = period_range(add_months(cycle, -12), 12)
    months = pd.Series(list(periods), dtype=object)
    if actions is None or len(actions) == 0 or len(months) == 0:
        return _empty_result(months)
    a = actions.reset_index(drop=True)
    status = a["status"].astype("string").str.strip().str.casefold().fillna("")
    due = pd.to_datetime(a["due_date"], errors="coerce")
    nat = pd.Series(pd.NaT, index=a.index, dtype="datetime64[ns]")
    closed_date = pd.to_datetime(a["closed_date"], errors="coerce") if "closed_date" in a else nat
    cycle_closed = _first_day(a["cycle_closed"]) if "cycle_closed" in a else nat
    raised = _first_day(a["cycle_raised"])
    is_closed = (status == "closed") | closed_date.notna()
    # When did it stop being open? closed date, else Cycle Closed month, else "always closed".
    closed_at = closed_date.fillna(cycle_closed)
    always_closed = is_closed & closed_at.isna()
    live = (status != "cancelled").to_numpy()

    p = np.asarray(months, dtype=object)
    as_of = (_first_day(months) + pd.DateOffset(months=1)).to_numpy("datetime64[ns]")
    n_a, n_p = len(a), len(p)
    # actions x months grids
    as_of_g = np.broadcast_to(as_of, (n_a, n_p))
    raised_g = raised.to_numpy("datetime64[ns]")[:, None]
    due_g = due.to_numpy("datetime64[ns]")[:, None]
    closed_at_g = closed_at.to_numpy("datetime64[ns]")[:, None]
    open_g = (
        live[:, None]
        & (raised_g < as_of_g)
        & ~always_closed.to_numpy(bool)[:, None]
        & (np.isnat(closed_at_g) | (closed_at_g >= as_of_g))
    )
    overdue_g = open_g & (due_g < as_of_g)

    due_month = due.dt.strftime("%Y-%m").to_numpy(object)
    due_in = live[:, None] & (due_month[:, None] == p[None, :])
    unjudgeable = (status == "closed").to_numpy(bool) & closed_date.isna().to_numpy(bool)
    judged = due_in & ~unjudgeable[:, None]
    on_time = (closed_date.notna() & (closed_date <= due)).to_numpy(bool)[:, None] & judged
    num = on_time.sum(axis=0).astype(float)
    den = judged.sum(axis=0).astype(float)
    skipped = (due_in & unjudgeable[:, None]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    note_share = np.where(den > 0, "", "no action due this month").astype(object)
    sep = np.where(den > 0, "", "; ").astype(object)
    left_out = skipped.astype(str).astype(object) + " closed without a Closed Date (left out)"
    note_share = np.where(skipped > 0, note_share + sep + left_out, note_share)

    overdue = overdue_g.sum(axis=0).astype(float)
    n_open = open_g.sum(axis=0)
    age_days = (as_of_g - raised_g) / np.timedelta64(1, "D")
    age = np.where(open_g, age_days, -np.inf)
    oldest_idx = age.argmax(axis=0)
    oldest = np.where(n_open > 0, age.max(axis=0), 0.0)
    ids = a["action_id"].astype("string").fillna("?").to_numpy(object)[oldest_idx]
    owner = a.get("owner", pd.Series("", index=a.index)).astype("string").fillna("")
    role = a.get("owner_role", pd.Series("", index=a.index)).astype("string").fillna("")
    who = (owner + " (" + role + ")").to_numpy(object)[oldest_idx]
    due_txt = due.dt.strftime("%Y-%m-%d").fillna("?").to_numpy(object)[oldest_idx]
    note_age = np.where(n_open > 0, ids + ", " + who + ", due " + due_txt, "no open action").astype(
        object
    )

    frames = [
        _frame("actions_closed_on_time", p, share, num, den, den.astype(int), note_share),
        _frame("actions_overdue", p, overdue, overdue, np.nan, n_open, _blank(n_p)),
        _frame("oldest_open_action_days", p, oldest, oldest, np.nan, n_open, note_age),
    ]
    return pd.concat(frames, ignore_index=True)[list(COLUMNS)]


def _blank(n: int) -> np.ndarray:
    return np.full(n, "", dtype=object)


def _frame(kpi, p, value, num, den, n, note) -> pd.DataFrame:
    size = len(p)
    return pd.DataFrame(
        {
            "kpi": kpi,
            "period": p,
            "value": np.broadcast_to(np.asarray(value, float), size),
            "numerator": np.broadcast_to(np.asarray(num, float), size),
            "denominator": np.broadcast_to(np.asarray(den, float), size),
            "n": np.broadcast_to(np.asarray(n, np.int64), size),
            "note": np.asarray(note, dtype=object),
        }
    )


def _empty_result(months: pd.Series) -> pd.DataFrame:
    """No actions: nothing is overdue or open, and no share can be computed."""
    p = np.asarray(months, dtype=object)
    n = len(p)
    note = np.full(n, "no actions in the Actions table", dtype=object)
    frames = [
        _frame("actions_closed_on_time", p, np.nan, np.nan, 0.0, 0, note),
        _frame("actions_overdue", p, 0.0, 0.0, np.nan, 0, note),
        _frame("oldest_open_action_days", p, 0.0, 0.0, np.nan, 0, note),
    ]
    return pd.concat(frames, ignore_index=True)[list(COLUMNS)]
