"""Map sales budget lines to sales G/L accounts through the General Posting Setup.

Business Central's rule: a sales line posts to the **Sales Account** of the General Posting Setup
line for (the customer's *Gen. Bus. Posting Group*, the item's *Gen. Prod. Posting Group*). The
same rule maps every sales budget line (customer x item x location x period) to a G/L account.

A line that cannot be mapped is never dropped: it goes to the *unmapped* frame with every input
column, a ``reason_code``, a plain-language ``reason`` (all reasons that apply, joined by "; ")
and a ``fix``. Input total = mapped total + unmapped total, to the cent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_xl import schema
from sop_xl.errors import Location, StepError
from sop_xl.variance_money import to_cents

#: Reason codes in priority order (the first that applies is ``reason_code``).
REASONS: dict[str, str] = {
    "no_amount": "Amount is blank",
    "unknown_customer": "Unknown customer: not in Customers",
    "no_bus_group": "Customer has no Gen. Bus. Posting Group",
    "unknown_item": "Unknown item: not in Items",
    "no_prod_group": "Item has no Gen. Prod. Posting Group",
    "no_posting_setup": "No General Posting Setup line for this Gen. Bus. x Gen. Prod. group",
    "no_sales_account": "General Posting Setup line has no Sales Account",
    "unknown_gl_account": "Sales Account is not in G/L Accounts",
}

UNMAPPED_EXTRA = ("gen_bus_posting_group", "gen_prod_posting_group", "gl_account")


def as_key(s: pd.Series) -> pd.Series:
    """A key column as text objects: ``4000.0 -> '4000'``, text stripped, blanks -> None.

    ERP exports and spreadsheets mix ``4000`` (number) and ``'4000'`` (text) for the same code;
    comparing keys as normalised text keeps such a line from being reported as unmapped.
    """
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("string", "empty"):
        out = s.astype(object)
        stripped = out.where(out.isna(), out.astype("str").str.strip())
        return stripped.where(stripped.notna() & (stripped != ""), None).astype(object)

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        text = str(v).strip()
        return text or None

    return pd.Series([one(v) for v in s], index=s.index, dtype=object)


def _txt(s: pd.Series) -> pd.Series:
    """Text for messages: missing values read '(blank)'."""
    s = s.astype(object)
    return s.where(s.notna(), "(blank)").astype(str)


def _blank(s: pd.Series) -> np.ndarray:
    """True where a text value is missing or only whitespace."""
    return (s.isna() | (s.astype("str").str.strip() == "")).to_numpy()


def unique_index(df: pd.DataFrame, cols: list[str], table: schema.Table) -> pd.Index:
    """Index over the master-data key ``cols``; a duplicated key would double count, so it is
    an error naming the table and the duplicate."""
    idx = pd.MultiIndex.from_frame(df[cols]) if len(cols) > 1 else pd.Index(df[cols[0]])
    if not idx.is_unique:
        dup = idx[idx.duplicated()][0]
        shown = " x ".join(map(str, dup)) if isinstance(dup, tuple) else str(dup)
        headers = " + ".join(table.column(c).header for c in cols)
        raise StepError(
            f"{headers} {shown} appears more than once, so amounts would be counted twice.",
            where=Location(sheet=table.sheet, table=table.name, column=headers),
            fix=f"Keep one row per {headers} on sheet '{table.sheet}'.",
        )
    return idx


def lookup(keys: pd.Series, df: pd.DataFrame, key: str, value: str, table: schema.Table):
    """Vectorised left lookup ``keys -> df[value]`` by ``df[key]``: (values, found mask)."""
    pos = unique_index(df.assign(**{key: as_key(df[key])}), [key], table).get_indexer(keys)
    found = pos >= 0
    vals = df[value].to_numpy(dtype=object)
    out = np.full(len(keys), None, dtype=object)
    out[found] = vals[pos[found]]
    return out, found


def _join_text(parts: list[tuple[np.ndarray, pd.Series | str]], n: int) -> np.ndarray:
    """Join the texts whose mask is true with '; ' (vectorised over rows)."""
    out = pd.Series([""] * n, dtype=object)
    for mask, text in parts:
        if not mask.any():
            continue
        t = text[mask] if isinstance(text, pd.Series) else text
        sep = np.where(out[mask] == "", "", "; ")
        out[mask] = out[mask] + sep + t
    return out.to_numpy()


def map_sales_budget(
    sales_budget: pd.DataFrame,
    customers: pd.DataFrame,
    items: pd.DataFrame,
    posting_setup: pd.DataFrame,
    gl_accounts: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map sales budget lines to the sales G/L account of General Posting Setup.

    Rule: ``gl_account = PostingSetup[customer.gen_bus_posting_group,
    item.gen_prod_posting_group].sales_account``.

    Returns ``(mapped, unmapped)``. ``mapped`` has the input columns plus
    ``gen_bus_posting_group``, ``gen_prod_posting_group``, ``gl_account`` and ``amount_cents``
    (int64). ``unmapped`` has the input columns plus the two posting groups, ``gl_account`` (when
    known), ``amount_cents``, ``reason_code`` (see :data:`REASONS`), ``reason`` and ``fix``.
    When ``gl_accounts`` is given, a sales account missing from it is unmapped too (its account
    type, hence its favourable direction, is unknown).

    Invariant: ``mapped.amount_cents.sum() + unmapped.amount_cents.sum() ==
    to_cents(sales_budget.amount).sum()``; every input row is in exactly one of the two.
    """
    sb = sales_budget.reset_index(drop=True)
    n = len(sb)
    cust = as_key(sb["customer"])
    item = as_key(sb["item"])
    bus, cust_found = lookup(cust, customers, "customer", "gen_bus_posting_group", schema.CUSTOMERS)
    prod, item_found = lookup(item, items, "item", "gen_prod_posting_group", schema.ITEMS)
    bus_s, prod_s = as_key(pd.Series(bus, dtype=object)), as_key(pd.Series(prod, dtype=object))
    no_bus = cust_found & _blank(bus_s)
    no_prod = item_found & _blank(prod_s)
    groups_ok = cust_found & item_found & ~no_bus & ~no_prod

    setup = posting_setup.assign(
        gen_bus_posting_group=as_key(posting_setup["gen_bus_posting_group"]),
        gen_prod_posting_group=as_key(posting_setup["gen_prod_posting_group"]),
        sales_account=as_key(posting_setup["sales_account"]),
    )
    setup_idx = unique_index(
        setup, ["gen_bus_posting_group", "gen_prod_posting_group"], schema.POSTING_SETUP
    )
    pos = np.full(n, -1, dtype=np.int64)
    if groups_ok.any():
        keys = pd.MultiIndex.from_arrays([bus_s[groups_ok], prod_s[groups_ok]])
        pos[groups_ok] = setup_idx.get_indexer(keys)
    has_setup = pos >= 0
    accounts = setup["sales_account"].to_numpy(dtype=object)
    gl = np.full(n, None, dtype=object)
    gl[has_setup] = accounts[pos[has_setup]]
    gl_s = pd.Series(gl, dtype=object)
    no_setup = groups_ok & ~has_setup
    no_account = has_setup & _blank(gl_s)
    unknown_gl = np.zeros(n, dtype=bool)
    if gl_accounts is not None:
        gla = gl_accounts.assign(gl_account=as_key(gl_accounts["gl_account"]))
        known = unique_index(gla, ["gl_account"], schema.GL_ACCOUNTS)
        unknown_gl = has_setup & ~no_account & (known.get_indexer(gl_s) < 0)
    no_amount = sb["amount"].isna().to_numpy()

    checks = {
        "no_amount": no_amount,
        "unknown_customer": ~cust_found,
        "no_bus_group": no_bus,
        "unknown_item": ~item_found,
        "no_prod_group": no_prod,
        "no_posting_setup": no_setup,
        "no_sales_account": no_account,
        "unknown_gl_account": unknown_gl,
    }
    bad = np.zeros(n, dtype=bool)
    for m in checks.values():
        bad |= m

    out = sb.copy()
    out["gen_bus_posting_group"] = bus_s.to_numpy()
    out["gen_prod_posting_group"] = prod_s.to_numpy()
    out["gl_account"] = gl_s.to_numpy()
    out["amount_cents"] = to_cents(sb["amount"])

    mapped = out.loc[~bad].reset_index(drop=True)
    unmapped = out.loc[bad].reset_index(drop=True)
    if len(unmapped):
        sub = {k: m[bad] for k, m in checks.items()}
        nb = len(unmapped)
        c = _txt(unmapped["customer"])
        i = _txt(unmapped["item"])
        b = _txt(unmapped["gen_bus_posting_group"])
        p = _txt(unmapped["gen_prod_posting_group"])
        a = _txt(unmapped["gl_account"])
        combo = b + " x " + p
        unmapped["reason_code"] = np.select(list(sub.values()), list(sub.keys()), default="")
        unmapped["reason"] = _join_text(
            [
                (sub["no_amount"], "Amount is blank"),
                (sub["unknown_customer"], "Unknown customer " + c + ": not in Customers"),
                (sub["no_bus_group"], "Customer " + c + " has no Gen. Bus. Posting Group"),
                (sub["unknown_item"], "Unknown item " + i + ": not in Items"),
                (sub["no_prod_group"], "Item " + i + " has no Gen. Prod. Posting Group"),
                (sub["no_posting_setup"], "No posting setup for " + combo),
                (sub["no_sales_account"], "Posting setup " + combo + " has no Sales Account"),
                (
                    sub["unknown_gl_account"],
                    "Sales Account " + a + " (posting setup " + combo + ") is not in G/L Accounts",
                ),
            ],
            nb,
        )
        unmapped["fix"] = _join_text(
            [
                (sub["no_amount"], "Enter the amount (0 if none)"),
                (sub["unknown_customer"], "Add customer " + c + " to Customers or correct it"),
                (sub["no_bus_group"], "Fill in the customer's Gen. Bus. Posting Group"),
                (sub["unknown_item"], "Add item " + i + " to Items or correct it"),
                (sub["no_prod_group"], "Fill in the item's Gen. Prod. Posting Group"),
                (
                    sub["no_posting_setup"],
                    "Add a General Posting Setup line " + combo + " with a Sales Account",
                ),
                (sub["no_sales_account"], "Fill in the Sales Account of posting setup " + combo),
                (sub["unknown_gl_account"], "Add G/L account " + a + " to G/L Accounts"),
            ],
            nb,
        )
    else:
        for name in ("reason_code", "reason", "fix"):
            unmapped[name] = pd.Series([], dtype=object)
    return mapped, unmapped
