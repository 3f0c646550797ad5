"""FileBook.has_table answers from what the book read and wrote, without reopening the file
(issue 16: each later step of a cycle reopened the workbook with python-calamine only to ask)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.worksheet.table import Table as XlTable

from sop_xl.io.filebook import FileBook
from sop_xl.model.schema import Dtype, Table, col
from sop_xl.model.sheets import SheetOutput


def _table(name: str, sheet: str, output: bool = True) -> Table:
    columns = (col("key", "Key"), col("qty", "Qty", Dtype.QTY))
    return Table(name=name, sheet=sheet, title=name, group="Outputs", doc=name, columns=columns,
                 output=output)  # fmt: skip


A, B, C = _table("tblA", "Two"), _table("tblB", "Two"), _table("tblC", "New")
FRAME = pd.DataFrame({"key": ["x", "y"], "qty": [1.0, 2.0]})


def _book(path: Path) -> Path:
    """Sheet 'Two' holds two tables, tblA and tblB."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Two"
    ws.append(["Key", "Qty", None, "Key", "Qty"])
    ws.append(["a", 1, None, "b", 2])
    ws.add_table(XlTable(displayName="tblA", ref="A1:B2"))
    ws.add_table(XlTable(displayName="tblB", ref="D1:E2"))
    wb.save(path)
    return path


def test_tables_read_or_written_since_are_there_without_reopening(tmp_path: Path) -> None:
    book = FileBook(_book(tmp_path / "b.xlsx"))
    assert book.has_table(A) and book.has_table(B) and not book.has_table(C)
    assert book.read_table(B)["key"].tolist() == ["b"]
    book.write([SheetOutput(C, FRAME)])  # a new sheet: 'Two' is not touched
    assert book._wb is None  # the file changed: the next read opens it again
    assert book.has_table(B) and book.has_table(C)  # read / written since: known
    assert book._wb is None  # answered without opening the file
    assert book.has_table(A)  # never read: the file is asked
    assert book._wb is not None


def test_the_answers_are_those_of_a_fresh_look_at_the_file(tmp_path: Path) -> None:
    """Regenerating sheet 'Two' for tblA drops tblB (read before); has_table is true for a
    table or its sheet, as a fresh look at the file says, before and after each write."""
    book = FileBook(_book(tmp_path / "b.xlsx"))
    assert book.read_table(B)["key"].tolist() == ["b"]
    for outputs in ([SheetOutput(A, FRAME)], [SheetOutput(C, FRAME)], [SheetOutput(A, FRAME)]):
        book.write(outputs)
        fresh = FileBook(book.path)
        assert [book.has_table(t) for t in (A, B, C)] == [fresh.has_table(t) for t in (A, B, C)]
        assert "tblB" not in fresh.calamine.table_names  # gone, its sheet still there
