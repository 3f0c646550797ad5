"""submission.external_cells names each cell whose formula reads another workbook, and
guard.hidden_rows (the grid's hidden-row warning) each hidden row, where the reader places it:
cells and rows written without a reference were left out before, and a reference (or hidden)
inside another attribute's value was taken for the element's own (the hidden rows below were
[10] before, the regex's reading)."""

from __future__ import annotations

import pytest

from sop_xl.consolidate.submission import external_cells
from sop_xl.io.guard import hidden_rows
from sop_xl.io.xlsx.parts import NS_MAIN


def sheet(body: str) -> bytes:
    return f"<worksheet><sheetData>{body}</sheetData></worksheet>".encode()


def test_cells_without_a_reference_are_named_where_the_reader_places_them():
    body = (
        '<row r="5"><c r="C5"><v>1</v></c><c><f>[1]Forecast!D5</f><v>2</v></c></row>'
        "<row><c><v>3</v></c><c t='n'><f>'[2]Plan'!B4</f><v>4</v></c></row>"
    )
    assert external_cells(sheet(body)) == ["D5", "B6"]


def test_the_reference_is_the_r_attribute_itself():
    body = (
        '<row r="2"><c s="1" x=\'r="A1"\' r="b2"><f>[1]S!A1</f><v>1</v></c>'
        '<c xr="A1"><f>[1]S!A2</f><v>1</v></c></row>'
    )
    assert external_cells(sheet(body)) == ["B2", "C2"]


def test_shared_formulas_and_limits_as_before():
    body = (
        '<row r="3"><c r="A3"><f t="shared" si="0">[1]S!A1</f><v>1</v></c>'
        '<c r="B3"><f t="shared" si="0"/><v>1</v></c><c r="C3"><f>A3+1</f><v>2</v></c></row>'
    )
    assert external_cells(sheet(body)) == ["A3", "B3"]
    assert external_cells(sheet(body), limit=1) == ["A3"]


def test_hidden_rows_without_a_reference_are_where_the_reader_places_them():
    body = (
        '<row r="4"><c r="A4"><v>1</v></c></row>'
        '<row hidden="1"><c><v>2</v></c></row>'  # row 5: the row after row 4
        "<row r='9' hidden = 'true'/>"
        '<row x=\'hidden="1"\' r="10"/>'  # hidden only inside another value
        '<row customHeight="1" hidden="0"/>'  # row 11, shown
        "<row hidden='1'/>"  # row 12
    )
    assert hidden_rows(sheet(body)) == [5, 9, 12]


def test_an_empty_cell_before_a_formula_cell_is_not_named_for_it():
    # a styled blank <c .../> has no content: the regex read on to the next cell's </c> and
    # named the blank (A1, C2) for its neighbour's formula
    body = (
        '<row r="1"><c r="A1" s="1"/><c r="B1"><f>[1]Plan!A1</f><v>3</v></c></row>'
        "<row r='2'><c r='C2' s='2' /><c r='D2'><f>[1]Plan!A2</f><v>3</v></c></row>"
    )
    assert external_cells(sheet(body)) == ["B1", "D2"]


@pytest.mark.parametrize("pre", ["x:", "a.b:", "x-1:", "é:"])
def test_cells_of_a_prefixed_sheet(pre: str):
    """A namespace prefix is any XML NCName ('.', '-', non-ASCII): before, the cells of an
    a.b: sheet were not seen, so no external link was named (the check was skipped)."""
    body = (
        f'<{pre}row r="5"><{pre}c r="C5"><{pre}v>1</{pre}v></{pre}c>'
        f"<{pre}c r='D5'><{pre}f>[1]Forecast!D5</{pre}f><{pre}v>2</{pre}v></{pre}c></{pre}row>"
        f'<{pre}row r="6"><{pre}c r="A6" s="1"/><{pre}c r="B6"><{pre}f t="shared" si="0">'
        f'\'[2]Plan\'!B4</{pre}f></{pre}c><{pre}c r="C6"><{pre}f t="shared" si="0"/>'
        f"<{pre}v>3</{pre}v></{pre}c ></{pre}row>"
    )
    data = (
        f'<{pre}worksheet xmlns:{pre[:-1]}="{NS_MAIN}"><{pre}sheetData>{body}'
        f"</{pre}sheetData></{pre}worksheet>"
    ).encode()
    assert external_cells(data) == ["D5", "B6", "C6"]
