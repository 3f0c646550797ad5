"""Map sales budget lines to sales G/L accounts through the General Posting Setup.

Business Central's rule: a sales line posts to the **Sales Account** of the General Posting Setup
line for (the customer's *Gen. Bus. Posting Group*, the item's *Gen. Prod. Posting Group*). The
same rule maps every sales budget line (customer x item x location x period) to a G/L account.

A line that cannot be mapped is never dropped: it goes to the *unmapped* frame with every input
column, a ``reason_code``, a plain-language ``reason`` (all reasons that apply, joined by "; ")
and a ``fix``. Input total = mapped total + unmapped total, to the cent.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sop_xl.errors import Location, StepError
from sop_xl.model import schema
from sop_xl.variance.money import to_cents

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
    comparing keys as normalised text keeps such a line from being reported as unmapped. Only the
    distinct values are normalised (``pd.factorize``), so this is cheap on long columns.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            return None
        if isinstance(v, dt.date):  # a month typed as a date (periods are 'YYYY-MM' text)
            return f"{v.year:04d}-{v.month:02d}"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, np.integer | int) and not isinstance(v, bool):
            return str(int(v))
        text = str(v).strip()
        return text or None

    norm = np.array(
        [one(v) for v in np.asarray(uniques, dtype=object)] + [None], dtype=object
    )  # last: the NA sentinel
    return pd.Series(norm[codes], index=s.index, dtype=object)


def _codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of a normalised key: (codes with -1 for blank, distinct values)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _row_positions(keys: pd.Series, df: pd.DataFrame, key: str, table: schema.Table) -> np.ndarray:
    """Row of ``df`` whose ``key`` equals each of ``keys`` (-1: not found or blank).

    Keys are factorised first, so only the distinct values are normalised and looked up."""
    codes, uniques = pd.factorize(keys, use_na_sentinel=True)
    norm = as_key(pd.Series(uniques, dtype=object))
    index = unique_index(df.assign(**{key: as_key(df[key])}), [key], table)
    pos_u = np.append(index.get_indexer(pd.Index(norm, dtype=object)), -1)
    pos_u[:-1][norm.isna().to_numpy()] = -1  # a blank code never matches
    return pos_u[codes]  # the NA sentinel -1 takes the appended -1


def _txt(s: pd.Series) -> np.ndarray:
    """Text for messages as an object array (str per value; missing values read '(blank)')."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    labels = np.array(
        [str(u) for u in np.asarray(uniques, dtype=object)] + ["(blank)"], dtype=object
    )
    return labels[codes]


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
    """Vectorised left lookup ``keys -> df[value]`` by ``df[key]`` (keys normalised with
    :func:`as_key`): (values as objects, None where not found; found mask)."""
    pos = _row_positions(keys, df, key, table)
    vals = np.append(df[value].to_numpy(dtype=object), None)
    return vals[pos], pos >= 0


def _join_text(parts: list[tuple[np.ndarray, np.ndarray | str]], n: int) -> np.ndarray:
    """Join the texts whose mask is true with '; ' (vectorised over rows, object arrays)."""
    out = np.full(n, "", dtype=object)
    for mask, text in parts:
        k = int(mask.sum())
        if not k:
            continue
        t = text[mask] if isinstance(text, np.ndarray) else np.full(k, text, dtype=object)
        cur = out[mask]
        out[mask] = np.where(cur == "", t, cur + "; " + t)
    return out


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
    # Work on the distinct codes, then broadcast to rows with integer takes (fast on 500k lines).
    cpos = _row_positions(sb["customer"], customers, "customer", schema.CUSTOMERS)
    ipos = _row_positions(sb["item"], items, "item", schema.ITEMS)
    cust_found, item_found = cpos >= 0, ipos >= 0
    bus_codes, bus_names = _codes(as_key(customers["gen_bus_posting_group"]))
    prod_codes, prod_names = _codes(as_key(items["gen_prod_posting_group"]))
    b = np.where(cust_found, bus_codes[cpos], -1)
    p = np.where(item_found, prod_codes[ipos], -1)
    no_bus = cust_found & (b < 0)
    no_prod = item_found & (p < 0)
    groups_ok = cust_found & item_found & ~no_bus & ~no_prod

    setup = posting_setup.assign(
        gen_bus_posting_group=as_key(posting_setup["gen_bus_posting_group"]),
        gen_prod_posting_group=as_key(posting_setup["gen_prod_posting_group"]),
        sales_account=as_key(posting_setup["sales_account"]),
    ).reset_index(drop=True)
    unique_index(setup, ["gen_bus_posting_group", "gen_prod_posting_group"], schema.POSTING_SETUP)
    # table[bus code, prod code] -> posting setup row (-1: no line)
    table = np.full((len(bus_names) + 1, len(prod_names) + 1), -1, dtype=np.int64)
    sb_ = pd.Index(bus_names, dtype=object).get_indexer(setup["gen_bus_posting_group"])
    sp_ = pd.Index(prod_names, dtype=object).get_indexer(setup["gen_prod_posting_group"])
    ok = (sb_ >= 0) & (sp_ >= 0)
    table[sb_[ok], sp_[ok]] = np.flatnonzero(ok)
    pos = np.full(n, -1, dtype=np.int64)
    pos[groups_ok] = table[b[groups_ok], p[groups_ok]]
    has_setup = pos >= 0
    accounts = np.append(setup["sales_account"].to_numpy(dtype=object), None)
    account_blank = np.append(setup["sales_account"].isna().to_numpy(), False)
    no_setup = groups_ok & ~has_setup
    no_account = has_setup & account_blank[pos]
    unknown_gl = np.zeros(n, dtype=bool)
    if gl_accounts is not None:
        gla = gl_accounts.assign(gl_account=as_key(gl_accounts["gl_account"]))
        known = unique_index(gla, ["gl_account"], schema.GL_ACCOUNTS)
        acct_known = np.append(known.get_indexer(setup["sales_account"]) >= 0, True)
        unknown_gl = has_setup & ~no_account & ~acct_known[pos]
    bus_s = pd.Series(np.append(bus_names, None)[b], dtype=object)
    prod_s = pd.Series(np.append(prod_names, None)[p], dtype=object)
    gl_s = pd.Series(accounts[pos], dtype=object)
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
    out["gen_bus_posting_group"] = bus_s.set_axis(out.index)  # object dtype: no string inference
    out["gen_prod_posting_group"] = prod_s.set_axis(out.index)  # object dtype: no string inference
    out["gl_account"] = gl_s.set_axis(out.index)  # object dtype: no string inference
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
