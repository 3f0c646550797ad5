"""Where a sheet's charts land on the printed page, computed from the file as Excel prints it.

``printed_charts(path, sheet)`` reads the sheet's print area, column widths, row heights,
page setup (paper, orientation, margins, fit-to-page or scale) and each chart's drawing anchor,
and returns every chart's box in points on the sheet with the (column, row) numbers of the pages
it touches. A chart on more than one page, or reaching outside the print area, is cut off on paper.

Excel's rules used (ECMA-376 Part 1, 18.3.1.13 col, 18.3.1.73 row, 18.3.1.63 pageSetup, 20.5.2
drawing anchors): a column of width ``w`` is ``trunc(((256 w + trunc(128 / 7)) / 256) * 7)``
pixels (Calibri 11, maximum digit width 7 px) at 96 px per inch; a row without ``ht`` has the
sheet's ``defaultRowHeight`` (15 pt); 12,700 EMU per point; fit to ``W`` pages wide by ``H`` tall
scales by the smaller ratio (``H = 0``: no height limit) and never enlarges.
"""

from __future__ import annotations

import math
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PR = "http://schemas.openxmlformats.org/package/2006/relationships"
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
EMU_PT = 12700
#: Paper sizes in points (portrait): 1 Letter (Excel's default), 9 A4.
PAPER = {1: (612.0, 792.0), 9: (595.28, 841.89)}


@dataclass(frozen=True)
class PrintedChart:
    name: str
    box: tuple[float, float, float, float]  # left, top, right, bottom in points on the sheet
    pages: frozenset[tuple[int, int]]  # (page column, page row) it touches, from (1, 1)
    inside_print_area: bool


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, str]:
    d, base = posixpath.split(part)
    name = posixpath.join(d, "_rels", base + ".rels")
    root = etree.fromstring(zf.read(name))
    return {
        r.get("Id"): posixpath.normpath(posixpath.join(d, r.get("Target")))
        for r in root.iter(f"{{{NS_PR}}}Relationship")
    }


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _col_pt(width: float) -> float:
    return math.trunc(((256 * width + math.trunc(128 / 7)) / 256) * 7) * 0.75


def printed_charts(path: Path, sheet: str) -> list[PrintedChart]:
    """Every chart of ``sheet`` with its box and the printed pages it touches."""
    with zipfile.ZipFile(path) as zf:
        wb = etree.fromstring(zf.read("xl/workbook.xml"))
        sheets = wb.findall(f"{{{NS}}}sheets/{{{NS}}}sheet")
        index = next(i for i, s in enumerate(sheets) if s.get("name") == sheet)
        part = _rels(zf, "xl/workbook.xml")[sheets[index].get(f"{{{NS_R}}}id")]
        area = None
        for dn in wb.iter(f"{{{NS}}}definedName"):
            if dn.get("name") == "_xlnm.Print_Area" and dn.get("localSheetId") == str(index):
                area = dn.text
        ws = etree.fromstring(zf.read(part), etree.XMLParser(huge_tree=True))
        fmt = ws.find(f"{{{NS}}}sheetFormatPr")
        default_ht = float(fmt.get("defaultRowHeight", 15)) if fmt is not None else 15.0
        default_w = float(fmt.get("defaultColWidth", 8.43)) if fmt is not None else 8.43
        widths: dict[int, float] = {}
        for c in ws.iter(f"{{{NS}}}col"):
            for n in range(int(c.get("min")), int(c.get("max")) + 1):
                widths[n] = float(c.get("width", default_w))
        heights = {
            int(r.get("r")): float(r.get("ht"))
            for r in ws.iter(f"{{{NS}}}row")
            if r.get("ht") is not None
        }
        fit = ws.find(f"{{{NS}}}sheetPr/{{{NS}}}pageSetUpPr")
        fit_to_page = fit is not None and fit.get("fitToPage") in ("1", "true")
        setup = ws.find(f"{{{NS}}}pageSetup")
        setup = {} if setup is None else dict(setup.attrib)
        margins = ws.find(f"{{{NS}}}pageMargins")
        margins = {} if margins is None else dict(margins.attrib)
        drawing = ws.find(f"{{{NS}}}drawing")
        anchors = []
        if drawing is not None:
            dpart = _rels(zf, part)[drawing.get(f"{{{NS_R}}}id")]
            droot = etree.fromstring(zf.read(dpart))
            anchors = [a for a in droot if a.tag.endswith("Anchor")]

    def x_of(col: int) -> float:  # left edge of 1-based column ``col``
        return sum(_col_pt(widths.get(c, default_w)) for c in range(1, col))

    def y_of(row: int) -> float:  # top edge of 1-based row ``row``
        return sum(heights.get(r, default_ht) for r in range(1, row))

    if area:
        m = re.search(r"\$([A-Z]+)\$(\d+):\$([A-Z]+)\$(\d+)$", area)
        assert m, f"print area {area!r} is not a bounded range"
        c1, r1, c2, r2 = _col_number(m[1]), int(m[2]), _col_number(m[3]), int(m[4])
    else:  # no print area: the used range; charts are then always inside it
        c1, r1, c2, r2 = 1, 1, 16384, 1048576
    left, top = x_of(c1), y_of(r1)
    right = x_of(c2 + 1) if c2 < 16384 else math.inf
    bottom = y_of(r2 + 1) if r2 < 1048576 else math.inf

    paper_w, paper_h = PAPER[int(setup.get("paperSize", 1))]
    if setup.get("orientation") == "landscape":
        paper_w, paper_h = paper_h, paper_w
    page_w = paper_w - 72 * (float(margins.get("left", 0.7)) + float(margins.get("right", 0.7)))
    page_h = paper_h - 72 * (float(margins.get("top", 0.75)) + float(margins.get("bottom", 0.75)))
    if fit_to_page:
        wide, tall = int(setup.get("fitToWidth", 1)), int(setup.get("fitToHeight", 1))
        ratios = [1.0]
        if wide:
            ratios.append(wide * page_w / (right - left))
        if tall:
            ratios.append(tall * page_h / (bottom - top))
        scale = min(ratios)
    else:
        scale = int(setup.get("scale", 100)) / 100
    step_x, step_y = page_w / scale, page_h / scale  # one page, in sheet points

    out = []
    for a in anchors:
        frm = a.find(f"{{{XDR}}}from")
        col = int(frm.find(f"{{{XDR}}}col").text) + 1
        row = int(frm.find(f"{{{XDR}}}row").text) + 1
        x0 = x_of(col) + int(frm.find(f"{{{XDR}}}colOff").text) / EMU_PT
        y0 = y_of(row) + int(frm.find(f"{{{XDR}}}rowOff").text) / EMU_PT
        to = a.find(f"{{{XDR}}}to")
        if to is not None:
            x1 = x_of(int(to.find(f"{{{XDR}}}col").text) + 1)
            x1 += int(to.find(f"{{{XDR}}}colOff").text) / EMU_PT
            y1 = y_of(int(to.find(f"{{{XDR}}}row").text) + 1)
            y1 += int(to.find(f"{{{XDR}}}rowOff").text) / EMU_PT
        else:
            ext = a.find(f"{{{XDR}}}ext")
            x1, y1 = x0 + int(ext.get("cx")) / EMU_PT, y0 + int(ext.get("cy")) / EMU_PT
        name = next((e.get("name") for e in a.iter() if e.tag.endswith("}cNvPr")), "?")
        cols = range(int((x0 - left) // step_x), math.ceil((x1 - left) / step_x))
        rows = range(int((y0 - top) // step_y), math.ceil((y1 - top) / step_y))
        pages = frozenset((c + 1, r + 1) for c in cols for r in rows)
        inside = left <= x0 and x1 <= right and top <= y0 and y1 <= bottom
        out.append(PrintedChart(name, (x0, y0, x1, y1), pages, inside))
    return out
