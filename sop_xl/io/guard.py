"""Guards that run on every workbook file *before* any spreadsheet reader touches it.

Regional files come from other people. Readers are not safe on hostile input: python-calamine
aborts the whole process on a 5 KB file with values in A1 and XFD1048576 (it allocates the
bounding box), and spends minutes on a zip bomb; openpyxl runs out of memory on both. So we look
at the zip directory, the declared sizes, compression ratios, XML prologues and the cell bounding
box of every sheet first, using only the standard library, and refuse clearly. Each XML part is
read once, streamed in 16 MB pieces; a sheet's references are measured in that same pass (see
:func:`_check_extent`; only a sheet with cells written without a reference, which the reader
places after the previous cell, is read a second time: :class:`_Placement`), and a caller may
keep the verdicts of large parts (:class:`PartVerdicts`) so that a part stored byte for byte as
before is not read again.

Nothing here executes or evaluates anything from the file: a macro-enabled workbook is only
*reported* as such (``FileInfo.has_macros``).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from sop_xl.errors import FrozenPlanError, InputFileError, Location
from sop_xl.io.files import sha256_file
from sop_xl.io.xlsx.parts import check_member_names, sheet_names, sheet_parts, tag_attrs
from sop_xl.io.xlsx.refs import col_number

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: encrypted OOXML or legacy .xls
ZIP_MAGIC = b"PK\x03\x04"
MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": False,
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": True,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": False,
    "application/vnd.ms-excel.template.macroEnabled.main+xml": True,
    "application/vnd.ms-excel.addin.macroEnabled.main+xml": True,
}


@dataclass(frozen=True)
class Limits:
    """What we accept from an untrusted workbook. Generous for real S&OP files."""

    max_file_bytes: int = 200 * 2**20
    max_uncompressed_bytes: int = 2 * 2**30
    max_part_bytes: int = 1 * 2**30
    max_ratio: float = 200.0  # uncompressed / compressed, per part larger than 1 MB
    max_parts: int = 10_000
    max_rows: int = 1_048_576
    max_columns: int = 702  # column ZZ: no S&OP table is wider
    max_cells: int = 20_000_000  # bounding box rows x columns per sheet (~0.6 GB in a reader)


DEFAULT_LIMITS = Limits()


class PartVerdicts(Protocol):
    """Where :func:`check_workbook_file` keeps what it learned from each large part that passed,
    under :func:`_part_digest` (a digest of the part exactly as stored, the limits and the kind
    of scan). A part whose stored bytes are unchanged is not decompressed and scanned again."""

    def get(self, digest: str) -> list[int] | None: ...

    def put(self, digest: str, verdict: list[int]) -> None: ...


#: Parts smaller than this are scanned again rather than looked up (it costs about the same).
MEMO_MIN_BYTES = 1 << 20


class ScanShare(Protocol):
    """A helper process scanning some of a file's large parts beside the guard (the read-ahead
    helper, :mod:`sop_xl.io.standby`). Both walk the parts left to scan, largest first, and
    each scans the ones it takes; the guard then takes the helper's verdict of each of the
    others. Only a verdict of the very bytes the guard sees counts (its digest,
    :func:`_part_digest`): anything else (a helper that failed, stopped at a bad part, or saw
    another file) and the guard scans the part itself."""

    def take(self, piece: int) -> bool: ...

    def verdict(self, part: str, digest: str) -> list[int] | None: ...


#: Called with the large parts left to scan (largest first): the helper's share, or None.
ShareScan = Callable[[list[str]], ScanShare | None]


@dataclass
class FileInfo:
    """What the guard learned about a file that passed."""

    path: Path
    sha256: str
    has_macros: bool
    sheets: list[str] = field(default_factory=list)
    #: sheet name -> (long row numbers seen or 0, widest column) of sheets that were measured;
    #: (0, 0) when the one pass proved the sheet small (< 100,000 x 200 or 10,000 x 702 cells);
    #: a sheet with cells without a reference: the box with those cells placed
    extents: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: sheets holding Excel error cells (t="e"): only these need the reader's error recovery
    error_sheets: set[str] = field(default_factory=set)
    #: external link parts (xl/externalLinks/...): cached values copied from other workbooks
    external_links: list[str] = field(default_factory=list)
    #: why this file is a frozen plan snapshot (empty: it is not one); see :func:`frozen_marks`
    frozen: list[str] = field(default_factory=list)


#: Pieces a part is streamed in: the larger, the fewer calls; memory stays about twice this.
CHUNK_BYTES = 1 << 24
#: An ``r`` attribute written any way an XML parser accepts it: ``r="..."``, ``r = '...'``
#: (python-calamine reads all of these, and column letters in either case). Possessive
#: quantifiers (++): what they take is never given back, so a failed match costs less.
_R = rb"""r[= \t\r\n]++["']"""
#: A reference that could make a sheet large: column AAA or beyond (3+ letters), row 100,000+
#: (6+ digits, leading zeros included), or column AA+ at row 10,000+.
_SUSPECT_RE = re.compile(_R + rb"(?:[A-Za-z](?:[A-Za-z](?:[A-Za-z]++\d|\d{5})|\d{6})|\d{6})")
#: Every suspect reference and every reference to a column of 2+ letters: the gate of a piece.
_GATE_RE = re.compile(_R + rb"(?:[A-Za-z](?:[A-Za-z]++\d|\d{6})|\d{6})")
_REF_COL_RE = re.compile(_R + rb"([A-Za-z]{2,})\d")
#: Rows this long are all in suspect references, so they are collected in the one pass.
_LONG_ROW_DIGITS = 6
_LONG_ROW_RE = re.compile(_R + rb"[A-Za-z]*(\d{%d,})" % _LONG_ROW_DIGITS)
#: Rows below this are all a sheet without a suspect reference can hold.
_SMALL_ROWS = 99_999
#: A cell start tag whose first attribute is not ``r="``: no reference at all (python-calamine
#: then places it one column right of the previous cell, in the current row: see
#: :class:`_Placement`), or one written another way. Excel, LibreOffice and openpyxl write every
#: cell as ``<c r="A1" ...>``, so on their files this finds nothing.
_ODD_CELL_RE = re.compile(rb'<c(?! r=")[\s/>]')
#: A prefixed cell (``<x:c>``): readers match the local name, so it is a cell too.
_PREFIXED_CELL_RE = re.compile(rb":c[\s/>]")
#: How many colons a piece is checked at one by one before a regex looks at the rest (a sheet
#: that Excel wrote has one per row, ``x14ac:dyDescent``; one that openpyxl wrote a handful).
_FEW_COLONS = 64
#: An attribute ``t`` of value ``e`` (an error cell) in any spelling an XML parser accepts.
_ERROR_T_RE = re.compile(rb"""(?<![\w:.-])t[ \t\r\n]*=[ \t\r\n]*(?:"e"|'e')""")
#: A document type or entity declaration (XML parsers accept ``<!doctype`` too).
_DTD_RE = re.compile(rb"<!(?i:doctype|entity)")
#: The byte order marks of UTF-16 and UTF-32 (Excel writes every XML part in UTF-8).
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def check_workbook_file(
    path: str | Path,
    limits: Limits = DEFAULT_LIMITS,
    memo: PartVerdicts | None = None,
    share: ShareScan | None = None,
) -> FileInfo:
    """Refuse anything that is not a plain, sane .xlsx/.xlsm; return what we learned.

    ``memo`` keeps the verdicts of large parts that passed, so a part stored byte for byte as
    before (e.g. every sheet a user did not touch, after a save) is not scanned again; every
    check of the file as a whole runs each time. ``share`` (with ``memo``): a helper process
    that scans some of the large parts meanwhile (:class:`ScanShare`). Raises
    :class:`InputFileError` naming the file and what to do.
    """
    path = Path(path)
    where = Location(file=str(path))
    if path.is_dir():
        raise InputFileError(
            "this is a folder, not a workbook file.",
            where=where,
            fix=f"Name the workbook file inside it, e.g. {Path(path.name) / 'SOP_Planning.xlsm'}.",
        )
    if not path.is_file():
        raise InputFileError("file not found.", where=where, fix="Check the path and file name.")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise InputFileError(
            f"file is {size / 2**20:.0f} MB, "
            f"above the {limits.max_file_bytes / 2**20:.0f} MB limit.",
            where=where,
            fix="Remove unused sheets or history and save again.",
        )
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(CFB_MAGIC):
        data = path.read_bytes()
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise InputFileError(
                "the workbook is password-protected (encrypted), so it cannot be read.",
                where=where,
                fix="Open it in Excel, remove the password (File > Info > Protect Workbook > "
                "Encrypt with Password, clear it), save and submit again.",
            )
        raise InputFileError(
            "this is a legacy .xls (Excel 97-2003) file.",
            where=where,
            fix="Open it in Excel and save as 'Excel Workbook (*.xlsx)'.",
        )
    if not head.startswith(ZIP_MAGIC):
        kind = _guess_kind(head)
        raise InputFileError(
            f"this is not an Excel workbook ({kind}).",
            where=where,
            fix="Give the Excel workbook itself (.xlsx or .xlsm), not an export of it; a region "
            "submits its forecast in the regional template.",
        )
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputFileError(
            f"the workbook is damaged (corrupt zip: {exc}).",
            where=where,
            fix="Open it in Excel (it may offer to repair it), save, and submit again.",
        ) from None
    with zf:
        infos = _directory(zf, limits, where)
        names = {i.filename for i in infos}
        try:
            sheets = sheet_parts(zf)  # byte scans of workbook.xml and its rels, no parser
            _check_unique_names(zf, infos, where)
            # the stored bytes of large parts, read raw for their digest when verdicts are kept
            with open(path, "rb") if memo is not None else nullcontext() as stored:
                results = _scan_parts(zf, infos, sheets, limits, memo, stored, path, share)
            content_types = zf.read("[Content_Types].xml")
            has_macros = any(
                t.encode() in content_types for t, macro in MAIN_TYPES.items() if macro
            ) or ("xl/vbaProject.bin" in names)
            extents: dict[str, tuple[int, int]] = {}
            error_sheets: set[str] = set()
            for sheet, part in sheets.items():
                if part in names:
                    extents[sheet], has_errors = results[part]
                    if has_errors:
                        error_sheets.add(sheet)
            frozen = _frozen_marks(zf, path, list(sheets))
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            EOFError,
            ValueError,
            RuntimeError,
            NotImplementedError,
        ) as exc:  # RuntimeError: an encrypted part; NotImplementedError: an unknown compression
            raise InputFileError(
                f"the workbook is damaged ({exc}).",
                where=where,
                fix="Open it in Excel (it may offer to repair it), save, and submit again.",
            ) from None
        external = sorted(
            n for n in names if n.startswith("xl/externalLinks/") and "_rels" not in n
        )
    return FileInfo(
        path,
        sha256_file(path),
        has_macros,
        list(sheets),
        extents,
        error_sheets,
        external_links=external,
        frozen=frozen,
    )


def _directory(zf: zipfile.ZipFile, limits: Limits, where: Location) -> list[zipfile.ZipInfo]:
    """The zip's members, after the checks of the directory alone: names, sizes, ratios, and
    the two parts every workbook has."""
    infos = zf.infolist()
    check_member_names(infos, where)
    _check_sizes(infos, limits, where)
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise InputFileError(
            "this zip file is not an Excel workbook (no xl/workbook.xml).",
            where=where,
            fix="Give the Excel workbook itself (.xlsx or .xlsm).",
        )
    return infos


def scan_share(
    path: Path, parts: list[str], take: Callable[[int], bool], limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[str, str, list[int]]]:
    """A helper's share of the guard's scan (:class:`ScanShare`): ``(part, digest, verdict)``
    of each of ``parts`` that ``take(position)`` gives it, scanned exactly as the guard scans
    it, after the same checks of the zip's directory. Raises what the guard raises: the helper
    stops, and the guard scans what is left (and says what is wrong)."""
    where = Location(file=str(path))
    with zipfile.ZipFile(path) as zf, open(path, "rb") as stored:
        infos = {info.filename: info for info in _directory(zf, limits, where)}
        sheets = sheet_parts(zf)
        owner: dict[str, str] = {}
        for name, target in sheets.items():
            owner.setdefault(target, name)
        for at, part in enumerate(parts):
            if part in infos and take(at):
                info = infos[part]
                digest = _part_digest(stored, info, limits, "sheet" if part in owner else "xml")
                yield part, digest, _verdict(zf, part, owner, limits, path)


def _verdict(
    zf: zipfile.ZipFile, part: str, owner: dict[str, str], limits: Limits, path: Path
) -> list[int]:
    """Scan one part: a sheet's ``[rows, widest column, has error cells]``
    (:func:`_check_extent`); ``[]`` for any other XML part (no DTD in it)."""
    where = Location(file=str(path))
    if part in owner:
        (rows, cols), errors = _check_extent(
            zf, part, limits, Location(str(path), owner[part]), where
        )
        return [rows, cols, int(errors)]
    _check_no_dtd(zf, part, where)
    return []


#: The first sheet of a frozen plan (``sop_xl.plan.snapshot.COVER_SHEET``).
COVER_SHEET = "Cover"
#: Custom document property every frozen plan carries (``sop_xl.plan.snapshot.freeze``).
FROZEN_PROPERTY = "SOP_ContentHash"
LEDGER_NAME = "ledger.jsonl"


def frozen_marks(path: str | Path) -> list[str]:
    """Why the workbook file ``path`` is a frozen plan snapshot; empty when it is not one.

    A frozen plan is recognised by what it *is*, never by file permissions (root and Windows
    ignore read-only): the snapshot stamp (custom property ``SOP_ContentHash``), "marked as
    final", a first sheet named Cover, or a record naming it in the ledger of its folder.
    Unreadable files give no marks (the guard reports them when they are opened).
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            return _frozen_marks(zf, path, list(sheet_parts(zf)))
    except (OSError, zipfile.BadZipFile, ValueError, KeyError):
        return _ledger_mark(path)


def _frozen_marks(zf: zipfile.ZipFile, path: Path, sheets: list[str]) -> list[str]:
    marks: list[str] = []
    names = set(zf.namelist())
    custom = zf.read("docProps/custom.xml") if "docProps/custom.xml" in names else b""
    if f'name="{FROZEN_PROPERTY}"'.encode() in custom:
        marks.append("it carries the snapshot stamp of sop-xl freeze")
    if re.search(rb'name="_MarkAsFinal"[^>]*>\s*<vt:bool>(true|1)</vt:bool>', custom):
        marks.append("it is marked as final")
    if sheets and sheets[0] == COVER_SHEET and marks:
        marks.append("its first sheet is the snapshot Cover")
    return marks + _ledger_mark(path)


def _ledger_mark(path: Path) -> list[str]:
    ledger = path.parent / LEDGER_NAME
    try:
        text = ledger.read_text(encoding="utf-8") if ledger.is_file() else ""
    except OSError:
        return []
    if f'"file":{json.dumps(path.name, ensure_ascii=False)}' in text:
        return [f"it is recorded in {ledger}"]
    return []


def _guess_kind(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head[:5].lower().startswith((b"<?xml", b"<html", b"<!doc")):
        return "an XML/HTML file"
    try:
        head.decode("utf-8")
        return "a text or CSV file"
    except UnicodeDecodeError:
        return "an unknown binary file"


def _check_sizes(infos: list[zipfile.ZipInfo], limits: Limits, where: Location) -> None:
    if len(infos) > limits.max_parts:
        raise InputFileError(
            f"the workbook has {len(infos)} parts, more than the {limits.max_parts} allowed.",
            where=where,
            fix="This is not a normal workbook; save a clean copy from Excel.",
        )
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.max_part_bytes or (
            info.file_size > 2**20 and ratio > limits.max_ratio
        ):
            raise InputFileError(
                f"part {info.filename} expands to {info.file_size / 2**20:.0f} MB "
                f"(compression ratio {ratio:.0f}:1): this looks like a zip bomb "
                "and was not opened.",
                where=where,
                fix="Save a clean copy from Excel and submit that.",
            )
    if total > limits.max_uncompressed_bytes:
        raise InputFileError(
            f"the workbook expands to {total / 2**30:.1f} GB, above the limit: "
            "this looks like a zip bomb and was not opened.",
            where=where,
            fix="Save a clean copy from Excel and submit that.",
        )


#: How much of a table part is read for its name: the root tag comes first.
_TABLE_HEAD_BYTES = 1 << 16


def _check_unique_names(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], where: Location) -> None:
    """Refuse two sheets of one name or two tables of one name (letter case aside, as Excel
    compares them): Excel never writes either, and readers pick different ones (python-calamine
    the first table of a name; a case-twin sheet is another sheet to it and one name to Excel),
    so a decoy could stand in for the data a person sees."""
    seen: dict[str, str] = {}
    for name in sheet_names(zf):
        other = seen.get(name.lower())
        seen[name.lower()] = name
        if other is not None:
            raise InputFileError(
                f"the workbook has two sheets named '{other}' and '{name}' (Excel takes letter "
                "case as the same name): programs would read different ones, so it was not "
                "opened.",
                where=where,
                fix="Rename or delete one of the two sheets in Excel or LibreOffice, save, and "
                "submit again.",
            )
    tables: dict[str, str] = {}
    for info in infos:
        if not (info.filename.startswith("xl/tables/") and info.filename.endswith(".xml")):
            continue
        with zf.open(info) as f:
            m = _TABLE_ROOT_RE.search(f.read(_TABLE_HEAD_BYTES))
        attrs = tag_attrs(m.group(1)) if m else {}
        for name in {attrs.get("name", ""), attrs.get("displayName", "")} - {""}:
            other = tables.setdefault(name.lower(), info.filename)
            if other != info.filename:
                raise InputFileError(
                    f"two tables are named '{name}' ({other} and {info.filename}): Excel never "
                    "writes this, and programs would read different ones, so it was not opened.",
                    where=where,
                    fix="Open the file in Excel or LibreOffice, rename one of the tables "
                    "(Table Design > Table Name), save, and submit again.",
                )


def _scan_parts(
    zf: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    sheets: dict[str, str],
    limits: Limits,
    memo: PartVerdicts | None,
    stored: BinaryIO | None,
    path: Path,
    share: ShareScan | None = None,
) -> dict[str, tuple[tuple[int, int], bool]]:
    """Scan every XML part once (each sheet's name in messages is the first naming it): refuses a
    DTD in any; returns each sheet part's ((rows, widest column), has error cells). Large parts
    first: their verdicts from ``memo``, then those left to scan, largest first, shared with a
    helper when ``share`` gives one."""
    owner: dict[str, str] = {}  # sheet part -> the first sheet naming it
    for name, target in sheets.items():
        owner.setdefault(target, name)
    scanned = [i for i in infos if i.filename in owner or i.filename.endswith(_SCANNED)]
    digests: dict[str, str] = {}
    verdicts: dict[str, list[int]] = {}
    if memo is not None and stored is not None:
        for info in scanned:
            if info.file_size >= MEMO_MIN_BYTES:
                part, kind = info.filename, "sheet" if info.filename in owner else "xml"
                digests[part] = _part_digest(stored, info, limits, kind)
                verdict = memo.get(digests[part])
                if verdict is not None and _fits(verdict, part in owner):
                    verdicts[part] = verdict

    def scan(part: str) -> list[int]:
        verdict = verdicts[part] = _verdict(zf, part, owner, limits, path)
        if part in digests and memo is not None:
            memo.put(digests[part], verdict)
        return verdict

    left = [i.filename for i in scanned if i.filename in digests and i.filename not in verdicts]
    left.sort(key=lambda part: -zf.getinfo(part).file_size)
    helper = share(left) if share is not None and len(left) > 1 else None
    theirs: set[str] = set()
    if helper is not None:
        for at, part in enumerate(left):
            if helper.take(at):
                scan(part)
            else:
                theirs.add(part)
    results: dict[str, tuple[tuple[int, int], bool]] = {}
    for info in scanned:
        part = info.filename
        verdict = verdicts.get(part)
        if verdict is None and part in theirs and helper is not None:
            verdict = helper.verdict(part, digests[part])
            if verdict is not None and _fits(verdict, part in owner) and memo is not None:
                verdicts[part] = verdict
                memo.put(digests[part], verdict)
            else:
                verdict = None
        if verdict is None:
            verdict = scan(part)
        if part in owner:
            results[part] = ((verdict[0], verdict[1]), bool(verdict[2]))
    return results


#: Parts besides the sheets that the guard scans (for a DTD).
_SCANNED = (".xml", ".rels", ".vml")


def _fits(verdict: list[int], sheet: bool) -> bool:
    """Whether a kept or handed verdict has the form of its kind of part."""
    return len(verdict) == (3 if sheet else 0) and all(type(v) is int for v in verdict)


def _part_digest(stored: BinaryIO, info: zipfile.ZipInfo, limits: Limits, kind: str) -> str:
    """A digest of everything :meth:`zipfile.ZipFile.open` reads and checks for the part ``info``
    (its name in the directory, flags, method, sizes, CRC, local header and stored bytes), the
    limits and the kind of scan: equal digests, equal decompressed bytes and equal verdict."""
    h = hashlib.sha256()
    h.update(f"{kind}\0{limits!r}\0{info.orig_filename}\0".encode())
    fields = (info.flag_bits, info.compress_type, info.compress_size, info.file_size, info.CRC)
    h.update(struct.pack("<HHQQI", *fields))
    stored.seek(info.header_offset)
    head = stored.read(30)
    if len(head) < 30:
        raise zipfile.BadZipFile(f"truncated local header of {info.filename}")
    n, m = struct.unpack("<2H", head[26:30])
    head += stored.read(n + m)
    h.update(head)
    left = info.compress_size
    while left > 0:
        block = stored.read(min(left, 1 << 22))
        if not block:
            raise zipfile.BadZipFile(f"truncated part {info.filename}")
        h.update(block)
        left -= len(block)
    return h.hexdigest()


def _check_no_dtd(zf: zipfile.ZipFile, part: str, where: Location) -> None:
    """Reject DTDs (entity expansion bombs, external entities) anywhere in an XML part."""
    for buf, start, end, _split in _chunks(zf, part, where):
        _refuse_dtd(buf, start, end, part, where)


def _refuse_dtd(buf: bytes, start: int, end: int, part: str, where: Location) -> None:
    # a declaration needs a "!": memchr finds there is none in a piece at memory speed
    if buf.find(b"!", start, end) >= 0 and _DTD_RE.search(buf, start, end):
        raise InputFileError(
            f"part {part} declares XML entities (a DOCTYPE), which Excel never writes: "
            "this looks like an XML bomb and was not opened.",
            where=where,
            fix="Save a clean copy from Excel and submit that.",
        )


def _chunks(
    zf: zipfile.ZipFile, part: str, where: Location, *, sheet: bool = False
) -> Iterator[tuple[bytes, int, int, bool]]:
    """A zip part streamed as pieces ``(buffer, start, end, split)``: ``buffer[start:end]``, read
    :data:`CHUNK_BYTES` at a time and cut before a ``<``, so no tag is cut in two, without copying
    the buffer. ``split`` marks a piece that had to end inside a tag or text: a whole chunk without
    any ``<``.

    A part in UTF-16 or UTF-32 would spread every tag over 2 or 4 bytes a letter, out of sight
    of the byte scans: a sheet in it is refused (Excel writes sheets in UTF-8); any other part
    (Power Query writes its customXml item in UTF-16) is scanned with its zero bytes removed.
    """
    tail = b""
    first_piece, wide = True, False
    with zf.open(part) as f:
        while chunk := f.read(CHUNK_BYTES):
            if first_piece:
                first_piece = False
                wide = chunk.startswith(_WIDE_BOMS) or b"\x00" in chunk[:4]
                if wide and sheet:
                    raise InputFileError(
                        f"part {part} is not UTF-8 text, which Excel always writes for a sheet: "
                        "it was not opened.",
                        where=where,
                        fix="Save a clean copy from Excel and submit that.",
                    )
            if wide:
                chunk = chunk.replace(b"\x00", b"")
            first = chunk.find(b"<")
            if first < 0:  # no tag starts in this chunk
                if len(tail) + len(chunk) <= CHUNK_BYTES:  # e.g. the end of the part
                    tail += chunk
                    continue
                piece = tail + chunk  # longer than a piece: cut anyway, and say so
                yield piece, 0, len(piece), True
                tail = b""
                continue
            start = 0
            if tail:  # complete the tag the previous chunk ended in
                piece = tail + chunk[:first]
                yield piece, 0, len(piece), False
                start = first
            last = chunk.rfind(b"<")
            if last > start:
                yield chunk, start, last, False
            tail = chunk[last:]
    if tail:
        yield tail, 0, len(tail), False


@dataclass
class _SheetScan:
    """What one streaming pass over a sheet learns (see :func:`_check_extent`)."""

    suspect: bool = False
    errors: bool = False
    #: a cell without ``r="`` first (or a prefixed cell): positions need :func:`_placed_extent`
    odd: bool = False
    #: widest column of 2+ letters referenced (0: none)
    max_col: int = 0
    #: digits -> the largest row with that many digits (6 or more) referenced
    long_rows: dict[int, int] = field(default_factory=dict)
    #: cell tags (``<c`` and ``:c``, a bound from above) from the piece of the first odd cell on
    cells: int = 0
    #: row tags (``<row`` and ``:row``, with ``<rowBreaks>``), counted as the cells are
    rows: int = 0
    #: ``sheetData`` start tags: Excel writes one, and readers disagree on a sheet with two
    #: (python-calamine reads the first, LibreOffice and openpyxl the last)
    sheet_data: int = 0

    def scan(self, buf: bytes, start: int, end: int) -> None:
        self.sheet_data += _sheet_data_tags(buf, start, end)
        if not self.errors:
            self.errors = _has_error_cell(buf, start, end)
        if not self.odd:
            self.odd = _ODD_CELL_RE.search(buf, start, end) is not None or _has_prefixed_cell(
                buf, start, end
            )
        if self.odd:  # the placement costs about a microsecond a tag: count them (memchr)
            self.cells += buf.count(b"<c", start, end) + buf.count(b":c", start, end)
            self.rows += buf.count(b"<row", start, end) + buf.count(b":row", start, end)
        gate = _GATE_RE.search(buf, start, end)
        if gate is None:  # the common piece: one scan proves all references small and narrow
            return
        start = gate.start()  # nothing the scans below look for comes before the gate's match
        cols = set(_REF_COL_RE.findall(buf, start, end))
        if cols:
            self.max_col = max(self.max_col, *(col_number(c.decode()) for c in cols))
        suspect = _SUSPECT_RE.search(buf, start, end)
        if suspect is None:
            return
        self.suspect = True
        rows = _LONG_ROW_RE.findall(buf, suspect.start(), end)
        lengths = set(map(len, rows))
        for digits in lengths:  # of the same length, the largest as text is the largest number
            top = int(max(rows) if len(lengths) == 1 else max(r for r in rows if len(r) == digits))
            self.long_rows[digits] = max(self.long_rows.get(digits, 0), top)


def _sheet_data_tags(buf: bytes, start: int, end: int) -> int:
    """How many ``sheetData`` start tags ``buf[start:end]`` holds: each ``sheetData`` found
    (at find speed: a sheet has two, the start and end tags) is matched from its ``<``."""
    n = 0
    at = buf.find(b"sheetData", start, end)
    while at >= 0:
        lt = buf.rfind(b"<", start, at)
        m = _SHEET_DATA_START_RE.match(buf, lt) if lt >= 0 else None
        n += m is not None and m.end() == at + len(b"sheetData")
        at = buf.find(b"sheetData", at + 1, end)
    return n


def _has_error_cell(buf: bytes, start: int, end: int) -> bool:
    """Whether ``buf[start:end]`` holds an attribute ``t`` of value ``e`` in any spelling
    (``t="e"``, ``t='e'``, ``t = "e"``): first a find of the quoted value, then the attribute."""
    quote = buf.find(b'"e"', start, end)
    if quote < 0 and buf.find(b"'", start, end) >= 0:
        quote = buf.find(b"'e'", start, end)
    return quote >= 0 and _ERROR_T_RE.search(buf, start, end) is not None


def _has_prefixed_cell(buf: bytes, start: int, end: int) -> bool:
    """Whether ``buf[start:end]`` holds a prefixed cell tag (``<x:c ...>``): a colon is rare in
    a sheet written by openpyxl, so the first few are checked one by one at memchr speed."""
    colon = buf.find(b":", start, end)
    for _ in range(_FEW_COLONS):
        if colon < 0:
            return False
        if buf.startswith(b"c", colon + 1) and buf[colon + 2 : colon + 3] in _NAME_ENDS:
            return True
        colon = buf.find(b":", colon + 1, end)
    return colon >= 0 and _PREFIXED_CELL_RE.search(buf, colon, end) is not None


_NAME_ENDS = (b" ", b"\t", b"\r", b"\n", b"\f", b"\v", b"/", b">")


#: A namespace prefix and its colon, or none, as python-calamine reads an element name: it
#: matches the local name whatever stands before a colon. The guard, the reader's error cells
#: and consolidation's structure scans see tags as calamine does (writers use parts.PREFIX_B,
#: the prefixes XML allows).
ANY_PREFIX = rb"(?:[^\s/>!?:]++:)?"
#: A start tag's attributes and its ``>`` (a quoted value may hold ``>``): one group, the
#: attributes.
TAG_ATTRS = rb"""((?:[^>"']++|"[^"]*+"|'[^']*+')*+)>"""
#: A table part's root tag and its attributes, under any prefix.
_TABLE_ROOT_RE = re.compile(rb"<" + ANY_PREFIX + rb"table(?=[\s/>])" + TAG_ATTRS)
#: A ``sheetData`` start tag (or an empty one), under any prefix: how many a sheet holds.
_SHEET_DATA_START_RE = re.compile(rb"<" + ANY_PREFIX + rb"sheetData(?=[\s/>])")


#: The markup a reader's cell positions depend on, in a well-formed sheet: comments, CDATA and
#: processing instructions (skipped: their text is no markup), and the start or end tags of
#: ``c``, ``row`` and ``sheetData`` under any prefix, with their attributes.
_PLACE_RE = re.compile(
    rb"""<(?:(!--.*?(?:-->|\Z)|!\[CDATA\[.*?(?:\]\]>|\Z)|\?.*?(?:\?>|\Z))"""
    rb"|"
    + ANY_PREFIX
    + rb"(c|row|sheetData)(?=[\s/>])"
    + TAG_ATTRS
    + rb"|/"
    + ANY_PREFIX
    + rb"(row|sheetData)\s*+>)",
    re.S,
)
#: How a comment, CDATA section or processing instruction ends, by how it starts. A piece is cut
#: before a ``<``, so none of these is cut in two.
_CLOSES = {b"!-": b"-->", b"![": b"]]>", b"?": b"?>"}
#: An attribute and its quoted value, one after the other (a value may hold `` r='A1'``).
_ATTR_RE = re.compile(rb"""([^\s=]++)\s*+=\s*+("[^"]*+"|'[^']*+')""")
_REF_RE = re.compile(rb"([A-Za-z]*)(\d+)")


class _Placement:
    """Where python-calamine (calamine 0.3x's cell reader) places the cells of a sheet: only
    inside the first ``sheetData``; a ``row`` with ``r`` sets the current row, the end of a
    ``row`` moves to the next row and back to column A; a cell with ``r`` is there (and the next
    cell without ``r`` one column right of it, even in another row), a cell without ``r`` is at
    the current row and one column right of the previous cell. Element names match by local name
    (``x:c`` is a cell). Fed the sheet in pieces cut before a ``<``; sizes are 1-based.

    The tags are found by :data:`_PLACE_RE`, which is exact only on well-formed XML (no ``<`` in
    an attribute value, every comment closed): :func:`_placed_extent_of` has an XML parser check
    that the whole sheet is. A piece inside ``sheetData`` without comments, prefixes or
    instructions (all of a sheet but its first and last pieces, as writers write it) is cut at
    ``<row`` and each row's plain cells are counted (``bytes.count``, :func:`_plain_cells`)
    instead of read tag by tag: 4 to 20 times faster; a row with anything else is read by tag."""

    def __init__(
        self,
        errors: list[tuple[int, int, int, bool]] | None = None,
        keep: Callable[[bytes], bool] | None = None,
    ) -> None:
        #: when a list: each error cell (``t="e"``; with ``keep``, each cell whose attributes
        #: it keeps) fed is added as (row, column, end of its start tag in the piece, whether
        #: it is empty ``<c .../>``), 0-based
        self.errors = errors
        self.keep = _has_type_e if keep is None else keep
        #: when a list: the row (0-based) of each hidden row element fed
        self.hidden: list[int] | None = None
        self.row = 0  # 0-based, as the reader counts
        #: the next cell without a reference is in column base + run (0-based); base is the
        #: reference of the last cell with one until a cell without one needs its column
        self.base: int | bytes = 0
        self.run = 0
        self.rows = self.cols = 0  # of the cells without a reference
        self.state = 0  # 0 before sheetData, 1 inside, 2 after
        self.open = b""  # how the comment (CDATA, instruction) a piece ended in ends
        self.whole = False  # all of the sheet was fed

    def feed(self, piece: bytes) -> None:
        if self.errors is not None or self.hidden is not None:  # (positions in ``piece``)
            self._feed_tags(piece)
            return
        at = piece.find(b"sheetData")
        if at >= 0:  # its tag alone is read tag by tag, what is before and after it as usual
            lt, gt = piece.rfind(b"<", 0, at), piece.find(b"<", at)
            gt = len(piece) if gt < 0 else gt
            if lt > 0:
                self.feed(piece[:lt])  # (no sheetData in it)
            self._feed_tags(piece[max(lt, 0) : gt])
            if gt < len(piece):
                self.feed(piece[gt:])
            return
        if (
            self.state == 1
            and not self.open
            and b"<!" not in piece
            and b"<?" not in piece
            and b":row" not in piece
            and not _has_prefixed_cell(piece, 0, len(piece))
        ):  # the common piece: only rows and cells without a prefix, no comment
            segments = piece.split(b"<row")
            self._feed_cells(segments[0])
            for segment in segments[1:]:
                self._feed_row(segment)
        else:
            self._feed_tags(piece)

    def _feed_row(self, segment: bytes) -> None:
        """A piece's text from just after a ``<row`` to the next ``<row``: counted row by row
        (C speed) when its cells are plain, else read tag by tag."""
        tag = _ROW_START_RE.match(segment)
        end = -1 if tag is None else tag.end()
        parts = _plain_cells(segment[end:]) if 0 <= end < len(segment) else None
        if tag is None or (parts is None and end < len(segment)):
            self._feed_tags(b"<row" + segment)
            return
        attrs = tag[1]
        if b"r" in attrs and (value := _r_value(attrs)) is not None and value.isdigit():
            self.row = max(int(value) - 1, 0)
        if attrs.endswith(b"/"):  # <row .../>
            self.row += 1
            self.base, self.run = 0, 0
        if parts:
            self._count(parts)

    def _feed_cells(self, text: bytes) -> None:
        """Text before a piece's first ``<row``: the end of the row the last piece ended in."""
        parts = _plain_cells(text)
        if parts is None:
            self._feed_tags(text)
        else:
            self._count(parts)

    def _count(self, parts: list[int]) -> None:
        """Place runs of cells without a reference: ``parts[i]`` of them, then a row end."""
        if parts == [0]:  # no cell, no row end
            return
        for k, n in enumerate(parts):
            if k:  # </row>
                self.row += 1
                self.base, self.run = 0, 0
            if n:
                if type(self.base) is bytes:  # the column of the last cell with a reference
                    self.base = _base_column(self.base)
                self.run += n
                self.rows = max(self.rows, self.row + 1)
                self.cols = max(self.cols, self.base + self.run)

    def _feed_tags(self, piece: bytes) -> None:
        start = 0
        if self.open:
            start = piece.find(self.open)
            if start < 0:
                return  # all of it is in the comment
            start += len(self.open)
            self.open = b""
        state, row, rows, cols = self.state, self.row, self.rows, self.cols
        base, run, errors, keep = self.base, self.run, self.errors, self.keep
        for m in _PLACE_RE.finditer(piece, start):
            comment, name, attrs, end = m.groups()
            if name == b"c":  # the common tag first
                if state != 1:
                    continue
                if errors is not None and keep(attrs):
                    place = _ref_place(attrs)  # its own place
                    if place is None:  # where the next cell without a reference goes
                        if type(base) is bytes:
                            base = _base_column(base)
                        place = (row, base + run)
                    errors.append((*place, m.end(), attrs.endswith(b"/")))
                if attrs[:4] == b' r="' or (b"r" in attrs and _r_value(attrs) is not None):
                    base, run = attrs, 1  # its own place is measured with the references
                    continue
                if type(base) is bytes:  # the column of the last cell with a reference
                    base = _base_column(base)
                col = base + run  # 0-based
                run += 1
                if row >= rows:
                    rows = row + 1
                if col >= cols:
                    cols = col + 1
            elif comment is not None:  # does it end in this piece?
                close = _CLOSES[comment[:2] if comment[:1] == b"!" else comment[:1]]
                if not comment.endswith(close):
                    self.open = close  # the last match: it ran to the end of the piece
            elif name == b"row" or end == b"row":
                if state != 1:
                    continue
                if name and (value := _r_value(attrs)) is not None and value.isdigit():
                    row = max(int(value) - 1, 0)
                if (
                    name
                    and self.hidden is not None
                    and b"hidden" in attrs
                    and _attr_value(attrs, b"hidden") in (b"1", b"true")
                ):
                    self.hidden.append(row)
                if end or attrs.endswith(b"/"):  # </row> or <row .../>
                    row += 1
                    base, run = 0, 0
            elif name:  # <sheetData>: the reader starts at the first, stops at any end
                if state == 0:
                    state = 2 if attrs.endswith(b"/") else 1
                elif state == 1 and attrs.endswith(b"/"):
                    state = 2
            elif state == 1:  # </sheetData>
                state = 2
        self.state, self.row, self.rows, self.cols = state, row, rows, cols
        self.base, self.run = base, run


def error_places(data: bytes, limit: int = 1_000_000) -> list[tuple[int, int, int, bool]]:
    """The first ``limit`` error cells (``t="e"``) of a sheet's XML where python-calamine places
    them: (row, column, end of the cell's start tag in ``data``, whether the cell is empty
    ``<c .../>``), row and column 0-based. A cell without a reference is placed as the reader
    does (:class:`_Placement`); a reference or type inside another attribute's value, a comment
    or CDATA is none. Two cells at one place (Excel repairs such a file) keep the error there.

    A sheet whose every cell tag starts ``<c r="`` and that has no comment, CDATA or second
    processing instruction (what Excel, LibreOffice and openpyxl write) is read at regex speed:
    only the tags holding a type ``e`` are parsed."""
    found: list[tuple[int, int, int, bool]] = []
    plain = (
        _ODD_CELL_RE.search(data) is None
        and not _has_prefixed_cell(data, 0, len(data))
        and b"<!" not in data
        and data.count(b"<?") <= 1
    )
    if not plain:
        _Placement(found).feed(data)
        return [cell for cell in found if cell[0] >= 0 and cell[1] >= 0][:limit]
    seen = -1  # the start of the last tag looked at
    for value in _quoted_e(data):  # each "e" or 'e': memchr speed, few in a sheet
        lt = data.rfind(b"<", 0, value)
        if lt <= seen:
            continue
        seen = lt
        tag = _PLACE_RE.match(data, lt)
        if tag is None or tag[2] != b"c" or tag.end() < value or not _is_error(tag[3]):
            continue  # another tag or text, or a value of another attribute
        place = _ref_place(tag[3])
        if place is not None:  # (a cell tag here starts with r=")
            found.append((*place, tag.end(), tag[3].endswith(b"/")))
            if len(found) >= limit:
                break
    return found


def _quoted_e(data: bytes) -> list[int]:
    """The positions of ``"e"`` and ``'e'`` in ``data``, in order."""
    found = []
    for quoted in (b'"e"', b"'e'"):
        at = data.find(quoted)
        while at >= 0:
            found.append(at)
            at = data.find(quoted, at + 1)
    return sorted(found)


def _base_column(attrs: bytes) -> int:
    """The 0-based column of the cell with these attributes, the one cells without a reference
    that follow it are placed after; column A (0) when its ``r`` is not a cell reference."""
    ref = _REF_RE.fullmatch(_r_value(attrs) or b"")
    return col_number(ref[1].decode()) - 1 if ref is not None and ref[1] else 0


def _ref_place(attrs: bytes) -> tuple[int, int] | None:
    """(row, column), 0-based, of a cell's ``r`` attribute; None without a valid one."""
    ref = _REF_RE.fullmatch(_r_value(attrs) or b"")
    if ref is None or not ref[1] or int(ref[2]) < 1:
        return None
    return int(ref[2]) - 1, col_number(ref[1].decode()) - 1


def _placed_extent(
    zf: zipfile.ZipFile, part: str, limits: Limits, where: Location, file_where: Location
) -> tuple[int, int, bool]:
    """(rows, columns, whole) of the box python-calamine places a sheet's cells in, cells
    without a reference included (:class:`_Placement`); not ``whole`` when it stopped after the
    first piece that took the box beyond the ``limits``. Runs
    only on a sheet with such cells (or other unusual cell tags); the DTD check of the first
    pass has run."""
    from xml.parsers.expat import ExpatError

    pieces = (buf[start:end] for buf, start, end, _ in _chunks(zf, part, file_where, sheet=True))
    try:
        box = _placed_extent_of(pieces, limits)
        return box.rows, box.cols, box.whole
    except ExpatError as exc:
        raise InputFileError(
            f"part {part} has cells without a cell reference and is not well-formed XML "
            f"({exc}): it was not opened.",
            where=where,
            fix="Open it in Excel (it may offer to repair it), save, and submit again.",
        ) from None


#: The rest of a row start tag after ``<row``: its attributes (a value may hold ``>``).
_ROW_START_RE = re.compile(rb"""(?=[\s/>])((?:[^>"']++|"[^"]*+"|'[^']*+')*+)>""")
#: An attribute named r anywhere (or such text inside a value: then the tags are read).
_ANY_R_RE = re.compile(rb"\sr\s*+=")


#: Up to this many cells in a stretch are checked one by one, more by counting each spelling.
_FEW_CELLS = 8


def _plain_cells(text: bytes) -> list[int] | None:
    """How many cells without a reference each stretch of ``text`` between row ends
    (``</row>``) holds, when every cell is plain: written ``<c>``, ``<c/>`` or ``<c `` with no
    ``r`` attribute, or all of a stretch's cells ``<c r="`` and a row end after them (nothing to
    place); None when it is not so (then the tags are read one by one). Text of a well-formed
    sheet piece without comments or prefixes, in which no ``<row`` starts."""
    parts = text.split(b"</row")
    counts = []
    for k, part in enumerate(parts):
        if k and part[:1] != b">":  # </row >, </rowx>: read the tags
            return None
        n = part.count(b"<c")
        if n:
            if n <= _FEW_CELLS:  # each one looked at: fewer passes over a long stretch
                with_r, at = 0, -1
                for _ in range(n):
                    at = part.find(b"<c", at + 1)
                    if part[at + 2 : at + 3] not in (b">", b"/", b" "):
                        return None
                    with_r += part.startswith(b' r="', at + 2)
            elif n != part.count(b"<c>") + part.count(b"<c/") + part.count(b"<c "):
                return None
            else:
                with_r = part.count(b'<c r="')
            if with_r == n and k < len(parts) - 1:  # every cell has r, and the row ends
                n = 0
            elif with_r or (b"r" in part and _ANY_R_RE.search(part) is not None):
                return None
        counts.append(n)
    return counts


def _placed_extent_of(pieces: Iterable[bytes], limits: Limits | None = None) -> _Placement:
    """:func:`_placed_extent` of a sheet's XML given in pieces cut before a ``<``; raises
    ``ExpatError`` when the sheet is not well-formed XML (an XML parser without handlers runs
    over every piece: it checks, in C, what makes :data:`_PLACE_RE` exact). With ``limits``, it
    stops after the first piece whose box is already beyond them (:func:`_box` refuses it)."""
    from xml.parsers import expat

    box = _Placement()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    for piece in pieces:
        parser.Parse(piece, False)
        box.feed(piece)
        if limits is not None and (
            box.cols > limits.max_columns or box.rows > _rows_allowed(limits, box.cols)
        ):  # the box of the whole sheet is at least as large (see _box)
            return box
    parser.Parse(b"", True)
    box.whole = True
    return box


def _r_value(attrs: bytes) -> bytes | None:
    """The raw value of the ``r`` attribute in a tag's attributes, or None; of the last one when
    a tag has several, as python-calamine reads it (an XML parser refuses such a tag)."""
    return _attr_value(attrs, b"r")


def _attr_value(attrs: bytes, wanted: bytes) -> bytes | None:
    """The raw value of the attribute ``wanted`` (the last one of that name) in a tag's
    attributes, or None. Attributes are read one after the other, so a value holding
    `` r="A1"`` is a value, and ``xr`` is another name."""
    if attrs[:4] == b' r="' and wanted == b"r" and attrs.count(b"r") == 1:  # every writer's way
        return attrs[4 : attrs.find(b'"', 4)]
    found = None
    for name, value in _ATTR_RE.findall(attrs):
        if name == wanted:
            found = value[1:-1]
    return found


def _is_error(attrs: bytes) -> bool:
    """Whether a cell's attributes give it the type ``e`` (an Excel error value)."""
    return _attr_value(attrs, b"t") == b"e"


def _has_type_e(attrs: bytes) -> bool:
    return b"e" in attrs and _is_error(attrs)


#: ``hidden="1"`` / ``hidden='true'``, spaced as :func:`_attr_value` reads an attribute: a row
#: is hidden only where this text is (found at memchr speed; most sheets have none)
_HIDDEN_ON_RE = re.compile(rb"""hidden\s*+=\s*+(?:"(?:1|true)"|'(?:1|true)')""")
#: A ``sheetData`` start tag (its attributes) or end tag, under any prefix, as :data:`_PLACE_RE`
_SHEET_DATA_RE = re.compile(
    rb"<(?:"
    + ANY_PREFIX
    + rb"sheetData(?=[\s/>])"
    + TAG_ATTRS
    + rb"|/"
    + ANY_PREFIX
    + rb"sheetData\s*+>)"
)


def hidden_rows(data: bytes, limit: int = 1_000_000) -> list[int]:
    """The Excel row numbers of the first ``limit`` hidden rows (``hidden="1"`` or ``"true"``,
    any quoting) of a sheet's XML, each where python-calamine places it: a row element without
    ``r`` is the row after the previous one (:class:`_Placement`).

    Read at byte-search speed where it can be: no ``hidden="1"``/``"true"`` after the first
    ``sheetData`` (a sheet with no hidden row, or only hidden columns: they come before it) is
    none; in a plain sheet (:func:`_body_span`) each such attribute's own tag is looked at, and
    a hidden row with a numeric ``r`` is there. Otherwise, and for a hidden row without ``r``,
    the whole sheet is read tag by tag. The same rows either way."""
    marks = [m.start() for m in _HIDDEN_ON_RE.finditer(data)]
    first = data.find(b"sheetData")
    if not marks or first < 0 or marks[-1] < first:  # no row tag after a sheetData holds one
        return []
    span = _body_span(data)
    if span is None:
        return _hidden_rows_by_tags(data, limit)
    lo, hi = span
    found: list[int] = []
    seen = -1  # the start of the last tag looked at
    for at in marks:
        if not lo <= at < hi:
            continue
        lt = data.rfind(b"<", 0, at)  # the tag the text is in (plain: no '<' inside a tag)
        if lt <= seen or lt < lo:
            continue
        seen = lt
        tag = _PLACE_RE.match(data, lt)
        if tag is None or tag[2] != b"row" or tag.end() <= at:
            continue  # another tag, or text
        attrs = tag[3]
        if _attr_value(attrs, b"hidden") not in (b"1", b"true"):
            continue  # the text is inside another attribute's value
        value = _r_value(attrs)
        if value is None or not value.isdigit():  # placed after the previous row: read it all
            return _hidden_rows_by_tags(data, limit)
        found.append(max(int(value) - 1, 0) + 1)
        if len(found) >= limit:
            break
    return found


def _hidden_rows_by_tags(data: bytes, limit: int) -> list[int]:
    """:func:`hidden_rows` read tag by tag (:class:`_Placement`)."""
    box = _Placement()
    box.hidden = []
    box.feed(data)
    return [row + 1 for row in box.hidden[:limit]]


def _body_span(data: bytes) -> tuple[int, int] | None:
    """Where the rows and cells python-calamine reads are in a plain sheet's XML: from the end of
    the first ``sheetData`` start tag to the start of the tag that ends it (``(n, n)`` when it is
    empty or missing). Plain: well-formed XML (an XML parser without handlers checks it, in C)
    with no comment, CDATA, DTD, or processing instruction but a first one (no ``<`` in it);
    then every ``<``
    after that one starts a tag, so the tag around any position is found by looking back for a
    ``<`` and read with :data:`_PLACE_RE` as the reader reads it in order. None otherwise."""
    from xml.parsers import expat

    pi = data.find(b"<?")
    if b"<!" in data:
        return None
    if pi >= 0:  # the first '<', the only '<?', and no '<' inside it
        pi_end = data.find(b"?>", pi)
        if data.find(b"<") != pi or pi_end < 0 or 0 <= data.find(b"<", pi + 1) < pi_end:
            return None
        if data.find(b"<?", pi + 1) >= 0:
            return None
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except expat.ExpatError:
        return None
    start = pi_end + 2 if pi >= 0 else 0
    lo = -1
    for m in _SHEET_DATA_RE.finditer(data, start):
        closes = m[1] is None or m[1].endswith(b"/")
        if lo < 0 and m[1] is not None:  # the first start tag
            if closes:
                return m.end(), m.end()
            lo = m.end()
        elif lo >= 0 and closes:  # an end tag, or an empty one inside: the reader stops
            return lo, m.start()
    return (lo, len(data)) if lo >= 0 else (len(data), len(data))


def cell_places(data: bytes) -> dict[int, tuple[int, int]]:
    """Every cell of a sheet's XML where python-calamine places it (:class:`_Placement`): the
    end of the cell's start tag in ``data`` -> (row, column), 0-based. One entry a cell: for a
    sheet of moderate size (e.g. a regional grid), when a byte scan found cells to name."""
    found: list[tuple[int, int, int, bool]] = []
    _Placement(found, keep=lambda attrs: True).feed(data)
    return {end: (row, col) for row, col, end, _ in found}


class CellPlaces:
    """:func:`cell_places` of a few cells, asked one at a time: in a plain sheet
    (:func:`_body_span`) a cell with a reference is placed from its own tag; any other cell
    places every cell of the sheet once (:func:`cell_places`). The same places either way."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.span = _body_span(data)
        self.every: dict[int, tuple[int, int]] | None = None

    def at(self, start: int, end: int) -> tuple[int, int] | None:
        """(row, column), 0-based, of the cell whose start tag is ``data[start:end]``
        (:func:`cell_places`\'s entry for ``end``); None when that is no cell the reader reads."""
        if self.span is not None:
            lo, hi = self.span
            tag = _PLACE_RE.match(self.data, start)
            if tag is None or tag[2] != b"c" or tag.end() != end or not lo <= start < hi:
                return None
            place = _ref_place(tag[3])
            if place is not None:
                return place
        if self.every is None:
            self.every = cell_places(self.data)
        return self.every.get(end)


def _check_extent(
    zf: zipfile.ZipFile, part: str, limits: Limits, where: Location, file_where: Location
) -> tuple[tuple[int, int], bool]:
    """Size of the cell bounding box of one sheet, from streaming byte scans (no XML parser).

    Cell references are what readers trust, so hostile row order, attribute order, quoting,
    spacing or letter case is no escape. One pass over the sheet refuses a DTD anywhere in it,
    notes error cells, and runs one cheap scan per piece for references that could make the box
    large (column AAA+, row 100,000+, or column AA+ at row 10,000+) or wide (column AA+). Only a
    piece that has one is measured further: its widest column, and its rows of 6+ digits. A
    sheet wider than the rows it may then hold allow (more than 200 columns by default) gets a
    second pass for its shorter row numbers. A sheet with a cell tag that does not start with
    ``<c r="`` (a cell without a reference, or one written another way) gets a pass that places
    its cells without a reference as the reader does (:class:`_Placement`); the box of both is
    checked together.
    Returns ((rows seen beyond what the width allows, or 0; widest column), has error cells);
    ((0, 0), ...) when the pass proved the sheet small.
    """
    sheet = _SheetScan()
    for buf, start, end, split in _chunks(zf, part, file_where, sheet=True):
        _refuse_dtd(buf, start, end, part, file_where)
        if split:
            raise InputFileError(
                f"part {part} holds {CHUNK_BYTES / 2**20:g} MB or more without a single tag, "
                "which Excel never writes: it was not opened.",
                where=where,
                fix="Save a clean copy from Excel and submit that.",
            )
        sheet.scan(buf, start, end)
        if sheet.sheet_data > 1:
            raise InputFileError(
                f"the sheet holds {sheet.sheet_data} blocks of cells (sheetData) where Excel "
                "writes one: programs read such a sheet differently (one sees its cells, "
                "another an empty sheet), so it was not opened.",
                where=where,
                fix="Open the file in Excel or LibreOffice, check the sheet's data, save a clean "
                "copy and submit that.",
            )
        # a sheet within the box limits holds fewer (one <rowBreaks> is no row)
        if sheet.cells > limits.max_cells or sheet.rows > limits.max_rows + 1:
            many = (
                f"{limits.max_cells:,} cells"
                if sheet.cells > limits.max_cells
                else f"{limits.max_rows:,} rows"
            )
            raise InputFileError(
                f"the sheet has cells without a cell reference and more than {many}: reading "
                "it would need gigabytes of memory, so it was not opened.",
                where=where,
                fix="Delete the stray cells far below/right of the data (Ctrl+End shows the "
                "last used cell), save, and submit again; or save a clean copy from Excel.",
            )
    # cells without a reference: where the reader puts them (the others are measured above)
    placed = _placed_extent(zf, part, limits, where, file_where) if sheet.odd else (0, 0, True)
    return _box(sheet, placed, zf, part, limits, where, file_where), sheet.errors


def _rows_allowed(limits: Limits, cols: int) -> int:
    """The last row a sheet's box ``cols`` columns wide may reach: ``limits.max_rows``, and no
    more than ``limits.max_cells`` cells in the box, a box narrower than A:Z counted as 26
    columns. The placement stops beyond it (:func:`_placed_extent_of`), and :func:`_box`
    refuses a box beyond it: one bound for both."""
    return min(limits.max_rows, limits.max_cells // max(cols, 26))


def _box(
    sheet: _SheetScan,
    placed: tuple[int, int, bool],
    zf: zipfile.ZipFile,
    part: str,
    limits: Limits,
    where: Location,
    file_where: Location,
) -> tuple[int, int]:
    """The box of the references the first pass measured and of the cells ``placed`` without
    one (see :func:`_check_extent`; not all of them when ``placed[2]`` is false: the placement
    stopped past the limits); refuses it when it is too large."""
    max_col = max(sheet.max_col or 26, placed[1])
    allowed = _rows_allowed(limits, max_col)
    small = not sheet.suspect and max_col <= limits.max_columns and allowed >= _SMALL_ROWS
    if small:
        max_row = 0  # references: at most 99,999 rows x 200 columns or 9,999 x 702
    elif (digits := len(str(allowed))) >= _LONG_ROW_DIGITS or max_col > limits.max_columns:
        max_row = max((row for n, row in sheet.long_rows.items() if n >= digits), default=0)
    else:  # a narrow limit or a sheet wider than 200 columns: shorter rows matter too
        pattern = re.compile(_R + rb"[A-Za-z]*(\d{%d,})" % digits)
        max_row = 0
        for buf, start, end, _split in _chunks(zf, part, file_where, sheet=True):
            max_row = max(max_row, max(map(int, pattern.findall(buf, start, end)), default=0))
    max_row = max(max_row, placed[0])
    if max_col > limits.max_columns or max_row > allowed:
        unplaced = "has cells without a cell reference; with them, it " if sheet.odd else ""
        beyond = "" if placed[2] else " or beyond"
        raise InputFileError(
            f"the sheet {unplaced}uses cells up to row {max_row:,} and column {max_col:,}"
            f"{beyond}, far "
            "beyond any S&OP table: reading it would need gigabytes of memory, so it was not "
            "opened.",
            where=where,
            fix="Delete the stray cells far below/right of the data (Ctrl+End shows the last "
            "used cell), save, and submit again.",
        )
    if sheet.odd:
        return (max_row, max(sheet.max_col, placed[1]))
    return (0, 0) if small else (max_row, max_col)


def refuse_frozen(marks: list[str], file: str | Path, doing: str = "write into it") -> None:
    """Raise :class:`FrozenPlanError` when ``marks`` (from :func:`frozen_marks`) say frozen."""
    if marks:
        raise FrozenPlanError(
            f"this is a frozen plan ({'; '.join(marks)}), so no command may {doing}: a "
            "frozen plan never changes, and 'sop-xl verify' would report it as tampered with.",
            where=Location(file=str(file)),
            fix="Open the master workbook it was frozen from (its Cover sheet names it as "
            "'Source workbook') and run the step there.",
        )
