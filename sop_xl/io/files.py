"""File-level helpers every writer shares: the one atomic replacement and the one file digest.

A file we write is never seen half-written: the bytes go to a temp file in the target's own folder
(same file system, so the rename is atomic), are flushed to disk, and only then replace the
target with ``os.replace``. On any failure the temp file is deleted and the target is left exactly
as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sop_xl.errors import Location, SopError


@contextlib.contextmanager
def atomic_path(
    path: str | Path, *, mode: int | None = None, durable: bool = True
) -> Iterator[Path]:
    """Yield a temp path beside ``path``; write the whole file there. On a normal exit the temp
    file is fsynced, given its permissions and renamed onto ``path`` (then the folder is fsynced,
    so the rename survives a power cut, best effort). On an exception the temp file is removed.
    ``durable=False`` skips the two fsyncs: for a cache, whose entry lost in a power cut is only
    computed again (a flush costs milliseconds each, more on Windows, and a click writes dozens).

    The folder must exist (a missing folder is a clear error, not silently created).
    ``mode``: the permission bits of the result. Default: those of the file it replaces, or for a
    new file what the process's umask gives (as any program creating it would).

    Usage::

        with atomic_path(out) as tmp:
            wb.save(tmp)
    """
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(
            prefix=".~" + path.stem[:20] + ".", suffix=".tmp", dir=path.parent
        )
    except OSError as e:
        raise SopError(
            f"cannot create a file in folder {path.parent} ({e.strerror})",
            where=Location(file=path.name),
            fix="check that the folder exists and that you may write in it",
        ) from e
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        if mode is None:
            if path.exists():
                mode = path.stat().st_mode & 0o7777
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        try:
            os.replace(tmp, path)
        except PermissionError as e:
            raise SopError(
                f"cannot replace {path.name} ({e.strerror})",
                where=Location(file=path.name),
                fix="close it in Excel (or any program that has it open) and try again",
            ) from e
        if durable and hasattr(os, "O_DIRECTORY"):  # the rename itself durable (POSIX)
            with contextlib.suppress(OSError):
                dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            if tmp.exists():
                os.chmod(tmp, 0o600)  # a read-only temp file can still be removed on Windows
                tmp.unlink()
        raise


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as 64 lowercase hex digits (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def plain_name(name: str) -> bool:
    """Whether ``name`` is a file name and nothing more: no folder, no ``..`` (a name read from a
    file anyone may have edited, e.g. a ledger record, must not lead outside its folder)."""
    return bool(name) and name not in (".", "..") and Path(name).name == name and "\\" not in name


def cache_dir() -> Path | None:
    """Where sop_xl keeps what it learned about files (the table store, the guard's verdicts:
    :mod:`sop_xl.io.tablestore`), or None when that is off (``SOP_XL_CACHE_DIR=off``)."""
    env = os.environ.get("SOP_XL_CACHE_DIR")
    if env:
        return None if env.strip().lower() == "off" else Path(env)
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "sop_xl"
        return base / "cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "sop_xl"
    return Path(os.environ.get("XDG_CACHE_HOME", home / ".cache")) / "sop_xl"
