"""Rewriting an existing *input* table on its (possibly decorated) sheet: only the table's rows
change; rows above it, notes beside it, widths, panes, protection, data validation and conditional
formats stay, and ranges that covered the table body follow its new size.
"""

from __future__ import annotations

import re
from typing import Protocol

from sop_xl.errors import SopError
from sop_xl.io.xlsx.cells import Layout, _row_numbers, body_rows
from sop_xl.io.xlsx.parts import PREFIX, Package, prefixed, tag
from sop_xl.io.xlsx.refs import (
    attr,
    col_letter,
    col_number,
    parse_cell,
    parse_range,
    range_ref,
    set_attr,
)
from sop_xl.io.xlsx.styles import Styles, cf_blocks
from sop_xl.io.xlsx.tables import resize_table_xml


class SheetWriter(Protocol):
    """What :func:`rewrite_input_sheet` uses of the writer (``sop_xl.io.writer._Writer``):
    declared here, so this module does not import the writer that imports it."""

    pkg: Package
    styles: Styles
    #: table part -> (table id, table name, ref)
    tables: dict[str, tuple[int, str, str]]
    drop_calc_chain: bool

    def cell_styles(self, lay: Layout) -> tuple[int, list[int]]: ...

    def header_cells(self, lay: Layout, style: int | list[int]) -> str: ...


_AFTER_CF = (
    "dataValidations",
    "hyperlinks",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
)


# --- input sheets: replace the table's rows only --------------------------------------------------
# element names under any namespace prefix (parts.tag); an element name ends at a space, "/" or ">"
_C = tag("c") + r"(?=[\s/>])"
_C_RE = re.compile(rf"<{_C}[^>]*?(?:/>|>.*?</{tag('c')}\s*>)", re.S)
_VALUE_RE = re.compile(rf"<{tag('(?:v|is|f)')}(?=[\s/>])")
_CREF_RE = re.compile(rf"<{_C}[^>]*?\sr=\"([A-Z]+)(\d+)\"")
_RANGES_RE = re.compile(rf"<{tag('(?:conditionalFormatting|dataValidation)')}(?=[\s/>])[^>]*>")
_SQREF_RE = re.compile(rf"(<({PREFIX})sqref\s*>)(.*?)(</\2sqref\s*>)", re.S)


def _open_tag(el: str) -> str:
    return el[: el.index(">") + 1]


def _resize_sqref(sqref: str, old: tuple[int, int, int, int], new_last: int) -> str:
    """Extend/trim ranges that covered the old table body (down to its last row)."""
    c1, r1, c2, old_last = old
    out = []
    for tok in sqref.split():
        try:
            a, ra, b, rb = parse_range(tok)
        except ValueError:
            out.append(tok)
            continue
        if c1 <= a and b <= c2 and r1 < ra <= old_last and rb == old_last:
            rb = max(new_last, ra)
            tok = f"{col_letter(a)}{ra}" if (a, ra) == (b, rb) else range_ref(a, ra, b, rb)
        out.append(tok)
    return " ".join(out)


def _resize_ranges(xml: str, old: tuple[int, int, int, int], new_last: int) -> str:
    def with_sqref(m: re.Match[str]) -> str:
        t = m.group(0)
        sq = attr(t, "sqref")
        return t if sq is None else set_attr(t, "sqref", _resize_sqref(sq, old, new_last))

    xml = _RANGES_RE.sub(with_sqref, xml)
    return _SQREF_RE.sub(
        lambda m: m.group(1) + _resize_sqref(m.group(3), old, new_last) + m.group(4), xml
    )


def _row_spans(inner: str, p: str) -> list[tuple[int, int, int]]:
    """(row number, start, end) of each ``<row>`` in sheetData's text, found from the opening tags
    only (a row ends where the next one starts), so big sheets are not scanned cell by cell."""
    # a literal prefix ("<row") lets the regex engine jump between rows at C speed
    row_open = re.compile("<" + re.escape(p) + r"row\b([^>]*)>")
    starts = [(m.start(), m.group(1)) for m in row_open.finditer(inner)]
    spans = []
    for i, (pos, attrs) in enumerate(starts):
        rv = attr(" " + attrs, "r")
        if rv is None:
            raise SopError("the worksheet has rows without numbers", fix="re-save it from Excel")
        end = starts[i + 1][0] if i + 1 < len(starts) else len(inner)
        spans.append((int(rv), pos, end))
    return spans


_F_TAG_RE = re.compile(rf"<{tag('f')}(?=[\s/>])[^>]*>")
_F_EL_RE = re.compile(rf"<{tag('f')}(?=[\s/>])[^>]*?(?:/>|>[^<]*</{tag('f')}\s*>)")
_SHEETDATA_RE = re.compile(rf"<({PREFIX})sheetData(?=[\s/>])[^>]*?(/?)>")
_DIMENSION_RE = re.compile(rf"<{tag('dimension')}(?=[\s/>])[^>]*>")
_PRIORITY_RE = re.compile(rf"<{tag('cfRule')}(?=[\s/>])[^>]*?\spriority=\"(\d+)\"")
_CF_BLOCK_RE = re.compile(
    rf"<{tag('conditionalFormatting')}(?=[\s/>]).*?</{tag('conditionalFormatting')}\s*>", re.S
)
_AFTER_CF_RE = re.compile(
    rf"<{tag('(?:' + '|'.join(_AFTER_CF) + ')')}(?=[\s/>])|</{tag('worksheet')}\s*>"
)


def _orphan_shared_formulas_to_values(rows: list[str]) -> list[str]:
    """Kept cells that share a formula whose anchor cell was in the replaced table rows would
    make Excel repair the file: turn them into plain values (their cached value stays)."""
    masters, users = set(), set()
    for text in rows:
        for m in _F_TAG_RE.finditer(text):
            tag = m.group(0)
            if attr(tag, "t") == "shared":
                (masters if attr(tag, "ref") else users).add(attr(tag, "si"))
    orphans = users - masters
    if not orphans:
        return rows

    def drop(m: re.Match[str]) -> str:
        tag = _F_TAG_RE.match(m.group(0))
        t = tag.group(0) if tag else ""
        orphan = attr(t, "t") == "shared" and not attr(t, "ref") and attr(t, "si") in orphans
        return "" if orphan else m.group(0)

    return [_F_EL_RE.sub(drop, text) if 't="shared"' in text else text for text in rows]


def rewrite_input_sheet(w: SheetWriter, lay: Layout) -> None:
    """Replace the header and body rows of an existing input table on its decorated sheet."""
    pkg = w.pkg
    part, table_part = lay.sheet_part, lay.table_part
    assert part is not None and table_part is not None
    xml = pkg.text(part)
    sd = _SHEETDATA_RE.search(xml)
    if sd is None:
        raise SopError("the worksheet has no cell data section", fix="re-save it from Excel")
    p = sd.group(1) or ""
    if sd.group(2):
        inner, sd_end = "", sd.end()
    else:
        close = xml.find(f"</{p}sheetData>", sd.end())
        if close < 0:
            raise SopError("the worksheet's cell data is cut short", fix="re-save it from Excel")
        inner, sd_end = xml[sd.end() : close], close + len(f"</{p}sheetData>")
    old = parse_range(w.tables[table_part][2])
    oc1, r1, oc2, old_last = old
    c1, c2, new_last = lay.first_col, lay.last_col, lay.last_row
    lo = min(c1, oc1)
    region_hi = max(old_last, new_last)
    if f"<{p}f>" in inner or f"<{p}f " in inner:
        w.drop_calc_chain = True
    spans = _row_spans(inner, p)
    # Cells beside the old table (notes) must be kept, or reported when the table now grows over
    # them: one C-speed search over the old table rows tells whether any exist, so the common
    # case does not parse the cells of every old row.
    in_old = [(a, b) for r, a, b in spans if r1 <= r <= old_last]
    beside = None
    if in_old:
        a0, b0 = in_old[0][0], in_old[-1][1]
        span_letters = "|".join(col_letter(c) for c in range(oc1, oc2 + 1))
        outside = r"(?!(?:" + span_letters + r")\d)"
        if inner.count(f"<{p}c ", a0, b0) == inner.count(f'<{p}c r="', a0, b0):  # r first: fast
            pat = re.compile("<" + re.escape(p) + 'c r="' + outside)
        else:
            pat = re.compile("<" + re.escape(p) + r"c\s[^>]*?\br=\"" + outside)
        beside = pat.search(inner, a0, b0)
    kept: list[tuple[int, str]] = []  # rows outside the region, and special region rows
    extras: dict[int, tuple[str, str]] = {}
    head_s: dict[int, str] = {}
    body_s: dict[int, str] = {}
    for r, a, b in spans:
        if r < r1 or r > region_hi:
            kept.append((r, inner[a:b]))
            continue
        if not beside and r1 + 1 < r <= old_last:
            continue  # an old body row: nothing to keep
        left, right = [], []
        for cell in _C_RE.findall(inner, a, b):
            tag = _open_tag(cell)
            col, _ = parse_cell(attr(tag, "r") or "")
            if oc1 <= col <= oc2 and r <= old_last:  # a cell of the old table
                if r == r1 and attr(tag, "s"):
                    head_s[col] = attr(tag, "s") or "0"
                elif r == r1 + 1 and attr(tag, "s"):
                    body_s[col] = attr(tag, "s") or "0"
            elif c1 <= col <= c2 and r <= new_last:  # where the new table goes
                if not tag.endswith("/>") and _VALUE_RE.search(cell):
                    raise SopError(
                        f"the table {lay.out.table.name} now spans "
                        f"{range_ref(c1, r1, c2, new_last)} and would overwrite cell "
                        f"{attr(tag, 'r')} next to it",
                        fix="move what is next to the table further away or to another sheet",
                    )
            elif col > c2:
                right.append(cell)
            else:  # left of the table, or below the new (shorter) table: keep, in column order
                left.append(cell)
        if left or right:
            extras[r] = ("".join(left), "".join(right))
    header_style, our_body = w.cell_styles(lay)
    heads = [int(head_s.get(lay.first_col + j, header_style)) for j in range(len(lay.columns))]
    bodies = [int(body_s.get(lay.first_col + j, our_body[j])) for j in range(len(lay.columns))]
    dim_cols, dim_rows = [lo, c2], [r1, region_hi if extras else new_last]
    for r, text in kept:
        dim_rows.append(r)
        for m in _CREF_RE.finditer(text):
            dim_cols.append(col_number(m.group(1)))
    left, right = extras.get(r1, ("", ""))
    kept.append((r1, f'<row r="{r1}">{left}{w.header_cells(lay, heads)}{right}</row>'))
    body = body_rows(lay, bodies, w.sst)
    for r in range(r1 + 1, region_hi + 1):
        i = r - r1 - 1
        left, right = extras.get(r, ("", ""))
        if i < lay.n:
            if left or right:
                body[i] = left + body[i] + right
        elif left or right or r <= new_last:
            kept.append((r, f'<row r="{r}">{left}{right}</row>'))
    kept.sort(key=lambda rt: rt[0])
    block = ""
    if lay.n:
        nums = _row_numbers(r1 + 1, lay.n)
        block = "".join(('<row r="' + nums + '">' + body + "</row>").tolist())
    split = next((i for i, (r, _) in enumerate(kept) if r > r1), len(kept))
    kept_text = [t for _, t in kept]
    if any('t="shared"' in t for t in kept_text):
        kept_text = _orphan_shared_formulas_to_values(kept_text)
    gen = "".join(kept_text[:split]) + block + "".join(kept_text[split:])
    gen = prefixed(gen, p)  # kept rows keep their prefix, generated ones get it
    before, after = xml[: sd.start()], xml[sd_end:]
    dim = range_ref(min(dim_cols), min(dim_rows), max(dim_cols), max(dim_rows))
    before = _DIMENSION_RE.sub(lambda m: set_attr(m.group(0), "ref", dim), before, count=1)
    after = _resize_ranges(after, old, new_last)
    # the SheetOutput's own conditional formats, unless an identical rule is already there
    prios = [int(x) for x in _PRIORITY_RE.findall(after)]
    norm = lambda s: re.sub(r'\s(?:priority|dxfId)="\d+"', "", s)  # noqa: E731
    existing = {norm(b) for b in _CF_BLOCK_RE.findall(after)}
    new_cf = [b for b in cf_blocks(lay, w.styles, max([0, *prios]) + 1) if norm(b) not in existing]
    if new_cf:
        frag = prefixed("".join(new_cf), p)
        m = _AFTER_CF_RE.search(after)
        pos = m.start() if m else len(after)
        after = after[:pos] + frag + after[pos:]
    pkg.write(part, f"{before}<{p}sheetData>{gen}</{p}sheetData>{after}")
    pkg.write(
        table_part,
        resize_table_xml(pkg.text(table_part), lay.ref, [c.header for c in lay.columns]),
    )
    w.tables[table_part] = (w.tables[table_part][0], lay.out.table.name, lay.ref)
