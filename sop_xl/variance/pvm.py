"""Price / volume / mix analysis of a revenue variance (actual vs budget).

Within one comparison group (for example one period), with items ``i``:

- ``qa_i, qb_i``: actual and budget quantity; ``Ra_i, Rb_i``: actual and budget amount;
  ``Qa = Σ qa_i``, ``Qb = Σ qb_i``.
- budget price ``pb_i = Rb_i / qb_i``; for a **new** item (``qb_i = 0``) ``pb_i = pa_i = Ra_i /
  qa_i`` (a new item has no price effect: its revenue is volume and mix); 0 when both are 0.
- budget mix share ``sb_i = qb_i / Qb``; actual mix share ``sa_i = qa_i / Qa``;
  budget average price ``P̄b = Σ sb_i · pb_i``.

Effects (standard PVM, volume first at the budget average price):

- **Volume** ``= (Qa - Qb) · P̄b``, per item ``(Qa - Qb) · sb_i · pb_i``.
- **Mix** ``= Σ (sa_i - sb_i) · Qa · pb_i``, per item ``(qa_i - Qa · sb_i) · pb_i``.
- **Price** ``= Σ (pa_i - pb_i) · qa_i``, per item computed as the remainder
  ``(Ra_i - Rb_i) - volume_i - mix_i``; it equals ``(pa_i - pb_i) · qa_i`` whenever
  ``Rb_i = pb_i · qb_i``, and otherwise also carries amounts without quantity (a price-only
  credit note or a budgeted rebate with quantity 0 is a price effect).

When the group has no budget quantity at all (``Qb = 0``), shares are undefined: volume is
``qa_i · pb_i`` per item and mix is 0. A **discontinued** item (``qa_i = 0``, budgeted) has
no price effect and a negative mix/volume effect.

**Levels** (the mix unit ``i``; :data:`PVM_LEVELS`). What lands in "price" depends on it:

- ``item``: ``pa_i`` is the item's average realised price over every customer and location, so
  selling more of an item to a cheaper customer or region lowers ``pa_i`` and shows as *price*.
  Mix is product mix only.
- ``region`` (region x item): the price of an item in a region against its budget price there;
  a shift of volume between regions at different prices is *mix*. Price = price changes within a
  region.
- ``customer`` (customer x item): a shift between customers at different prices is *mix*; price
  is what each customer paid against its own budget price for the item (discounts, rebates,
  price increases). New customer x item pairs (no budget qty) have no price effect.

Volume is the same at every level (total quantity change at the budget average price: ``Qb`` and
``Σ sb_i · pb_i = Rb / Qb`` do not depend on the mix unit); price + mix is the same total, split
differently. docs/variances.md shows a worked example.

So ``volume + mix + price = Ra - Rb`` exactly, per line and per group. Volume and price are
allocated to cents with the largest remainder method (their totals are the rounded group totals);
mix is the remainder in cents, so the identity also holds exactly in cents and a new or
discontinued item never shows a stray cent of price effect.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sop_xl.variance.group import float_sum, group_ids, int_sum
from sop_xl.variance.money import allocate_cents, from_cents, to_cents

#: Mix units: level name -> key columns (the customer level keeps the customer's region beside
#: it: one region per customer, so the groups are customer x item).
PVM_LEVELS: dict[str, tuple[str, ...]] = {
    "item": ("item",),
    "region": ("region", "item"),
    "customer": ("region", "customer", "item"),
}

PVM_COLUMNS = [
    "actual_qty",
    "budget_qty",
    "actual_price",
    "budget_price",
    "actual_amount",
    "budget_amount",
    "revenue_variance",
    "variance_pct",
    "volume_effect",
    "mix_effect",
    "price_effect",
]


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def _key(s: pd.Series) -> np.ndarray:
    """Integer codes as they are; anything else as objects with blanks labelled."""
    if s.dtype.kind in "iu":
        return s.to_numpy(np.int64)
    return s.astype(object).where(s.notna(), "(blank)").to_numpy(object)


def _aggregate(frames: list[pd.DataFrame], keys: list[str]):
    """Joint groups of the keys over both frames; per frame (quantity, cents) sums per group."""
    cols = [np.concatenate([_key(f[k]) for f in frames]) for k in keys]
    gid, key_values = group_ids(cols)
    ng = len(key_values[0]) if key_values else 0
    sums, lo = [], 0
    for f in frames:
        g = gid[lo : lo + len(f)]
        lo += len(f)
        cents = f["amount_cents"] if "amount_cents" in f else to_cents(f["amount"])
        q = f["quantity"].astype("float64").fillna(0.0).to_numpy()
        sums.append((float_sum(g, q, ng), int_sum(g, np.asarray(cents, dtype=np.int64), ng)))
    return key_values, sums


def price_volume_mix(
    actuals: pd.DataFrame,
    budget: pd.DataFrame,
    level: str | Sequence[str] = "item",
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Split the revenue variance (actual - budget amount) into volume, mix and price effects.

    ``actuals`` and ``budget`` are long frames with the ``level`` and ``by`` columns, ``quantity``
    and ``amount`` (or ``amount_cents``). ``level`` is the mix unit (default ``item``); ``by``
    names columns whose values form independent groups (for example ``period``). Returns one row
    per group x mix unit with ``status`` (continuing / new / discontinued) and
    :data:`PVM_COLUMNS`; amounts in currency, exact to the cent, with
    ``volume_effect + mix_effect + price_effect == revenue_variance`` on every row. Formulas: see
    the module docstring. ``variance_pct`` = variance / |budget amount|, NaN when the budget is 0.
    """
    lv, bys = _as_list(level), _as_list(by)
    keys = bys + lv
    key_values, ((qa, ra_c), (qb, rb_c)) = _aggregate([actuals, budget], keys)
    m = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in zip(keys, key_values, strict=True)})
    m["qa"], m["qb"], m["ra"], m["rb"] = qa, qb, ra_c, rb_c
    if bys:  # groups come sorted by key, so each by-group is contiguous
        gcode = group_ids([m[b].to_numpy(object) for b in bys])[0]
    else:
        gcode = np.zeros(len(m), dtype=np.int64)

    qa, qb = m["qa"].to_numpy(), m["qb"].to_numpy()
    ra, rb = m["ra"].to_numpy() / 100.0, m["rb"].to_numpy() / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        pa = np.where(qa != 0, ra / np.where(qa != 0, qa, 1.0), np.nan)
        pb_budget = np.where(qb != 0, rb / np.where(qb != 0, qb, 1.0), np.nan)
    new = (qb == 0) & (qa != 0)
    pb = np.where(qb != 0, pb_budget, np.where(new, pa, 0.0))

    ng = int(gcode.max()) + 1 if len(m) else 0
    Qa = np.bincount(gcode, weights=qa, minlength=ng)[gcode]
    Qb = np.bincount(gcode, weights=qb, minlength=ng)[gcode]
    has_qb = Qb != 0
    sb = np.where(has_qb, qb / np.where(has_qb, Qb, 1.0), 0.0)
    volume = np.where(has_qb, (Qa - Qb) * sb * pb, qa * pb)
    mix = np.where(has_qb, (qa - Qa * sb) * pb, 0.0)

    var_c = m["ra"].to_numpy() - m["rb"].to_numpy()
    price = (ra - rb) - volume - mix  # = (pa - pb) * qa when Rb = pb * qb; 0 for new/discontinued
    vol_c = allocate_cents(volume, gcode)
    price_c = allocate_cents(price, gcode)
    mix_c = var_c - vol_c - price_c  # the cent left by rounding lands on mix

    status = np.where(new, "new", np.where((qa == 0) & (qb != 0), "discontinued", "continuing"))
    rbc = m["rb"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(rbc != 0, var_c / np.abs(np.where(rbc != 0, rbc, 1)), np.nan)
    out = m[keys].copy()
    out["status"] = status
    out["actual_qty"] = qa
    out["budget_qty"] = qb
    out["actual_price"] = pa
    out["budget_price"] = np.where((qb != 0) | new, pb, np.nan)
    out["actual_amount"] = from_cents(m["ra"].to_numpy())
    out["budget_amount"] = from_cents(rbc)
    out["revenue_variance"] = from_cents(var_c)
    out["variance_pct"] = pct
    out["volume_effect"] = from_cents(vol_c)
    out["mix_effect"] = from_cents(mix_c)
    out["price_effect"] = from_cents(price_c)
    return out
