"""Every file sop_xl writes opens in Excel unrepaired (issue 20).

Each file goes through ``ooxml_check.check_file``: the openxml-audit validator (a port of the
Open XML SDK validator) plus structural checks. The demo files come from the session fixture
``demo_dir`` (the whole cycle ran on its master: every step's sheets are in it).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from ooxml_check import check_file, structure_findings

from sop_xl.io.xlsx.calc import CALC_ID, calc_pr_xml

ROOT = Path(__file__).resolve().parents[1]


def _clean(path: Path) -> None:
    findings = check_file(path)
    assert findings == [], f"{path.name}:\n" + "\n".join(findings[:20])


@pytest.mark.parametrize("name", ["SOP_Planning.xlsx", "SOP_Planning.xlsm"])
def test_committed_workbooks_are_clean(name: str) -> None:
    _clean(ROOT / "workbook" / name)


def test_addin_is_clean(tmp_path: Path) -> None:
    from sop_xl.excel import build

    out = tmp_path / "SOP.xlam"
    build.make_xlam(out, udf_module=None)
    _clean(out)


def test_demo_master_after_the_whole_cycle_is_clean(demo_dir: Path) -> None:
    _clean(demo_dir / "SOP_Planning.xlsm")


def test_demo_master_sheets_added_by_the_writer_have_code_names(demo_dir: Path) -> None:
    """Issue 20 item 3: sheets 20-33 of the demo master had no codeName."""
    with zipfile.ZipFile(demo_dir / "SOP_Planning.xlsm") as zf:
        sheets = [n for n in zf.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", n)]
        names = []
        for n in sheets:
            with zf.open(n) as fh:
                m = re.search(rb'<sheetPr\b[^>]*codeName="([^"]+)"', fh.read(4096))
            assert m, f"{n} has no codeName"
            names.append(m.group(1).lower())
    assert len(sheets) > 19  # the writer did add sheets
    assert len(set(names)) == len(names), "codeNames must be unique"


def test_snapshot_and_submissions_are_clean(demo_dir: Path) -> None:
    files = sorted((demo_dir / "snapshots").glob("*.xlsx"))
    files += sorted((demo_dir / "submissions").glob("*.xlsx"))
    assert len(files) >= 5
    for f in files:
        _clean(f)


def test_change_report_is_clean(demo_dir: Path, tmp_path: Path) -> None:
    from sop_xl.plan.diff import diff

    snap = sorted((demo_dir / "snapshots").glob("*.xlsx"))[0]
    out = tmp_path / "changes.xlsx"
    diff(snap, snap, out)
    _clean(out)


def test_regional_template_is_clean(demo_dir: Path, tmp_path: Path) -> None:
    from sop_xl.consolidate.submission import write_regional_template
    from sop_xl.io.filebook import FileBook

    book = FileBook(demo_dir / "SOP_Planning.xlsm")
    out = tmp_path / "EU_template.xlsx"
    write_regional_template(book, "EU", out)
    _clean(out)


# --- calcPr ------------------------------------------------------------------------------------
WB = (
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<sheets/>{calc}</workbook>"
)


def test_calc_pr_forces_recalculation_only_when_asked() -> None:
    opx = WB.format(calc='<calcPr calcId="124519" fullCalcOnLoad="1"/>')  # what openpyxl writes
    assert calc_pr_xml(opx, recalc_on_load=False) == WB.format(calc=f'<calcPr calcId="{CALC_ID}"/>')
    assert calc_pr_xml(opx, recalc_on_load=True) == WB.format(
        calc=f'<calcPr calcId="{CALC_ID}" fullCalcOnLoad="1"/>'
    )
    # no calcPr: none added unless needed, then before </workbook>
    assert calc_pr_xml(WB.format(calc=""), recalc_on_load=False) == WB.format(calc="")
    assert f'<calcPr calcId="{CALC_ID}" fullCalcOnLoad="1"/></workbook>' in calc_pr_xml(
        WB.format(calc=""), recalc_on_load=True
    )


def test_checker_catches_what_issue_20_found(tmp_path: Path) -> None:
    """The structural checker fails on each defect the issue reported (so a pass means it)."""
    src = ROOT / "workbook" / "SOP_Planning.xlsm"
    with zipfile.ZipFile(src) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    table = next(n for n in parts if n.startswith("xl/tables/"))
    # the filter stops 4 rows short of the table, as write_demo_submissions once wrote it
    parts[table] = re.sub(
        rb'(<autoFilter ref="[A-Z]+\d+:[A-Z]+)(\d+)"',
        lambda m: m.group(1) + str(int(m.group(2)) - 4).encode() + b'"',
        parts[table],
        count=1,
    )
    sheet = "xl/worksheets/sheet2.xml"
    parts[sheet] = re.sub(rb' codeName="[^"]*"', b"", parts[sheet], count=1)
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"<sheets>", b'<calcPr calcId="124519" fullCalcOnLoad="1"/><sheets>', 1
    )
    bad = tmp_path / "bad.xlsm"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, d in parts.items():
            zf.writestr(n, d)
    found = "\n".join(structure_findings(bad))
    assert "autoFilter ref" in found
    assert "no codeName" in found
    assert "fullCalcOnLoad" in found


def test_checker_reads_every_cell_of_a_big_sheet(tmp_path: Path) -> None:
    """A sheet over 1 MB is checked on its text, not as a tree: the defects in its last rows are
    still found, and its table's header row is still read (no false table finding)."""
    src = ROOT / "workbook" / "SOP_Planning.xlsx"
    with zipfile.ZipFile(src) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    rels = next(n for n, d in parts.items() if "/_rels/sheet" in n and b"/table" in d)
    sheet = rels.replace("_rels/", "").removesuffix(".rels")
    xml = parts[sheet].decode()
    last = max(int(r) for r in re.findall(r'<row\b[^>]*?\sr="(\d+)"', xml))
    rows = [
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>filler text</t></is></c>'
        f'<c r="B{r}"><v>{r}</v></c><c r="C{r}"><v>1.5</v></c></row>'
        for r in range(last + 1, last + 30_001)
    ]
    n = last + 29_999
    rows[-2] = f'<row r="{n}"><c r="C{n}"><v>1</v></c><c r="B{n}"><v>2</v></c></row>'
    rows[-1] = f'<row r="{n + 1}"><c r="A{n + 1}" s="99999"><v>3</v></c></row>'
    if "<sheetData/>" in xml:
        xml = xml.replace("<sheetData/>", "<sheetData>" + "".join(rows) + "</sheetData>")
    else:
        xml = xml.replace("</sheetData>", "".join(rows) + "</sheetData>")
    parts[sheet] = xml.encode()
    assert len(parts[sheet]) > 1_000_000
    big = tmp_path / "big.xlsx"
    with zipfile.ZipFile(big, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    found = structure_findings(big)
    assert len(found) == 2, found
    assert f"cell B{n} out of order in row {n}" in found[0]
    assert f"cell A{n + 1} style 99999 >=" in found[1]
