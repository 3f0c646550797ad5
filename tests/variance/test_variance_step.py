"""The cycle step run_variances over an in-memory Book, and its output sheets."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_variance_fixtures import INPUT_TOTAL, MAPPED_TOTAL, SETTINGS, UNMAPPED_TOTAL, book

from sop_xl.errors import StepError
from sop_xl.model import schema
from sop_xl.model.schema import Dtype, Settings
from sop_xl.model.sheets import CellRule, FormulaRule
from sop_xl.variance.money import to_cents
from sop_xl.variance.step import review_periods, run_variances

SHEETS = [
    "VarianceSummary",
    "VarianceDetail",
    "VarianceRollup",
    "PriceVolumeMix",
    "PVMByCustomer",
    "Unmapped",
    "VarianceRecon",
]


@pytest.fixture(scope="module")
def run():
    b = book()
    return b, run_variances(b)


def test_writes_all_sheets_once_with_declared_columns(run):
    b, r = run
    assert len(b.writes) == 1
    outs = b.writes[0]
    assert [o.sheet for o in outs] == SHEETS
    assert outs == r.outputs
    for o in outs:
        assert o.table.output and o.table in schema.OUTPUT_TABLES
        assert list(o.df.columns) == o.table.names, o.sheet
        for c in o.table.columns:  # money / pct / qty columns hold numbers, not text
            if c.dtype in (Dtype.MONEY, Dtype.PCT, Dtype.QTY) and len(o.df):
                assert o.df[c.name].dtype.kind == "f", (o.sheet, c.name)
    assert b.messages[-1] == ("Variances: done", 1.0)
    fractions = [f for _, f in b.messages]
    assert fractions == sorted(fractions)


def test_summary_sheet_title_totals_equal_sum_of_displayed_lines(run):
    _, r = run
    out = r.outputs[0]
    assert out.title[0] == "Sales budget vs financial budget"
    df = out.df
    rev = df["account_type"] == "Revenue"
    line = next(t for t in out.title if t.startswith("Revenue accounts:"))
    shown = [int(x.replace(",", "").replace(".", "")) for x in re.findall(r"[\d,]+\.\d\d", line)]
    assert shown[:3] == [
        to_cents(df.loc[rev, "sales_budget"]).sum(),
        to_cents(df.loc[rev, "financial_budget"]).sum(),
        to_cents(df.loc[rev, "variance"]).sum(),
    ]
    assert (
        "Outside the sales budget (financial budget only, not assessed): 1 lines, "
        "financial budget 60.00" in out.title
    )
    recon = next(t for t in out.title if t.startswith("Reconciliation:"))
    assert f"input {INPUT_TOTAL:,.2f} = mapped {MAPPED_TOTAL:,.2f}" in recon
    assert f"unmapped {UNMAPPED_TOTAL:,.2f} (7 lines" in recon and "difference 0.00" in recon


def test_threshold_rules_use_both_settings_and_assessment(run):
    _, r = run
    rules = r.outputs[0].conditional_formats
    assert {x.column for x in rules} == {"variance", "variance_pct"}
    assert all(isinstance(x, FormulaRule) for x in rules)
    red = [x for x in rules if x.fill == "FFC7CE"]
    green = [x for x in rules if x.fill == "C6EFCE"]
    assert len(red) == len(green) == 2
    f = red[0].formula
    # beyond 20.00 (amount) AND beyond 10% (or no budget), and unfavourable
    assert "ABS({variance})>20" in f and "ABS({variance_pct})>0.1" in f
    assert "NOT(ISNUMBER({variance_pct}))" in f and '{assessment}="Unfavourable"' in f
    assert '{assessment}="Favourable"' in green[0].formula
    detail_rules = r.outputs[1].conditional_formats
    assert {x.column for x in detail_rules} == {
        "var_budget",
        "var_budget_pct",
        "var_forecast",
        "var_forecast_pct",
    }
    assert any("{var_budget}<0" in x.formula and x.fill == "FFC7CE" for x in detail_rules)
    recon_rules = r.outputs[-1].conditional_formats
    assert all(isinstance(x, CellRule) and x.column == "status" for x in recon_rules)


def test_flagged_count_matches_hand_count(run):
    _, r = run
    # beyond 20.00 and 10%: 4000-01 (+30.10, 20%), 4000-02 (-50), 4000-04 (-25), 4100-02
    # (+33.33, no budget), 4200-01 (+500, no budget); 5000 (-60) is not comparable.
    assert "5 beyond thresholds" in r.summary
    assert r.outputs[0].title[-1].endswith("5 lines.")


def test_unmapped_sheet_lists_every_line_with_reason_and_amount(run):
    _, r = run
    un = r.outputs[5].df
    assert len(un) == 7
    assert to_cents(un["amount"]).sum() == round(UNMAPPED_TOTAL * 100)
    assert un["reason"].str.len().gt(0).all() and un["fix"].str.len().gt(0).all()
    assert "7 lines, amount 45.54" in r.outputs[5].title[2]


def test_reconciliation_sheet_is_all_ok_and_lists_findings(run):
    _, r = run
    rec = r.outputs[-1].df
    status = rec["status"]
    assert set(status) <= {"", "OK", "Finding"}
    assert (rec.loc[status == "OK", "amount"] == 0).all()
    assert (status == "OK").sum() >= 12
    findings = rec.loc[status == "Finding"]
    assert len(findings) == len(r.findings)
    assert "account_not_in_financial_budget" in set(findings["note"])
    assert "reconciled to the cent" in r.summary and "\n" not in r.summary


def test_detail_pvm_and_rollup_sheets(run):
    _, r = run
    detail = r.outputs[1].df
    assert sorted(set(detail["period"])) == ["2026-01", "2026-02"]  # cycle 2026-03: Jan-Feb
    total = next(t for t in r.outputs[1].title if t.startswith("Totals:"))
    # forecast at the expected realised price (trailing 12 months 2025-03..2026-02, issue 14):
    # I1 (12 - 1 + 2 units for 126.00 - 10.50 + 19.00) = 134.50 / 13; I2 84.00 / 4 = 21.00.
    # I1: 11 -> 113.81, 2 -> 20.69, 2.5 -> 25.87 (rounded per line); I2: 3 x 21.00 = 63.00.
    # At list price it read 215.00 (11 x 10 + 2 x 10 + 3 x 20 + 2.5 x 10).
    assert total == (
        "Totals: actual 263.50 | budget 792.30 | variance (528.80) | forecast 223.37 | "
        "variance 40.13"
    )
    pvm = r.outputs[3].df
    parts = sum(to_cents(pvm[c]) for c in ("volume_effect", "mix_effect", "price_effect"))
    assert np.array_equal(parts, to_cents(pvm["revenue_variance"]))
    assert to_cents(pvm["revenue_variance"]).sum() == -52880
    by_cust = r.outputs[4]
    c = by_cust.df
    assert by_cust.sheet == "PVMByCustomer" and set(c["level"]) == {"Region", "Customer"}
    assert c.loc[c["level"] == "Region", "customer"].isna().all()
    assert c.loc[c["level"] == "Customer", "customer"].notna().all()
    for level in ("Region", "Customer"):  # each level alone adds up to the same variance
        sub = c.loc[c["level"] == level]
        parts = sum(to_cents(sub[k]) for k in ("volume_effect", "mix_effect", "price_effect"))
        assert np.array_equal(parts, to_cents(sub["revenue_variance"]))
        assert to_cents(sub["revenue_variance"]).sum() == -52880
    assert any(t.startswith("Mix unit item: volume") for t in by_cust.title)
    # the sheet sums the customer x item lines per customer and period, to the cent
    detail = r.pvm_levels["customer"]
    assert set(r.pvm_levels) == {"item", "region", "customer"} and len(detail) >= len(c) // 2
    want = detail.groupby(["period", "customer"])["mix_effect"].apply(lambda s: to_cents(s).sum())
    got = c[c["level"] == "Customer"].set_index(["period", "customer"])["mix_effect"]
    assert (to_cents(got.sort_index()) == want.sort_index().to_numpy()).all()
    rec = r.reconciliation
    pvm_checks = rec[rec["line"].str.contains("mix unit", na=False)]
    assert len(pvm_checks) == 3 and (pvm_checks["status"] == "OK").all()
    roll = r.outputs[2].df
    assert set(roll["level"]) == {"Family", "Region", "Customer"}
    for level in ("Family", "Region", "Customer"):
        sub = roll.loc[roll["level"] == level]
        assert to_cents(sub["actual_amount"]).sum() == to_cents(detail["actual_amount"]).sum()


def test_missing_actuals_and_forecast_still_compare_budgets():
    b = book(SalesActuals=True, Forecast=True)
    r = run_variances(b)
    assert len(r.detail) > 0 and (r.detail["actual_amount"] == 0).all()
    assert r.detail["forecast_amount"].eq(0).all()
    kinds = list(r.findings["kind"])
    assert kinds.count("table_missing") == 2 and "no_actuals" in kinds
    assert len(b.writes) == 1 and len(b.writes[0]) == len(SHEETS)


def test_missing_sales_budget_is_a_clear_error():
    b = book(SalesBudget=True)
    with pytest.raises(StepError) as err:
        run_variances(b)
    text = str(err.value)
    assert "tblSalesBudget" in text and "sheet 'SalesBudget'" in text and "Fix:" in text
    assert b.writes == []  # nothing written


def test_empty_unmapped_still_replaces_the_sheet():
    b = book()
    sb = b.tables["tblSalesBudget"]
    b.tables["tblSalesBudget"] = sb.iloc[:7]  # only mappable lines
    r = run_variances(b)
    un = b.writes[0][5]
    assert un.sheet == "Unmapped" and len(un.df) == 0
    assert list(un.df.columns) == schema.UNMAPPED.names
    assert un.title[2].startswith("None: every sales budget line is mapped")
    assert len(r.unmapped) == 0


@pytest.mark.parametrize(
    ("cycle", "fy_start", "expected"),
    [
        ("2026-03", 1, ["2026-01", "2026-02"]),
        ("2026-01", 1, [f"2025-{m:02d}" for m in range(1, 13)]),
        ("2026-03", 7, [f"2025-{m:02d}" for m in range(7, 13)] + ["2026-01", "2026-02"]),
        ("2026-08", 7, ["2026-07"]),
    ],
)
def test_review_periods_fiscal_year_to_date(cycle, fy_start, expected):
    s = Settings(cycle=cycle, fiscal_year_start_month=fy_start)
    assert review_periods(s) == expected


def test_explicit_periods_override():
    b = book()
    r = run_variances(b, periods=["2026-02"])
    assert set(r.detail["period"]) == {"2026-02"}
    assert SETTINGS.cycle == "2026-03"


# --- end to end through a real workbook file ---------------------------------------------------
def test_end_to_end_file_book_read_back_with_openpyxl_and_calamine(tmp_path):
    """Inputs written into the standard workbook, the step run through FileBook into a copy,
    the result read back by two independent readers."""
    import hashlib

    import openpyxl
    from python_calamine import CalamineWorkbook
    from test_variance_fixtures import CUSTOMERS, ITEMS, POSTING_SETUP, SALES_BUDGET

    from sop_xl.io.filebook import FileBook
    from sop_xl.io.template import build_template
    from sop_xl.io.writer import write_sheets
    from sop_xl.model.sheets import SheetOutput

    src, dst = tmp_path / "plan.xlsx", tmp_path / "out.xlsx"
    build_template(src, SETTINGS)
    tables = book().tables
    # the reader rejects blank posting groups / sales accounts, so leave those lines out here
    tables["tblCustomers"] = CUSTOMERS.iloc[:3]
    tables["tblItems"] = ITEMS.drop(index=3)
    tables["tblPostingSetup"] = POSTING_SETUP.drop(index=3)
    tables["tblSalesBudget"] = SALES_BUDGET.loc[
        ~SALES_BUDGET["customer"].eq("C4") & ~SALES_BUDGET["item"].eq("I4")
    ]
    write_sheets(src, [SheetOutput(schema.table(n), df) for n, df in tables.items()])
    before = hashlib.sha256(src.read_bytes()).hexdigest()

    r = run_variances(FileBook(src, out=dst))
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before  # input untouched
    # C1 x I5 now has no posting setup line: 5 unmapped lines, 11.11+22.22+5.55+6.66-7.77
    assert len(r.unmapped) == 5 and to_cents(r.unmapped["amount"]).sum() == 3777

    wb = openpyxl.load_workbook(dst)
    ws = wb["VarianceSummary"]
    assert ws["A1"].value == "Sales budget vs financial budget"
    ref = ws.tables["tblVarianceSummary"].ref
    header_row = int(re.match(r"A(\d+):", ref).group(1))
    headers = [c.value for c in ws[header_row]]
    assert headers == schema.VARIANCE_SUMMARY.headers
    col = {h: i for i, h in enumerate(headers)}
    rows = list(ws.iter_rows(min_row=header_row + 1, values_only=True))
    assert len(rows) == len(r.by_account) == 8
    first = rows[0]
    assert (first[col["G/L Account No."]], first[col["Period"]]) == ("4000", "2026-01")
    assert first[col["Sales Budget"]] == 180.10 and first[col["Variance"]] == 30.10
    money = ws.cell(header_row + 1, col["Variance"] + 1)
    assert money.number_format == "#,##0.00;[Red](#,##0.00)"
    assert ws.cell(header_row + 1, col["Variance %"] + 1).number_format == "0.0%;[Red]-0.0%"
    # displayed variance column adds up to the title's totals (revenue + cost)
    total = sum(round(row[col["Variance"]] * 100) for row in rows)
    assert total == 49176 - 6000
    formulas = [rule.formula[0] for cf in ws.conditional_formatting for rule in cf.rules]
    g = f"$G{header_row + 1}"
    assert any(f.startswith(f"AND(ISNUMBER({g}),ABS({g})>20") for f in formulas)

    cal = CalamineWorkbook.from_path(str(dst))
    recon = cal.get_sheet_by_name("VarianceRecon").to_python()
    head = next(i for i, row in enumerate(recon) if row and row[0] == "Section")
    status = [row[4] for row in recon[head + 1 :]]
    assert "Difference" not in status and status.count("OK") >= 12
    un = cal.get_sheet_by_name("Unmapped").to_python()
    uhead = next(i for i, row in enumerate(un) if row and row[0] == "Customer No.")
    assert len([row for row in un[uhead + 1 :] if row[0]]) == 5


@pytest.mark.libreoffice
def test_highlight_formulas_evaluated_by_libreoffice_match_python(soffice, tmp_path):
    """The conditional-format formulas are real Excel formulas: LibreOffice (an independent
    engine) evaluates them on the written values and highlights exactly the lines Python flags."""
    import io

    import openpyxl
    from python_calamine import CalamineWorkbook

    from sop_xl.io.writer import col_letter
    from sop_xl.plan.freeze import recalculate_with_libreoffice
    from sop_xl.variance.sheets import beyond_thresholds, flagged

    r = run_variances(book())
    cases = [(r.outputs[0], "variance"), (r.outputs[1], "var_budget")]
    wb = openpyxl.Workbook()
    check = wb.active
    check.title = "Check"
    expected: list[list[bool]] = []
    col = 1
    for n, (out, column) in enumerate(cases):
        data = wb.create_sheet(f"S{n}")
        names = list(out.df.columns)
        data.append(names)
        for row in out.df.itertuples(index=False):
            data.append([None if isinstance(v, float) and np.isnan(v) else v for v in row])
        letter = {c: col_letter(i + 1) for i, c in enumerate(names)}
        rules = [x for x in out.conditional_formats if x.column == column]
        assert [x.fill for x in rules] == ["FFC7CE", "C6EFCE"]  # red, green
        for rule in rules:
            for i in range(len(out.df)):
                formula = rule.formula
                for c in names:
                    formula = formula.replace("{" + c + "}", f"S{n}!${letter[c]}{i + 2}")
                check.cell(i + 1, col, "=" + formula)
            col += 1
        df = out.df
        if n == 0:  # G/L summary: direction from the assessment (account type)
            beyond = flagged(df, SETTINGS)
            unfav, fav = df["assessment"].eq("Unfavourable"), df["assessment"].eq("Favourable")
        else:  # sales detail: revenue, above plan is favourable
            beyond = beyond_thresholds(df["var_budget"], df["var_budget_pct"], SETTINGS)
            unfav, fav = df["var_budget"].lt(0), df["var_budget"].gt(0)
        unfav, fav = unfav.to_numpy(), fav.to_numpy()
        expected += [list(beyond & unfav), list(beyond & fav)]
    buf = io.BytesIO()
    wb.save(buf)
    recalculated, _version = recalculate_with_libreoffice(buf.getvalue(), "check.xlsx")
    grid = CalamineWorkbook.from_filelike(io.BytesIO(recalculated)).get_sheet_by_name("Check")
    values = grid.to_python(skip_empty_area=False)
    got = [
        [bool(row[c]) for row in values if len(row) > c and row[c] != ""] for c in range(col - 1)
    ]
    assert got == expected
    assert sum(map(sum, expected)) >= 6  # the fixture does highlight lines, red and green
