"""What every workbook sop_xl saves through openpyxl gets first: :func:`prepare`.

- Font children in the order of the Open XML SDK's ``Font`` class (b, i, strike, condense,
  extend, outline, shadow, u, vertAlign, sz, color, name, family, charset, scheme). ECMA-376
  declares ``CT_Font`` a choice in any order; the SDK validator (and so Microsoft's own
  tooling) expects this sequence, and openpyxl writes ``name`` first and ``sz`` after
  ``color``. Excel itself writes this order.
- ``calcPr`` by :func:`sop_xl.io.xlsx.calc.set_calc`: a current ``calcId`` and no forced full
  recalculation unless the caller says cached formula values may be stale.
- Numbers written exactly: openpyxl 3.1 writes a cell's number with ``"%.16g"``, which changes
  some doubles (``0.011337255928211448`` is saved as ``0.01133725592821145``, another number);
  :func:`use_exact_numbers` makes it write Python's shortest text that reads back as the same
  double.

and after the save (:func:`save` does all three):

- Shared strings: openpyxl 3.1 writes every text as an inline string (``t="inlineStr"``), which
  Excel moves to the shared-strings table on its first save (so it asks to save a file nobody
  changed) and the SDK validator reports. :func:`sop_xl.io.xlsx.sst.share_strings` moves them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from openpyxl.compat import safe_string

from sop_xl.io.xlsx.calc import set_calc
from sop_xl.io.xlsx.sst import share_strings

#: ``DocumentFormat.OpenXml.Spreadsheet.Font`` child order.
SDK_FONT_ORDER = ("b", "i", "strike", "condense", "extend", "outline", "shadow", "u",
                  "vertAlign", "sz", "color", "name", "family", "charset", "scheme")  # fmt: skip


def use_sdk_font_order() -> None:
    """Make openpyxl serialise ``<font>`` children in :data:`SDK_FONT_ORDER` (process-wide;
    openpyxl reads fonts in any order, so only the written order changes)."""
    from openpyxl.styles.fonts import Font

    if tuple(Font.__elements__) != SDK_FONT_ORDER:
        assert set(Font.__elements__) == set(SDK_FONT_ORDER), Font.__elements__
        Font.__elements__ = SDK_FONT_ORDER


def _exact_string(value: Any) -> str:
    """openpyxl's ``safe_string`` for a cell value, a float written so it reads back exactly."""
    text = safe_string(value)
    if isinstance(value, float) and math.isfinite(value) and float(text) != value:
        return repr(value)  # the shortest text that reads back exactly: '0.011337255928211448'
    return text  # as openpyxl writes it ('12', '0.95'): the same bytes as before


def use_exact_numbers() -> None:
    """Make openpyxl write cell numbers that read back as the same double (process-wide; only
    the cell writer's number text changes)."""
    from openpyxl.cell import _writer

    _writer.safe_string = _exact_string


def prepare(wb: Any, *, recalc_on_load: bool = False) -> None:
    """Call right before ``wb.save``: SDK font order, exact numbers and the calcPr rule."""
    use_sdk_font_order()
    use_exact_numbers()
    set_calc(wb, recalc_on_load=recalc_on_load)


def save(wb: Any, path: str | Path, *, recalc_on_load: bool = False) -> None:
    """``wb.save(path)`` as every openpyxl workbook of sop_xl is saved: :func:`prepare` first,
    then texts moved to the shared-strings table. ``path`` is the temp file of an atomic save."""
    prepare(wb, recalc_on_load=recalc_on_load)
    wb.save(path)
    share_strings(path)
