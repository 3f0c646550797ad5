"""Input tables read in a second process while the click reads the others.

The first click on a workbook the table store has not seen (validation) parses every input
sheet: 73 MB of sheet XML on the demo master, about 3 s of one core, almost half of it the
forecast archive. A click that is about to read many tables (:class:`~sop_xl.model.book.ReadsAhead`)
hands about half of the bytes still to parse to helper processes (``python -m
sop_xl.io.prefetch``; :func:`sop_xl.io.spawn.share` says which tables). The first helper
is started before the guard scans a file it has not seen (:mod:`sop_xl.io.standby`; by ``sop-xl
validate`` before its own imports): it imports what reading needs, takes a share of the guard's
scan, then waits for its tables on its standard input, so it starts parsing the moment the guard
passed. A helper reads them exactly as the click would
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
enough is left to read (:data:`sop_xl.io.spawn.MIN_SHARE_BYTES`); before the click writes the
workbook every helper has ended (a file another process holds open cannot be replaced on
Windows).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from sop_xl.io import spawn, standby, tablestore
from sop_xl.io.standby import Standby
from sop_xl.model.schema import TABLES, Table

#: Helpers at most (the click itself is one more reader).
MAX_HELPERS = 3
#: How long the click waits for one table before reading it itself (seconds).
WAIT_SECONDS = 60.0


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


def start(
    path: Path, wanted: Sequence[tuple[Table, str, int]], ready: Standby | None = None
) -> Prefetch | None:
    """Hand some of ``wanted`` (table, store key, sheet XML bytes; none kept yet) to helpers
    (:func:`sop_xl.io.spawn.share`), the first share to ``ready`` if given (dismissed when it
    gets none); None when no helper reads anything (see the module docstring)."""
    shares: list[list[int]] = []
    if tablestore.cache_dir() is not None:
        helpers = min(spawn.spare_cores(), MAX_HELPERS)
        sizes = [size for _, _, size in wanted]
        shares = spawn.share(sizes, helpers, ready=int(ready is not None))
    handed: dict[str, tuple[str, subprocess.Popen]] = {}
    for n, share in enumerate(shares):
        tables = [wanted[i] for i in share]
        helper = ready if n == 0 and ready is not None else standby.start(path)
        if helper is not None and helper.give(path, [t for t, _, _ in tables]):
            handed.update({table.name: (key, helper.process) for table, key, _ in tables})
    if ready is not None and not shares:
        ready.dismiss()
    return Prefetch(handed) if handed else None


def read_tables(path: Path, names: Sequence[str]) -> int:
    """A helper's work: read the tables ``names`` of ``path`` into the table store, as a click
    would; 0 when every one was read, 1 when one was not (the click reads it again and reports
    it), 2 for a name that is no table."""
    from sop_xl.errors import SopError
    from sop_xl.io.filebook import FileBook

    if not names or any(name not in TABLES for name in names):
        return 2
    try:
        book = FileBook(path)  # the guard's verdict, as every click
    except SopError:
        return 1
    failed = 0
    for name in names:
        try:
            book.read_coerced(TABLES[name])
        except SopError:
            failed += 1
    return 1 if failed else 0


def main() -> int:
    """``python -m sop_xl.io.prefetch``: import what reading needs, then do the jobs of standard
    input (:mod:`sop_xl.io.standby`): a share of the guard's scan, then the tables to read
    (``{"workbook": ..., "tables": [...]}``, the last); nothing when the input ends empty.
    Quiet: the exit code says whether it worked, details go to the log."""
    from sop_xl import logs
    from sop_xl.io import filebook  # noqa: F401  (the imports, while the click imports too)

    os.environ["SOP_XL_BACKGROUND"] = "off"  # a helper starts no helper of its own
    try:
        while line := sys.stdin.readline():
            if not line.strip():
                return 0
            job = json.loads(line)
            if "guard" in job:
                standby.guard_job(job, sys.stdout)
                continue
            return read_tables(Path(job["workbook"]), list(job["tables"]))
        return 0
    except Exception:  # nobody sees this process: the click reads the tables itself
        logs.write_traceback(traceback.format_exc(), "reading tables ahead")
        return 1


if __name__ == "__main__":
    sys.exit(main())
