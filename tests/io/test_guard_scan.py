"""The guard's one-pass scan of a sheet: every shortcut it takes is tested with the hostile file
that a wrong shortcut would let through.

The scan reads a sheet once, in pieces, and runs one cheap gate per piece; only a piece with a
reference to a column of 2+ letters or a row of 6+ digits is looked at further. These tests cut
the pieces small (``CHUNK_BYTES``) so that what a reader would trust hides in a later piece, at a
piece boundary, or behind a harmless-looking earlier piece.
"""

from __future__ import annotations

import itertools
import re
import zipfile
from pathlib import Path
from xml.parsers.expat import ExpatError

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook
from test_guard import SHEET_NS, good, rezip, sheet_xml  # noqa: F401 - good is a fixture

from sop_xl.errors import InputFileError
from sop_xl.io import guard
from sop_xl.io.guard import DEFAULT_LIMITS, Limits, check_workbook_file
from sop_xl.io.xlsx.refs import col_number

SHEET = "xl/worksheets/sheet1.xml"
FAR = "far beyond any"


def cells(refs: list[str], attr: str = 'r="{}"') -> str:
    """One row element per cell, the reference written with ``attr``, row tags all "1"."""
    return "".join(f'<row r="1"><c {attr.format(ref)}><v>1</v></c></row>' for ref in refs)


def sheet_with(tmp_path: Path, good: Path, body: str, name: str = "s.xlsx") -> Path:  # noqa: F811
    return rezip(good, tmp_path / name, {SHEET: sheet_xml(body)})


@pytest.fixture()
def small_pieces(monkeypatch):
    """Pieces of 256 bytes: a sheet of a few KB is read in dozens of them."""
    monkeypatch.setattr(guard, "CHUNK_BYTES", 256)


# --- references written any way a reader accepts (python-calamine opens all of these) ----------
@pytest.mark.parametrize(
    "attr, ref",
    [
        ('r="{}"', "xfd1048576"),  # lower case letters
        ("r='{}'", "XFD1048576"),  # single quotes
        ('r = "{}"', "XFD1048576"),  # spaces around =
        ('r\n=\t"{}"', "A1048577"),  # any XML white space
        ('r="{}"', "AAAA99"),  # four letters: column 18,279
        ('r="{}"', "ZZZZZZ1"),  # six letters: column 321,272,406
    ],
)
def test_references_in_any_spelling_are_measured(tmp_path, good, attr, ref):  # noqa: F811
    path = sheet_with(tmp_path, good, cells(["A1", ref], attr))
    with pytest.raises(InputFileError, match=FAR):
        check_workbook_file(path)


def test_a_box_wide_and_long_without_one_far_reference_is_refused(tmp_path, good):  # noqa: F811
    # neither reference is suspect alone: row 99,999 in column A, column ZZ in row 1; but a
    # reader allocates the box, 99,999 x 702 = 70 million cells (the limit is 20 million)
    path = sheet_with(tmp_path, good, cells(["A99999", "ZZ1"]))
    with pytest.raises(InputFileError, match="row 99,999 and column 702"):
        check_workbook_file(path)


def test_a_wide_sheet_of_sane_length_passes(tmp_path, good):  # noqa: F811
    # 702 columns allow 28,490 rows
    path = sheet_with(tmp_path, good, cells(["A28490", "ZZ1", "B5"]))
    assert check_workbook_file(path).extents["Data"] == (28490, 702)


# --- cells without a reference: the reader places them (python-calamine, checked below) --------
def placed(body: str) -> tuple[int, int]:
    """(rows, columns) of the box python-calamine puts the cells without a reference of the
    sheet ``body`` in (the cells with one are where their reference says)."""
    xml = sheet_xml(body)
    cuts = [0, xml.find(b"<row"), *(m.start() for m in re.finditer(b"<(?:x:)?row", xml))]
    cuts = [*sorted({c for c in cuts if c >= 0}), len(xml)]
    # in pieces cut before each row, as the guard reads a large sheet: most of them are
    # counted row by row (no comment, no prefix, no sheetData tag in the piece)
    box = guard._placed_extent_of([xml[a:b] for a, b in itertools.pairwise(cuts)])
    return box.rows, box.cols


MARKUP_TEXT = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>", re.S)
CELL_TAG = re.compile(r"""<(?:x:)?c((?:\s+[^\s=]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*/?>""")
ATTR = re.compile(r"""([^\s=]+)\s*=\s*("[^"]*"|'[^']*')""")


def box(body: str) -> tuple[int, int]:
    """The whole box: the cells without a reference placed, and every cell reference."""
    rows, cols = placed(body)
    for attrs in CELL_TAG.findall(MARKUP_TEXT.sub("", body)):
        ref = dict(ATTR.findall(attrs)).get("r")
        if ref is not None:
            letters, digits = re.fullmatch(r"([A-Za-z]+)(\d+)", ref[1:-1]).groups()
            rows, cols = max(rows, int(digits)), max(cols, col_number(letters))
    return rows, cols


def test_cells_without_references_are_measured(tmp_path, good):  # noqa: F811
    # 20,000 cells in row 1 without r (columns A..ADCR implied) and row 700,000: calamine would
    # allocate 14 billion cells; a 300 KB sheet, so no size or ratio limit applies
    body = '<row r="1">' + "<c><v>1</v></c>" * 20_000 + "</row>" + cells(["A700000"])
    with pytest.raises(InputFileError, match=r"without a cell reference.*row 700,000") as e:
        check_workbook_file(sheet_with(tmp_path, good, body))
    assert "column 20,000" in str(e.value) and "Data" in str(e.value)


def test_rows_without_references_are_counted(tmp_path, good):  # noqa: F811
    # a row without r is the row after the previous one: 1,000 empty rows after row 1, then a
    # cell without r in the next row, 1,002 (here the box may hold 1,000 rows: 700,000 empty rows
    # would compress past the zip bomb ratio, which refuses that file before this check)
    body = cells(["A1"]) + "<row/>" * 1_000 + "<row><c><v>1</v></c><c><v>1</v></c></row>"
    assert placed(body) == (1_002, 2)
    path = sheet_with(tmp_path, good, body)
    with pytest.raises(InputFileError, match="row 1,002 and column 2"):
        check_workbook_file(path, Limits(max_cells=26_000))  # 1,000 rows of 26 columns
    assert check_workbook_file(path).extents["Data"] == (1_002, 2)


def test_an_explicit_reference_resets_the_position(tmp_path, good):  # noqa: F811
    # after <c r="A5"> the next cell without r is B5, whatever row element it is in; 800 cells
    # without r after each of 30 explicit cells would be 24,000 columns, but each run restarts
    run = "<c><v>1</v></c>" * 20
    body = "".join(f'<row r="{r}"><c r="A{r}"><v>0</v></c>{run}</row>' for r in range(1, 31))
    assert placed(body) == (30, 21) and box(body) == (30, 21)
    assert check_workbook_file(sheet_with(tmp_path, good, body)).extents["Data"] == (30, 21)
    # and an explicit cell far right is where the run continues from
    far = '<row r="1"><c r="ZZ1"><v>0</v></c>' + "<c><v>1</v></c>" * 2 + "</row>"
    with pytest.raises(InputFileError, match="column 704"):
        check_workbook_file(sheet_with(tmp_path, good, far))


def test_a_comment_does_not_reset_the_position(tmp_path, good):  # noqa: F811
    # the reader does not see tags inside a comment: a byte scan that did would restart the run
    run = "<c><v>1</v></c>" * 400
    body = f'<row r="1">{run}<!-- <c r="A1"/> </row><row r="1"> -->{run}</row>'
    assert placed(body) == (1, 800)
    with pytest.raises(InputFileError, match="column 800"):
        check_workbook_file(sheet_with(tmp_path, good, body))


def test_a_comment_across_pieces_does_not_reset_the_position(tmp_path, good, small_pieces):  # noqa: F811
    # the comment spans many 256-byte pieces; the reset inside it is in a piece of its own
    run = "<c><v>1</v></c>" * 400
    note = "<!-- " + "<x/>" * 100 + '<c r="A1"/></row><row r="1">' + "<x/>" * 100 + " -->"
    body = f'<row r="1">{run}{note}{run}</row>'
    # the placement stops at the first piece beyond the limit of 702 columns: past the 400th
    with pytest.raises(InputFileError, match="column 704 or beyond"):
        check_workbook_file(sheet_with(tmp_path, good, body))


def test_a_reference_inside_an_attribute_value_is_no_reference(tmp_path, good):  # noqa: F811
    # the reader reads attributes: x=" r='A1'" is an attribute x, and the cell has no r
    run = "<c x=\" r='A1'\"><v>1</v></c>" * 800
    rows = "<row x=\" r='1'\"/>" * 5
    body = f'<row r="1"><c r="A1"><v>1</v></c></row>{rows}<row>{run}</row>'
    assert placed(body) == (7, 800)
    with pytest.raises(InputFileError, match="row 7 and column 800"):
        check_workbook_file(sheet_with(tmp_path, good, body))


def test_prefixed_cells_without_references_are_cells(tmp_path, good):  # noqa: F811
    run = "<x:c><x:v>1</x:v></x:c>" * 800
    body = f'<x:row xmlns:x="{SHEET_NS}">{run}</x:row>'
    assert placed(body) == (1, 800)
    with pytest.raises(InputFileError, match="column 800"):
        check_workbook_file(sheet_with(tmp_path, good, body))


def test_a_small_sheet_without_references_opens(tmp_path, good):  # noqa: F811
    # some writers leave r out: a small sheet of them must still open, with its values in place
    body = (
        '<row><c t="inlineStr"><is><t>Item No.</t></is></c>'
        '<c t="inlineStr"><is><t>Quantity</t></is></c></row>'
        '<row><c t="inlineStr"><is><t>A1</t></is></c><c><v>3</v></c></row>'
    )
    path = sheet_with(tmp_path, good, body)
    assert check_workbook_file(path).extents["Data"] == (2, 2)
    values = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Data").to_python()
    assert values == [["Item No.", "Quantity"], ["A1", 3.0]]


def test_more_cells_without_references_than_a_sheet_may_hold_are_refused_before_placing(
    tmp_path,
    good,  # noqa: F811
    monkeypatch,
):
    # the same row again and again keeps the box at 1 x 10, but a reader stores every cell:
    # more cells than the limit are refused by a count (memchr speed) in the first pass, before
    # the placement, which costs about a microsecond a cell (minutes on a 1 GB part)
    limits = Limits(max_cells=1_000)
    grid = "".join('<row r="{}">{}</row>'.format(r, "<c><v>1</v></c>" * 100) for r in range(1, 11))
    path = sheet_with(tmp_path, good, grid)  # 10 x 100 = 1,000 cells: the limit, passes
    assert check_workbook_file(path, limits).extents["Data"] == (10, 100)
    again = sheet_with(tmp_path, good, grid + '<row r="1"><c><v>1</v></c></row>', "again.xlsx")

    def no_placement(*args):
        raise AssertionError("placed")

    monkeypatch.setattr(guard, "_placed_extent", no_placement)
    with pytest.raises(InputFileError, match="without a cell reference and more than 1,000 cells"):
        check_workbook_file(again, limits)


def test_more_rows_than_a_sheet_may_hold_are_refused_before_placing(
    tmp_path,
    good,  # noqa: F811
    monkeypatch,
):
    # row 1 written again and again (and empty): no cell, no box, but each costs the placement
    body = '<row r="1"/>' * 1_001 + "<row><c><v>1</v></c></row>"
    monkeypatch.setattr(guard, "_placed_extent", lambda *args: pytest.fail("placed"))
    with pytest.raises(InputFileError, match="without a cell reference and more than 1,000 rows"):
        check_workbook_file(sheet_with(tmp_path, good, body), Limits(max_rows=1_000))


def test_the_placement_stops_at_the_first_piece_beyond_the_limits(
    tmp_path,
    good,  # noqa: F811
    small_pieces,
    monkeypatch,
):
    # 3,000 rows without r of 10 cells each (30,000 cells: not too many), 1,153 rows allowed
    # (30,000 cells / 26 columns): the rest is not placed
    body = "<row>" + "<c><v>1</v></c>" * 10 + "</row>"
    path = sheet_with(tmp_path, good, body * 3_000)
    fed = []
    feed = guard._Placement.feed
    monkeypatch.setattr(guard._Placement, "feed", lambda self, piece: fed.append(feed(self, piece)))
    assert check_workbook_file(path).extents["Data"] == (3_000, 10)
    pieces = len(fed)
    with pytest.raises(InputFileError, match=r"row 1,[1-9]\d\d and column 26 or beyond"):
        check_workbook_file(path, Limits(max_cells=30_000))
    assert len(fed) - pieces < pieces / 2


def test_the_row_bound_known_answers() -> None:
    # 20,000,000 cells / 26 columns = 769,230.8; / 702 = 28,490.03; a box narrower than A:Z
    # counts 26 columns; max_rows caps it
    assert guard._rows_allowed(DEFAULT_LIMITS, 0) == 769_230
    assert guard._rows_allowed(DEFAULT_LIMITS, 10) == 769_230
    assert guard._rows_allowed(DEFAULT_LIMITS, 702) == 28_490
    assert guard._rows_allowed(Limits(max_rows=1_000), 5) == 1_000


@pytest.mark.parametrize("pieces", [256, 1 << 24])
def test_the_placement_stops_where_the_refusal_starts(tmp_path, good, monkeypatch, pieces):  # noqa: F811
    # 2,600 cells / 26 columns: 100 rows allowed to 10 columns of cells without references. At
    # the bound the whole sheet is placed and passes; one row more, the placement stops at that
    # piece and the box is refused as placed so far ("or beyond"): one bound for both
    monkeypatch.setattr(guard, "CHUNK_BYTES", pieces)
    limits = Limits(max_cells=2_600)
    row = "<row>" + "<c><v>1</v></c>" * 10 + "</row>"
    assert check_workbook_file(sheet_with(tmp_path, good, row * 100), limits).extents == {
        "Data": (100, 10)
    }
    with pytest.raises(InputFileError, match=r"row 101 and column 26 or beyond"):
        check_workbook_file(sheet_with(tmp_path, good, row * 101, "over.xlsx"), limits)


def test_a_sheet_without_references_that_is_not_xml_is_refused(tmp_path, good):  # noqa: F811
    body = "<row><c><v>1</v></c></rowx>"
    with pytest.raises(InputFileError, match="not well-formed XML"):
        check_workbook_file(sheet_with(tmp_path, good, body))


# the placement model agrees with python-calamine on small sheets of every mix
cell = st.one_of(
    st.just("<c><v>1</v></c>"),
    st.just("<c/>"),  # empty: counted by the model (the reader's box may be smaller)
    st.tuples(st.sampled_from("ABCDZ"), st.integers(1, 9)).map(
        lambda t: f'<c r="{t[0]}{t[1]}"><v>2</v></c>'
    ),
    st.tuples(st.sampled_from("bcz"), st.integers(1, 9)).map(
        lambda t: f"<c s='0' r = '{t[0]}{t[1]}'><v>6</v></c>"
    ),
    st.just('<c s="0"><v>3</v></c>'),
    st.just("<x:c><x:v>5</x:v></x:c>"),  # a prefixed cell is a cell
    st.just('<c t="inlineStr"><is><t><![CDATA[<c/></row>]]></t></is></c>'),
    st.just('<!-- <c r="A1"/></row><row r="1"> -->'),  # no markup inside a comment
    st.just("<c x=\" r='A1'\"><v>9</v></c>"),  # no reference inside a value
)
row = st.one_of(
    st.tuples(st.one_of(st.none(), st.integers(1, 12)), st.lists(cell, max_size=5)).map(
        lambda t: (f'<row r="{t[0]}">' if t[0] else "<row>") + "".join(t[1]) + "</row>"
    ),
    st.sampled_from(
        ["<row/>", '<row r="7"/>', "<x:row><c><v>8</v></c></x:row>", "<row x=\" r='1'\"/>"]
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.one_of(row, cell), min_size=1, max_size=8))
def test_the_placement_agrees_with_python_calamine(tmp_path, good, rows):  # noqa: F811
    body = "".join(rows).replace("<c/>", "<c><v>4</v></c>")  # every cell has a value
    sheet = CalamineWorkbook.from_path(str(sheet_with(tmp_path, good, body))).get_sheet_by_name(
        "Data"
    )
    if sheet.height == 0:  # no cell at all
        assert box(body) == (0, 0)
        return
    end_row, end_col = sheet.end
    assert box(body) == (end_row + 1, end_col + 1), body


plain = st.one_of(  # cells as the row-by-row count reads them, and what makes it read tags
    st.just('<c t="s"><v>0</v></c>'),
    st.just('<c s="2"/>'),
    st.just("<c><f>1+1</f><v>2</v></c>"),
    st.just('<c t="inlineStr"><is><r><rPr><color rgb="FF000000"/></rPr><t>a</t></r></is></c>'),
    st.just("<c\tt='n'><v>1</v></c>"),
    st.just('<c t="str"><v>r = 1</v></c>'),
    st.just("<cx/>"),  # not a cell
)
plain_row = st.tuples(st.one_of(st.none(), st.integers(1, 12)), st.lists(plain, max_size=12)).map(
    lambda t: (f'<row r="{t[0]}">' if t[0] else "<row>") + "".join(t[1]) + "</row>"
)
r_row = st.tuples(st.integers(0, 12), st.integers(0, 3)).map(  # every cell with r, some without
    lambda t: "<row>" + '<c r="C2"><v>1</v></c>' * t[0] + "<c/>" * t[1] + "</row>"
)
odd_rows = st.sampled_from(["</row >", "<rowx/>", "<row r='3' />", '<row spans="1:2"/>'])


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.one_of(row, cell, plain_row, plain, r_row, odd_rows), min_size=1, max_size=12
    ),
    data=st.data(),
)
def test_rows_counted_in_pieces_agree_with_the_tags_read_one_by_one(parts, data):
    xml = sheet_xml("".join(parts))
    try:  # the placement's promise holds on well-formed XML only (expat checks it first)
        guard._placed_extent_of([xml])
    except ExpatError:
        return
    starts = [m.start() for m in re.finditer(b"<", xml)]
    cuts = sorted(set(data.draw(st.lists(st.sampled_from(starts), max_size=10))) | {0})
    pieces = [xml[a:b] for a, b in zip(cuts, [*cuts[1:], len(xml)], strict=True)]
    fast = guard._placed_extent_of(pieces)
    slow = guard._Placement()
    slow._feed_tags(xml)
    assert (fast.rows, fast.cols) == (slow.rows, slow.cols), xml


def test_plain_rows_are_counted_not_read_tag_by_tag(monkeypatch):
    xml = sheet_xml("<row>" + "<c><v>1</v></c>" * 5 + "</row>" + '<row r="9"><c t="s"/></row>')
    cut = xml.find(b"<row")
    read = []
    feed_tags = guard._Placement._feed_tags
    monkeypatch.setattr(
        guard._Placement, "_feed_tags", lambda self, p: read.append(p) or feed_tags(self, p)
    )
    for pieces in ([xml], [xml[:cut], xml[cut:]]):
        box = guard._placed_extent_of(pieces)
        assert (box.rows, box.cols) == (9, 5)
        # only the markup around sheetData is read tag by tag, never a row or a cell
        assert read and not any(b"<row" in p or b"<c" in p for p in read), read
        read.clear()


def test_leading_zeros_cannot_hide_the_longest_row(tmp_path, good):  # noqa: F811
    # "AD0000001" has the most digits but is row 1: the far row is the shorter B700000
    path = sheet_with(tmp_path, good, cells(["AD0000001", "B700000", "AD0000002"]))
    with pytest.raises(InputFileError, match="row 700,000 and column 30"):
        check_workbook_file(path)


def test_leading_zeros_are_still_rows(tmp_path, good):  # noqa: F811
    path = sheet_with(tmp_path, good, cells(["A01048577"]))
    with pytest.raises(InputFileError, match="row 1,048,577"):
        check_workbook_file(path)


# --- what hides in a later piece, or at a piece boundary ----------------------------------------
def test_the_wide_column_in_an_early_piece_counts_for_a_far_row_in_a_late_one(
    tmp_path,
    good,  # noqa: F811
    small_pieces,
):
    # column AD comes first, alone in its piece; 40 pieces later row 700,000 in column B: 30
    # columns allow only 666,666 rows. A scan that measured only from the piece where the sheet
    # turned suspect would think the sheet 26 columns wide and let row 700,000 through.
    filler = cells([f"A{r}" for r in range(2, 400)])
    path = sheet_with(tmp_path, good, cells(["AD1"]) + filler + cells(["B700000"]))
    with pytest.raises(InputFileError, match="row 700,000 and column 30"):
        check_workbook_file(path)


def test_far_row_in_an_early_piece_and_wide_column_in_a_late_one(tmp_path, good, small_pieces):  # noqa: F811
    filler = cells([f"A{r}" for r in range(2, 400)])
    path = sheet_with(tmp_path, good, cells(["B700000"]) + filler + cells(["AD1"]))
    with pytest.raises(InputFileError, match="row 700,000 and column 30"):
        check_workbook_file(path)


@pytest.mark.parametrize("shift", range(0, 40, 3))
def test_a_reference_across_a_piece_boundary_is_seen_whole(tmp_path, good, small_pieces, shift):  # noqa: F811
    # the far reference starts at every offset around the first boundaries
    body = f'<row r="1"><c r="A1"><v>{"1" * shift}</v></c></row>' + cells(["XFD1048576"])
    path = sheet_with(tmp_path, good, body)
    with pytest.raises(InputFileError, match=FAR):
        check_workbook_file(path)


def test_error_cells_in_a_late_piece_are_noted(tmp_path, good, small_pieces):  # noqa: F811
    body = (
        cells([f"A{r}" for r in range(1, 200)])
        + '<row r="200"><c r="A200" t="e"><v>#N/A</v></c></row>'
    )
    assert check_workbook_file(sheet_with(tmp_path, good, body)).error_sheets == {"Data"}


def test_a_tag_longer_than_a_piece_is_refused(tmp_path, good, small_pieces):  # noqa: F811
    # no "<" in a whole piece: the piece would have to be cut inside the tag, where a cut can
    # split a reference (r="XF | D1048576") so that no scan sees it
    body = f'<row r="1"><c x="{"y" * 600}" r="XFD1048576"><v>1</v></c></row>'
    with pytest.raises(InputFileError, match="without a single tag"):
        check_workbook_file(sheet_with(tmp_path, good, body))


def test_a_long_text_in_another_part_is_not_refused(tmp_path, good, small_pieces):  # noqa: F811
    # e.g. the base64 blob of a Power Query (customXml): only sheets hold references
    blob = b'<?xml version="1.0"?><DataMashup>' + b"QUJD" * 400 + b"</DataMashup>"
    path = rezip(good, tmp_path / "blob.xlsx", {"customXml/item1.xml": blob})
    check_workbook_file(path)


# --- XML declarations ------------------------------------------------------------------------
@pytest.mark.parametrize("part", [SHEET, "xl/styles.xml"])
@pytest.mark.parametrize("decl", [b"<!DOCTYPE x [", b"<!doctype x [", b"<!ENTITY x", b"<!Entity x"])
def test_a_declaration_in_any_letter_case_is_refused(tmp_path, good, part, decl, small_pieces):  # noqa: F811
    with zipfile.ZipFile(good) as z:
        xml = z.read(part)
    end = xml.rfind(b"</")  # late in the part, after many pieces
    late = xml[:end] + b"<!-- filler -->" * 40 + decl + b" ]>" + xml[end:]
    path = rezip(good, tmp_path / "dtd.xlsx", {part: late})
    with pytest.raises(InputFileError, match="XML bomb"):
        check_workbook_file(path)


def test_comments_and_cdata_are_not_declarations(tmp_path, good):  # noqa: F811
    body = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t><![CDATA[Hi!]]></t></is></c></row><!-- ok! -->'
    )
    check_workbook_file(sheet_with(tmp_path, good, body))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_part_not_in_utf8_is_refused(tmp_path, good, encoding):  # noqa: F811
    # in UTF-16 every tag is spread over two bytes per letter: no byte scan would see it
    xml = sheet_xml(cells(["XFD1048576"])).decode()
    path = rezip(good, tmp_path / "wide.xlsx", {SHEET: xml.encode(encoding)})
    with pytest.raises(InputFileError, match="not UTF-8"):
        check_workbook_file(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_another_part_in_utf16_passes_and_its_declarations_are_seen(tmp_path, good, encoding):  # noqa: F811
    # Power Query keeps its query in a UTF-16 customXml item: not refused for its encoding
    mashup = '<?xml version="1.0" encoding="utf-16"?><DataMashup>QUJD</DataMashup>'
    path = rezip(good, tmp_path / "pq.xlsx", {"customXml/item1.xml": mashup.encode(encoding)})
    check_workbook_file(path)
    bomb = mashup.replace("?>", '?><!DOCTYPE x [<!ENTITY a "a">]>')
    path = rezip(good, tmp_path / "pq_bomb.xlsx", {"customXml/item1.xml": bomb.encode(encoding)})
    with pytest.raises(InputFileError, match="XML bomb"):
        check_workbook_file(path)


# --- the one pass agrees with a plain reading of every reference ------------------------------
REF = re.compile(r"""r\s*=\s*["']([A-Za-z]+)(\d+)["']""")


def expected_refusal(body: str) -> bool:
    """Refused iff the box of every reference exceeds the limits (a plain reading, no shortcut)."""
    refs = REF.findall(body)
    wide = [col_number(c) for c, _ in refs if len(c) >= 2]
    max_col = max(wide, default=0) or 26
    max_row = max((int(r) for _, r in refs), default=0)
    limits = DEFAULT_LIMITS
    allowed = min(limits.max_rows, limits.max_cells // max_col)
    return max_col > limits.max_columns or max_row > allowed


letters = st.text("ABCXYZabz", min_size=1, max_size=4)
rows = st.one_of(
    st.integers(1, 120),
    st.integers(9_990, 10_010),
    st.integers(28_000, 29_000),
    st.integers(99_990, 100_010),
    st.integers(666_000, 667_000),
    st.integers(1_048_570, 1_048_580),
).map(str)
zeros = st.sampled_from(["", "", "", "0", "000"])
spelling = st.sampled_from(['r="{}"', "r='{}'", 'r = "{}"', 's="1" r="{}"'])
reference = st.tuples(letters, zeros, rows, spelling).map(
    lambda t: f'<row r="1"><c {t[3].format(t[0] + t[1] + t[2])}><v>1</v></c></row>'
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(refs=st.lists(reference, min_size=1, max_size=12), size=st.sampled_from([128, 512, 1 << 24]))
def test_one_pass_agrees_with_reading_every_reference(tmp_path, good, monkeypatch, refs, size):  # noqa: F811
    monkeypatch.setattr(guard, "CHUNK_BYTES", size)
    body = "".join(refs)
    path = sheet_with(tmp_path, good, body, name="p.xlsx")
    try:
        check_workbook_file(path)
        refused = False
    except InputFileError as exc:
        assert FAR in str(exc)
        refused = True
    assert refused == expected_refusal(body), body


# --- the gate lets through nothing the guard used to measure ----------------------------------
OLD_SUSPECT = re.compile(rb'r="((?:[A-Z]{3}\d|[A-Z]{0,3}\d{6}|[A-Z]{2}\d{5}))')
OLD_REF_COL = re.compile(rb'r="([A-Z]{2,3})\d')


@given(
    st.binary(max_size=40).map(lambda b: bytes(c for c in b if c < 128))
    | st.text("r=\"AZaz09 ='", max_size=30).map(str.encode)
)
def test_the_gate_catches_every_reference_the_old_scans_caught(data: bytes):
    gate = guard._GATE_RE.search(data)
    if OLD_SUSPECT.search(data):
        assert (
            guard._SUSPECT_RE.search(data)
            and gate
            and gate.start() <= OLD_SUSPECT.search(data).start()
        )
    if OLD_REF_COL.search(data):
        assert gate and gate.start() <= OLD_REF_COL.search(data).start()
    if guard._SUSPECT_RE.search(data):
        assert gate and gate.start() <= guard._SUSPECT_RE.search(data).start()


@pytest.mark.parametrize(
    "tag", ['<c r="A2" t="e">', "<c r='A2' t='e'>", '<c r="A2" t = "e">', '<c t=\n"e" r="A2">']
)
def test_error_cells_in_any_spelling_are_noted(tmp_path, good, tag):  # noqa: F811
    body = cells(["A1"]) + f'<row r="2">{tag}<v>#N/A</v></c></row>'
    assert check_workbook_file(sheet_with(tmp_path, good, body)).error_sheets == {"Data"}


@pytest.mark.parametrize("text", ['x="e"', "x='e'", 'IF(A1="e",1,0)'])
def test_a_quoted_e_that_is_not_a_type_is_not_an_error_cell(tmp_path, good, text):  # noqa: F811
    body = f'<row r="1"><c r="A1" {text if "=" in text[:3] else ""}><f>{text}</f><v>1</v></c></row>'
    assert check_workbook_file(sheet_with(tmp_path, good, body)).error_sheets == set()


# --- one block of cells a sheet --------------------------------------------------------------
def _raw_sheet(tmp_path: Path, good: Path, inner: str, ns: str = "") -> Path:  # noqa: F811
    xml = f'<?xml version="1.0"?><worksheet xmlns="{SHEET_NS}"{ns}>{inner}</worksheet>'
    return rezip(good, tmp_path / "s.xlsx", {SHEET: xml.encode()})


_ROWS = '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v></c></row>'


@pytest.mark.parametrize(
    "inner, ns",
    [
        (f"<sheetData/><sheetData>{_ROWS}</sheetData>", ""),
        (f"<sheetData>{_ROWS}</sheetData><sheetData/>", ""),
        (f"<x:sheetData/><sheetData >{_ROWS}</sheetData>", f' xmlns:x="{SHEET_NS}"'),
    ],
    ids=["empty first", "empty last", "prefixed"],
)
def test_a_sheet_with_two_blocks_of_cells_is_refused(tmp_path, good, inner, ns):  # noqa: F811
    """python-calamine reads the first sheetData and LibreOffice and openpyxl the last: a file
    whose first is empty gave sop_xl an empty table where the others see its rows."""
    path = _raw_sheet(tmp_path, good, inner, ns)
    with pytest.raises(InputFileError, match=r"2 blocks of cells \(sheetData\)") as err:
        check_workbook_file(path)
    assert err.value.where.sheet == "Data"


def test_the_one_block_of_cells_is_counted_once_whatever_the_pieces(
    tmp_path,
    good,  # noqa: F811
    small_pieces,
):
    """The start tag and the end tag are one block; the word as a cell's text is no tag."""
    text = (
        '<row r="3"><c r="A3" t="inlineStr"><is><t>sheetData &lt;sheetData/&gt;</t></is></c></row>'
    )
    path = _raw_sheet(tmp_path, good, f"<sheetData>{_ROWS * 20}{text}</sheetData>")
    assert check_workbook_file(path).sheets == ["Data"]


def test_an_empty_first_block_hides_the_rows_from_python_calamine(tmp_path, good):  # noqa: F811
    """Why the guard refuses it: what each reader sees of the same sheet."""
    import openpyxl

    path = _raw_sheet(tmp_path, good, f"<sheetData/><sheetData>{_ROWS}</sheetData>")
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Data").to_python() == []
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows == [(1,), (2,)]
