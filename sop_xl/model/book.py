"""The one interface every cycle step talks to: a workbook it can read tables from and write
output sheets to; with it the small types every step shares (:data:`Progress`, :class:`RawTable`,
:class:`Coerced`, :func:`user`).

Two implementations exist: :class:`sop_xl.io.filebook.FileBook` (a file on disk, used by the CLI,
tests and scheduler) and ``sop_xl.excel.xlbook.XlBook`` (the open workbook in Excel, used by the
ribbon). Because both steps paths go through this protocol, the ribbon and the CLI produce the
same tables.
"""

from __future__ import annotations

import getpass
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from sop_xl.errors import Finding
from sop_xl.model.schema import Settings, Table
from sop_xl.model.sheets import SheetOutput

#: The progress callback every long step takes: ``(message, fraction 0..1 or None)``.
Progress = Callable[[str, float | None], None]


@dataclass
class RawTable:
    """A table's cells as a book found them, before any typing (:func:`sop_xl.io.reader.coerce`
    turns them into a typed frame plus findings)."""

    header: list[Any]
    rows: list[list[Any]]
    sheet: str
    file: str | None = None
    header_row: int = 1  # 1-based Excel row of the header
    first_col: int = 1  # 1-based Excel column of the first header cell


@dataclass
class Coerced:
    """A table read leniently: the good rows, typed, and a finding for every bad cell (what
    :func:`sop_xl.io.reader.coerce` returns)."""

    df: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    bad_rows: int = 0
    #: Excel row of each row of ``df`` (for later findings, e.g. unknown references)
    excel_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    #: the file the rows came from when it is not the workbook (:mod:`sop_xl.io.external`);
    #: ``excel_rows`` are then rows of that file
    source: str | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def user() -> str:
    """Who runs the step, for audit trails (the login name; ``"unknown"`` where the system has
    none, e.g. some containers and services)."""
    try:
        return getpass.getuser()
    except Exception:  # getpass raises OSError/KeyError when no login name can be found
        return "unknown"


class ResultMemo(Protocol):
    """Results an engine keeps between clicks under a digest of *everything* they depend on
    (input content, settings, options): a changed input is a new key, so a stale result can never
    be found. :class:`sop_xl.io.tablestore.ResultStore` keeps them on disk; the cycle passes it in
    (engines never touch files)."""

    def get(self, key: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        """The frame and its small JSON-able facts stored under ``key``, or None."""
        ...

    def put(self, key: str, frame: pd.DataFrame, facts: dict[str, Any]) -> None:
        """Keep ``frame`` and ``facts`` under ``key`` (best effort)."""
        ...


def content_digest(frames: Mapping[str, pd.DataFrame | None], *extra: str) -> str | None:
    """A SHA-256 of the content of ``frames`` (each one's name, columns, dtypes and values, not
    its index; a missing frame counts as missing) and of the ``extra`` texts (settings, options):
    the key under which a :class:`ResultMemo` keeps a result. None when a frame cannot be
    hashed (then nothing is kept)."""
    h = hashlib.sha256("\0".join(extra).encode())
    try:
        for name, df in frames.items():
            if df is None:
                h.update(f"\0{name}:none".encode())
                continue
            h.update(f"\0{name}:{list(df.columns)}:{[str(t) for t in df.dtypes]}".encode())
            h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    except (TypeError, ValueError):
        return None
    return h.hexdigest()


@runtime_checkable
class Book(Protocol):
    """A workbook as the cycle steps see it."""

    #: Shown in messages ("SOP_Planning.xlsm").
    name: str
    #: The workbook's file, when the steps may read that file directly (regional sheets inside
    #: the master, the snapshots folder beside it); ``None`` when the file is not the truth: the
    #: workbook open in Excel (its saved file may be stale) or an in-memory book.
    path: Path | None

    def has_table(self, table: Table) -> bool:
        """True when the table's sheet exists and holds the table."""
        ...

    def sheet_names(self) -> list[str]:
        """The names of the workbook's sheets, in workbook order."""
        ...

    def read_coerced(self, table: Table) -> Coerced:
        """The table read leniently: typed good rows plus a finding for every bad cell
        (validation lists them all instead of stopping at the first)."""
        ...

    def read_table(self, table: Table) -> pd.DataFrame:
        """The table as a typed, validated long DataFrame (engine column names).

        Raises :class:`sop_xl.errors.SchemaError` / :class:`sop_xl.errors.ValidationError` naming
        sheet, row, column and fix.
        """
        ...

    def read_settings(self) -> Settings:
        """The Settings sheet as a validated :class:`Settings`."""
        ...

    def write(self, outputs: Sequence[SheetOutput]) -> None:
        """Write these sheets, all or nothing."""
        ...

    def progress(self, message: str, fraction: float | None = None) -> None:
        """Tell the user what is happening (status bar / terminal progress)."""
        ...


@runtime_checkable
class ReadsAhead(Protocol):
    """A book that can start reading tables before they are asked for (a
    :class:`~sop_xl.io.filebook.FileBook` reads some in helper processes while the step reads
    the others): a step about to read many tables says which, and reads them one by one in the
    order :meth:`read_ahead` gives them (decided as it goes: those a helper took come last)."""

    def read_ahead(self, tables: Sequence[Table]) -> Iterable[Table]: ...


def read_tables(
    book: Book,
    tables: Iterable[Table],
    *,
    share: float = 1.0,
) -> dict[str, pd.DataFrame]:
    """Each of ``tables`` that ``book`` has (an optional table it lacks is left out; a table
    named twice is read once), keyed by its alias (:attr:`Table.alias`: ``SalesActuals`` for
    tblSalesActuals), the one key of step frames: every engine looks its tables up by alias.
    Every read reports "Reading <title>" over the first ``share`` of the step's progress bar.
    The one table-reading loop of the steps."""
    wanted = list({t.name: t for t in tables}.values())
    frames: dict[str, pd.DataFrame] = {}
    for i, table in enumerate(wanted):
        book.progress(f"Reading {table.title}", share * i / len(wanted))
        if book.has_table(table):
            frames[table.alias] = book.read_table(table)
    return frames
