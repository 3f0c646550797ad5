"""Transaction tables beyond the grid: Parquet / CSV / DuckDB files named on the DataSources sheet.

Known answers are built by hand in each test; the end-to-end test checks that a cycle on sales
kept in a file gives the same KPI and variance tables as the same sales kept in the sheet.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from unittest.mock import patch

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sop_xl import cycle
from sop_xl.errors import InputFileError
from sop_xl.io import external
from sop_xl.io.external import Source, read_external
from sop_xl.io.filebook import FileBook
from sop_xl.model import schema
from sop_xl.model.schema import SALES_ACTUALS, SALES_ORDER_LINES
from sop_xl.model.sheets import SheetOutput
from sop_xl.plan.verify import verify

SALES_HEADERS = ["Customer No.", "Item No.", "Location Code", "Period", "Quantity"]


def _parquet(df: pd.DataFrame, path: Path) -> Path:
    con = duckdb.connect()
    con.register("df", df)
    con.execute(f"COPY df TO '{path}' (FORMAT parquet)")
    return path


def _sales(rows: list[list[object]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[*SALES_HEADERS, "Sales Amount", "Cost Amount"])
    return df.astype({"Quantity": object, "Sales Amount": object, "Cost Amount": object})


def test_posted_lines_are_summed_into_the_tables_grain(tmp_path: Path) -> None:
    # C1/I1/L1/2026-10 has three lines: 2 + 3 + 5 = 10 units, 20 + 30 + 50 = 100.00 sales
    lines = _sales(
        [
            ["C1", "I1", "L1", "2026-10", 2, 20, 12],
            ["C1", "I1", "L1", "2026-10", 3, 30, 18],
            ["C2", "I1", "L1", "2026-10", 1, 10, 6],
            ["C1", "I1", "L1", "2026-10", 5, 50, 30],
        ]
    )
    path = tmp_path / "sales.csv"
    lines.to_csv(path, index=False)
    got = read_external(Source(SALES_ACTUALS, path, "csv"))
    assert got.findings == [] and got.bad_rows == 0
    assert got.df[["customer", "quantity", "amount", "cost"]].values.tolist() == [
        ["C1", 10.0, 100.0, 60.0],
        ["C2", 1.0, 10.0, 6.0],
    ]
    assert got.excel_rows.tolist() == [2, 4]  # first line of each group in the file (header = 1)
    assert got.source == str(path)
    assert list(got.df.columns) == [c.name for c in SALES_ACTUALS.long_columns]


def test_bad_values_are_findings_naming_file_row_and_column_and_rows_are_left_out(
    tmp_path: Path,
) -> None:
    lines = _sales(
        [
            ["C1", "I1", "L1", "2026-10", 1, 10, 6],  # row 1: good
            ["C1", "I2", "L1", "2026-10", "inf", 10, 6],  # row 2: not finite
            ["C1", "I3", "L1", "2026-13", 1, 10, 6],  # row 3: no month 13
            ["C1", None, "L1", "2026-10", 1, 10, 6],  # row 4: item blank
            ["C1", "I4", "L1", "2026-10", "12 pcs", 10, 6],  # row 5: text
            ["C1", "I5", "L1", "2026-10", 1e308, 10, 6],  # row 6: finite, kept (no bound here)
        ]
    )
    lines["Quantity"] = lines["Quantity"].astype(str)
    path = _parquet(lines, tmp_path / "sales.parquet")
    got = read_external(Source(SALES_ACTUALS, path, "parquet"))
    by_rule = {f.rule: f for f in got.findings}
    assert set(by_rule) == {
        "value.not_finite",
        "value.not_period",
        "value.required",
        "value.not_number",
    }
    f = by_rule["value.not_finite"]
    assert (f.where.file, f.where.row, f.where.column) == (str(path), 2, "Quantity")
    assert (
        by_rule["value.not_period"].where.row == 3
        and "2026-13" in by_rule["value.not_period"].message
    )
    assert by_rule["value.required"].where.column == "Item No."
    assert "'12 pcs'" in by_rule["value.not_number"].message
    assert got.bad_rows == 4
    assert sorted(got.df["item"]) == ["I1", "I5"]


def test_duplicate_keys_in_order_lines_are_findings(tmp_path: Path) -> None:
    header = [c.header for c in SALES_ORDER_LINES.columns]
    row = ["SO1", 1, "C1", "I1", "L1", "2026-10-01", "2026-10-02", 5, 5, "2026-10-02"]
    df = pd.DataFrame([row, row, ["SO1", 2, *row[2:]]], columns=header)
    path = tmp_path / "lines.csv"
    df.to_csv(path, index=False)
    got = read_external(Source(SALES_ORDER_LINES, path, "csv"))
    dup = [f for f in got.findings if f.rule == "key.duplicate"]
    assert len(dup) == 1 and "rows 2, 3" in dup[0].message and dup[0].where.row == 2
    assert got.df["line"].tolist() == [2] and got.bad_rows == 2


def test_an_open_order_line_with_blank_optional_values_is_kept(tmp_path: Path) -> None:
    """An order line not shipped yet leaves Quantity Shipped and Shipment Date blank: optional
    columns, so the line is good (it used to vanish without a finding: the minimum rule on a
    blank number is NULL in SQL, and NOT NULL filtered the row out)."""
    header = [c.header for c in SALES_ORDER_LINES.columns]
    shipped = ["SO1", 1, "C1", "I1", "L1", "2026-10-01", "2026-10-02", 5, 5, "2026-10-02"]
    open_ = ["SO1", 2, "C1", "I1", "L1", "2026-10-01", None, 7, None, None]
    path = tmp_path / "lines.csv"
    pd.DataFrame([shipped, open_], columns=header).to_csv(path, index=False)
    got = read_external(Source(SALES_ORDER_LINES, path, "csv"))
    assert got.findings == [] and got.bad_rows == 0
    assert got.df["line"].tolist() == [1, 2] and got.excel_rows.tolist() == [2, 3]
    assert got.df["qty_ordered"].tolist() == [5.0, 7.0]
    assert got.df["qty_shipped"].iloc[0] == 5.0 and np.isnan(got.df["qty_shipped"].iloc[1])


def test_one_month_written_two_ways_is_one_row_and_native_numbers_read_as_text_ones(
    tmp_path: Path,
) -> None:
    """A month as text (2026-10) and as a date in that month (2026-10-15) are the same period:
    the lines are summed into one row. Numbers stored as numbers (Parquet DOUBLE) read exactly
    as the same numbers written as text (CSV)."""
    lines = _sales(
        [
            ["C1", "I1", "L1", "2026-10", 2, 20.5, 12],
            ["C1", "I1", "L1", "2026-10-15", 3, 30.25, 18],
            ["C1", "I1", "L1", "2026-11", 4, 40, 24],
        ]
    )
    csv = tmp_path / "sales.csv"
    lines.to_csv(csv, index=False)
    native = lines.astype({"Quantity": float, "Sales Amount": float, "Cost Amount": float})
    pq = _parquet(native, tmp_path / "sales.parquet")
    a = read_external(Source(SALES_ACTUALS, csv, "csv"))
    b = read_external(Source(SALES_ACTUALS, pq, "parquet"))
    assert a.df[["period", "quantity", "amount", "cost"]].values.tolist() == [
        ["2026-10", 5.0, 50.75, 30.0],
        ["2026-11", 4.0, 40.0, 24.0],
    ]
    pd.testing.assert_frame_equal(a.df, b.df)
    assert a.excel_rows.tolist() == [2, 4] and b.excel_rows.tolist() == [1, 3]


def test_bad_numbers_stored_as_numbers_and_a_bad_key_are_findings(tmp_path: Path) -> None:
    """Native numbers: infinity and a blank are findings naming the row; a bad month in one of a
    group's lines leaves out that line only; the good lines of each key are still summed."""
    df = pd.DataFrame(
        {
            "Customer No.": ["C1", "C1", "C1", "C1", "C1"],
            "Item No.": ["I1", "I1", "I1", "I2", "I2"],
            "Location Code": ["L1"] * 5,
            "Period": ["2026-10", "2026-10", "2026-10", "2026-1O", "2026-10"],
            "Quantity": [1.0, float("inf"), 2.0, 4.0, None],
            "Sales Amount": [10.0, 10.0, 20.0, 40.0, 50.0],
            "Cost Amount": [6.0, 6.0, 12.0, 24.0, 30.0],
        }
    )
    path = _parquet(df, tmp_path / "sales.parquet")
    got = read_external(Source(SALES_ACTUALS, path, "parquet"))
    by_rule = {f.rule: f for f in got.findings}
    assert set(by_rule) == {"value.not_finite", "value.not_period", "value.required"}
    assert (by_rule["value.not_finite"].where.row, by_rule["value.not_period"].where.row) == (2, 4)
    assert (
        by_rule["value.required"].where.row == 5
        and "2026-1O" in by_rule["value.not_period"].message
    )
    assert got.bad_rows == 3
    assert got.df[["item", "quantity", "amount"]].values.tolist() == [["I1", 3.0, 30.0]]


def test_a_file_is_scanned_once_per_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second read of the same bytes comes from the table store (the file is not scanned:
    DuckDB is not asked), equal to the first, findings and rows left out included; a changed
    file is read again."""
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "store"))
    path = tmp_path / "sales.csv"
    bad = ["C1", "I2", "L1", "2026-13", 1, 10, 6]  # no month 13: a finding, the line left out
    _sales([["C1", "I1", "L1", "2026-10", 2, 20, 12], bad]).to_csv(path, index=False)
    source = Source(SALES_ACTUALS, path, "csv")
    first = read_external(source)
    monkeypatch.setattr(external, "_connect", _no_scan)
    again = read_external(source)
    pd.testing.assert_frame_equal(first.df, again.df)
    assert again.excel_rows.tolist() == [2] and again.source == str(path)
    assert again.findings == first.findings and again.bad_rows == first.bad_rows == 1
    assert again.findings[0].where.row == 3 and again.findings[0].where.file == str(path)
    _sales([["C1", "I1", "L1", "2026-10", 3, 20, 12]]).to_csv(path, index=False)
    with pytest.raises(InputFileError, match="scanned again"):
        read_external(source)
    monkeypatch.undo()
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "store"))
    assert read_external(source).df["quantity"].tolist() == [3.0]


def _no_scan(path: Path) -> None:
    raise AssertionError(f"{path} scanned again")


def test_duckdb_file_and_missing_column(tmp_path: Path) -> None:
    db = tmp_path / "erp.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE \"SalesActuals\" AS SELECT 'C1' AS customer, 'I1' AS item, "
        "'L1' AS location, DATE '2026-10-15' AS \"Posting Date\", 4.0 AS quantity, "
        "40.0 AS amount, 24.0 AS cost"
    )
    con.close()
    got = read_external(Source(SALES_ACTUALS, db, "duckdb", "SalesActuals"))
    assert got.findings == []
    assert got.df[["period", "quantity"]].values.tolist() == [["2026-10", 4.0]]
    csv = tmp_path / "no_qty.csv"
    pd.DataFrame({"Customer No.": ["C1"], "Item No.": ["I1"]}).to_csv(csv, index=False)
    missing = read_external(Source(SALES_ACTUALS, csv, "csv"))
    assert {f.where.column for f in missing.findings} >= {"Location Code", "Quantity", "Period"}
    assert missing.df.empty


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["C1", "C2"]),
            st.sampled_from(["I1", "I2", "I3"]),
            st.integers(-500, 5000),
            st.integers(-(10**7), 10**7),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_summing_lines_keeps_every_total(tmp_path: Path, rows: list) -> None:
    """Whatever the lines, the per-key totals equal plain pandas sums of the file."""
    df = pd.DataFrame(rows, columns=["Customer No.", "Item No.", "Quantity", "cents"])
    df["Location Code"], df["Period"] = "L1", "2026-10"
    df["Sales Amount"] = df.pop("cents") / 100
    df["Cost Amount"] = 0.0
    path = tmp_path / "p.parquet"
    _parquet(df, path)
    got = read_external(Source(SALES_ACTUALS, path, "parquet")).df
    want = df.groupby(["Customer No.", "Item No."])[["Quantity", "Sales Amount"]].sum()
    got = got.set_index(["customer", "item"])[["quantity", "amount"]]
    np.testing.assert_allclose(got.sort_index().to_numpy(), want.sort_index().to_numpy())
    path.unlink()


QTY_TEXT = ["1", "2.5", "-3", "1,000", "12 pcs", "", "inf", "0.001"]
QTY_NATIVE = [1.0, 2.5, -3.0, 1000.0, float("inf"), None, 0.001]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["csv", "parquet text", "parquet numbers"]),
    st.lists(
        st.tuples(
            st.sampled_from(["C1", " C1", "C2", ""]),
            st.sampled_from(["2026-10", "2026-10-15", "2026-11", "2026-13"]),
            st.integers(0, len(QTY_NATIVE) - 1),
            st.integers(-1000, 1000),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_the_one_pass_sum_reads_every_file_as_the_per_line_check(
    tmp_path: Path, fmt: str, rows: list
) -> None:
    """Clean or not, the one-pass sum (key rules checked once per group) and the per-line check
    give the same rows, totals, first rows, findings and count of rows left out."""
    df = pd.DataFrame(
        {
            "Customer No.": [r[0] for r in rows],
            "Item No.": "I1",
            "Location Code": "L1",
            "Period": [r[1] for r in rows],
            "Quantity": [
                (QTY_NATIVE if fmt == "parquet numbers" else QTY_TEXT)[r[2]] for r in rows
            ],
            "Sales Amount": [r[3] / 100 for r in rows],
            "Cost Amount": 0.0,
        }
    )
    path = tmp_path / ("sales.csv" if fmt == "csv" else "sales.parquet")
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        _parquet(df, path)
    source = Source(SALES_ACTUALS, path, fmt.split()[0])
    with patch.dict(os.environ, {"SOP_XL_CACHE_DIR": "off"}):
        fast = read_external(source)
        with patch.object(external, "_summed_if_clean", lambda *a: None):
            slow = read_external(source)
    pd.testing.assert_frame_equal(fast.df, slow.df, check_exact=False, rtol=1e-12)
    assert fast.excel_rows.tolist() == slow.excel_rows.tolist()
    assert fast.findings == slow.findings and fast.bad_rows == slow.bad_rows
    path.unlink()


def test_a_source_that_points_nowhere_is_a_validation_finding(tmp_path: Path) -> None:
    from sop_xl.io.template import build_template

    path = tmp_path / "master.xlsx"
    build_template(path)
    rows = pd.DataFrame(
        {"table": ["Sales Actuals", "Items"], "file": ["data/nothere.parquet", "x.csv"]},
        dtype=object,
    ).assign(format=None, source_table=None, note=None)
    FileBook(path).write([SheetOutput(schema.DATA_SOURCES, rows)])
    result = cycle.validate(FileBook(path), write=False)
    rules = {f.rule: f for f in result.detail}
    assert rules["source.missing"].where.sheet == "DataSources"
    assert (
        rules["source.missing"].where.row == 2
        and "nothere.parquet" in rules["source.missing"].message
    )
    # 'Items' cannot live outside the grid: the sheet's own choice rule names its row
    choice = rules["value.not_allowed"]
    assert choice.where.sheet == "DataSources" and choice.where.cell == "A3"


def test_cycle_on_sales_in_a_file_equals_the_cycle_on_sales_in_the_sheet(
    small_demo: Path, tmp_path: Path
) -> None:
    """The demo company's sales (cut to 8 items) split into 3 posted lines each, in Parquet:
    KPIs and variances are the same tables; the freeze records the file's sha256 and verify
    reports when it changes."""
    from sop_xl.demo.large import externalize_sales

    inside, outside = tmp_path / "in", tmp_path / "out"
    for d in (inside, outside):
        d.mkdir()
        shutil.copyfile(small_demo, d / small_demo.name)
    book = FileBook(outside / small_demo.name)
    sales = len(book.read_table(SALES_ACTUALS))
    assert sales > 1000
    lines = externalize_sales(book, outside, 3 * sales)
    assert lines == 3 * sales
    a, b = FileBook(inside / small_demo.name), FileBook(outside / small_demo.name)
    assert b.read_table(SALES_ACTUALS).shape == a.read_table(SALES_ACTUALS).shape
    for step in (cycle.kpis, cycle.variances):
        x, y = step(a), step(b)
        assert x.summary == y.summary
        for ox, oy in zip(x.outputs, y.outputs, strict=True):
            pd.testing.assert_frame_equal(ox.df, oy.df, check_exact=False, rtol=1e-9)
    frozen = cycle.freeze(outside / small_demo.name, approved_by="Test CFO")
    (src,) = frozen.detail.record["external_sources"]
    assert src["table"] == "Sales Actuals" and len(src["sha256"]) == 64
    assert "unchanged since the freeze" in verify(outside / "snapshots").text()
    with open(outside / "data" / "sales_actuals.parquet", "ab") as f:
        f.write(b"x")
    report = verify(outside / "snapshots")
    assert report.ok and any("CHANGED since the freeze" in n for n in report.notes)
