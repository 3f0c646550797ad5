"""The snapshot ledger: ``snapshots/ledger.jsonl``, append-only and hash-chained.

One JSON object per line, one line per frozen snapshot, in the order they were made::

    {"seq": 2, "file": "SOP_Plan_2026-11_v02.xlsx", "cycle": "2026-11", "version": 2,
     "created_at": "2026-11-22T09:14:03Z", "created_by": "anna", "approved_by": "CFO J. Doe",
     "source_file": "SOP_Master.xlsm", "source_sha256": "...", "content_hash": "...",
     "sheet_hashes": {"Forecast": "..."}, "file_sha256": "...",
     "prev_record_hash": "<record_hash of seq 1>", "record_hash": "..."}

``record_hash`` is the SHA-256 of the record's canonical JSON (keys sorted, no spaces, UTF-8)
without ``record_hash`` itself. Each record carries the previous record's ``record_hash``
(the first carries 64 zeros), so deleting, inserting, editing or reordering any line breaks the
chain at a place :func:`sop_xl.plan.verify.verify` can name.

Concurrency: every change to a snapshots folder happens under an exclusive lock on
``snapshots/.lock`` (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows). Two people
freezing at once get v01 and v02; nobody waits forever (a clear message after ``timeout``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sop_xl.errors import Location, SopError

LEDGER_NAME = "ledger.jsonl"
LOCK_NAME = ".lock"
GENESIS = "0" * 64
SNAPSHOT_RE = re.compile(r"^SOP_Plan_(\d{4}-\d{2})_v(\d{2,})\.xlsx$")


def snapshot_name(cycle: str, version: int) -> str:
    """``SOP_Plan_2026-11_v03.xlsx``."""
    return f"SOP_Plan_{cycle}_v{version:02d}.xlsx"


def canonical_json(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: dict) -> str:
    """SHA-256 of the canonical JSON of ``record`` without its ``record_hash`` key."""
    body = {k: v for k, v in record.items() if k != "record_hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass
class LedgerLine:
    """One line of the ledger as read (``record`` is None when the line is not valid JSON)."""

    line_no: int
    text: str
    record: dict | None
    error: str | None = None


def read_ledger(folder: Path) -> list[LedgerLine]:
    path = folder / LEDGER_NAME
    if not path.exists():
        return []
    lines = []
    with open(path, encoding="utf-8", newline="\n") as f:
        for i, text in enumerate(f, start=1):
            text = text.rstrip("\n")
            if not text.strip():
                continue
            try:
                rec = json.loads(text)
                if not isinstance(rec, dict):
                    raise ValueError("not a JSON object")
                lines.append(LedgerLine(i, text, rec))
            except ValueError as exc:
                lines.append(LedgerLine(i, text, None, f"not valid JSON ({exc})"))
    return lines


def records(folder: Path) -> list[dict]:
    """The valid records, in file order."""
    return [ln.record for ln in read_ledger(folder) if ln.record is not None]


def plan_status(folder: Path, cycle: str) -> str:
    """'frozen v02 (2026-11-20)' when the ledger in ``folder`` records a frozen version of
    ``cycle`` (the latest one is named), else 'draft' (no folder, no ledger, or unreadable)."""
    try:
        recs = [r for r in records(folder) if r.get("cycle") == cycle]
    except (OSError, ValueError):
        return "draft"
    if not recs:
        return "draft"
    last = recs[-1]
    try:
        version = f"v{int(last.get('version', 0)):02d}"
    except (TypeError, ValueError):
        version = f"v{last.get('version')}"
    when = str(last.get("created_at") or "")[:10]
    return f"frozen {version}" + (f" ({when})" if when else "")


def next_version(folder: Path, cycle: str) -> int:
    """1 + the highest version of ``cycle`` in the ledger OR on disk: numbers are never reused."""
    used = [int(r.get("version", 0)) for r in records(folder) if r.get("cycle") == cycle]
    for p in folder.glob(f"SOP_Plan_{cycle}_v*.xlsx"):
        m = SNAPSHOT_RE.match(p.name)
        if m:
            used.append(int(m.group(2)))
    return max(used, default=0) + 1


def append_record(folder: Path, fields: dict) -> dict:
    """Chain ``fields`` to the last record and append it (call under :func:`folder_lock`)."""
    recs = records(folder)
    last = recs[-1] if recs else None
    record = {
        **fields,
        "seq": (int(last.get("seq", 0)) + 1) if last else 1,
        "prev_record_hash": last.get("record_hash", GENESIS) if last else GENESIS,
    }
    record["record_hash"] = record_hash(record)
    path = folder / LEDGER_NAME
    if path.exists():  # the ledger is kept read-only between freezes (a deterrent)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    with open(path, "a", encoding="utf-8", newline="\n") as f:
        f.write(canonical_json(record).decode() + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return record


@contextlib.contextmanager
def folder_lock(folder: Path, *, timeout: float = 120.0, who: str = "") -> Iterator[None]:
    """Exclusive lock on ``folder/.lock`` for the duration of a freeze."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while not _try_lock(fd):
            if time.monotonic() > deadline:
                holder = ""
                with contextlib.suppress(OSError):
                    holder = path.read_text("utf-8").strip()
                raise SopError(
                    f"another freeze is in progress in this snapshots folder"
                    f"{f' ({holder})' if holder else ''}; waited {timeout:.0f} s.",
                    where=Location(file=str(path)),
                    fix="Wait for it to finish and freeze again; you will get the next version.",
                )
            time.sleep(0.05)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{who} pid {os.getpid()} since {time.ctime()}".encode())
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


if os.name == "nt":  # pragma: no cover - exercised on Windows CI only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def reserve(path: Path) -> None:
    """Create ``path`` exclusively (O_EXCL): an existing snapshot is never overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise SopError(
            f"{path.name} already exists; snapshots are never overwritten.",
            where=Location(file=str(path)),
            fix="Freeze again: the next free version number is used.",
        ) from None
    os.close(fd)
