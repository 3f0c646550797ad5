"""The guard refuses hostile or wrong files before any reader sees them, with a clear message."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.worksheet.table import Table as XlTable

from sop_xl.errors import InputFileError
from sop_xl.io.guard import CFB_MAGIC, check_workbook_file

SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@pytest.fixture()
def good(tmp_path: Path) -> Path:
    wb = Workbook()
    wb.active.title = "Data"
    wb.active.append(["Item No.", "Quantity"])
    wb.active.append(["A1", 3])
    path = tmp_path / "good.xlsx"
    wb.save(path)
    return path


def rezip(src: Path, dst: Path, replace: dict[str, bytes], compress: int = zipfile.ZIP_DEFLATED):
    """``src`` with the parts in ``replace`` new; the other parts keep their name, time and
    compression (as a save that changed only those parts), so their stored bytes are the same
    whenever the copy is made (a part's time is in its header: parts written a second apart
    would differ)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compress) as zout:
        for info in zin.infolist():
            if info.filename in replace:
                zout.writestr(info.filename, replace[info.filename])
            else:
                zout.writestr(info, zin.read(info))
        for name, data in replace.items():
            if name not in zin.namelist():
                zout.writestr(name, data)
    return dst


def sheet_xml(body: str) -> bytes:
    head = f'<?xml version="1.0"?><worksheet xmlns="{SHEET_NS}">'
    return f"{head}<sheetData>{body}</sheetData></worksheet>".encode()


def test_good_file_passes_and_reports_sheets_and_hash(good: Path):
    info = check_workbook_file(good)
    assert info.sheets == ["Data"]
    assert not info.has_macros
    assert len(info.sha256) == 64


def test_missing_file(tmp_path: Path):
    with pytest.raises(InputFileError, match="file not found"):
        check_workbook_file(tmp_path / "nope.xlsx")


def test_csv_renamed_to_xlsx(tmp_path: Path):
    path = tmp_path / "forecast.xlsx"
    path.write_text("Item,Qty\nA,1\n")
    with pytest.raises(InputFileError, match="not an Excel workbook \\(a text or CSV file\\)") as e:
        check_workbook_file(path)
    assert "forecast.xlsx" in str(e.value) and "Fix:" in str(e.value)


def test_pdf(tmp_path: Path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"%PDF-1.7\n...")
    with pytest.raises(InputFileError, match="PDF"):
        check_workbook_file(path)


def test_password_protected_is_named_as_such(tmp_path: Path):
    path = tmp_path / "locked.xlsx"
    path.write_bytes(CFB_MAGIC + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le") + b"\0" * 100)
    with pytest.raises(InputFileError, match="password-protected") as e:
        check_workbook_file(path)
    assert "remove the password" in str(e.value)


def test_legacy_xls(tmp_path: Path):
    path = tmp_path / "old.xls"
    path.write_bytes(CFB_MAGIC + b"\0" * 1000)
    with pytest.raises(InputFileError, match=r"legacy \.xls"):
        check_workbook_file(path)


def test_corrupt_zip(good: Path, tmp_path: Path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(good.read_bytes()[:200])
    with pytest.raises(InputFileError, match="damaged"):
        check_workbook_file(path)


def test_zip_without_workbook(tmp_path: Path):
    path = tmp_path / "other.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(InputFileError, match="not an Excel workbook"):
        check_workbook_file(path)


def test_zip_bomb_is_refused_before_decompression(good: Path, tmp_path: Path):
    bomb = b"<a>" + b"0" * (50 * 2**20) + b"</a>"  # 50 MB of zeros compresses ~1000:1
    path = rezip(good, tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": bomb})
    assert path.stat().st_size < 2**20
    with pytest.raises(InputFileError, match="zip bomb") as e:
        check_workbook_file(path)
    assert "sheet1.xml" in str(e.value)


def test_xml_bomb_billion_laughs(good: Path, tmp_path: Path):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<worksheet><sheetData><row><c><v>&lol2;</v></c></row></sheetData></worksheet>"
    )
    path = rezip(good, tmp_path / "laughs.xlsx", {"xl/worksheets/sheet1.xml": laughs})
    with pytest.raises(InputFileError, match="XML bomb"):
        check_workbook_file(path)


@pytest.mark.parametrize(
    "body",
    [
        '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="XFD1048576"><v>2</v></c></row>',
        # hostile: the far cell hides in row 1, attributes reordered
        '<row r="1"><c r="A1"><v>1</v></c><c s="0" r="XFD1048576"><v>2</v></c></row>',
        '<row r="1"><c r="A1"><v>1</v></c></row>'
        '<row r="1048576"><c r="ZZ1048576"><v>2</v></c></row>',
    ],
)
def test_huge_sparse_sheet_is_refused_without_reading_it(good: Path, tmp_path: Path, body: str):
    path = rezip(good, tmp_path / "sparse.xlsx", {"xl/worksheets/sheet1.xml": sheet_xml(body)})
    with pytest.raises(InputFileError, match="far beyond any") as e:
        check_workbook_file(path)
    assert "sheet 'Data'" in str(e.value) and "Ctrl+End" in str(e.value)


def test_big_but_sane_sheet_passes(good: Path, tmp_path: Path):
    rows = "".join(
        f'<row r="{r}"><c r="A{r}"><v>1</v></c><c r="AD{r}"><v>2</v></c></row>'
        for r in range(1, 20001)
    )
    path = rezip(good, tmp_path / "big.xlsx", {"xl/worksheets/sheet1.xml": sheet_xml(rows)})
    info = check_workbook_file(path)
    assert info.extents["Data"] == (0, 30)  # measured: 30 columns, no row long enough to matter


def test_a_wide_sheet_may_not_be_very_long(good: Path, tmp_path: Path):
    # 30 columns allow 20,000,000 / 30 = 666,666 rows: one stray cell at row 700,000 is too far
    rows = "".join(
        f'<row r="{r}"><c r="A{r}"><v>1</v></c><c r="AD{r}"><v>2</v></c></row>'
        for r in range(1, 10002)
    )
    rows += '<row r="10002"><c r="B700000"><v>3</v></c></row>'  # hostile: wrong row tag
    path = rezip(good, tmp_path / "long.xlsx", {"xl/worksheets/sheet1.xml": sheet_xml(rows)})
    with pytest.raises(InputFileError, match="row 700,000 and column 30"):
        check_workbook_file(path)


def test_macro_enabled_is_reported_not_refused(good: Path, tmp_path: Path):
    with zipfile.ZipFile(good) as z:
        types = z.read("[Content_Types].xml").replace(
            b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        )
    path = rezip(
        good,
        tmp_path / "macro.xlsm",
        {"[Content_Types].xml": types, "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 not executed"},
    )
    info = check_workbook_file(path)
    assert info.has_macros


def test_sheets_with_error_cells_are_named(good: Path, tmp_path: Path):
    body = '<row r="1"><c r="A1" t="e"><v>#REF!</v></c></row>'
    path = rezip(good, tmp_path / "err.xlsx", {"xl/worksheets/sheet1.xml": sheet_xml(body)})
    assert check_workbook_file(path).error_sheets == {"Data"}
    assert check_workbook_file(good).error_sheets == set()


# --- one name, one sheet; one name, one table --------------------------------------------------
def _renamed(good: Path, dst: Path, edit: dict[str, tuple[bytes, bytes]]) -> Path:
    with zipfile.ZipFile(good) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    return rezip(good, dst, {n: parts[n].replace(*edit[n]) for n in edit})


@pytest.fixture()
def two(tmp_path: Path) -> Path:
    """Two sheets (Data, Other), each with a table (tblData, tblOther)."""
    wb = Workbook()
    for title in ("Data", "Other"):
        ws = wb.active if title == "Data" else wb.create_sheet(title)
        ws.title = title
        ws.append(["item", "qty"])
        ws.append(["A", 1])
        ws.add_table(XlTable(displayName=f"tbl{title}", ref="A1:B2"))
    path = tmp_path / "two.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize("new", [b'name="Data"', b'name="DATA"'])
def test_two_sheets_of_one_name_in_any_case_are_refused(tmp_path, two, new):
    """python-calamine reads 'Data' and 'DATA' as two sheets; Excel takes them as one name."""
    bad = _renamed(two, tmp_path / "bad.xlsx", {"xl/workbook.xml": (b'name="Other"', new)})
    with pytest.raises(InputFileError, match=r"two sheets named 'Data' and '(Data|DATA)'"):
        check_workbook_file(bad)


@pytest.mark.parametrize("new", [b"tblData", b"TBLDATA"])
def test_two_tables_of_one_name_in_any_case_are_refused(tmp_path, two, new):
    """python-calamine reads the first table of a name; a decoy could stand in for the data."""
    with zipfile.ZipFile(two) as zf:
        part = next(
            n for n in zf.namelist() if n.startswith("xl/tables/") and b"tblOther" in zf.read(n)
        )
    bad = _renamed(two, tmp_path / "bad.xlsx", {part: (b"tblOther", new)})
    with pytest.raises(InputFileError, match="two tables are named"):
        check_workbook_file(bad)


def test_sheets_and_tables_of_distinct_names_pass(two):
    assert check_workbook_file(two).sheets == ["Data", "Other"]
