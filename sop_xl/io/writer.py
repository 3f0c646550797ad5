"""Write declared output sheets into an existing .xlsx/.xlsm by editing only the parts we own.

``write_sheets(src, outputs, dst)`` renders each :class:`~sop_xl.model.sheets.SheetOutput` into the
workbook's zip: the written sheets' worksheet XML, their table, drawing and chart parts, and
appended entries in ``xl/styles.xml``. ``workbook.xml``, its ``.rels`` and ``[Content_Types].xml``
change only when a sheet, table or chart is added. Every other part (the VBA project, the ribbon's
``customUI``, other sheets, defined names, document properties) is copied as its original
compressed bytes. The result is written to a temporary file next to the destination, fsynced and
moved into place with ``os.replace``: all or nothing.

Three cases per output sheet:

- the sheet exists and holds the declared *input* table (not ``output=True``): only the table's rows
  are replaced (header + body); rows above it, column widths, panes, protection, data validation and
  conditional formats stay, and the table's ``ref`` plus any validation/format range that covered
  the table body are resized to the new row count;
- the sheet exists otherwise (an output sheet): the worksheet and its table/drawing parts are
  regenerated;
- the sheet does not exist: it is added at the end of the workbook.

Cells are built as XML strings with vectorised numpy/pandas operations. Text goes to the
workbook's shared-strings table (``t="s"``, :mod:`sop_xl.io.xlsx.sst`: existing entries kept in
place, new texts appended), never as a formula, so text such as ``=HYPERLINK(...)`` stays text.

Helpers: :mod:`sop_xl.io.xlsx.parts` (the zip package, raw copies, rels, content types),
:mod:`sop_xl.io.xlsx.cells` (references, layout, cell XML), :mod:`sop_xl.io.xlsx.styles`
(styles.xml,
conditional formats), :mod:`sop_xl.io.xlsx.charts` (charts), :mod:`sop_xl.io.xlsx.input_tables`
(input tables).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from defusedxml.ElementTree import fromstring

from sop_xl.errors import Location, SopError
from sop_xl.io.files import atomic_path
from sop_xl.io.xlsx.calc import calc_pr_xml, has_formula
from sop_xl.io.xlsx.cells import Layout, _row_numbers, _text_cell, body_rows, display_frame
from sop_xl.io.xlsx.charts import chart_xml, drawing_xml
from sop_xl.io.xlsx.input_tables import rewrite_input_sheet
from sop_xl.io.xlsx.parts import (
    CT_CHART,
    CT_DRAWING,
    CT_TABLE,
    CT_WORKSHEET,
    NS_MAIN,
    NS_REL,
    PREFIX,
    REL_CALC_CHAIN,
    REL_CHART,
    REL_DRAWING,
    REL_TABLE,
    REL_WORKSHEET,
    XML_DECL,
    Package,
    escape,
    insert_before_close,
    prefixed,
    quoteattr,
    relative,
    rels_name,
    rels_xml,
    tag,
)
from sop_xl.io.xlsx.refs import (
    attr,
    col_letter,
    parse_cell,
    parse_range,
    range_ref,
    set_attr,
    sheet_ref,
)
from sop_xl.io.xlsx.sst import SharedStrings
from sop_xl.io.xlsx.styles import HEADER_FILL, HEADER_FONT, NOTE_FONT, TITLE_FONT, Styles, cf_blocks
from sop_xl.model.schema import Dtype
from sop_xl.model.sheets import SheetOutput

__all__ = ["write_sheets"]

TABLE_STYLE = "TableStyleMedium2"
_DEFAULT_WIDTH = {
    Dtype.TEXT: 14.0,
    Dtype.INT: 10.0,
    Dtype.QTY: 12.0,
    Dtype.MONEY: 14.0,
    Dtype.NUMBER: 12.0,
    Dtype.PCT: 9.0,
    Dtype.DATE: 11.0,
    Dtype.DATETIME: 16.0,
    Dtype.PERIOD: 9.0,
}


#: Height of a default row (15 pt) in centimetres, to find the row a chart's bottom edge reaches.
ROW_CM = 15 / 72 * 2.54


def print_last_row(lay: Layout) -> int:
    """The last sheet row worth printing: the table's last row or a chart's bottom edge."""
    last = lay.last_row
    for spec in lay.out.charts:
        if spec.source_sheet and spec.anchor:
            _, row = parse_cell(spec.anchor)
            last = max(last, row + math.ceil(spec.height_cm / ROW_CM))
    return last


# --- the writer -----------------------------------------------------------------------------------
@dataclass
class _Sheet:
    name: str
    sheet_id: int
    rid: str
    part: str | None


class _Writer:
    def __init__(self, pkg: Package, wb_name: str):
        self.pkg = pkg
        self.wb_name = wb_name
        office = [r for r in pkg.rels("") if r.type.endswith("/officeDocument")]
        if not office or office[0].part is None:
            raise SopError("not an Excel workbook (no workbook part)", where=Location(file=wb_name))
        self.wb_part = office[0].part
        wb_rels = {r.id: r for r in pkg.rels(self.wb_part)}
        self.wb_xml = pkg.text(self.wb_part)
        root = fromstring(self.wb_xml.encode("utf-8"))
        self.sheets: list[_Sheet] = []
        for el in root.iter(f"{{{NS_MAIN}}}sheet"):
            rid = el.get(f"{{{NS_REL}}}id", "")
            rel = wb_rels.get(rid)
            self.sheets.append(
                _Sheet(
                    el.get("name", ""), int(el.get("sheetId", "0")), rid, rel.part if rel else None
                )
            )
        self.styles = Styles(pkg.text(self._styles_part()))
        self.sst = SharedStrings(pkg, self.wb_part)
        self.drop_calc_chain = False
        self.code_names: set[str] | None = None  # lower-case codeNames in use (lazy)
        # every table part in the workbook: part -> (id, name, ref)
        self.tables: dict[str, tuple[int, str, str]] = {}
        for name in pkg.names():
            if name.startswith("xl/tables/") and name.endswith(".xml"):
                el = fromstring(pkg.read(name))
                self.tables[name] = (int(el.get("id", "0")), el.get("name", ""), el.get("ref", ""))

    def _styles_part(self) -> str:
        for r in self.pkg.rels(self.wb_part):
            if r.type.endswith("/styles") and r.part:
                return r.part
        raise SopError("workbook has no styles part", where=Location(file=self.wb_name))

    def sheet(self, name: str) -> _Sheet | None:
        for s in self.sheets:
            if s.name.lower() == name.lower():
                return s
        return None

    # -- planning --------------------------------------------------------------------------------
    def plan(self, out: SheetOutput) -> Layout:
        columns, frame = display_frame(out)
        headers = [c.header for c in columns]
        lower = [h.lower() for h in headers]  # Excel compares table headers case-insensitively
        dups = sorted({h for h in headers if lower.count(h.lower()) > 1})
        if dups:
            raise SopError(f"repeated column header(s) {', '.join(dups)}")
        lay = Layout(out, columns, frame)
        t = out.table
        sh = self.sheet(out.sheet)
        owner = {
            part: s.name
            for s in self.sheets
            if s.part
            for r in self.pkg.rels(s.part)
            if r.type == REL_TABLE and (part := r.part)
        }
        for part, (_, name, _) in self.tables.items():
            if name.lower() == t.name.lower() and (sh is None or owner.get(part) != sh.name):
                raise SopError(
                    f"table {t.name} already exists on sheet '{owner.get(part, '?')}'",
                    fix=f"move the table to sheet '{out.sheet}' or delete it",
                )
        if sh is None:
            _check_sheet_name(out.sheet)
            lay.mode = "new"
            lay.header_row = out.header_row
            return lay
        if sh.part is None or not self.pkg.exists(sh.part):
            raise SopError("sheet is not a worksheet (a chart sheet?)", fix="rename or delete it")
        lay.sheet_part = sh.part
        table_part = next(
            (
                r.part
                for r in self.pkg.rels(sh.part)
                if r.type == REL_TABLE
                and r.part in self.tables
                and self.tables[r.part][1].lower() == t.name.lower()
            ),
            None,
        )
        if table_part is not None and not t.output:
            lay.mode = "input"
            lay.table_part = table_part
            c1, r1, _, _ = parse_range(self.tables[table_part][2])
            lay.first_col, lay.header_row = c1, r1
        else:
            lay.mode = "regen"
            lay.header_row = out.header_row
        return lay

    # -- rendering ---------------------------------------------------------------------------------
    def cell_styles(self, lay: Layout) -> tuple[int, list[int]]:
        header = self.styles.cell_style(None, HEADER_FONT, HEADER_FILL)
        body = [self.styles.cell_style(c.number_format) for c in lay.columns]
        return header, body

    def header_cells(self, lay: Layout, style: int | list[int]) -> str:
        styles = style if isinstance(style, list) else [style] * len(lay.columns)
        return "".join(
            _text_cell(
                f"{col_letter(lay.first_col + j)}{lay.header_row}", c.header, styles[j], self.sst
            )
            for j, c in enumerate(lay.columns)
        )

    def widths(self, lay: Layout) -> list[float]:
        out = []
        w = lay.out.column_widths
        for j, c in enumerate(lay.columns):
            if c.name in w or c.header in w:
                out.append(float(w.get(c.name, w.get(c.header, 10))))
            elif c.width is not None:
                out.append(float(c.width))
            else:
                est = max(len(c.header) + 3, _DEFAULT_WIDTH[c.dtype])
                if c.dtype == Dtype.TEXT and lay.n:
                    head = lay.frame.iloc[:2000, j]
                    longest = max(map(len, map(str, head[head.notna()].tolist())), default=-1)
                    if longest >= 0:
                        est = max(est, float(longest) + 2)
                out.append(min(est, 50.0))
        return out

    def table_xml(self, lay: Layout, table_id: int) -> str:
        t = lay.out.table
        cols = "".join(
            f'<tableColumn id="{i}" name={quoteattr(c.header)}/>'
            for i, c in enumerate(lay.columns, start=1)
        )
        return (
            f'{XML_DECL}<table xmlns="{NS_MAIN}" id="{table_id}" name={quoteattr(t.name)} '
            f'displayName={quoteattr(t.name)} ref="{lay.ref}" totalsRowShown="0">'
            f'<autoFilter ref="{lay.ref}"/><tableColumns count="{len(lay.columns)}">{cols}'
            f'</tableColumns><tableStyleInfo name="{TABLE_STYLE}" showFirstColumn="0" '
            'showLastColumn="0" showRowStripes="1" showColumnStripes="0"/></table>'
        )

    def new_table_id(self) -> int:
        tid = max([0, *(v[0] for v in self.tables.values())]) + 1
        self.tables[f"__reserved{tid}"] = (tid, "", "")
        return tid

    def render_full(self, lay: Layout, layouts: dict[str, Layout]) -> None:
        """Generate (or regenerate) a whole output worksheet with its table and charts."""
        pkg, out = self.pkg, lay.out
        keep_rels: list[tuple[str, str, str]] = []
        code_name = None if lay.mode == "new" else self.code_name_of(lay.sheet_part)
        if lay.mode == "new":
            part = pkg.fresh_name("xl/worksheets/sheet{}.xml")
            rid = pkg.add_rel(self.wb_part, REL_WORKSHEET, part)
            pkg.set_override(part, CT_WORKSHEET)
            sheet_id = max([0, *(s.sheet_id for s in self.sheets)]) + 1
            el = (
                f'<sheet name={quoteattr(out.sheet)} sheetId="{sheet_id}" '
                f'xmlns:r="{NS_REL}" r:id="{rid}"/>'
            )
            self.wb_xml = insert_before_close(self.wb_xml, "sheets", el)
            pkg.write(self.wb_part, self.wb_xml)
            self.sheets.append(_Sheet(out.sheet, sheet_id, rid, part))
            lay.sheet_part = part
        else:
            part = lay.sheet_part
            assert part is not None
            if has_formula(pkg.read(part)):
                self.drop_calc_chain = True
            for r in pkg.rels(part):
                if r.type == REL_TABLE and r.part:
                    self._delete_part(r.part)
                    self.tables.pop(r.part, None)
                elif r.type == REL_DRAWING and r.part:
                    for cr in pkg.rels(r.part):
                        if cr.type == REL_CHART and cr.part:
                            for sub in pkg.rels(cr.part):
                                if sub.part and sub.part.startswith("xl/charts/"):
                                    self._delete_part(sub.part)
                            self._delete_part(cr.part)
                    self._delete_part(r.part)
                elif r.part and r.type.endswith(_SHEET_OWNED):
                    self._delete_part(r.part)  # notes/print setup of the old sheet's cells
                else:
                    keep_rels.append((r.id, r.type, r.target))
        taken = {i for i, _, _ in keep_rels}

        def rid_new() -> str:
            n = 1
            while f"rId{n}" in taken:
                n += 1
            taken.add(f"rId{n}")
            return f"rId{n}"

        new_rels: list[tuple[str, str, str]] = []
        # table
        table_part = pkg.fresh_name("xl/tables/table{}.xml")
        pkg.write(table_part, self.table_xml(lay, self.new_table_id()))
        pkg.set_override(table_part, CT_TABLE)
        self.tables[table_part] = (0, out.table.name, lay.ref)
        table_rid = rid_new()
        new_rels.append((table_rid, REL_TABLE, relative(part, table_part)))
        # charts
        drawing_rid = None
        if out.charts:
            drawing_part = pkg.fresh_name("xl/drawings/drawing{}.xml")
            anchors, d_rels = [], []
            for k, spec in enumerate(out.charts, start=1):
                src = layouts.get(spec.source_sheet.lower())
                if src is None:
                    raise SopError(
                        f"chart {spec.title!r} reads sheet '{spec.source_sheet}', which is not "
                        "written in the same call",
                        fix="write the source sheet together with the chart's sheet",
                    )
                try:
                    xml = chart_xml(spec, src)
                except KeyError as e:
                    raise SopError(f"chart {spec.title!r} names unknown column {e}") from None
                chart_part = pkg.fresh_name("xl/charts/chart{}.xml")
                pkg.write(chart_part, xml)
                pkg.set_override(chart_part, CT_CHART)
                d_rels.append((f"rId{k}", REL_CHART, relative(drawing_part, chart_part)))
                anchors.append((spec.anchor, spec.width_cm, spec.height_cm, f"rId{k}"))
            pkg.write(drawing_part, drawing_xml(anchors))
            pkg.write(rels_name(drawing_part), rels_xml(d_rels))
            pkg.set_override(drawing_part, CT_DRAWING)
            drawing_rid = rid_new()
            new_rels.append((drawing_rid, REL_DRAWING, relative(part, drawing_part)))
        pkg.write(rels_name(part), rels_xml(keep_rels + new_rels))
        xml = self.worksheet_xml(lay, table_rid, drawing_rid)
        pkg.write(part, self.with_code_name(xml, code_name))

    def worksheet_xml(self, lay: Layout, table_rid: str, drawing_rid: str | None) -> str:
        out, st = lay.out, self.styles
        header_style, body_styles = self.cell_styles(lay)
        title_style = st.cell_style(None, TITLE_FONT)
        note_style = st.cell_style(None, NOTE_FONT)
        chunks: list[str] = []
        first = col_letter(lay.first_col)
        for i, line in enumerate(out.title, start=1):
            if i >= lay.header_row:
                break
            style = title_style if i == 1 else note_style
            cell = _text_cell(f"{first}{i}", line, style, self.sst)
            chunks.append(f'<row r="{i}">{cell}</row>')
        chunks.append(f'<row r="{lay.header_row}">{self.header_cells(lay, header_style)}</row>')
        body = body_rows(lay, body_styles, self.sst)
        if lay.n:
            rows = _row_numbers(lay.header_row + 1, lay.n)
            chunks.append("".join(('<row r="' + rows + '">' + body + "</row>").tolist()))
        top = lay.header_row + 1
        pane = (
            f'<pane ySplit="{lay.header_row}" topLeftCell="A{top}" activePane="bottomLeft" '
            f'state="frozen"/><selection pane="bottomLeft" activeCell="A{top}" sqref="A{top}"/>'
        )
        cols = "".join(
            f'<col min="{c}" max="{c}" width="{w:.2f}" customWidth="1"/>'
            for c, w in enumerate(self.widths(lay), start=lay.first_col)
        )
        tab = f'<tabColor rgb="FF{out.tab_color}"/>' if out.tab_color else ""
        fit = '<pageSetUpPr fitToPage="1"/>' if out.fit_to_width else ""
        sheet_pr = f"<sheetPr>{tab}{fit}</sheetPr>" if tab or fit else ""
        page_setup = (
            f'<pageSetup orientation="{"landscape" if out.landscape else "portrait"}"'
            + (
                f' fitToWidth="1" fitToHeight="{1 if out.fit_to_height else 0}"'
                if out.fit_to_width
                else ""
            )
            + "/>"
        )
        dim = range_ref(1, 1, lay.last_col, lay.last_row)
        cf = "".join(cf_blocks(lay, st, 1))
        ignored = (
            f'<ignoredErrors><ignoredError sqref="{lay.ref}" numberStoredAsText="1"/>'
            "</ignoredErrors>"
        )
        drawing = f'<drawing r:id="{drawing_rid}"/>' if drawing_rid else ""
        return (
            f'{XML_DECL}<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">{sheet_pr}'
            f'<dimension ref="{dim}"/><sheetViews><sheetView workbookViewId="0">{pane}'
            f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
            f"<sheetData>{''.join(chunks)}</sheetData>{cf}"
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
            'footer="0.3"/>'
            f"{page_setup}{ignored}{drawing}"
            f'<tableParts count="1"><tablePart r:id="{table_rid}"/></tableParts>'
            "</worksheet>"
        )

    def _delete_part(self, part: str) -> None:
        self.pkg.delete(part)
        self.pkg.delete(rels_name(part))
        self.pkg.remove_override(part)

    def render_input(self, lay: Layout) -> None:
        """Replace the rows of an existing input table, keeping the sheet's decoration."""
        if lay.out.charts:
            raise SopError(
                f"charts cannot be added to input sheet '{lay.out.sheet}'",
                fix="put the charts on an output sheet",
            )
        rewrite_input_sheet(self, lay)

    def set_print_area(self, lay: Layout) -> None:
        """Replace the sheet's ``_xlnm.Print_Area`` (or drop it) in workbook.xml."""
        sheet = self.sheet(lay.out.sheet)  # as the workbook spells it (any letter case)
        assert sheet is not None, lay.out.sheet  # planned or written by now
        index = self.sheets.index(sheet)
        xml = _without_print_area(self.wb_xml, index)
        columns = lay.out.print_columns
        if columns:
            # bounded (openpyxl and others refuse whole-column print areas), charts included
            last = f"{col_letter(lay.first_col + columns - 1)}${print_last_row(lay)}"
            ref = f"{sheet_ref(sheet.name)}!$A$1:${last}"
            name = (
                f'<definedName name="_xlnm.Print_Area" localSheetId="{index}">'
                f"{escape(ref)}</definedName>"
            )
            xml = _with_defined_name(xml, name)
        at = xml.find("definedNames")  # an empty block (valid, but not as Excel writes) goes
        m = _NO_NAMES_RE.match(xml, xml.rfind("<", 0, at)) if at >= 0 else None
        if m is not None:
            xml = xml[: m.start()] + xml[m.end() :]
        if xml != self.wb_xml:
            self.wb_xml = xml
            self.pkg.write(self.wb_part, xml)

    def finish(self) -> None:
        pkg = self.pkg
        if self.styles.changed:
            pkg.write(self._styles_part(), self.styles.render())
        self.sst.finish()
        self.set_calc_pr()
        if self.drop_calc_chain:
            # Excel rebuilds a missing calculation chain; a stale one makes it repair the file.
            for r in pkg.rels(self.wb_part):
                if r.type == REL_CALC_CHAIN and r.part:
                    pkg.remove_rels(self.wb_part, {r.id})
                    self._delete_part(r.part)

    def code_name_of(self, part: str | None) -> str | None:
        """The ``codeName`` of an existing sheet part (kept when the sheet is regenerated)."""
        if part is None or not self.pkg.exists(part):
            return None
        head = self.pkg.head(part).decode("utf-8", errors="replace")
        m = _SHEET_PR_RE.search(head)
        return attr(m.group(0), "codeName") if m else None

    def with_code_name(self, xml: str, code_name: str | None) -> str:
        """A generated worksheet with its ``codeName``: the old one when regenerated, else (in a
        macro workbook) the first free ``SheetN``. Excel names every sheet of a VBA project
        this way and builds the document module of a sheet whose module is missing when it
        opens the file (docs/excel.md, "Sheets sop_xl adds to the macro workbook")."""
        if code_name is None:
            if not any(r.type.endswith("/vbaProject") for r in self.pkg.rels(self.wb_part)):
                return xml
            if self.code_names is None:
                self.code_names = {
                    (self.code_name_of(s.part) or "").lower() for s in self.sheets if s.part
                } | {"thisworkbook"}
            n = 1
            while f"sheet{n}" in self.code_names:
                n += 1
            code_name = f"Sheet{n}"
        if self.code_names is not None:
            self.code_names.add(code_name.lower())
        m = _SHEET_PR_RE.search(xml)
        if m is None:  # no sheetPr: it is the worksheet's first child
            i = xml.index(">", xml.index("<worksheet")) + 1
            return xml[:i] + f"<sheetPr codeName={quoteattr(code_name)}/>" + xml[i:]
        return xml[: m.start()] + set_attr(m.group(0), "codeName", code_name) + xml[m.end() :]

    def set_calc_pr(self) -> None:
        """Full recalculation on open only where cached formula values may be stale: a sheet we
        rewrote had formulas, Excel kept a calculation chain (formulas exist and may read the
        cells we wrote), or the flag was set and some sheet still has formulas."""
        pkg = self.pkg
        recalc = self.drop_calc_chain or any(
            r.type == REL_CALC_CHAIN for r in pkg.rels(self.wb_part)
        )
        if not recalc and re.search(r'fullCalcOnLoad="(?:1|true)"', self.wb_xml):
            recalc = any(
                s.part is not None and pkg.exists(s.part) and has_formula(pkg.read(s.part))
                for s in self.sheets
            )
        xml = calc_pr_xml(self.wb_xml, recalc_on_load=recalc)
        if xml != self.wb_xml:
            self.wb_xml = xml
            pkg.write(self.wb_part, xml)


#: Relationship types of parts that belong to a worksheet's old cells (dropped on regeneration).
_SHEET_OWNED = ("/comments", "/vmlDrawing", "/threadedComment", "/printerSettings")


#: A sheet's ``<sheetPr>`` start tag under any namespace prefix (its ``codeName`` names the
#: sheet's VBA document module: one missed gives a regenerated sheet another module's name).
_SHEET_PR_RE = re.compile(rf"<{tag('sheetPr')}(?=[\s/>])[^>]*?/?>")


# workbook.xml's defined names under any namespace prefix (parts.tag; PREFIX where it is kept).
# Each is matched where a plain find of its name puts it: a pattern that starts with "<" and a
# prefix would try every "<" of a workbook.xml of many names.
_PRINT_AREA_RE = re.compile(rf"<{tag('definedName')}\s[^>]*>[^<]*</{tag('definedName')}\s*>")
_NO_NAMES_RE = re.compile(rf"<{tag('definedNames')}\s*>\s*</{tag('definedNames')}\s*>")
_DEFINED_NAMES_RE = re.compile(rf"<({PREFIX})definedNames(?=[\s/>])[^>]*?(/?)>")
_WORKBOOK_RE = re.compile(rf"<({PREFIX})workbook(?=[\s/>])")


def _without_print_area(xml: str, index: int) -> str:
    """``workbook.xml`` without the print area of sheet ``index`` (written as Excel and sop_xl
    write it: ``name`` then ``localSheetId``)."""
    key = f'name="_xlnm.Print_Area" localSheetId="{index}"'
    at = xml.find(key)
    while at >= 0:
        m = _PRINT_AREA_RE.match(xml, xml.rfind("<", 0, at))
        if m is not None and m.start() < at < m.end():
            return xml[: m.start()] + xml[m.end() :]
        at = xml.find(key, at + 1)
    return xml


def _with_defined_name(xml: str, name: str) -> str:
    """``workbook.xml`` with the ``<definedName>`` ``name`` first in its ``<definedNames>``
    (one made after ``<externalReferences>`` or ``<sheets>`` when there is none; an empty
    ``<definedNames/>`` opened, not followed by a second one), in the workbook's prefix."""
    at = xml.find("definedNames")
    m = _DEFINED_NAMES_RE.search(xml, xml.rfind("<", 0, at)) if at >= 0 else None
    if m is not None:
        p = m.group(1)
        if not m.group(2):
            return xml[: m.end()] + prefixed(name, p) + xml[m.end() :]
        block = f"<{p}definedNames>{prefixed(name, p)}</{p}definedNames>"
        return xml[: m.start()] + block + xml[m.end() :]
    w = _WORKBOOK_RE.search(xml)
    p = w.group(1) if w else ""
    block = f"<{p}definedNames>{prefixed(name, p)}</{p}definedNames>"
    for anchor in (f"</{p}externalReferences>", f"</{p}sheets>"):
        at = xml.find(anchor)
        if at >= 0:
            return xml[: at + len(anchor)] + block + xml[at + len(anchor) :]
    return xml  # no <sheets>: not a workbook sop_xl wrote a sheet into


def _check_sheet_name(name: str) -> None:
    if not name or len(name) > 31 or re.search(r"[\[\]:*?/\\]", name) or name.startswith("'"):
        raise SopError(
            f"'{name}' is not a valid Excel sheet name",
            fix="use at most 31 characters and none of [ ] : * ? / \\",
        )


# --- public API -----------------------------------------------------------------------------------
def write_sheets(
    src: str | Path, outputs: Sequence[SheetOutput], dst: str | Path | None = None
) -> dict[str, int]:
    """Render each SheetOutput into workbook ``src``, saving atomically to ``dst`` (default: src,
    replaced via a temp file in the same folder + ``os.replace``). All or nothing.

    Only the written sheets' parts (worksheet, table, drawing, chart) and appended style entries
    change; every other part of the package is copied byte for byte.

    Returns the header row of each output written as a whole sheet, by sheet name: its frame's
    rows are the rows right below, in order. An input table rewritten in place among its
    sheet's decoration is not in it.
    """
    src = Path(src)
    dst = Path(dst) if dst is not None else src
    outputs = list(outputs)
    seen: set[str] = set()
    for out in outputs:
        if out.sheet.lower() in seen:
            raise SopError(
                "the same sheet is written twice in one call",
                where=Location(file=src.name, sheet=out.sheet),
            )
        seen.add(out.sheet.lower())
    if not src.is_file():
        raise SopError("workbook not found", where=Location(file=str(src)), fix="check the path")
    try:
        pkg = Package(src)
    except SopError:  # e.g. a part held twice: already a located, plain message
        raise
    except Exception as e:
        raise SopError(
            f"cannot open the workbook as .xlsx/.xlsm ({e})",
            where=Location(file=src.name),
            fix="save it from Excel as .xlsx or .xlsm",
        ) from e
    with pkg:
        writer = _Writer(pkg, src.name)
        layouts: dict[str, Layout] = {}
        for out in outputs:
            with _where(src, out):
                layouts[out.sheet.lower()] = writer.plan(out)
        for out in outputs:
            lay = layouts[out.sheet.lower()]
            with _where(src, out):
                if lay.mode == "input":
                    writer.render_input(lay)
                else:
                    writer.render_full(lay, layouts)
                    writer.set_print_area(lay)
        writer.finish()
        _atomic_save(pkg, dst)  # the source is closed before the rename (needed on Windows)
    return {
        out.sheet: lay.header_row
        for out in outputs
        if (lay := layouts[out.sheet.lower()]).mode != "input"
    }


@contextlib.contextmanager
def _where(src: Path, out: SheetOutput):
    """Make every error name the workbook and sheet."""
    try:
        yield
    except SopError as e:
        if e.where.sheet is None and e.where.file is None:
            w = e.where
            where = Location(src.name, out.sheet, out.table.name, w.row, w.column, w.cell)
            raise type(e)(e.message, where=where, fix=e.fix) from e
        raise
    except Exception as e:
        raise SopError(
            f"cannot write the sheet: {type(e).__name__}: {e}",
            where=Location(file=src.name, sheet=out.sheet, table=out.table.name),
        ) from e


def _atomic_save(pkg: Package, dst: Path) -> None:
    """Save the package through :func:`~sop_xl.io.files.atomic_path`; the source package is closed
    before the rename (Windows cannot replace a file that is still open)."""
    with atomic_path(dst.resolve()) as tmp:
        with open(tmp, "wb") as fp:
            pkg.save(fp)
        pkg.close()
