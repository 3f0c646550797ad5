"""Tables read ahead in helper processes (sop_xl.io.prefetch): how the work is shared, the same
tables and findings as one process reading them all, and never a hang, a lost table or a helper
holding the workbook when it is written."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sop_xl import cycle
from sop_xl.errors import SopError
from sop_xl.io import prefetch, reader, spawn, standby, tablestore
from sop_xl.io.filebook import FileBook
from sop_xl.model import schema


# --- the same result as one process ------------------------------------------------------------
@pytest.fixture
def helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[prefetch.Prefetch | None]:
    """Helpers on, for any workbook size, as on a two-core machine; each read-ahead's shared
    tables (None: no helper started)."""
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("SOP_XL_BACKGROUND", "on")
    monkeypatch.setattr(spawn, "MIN_SHARE_BYTES", 1)
    monkeypatch.setattr(spawn, "READY_SHARE_BYTES", 1)
    monkeypatch.setattr(spawn, "STARTUP_BYTES", 0)
    monkeypatch.setattr(spawn.os, "cpu_count", lambda: 2)
    made: list[list[str] | None] = []
    real = prefetch.start

    def start(path, wanted, ready=None):
        got = real(path, wanted, ready)
        made.append(got)
        return got

    monkeypatch.setattr(prefetch, "start", start)
    return made


def _theirs(shared: prefetch.Prefetch) -> set[str]:
    """The shared tables a helper took (the click took the others)."""
    return {name for name in shared.tables if name not in shared._mine}


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """The click, having taken the largest shared table, waits until a helper took one (at most
    30 s): on the small demo it would otherwise read every table before the helper's imports
    are done, which is right, but tests nothing."""
    real = prefetch.Prefetch.take

    def take(self: prefetch.Prefetch, table: str) -> bool:
        first = not self._mine
        mine = real(self, table)
        deadline = time.monotonic() + 30
        while mine and first and len(list(self._claims.folder.iterdir())) < 2:
            assert time.monotonic() < deadline, "the helper took no table"
            time.sleep(0.01)
        return mine

    monkeypatch.setattr(prefetch.Prefetch, "take", take)


@pytest.fixture
def coerced_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables this process parses itself."""
    names: list[str] = []
    real = reader.coerce

    def coerce(table, raw):
        names.append(table.name)
        return real(table, raw)

    monkeypatch.setattr(reader, "coerce", coerce)
    return names


@pytest.fixture
def bad_master(small_demo: Path, tmp_path: Path) -> Path:
    """The small demo with bad cells in three tables, so that findings come from several."""
    import openpyxl
    from openpyxl.utils import range_boundaries

    master = tmp_path / "in" / small_demo.name
    master.parent.mkdir()
    wb = openpyxl.load_workbook(small_demo)
    for name, column, value in (
        ("SalesActuals", "quantity", "twelve"),
        ("Items", "item", None),
        ("SalesOrderLines", "qty_ordered", "lots"),
    ):
        table = schema.table(name)
        ws = wb[table.sheet]
        _, top, _, _ = range_boundaries(ws.tables[table.name].ref)
        titles = [c.value for c in ws[top]]
        ws.cell(top + 2, titles.index(table.column(column).header) + 1).value = value
    wb.save(master)
    return master


def _findings(result: cycle.StepResult) -> list[tuple]:
    return [(f.severity, f.message, f.where, f.rule) for f in result.detail]


def test_validation_reads_the_same_tables_and_findings_with_helpers(
    bad_master: Path,
    helpers: list,
    patient,
    coerced_here: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tables = (*schema.INPUT_TABLES, *schema.CARRIED_TABLES)
    with_helpers = cycle.validate(FileBook(bad_master), write=False)
    assert helpers and helpers[0], "no helper was started"
    # the reading done, nothing is left behind though nothing was written (before: the claims
    # folder stayed in the temporary folder, one per such read)
    assert not helpers[0]._claims.folder.exists()
    assert all(process.poll() is not None for process in helpers[0]._processes)
    theirs, shared = _theirs(helpers[0]), set(helpers[0].tables)
    assert theirs, "the helper read no table"
    assert not theirs & set(coerced_here), "the helper's tables were parsed here"
    assert shared - theirs <= set(coerced_here)  # each shared table read once, here or there

    monkeypatch.setenv("SOP_XL_BACKGROUND", "off")
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(bad_master.parent / "own_store"))
    alone = cycle.validate(FileBook(bad_master), write=False)
    assert _findings(with_helpers) == _findings(alone)
    rules = {f.where.sheet for f in alone.detail if f.severity == "error"}
    assert {"SalesActuals", "Items", "SalesOrderLines"} <= rules
    book = FileBook(bad_master)  # the store's tables (some the helper's) and the file's
    for table in filter(book.has_table, tables):
        kept, parsed = book.read_coerced(table), _read_alone(bad_master, table)
        pd.testing.assert_frame_equal(kept.df, parsed.df)
        assert kept.findings == parsed.findings and kept.bad_rows == parsed.bad_rows


def _read_alone(master: Path, table: schema.Table):
    return reader.coerce(table, FileBook(master).read_raw(table))


def test_a_helper_that_fails_costs_time_not_tables(
    bad_master: Path, helpers: list, coerced_here: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started = []

    def failing(module, args, pipe=False, **kw):
        code = [sys.executable, "-c", "raise SystemExit(3)"]
        started.append(subprocess.Popen(code, stdin=subprocess.PIPE if pipe else None))
        return started[-1]

    monkeypatch.setattr(spawn, "start", failing)
    result = cycle.validate(FileBook(bad_master), write=False)
    assert started and all(p.wait() == 3 for p in started)
    book = FileBook(bad_master)
    read = {t.name for t in (*schema.INPUT_TABLES, *schema.CARRIED_TABLES) if book.has_table(t)}
    assert read <= set(coerced_here)  # the click read them all itself
    assert any(f.where.sheet == "SalesActuals" for f in result.detail)


class _Stuck:
    """A helper that never ends by itself."""

    def __init__(self) -> None:
        self.killed = False
        self.stdin = io.BytesIO()
        self.pid = -1

    def poll(self):
        return -9 if self.killed else None

    def kill(self) -> None:
        self.killed = True

    def wait(self, timeout=None) -> int:
        assert self.killed, "waited for a helper that was never told to stop"
        return -9


def test_a_stuck_helper_is_stopped_and_the_table_read_here(
    small_demo: Path, helpers: list, coerced_here: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck = _Stuck()
    monkeypatch.setattr(spawn, "start", lambda *a, **k: stuck)
    monkeypatch.setattr(prefetch, "WAIT_SECONDS", 0.2)
    give = standby.Standby.give

    def take_the_largest_and_hang(self, path, tables, claims) -> bool:
        assert claims.take(0, unsure=False)  # as the helper would, before it hangs
        return give(self, path, tables, claims)

    monkeypatch.setattr(standby.Standby, "give", take_the_largest_and_hang)
    result = cycle.validate(FileBook(small_demo), write=False)
    assert stuck.killed and result.ok
    assert helpers[0].tables[0] in coerced_here  # read here after all


def test_no_helper_holds_the_workbook_when_it_is_written(
    small_demo: Path, tmp_path: Path, helpers: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = tmp_path / small_demo.name
    shutil.copy(small_demo, master)
    stuck = _Stuck()
    monkeypatch.setattr(spawn, "start", lambda *a, **k: stuck)
    book = FileBook(master)
    next(iter(book.read_ahead([schema.SALES_ACTUALS, schema.ITEMS])))  # helper shares the rest
    assert helpers[0] and not stuck.killed
    book.write([cycle.validation_output([], ["Validation", "0 error(s)"])])
    assert stuck.killed


def test_nothing_is_handed_off_when_helpers_are_off_or_tables_are_kept(
    small_demo: Path, helpers: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = [schema.SALES_ACTUALS, schema.ITEMS]
    book = FileBook(small_demo)
    for table in tables:
        book.read_coerced(table)  # now kept in the store
    assert list(book.read_ahead(tables)) == tables and helpers == [None]
    monkeypatch.setenv("SOP_XL_BACKGROUND", "off")
    assert list(FileBook(small_demo).read_ahead([schema.INVENTORY])) == [schema.INVENTORY]
    assert helpers == [None, None]


def test_the_helper_keeps_the_tables_it_was_given(
    small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "store"))
    claims = spawn.Claims(tmp_path)
    assert prefetch.read_tables(small_demo, [], claims) == 2
    assert prefetch.read_tables(small_demo, ["tblNoSuchTable"], claims) == 2
    assert prefetch.read_tables(tmp_path / "missing.xlsx", [schema.ITEMS.name], claims) == 1
    names = [schema.ITEMS.name, schema.SALES_ACTUALS.name, schema.INVENTORY.name]
    assert claims.take(1, unsure=False)  # the click took the sales actuals
    assert prefetch.read_tables(small_demo, names, claims) == 0
    book = FileBook(small_demo)
    kept = {t.name for t in (schema.ITEMS, schema.SALES_ACTUALS, schema.INVENTORY)
            if tablestore.stored(book._key(t))}  # fmt: skip
    assert kept == {schema.ITEMS.name, schema.INVENTORY.name}


def test_a_helper_on_standby_imports_first_and_ends_without_work(
    small_demo: Path, helpers: list, tmp_path: Path
) -> None:
    helper = standby.start(small_demo)
    assert helper is not None
    helper.dismiss()
    assert helper.process.wait(timeout=60) == 0
    helper = standby.start(small_demo)
    assert helper is not None
    assert helper.give(small_demo, [schema.ITEMS.name], spawn.Claims(tmp_path))
    assert helper.process.wait(timeout=60) == 0
    assert tablestore.stored(FileBook(small_demo)._key(schema.ITEMS))


def test_the_guard_refusing_a_file_leaves_no_helper_waiting(
    tmp_path: Path, helpers: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 4096)  # not a workbook
    stuck = _Stuck()
    monkeypatch.setattr(spawn, "start", lambda *a, **k: stuck)
    with pytest.raises(SopError):
        FileBook(bad, read_ahead=True)
    assert stuck.stdin.closed and stuck.killed  # stopped: its share of the scan is of no use


def test_only_a_click_that_reads_ahead_starts_a_helper_before_the_guard(
    small_demo: Path, helpers: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A click that reads a table or two (the freeze, a KPI click after validation) must not
    start a Python with pandas beside it: on two cores it slows the click's own helpers."""
    started: list[Path] = []
    monkeypatch.setattr(standby, "start", lambda path: started.append(path))
    FileBook(small_demo)
    assert started == []
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(small_demo.parent / "other_store"))  # unseen
    FileBook(small_demo, read_ahead=True)
    assert started == [small_demo]


class _Process:
    def __init__(self, pid: int, running: bool) -> None:
        self.pid, self.running = pid, running

    def poll(self):
        return None if self.running else 1


def test_a_table_whose_helper_died_is_read_here_while_another_helper_runs(
    small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each claim holds its taker's process id: when the helper that took a table has ended
    without it, the click reads it at once, even while another helper still works."""
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "store"))
    monkeypatch.setattr(prefetch, "WAIT_SECONDS", 30.0)
    claims = spawn.Claims.create()
    assert claims is not None
    (claims.folder / "0").write_text("4242")  # taken by the helper with process id 4242
    dead, busy = _Process(4242, running=False), _Process(4343, running=True)
    shared = prefetch.Prefetch([(schema.ITEMS, "no-such-key")], claims, [dead, busy])
    start = time.monotonic()
    assert shared.wait(schema.ITEMS.name) is False  # read here
    assert time.monotonic() - start < 5
    claims.close()
