"""Turn a master workbook into a frozen, values-only, locked package (zip/XML transformation).

This works on the parts of the zip, not through a spreadsheet library, because a load + save
through openpyxl drops charts details, conditional formats in extension lists, table styles and
more. Every part we do not need to change is kept; the parts we change are parsed with lxml
(entities and network off, DOCTYPEs refused), which keeps namespace prefixes and the
``mc:Ignorable`` declarations Excel depends on.

What the transformation does (each item is also listed in :class:`FrozenPackage` so the cover
sheet and the CLI can say what was removed):

- formulas -> their cached values (``<f>`` removed); a
  formula without a cached value is an error unless LibreOffice recalculates a copy;
- numbers at 15 significant digits (:func:`round_numbers`): what Excel shows and keeps, and
  what any application writes back unchanged when it re-saves the plan;
- macros removed: ``vbaProject.bin`` (and its signature), macro sheets (XLM), dialog sheets, the
  ribbon (``customUI``), ActiveX controls and embedded OLE objects; the main content type
  becomes the plain ``.xlsx`` one;
- external links, data connections, query tables and the calculation chain removed; defined
  names that point outside the workbook, to ``#REF!`` or to a removed sheet, or that hold a
  formula, removed;
- hidden sheets: those carrying data are made visible (nothing hidden in a signed-off plan),
  empty ones are removed; the xlwings configuration sheet ``_xlwings.conf`` is removed;
- every sheet protected, every cell style locked, data validations and editable ranges removed,
  the workbook structure locked, ``readOnlyRecommended`` set, marked final; pivot tables no
  longer refresh on open;
- formats, column widths, merged cells, charts, conditional formats, tables, comments, print
  settings are kept as they are;
- every text (formula results, inline strings of the master, the Cover) is a shared string of
  the one ``sharedStrings`` part (:mod:`sop_xl.io.xlsx.sst`), as Excel keeps text: Excel has
  nothing to rewrite when the plan is opened and closed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from lxml import etree

from sop_xl.errors import (
    InputFileError,
    Location,
    MissingCachedValues,
    SopError,
    failure_text,
    reading_failure,
)
from sop_xl.io import spawn
from sop_xl.io.xlsx.calc import CALC_ID
from sop_xl.io.xlsx.parts import CONTENT_TYPES, NCNAME_B, PREFIX_B, Package, escape, quoteattr
from sop_xl.io.xlsx.protection import (
    PasswordHash,
    sheet_protection_attrs,
    workbook_protection_attrs,
)
from sop_xl.io.xlsx.refs import parse_cell
from sop_xl.io.xlsx.sst import SharedStrings, share_sheet_strings
from sop_xl.plan import hash_helper
from sop_xl.plan.content_hash import canonical_number, workbook_values

if TYPE_CHECKING:  # pandas: not loaded by the freeze's helper process, which freezes sheets
    from sop_xl.model.book import Progress

# --- namespaces and types ----------------------------------------------------------------------
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
NS_CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
NS_CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
NS_VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
NS_EP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"

REL_OFFICE_DOC = NS_R + "/officeDocument"
REL_WORKSHEET = NS_R + "/worksheet"
REL_CHARTSHEET = NS_R + "/chartsheet"
REL_CUSTOM_PROPS = NS_R + "/custom-properties"
#: Relationship types removed wherever they appear (their parts go with them).
DROP_REL_TYPES = {
    "http://schemas.microsoft.com/office/2006/relationships/vbaProject": "VBA project (macros)",
    "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility": "ribbon (customUI)",
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility": "ribbon (customUI)",
    "http://schemas.microsoft.com/office/2006/relationships/attachedToolbars": "macro toolbars",
    NS_R + "/externalLink": "external workbook links",
    NS_R + "/connections": "data connections",
    NS_R + "/queryTable": "query tables",
    NS_R + "/calcChain": "calculation chain",
    NS_R + "/control": "ActiveX controls",
    NS_R + "/ctrlProp": "form control properties",
    NS_R + "/oleObject": "embedded OLE objects",
    NS_R + "/package": "embedded packages",
    "http://schemas.microsoft.com/office/2006/relationships/activeXControlBinary": "ActiveX",
    "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/origin": (
        "digital signature of the master (does not apply to the snapshot)"
    ),
}
REL_MACROSHEETS = {
    "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet",
    "http://schemas.microsoft.com/office/2006/relationships/xlIntlMacrosheet",
    NS_R + "/dialogsheet",
}
CT_MAIN_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_MAIN_OTHERS = {
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.ms-excel.addin.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
}
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_CUSTOM_PROPS = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
CT_VBA = "application/vnd.ms-office.vbaProject"
#: Sheets that are add-in plumbing, not plan content.
PLUMBING_SHEETS = {"_xlwings.conf"}
#: sheets a frozen plan shows first, right after the Cover, in this order (the executive summary)
LEAD_SHEETS: tuple[str, ...] = ("ExecutiveSummary",)
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
XL_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=False
)


def q(tag: str, ns: str = NS) -> str:
    return f"{{{ns}}}{tag}"


def parse(data: bytes, part: str, file: str) -> etree._Element:
    """Parse one XML part safely (no DTD, no entities, no network)."""
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:4096]:
        raise InputFileError(
            f"part {part} declares a DOCTYPE/ENTITY, which workbooks never do.",
            where=Location(file=file),
            fix="Do not freeze this file; open it in Excel and save a clean copy.",
        )
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InputFileError(
            f"part {part} is not valid XML ({exc}).",
            where=Location(file=file),
            fix="Open the workbook in Excel (it may offer a repair), save, and freeze again.",
        ) from None


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# --- result ------------------------------------------------------------------------------------
@dataclass
class SheetInfo:
    name: str
    part: str
    kind: str  # worksheet | chartsheet


@dataclass
class FrozenPackage:
    """The transformed package (cover not yet added) and what the transformation did."""

    package: Package
    sheets: list[SheetInfo]
    workbook_part: str
    unhidden: list[str] = field(default_factory=list)
    dropped_sheets: list[str] = field(default_factory=list)  # "name (reason)"
    dropped_names: list[str] = field(default_factory=list)  # "name (reason)"
    removed: list[str] = field(default_factory=list)  # what kind of content was removed
    formulas: int = 0
    recalculated: str | None = None  # e.g. "LibreOffice 7.4.7.2"
    date1904: bool = False


# --- relationships -----------------------------------------------------------------------------
def drop_rels(pkg: Package, part: str, removed: list[str]) -> None:
    """Remove the relationships of ``part`` whose type is in :data:`DROP_REL_TYPES` (their
    parts go when the package is pruned), noting what kind of content went."""
    ids = set()
    for rel in pkg.rels(part):
        what = DROP_REL_TYPES.get(rel.type)
        if what is not None:
            ids.add(rel.id)
            if what not in removed:
                removed.append(what)
    pkg.remove_rels(part, ids)


# --- worksheet transformation ------------------------------------------------------------------
_SHEET_ORDER_AFTER = ("sheetData", "sheetCalcPr")  # sheetProtection comes right after these
_REMOVE_IN_SHEET = {"protectedRanges", "dataValidations", "controls", "oleObjects"}
_X14_DATA_VALIDATIONS = "{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"


@dataclass
class _SheetResult:
    data: bytes
    formulas: int
    missing: list[str]
    has_data: bool


def _serial(value: dt.datetime | dt.date | dt.time, date1904: bool) -> float:
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second) / 86400
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    delta = value - epoch
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6


def _set_value(cell: etree._Element, value: object, date1904: bool) -> None:
    """Replace a cell's content with a literal value (from a recalculation)."""
    for child in list(cell):
        cell.remove(child)
    cell.attrib.pop("t", None)
    if isinstance(value, bool):
        cell.set("t", "b")
        etree.SubElement(cell, q("v")).text = "1" if value else "0"
    elif isinstance(value, int | float):
        etree.SubElement(cell, q("v")).text = repr(float(value))
    elif isinstance(value, dt.datetime | dt.date | dt.time):
        etree.SubElement(cell, q("v")).text = repr(_serial(value, date1904))
    elif isinstance(value, dt.timedelta):
        etree.SubElement(cell, q("v")).text = repr(value.total_seconds() / 86400)
    elif isinstance(value, str) and value in XL_ERRORS:
        cell.set("t", "e")
        etree.SubElement(cell, q("v")).text = value
    else:
        _set_inline(cell, "" if value is None else str(value))


def _set_inline(cell: etree._Element, text: str) -> None:
    cell.set("t", "inlineStr")
    is_ = etree.SubElement(cell, q("is"))
    t = etree.SubElement(is_, q("t"))
    t.text = text
    if text != text.strip() or "\n" in text:
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def _insert_after(root: etree._Element, new: etree._Element, after: tuple[str, ...]) -> None:
    anchor = None
    for child in root:
        if isinstance(child.tag, str) and etree.QName(child).localname in after:
            anchor = child
    if anchor is None:
        root.insert(0, new)
    else:
        anchor.addnext(new)


# Fast path for the common case, byte level: an unprefixed worksheet whose formula cells look
# like ``<c r=".." ..><f ..>..</f><v>..</v></c>`` and that has nothing else to remove. Anything
# else (prefixed XML, protection or validations to drop, recalculated values, a formula cell
# of another shape) takes the lxml path below; both give the same cells.
_FAST_BLOCKERS = (
    b"<sheetProtection", b"<protectedRanges", b"<controls",
    b"<oleObjects", b"<sheetCalcPr", b"AlternateContent", b"<sheetData/>", b"CCE6A557",
)  # fmt: skip
#: The data validations block of an unprefixed worksheet (formula text inside is escaped, so
#: the first closing tag is its own). The input sheets carry one; removing it here keeps their
#: megabytes of cells off the lxml path.
_DATA_VALIDATIONS = re.compile(rb"<dataValidations\b[^>]*?(?:/>|>.*?</dataValidations>)", re.S)
_PREFIXED = re.compile(rb"<" + NCNAME_B + rb":(?:worksheet|sheetData|row|c|f|v)\b")
_F_CELL = re.compile(rb"<c\b([^>]*)>(<f\b[^>]*?(?:/>|>[^<]*</f>))(<v>[^<]*</v>|<v/>)?</c>")
_T_ATTR = re.compile(rb'\st="([^"]*)"')
_R_ATTR = re.compile(rb'\sr="([^"]*)"')
_TAB_SELECTED = re.compile(rb'\stabSelected="[^"]*"')


_MAIN_PREFIX = re.compile(
    rb"xmlns:"
    + NCNAME_B
    + rb"\s*=\s*[\"']http://schemas.openxmlformats.org/spreadsheetml/2006/main[\"']"
)


#: The unchanged stretches of a sheet are joined as memoryview slices (no copy before the join),
#: but those of at most this many bytes as bytes, which ``join`` takes faster.
_SMALL = 512
#: Other hits of the rare byte a :func:`_finder` looks at before it leaves the rest to ``find``.
_FEW = 32


def _finder(data: bytes, needle: bytes, rare: int, end: int) -> Callable[[int], int]:
    """A function ``start -> data.find(needle, start, end)`` that finds the needle by a memchr
    scan for ``needle[rare]``, a byte rare among cells (``find`` tests each window's last byte
    first: ``>`` or ``<`` of every tag). A writer whose cells hold that byte too (in every
    row tag, say) gets plain ``find`` once the scans met :data:`_FEW` other hits of it, in all
    calls together. Positions are not negative."""
    byte, stop = needle[rare : rare + 1], end - len(needle) + rare + 1
    misses = 0

    def find(start: int) -> int:
        nonlocal misses
        if misses >= _FEW:
            return data.find(needle, start, end)
        if stop <= start + rare:  # too short for the needle (a negative stop counts from the end)
            return -1
        pos = data.find(byte, start + rare, stop)
        while pos >= 0 and not data.startswith(needle, pos - rare):
            misses += 1
            if misses >= _FEW:
                return data.find(needle, pos - rare, end)
            pos = data.find(byte, pos + 1, stop)
        return pos - rare if pos >= 0 else -1

    return find


def _find(data: bytes, needle: bytes, rare: int, start: int, end: int) -> int:
    """``data.find(needle, start, end)`` by a :func:`_finder`."""
    return _finder(data, needle, rare, end)(start)


def _formula_cells(data: bytes, start: int, end: int) -> list[re.Match] | None:
    """The formula cells between ``start`` and ``end`` (the sheetData), found with ``find``
    (a memchr scan, not a regex over megabytes of cells); None when one has another shape."""
    found: list[re.Match] = []
    find = _finder(data, b"<f", 1, end)
    pos = find(start)
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
        pos = find(pos)
    return found


def _fast_transform(data: bytes, protection: dict[str, str]) -> _SheetResult | None:
    a, b = data.find(b"<sheetData"), data.rfind(b"</sheetData>")
    if a < 0 or b < a or _find(data, b"</sheetData>", 3, a, b) >= 0:
        return None  # <sheetData/> (nothing to scan) or not one sheetData: lxml decides
    head, tail = data[:a], data[b:]
    # sheet-level elements live outside the cells: only the head and the tail are searched
    if any(x in head or x in tail for x in _FAST_BLOCKERS):
        return None
    if not re.search(rb"<worksheet\b", head[:2000]) or _PREFIXED.search(head):
        return None
    if _PREFIXED.search(tail) or _MAIN_PREFIX.search(head) or _find(data, b"xmlns", 2, a, b) >= 0:
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

    pieces: list[bytes | memoryview] = [_TAB_SELECTED.sub(b"", head)]
    view = memoryview(data)
    at = a
    for m in cells:  # most sheets: none
        start = m.start()
        pieces += [view[at:start] if start - at > _SMALL else data[at:start], cell(m)]
        at = m.end()
    pieces.append(view[at:b])
    prot = " ".join(f"{k}={quoteattr(v)}" for k, v in protection.items())
    pieces += [f"</sheetData><sheetProtection {prot}/>".encode(), tail[len(b"</sheetData>") :]]
    out = b"".join(pieces)
    has_data = data.find(b"<v>", a, b) >= 0 or data.find(b"<is>", a, b) >= 0
    return _SheetResult(out, len(cells), missing, has_data)


def transform_values(
    data: bytes,
    *,
    name: str,
    part: str,
    file: str,
    protection: dict[str, str],
    values: list[list[object]] | None,
    date1904: bool,
    fast: bool = True,
) -> _SheetResult:
    """Values only + protected: every formula gives way to its value (``values``, rows from A1,
    replaces every formula result), numbers at 15 digits (:func:`round_numbers`). Texts stay
    inline strings: the freeze makes them shared strings afterwards, in sheet order
    (:func:`_shared`), so this needs nothing but the sheet and a helper process can do it
    (:mod:`sop_xl.plan.hash_helper`)."""
    res = _transform_worksheet(data, name, part, file, protection, values, date1904, fast)
    res.data = round_numbers(res.data)
    return res


#: A value of more than 15 characters of number text (only those can carry more than 15
#: significant digits). A literal start, so the regex engine skips to each ``<v>`` at C speed.
_LONG_V = re.compile(rb"<v>([-+.0-9eE]{16,})</v>")
#: The same with any namespace prefix, for the rare prefixed worksheet (``<x:c><x:v>``).
_LONG_V_ANY = re.compile(rb"<(" + PREFIX_B + rb")v>([-+.0-9eE]{16,})</\1v>")
#: A cell's open tag, which must end right before its ``<v>`` (formulas are gone by now).
_CELL_OPEN = re.compile(rb"<" + PREFIX_B + rb"c\b[^>]*>")


#: Bytes looked at a time by :func:`_long_values` (its arrays stay in the CPU's cache).
_CHUNK = 1 << 18
#: Bytes a sheet has for each triple :func:`_long_values` tries, at least; a sheet with more
#: triples (a long number every 1,500 bytes or so) is left to the regex engine, whose scan costs
#: less than trying them one by one (measured: about even at one long number in 400 bytes).
_SPARSE = 1000


def _long_values(xml: bytes) -> Iterable[re.Match]:
    """The matches of :data:`_LONG_V` in ``xml``, in order, found in bulk: the regex engine
    tries every ``<`` (a tenth of a sheet's bytes), numpy tests every byte in a few passes.

    The text of a match has 16 or more bytes of ``+``...``9`` (a superset of its ``+-.0-9``) or
    ``E``/``e``, so it covers three whole aligned 4-byte words of such bytes: numpy finds
    those triples (and a few others: a long text, a 12-digit value). A match covering a triple
    starts 2 bytes before the last ``>`` before it (its ``<v>``'s: the text has no ``>``), so
    each triple is tried there; one that fails leaves no match up to the next ``<``, as a match
    starting after the triple starts with a ``<`` after it. Matches cannot overlap (a text has
    no ``<``), so these are the regex's own. A sheet of many long numbers (:data:`_SPARSE`) is
    left to the regex: trying each triple costs more than its scan there."""
    arr = np.frombuffer(xml, np.uint8)
    n = len(arr) // 4 * 4
    chunks = []
    for s in range(0, n, _CHUNK):
        x = arr[s : min(s + _CHUNK + 8, n)]  # 8 more: the triples starting in this chunk
        ok = ((x - 43) < 15) | ((x | 32) == 101)  # + , - . / 0-9 (uint8 wraps below +), E e
        word = ok.view(np.uint32) == 0x01010101
        chunks.append(np.flatnonzero(word[:-2] & word[1:-1] & word[2:]) * 4 + s)
    triples = np.concatenate(chunks) if chunks else np.empty(0, np.int64)
    if len(triples) * _SPARSE > len(xml):  # many long numbers: the regex's scan costs less
        return _LONG_V.finditer(xml)
    found: list[re.Match] = []  # (a few: a sheet's many are the regex's iterator)
    done = 0  # no match starts before it (beyond those found)
    for at in triples.tolist():
        if at < done:
            continue
        gt = xml.rfind(b">", 0, at)
        m = _LONG_V.match(xml, gt - 2) if gt >= 2 else None
        if m is not None:
            found.append(m)
            done = m.end()
        else:
            done = xml.find(b"<", at)
            done = len(xml) if done < 0 else done
    return found


def _rounded(xml: bytes, start: int, text: bytes) -> bytes | None:
    """The number text rounded to 15 significant digits if the ``<v>`` at ``start`` is a number
    cell's (``t`` absent or ``"n"``) and needs it; None to keep the text as written."""
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


def round_numbers(xml: bytes) -> bytes:
    """The worksheet XML with every number cell's value rounded to 15 significant digits: the
    double nearest the 15-digit decimal :func:`canonical_number` gives, so the content hash is
    the one of the unrounded values. Excel shows and keeps 15 digits, so no reader sees a
    change; and such a value is within 0.111 unit of the 15th digit from its 15 digits (half an
    ulp), so at least 0.388 unit from any rounding midpoint: an application that writes 15
    digits not quite correctly rounded (LibreOffice errs by up to about 0.1 unit) still writes
    the same 15 digits when it re-saves the plan, and the content hash survives the re-save."""
    prefixed = _find(xml, b":v>", 0, 0, len(xml)) >= 0
    pieces: list[bytes | memoryview] = []
    view = memoryview(xml)
    at = 0
    for m in _LONG_V_ANY.finditer(xml) if prefixed else _long_values(xml):
        text = m.group(m.lastindex or 1)
        new = _rounded(xml, m.start(), text)
        if new is not None:
            start = m.start(m.lastindex or 1)
            pieces += [view[at:start] if start - at > _SMALL else xml[at:start], new]
            at = m.end(m.lastindex or 1)
    if not pieces:
        return xml
    pieces.append(view[at:])
    return b"".join(pieces)


def _shared(xml: bytes, strings: SharedStrings) -> bytes:
    """The sheet's inline-string cells as shared-string cells of ``strings``."""
    if _find(xml, b'"inlineStr"', 3, 0, len(xml)) < 0:  # (the l: memchr speed)
        return xml
    return share_sheet_strings(xml.decode("utf-8"), strings).encode("utf-8")


def _transform_worksheet(
    data: bytes,
    name: str,
    part: str,
    file: str,
    protection: dict[str, str],
    values: list[list[object]] | None,
    date1904: bool,
    fast: bool,
) -> _SheetResult:
    if fast and values is None:
        res = _fast_transform(data, protection)
        if res is not None:
            return res
    root = parse(data, part, file)
    formulas = 0
    missing: list[str] = []
    for f in list(root.iter(q("f"))):
        cell = f.getparent()
        if cell is None or cell.tag != q("c"):
            continue
        formulas += 1
        ref = cell.get("r", "")
        if values is not None:
            c, r = parse_cell(ref)
            row = values[r - 1] if r - 1 < len(values) else []
            value = row[c - 1] if c - 1 < len(row) else ""
            _set_value(cell, value, date1904)
            continue
        t = cell.get("t")
        v = cell.find(q("v"))
        cell.remove(f)
        if t == "str":
            if v is None:
                missing.append(ref)
                continue
            text = v.text or ""
            cell.remove(v)
            _set_inline(cell, text)
        elif t == "inlineStr":
            continue
        elif v is None or not (v.text or "").strip():
            missing.append(ref)
    # protection and editability
    for child in list(root):
        if not isinstance(child.tag, str):
            continue
        local = etree.QName(child).localname
        if (
            local in _REMOVE_IN_SHEET
            or local == "sheetProtection"
            or (
                local == "AlternateContent"
                and any(
                    isinstance(e.tag, str)
                    and etree.QName(e).localname in {"controls", "oleObjects"}
                    for e in child.iter()
                )
            )
        ):
            root.remove(child)
        elif local == "extLst":
            for ext in list(child):
                if ext.get("uri") == _X14_DATA_VALIDATIONS:
                    child.remove(ext)
    for view in root.iter(q("sheetView")):
        view.attrib.pop("tabSelected", None)
    _insert_after(root, etree.Element(q("sheetProtection"), protection), _SHEET_ORDER_AFTER)
    sheet_data = root.find(q("sheetData"))
    has_data = sheet_data is not None and any(True for c in sheet_data.iter(q("c")) if len(c))
    return _SheetResult(serialize(root), formulas, missing, has_data)


def transform_chartsheet(data: bytes, *, part: str, file: str, protection: dict[str, str]) -> bytes:
    root = parse(data, part, file)
    for child in list(root):
        if isinstance(child.tag, str) and etree.QName(child).localname == "sheetProtection":
            root.remove(child)
    for view in root.iter(q("sheetView")):
        view.attrib.pop("tabSelected", None)
    _insert_after(root, etree.Element(q("sheetProtection"), protection), ("sheetPr", "sheetViews"))
    return serialize(root)


# --- defined names -----------------------------------------------------------------------------
_FUNC = re.compile(r"[A-Za-z_][\w.]*\(")
_STRING = re.compile(r'"[^"]*"')


def _name_problem(text: str, dropped: set[str]) -> str | None:
    """Why a defined name must go, or None to keep it."""
    bare = _STRING.sub('""', text or "")
    if "[" in bare:
        return "points to another workbook"
    if "#REF!" in bare:
        return "points to #REF!"
    if _FUNC.search(bare):
        return "holds a formula"
    for sheet in dropped:
        if f"{sheet}!" in bare or f"'{sheet.replace(chr(39), chr(39) * 2)}'!" in bare:
            return f"points to removed sheet '{sheet}'"
    return None


# --- LibreOffice recalculation -----------------------------------------------------------------
_LO_ITEM = (
    '<item oor:path="/org.openoffice.Office.{path}">'
    '<prop oor:name="{name}" oor:op="fuse"><value>{value}</value></prop></item>'
)
#: A throw-away LibreOffice profile: always recalculate on load, never run macros.
_LO_PROFILE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    + _LO_ITEM.format(path="Calc/Formula/Load", name="OOXMLRecalcMode", value=0)
    + _LO_ITEM.format(path="Calc/Formula/Load", name="ODFRecalcMode", value=0)
    + _LO_ITEM.format(path="Common/Security/Scripting", name="MacroSecurityLevel", value=3)
    + _LO_ITEM.format(path="Common/Security/Scripting", name="DisableMacrosExecution", value="true")
    + "\n</oor:items>\n"
)


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def recalculate_with_libreoffice(xlsx: bytes, file: str, timeout: float = 600) -> tuple[bytes, str]:
    """Recalculate a COPY (``xlsx``: the package bytes, macro-free) headless; return the
    recalculated .xlsx bytes and the LibreOffice version."""
    soffice = soffice_path()
    if soffice is None:  # pragma: no cover - checked by the caller
        raise SopError("LibreOffice is not installed.")
    with tempfile.TemporaryDirectory(prefix="sop_xl_recalc_") as tmp:
        tmpdir = Path(tmp)
        profile = tmpdir / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_LO_PROFILE, "utf-8")
        src = tmpdir / "in" / "master.xlsx"
        src.parent.mkdir()
        src.write_bytes(xlsx)
        out = tmpdir / "out"
        cmd = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--nologo",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(out),
            str(src),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise SopError(
                f"LibreOffice did not finish recalculating within {timeout:.0f} s.",
                where=Location(file=file),
                fix="Open the master in Excel, save it (so formulas carry their values), "
                "and freeze again.",
            ) from None
        result = out / "master.xlsx"
        if not result.is_file():
            raise SopError(
                "LibreOffice could not recalculate the workbook "
                f"({proc.stderr.decode(errors='replace').strip()[:300]}).",
                where=Location(file=file),
                fix="Open the master in Excel, save it, and freeze again.",
            )
        version = subprocess.run(
            [soffice, f"-env:UserInstallation={profile.as_uri()}", "--version"],
            capture_output=True,
            timeout=120,
            check=False,
        ).stdout.decode(errors="replace")
        m = re.search(r"LibreOffice\s+([\d.]+)", version)
        return result.read_bytes(), f"LibreOffice {m.group(1)}" if m else "LibreOffice"


def _recalculated_values(xlsx: bytes, file: str) -> dict[str, list[list[object]]]:
    """Every sheet's values in LibreOffice's recalculated copy of ``file``; a copy calamine
    cannot read (its errors, or a Rust panic) is a located error, not a traceback."""
    try:
        return dict(workbook_values(xlsx))
    except BaseException as exc:  # calamine's errors; a Rust panic is a BaseException
        if not reading_failure(exc):
            raise
        raise SopError(
            f"LibreOffice's recalculated copy cannot be read ({failure_text(exc)}).",
            where=Location(file=file),
            fix="Open the master in Excel, save it (Excel stores every formula's value), and "
            "freeze again.",
        ) from None


# --- the transformation ------------------------------------------------------------------------
def freeze_package(
    data: bytes,
    *,
    file: str,
    password: PasswordHash | None,
    recalc: bool = True,
    hidden_sheets: str = "unhide",
    progress: Progress | None = None,
    helper: hash_helper.Helper | None = None,
) -> FrozenPackage:
    """Transform the master's bytes into a frozen package (no cover yet). ``helper``: a second
    process that freezes sheets meanwhile, each side the next one nobody took (the package is
    the same)."""
    try:
        return _freeze_parts(
            Package(data, name=file), file, password, None, hidden_sheets, progress, helper
        )
    except MissingCachedValues as exc:
        if soffice_path() is None:
            raise
        if not recalc:
            raise MissingCachedValues(
                exc.message,
                where=exc.where,
                fix="Open the master in Excel and save it (Excel stores every formula's value), "
                "or freeze with recalculation on (LibreOffice is installed here).",
            ) from None
    if progress:
        progress("Recalculating a copy with LibreOffice (formulas have no saved values)", None)
    clean = Package(data, name=file)
    for name in [n for n in clean.names() if n.lower().endswith(".bin") and "vba" in n.lower()]:
        clean.delete(name)
    xlsx, version = recalculate_with_libreoffice(clean.to_bytes(), file)
    values = _recalculated_values(xlsx, file)
    pkg = _freeze_parts(Package(data, name=file), file, password, values, hidden_sheets, progress)
    pkg.recalculated = version
    return pkg


def _transform_ahead(
    pkg: Package,
    worksheets: list[tuple[str, str]],
    file: str,
    protection: dict[str, str],
    date1904: bool,
    helper: hash_helper.Helper,
    progress: Progress | None,
) -> dict[str, _SheetResult]:
    """:func:`transform_values` of the ``worksheets`` (name, part), shared with ``helper``
    (:mod:`sop_xl.plan.hash_helper`) when they are large enough: both walk them largest first
    and each freezes the ones it takes (:class:`sop_xl.io.spawn.Claims`), so both end about
    together; {} when the helper takes no part. A sheet nobody answered for is left to the
    caller."""
    sizes = [pkg.size(part) for _, part in worksheets]
    if not hash_helper.worth_sharing(sizes, ready=helper.ready):
        return {}
    order = [worksheets[i] for i in sorted(range(len(sizes)), key=lambda i: -sizes[i])]
    claims = spawn.Claims.create()
    try:
        parts = [part for _, part in order]
        if claims is None or not helper.transform(
            pkg.source, parts, claims, protection=protection, date1904=date1904
        ):
            return {}
        done: dict[str, _SheetResult] = {}
        for i, (name, part) in enumerate(order):
            if claims.take(i, unsure=True):
                if progress:
                    progress(f"Freezing sheet {name}", 0.1 + 0.5 * len(done) / len(order))
                done[part] = transform_values(
                    pkg.read(part), name=name, part=part, file=file, protection=protection,
                    values=None, date1904=date1904,
                )  # fmt: skip
        if progress:
            progress("Freezing the sheets of the second process", 0.6)
        for part, frozen in helper.transformed().items():
            done.setdefault(part, _SheetResult(*frozen))
        return done
    finally:
        if claims is not None:
            claims.close()


def _lead_first(sheets_el, kept: list, old_index: dict[int, int]) -> tuple[list, dict[int, int]]:
    """Move the LEAD_SHEETS right after the Cover (sheet order and sheet-local names follow)."""
    lead = [k for name in LEAD_SHEETS for k, (_, info) in enumerate(kept) if info.name == name]
    if not lead:
        return kept, old_index
    order = lead + [k for k in range(len(kept)) if k not in lead]
    new_pos = {k: n + 1 for n, k in enumerate(order)}  # +1: the cover goes first
    for k in order:  # re-append in the new order (sheets_el holds only kept sheets)
        sheets_el.remove(kept[k][0])
        sheets_el.append(kept[k][0])
    return [kept[k] for k in order], {i: new_pos[pos - 1] for i, pos in old_index.items()}


def _freeze_parts(
    pkg: Package,
    file: str,
    password: PasswordHash | None,
    values: dict[str, list[list[object]]] | None,
    hidden_sheets: str,
    progress: Progress | None,
    helper: hash_helper.Helper | None = None,
) -> FrozenPackage:
    removed: list[str] = []
    if not pkg.exists(CONTENT_TYPES):
        raise InputFileError(
            "this is not an Excel workbook (no content types part).",
            where=Location(file=file),
            fix="Freeze the .xlsx/.xlsm master workbook itself.",
        )
    wb_part = None
    for rel in pkg.rels(""):
        if rel.type == REL_OFFICE_DOC:
            wb_part = rel.part
    if not wb_part or not pkg.exists(wb_part):
        raise InputFileError(
            "this is not an Excel workbook (no workbook part).",
            where=Location(file=file),
            fix="Freeze the .xlsx/.xlsm master workbook itself.",
        )
    drop_rels(pkg, "", removed)
    wb = parse(pkg.read(wb_part), wb_part, file)
    drop_rels(pkg, wb_part, removed)
    wb_rels = {r.id: r for r in pkg.rels(wb_part)}
    gone_rels: set[str] = set()
    strings = SharedStrings(pkg, wb_part)
    wb_pr = wb.find(q("workbookPr"))
    date1904 = wb_pr is not None and wb_pr.get("date1904") in ("1", "true")

    # sheets: decide what stays
    sheets_el = wb.find(q("sheets"))
    sheet_els = list(sheets_el) if sheets_el is not None else []
    kept: list[tuple[etree._Element, SheetInfo]] = []
    dropped: dict[str, str] = {}
    old_index: dict[int, int] = {}
    sheet_prot = sheet_protection_attrs(password)
    chart_prot = sheet_protection_attrs(password, chartsheet=True)
    missing: list[tuple[str, str]] = []
    formulas = 0
    unhidden: list[str] = []
    n_sheets = max(len(sheet_els), 1)
    ahead: dict[str, _SheetResult] = {}
    if helper is not None and values is None:
        worksheets = [
            (el.get("name", ""), rel.part)
            for el in sheet_els
            if (rel := wb_rels.get(el.get(q("id", NS_R), ""))) is not None
            and rel.type == REL_WORKSHEET
            and el.get("name", "") not in PLUMBING_SHEETS
            and pkg.exists(rel.part)
        ]
        ahead = _transform_ahead(pkg, worksheets, file, sheet_prot, date1904, helper, progress)
    for i, el in enumerate(sheet_els):
        name = el.get("name", "")
        rel = wb_rels.get(el.get(q("id", NS_R), ""))
        rtype = rel.type if rel is not None else ""
        part = rel.part if rel is not None else None
        state = el.get("state", "visible")
        reason = None
        if rtype in REL_MACROSHEETS:
            reason = "macro or dialog sheet"
            if "macro sheets (Excel 4 macros)" not in removed:
                removed.append("macro sheets (Excel 4 macros)")
        elif name in PLUMBING_SHEETS:
            reason = "add-in configuration"
        elif part is None or not pkg.exists(part):
            reason = "sheet part missing"
        if reason is None and rtype == REL_WORKSHEET:
            if progress and part not in ahead:
                progress(f"Freezing sheet {name}", 0.1 + 0.6 * i / n_sheets)
            sheet_values = None
            if values is not None:
                if name not in values:
                    raise SopError(
                        "LibreOffice's recalculated copy has no sheet of this name.",
                        where=Location(file=file, sheet=name),
                        fix="Open the master in Excel, save it, and freeze again.",
                    )
                sheet_values = values[name]
            res = ahead.pop(part, None) or transform_values(
                pkg.read(part),
                name=name,
                part=part,
                file=file,
                protection=sheet_prot,
                values=sheet_values,
                date1904=date1904,
            )
            res.data = _shared(res.data, strings)  # in sheet order, as in one process
            formulas += res.formulas
            missing.extend((name, ref) for ref in res.missing)
            if state != "visible":
                if not res.has_data:
                    reason = f"{state} and empty"
                elif hidden_sheets == "drop":
                    reason = f"{state}"
                else:
                    unhidden.append(name)
            pkg.write(part, res.data)
            info = SheetInfo(name, part, "worksheet")
        elif reason is None and rtype == REL_CHARTSHEET:
            pkg.write(
                part,
                transform_chartsheet(pkg.read(part), part=part, file=file, protection=chart_prot),
            )
            if state != "visible":
                unhidden.append(name)
            info = SheetInfo(name, part, "chartsheet")
        elif reason is None:
            reason = "unknown sheet type"
        if reason is not None:
            dropped[name] = reason
            sheets_el.remove(el)
            if rel is not None:
                gone_rels.add(rel.id)
            continue
        el.attrib.pop("state", None)
        old_index[i] = len(kept) + 1  # +1: the cover goes first
        kept.append((el, info))
    if missing:
        shown = ", ".join(f"'{s}'!{r}" for s, r in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        first_sheet, first_ref = missing[0]
        raise MissingCachedValues(
            f"{len(missing)} formula cell(s) have no saved (cached) value: {shown}{more}. "
            "The workbook was written by a program and never opened in a spreadsheet "
            "application, so freezing would write empty cells.",
            where=Location(file=file, sheet=first_sheet, cell=first_ref),
            fix="Open the master in Excel and save it (Excel stores every formula's value), "
            "or install LibreOffice so sop-xl can recalculate a copy, then freeze again.",
        )
    if not kept:
        raise SopError(
            "the workbook has no sheet to freeze.", where=Location(file=file), fix="Check the file."
        )
    kept, old_index = _lead_first(sheets_el, kept, old_index)

    # defined names
    dropped_names: list[str] = []
    names_el = wb.find(q("definedNames"))
    if names_el is not None:
        for dn in list(names_el):
            nm = dn.get("name", "")
            why = None
            local = dn.get("localSheetId")
            if local is not None:
                if not local.isdigit() or int(local) not in old_index:
                    why = "belonged to a removed sheet"
                else:
                    dn.set("localSheetId", str(old_index[int(local)]))
            why = why or _name_problem(dn.text or "", set(dropped))
            if why:
                names_el.remove(dn)
                dropped_names.append(f"{nm} ({why})")
        if len(names_el) == 0:
            wb.remove(names_el)

    # workbook-level elements
    for child in list(wb):
        if not isinstance(child.tag, str):
            continue
        local = etree.QName(child).localname
        if local in {"externalReferences", "fileSharing", "workbookProtection"}:
            wb.remove(child)
        elif local == "AlternateContent" and any(
            isinstance(e.tag, str) and etree.QName(e).localname == "absPath" for e in child.iter()
        ):
            wb.remove(child)  # the master's folder path: not the reader's business
    for calc_pr in wb.iter(q("calcPr")):
        calc_pr.attrib.pop("fullCalcOnLoad", None)  # nothing to calculate any more
        calc_pr.set("calcId", str(CALC_ID))  # a current engine: Excel does not recalculate
    for view in wb.iter(q("workbookView")):
        view.set("activeTab", "0")
        view.set("firstSheet", "0")
        view.attrib.pop("visibility", None)
    file_sharing = etree.Element(q("fileSharing"), readOnlyRecommended="1")
    _insert_after(wb, file_sharing, ("fileVersion",))
    wb_prot = etree.Element(q("workbookProtection"), workbook_protection_attrs(password))
    _insert_after(wb, wb_prot, ("fileVersion", "fileSharing", "workbookPr"))

    # tables: drop calculated-column formulas (values stay in the cells)
    for part in pkg.names():
        if part.startswith("xl/tables/") and part.endswith(".xml"):
            table = pkg.read(part)
            stripped = _strip_table_formulas(table, part, file)
            if stripped is not table:
                pkg.write(part, stripped)
        elif part.startswith("xl/pivotCache/pivotCacheDefinition") and part.endswith(".xml"):
            root = parse(pkg.read(part), part, file)  # a frozen pivot never refreshes itself
            if root.attrib.pop("refreshOnLoad", None) is not None:
                pkg.write(part, serialize(root))

    # styles: every cell style locked
    styles_part = _styles_part(pkg, wb_part)
    if styles_part:
        pkg.write(styles_part, _lock_styles(pkg.read(styles_part), styles_part, file))

    # per-sheet relationships: drop controls, OLE objects, query tables
    for _, info in kept:
        drop_rels(pkg, info.part, removed)

    # content types: plain xlsx
    for main in sorted(CT_MAIN_OTHERS):
        if (
            pkg.replace_content_type(main, CT_MAIN_XLSX)
            and "macro-enabled file type (.xlsm)" not in removed
        ):
            removed.append("macro-enabled file type (.xlsm)")
    pkg.remove_default(CT_VBA)

    pkg.write(wb_part, serialize(wb))
    pkg.remove_rels(wb_part, gone_rels)
    strings.finish()
    pkg.prune()
    return FrozenPackage(
        package=pkg,
        sheets=[info for _, info in kept],
        workbook_part=wb_part,
        unhidden=unhidden,
        dropped_sheets=[f"{n} ({why})" for n, why in dropped.items()],
        dropped_names=dropped_names,
        removed=removed,
        formulas=formulas,
        date1904=date1904,
    )


def _strip_table_formulas(data: bytes, part: str, file: str) -> bytes:
    if b"Formula" not in data and b"totalsRowFunction" not in data:
        return data
    root = parse(data, part, file)
    for tag in ("calculatedColumnFormula", "totalsRowFormula"):
        for el in list(root.iter(q(tag))):
            el.getparent().remove(el)
    for el in root.iter(q("tableColumn")):
        el.attrib.pop("totalsRowFunction", None)
    return serialize(root)


def _lock_styles(data: bytes, part: str, file: str) -> bytes:
    root = parse(data, part, file)
    xfs = root.find(q("cellXfs"))
    if xfs is not None:
        for xf in xfs:
            prot = xf.find(q("protection"))
            if prot is not None and prot.get("locked") in ("0", "false"):
                prot.attrib.pop("locked")
    return serialize(root)


def _styles_part(pkg: Package, wb_part: str) -> str | None:
    for rel in pkg.rels(wb_part):
        if rel.type == NS_R + "/styles" and rel.part and pkg.exists(rel.part):
            return rel.part
    return None


# --- cover sheet, properties -------------------------------------------------------------------
def _cell_xml(ref: str, value: str, style: int) -> str:
    s = f' s="{style}"' if style else ""
    space = ' xml:space="preserve"' if value != value.strip() or "\n" in value else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{escape(value)}</t></is></c>'


def add_cover_styles(pkg: Package, wb_part: str, file: str) -> tuple[int, int, int]:
    """Append a title font, a bold font and a wrap style; return their cellXfs indices."""
    styles = _styles_part(pkg, wb_part)
    if not styles:
        return 0, 0, 0
    root = parse(pkg.read(styles), styles, file)
    fonts, xfs = root.find(q("fonts")), root.find(q("cellXfs"))
    if fonts is None or xfs is None:
        return 0, 0, 0
    title_font = len(fonts)
    fonts.append(
        etree.fromstring(
            f'<font xmlns="{NS}"><b/><sz val="16"/><color rgb="FF1F4E79"/>'
            '<name val="Calibri"/></font>'
        )
    )
    bold_font = len(fonts)
    fonts.append(
        etree.fromstring(f'<font xmlns="{NS}"><b/><sz val="11"/><name val="Calibri"/></font>')
    )
    fonts.set("count", str(len(fonts)))
    first = len(xfs)
    for font, wrap in ((title_font, False), (bold_font, False), (0, True)):
        xf = etree.SubElement(
            xfs, q("xf"), numFmtId="0", fontId=str(font), fillId="0", borderId="0", xfId="0"
        )
        if font:
            xf.set("applyFont", "1")
        xf.set("applyAlignment", "1")
        etree.SubElement(xf, q("alignment"), vertical="top", wrapText="1" if wrap else "0")
    xfs.set("count", str(len(xfs)))
    pkg.write(styles, serialize(root))
    return first, first + 1, first + 2


def cover_sheet_xml(
    title: str,
    rows: list[tuple[str, str]],
    note: str,
    protection: dict[str, str],
    styles: tuple[int, int, int],
) -> bytes:
    """The Cover worksheet: a title, a note, then label / value rows (inline text, which
    :func:`add_cover` moves to the shared strings)."""
    s_title, s_bold, s_wrap = styles
    xml_rows = [
        f'<row r="1" ht="24" customHeight="1">{_cell_xml("A1", title, s_title)}</row>',
        f'<row r="2" ht="64" customHeight="1">{_cell_xml("A2", note, s_wrap)}</row>',
    ]
    for i, (label, value) in enumerate(rows, start=4):
        lines = max(1, -(-len(value) // 95))  # column B is 100 wide: ~95 characters a line
        height = f' ht="{15 * lines}" customHeight="1"' if lines > 1 else ""
        xml_rows.append(
            f'<row r="{i}"{height}>{_cell_xml(f"A{i}", label, s_bold)}'
            f"{_cell_xml(f'B{i}', value, s_wrap)}</row>"
        )
    last = 3 + len(rows)
    prot = " ".join(f"{k}={quoteattr(v)}" for k, v in protection.items())
    xml = (
        f'<worksheet xmlns="{NS}" xmlns:r="{NS_R}">'
        '<sheetPr><tabColor rgb="FF1F4E79"/><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:B{last}"/>'
        '<sheetViews><sheetView showGridLines="0" tabSelected="1" workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        '<cols><col min="1" max="1" width="30" customWidth="1"/>'
        '<col min="2" max="2" width="100" customWidth="1"/></cols>'
        f"<sheetData>{''.join(xml_rows)}</sheetData>"
        f"<sheetProtection {prot}/>"
        '<mergeCells count="1"><mergeCell ref="A2:B2"/></mergeCells>'
        '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
        "</worksheet>"
    )
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml.encode("utf-8")


def add_cover(
    frozen: FrozenPackage,
    cover_name: str,
    cover_xml: bytes,
    file: str,
) -> None:
    """Insert the cover sheet first (part, relationship, content type, <sheet>)."""
    pkg = frozen.package
    part = "xl/worksheets/sopCover.xml"
    if pkg.exists(part):
        part = pkg.fresh_name("xl/worksheets/sopCover{}.xml")
    strings = SharedStrings(pkg, frozen.workbook_part)  # the cover's texts: shared, as all
    pkg.write(part, _shared(cover_xml, strings))
    strings.finish()
    rid = pkg.add_rel(frozen.workbook_part, REL_WORKSHEET, part)
    wb = parse(pkg.read(frozen.workbook_part), frozen.workbook_part, file)
    sheets = wb.find(q("sheets"))
    ids = [int(s.get("sheetId", "0")) for s in sheets]
    el = etree.Element(q("sheet"), name=cover_name, sheetId=str(max(ids, default=0) + 1))
    el.set(q("id", NS_R), rid)
    sheets.insert(0, el)
    pkg.write(frozen.workbook_part, serialize(wb))
    pkg.set_override(part, CT_WORKSHEET)


def set_properties(
    pkg: Package, props: dict[str, str], *, title: str, author: str, when: str, file: str
) -> None:
    """Mark final (custom ``_MarkAsFinal`` + core ``contentStatus``) and record snapshot facts."""
    custom_part = "docProps/custom.xml"
    for rel in pkg.rels(""):
        if rel.type == REL_CUSTOM_PROPS:
            custom_part = rel.part or custom_part
            break
    else:
        pkg.add_rel("", REL_CUSTOM_PROPS, custom_part)
    entries = {"_MarkAsFinal": ("bool", "true"), **{k: ("lpwstr", v) for k, v in props.items()}}
    if pkg.exists(custom_part):
        root = parse(pkg.read(custom_part), custom_part, file)
    else:
        root = etree.fromstring(f'<Properties xmlns="{NS_CUSTOM}" xmlns:vt="{NS_VT}"/>'.encode())
    for prop in list(root):
        if prop.get("name") in entries:
            root.remove(prop)
    pid = max([int(p.get("pid", "1")) for p in root] + [1])
    for name, (kind, value) in entries.items():
        pid += 1
        prop = etree.SubElement(
            root, q("property", NS_CUSTOM), fmtid=FMTID, pid=str(pid), name=name
        )
        etree.SubElement(prop, q(kind, NS_VT)).text = value
    pkg.write(custom_part, serialize(root))
    pkg.set_override(custom_part, CT_CUSTOM_PROPS)
    _set_core(pkg, title=title, author=author, when=when, file=file)
    app = "docProps/app.xml"
    if pkg.exists(app):  # sheet list there is stale now; Excel rebuilds it
        root = parse(pkg.read(app), app, file)
        for tag in ("HeadingPairs", "TitlesOfParts"):
            for el in list(root.iter(q(tag, NS_EP))):
                el.getparent().remove(el)
        pkg.write(app, serialize(root))


def _set_core(pkg: Package, *, title: str, author: str, when: str, file: str) -> None:
    core = "docProps/core.xml"
    dc, dcterms = "http://purl.org/dc/elements/1.1/", "http://purl.org/dc/terms/"
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    if not pkg.exists(core):
        return
    root = parse(pkg.read(core), core, file)

    def put(tag: str, ns: str, text: str, w3cdtf: bool = False) -> None:
        el = root.find(q(tag, ns))
        if el is None:
            el = etree.SubElement(root, q(tag, ns))
        el.text = text
        if w3cdtf:
            el.set(q("type", xsi), "dcterms:W3CDTF")

    put("contentStatus", NS_CP, "Final")
    put("title", dc, title)
    put("lastModifiedBy", NS_CP, author)
    if root.nsmap.get("dcterms") == dcterms and root.nsmap.get("xsi") == xsi:
        put("modified", dcterms, when, True)
    pkg.write(core, serialize(root))
