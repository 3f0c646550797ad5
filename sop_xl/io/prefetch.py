"""Input tables read in a second process while the click reads the others.

The first click on a workbook the table store has not seen (validation) parses every input
sheet: 73 MB of sheet XML on the demo master, about 3 s of one core, almost half of it the
forecast archive. A click that is about to read many tables (:class:`~sop_xl.model.book.ReadsAhead`)
shares the tables still to parse with helper processes (``python -m sop_xl.io.prefetch``;
:func:`sop_xl.io.spawn.share` says how many are worth starting): all walk the tables largest
first and each reads the next one nobody took (:class:`sop_xl.io.spawn.Claims`), so all end
about together however long each table takes. The first helper
is started before the guard scans a file it has not seen (:mod:`sop_xl.io.standby`; by ``sop-xl
validate`` before its own imports): it imports what reading needs, takes a share of the guard's
scan, then waits for its tables on its standard input, so it starts parsing the moment the guard
passed. A helper reads them exactly as the click would
(:meth:`sop_xl.io.filebook.FileBook.read_coerced`: the guard's verdict, python-calamine, the same
coercion) and keeps each in the table store (:mod:`sop_xl.io.tablestore`); the click reads its
own tables meanwhile, then each table a helper took: it waits until the helper kept it, then
loads it from the store.

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
    """The helpers of one book and the tables they may read: the click and its helpers walk the
    tables largest first and each reads the next one nobody took (:class:`sop_xl.io.spawn.
    Claims`), so all end about together however long each table takes; the click waits for a
    table a helper took until the helper kept it in the store."""

    def __init__(
        self, wanted: list[tuple[Table, str]], claims: spawn.Claims, processes: list
    ) -> None:
        self.order = [table for table, _ in wanted]  # largest first
        self._keys = {table.name: key for table, key in wanted}
        self._at = {table.name: at for at, (table, _) in enumerate(wanted)}
        self._mine: set[str] = set()
        self._claims = claims
        self._processes: list[subprocess.Popen] = processes

    @property
    def tables(self) -> list[str]:
        """The tables the click and its helpers share, largest first."""
        return [table.name for table in self.order]

    def take(self, table: str) -> bool:
        """Whether the click reads ``table`` itself: it is not shared, or the click took it now
        or before; False: a helper took it."""
        at = self._at.get(table)
        if at is None or table in self._mine:
            return True
        if self._claims.take(at, unsure=True):  # unsure: the click reads it
            self._mine.add(table)
            return True
        return False

    def wait(self, table: str) -> bool:
        """Wait until the helper that took ``table`` kept it in the store: True; False when the
        click reads it itself (:meth:`take`), the helpers ended without it, or
        :data:`WAIT_SECONDS` passed (every helper is then stopped)."""
        if self.take(table):
            return False
        key = self._keys[table]
        deadline = time.monotonic() + WAIT_SECONDS
        while not tablestore.stored(key):
            taker = self._claims.taker(self._at[table])
            reading = [p for p in self._processes if p.pid == taker] or self._processes
            if all(process.poll() is not None for process in reading):  # it ended without it
                return tablestore.stored(key)
            if time.monotonic() > deadline:
                self.stop()
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        """End every helper still running (none may hold the workbook open when it is
        replaced); the click reads any table left."""
        for process in self._processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        self._claims.close()


def start(
    path: Path, wanted: Sequence[tuple[Table, str, int]], ready: Standby | None = None
) -> Prefetch | None:
    """Share ``wanted`` (table, store key, sheet XML bytes; none kept yet) with as many helpers
    as :func:`sop_xl.io.spawn.share` finds worth it, the first ``ready`` if given (dismissed
    when none is); None when no helper reads anything (see the module docstring)."""
    shares: list[list[int]] = []
    if tablestore.cache_dir() is not None:
        helpers = min(spawn.spare_cores(), MAX_HELPERS)
        sizes = [size for _, _, size in wanted]
        shares = spawn.share(sizes, helpers, ready=int(ready is not None))
    claims = spawn.Claims.create() if shares else None
    order = sorted(wanted, key=lambda w: -w[2])
    names = [table.name for table, _, _ in order]
    processes = []
    for n in range(len(shares) if claims is not None else 0):
        helper = ready if n == 0 and ready is not None else standby.start(path)
        if helper is not None and helper.give(path, names, claims):
            processes.append(helper.process)
    if ready is not None and not processes:
        ready.dismiss()
    if claims is None or not processes:
        if claims is not None:
            claims.close()
        return None
    return Prefetch([(table, key) for table, key, _ in order], claims, processes)


def read_tables(path: Path, names: Sequence[str], claims: spawn.Claims) -> int:
    """A helper's work: read each of the tables ``names`` of ``path`` that it takes from
    ``claims`` into the table store, as a click would; 0 when every one was read, 1 when one
    was not (the click reads it again and reports it), 2 for a name that is no table."""
    from sop_xl.errors import SopError
    from sop_xl.io.filebook import FileBook

    if not names or any(name not in TABLES for name in names):
        return 2
    try:
        book = FileBook(path)  # the guard's verdict, as every click
    except SopError:
        return 1
    failed = 0
    for at, name in enumerate(names):
        if not claims.take(at, unsure=False):  # the click's, or another helper's
            continue
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
            claims = spawn.Claims(Path(job["claims"]))
            return read_tables(Path(job["workbook"]), list(job["tables"]), claims)
        return 0
    except Exception:  # nobody sees this process: the click reads the tables itself
        logs.write_traceback(traceback.format_exc(), "reading tables ahead")
        return 1


if __name__ == "__main__":
    sys.exit(main())
