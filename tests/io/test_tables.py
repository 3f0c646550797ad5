"""One function resizes a table: ref, autoFilter ref, column count and header cells agree."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.table import Table

from sop_xl.errors import SopError
from sop_xl.io.xlsx.tables import resize_table, resize_table_xml, table_problems

T = (
    '<table xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" id="1" '
    'name="T" displayName="T" ref="A1:B3"><autoFilter ref="A1:B3"/>'
    '<sortState ref="A2:B3"><sortCondition ref="A2:A3"/></sortState>'
    '<tableColumns count="2"><tableColumn id="1" name="Item"/><tableColumn id="7" name="Qty"/>'
    '</tableColumns><tableStyleInfo name="TableStyleLight1"/></table>'
)


def test_resize_keeps_ref_filter_columns_and_headers_consistent() -> None:
    out = resize_table_xml(T, "A1:C9", ["Item", "Qty", "Region"])
    assert 'ref="A1:C9"' in out and '<autoFilter ref="A1:C9"/>' in out
    assert "sortState" not in out  # it named the old range
    # existing columns keep their ids; the new one gets max id + 1 = 8
    assert '<tableColumns count="3"><tableColumn id="1" name="Item"/>' in out
    assert '<tableColumn id="8" name="Region"/>' in out
    assert table_problems(out, ["Item", "Qty", "Region"]) == []


def test_table_problems_names_each_inconsistency() -> None:
    bad = T.replace('<autoFilter ref="A1:B3"/>', '<autoFilter ref="A1:B2"/>')
    assert any("autoFilter ref A1:B2" in p for p in table_problems(bad))
    bad = T.replace('count="2"', 'count="3"')
    assert any("count" in p for p in table_problems(bad))
    assert any("header cells" in p for p in table_problems(T, ["Item", "Quantity"]))
    assert table_problems(T.replace('ref="A1:B3"><auto', 'ref="A1:C3"><auto')) != []


def test_resize_refuses_what_it_cannot_keep_consistent() -> None:
    with pytest.raises(SopError, match="header"):
        resize_table_xml(T, "A1:C3", ["Item", "Qty"])
    with pytest.raises(SopError, match="unique"):
        resize_table_xml(T, "A1:B3", ["Item", "Item"])
    with pytest.raises(SopError, match="total row"):
        resize_table_xml(T.replace('ref="A1:B3">', 'ref="A1:B3" totalsRowCount="1">', 1),
                         "A1:B4", ["Item", "Qty"])  # fmt: skip


def _saved_table(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read(next(n for n in zf.namelist() if n.startswith("xl/tables/"))).decode()


def test_openpyxl_table_grown_after_load(tmp_path: Path) -> None:
    """The bug of issue 20: a loaded table's ref was moved, its autoFilter was not."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Item", "Qty"])
    ws.append(["A", 1])
    ws.add_table(Table(displayName="T", ref="A1:B2"))
    wb.save(tmp_path / "a.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "a.xlsx")
    ws = wb.active
    ws.append(["B", 2])
    ws.append(["C", 3])
    resize_table(ws, "T", "A1:B4")
    wb.save(tmp_path / "b.xlsx")
    tx = _saved_table(tmp_path / "b.xlsx")
    assert table_problems(tx, ["Item", "Qty"]) == [], tx
    assert '<autoFilter ref="A1:B4"' in tx


def test_openpyxl_new_table_resized_before_first_save(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["Setting", "Value", "Note"], ["a", 1, ""], ["b", 2, ""]):
        ws.append(row)
    ws.add_table(Table(displayName="S", ref="A1:C2"))
    resize_table(ws, "S", "A1:C3")
    wb.save(tmp_path / "c.xlsx")
    tx = _saved_table(tmp_path / "c.xlsx")
    assert table_problems(tx, ["Setting", "Value", "Note"]) == [], tx
    assert 'ref="A1:C3"' in tx
