"""Sales budget -> G/L mapping, sales budget vs financial budget, money rounding.

Expected numbers are computed by hand from tests/variance/test_variance_fixtures.py (comments
show how).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_variance_fixtures import (
    CUSTOMERS,
    FINANCIAL_BUDGET,
    GL_ACCOUNTS,
    INPUT_TOTAL,
    ITEMS,
    MAPPED_TOTAL,
    POSTING_SETUP,
    SALES_BUDGET,
    UNMAPPED_TOTAL,
)

from sop_xl.errors import StepError
from sop_xl.variance.money import allocate_cents, money_text, to_cents
from sop_xl.variance.step import budget_vs_budget, map_sales_budget


def cents(x) -> int:
    return int(to_cents(x).sum())


def bvb(sb=SALES_BUDGET, fb=FINANCIAL_BUDGET, **kw):
    return budget_vs_budget(sb, fb, CUSTOMERS, ITEMS, POSTING_SETUP, GL_ACCOUNTS, **kw)


# --- money ------------------------------------------------------------------------------------
def test_to_cents_rounds_half_away_from_zero_without_binary_noise():
    got = to_cents(np.array([0.125, -0.125, 0.285, -0.285, 1234.56, 0.004999, np.nan]))
    assert got.tolist() == [13, -13, 29, -29, 123456, 0, 0]
    assert to_cents(np.array([0.1] * 10)).sum() == 100  # while sum([0.1] * 10) != 1.0


def test_allocate_cents_lines_add_up_to_rounded_total_per_group():
    got = allocate_cents(np.array([1 / 3, 1 / 3, 1 / 3, -2 / 3, -1 / 3]), np.array([0, 0, 0, 1, 1]))
    assert got.tolist() == [34, 33, 33, -67, -33]
    assert money_text(-123456) == "(1,234.56)" and money_text(5, "EUR") == "0.05 EUR"


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=60
    )
)
def test_allocate_cents_property(rows):
    groups = np.array([g for g, _ in rows])
    values = np.array([v for _, v in rows])
    got = allocate_cents(values, groups)
    for g in set(groups.tolist()):
        m = groups == g
        assert got[m].sum() == to_cents(values[m].sum())  # exact rounded total
        assert np.all(np.abs(got[m] - values[m] * 100) < 1.0 + 1e-6)  # each line within a cent


# --- mapping ----------------------------------------------------------------------------------
def test_mapping_accounts_and_every_unmapped_reason():
    mapped, unmapped = map_sales_budget(SALES_BUDGET, CUSTOMERS, ITEMS, POSTING_SETUP, GL_ACCOUNTS)
    assert mapped["gl_account"].tolist() == ["4000", "4000", "4000", "4100", "4100", "4200", "4000"]
    assert mapped["amount_cents"].sum() == round(MAPPED_TOTAL * 100)
    assert unmapped["amount_cents"].sum() == round(UNMAPPED_TOTAL * 100)
    by_code = dict(zip(unmapped["reason_code"], unmapped["reason"], strict=True))
    assert by_code == {
        "unknown_customer": "Unknown customer C9: not in Customers",
        "unknown_item": "Unknown item I8: not in Items",
        "no_bus_group": "Customer C4 has no Gen. Bus. Posting Group",
        "no_prod_group": "Item I4 has no Gen. Prod. Posting Group",
        "no_posting_setup": "No posting setup for EXP x WHOLESALE",
        "no_sales_account": "Posting setup DOM x SPECIAL has no Sales Account",
        "unknown_gl_account": (
            "Sales Account 4999 (posting setup EXP x SPECIAL) is not in G/L Accounts"
        ),
    }
    # unmapped rows keep every input column, plus a fix
    assert set(SALES_BUDGET.columns) <= set(unmapped.columns)
    fix = unmapped.set_index("reason_code")["fix"]
    assert (
        fix["no_posting_setup"]
        == "Add a General Posting Setup line EXP x WHOLESALE with a Sales Account"
    )
    row = unmapped.set_index("reason_code").loc["unknown_gl_account"]
    assert (row["customer"], row["item"], row["amount"], row["gl_account"]) == (
        "C2",
        "I5",
        -7.77,
        "4999",
    )


def test_mapping_reports_all_reasons_of_a_line_and_blank_amount():
    sb = pd.DataFrame(
        {
            "customer": ["C9", "C1"],
            "item": ["I8", "I1"],
            "location": "L1",
            "period": "2026-01",
            "quantity": [1.0, 1.0],
            "amount": [5.0, np.nan],
        }
    )
    mapped, unmapped = map_sales_budget(sb, CUSTOMERS, ITEMS, POSTING_SETUP)
    assert len(mapped) == 0
    assert unmapped["reason_code"].tolist() == ["unknown_customer", "no_amount"]
    assert (
        unmapped["reason"][0]
        == "Unknown customer C9: not in Customers; Unknown item I8: not in Items"
    )
    assert unmapped["reason"][1] == "Amount is blank"


def test_mapping_matches_codes_typed_as_numbers():
    # An export gives customer 10000 as a number in one table and as text in another.
    cust = CUSTOMERS.assign(customer=[10000.0, 20000.0, 30000.0, 40000.0])
    setup = POSTING_SETUP.assign(sales_account=[4000.0, 4100.0, 4200.0, np.nan, 4999.0])
    sb = SALES_BUDGET.iloc[:1].assign(customer="10000")
    mapped, unmapped = map_sales_budget(sb, cust, ITEMS, setup, GL_ACCOUNTS)
    assert mapped["gl_account"].tolist() == ["4000"] and len(unmapped) == 0


def test_duplicate_master_key_is_an_error_not_a_double_count():
    dup = pd.concat([CUSTOMERS, CUSTOMERS.iloc[:1]], ignore_index=True)
    with pytest.raises(StepError) as err:
        map_sales_budget(SALES_BUDGET, dup, ITEMS, POSTING_SETUP)
    text = str(err.value)
    assert "sheet 'Customers'" in text and "C1" in text and "Fix:" in text


# --- budget vs budget -------------------------------------------------------------------------
def test_budget_vs_budget_hand_computed_lines():
    r = bvb()
    got = r.by_account.set_index(["gl_account", "period"])
    # gl, period: sales budget, financial budget, variance, assessment
    expected = {
        ("4000", "2026-01"): (180.10, 150.00, 30.10, "Favourable"),  # 100 + 100.10 - 20
        ("4000", "2026-02"): (0.00, 50.00, -50.00, "Unfavourable"),
        ("4000", "2026-03"): (10.00, 0.00, 10.00, "Favourable"),
        ("4000", "2026-04"): (0.00, 25.00, -25.00, "Unfavourable"),
        ("4100", "2026-01"): (33.33, 40.00, -6.67, "Unfavourable"),
        ("4100", "2026-02"): (33.33, 0.00, 33.33, "Favourable"),  # blank budget cell
        ("4200", "2026-01"): (500.00, 0.00, 500.00, "Favourable"),
        ("5000", "2026-01"): (0.00, 60.00, -60.00, ""),  # cost account outside the sales budget
    }
    assert list(got.index) == list(expected)
    for key, (s, f, v, a) in expected.items():
        line = got.loc[key]
        assert (line.sales_budget, line.financial_budget, line.variance) == (s, f, v), key
        assert line.assessment == a, key
    assert got.loc[("4000", "2026-01"), "variance_pct"] == pytest.approx(3010 / 15000)
    assert got.loc[("4100", "2026-01"), "variance_pct"] == pytest.approx(-667 / 4000)
    assert got.loc[("4000", "2026-01"), "account_name"] == "Sales domestic"


def test_one_sided_periods_and_accounts_appear_with_a_note_never_dropped():
    got = bvb().by_account.set_index(["gl_account", "period"])["note"]
    assert got[("4000", "2026-03")] == "period not in financial budget; no budget"
    assert got[("4000", "2026-04")] == "period not in sales budget"
    assert got[("4000", "2026-02")] == "no sales budget for this account and period"
    assert got[("4100", "2026-02")] == "no financial budget for this account and period; no budget"
    assert got[("4200", "2026-01")] == "G/L account not in financial budget; no budget"
    assert got[("5000", "2026-01")].startswith("not a sales account in General Posting Setup")
    assert got[("4000", "2026-01")] == ""


def test_variance_pct_is_undefined_when_budget_is_zero():
    ba = bvb().by_account
    zero = ba["financial_budget"] == 0
    assert ba.loc[zero, "variance_pct"].isna().all()
    assert ba.loc[zero, "note"].str.contains("no budget").all()
    assert ba.loc[~zero, "variance_pct"].notna().all()


def test_cost_account_above_budget_is_unfavourable():
    gl = GL_ACCOUNTS.assign(account_type=["Cost", "Revenue", "Revenue", "Cost"])
    r = budget_vs_budget(SALES_BUDGET, FINANCIAL_BUDGET, CUSTOMERS, ITEMS, POSTING_SETUP, gl)
    got = r.by_account.set_index(["gl_account", "period"])["assessment"]
    assert got[("4000", "2026-01")] == "Unfavourable"  # +30.10 on a cost account
    assert got[("4000", "2026-02")] == "Favourable"  # -50.00 on a cost account
    assert "sales_account_is_cost" in set(r.findings["kind"])


def test_findings_account_missing_from_financial_budget_and_one_sided_periods():
    f = bvb().findings
    missing = f.loc[f["kind"] == "account_not_in_financial_budget"].iloc[0]
    assert (missing["gl_account"], missing["rows"], missing["amount"]) == ("4200", 1, 500.00)
    one_side = f.loc[f["kind"] == "period_one_side_only"].set_index("period")
    assert one_side.loc["2026-03", "amount"] == 10.00
    assert "only in the sales budget" in one_side.loc["2026-03", "message"]
    assert one_side.loc["2026-04", "amount"] == 25.00
    assert "only in the financial budget" in one_side.loc["2026-04", "message"]


def test_negative_revenue_budget_is_flagged_as_credit_sign():
    fb = FINANCIAL_BUDGET.assign(amount=-FINANCIAL_BUDGET["amount"])
    f = bvb(fb=fb).findings
    kinds = f.loc[f["kind"] == "revenue_budget_negative", "gl_account"].tolist()
    assert kinds == ["4000", "4100"]


def test_totals_and_reconciliation_to_the_cent():
    r = bvb()
    t = r.totals.set_index("account_type")
    assert t.loc["Revenue", "sales_budget"] == MAPPED_TOTAL
    assert t.loc["Revenue", "financial_budget"] == 265.00  # 150 + 50 + 25 + 40
    assert t.loc["Revenue", "variance"] == 491.76
    assert "Cost" not in t.index  # 5000 is outside the sales budget: not a compared cost
    assert t.loc["Outside the sales budget", ["lines", "financial_budget"]].tolist() == [1, 60.0]
    rc = r.reconciliation.set_index("line")
    assert rc.loc["Sales budget input", "amount"] == INPUT_TOTAL
    assert rc.loc["Sales budget input", "rows"] == 14
    assert rc.loc["Mapped to G/L accounts", "amount"] == MAPPED_TOTAL
    assert rc.loc["Unmapped total", ["rows", "amount"]].tolist() == [7, UNMAPPED_TOTAL]
    assert rc.loc["Financial budget input", "amount"] == 325.00
    assert rc.loc["Financial budget input", "note"] == "1 blank cells (no budget)"
    checks = r.reconciliation.loc[r.reconciliation["line"].str.startswith("Difference")]
    assert (checks["status"] == "OK").all() and (checks["amount"] == 0).all()
    unknown = rc.loc["Unmapped: Unknown customer: not in Customers"]
    assert (unknown["rows"], unknown["amount"]) == (1, 11.11)


def test_displayed_totals_have_no_floating_drift():
    # 1,000 lines of 0.10 and 1,000 of 0.20: float sums drift, cents do not.
    n = 1000
    sb = pd.DataFrame(
        {
            "customer": "C1",
            "item": ["I1", "I2"] * n,
            "location": "L1",
            "period": [f"2026-{m:02d}" for m in range(1, 11)] * (2 * n // 10),
            "quantity": 1.0,
            "amount": [0.1, 0.2] * n,
        }
    )
    assert sum(sb["amount"].tolist()) != 300.0  # the float drift (running sum) we must not show
    fb = pd.DataFrame({"gl_account": ["4000"], "period": ["2026-01"], "amount": [0.3]})
    r = bvb(sb=sb, fb=fb)
    ba = r.by_account
    assert (ba["sales_budget"] * 100).round().astype("int64").sum() == 30000
    # I1 (0.10) falls in odd months, I2 (0.20) in even months: 200 lines per month
    assert ba.loc[ba["period"] == "2026-01", "sales_budget"].item() == 20.00
    assert ba.loc[ba["period"] == "2026-02", "sales_budget"].item() == 40.00
    assert r.totals.set_index("account_type").loc["Revenue", "sales_budget"] == 300.00
    # every displayed amount is an exact cent value
    for c in ("sales_budget", "financial_budget", "variance"):
        assert np.array_equal(ba[c], np.round(ba[c], 2))
    # displayed total = sum of displayed lines
    assert cents(ba["variance"]) == round(r.totals["variance"].sum() * 100)


def test_sub_cent_inputs_are_reported():
    sb = SALES_BUDGET.iloc[:3].assign(amount=[0.333, 0.333, 0.334])
    f = bvb(sb=sb).findings
    sub = f.loc[f["kind"] == "sub_cent_amounts"].iloc[0]
    assert sub["rows"] == 3 and "sales budget" in sub["message"]


# --- property: nothing is lost ----------------------------------------------------------------
codes = st.sampled_from(["C1", "C2", "C3", "C4", "C9", None])
item_codes = st.sampled_from(["I1", "I2", "I3", "I4", "I5", "I8"])
amounts = st.one_of(
    st.integers(-(10**9), 10**9).map(lambda c: c / 100),
    st.floats(-1e7, 1e7, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(codes, item_codes, st.sampled_from(["2026-01", "2026-02", "2026-05"]), amounts),
        min_size=0,
        max_size=40,
    ),
    st.lists(st.tuples(st.sampled_from(["4000", "4100", "5000", "4300"]), amounts), max_size=8),
)
def test_mapped_plus_unmapped_equals_input_for_random_inputs(rows, fb_rows):
    sb = pd.DataFrame(
        {
            "customer": [r[0] for r in rows],
            "item": [r[1] for r in rows],
            "location": "L1",
            "period": [r[2] for r in rows],
            "quantity": 1.0,
            "amount": pd.Series([r[3] for r in rows], dtype="float64"),
        }
    )
    fb = pd.DataFrame(
        {
            "gl_account": [a for a, _ in fb_rows],
            "period": "2026-01",
            "amount": pd.Series([x for _, x in fb_rows], dtype="float64"),
        }
    )
    r = bvb(sb=sb, fb=fb)
    total_in = cents(sb["amount"])
    assert r.mapped["amount_cents"].sum() + r.unmapped["amount_cents"].sum() == total_in
    assert len(r.mapped) + len(r.unmapped) == len(sb)
    assert cents(r.by_account["sales_budget"]) == r.mapped["amount_cents"].sum()
    assert cents(r.by_account["financial_budget"]) == cents(fb["amount"])
    assert cents(r.by_account["variance"]) == cents(r.by_account["sales_budget"]) - cents(
        r.by_account["financial_budget"]
    )
    assert (r.reconciliation.loc[r.reconciliation["status"] != "", "status"] == "OK").all()


# --- grouping engine --------------------------------------------------------------------------
def test_group_ids_sorted_keys_and_exact_integer_sums():
    from sop_xl.variance.group import count, group_ids, int_sum

    a = np.array(["b", "a", "b", "a", "c"], dtype=object)
    p = np.array(["2026-02", "2026-01", "2026-02", "2026-02", "2026-01"], dtype=object)
    gid, (ka, kp) = group_ids([a, p])
    assert list(zip(ka, kp, strict=True)) == [
        ("a", "2026-01"),
        ("a", "2026-02"),
        ("b", "2026-02"),
        ("c", "2026-01"),
    ]
    assert count(gid, 4).tolist() == [1, 1, 2, 1]
    big = np.array([2**60, 1, 2**60, 3, -5], dtype=np.int64)  # beyond float precision
    assert int_sum(gid, big, 4).tolist() == [1, 3, 2**61, -5]
    small = np.array([10, 20, 30, 40, 50], dtype=np.int64)
    assert int_sum(gid, small, 4).tolist() == [20, 40, 40, 50]


def test_as_key_normalises_numbers_blanks_and_spaces():
    from sop_xl.variance.mapping import as_key

    got = as_key(pd.Series([4000.0, " 4000 ", 4000, None, "", "  ", "C1", np.nan], dtype=object))
    assert got.tolist() == ["4000", "4000", "4000", None, None, None, "C1", None]
    months = as_key(pd.Series([pd.Timestamp("2026-01-01"), "2026-01", pd.NaT], dtype=object))
    assert months.tolist() == ["2026-01", "2026-01", None]


def test_budgeted_revenue_account_no_posting_setup_points_to_is_assessed_at_minus_100():
    # Issue 14: G/L 4300 "Sales wholesale export" is a Revenue account finance budgeted at 80.00,
    # but no General Posting Setup line points to it (EXP x WHOLESALE has no setup line). Before
    # the fix it was "outside the sales budget" and left out of the revenue total.
    gl = pd.concat(
        [
            GL_ACCOUNTS,
            pd.DataFrame(
                {
                    "gl_account": ["4300"],
                    "name": ["Sales Wholesale Exp"],
                    "account_type": ["Revenue"],
                }
            ),
        ],
        ignore_index=True,
    )
    fb = pd.concat(
        [
            FINANCIAL_BUDGET,
            pd.DataFrame({"gl_account": ["4300"], "period": ["2026-01"], "amount": [80.0]}),
        ],
        ignore_index=True,
    )
    r = budget_vs_budget(SALES_BUDGET, fb, CUSTOMERS, ITEMS, POSTING_SETUP, gl)
    row = r.by_account.set_index(["gl_account", "period"]).loc[("4300", "2026-01")]
    # sales budget 0 - financial budget 80.00 = -80.00; -80 / |80| = -100 %
    assert (row["sales_budget"], row["financial_budget"], row["variance"]) == (0.0, 80.0, -80.0)
    assert row["variance_pct"] == -1.0
    assert row["assessment"] == "Unfavourable"
    assert "no General Posting Setup line points to" in row["note"]
    t = r.totals.set_index("account_type")
    # revenue financial budget 265.00 (as before) + 80.00 = 345.00; variance 491.76 - 80 = 411.76
    assert t.loc["Revenue", "financial_budget"] == 345.00
    assert t.loc["Revenue", "variance"] == 411.76
    assert t.loc["Outside the sales budget", "financial_budget"] == 60.0  # cost 5000 only
    f = r.findings.loc[r.findings["kind"] == "revenue_account_not_mapped"].iloc[0]
    # the unmapped line with no posting setup is C2 x I3 (EXP x WHOLESALE) 5.55; the account's
    # name names both groups, so it is the one linked (the SPECIAL line has a setup row).
    assert (f["gl_account"], f["rows"], f["amount"]) == ("4300", 1, 5.55)
    assert "EXP x WHOLESALE" in f["message"] and "Unmapped" in f["message"]
