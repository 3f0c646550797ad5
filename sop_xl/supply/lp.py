"""The constrained supply plan: a linear program solved with HiGHS, and a greedy baseline.

Indices: row r (item), month t, resource k. Data: demand ``d[r,t]`` (consensus + past-due
backlog in the first month), opening stock ``o[r]``, fixed receipts ``R[r,t]`` (open purchase
lines), open scheduled production ``P[r,t]`` (released and firm planned orders), safety stock
``S[r,t]``, hours per unit ``h[k,r]``, capacity ``C[k,t]`` in hours, unit margin ``m[r]``
(price - cost), holding cost per unit-month ``c[r]`` (unit cost x yearly rate / 12),
safety-stock penalty per unit-month ``q[r] = 0.1 m[r]`` and a weight for serving demand early
``w[t] = 1 + 0.15 (T - 1 - t)`` (T months): demand is served as early as supply allows and
before the safety stock is rebuilt, because moving a sale one month later loses
``0.15 m`` while holding the unit as buffer for that month saves only ``0.1 m``.

Variables (all >= 0): new supply ``x[r,t]``, met demand ``s[r,t] <= d[r,t]``, month-end stock
``I[r,t]``, shortfall below safety stock ``z[r,t] <= S[r,t]`` (``z = 0`` under a hard
policy) and scheduled production actually made ``y[r,t] <= P[r,t]``.

    maximise   sum w[t] m[r] s[r,t] - c[r] I[r,t] - q[r] z[r,t] + e[r] y[r,t]
    subject to I[r,t] = I[r,t-1] + R[r,t] + y[r,t] + x[r,t] - s[r,t]  (I[r,-1] = o[r])  balance
               I[r,t] + z[r,t] >= S[r,t]                                        safety stock
               sum_r h[k,r] (x[r,t] + y[r,t]) <= C[k,t]                         capacity

``e[r] = c[r] T + 0.001`` per unit (more than holding the unit to the end of the horizon) so
that open orders are made unless the capacity is needed for demand the orders do not cover;
the part of ``P`` not made (``P - y``) is the scheduled production at risk.

Unmet demand is lost in its month (``d - s``), not carried as backorder. Building ahead is
allowed whenever earlier capacity is free: holding cost makes it as late as capacity allows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from sop_xl.errors import SopError

#: Safety-stock penalty per unit-month as a share of the unit margin (soft policy).
SS_PENALTY_SHARE = 0.1
#: Extra weight per month earlier on the margin of met demand (must exceed SS_PENALTY_SHARE).
EARLY_WEIGHT = 0.15
#: Bonus per unit of an open production order made, on top of its holding cost to the end of
#: the horizon (so orders are kept unless capacity is needed elsewhere).
SCHEDULED_BONUS = 1e-3


@dataclass
class Problem:
    """The data of the LP (see the module docstring for the symbols)."""

    demand: np.ndarray  # d (R, T)
    opening: np.ndarray  # o (R,)
    receipts: np.ndarray  # R (R, T) fixed receipts (purchases)
    safety: np.ndarray  # S (R, T)
    hours: sp.csr_matrix  # h (K, R)
    capacity: np.ndarray  # C (K, T), hours available for new supply
    margin: np.ndarray  # m (R,)
    holding: np.ndarray  # c (R,)
    hard_safety_stock: bool = False
    scheduled: np.ndarray | None = None  # P (R, T) open production orders (capacity-bound)

    def __post_init__(self) -> None:
        if self.scheduled is None:
            self.scheduled = np.zeros_like(self.demand, dtype=float)

    @property
    def shape(self) -> tuple[int, int]:
        return self.demand.shape  # type: ignore[return-value]

    @property
    def penalty(self) -> np.ndarray:
        return SS_PENALTY_SHARE * np.maximum(self.margin, 0.0)

    @property
    def order_bonus(self) -> np.ndarray:
        """e[r] = c[r] T + 0.001: making an open order beats holding it to the horizon's end."""
        return self.holding * self.demand.shape[1] + SCHEDULED_BONUS

    @property
    def weights(self) -> np.ndarray:
        """w[t] = 1 + EARLY_WEIGHT (T - 1 - t): the earlier the demand, the more it counts."""
        n_t = self.demand.shape[1]
        return 1.0 + EARLY_WEIGHT * (n_t - 1 - np.arange(n_t))


@dataclass
class Plan:
    """A supply plan and what it reaches."""

    supply: np.ndarray  # x (R, T)
    met: np.ndarray  # s (R, T)
    stock: np.ndarray  # I (R, T)
    below_safety: np.ndarray  # z (R, T)
    seconds: float
    method: str
    scheduled_made: np.ndarray | None = None  # y (R, T)

    def objective(self, p: Problem) -> float:
        """The LP's objective: weighted margin of met demand - holding cost - safety-stock
        penalty + bonus of open orders made."""
        made = self.scheduled_made if self.scheduled_made is not None else 0.0
        return float(
            (p.margin[:, None] * p.weights[None, :] * self.met).sum()
            - (p.holding[:, None] * self.stock).sum()
            - (p.penalty[:, None] * self.below_safety).sum()
            + (p.order_bonus[:, None] * made).sum()
        )

    def margin(self, p: Problem) -> float:
        """Margin of met demand - holding cost (money), the plan's plain economic value."""
        return float((p.margin[:, None] * self.met).sum() - (p.holding[:, None] * self.stock).sum())

    def unmet(self, p: Problem) -> np.ndarray:
        return np.maximum(p.demand - self.met, 0.0)


def solve(p: Problem) -> Plan:
    """The constrained plan: the LP above, built with sparse matrices, solved by HiGHS."""
    start = time.perf_counter()
    n_r, n_t = p.shape
    n = n_r * n_t
    idx = np.arange(n).reshape(n_r, n_t)  # position of (r, t) inside each variable block
    X, S, INV, Z, Y = 0, n, 2 * n, 3 * n, 4 * n  # blocks: supply, met, stock, shortfall, y
    nv = 5 * n
    sched = np.asarray(p.scheduled, float)

    # balance: I[r,t] - I[r,t-1] - x[r,t] + s[r,t] = R[r,t] (+ o[r] when t = 0)
    rows = np.concatenate([idx.ravel()] * 4 + [idx[:, 1:].ravel()])
    cols = np.concatenate(
        [
            INV + idx.ravel(),
            X + idx.ravel(),
            Y + idx.ravel(),
            S + idx.ravel(),
            INV + idx[:, :-1].ravel(),
        ]
    )
    vals = np.concatenate([np.ones(n), -np.ones(n), -np.ones(n), np.ones(n), -np.ones(n - n_r)])
    a_eq = sp.csr_matrix((vals, (rows, cols)), shape=(n, nv))
    b_eq = p.receipts.astype(float).copy()
    b_eq[:, 0] += p.opening
    b_eq = b_eq.ravel()

    # safety stock: -I - z <= -S
    ss = sp.csr_matrix(
        (
            -np.ones(2 * n),
            (np.tile(np.arange(n), 2), np.concatenate([INV + idx.ravel(), Z + idx.ravel()])),
        ),
        shape=(n, nv),
    )
    # capacity: for each (k, t): sum_r h[k,r] (x[r,t] + y[r,t]) <= C[k,t]
    h = sp.coo_matrix(p.hours)
    n_k = h.shape[0]
    cap_rows = np.tile((h.row[:, None] * n_t + np.arange(n_t)[None, :]).ravel(), 2)
    cell = (h.col[:, None] * n_t + np.arange(n_t)[None, :]).ravel()
    cap_cols = np.concatenate([X + cell, Y + cell])
    cap_vals = np.tile(np.repeat(h.data, n_t), 2)
    cap = sp.csr_matrix((cap_vals, (cap_rows, cap_cols)), shape=(n_k * n_t, nv))
    a_ub = sp.vstack([ss, cap], format="csr")
    b_ub = np.concatenate([-p.safety.ravel(), p.capacity.ravel()])

    cost = np.concatenate(
        [
            np.zeros(n),
            -(p.margin[:, None] * p.weights[None, :]).ravel(),
            np.repeat(p.holding, n_t),
            np.repeat(p.penalty, n_t),
            -np.repeat(p.order_bonus, n_t),
        ]
    )
    upper = np.concatenate(
        [
            np.full(n, np.inf),
            p.demand.ravel(),
            np.full(n, np.inf),
            np.zeros(n) if p.hard_safety_stock else p.safety.ravel(),
            sched.ravel(),
        ]
    )
    bounds = np.column_stack([np.zeros(nv), upper])
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status == 2:
        raise SopError(
            "the supply plan is infeasible: with a hard safety stock policy, some item cannot "
            "reach its safety stock with the capacity available.",
            fix="Set 'Safety stock policy' to soft on the Settings sheet, lower the safety "
            "stock on Inventory Policy, or add capacity on Resource Capacity.",
        )
    if res.status != 0:
        raise SopError(f"the supply plan could not be solved ({res.message}).")
    v = np.maximum(res.x, 0.0)
    block = lambda b: v[b : b + n].reshape(n_r, n_t)  # noqa: E731
    return Plan(
        supply=block(X),
        met=np.minimum(block(S), p.demand),
        stock=block(INV),
        below_safety=block(Z),
        seconds=time.perf_counter() - start,
        method="LP (HiGHS)",
        scheduled_made=np.minimum(block(Y), sched),
    )


def greedy(p: Problem) -> Plan:
    """Naive per-period baseline: each month, ask for the open orders plus the unconstrained
    quantity (demand plus safety stock minus what is there), scale every item on an overloaded
    resource down by the same share so the month fits, and never build ahead."""
    start = time.perf_counter()
    n_r, n_t = p.shape
    h = sp.csr_matrix(p.hours)
    hc = h.tocoo()
    sched = np.asarray(p.scheduled, float)
    supply, met, stock, below, made = (np.zeros((n_r, n_t)) for _ in range(5))
    prev = p.opening.astype(float)
    for t in range(n_t):
        available = prev + p.receipts[:, t] + sched[:, t]
        need = np.maximum(0.0, p.demand[:, t] + p.safety[:, t] - available)
        load = h @ (need + sched[:, t])
        cap_t = p.capacity[:, t]
        ratio = np.where(load > cap_t, cap_t / np.where(load > 0, load, 1.0), 1.0)
        factor = np.ones(n_r)  # an item's share: the tightest of the resources it uses
        np.minimum.at(factor, hc.col, ratio[hc.row])
        made[:, t] = sched[:, t] * factor
        supply[:, t] = need * factor
        total = prev + p.receipts[:, t] + made[:, t] + supply[:, t]
        met[:, t] = np.minimum(p.demand[:, t], total)
        prev = total - met[:, t]
        stock[:, t] = prev
        below[:, t] = np.maximum(0.0, p.safety[:, t] - prev)
    return Plan(supply, met, stock, below, time.perf_counter() - start, "greedy per month", made)
