"""The macro-enabled workbook and add-in, checked with readers independent of the build.

olevba (oletools) lists and decompresses the VBA modules; olefile reads the raw project streams;
zipfile/defusedxml read the package parts; openpyxl and LibreOffice open the workbook. The UDF
wrappers are generated from ``tests/excel/excel_stub_udfs.py`` (a stand-in for sop_xl.excel.udfs).
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import warnings
import zipfile
from pathlib import Path

import olefile
import openpyxl
import pytest
import xlwings
from defusedxml import ElementTree as DET
from oletools.olevba import VBA_Parser, decompress_stream

from sop_xl.excel import build

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "workbook" / "SOP_Planning.xlsx"
COMMITTED = ROOT / "workbook" / "SOP_Planning.xlsm"
STUB = Path(__file__).with_name("excel_stub_udfs.py")
STUB_UDFS = re.findall(r"^def (SOP_\w+)\(", STUB.read_text(), re.M)
XLWINGS_QUICKSTART = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("build")
    xlsx = out / "SOP_Planning.xlsx"
    shutil.copyfile(TEMPLATE, xlsx)
    before = hashlib.sha256(xlsx.read_bytes()).hexdigest()
    build.make_xlsm(xlsx, out / "SOP_Planning.xlsm", udf_module="excel_stub_udfs")
    build.make_xlam(out / "SOP.xlam", udf_module="excel_stub_udfs")
    assert hashlib.sha256(xlsx.read_bytes()).hexdigest() == before, "input was modified"
    return {"xlsx": xlsx, "xlsm": out / "SOP_Planning.xlsm", "xlam": out / "SOP.xlam"}


def olevba_modules(path: Path) -> dict[str, str]:
    """Module name -> code, as olevba reads it (attribute lines hidden)."""
    parser = VBA_Parser(str(path))
    try:
        assert parser.detect_vba_macros()
        return {Path(name).stem: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def project_streams(path: Path) -> tuple[bytes, list[list[str]], str]:
    with zipfile.ZipFile(path) as z:
        ole = olefile.OleFileIO(io.BytesIO(z.read("xl/vbaProject.bin")))
    try:
        return (
            ole.openstream("VBA/_VBA_PROJECT").read(),
            ole.listdir(),
            ole.openstream("PROJECT").read().decode("cp1252"),
        )
    finally:
        ole.close()


def normal(code: str) -> str:
    """VBA text without attribute lines, LF line ends, no trailing blanks."""
    lines = [ln.rstrip() for ln in code.replace("\r\n", "\n").split("\n")]
    return "\n".join(ln for ln in lines if not ln.startswith("Attribute VB_")).strip()


# --- the VBA project ----------------------------------------------------------------------------
def test_olevba_lists_every_module(built: dict[str, Path]) -> None:
    modules = olevba_modules(built["xlsm"])
    assert set(modules) >= {
        "ThisWorkbook",
        "xlwings",
        "Dictionary",
        "SOP_Ribbon",
        "xlwings_udfs",
        "SOP_FunctionHelp",
    }
    assert "Public Sub SOP_OnAction(control As IRibbonControl)" in modules["SOP_Ribbon"]
    assert (
        """RunPython "import sop_xl.excel.ribbon as r; r.dispatch('" & control.Tag & "')\""""
        in modules["SOP_Ribbon"]
    )
    assert "Private Sub Workbook_Open()" in modules["ThisWorkbook"]


def test_every_udf_is_declared_and_nothing_else(built: dict[str, Path]) -> None:
    assert STUB_UDFS == ["SOP_WMAPE", "SOP_VARIANCE_PCT", "SOP_TOTAL"]
    udfs = olevba_modules(built["xlsm"])["xlwings_udfs"]
    declared = re.findall(r"^Function (\w+)\(", udfs, re.M)
    assert sorted(declared) == sorted(STUB_UDFS)
    assert "Function SOP_VARIANCE_PCT(actual, budget, Optional sign)" in udfs
    assert "Function SOP_TOTAL(ParamArray values())" in udfs
    assert (
        'SOP_WMAPE = XLPy.CallUDF("excel_stub_udfs", "SOP_WMAPE", Array(actual, forecast), '
        "ThisWorkbook, Application.Caller)" in udfs
    )


def test_function_wizard_help_comes_from_docstrings(built: dict[str, Path]) -> None:
    help_ = olevba_modules(built["xlsm"])["SOP_FunctionHelp"]
    for name in STUB_UDFS:
        assert f'Macro:=book & "{name}"' in help_
    assert (
        'Description:="Weighted MAPE: sum(|actual - forecast|) / sum(|actual|).", '
        'Category:="S&OP"' in help_
    )
    assert '"Actual quantities (a range)", _' in help_
    # Non-cp1252 characters become plain ones; quotes are doubled for VBA.
    assert 'sign x (actual - budget) / |budget| - ""favourable"" is positive.' in help_
    assert 'Category:="S&OP Finance"' in help_


def test_xlwings_module_is_the_installed_one_adapted(built: dict[str, Path]) -> None:
    ours = olevba_modules(built["xlsm"])["xlwings"]
    shipped = (Path(xlwings.__file__).parent / "xlwings.bas").read_text(encoding="utf-8")
    assert f'Public Const XLWINGS_VERSION As String = "{xlwings.__version__}"' in ours
    assert 'Public Const PROJECT_NAME As String = "sop_xl"' in ours
    assert 'GetConfig("ADD_WORKBOOK_TO_PYTHONPATH", "true")' not in ours
    # Apart from those two edits, it is xlwings' module line for line.
    expected = shipped.replace(
        'PROJECT_NAME As String = "xlwings"', 'PROJECT_NAME As String = "sop_xl"'
    ).replace('"ADD_WORKBOOK_TO_PYTHONPATH", "true"', '"ADD_WORKBOOK_TO_PYTHONPATH", "false"')
    assert normal(ours) == normal(expected)


def test_vba_project_is_in_spec_form_like_xlwings_own(built: dict[str, Path]) -> None:
    stream, entries, project = project_streams(built["xlsm"])
    assert stream == bytes.fromhex("cc61ffff000100")
    assert stream == project_streams(XLWINGS_QUICKSTART)[0]  # xlwings' shipped file, same form
    assert not [e for e in entries if e[-1].startswith("__SRP_")]
    assert 'Name="sop_xl"' in project
    with zipfile.ZipFile(built["xlsm"]) as z:
        ole = olefile.OleFileIO(io.BytesIO(z.read("xl/vbaProject.bin")))
    dir_stream = decompress_stream(bytearray(ole.openstream("VBA/dir").read()))
    ole.close()
    assert b"\x04\x00\x06\x00\x00\x00sop_xl\x05\x00" in dir_stream  # NAME, then DOCSTRING
    for line in ("Module=SOP_Ribbon", "Module=xlwings_udfs", "Class=Dictionary"):
        assert line in project.splitlines()


def test_other_readers_agree(built: dict[str, Path]) -> None:
    from pyopenvba import check_file

    for path in (built["xlsm"], built["xlam"]):
        report = check_file(path)
        assert report.complete and not report.issues, report


# --- the package -----------------------------------------------------------------
def test_package_parts_and_relationships(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["xlsm"]) as z:
        names = z.namelist()
        rels = DET.fromstring(z.read("_rels/.rels"))
        wb_rels = DET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        types = DET.fromstring(z.read("[Content_Types].xml"))
        ribbon = z.read("customUI/customUI14.xml")
    assert names[0] == "[Content_Types].xml"
    assert ribbon == (ROOT / "sop_xl" / "excel" / "sources" / "customUI14.xml").read_bytes()
    ext = [
        r
        for r in rels.iter(f"{RELS_NS}Relationship")
        if r.get("Type")
        == "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
    ]
    assert [r.get("Target") for r in ext] == ["customUI/customUI14.xml"]
    for tree in (rels, wb_rels):
        ids = [r.get("Id") for r in tree.iter(f"{RELS_NS}Relationship")]
        assert len(ids) == len(set(ids))
    vba = [
        r.get("Target")
        for r in wb_rels.iter(f"{RELS_NS}Relationship")
        if "vbaProject" in r.get("Type")
    ]
    assert vba == ["vbaProject.bin"]
    overrides = {o.get("PartName"): o.get("ContentType") for o in types.iter(f"{TYPES_NS}Override")}
    assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    assert overrides["/xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"


def test_sheets_are_the_template_byte_for_byte(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["xlsx"]) as a, zipfile.ZipFile(built["xlsm"]) as b:
        for name in a.namelist():
            if name.startswith("xl/worksheets/sheet"):
                # Excel names a document module per sheet: that code name is the only change.
                ours = b.read(name)
                assert re.search(rb'<sheetPr codeName="Sheet\d+"', ours), name
                assert re.sub(rb' codeName="Sheet\d+"', b"", ours, count=1) == a.read(name)
            elif name.startswith(("xl/tables/", "xl/styles", "xl/sharedStrings", "docProps/")):
                assert a.read(name) == b.read(name), name


def test_build_is_reproducible(built: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "again.xlsm"
    build.make_xlsm(built["xlsx"], again, udf_module="excel_stub_udfs")
    assert again.read_bytes() == built["xlsm"].read_bytes()
    with zipfile.ZipFile(again) as z:
        assert {i.date_time for i in z.infolist()} == {build.ZIP_DATE}


def test_openpyxl_opens_it_with_vba(built: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(built["xlsm"], keep_vba=True)
    template = openpyxl.load_workbook(built["xlsx"])
    assert wb.sheetnames == template.sheetnames
    assert wb.vba_archive is not None
    for ws in template.worksheets:
        assert {n: ws.tables[n].ref for n in ws.tables} == {
            n: wb[ws.title].tables[n].ref for n in wb[ws.title].tables
        }


@pytest.mark.libreoffice
def test_libreoffice_opens_it(built: dict[str, Path], soffice: str, tmp_path: Path) -> None:
    from conftest import convert

    src = tmp_path / "SOP_Planning.xlsm"
    shutil.copyfile(built["xlsm"], src)
    out = convert(soffice, src, "xlsx", tmp_path / "lo")
    assert (
        openpyxl.load_workbook(out).sheetnames == openpyxl.load_workbook(built["xlsx"]).sheetnames
    )


# --- the add-in --------------------------------------------------------------------------
def test_addin_serves_the_active_workbook(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["xlam"]) as z:
        types = z.read("[Content_Types].xml").decode()
        assert "customUI/customUI14.xml" in z.read("_rels/.rels").decode()
    assert "application/vnd.ms-excel.addin.macroEnabled.main+xml" in types
    modules = olevba_modules(built["xlam"])
    assert "ActiveWorkbook, Application.Caller)" in modules["xlwings_udfs"]
    assert "ThisWorkbook, Application.Caller" not in modules["xlwings_udfs"]
    assert 'Public Const PROJECT_NAME As String = "sop_xl"' in modules["xlwings"]
    assert "Set wb = ActiveWorkbook" in modules["xlwings"]  # xlwings' custom add-in module
    assert project_streams(built["xlam"])[0] == bytes.fromhex("cc61ffff000100")


# --- errors -----------------------------------------------------------------
def test_missing_udf_module(built: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(build.BuildError, match="no_such_udfs"):
        build.make_xlsm(built["xlsx"], tmp_path / "x.xlsm", udf_module="no_such_udfs")
    monkeypatch.setattr(build, "DEFAULT_UDF_MODULE", "no_such_udfs")
    with pytest.warns(UserWarning, match="without =SOP_ functions"):
        build.make_xlsm(built["xlsx"], tmp_path / "y.xlsm", udf_module="no_such_udfs")
    assert "xlwings_udfs" not in olevba_modules(tmp_path / "y.xlsm")
    assert not (tmp_path / "x.xlsm").exists()


def test_refuses_a_workbook_that_already_has_macros(built: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(build.BuildError, match="already has a VBA project"):
        build.make_xlsm(built["xlsm"], tmp_path / "z.xlsm", udf_module=None)


# --- the committed workbook -----------------------------------------------------------------
def test_committed_workbook_matches_its_sources() -> None:
    if not COMMITTED.exists():
        pytest.skip("workbook/SOP_Planning.xlsm not built yet (python scripts/build_workbook.py)")
    with zipfile.ZipFile(COMMITTED) as z:
        assert (
            z.read("customUI/customUI14.xml")
            == (ROOT / "sop_xl" / "excel" / "sources" / "customUI14.xml").read_bytes()
        )
    with warnings.catch_warnings():  # no UDF module yet: built without UDFs, like the workbook
        warnings.simplefilter("ignore")
        sources = build.vba_sources(addin=False)
    ours = olevba_modules(COMMITTED)
    for name, code in sources.modules.items():
        assert name in ours, f"module {name} is missing: rebuild (scripts/build_workbook.py)"
        assert normal(ours[name]) == normal(code), f"module {name} differs: rebuild the workbook"
    assert normal(ours["ThisWorkbook"]) == normal(sources.this_workbook)
    committed = openpyxl.load_workbook(COMMITTED, keep_vba=True)
    template = openpyxl.load_workbook(TEMPLATE)
    assert committed.sheetnames == template.sheetnames
    for ws in template.worksheets:
        assert sorted(ws.tables) == sorted(committed[ws.title].tables)


def test_vba_lines_fit_vba_limits(built: dict[str, Path]) -> None:
    for name, code in olevba_modules(built["xlsm"]).items():
        assert max(map(len, code.splitlines()), default=0) <= 1023, name  # VBA's line limit
        assert code.count(" _\n") <= 24 * max(1, code.count("\nEnd Sub")), name


def test_real_udf_module_is_fully_wrapped() -> None:
    """Every @xw.func of sop_xl/excel/udfs.py (found by reading its source) gets a wrapper."""
    source_path = ROOT / "sop_xl" / "excel" / "udfs.py"
    if not source_path.exists():
        pytest.skip("sop_xl/excel/udfs.py not written yet")
    source = source_path.read_text(encoding="utf-8")
    decorated = [
        m.group(1)
        for block in re.split(r"\n\n\n", source)  # top-level definitions, as ruff formats them
        if re.search(r"^@xw\.func\b", block, re.M)
        for m in [re.search(r"^def (\w+)\(", block, re.M)]
        if m
    ]
    assert decorated, "no @xw.func found"
    sources = build.vba_sources(addin=False)
    declared = re.findall(r"^Function (\w+)\(", sources.modules["xlwings_udfs"], re.M)
    assert sorted(declared) == sorted(decorated)
    assert sorted(u.name for u in sources.udfs) == sorted(decorated)
    assert all(
        u.description and not u.description.startswith("Python function") for u in sources.udfs
    )
