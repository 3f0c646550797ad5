"""One reusable checker for every file sop_xl writes (issue 20): would Excel open it unrepaired?

``check_file(path)`` returns a list of findings (empty = clean) from two independent checks:

1. ``audit_findings``: the ``openxml-audit`` validator (a pure-Python port of Microsoft's Open XML
   SDK validator: schema, package and semantic rules). Worksheets over ``AUDIT_ROWS`` rows are
   cut to their first rows in a temporary copy first: the schema of row 3,000 is the schema of
   row 3 (our writers emit every row from one template), and the validator needs minutes for
   the demo master's 50 MB of sheet XML.
2. ``structure_findings``: what the validator does not cover and Excel repairs silently or
   with a prompt: content types for every part, relationship targets that exist and unique ids,
   unique sheet names and ids, defined names, tables (unique ids and names; ``ref``,
   ``autoFilter``, column count and header cells consistent), style counts and every cell's
   style index, row and cell order, ``codeName`` on every sheet of a macro workbook, and no
   forced full recalculation in a workbook without formulas.

``ALLOWED`` lists findings we accept on purpose, each with its reason.
"""

from __future__ import annotations

import io
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lxml import etree

from sop_xl.io.xlsx.tables import table_problems

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PR = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
AUDIT_ROWS = 300

#: (pattern, reason) of validator findings accepted on purpose.
ALLOWED: list[tuple[str, str]] = [
    (
        r"inline-string cell\(s\).*no populated `xl/sharedStrings.xml`",
        "valid SpreadsheetML (ECMA-376 18.3.1.4 t=inlineStr); sop_xl keeps inline strings: see "
        "docs/excel.md 'Inline strings'",
    ),
]


def _allowed(text: str) -> bool:
    return any(re.search(p, text) for p, _ in ALLOWED)


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


def _trimmed_copy(path: Path, rows: int = AUDIT_ROWS, keep: Iterable[str] = ()) -> bytes:
    """The package with every worksheet cut to its first ``rows`` rows (see module docstring),
    except the sheets named in ``keep``."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as zi, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zo:
        whole = _sheet_parts(zi, keep)
        for info in zi.infolist():
            data = zi.read(info)
            big = info.filename.startswith("xl/worksheets/") and len(data) > 100_000
            if big and info.filename not in whole:
                text = data.decode("utf-8")
                a, b = text.find("<sheetData>"), text.find("</sheetData>")
                if a >= 0 and b > a:
                    starts = [m.start() for m in re.finditer(r"<row[ >]", text[a:b])]
                    if len(starts) > rows:
                        cut = a + starts[rows]
                        text = text[:cut] + text[b:]
                        # merged cells, validations etc. may point below the cut: still valid
                data = text.encode("utf-8")
            zo.writestr(info, data)
    return out.getvalue()


def load_trimmed(path: Path, keep: Iterable[str] = (), **kwargs: Any) -> Any:
    """openpyxl's workbook of ``path`` with the big sheets not in ``keep`` cut to their first
    ``AUDIT_ROWS`` rows. For tests that assert sheet names, protection, tables, charts or
    formats of the demo's 10 MB workbooks: a full openpyxl load takes 30-60 s; every cell of
    every sheet is still read by ``structure_findings`` (test_fidelity) and by calamine."""
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(_trimmed_copy(Path(path), keep=keep)), **kwargs)


def audit_findings(path: Path) -> list[str]:
    """openxml-audit findings (schema, package, semantic), the ALLOWED ones left out."""
    from openxml_audit import OpenXmlValidator

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / Path(path).name
        copy.write_bytes(_trimmed_copy(Path(path)))
        result = OpenXmlValidator(max_errors=200).validate(str(copy))
    return [f"audit: {e}" for e in result.errors if not _allowed(str(e))]


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


def _cell_order_findings(xml: bytes, where: str, n_xfs: int | None) -> list[str]:
    """Rows ascending, cells ascending within their row, style indexes below ``n_xfs``: every
    cell of the sheet, read from the text (the demo master has two million cells; an element
    tree walk takes 20 s). The same checks as ``_cell_order_findings_tree``."""
    out: list[str] = []
    a, b = xml.find(b"<sheetData"), xml.find(b"</sheetData>")
    if a < 0 or b < 0:
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


def structure_findings(path: Path) -> list[str]:
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
        seen = set()
        for dn in wb.iter(f"{{{NS}}}definedName"):
            key = (dn.get("name", "").lower(), dn.get("localSheetId"))
            if key in seen:
                out.append(f"defined name {dn.get('name')} defined twice in one scope")
            seen.add(key)
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
            xml = zf.read(part)
            root, big = _sheet_tree(xml, [])
            if macro and root.tag.endswith("}worksheet"):
                pr = root.find(f"{{{NS}}}sheetPr")
                if pr is None or not pr.get("codeName"):
                    out.append(f"{where}: no codeName in a macro workbook")
            header_rows: dict[int, dict[int, str]] = {}
            tparts = [r[2] for r in _rels(zf, part) if r[1].endswith("/table")]
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
                has_formula = has_formula or b"<f>" in xml or b"<f " in xml
            elif not has_formula:  # one C-level search per sheet, not a lookup per cell
                has_formula = next(root.iter(f"{{{NS}}}f"), None) is not None
            if root.prefix is None:  # the default namespace: scan the XML text (fast)
                out += _cell_order_findings(xml, where, n_xfs)
            else:
                out += _cell_order_findings_tree(root, where, n_xfs)
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


def check_file(path: Path) -> list[str]:
    """Every finding of both checks; empty when the file is clean."""
    return structure_findings(Path(path)) + audit_findings(Path(path))
