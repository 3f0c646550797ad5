"""Sales order backlog: open lines by family, region and due month; the past-due lines."""

from __future__ import annotations

import numpy as np
import pandas as pd


def open_lines(lines: pd.DataFrame, cycle_start: pd.Timestamp) -> pd.DataFrame:
    """Open sales order lines with due date, days past due and open quantity.

    A line is open while it has no shipment date; its open quantity is ordered - shipped (a line
    with a shipment date is complete as exported). Due date = promised date, else requested.
    Past due = due before the first day of the cycle month.
    """
    shipped = lines["qty_shipped"].fillna(0.0)
    is_open = lines["ship_date"].isna() & (lines["qty_ordered"] - shipped > 0)
    out = lines.loc[is_open].copy()
    out["open_qty"] = (out["qty_ordered"] - out["qty_shipped"].fillna(0.0)).astype(float)
    out["due_date"] = out["promised_date"].fillna(out["requested_date"])
    out["due_period"] = out["due_date"].dt.strftime("%Y-%m")
    days = (cycle_start - out["due_date"]).dt.days
    out["past_due"] = days > 0
    out["days_late"] = days.where(out["past_due"], 0).astype("Int64")
    return out


def summary(open_: pd.DataFrame) -> pd.DataFrame:
    """Open lines summed by family, region and due month, past-due months first."""
    if open_.empty:
        cols = ["family", "region", "due_period", "status", "lines", "open_qty", "open_value"]
        return pd.DataFrame(columns=cols)
    g = (
        open_.groupby(["family", "region", "due_period"], dropna=False)
        .agg(
            lines=("open_qty", "size"),
            open_qty=("open_qty", "sum"),
            open_value=("open_value", "sum"),
            past_due=("past_due", "all"),
        )
        .reset_index()
    )
    g["status"] = np.where(g["past_due"], "Past due", "Future")
    g["open_value"] = g["open_value"].round(2)
    return g.drop(columns="past_due").sort_values(["due_period", "family", "region"], kind="stable")
