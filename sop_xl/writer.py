"""Write declared output sheets into an existing .xlsx/.xlsm by editing only the parts we own.

``write_sheets(src, outputs, dst)`` renders each :class:`~sop_xl.sheets.SheetOutput` into the
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

Cells are built as XML strings with vectorised numpy/pandas operations. Text is always written as
inline strings (``t="inlineStr"``), so text such as ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd
from defusedxml.ElementTree import fromstring

from sop_xl.errors import Location, SopError
from sop_xl.schema import Column, Dtype
from sop_xl.sheets import CellRule, ChartSpec, DataBar, FormulaRule, IconRule, SheetOutput
from sop_xl.xlsx_parts import (
    CT_CHART,
    CT_DRAWING,
    CT_TABLE,
    CT_WORKSHEET,
    NS_MAIN,
    NS_REL,
    REL_CALC_CHAIN,
    REL_CHART,
    REL_DRAWING,
    REL_TABLE,
    REL_WORKSHEET,
    XML_DECL,
    Package,
    insert_before_close,
    relative,
    rels_name,
    rels_xml,
)

__all__ = ["write_sheets"]

TABLE_STYLE = "TableStyleMedium2"
MAX_TEXT = 32767  # Excel's limit of characters in a cell
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"
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
_BUILTIN_FORMATS = {
    "General": 0,
    "0": 1,
    "0.00": 2,
    "#,##0": 3,
    "#,##0.00": 4,
    "0%": 9,
    "0.00%": 10,
    "@": 49,
}
_FONT = '<name val="Calibri"/><family val="2"/>'
TITLE_FONT = f'<font><b/><sz val="14"/>{_FONT}</font>'
NOTE_FONT = f'<font><i/><sz val="10"/><color rgb="FF595959"/>{_FONT}</font>'
HEADER_FONT = f'<font><b/><sz val="11"/><color rgb="FFFFFFFF"/>{_FONT}</font>'
HEADER_FILL = (
    '<fill><patternFill patternType="solid"><fgColor rgb="FF1F4E78"/>'
    '<bgColor indexed="64"/></patternFill></fill>'
)
# worksheet children that come after <conditionalFormatting> (ECMA-376 order)
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


# --- small helpers --------------------------------------------------------------------------------
def col_letter(n: int) -> str:
    """1 -> A, 27 -> AA."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


_CELL_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")


def parse_cell(ref: str) -> tuple[int, int]:
    """'B7' -> (column 2, row 7)."""
    m = _CELL_RE.fullmatch(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return col_number(m.group(1)), int(m.group(2))


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """'A1:C9' -> (c1, r1, c2, r2)."""
    a, _, b = ref.partition(":")
    c1, r1 = parse_cell(a)
    c2, r2 = parse_cell(b) if b else (c1, r1)
    return c1, r1, c2, r2


def range_ref(c1: int, r1: int, c2: int, r2: int) -> str:
    return f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"


def _sheet_ref(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


@functools.cache
def _attr_re(name: str) -> re.Pattern[str]:
    return re.compile(r"\s" + name + r"\s*=\s*([\"'])(.*?)\1", flags=re.S)


def _attr(tag_text: str, name: str) -> str | None:
    m = _attr_re(name).search(tag_text)
    return m.group(2) if m else None


def _set_attr(tag_text: str, name: str, value: str) -> str:
    pat = r"(\s" + name + r"\s*=\s*)([\"'])(.*?)\2"
    if re.search(pat, tag_text, flags=re.S):
        return re.sub(
            pat, lambda m: f"{m.group(1)}{quoteattr(value)}", tag_text, count=1, flags=re.S
        )
    end = tag_text.rstrip().endswith("/>")
    cut = len(tag_text.rstrip()) - (2 if end else 1)
    return f"{tag_text[:cut]} {name}={quoteattr(value)}{tag_text[cut:]}"


# --- styles ---------------------------------------------------------------------------------------
class Styles:
    """Append-only editor of ``xl/styles.xml``: existing entries keep their index, identical new
    entries are reused (so repeated writes do not grow the file)."""

    _SECTIONS: ClassVar[dict[str, str]] = {
        "numFmts": "numFmt",
        "fonts": "font",
        "fills": "fill",
        "cellXfs": "xf",
        "dxfs": "dxf",
    }

    def __init__(self, xml: str):
        self.xml = xml
        m = re.search(r"<(\w+:)?styleSheet\b", xml)
        self.p = (m.group(1) or "") if m else ""
        self.items: dict[str, list[str]] = {}
        self.new: dict[str, list[str]] = {k: [] for k in self._SECTIONS}
        for sec, child in self._SECTIONS.items():
            inner = self._inner(sec)
            pat = rf"<{self.p}{child}\b[^>]*?/>|<{self.p}{child}\b[^>]*>.*?</{self.p}{child}>"
            self.items[sec] = re.findall(pat, inner or "", flags=re.S)
        self.changed = False

    def _inner(self, sec: str) -> str | None:
        m = re.search(rf"<{self.p}{sec}\b[^>]*?(?:/>|>(.*?)</{self.p}{sec}>)", self.xml, flags=re.S)
        return None if m is None else (m.group(1) or "")

    def _pre(self, frag: str) -> str:
        return re.sub(r"<(/?)(\w)", rf"<\1{self.p}\2", frag) if self.p else frag

    def _add(self, sec: str, frag: str) -> int:
        frag = self._pre(frag)
        allitems = self.items[sec] + self.new[sec]
        if frag in allitems:
            return allitems.index(frag)
        self.new[sec].append(frag)
        self.changed = True
        return len(allitems)

    def font(self, frag: str) -> int:
        return self._add("fonts", frag)

    def fill(self, frag: str) -> int:
        return self._add("fills", frag)

    def dxf(self, frag: str) -> int:
        return self._add("dxfs", frag)

    def numfmt(self, code: str) -> int:
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code]
        ids = []
        for el in self.items["numFmts"] + self.new["numFmts"]:
            fid = int(_attr(el, "numFmtId") or 0)
            ids.append(fid)
            if _unescape_attr(_attr(el, "formatCode") or "") == code:
                return fid
        fid = max([163, *ids]) + 1
        self.new["numFmts"].append(
            self._pre(f'<numFmt numFmtId="{fid}" formatCode={quoteattr(code)}/>')
        )
        self.changed = True
        return fid

    def xf(self, numfmt: int = 0, font: int = 0, fill: int = 0) -> int:
        frag = f'<xf numFmtId="{numfmt}" fontId="{font}" fillId="{fill}" borderId="0" xfId="0"'
        frag += ' applyNumberFormat="1"' if numfmt else ""
        frag += ' applyFont="1"' if font else ""
        frag += ' applyFill="1"' if fill else ""
        return self._add("cellXfs", frag + "/>")

    def cell_style(
        self, number_format: str | None, font: str | None = None, fill: str | None = None
    ) -> int:
        return self.xf(
            self.numfmt(number_format) if number_format else 0,
            self.font(font) if font else 0,
            self.fill(fill) if fill else 0,
        )

    def render(self) -> str:
        xml = self.xml
        p = self.p
        for sec in self._SECTIONS:
            if not self.new[sec]:
                continue
            count = len(self.items[sec]) + len(self.new[sec])
            m = re.search(rf"<{p}{sec}\b([^>]*?)(/>|>(.*?)</{p}{sec}>)", xml, flags=re.S)
            if m is None:
                block = f'<{p}{sec} count="{count}">{"".join(self.new[sec])}</{p}{sec}>'
                xml = _insert_styles_section(xml, p, sec, block)
                continue
            open_tag = _set_attr(f"<{p}{sec}{m.group(1)}>", "count", str(count))
            inner = (m.group(3) or "") + "".join(self.new[sec])
            xml = xml[: m.start()] + open_tag + inner + f"</{p}{sec}>" + xml[m.end() :]
        return xml


def _unescape_attr(v: str) -> str:
    return v.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_STYLE_ORDER = [
    "numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
    "tableStyles", "colors", "extLst",
]  # fmt: skip


def _insert_styles_section(xml: str, p: str, sec: str, block: str) -> str:
    for later in _STYLE_ORDER[_STYLE_ORDER.index(sec) + 1 :]:
        m = re.search(rf"<{p}{later}\b", xml)
        if m:
            return xml[: m.start()] + block + xml[m.start() :]
    return insert_before_close(xml, "styleSheet", block)


def _dxf(fill: str | None, font: str | None, bold: bool) -> str:
    f = ""
    if font or bold:
        f = (
            "<font>"
            + ("<b/>" if bold else "")
            + (f'<color rgb="FF{font}"/>' if font else "")
            + "</font>"
        )
    if fill:
        f += f'<fill><patternFill><bgColor rgb="FF{fill}"/></patternFill></fill>'
    return f"<dxf>{f}</dxf>"


# --- the display frame ----------------------------------------------------------------------------
@dataclass
class Layout:
    """Where and what one SheetOutput writes."""

    out: SheetOutput
    columns: list[Column]  # display columns, left to right
    frame: pd.DataFrame  # display values, one column per display column (positional)
    mode: str = "new"  # new | regen | input
    sheet_part: str | None = None
    table_part: str | None = None  # existing table part holding the table (input mode)
    header_row: int = 1
    first_col: int = 1

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def last_row(self) -> int:
        return self.header_row + max(self.n, 1)

    @property
    def last_col(self) -> int:
        return self.first_col + len(self.columns) - 1

    @property
    def ref(self) -> str:
        return range_ref(self.first_col, self.header_row, self.last_col, self.last_row)

    def col_index(self, name: str) -> list[int]:
        """Sheet column numbers of engine column ``name`` (all period columns for a wide value)."""
        t = self.out.table
        idx = [i for i, c in enumerate(self.columns) if c.name == name]
        if not idx and t.layout == "wide" and t.value is not None and name == t.value.name:
            idx = list(range(len(t.columns), len(self.columns)))
        if not idx:
            raise KeyError(name)
        return [self.first_col + i for i in idx]


def display_frame(out: SheetOutput) -> tuple[list[Column], pd.DataFrame]:
    """The columns and values as they appear on the sheet (wide tables pivoted)."""
    t = out.table
    df = out.df
    need = [c.name for c in t.long_columns]
    missing = [n for n in need if n not in df.columns]
    if missing:
        raise SopError(
            f"the data for table {t.name} lacks column(s) {', '.join(missing)}",
            fix="this is a bug in the step that produced the sheet; please report it",
        )
    if t.layout != "wide":
        frame = df[need].reset_index(drop=True)
        return list(t.columns), frame
    assert t.value is not None
    ids = t.names
    long = df[[*ids, "period", t.value.name]].copy()
    long["period"] = long["period"].astype(str)
    dup = long.duplicated([*ids, "period"], keep=False)
    if dup.any():
        first = long[dup].iloc[0]
        raise SopError(
            f"table {t.name} has {int(dup.sum())} rows repeating the same "
            f"{', '.join(ids)} and period (first: {', '.join(str(first[i]) for i in ids)}, "
            f"{first['period']})",
            fix="aggregate the rows before writing",
        )
    keys = [k for k in (t.keys or tuple(ids)) if k in ids]
    if long.empty:
        wide = pd.DataFrame({c: pd.Series([], dtype=object) for c in ids})
        periods: list[str] = []
    else:
        grouped = long.set_index([*ids, "period"])[t.value.name]
        wide = grouped.unstack("period")
        periods = sorted(wide.columns)
        wide = wide[periods].reset_index()
        wide = wide.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)
    pcols = [
        Column(name=p, header=p, dtype=t.value.dtype, required=False, width=t.value.width)
        for p in periods
    ]
    return [*t.columns, *pcols], wide[[*ids, *periods]]


# --- cells ----------------------------------------------------------------------------------------
def _num_strings(arr: np.ndarray) -> np.ndarray:
    """Finite float array -> shortest decimal strings (integers without '.0')."""
    out = np.empty(arr.shape, dtype=object)
    if not len(arr):
        return out
    integral = (arr == np.trunc(arr)) & (np.abs(arr) < 1e15)
    # Python's str/repr give the shortest round-tripping text, ~2x faster than numpy's astype(str)
    out[integral] = list(map(str, arr[integral].astype(np.int64).tolist()))
    rest = ~integral
    if rest.any():
        out[rest] = list(map(repr, arr[rest].tolist()))
    return out


def _row_numbers(first: int, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = list(map(str, range(first, first + n)))
    return out


def _to_float(s: pd.Series, what: str) -> np.ndarray:
    try:
        num = pd.to_numeric(s, errors="raise")
    except (ValueError, TypeError):
        bad = pd.to_numeric(s, errors="coerce").isna() & s.notna()
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SopError(
            f"{what}: value {s.iloc[i]!r} in data row {i + 1} is not a number",
            fix="this is a bug in the step that produced the sheet; please report it",
        ) from None
    return np.asarray(num.to_numpy(dtype="float64", na_value=np.nan), dtype=float)


def _to_serial(s: pd.Series, what: str) -> np.ndarray:
    try:
        d = pd.to_datetime(s, errors="raise")
    except (ValueError, TypeError) as e:
        raise SopError(f"{what}: {e}", fix="give dates as datetime values") from None
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_localize(None)
    delta = (d - EXCEL_EPOCH) / pd.Timedelta(days=1)
    return np.asarray(delta.to_numpy(dtype="float64", na_value=np.nan), dtype=float)


_ILLEGAL_RE = re.compile(_ILLEGAL_XML)
_ILLEGAL_NO_NUL_RE = re.compile(_ILLEGAL_XML.replace("\\x00", "\\x01"))
_EDGE_SPACE_RE = re.compile(r"(?:^|\x00)\s|\s(?:\x00|$)")
_XESC_RE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def _escape_texts(values: list[str]) -> list[str]:
    """XML-escape many texts at once: join on NUL (illegal in XML, so never in the output), run
    each replacement once over the big string in C, split back. Also strips characters illegal
    in XML 1.0, keeps carriage returns (``&#13;``) and protects literal ``_xHHHH_`` sequences,
    which Excel would otherwise decode as escaped characters."""
    if not values:
        return []
    big = "\x00".join(values)
    if big.count("\x00") != len(values) - 1:  # a value holds NUL itself: strip it first
        values = [v.replace("\x00", "") for v in values]
        big = "\x00".join(values)
    big = _ILLEGAL_NO_NUL_RE.sub("", big)
    big = big.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    big = big.replace("\r", "&#13;")
    if "_x" in big:
        big = _XESC_RE.sub("_x005F_", big)
    return big.split("\x00")


def text_values(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(mask of non-empty cells, ``<is>`` XML for them)."""
    arr = s.to_numpy(dtype=object)
    mask = ~pd.isna(arr)
    raw = [v if isinstance(v, str) else str(v) for v in arr[mask].tolist()]
    esc = np.empty(len(raw), dtype=object)
    esc[:] = _escape_texts(raw)
    keep = esc != ""
    if not keep.all():  # empty after stripping: no cell
        idx = np.flatnonzero(mask)
        mask[idx[~keep]] = False
        raw = [r for r, k in zip(raw, keep.tolist(), strict=True) if k]
        esc = esc[keep]
    if max(map(len, raw), default=0) > MAX_TEXT:
        raise ValueError(f"text longer than {MAX_TEXT} characters (Excel's cell limit)")
    if _EDGE_SPACE_RE.search("\x00".join(esc.tolist())):  # rare: text starting/ending in space
        space = np.fromiter(
            (e[:1].isspace() or e[-1:].isspace() for e in esc.tolist()), dtype=bool, count=len(esc)
        )
        vals = np.where(
            space,
            '<is><t xml:space="preserve">' + esc + "</t></is>",
            "<is><t>" + esc + "</t></is>",
        ).astype(object)
    else:
        vals = "<is><t>" + esc + "</t></is>"
    return mask, vals


def column_cells(
    s: pd.Series, col: Column, letter: str, rows: np.ndarray, style: int, what: str
) -> np.ndarray:
    """One object array of ``<c>`` XML per row ('' for an empty cell)."""
    n = len(s)
    out = np.full(n, "", dtype=object)
    if n == 0:
        return out
    pre = f'<c r="{letter}'
    if pd.api.types.is_bool_dtype(s.dtype):
        arr = s.to_numpy(dtype=object)
        mask = ~pd.isna(arr)
        v = np.where(arr[mask].astype(bool), "1", "0").astype(object)
        out[mask] = pre + rows[mask] + f'" s="{style}" t="b"><v>' + v + "</v></c>"
        return out
    if col.dtype in (Dtype.TEXT, Dtype.PERIOD):
        try:
            mask, v = text_values(s)
        except ValueError as e:
            raise SopError(f"{what}: {e}", fix="shorten the text") from None
        out[mask] = pre + rows[mask] + f'" s="{style}" t="inlineStr">' + v + "</c>"
        return out
    arr = _to_serial(s, what) if col.dtype in (Dtype.DATE, Dtype.DATETIME) else _to_float(s, what)
    mask = np.isfinite(arr)
    out[mask] = pre + rows[mask] + f'" s="{style}"><v>' + _num_strings(arr[mask]) + "</v></c>"
    return out


def _text_cell(ref: str, text: str, style: int) -> str:
    sp = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return (
        f'<c r="{ref}" s="{style}" t="inlineStr"><is><t{sp}>{_escape_texts([text])[0]}</t></is></c>'
    )


def body_rows(lay: Layout, styles: list[int], wb: str) -> np.ndarray:
    """Per data row: the concatenated ``<c>`` XML of the table's cells."""
    n = lay.n
    acc = np.full(n, "", dtype=object)
    if n == 0:
        return acc
    rows = _row_numbers(lay.header_row + 1, n)
    for j, col in enumerate(lay.columns):
        what = f"file {wb}, sheet '{lay.out.sheet}', column '{col.header}'"
        acc = acc + column_cells(
            lay.frame.iloc[:, j], col, col_letter(lay.first_col + j), rows, styles[j], what
        )
    return acc


# --- conditional formats --------------------------------------------------------------------------
def cf_blocks(lay: Layout, styles: Styles, priority: int) -> list[str]:
    """``<conditionalFormatting>`` elements for the SheetOutput's rules over the data body."""
    blocks = []
    first, last = lay.header_row + 1, lay.last_row
    for rule in lay.out.conditional_formats:
        try:
            cols = lay.col_index(rule.column)
        except KeyError:
            raise SopError(
                f"conditional format on unknown column {rule.column!r}",
                fix="use an engine column name of the table",
            ) from None
        sqref = " ".join(range_ref(c, first, c, last) for c in cols)
        if isinstance(rule, CellRule):
            dxf = styles.dxf(_dxf(rule.fill, rule.font, rule.bold))
            body = "".join(f"<formula>{escape(v)}</formula>" for v in rule.values)
            xml = (
                f'<cfRule type="cellIs" dxfId="{dxf}" priority="{priority}" '
                f"operator={quoteattr(rule.operator)}>{body}</cfRule>"
            )
        elif isinstance(rule, FormulaRule):
            dxf = styles.dxf(_dxf(rule.fill, rule.font, rule.bold))

            def cell(m: re.Match[str], rule: FormulaRule = rule) -> str:
                try:
                    return f"${col_letter(lay.col_index(m.group(1))[0])}{first}"
                except KeyError:
                    raise SopError(
                        f"formula {rule.formula!r} names unknown column {m.group(1)!r}",
                        fix="use engine column names in {placeholders}",
                    ) from None

            formula = re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", cell, rule.formula)
            xml = (
                f'<cfRule type="expression" dxfId="{dxf}" priority="{priority}">'
                f"<formula>{escape(formula)}</formula></cfRule>"
            )
        elif isinstance(rule, IconRule):
            cfvo = "".join(f'<cfvo type="num" val="{v:g}"/>' for v in rule.thresholds)
            opts = (' reverse="1"' if rule.reverse else "") + (
                "" if rule.show_value else ' showValue="0"'
            )
            xml = (
                f'<cfRule type="iconSet" priority="{priority}">'
                f"<iconSet iconSet={quoteattr(rule.icon_set)}{opts}>{cfvo}</iconSet></cfRule>"
            )
        elif isinstance(rule, DataBar):
            xml = (
                f'<cfRule type="dataBar" priority="{priority}"><dataBar><cfvo type="min"/>'
                f'<cfvo type="max"/><color rgb="FF{rule.color}"/></dataBar></cfRule>'
            )
        else:  # pragma: no cover - guarded by the type
            raise SopError(f"unknown conditional format {rule!r}")
        blocks.append(f'<conditionalFormatting sqref="{sqref}">{xml}</conditionalFormatting>')
        priority += 1
    return blocks


# --- charts ---------------------------------------------------------------------------------------
def chart_xml(spec: ChartSpec, src: Layout) -> str:
    """Chart part XML (via openpyxl's chart model) over ``src``'s table."""
    from openpyxl.chart import BarChart, LineChart, Series
    from openpyxl.chart.data_source import AxDataSource, NumRef, StrRef
    from openpyxl.chart.series import SeriesLabel
    from openpyxl.xml.functions import tostring

    sheet = _sheet_ref(src.out.sheet)
    first, last = src.header_row + 1, src.last_row

    def rng(c: int, r1: int, r2: int) -> str:
        return f"{sheet}!${col_letter(c)}${r1}:${col_letter(c)}${r2}"

    chart = LineChart() if spec.kind == "line" else BarChart()
    if spec.kind != "line":
        chart.type = "bar" if spec.kind == "bar" else "col"
    chart.title = spec.title
    xcol = src.col_index(spec.x)[0]
    xdtype = src.columns[xcol - src.first_col].dtype
    for name in spec.series:
        for c in src.col_index(name):
            s = Series(rng(c, first, last), title=None)
            s.tx = SeriesLabel(strRef=StrRef(f"{sheet}!${col_letter(c)}${src.header_row}"))
            if xdtype in (Dtype.TEXT, Dtype.PERIOD):
                s.cat = AxDataSource(strRef=StrRef(rng(xcol, first, last)))
            else:
                s.cat = AxDataSource(numRef=NumRef(rng(xcol, first, last)))
            chart.series.append(s)
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    if spec.y_format:
        chart.y_axis.number_format = spec.y_format
    if spec.y_title:
        chart.y_axis.title = spec.y_title
    chart.legend.position = "b"
    return XML_DECL + tostring(chart._write()).decode("utf-8")


def drawing_xml(anchors: list[tuple[str, float, float, str]]) -> str:
    """Drawing part with one chart frame per (anchor, width_cm, height_cm, rel id)."""
    parts = []
    for i, (anchor, w, h, rid) in enumerate(anchors, start=1):
        c, r = parse_cell(anchor)
        parts.append(
            f"<xdr:oneCellAnchor><xdr:from><xdr:col>{c - 1}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{r - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
            f'<xdr:ext cx="{round(w * 360000)}" cy="{round(h * 360000)}"/>'
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{i + 1}" '
            f'name="Chart {i}"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>'
            '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic>'
            '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
            '<c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
            f'r:id="{rid}"/></a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/>'
            "</xdr:oneCellAnchor>"
        )
    return (
        XML_DECL + '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/'
        'spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{NS_REL}">' + "".join(parts) + "</xdr:wsDr>"
    )


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
        self.drop_calc_chain = False
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
            _text_cell(f"{col_letter(lay.first_col + j)}{lay.header_row}", c.header, styles[j])
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
                    lens = lay.frame.iloc[:2000, j].dropna().astype(str).str.len()
                    if len(lens):
                        est = max(est, float(lens.max()) + 2)
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
            if _has_formula(pkg.text(part)):
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
        pkg.write(part, self.worksheet_xml(lay, table_rid, drawing_rid))

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
            chunks.append(f'<row r="{i}">{_text_cell(f"{first}{i}", line, style)}</row>')
        chunks.append(f'<row r="{lay.header_row}">{self.header_cells(lay, header_style)}</row>')
        body = body_rows(lay, body_styles, self.wb_name)
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
        sheet_pr = (
            f'<sheetPr><tabColor rgb="FF{out.tab_color}"/></sheetPr>' if out.tab_color else ""
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
            f'{ignored}{drawing}<tableParts count="1"><tablePart r:id="{table_rid}"/></tableParts>'
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

    def finish(self) -> None:
        pkg = self.pkg
        if self.styles.changed:
            pkg.write(self._styles_part(), self.styles.render())
        if self.drop_calc_chain:
            # Excel rebuilds a missing calculation chain; a stale one makes it repair the file.
            for r in pkg.rels(self.wb_part):
                if r.type == REL_CALC_CHAIN and r.part:
                    pkg.remove_rels(self.wb_part, {r.id})
                    self._delete_part(r.part)


#: Relationship types of parts that belong to a worksheet's old cells (dropped on regeneration).
_SHEET_OWNED = ("/comments", "/vmlDrawing", "/threadedComment", "/printerSettings")


def _has_formula(xml: str) -> bool:
    return re.search(r"<(?:\w+:)?f[\s>/]", xml) is not None


def _check_sheet_name(name: str) -> None:
    if not name or len(name) > 31 or re.search(r"[\[\]:*?/\\]", name) or name.startswith("'"):
        raise SopError(
            f"'{name}' is not a valid Excel sheet name",
            fix="use at most 31 characters and none of [ ] : * ? / \\",
        )


# --- public API -----------------------------------------------------------------------------------
def write_sheets(
    src: str | Path, outputs: Sequence[SheetOutput], dst: str | Path | None = None
) -> None:
    """Render each SheetOutput into workbook ``src``, saving atomically to ``dst`` (default: src,
    replaced via a temp file in the same folder + ``os.replace``). All or nothing.

    Only the written sheets' parts (worksheet, table, drawing, chart) and appended style entries
    change; every other part of the package is copied byte for byte.
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
        writer.finish()
        _atomic_save(pkg, dst)  # the source is closed before the rename (needed on Windows)


@contextlib.contextmanager
def _where(src: Path, out: SheetOutput):
    """Make every error name the workbook and sheet."""
    try:
        yield
    except SopError as e:
        if e.where.sheet is None and e.where.file is None:
            raise SopError(
                e.message,
                where=Location(file=src.name, sheet=out.sheet, table=out.table.name),
                fix=e.fix,
            ) from e
        raise
    except Exception as e:
        raise SopError(
            f"cannot write the sheet: {type(e).__name__}: {e}",
            where=Location(file=src.name, sheet=out.sheet, table=out.table.name),
        ) from e


def _atomic_save(pkg: Package, dst: Path) -> None:
    """Write to a temp file in dst's folder, fsync, close the source package, then os.replace;
    on any failure the temp file is deleted and dst is left as it was."""
    dst = dst.resolve()
    fd, tmp = tempfile.mkstemp(prefix=".~" + dst.stem[:20] + ".", suffix=".tmp", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as fp:
            pkg.save(fp)
            fp.flush()
            os.fsync(fp.fileno())
        pkg.close()  # Windows cannot replace a file that is still open
        if dst.exists():
            os.chmod(tmp, stat.S_IMODE(dst.stat().st_mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        try:
            os.replace(tmp, dst)
        except PermissionError as e:
            raise SopError(
                f"cannot replace the workbook ({e.strerror})",
                where=Location(file=dst.name),
                fix="close the workbook in Excel and try again",
            ) from e
        if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX), best effort
            with contextlib.suppress(OSError):
                dir_fd = os.open(dst.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --- input sheets: replace the table's rows only --------------------------------------------------
_C_RE = re.compile(r"<(?:\w+:)?c\b[^>]*?(?:/>|>.*?</(?:\w+:)?c>)", re.S)
_VALUE_RE = re.compile(r"<(?:\w+:)?(?:v|is|f)\b")
_CREF_RE = re.compile(r"<(?:\w+:)?c\b[^>]*?\sr=\"([A-Z]+)(\d+)\"")


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
    def tag(m: re.Match[str]) -> str:
        t = m.group(0)
        sq = _attr(t, "sqref")
        return t if sq is None else _set_attr(t, "sqref", _resize_sqref(sq, old, new_last))

    xml = re.sub(r"<(?:\w+:)?(?:conditionalFormatting|dataValidation)\b[^>]*>", tag, xml)
    return re.sub(
        r"(<(\w+:)?sqref>)(.*?)(</\2sqref>)",
        lambda m: m.group(1) + _resize_sqref(m.group(3), old, new_last) + m.group(4),
        xml,
        flags=re.S,
    )


def _retable(tx: str, lay: Layout) -> str:
    """Table part XML with the new ref, autoFilter ref and column names."""
    m = re.search(r"<(\w+:)?table\b[^>]*>", tx)
    assert m is not None
    tp = m.group(1) or ""
    if (_attr(m.group(0), "totalsRowCount") or "0") != "0":
        raise SopError(
            f"table {lay.out.table.name} has a total row, which sop_xl cannot resize",
            fix="turn off the Total Row of the table (Table Design > Total Row)",
        )
    tx = tx[: m.start()] + _set_attr(m.group(0), "ref", lay.ref) + tx[m.end() :]
    tx = re.sub(
        rf"<{tp}autoFilter\b[^>]*>", lambda a: _set_attr(a.group(0), "ref", lay.ref), tx, count=1
    )
    tx = re.sub(rf"<{tp}sortState\b[^>]*/>", "", tx)
    tx = re.sub(rf"<{tp}sortState\b.*?</{tp}sortState>", "", tx, flags=re.S)
    cm = re.search(rf"<{tp}tableColumns\b[^>]*?(?:/>|>(.*?)</{tp}tableColumns>)", tx, flags=re.S)
    assert cm is not None
    old = re.findall(
        rf"<{tp}tableColumn\b[^>]*?/>|<{tp}tableColumn\b[^>]*>.*?</{tp}tableColumn>",
        cm.group(1) or "",
        flags=re.S,
    )
    by_name = {_unescape_attr(_attr(_open_tag(e), "name") or ""): e for e in old}
    next_id = max([0, *(int(_attr(_open_tag(e), "id") or 0) for e in old)]) + 1
    cols = []
    for c in lay.columns:
        if c.header in by_name:
            cols.append(by_name[c.header])
        else:
            cols.append(f'<{tp}tableColumn id="{next_id}" name={quoteattr(c.header)}/>')
            next_id += 1
    block = f'<{tp}tableColumns count="{len(cols)}">{"".join(cols)}</{tp}tableColumns>'
    return tx[: cm.start()] + block + tx[cm.end() :]


def _row_spans(inner: str, p: str) -> list[tuple[int, int, int]]:
    """(row number, start, end) of each ``<row>`` in sheetData's text, found from the opening tags
    only (a row ends where the next one starts), so big sheets are not scanned cell by cell."""
    # a literal prefix ("<row") lets the regex engine jump between rows at C speed
    row_open = re.compile("<" + re.escape(p) + r"row\b([^>]*)>")
    starts = [(m.start(), m.group(1)) for m in row_open.finditer(inner)]
    spans = []
    for i, (pos, attrs) in enumerate(starts):
        rv = _attr(" " + attrs, "r")
        if rv is None:
            raise SopError("the worksheet has rows without numbers", fix="re-save it from Excel")
        end = starts[i + 1][0] if i + 1 < len(starts) else len(inner)
        spans.append((int(rv), pos, end))
    return spans


def rewrite_input_sheet(w: _Writer, lay: Layout) -> None:
    """Replace the header and body rows of an existing input table on its decorated sheet."""
    pkg = w.pkg
    part, table_part = lay.sheet_part, lay.table_part
    assert part is not None and table_part is not None
    xml = pkg.text(part)
    sd = re.search(r"<(\w+:)?sheetData\b[^>]*?(/?)>", xml)
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
            col, _ = parse_cell(_attr(tag, "r") or "")
            if oc1 <= col <= oc2 and r <= old_last:  # a cell of the old table
                if r == r1 and _attr(tag, "s"):
                    head_s[col] = _attr(tag, "s") or "0"
                elif r == r1 + 1 and _attr(tag, "s"):
                    body_s[col] = _attr(tag, "s") or "0"
            elif c1 <= col <= c2 and r <= new_last:  # where the new table goes
                if not tag.endswith("/>") and _VALUE_RE.search(cell):
                    raise SopError(
                        f"the table {lay.out.table.name} now spans "
                        f"{range_ref(c1, r1, c2, new_last)} and would overwrite cell "
                        f"{_attr(tag, 'r')} next to it",
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
    body = body_rows(lay, bodies, w.wb_name)
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
    gen = "".join(t for _, t in kept[:split]) + block + "".join(t for _, t in kept[split:])
    if p:
        gen = re.sub(r"<(/?)(?!\w+:)(\w)", rf"<\1{p}\2", gen)
    before, after = xml[: sd.start()], xml[sd_end:]
    dim = range_ref(min(dim_cols), min(dim_rows), max(dim_cols), max(dim_rows))
    before = re.sub(
        r"<(?:\w+:)?dimension\b[^>]*>", lambda m: _set_attr(m.group(0), "ref", dim), before, count=1
    )
    after = _resize_ranges(after, old, new_last)
    # the SheetOutput's own conditional formats, unless an identical rule is already there
    prios = [int(x) for x in re.findall(r"<(?:\w+:)?cfRule\b[^>]*?\spriority=\"(\d+)\"", after)]
    norm = lambda s: re.sub(r'\s(?:priority|dxfId)="\d+"', "", s)  # noqa: E731
    existing = {
        norm(b)
        for b in re.findall(
            r"<(?:\w+:)?conditionalFormatting\b.*?</(?:\w+:)?conditionalFormatting>",
            after,
            flags=re.S,
        )
    }
    new_cf = [b for b in cf_blocks(lay, w.styles, max([0, *prios]) + 1) if norm(b) not in existing]
    if new_cf:
        frag = "".join(new_cf)
        if p:
            frag = re.sub(r"<(/?)(\w)", rf"<\1{p}\2", frag)
        m = re.search(r"<(?:\w+:)?(?:" + "|".join(_AFTER_CF) + r")\b|</(?:\w+:)?worksheet>", after)
        pos = m.start() if m else len(after)
        after = after[:pos] + frag + after[pos:]
    pkg.write(part, f"{before}<{p}sheetData>{gen}</{p}sheetData>{after}")
    pkg.write(table_part, _retable(pkg.text(table_part), lay))
    w.tables[table_part] = (w.tables[table_part][0], lay.out.table.name, lay.ref)
