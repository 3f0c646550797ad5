"""Files sop_xl saves through openpyxl hold their text as shared strings (issue 20)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from python_calamine import CalamineWorkbook

from sop_xl.io.filebook import save_new_workbook
from sop_xl.io.xlsx.parts import NS_MAIN
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


# --- the table kept between writes (issue 16) ---------------------------------------------------
class _Book:
    """The parts a SharedStrings reads and writes, in memory."""

    def __init__(self, text: str | None):
        from sop_xl.io.xlsx.parts import Rel
        from sop_xl.io.xlsx.sst import REL_SST

        self.parts = {} if text is None else {"xl/sharedStrings.xml": text.encode()}
        self.written: set[str] = set()
        self._rel = Rel("rId9", REL_SST, "sharedStrings.xml", "xl/sharedStrings.xml")

    def rels(self, part):
        return [self._rel]

    def exists(self, name):
        return name in self.parts

    def read(self, name):
        return self.parts[name]

    def write(self, name, data):
        self.parts[name] = data if isinstance(data, bytes) else data.encode()
        self.written.add(name)

    def changed(self):
        return set(self.written)

    def set_override(self, part, content_type):
        pass


_BODY = st.one_of(
    st.sampled_from(["<t>a</t>", "<t>b &amp; c</t>", '<t xml:space="preserve"> a</t>', ""]),
    st.sampled_from(["<r><t>rich</t></r>", "<t>a</t><rPh><t>x</t></rPh>", "<t>a</t>\n"]),
    st.text("abc", min_size=1, max_size=3).map(lambda s: f"<t>{s}</t>"),
)


def _sst_text(bodies: list[str], pre: str, gap: str, close_empty: bool) -> str:
    si = (
        "".join((f"<{pre}si/>" if b == "" else f"<{pre}si>{b}</{pre}si>") + gap for b in bodies)
        .replace("<t", f"<{pre}t")
        .replace("</t>", f"</{pre}t>")
    )
    ns = f'xmlns{":" + pre[:-1] if pre else ""}="{NS_MAIN}"'
    head = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{pre}sst {ns} count="9"'
    if not bodies and close_empty:
        return head + "/>"
    return f"{head}>{si}</{pre}sst>"


@settings(max_examples=150, deadline=None)
@given(
    bodies=st.lists(_BODY, max_size=6),
    pre=st.sampled_from(["", "x:", "a.b:", "é-1:"]),
    gap=st.sampled_from(["", "", " ", "\r\n  "]),
    close_empty=st.booleans(),
    batches=st.lists(st.lists(_BODY.filter(bool), min_size=1, max_size=4), min_size=1, max_size=4),
)
def test_a_table_kept_between_writes_is_the_table_parsed_again(
    bodies, pre, gap, close_empty, batches
) -> None:
    """Each write opens the table the previous one saved without parsing it again: the kept
    index and count must be exactly what parsing the saved bytes gives, whatever the table
    holds (prefixes, rich text, empty entries, whitespace between entries, an empty <sst/>)."""
    import numpy as np

    from sop_xl.io.xlsx import sst as mod

    book = _Book(_sst_text(bodies, pre, gap, close_empty))
    for batch in batches:
        kept = SharedStrings(book, "xl/workbook.xml")  # type: ignore[arg-type]
        mod._last = None
        fresh = SharedStrings(book, "xl/workbook.xml")  # type: ignore[arg-type]
        assert (kept.index, kept.n) == (fresh.index, fresh.n)
        ids = np.array(batch, dtype=object)
        assert kept.ids(ids).tolist() == fresh.ids(ids.copy()).tolist()
        kept.finish()
        saved = book.parts["xl/sharedStrings.xml"]
        if mod._last is not None and mod._last.data == saved:  # kept for the next write:
            assert mod._last == mod._parse(saved)  # all of it, where <sst> is included
    assert (SharedStrings(book, "xl/workbook.xml").index, mod._last.n) == (  # type: ignore[arg-type, union-attr]
        mod._parse(book.parts["xl/sharedStrings.xml"]).index,
        mod._parse(book.parts["xl/sharedStrings.xml"]).n,
    )


def test_parse_and_append_read_entries_alike() -> None:
    """One reading of the entries: what the table parses as, and what appending to it gives,
    by hand: plain texts at their first position (rich text and phonetic runs are not
    reused), the count, and whether more may be appended back to back."""
    from sop_xl.io.xlsx import sst as mod

    text = _sst_text(["<t>a</t>", "<r><t>rich</t></r>", "<t>a</t>", "", "<t>b</t>"], "", "", False)
    parsed = mod._parse(text.encode())
    assert (parsed.index, parsed.n, parsed.appendable) == ({"<t>a</t>": 0, "<t>b</t>": 4}, 5, True)
    head = text.encode()[parsed.head[0] : parsed.head[1]]  # type: ignore[index]
    assert head == f'<sst xmlns="{NS_MAIN}" count="9">'.encode()
    more = "<si><t>b</t></si><si><t>c</t></si><si><r><t>d</t></r></si>"
    grown = mod._appended(parsed, more, b"x", (0, 1))
    assert grown is not None and (grown.index, grown.n) == (
        {"<t>a</t>": 0, "<t>b</t>": 4, "<t>c</t>": 6},
        8,
    )
    assert mod._appended(parsed, "<si><t>c</t></si> <si><t>e</t></si>", b"", (0, 1)) is None
    gap = _sst_text(["<t>a</t>", "<t>b</t>"], "", "\n ", False)
    assert not mod._parse(gap.encode()).appendable  # whitespace between entries
    assert not mod._parse(_sst_text([], "", "", True).encode()).appendable  # <sst/>


def test_finish_neither_reads_nor_decodes_the_table_again(tmp_path: Path, monkeypatch) -> None:
    """The write appends to the bytes read when the table was opened: the part is read from
    the package (inflated) once."""
    import numpy as np

    from sop_xl.io.xlsx.parts import Package

    wb = openpyxl.Workbook()
    wb.active["A1"] = "Item No."
    path = save_new_workbook(wb, tmp_path / "w.xlsx")  # a shared-strings table of one entry
    with zipfile.ZipFile(path) as zf:
        before = zf.read("xl/sharedStrings.xml")
    reads: list[str] = []
    read = Package.read
    monkeypatch.setattr(Package, "read", lambda self, name: reads.append(name) or read(self, name))
    with Package(path) as pkg:
        sst = SharedStrings(pkg, "xl/workbook.xml")
        assert sst.ids(np.array(["<t>Item No.</t>", "<t>new</t>"], dtype=object)).tolist() == [
            "0",
            "1",
        ]
        sst.finish()
        assert reads.count("xl/sharedStrings.xml") == 1
        after = pkg._changed["xl/sharedStrings.xml"]
    want = before.replace(b'uniqueCount="1">', b'uniqueCount="2">')
    assert after == want.replace(b"</sst>", b"<si><t>new</t></si></sst>") and after != before


def test_a_table_written_after_it_was_opened_is_not_appended_to() -> None:
    """The indices handed out count from the entries there were when the table was opened: a
    table rewritten since (here with one more entry, so "cd", given index 1, would land at 2
    and its cells show "zz") is a bug of the caller, stopped rather than written."""
    import numpy as np
    import pytest

    book = _Book(_sst_text(["<t>ab</t>"], "x:", "", False))
    sst = SharedStrings(book, "xl/workbook.xml")  # type: ignore[arg-type]
    assert sst.ids(np.array(["<t>cd</t>"], dtype=object)).tolist() == ["1"]
    changed = _sst_text(["<t>ab</t>", "<t>zz</t>"], "x:", " ", False)
    book.write("xl/sharedStrings.xml", changed)
    with pytest.raises(RuntimeError, match="rewritten after it was opened"):
        sst.finish()
    assert book.parts["xl/sharedStrings.xml"].decode() == changed
    del book.parts["xl/sharedStrings.xml"]
    with pytest.raises(RuntimeError, match="deleted after it was opened"):
        sst.finish()


def test_a_table_changed_between_writes_is_parsed_again() -> None:
    """The kept table is used only for the exact bytes it was built from: a table another
    program rewrote (same size, other order) is parsed again."""
    import numpy as np

    book = _Book(_sst_text(["<t>ab</t>", "<t>cd</t>"], "", "", False))
    first = SharedStrings(book, "xl/workbook.xml")  # type: ignore[arg-type]
    first.ids(np.array(["<t>ef</t>"], dtype=object))
    first.finish()
    saved = book.parts["xl/sharedStrings.xml"].decode()
    book.parts["xl/sharedStrings.xml"] = saved.replace("<t>ab</t>", "<t>XX</t>").encode()
    again = SharedStrings(book, "xl/workbook.xml")  # type: ignore[arg-type]
    assert again.index == {"<t>XX</t>": 0, "<t>cd</t>": 1, "<t>ef</t>": 2}
    assert again.id("<t>ab</t>") == "3"
