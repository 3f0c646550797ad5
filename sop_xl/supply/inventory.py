"""Projected inventory, the unconstrained plan, forward coverage and safety stock.

All arrays are ``(rows, months)``; ``days`` holds the calendar days of each horizon month.
"""

from __future__ import annotations

import numpy as np


def orders_only(opening: np.ndarray, receipts: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Month-end stock with scheduled receipts only: ``opening + cumsum(receipts - demand)``.

    May go negative: that is the quantity new supply must cover.
    """
    return opening[:, None] + np.cumsum(receipts - demand, axis=1)


def unconstrained_plan(
    opening: np.ndarray, receipts: np.ndarray, demand: np.ndarray, safety: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lot-for-lot plan to demand plus safety stock, no capacity limit.

    ``supply[t] = max(0, demand[t] + safety[t] - (stock[t-1] + receipts[t]))`` and
    ``stock[t] = stock[t-1] + receipts[t] + supply[t] - demand[t]``. Returns (supply, stock).
    """
    supply = np.zeros_like(demand, dtype=float)
    stock = np.zeros_like(demand, dtype=float)
    prev = opening.astype(float)
    for t in range(demand.shape[1]):
        available = prev + receipts[:, t]
        supply[:, t] = np.maximum(0.0, demand[:, t] + safety[:, t] - available)
        prev = available + supply[:, t] - demand[:, t]
        stock[:, t] = prev
    return supply, stock


def _walk(demand: np.ndarray, days: np.ndarray, t: int, budget: np.ndarray, by_days: bool):
    """Walk forward from the end of month ``t`` through months t+1, t+2, ...

    ``by_days``: spend ``budget`` days, return the demand quantity they hold; else spend
    ``budget`` units of stock, return the days they cover. After the horizon the last month's
    daily rate continues (so a quantity always converts to days and back).
    """
    n, months = demand.shape
    left = budget.astype(float).copy()
    out = np.zeros(n)
    for j in range(t + 1, months):
        rate = demand[:, j] / days[j]  # units per day in month j
        if by_days:
            take = np.minimum(left, days[j])
            out += take * rate
        else:
            can = np.where(rate > 0, left / np.where(rate > 0, rate, 1.0), np.inf)
            take = np.minimum(can, days[j])
            out += np.where(left > 0, take, 0.0)
            take = take * rate
        left = np.maximum(0.0, left - take)
    last = demand[:, -1] / days[-1]
    if by_days:
        out += left * last
    else:  # stock left after the horizon: at the last month's rate (inf when no demand)
        after = np.where(left > 0, np.inf, 0.0)
        extra = np.where(last > 0, left / np.where(last > 0, last, 1.0), after)
        out += extra
    return out


def coverage_days(stock: np.ndarray, demand: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Forward days of supply of each month-end stock.

    From the end of month t, the stock is used against the demand of t+1, t+2, ... at each
    month's daily rate (demand / calendar days); the result is the number of days until it is
    used up (0 when stock <= 0). After the horizon the last month's rate continues; with no
    demand at all the coverage is infinite (returned as ``inf``; shown blank).
    """
    out = np.zeros(stock.shape)
    for t in range(stock.shape[1]):
        out[:, t] = _walk(demand, days, t, np.maximum(stock[:, t], 0.0), by_days=False)
    return out


def days_to_units(min_days: np.ndarray, demand: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Safety stock in units from a days-of-supply minimum: the demand of the next ``min_days``
    days after each month-end (the inverse of :func:`coverage_days`)."""
    out = np.zeros(demand.shape)
    for t in range(demand.shape[1]):
        out[:, t] = _walk(demand, days, t, min_days, by_days=True)
    return out
