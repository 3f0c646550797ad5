"""Raw cells -> typed long frames, with a located finding for every problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.worksheet.table import Table as XlTable

from sop_xl.errors import ValidationError
from sop_xl.io import reader
from sop_xl.io.filebook import FileBook
from sop_xl.io.reader import ErrorValue, RawTable, coerce, col_letter, to_frame
from sop_xl.model import schema

ITEM_HEADERS = schema.ITEMS.headers


def raw(header, rows, sheet="Items", header_row=1):
    return RawTable(
        header=list(header),
        rows=[list(r) for r in rows],
        sheet=sheet,
        file="master.xlsx",
        header_row=header_row,
    )


def item(no="A1", cost=1.0, price=2.0, lead=5, family="F1"):
    return [no, "desc", family, "P1", cost, price, lead]


def rules(result):
    return [(f.rule, f.where.cell) for f in result.findings]


def test_col_letter():
    assert [col_letter(i) for i in (1, 26, 27, 52, 703, 16384)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "AAA",
        "XFD",
    ]


def test_clean_table_types_and_values():
    result = coerce(schema.ITEMS, raw(ITEM_HEADERS, [item(), item("B2", 3, 4, 7)]))
    assert result.findings == []
    df = result.df
    assert list(df.columns) == schema.ITEMS.names
    assert df["unit_cost"].tolist() == [1.0, 3.0]
    assert str(df["lead_time_days"].dtype) == "Int64"
    assert df["item"].tolist() == ["A1", "B2"]
    assert result.excel_rows.tolist() == [2, 3]


def test_headers_match_case_and_spaces_insensitively():
    header = [h.upper().replace(" ", "  ") for h in ITEM_HEADERS]
    assert coerce(schema.ITEMS, raw(header, [item()])).findings == []


def test_numeric_item_numbers_become_text():
    df = to_frame(schema.ITEMS, raw(ITEM_HEADERS, [item(no=1001.0)]))
    assert df["item"].tolist() == ["1001"]


def test_renamed_missing_and_extra_columns():
    header = [*ITEM_HEADERS[:4], "Unit Cst", ITEM_HEADERS[5], "Comment"]  # lead time missing
    result = coerce(schema.ITEMS, raw(header, [[*item()[:6], "note"]]))
    by_rule = {f.rule: f for f in result.findings}
    assert "renamed 'Unit Cost'" in by_rule["header.renamed"].message
    assert by_rule["header.renamed"].where.cell == "E1"
    assert by_rule["header.extra"].severity == "warning"
    assert "'Lead Time (Days)' is missing" in by_rule["header.missing"].message
    assert result.df.empty  # nothing half-read when the columns are wrong


def test_every_cell_problem_is_located():
    rows = [
        item(cost="12O"),  # text in a number column, row 2
        item("B", cost=ErrorValue("#REF!")),  # error value, row 3
        item("C", cost=-1),  # below minimum, row 4
        item("D", lead=2.5),  # not a whole number, row 5
        item("E", family=None),  # required value missing, row 6
        item("F", cost="1,234.50"),  # thousands separator is fine
    ]
    result = coerce(schema.ITEMS, raw(ITEM_HEADERS, rows))
    assert sorted(rules(result)) == sorted(
        [
            ("value.not_number", "E2"),
            ("value.error", "E3"),
            ("value.negative", "E4"),
            ("value.not_int", "G5"),
            ("value.missing", "C6"),
        ]
    )
    assert result.df["item"].tolist() == ["F"]
    assert result.df["unit_cost"].tolist() == [1234.5]
    text = str(result.findings[0])
    assert "master.xlsx" in text and "sheet 'Items'" in text and "Fix:" in text


def test_duplicate_keys_name_both_rows():
    result = coerce(schema.ITEMS, raw(ITEM_HEADERS, [item("A"), item("B"), item("A")]))
    dup = [f for f in result.findings if f.rule == "key.duplicate"]
    assert len(dup) == 1 and "rows 2, 4" in dup[0].message
    assert result.df["item"].tolist() == ["B"]


def test_choices_are_canonicalised_and_checked():
    header = schema.GL_ACCOUNTS.headers
    result = coerce(
        schema.GL_ACCOUNTS,
        raw(header, [["4000", "Sales", "revenue"], ["5000", "X", "Asset"]], sheet="GLAccounts"),
    )
    assert result.df["account_type"].tolist() == ["Revenue"]
    assert [f.rule for f in result.findings] == ["value.not_allowed"]


def test_dates_from_dates_text_and_serials():
    header = schema.ACTIONS.headers
    base = ["A-1", "Fix", "Finance", "Ann", None, "Open", "2026-10", None, None]
    rows = []
    for value in (dt.date(2026, 11, 5), "2026-11-05", 46331.0):
        r = list(base)
        r[0] = f"A-{len(rows)}"
        r[4] = value
        rows.append(r)
    df = to_frame(schema.ACTIONS, raw(header, rows, sheet="Actions"))
    assert (df["due_date"] == pd.Timestamp("2026-11-05")).all()


def test_period_normalisation():
    header = schema.SALES_BUDGET.headers
    rows = [["C1", "I1", "L1", p, 1, 10] for p in ("2026-01", dt.date(2026, 2, 1), "2026-03-01")]
    rows.append(["C1", "I1", "L1", "March", 1, 10])
    result = coerce(schema.SALES_BUDGET, raw(header, rows, sheet="SalesBudget"))
    assert result.df["period"].tolist() == ["2026-01", "2026-02", "2026-03"]
    assert rules(result) == [("value.not_period", "D5")]


def test_wide_grid_is_melted_and_blank_cells_are_dropped():
    header = [*schema.FORECAST.headers, "2026-11", dt.datetime(2026, 12, 1), "Notes"]
    rows = [["EU", "I1", "L1", "m", "v1", 5, None, "x"], ["EU", "I2", "L1", "m", "v1", 1, 2, None]]
    result = coerce(schema.FORECAST, raw(header, rows, sheet="Forecast"))
    assert [f.rule for f in result.findings] == ["header.extra"]
    df = result.df
    assert list(df.columns) == [*schema.FORECAST.names, "period", "quantity"]
    assert df[["item", "period", "quantity"]].values.tolist() == [
        ["I1", "2026-11", 5.0],
        ["I2", "2026-11", 1.0],
        ["I2", "2026-12", 2.0],
    ]


def test_wide_grid_without_periods_is_an_error():
    result = coerce(
        schema.FORECAST,
        raw(schema.FORECAST.headers, [["EU", "I1", "L1", "", ""]], sheet="Forecast"),
    )
    assert [f.rule for f in result.findings] == ["header.no_periods"]


def test_to_frame_raises_with_every_error():
    with pytest.raises(ValidationError) as e:
        to_frame(schema.ITEMS, raw(ITEM_HEADERS, [item(cost="x"), item("B", price="y")]))
    assert len(e.value.findings) == 2 and "2 problem(s)" in str(e.value)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)), min_size=3, max_size=3),
        min_size=1,
        max_size=30,
    )
)
def test_melt_keeps_every_filled_cell(grid):
    header = [*schema.FORECAST.headers, "2026-11", "2026-12", "2027-01"]
    rows = [["EU", f"I{i}", "L1", "", "", *r] for i, r in enumerate(grid)]
    df = to_frame(schema.FORECAST, raw(header, rows, sheet="Forecast"))
    filled = [v for r in grid for v in r if v is not None]
    assert len(df) == len(filled)
    assert np.isclose(df["quantity"].sum(), sum(filled))


def test_file_round_trip_with_table_title_rows_and_error_cells(tmp_path: Path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Items"
    ws.append(["Items export"])
    ws.append([])
    ws.append(ITEM_HEADERS)
    ws.append(item("A1"))
    ws.append(item('=HYPERLINK("http://example.invalid","x")'))
    ws.append(item("B"))
    ws["E6"] = "#DIV/0!"  # openpyxl writes this as an error cell (t="e")
    ws.add_table(XlTable(displayName="tblItems", ref="A3:G6"))
    path = tmp_path / "m.xlsx"
    wb.save(path)
    raw_table = FileBook(path).read_raw(schema.ITEMS)
    assert raw_table.header_row == 3
    result = reader.coerce(schema.ITEMS, raw_table)
    # A5 is a formula never calculated (openpyxl wrote no cached value): no value to read.
    assert sorted(rules(result)) == [("value.error", "E6"), ("value.missing", "A5")]
    error = next(f for f in result.findings if f.rule == "value.error")
    assert error.message == "formula error #DIV/0! instead of a value."
    assert result.df["item"].tolist() == ["A1"]


def test_missing_sheet_names_what_exists(tmp_path: Path):
    wb = Workbook()
    wb.active.title = "Other"
    path = tmp_path / "m.xlsx"
    wb.save(path)
    with pytest.raises(Exception, match="sheet 'Items' is missing \\(the workbook has: Other\\)"):
        FileBook(path).read_table(schema.ITEMS)


def test_a_pandas_na_cell_is_a_blank():
    # pandas' NA (a blank of a nullable column, e.g. a table handed over from a DataFrame)
    # raised "boolean value of NA is ambiguous"; it is read as the blank it stands for
    na = pd.NA
    rows = [
        ["A1", na, "F1", "P1", 1.0, 2.0, 5],  # the description is optional: blank
        ["B2", "desc", "F1", "P1", 3, 4, na],  # the lead time is required: missing
        [na] * 7,  # a blank row: not a row of the table
        [na, "desc", "F1", "P1", 1, 2, 3],  # the item is required: missing
        ["C6", "d", "F2", "P1", 1.5, 2.5, 7],
    ]
    result = coerce(schema.ITEMS, raw(ITEM_HEADERS, rows))
    assert rules(result) == [("value.missing", "A5"), ("value.missing", "G3")]
    assert result.bad_rows == 2
    df = result.df
    assert df["item"].tolist() == ["A1", "C6"]
    assert df["description"].tolist() == [None, "d"]
    assert df["unit_cost"].tolist() == [1.0, 1.5]
    assert df["lead_time_days"].tolist() == [5, 7]
    assert result.excel_rows.tolist() == [2, 6]
    # in a header, too: an NA header is a blank header
    assert coerce(schema.ITEMS, raw([*ITEM_HEADERS, na], [[*item(), na]])).findings == []
    # and in a wide grid's periods
    header = [*schema.FORECAST.headers, "2026-11", "2026-12"]
    grid = [["EU", "I1", "L1", "m", "v1", 5, na], ["EU", "I2", "L1", "m", "v1", na, 2]]
    got = coerce(schema.FORECAST, raw(header, grid, sheet="Forecast")).df
    assert got[["item", "period", "quantity"]].values.tolist() == [
        ["I1", "2026-11", 5.0],
        ["I2", "2026-12", 2.0],
    ]


def test_a_sheet_retyped_in_another_letter_case_is_read(tmp_path: Path) -> None:
    """Excel takes 'items' and 'Items' as one name: a table without an Excel table on a sheet
    the planner renamed 'items' is read (it was "sheet 'Items' is missing"), and its findings
    name the sheet as the workbook spells it."""
    wb = Workbook()
    ws = wb.active
    ws.title = "items"
    ws.append(ITEM_HEADERS)
    ws.append(item())
    ws.append(item("B2", cost=-1))
    path = tmp_path / "master.xlsx"
    wb.save(path)
    book = FileBook(path)
    assert book.has_table(schema.ITEMS)
    got = book.read_coerced(schema.ITEMS)
    assert got.df["item"].tolist()[:1] == ["A1"]
    assert got.findings and {f.where.sheet for f in got.findings} == {"items"}  # B2's cost
    assert book._key(schema.ITEMS) is not None  # kept in the table store like any table
