"""The guard's scan shared with the read-ahead helper (sop_xl.io.standby): the same verdicts as
one process, the same refusal of a bad part whoever took it, and a part scanned here whenever
the helper's verdict is missing, of other bytes, or of the wrong form."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from test_guard import rezip

from sop_xl.errors import InputFileError
from sop_xl.io import guard, spawn, standby
from sop_xl.io.filebook import FileBook


class Memo(dict):
    def put(self, digest: str, verdict: list[int]) -> None:
        self[digest] = verdict


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """Four sheets of different sizes (S4 the largest), one with an error cell."""
    wb = Workbook()
    for k in range(1, 5):
        ws = wb.active if k == 1 else wb.create_sheet()
        ws.title = f"S{k}"
        for r in range(1, 200 * k):
            ws.append([f"item {r}", r * k, r / 7])
    wb["S2"]["B3"] = "=1/0"
    path = tmp_path / "book.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as zf:  # the error cell as Excel saves it: t="e"
        sheet2 = zf.read("xl/worksheets/sheet2.xml")
    cell = sheet2.index(b'<c r="B3"')
    end = sheet2.index(b"</c>", cell) + 4
    sheet2 = sheet2[:cell] + b'<c r="B3" t="e"><f>1/0</f><v>#DIV/0!</v></c>' + sheet2[end:]
    return rezip(path, tmp_path / "book2.xlsx", {"xl/worksheets/sheet2.xml": sheet2})


@pytest.fixture
def helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[int] | None]:
    """The helper on for any size, as on two cores, every part large enough to share; the
    verdicts the guard took from the helper."""
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("SOP_XL_BACKGROUND", "on")
    monkeypatch.setattr(spawn, "MIN_SHARE_BYTES", 1)
    monkeypatch.setattr(spawn, "READY_SHARE_BYTES", 1)
    monkeypatch.setattr(spawn.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(guard, "MEMO_MIN_BYTES", 0)
    taken: list[list[int] | None] = []
    real = standby.Standby.verdict

    def verdict(self, part: str, digest: str) -> list[int] | None:
        taken.append(got := real(self, part, digest))
        return got

    monkeypatch.setattr(standby.Standby, "verdict", verdict)
    return taken


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard, having taken the largest part, waits until the helper took one (at most
    30 s): on a file this small it would otherwise scan every part before the helper's
    imports are done, which is right, but tests nothing."""
    real = standby.GuardShare.take

    def take(self: standby.GuardShare, piece: int) -> bool:
        mine = real(self, piece)
        deadline = time.monotonic() + 30
        while mine and piece == 0 and len(list(self._claims.folder.iterdir())) < 2:
            assert time.monotonic() < deadline, "the helper took no part"
            time.sleep(0.01)
        return mine

    monkeypatch.setattr(standby.GuardShare, "take", take)


def _alone(path: Path) -> guard.FileInfo:
    return guard.check_workbook_file(path)


def test_a_shared_scan_gives_the_verdicts_of_one_process(book: Path, helpers, patient) -> None:
    shared = FileBook(book, read_ahead=True)
    try:
        alone = _alone(book)
        assert shared.info.extents == alone.extents and shared.info.error_sheets == {"S2"}
        assert shared.info.sha256 == alone.sha256
        assert any(v is not None for v in helpers), "the guard took no verdict of the helper"
    finally:
        shared._dismiss()


def test_a_bad_part_the_helper_took_is_refused_with_the_guards_own_words(
    book: Path, tmp_path: Path, helpers, patient
) -> None:
    """The helper stops at a part the guard would refuse and says nothing of it: the guard
    scans that part itself and refuses the file exactly as it does alone."""
    with zipfile.ZipFile(book) as zf:
        sheet3 = zf.read("xl/worksheets/sheet3.xml")  # the second largest: the helper's
    bad = sheet3.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "b">]><worksheet', 1)
    hostile = rezip(book, tmp_path / "hostile.xlsx", {"xl/worksheets/sheet3.xml": bad})
    with pytest.raises(InputFileError) as alone:
        _alone(hostile)
    with pytest.raises(InputFileError) as shared:
        FileBook(hostile, read_ahead=True)
    assert str(shared.value) == str(alone.value) and "DOCTYPE" in str(alone.value)
    assert None in helpers  # the guard asked the helper for that part and got nothing


class _Share:
    """A helper that takes every part and answers ``answer`` for each."""

    def __init__(self, answer: list[int] | None) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def take(self, piece: int) -> bool:
        return False

    def verdict(self, part: str, digest: str) -> list[int] | None:
        self.asked.append(part)
        return self.answer


@pytest.mark.parametrize("answer", [None, [1], [0, 0, "x"], [7, 7]])
def test_no_verdict_or_one_of_the_wrong_form_is_a_part_scanned_here(
    book: Path, monkeypatch: pytest.MonkeyPatch, answer
) -> None:
    monkeypatch.setattr(guard, "MEMO_MIN_BYTES", 0)
    scanned: list[str] = []
    real = guard._verdict
    monkeypatch.setattr(
        guard, "_verdict", lambda zf, part, *a: scanned.append(part) or real(zf, part, *a)
    )
    share = _Share(answer)
    memo = Memo()
    info = guard.check_workbook_file(book, memo=memo, share=lambda parts: share)
    assert info.extents == _alone(book).extents and info.error_sheets == {"S2"}
    sheets = [p for p in share.asked if p.startswith("xl/worksheets/")]
    assert len(sheets) == 4 and set(sheets) <= set(scanned)  # every sheet scanned here
    assert all(len(v) in (0, 3) for v in memo.values())  # only true verdicts are kept


def test_only_a_verdict_of_the_same_bytes_counts() -> None:
    lines = [
        {"part": "a", "digest": "d1", "verdict": [0, 30, 1]},
        {"part": "b", "digest": "d2", "verdict": []},
        {"done": True},
    ]

    class Process:
        stdin = io.BytesIO()
        stdout = io.BytesIO(b"".join(json.dumps(x).encode() + b"\n" for x in lines))

    helper = standby.Standby(Process())  # type: ignore[arg-type]
    claims = spawn.Claims.create()
    assert claims is not None
    helper._claims = claims
    helper._read()
    assert helper.verdict("a", "d1") == [0, 30, 1]
    assert helper.verdict("a", "other bytes") is None
    assert helper.verdict("b", "d2") == []
    assert helper.verdict("c", "d3") is None  # done, and never scanned there: no wait
    helper.end_share()
    assert not claims.folder.exists()


def test_a_helper_running_other_code_scans_nothing(book: Path) -> None:
    claims = spawn.Claims.create()
    assert claims is not None
    out = io.StringIO()
    job = {"guard": str(book), "parts": ["xl/worksheets/sheet1.xml"], "claims": str(claims.folder)}
    standby.guard_job({**job, "code": "another version"}, out)
    assert out.getvalue() == '{"done": true}\n' and list(claims.folder.iterdir()) == []
    standby.guard_job({**job, "code": standby.code()}, out := io.StringIO())
    first = json.loads(out.getvalue().splitlines()[0])
    assert first["part"] == "xl/worksheets/sheet1.xml" and len(first["verdict"]) == 3
    claims.close()


def test_validate_starts_its_helper_before_it_opens_the_book(
    small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sop-xl validate`` starts the read-ahead helper first (it imports beside the click),
    and the book uses that one."""
    from sop_xl import cli
    from sop_xl.io import filebook

    master = tmp_path / small_demo.name
    master.write_bytes(small_demo.read_bytes())
    events: list[str] = []

    class Started:
        def share(self, path, parts):
            return None

        def end_share(self) -> None:
            events.append("guard done")

        def dismiss(self) -> None:
            events.append("dismissed")

        def stop(self) -> None:
            events.append("stopped")

    monkeypatch.setattr(standby, "start", lambda path: events.append(f"start {path}") or Started())
    real = filebook.FileBook.__init__

    def init(self, path, **kw):
        events.append(f"book {path} {type(kw.get('helper')).__name__}")
        real(self, path, **kw)

    monkeypatch.setattr(filebook.FileBook, "__init__", init)
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "store"))
    cli.main(["validate", str(master)])
    assert events[:2] == [f"start {master}", f"book {master} Started"]
