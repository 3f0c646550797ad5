"""``sop-xl doctor`` on a master that LibreOffice saved as .xlsm (issue 20, item 6)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import xml_prefix
from conftest import convert

from sop_xl.cli import main
from sop_xl.excel.doctor import doctor

ROOT = Path(__file__).resolve().parents[2]
MASTER = ROOT / "workbook" / "SOP_Planning.xlsm"


def test_the_built_master_is_healthy() -> None:
    rep = doctor(MASTER)
    assert rep.ok, rep.text()


@pytest.mark.libreoffice
def test_libreoffice_saved_master_is_diagnosed(soffice: str, tmp_path: Path, capsys) -> None:
    src = tmp_path / "SOP_Master.xlsm"
    shutil.copyfile(MASTER, src)
    saved = convert(soffice, src, "xlsm:Calc MS Excel 2007 VBA XML", tmp_path / "lo")
    # `sop-xl doctor` prints doctor()'s report and exits 1 (one doctor run: each generates the
    # UDF wrappers in a child process)
    assert main(["doctor", str(saved)]) == 1
    text = capsys.readouterr().out
    assert "problem(s)" in text
    assert "'Class=Dictionary'" in text
    assert "Option ClassModule" in text
    assert "no code name" in text and "sheet(s) have no code name" in text
    assert "buttons call macros that no longer compile" in text

    # repair: ribbon, VBA project and functions reinstalled; every sheet part kept byte for
    # byte apart from the code name the build gives each sheet. `sop-xl repair` runs doctor on
    # the result and exits 0 only when it is OK.
    fixed = tmp_path / "fixed.xlsm"
    assert main(["repair", str(saved), "--out", str(fixed)]) == 0
    out = capsys.readouterr().out
    assert "Reinstalled the ribbon" in out and "\nOK: " in out, out
    import re
    import zipfile

    with zipfile.ZipFile(saved) as a, zipfile.ZipFile(fixed) as b:
        sheets = [n for n in a.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        for n in sheets:
            assert re.sub(rb' codeName="[^"]*"', b"", b.read(n)) == a.read(n), n
        for n in a.namelist():
            if n.startswith(("xl/tables/", "xl/sharedStrings", "xl/styles")):
                assert a.read(n) == b.read(n), n


def test_missing_tables_and_ribbon_are_named(tmp_path: Path) -> None:
    import zipfile

    bad = tmp_path / "bad.xlsm"
    with zipfile.ZipFile(MASTER) as zi, zipfile.ZipFile(bad, "w") as zo:
        for n in zi.namelist():
            if n != "customUI/customUI14.xml":
                data = zi.read(n)
                if n.startswith("xl/tables/") and b'displayName="tblItems"' in data:
                    data = data.replace(b'displayName="tblItems"', b'displayName="tblOther"')
                zo.writestr(n, data)
    text = doctor(bad).text()
    assert "ribbon tab is missing" in text
    assert "input table 'tblItems'" in text


def test_function_wrappers_out_of_date_are_named() -> None:
    """The master's xlwings_udfs module against another UDF module (as if sop_xl had been
    upgraded to one with SOP_WMAPE/SOP_TOTAL and without the master's functions)."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))  # excel_stub_udfs for the child process
    try:
        text = doctor(MASTER, udf_module="excel_stub_udfs").text()
    finally:
        sys.path.remove(str(Path(__file__).parent))
    assert "'xlwings_udfs'" in text and "out of date" in text
    assert "missing: SOP_TOTAL;" in text  # the stub's only function the master lacks
    assert "no longer in sop_xl: SOP_ACCURACY_BY_LAG," in text
    # the installed module is what the committed master carries (first test: healthy)


def test_a_function_wrapper_missing_is_named(tmp_path: Path) -> None:
    """A master built before SOP_WMAPE existed: its xlwings_udfs lacks that wrapper."""
    import re

    from pyopenvba import ExcelFile

    src = tmp_path / "m.xlsm"
    shutil.copyfile(MASTER, src)
    with ExcelFile(src) as book:
        code = book.get_module("xlwings_udfs")
        old = re.sub(r"(?ms)^Function SOP_WMAPE\(.*?^End Function\r?\n", "", code)
        assert old != code
        book.set_module("xlwings_udfs", old)
        book.save(src)
    text = doctor(src).text()
    assert "'xlwings_udfs'" in text and "out of date" in text
    assert "missing: SOP_WMAPE;" in text
    assert "no longer in sop_xl" not in text


@pytest.mark.parametrize("pre", ["a.b", "x-1", "é"])
def test_a_master_saved_with_namespace_prefixes_is_healthy(tmp_path: Path, pre: str) -> None:
    """Workbook, sheets and tables whose elements carry a prefix ('.', '-', non-ASCII): the
    code names and tables are found. Before: "the workbook has no code name", "N sheet(s)
    have no code name" and every input table "missing" for a healthy master."""
    import zipfile

    path = tmp_path / "prefixed.xlsm"
    with zipfile.ZipFile(MASTER) as zi, zipfile.ZipFile(path, "w") as zo:
        for n in zi.namelist():
            data = zi.read(n)
            if n == "xl/workbook.xml" or n.startswith(("xl/worksheets/sheet", "xl/tables/")):
                data = xml_prefix.prefixed(data, pre.encode())
                assert f"<{pre}:".encode() in data, n
            zo.writestr(n, data)
    rep = doctor(path)
    assert rep.ok, rep.text()
