"""The read-ahead helper, started before the click knows its work.

A click that reads every input table (validation, the whole cycle) starts a second Python process
at once (:func:`start`; ``sop-xl validate`` before its own imports, so the two import side by
side). Its first job comes while the click's guard checks a file it has not seen: a share of the
guard's scan (:class:`sop_xl.io.guard.ScanShare`). The click and the helper both walk the large
parts left to scan, largest first, and each scans the ones it takes
(:class:`sop_xl.io.spawn.Claims`); the helper writes each verdict, with the digest of the bytes
it scanned, on its standard output, and the guard takes it only for the very bytes it sees. Its
second job is the tables to read ahead (:mod:`sop_xl.io.prefetch`), which it may only start once
the guard has passed the whole file.

Nothing depends on the helper: a verdict it does not give (it failed, stopped at a bad part,
runs other code, is late) is a part the guard scans itself, and a table it does not read the
click reads. This module imports nothing heavy, so that the click can start the helper first.

The protocol, one JSON line per job on the helper's standard input: ``{"guard": path, "parts":
[...], "claims": folder, "code": ...}`` answered by a line ``{"part": ..., "digest": ...,
"verdict": [...]}`` for each part it scanned, then ``{"done": true}``; then ``{"workbook": path,
"tables": [...], "claims": folder}`` (:meth:`Standby.give`), the last, answered by the tables it
took, in the store. The end of the input ends it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from sop_xl.io import spawn
from sop_xl.io.files import cache_dir

#: How long the guard waits for one of the helper's verdicts before scanning the part itself.
WAIT_SECONDS = 60.0


def start(path: Path) -> Standby | None:
    """Start a helper for ``path`` that waits for its work; None when helpers are off, the
    table store is off, the machine has one core, or the file is small or not there."""
    if cache_dir() is None or spawn.spare_cores() < 1:
        return None
    try:
        if path.stat().st_size < spawn.MIN_SHARE_BYTES // 16:  # sheet XML deflates tenfold
            return None
    except OSError:
        return None
    process = spawn.start("sop_xl.io.prefetch", [], pipe=True, output=True)
    return Standby(process) if process is not None else None


@functools.cache
def code() -> str:
    """A digest of the code of the guard's scan and of this protocol: a helper running other
    code (another installed copy of sop_xl) refuses the guard's job."""
    from sop_xl.io import guard

    digest = hashlib.sha256()
    for module in (guard, spawn, sys.modules[__name__]):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


class Standby:
    """The click's end of the helper: at most one guard job (:meth:`share`), then the tables
    (:meth:`give`), or nothing (:meth:`dismiss`)."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self._claims: spawn.Claims | None = None
        self._verdicts: dict[str, tuple[str, list[int]]] = {}
        self._done = False
        self._news = threading.Condition()
        self._reader: threading.Thread | None = None

    def _send(self, job: dict, *, last: bool = False) -> bool:
        stdin = self.process.stdin
        if stdin is None:
            return False
        try:
            stdin.write(json.dumps(job).encode() + b"\n")
            stdin.flush()
            if last:
                stdin.close()
        except (OSError, ValueError):
            return False
        return True

    def share(self, path: Path, parts: list[str]) -> GuardShare | None:
        """Hand the helper the guard's ``parts`` of ``path`` left to scan (largest first): the
        guard's end of the share, or None when the helper is gone or a job was sent already."""
        if self._claims is not None or self.process.stdout is None:
            return None
        claims = spawn.Claims.create()
        if claims is None:
            return None
        job = {"guard": str(path), "parts": parts, "claims": str(claims.folder), "code": code()}
        if not self._send(job):
            claims.close()
            return None
        self._claims = claims
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return GuardShare(self, claims)

    def _read(self) -> None:
        """The helper's verdicts, line by line, until it says it is done or its output ends."""
        try:
            for line in self.process.stdout:  # type: ignore[union-attr]
                answer = json.loads(line)
                if answer.get("done"):
                    break
                with self._news:
                    self._verdicts[str(answer["part"])] = (
                        str(answer["digest"]),
                        list(answer["verdict"]),
                    )
                    self._news.notify_all()
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a garbled answer: the guard scans what it did not get
        with self._news:
            self._done = True
            self._news.notify_all()

    def verdict(self, part: str, digest: str) -> list[int] | None:
        """The helper's verdict of ``part``, waited for (:data:`WAIT_SECONDS` at most); None
        when it gave none, or one of other bytes than ``digest``."""
        deadline = time.monotonic() + WAIT_SECONDS
        with self._news:
            while part not in self._verdicts and not self._done:
                left = deadline - time.monotonic()
                if left <= 0:  # stuck: no more waiting for it, and no tables for it either
                    self._done = True
                    self.process.kill()
                    return None
                self._news.wait(left)
            got = self._verdicts.get(part)
        return got[1] if got is not None and got[0] == digest else None

    def end_share(self) -> None:
        """The guard is done: the claims folder goes."""
        if self._claims is not None:
            self._claims.close()

    def give(self, path: Path, tables: Sequence[str], claims: spawn.Claims) -> bool:
        """Send the tables the click shares (largest first), each to be read if the helper takes
        it from ``claims`` (the last job); False when the helper is gone."""
        self.end_share()
        job = {"workbook": str(path), "tables": list(tables), "claims": str(claims.folder)}
        return self._send(job, last=True)

    def dismiss(self) -> None:
        """No more work: the helper ends when it reads the end of its input."""
        self.end_share()
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()

    def stop(self) -> None:
        """End the helper now (the guard refused the file: its scan is of no use)."""
        self.dismiss()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class GuardShare:
    """The guard's end of a shared scan (:class:`sop_xl.io.guard.ScanShare`)."""

    def __init__(self, helper: Standby, claims: spawn.Claims) -> None:
        self._helper = helper
        self._claims = claims

    def take(self, piece: int) -> bool:
        return self._claims.take(piece, unsure=True)  # unsure: the guard scans it

    def verdict(self, part: str, digest: str) -> list[int] | None:
        return self._helper.verdict(part, digest)


def guard_job(job: dict, out) -> None:
    """The helper's side of a guard job: scan the parts it takes, a line per verdict, then
    ``{"done": true}``; it stops at a part the guard would refuse (the guard says why)."""
    from sop_xl.io import guard

    try:
        if job.get("code") == code():
            claims = spawn.Claims(Path(job["claims"]))
            take = functools.partial(claims.take, unsure=False)  # the guard scans an unsure one
            for part, digest, verdict in guard.scan_share(Path(job["guard"]), job["parts"], take):
                out.write(json.dumps({"part": part, "digest": digest, "verdict": verdict}) + "\n")
                out.flush()
    except Exception:  # a part the guard refuses, or a damaged file: the guard finds it too
        pass
    out.write(json.dumps({"done": True}) + "\n")
    out.flush()
