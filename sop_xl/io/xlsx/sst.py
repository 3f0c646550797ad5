"""The workbook's shared-strings table (``xl/sharedStrings.xml``, ECMA-376 18.4), append-only.

Text cells the writer produces are ``t="s"`` cells whose ``<v>`` is an index into this table.
Excel moves inline strings to a shared table on its first save (and the Open XML SDK validator
reports them), so writing them shared keeps our files as Excel writes them; it also makes text
repeated down a table (item, family, region...) one entry instead of one copy per cell.

Existing entries are never moved or removed: every sheet part the writer does not rewrite keeps
valid indices. A text already in the table (as a plain ``<si><t>``) reuses its index; new texts
are appended. ``count`` (total references, optional in the schema) is dropped when entries are
appended, because the writer does not scan the sheets it keeps; ``uniqueCount`` stays exact.

The table is read with regular expressions (a 300 KB table in ~20 ms), so it is read only when
the reading is certain: entries with any namespace prefix or namespace declarations, nothing but
whitespace between them. Anything else (a comment, CDATA, a processing instruction, an
``<extLst>``, not UTF-8) is refused with a located :class:`~sop_xl.errors.InputFileError`
before anything is written: a miscounted table would number new texts over existing entries.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sop_xl.errors import InputFileError, Location
from sop_xl.io.xlsx.parts import NCNAME, NS_MAIN, PREFIX, REL_WORKSHEET, Package

REL_SST = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
CT_SST = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
#: Namespace declarations in a start tag (the only attributes an entry may carry), then spaces.
_XMLNS = rf"""(?:\s+xmlns(?::{NCNAME})?\s*=\s*(?:"[^"]*"|'[^']*'))*\s*"""
#: An entry: its prefix (group 1), its body (group 2; None for an empty ``<si/>``).
_SI_RE = re.compile(rf"<({PREFIX})si{_XMLNS}(?:>(.*?)</\1si\s*>|/>)", re.S)
_T_RE = re.compile(r'<t(?: xml:space="preserve")?>[^<]*</t>$')
#: The ``<sst>`` start tag: its prefix (group 1), "/" when it is empty (group 2).
_SST_RE = re.compile(rf"<({PREFIX})sst(?=[\s/>])[^>]*?(/?)>")
_COUNTS_RE = re.compile(r"""\s+(?:count|uniqueCount)\s*=\s*(?:"[^"]*"|'[^']*')""")
_TAG_RE = re.compile(r"<(/?)")
FIX = "save the workbook from Excel (File > Save) and try again."


def _unsure(where: str | None, part: str, why: str) -> InputFileError:
    """The error for a table the fast reading here cannot read for sure: appending to it could
    give cells other texts, so nothing is written."""
    return InputFileError(
        f"the shared-strings table {part} {why}, which sop_xl cannot read for sure: adding texts "
        "to it could show wrong texts in the sheets, so nothing was written.",
        where=Location(file=where),
        fix=FIX,
    )


@dataclass(frozen=True)
class _Parsed:
    """What parsing the shared-strings part ``data`` gives: ``index`` (each plain ``<t>`` body
    at its first position; never changed once built: a :class:`SharedStrings` copies it) and
    ``n`` entries. ``appendable``: the ``<si>`` entries follow each other from the ``<sst>``
    tag to ``</sst>`` with nothing else between, so a text with entries appended before
    ``</sst>`` parses as these entries followed by the appended ones. ``head``: where the
    ``<sst>`` start tag is in ``data`` (bytes, end excluded; None: no such tag), so that
    :meth:`SharedStrings.finish` appends without decoding or searching the table again."""

    data: bytes
    index: dict[str, int]
    n: int
    appendable: bool
    head: tuple[int, int] | None


#: No table yet: the ``<sst>`` :meth:`SharedStrings.finish` creates holds the new entries only.
_EMPTY = _Parsed(b"", {}, 0, True, None)

#: The shared-strings table this process parsed or wrote last. A table opened with exactly
#: these bytes (each write of a cycle opens the table the previous write saved) is not parsed
#: again; any other bytes (the file saved by Excel, another workbook) are.
_last: _Parsed | None = None


def _entries(
    text: str, index: dict[str, int], n: int, pos: int, end: int
) -> tuple[int, bool, bool]:
    """Read the ``<si>`` entries of ``text[pos:end]``, numbered from ``n``: each plain ``<t>``
    body not in ``index`` yet is added at its position. Returns the count after them; whether
    they are back to back, filling ``pos:end`` exactly; whether only whitespace is between
    them (else the count stops where something else is): the one reading of :func:`_parse` and
    :func:`_appended`."""
    tight = True
    for m in _SI_RE.finditer(text, pos, end):
        if m.start() != pos:
            tight = False
            if not text[pos : m.start()].isspace():
                return n, False, False
        body = m.group(2)
        if body and _T_RE.match(body):
            index.setdefault(body, n)
        pos = m.end()
        n += 1
    if pos != end:
        tight = False
        if not text[pos:end].isspace():
            return n, False, False
    return n, tight, True


def _parse(data: bytes, where: str | None = None, part: str = "xl/sharedStrings.xml") -> _Parsed:
    """The table ``data``, read for sure or refused (:func:`_unsure`): UTF-8, one ``<sst>``
    element holding only ``<si>`` entries (and whitespace), no comment, CDATA section or
    processing instruction anywhere (one could hold text that looks like an entry)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _unsure(where, part, "is not UTF-8 text") from None
    if "<!" in text:
        raise _unsure(where, part, "holds a comment, a CDATA section or a DTD")
    head = _SST_RE.search(text)
    if head is None:
        raise _unsure(where, part, "has no <sst> element")
    if text.find("<?", head.end()) >= 0:
        raise _unsure(where, part, "holds a processing instruction")
    index: dict[str, int] = {}
    start = len(text[: head.start()].encode("utf-8"))  # the text before <sst>: a few bytes
    span = (start, start + len(head.group(0).encode("utf-8")))
    if head.group(2):  # <sst .../>: no entries
        if text[head.end() :].strip():
            raise _unsure(where, part, "holds something after its empty <sst/> element")
        return _Parsed(data, index, 0, False, span)
    close = text.rfind("</")  # the last end tag: </sst>, or the table is not read for sure
    end_tag = rf"</{re.escape(head.group(1))}sst\s*>\s*"
    if close < head.end() or not re.fullmatch(end_tag, text[close:]):
        raise _unsure(where, part, "does not end with </sst>")
    n, tight, clean = _entries(text, index, 0, head.end(), close)
    if not clean:
        raise _unsure(where, part, f"holds something other than an entry after entry {n}")
    return _Parsed(data, index, n, n > 0 and tight, span)


def _appended(base: _Parsed, items: str, data: bytes, head: tuple[int, int]) -> _Parsed | None:
    """The table ``data``: ``base``'s entries then ``items`` (the ``<si>`` entries
    :meth:`SharedStrings.finish` inserted before ``</sst>``, its start tag now at ``head``), as
    :func:`_parse` would find them; None when that is not certain (``base`` not appendable, or
    ``items`` not entries back to back)."""
    if not base.appendable:
        return None
    index = dict(base.index)
    n, tight, _ = _entries(items, index, base.n, 0, len(items))
    return _Parsed(data, index, n, True, head) if tight else None


class SharedStrings:
    """Index of ``<si>`` bodies (``<t>...</t>`` XML, already escaped) to their position."""

    def __init__(self, pkg: Package, wb_part: str, file: str | None = None):
        """The table of workbook part ``wb_part`` in ``pkg`` (``file`` names the workbook in
        an error; default: the package's path). Raises :class:`InputFileError` for a table
        that cannot be read for sure (:func:`_parse`)."""
        global _last
        self.pkg, self.wb_part = pkg, wb_part
        self.file = file if file is not None else str(getattr(pkg, "path", "") or "") or None
        self.part: str | None = None
        for r in pkg.rels(wb_part):
            if r.type == REL_SST and r.part:
                self.part = r.part
        self.new: list[str] = []
        self._parsed = _EMPTY
        if self.part and pkg.exists(self.part):
            data = pkg.read(self.part)
            if _last is None or _last.data != data:
                _last = _parse(data, self.file, self.part)
            self._parsed = _last
        self.index = dict(self._parsed.index)
        self.n = self._parsed.n

    def ids(self, bodies: np.ndarray) -> np.ndarray:
        """Index text (object array of str) of each ``<t>`` body: one dict lookup per distinct
        text (pandas factorize), appending the unknown ones."""
        import pandas as pd  # here: a process that only freezes sheets never loads pandas

        if not len(bodies):
            return np.empty(0, dtype=object)
        codes, uniq = pd.factorize(bodies)
        idx = np.empty(len(uniq), dtype=object)
        for k, body in enumerate(uniq.tolist()):
            i = self.index.get(body)
            if i is None:
                i = self.index[body] = self.n
                self.n += 1
                self.new.append(body)
            idx[k] = str(i)
        return idx[codes]

    def id(self, body: str) -> str:
        return str(self.ids(np.array([body], dtype=object))[0])

    def finish(self) -> None:
        """Write the table if texts were appended (creating the part and its relationship).
        The table opened is neither read from the package nor searched again: its bytes and
        where its ``<sst>`` tag is were kept. A table written by anything else since it was
        opened is a RuntimeError, not a guess."""
        global _last
        if not self.new:
            return
        base = self._parsed
        items = "".join(f"<si>{b}</si>" for b in self.new)
        if self.part is None or not self.pkg.exists(self.part):
            if base.n:  # deleted since it was opened: its entries were counted
                raise RuntimeError(f"{self.part} was deleted after it was opened")
            base = _EMPTY  # the <sst> written here holds the new entries only
            part = self.part or (
                "xl/sharedStrings.xml"
                if not self.pkg.exists("xl/sharedStrings.xml")
                else self.pkg.fresh_name("xl/sharedStrings{}.xml")
            )
            if self.part is None:
                self.pkg.add_rel(self.wb_part, REL_SST, part)
            self.pkg.set_override(part, CT_SST)
            self.part = part
            decl = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            tag = f'<sst xmlns="{NS_MAIN}" uniqueCount="{self.n}">'
            data = f"{decl}{tag}{items}</sst>".encode()
            span = (len(decl), len(decl) + len(tag))
        else:
            data = base.data
            if self.part in self.pkg.changed() and self.pkg.read(self.part) != data:
                # the indices handed out count from the entries there were when it was opened
                raise RuntimeError(
                    f"{self.part} was rewritten after it was opened: its new entries' indices "
                    "would not match; open the table again after writing it"
                )
            assert base.head is not None  # _parse found the <sst> tag or refused the table
            start, end = base.head
            m = _SST_RE.match(data[start:end].decode("utf-8"))
            assert m is not None
            pre = m.group(1) or ""
            head = _COUNTS_RE.sub("", m.group(0).rstrip("/>").rstrip(">"))
            head += f' uniqueCount="{self.n}">'
            if pre:  # every element tag of the new entries (rich text runs too) in it
                items = _TAG_RE.sub(lambda t: f"<{t.group(1)}{pre}", items)
            tag, added, close = head.encode(), items.encode(), f"</{pre}sst>".encode()
            if m.group(2):  # <sst .../>: empty table
                data = data[:start] + tag + added + close + data[end:]
            else:
                at = data.rindex(b"</")  # </sst>: _parse checked that it ends the table
                data = data[:start] + tag + data[end:at] + added + data[at:]
            span = (start, start + len(tag))
        self.pkg.write(self.part, data)
        _last = _appended(base, items, data, span) or _last


#: An inline-string cell as openpyxl (3.1) writes every text: ``<c r=.. s=.. t="inlineStr">``
#: then ``<is>`` (plain ``<t>`` or rich-text runs), or a self-closing cell for an empty text.
_INLINE_RE = re.compile(
    r'<c\b([^>]*?)\st="inlineStr"([^>]*?)(?:/>|>\s*<is>(.*?)</is>\s*</c>|>\s*</c>)', re.S
)


def share_sheet_strings(xml: str, sst: SharedStrings) -> str:
    """The worksheet XML ``xml`` with every inline-string cell made a shared-string cell of
    ``sst`` (the ``<is>`` body, a CT_Rst like ``<si>``, becomes the table entry). An inline cell
    without text becomes an empty cell (a ``t="s"`` cell needs a ``<v>``)."""
    if 't="inlineStr"' not in xml:
        return xml
    found = list(_INLINE_RE.finditer(xml))
    bodies = np.array([m.group(3) or "" for m in found], dtype=object)
    has = bodies != ""
    ids = np.empty(len(found), dtype=object)
    ids[has] = sst.ids(bodies[has])
    out: list[str] = []
    at = 0
    for m, text, i in zip(found, has.tolist(), ids.tolist(), strict=True):
        out.append(xml[at : m.start()])
        attrs = m.group(1) + m.group(2)
        out.append(f'<c{attrs} t="s"><v>{i}</v></c>' if text else f"<c{attrs}/>")
        at = m.end()
    out.append(xml[at:])
    return "".join(out)


def share_strings(path: str | Path) -> None:
    """Rewrite the workbook file ``path`` in place with its inline-string cells moved to the
    shared-strings table (for files openpyxl saved: it writes every text inline). Call it on
    the temp file of an atomic save, never on a user's file."""
    path = Path(path)
    with Package(path) as pkg:
        office = [r for r in pkg.rels("") if r.type.endswith("/officeDocument") and r.part]
        if not office:
            return
        wb_part = office[0].part
        assert wb_part is not None
        sst = SharedStrings(pkg, wb_part)
        for r in pkg.rels(wb_part):
            if r.type == REL_WORKSHEET and r.part and pkg.exists(r.part):
                xml = pkg.text(r.part)
                new = share_sheet_strings(xml, sst)
                if new is not xml:
                    pkg.write(r.part, new)
        if not pkg.changed():
            return
        sst.finish()
        buf = io.BytesIO()
        pkg.save(buf)
    path.write_bytes(buf.getvalue())
