"""Declarative output sheets: what a cycle step wants on a sheet, not how to write it.

A step returns :class:`SheetOutput` objects (a declared :class:`~sop_xl.model.schema.Table`, a
DataFrame in the engine's long form, and optional title lines, conditional formats and charts).
Writers render them: ``workbook.FileBook`` into the file's XML parts, the Excel adapter through
xlwings. Number formats come from the table's column types, so a step never spells a format.

Formula placeholders: in :class:`FormulaRule.formula`, ``{name}`` stands for the cell of column
``name`` in the first data row with the column absolute and the row relative (``$G5``), so one rule
covers the whole column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from sop_xl.model.schema import Table

# Finance-friendly palette (Excel's own "Good / Neutral / Bad" styles).
GREEN_FILL, GREEN_FONT = "C6EFCE", "006100"
AMBER_FILL, AMBER_FONT = "FFEB9C", "9C5700"
RED_FILL, RED_FONT = "FFC7CE", "9C0006"
GREY_FILL, GREY_FONT = "EDEDED", "595959"


@dataclass(frozen=True)
class CellRule:
    """Highlight cells of ``column`` whose value compares with ``values`` (Excel formulas).

    ``operator``: greaterThan, lessThan, greaterThanOrEqual, lessThanOrEqual, equal, notEqual,
    between, notBetween. Text values are quoted Excel strings: ``'"Green"'``.
    """

    column: str
    operator: str
    values: tuple[str, ...]
    fill: str | None = None
    font: str | None = None
    bold: bool = False


@dataclass(frozen=True)
class FormulaRule:
    """Highlight cells of ``column`` where ``formula`` (with ``{name}`` placeholders) is true."""

    column: str
    formula: str
    fill: str | None = None
    font: str | None = None
    bold: bool = False


@dataclass(frozen=True)
class IconRule:
    """An icon set on a numeric ``column`` (e.g. 3 traffic lights at 1/2/3)."""

    column: str
    icon_set: str = "3TrafficLights1"
    thresholds: tuple[float, ...] = (0, 2, 3)  # numbers, type "num"
    reverse: bool = False
    show_value: bool = True


@dataclass(frozen=True)
class DataBar:
    """A data bar on a numeric ``column``."""

    column: str
    color: str = "638EC6"


ConditionalFormat = CellRule | FormulaRule | IconRule | DataBar


@dataclass(frozen=True)
class ChartSpec:
    """A native Excel chart over a table written in the same write call.

    ``source_sheet`` names the SheetOutput whose table holds the data; ``x`` is its category
    column and ``series`` the value columns (one line/bar each). ``anchor`` is the top-left cell.
    """

    kind: Literal["line", "bar", "column"]
    title: str
    source_sheet: str
    x: str
    series: tuple[str, ...]
    anchor: str
    width_cm: float = 16.0
    height_cm: float = 7.5
    y_format: str | None = None  # e.g. "0%" or "#,##0"
    y_title: str | None = None
    #: chart only the first this many data rows (None: all)
    rows: int | None = None
    #: bar/column: series stacked on each other (a waterfall's base + rise + fall)
    stacked: bool = False
    #: series drawn without fill and left out of the legend (a waterfall's invisible base)
    hidden: tuple[str, ...] = ()
    y_min: float | None = None  # the value axis starts here (None: the application decides)


@dataclass
class SheetOutput:
    """One sheet to (re)write: a declared table and its rows, plus presentation.

    ``df`` has the table's engine column names (for wide tables: the long form with ``period`` and
    the value column; the writer pivots periods across). ``title`` lines are written above the
    table (first line large and bold); ``start_row`` is the header row of the table, 1-based, and
    defaults to just below the title lines plus one blank row.
    """

    table: Table
    df: pd.DataFrame
    title: list[str] = field(default_factory=list)
    conditional_formats: list[ConditionalFormat] = field(default_factory=list)
    charts: list[ChartSpec] = field(default_factory=list)
    tab_color: str | None = None
    start_row: int | None = None
    column_widths: dict[str, float] = field(default_factory=dict)
    #: printing: landscape pages, all columns on one page wide (rows flow onto more pages)
    landscape: bool = True
    fit_to_width: bool = True
    #: printing: the whole sheet, charts included, on one page (an executive one-pager)
    fit_to_height: bool = False
    #: print only the first N columns of the sheet (an Excel print area); None prints all
    print_columns: int | None = None

    @property
    def sheet(self) -> str:
        return self.table.sheet

    @property
    def header_row(self) -> int:
        if self.start_row is not None:
            return self.start_row
        return len(self.title) + 2 if self.title else 1
