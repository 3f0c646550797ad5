"""The content hash shared with a helper process (sop_xl.plan.hash_helper): the same hash as
in one process, and the same hash whatever goes wrong with the helper.

The suite runs with ``SOP_XL_BACKGROUND=off`` (tests/conftest.py); these tests switch the helper
on and lower its size threshold so that a small workbook is shared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from test_snapshot import build_master

from sop_xl.io import spawn
from sop_xl.plan import content_hash as ch
from sop_xl.plan import hash_helper
from sop_xl.plan.snapshot import freeze, verify


def _workbook(path: Path) -> Path:
    """Five sheets of numbers, text, dates, blanks, and a newline to escape."""
    import datetime as dt

    wb = openpyxl.Workbook()
    wb.active.title = "First"
    for k in range(5):
        ws = wb.active if k == 0 else wb.create_sheet(f"Sheet {k}")
        for r in range(1, 40 + 30 * k):
            ws.append(
                [f"row {r}", r * 0.1 + k, None, dt.date(2026, 1 + r % 12, 1), "a\nb" * (r % 2)]
            )
    wb.save(path)
    return path


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return _workbook(tmp_path / "book.xlsx")


@pytest.fixture
def helper_on(monkeypatch: pytest.MonkeyPatch) -> list:
    """The helper switched on for any size; returns the list of what each helper answered."""
    monkeypatch.setenv("SOP_XL_BACKGROUND", "on")
    monkeypatch.setattr(spawn, "MIN_SHARE_BYTES", 1)
    monkeypatch.setattr(spawn, "READY_SHARE_BYTES", 1)
    monkeypatch.setattr(spawn, "STARTUP_BYTES", 0)
    monkeypatch.setattr(hash_helper, "COMBINE_BYTES", 0)
    monkeypatch.setattr(spawn.os, "cpu_count", lambda: 2)
    answers: list = []
    real = hash_helper.Helper.result

    def spy(self: hash_helper.Helper) -> dict:
        answers.append(got := real(self))
        return got

    monkeypatch.setattr(hash_helper.Helper, "result", spy)
    return answers


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent, having taken the first (largest) piece of a job, waits until the helper took
    one too (at most 30 s): on a workbook this small the parent would otherwise take every
    piece before the helper's imports are done, which is right, but tests nothing."""
    real = spawn.Claims.take

    def take(self: spawn.Claims, piece: int, *, unsure: bool) -> bool:
        mine = real(self, piece, unsure=unsure)
        deadline = time.monotonic() + 30
        while mine and piece == 0 and len(list(self.folder.iterdir())) < 2:
            assert time.monotonic() < deadline, "the helper took no piece"
            time.sleep(0.01)
        return mine

    monkeypatch.setattr(spawn.Claims, "take", take)


def _alone(source: Path | bytes, **kw: bool) -> ch.ContentHash:
    """The hash in one process (the helper switched off)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOP_XL_BACKGROUND", "off")
        return ch.content_hash(source, **kw)


def test_a_helper_is_worth_it_for_a_large_enough_share(monkeypatch) -> None:
    monkeypatch.setattr(spawn, "MIN_SHARE_BYTES", 20)
    monkeypatch.setattr(spawn, "READY_SHARE_BYTES", 20)
    monkeypatch.setattr(spawn, "STARTUP_BYTES", 10)
    monkeypatch.setattr(hash_helper, "COMBINE_BYTES", 0)
    # split by bytes, started already: 60 here, 20 + 10 + 10 = 40 there
    assert hash_helper.worth_sharing([10, 60, 20, 10], ready=True)
    # still to start (10 of work): 60 here, 30 + 10 + 10 there, 40 after its start
    assert hash_helper.worth_sharing([10, 60, 20, 10], ready=False)
    assert not hash_helper.worth_sharing([1, 1, 1, 97], ready=True)  # one sheet is the work
    assert not hash_helper.worth_sharing([5, 10], ready=True)  # too small for a process
    assert not hash_helper.worth_sharing([5, 16], ready=True)  # 16 here, 5 there: too little
    # the freeze's own work (taking the helper's lines, feeding SHA-256) counts: with 17 of it,
    # 16 and 5 go to the helper (21); with 16 of it, 5 stays here (a tie goes here)
    monkeypatch.setattr(hash_helper, "COMBINE_BYTES", 17)
    assert hash_helper.worth_sharing([5, 16], ready=True)
    monkeypatch.setattr(hash_helper, "COMBINE_BYTES", 16)
    assert not hash_helper.worth_sharing([5, 16], ready=True)


def test_the_helper_computes_its_sheets_and_the_hash_is_the_same(
    book: Path, helper_on, patient, monkeypatch
) -> None:
    alone = _alone(book)
    here: list[str] = []
    rows = ch._rows
    monkeypatch.setattr(ch, "_rows", lambda book, name: here.append(name) or rows(book, name))
    shared = ch.content_hash(book)
    assert (shared.hexdigest, shared.sheets, shared.cells) == (
        alone.hexdigest,
        alone.sheets,
        alone.cells,
    )
    assert len(helper_on) == 1 and helper_on[0], "the helper answered nothing"
    # each sheet is read once, here or there; the largest (Sheet 4) is taken here first
    assert sorted([*here, *helper_on[0]]) == sorted(alone.sheets)
    assert here[0] == "Sheet 4" and "Sheet 4" not in helper_on[0]
    # from bytes too (the helper reads them from its input), and without the first sheet
    data = book.read_bytes()
    for skip in (False, True):
        assert ch.content_hash(data, skip_first=skip) == _alone(data, skip_first=skip)
    assert all(helper_on[1:]) and len(helper_on) == 3


@pytest.mark.parametrize(
    "boot",
    [
        "import sys; sys.exit(3)",  # the helper fails
        "import sys; sys.stdin.buffer.read(); sys.stdout.buffer.write(b'garbage')",  # exit 0
        "import sys; sys.stdin.buffer.read(); sys.stdout.buffer.write(bytes(16) + b'end')",
        "import sys, time; time.sleep(60)",  # it hangs: the parent stops waiting
        "import os; os.kill(os.getpid(), 9)",  # it dies
    ],
)
def test_any_failure_of_the_helper_leaves_its_sheets_to_the_parent(
    book: Path, helper_on, monkeypatch, boot: str
) -> None:
    def failing(*args, **kw) -> subprocess.Popen:  # a helper that runs ``boot`` instead
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
        return subprocess.Popen([sys.executable, "-c", boot], **pipes)

    monkeypatch.setattr(spawn, "start", failing)
    monkeypatch.setattr(hash_helper, "WAIT_SECONDS", 2.0)
    assert ch.content_hash(book) == _alone(book)
    assert helper_on == [{}]


#: A helper that answers for sheet "A" only once the file named on its command line exists.
_WHEN_TOLD = (
    "import os, struct, sys, time\n"
    "sys.stdin.buffer.read()\n"
    "while not os.path.exists(sys.argv[1]): time.sleep(0.01)\n"
    "sys.stdout.buffer.write(struct.pack('<QQQ', 0, 3, 1) + b'abc' + b'end')\n"
)


def _told_helper(go: Path) -> hash_helper.Helper:
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
    return hash_helper.Helper(
        subprocess.Popen([sys.executable, "-c", _WHEN_TOLD, str(go)], **pipes)
    )


def test_the_wait_for_the_helper_starts_when_the_callers_sheets_are_done(
    tmp_path: Path, monkeypatch
) -> None:
    """The parent's own sheets took longer than WAIT_SECONDS (a large workbook, a slow
    machine): a helper as slow as the parent is still waited for, from the moment the parent
    asks for its answer (the clock once started at send: its answer was thrown away and its
    sheets computed a second time)."""
    monkeypatch.setattr(hash_helper, "WAIT_SECONDS", 1.0)
    go = tmp_path / "go"
    helper = _told_helper(go)
    try:
        assert helper.send(b"the workbook", ["A"], spawn.Claims(tmp_path))
        time.sleep(1.5)  # the parent's own sheets
        go.touch()  # the helper finishes its sheets about when the parent does
        assert helper.result() == {"A": (b"abc", 1)}
    finally:
        helper.close()


def test_a_helper_later_than_the_wait_is_killed_and_its_sheets_left_to_the_parent(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(hash_helper, "WAIT_SECONDS", 0.5)
    helper = _told_helper(tmp_path / "never")
    assert helper.send(b"the workbook", ["A"], spawn.Claims(tmp_path))
    start = time.monotonic()
    assert helper.result() == {}
    assert 0.5 <= time.monotonic() - start < 10  # the wait, then the kill
    assert helper.proc.poll() is not None and helper.proc.returncode != 0
    assert helper._thread is not None and not helper._thread.is_alive()


def test_a_helper_that_cannot_start_changes_nothing(book: Path, helper_on, monkeypatch) -> None:
    def no_process(*a, **k):
        raise OSError("no processes here")

    monkeypatch.setattr(spawn.subprocess, "Popen", no_process)
    assert hash_helper.start() is None
    assert ch.content_hash(book) == _alone(book)
    assert helper_on == []  # nothing was asked


def test_a_helper_running_other_code_refuses_the_work(book: Path, helper_on, monkeypatch) -> None:
    """A helper whose canonical lines could differ (another copy of sop_xl) does nothing."""
    monkeypatch.setattr(hash_helper, "_code", lambda: "another version")
    assert ch.content_hash(book) == _alone(book)
    assert helper_on == [{}]


def test_switched_off_or_one_core_starts_nothing(book: Path, monkeypatch) -> None:
    started = []
    monkeypatch.setattr(spawn.subprocess, "Popen", lambda *a, **k: started.append(a))
    monkeypatch.setattr(spawn, "MIN_SHARE_BYTES", 1)
    monkeypatch.setattr(spawn, "READY_SHARE_BYTES", 1)
    monkeypatch.setenv("SOP_XL_BACKGROUND", "off")
    assert hash_helper.start() is None
    ch.content_hash(book)
    monkeypatch.setenv("SOP_XL_BACKGROUND", "on")
    monkeypatch.setattr(spawn.os, "cpu_count", lambda: 1)
    assert hash_helper.start() is None
    ch.content_hash(book)
    assert started == []


def test_parse_refuses_a_short_or_trailing_answer() -> None:
    one = hash_helper._HEAD.pack(0, 3, 1) + b"abc"
    second = hash_helper._HEAD.pack(1, 2, 5) + b"de"
    assert hash_helper._parse(one + b"end", ["A"]) == {"A": (b"abc", 1)}
    # the sheets the helper took, in any order; none at all is an answer too
    assert hash_helper._parse(second + one + b"end", ["A", "B"]) == {
        "A": (b"abc", 1),
        "B": (b"de", 5),
    }
    assert hash_helper._parse(one + b"end", ["A", "B"]) == {"A": (b"abc", 1)}
    assert hash_helper._parse(b"end", ["A", "B"]) == {}
    assert hash_helper._parse(one, ["A"]) == {}  # no end mark
    assert hash_helper._parse(second + b"end", ["A"]) == {}  # no such sheet
    assert hash_helper._parse(one + one + b"end", ["A", "B"]) == {}  # one sheet twice
    assert hash_helper._parse(one[:-1] + b"end", ["A"]) == {}  # cut short
    assert hash_helper._parse(one + b"endx", ["A"]) == {}


def test_an_unused_helper_ends_when_closed() -> None:
    helper = hash_helper.start()
    if helper is None:  # the suite's switch: start one for this test
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SOP_XL_BACKGROUND", "on")
            mp.setattr(spawn.os, "cpu_count", lambda: 2)
            helper = hash_helper.start()
    assert helper is not None
    helper.close()
    assert helper.proc.returncode == 0  # it read an empty input and left quietly


def _sheets(snapshot: Path) -> dict[str, bytes]:
    """Every worksheet part of a frozen plan but the cover's (it says when it was made)."""
    from sop_xl.io.xlsx.parts import sheet_part_sizes
    from sop_xl.plan.snapshot import COVER_SHEET

    with zipfile.ZipFile(snapshot) as zf:
        parts = {name: part for name, (part, _) in sheet_part_sizes(zf).items()}
        return {part: zf.read(part) for name, part in parts.items() if name != COVER_SHEET}


def test_freeze_with_the_helper_records_the_same_hash_and_leaves_no_file(
    tmp_path: Path, helper_on, patient, monkeypatch
) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a = build_master(tmp_path / "a" / "SOP_Master.xlsm")
    b = build_master(tmp_path / "b" / "SOP_Master.xlsm")
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    frozen_there: list[dict] = []
    real = hash_helper.Helper.transformed

    def spy(self: hash_helper.Helper) -> dict:
        frozen_there.append(got := real(self))
        return got

    monkeypatch.setattr(hash_helper.Helper, "transformed", spy)
    shared = freeze(a, approved_by="Jane Doe, CFO", created_by="anna")
    assert helper_on and helper_on[0], "the freeze did not use the helper"
    assert frozen_there and frozen_there[0], "the helper froze no sheet"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOP_XL_BACKGROUND", "off")
        alone = freeze(b, approved_by="Jane Doe, CFO", created_by="anna")
    assert shared.content_hash == alone.content_hash
    assert shared.record["sheet_hashes"] == alone.record["sheet_hashes"]
    # the sheets the helper froze are the bytes one process writes
    assert _sheets(shared.path) == _sheets(alone.path)
    scratch = "xl/worksheets/sheet6.xml"  # very hidden and empty: frozen, then dropped
    assert set(frozen_there[0]) - {scratch} <= set(_sheets(shared.path))
    # the snapshot's own hash, read back in one process, is the recorded one
    assert _alone(shared.path, skip_first=True).hexdigest == shared.content_hash
    assert verify(shared.path.parent).ok
    assert list(temp.iterdir()) == []  # the uncompressed copy and the claims are gone
    record = json.loads((shared.path.parent / "ledger.jsonl").read_text().splitlines()[-1])
    assert record["content_hash"] == shared.content_hash


def test_freeze_without_a_temporary_folder_hashes_in_memory(tmp_path: Path, monkeypatch) -> None:
    """The uncompressed copy for the hash goes to the temporary folder; where it cannot be
    written the copy's bytes are hashed in memory, to the same hash."""
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a = build_master(tmp_path / "a" / "SOP_Master.xlsm")
    b = build_master(tmp_path / "b" / "SOP_Master.xlsm")
    usual = freeze(a, approved_by="Jane Doe, CFO", created_by="anna")

    mkstemp = tempfile.mkstemp

    def no_room(*args, **kw):  # the temporary folder is full (the snapshots folder is not)
        if kw.get("prefix") == "sop-xl-frozen-":
            raise OSError(28, "No space left on device")
        return mkstemp(*args, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", no_room)
    seen = []
    real = ch.content_hash
    monkeypatch.setattr(
        "sop_xl.plan.snapshot.content_hash",
        lambda source, **kw: seen.append(type(source)) or real(source, **kw),
    )
    in_memory = freeze(b, approved_by="Jane Doe, CFO", created_by="anna")
    assert seen == [bytes]
    assert in_memory.content_hash == usual.content_hash
    assert in_memory.record["sheet_hashes"] == usual.record["sheet_hashes"]


def test_parse_frozen_refuses_a_short_or_trailing_answer() -> None:
    missing = b'["B2"]'
    one = hash_helper._FROZEN.pack(0, 3, 1, 1, len(missing)) + b"abc" + missing
    second = hash_helper._FROZEN.pack(1, 1, 0, 0, 2) + b"x[]"
    assert hash_helper._parse_frozen(one + b"end", ["p"]) == {"p": (b"abc", 1, ["B2"], True)}
    assert hash_helper._parse_frozen(second + one + b"end", ["p", "q"]) == {
        "p": (b"abc", 1, ["B2"], True),
        "q": (b"x", 0, [], False),
    }
    assert hash_helper._parse_frozen(one + b"end", ["p", "q"]) == {"p": (b"abc", 1, ["B2"], True)}
    assert hash_helper._parse_frozen(b"end", ["p"]) == {}  # the helper took no part
    assert hash_helper._parse_frozen(one, ["p"]) == {}  # no end mark
    assert hash_helper._parse_frozen(second + b"end", ["p"]) == {}  # no such part
    assert hash_helper._parse_frozen(one + one + b"end", ["p", "q"]) == {}  # one part twice
    assert hash_helper._parse_frozen(one[:-1] + b"end", ["p"]) == {}  # cut short
    assert hash_helper._parse_frozen(one + b"endx", ["p"]) == {}


def test_a_helper_that_cannot_freeze_leaves_every_sheet_to_the_freeze(
    tmp_path: Path, helper_on, monkeypatch
) -> None:
    """A helper that refuses its first job (another copy of sop_xl) ends: the freeze freezes
    and hashes every sheet itself, to the same plan."""
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a = build_master(tmp_path / "a" / "SOP_Master.xlsm")
    b = build_master(tmp_path / "b" / "SOP_Master.xlsm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hash_helper, "_code", lambda: "another version")
        refused = freeze(a, approved_by="Jane Doe, CFO", created_by="anna")
    assert helper_on == []  # the hash was not sent to a helper that had ended
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOP_XL_BACKGROUND", "off")
        alone = freeze(b, approved_by="Jane Doe, CFO", created_by="anna")
    assert refused.content_hash == alone.content_hash
    assert _sheets(refused.path) == _sheets(alone.path)
    assert verify(refused.path.parent).ok


def test_a_freeze_refused_before_it_began_ends_the_helper_started_for_it(
    tmp_path: Path, monkeypatch
) -> None:
    """``sop-xl freeze`` starts its second process before anything else; a master the guard
    refuses ends it at once (the click says why, and no process is left waiting)."""
    from sop_xl import cli

    closed: list[bool] = []

    class Started:
        ready = False

        def close(self) -> None:
            closed.append(True)

    monkeypatch.setattr(hash_helper, "start", Started)
    master = tmp_path / "SOP_Planning.xlsm"
    master.write_bytes(b"PK\x03\x04" + b"\0" * 4096)  # not a workbook
    assert cli.main(["freeze", str(master), "--approved-by", "Jane Doe, CFO"]) == 2
    assert closed == [True]


def test_claims_give_each_piece_to_one_process(tmp_path: Path) -> None:
    """The click and its helper take pieces from one folder: whoever creates a piece's file
    first does it; the other leaves it. Where the folder cannot say, the caller's ``unsure``."""
    claims = spawn.Claims.create()
    assert claims is not None and claims.folder.is_dir()
    other = spawn.Claims(claims.folder)  # the helper's end: the folder by name
    assert claims.take(0, unsure=False) is True
    assert other.take(0, unsure=True) is False  # taken already: certain
    assert other.take(1, unsure=False) is True
    assert claims.take(1, unsure=True) is False
    other.close()  # not its folder: left as it is
    assert claims.folder.is_dir()
    claims.close()
    assert not claims.folder.exists()
    assert other.take(2, unsure=True) is True and other.take(3, unsure=False) is False


def test_claims_are_taken_once_by_two_processes(tmp_path: Path) -> None:
    """Two processes racing through the same 400 pieces take each exactly once."""
    script = (
        "import sys; from pathlib import Path; from sop_xl.io.spawn import Claims\n"
        "c = Claims(Path(sys.argv[1]))\n"
        "print(' '.join(str(i) for i in range(400) if c.take(i, unsure=False)))\n"
    )
    runs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    taken = [[int(i) for i in run.communicate()[0].split()] for run in runs]
    assert sorted(taken[0] + taken[1]) == list(range(400))
    claims = spawn.Claims(tmp_path)  # each piece says who took it
    for run, pieces in zip(runs, taken, strict=True):
        assert {claims.taker(i) for i in pieces} <= {run.pid}
    assert claims.taker(400) is None


def test_a_killed_clicks_claims_folder_is_removed_by_the_next_one(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(spawn.tempfile, "tempdir", str(tmp_path))
    old, recent = tmp_path / f"{spawn.CLAIMS_PREFIX}old", tmp_path / f"{spawn.CLAIMS_PREFIX}now"
    for folder in (old, recent):
        folder.mkdir()
        (folder / "0").write_text("123")
    hours_ago = time.time() - 2 * spawn.STALE_SECONDS
    os.utime(old, (hours_ago, hours_ago))
    claims = spawn.Claims.create()
    assert claims is not None and claims.folder.parent == tmp_path
    assert not old.exists() and recent.exists()  # another click may still be using that one
    claims.close()


def test_a_slow_parent_leaves_the_other_sheets_to_the_helper(
    book: Path, helper_on, monkeypatch
) -> None:
    """The pieces follow the time each side takes, not a guess from their bytes: while the
    parent reads its first sheet (slowly: another program on its core), the helper takes every
    other one. Split by bytes, the parent would read three of the five."""
    alone = _alone(book)
    made: list[spawn.Claims] = []
    create = spawn.Claims.create
    monkeypatch.setattr(spawn.Claims, "create", lambda: made.append(c := create()) or c)
    here: list[str] = []
    rows = ch._rows

    def slow(book: object, name: str) -> list:
        here.append(name)
        deadline = time.monotonic() + 30
        while len(list(made[0].folder.iterdir())) < len(alone.sheets):
            assert time.monotonic() < deadline, "the helper did not take the other sheets"
            time.sleep(0.01)
        return rows(book, name)

    monkeypatch.setattr(ch, "_rows", slow)
    assert ch.content_hash(book) == alone
    assert here == ["Sheet 4"]  # the largest, taken first
    assert sorted(helper_on[0]) == ["First", "Sheet 1", "Sheet 2", "Sheet 3"]
