"""Low-level access to the parts of an .xlsx/.xlsm package (a zip of XML parts).

:class:`Package` reads a workbook zip, lets a writer replace, add or delete a few parts, and saves
a new zip in which every untouched part is copied as its original *compressed* bytes (no
decompress/recompress), so untouched parts stay byte for byte identical and large workbooks save
fast. Small helpers edit ``[Content_Types].xml`` and ``.rels`` parts by plain text insertion, so
namespace prefixes and ``mc:Ignorable`` declarations Excel relies on are never re-serialised.
"""

from __future__ import annotations

import copy
import html
import io
import os
import posixpath
import re
import struct
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import BinaryIO, Protocol

from defusedxml.ElementTree import fromstring

from sop_xl.errors import InputFileError, Location, SopError

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_WORKSHEET = NS_REL + "/worksheet"
REL_TABLE = NS_REL + "/table"
REL_DRAWING = NS_REL + "/drawing"
REL_CHART = NS_REL + "/chart"
REL_CALC_CHAIN = NS_REL + "/calcChain"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_TABLE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
CONTENT_TYPES = "[Content_Types].xml"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_MAX32 = 0xFFFFFFFF
#: parts over this many bytes are deflated at ``big_level`` (see :meth:`Package.save`)
_BIG = 1 << 20


@dataclass(frozen=True)
class Rel:
    """One relationship of a ``.rels`` part; ``part`` is the resolved target part name."""

    id: str
    type: str
    target: str
    part: str | None  # None for external targets


def rels_name(part: str) -> str:
    """``xl/worksheets/sheet1.xml`` -> ``xl/worksheets/_rels/sheet1.xml.rels``."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(source_part: str, target: str) -> str:
    """Part name a relationship target points to, relative to the source part's folder."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def check_member_names(infos: list[zipfile.ZipInfo], where: Location) -> None:
    """Refuse a package with two members of one name, or names that differ only by case or by
    ``\\`` vs ``/``: a reader would use one copy and a writer keep the other (a shadow sheet
    could replace a region's numbers, or a save could drop the user's real sheet)."""
    seen: dict[str, str] = {}
    for info in infos:
        name = info.filename
        key = name.replace("\\", "/").casefold()
        first = seen.get(key)
        if first is None:
            seen[key] = name
            continue
        how = (
            "twice"
            if first == name
            else f"twice, under names that differ only by case or by '\\' vs '/' ('{first}')"
        )
        raise InputFileError(
            f"the workbook holds the part '{name}' {how}: one copy would be read and the other "
            "kept, so the file was not opened.",
            where=where,
            fix="Open it in Excel, save a clean copy (File > Save As) and use that. A workbook "
            "saved by Excel never holds the same part twice.",
        )


#: An element name's namespace prefix with its colon, or nothing: any XML NCName (no colon), so
#: ``a.b:``, ``x-1:`` and ``é:`` too. The one definition every regular expression over a part's
#: tags uses (``\w+:`` missed '.' and '-'): a prefix missed makes a valid part's elements
#: invisible, e.g. a shared-strings table read as empty. ASCII characters are exactly XML's
#: name characters (a letter or ``_`` first, then also digits, ``-`` and ``.``); every
#: non-ASCII character counts as one, as in :data:`NCNAME_B` (a name XML does not allow there
#: is no well-formed XML anyway). Written as two negated ASCII classes because a class of
#: XML's Unicode ranges costs about 5 ms to compile, and some patterns are built per part
#: name: that was 0.9 s of CPU in one cycle. The name's run is possessive (``*+``): what
#: follows a name (":", "=", a space) is never a name character, so giving characters back
#: could not make a match; it only costs time.
_NAME_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"
_NAME_CHAR = r"[^\x00-\x2c\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
NCNAME = rf"{_NAME_START}{_NAME_CHAR}*+"
PREFIX = rf"(?:{NCNAME}:)?"
#: :data:`PREFIX` for patterns over a part's UTF-8 bytes: every byte of a non-ASCII character
#: counts as a name character (a name XML does not allow there is no well-formed XML anyway).
NCNAME_B = rb"[A-Za-z_\x80-\xff][\w.\-\x80-\xff]*+"
PREFIX_B = rb"(?:" + NCNAME_B + rb":)?"


def tag(name: str) -> str:
    """A pattern for the element name ``name`` (itself a pattern: ``"sheet"``, ``"(?:v|f)"``)
    under any namespace prefix or none. The bare name is tried first, so on parts written
    without prefixes (Excel's) this is faster than ``<`` + :data:`PREFIX` + ``name``, which
    tries a prefix at every ``<``. Use :data:`PREFIX` where the prefix itself is wanted."""
    return rf"(?:{name}|{NCNAME}:{name})"


def tag_b(name: bytes) -> bytes:
    """:func:`tag` for patterns over UTF-8 bytes (:data:`NCNAME_B`)."""
    return rb"(?:" + name + rb"|" + NCNAME_B + rb":" + name + rb")"


_XMLNS = re.compile(rf"""\sxmlns(?::({NCNAME}))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def ns_prefixes(text: str, ns: str) -> list[str]:
    """The prefixes (``"a.b:"``; ``""`` for the default namespace) that the XML ``text`` binds
    to the namespace ``ns`` anywhere, in order of first declaration. A part may put its root
    in a prefix and its children in the default namespace, both the same namespace: each
    element is then found under either, and not under a look-alike bound elsewhere."""
    out: list[str] = []
    for m in _XMLNS.finditer(text):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        p = f"{m.group(1)}:" if m.group(1) else ""
        if html.unescape(value) == ns and p not in out:
            out.append(p)
    return out


WORKBOOK = "xl/workbook.xml"
_SHEET_TAG = re.compile(rb"<" + tag_b(rb"sheet") + rb"(?=[\s/>])([^>]*)>")
_REL_TAG = re.compile(rb"<" + tag_b(rb"Relationship") + rb"(?=[\s/>])([^>]*)>")
_OVERRIDE_TAG = re.compile(rb"<" + tag_b(rb"Override") + rb"(?=[\s/>])([^>]*)>")
_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


class _Readable(Protocol):
    def read(self, name: str) -> bytes: ...


def tag_attrs(tag: bytes) -> dict[str, str]:
    """Attributes of one tag (its text after the name), local names (``r:id`` -> ``id``),
    entities decoded, in either quoting, spaced as XML allows."""
    return {
        k.split(b":")[-1].decode("utf-8", "replace"): html.unescape(
            (dq if dq or not sq else sq).decode("utf-8", "replace")
        )
        for k, dq, sq in _ATTR.findall(tag)
    }


def rel_targets(rel_xml: bytes, source_part: str) -> list[str]:
    """The parts the relationships ``rel_xml`` of ``source_part`` point to, in order (external
    targets left out): a byte scan, in any prefix and quoting, like :func:`sheet_parts`."""
    found = (tag_attrs(m.group(1)) for m in _REL_TAG.finditer(rel_xml))
    return [
        resolve(source_part, a["Target"])
        for a in found
        if a.get("Target") and a.get("TargetMode") != "External"
    ]


def sheet_parts(zf: _Readable) -> dict[str, str]:
    """Sheet name -> worksheet part name (``{'Forecast': 'xl/worksheets/sheet3.xml'}``), in
    workbook order, from ``xl/workbook.xml`` and its relationships. ``zf`` is a
    :class:`zipfile.ZipFile` or a :class:`Package`. The one sheet lookup of sop_xl: a fast byte
    scan (no XML tree), so the guard can run it on untrusted files before anything else.
    A missing workbook or relationships part gives ``{}``; sheets without a target are left out.
    """
    try:
        wb = zf.read(WORKBOOK)
        rel_xml = zf.read(rels_name(WORKBOOK))
    except KeyError:
        return {}
    targets: dict[str, str] = {}
    for m in _REL_TAG.finditer(rel_xml):
        a = tag_attrs(m.group(1))
        if a.get("Id") and a.get("Target") and a.get("TargetMode") != "External":
            targets[a["Id"]] = resolve(WORKBOOK, a["Target"])
    out: dict[str, str] = {}
    for m in _SHEET_TAG.finditer(wb):
        a = tag_attrs(m.group(1))
        part = targets.get(a.get("id", ""))
        if part and "name" in a:
            out[a["name"]] = part
    return out


def sheet_names(zf: _Readable) -> list[str]:
    """Every sheet name of ``xl/workbook.xml`` in order, a name written twice twice (the same
    byte scan as :func:`sheet_parts`, whose dict keeps one)."""
    try:
        wb = zf.read(WORKBOOK)
    except KeyError:
        return []
    found = (tag_attrs(m.group(1)) for m in _SHEET_TAG.finditer(wb))
    return [a["name"] for a in found if "name" in a]


def sheet_part_sizes(zf: zipfile.ZipFile) -> dict[str, tuple[str, int]]:
    """Sheet name -> (worksheet part, uncompressed bytes of that part), in workbook order
    (:func:`sheet_parts`; the sizes from the zip's directory, nothing decompressed but the
    workbook and its relationships); 0 bytes for a part the zip does not hold."""
    sizes = {i.filename: i.file_size for i in zf.infolist()}
    return {name: (part, sizes.get(part, 0)) for name, part in sheet_parts(zf).items()}


def relative(source_part: str, part: str) -> str:
    """Relationship target for ``part`` as seen from ``source_part``."""
    return posixpath.relpath(part, posixpath.dirname(source_part) or ".")


def rels_xml(rels: list[tuple[str, str, str]]) -> str:
    """A ``.rels`` part from ``(id, type, target)`` triples."""
    body = "".join(
        f"<Relationship Id={quoteattr(i)} Type={quoteattr(t)} Target={quoteattr(g)}/>"
        for i, t, g in rels
    )
    return f'{XML_DECL}<Relationships xmlns="{NS_PKG_REL}">{body}</Relationships>'


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time[:6]
    y = max(y, 1980)
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


class Package:
    """An xlsx/xlsm zip opened for editing a few parts.

    ``read`` returns current bytes (edited or original); ``write``/``delete`` stage changes;
    ``save`` writes the whole package to a binary file object. ``source`` is a path or the
    package's bytes (``name`` then names it in messages).
    """

    def __init__(self, source: str | Path | bytes, *, name: str | None = None):
        if isinstance(source, bytes | bytearray):
            self.path = Path(name or "(in memory)")
            self._data: bytes | None = bytes(source)
        else:
            self.path = Path(source)
            self._data = None
        where = Location(file=name or str(self.path))
        try:
            self._zip = zipfile.ZipFile(self._open())
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            if self._data is None and isinstance(exc, OSError) and not self.path.exists():
                raise
            raise InputFileError(
                f"the workbook is damaged ({exc}).",
                where=where,
                fix="Open it in Excel, save it, and try again.",
            ) from None
        try:  # one member per name, or a save would silently drop one copy
            check_member_names(self._zip.infolist(), where)
        except BaseException:
            self._zip.close()
            raise
        self._infos = {i.filename: i for i in self._zip.infolist() if not i.is_dir()}
        self._order = list(self._infos)
        self._changed: dict[str, bytes] = {}
        self._deleted: set[str] = set()
        self._rels: dict[str, tuple[Rel, ...]] = {}  # parsed .rels parts, dropped when written

    def _open(self) -> BinaryIO:
        return io.BytesIO(self._data) if self._data is not None else open(self.path, "rb")

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- parts --------------------------------------------------------------------------------
    def exists(self, name: str) -> bool:
        return name not in self._deleted and (name in self._changed or name in self._infos)

    def names(self) -> list[str]:
        extra = [n for n in self._changed if n not in self._infos]
        return [n for n in (*self._order, *extra) if self.exists(n)]

    def read(self, name: str) -> bytes:
        if name in self._deleted:
            raise KeyError(name)
        if name in self._changed:
            return self._changed[name]
        return self._zip.read(self._infos[name])

    def text(self, name: str) -> str:
        return self.read(name).decode("utf-8")

    @property
    def source(self) -> Path | bytes:
        """What the package was opened from: its bytes, or its file."""
        return self._data if self._data is not None else self.path

    def size(self, name: str) -> int:
        """The part's bytes (uncompressed), without reading it."""
        if name in self._deleted:
            raise KeyError(name)
        if name in self._changed:
            return len(self._changed[name])
        return self._infos[name].file_size

    def head(self, name: str, size: int = 4096) -> bytes:
        """The first ``size`` bytes of a part, without decompressing the rest."""
        if name in self._deleted:
            raise KeyError(name)
        if name in self._changed:
            return self._changed[name][:size]
        with self._zip.open(self._infos[name]) as fh:
            return fh.read(size)

    def write(self, name: str, data: bytes | str) -> None:
        self._deleted.discard(name)
        self._changed[name] = data.encode("utf-8") if isinstance(data, str) else data
        self._rels.pop(name, None)

    def delete(self, name: str) -> None:
        self._changed.pop(name, None)
        self._rels.pop(name, None)
        if name in self._infos:
            self._deleted.add(name)

    def changed(self) -> set[str]:
        return set(self._changed) | set(self._deleted)

    def fresh_name(self, pattern: str) -> str:
        """First unused part name of ``pattern`` (with one ``{}`` for a number from 1)."""
        taken = {n.lower() for n in self.names()}
        n = 1
        while pattern.format(n).lower() in taken:
            n += 1
        return pattern.format(n)

    # --- relationships ------------------------------------------------------------------------
    def rels(self, part: str) -> list[Rel]:
        """Relationships of ``part`` (empty when it has no .rels part). Each ``.rels`` part is
        parsed once until it is written or deleted (a write asks for a sheet's relationships
        once per output sheet it plans)."""
        name = rels_name(part) if part else "_rels/.rels"
        if not self.exists(name):
            return []
        done = self._rels.get(name)
        if done is None:
            done = self._rels[name] = tuple(self._parse_rels(part, name))
        return list(done)

    def _parse_rels(self, part: str, name: str) -> list[Rel]:
        try:
            root = fromstring(self.read(name))
        except Exception as exc:  # ParseError, defusedxml's DTDForbidden/EntitiesForbidden
            raise InputFileError(
                f"part {name} is not valid relationship XML ({exc}).",
                where=Location(file=str(self.path)),
                fix="Open the workbook in Excel (it may offer a repair), save, and try again.",
            ) from None
        out = []
        for el in root:
            target = el.get("Target", "")
            external = el.get("TargetMode") == "External"
            out.append(
                Rel(
                    el.get("Id", ""),
                    el.get("Type", ""),
                    target,
                    None if external else resolve(part, target),
                )
            )
        return out

    def add_rel(self, part: str, rel_type: str, target_part: str) -> str:
        """Append a relationship to ``part``'s .rels (text insertion); returns its new Id."""
        name = rels_name(part)
        ids = {r.id for r in self.rels(part)}
        n = len(ids) + 1
        while f"rId{n}" in ids:
            n += 1
        rid = f"rId{n}"
        el = (
            f"<Relationship Id={quoteattr(rid)} Type={quoteattr(rel_type)} "
            f"Target={quoteattr(relative(part, target_part))}/>"
        )
        if self.exists(name):
            self.write(name, _insert_before_close(self.text(name), "Relationships", el))
        else:
            self.write(name, rels_xml([]).replace("</Relationships>", el + "</Relationships>"))
        return rid

    def remove_rels(self, part: str, ids: set[str]) -> None:
        """Drop relationships by Id from ``part``'s .rels (text edit)."""
        name = rels_name(part)
        if not ids or not self.exists(name):
            return
        text = self.text(name)
        for rid in ids:
            text = re.sub(
                rf"<({PREFIX})Relationship\s[^>]*?\bId\s*=\s*(['\"])"
                + re.escape(rid)
                + r"\2[^>]*?(?:/>|>\s*</\1Relationship\s*>)",
                "",
                text,
            )
        self.write(name, text)

    # --- content types ------------------------------------------------------------------------
    def set_override(self, part: str, content_type: str) -> None:
        """Declare ``part``'s content type (an Override), unless already declared."""
        text = self.text(CONTENT_TYPES)
        if re.search(r'PartName=["\']/' + re.escape(part) + r'["\']', text, flags=re.I):
            return
        el = f"<Override PartName={quoteattr('/' + part)} ContentType={quoteattr(content_type)}/>"
        self.write(CONTENT_TYPES, _insert_before_close(text, "Types", el))

    def remove_override(self, part: str) -> None:
        text = self.text(CONTENT_TYPES)
        new = re.sub(
            rf"<{PREFIX}Override\s[^>]*PartName=[\"']/" + re.escape(part) + r"[\"'][^>]*/>",
            "",
            text,
            flags=re.I,
        )
        if new != text:
            self.write(CONTENT_TYPES, new)

    def replace_content_type(self, old: str, new: str) -> bool:
        """Every Default/Override of content type ``old`` becomes ``new``; True if any did."""
        text = self.text(CONTENT_TYPES)
        pattern = r"(ContentType=)([\"'])" + re.escape(old) + r"\2"
        out = re.sub(pattern, lambda m: m.group(1) + quoteattr(new), text)
        if out != text:
            self.write(CONTENT_TYPES, out)
        return out != text

    def remove_default(self, content_type: str) -> None:
        """Drop the ``<Default>`` entries (by extension) declaring ``content_type``."""
        text = self.text(CONTENT_TYPES)
        new = re.sub(
            rf"<{PREFIX}Default\s[^>]*ContentType=[\"']"
            + re.escape(content_type)
            + r"[\"'][^>]*/>",
            "",
            text,
        )
        if new != text:
            self.write(CONTENT_TYPES, new)

    def overrides(self) -> dict[str, str]:
        """Part name -> content type of every ``<Override>``."""
        out = {}
        for m in _OVERRIDE_TAG.finditer(self.read(CONTENT_TYPES)):
            a = tag_attrs(m.group(1))
            if "PartName" in a:
                out[a["PartName"].lstrip("/")] = a.get("ContentType", "")
        return out

    def reachable(self) -> set[str]:
        """Every part reachable from the package relationships (plus the ``.rels`` parts)."""
        seen: set[str] = {CONTENT_TYPES, "_rels/.rels"}
        stack = [""]
        while stack:
            source = stack.pop()
            name = rels_name(source) if source else "_rels/.rels"
            if self.exists(name):
                seen.add(name)
            for rel in self.rels(source):
                if rel.part and self.exists(rel.part) and rel.part not in seen:
                    seen.add(rel.part)
                    stack.append(rel.part)
        return seen

    def prune(self) -> list[str]:
        """Delete the parts no relationship reaches any more, and their content-type
        overrides; returns the deleted names."""
        keep = self.reachable()
        gone = [n for n in self.names() if n not in keep]
        for n in gone:
            self.delete(n)
        for part in self.overrides():
            if not self.exists(part):
                self.remove_override(part)
        return gone

    def sheets_only(self, keep: set[str]) -> Package:
        """A copy of this package in which every worksheet but the sheets named in ``keep`` is
        empty (no cells, no relationships): a reader then opens the kept sheets without
        parsing the others. This package is unchanged."""
        other = copy.copy(self)
        other._changed, other._deleted = dict(self._changed), set(self._deleted)
        other._rels = dict(self._rels)
        worksheets = {r.part for r in self.rels(WORKBOOK) if r.type == REL_WORKSHEET}
        for name, part in sheet_parts(self).items():
            if name not in keep and part in worksheets and self.exists(part):
                other.write(
                    part, f'{XML_DECL}<worksheet xmlns="{NS_MAIN}"><sheetData/></worksheet>'
                )
                other.delete(rels_name(part))
        return other

    def _deflate_big(self, level: int) -> dict[str, tuple[bytes, int]]:
        """Part name -> (deflated bytes, CRC-32) of the changed parts over 1 MB, computed by one
        thread per core (nothing when there is one such part or one core)."""
        big = sorted(((len(d), n) for n, d in self._changed.items() if len(d) > _BIG), reverse=True)
        workers = min(len(big), os.cpu_count() or 1)
        if workers < 2:
            return {}
        with ThreadPoolExecutor(workers) as pool:
            raws = pool.map(_deflate_crc, [self._changed[n] for _, n in big], repeat(level))
            return {n: raw for (_, n), raw in zip(big, raws, strict=True)}

    def to_bytes(self, level: int = 6, big_level: int = 1, *, stored: bool = False) -> bytes:
        """The saved package as bytes (see :meth:`save`)."""
        buf = io.BytesIO()
        self.save(buf, level, big_level, stored=stored)
        return buf.getvalue()

    # --- saving -------------------------------------------------------------------------------
    def save(
        self, fp: BinaryIO, level: int = 6, big_level: int = 1, *, stored: bool = False
    ) -> None:
        """Write the package: untouched parts as their original compressed bytes, in the
        original order; changed parts in place (keeping their timestamp); new parts at the end
        (dated 1980-01-01, so the same input gives the same bytes). Changed parts over 1 MB
        are deflated at ``big_level``, smaller ones at ``level``; with ``stored`` they are not
        compressed at all (a copy only to be read back at once: no deflate either way).
        The big parts are deflated side by side on the machine's cores (zlib works outside
        Python's lock); each part's bytes are the same as one at a time."""
        entries: list[bytes] = []
        offset = 0
        fixed = _dos_time((1980, 1, 1, 0, 0, 0))  # new parts: same input, same bytes
        packed = {} if stored else self._deflate_big(big_level)
        with self._open() as src:
            for name in self.names():
                info = self._infos.get(name)
                if name in self._changed or info is None or not _raw_copyable(info):
                    data = self.read(name)
                    if name in packed:
                        (raw, crc), method = packed.pop(name), 8
                    elif stored:
                        raw, crc, method = data, zlib.crc32(data), 0
                    else:  # big generated sheets: fast deflate (XML still shrinks ~10x)
                        lvl = big_level if len(data) > _BIG else level
                        (raw, crc), method = _deflate_crc(data, lvl), 8
                    usize = len(data)
                    dtime, ddate = _dos_time(info.date_time) if info is not None else fixed
                    ext_attr = 0
                else:
                    src.seek(info.header_offset)
                    head = src.read(30)
                    sig, *_rest = struct.unpack("<4s5H3L2H", head)
                    if sig != b"PK\x03\x04":
                        raise zipfile.BadZipFile(f"bad local header for {name}")
                    n, m = struct.unpack("<2H", head[26:30])
                    src.seek(info.header_offset + 30 + n + m)
                    raw = src.read(info.compress_size)
                    crc, usize, method = info.CRC, info.file_size, info.compress_type
                    dtime, ddate = _dos_time(info.date_time)
                    ext_attr = info.external_attr
                name_b = name.encode("utf-8")
                flags = 0x800 if not name.isascii() else 0
                if len(raw) > _MAX32 or usize > _MAX32 or offset > _MAX32:
                    raise SopError(
                        "the workbook is too large (> 4 GB) to write; nothing was changed.",
                        fix="Archive old periods to another workbook to make it smaller.",
                    )
                fp.write(
                    struct.pack(
                        "<4s5H3L2H",
                        b"PK\x03\x04",
                        20,
                        flags,
                        method,
                        dtime,
                        ddate,
                        crc,
                        len(raw),
                        usize,
                        len(name_b),
                        0,
                    )
                )
                fp.write(name_b)
                fp.write(raw)
                entries.append(
                    struct.pack(
                        "<4s6H3L5H2L",
                        b"PK\x01\x02",
                        20,
                        20,
                        flags,
                        method,
                        dtime,
                        ddate,
                        crc,
                        len(raw),
                        usize,
                        len(name_b),
                        0,
                        0,
                        0,
                        0,
                        ext_attr,
                        offset,
                    )
                    + name_b
                )
                offset += 30 + len(name_b) + len(raw)
        central = b"".join(entries)
        if len(entries) > 0xFFFF:
            raise SopError(
                "the workbook has too many parts (> 65,535) to write; nothing was changed.",
                fix="Remove unused sheets, charts or pictures.",
            )
        fp.write(central)
        fp.write(
            struct.pack(
                "<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), offset, 0
            )
        )


def _deflate_crc(data: bytes, level: int) -> tuple[bytes, int]:
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush(), zlib.crc32(data)


def _raw_copyable(info: zipfile.ZipInfo) -> bool:
    return (
        not info.flag_bits & 0x1
        and info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        and info.compress_size < _MAX32
        and info.file_size < _MAX32
    )


def _insert_before_close(text: str, tag: str, fragment: str) -> str:
    """Insert ``fragment`` before ``</tag>`` (any prefix), expanding a self-closed root. The
    fragment's unprefixed elements get ``tag``'s prefix (``<Relationship>`` in an
    ``<a.b:Relationships>`` becomes ``<a.b:Relationship>``): in the container's namespace
    whether or not the part also declares it as the default one."""
    closes = list(re.finditer(rf"</({PREFIX}){tag}\s*>", text))
    if closes:
        m = closes[-1]
        return text[: m.start()] + prefixed(fragment, m.group(1)) + text[m.start() :]
    m = re.search(rf"<({PREFIX}){tag}(?=[\s/>])([^>]*?)/>", text)
    if m is None:
        raise InputFileError(
            f"a damaged package part: no <{tag}> element.",
            fix="Open the file in Excel and save it again, or use a clean copy.",
        )
    el, inner = m.group(1) + tag, prefixed(fragment, m.group(1))
    return text[: m.start()] + f"<{el}{m.group(2)}>{inner}</{el}>" + text[m.end() :]


_UNPREFIXED = re.compile(rf"<(/?)(?!{NCNAME}:)(?={_NAME_START})")


def prefixed(fragment: str, prefix: str) -> str:
    """``fragment`` with ``prefix`` (``"a.b:"``; ``""``: unchanged) on each unprefixed element."""
    return _UNPREFIXED.sub(lambda m: "<" + m.group(1) + prefix, fragment) if prefix else fragment


def insert_before_close(text: str, tag: str, fragment: str) -> str:
    """Public wrapper of the text insertion used for container elements."""
    return _insert_before_close(text, tag, fragment)


def escape(text: str) -> str:
    """``&``, ``<`` and ``>`` of ``text`` as XML entities (as ``xml.sax.saxutils.escape``,
    whose module imports urllib, http and ssl: 30 ms of every click)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def quoteattr(text: str) -> str:
    """``text`` as a quoted XML attribute value, exactly as ``xml.sax.saxutils.quoteattr``:
    escaped, line breaks and tabs as character references, in double quotes unless it holds
    one (then single quotes, or ``&quot;`` when it holds both)."""
    text = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"' + text.replace('"', "&quot;") + '"'
