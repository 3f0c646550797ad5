"""The workbook's calculation properties (``<calcPr>``, ECMA-376 Part 1, 18.2.2).

Two attributes decide whether Excel recalculates a file on open, which marks it changed and
asks "Save changes?" when the user closes it without touching anything:

- ``fullCalcOnLoad="1"``: recalculate every formula on open. Needed when a formula's cached
  value may be out of date (the workbook has formulas and we rewrote cells they may read); a
  nuisance everywhere else.
- ``calcId``: the calculation engine that last calculated the file. Excel recalculates fully
  when it is older than its own engine. openpyxl writes ``124519`` (Excel 2007) into every
  file, so Excel 2010+ recalculates every openpyxl file on open. We write ``191029``, the id
  Excel 2016 / 2019 / Microsoft 365 write themselves.

:func:`calc_pr_xml` is the one rule for part-level writers; :func:`set_calc` does the same for
an openpyxl workbook before it is saved.
"""

from __future__ import annotations

import re
from typing import Any

from sop_xl.io.xlsx.parts import PREFIX, PREFIX_B
from sop_xl.io.xlsx.refs import set_attr

#: The calculation engine id of Excel 2016, 2019, 2021 and Microsoft 365.
CALC_ID = 191029

_CALC_RE = re.compile(rf"<{PREFIX}calcPr(?=[\s/>])[^>]*?/?>")
#: workbook children that come after calcPr (CT_Workbook sequence)
_AFTER = ("oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
          "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst")  # fmt: skip


#: The start of a formula element's tag: ``<f`` under any namespace prefix
#: (:data:`~sop_xl.io.xlsx.parts.PREFIX_B`).
F_TAG = rb"<" + PREFIX_B + rb"f"
_FORMULA_RE = re.compile(F_TAG + rb"[\s>/]")
_AFTER_F_RE = re.compile(rb"[\s>/]")


def has_formula(xml: bytes) -> bool:
    """True when the worksheet XML ``xml`` (UTF-8 bytes, as read from the package: no need to
    decode megabytes) holds an ``<f>`` element under any prefix. Without a prefixed name (no
    ``:f``), only the few ``<f`` in the text are looked at (``bytes.find`` is several times
    faster than the pattern's search over a sheet of megabytes)."""
    if b":f" in xml:
        return _FORMULA_RE.search(xml) is not None
    at = xml.find(b"<f")
    while at >= 0:
        if _AFTER_F_RE.match(xml, at + 2):
            return True
        at = xml.find(b"<f", at + 2)
    return False


def calc_pr_xml(workbook_xml: str, *, recalc_on_load: bool) -> str:
    """``workbook.xml`` with ``calcId`` = :data:`CALC_ID` and ``fullCalcOnLoad`` set exactly when
    ``recalc_on_load`` (a ``calcPr`` is added when there is none and one is needed)."""
    m = _CALC_RE.search(workbook_xml)
    if m is None:
        if not recalc_on_load:
            return workbook_xml
        w = re.search(rf"<({PREFIX})workbook(?=[\s/>])", workbook_xml)
        p = w.group(1) if w else ""
        tag = f'<{p}calcPr calcId="{CALC_ID}" fullCalcOnLoad="1"/>'
        for later in _AFTER:
            a = re.search(rf"<{re.escape(p)}{later}\b", workbook_xml)
            if a is not None:
                return workbook_xml[: a.start()] + tag + workbook_xml[a.start() :]
        end = workbook_xml.rindex(f"</{p}workbook>")
        return workbook_xml[:end] + tag + workbook_xml[end:]
    tag = set_attr(m.group(0), "calcId", str(CALC_ID))
    if recalc_on_load:
        tag = set_attr(tag, "fullCalcOnLoad", "1")
    else:
        tag = re.sub(r'\s+fullCalcOnLoad="[^"]*"', "", tag)
    return workbook_xml[: m.start()] + tag + workbook_xml[m.end() :]


def set_calc(wb: Any, *, recalc_on_load: bool = False) -> None:
    """The same rule for an openpyxl workbook (call before ``wb.save``)."""
    from openpyxl.workbook.properties import CalcProperties

    calc = wb.calculation if wb.calculation is not None else CalcProperties()
    calc.calcId = CALC_ID
    calc.fullCalcOnLoad = True if recalc_on_load else None
    wb.calculation = calc
