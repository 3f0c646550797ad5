"""Validation rules of the supply review inputs, as located findings.

Reference checks (unknown item or resource) and negative hours are the schema's own rules
(``Column.ref``, ``min_value``); these are the rules that need several tables at once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sop_xl.errors import Finding, Location
from sop_xl.model.schema import FORECAST, INVENTORY_POLICY, ITEMS, RESOURCES, ROUTINGS, Table


def _where(book: str, table: Table, rows: np.ndarray | None, i: int, column: str) -> Location:
    row = int(rows[i]) if rows is not None and len(rows) > i else None
    return Location(book, table.sheet, table.name, row=row, column=table.column(column).header)


def check(
    frames: Mapping[str, pd.DataFrame],
    rows: Mapping[str, np.ndarray] | None = None,
    book: str = "",
    horizon: list[str] | None = None,
) -> list[Finding]:
    """Findings for the supply inputs in ``frames`` (by table alias; missing = empty).

    - an Inventory Policy row names neither an item nor a family, or an unknown family;
    - a routing's resource is not on the Resources sheet;
    - an item with consensus demand in the horizon has no routing and is not marked Buy.
    """
    rows = rows or {}
    get = lambda t: frames.get(t.alias, pd.DataFrame(columns=t.names))  # noqa: E731
    items, routings, policy = get(ITEMS), get(ROUTINGS), get(INVENTORY_POLICY)
    resources, forecast = get(RESOURCES), frames.get(FORECAST.alias)
    out: list[Finding] = []
    families = set(items["family"].dropna()) if "family" in items else set()
    for i, (fam, item) in enumerate(zip(policy["family"], policy["item"], strict=True)):
        if pd.isna(fam) and pd.isna(item):
            out.append(
                Finding(
                    "error",
                    "this inventory policy row names neither an item family nor an item.",
                    _where(book, INVENTORY_POLICY, rows.get(INVENTORY_POLICY.alias), i, "family"),
                    "Type the item family (or an item number) the policy applies to.",
                    "supply.policy_scope",
                )
            )
        elif not pd.isna(fam) and families and fam not in families:
            out.append(
                Finding(
                    "error",
                    f"'{fam}' is not an item family on the Items sheet.",
                    _where(book, INVENTORY_POLICY, rows.get(INVENTORY_POLICY.alias), i, "family"),
                    f"Correct it to one of: {', '.join(sorted(families))}.",
                    "supply.policy_family",
                )
            )
    known = set(resources["resource"].dropna())
    if not routings.empty and known:
        for i in np.flatnonzero(~routings["resource"].isin(known).to_numpy()):
            out.append(
                Finding(
                    "error",
                    f"resource '{routings['resource'].iloc[i]}' is not on the Resources sheet.",
                    _where(book, ROUTINGS, rows.get(ROUTINGS.alias), int(i), "resource"),
                    "Add the resource (with its monthly capacity) to Resources, or correct it.",
                    "supply.routing_resource",
                )
            )
    if forecast is not None and not forecast.empty and not resources.empty:
        f = forecast
        if horizon is not None:
            f = f[f["period"].isin(horizon)]
        demanded = set(f.loc[f["quantity"].fillna(0) > 0, "item"])
        routed = set(routings["item"].dropna())
        buy = _buy_items(items, policy)
        missing = sorted(demanded - routed - buy)
        ftable = FORECAST
        for item in missing[:20]:
            i = int(np.flatnonzero((forecast["item"] == item).to_numpy())[0])
            out.append(
                Finding(
                    "warning",
                    f"item '{item}' has demand in the horizon but no routing, so its supply is "
                    "not checked against capacity.",
                    _where(book, ftable, rows.get(ftable.alias), i, "item"),
                    "Add its hours per unit on the Routings sheet, or mark it Buy on the "
                    "Inventory Policy sheet (item or family row).",
                    "supply.no_routing",
                )
            )
        if len(missing) > 20:
            out.append(
                Finding(
                    "warning",
                    f"... and {len(missing) - 20} more items with demand but no routing.",
                    Location(book, ROUTINGS.sheet, ROUTINGS.name),
                    rule="supply.no_routing",
                )
            )
    return out


def _buy_items(items: pd.DataFrame, policy: pd.DataFrame) -> set[str]:
    """Items whose policy (item row, else family row) says Buy."""
    rep = resolve_policy(items, policy)["replenishment"]
    return set(rep.index[rep.eq("Buy")])


def resolve_policy(items: pd.DataFrame, policy: pd.DataFrame) -> pd.DataFrame:
    """Per item (index): safety_stock, min_days, max_days, replenishment; an item row of the
    policy overrides its family's row field by field; blanks stay blank (Make by default)."""
    fields = ["safety_stock", "min_days", "max_days", "replenishment"]
    base = items.set_index("item")[["family"]]
    fam_rows = policy[policy["item"].isna() & policy["family"].notna()]
    fam = fam_rows.drop_duplicates("family", keep="last").set_index("family")[fields]
    out = fam.reindex(base["family"]).set_axis(base.index)
    item_rows = policy[policy["item"].notna()].drop_duplicates("item", keep="last")
    item_rows = item_rows.set_index("item")[fields].reindex(base.index)
    out = item_rows.combine_first(out) if not item_rows.empty else out
    out["replenishment"] = out["replenishment"].where(out["replenishment"].notna(), "Make")
    return out[fields]
