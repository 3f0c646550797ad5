"""The whole xlwings seam: the open workbook in Excel as a :class:`~sop_xl.book.Book`.

Everything Excel-specific the ribbon needs is here and nothing else: find a table (ListObject),
read its cells, write a table, set the status bar, show a message. Typing and validation are the
shared reader's (:func:`sop_xl.reader.coerce`), so a table reads the same from Excel as from a
file. Only a few calls of xlwings' public API are used (``sheets``, ``tables``, ``range``,
``value``, ``number_format``, ``resize``, ``app.status_bar``, ``app.alert``), so tests can stand in
a small fake for Excel.

Writes: every grid is prepared (and any data problem raised) before the first cell changes; the
sheets are then written with screen updating off. Number formats come from the schema.
Conditional formats and charts of a :class:`~sop_xl.sheets.SheetOutput` are not drawn by this
adapter (the file writer draws them; see docs/excel.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from sop_xl.schema import SETTINGS, Settings, Table
from sop_xl.sheets import SheetOutput

_FORMULA_START = ("=", "+", "-", "@")


class XlBook:
    """An xlwings ``Book`` (the workbook that called the macro) seen as a ``Book``."""

    def __init__(self, book: Any) -> None:
        self.xl = book
        self.name: str = book.name

    # -- finding things ---------------------------------------------------------------------
    @property
    def fullname(self) -> str:
        """Full path of the workbook file ('' or a bare name when it was never saved)."""
        return str(self.xl.fullname)

    def _sheet(self, name: str) -> Any | None:
        return next((s for s in self.xl.sheets if s.name.casefold() == name.casefold()), None)

    def _table(self, sheet: Any, name: str) -> Any | None:
        return next((t for t in sheet.tables if t.name.casefold() == name.casefold()), None)

    def has_table(self, table: Table) -> bool:
        sheet = self._sheet(table.sheet)
        return sheet is not None and self._table(sheet, table.name) is not None

    # -- reading ----------------------------------------------------------------------------
    def read_raw(self, table: Table):  # -> sop_xl.reader.RawTable
        """Header and body cells of the table, as the shared reader expects them."""
        from sop_xl import reader
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
        return reader.RawTable(
            header=list(values[0]),
            rows=[list(r) for r in values[1:]],
            sheet=sheet.name,
            file=self.name,
            header_row=rng.row,
            first_col=rng.column,
        )

    def read_table(self, table: Table) -> pd.DataFrame:
        from sop_xl import reader

        return reader.to_frame(table, self.read_raw(table))

    def read_settings(self) -> Settings:
        from sop_xl.errors import Location
        from sop_xl.workbook import settings_from_frame

        return settings_from_frame(self.read_table(SETTINGS), Location(self.name, SETTINGS.sheet))

    # -- writing ----------------------------------------------------------------------------
    def write(self, outputs: Sequence[SheetOutput]) -> None:
        """Write every output sheet: grids first (may raise), then cells, screen frozen."""
        grids = [(out, to_grid(out)) for out in outputs]
        app = self.xl.app
        updating = app.screen_updating
        app.screen_updating = False
        try:
            for out, grid in grids:
                self._write_one(out, grid)
        finally:
            app.screen_updating = updating

    def _write_one(self, out: SheetOutput, grid: list[list[Any]]) -> None:
        sheet = self._sheet(out.sheet)
        if sheet is None:
            sheet = self.xl.sheets.add(out.sheet, after=self.xl.sheets[len(self.xl.sheets) - 1])
        top, width, n = out.header_row, len(grid[0]), len(grid) - 1
        if out.title and top > 1:
            sheet.range((1, 1), (top - 1, 1)).clear_contents()
            for i, line in enumerate(out.title, start=1):
                sheet.range((i, 1)).value = _as_text(line)
            sheet.range((1, 1)).font.bold = True
        table = self._table(sheet, out.table.name)
        if table is not None:
            table.range.clear_contents()
        sheet.range((top, 1)).value = grid
        body_rows = max(n, 1)  # a table keeps at least one (blank) body row
        span = sheet.range((top, 1), (top + body_rows, width))
        if table is None:
            sheet.tables.add(source=span, name=out.table.name)
        else:
            table.resize(span)
        if n:
            for j, fmt in enumerate(_formats(out.table, grid[0]), start=1):
                sheet.range((top + 1, j), (top + n, j)).number_format = fmt
        for j, header in enumerate(grid[0], start=1):
            name = _name_of(out.table, header)
            if name in out.column_widths:
                sheet.range((top, j)).column_width = out.column_widths[name]

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
def to_grid(out: SheetOutput) -> list[list[Any]]:
    """Header + rows as Excel shows them: wide tables pivoted (periods across), text that looks
    like a formula kept as text, blanks as None. Uses ``sop_xl.writer.to_grid`` when it exists,
    so the file writer and Excel lay tables out the same way."""
    try:
        from sop_xl.writer import to_grid as shared  # type: ignore[attr-defined]
    except ImportError:
        shared = None
    if shared is not None:
        header, rows = _split(shared(out.table, out.df))
    else:
        header, rows = _grid(out.table, out.df)
    return [header, *rows]


def _split(grid: Any) -> tuple[list[Any], list[list[Any]]]:
    if isinstance(grid, tuple):
        return list(grid[0]), [list(r) for r in grid[1]]
    grid = list(grid)
    return list(grid[0]), [list(r) for r in grid[1:]]


def _grid(table: Table, df: pd.DataFrame) -> tuple[list[Any], list[list[Any]]]:
    if table.layout == "wide":
        assert table.value is not None
        ids = [c.name for c in table.columns]
        key = df.groupby(ids, dropna=False, sort=False).ngroup()
        keyed = df.assign(_k=key.to_numpy())
        periods = sorted(str(p) for p in keyed["period"].dropna().unique())
        wide = keyed.pivot(index="_k", columns="period", values=table.value.name)
        rows = keyed.drop_duplicates("_k").set_index("_k")[ids]
        frame = rows.join(wide.reindex(columns=periods)).sort_index()
        header = [*table.headers, *periods]
    else:
        frame = df.reindex(columns=[c.name for c in table.columns])
        header = list(table.headers)
    frame = frame.copy()
    for c in frame.columns:
        s = frame[c]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            looks_like_formula = s.astype("str").str.startswith(_FORMULA_START) & s.notna()
            frame[c] = s.astype(object).mask(looks_like_formula, "'" + s.astype("str"))
    return header, frame.astype(object).where(frame.notna(), None).to_numpy().tolist()


def _as_text(value: Any) -> Any:
    """A string Excel would parse as a formula, kept as text (leading apostrophe)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _name_of(table: Table, header: Any) -> str | None:
    for c in table.long_columns:
        if c.header == header:
            return c.name
    return None


def _formats(table: Table, header: list[Any]) -> list[str]:
    """Number format of each grid column: declared columns by header, periods by the value."""
    by_header = {c.header: c.number_format for c in table.columns}
    value_fmt = table.value.number_format if table.value is not None else "General"
    return [by_header.get(h, value_fmt) for h in header]
