"""Package parts whose elements carry a namespace prefix (any XML NCName: ``a.b:``, ``x-1:``,
``é:``), as some programs write them: the same workbook to every XML reader, so sop_xl finds
its sheets, relationships, content types and styles there too, and what it adds lands in the
container's namespace (openpyxl and calamine read it back)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xml_prefix
from python_calamine import CalamineWorkbook
from test_sst_unusual import OUT  # a one-column output table

from sop_xl.io.filebook import save_new_workbook
from sop_xl.io.writer import write_sheets
from sop_xl.io.xlsx.calc import calc_pr_xml
from sop_xl.io.xlsx.parts import CONTENT_TYPES, NS_MAIN, Package, sheet_parts
from sop_xl.io.xlsx.tables import resize_table_xml, table_problems
from sop_xl.model.sheets import SheetOutput

WB, WB_RELS, STYLES = "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"
PREFIXES = ["a.b", "x-1", "é"]


def _workbook(tmp_path: Path, parts: list[str], pre: str) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["A1"], ws["B1"] = "hello", 2
    base = save_new_workbook(wb, tmp_path / "base.xlsx")
    with zipfile.ZipFile(base) as zf:
        data = {n: zf.read(n) for n in zf.namelist()}
    for n in parts:
        data[n] = xml_prefix.prefixed(data[n], pre)
        assert f"<{pre}:".encode() in data[n]
    src = tmp_path / "src.xlsx"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in data.items():
            zf.writestr(n, d)
    return src


@pytest.mark.parametrize("pre", PREFIXES)
@pytest.mark.parametrize(
    "parts", [[WB], [WB_RELS], [CONTENT_TYPES], [STYLES], [WB, WB_RELS, CONTENT_TYPES, STYLES]]
)
def test_a_sheet_written_into_a_prefixed_package(tmp_path: Path, parts: list[str], pre: str):
    """Before: "a damaged package part: no <sheets>/<Relationships>/<Types>/<styleSheet>
    element" for a valid workbook (and, for styles, new styles would have been numbered from 0)."""
    src = _workbook(tmp_path, parts, pre)
    with zipfile.ZipFile(src) as zf:
        assert sheet_parts(zf) == {"Data": "xl/worksheets/sheet1.xml"}
    assert CalamineWorkbook.from_path(str(src)).sheet_names == ["Data"]  # readers agree
    dst = tmp_path / "out.xlsx"
    write_sheets(src, [SheetOutput(OUT, pd.DataFrame({"name": ["x", "y"]}))], dst)
    book = CalamineWorkbook.from_path(str(dst))
    assert book.sheet_names == ["Data", "New"]
    assert book.get_sheet_by_name("Data").to_python() == [["hello", 2.0]]
    assert book.get_sheet_by_name("New").to_python() == [["Name"], ["x"], ["y"]]
    wb = openpyxl.load_workbook(dst)
    assert [[c.value for c in r] for r in wb["New"].iter_rows()] == [["Name"], ["x"], ["y"]]
    head = wb["New"]["A1"]  # the header style: white bold on dark blue, as written
    assert head.font.b and head.fill.fgColor.rgb == "FF1F4E78"
    assert wb["Data"]["A1"].font.b is not True
    with zipfile.ZipFile(dst) as zf:
        styles = zf.read(STYLES).decode()
        assert zf.testzip() is None
    p = f"{pre}:" if STYLES in parts else ""
    for sec in ("fonts", "fills", "cellXfs"):
        assert styles.count(f"<{p}{sec} ") + styles.count(f"<{p}{sec}>") == 1, sec


@pytest.mark.parametrize("pre", PREFIXES)
def test_relationships_and_content_types_edited_in_a_prefixed_package(
    tmp_path: Path, pre: str
) -> None:
    src = _workbook(tmp_path, [WB_RELS, CONTENT_TYPES], pre)
    with Package(src) as pkg:
        assert pkg.overrides()["xl/workbook.xml"].endswith("sheet.main+xml")
        rid = next(r.id for r in pkg.rels(WB) if r.part == STYLES)
        pkg.remove_rels(WB, {rid})
        assert STYLES not in {r.part for r in pkg.rels(WB)}
        assert f"<{pre}:Relationship " in pkg.text(WB_RELS)
        pkg.remove_override(STYLES)
        assert STYLES not in pkg.overrides()
        pkg.set_override("xl/extra.xml", "application/x-test")
        assert pkg.overrides()["xl/extra.xml"] == "application/x-test"
        assert f'<{pre}:Override PartName="/xl/extra.xml"' in pkg.text(CONTENT_TYPES)
        assert 'Extension="xml"' in pkg.text(CONTENT_TYPES)
        pkg.remove_default("application/xml")
        assert 'Extension="xml"' not in pkg.text(CONTENT_TYPES)


@pytest.mark.parametrize("pre", PREFIXES)
def test_table_resized_in_a_prefixed_table_part(pre: str) -> None:
    """Before: "not a table part (no <table> element)" for an a.b:table."""
    t = (
        f'<{pre}:table xmlns:{pre}="{NS_MAIN}" id="1" name="T" displayName="T" ref="A1:B3">'
        f'<{pre}:autoFilter ref="A1:B3"/><{pre}:tableColumns count="2">'
        f'<{pre}:tableColumn id="1" name="Item"/><{pre}:tableColumn id="7" name="Qty"/>'
        f'</{pre}:tableColumns><{pre}:tableStyleInfo name="TableStyleLight1"/></{pre}:table>'
    )
    out = resize_table_xml(t, "A1:C9", ["Item", "Qty", "Region"])
    assert f'<{pre}:autoFilter ref="A1:C9"/>' in out
    assert f'<{pre}:tableColumn id="8" name="Region"/>' in out
    assert table_problems(out, ["Item", "Qty", "Region"]) == []


@pytest.mark.parametrize("pre", PREFIXES)
def test_calc_settings_in_a_prefixed_workbook_part(pre: str) -> None:
    """Before: a ValueError traceback (no "</workbook>") when the calcPr was added, or a second
    calcPr when one was there."""
    wb = f'<{pre}:workbook xmlns:{pre}="{NS_MAIN}"><{pre}:sheets/></{pre}:workbook>'
    out = calc_pr_xml(wb, recalc_on_load=True)
    assert out.count(f"<{pre}:calcPr ") == 1 and 'fullCalcOnLoad="1"' in out
    assert out.endswith(f"</{pre}:workbook>")
    again = calc_pr_xml(out, recalc_on_load=False)
    assert again.count(f"<{pre}:calcPr ") == 1 and "fullCalcOnLoad" not in again


@pytest.mark.parametrize("pre", ["", *PREFIXES])
@pytest.mark.parametrize("names", ["<definedNames/>", "none", "one"])
def test_print_area_in_a_prefixed_workbook(tmp_path: Path, pre: str, names: str) -> None:
    """The output's print area is set once, in the workbook's one <definedNames>, whatever its
    prefix and whether that element is empty (openpyxl writes <definedNames/>), missing or
    holds a name; a second write replaces it. Before: a second <definedNames> after an empty
    one (schema-invalid; openpyxl read no print area), and nothing at all in an a.b:workbook."""
    src = _workbook(tmp_path, [WB] if pre else [], pre)
    with zipfile.ZipFile(src) as zf:
        data = {n: zf.read(n) for n in zf.namelist()}
    p = f"{pre}:" if pre else ""
    wb = data[WB].decode()
    assert f"<{p}definedNames/>" in wb
    if names == "none":
        wb = wb.replace(f"<{p}definedNames/>", "")
    elif names == "one":
        wb = wb.replace(
            f"<{p}definedNames/>",
            f'<{p}definedNames><{p}definedName name="Rate">Data!$B$1</{p}definedName>'
            f"</{p}definedNames>",
        )
    data[WB] = wb.encode()
    with zipfile.ZipFile(src, "w") as zf:
        for n, d in data.items():
            zf.writestr(n, d)
    for rows in (["x", "y"], ["x", "y", "z"]):
        out = SheetOutput(OUT, pd.DataFrame({"name": rows}), print_columns=1)
        write_sheets(src, [out])
        book = openpyxl.load_workbook(src)
        assert book["New"].print_area == f"'New'!$A$1:$A${len(rows) + 1}"
        if names == "one":
            assert book.defined_names["Rate"].attr_text == "Data!$B$1"
        with zipfile.ZipFile(src) as zf:
            xml = zf.read(WB).decode()
        assert len(re.findall(rf"<{re.escape(p)}definedNames[\s/>]", xml)) == 1
        assert xml.count("_xlnm.Print_Area") == 1


@pytest.mark.parametrize("pre", PREFIXES)
@pytest.mark.parametrize("which", ["root only", "sections only"])
def test_styles_whose_root_and_sections_differ_in_prefix(
    tmp_path: Path, pre: str, which: str
) -> None:
    """<a.b:styleSheet> holding default-namespace sections, or the reverse: new styles go into
    the sections that are there. Before (root only): once the root's prefix was read, its
    sections were looked for under it, not found, and written a second time."""
    src = _workbook(tmp_path, [], pre)
    with zipfile.ZipFile(src) as zf:
        data = {n: zf.read(n) for n in zf.namelist()}
    xml = data[STYLES].decode()
    decl = f'xmlns:{pre}="{NS_MAIN}" '
    if which == "root only":
        xml = xml.replace("<styleSheet ", f"<{pre}:styleSheet {decl}", 1)
        xml = xml.replace("</styleSheet>", f"</{pre}:styleSheet>")
    else:
        xml = xml.replace("<styleSheet ", f"<styleSheet {decl}", 1)
        xml = re.sub(r"<(/?)(?!styleSheet)([A-Za-z])", rf"<\1{pre}:\2", xml)
    data[STYLES] = xml.encode()
    with zipfile.ZipFile(src, "w") as zf:
        for n, d in data.items():
            zf.writestr(n, d)
    dst = tmp_path / "out.xlsx"
    write_sheets(src, [SheetOutput(OUT, pd.DataFrame({"name": ["x", "y"]}))], dst)
    wb = openpyxl.load_workbook(dst)
    head = wb["New"]["A1"]
    assert head.value == "Name" and head.font.b and head.fill.fgColor.rgb == "FF1F4E78"
    with zipfile.ZipFile(dst) as zf:
        styles = zf.read(STYLES).decode()
    for sec in ("fonts", "fills", "cellXfs"):
        assert len(re.findall(rf"<(?:{re.escape(pre)}:)?{sec}[\s>]", styles)) == 1, sec


def test_a_prefix_is_any_xml_name_and_the_pattern_compiles_in_well_under_a_millisecond() -> None:
    """parts.NCNAME: in ASCII exactly XML's name characters (a letter or '_' first, then digits,
    '-' and '.' too), any non-ASCII character counted as one (as NCNAME_B). The XML spec's
    Unicode ranges cost about 5 ms a compile, and patterns are built per part name: 0.9 s of
    CPU in one cycle before (measured by cProfile: re._compiler._optimize_charset)."""
    import re

    from sop_xl.io.xlsx.parts import NCNAME, PREFIX

    ascii_ = "".join(map(chr, range(128)))
    assert "".join(c for c in ascii_ if re.fullmatch(NCNAME, c)) == (
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
    )
    assert "".join(c for c in ascii_ if re.fullmatch(NCNAME, "a" + c)) == (
        "-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
    )
    for name in ("x", "a.b", "x-1", "_9", "é", "हि", "x·y", "名前"):
        assert re.fullmatch(NCNAME, name), name
    for name in ("", "1x", "-a", ".a", "a b", "a:b", "a/b", "a>b"):
        assert not re.fullmatch(NCNAME, name), name
    text = "<si><a.b:si><é:si><1x:si><x-1:si>"
    assert [m[1] for m in re.finditer(rf"<({PREFIX})si>", text)] == ["", "a.b:", "é:", "x-1:"]


#: a foreign namespace whose prefix looks like "a.b" to a pattern with an unescaped '.'
_LOOK_ALIKE = (
    'xmlns:axb="urn:example:other" xmlns:mc="http://schemas.openxmlformats.org/'
    'markup-compatibility/2006" mc:Ignorable="axb"'
)


def test_a_table_prefix_is_matched_literally_not_as_a_pattern() -> None:
    """The table's prefix "a.b:" is text, not a pattern: an <axb:autoFilter> of another
    namespace (ignorable, so valid) is not the table's filter. Before: its ref was moved and
    the table's own filter kept the old range (Excel repairs that table)."""
    from defusedxml.ElementTree import fromstring

    t = (
        f'<a.b:table xmlns:a.b="{NS_MAIN}" {_LOOK_ALIKE} id="1" name="T" displayName="T" '
        'ref="A1:B3"><axb:autoFilter ref="Z1:Z2"/><a.b:autoFilter ref="A1:B3"/>'
        '<a.b:tableColumns count="2"><a.b:tableColumn id="1" name="Item"/>'
        '<a.b:tableColumn id="7" name="Qty"/></a.b:tableColumns></a.b:table>'
    )
    root = fromstring(resize_table_xml(t, "A1:B9", ["Item", "Qty"]))
    assert root.get("ref") == "A1:B9"
    assert root.find(f"{{{NS_MAIN}}}autoFilter").get("ref") == "A1:B9"
    assert root.find("{urn:example:other}autoFilter").get("ref") == "Z1:Z2"


def test_a_workbook_prefix_is_matched_literally_not_as_a_pattern() -> None:
    """calcPr goes where the schema wants it (after definedNames), not before an <axb:oleSize>
    of another namespace. Before: it was put before that element, ahead of definedNames."""
    wb = (
        f'<a.b:workbook xmlns:a.b="{NS_MAIN}" {_LOOK_ALIKE}><a.b:sheets/><axb:oleSize/>'
        "<a.b:definedNames/></a.b:workbook>"
    )
    out = calc_pr_xml(wb, recalc_on_load=True)
    assert out.endswith('<a.b:definedNames/><a.b:calcPr calcId="191029" fullCalcOnLoad="1"/>'
                        "</a.b:workbook>")  # fmt: skip


@pytest.mark.parametrize("how", ["root only", "children only"])
def test_table_columns_found_and_added_under_their_own_prefix(how: str) -> None:
    """<a.b:table> whose columns are in the default namespace declared on <tableColumns> (or
    an unprefixed table with a.b: columns): each element is found under its own prefix bound
    to the main namespace, a new column takes its container's prefix, the container keeps its
    declaration. An <axb:tableColumns> of another namespace is not the table's. Before:
    "table T has no tableColumns"."""
    from defusedxml.ElementTree import fromstring

    if how == "root only":
        root, decl, kids, p = "a.b:table", f'xmlns:a.b="{NS_MAIN}"', f'xmlns="{NS_MAIN}"', ""
    else:
        root, decl, kids, p = "table", f'xmlns="{NS_MAIN}" xmlns:a.b="{NS_MAIN}"', "", "a.b:"
    t = (
        f'<{root} {decl} {_LOOK_ALIKE} id="1" name="T" displayName="T" ref="A1:B3">'
        '<axb:tableColumns count="1"><axb:tableColumn id="1" name="Other"/></axb:tableColumns>'
        f'<{p}autoFilter {kids} ref="A1:B3"/><{p}tableColumns {kids} count="2">'
        f'<{p}tableColumn id="1" name="Item"/><{p}tableColumn id="7" name="Qty"/>'
        f"</{p}tableColumns></{root}>"
    )
    out = resize_table_xml(t, "A1:C9", ["Item", "Qty", "Region"])
    assert table_problems(out, ["Item", "Qty", "Region"]) == []
    el = fromstring(out)
    assert el.find(f"{{{NS_MAIN}}}autoFilter").get("ref") == "A1:C9"
    cols = el.find(f"{{{NS_MAIN}}}tableColumns")
    assert cols.get("count") == "3"
    got = [(c.get("id"), c.get("name")) for c in cols.findall(f"{{{NS_MAIN}}}tableColumn")]
    assert got == [("1", "Item"), ("7", "Qty"), ("8", "Region")]
    assert len(cols) == 3  # no column outside the main namespace
    other = el.find("{urn:example:other}tableColumns")
    assert other.get("count") == "1" and len(other) == 1
