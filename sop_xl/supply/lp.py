"""The constrained supply plan: a linear program solved with HiGHS, and a greedy baseline.

A row r is an item at a stocking location (item x location). Each row has a source row
``src(r)``: the row of the same item at the location where it is made (the location of its
main resource) when the item is made and routed; otherwise the row itself (bought items are
received where they are needed). New supply is planned only at source rows; other rows are
replenished by a transfer from their source row within the month (monthly buckets, no transfer
lead time, no lateral transfers between two stocking locations).

Data: demand ``d[r,t]`` (consensus + past-due backlog in the first month), opening stock
``o[r]``, fixed receipts ``R[r,t]`` (open purchase lines), open scheduled production ``P[r,t]``
(released and firm planned orders), safety stock ``S[r,t]``, hours per unit ``h[k,r]``,
capacity ``C[k,t]`` (hours), unit margin ``m[r]`` (price - cost), holding cost per unit-month
``c[r]`` (unit cost x yearly rate / 12). Derived penalties per unit-month:
backorder ``pi[r] = 0.15 m[r] + 2 c[r]`` and below safety stock ``q[r] = 0.1 m[r] + c[r]``
(so ``pi > q > c``: a late order is served before safety stock is rebuilt, and both are worth
holding stock for).

Variables (all >= 0): new supply ``x[r,t]`` (source rows), transfer in ``u[r,t]`` (other rows),
shipped demand ``s[r,t]``, month-end backorder ``b[r,t]``, month-end stock ``I[r,t]``, shortfall
below safety stock ``z[r,t] <= S[r,t]`` (``z = 0`` under a hard policy) and scheduled production
actually made ``y[r,t] <= P[r,t]``.

    minimise   sum pi[r] b[r,t] + m[r] b[r,T-1] + c[r] I[r,t] + q[r] z[r,t] - e[r] y[r,t]
    subject to I[r,t] = I[r,t-1] + R[r,t] + y[r,t] + x[r,t] + u[r,t] - s[r,t]
                        - sum_{r': src(r') = r, r' != r} u[r',t]      (I[r,-1] = o[r]) stock
               b[r,t] = b[r,t-1] + d[r,t] - s[r,t]                    (b[r,-1] = 0)  backorder
               I[r,t] + z[r,t] >= S[r,t]                                     safety stock
               sum_r h[k,r] (x[r,t] + y[r,t]) <= C[k,t]                      capacity

Unmet demand is backordered: it stays owed (``b``) and is shipped when supply allows; what is
still owed at the end of the horizon (``b[r,T-1]``) is the unmet demand, valued at margin in the
objective. With ``backorders=False`` (lost sales) the ``b[r,t-1]`` term is dropped: demand not
shipped in its month is lost and costs ``m + pi``.

``e[r] = c[r] T + 0.001`` per unit (more than holding the unit to the end of the horizon) so
that open orders are made unless the capacity is needed for demand the orders do not cover;
the part of ``P`` not made (``P - y``) is the scheduled production at risk. Stock at a
non-source row costs 0.1 % more to hold, so transfers happen when the location needs them.

Speed: rows of items with no hours on a resource that the unconstrained plan overloads keep
the unconstrained plan (which is the LP's optimum for them when their margin is positive); the
LP covers only the other items, against the capacity those rows leave. If a resource outside
the overloaded ones ends up full in the LP's answer, the items on it join and the LP is solved
again. The matrices are built vectorised (scipy.sparse) and passed to HiGHS (highspy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from sop_xl.errors import SopError

#: Backorder penalty per unit-month as a share of the unit margin (plus 2 x holding cost).
BACKORDER_SHARE = 0.15
#: Safety-stock penalty per unit-month as a share of the unit margin (plus 1 x holding cost).
SS_PENALTY_SHARE = 0.1
#: Bonus per unit of an open production order made, on top of its holding cost to the end of
#: the horizon (so orders are kept unless capacity is needed elsewhere).
SCHEDULED_BONUS = 1e-3
#: Extra holding cost share at a non-source row (stock waits at the source until needed).
DEPLOY_HOLD = 1e-3
#: Capacity slack (hours) under which a resource counts as full.
TOL = 1e-6


@dataclass
class Problem:
    """The data of the LP (see the module docstring for the symbols); rows are item x location."""

    demand: np.ndarray  # d (R, T)
    opening: np.ndarray  # o (R,)
    receipts: np.ndarray  # R (R, T) fixed receipts (purchases)
    safety: np.ndarray  # S (R, T)
    hours: sp.csr_matrix  # h (K, R)
    capacity: np.ndarray  # C (K, T), hours
    margin: np.ndarray  # m (R,)
    holding: np.ndarray  # c (R,)
    hard_safety_stock: bool = False
    scheduled: np.ndarray | None = None  # P (R, T) open production orders (capacity-bound)
    source: np.ndarray | None = None  # src (R,) row index that supplies each row
    backorders: bool = True  # False: lost sales

    def __post_init__(self) -> None:
        if self.scheduled is None:
            self.scheduled = np.zeros_like(self.demand, dtype=float)
        if self.source is None:
            self.source = np.arange(self.demand.shape[0])
        self.source = np.asarray(self.source, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        return self.demand.shape  # type: ignore[return-value]

    @property
    def own(self) -> np.ndarray:
        """Rows that supply themselves (new supply is planned there)."""
        return self.source == np.arange(len(self.source))

    @property
    def penalty(self) -> np.ndarray:
        """q[r]: below safety stock, per unit-month."""
        return SS_PENALTY_SHARE * np.maximum(self.margin, 0.0) + self.holding

    @property
    def late(self) -> np.ndarray:
        """pi[r]: backorder, per unit-month."""
        return BACKORDER_SHARE * np.maximum(self.margin, 0.0) + 2.0 * self.holding

    @property
    def hold(self) -> np.ndarray:
        """Holding cost used in the LP (non-source rows 0.1 % dearer)."""
        return self.holding * np.where(self.own, 1.0, 1.0 + DEPLOY_HOLD)

    @property
    def order_bonus(self) -> np.ndarray:
        """e[r] = c[r] T + 0.001: making an open order beats holding it to the horizon's end."""
        return self.holding * self.demand.shape[1] + SCHEDULED_BONUS

    def take(self, rows: np.ndarray, resources: np.ndarray, capacity: np.ndarray) -> Problem:
        """The sub-problem of ``rows`` (closed under source) on ``resources`` with ``capacity``."""
        new = -np.ones(self.shape[0], dtype=np.int64)
        new[rows] = np.arange(len(rows))
        return Problem(
            demand=self.demand[rows],
            opening=self.opening[rows],
            receipts=self.receipts[rows],
            safety=self.safety[rows],
            hours=sp.csr_matrix(self.hours)[resources][:, rows],
            capacity=capacity,
            margin=self.margin[rows],
            holding=self.holding[rows],
            hard_safety_stock=self.hard_safety_stock,
            scheduled=np.asarray(self.scheduled)[rows],
            source=new[self.source[rows]],
            backorders=self.backorders,
        )


@dataclass
class Plan:
    """A supply plan and what it reaches (arrays (R, T))."""

    supply: np.ndarray  # x new supply at source rows
    met: np.ndarray  # s shipped (may exceed the month's demand when backorders catch up)
    stock: np.ndarray  # I
    below_safety: np.ndarray  # z
    seconds: float
    method: str
    scheduled_made: np.ndarray | None = None  # y
    backorder: np.ndarray | None = None  # b month-end backorder (lost in the month if lost sales)
    transfer_in: np.ndarray | None = None  # u
    lp_rows: int = 0  # rows the LP covered (the rest kept the unconstrained plan)
    cpu_seconds: float = 0.0
    solves: int = 0
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        z = np.zeros_like(self.stock)
        self.scheduled_made = z if self.scheduled_made is None else self.scheduled_made
        self.backorder = z.copy() if self.backorder is None else self.backorder
        self.transfer_in = z.copy() if self.transfer_in is None else self.transfer_in

    def transfer_out(self, p: Problem) -> np.ndarray:
        """Transfers each source row ships to its other rows (R, T)."""
        out = np.zeros_like(self.stock)
        np.add.at(out, p.source, self.transfer_in)
        return out

    def objective(self, p: Problem) -> float:
        """Minus the LP's cost: -(backorder and lost-margin penalty + holding + safety-stock
        penalty) + bonus of open orders made. Higher is better."""
        b = np.asarray(self.backorder)
        lost = b[:, -1] if p.backorders else b.sum(axis=1)
        cost = (
            (p.late[:, None] * b).sum()
            + (p.margin * lost).sum()
            + (p.hold[:, None] * self.stock).sum()
            + (p.penalty[:, None] * self.below_safety).sum()
            - (p.order_bonus[:, None] * np.asarray(self.scheduled_made)).sum()
        )
        return float(-cost)

    def margin(self, p: Problem) -> float:
        """Margin of shipped demand - holding cost (money), the plan's plain economic value."""
        return float((p.margin[:, None] * self.met).sum() - (p.holding[:, None] * self.stock).sum())

    def unmet(self, p: Problem) -> np.ndarray:
        """Demand never shipped in the horizon, by row and month: with backorders, what is
        still owed at the end (last month's column); with lost sales, each month's loss."""
        b = np.maximum(np.asarray(self.backorder), 0.0)
        if not p.backorders:
            return b
        out = np.zeros_like(b)
        out[:, -1] = b[:, -1]
        return out


# --- the unconstrained plan over the network ------------------------------------------------


def unconstrained(p: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lot-for-lot to demand + safety stock with every open order made and no capacity limit:
    each non-source row's transfer in, then each source row's new supply for its own need plus
    the transfers it ships. Returns (supply x, transfer in u, stock I)."""
    n_r, n_t = p.shape
    own = p.own
    receipts = p.receipts + np.asarray(p.scheduled)
    supply, transfer, stock = np.zeros((n_r, n_t)), np.zeros((n_r, n_t)), np.zeros((n_r, n_t))
    prev = p.opening.astype(float).copy()
    for t in range(n_t):
        available = prev + receipts[:, t]
        need = np.maximum(0.0, p.demand[:, t] + p.safety[:, t] - available)
        transfer[~own, t] = need[~own]
        out = np.zeros(n_r)
        np.add.at(out, p.source[~own], need[~own])
        need_own = np.maximum(0.0, p.demand[:, t] + p.safety[:, t] + out - available)
        supply[own, t] = need_own[own]
        prev = available + supply[:, t] + transfer[:, t] - p.demand[:, t] - out
        stock[:, t] = prev
    return supply, transfer, stock


# --- the LP ----------------------------------------------------------------------------------


def _highs():
    """A HiGHS instance. The bare core class: ``highspy.Highs`` enables Python callbacks,
    which prints the HiGHS banner to stdout once per process (the CLI's output must stay ours)."""
    try:
        from highspy._core import _Highs

        return _Highs()
    except ImportError:  # pragma: no cover - layout of other highspy versions
        return highspy.Highs()


class _Builder:
    """Columns by block; rows as COO triplets; one CSC matrix for HiGHS at the end."""

    def __init__(self) -> None:
        self.n = 0
        self.cost: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.m = 0

    def cols(self, cost: np.ndarray, upper: np.ndarray) -> np.ndarray:
        idx = np.arange(self.n, self.n + cost.size)
        self.n += cost.size
        self.cost.append(np.asarray(cost, float).ravel())
        self.upper.append(np.asarray(upper, float).ravel())
        return idx

    def rows(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        idx = np.arange(self.m, self.m + lo.size)
        self.m += lo.size
        self.lo.append(np.asarray(lo, float).ravel())
        self.hi.append(np.asarray(hi, float).ravel())
        return idx

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> None:
        rows, cols = np.asarray(rows), np.asarray(cols)
        self.r.append(rows.ravel())
        self.c.append(cols.ravel())
        self.v.append(np.broadcast_to(np.asarray(vals, float), rows.shape).ravel())

    def solve(self) -> tuple[int, np.ndarray, np.ndarray]:
        a = sp.csc_matrix(
            (np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
            shape=(self.m, self.n),
        )
        model = highspy.HighsLp()
        model.num_col_, model.num_row_ = self.n, self.m
        model.col_cost_ = np.concatenate(self.cost)
        model.col_lower_ = np.zeros(self.n)
        model.col_upper_ = np.concatenate(self.upper)
        model.row_lower_ = np.concatenate(self.lo)
        model.row_upper_ = np.concatenate(self.hi)
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = a.indptr
        model.a_matrix_.index_ = a.indices
        model.a_matrix_.value_ = a.data
        h = _highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "on")
        h.passModel(model)
        h.run()
        status = h.getModelStatus()
        sol = h.getSolution()
        if status == highspy.HighsModelStatus.kInfeasible:
            return 2, np.zeros(self.n), np.zeros(self.m)
        if status != highspy.HighsModelStatus.kOptimal:
            why = h.modelStatusToString(status)
            raise SopError(f"the supply plan could not be solved ({why}).")
        return 0, np.asarray(sol.col_value), np.asarray(sol.row_value)


def _solve_lp(p: Problem) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The LP of the module docstring on ``p``; returns the variable blocks (R, T) and the
    capacity rows' activity (K, T).

    Written compactly for HiGHS (same optimum): shipments are eliminated with the net stock
    ``I - b`` (``s = d + b[t-1] - b[t]``; lost sales: ``s = d - b``), and stock is split as
    ``I = S - z + w`` with ``w >= 0`` stock above safety stock and ``0 <= z <= S`` the
    shortfall, so the safety-stock rows become bounds. A unit of ``w`` costs ``c``, a unit of
    ``z`` saves ``c`` and costs ``q`` (``q > c``: never both). ``b[t] - b[t-1] <= d[t]`` keeps
    shipments >= 0 where a backorder could otherwise pose as stock: every row under a hard
    policy (``z = 0``), and rows that ship to other rows (moving a backorder from a
    distribution centre to its plant costs nothing). Elsewhere ``pi > q`` makes it pointless."""
    n_r, n_t = p.shape
    own = p.own
    sched = np.asarray(p.scheduled, float)
    safety = np.asarray(p.safety, float)
    inf = np.full((n_r, n_t), np.inf)
    b = _Builder()
    own_r, dep_r = np.flatnonzero(own), np.flatnonzero(~own)
    hold = p.hold[:, None] * np.ones(n_t)
    # columns: x (source rows), u (other rows), y (cells with open orders), b, w, z
    x = b.cols(np.zeros(len(own_r) * n_t), inf[own_r]).reshape(-1, n_t)
    u = b.cols(np.zeros(len(dep_r) * n_t), inf[dep_r]).reshape(-1, n_t)
    y_cell = np.flatnonzero(sched.ravel() > 0)
    y = b.cols(-np.repeat(p.order_bonus, n_t)[y_cell], sched.ravel()[y_cell])
    late = np.repeat(p.late[:, None], n_t, axis=1)
    if p.backorders:
        late[:, -1] += p.margin
    else:
        late += p.margin[:, None]
    bk = b.cols(late, inf if p.backorders else p.demand).reshape(n_r, n_t)
    w = b.cols(hold, inf).reshape(n_r, n_t)
    z_cell = np.flatnonzero(safety.ravel() > 0) if not p.hard_safety_stock else np.zeros(0, int)
    z_cost = (np.repeat(p.penalty[:, None], n_t, 1) - hold).ravel()[z_cell]
    z = b.cols(z_cost, safety.ravel()[z_cell])

    # balance: w - z - w[t-1] + z[t-1] - b (+ b[t-1]) - y - x - u + out = R - d - S + S[t-1]
    prev_s = np.column_stack([p.opening, safety[:, :-1]])
    rhs = p.receipts - p.demand - safety + prev_s
    bal = b.rows(rhs, rhs).reshape(n_r, n_t)
    b.add(bal, w, 1.0)
    b.add(bal[:, 1:], w[:, :-1], -1.0)
    if len(z_cell):
        zr, zt = np.divmod(z_cell, n_t)
        b.add(bal[zr, zt], z, -1.0)
        nxt = zt + 1 < n_t
        b.add(bal[zr[nxt], zt[nxt] + 1], z[nxt], 1.0)
    b.add(bal, bk, -1.0)
    if p.backorders:
        b.add(bal[:, 1:], bk[:, :-1], 1.0)
    b.add(bal.ravel()[y_cell], y, -1.0)
    b.add(bal[own_r], x, -1.0)
    b.add(bal[dep_r], u, -1.0)
    b.add(bal[p.source[dep_r]], u, 1.0)
    # shipments >= 0: b[t] - b[t-1] <= d[t], where a backorder could otherwise pose as stock:
    # every row under a hard policy, else rows that ship to other rows (a backorder at the
    # plant and one at the distribution centre cost the same)
    guard = np.ones(n_r, bool) if p.hard_safety_stock else np.isin(np.arange(n_r), p.source[dep_r])
    if p.backorders and guard.any():
        gr = np.flatnonzero(guard)
        ship = b.rows(np.full((len(gr), n_t), -np.inf), p.demand[gr]).reshape(len(gr), n_t)
        b.add(ship, bk[gr], 1.0)
        b.add(ship[:, 1:], bk[gr][:, :-1], -1.0)
    # capacity: sum_r h[k,r] (x[r,t] + y[r,t]) <= C[k,t]
    h = sp.coo_matrix(p.hours)
    n_k = h.shape[0]
    cap = b.rows(np.full(n_k * n_t, -np.inf), p.capacity).reshape(n_k, n_t)
    pos_x = -np.ones(n_r, dtype=np.int64)
    pos_x[own_r] = np.arange(len(own_r))
    hx = pos_x[h.col] >= 0
    b.add(cap[h.row[hx]], x[pos_x[h.col[hx]]], h.data[hx][:, None])
    if len(y_cell):
        # one entry per (resource of the row, y cell): expand the row's csc column
        yr, yt = np.divmod(y_cell, n_t)
        hr = sp.csc_matrix(p.hours)
        counts = np.diff(hr.indptr)[yr]
        starts = np.repeat(hr.indptr[yr], counts) + (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        b.add(cap[hr.indices[starts], np.repeat(yt, counts)], np.repeat(y, counts), hr.data[starts])

    status, v, act = b.solve()
    if status == 2:
        raise SopError(
            "the supply plan is infeasible: with a hard safety stock policy, some item cannot "
            "reach its safety stock with the capacity available.",
            fix="Set 'Safety stock policy' to soft on the Settings sheet, lower the safety "
            "stock on Inventory Policy, or add capacity on Resource Capacity.",
        )
    v = np.maximum(v, 0.0)
    out = {k: np.zeros((n_r, n_t)) for k in ("x", "u", "y", "b", "z")}
    out["x"][own_r] = v[x]
    out["u"][dep_r] = v[u]
    out["y"].ravel()[y_cell] = np.minimum(v[y], sched.ravel()[y_cell])
    out["b"] = v[bk]
    out["z"].ravel()[z_cell] = np.minimum(v[z], safety.ravel()[z_cell])
    out["I"] = np.maximum(safety - out["z"] + v[w], 0.0)
    prev_b = np.column_stack([np.zeros(n_r), out["b"][:, :-1]]) if p.backorders else 0.0
    out["s"] = np.maximum(p.demand + prev_b - out["b"], 0.0)
    return out, act[cap.ravel()].reshape(n_k, n_t) if n_k else np.zeros((0, n_t))


def _groups(p: Problem, rows: np.ndarray) -> np.ndarray:
    """``rows`` closed under source: every row of each source they belong to."""
    src = np.zeros(p.shape[0], bool)
    src[p.source[rows]] = True
    return np.flatnonzero(src[p.source])


def solve(p: Problem) -> Plan:
    """The constrained plan: the LP on the items that load an overloaded resource, the
    unconstrained plan for the others (see the module docstring)."""
    start, cpu = time.perf_counter(), time.process_time()
    n_r, n_t = p.shape
    x_u, u_u, i_u = unconstrained(p)
    sched = np.asarray(p.scheduled, float)
    h = sp.csr_matrix(p.hours)
    load_u = np.asarray(h @ (x_u + sched)) if h.shape[0] else np.zeros((0, n_t))
    busy = np.flatnonzero((load_u > p.capacity + TOL).any(axis=1))
    uses = (abs(h) > 0).astype(np.int8).tocsc()  # (K, R)
    plan = Plan(
        supply=x_u,
        met=p.demand.copy(),
        stock=i_u,
        below_safety=np.zeros((n_r, n_t)),
        seconds=0.0,
        method="unconstrained (no overloaded resource)",
        scheduled_made=sched.copy(),
        transfer_in=u_u,
    )
    solves = 0
    priced = p.margin > 0
    lp_rows = np.zeros(n_r, bool)
    lp_rows[_groups(p, np.flatnonzero(~priced & (np.diff(uses.indptr) > 0)))] = True
    while True:
        on_busy = np.asarray(uses[busy].sum(axis=0)).ravel() > 0 if len(busy) else np.zeros(n_r)
        want = lp_rows.copy()
        want[_groups(p, np.flatnonzero(on_busy))] = True
        if solves and (want == lp_rows).all():
            break
        lp_rows = want
        if not lp_rows.any():
            break
        rows = np.flatnonzero(lp_rows)
        res = np.flatnonzero(np.asarray(uses[:, rows].sum(axis=1)).ravel() > 0)
        rest = ~lp_rows
        left = p.capacity[res] - np.asarray(h[res][:, rest] @ (x_u[rest] + sched[rest]))
        sub = p.take(rows, res, np.maximum(left, 0.0))
        got, act = _solve_lp(sub)
        solves += 1
        full = res[(act >= sub.capacity - TOL).any(axis=1) & (sub.capacity > 0).any(axis=1)]
        busy = np.union1d(busy, full)
        for key, arr in (
            ("x", plan.supply),
            ("s", plan.met),
            ("I", plan.stock),
            ("z", plan.below_safety),
            ("y", plan.scheduled_made),
            ("b", plan.backorder),
            ("u", plan.transfer_in),
        ):
            arr[rows] = got[key]
    plan.seconds = time.perf_counter() - start
    plan.cpu_seconds = time.process_time() - cpu
    plan.lp_rows = int(lp_rows.sum())
    plan.solves = solves
    plan.method = f"LP (HiGHS) on {plan.lp_rows} of {n_r} rows" if solves else plan.method
    return plan


def greedy(p: Problem) -> Plan:
    """Naive per-period baseline: each month, ask for the open orders plus the unconstrained
    quantity (demand, backorders and safety stock minus what is there, transfers included),
    scale every item on an overloaded resource down by the same share so the month fits, and
    never build ahead."""
    start, cpu = time.perf_counter(), time.process_time()
    n_r, n_t = p.shape
    own = p.own
    h = sp.csr_matrix(p.hours)
    hc = h.tocoo()
    sched = np.asarray(p.scheduled, float)
    supply, met, stock, below, made, late, moved = (np.zeros((n_r, n_t)) for _ in range(7))
    prev, owed = p.opening.astype(float), np.zeros(n_r)
    for t in range(n_t):
        want = p.demand[:, t] + owed
        available = prev + p.receipts[:, t] + sched[:, t]
        need = np.maximum(0.0, want + p.safety[:, t] - available)
        out_need = np.zeros(n_r)
        np.add.at(out_need, p.source[~own], need[~own])
        need_own = np.where(own, np.maximum(0.0, want + p.safety[:, t] + out_need - available), 0)
        load = h @ (need_own + sched[:, t])
        cap_t = p.capacity[:, t]
        ratio = np.where(load > cap_t, cap_t / np.where(load > 0, load, 1.0), 1.0)
        factor = np.ones(n_r)  # an item's share: the tightest of the resources it uses
        np.minimum.at(factor, hc.col, ratio[hc.row])
        factor = factor[p.source]  # a transfer is cut like its source's supply
        made[:, t] = sched[:, t] * factor
        supply[:, t] = need_own * factor
        moved[:, t] = np.where(own, 0.0, need * factor)
        out = np.zeros(n_r)
        np.add.at(out, p.source[~own], moved[~own, t])
        total = prev + p.receipts[:, t] + made[:, t] + supply[:, t] + moved[:, t] - out
        # a source keeps what it ships: its own demand gets what is left
        met[:, t] = np.clip(np.minimum(want, total), 0.0, None)
        prev = total - met[:, t]
        stock[:, t] = prev
        owed = want - met[:, t]
        late[:, t] = owed
        if not p.backorders:
            owed = np.zeros(n_r)
        below[:, t] = np.maximum(0.0, p.safety[:, t] - prev)
    plan = Plan(supply, met, stock, below, 0.0, "greedy per month", made, late, moved)
    plan.seconds = time.perf_counter() - start
    plan.cpu_seconds = time.process_time() - cpu
    return plan
