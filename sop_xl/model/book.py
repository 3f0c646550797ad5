"""The one interface every cycle step talks to: a workbook it can read tables from and write
output sheets to.

Two implementations exist: :class:`sop_xl.io.filebook.FileBook` (a file on disk, used by the CLI,
tests and scheduler) and ``sop_xl.excel.xlbook.XlBook`` (the open workbook in Excel, used by the
ribbon). Because both steps paths go through this protocol, the ribbon and the CLI produce the
same tables.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import pandas as pd

from sop_xl.model.schema import Settings, Table
from sop_xl.model.sheets import SheetOutput

#: The progress callback every long step takes: ``(message, fraction 0..1 or None)``.
Progress = Callable[[str, float | None], None]


def user() -> str:
    """Who runs the step, for audit trails (the login name; ``"unknown"`` where the system has
    none, e.g. some containers and services)."""
    try:
        return getpass.getuser()
    except Exception:  # getpass raises OSError/KeyError when no login name can be found
        return "unknown"


@runtime_checkable
class Book(Protocol):
    """A workbook as the cycle steps see it."""

    #: Shown in messages ("SOP_Planning.xlsm").
    name: str

    def has_table(self, table: Table) -> bool:
        """True when the table's sheet exists and holds the table."""
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
