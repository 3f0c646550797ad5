"""Files sop_xl saves through openpyxl hold their text as shared strings (issue 20)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from python_calamine import CalamineWorkbook

from sop_xl.io.filebook import save_new_workbook
from sop_xl.io.xlsx.sst import SharedStrings, share_sheet_strings

TEXTS = ["Item No.", "  leading and trailing  ", "a & b < c", '=HYPERLINK("x")', "Item No."]


def _sheets(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/s")}


def test_saved_workbook_has_no_inline_strings_and_reads_back_the_same(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for i, t in enumerate(TEXTS, start=1):
        ws.cell(i, 1, t).data_type = "s"  # text, also the one starting with "="
        ws.cell(i, 2, i * 1.5)
    ws["C1"] = CellRichText([TextBlock(InlineFont(b=True), "bold"), " plain"])
    ws["C2"].value, ws["C2"].data_type = "", "s"  # openpyxl writes <c t="inlineStr"/>
    wb.create_sheet("Two")["A1"] = "Item No."
    raw = tmp_path / "raw.xlsx"
    wb.save(raw)
    assert any('t="inlineStr"' in x for x in _sheets(raw).values())  # what openpyxl writes

    out = save_new_workbook(wb, tmp_path / "ours.xlsx")
    sheets = _sheets(out)
    assert not any("inlineStr" in x or "<is>" in x for x in sheets.values())
    with zipfile.ZipFile(out) as zf:
        sst = zf.read("xl/sharedStrings.xml").decode()
    assert sst.count("<si>") == 5  # "Item No." once for three cells on two sheets
    assert 'uniqueCount="5"' in sst and '<t xml:space="preserve">  leading' in sst
    back = openpyxl.load_workbook(out, rich_text=True)
    assert [back.active.cell(i, 1).value for i in range(1, 6)] == TEXTS
    assert [back.active.cell(i, 2).value for i in range(1, 6)] == [1.5, 3, 4.5, 6, 7.5]
    assert str(back.active["C1"].value) == "bold plain" and back.active["C2"].value is None
    assert back["Two"]["A1"].value == "Item No."
    cal = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert [r[0] for r in cal] == TEXTS


def test_inline_cells_become_indices_of_the_existing_table() -> None:
    class _Pkg:  # no shared-strings part yet
        def rels(self, part):
            return []

    sst = SharedStrings(_Pkg(), "xl/workbook.xml")  # type: ignore[arg-type]
    sst.ids(__import__("numpy").array(["<t>kept</t>"], dtype=object))
    xml = (
        '<row r="1"><c r="A1" s="2" t="inlineStr"><is><t>new</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>kept</t></is></c><c r="C1" t="inlineStr"/>'
        '<c r="D1"><v>4</v></c></row>'
    )
    assert share_sheet_strings(xml, sst) == (
        '<row r="1"><c r="A1" s="2" t="s"><v>1</v></c><c r="B1" t="s"><v>0</v></c>'
        '<c r="C1"/><c r="D1"><v>4</v></c></row>'
    )
    assert sst.new == ["<t>kept</t>", "<t>new</t>"]
