"""The whole xlwings seam: the open workbook in Excel as a :class:`~sop_xl.model.book.Book`.

Everything Excel-specific the ribbon needs is here and nothing else: find a table (ListObject),
read its cells, write a table, set the status bar, show a message. Typing and validation are the
shared reader's (:func:`sop_xl.io.reader.coerce`), so a table reads the same from Excel as from a
file. Only a few calls of xlwings' public API are used (``sheets``, ``tables``, ``range``,
``value``, ``number_format``, ``resize``, ``app.status_bar``, ``app.alert``), so tests can stand in
a small fake for Excel.

A table that the DataSources sheet points to a file (a transaction table beyond the grid, the
forecast archive) is read from that file, and the archive written to it, as the file reader does
(:mod:`sop_xl.io.external`): the path is relative to the saved workbook's folder.

Writes: every grid is prepared (and any data problem raised) before the first cell changes; the
sheets are then written with screen updating off. Number formats come from the schema.
Conditional formats and charts of a :class:`~sop_xl.model.sheets.SheetOutput` are not drawn by this
adapter (the file writer draws them; see docs/excel.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sop_xl.model.book import Coerced, RawTable
from sop_xl.model.schema import DATA_SOURCES, SETTINGS, Column, Settings, Table
from sop_xl.model.sheets import SheetOutput

if TYPE_CHECKING:
    from sop_xl.io.external import Source

_FORMULA_START = ("=", "+", "-", "@")


class XlBook:
    """An xlwings ``Book`` (the workbook that called the macro) seen as a ``Book``."""

    def __init__(self, book: Any) -> None:
        from sop_xl.io.reader import TableCache

        self.xl = book
        self.name: str = book.name
        self._tables = TableCache()
        self._sources: dict[str, Source] | None = None

    # -- finding things ---------------------------------------------------------------------
    @property
    def fullname(self) -> str:
        """Full path of the workbook file ('' or a bare name when it was never saved)."""
        return str(self.xl.fullname)

    def _sheet(self, name: str) -> Any | None:
        return next((s for s in self.xl.sheets if s.name.casefold() == name.casefold()), None)

    def _table(self, sheet: Any, name: str) -> Any | None:
        return next((t for t in sheet.tables if t.name.casefold() == name.casefold()), None)

    @property
    def path(self) -> None:
        """Always ``None``: the open workbook is the truth and its saved file may be stale, so no
        step reads the file behind Excel's back (see :attr:`Book.path`)."""
        return None

    def has_table(self, table: Table) -> bool:
        return table.name in self.sources() or self._has_own(table)

    def _has_own(self, table: Table) -> bool:
        sheet = self._sheet(table.sheet)
        return sheet is not None and self._table(sheet, table.name) is not None

    def sources(self) -> dict[str, Source]:
        """Tables this workbook reads from files (its DataSources sheet), by table name."""
        from sop_xl.io import external

        return external.readable(self._resolved())

    def _resolved(self) -> dict[str, Source]:
        """Every usable DataSources row, the files sop_xl writes but has not created yet too.
        The DataSources table is read (one transfer) and kept with a finding for each row that
        points nowhere, which validation reports."""
        if self._sources is None:
            from sop_xl.io import external
            from sop_xl.io.reader import coerce

            self._sources = {}
            if self._has_own(DATA_SOURCES):
                rows = coerce(DATA_SOURCES, self.read_raw(DATA_SOURCES))
                full = Path(self.fullname)
                base = full.parent if full.is_absolute() else None  # never saved: no folder
                self._sources, findings = external.sources(rows.df, base, self.name)
                rows.findings.extend(findings)
                self._tables.coerced(DATA_SOURCES, lambda _table: rows)
        return self._sources

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.xl.sheets]

    # -- reading ----------------------------------------------------------------------------
    def read_raw(self, table: Table) -> RawTable:
        """Header and body cells of the table, as the shared reader expects them."""
        from sop_xl.errors import Location, SchemaError

        sheet = self._sheet(table.sheet)
        found = self._table(sheet, table.name) if sheet is not None else None
        if found is None:
            raise SchemaError(
                f"the table {table.name} is missing.",
                where=Location(file=self.name, sheet=table.sheet),
                fix="Rebuild the workbook from the standard template (sop-xl build-workbook).",
            )
        rng = found.range
        values = rng.options(ndim=2).value or [[]]
        return RawTable(
            header=list(values[0]),
            rows=[list(r) for r in values[1:]],
            sheet=sheet.name,
            file=self.name,
            header_row=rng.row,
            first_col=rng.column,
        )

    def read_coerced(self, table: Table) -> Coerced:
        """Typed good rows plus every finding (each table transferred once per macro run)."""
        return self._tables.coerced(table, self._read)

    def read_table(self, table: Table) -> pd.DataFrame:
        return self._tables.frame(table, self._read)

    def _read(self, table: Table) -> Coerced:
        """One table from its file (DataSources) or from its sheet."""
        from sop_xl.io import external
        from sop_xl.io.reader import coerce

        source = self.sources().get(table.name)  # the first call reads DataSources, and keeps it
        if source is not None:
            self.progress(f"Reading {table.title} from {source.path.name}")
            return external.read_external(source)
        if table in self._tables:  # DataSources, with its findings, as sources() read it
            return self._tables.coerced(table, self._read)
        result = coerce(table, self.read_raw(table))
        moving = external.moving(self._resolved(), table, self.name)
        if moving is not None:
            result.findings.append(moving)
        return result

    def read_settings(self) -> Settings:
        from sop_xl.errors import Location
        from sop_xl.io.filebook import settings_from_frame

        return settings_from_frame(self.read_table(SETTINGS), Location(self.name, SETTINGS.sheet))

    # -- writing ----------------------------------------------------------------------------
    def write(self, outputs: Sequence[SheetOutput]) -> None:
        """Write every output sheet: grids first (may raise), then cells, screen frozen. A
        table kept in a file it writes (the forecast archive) goes to that file first."""
        from sop_xl.io import external

        outputs = external.write_files(outputs, self._resolved())
        grids = [(out, *to_grid(out)) for out in outputs]
        app = self.xl.app
        updating, calculation = app.screen_updating, app.calculation
        app.screen_updating, app.calculation = False, "manual"  # no redraw/recalc per sheet
        try:
            for out, columns, grid in grids:
                self._write_one(out, columns, grid)
        finally:
            sheets = {out.sheet for out in outputs}
            self._tables.forget(sheets)
            if DATA_SOURCES.sheet in sheets:
                self._sources = None
            app.screen_updating, app.calculation = updating, calculation

    def _write_one(self, out: SheetOutput, columns: list[Column], grid: list[list[Any]]) -> None:
        sheet = self._sheet(out.sheet)
        if sheet is None:
            sheet = self.xl.sheets.add(out.sheet, after=self.xl.sheets[len(self.xl.sheets) - 1])
        table = self._table(sheet, out.table.name)
        # An existing table stays where the user has it (Excel cannot move a table's header).
        top, left = (table.range.row, table.range.column) if table else (out.header_row, 1)
        width, n = len(grid[0]), len(grid) - 1
        if out.title and len(out.title) < top:
            sheet.range((1, left), (top - 1, left)).clear_contents()
            lines = [[_as_text(line)] for line in out.title]
            sheet.range((1, left), (len(lines), left)).value = lines  # one transfer
            sheet.range((1, left)).font.bold = True
        if table is not None:
            table.range.clear_contents()
        sheet.range((top, left)).value = grid
        body_rows = max(n, 1)  # a table keeps at least one (blank) body row
        span = sheet.range((top, left), (top + body_rows, left + width - 1))
        if table is None:
            sheet.tables.add(source=span, name=out.table.name)
        else:
            table.resize(span)
        if n:  # one call per run of neighbouring columns that share a number format
            for first, last, fmt in format_runs([c.number_format for c in columns]):
                cells = sheet.range((top + 1, left + first), (top + n, left + last))
                cells.number_format = fmt
        for j, column in enumerate(columns, start=left):
            if column.name in out.column_widths:
                sheet.range((top, j)).column_width = out.column_widths[column.name]

    # -- talking to the user ----------------------------------------------------------------
    def progress(self, message: str, fraction: float | None = None) -> None:
        text = f"S&OP: {message}" + ("" if fraction is None else f" ({fraction:.0%})")
        self.xl.app.status_bar = text

    def clear_status(self) -> None:
        self.xl.app.status_bar = False  # hands the status bar back to Excel

    def alert(self, message: str, title: str = "S&OP", *, error: bool = False) -> None:
        self.xl.app.alert(message, title=title, mode="critical" if error else "info")

    def save(self) -> None:
        self.xl.save()


# --- grids (pure pandas, no Excel) ----------------------------------------------------------------
def to_grid(out: SheetOutput) -> tuple[list[Column], list[list[Any]]]:
    """The sheet's columns and its header + rows as Excel shows them.

    The layout is the file writer's (:func:`sop_xl.io.writer.display_frame`: wide tables pivoted,
    periods across, same row order), so Excel and the file get the same table. Blanks become
    None and text that Excel would parse as a formula (``=HYPERLINK(...)``) is kept as text
    with a leading apostrophe.
    """
    from sop_xl.io.writer import display_frame

    columns, frame = display_frame(out)
    frame = frame.copy()
    for c in frame.columns:
        s = frame[c]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            looks_like_formula = s.astype("str").str.startswith(_FORMULA_START) & s.notna()
            frame[c] = s.astype(object).mask(looks_like_formula, "'" + s.astype("str"))
    values = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return columns, [[c.header for c in columns], *values]


def format_runs(formats: Sequence[str]) -> list[tuple[int, int, str]]:
    """``(first, last, format)`` for each run of equal neighbouring formats (0-based, inclusive)."""
    runs: list[tuple[int, int, str]] = []
    for j, fmt in enumerate(formats):
        if runs and runs[-1][2] == fmt and runs[-1][1] == j - 1:
            runs[-1] = (runs[-1][0], j, fmt)
        else:
            runs.append((j, j, fmt))
    return runs


def _as_text(value: Any) -> Any:
    """A string Excel would parse as a formula, kept as text (leading apostrophe)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
