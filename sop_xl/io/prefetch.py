"""Input tables read in a second process while the click reads the others.

The first click on a workbook the table store has not seen (validation) parses every input
sheet: 73 MB of sheet XML on the demo master, about 3 s of one core, almost half of it the
forecast archive. A click that is about to read many tables (:class:`~sop_xl.model.book.ReadsAhead`)
hands about half of the bytes still to parse to helper processes
(``python -m sop_xl.io.prefetch WORKBOOK TABLE...``, :mod:`sop_xl.io.spawn`; :func:`split` says
which tables). A helper reads them exactly as the click would
(:meth:`sop_xl.io.filebook.FileBook.read_coerced`: the guard's verdict, python-calamine, the same
coercion) and keeps each in the table store (:mod:`sop_xl.io.tablestore`); the click reads its
own tables meanwhile, then each table handed off: it waits until the helper kept it, then loads
it from the store.

Nothing is trusted that the click would not have made itself: the helper checks the file with the
guard (a store hit for the file the click just checked), and an entry's key is the digest of the
parts the table is read from, so a file that changed in between is simply not found. When a
helper fails, ends without the table or takes longer than :data:`WAIT_SECONDS`, the click reads
the table itself: the result is the same either way, only the time differs. Helpers start only
when the store is on, ``SOP_XL_BACKGROUND`` is not ``off``, the machine has a second core and
enough is left to read (:data:`MIN_BYTES`); before the click writes the workbook every helper has
ended (a file another process holds open cannot be replaced on Windows).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from sop_xl.io import spawn, tablestore
from sop_xl.model.schema import TABLES, Table

#: Sheet XML a helper must have to parse to be worth starting (bytes).
MIN_BYTES = 16 << 20
#: What starting a helper costs, as sheet XML parsed in the same time (Python with pandas starts
#: in about 0.5 s; the reader parses about 25 MB a second).
STARTUP_BYTES = 12 << 20
#: Helpers at most (the click itself is one more reader).
MAX_HELPERS = 3
#: How long the click waits for one table before reading it itself (seconds).
WAIT_SECONDS = 60.0


def split(sizes: Sequence[int], cores: int) -> list[list[int]]:
    """Which tables (positions in ``sizes``, their sheet XML in bytes) each helper reads, so
    that the click and its helpers end about together: largest table first to whoever has the
    least to do, a helper counting its start (:data:`STARTUP_BYTES`) as work. A helper left
    with less than :data:`MIN_BYTES` is not started (the click reads its tables)."""
    total = sum(sizes)
    helpers = min(cores - 1, MAX_HELPERS, total // MIN_BYTES)
    if helpers <= 0:
        return []
    load = [0] + [STARTUP_BYTES] * helpers  # the click, then each helper
    tables: list[list[int]] = [[] for _ in load]
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        least = min(range(len(load)), key=load.__getitem__)
        load[least] += sizes[i]
        tables[least].append(i)
    helped = zip(tables[1:], load[1:], strict=True)
    return [sorted(t) for t, work in helped if work - STARTUP_BYTES >= MIN_BYTES]


class Prefetch:
    """The helpers of one book: which table each one reads, and waiting for it."""

    def __init__(self, handed: dict[str, tuple[str, subprocess.Popen]]) -> None:
        self._handed = handed  # table name -> (its store key, the helper reading it)
        self._processes = list({id(p): p for _, p in handed.values()}.values())

    @property
    def tables(self) -> list[str]:
        """The tables handed to a helper and not waited for yet."""
        return list(self._handed)

    def wait(self, table: str) -> bool:
        """Wait until the helper reading ``table`` kept it in the store: True; False when no
        helper reads it, or it ended without it, or :data:`WAIT_SECONDS` passed (every helper
        is then stopped)."""
        handed = self._handed.pop(table, None)
        if handed is None:
            return False
        key, process = handed
        deadline = time.monotonic() + WAIT_SECONDS
        while not tablestore.stored(key):
            if process.poll() is not None:
                return tablestore.stored(key)
            if time.monotonic() > deadline:
                self.stop()
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        """End every helper still running (none may hold the workbook open when it is
        replaced)."""
        self._handed.clear()
        for process in self._processes:
            if process.poll() is None:
                process.kill()
            process.wait()


def start(path: Path, wanted: Sequence[tuple[Table, str, int]]) -> Prefetch | None:
    """Hand some of ``wanted`` (table, store key, sheet XML bytes; none kept yet) to helpers
    (:func:`split`); None when none started (see the module docstring)."""
    if tablestore.cache_dir() is None or not spawn.enabled():
        return None
    handed: dict[str, tuple[str, subprocess.Popen]] = {}
    for share in split([size for _, _, size in wanted], os.cpu_count() or 1):
        tables = [wanted[i] for i in share]
        process = spawn.start("sop_xl.io.prefetch", [str(path), *(t.name for t, _, _ in tables)])
        if process is not None:
            handed.update({table.name: (key, process) for table, key, _ in tables})
    return Prefetch(handed) if handed else None


def main(argv: list[str] | None = None) -> int:
    """``python -m sop_xl.io.prefetch WORKBOOK TABLE...``: read the tables into the store;
    quiet, the exit code says whether every one was read."""
    from sop_xl import logs
    from sop_xl.errors import SopError
    from sop_xl.io.filebook import FileBook

    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or any(name not in TABLES for name in args[1:]):
        return 2
    try:
        book = FileBook(Path(args[0]))  # the guard's verdict, as every click
        failed = 0
        for name in args[1:]:
            try:
                book.read_coerced(TABLES[name])
            except SopError:  # the click reads it again and reports it
                failed += 1
        return 1 if failed else 0
    except SopError:
        return 1
    except Exception:  # nobody sees this process: the details go to the log, the click reads
        logs.write_traceback(traceback.format_exc(), "reading tables ahead")
        return 1


if __name__ == "__main__":
    sys.exit(main())
