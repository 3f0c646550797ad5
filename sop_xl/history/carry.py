"""Actions carried from cycle to cycle: what the last cycle decided and what happened to it.

Each run of the history step records the Actions table as it stands into the ``ActionLog``
(one row per cycle and action; the freeze locks it into the snapshot). The next cycle compares its
Actions table with the log of the last recorded cycle before it and flags every action:

- **Reopened**: Closed or Cancelled last cycle, Open or In progress now;
- **Overdue**: open now (Open / In progress) and due before the first day of this cycle;
- **Missing**: open last cycle and no longer on the Actions sheet (nobody closed it: re-add it or
  record how it ended);
- **Closed** / **Cancelled**: open last cycle, closed or cancelled since;
- **Carried**: open last cycle and still open, not yet due;
- **New**: open now and not in last cycle's log.

Actions already closed or cancelled last cycle that stay so are history and are not listed.
``Days Overdue`` = first day of the cycle - due date, for open actions past due.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_xl.model.schema import ACTION_LOG, ACTIONS_CARRIED

OPEN = ("Open", "In progress")
DONE = ("Closed", "Cancelled")
_FIELDS = ("decision", "owner_role", "owner", "due_date", "cycle_raised")


def log_rows(actions: pd.DataFrame | None, cycle: str, evidence: str = "workbook") -> pd.DataFrame:
    """The ActionLog rows of ``cycle``: the Actions table as it stands."""
    cols = ACTION_LOG.names
    if actions is None or actions.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    a = actions.copy()
    a["cycle"] = cycle
    a["evidence"] = evidence
    for c in cols:
        if c not in a:
            a[c] = None
    return a[cols].reset_index(drop=True)


def update_log(log: pd.DataFrame | None, actions: pd.DataFrame | None, cycle: str) -> pd.DataFrame:
    """``log`` with the rows of ``cycle`` replaced by the current Actions table."""
    new = log_rows(actions, cycle)
    if log is None or log.empty:
        return new
    old = log[log["cycle"].astype(str) != cycle]
    out = pd.concat([old, new], ignore_index=True) if len(new) else old
    return out.sort_values(["cycle", "action_id"], kind="stable").reset_index(drop=True)


def last_cycle(log: pd.DataFrame | None, cycle: str) -> str | None:
    """The newest cycle of the log before ``cycle``."""
    if log is None or log.empty:
        return None
    before = log["cycle"].astype(str)
    before = before[before < cycle]
    return str(before.max()) if len(before) else None


def carry_actions(
    actions: pd.DataFrame | None, log: pd.DataFrame | None, cycle: str
) -> tuple[pd.DataFrame, str | None]:
    """(ActionsCarried rows, the cycle compared with) for the cycle ``cycle``."""
    cols = ACTIONS_CARRIED.names
    prev_cycle = last_cycle(log, cycle)
    now = actions.copy() if actions is not None else pd.DataFrame(columns=["action_id"])
    prev = (
        log[log["cycle"].astype(str) == prev_cycle].copy()
        if prev_cycle is not None
        else pd.DataFrame(columns=["action_id", "status", *_FIELDS])
    )
    now["action_id"] = now["action_id"].astype(str)
    prev["action_id"] = prev["action_id"].astype(str)
    m = now.merge(
        prev[["action_id", "status", *[f for f in _FIELDS if f in prev]]],
        on="action_id",
        how="outer",
        suffixes=("", "_last"),
        indicator=True,
    )
    for f in _FIELDS:  # an action missing now shows what last cycle knew about it
        if f"{f}_last" in m:
            m[f] = m[f].where(m[f].notna(), m[f"{f}_last"]) if f in m else m[f"{f}_last"]
    m = m.rename(columns={"status_last": "status_last_", "status": "status_now"})
    m["status_last"] = m.pop("status_last_") if "status_last_" in m else None
    start = pd.Timestamp(f"{cycle}-01")
    due = pd.to_datetime(m.get("due_date"), errors="coerce")
    is_open = m["status_now"].isin(OPEN)
    was_open = m["status_last"].isin(OPEN)
    was_done = m["status_last"].isin(DONE)
    overdue = is_open & (due < start)
    days = (start - due).dt.days.where(overdue)
    flag = np.select(
        [
            m["_merge"].eq("right_only") & was_open,
            is_open & was_done,
            overdue,
            was_open & m["status_now"].eq("Closed"),
            was_open & m["status_now"].eq("Cancelled"),
            is_open & was_open,
            is_open & m["status_last"].isna(),
        ],
        ["Missing", "Reopened", "Overdue", "Closed", "Cancelled", "Carried", "New"],
        "",
    )
    note = np.select(
        [
            flag == "Missing",
            (flag == "Reopened") & overdue,
            flag == "Reopened",
            flag == "Overdue",
        ],
        [
            f"open in cycle {prev_cycle}, no longer on the Actions sheet: re-add it or record "
            "how it ended",
            "reopened since last cycle, and overdue",
            "reopened since last cycle",
            "past its due date and still open",
        ],
        "",
    )
    m["flag"], m["note"], m["days_overdue"] = flag, note, days
    out = m[m["flag"] != ""].copy()
    order = {f: i for i, f in enumerate(ACTIONS_CARRIED.column("flag").choices or ())}
    out = out.assign(_o=out["flag"].map(order)).sort_values(["_o", "due_date", "action_id"])
    for c in cols:
        if c not in out:
            out[c] = None
    return out[cols].reset_index(drop=True), prev_cycle
