"""The regional submission workbook: template content, protection, stamp, read-back."""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pandas as pd
import pytest
from test_consolidate_support import ASSORTMENT, HORIZON, make_book, submission

from sop_xl.consolidate.submission import HEADER_ROW, read_submission, write_regional_template
from sop_xl.errors import StepError


@pytest.fixture()
def eu_file(tmp_path):
    book = make_book()
    sub = submission("EU", 110.0)
    sub.loc[0, "quantity"] = 7.5
    return write_regional_template(
        book,
        "EU",
        tmp_path / "EU.xlsx",
        forecast=sub,
        submitted_by="Elena",
        version=3,
        submitted_at=dt.datetime(2026, 11, 9, 14, 30),
    )


def test_template_holds_only_the_regions_rows_and_the_horizon(eu_file):
    wb = openpyxl.load_workbook(eu_file)
    assert wb.sheetnames == ["Forecast", "History", "Stamp"]
    ws = wb["Forecast"]
    header = [c.value for c in ws[HEADER_ROW]]
    assert header == ["Item No.", "Location Code", "Description", *HORIZON]
    rows = [(r[0].value, r[1].value) for r in ws.iter_rows(min_row=HEADER_ROW + 1)]
    assert rows == sorted(ASSORTMENT["EU"])  # no US / APAC rows
    assert ws.cell(HEADER_ROW + 1, 3).value == "Item I1"
    assert ws.cell(HEADER_ROW + 1, 4).value == 7.5  # prefilled
    assert ws.cell(HEADER_ROW + 2, 15).value == 110.0
    assert "tblRegionalForecast" in ws.tables


def test_only_quantity_cells_are_unlocked_and_sheets_protected(eu_file):
    wb = openpyxl.load_workbook(eu_file)
    for name in wb.sheetnames:
        assert wb[name].protection.sheet is True, name
    ws = wb["Forecast"]
    assert ws.cell(HEADER_ROW + 1, 4).protection.locked is False  # quantity
    assert ws.cell(HEADER_ROW + 1, 1).protection.locked is True  # item
    assert ws.cell(HEADER_ROW, 4).protection.locked is True  # header
    hist = wb["History"]
    assert all(c.protection.locked for row in hist.iter_rows() for c in row)
    dv = ws.data_validations.dataValidation
    assert dv and dv[0].type == "decimal" and dv[0].formula1 == "0"


def test_history_shows_last_12_months_of_actuals(eu_file):
    ws = openpyxl.load_workbook(eu_file)["History"]
    header = [c.value for c in ws[HEADER_ROW]]
    assert header[2:] == pd.period_range("2025-11", periods=12, freq="M").strftime("%Y-%m").tolist()
    assert [c.value for c in ws[HEADER_ROW + 1]][2:] == [90.0] * 12  # one customer x 90 units


def test_stamp_sheet_and_doc_properties(eu_file):
    wb = openpyxl.load_workbook(eu_file)
    st = {r[0].value: r[1] for r in wb["Stamp"].iter_rows(min_row=HEADER_ROW + 1)}
    assert st["Region"].value == "EU" and st["Region"].protection.locked
    assert st["Cycle"].value == "2026-11" and st["Template Version"].value == "1"
    assert st["Submission Version"].value == 3 and not st["Submission Version"].protection.locked
    assert st["Submitted By"].value == "Elena" and not st["Submitted By"].protection.locked
    assert st["Submitted At"].value == dt.datetime(2026, 11, 9, 14, 30)
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["sop_xl.region"] == "EU" and props["sop_xl.version"] == 3


def test_read_submission_round_trip(eu_file):
    sub = read_submission(eu_file)
    assert sub.stamp["region"] == "EU" and int(sub.stamp["version"]) == 3
    assert sub.stamp["submitted_by"] == "Elena"
    assert sub.periods == HORIZON and sub.header_row == HEADER_ROW
    assert len(sub.rows) == 4 and len(sub.cells) == 4 * 12
    first = sub.cells.iloc[0]
    assert (first["row"], first["col"], first["item"], first["period"], first["value"]) == (
        5,
        "D",
        "I1",
        "2026-11",
        7.5,
    )
    assert sub.findings == [] and sub.error_cells == {} and sub.merged == []


def test_stamp_falls_back_to_document_properties(eu_file, tmp_path):
    wb = openpyxl.load_workbook(eu_file)
    del wb["Stamp"]
    p = tmp_path / "nostamp.xlsx"
    wb.save(p)
    assert read_submission(p).stamp["region"] == "EU"


def test_text_that_looks_like_a_formula_is_written_as_text(tmp_path):
    book = make_book()
    who = '=HYPERLINK("http://example.invalid","click")'
    p = write_regional_template(book, "US", tmp_path / "US.xlsx", submitted_by=who)
    with zipfile.ZipFile(p) as zf:
        xml = zf.read("xl/worksheets/sheet3.xml").decode()
        sst = zf.read("xl/sharedStrings.xml").decode()  # text goes to the shared strings
    assert "<f>" not in xml and 't="s"' in xml and "HYPERLINK" in sst
    assert read_submission(p).stamp["submitted_by"] == who


def test_blank_template_and_unknown_region(tmp_path):
    book = make_book()
    p = write_regional_template(book, "APAC", tmp_path / "APAC.xlsx")
    sub = read_submission(p)
    assert sub.rows["item"].tolist() == ["I6"] and (sub.cells["value"] == "").all()
    with pytest.raises(StepError, match=r"unknown region 'XX'.*APAC, EU, US"):
        write_regional_template(book, "XX", tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()
