"""sop_xl's own helper processes: one switch, one way to start them, one way to share work.

Three kinds of work run in a second Python process: input tables read while the click reads the
others (:mod:`sop_xl.io.prefetch`; the click waits for them), a share of a freeze's sheets and
content hash (:mod:`sop_xl.plan.hash_helper`; the freeze waits for them) and the statistical
baseline fitted ahead of the history step (:mod:`sop_xl.background`; nobody waits). All three
start ``python -m <module> <args>`` here (:func:`start`), quietly (no console window, no output),
and are switched off together by ``SOP_XL_BACKGROUND=off`` (the test suite, a scheduler that
wants one process): the work is then done in the click's own process, with the same result. The
two the click waits for ask :func:`spare_cores` how many may run beside it and :func:`share` which
pieces of the work each one does, or take the pieces in turn as they go (:class:`Claims`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

#: A helper must have this much work (bytes of sheet XML to read) to be worth starting.
MIN_SHARE_BYTES = 16 << 20
#: ... and a helper started already (its imports done while the click imported) this much: all
#: it costs then is handing its results over (the table store, a pipe). Measured on the demo
#: master with its forecast archive in Parquet: the sheets left to read, 31.7 MB, split 16.4 MB
#: for the click and 15.3 MB for the ready helper, which the 16 MB bar left idle (validation
#: 2.4 s, 3.1 s CPU, the click reading alone).
READY_SHARE_BYTES = 4 << 20
#: What starting a helper costs, as sheet XML read in the same time (Python with pandas starts
#: in about 0.5 s; the reader parses about 25 MB a second).
STARTUP_BYTES = 12 << 20


def enabled() -> bool:
    """False when ``SOP_XL_BACKGROUND=off``, or where there is no interpreter to start."""
    switch = os.environ.get("SOP_XL_BACKGROUND", "").strip().lower()
    return switch != "off" and bool(sys.executable)


def spare_cores() -> int:
    """How many helper processes can run beside the click: the cores but one, none when
    helpers are off (:func:`enabled`)."""
    return max((os.cpu_count() or 1) - 1, 0) if enabled() else 0


def start(
    module: str,
    args: list[str],
    *,
    low_priority: bool = False,
    pipe: bool = False,
    output: bool = False,
) -> subprocess.Popen | None:
    """Start ``python -m module *args``; None when helpers are off or no process can be
    started (Excel on the web). ``low_priority``: below the user's clicks, and not ended with
    the process that started it (work nobody waits for). ``pipe``: its standard input is a pipe
    (the work is written to it later). ``output``: its standard output is a pipe too (the
    answer is read from it)."""
    if not enabled():
        return None
    options: dict = {}
    if sys.platform == "win32":
        flags = subprocess.CREATE_NO_WINDOW
        if low_priority:
            flags |= subprocess.BELOW_NORMAL_PRIORITY_CLASS
        options["creationflags"] = flags
    elif low_priority:
        options.update(start_new_session=True, preexec_fn=lambda: os.nice(10))
    try:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE if pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE if output else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            **options,
        )
    except (OSError, ValueError):
        return None


def share(sizes: Sequence[int], helpers: int, ready: int = 0, busy: int = 0) -> list[list[int]]:
    """Which pieces of work (``sizes``: e.g. each sheet's XML in bytes) each of at most
    ``helpers`` helper processes does, so that the click and its helpers end about together:
    largest piece first to whoever has the least to do, a helper counting its start
    (:data:`STARTUP_BYTES`) as work unless it is one of the first ``ready`` (started already),
    the click counting ``busy``, work of its own besides the pieces (e.g. combining the helpers'
    answers). A helper left with less than :data:`MIN_SHARE_BYTES` (a ready one: less than
    :data:`READY_SHARE_BYTES`) is not used. Each used helper's pieces (positions in ``sizes``,
    in order); the click does the others."""
    total = sum(sizes)
    helpers = min(helpers, max(ready, total // MIN_SHARE_BYTES))
    if helpers <= 0:
        return []
    start = [0 if i < ready else STARTUP_BYTES for i in range(helpers)]
    load = [busy, *start]  # the click, then each helper
    pieces: list[list[int]] = [[] for _ in load]
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        least = min(range(len(load)), key=load.__getitem__)
        load[least] += sizes[i]
        pieces[least].append(i)
    shares = zip(pieces[1:], load[1:], start, strict=True)
    return [
        sorted(p)
        for p, work, cost in shares
        if work - cost >= (MIN_SHARE_BYTES if cost else READY_SHARE_BYTES)
    ]


#: How a claims folder is named, and the age after which one is a killed click's leftover.
CLAIMS_PREFIX = "sop-xl-claims-"
STALE_SECONDS = 3600.0


class Claims:
    """Pieces of work (positions in one list) that the click and its helper take in turn as
    they go, so that both end about together whatever each piece costs: both walk the list in
    the same order (largest first) and do a piece only if they took it. A piece is taken by
    creating its file in a folder both can write (``O_EXCL``: one of two processes creating it
    succeeds, on every system), so each piece is taken once.

    Taking a piece is only ever a promise to do it: the click still does every piece its helper
    did not answer for (a helper that failed, or never came), so nothing depends on the folder.
    """

    def __init__(self, folder: Path, *, owner: bool = False) -> None:
        self.folder = folder
        self._owner = owner

    @classmethod
    def create(cls) -> Claims | None:
        """A new, empty folder of claims (removed by :meth:`close`); None where no temporary
        folder can be made (the click then does the work alone). Folders a killed click left
        behind, older than :data:`STALE_SECONDS`, are removed first."""
        try:
            folder = Path(tempfile.mkdtemp(prefix=CLAIMS_PREFIX))
        except OSError:
            return None
        for old in folder.parent.glob(f"{CLAIMS_PREFIX}*"):
            try:
                if old != folder and time.time() - old.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:  # removed meanwhile
                pass
        return cls(folder, owner=True)

    def take(self, piece: int, *, unsure: bool) -> bool:
        """Take ``piece``: True when it is this process's to do, False when the other took it.
        ``unsure``: the answer when the folder cannot say (the click does the piece, so that
        it is done; a helper leaves it). The piece's file holds the taker's process id."""
        try:
            fd = os.open(self.folder / str(piece), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        except OSError:
            return unsure
        try:
            os.write(fd, str(os.getpid()).encode())
        except OSError:  # taken all the same: the process id is only a hint
            pass
        finally:
            os.close(fd)
        return True

    def taker(self, piece: int) -> int | None:
        """The process id of whoever took ``piece``; None when nobody did, or it cannot be
        read (yet)."""
        try:
            return int((self.folder / str(piece)).read_bytes())
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        """Remove the folder (the creator's end). It is renamed first, in one step: a helper
        still walking the pieces then finds no folder (its take fails, and the click does
        that piece) instead of adding a file while the folder is removed, which left the
        folder behind."""
        if self._owner:
            gone = self.folder.with_name(f"{self.folder.name}.closed")
            try:
                os.rename(self.folder, gone)
            except OSError:  # removed already, or renaming is refused: remove it as it is
                gone = self.folder
            shutil.rmtree(gone, ignore_errors=True)
