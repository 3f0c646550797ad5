"""sop_xl.io.files: the one atomic replacement and the one file digest."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from sop_xl.errors import SopError
from sop_xl.io.files import atomic_path, sha256_file


def test_replaces_keeping_the_old_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "book.xlsx"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing visible before the end
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"]


def test_a_failure_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "book.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target, mode=0o444) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash while writing")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"]


def test_explicit_mode_and_missing_folder(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "plan.xlsx", mode=0o444) as tmp:
        tmp.write_bytes(b"x")
    assert stat.S_IMODE((tmp_path / "plan.xlsx").stat().st_mode) == 0o444
    missing = tmp_path / "nowhere" / "a.xlsx"
    with (
        pytest.raises(SopError, match=r"cannot create a file in folder .*Fix: check"),
        atomic_path(missing),
    ):
        pass


def test_sha256_file(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    data = bytes(range(256)) * 5000  # > 1 MiB: more than one chunk
    p.write_bytes(data)
    assert sha256_file(p) == hashlib.sha256(data).hexdigest()


def test_a_durable_write_flushes_and_a_cache_write_does_not(tmp_path: Path, monkeypatch) -> None:
    """Workbooks and plans are flushed to disk before the rename; the table store's entries are
    not (a lost entry is only computed again), and both still replace the file atomically."""
    import os

    flushed: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: flushed.append(fd) or real(fd))
    with atomic_path(tmp_path / "plan.xlsx") as tmp:
        tmp.write_bytes(b"plan")
    assert flushed and (tmp_path / "plan.xlsx").read_bytes() == b"plan"
    flushed.clear()
    with atomic_path(tmp_path / "entry.npz", durable=False) as tmp:
        tmp.write_bytes(b"entry")
    assert not flushed and (tmp_path / "entry.npz").read_bytes() == b"entry"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".~")] == []
