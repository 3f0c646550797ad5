"""reader.error_cells: the error cells of a sheet's XML, which calamine reads as blanks, in every
spelling of the type attribute an XML parser accepts (python-calamine reads all of them)."""

from __future__ import annotations

import pytest

from sop_xl.io.reader import error_cells


@pytest.mark.parametrize(
    "tag",
    [
        '<c r="B2" t="e">',
        "<c r='B2' t='e'>",
        '<c r = "B2" t = "e">',
        '<c t="e" s="1" r="b2">',
        '<c\nr="B2"\tt=\n"e">',
    ],
)
def test_error_cells_in_any_spelling(tag: str):
    data = f'<sheetData><row r="2">{tag}<v>#REF!</v></c><c r="C2"><v>1</v></c></row></sheetData>'
    assert error_cells(data.encode()) == {(2, "B"): "#REF!"}


def test_an_error_cell_without_a_body_is_na_and_takes_nothing_from_the_next_cell():
    data = b'<row r="2"><c r="B2" t="e"/><c r="C2"><v>7</v></c><c r="D2" t="s"><v>0</v></c></row>'
    assert error_cells(data) == {(2, "B"): "#N/A"}


def test_attributes_that_only_end_in_t_are_not_the_type():
    data = b'<row r="2"><c r="B2" xt="e" x:t="e"><v>1</v></c></row>'
    assert error_cells(data) == {}
