"""One reusable checker for every file sop_xl writes (issue 20): would Excel open it unrepaired?

``check_file(path)`` returns a list of findings (empty = clean) from two independent checks:

1. ``audit_findings``: the ``openxml-audit`` validator (a pure-Python port of Microsoft's Open XML
   SDK validator: schema, package and semantic rules). It needs minutes for the demo master's
   50 MB of sheet XML, so it sees a temporary copy whose big worksheets keep a sample of their
   rows: the first ``FIRST_ROWS`` rows plus the first row of every row *shape*
   (:func:`row_shapes`: the row's attributes and, per cell, its column, style, type and
   whether it holds a formula, an inline string or a value; only values and row numbers are
   left out). Every kind of row the sheet holds is validated, however deep it sits; the
   validator's rules on a cell depend on those things, not on the value.
2. ``structure_findings``: what the validator does not cover and Excel repairs silently or
   with a prompt: content types for every part, relationship targets that exist and unique ids,
   unique sheet names and ids, defined names, tables (unique ids and names; ``ref``,
   ``autoFilter``, column count and header cells consistent), style counts and every cell's
   style index, row and cell order, ``codeName`` on every sheet of a macro workbook, and no
   forced full recalculation in a workbook without formulas, and no inline strings (Excel
   moves them to the shared strings on its first save: it then asks to save a file nobody
   changed). Every cell of every sheet is read.

``check_file(path, seen)``: ``seen`` is a set the caller keeps across files that share most
worksheets (the master after each step of the cycle): a worksheet already checked (same part
name, CRC-32 and size in the zip directory) keeps only its first rows in the audit, and with
its table parts unchanged too its cells and tables are not read again (its code name is);
content types, relationships, names, styles and table ids are checked in every file.

``ALLOWED`` lists findings we accept on purpose in named files, each with its reason.
"""

from __future__ import annotations

import fnmatch
import functools
import io
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from sop_xl.io.xlsx.tables import table_problems

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PR = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
AUDIT_ROWS = 300  # load_trimmed: the first rows of big sheets for openpyxl
FIRST_ROWS = 20  # audit sample: the first rows of a big sheet, besides one row per shape
BIG_SHEET = 100_000  # bytes of worksheet XML from which the audit samples rows

#: (finding pattern, file name glob, reason) of findings accepted on purpose.
ALLOWED: list[tuple[str, str, str]] = []  # (finding pattern, file glob, reason): none today


def _allowed(text: str, path: Path) -> bool:
    return any(re.search(p, text) and fnmatch.fnmatch(Path(path).name, g) for p, g, _ in ALLOWED)


def _sheet_parts(zi: zipfile.ZipFile, names: Iterable[str]) -> set[str]:
    """The worksheet parts of the sheets called ``names``."""
    wanted = set(names)
    if not wanted:
        return set()
    wb = etree.fromstring(zi.read("xl/workbook.xml"))
    rels = {r[0]: r[2] for r in _rels(zi, "xl/workbook.xml")}
    return {
        rels[s.get(f"{{{NS_R}}}id")] for s in wb.iter(f"{{{NS}}}sheet") if s.get("name") in wanted
    }


_ROW_SPLIT = re.compile(rb"<row(?=[\s>/])")
#: What a row's shape leaves out: text (values, strings, formula text), the row number in every
#: ``r`` (the column letters stay), and a shared formula's group and range.
_SHAPE_SUBS = (
    (re.compile(rb">[^<]+<"), b"><"),
    (re.compile(rb'( r="[A-Z]*)\d+"'), rb'\1"'),
    (re.compile(rb' (ref|si)="[^"]*"'), rb' \1=""'),
)


def row_shapes(sheet_data: bytes) -> list[bytes]:
    """The shape of each ``<row>`` of a ``<sheetData>`` body, in order: the row's XML without
    its values, texts and row number, so two rows have one shape when they carry the same row
    attributes and the same cells in the same columns, each with the same style (``s``), type
    (``t``: number, shared or inline string, boolean, error...) and formula kind. Three C-level
    substitutions over the whole sheet, no Python step per cell."""
    for pattern, repl in _SHAPE_SUBS:
        sheet_data = pattern.sub(repl, sheet_data)
    return _ROW_SPLIT.split(sheet_data)[1:]


def sample_rows(sheet_data: bytes, first: int = FIRST_ROWS) -> tuple[bytes, int, int]:
    """(the ``<sheetData>`` body with only its first ``first`` rows and the first row of each
    shape, in sheet order; rows kept; rows in all)."""
    rows = _ROW_SPLIT.split(sheet_data)
    head, rows = rows[0], rows[1:]
    if len(rows) <= first:
        return sheet_data, len(rows), len(rows)
    firsts: dict[bytes, int] = {}
    for i, shape in enumerate(row_shapes(sheet_data)):
        firsts.setdefault(shape, i)
    idx = sorted(set(range(first)) | set(firsts.values()))
    return head + b"".join(b"<row" + rows[i] for i in idx), len(idx), len(rows)


def _sheet_data(data: bytes) -> tuple[int, int] | None:
    a, b = data.find(b"<sheetData>"), data.find(b"</sheetData>")
    return (a + len(b"<sheetData>"), b) if a >= 0 and b > a else None


def _trimmed_copy(
    path: Path,
    rows: int | None = AUDIT_ROWS,
    keep: Iterable[str] = (),
    seen: Seen | None = None,
) -> bytes:
    """The package with every big worksheet cut, except the sheets named in ``keep``: to its
    first ``rows`` rows, or with ``rows=None`` to the audit sample (:func:`sample_rows`; a
    sheet in ``seen`` keeps only its first rows). See the module docstring."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as zi, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zo:
        whole = _sheet_parts(zi, keep)
        for info in zi.infolist():
            data = zi.read(info)
            big = info.filename.startswith("xl/worksheets/") and len(data) > BIG_SHEET
            span = _sheet_data(data) if big and info.filename not in whole else None
            if span:
                a, b = span
                if rows is None and (seen is None or _key(info) not in seen):
                    body = sample_rows(data[a:b])[0]
                else:  # the first rows only
                    m, at = rows or FIRST_ROWS, a
                    for _ in range(m + 1):  # the start of row m + 1, if any
                        hit = _ROW_SPLIT.search(data, at, b)
                        at = hit.end() if hit else b
                    body = data[a : hit.start()] if hit else data[a:b]
                # merged cells, validations etc. may point below the cut: still valid
                data = data[:a] + body + data[b:]
            zo.writestr(info, data)
    return out.getvalue()


#: A worksheet or table part's identity (:func:`_key`) -> whether it holds formulas.
Seen = dict[tuple[str, int, int], bool]


def _key(info: zipfile.ZipInfo) -> tuple[str, int, int]:
    """A worksheet part's identity across files: name, CRC-32 and size (from the zip directory,
    nothing decompressed)."""
    return info.filename, info.CRC, info.file_size


def load_trimmed(
    path: Path, keep: Iterable[str] = (), rows: int = AUDIT_ROWS, **kwargs: Any
) -> Any:
    """openpyxl's workbook of ``path`` with the big sheets not in ``keep`` cut to their first
    ``rows`` rows (1 for a test that reads only the sheets it keeps). For tests that assert
    sheet names, protection, tables, charts or formats of the demo's 10 MB workbooks: a full
    openpyxl load takes 30-60 s; every cell of every sheet is still read by
    ``structure_findings`` (test_fidelity) and by calamine."""
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(_trimmed_copy(Path(path), rows, keep=keep)), **kwargs)


class _SiblingPositions:
    """A drop-in for ``openxml_audit.context._sibling_position`` (0.8.0): the 1-based position
    of an element among its parent's children of the same tag, used only to word a finding's
    path. The original walks the siblings from the first for every element, so a part with n
    children costs n²/2 steps: the demo master's 28,000 shared strings took 27 of the
    validator's 41 s. This one numbers a parent's children once (same results)."""

    def __init__(self) -> None:
        self.cache: dict[int, tuple[Any, dict[Any, int]]] = {}

    def __call__(self, element: Any) -> int:
        parent = element.getparent()
        if parent is None:
            return 1
        hit = self.cache.get(id(parent))
        if hit is None or hit[0] is not parent:  # the parent is kept alive: ids stay unique
            counts: dict[Any, int] = {}
            pos = {}
            for child in parent.iterchildren():
                counts[child.tag] = pos[child] = counts.get(child.tag, 0) + 1
            hit = self.cache[id(parent)] = (parent, pos)
        return hit[1][element]


def audit_findings(path: Path, seen: Seen | None = None) -> list[str]:
    """openxml-audit findings (schema, package, semantic) on the audit sample (see the module
    docstring), the ALLOWED ones left out."""
    from openxml_audit import OpenXmlValidator, context

    original = context._sibling_position
    context._sibling_position = _SiblingPositions()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / Path(path).name
            copy.write_bytes(_trimmed_copy(Path(path), rows=None, seen=seen))
            result = OpenXmlValidator(max_errors=200).validate(str(copy))
    finally:
        context._sibling_position = original
    return [f"audit: {e}" for e in result.errors if not _allowed(str(e), path)]


# --- structure ---------------------------------------------------------------------------------
def _rels(zf: zipfile.ZipFile, part: str) -> list[tuple[str, str, str, str]]:
    """(id, type, resolved target, mode) of a part's relationships."""
    d, base = posixpath.split(part)
    name = posixpath.join(d, "_rels", base + ".rels")
    if name not in zf.namelist():
        return []
    root = etree.fromstring(zf.read(name))
    out = []
    for r in root.iter(f"{{{NS_PR}}}Relationship"):
        tgt, mode = r.get("Target", ""), r.get("TargetMode", "Internal")
        if mode == "Internal":
            tgt = (
                tgt.lstrip("/")
                if tgt.startswith("/")
                else posixpath.normpath(posixpath.join(d, tgt))
            )
        out.append((r.get("Id", ""), r.get("Type", ""), tgt, mode))
    return out


_COLS: dict[str, int] = {}


def _col(ref: str) -> tuple[int, int]:
    """(row, column) of a cell reference such as ``AB12``; two million calls on the demo master,
    so the column letters are looked up in a cache."""
    letters = ref.rstrip("0123456789")
    digits = ref[len(letters) :]
    assert letters.isalpha() and letters.isupper() and digits.isdigit(), ref
    n = _COLS.get(letters)
    if n is None:
        n = 0
        for ch in letters:
            n = n * 26 + ord(ch) - 64
        _COLS[letters] = n
    return int(digits), n


def _cell_text(c: etree._Element, sst: list[str]) -> str:
    t = c.get("t")
    if t == "inlineStr":
        return "".join(c.itertext())
    v = c.find(f"{{{NS}}}v")
    if v is None or v.text is None:
        return ""
    return sst[int(v.text)] if t == "s" else v.text


#: A row or cell start tag, with its r (letters, digits) and s attributes in any order.
_CELL_TAG = re.compile(rb'<(row|c)\b(?=[^>]*?\sr="([A-Z]*)(\d+)")?(?=[^>]*?\ss="(\d+)")?')


#: The ``r`` of every row and cell start tag: digits for a row, letters and digits for a cell.
_TAG_REF = re.compile(rb'<(?:row|c)\b[^>]*?\sr="([A-Z]*\d+)"')


def _cells_in_order(xml: bytes, a: int, b: int, n_xfs: int | None) -> bool:
    """True when every row and cell between ``a`` and ``b`` has an ``r``, rows ascend, each
    cell is in its row and cells ascend within it, and every style index is below ``n_xfs``:
    the checks of ``_cell_order_findings`` as one C-level regex scan and a few numpy passes over
    the references (no Python object per cell). False means "look closer", not "wrong": the
    caller then walks the tags one by one and says what is wrong where."""
    refs = _TAG_REF.findall(xml, a, b)
    n_tags = sum(xml.count(t, a, b) for t in (b"<row ", b"<row>", b"<c ", b"<c>", b"<c/>"))
    if n_tags != len(refs):  # a row or cell without r: the slow path infers its position
        return False
    if not refs:
        return True
    arr = np.array(refs)
    mat = arr.view(np.uint8).reshape(len(refs), arr.dtype.itemsize)
    num = np.zeros(len(refs), dtype=np.int64)  # row number (Horner over the digit bytes)
    col = np.zeros(len(refs), dtype=np.int64)  # column number (base 26 over the letters)
    for j in range(mat.shape[1]):
        ch = mat[:, j].astype(np.int64)
        num = np.where((ch >= 48) & (ch <= 57), num * 10 + ch - 48, num)
        col = np.where(ch >= 65, col * 26 + ch - 64, col)
    is_row = col == 0
    if not is_row[0]:
        return False
    rows = num[is_row]
    if (np.diff(rows) <= 0).any():
        return False
    row_of = (np.cumsum(is_row) - 1)[~is_row]  # the row each cell is in
    if (num[~is_row] != rows[row_of]).any():
        return False
    if ((np.diff(col[~is_row]) <= 0) & (row_of[1:] == row_of[:-1])).any():
        return False
    if n_xfs is None:
        return True
    if xml.count(b's="', a, b) != xml.count(b' s="', a, b):  # s= after a tab or newline
        return False
    return _at_least(n_xfs).search(xml, a, b) is None


@functools.cache
def _at_least(n: int) -> re.Pattern[bytes]:
    """A style index (of a cell, or of a row: both must be below the cellXfs count) that is
    ``n`` or more: one search with a literal prefix, no list of every index."""
    d = str(n)
    alts = [rf"[1-9]\d{{{len(d)},}}", d]  # more digits; n itself
    for i, ch in enumerate(d):
        if ch != "9":  # same length, the first i digits as n's, then a bigger digit
            alts.append(rf"{d[:i]}[{int(ch) + 1}-9]\d{{{len(d) - i - 1}}}")
    return re.compile(rb' s="(?:' + "|".join(alts).encode() + rb')"')


def _cell_order_findings(xml: bytes, where: str, n_xfs: int | None) -> list[str]:
    """Rows ascending, cells ascending within their row, style indexes below ``n_xfs``: every
    cell of the sheet, read from the text (the demo master has two million cells; an element
    tree walk takes 20 s). The same checks as ``_cell_order_findings_tree``; a sheet that
    ``_cells_in_order`` proves clean is not walked tag by tag."""
    out: list[str] = []
    a, b = xml.find(b"<sheetData"), xml.find(b"</sheetData>")
    if a < 0 or b < 0:
        return out
    if _cells_in_order(xml, a, b, n_xfs):
        return out
    r = prev_row = prev_col = 0
    cols = _COLS
    for m in _CELL_TAG.finditer(xml, a, b):
        tag, letters, digits, style = m.groups()
        if tag == b"row":
            r = int(digits) if digits else prev_row + 1
            if r <= prev_row:
                out.append(f"{where}: row {r} after row {prev_row}")
            prev_row, prev_col = r, 0
            continue
        if digits:
            key = letters.decode()
            cc = cols.get(key) or _col(key + "1")[1]
            rr = int(digits)
        else:
            rr, cc = r, prev_col + 1
        if rr != r or cc <= prev_col:
            ref = (letters + digits).decode() if digits else None
            out.append(f"{where}: cell {ref} out of order in row {r}")
        prev_col = cc
        if style is not None and n_xfs is not None and int(style) >= n_xfs:
            ref = (letters + digits).decode() if digits else None
            out.append(f"{where}: cell {ref} style {style.decode()} >= {n_xfs} cellXfs")
    return out


def _cell_order_findings_tree(root: etree._Element, where: str, n_xfs: int | None) -> list[str]:
    """``_cell_order_findings`` on the element tree (sheets written with a namespace prefix)."""
    out: list[str] = []
    prev_row = 0
    for row in root.iter(f"{{{NS}}}row"):
        r = int(row.get("r", prev_row + 1))
        if r <= prev_row:
            out.append(f"{where}: row {r} after row {prev_row}")
        prev_row = r
        prev_col = 0
        for c in row.iterchildren(f"{{{NS}}}c"):
            ref = c.get("r")
            rr, cc = _col(ref) if ref else (r, prev_col + 1)
            if rr != r or cc <= prev_col:
                out.append(f"{where}: cell {ref} out of order in row {r}")
            prev_col = cc
            si = c.get("s")
            if si is not None and n_xfs is not None and int(si) >= n_xfs:
                out.append(f"{where}: cell {ref} style {si} >= {n_xfs} cellXfs")
    return out


def _sheet_tree(xml: bytes, rows: list[int]) -> tuple[etree._Element, bool]:
    """The worksheet's element tree, and whether it is a big sheet's skeleton: over 1 MB, with
    no namespace prefix, the tree keeps only the rows numbered ``rows`` (a 50 MB sheet takes
    seconds to build as a tree; its cells are checked on the text)."""
    a, b = xml.find(b"<sheetData>"), xml.find(b"</sheetData>")
    if len(xml) < 1_000_000 or a < 0 or b < a:
        return etree.fromstring(xml, etree.XMLParser(huge_tree=True)), False
    keep = []
    for r in rows:
        pattern = rb'<row\b[^>]*?\sr="%d"(?:[^>]*/>|[^>]*>.*?</row>)' % r
        m = re.compile(pattern, re.S).search(xml, a, b)
        if m:
            keep.append(m.group())
    skeleton = xml[:a] + b"<sheetData>" + b"".join(keep) + xml[b:]
    return etree.fromstring(skeleton, etree.XMLParser(huge_tree=True)), True


def structure_findings(
    path: Path, seen: Seen | None = None, record: Seen | None = None
) -> list[str]:
    """The structural findings (see the module docstring). A worksheet in ``seen`` whose table
    parts are all in it too is not read again (its code name is, from the part's first bytes);
    ``record`` gets every worksheet this file holds."""
    seen = {} if seen is None else seen
    out: list[str] = []
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        # content types
        ct = etree.fromstring(zf.read("[Content_Types].xml"))
        defaults = {e.get("Extension", "").lower() for e in ct.iter(f"{{{NS_CT}}}Default")}
        overrides = {e.get("PartName", "").lstrip("/") for e in ct.iter(f"{{{NS_CT}}}Override")}
        for o in overrides - names:
            out.append(f"content type override for missing part {o}")
        for n in names:
            if n.endswith("/") or n == "[Content_Types].xml":
                continue
            if n not in overrides and n.rsplit(".", 1)[-1].lower() not in defaults:
                out.append(f"part {n} has no content type")
        # relationships
        for rel_part in (n for n in names if n.endswith(".rels")):
            d = posixpath.dirname(posixpath.dirname(rel_part))
            src = posixpath.join(d, posixpath.basename(rel_part)[: -len(".rels")])
            rels = _rels(zf, src)
            ids = [r[0] for r in rels]
            if len(set(ids)) != len(ids):
                out.append(f"{rel_part}: duplicate relationship ids")
            for rid, _, tgt, mode in rels:
                if mode == "Internal" and tgt not in names:
                    out.append(f"{rel_part}: {rid} points at missing part {tgt}")
        wb_part = next(r[2] for r in _rels(zf, "") if r[1].endswith("/officeDocument"))
        wb = etree.fromstring(zf.read(wb_part))
        wb_rels = {r[0]: r for r in _rels(zf, wb_part)}
        sheets = wb.findall(f"{{{NS}}}sheets/{{{NS}}}sheet")
        snames = [s.get("name", "") for s in sheets]
        if len({s.lower() for s in snames}) != len(snames):
            out.append("duplicate sheet names")
        if len({s.get("sheetId") for s in sheets}) != len(sheets):
            out.append("duplicate sheetIds")
        # defined names
        scopes = set()
        for dn in wb.iter(f"{{{NS}}}definedName"):
            key = (dn.get("name", "").lower(), dn.get("localSheetId"))
            if key in scopes:
                out.append(f"defined name {dn.get('name')} defined twice in one scope")
            scopes.add(key)
            lsi = dn.get("localSheetId")
            if lsi is not None and not 0 <= int(lsi) < len(sheets):
                out.append(f"defined name {dn.get('name')}: localSheetId {lsi} out of range")
        # styles
        styles_part = next((r[2] for r in wb_rels.values() if r[1].endswith("/styles")), None)
        n_xfs = None
        if styles_part:
            st = etree.fromstring(zf.read(styles_part))
            for sec in ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs",
                        "cellStyles", "dxfs"):  # fmt: skip
                el = st.find(f"{{{NS}}}{sec}")
                count = None if el is None else el.get("count")
                if el is not None and count is not None and int(count) != len(el):
                    out.append(f"styles {sec} count={el.get('count')} but {len(el)} entries")
            xfs = st.find(f"{{{NS}}}cellXfs")
            n_xfs = len(xfs) if xfs is not None else 0
        sst: list[str] = []
        sst_part = next((r[2] for r in wb_rels.values() if r[1].endswith("/sharedStrings")), None)
        if sst_part:
            sroot = etree.fromstring(zf.read(sst_part))
            sst = ["".join(si.itertext()) for si in sroot.findall(f"{{{NS}}}si")]
        macro = any(r[1].endswith("/vbaProject") for r in wb_rels.values())
        has_formula = False
        table_ids: list[str] = []
        table_names: list[str] = []
        for s in sheets:
            rid = s.get(f"{{{NS_R}}}id")
            if rid not in wb_rels:
                out.append(f"sheet {s.get('name')}: r:id {rid} not in workbook relationships")
                continue
            part = wb_rels[rid][2]
            where = f"sheet '{s.get('name')}'"
            key = _key(zf.getinfo(part))
            tparts = [r[2] for r in _rels(zf, part) if r[1].endswith("/table")]
            if key in seen and all(_key(zf.getinfo(tp)) in seen for tp in tparts):
                # these very cells and tables were checked in an earlier file
                with zf.open(part) as fh:
                    head = fh.read(4096)
                if macro and not re.search(rb"<sheetPr\b[^>]*codeName=", head):
                    out.append(f"{where}: no codeName in a macro workbook")
                for tp in tparts:
                    tx = zf.read(tp).decode("utf-8")
                    m = re.search(r'<(?:\w+:)?table\b[^>]*\bid="(\d+)"', tx)
                    table_ids.append(m.group(1) if m else "?")
                    m = re.search(r'<(?:\w+:)?table\b[^>]*\bdisplayName="([^"]*)"', tx)
                    table_names.append((m.group(1) if m else "?").lower())
                has_formula = has_formula or seen[key]
                if record is not None:
                    record[key] = seen[key]
                    record.update((_key(zf.getinfo(tp)), False) for tp in tparts)
                continue
            xml = zf.read(part)
            root, big = _sheet_tree(xml, [])
            if macro and root.tag.endswith("}worksheet"):
                pr = root.find(f"{{{NS}}}sheetPr")
                if pr is None or not pr.get("codeName"):
                    out.append(f"{where}: no codeName in a macro workbook")
            header_rows: dict[int, dict[int, str]] = {}
            wanted = {}
            for tp in tparts:
                tx = zf.read(tp).decode("utf-8")
                m = re.search(r'<(?:\w+:)?table\b[^>]*\bref="([A-Z]+)(\d+):([A-Z]+)\d+"', tx)
                if m:
                    wanted[tp] = (int(m.group(2)), _col(m.group(1) + "1")[1],
                                  _col(m.group(3) + "1")[1])  # fmt: skip
                    header_rows.setdefault(int(m.group(2)), {})
            if big:  # the tree has no cells: the text holds them, and the header rows
                root, _ = _sheet_tree(xml, sorted(header_rows))
            # one C-level search per sheet, not a lookup per cell
            formulas = b"<f>" in xml or b"<f " in xml or b":f>" in xml or b":f " in xml
            has_formula = has_formula or formulas
            if record is not None:
                record[key] = formulas
                record.update((_key(zf.getinfo(tp)), False) for tp in tparts)
            if root.prefix is None:  # the default namespace: scan the XML text (fast)
                out += _cell_order_findings(xml, where, n_xfs)
            else:
                out += _cell_order_findings_tree(root, where, n_xfs)
            inline = xml.count(b'"inlineStr"')
            if inline:
                out.append(
                    f"{where}: {inline} inline-string cells (Excel moves them to the shared "
                    "strings on its first save, then asks to save an unchanged file)"
                )
            r = 0
            for row in root.iter(f"{{{NS}}}row") if header_rows else ():
                r = int(row.get("r", r + 1))
                if r in header_rows:
                    cc = 0
                    for c in row.iterchildren(f"{{{NS}}}c"):
                        cc = _col(c.get("r"))[1] if c.get("r") else cc + 1
                        header_rows[r][cc] = _cell_text(c, sst)
            for tp, (hr, c1, c2) in wanted.items():
                tx = zf.read(tp).decode("utf-8")
                m = re.search(r'<(?:\w+:)?table\b[^>]*\bid="(\d+)"', tx)
                table_ids.append(m.group(1) if m else "?")
                m = re.search(r'<(?:\w+:)?table\b[^>]*\bdisplayName="([^"]*)"', tx)
                table_names.append((m.group(1) if m else "?").lower())
                heads = [header_rows[hr].get(c, "") for c in range(c1, c2 + 1)]
                out += [f"{where} table {tp}: {p}" for p in table_problems(tx, heads)]
        if len(set(table_ids)) != len(table_ids):
            out.append(f"duplicate table ids {sorted(table_ids)}")
        if len(set(table_names)) != len(table_names):
            out.append("duplicate table names")
        calc = wb.find(f"{{{NS}}}calcPr")
        if not has_formula and calc is not None and calc.get("fullCalcOnLoad") in ("1", "true"):
            out.append("fullCalcOnLoad set in a workbook without formulas (Excel asks to save)")
    return out


def check_file(path: Path, seen: Seen | None = None) -> list[str]:
    """Every finding of both checks, the ALLOWED ones left out; empty when the file is clean.
    ``seen``: worksheets checked in earlier files (see the module docstring); this file's
    worksheets and tables are added to it."""
    path = Path(path)
    record: Seen = {}
    found = structure_findings(path, seen, record) + audit_findings(path, seen)
    if seen is not None:
        seen.update(record)
    return [f for f in found if not _allowed(f, path)]
