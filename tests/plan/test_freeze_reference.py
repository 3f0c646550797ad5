"""The freeze's per-sheet transform gives the bytes it gave before it was made faster (issue 16).

``reference_transform_values`` below is the byte-level fast path and the rounding of numbers
as they were before (kept verbatim): whole-sheet ``find`` scans, one ``_rounded`` call per long
number. ``sop_xl.plan.freeze.transform_values`` finds the same things with memchr scans for a
rare byte; the two must give identical bytes, formula count, missing cells and has-data flag
for every worksheet, odd ones included (prefixes, ``<f/>``, text results, data validations,
several sheetData, rows full of the rare bytes...).
"""

from __future__ import annotations

import math
import re

import pytest
import xml_prefix
from hypothesis import given, settings
from hypothesis import strategies as st
from test_frozen_numbers import DEMO_NEAR_MIDPOINT, near_midpoints

from sop_xl.errors import SopError
from sop_xl.io.xlsx.parts import quoteattr
from sop_xl.plan import freeze as fz
from sop_xl.plan.content_hash import canonical_number
from sop_xl.plan.freeze import (
    _DATA_VALIDATIONS,
    _F_CELL,
    _FAST_BLOCKERS,
    _MAIN_PREFIX,
    _PREFIXED,
    _R_ATTR,
    _T_ATTR,
    _TAB_SELECTED,
    PREFIX_B,
    _SheetResult,
)

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PROTECTION = {"algorithmName": "SHA-512", "hashValue": "ab+/=", "sheet": "1", "objects": "1"}


# --- the code before (verbatim) ----------------------------------------------------------------
def _formula_cells(data: bytes, start: int, end: int) -> list[re.Match] | None:
    """The formula cells between ``start`` and ``end`` (the sheetData), found with ``find``
    (a memchr scan, not a regex over megabytes of cells); None when one has another shape."""
    found: list[re.Match] = []
    pos = data.find(b"<f", start, end)
    while pos >= 0:
        if data[pos + 2 : pos + 3] in (b" ", b">", b"/"):
            cell = data.rfind(b"<c", start, pos)
            while cell >= 0 and data[cell + 2 : cell + 3] not in (b" ", b">"):
                cell = data.rfind(b"<c", start, cell)
            m = _F_CELL.match(data, cell) if cell >= 0 else None
            if m is None or m.end() <= pos:
                return None
            found.append(m)
            pos = m.end()
        else:
            pos += 2
        pos = data.find(b"<f", pos, end)
    return found


def _fast_transform(data: bytes, protection: dict[str, str]) -> _SheetResult | None:
    a, b = data.find(b"<sheetData"), data.rfind(b"</sheetData>")
    if a < 0 or b < a or data.find(b"</sheetData>", a, b) >= 0:
        return None  # <sheetData/> (nothing to scan) or not one sheetData: lxml decides
    head, tail = data[:a], data[b:]
    # sheet-level elements live outside the cells: only the head and the tail are searched
    if any(x in head or x in tail for x in _FAST_BLOCKERS):
        return None
    if not re.search(rb"<worksheet\b", head[:2000]) or _PREFIXED.search(head):
        return None
    if _PREFIXED.search(tail) or _MAIN_PREFIX.search(head) or data.find(b"xmlns", a, b) >= 0:
        return None  # a prefix could name the cells' namespace: lxml reads that
    if b"<dataValidations" in tail:
        tail, n = _DATA_VALIDATIONS.subn(b"", tail)
        if n != 1 or b"<dataValidations" in tail:
            return None
    cells = _formula_cells(data, a, b)
    if cells is None:
        return None  # a formula cell of another shape: let lxml handle the whole sheet
    missing: list[str] = []

    def cell(m: re.Match) -> bytes:
        attrs, v = m.group(1), m.group(3)
        if v is None:
            missing.append((_R_ATTR.search(attrs) or [b"", b"?"])[1].decode())
            return m.group(0)
        inner = v[3:-4] if v != b"<v/>" else b""
        t = _T_ATTR.search(attrs)
        if t is not None and t.group(1) == b"str":  # text result (may be empty): inline string
            attrs = _T_ATTR.sub(b' t="inlineStr"', attrs, count=1)
            edge = inner != inner.strip() or b"\n" in inner or b"&#" in inner
            sp = b' xml:space="preserve"' if edge else b""
            return b"<c" + attrs + b"><is><t" + sp + b">" + inner + b"</t></is></c>"
        if not inner.strip():
            missing.append((_R_ATTR.search(attrs) or [b"", b"?"])[1].decode())
            return m.group(0)
        return b"<c" + attrs + b">" + v + b"</c>"

    pieces = [_TAB_SELECTED.sub(b"", head)]
    at = a
    for m in cells:  # most sheets: none
        pieces += [data[at : m.start()], cell(m)]
        at = m.end()
    pieces.append(data[at:b])
    prot = " ".join(f"{k}={quoteattr(v)}" for k, v in protection.items())
    pieces += [f"</sheetData><sheetProtection {prot}/>".encode(), tail[len(b"</sheetData>") :]]
    out = b"".join(pieces)
    has_data = data.find(b"<v>", a, b) >= 0 or data.find(b"<is>", a, b) >= 0
    return _SheetResult(out, len(cells), missing, has_data)


_LONG_V = re.compile(rb"<v>([-+.0-9eE]{16,})</v>")
_LONG_V_ANY = re.compile(rb"<(" + PREFIX_B + rb")v>([-+.0-9eE]{16,})</\1v>")
_CELL_OPEN = re.compile(rb"<" + PREFIX_B + rb"c\b[^>]*>")


def _rounded(xml: bytes, start: int, text: bytes) -> bytes | None:
    cell = xml.rfind(b"<", 0, start)
    open_tag = _CELL_OPEN.fullmatch(xml, cell, start) if cell >= 0 else None
    if open_tag is None:
        return None
    t = _T_ATTR.search(open_tag.group(0))
    if t is not None and t.group(1) != b"n":
        return None  # a text, error or boolean cell: not a number
    try:
        x = float(text)
    except ValueError:
        return None
    c = canonical_number(x)
    y = float(c)
    if y == x or math.isinf(y):  # at most 15 digits already, or beyond a double's range
        return None
    return c.encode()


def reference_round_numbers(xml: bytes) -> bytes:
    prefixed = xml.find(b":v>") >= 0
    pieces: list[bytes] = []
    at = 0
    for m in (_LONG_V_ANY if prefixed else _LONG_V).finditer(xml):
        text = m.group(m.lastindex or 1)
        new = _rounded(xml, m.start(), text)
        if new is not None:
            pieces += [xml[at : m.start(m.lastindex or 1)], new]
            at = m.end(m.lastindex or 1)
    if not pieces:
        return xml
    pieces.append(xml[at:])
    return b"".join(pieces)


def reference_transform_values(data: bytes, protection: dict[str, str]) -> _SheetResult:
    """``_transform_worksheet`` (without recalculated values) then ``round_numbers``, before."""
    res = _fast_transform(data, protection)
    if res is None:  # the lxml path, unchanged
        res = fz._transform_worksheet(data, "S", "p", "f", protection, None, False, False)
    res.data = reference_round_numbers(res.data)
    return res


# --- both on the same input -------------------------------------------------------------------
def _outcome(fn, data: bytes) -> tuple:
    try:
        res = fn(data)
    except SopError as exc:  # a sheet lxml cannot parse: the same error
        return ("error", type(exc).__name__, str(exc))
    return (res.data, res.formulas, res.missing, res.has_data)


def assert_same(data: bytes) -> None:
    new = _outcome(
        lambda d: fz.transform_values(
            d, name="S", part="p", file="f", protection=PROTECTION, values=None, date1904=False
        ),
        data,
    )
    assert new == _outcome(lambda d: reference_transform_values(d, PROTECTION), data)


# --- generated worksheets ----------------------------------------------------------------------
_LONG_TEXTS = [
    "12345678901234567890", "1.2.3.4.5.6.7.8.9.0", "1e400", "-1e400", "1" + "0" * 20,
    "-0.00000000000000000", "+1234567890123456.5", "1.2345678901234567E-5", "00000000000000000",
    "1.7976931348623157e308", "4.9406564584124654e-324", "eeeeeeeeeeeeeeeeee", "1e-400",
]  # fmt: skip
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(DEMO_NEAR_MIDPOINT + near_midpoints(40, 7)).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(_LONG_TEXTS),
    st.sampled_from(["1", "0.25", "-3", "", " ", "1E-2"]),
)
texts = st.text(alphabet="fhlx:<>&; v\n", max_size=12).map(
    lambda t: t.replace("&", "&amp;").replace("<", "&lt;")
)
_TYPES = ["", ' t="n"', ' t="s"', ' t="e"', ' t="b"', ' t="str"', ' s="3" t="n"', ' t="str" s="1"']


@st.composite
def cells(draw, ref: str) -> str:
    t = draw(st.sampled_from(_TYPES))
    kind = draw(st.sampled_from(["v", "v", "v", "f", "f0", "fshared", "is", "empty", "fo"]))
    v = f"<v>{draw(numbers) if 'str' not in t else draw(texts)}</v>"
    v = draw(st.sampled_from([v, v, v, "<v/>", "<v></v>", ""])) if kind != "v" else v
    if kind == "v":
        return f'<c r="{ref}"{t}>{v}</c>'
    if kind == "f":
        return f'<c r="{ref}"{t}><f>A1*2</f>{v}</c>'
    if kind == "f0":
        return f'<c r="{ref}"{t}><f/>{v}</c>'
    if kind == "fshared":
        return f'<c r="{ref}"{t}><f t="shared" ref="{ref}" si="0">B1</f>{v}</c>'
    if kind == "is":
        return f'<c r="{ref}" t="inlineStr"><is><t>{draw(texts)}</t></is></c>'
    if kind == "fo":  # an element whose name starts with f: no formula
        return f'<c r="{ref}"><v>1</v><extLst><fox/></extLst></c>'
    return f'<c r="{ref}"{t}/>'


_ROW_ATTRS = [
    "",
    ' spans="1:4" ht="15" customHeight="1" x14ac:dyDescent="0.25"',  # as Excel writes rows
    ' customFormat="false" ht="12.8" hidden="false" customHeight="false" outlineLevel="0"',
]


@st.composite
def worksheets(draw) -> bytes:
    n_rows = draw(st.integers(0, 40))  # 40 rows of rare bytes: past _find's few hits
    row_attrs = draw(st.sampled_from(_ROW_ATTRS))
    rows = []
    for r in range(1, n_rows + 1):
        n = draw(st.integers(0, 4))
        row = "".join(draw(cells(f"{'ABCD'[k]}{r}")) for k in range(n))
        rows.append(f'<row r="{r}"{row_attrs}>{row}</row>')
    sheet_data = f"<sheetData>{''.join(rows)}</sheetData>"
    extra = draw(st.sampled_from(["", "", "<sheetData/>", "<sheetData></sheetData>"]))
    tail = draw(
        st.sampled_from(
            [
                "",
                '<sheetProtection sheet="1"/>',
                '<dataValidations count="1"><dataValidation sqref="A1"><formula1>"a,b"'
                "</formula1></dataValidation></dataValidations>",
                '<dataValidations count="0"/><dataValidations count="0"/>',
                '<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>',
            ]
        )
    )
    head = (
        f'<worksheet xmlns="{NS}" xmlns:x14ac="http://schemas.microsoft.com/office/'
        'spreadsheetml/2009/9/ac"><sheetViews><sheetView tabSelected="1" workbookViewId="0"/>'
        "</sheetViews>"
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        + head
        + draw(st.sampled_from([sheet_data + extra, extra + sheet_data]))
        + tail
        + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
        'footer="0.3"/></worksheet>'
    ).encode()
    if draw(st.booleans()) and rows:  # a namespace declared on a cell
        xml = xml.replace(b'<c r="A1"', f'<c xmlns:y="{NS}" r="A1"'.encode(), 1)
    pre = draw(st.sampled_from([None, None, None, "x", "a.b", "é"]))
    return xml if pre is None else xml_prefix.prefixed(xml, pre)


@settings(max_examples=300)
@given(worksheets())
def test_transform_values_gives_the_bytes_it_gave_before(xml: bytes) -> None:
    assert_same(xml)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(_TYPES), numbers), max_size=60), st.booleans())
def test_round_numbers_gives_the_bytes_it_gave_before(values, prefixed: bool) -> None:
    xml = "".join(f'<c r="A{i}"{t}><v>{v}</v></c>' for i, (t, v) in enumerate(values)).encode()
    xml = b"<row>" + xml + b"</row>"
    if prefixed:
        xml = xml.replace(b"<v>", b"<x:v>").replace(b"</v>", b"</x:v>")
    assert fz.round_numbers(xml) == reference_round_numbers(xml)


@settings(max_examples=1000)
@given(
    st.binary(max_size=300),
    st.sampled_from([(b"<f", 1), (b"xmlns", 2), (b"</sheetData>", 3), (b":v>", 0)]),
    st.lists(st.integers(0, 320), min_size=1, max_size=8),
    st.integers(0, 320),
    st.data(),
)
def test_find_is_bytes_find(noise: bytes, needle_rare, starts, end: int, data) -> None:
    """Whatever the data (the rare byte everywhere: plain ``find`` after a few hits, in all the
    calls of one finder together), from any start, calls in any order."""
    needle, rare = needle_rare
    parts = data.draw(st.lists(st.sampled_from([needle, needle[rare : rare + 1], b"<", noise[:5]])))
    hay = noise + b"".join(parts)
    assert fz._find(hay, needle, rare, starts[0], end) == hay.find(needle, starts[0], end)
    find = fz._finder(hay, needle, rare, end)
    assert [find(start) for start in starts] == [hay.find(needle, start, end) for start in starts]


def test_find_known_answers() -> None:
    hay = b"<c><f>1</f></c>" + b"f" * 40 + b"<f>"
    assert fz._find(hay, b"<f", 1, 0, len(hay)) == 3
    assert fz._find(hay, b"<f", 1, 4, len(hay)) == len(hay) - 3  # after 40 other f: find
    assert fz._find(hay, b"<f", 1, 4, len(hay) - 2) == -1  # the needle must end by ``end``
    assert fz._find(b"xmlns", b"xmlns", 2, 0, 0) == -1  # (found by hypothesis)
    find = fz._finder(hay, b"<f", 1, len(hay))  # 40 other f: plain find from then on
    assert [find(0), find(4), find(4)] == [3, len(hay) - 3, len(hay) - 3]


@pytest.mark.parametrize(
    "sheet_data",
    [
        '<c r="A1"><f>1+1</f><v>2</v></c>',  # a formula
        '<c r="A1"><f/><v>0.30000000000000004</v></c>',  # an empty formula, a long number
        '<c r="A1" t="str"><f>"a"</f><v> a </v></c>',  # a text result with edge spaces
        '<c r="A1"><v>0.1</v></c><c r="B1"><f>A1</f></c>',  # a missing value
        '<c r="A1"><is><t>no f here: xmlns h :v&gt;</t></is></c>',  # rare bytes in a text
    ],
)
def test_known_sheets(sheet_data: str) -> None:
    xml = f'<worksheet xmlns="{NS}"><sheetData><row r="1">{sheet_data}</row></sheetData>'
    assert_same((xml + "</worksheet>").encode())
    assert_same(xml_prefix.prefixed((xml + "</worksheet>").encode(), "x"))
    many = "".join(f'<row r="{r}" ht="1" x14ac:a="f:l">{sheet_data}</row>' for r in range(50))
    assert_same(f'<worksheet xmlns="{NS}"><sheetData>{many}</sheetData></worksheet>'.encode())


_NOISE = ["<v>", "</v>", '<c r="A1">', "<c>", "</c>", "<", ">", "0", ".", "e", "E", ",", " "]
_VALUE = st.text(alphabet="0123456789.-+eE,/", min_size=10, max_size=30).map(
    lambda text: f"<v>{text}</v>"
)


@given(
    st.lists(
        st.one_of(st.sampled_from(_NOISE), _VALUE, numbers.map(lambda v: f"<c><v>{v}</v></c>")),
        max_size=60,
    ).map("".join),
    st.sampled_from([4, 8, 12, 16, 20, 64, fz._CHUNK]),
    st.sampled_from([0, fz._SPARSE]),
)
def test_long_values_are_the_regex_matches(text: str, chunk: int, sparse: int) -> None:
    """At every chunk size (the arrays' seams anywhere), whatever the bytes around them; each
    triple tried (``_SPARSE`` 0) or, for these short and dense texts, the regex."""
    xml = text.encode()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fz, "_CHUNK", chunk)
        mp.setattr(fz, "_SPARSE", sparse)
        assert [m.span() for m in fz._long_values(xml)] == [m.span() for m in _LONG_V.finditer(xml)]
        assert fz.round_numbers(xml) == reference_round_numbers(xml)
