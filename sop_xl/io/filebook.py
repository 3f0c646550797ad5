"""Workbook files: the :class:`~sop_xl.model.book.Book` the CLI, tests and schedulers use.

Reading goes through python-calamine (fast) after the safety guard; writing goes through
:mod:`sop_xl.io.writer`, which replaces only the worksheet and table parts it owns inside the zip
and
saves atomically (temp file, then rename), so a VBA project, a ribbon, charts, data validation and
other sheets survive byte for byte.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError as PydanticValidationError

from sop_xl.errors import Finding, Location, SchemaError, ValidationError
from sop_xl.io import external, guard, prefetch, reader, standby, tablestore
from sop_xl.io.files import atomic_path, sha256_file
from sop_xl.io.xlsx.parts import sheet_part_sizes
from sop_xl.model.book import Coerced, Progress, RawTable
from sop_xl.model.schema import DATA_SOURCES, SETTINGS, Settings, Table
from sop_xl.model.sheets import SheetOutput

#: pandas 3 copies a frame's data when either side changes it: a shallow copy is a snapshot
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


def quiet(message: str, fraction: float | None = None) -> None:
    """A progress callback that says nothing."""


class FileBook:
    """A workbook file on disk seen through the :class:`~sop_xl.model.book.Book` protocol.

    ``out``: where writes go (default: the file itself, replaced atomically). Reading an input
    never modifies it. ``read_ahead``: the click will read many tables (validation,
    :meth:`read_ahead`): a helper process (:mod:`sop_xl.io.standby`; ``helper``: one the click
    started already) shares the guard's scan of a file it has not seen, then reads tables ahead.
    Any other click starts none.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        out: str | Path | None = None,
        progress: Progress = quiet,
        limits: guard.Limits = guard.DEFAULT_LIMITS,
        read_ahead: bool = False,
        helper: standby.Standby | None = None,
    ) -> None:
        self.path = Path(path)
        self.out = Path(out) if out is not None else self.path
        self.name = self.path.name
        self._progress = progress
        self._limits = limits
        self._helper = helper if read_ahead else None
        self._prefetch: prefetch.Prefetch | None = None
        if helper is not None and not read_ahead:
            helper.dismiss()
        try:
            if read_ahead:
                self.info = tablestore.checked(
                    self.path, limits, before_scan=self._standby, share=self._share
                )
            else:
                self.info = tablestore.checked(self.path, limits)
        except BaseException:
            if self._helper is not None:
                self._helper.stop()  # its share of the scan is of no use now
                self._helper = None
            self._dismiss()
            raise
        if self._helper is not None:
            self._helper.end_share()
        self._wb = None
        self._tables = reader.TableCache()
        #: the tables this book wrote, since the last write of their sheet: (sheet, table) ->
        #: the frame written (a copy-on-write view: a caller changing its frame later changes
        #: nothing here) and the header row its rows are right below (None: an input table
        #: rewritten in place among its sheet's rows)
        self._written: dict[tuple[str, str], tuple[pd.DataFrame, int | None]] = {}
        self._sources: dict[str, external.Source] | None = None
        self._sheet_parts: dict[str, str] | None = None
        self._part_sizes: dict[str, int] = {}
        self._keys: dict[str, str | None] = {}
        self._strings: bytes | None = None
        self._source_findings: list[Finding] = []

    # -- reading ------------------------------------------------------------------------------
    @property
    def calamine(self):
        if self._wb is None:
            self._wb = reader.open_calamine(self.path)
        return self._wb

    def has_table(self, table: Table) -> bool:
        if table.name in self.sources():
            return True
        if table in self._tables or (table.sheet, table.name) in self._written:
            return True  # read, or written, since the last write of its sheet: it is there
        names = self.calamine.sheet_names  # a sheet name in any letter case, as Excel
        return table.name in self.calamine.table_names or bool(
            reader.sheet_named(names, table.sheet)
        )

    def sources(self) -> dict[str, external.Source]:
        """Tables this workbook reads from files (its DataSources sheet), by table name."""
        return external.readable(self._resolved())

    def _resolved(self) -> dict[str, external.Source]:
        """Every usable DataSources row, the files sop_xl writes but has not created yet too."""
        if self._sources is None:
            self._sources, self._source_findings = {}, []
            if DATA_SOURCES.name in self.calamine.table_names:
                rows = reader.coerce(DATA_SOURCES, self.read_raw(DATA_SOURCES))
                self._sources, self._source_findings = external.sources(
                    rows.df, self.path.parent, self.name
                )
        return self._sources

    def _read(self, table: Table) -> Coerced:
        source = self.sources().get(table.name)
        if source is not None:
            self.progress(f"Reading {table.title} from {source.path.name}", None)
            return external.read_external(source)
        if table.name == DATA_SOURCES.name:  # a row that points nowhere is a finding here
            result = reader.coerce(table, self.read_raw(table))
            result.findings.extend(self._source_findings)
            return result
        result = self._read_sheet(table)
        moving = external.moving(self._resolved(), table, self.name)
        return result if moving is None else replace(result, findings=[*result.findings, moving])

    def _read_sheet(self, table: Table) -> Coerced:
        written = self._as_written(table)
        if written is not None:
            return written
        key = self._key(table)
        result = tablestore.load(key, table, self._shared_strings()) if key else None
        if result is None and key and self._prefetch and self._prefetch.wait(table.name):
            result = tablestore.load(key, table, self._shared_strings())
        if result is None:
            result = reader.coerce(table, self.read_raw(table))
            if key:
                tablestore.save(key, table, result, self._shared_strings())
        return result

    def _as_written(self, table: Table) -> Coerced | None:
        """``table`` as this book wrote it, as reading its sheet back would give it
        (:func:`sop_xl.io.written.as_read`): e.g. the cycle's outlook and executive summary take
        the SupplyPlan the supply review has just written without parsing it. None when that is
        not certain: the sheet is read."""
        from sop_xl.io.written import as_read

        frame, header = self._written.get((table.sheet, table.name), (None, None))
        if frame is None or header is None:
            return None
        df = as_read(table, frame)
        if df is None:
            return None
        return Coerced(df, excel_rows=np.arange(header + 1, header + 1 + len(df), dtype=np.int64))

    def read_ahead(self, tables: Sequence[Table]) -> Iterator[Table]:
        """Start reading some of ``tables`` in helper processes (:mod:`sop_xl.io.prefetch`;
        only tables read from this file's sheets and not kept in the table store yet); the
        tables in the order to read them: first those not shared, then the click takes the
        shared ones as it goes, largest first (:meth:`prefetch.Prefetch.take`), and last come
        those a helper took."""
        if self._prefetch is not None:
            yield from tables
            return
        sources = self.sources()
        wanted = []
        for table in tables:
            part = self._part_of(table.sheet)
            if part is None or table.name in sources or table.name == DATA_SOURCES.name:
                continue
            key = self._key(table)
            if key is not None and not tablestore.stored(key):
                wanted.append((table, key, self._part_sizes.get(part, 0)))
        shared = self._prefetch = prefetch.start(self.path, wanted, self._helper)
        self._helper = None
        if shared is None:
            yield from tables
            return
        ahead = set(shared.tables)
        yield from (table for table in tables if table.name not in ahead)
        theirs = []
        for table in shared.order:  # taken one at a time, as the click is ready for it
            if shared.take(table.name):
                yield table
            else:
                theirs.append(table)
        yield from theirs
        self._dismiss()  # every table was read, the helpers' too: their claims folder can go

    def _standby(self) -> None:
        """Before the guard scans this file: a helper that imports while it runs
        (:func:`sop_xl.io.standby.start`), for a click that reads ahead."""
        if self._helper is None:
            self._helper = standby.start(self.path)

    def _share(self, parts: list[str]) -> guard.ScanShare | None:
        """The helper's share of the guard's scan of ``parts`` (:class:`guard.ScanShare`)."""
        return self._helper.share(self.path, parts) if self._helper is not None else None

    def _dismiss(self) -> None:
        """No helper is left running or waiting (before a write, or when the guard refused)."""
        if self._helper is not None:
            self._helper.dismiss()
            self._helper = None
        if self._prefetch is not None:
            self._prefetch.stop()
            self._prefetch = None

    def _key(self, table: Table) -> str | None:
        """The table store's key of ``table`` as this file holds it (None: not kept)."""
        if table.name not in self._keys:
            part = self._part_of(table.sheet)
            self._keys[table.name] = tablestore.table_key(self.path, part, table)
        return self._keys[table.name]

    def _shared_strings(self) -> bytes:
        """The workbook's shared-string entries (:func:`sop_xl.io.tablestore.shared_strings`)."""
        if self._strings is None:
            self._strings = tablestore.shared_strings(self.path)
        return self._strings

    def _part_of(self, sheet: str) -> str | None:
        """The worksheet part of ``sheet`` (its name in any letter case, as Excel)."""
        parts = self._parts()
        return parts.get(reader.sheet_named(list(parts), sheet) or sheet)

    def _parts(self) -> dict[str, str]:
        """Sheet name -> its worksheet part in the zip."""
        if self._sheet_parts is None:
            with zipfile.ZipFile(self.path) as zf:
                found = sheet_part_sizes(zf)
            self._sheet_parts = {name: part for name, (part, _size) in found.items()}
            self._part_sizes = dict(found.values())
        return self._sheet_parts

    def sheet_names(self) -> list[str]:
        return list(self.calamine.sheet_names)

    def read_raw(self, table: Table) -> RawTable:
        return reader.read_raw(
            self.path,
            table.sheet,
            table,
            workbook=self.calamine,
            error_sheets=self.info.error_sheets,
        )

    def read_coerced(self, table: Table) -> Coerced:
        """Typed good rows plus every finding (each table parsed once per book)."""
        return self._tables.coerced(table, self._read)

    def read_table(self, table: Table) -> pd.DataFrame:
        """Typed long frame of ``table``; raises naming sheet, cell, column and fix."""
        return self._tables.frame(table, self._read)

    def read_settings(self) -> Settings:
        return settings_from_frame(self.read_table(SETTINGS), Location(self.name, SETTINGS.sheet))

    # -- writing ------------------------------------------------------------------------------
    def write(self, outputs: Sequence[SheetOutput]) -> None:
        """Write all ``outputs`` in one atomic save (all or nothing)."""
        from sop_xl.io.writer import write_sheets

        if not outputs:
            return
        guard.refuse_frozen(self.info.frozen, self.path)
        outputs = external.write_files(outputs, self._resolved())  # the archive, if in a file
        self._dismiss()  # no helper may hold the file while it is replaced
        header_rows = write_sheets(self.path, outputs, self.out)
        if self.out != self.path:  # later reads and writes continue on the written copy
            self.path = self.out
        # the writer never writes error cells: the written tables have none any more
        written = {out.sheet for out in outputs}
        self.info.error_sheets -= written
        self.info.path, self.info.sha256 = self.path, sha256_file(self.path)
        self.info.sheets = [*self.info.sheets, *(s for s in written if s not in self.info.sheets)]
        tablestore.remember(self.info, self._limits)
        self._wb = None
        self._sheet_parts = None
        self._keys.clear()
        self._strings = None
        self._tables.forget(written)
        if DATA_SOURCES.sheet in written:  # the files tables live in may have changed
            self._sources = None
        self._written = {k: v for k, v in self._written.items() if k[0] not in written}
        self._written |= {
            (out.sheet, out.table.name): (
                out.df.copy(deep=not _COPY_ON_WRITE),
                header_rows.get(out.sheet),
            )
            for out in outputs
        }

    def progress(self, message: str, fraction: float | None = None) -> None:
        self._progress(message, fraction)


def open_book(path: str | Path, **kw) -> FileBook:
    """Open a workbook file as a :class:`FileBook` (the safety guard runs first)."""
    return FileBook(path, **kw)


#: A Cycle that Excel stored as a date (typing 2026-11 or Nov 2026 makes a date on the 1st),
#: as the reader writes it: the date's month is the cycle.
_CYCLE_DATE = re.compile(r"^(\d{4}-(?:0[1-9]|1[0-2]))-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$")


def _cycle_month(value: object) -> object:
    """A date-typed Cycle as its month (``2026-11-01`` -> ``2026-11``); others unchanged."""
    if isinstance(value, dt.date):  # datetime and pandas Timestamp too
        return f"{value.year:04d}-{value.month:02d}"
    m = _CYCLE_DATE.match(str(value).strip())
    return m.group(1) if m else value


def settings_from_frame(df: pd.DataFrame, where: Location) -> Settings:
    """Build :class:`Settings` from the Setting/Value rows; errors name the setting's row.

    The one Settings parser of sop_xl (steps, Excel path, freeze). A Cycle Excel stored as a
    date counts as its month."""
    by_label = {label.casefold(): name for name, label in Settings.labels().items()}
    values: dict[str, object] = {}
    rows: dict[str, int] = {}
    for i, (label, value) in enumerate(zip(df["setting"], df["value"], strict=True)):
        name = by_label.get(str(label).strip().casefold())
        if name is None or value is None or (isinstance(value, float) and pd.isna(value)):
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if name == "cycle":
            value = _cycle_month(value)
        values[name] = value
        rows[name] = i
    try:
        return Settings(**values)
    except PydanticValidationError as exc:
        findings = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else ""
            label = Settings.labels().get(name, name)
            msg, fix = err["msg"], f"Correct the value of '{label}' on the Settings sheet."
            if name == "cycle" and err.get("type") == "string_pattern_mismatch":
                msg = "not a month as YYYY-MM"
                fix = f"Type the planning month, e.g. 2026-11, in the Value of '{label}'."
            findings.append(
                Finding(
                    "error",
                    f"setting '{label}': {msg} (got {err.get('input')!r}).",
                    Location(where.file, where.sheet, SETTINGS.name, column="Value"),
                    fix,
                    "settings.invalid",
                )
            )
        raise ValidationError(findings) from None


def settings_from_bytes(data: bytes, file: str) -> Settings:
    """The Settings of a workbook given as bytes (e.g. the frozen plan before it is written),
    read and parsed as :meth:`FileBook.read_settings` reads a file's; ``file`` names it in
    messages."""
    wb = reader.open_calamine(file, data)
    raw = reader.read_raw(file, SETTINGS.sheet, SETTINGS, workbook=wb, error_sheets=set())
    result = reader.coerce(SETTINGS, raw)
    if result.errors:
        raise ValidationError(result.findings)
    return settings_from_frame(result.df, Location(file, SETTINGS.sheet))


def save_new_workbook(
    wb,
    path: str | Path,
    *,
    finish: Callable[[Path], None] | None = None,
    recalc_on_load: bool = False,
):
    """Save an openpyxl workbook we built (a brand-new file) atomically: a temp file in the same
    folder, then a rename, so a crash never leaves half a file. ``finish`` may post-process the
    temp file before the rename. Texts are written as shared strings (see
    :mod:`sop_xl.io.xlsx.openpyxl_fixes`). ``recalc_on_load``: the workbook has formulas whose
    cached values are missing or stale, so Excel must recalculate on open (see
    :mod:`sop_xl.io.xlsx.calc`)."""
    from sop_xl.io.xlsx.openpyxl_fixes import save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save(wb, tmp, recalc_on_load=recalc_on_load)
        if finish is not None:
            finish(tmp)
    return path


def terminal_progress(message: str, fraction: float | None = None) -> None:
    """A one-line progress bar on stderr (the CLI's default)."""
    if fraction is None:
        print(f"  {message}", file=sys.stderr)
        return
    if not sys.stderr.isatty():  # logs and CI: no carriage-return animation
        if fraction >= 1:
            print(f"  done: {message}", file=sys.stderr)
        return
    width = 24
    filled = round(max(0.0, min(1.0, fraction)) * width)
    bar = "#" * filled + "-" * (width - filled)
    end = "\n" if fraction >= 1 else "\r"
    print(f"  [{bar}] {fraction:4.0%} {message:<50}", end=end, file=sys.stderr, flush=True)


__all__ = [
    "FileBook",
    "SchemaError",
    "open_book",
    "save_new_workbook",
    "settings_from_bytes",
    "settings_from_frame",
    "terminal_progress",
]
