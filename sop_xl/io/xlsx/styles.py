"""Styles and conditional formats of written sheets: an append-only editor of ``xl/styles.xml``
(cell formats, fonts, fills, number formats, dxfs) and the ``<conditionalFormatting>`` XML of the
declared rules (:mod:`sop_xl.model.sheets`).
"""

from __future__ import annotations

import functools
import re
from typing import ClassVar

from sop_xl.errors import SopError
from sop_xl.io.xlsx.cells import Layout
from sop_xl.io.xlsx.parts import (
    NCNAME,
    PREFIX,
    escape,
    insert_before_close,
    prefixed,
    quoteattr,
    tag,
)
from sop_xl.io.xlsx.refs import attr, col_letter, range_ref, set_attr, unescape_attr
from sop_xl.model.sheets import CellRule, DataBar, FormulaRule, IconRule

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


# --- styles ---------------------------------------------------------------------------------------
_STYLESHEET_RE = re.compile(rf"<({PREFIX})styleSheet(?=[\s/>])")


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
        m = _STYLESHEET_RE.search(xml)
        self.p = (m.group(1) or "") if m else ""
        self.items: dict[str, list[str]] = {}
        #: each section's own prefix (the stylesheet's for a section not there yet): a part may
        #: prefix its root and not its sections, or the reverse; new entries take their section's
        self.prefix: dict[str, str] = {}
        self.new: dict[str, list[str]] = {k: [] for k in self._SECTIONS}
        for sec, child in self._SECTIONS.items():
            m = _find_section(xml, sec)
            self.prefix[sec] = self.p if m is None else m.group(1)[: -len(sec)]
            inner = "" if m is None else (m.group(3) or "")
            if ":" in inner and ":" + child in inner:
                self.items[sec] = [e.group(0) for e in _entry(child, True).finditer(inner)]
            else:
                self.items[sec] = _entry(child, False).findall(inner)
        self.changed = False

    def _pre(self, frag: str, sec: str) -> str:
        return prefixed(frag, self.prefix[sec])

    def _add(self, sec: str, frag: str) -> int:
        frag = self._pre(frag, sec)
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
            fid = int(attr(el, "numFmtId") or 0)
            ids.append(fid)
            if unescape_attr(attr(el, "formatCode") or "") == code:
                return fid
        fid = max([163, *ids]) + 1
        self.new["numFmts"].append(
            self._pre(f'<numFmt numFmtId="{fid}" formatCode={quoteattr(code)}/>', "numFmts")
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
        for sec in self._SECTIONS:
            if not self.new[sec]:
                continue
            count = len(self.items[sec]) + len(self.new[sec])
            m = _find_section(xml, sec)
            p = self.prefix[sec] if m is None else m.group(1)[: -len(sec)]
            if m is None:
                block = f'<{p}{sec} count="{count}">{"".join(self.new[sec])}</{p}{sec}>'
                xml = _insert_styles_section(xml, sec, block)
                continue
            open_tag = set_attr(f"<{p}{sec}{m.group(2)}>", "count", str(count))
            inner = (m.group(3) or "") + "".join(self.new[sec])
            xml = xml[: m.start()] + open_tag + inner + f"</{p}{sec}>" + xml[m.end() :]
        return xml


_STYLE_ORDER = [
    "numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
    "tableStyles", "colors", "extLst",
]  # fmt: skip


# Sections and entries under any prefix: the bare name tried first (as parts.tag does), and only
# the bare name when the text holds no ":name" at all (a pattern that starts with its literal
# name is scanned for at C speed; one that may start with a prefix is tried at every "<").
def _find_section(xml: str, sec: str) -> re.Match[str] | None:
    """The section ``sec`` of the stylesheet ``xml`` (:func:`_section`): the bare name looked
    for first (a stylesheet holds each section once)."""
    m = _section(sec, False).search(xml)
    if m is None and ":" + sec in xml:
        m = _section(sec, True).search(xml)
    return m


@functools.cache
def _section(sec: str, any_prefix: bool) -> re.Pattern[str]:
    """A section of the stylesheet (``fonts``...): its name as written (``a.b:fonts``; group
    1), the rest of its start tag (group 2), its content (group 3; None when it is empty)."""
    name, end = (rf"{sec}|{NCNAME}:{sec}", r"\1") if any_prefix else (sec, sec)
    return re.compile(rf"<({name})(?=[\s/>])([^>]*?)(?:/>|>(.*?)</{end}\s*>)", re.S)


@functools.cache
def _entry(child: str, any_prefix: bool) -> re.Pattern[str]:
    """One entry of a section (``<font>...</font>``, ``<xf .../>``)."""
    if not any_prefix:  # no group: findall gives the entries
        return re.compile(rf"<{child}(?=[\s/>])(?:[^>]*?/>|[^>]*>.*?</{child}\s*>)", re.S)
    name = rf"{child}|{NCNAME}:{child}"
    return re.compile(rf"<({name})(?=[\s/>])(?:[^>]*?/>|[^>]*>.*?</\1\s*>)", re.S)


def _insert_styles_section(xml: str, sec: str, block: str) -> str:
    for later in _STYLE_ORDER[_STYLE_ORDER.index(sec) + 1 :]:
        m = re.search(rf"<{tag(later)}(?=[\s/>])", xml)
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
