"""reader.error_cells: the error cells of a sheet's XML, which calamine reads as blanks, in every
spelling of the type attribute an XML parser accepts (python-calamine reads all of them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook
from test_guard import good, rezip, sheet_xml  # noqa: F401 - good is a fixture

from sop_xl.io import guard
from sop_xl.io.reader import error_cells
from sop_xl.io.xlsx.refs import col_letter


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
    assert error_cells(b"<sheetData>" + data + b"</sheetData>") == {(2, "B"): "#N/A"}


def test_attributes_that_only_end_in_t_are_not_the_type():
    data = b'<sheetData><row r="2"><c r="B2" xt="e" x:t="e"><v>1</v></c></row></sheetData>'
    assert error_cells(data) == {}


def sheet(body: str) -> bytes:
    return f"<worksheet><sheetData>{body}</sheetData></worksheet>".encode()


def test_error_cells_without_a_reference_are_where_the_reader_places_them():
    # B2 follows the explicit A2; the row without r is row 3, its first cell A3, then B3 ...
    body = (
        '<row r="2"><c r="A2"><v>1</v></c><c t="e"><v>#REF!</v></c></row>'
        '<row><c t="e"><v>#N/A</v></c><c><v>2</v></c><c t="e"/></row>'
        '<row r="7"><c r="D7"><v>1</v></c><c t="e"><v>#DIV/0!</v></c></row>'
    )
    assert error_cells(sheet(body)) == {
        (2, "B"): "#REF!",
        (3, "A"): "#N/A",
        (3, "C"): "#N/A",
        (7, "E"): "#DIV/0!",
    }


@pytest.mark.parametrize(
    "tag, where",
    [
        ('<c s="1" foo=\'r="A1"\' r="B2" t="e">', (2, "B")),  # r inside another value
        ('<c xr="A1" r="B2" t="e">', (2, "B")),  # an attribute that only ends in r
        ('<c r="B2" xr="A1" t="e">', (2, "B")),
        ('<c xr="A1" t="e">', (2, "C")),  # no r at all: after the previous cell, B2
        ('<c r="A1" r="B2" t="e">', (2, "B")),  # r twice: python-calamine takes the last
    ],
)
def test_the_reference_is_the_r_attribute_itself(tag: str, where: tuple[int, str]):
    body = f'<row r="2"><c r="B2"><v>1</v></c>{tag}<v>#REF!</v></c></row>'
    assert error_cells(sheet(body)) == {where: "#REF!"}


def test_what_is_not_an_error_cell_is_not_reported():
    body = (
        '<row r="2"><c r="A2" foo=\'t="e"\'><v>1</v></c>'  # t="e" inside another value
        '<!-- <c r="B2" t="e"><v>#REF!</v></c> -->'  # a comment is no markup
        '<c r="C2" t="str"><v><![CDATA[<c r="D2" t="e"><v>#N/A</v></c>]]></v></c></row>'
    )
    assert error_cells(sheet(body)) == {}


# --- the places agree with python-calamine's on small sheets of every mix -----------------------
# Each cell is (the XML, its twin): the twin is the same cell with a text value instead of an
# error (python-calamine reads an error cell as a blank), so the reader shows where it puts it.
ERRORS = ["#REF!", "#N/A", "#DIV/0!", "#NAME?"]
error = st.sampled_from(ERRORS)
cell = st.one_of(
    st.just(("<c><v>1</v></c>",) * 2),
    st.tuples(st.sampled_from("ABCZ"), st.integers(1, 9)).map(
        lambda t: (f'<c r="{t[0]}{t[1]}"><v>2</v></c>',) * 2
    ),
    error.map(lambda e: (f'<c t="e"><v>{e}</v></c>', f'<c t="str"><v>{e}</v></c>')),
    st.tuples(st.sampled_from("ABD"), st.integers(1, 9), error).map(  # as Excel writes it
        lambda t: (
            f'<c r="{t[0]}{t[1]}" s="1" t="e"><v>{t[2]}</v></c>',
            f'<c r="{t[0]}{t[1]}" s="1" t="str"><v>{t[2]}</v></c>',
        )
    ),
    st.just(('<c r="C2" x=" t=\'e\'"><v>4</v></c>',) * 2),  # r first, a type in a value
    st.just(('<c t="e"/>', '<c t="str"><v>#N/A</v></c>')),  # no value: #N/A
    st.tuples(st.sampled_from("bcz"), st.integers(1, 9), error).map(
        lambda t: (
            f"<c s='0' r = '{t[0]}{t[1]}' t = 'e'><f>1/0</f><v>{t[2]}</v></c>",
            f"<c s='0' r = '{t[0]}{t[1]}' t = 'str'><f>1/0</f><v>{t[2]}</v></c>",
        )
    ),
    error.map(  # a reference inside another attribute's value is no reference
        lambda e: (
            f'<c x=" r=\'A1\'" t="e"><v>{e}</v></c>',
            f'<c x=" r=\'A1\'" t="str"><v>{e}</v></c>',
        )
    ),
    error.map(  # nor an attribute that ends in r
        lambda e: (f'<c xr="A1" t="e"><v>{e}</v></c>', f'<c xr="A1" t="str"><v>{e}</v></c>')
    ),
    error.map(lambda e: (f'<x:c t="e"><x:v>{e}</x:v></x:c>', f'<x:c t="str"><x:v>{e}</x:v></x:c>')),
    st.just(("<c x=\"t='e'\"><v>3</v></c>",) * 2),  # a type inside another value
    st.just(('<!-- <c r="A1" t="e"><v>#REF!</v></c></row><row r="1"> -->',) * 2),
)
row = st.one_of(
    st.tuples(st.one_of(st.none(), st.integers(1, 12)), st.lists(cell, max_size=5)).map(
        lambda t: tuple(
            (f'<row r="{t[0]}">' if t[0] else "<row>") + "".join(c[k] for c in t[1]) + "</row>"
            for k in (0, 1)
        )
    ),
    st.sampled_from(["<row/>", '<row r="7"/>', "<row x=\" r='1'\"/>"]).map(lambda r: (r, r)),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.one_of(row, cell), min_size=1, max_size=8))
def test_error_cells_are_where_python_calamine_places_them(tmp_path: Path, good: Path, rows):  # noqa: F811
    body, twin = ("".join(r[k] for r in rows) for k in (0, 1))
    # every value of the twin is told apart, so a cell the reader wrote over shows as missing
    counter = iter(range(10**6))
    twin = re.sub(r"(<(?:x:)?v>)([^<]*)", lambda m: f"{m[1]}{m[2]}~{next(counter)}", twin)
    written = len(re.findall(r"<(?:x:)?v>", re.sub(r"<!--.*?-->", "", twin)))
    path = rezip(good, tmp_path / "twin.xlsx", {"xl/worksheets/sheet1.xml": sheet_xml(twin)})
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Data")
    top, left = sheet.start if sheet.height else (0, 0)
    values = {
        (top + i + 1, col_letter(left + j + 1)): value.split("~")[0]
        for i, row_values in enumerate(sheet.to_python())
        for j, value in enumerate(row_values)
        if isinstance(value, str) and "~" in value
    }
    shown = {place: value for place, value in values.items() if value in ERRORS}
    found = error_cells(sheet_xml(body))
    walked: list = []  # the fast way of a plain sheet (Excel's) agrees with the placement walk
    guard._Placement(walked).feed(sheet_xml(body))
    assert guard.error_places(sheet_xml(body)) == walked
    if len(values) == written:
        assert found == shown, body
    else:  # two cells at one place: an error among them is reported there (documented)
        assert shown.items() <= found.items(), body
