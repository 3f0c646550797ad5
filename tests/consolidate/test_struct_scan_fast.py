"""The fast paths of ``guard.hidden_rows`` and ``submission.external_cells`` (a byte search
first; only the tags that can matter looked at and placed) give exactly what the tag-by-tag
implementations give: those are kept here as the references and compared on hypothesis sheets
with single and double quotes, rows and cells without ``r``, hidden='1' / hidden="true" /
hidden="0", prefixes, shared formulas, comments, hidden columns, and XML that is not
well-formed."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.consolidate import submission
from sop_xl.consolidate.submission import external_cells
from sop_xl.io import guard
from sop_xl.io.guard import cell_places, hidden_rows
from sop_xl.io.xlsx.refs import col_letter


# --- the references: the implementations before the fast paths -------------------------------
def hidden_rows_reference(data: bytes, limit: int = 1_000_000) -> list[int]:
    box = guard._Placement()
    box.hidden = []
    box.feed(data)
    return [row + 1 for row in box.hidden[:limit]]


#: a namespace prefix: any XML name without a colon ('.', '-', non-ASCII letters: a.b:, é:)
_P = rb"(?:[A-Za-z_\x80-\xff][\w.\-\x80-\xff]*:)?"
_CELL_RE = re.compile(rb"<" + _P + rb"c(?=[\s/>])([^>]*)(?<!/)>(.*?)</" + _P + rb"c\s*>", re.S)


def external_cells_reference(data: bytes, limit: int = 10_000) -> list[str]:
    if not submission._EXT_REF_RE.search(data):
        return []
    out: list[str] = []
    shared: set[bytes] = set()
    places = None
    for m in _CELL_RE.finditer(data):
        f = submission._F_RE.search(m.group(2))
        if f is None:
            continue
        si = submission._SI_RE.search(f.group(1))
        text = f.group(2) or b""
        ext = bool(submission._EXT_REF_RE.search(text))
        if ext and si:
            shared.add(si.group(1))
        elif si and not text and si.group(1) in shared:
            ext = True
        if ext:
            places = cell_places(data) if places is None else places
            at = places.get(m.start(2))
            if at is not None:
                out.append(f"{submission.col_letter(at[1])}{at[0] + 1}")
                if len(out) >= limit:
                    break
    return out


# --- sheets ------------------------------------------------------------------------------------
def _q(text: str, single: bool) -> str:
    return f"'{text}'" if single else f'"{text}"'


@st.composite
def cells(draw, row: int) -> str:
    single = draw(st.booleans())
    prefix = draw(st.sampled_from(["", "", "", "x:", "a.b:", "é:"]))
    attrs = ""
    ref = draw(st.sampled_from(["ref", "ref", "none", "bad", "lower"]))
    col = draw(st.integers(1, 30))
    if ref == "ref":
        attrs += f" r={_q(f'{col_letter(col)}{row}', single)}"
    elif ref == "bad":
        attrs += f" r={_q('Z', single)}"
    elif ref == "lower":
        attrs += f" r={_q(f'{col_letter(col).lower()}{row}', single)}"
    if draw(st.booleans()):
        attrs += f" s={_q('1', single)}"
    if draw(st.integers(0, 9)) == 0:
        attrs += f" x={_q('r=&quot;A1&quot; a>b', not single)}"  # '>' and r= inside a value
    kind = draw(st.sampled_from(["empty", "value", "value", "ext", "ext", "shared", "plain_f"]))
    if kind == "empty":
        return f"<{prefix}c{attrs}{draw(st.sampled_from(['/', ' /']))}>"
    si = draw(st.sampled_from(["0", "1"]))
    f = {
        "value": "",
        "ext": draw(st.sampled_from(["<f>[1]Plan!A1</f>", "<f>'[2]Plan'!B4*2</f>"])),
        "shared": draw(
            st.sampled_from([f'<f t="shared" si="{si}">[1]S!A1</f>', f'<f t="shared" si="{si}"/>'])
        ),
        "plain_f": draw(st.sampled_from(["<f>A1+1</f>", "<f/>", f'<f t="shared" si="{si}"/>'])),
    }[kind]
    end = draw(st.sampled_from(["", "", " "]))
    return f"<{prefix}c{attrs}>{f}<{prefix}v>1</{prefix}v></{prefix}c{end}>"


@st.composite
def rows(draw, number: int) -> str:
    single = draw(st.booleans())
    prefix = draw(st.sampled_from(["", "", "", "x:"]))
    attrs = ""
    r = draw(st.sampled_from(["num", "num", "num", "none", "bad", "zero"]))
    if r == "num":
        attrs += f" r={_q(str(number), single)}"
    elif r == "bad":
        attrs += f" r={_q('x', single)}"
    elif r == "zero":
        attrs += f" r={_q('0', single)}"
    hidden = draw(
        st.sampled_from(["", "", "1", "true", "0", "false", "spaced", "inside", "xhidden", "twice"])
    )
    if hidden in ("1", "true", "0", "false"):
        attrs += f" hidden={_q(hidden, single)}"
    elif hidden == "spaced":
        attrs += " hidden = '1'"
    elif hidden == "inside":
        attrs += " x=" + _q("hidden=&quot;1&quot;", single) + " y=\" hidden='1'\""
    elif hidden == "xhidden":
        attrs += ' xhidden="1"'
    elif hidden == "twice":
        attrs += f" x={_q('hidden=&apos;1&apos;', False)} hidden='true'"
    body = "".join(draw(st.lists(cells(number), max_size=4)))
    if not body and draw(st.booleans()):
        return f"<{prefix}row{attrs}/>"
    return f"<{prefix}row{attrs}>{body}</{prefix}row>"


@st.composite
def sheets(draw) -> bytes:
    n = draw(st.integers(0, 8))
    numbers = sorted(draw(st.lists(st.integers(1, 40), min_size=n, max_size=n)))
    body = [draw(rows(k)) for k in numbers]
    extra = draw(
        st.sampled_from(
            [
                "",
                "",
                "<!-- <row r='7' hidden='1'/> -->",
                "<?pi <row r='8' hidden='1'/> ?>",
                "<![CDATA[<c r='A9'><f>[1]S!A1</f></c>]]>",
                "<sheetData/>",
                "</sheetData><row r='30' hidden='1'/><sheetData>",
                "<c r='B7' x='<'><f>[1]S!A1</f></c>",  # not well-formed
                "<row r='31' hidden='1' y='<row'/>",  # not well-formed
            ]
        )
    )
    if body:
        body.insert(draw(st.integers(0, len(body))), extra)
    else:
        body.append(extra)
    sd = draw(st.sampled_from(["sheetData", "sheetData", "x:sheetData"]))
    head = draw(st.sampled_from(["", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n']))
    cols = draw(
        st.sampled_from(
            [
                "",
                '<cols><col min="2" max="2" hidden="1"/></cols>',
                "<cols><col hidden='true'/></cols>",
            ]
        )
    )
    tail = draw(st.sampled_from(["", '<rowBreaks count="1"><brk id="3"/></rowBreaks>']))
    ns = ' xmlns:x="urn:x" xmlns:a.b="urn:x" xmlns:é="urn:x"'
    return f"{head}<worksheet{ns}>{cols}<{sd}>{''.join(body)}</{sd}>{tail}</worksheet>".encode()


@settings(max_examples=600, deadline=None)
@given(sheets(), st.integers(1, 4))
def test_hidden_rows_are_the_tag_by_tag_reading(data: bytes, limit: int) -> None:
    assert hidden_rows(data) == hidden_rows_reference(data)
    assert hidden_rows(data, limit) == hidden_rows_reference(data, limit)


@settings(max_examples=600, deadline=None)
@given(sheets(), st.integers(1, 4))
def test_external_cells_are_the_every_cell_reading(data: bytes, limit: int) -> None:
    assert external_cells(data) == external_cells_reference(data)
    assert external_cells(data, limit) == external_cells_reference(data, limit)


HIDDEN = " hidden='1'"


def test_the_fast_paths_are_taken_on_a_plain_sheet(monkeypatch) -> None:
    rows_xml = "".join(
        f'<row r="{r}"{HIDDEN if r % 7 == 0 else ""}>'
        + "".join(f'<c r="{col_letter(c)}{r}"><v>{r * c}</v></c>' for c in range(1, 30))
        + (f'<c r="AD{r}"><f>[1]Plan!A{r}</f><v>1</v></c>' if r % 11 == 0 else "")
        + "</row>"
        for r in range(1, 400)
    )
    data = (
        '<?xml version="1.0"?><worksheet><cols><col hidden="true"/></cols>'
        f"<sheetData>{rows_xml}</sheetData></worksheet>"
    ).encode()
    shown = data.replace(HIDDEN.encode(), b"")  # a hidden column, no hidden row
    want_hidden, want_ext = hidden_rows_reference(data), external_cells_reference(data)
    assert want_hidden == list(range(7, 400, 7))
    assert want_ext == [f"AD{r}" for r in range(11, 400, 11)]

    class NotTagByTag:  # the slow reading, every tag in Python, is not what runs
        def __init__(self, *args, **kwargs) -> None:
            raise AssertionError("read tag by tag")

    monkeypatch.setattr(guard, "_Placement", NotTagByTag)
    assert hidden_rows(shown) == []
    assert hidden_rows(data) == want_hidden
    assert external_cells(data) == want_ext
