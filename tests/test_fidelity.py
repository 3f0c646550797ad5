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


def test_demo_master_after_each_step_and_the_whole_cycle_is_clean(
    demo_dir: Path, demo_steps: list[Path]
) -> None:
    """Every step writes the master: check it after each one, then after the whole cycle
    (freeze included). A worksheet a step left as it was (same bytes) is not read again
    (``seen``): the first copy is checked in full, then what each step wrote."""
    names = [p.stem.split(" ", 1)[1] for p in demo_steps]
    # the inputs, then each step but the last (freeze), whose master is the final one
    assert names[0] == "inputs" and names[-1] == "Executive summary", names
    assert {"Validate inputs", "Consolidate regional forecasts", "Supply review"} < set(names)
    seen: dict = {}
    for path in [*demo_steps, demo_dir / "SOP_Planning.xlsm"]:
        findings = check_file(path, seen)
        assert findings == [], f"{path.name}:\n" + "\n".join(findings[:20])


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
    parts[sheet] = parts[sheet].replace(  # one text inline, as openpyxl writes every text
        b"</sheetData>",
        b'<row r="999"><c r="A999" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )
    bad = tmp_path / "bad.xlsm"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, d in parts.items():
            zf.writestr(n, d)
    found = "\n".join(structure_findings(bad))
    assert "autoFilter ref" in found
    assert "no codeName" in found
    assert "fullCalcOnLoad" in found
    assert ": 1 inline-string cells" in found


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
        f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c>'
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


def _shapes_by_tree(sheet_data: bytes) -> list[tuple]:
    """Each row's shape computed independently of ``row_shapes`` (an element tree): the row's
    attributes but ``r``; per cell its column, attributes but ``r``, and its children's names
    and attributes (a shared formula's ``ref`` and ``si`` left out)."""
    from lxml import etree

    def attrs(el, skip: tuple[str, ...]) -> tuple:
        return tuple(sorted((k, v) for k, v in el.attrib.items() if k not in skip))

    out = []
    for row in etree.fromstring(b'<sheetData xmlns="x">' + sheet_data + b"</sheetData>"):
        cells = tuple(
            (
                re.match(r"[A-Z]*", c.get("r", "")).group(),
                attrs(c, ("r",)),
                tuple((etree.QName(k).localname, attrs(k, ("ref", "si"))) for k in c),
            )
            for c in row
        )
        out.append((attrs(row, ("r",)), cells))
    return out


def test_audit_sample_holds_every_row_shape_of_the_sheet() -> None:
    """The validator sees the first rows plus one row of every shape, however deep: rows a
    first-300-rows cut would never show it (another style, a formula, an inline string, a
    boolean, a missing or extra cell) are in the sample, and its shapes are the sheet's."""
    from ooxml_check import FIRST_ROWS, sample_rows

    def row(r: int, s: int = 3, extra: str = "") -> str:
        return (
            f'<row r="{r}"><c r="A{r}" s="{s}" t="s"><v>{r % 7}</v></c>'
            f'<c r="B{r}" s="4"><v>{r * 1.5}</v></c>{extra}</row>'
        )

    rows = [row(r) for r in range(1, 5001)]
    planted = {
        1234: row(1234, s=5),
        2345: row(2345, extra='<c r="C2345" s="4"><f>B2345*2</f><v>1</v></c>'),
        3456: row(3456, extra='<c r="C3456" t="inlineStr"><is><t>x</t></is></c>'),
        4567: row(4567, extra='<c r="D4567" t="b"><v>1</v></c>'),
        4999: '<row r="4999"><c r="B4999" s="4"><v>1</v></c></row>',
    }
    for r, xml in planted.items():
        rows[r - 1] = xml
    full = "".join(rows).encode()
    sample, kept, total = sample_rows(full)
    assert total == 5000 and kept == FIRST_ROWS + len(planted)
    assert set(_shapes_by_tree(sample)) == set(_shapes_by_tree(full))
    for r in planted:
        assert f'<row r="{r}">'.encode() in sample
    assert sample.startswith("".join(rows[:FIRST_ROWS]).encode())


def test_sibling_positions_match_openxml_audit() -> None:
    """The checker's linear sibling numbering gives openxml-audit's own positions."""
    from lxml import etree
    from ooxml_check import _SiblingPositions
    from openxml_audit.context import _sibling_position

    root = etree.fromstring(
        b"<sst><si><t>a</t></si><!-- note --><si><r><t>b</t></r><r><t>c</t></r></si>"
        b"<extLst/><si/><si><t>d</t><rPh><t>e</t></rPh></si></sst>"
    )
    ours = _SiblingPositions()
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    assert [ours(e) for e in elements] == [_sibling_position(e) for e in elements]
    assert [ours(e) for e in root.iter("si")] == [1, 2, 3, 4]


def test_seen_sheets_are_skipped_and_changed_ones_checked(tmp_path: Path) -> None:
    """``check_file(path, seen)`` on the next version of a file still finds a defect in the
    sheet that changed, and in a sheet that did not but whose table part changed."""
    src = ROOT / "workbook" / "SOP_Planning.xlsx"
    seen: dict = {}
    assert check_file(src, seen) == [] and seen
    with zipfile.ZipFile(src) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = "xl/worksheets/sheet2.xml"
    parts[sheet] = re.sub(rb'(<c r="B2" s=")\d+', rb"\g<1>9999", parts[sheet], count=1)
    table = next(n for n in parts if n.startswith("xl/tables/") and n != "xl/tables/table1.xml")
    parts[table] = re.sub(
        rb'(<autoFilter ref="[A-Z]+\d+:[A-Z]+)(\d+)"', rb'\g<1>999"', parts[table]
    )
    nxt = tmp_path / "next.xlsx"
    with zipfile.ZipFile(nxt, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    found = "\n".join(check_file(nxt, seen))
    assert "cell B2 style 9999" in found and "autoFilter ref" in found


def test_audit_sample_holds_every_row_shape_of_the_demo_sheets(demo_dir: Path) -> None:
    """The same on the demo master's real sheets: each sheet under 1 MB with more rows than
    the first ones kept (the bigger ones' shapes come from the same writers)."""
    from ooxml_check import FIRST_ROWS, sample_rows

    checked = 0
    with zipfile.ZipFile(demo_dir / "SOP_Planning.xlsm") as zf:
        for info in zf.infolist():
            if not re.match(r"xl/worksheets/sheet\d+\.xml$", info.filename):
                continue
            if info.file_size > 1_000_000:
                continue
            xml = zf.read(info)
            a, b = xml.find(b"<sheetData>") + len(b"<sheetData>"), xml.find(b"</sheetData>")
            if b < a or xml.count(b"<row ", a, b) <= FIRST_ROWS:
                continue
            sample, kept, total = sample_rows(xml[a:b])
            assert kept < total
            shapes = set(_shapes_by_tree(xml[a:b]))
            assert set(_shapes_by_tree(sample)) == shapes, info.filename
            checked += 1
    assert checked >= 10
