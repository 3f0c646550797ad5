"""Every bad input of issue 5: a clear finding naming file (sheet, cell) and fix, nothing lost,
the region's previous consensus kept and the input file untouched.

Hostile files are built by hand (zip parts written directly). None of them is ever handed to a
reader unguarded: each test first shows the guard refuses it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from pathlib import Path

import openpyxl
import pytest
from test_consolidate_support import HORIZON, make_book, submission

from sop_xl.consolidate.step import consolidate
from sop_xl.consolidate.submission import write_regional_template
from sop_xl.errors import InputFileError
from sop_xl.io.guard import check_workbook_file

NOW = dt.datetime(2026, 11, 11, 9, 0)
AT = dt.datetime(2026, 11, 9, 12, 0)


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def good(book, folder: Path, region: str = "EU", name: str | None = None, **kw) -> Path:
    return write_regional_template(
        book,
        region,
        folder / (name or f"{region}.xlsx"),
        forecast=submission(region, 110.0),
        submitted_by="Elena",
        version=kw.pop("version", 1),
        submitted_at=AT,
        **kw,
    )


def run(book, folder: Path):
    """Consolidate with a good US file next to the bad one; return result + EU/US checks."""
    good(book, folder, "US")
    before = book.tables["tblForecast"].copy()
    hashes = {p: sha(p) for p in folder.iterdir()}
    res = consolidate(book, folder, now=NOW)
    assert {p: sha(p) for p in folder.iterdir()} == hashes  # inputs never modified
    f = res.forecast
    eu_b = before[before["region"] == "EU"]["quantity"].sum()
    assert "US" in res.accepted  # the good region still goes through
    return res, bool(f[f["region"] == "EU"]["quantity"].sum() == eu_b)


def finding(res, rule: str):
    hits = [f for f in res.findings if f.rule == rule]
    assert hits, f"no {rule} finding in {[f.rule for f in res.findings]}"
    return hits[0]


def rezip(src: Path, dst: Path, replace: dict[str, bytes], *, level: int = 6) -> Path:
    with (
        zipfile.ZipFile(src) as zin,
        zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zout,
    ):
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, data in replace.items():
            if name not in zin.namelist():
                zout.writestr(name, data)
    return dst


def file_level(tmp_path, make, expect: str):
    """A bad file named for EU: refused by the guard, reported, EU kept."""
    book = make_book()
    p = make(book, tmp_path)
    with pytest.raises(InputFileError):
        check_workbook_file(p)
    res, eu_kept = run(book, tmp_path)
    f = finding(res, "file.unreadable")
    assert f.severity == "error" and Path(f.where.file).name == p.name and f.fix
    assert expect in f.message
    assert eu_kept and not res.ok
    row = res.submissions[res.submissions["file"] == p.name].iloc[0]
    assert row["status"] == "unreadable" and row["region"] == "EU"  # guessed from the name
    return f


def test_wrong_file_type_csv(tmp_path):
    def make(book, d):
        p = d / "EU.csv"
        p.write_text("Item No.,Location Code,2026-11\nI1,L-EU1,5\n")
        return p

    f = file_level(tmp_path, make, "not an Excel workbook (a text or CSV file)")
    assert "Give the Excel workbook itself" in f.fix and "regional template" in f.fix


def test_wrong_file_type_renamed_pdf(tmp_path):
    def make(book, d):
        p = d / "EU.xlsx"
        p.write_bytes(b"%PDF-1.7\n%...")
        return p

    file_level(tmp_path, make, "a PDF document")


def test_corrupt_zip(tmp_path):
    def make(book, d):
        p = good(book, d, name="EU_src.xlsx")
        data = p.read_bytes()
        p.unlink()
        q = d / "EU.xlsx"
        q.write_bytes(data[: len(data) // 2])  # truncated download
        return q

    f = file_level(tmp_path, make, "damaged")
    assert "repair" in f.fix


def test_password_protected(tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile

    def make(book, d):
        src = good(book, d.parent, name="plain.xlsx")
        q = d / "EU.xlsx"
        with open(src, "rb") as fi, open(q, "wb") as fo:
            OOXMLFile(fi).encrypt("secret", fo)
        return q

    (tmp_path / "in").mkdir()
    f = file_level(tmp_path / "in", make, "password-protected")
    assert "remove the password" in f.fix


def test_xml_bomb(tmp_path):
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1 if i > 1 else "") + ";") * 10}">'.encode()
            for i in range(1, 10)
        )
        + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )

    def make(book, d):
        src = good(book, d.parent, name="plain.xlsx")
        return rezip(src, d / "EU.xlsx", {"xl/worksheets/sheet1.xml": bomb})

    (tmp_path / "in").mkdir()
    file_level(tmp_path / "in", make, "XML bomb")


def test_zip_bomb(tmp_path):
    def make(book, d):
        src = good(book, d.parent, name="plain.xlsx")
        with zipfile.ZipFile(src) as z:
            xml = z.read("xl/worksheets/sheet1.xml")
        padded = xml.replace(b"<sheetData>", b"<sheetData>" + b" " * (40 * 2**20), 1)
        return rezip(src, d / "EU.xlsx", {"xl/worksheets/sheet1.xml": padded}, level=9)

    (tmp_path / "in").mkdir()
    file_level(tmp_path / "in", make, "zip bomb")


def test_huge_sparse_sheet(tmp_path):
    sparse = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    )

    def make(book, d):
        src = good(book, d.parent, name="plain.xlsx")
        return rezip(src, d / "EU.xlsx", {"xl/worksheets/sheet1.xml": sparse})

    (tmp_path / "in").mkdir()
    f = file_level(tmp_path / "in", make, "row 1,048,576")
    assert "Ctrl+End" in f.fix


def test_macro_enabled_file_is_read_as_data_never_run(tmp_path):
    book = make_book()
    src = good(book, tmp_path, name="src.xlsx")
    vba = b'Attribute VB_Name = "Module1"\nSub Auto_Open()\n  Shell "calc.exe"\nEnd Sub\n'
    with zipfile.ZipFile(src) as z:
        ct = z.read("[Content_Types].xml")
    ct = ct.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    ).replace(
        b"</Types>",
        b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
    )
    xlsm = rezip(src, tmp_path / "EU.xlsm", {"[Content_Types].xml": ct, "xl/vbaProject.bin": vba})
    src.unlink()
    assert check_workbook_file(xlsm).has_macros
    res, _ = run(book, tmp_path)
    f = finding(res, "file.macros")
    assert f.severity == "info" and "macros were not run" in f.message
    assert "EU" in res.accepted  # the data are used
    assert (
        res.forecast.pipe(lambda f: f[(f["region"] == "EU") & f["period"].isin(HORIZON)])[
            "quantity"
        ].sum()
        == 48 * 110
    )


def edit(book, folder: Path, fn) -> Path:
    p = good(book, folder)
    wb = openpyxl.load_workbook(p)
    fn(wb["Forecast"])
    wb.save(p)
    return p


def cell_case(tmp_path, fn, rule: str, cell: str | None, text: str, *, rejected: bool = True):
    book = make_book()
    edit(book, tmp_path, fn)
    res, eu_kept = run(book, tmp_path)
    f = finding(res, rule)
    assert f.where.sheet == "Forecast" and Path(f.where.file).name == "EU.xlsx" and f.fix
    if cell:
        assert f.where.cell == cell
    assert text in f.message, f.message
    assert eu_kept is rejected
    assert ("EU" not in res.accepted) is rejected
    return res, f


def test_text_in_numeric_cells(tmp_path):
    def fn(ws):
        ws["D5"] = "12O"
        ws["E6"] = "n/a"

    res, _f = cell_case(
        tmp_path, fn, "value.text", "D5", "'12O' is text, not a quantity (item I1, L-EU1, 2026-11)"
    )
    assert sum(x.rule == "value.text" for x in res.findings) == 2


def test_number_stored_as_text_is_read_with_a_warning(tmp_path):
    def fn(ws):
        c = ws["D5"]
        c.value, c.data_type = "1,250", "s"

    book = make_book()
    edit(book, tmp_path, fn)
    res = consolidate(book, tmp_path, now=NOW)
    f = finding(res, "value.number_as_text")
    assert f.severity == "warning" and "read as 1,250" in f.message
    q = res.forecast.query("region == 'EU' and item == 'I1' and period == '2026-11'")["quantity"]
    assert q.tolist() == [1250.0]


def test_formula_error_values(tmp_path):
    def fn(ws):
        ws["D5"] = "#REF!"
        ws["E5"] = "#DIV/0!"

    book = make_book()
    p = edit(book, tmp_path, fn)
    with zipfile.ZipFile(p) as z:
        xml = z.read("xl/worksheets/sheet1.xml")
    assert b't="e"' in xml  # real error cells, which calamine reads as empty
    res, eu_kept = run(book, tmp_path)
    errs = [f for f in res.findings if f.rule == "value.error"]
    assert [(f.where.cell, f.severity) for f in errs] == [("D5", "error"), ("E5", "error")]
    assert "#REF!" in errs[0].message and "#DIV/0!" in errs[1].message
    assert eu_kept


def test_merged_cells(tmp_path):
    res, f = cell_case(
        tmp_path,
        lambda ws: ws.merge_cells("D5:F5"),
        "grid.merged",
        "D5:F5",
        "cells D5:F5 are merged",
        rejected=False,
    )
    assert f.severity == "warning" and "Unmerge" in f.fix
    assert finding(res, "completeness").severity == "warning"  # E5, F5 lost their values


def test_hidden_rows(tmp_path):
    def fn(ws):
        ws.row_dimensions[6].hidden = True
        ws.row_dimensions[7].hidden = True

    res, f = cell_case(tmp_path, fn, "grid.hidden_rows", None, "rows 6-7", rejected=False)
    assert f.severity == "warning" and f.where.row == 6
    # hidden values still count
    assert (
        res.forecast.pipe(lambda f: f[(f["region"] == "EU") & f["period"].isin(HORIZON)])[
            "quantity"
        ].sum()
        == 5280
    )


def test_extra_column(tmp_path):
    def fn(ws):
        ws["P4"] = "Comment"
        ws["P5"] = "promo in March"

    _res, f = cell_case(
        tmp_path, fn, "columns.extra", "P4", "column 'Comment' is not part", rejected=False
    )
    assert f.severity == "warning"


def test_missing_column(tmp_path):
    _res, f = cell_case(
        tmp_path,
        lambda ws: ws.delete_cols(2),
        "columns.missing",
        None,
        "required column 'Location Code' is missing",
    )
    assert f.severity == "error" and f.where.column == "Location Code"


def test_renamed_column(tmp_path):
    _res, f = cell_case(
        tmp_path,
        lambda ws: ws.__setitem__("A4", "Item Number"),
        "columns.renamed",
        "A4",
        "'Item Number' looks like 'Item No.' renamed",
    )
    assert "Rename the header back to 'Item No.'" in f.fix


def test_renamed_month_header_outside_horizon(tmp_path):
    res, _f = cell_case(
        tmp_path,
        lambda ws: ws.__setitem__("O4", "2027-11"),
        "period.outside_horizon",
        "O4",
        "month 2027-11 (column O) is outside",
    )
    assert finding(res, "period.missing").severity == "warning"


def test_hyperlink_text_is_rejected_in_a_quantity_cell_and_lands_as_text(tmp_path):
    link = '=HYPERLINK("http://example.invalid","click")'

    def fn(ws):
        c = ws["G6"]
        c.value, c.data_type = link, "s"

    _res, f = cell_case(tmp_path, fn, "value.text", "G6", "looks like a formula")
    assert link in f.message  # quoted as text in the report (the writer writes text)


def test_blank_required_cell(tmp_path):
    _res, _f = cell_case(
        tmp_path,
        lambda ws: ws.__setitem__("B6", None),
        "row.blank_key",
        None,
        "row 6 has no Location Code (I2) but holds quantities",
    )


def test_duplicate_rows(tmp_path):
    def fn(ws):
        for j in range(1, 16):
            ws.cell(9, j).value = ws.cell(5, j).value

    cell_case(tmp_path, fn, "row.duplicate", "A9", "appears again on row 9 (first on row 5)")


def test_unknown_item(tmp_path):
    cell_case(
        tmp_path,
        lambda ws: ws.__setitem__("A5", "I99"),
        "row.unknown_item",
        "A5",
        "item 'I99' is not in the Items table",
    )


def test_region_submitting_another_regions_items(tmp_path):
    def fn(ws):
        ws["A6"], ws["B6"] = "I5", "L-US1"  # a US location
        ws["A7"] = "I5"  # a US-only item at an EU location

    res, _f = cell_case(
        tmp_path,
        fn,
        "row.other_region",
        "B6",
        "location 'L-US1' (item I5) belongs to region US, not EU",
    )
    g = finding(res, "row.other_region_item")
    assert g.where.cell == "A7" and "planned by region US, not by EU" in g.message


def test_stamp_problems(tmp_path):
    book = make_book()
    p = good(book, tmp_path)
    wb = openpyxl.load_workbook(p)
    st = wb["Stamp"]
    st["B5"] = "XX"  # region
    wb.save(p)
    res = consolidate(book, tmp_path, now=NOW)
    f = finding(res, "stamp.region_unknown")
    assert "names region 'XX'" in f.message and f.severity == "error"
    # no stamp at all (sheet and properties removed)
    p2 = tmp_path / "copy.xlsx"
    wb = openpyxl.load_workbook(p)
    del wb["Stamp"]
    wb.custom_doc_props.props.clear()
    wb.save(p2)
    p.unlink()
    res = consolidate(book, tmp_path, now=NOW)
    f = finding(res, "stamp.missing")
    assert "region is unknown" in f.message and "regional-template" in f.fix


def test_template_of_another_cycle(tmp_path):
    book = make_book()
    p = good(book, tmp_path)
    wb = openpyxl.load_workbook(p)
    wb["Stamp"]["B7"] = "2026-10"
    wb.save(p)
    res, eu_kept = run(book, tmp_path)
    f = finding(res, "stamp.cycle")
    assert "for cycle 2026-10, but the current cycle is 2026-11" in f.message and eu_kept


def test_hidden_columns_and_merges_in_any_quoting_and_case(tmp_path):
    # a hand-made regional file: single quotes, spaces, hidden='true' / "1", a prefixed col,
    # and merged ranges written in lower case, all as valid XML allows (Excel reads them so)
    book = make_book()
    p = good(book, tmp_path)
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(p) as z:
        xml = z.read(part)
    cols = (
        b"<cols><col min='1' max='3' width='12'/>"
        b"<col min = '5' max = '5' hidden = 'true' width='12'/>"
        b'<x:col xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'min="7" max="8" hidden="1"/>'
        b"<col min='9' max='9' hidden='false'/><col min='10' max='10' hidden='0'/></cols>"
    )
    start, end = xml.index(b"<cols>"), xml.index(b"</cols>") + len(b"</cols>")
    xml = xml[:start] + cols + xml[end:]
    merges = (
        b"<mergeCells count='2'><mergeCell ref='d5:f5'/><mergeCell ref = \"G6:h6\"/></mergeCells>"
    )
    at = xml.index(b"</sheetData>") + len(b"</sheetData>")
    prot = xml.index(b"/>", at) + 2  # merges go after sheetProtection, as the schema orders
    xml = xml[:prot] + merges + xml[prot:]
    moved = tmp_path / "moved.xlsx"
    rezip(p, moved, {part: xml})
    moved.replace(p)
    res, _ = run(book, tmp_path)
    hidden = finding(res, "grid.hidden_columns")
    assert "column(s) E, G, H are hidden" in hidden.message, hidden.message
    merged = [f.message for f in res.findings if f.rule == "grid.merged"]
    assert merged == [
        "cells D5:F5 are merged; only the top-left cell's value is read.",
        "cells G6:H6 are merged; only the top-left cell's value is read.",
    ]


@pytest.mark.parametrize(
    "cell",
    [
        b'<c r="D5" s="5" t="n"><v>110</v><v>990</v></c>',
        b'<c r="D5" s="5" t="n"><v>110</v>\n <x:v>990</x:v></c>',
        b'<c r="D5" s="5" t="n"><v>110</v ><v>990</v></c>',
        b'<c r="D5" s="5" t="inlineStr"><is><t>110</t></is><v>990</v></c>',
    ],
)
def test_a_cell_written_with_two_values_rejects_the_file(tmp_path, cell: bytes):
    """No program writes a cell with two values, and readers disagree which one it holds:
    python-calamine and LibreOffice read the second (990), openpyxl the first (110), so the
    region's planner may have seen another number than the one consolidated. Before, the file
    was accepted with D5 = 990; now the region is rejected, naming the cell."""
    book = make_book()
    p = good(book, tmp_path)
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(p) as z:
        xml = z.read(part)
    plain = b'<c r="D5" s="5" t="n"><v>110</v></c>'
    assert xml.count(plain) == 1
    moved = tmp_path / "moved.xlsx"
    rezip(p, moved, {part: xml.replace(plain, cell)})
    moved.replace(p)
    res, eu_kept = run(book, tmp_path)
    f = finding(res, "value.two_values")
    assert f.severity == "error" and f.where.cell == "D5" and f.where.sheet == "Forecast"
    assert "two values" in f.message and f.fix
    assert eu_kept and "EU" not in res.accepted
