"""The forecast archive beyond the grid: a DataSources row keeps it in a Parquet file that the
steps write, the freeze keeps a copy of beside the plan, verify checks and the rebuild reads."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from sop_xl import cycle
from sop_xl.io.filebook import FileBook
from sop_xl.model import schema
from sop_xl.model.sheets import SheetOutput

ARCHIVE_FILE = Path("data") / "forecast_archive.parquet"


def _point_archive_to(master: Path, file: str) -> None:
    _point_archive_to_book(FileBook(master), file)


def _point_archive_to_book(book: FileBook, file: str) -> None:
    rows = pd.DataFrame(
        {"table": ["Forecast Archive"], "file": [file], "format": [None]},
        dtype=object,
    ).assign(source_table=None, note=None)
    book.write([SheetOutput(schema.DATA_SOURCES, rows)])


def _sheet_cells(master: Path) -> list[list[object]]:
    wb = CalamineWorkbook.from_path(str(master))
    return wb.get_sheet_by_name(schema.FORECAST_ARCHIVE.sheet).to_python()


@pytest.fixture(scope="module")
def archived(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo after its history step, the archive in its sheet (256 rows)."""
    folder = tmp_path_factory.mktemp("archived")
    master = folder / small_demo.name
    shutil.copyfile(small_demo, master)
    assert cycle.history(FileBook(master)).ok
    return master


def _copy(master: Path, folder: Path) -> Path:
    folder.mkdir()
    shutil.copyfile(master, folder / master.name)
    return folder / master.name


def test_the_next_write_moves_the_archive_from_its_sheet_to_the_file(
    archived: Path, tmp_path: Path
) -> None:
    """The file need not exist: until the first write the sheet's rows are the archive; the
    next step that writes it (consolidation, history) writes every row to the file and leaves
    the sheet empty with a line saying where they are. The reports are unchanged."""
    inside, outside = _copy(archived, tmp_path / "in"), _copy(archived, tmp_path / "out")
    before = FileBook(inside).read_table(schema.FORECAST_ARCHIVE)
    assert len(before) == 256
    _point_archive_to(outside, ARCHIVE_FILE.as_posix())
    assert FileBook(outside).sources() == {}  # no file yet: read from the sheet
    pd.testing.assert_frame_equal(FileBook(outside).read_table(schema.FORECAST_ARCHIVE), before)
    assert cycle.validate(FileBook(outside), write=False).ok

    a, b = cycle.history(FileBook(inside)), cycle.history(FileBook(outside))
    assert a.summary == b.summary
    for x, y in zip(a.outputs, b.outputs, strict=True):
        if x.table is not schema.FORECAST_ARCHIVE:
            pd.testing.assert_frame_equal(x.df, y.df, obj=x.table.name)
    file = outside.parent / ARCHIVE_FILE
    assert file.is_file() and set(FileBook(outside).sources()) == {schema.FORECAST_ARCHIVE.name}
    pd.testing.assert_frame_equal(
        FileBook(outside).read_table(schema.FORECAST_ARCHIVE),
        FileBook(inside).read_table(schema.FORECAST_ARCHIVE),
    )
    cells = _sheet_cells(outside)
    assert "256 rows, kept in forecast_archive.parquet" in str(cells[0][0])
    assert not any(any(v not in ("", None) for v in row) for row in cells[3:])  # no rows left
    # the file holds the sheet's headers, as an export would
    import duckdb

    cols = duckdb.sql(f"DESCRIBE SELECT * FROM '{file}'").fetchall()
    assert [c[0] for c in cols] == [c.header for c in schema.FORECAST_ARCHIVE.columns]


def test_one_book_sees_the_data_source_it_has_just_written(archived: Path, tmp_path: Path) -> None:
    """A book that writes a DataSources row and then the archive sends the archive to the file
    the row names (before, it kept the sources it had resolved before the row existed)."""
    from sop_xl.history.archive import archive_output

    master = _copy(archived, tmp_path / "m")
    book = FileBook(master)
    archive = book.read_table(schema.FORECAST_ARCHIVE)
    assert book.sources() == {}
    _point_archive_to_book(book, ARCHIVE_FILE.as_posix())
    book.write([archive_output(archive)])
    assert (master.parent / ARCHIVE_FILE).is_file()
    pd.testing.assert_frame_equal(book.read_table(schema.FORECAST_ARCHIVE), archive)


def test_the_archive_file_must_be_parquet(tmp_path: Path, archived: Path) -> None:
    master = _copy(archived, tmp_path / "m")
    _point_archive_to(master, "data/forecast_archive.csv")
    result = cycle.validate(FileBook(master), write=False)
    (bad,) = [f for f in result.detail if f.rule == "source.format"]
    assert "Parquet" in bad.message and bad.where.row == 2 and ".parquet" in bad.fix


def _frozen_with_archive_file(archived: Path, folder: Path):
    """A copy of ``archived`` whose archive moved to its file (history), then frozen: the
    master, the archive and the freeze's result."""
    master = _copy(archived, folder)
    _point_archive_to(master, ARCHIVE_FILE.as_posix())
    assert cycle.history(FileBook(master)).ok
    archive = FileBook(master).read_table(schema.FORECAST_ARCHIVE)
    return master, archive, cycle.freeze(master, approved_by="Test CFO")


def test_the_freeze_keeps_a_copy_that_verify_checks_and_the_rebuild_reads(
    archived: Path, tmp_path: Path
) -> None:
    master, archive, frozen = _frozen_with_archive_file(archived, tmp_path / "m")
    (src,) = frozen.detail.record["external_sources"]
    snapshots = master.parent / "snapshots"
    copy = snapshots / "SOP_Plan_2026-11_v01.forecast_archive.parquet"
    assert src["copy"] == copy.name
    assert copy.read_bytes() == (master.parent / ARCHIVE_FILE).read_bytes()
    assert not stat.S_IMODE(copy.stat().st_mode) & stat.S_IWUSR
    report = cycle.verify(snapshots)
    assert report.ok and any("kept with the plan, is intact" in n for n in report.detail.notes)

    # the next cycle rewrites the file; the plan's copy stays what the plan was built with
    (master.parent / ARCHIVE_FILE).write_bytes(b"not the archive any more")
    rebuilt = cycle.rebuild_archive(snapshots)
    assert rebuilt.cycles_used == ["2026-11"] and not rebuilt.findings
    got = rebuilt.archive
    assert len(got) == len(archive) and set(got["stage"]) == set(archive["stage"])

    os.chmod(copy, stat.S_IWUSR | stat.S_IRUSR)
    with open(copy, "ab") as f:
        f.write(b"x")
    report = cycle.verify(snapshots)
    assert not report.ok
    assert any("altered" in p and copy.name in p for p in report.detail.problems)
    copy.unlink()
    assert any("removed" in p for p in cycle.verify(snapshots).detail.problems)


def test_the_ribbon_writes_the_archive_to_its_file_too(archived: Path, tmp_path: Path) -> None:
    """XlBook (the ribbon's book) sends the archive to the file and writes the pointer line."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "excel"))
    from test_ribbon import FakeBook

    from sop_xl.excel.xlbook import XlBook

    master = _copy(archived, tmp_path / "m")
    _point_archive_to(master, ARCHIVE_FILE.as_posix())
    excel = FakeBook(master)
    result = cycle.history(XlBook(excel))
    assert result.ok
    assert (master.parent / ARCHIVE_FILE).is_file()
    pd.testing.assert_frame_equal(  # the file holds what the sheet held: the same archive
        FileBook(master).read_table(schema.FORECAST_ARCHIVE),
        FileBook(archived).read_table(schema.FORECAST_ARCHIVE),
    )
    ws = excel.wb[schema.FORECAST_ARCHIVE.sheet]
    assert "kept in forecast_archive.parquet" in str(ws.cell(1, 1).value)


def test_a_damaged_archive_file_says_how_to_get_it_back_and_the_rebuild_does(
    archived: Path, tmp_path: Path
) -> None:
    master, archive, _ = _frozen_with_archive_file(archived, tmp_path / "m")
    file = master.parent / ARCHIVE_FILE
    file.write_bytes(file.read_bytes()[:1000])  # cut short
    result = cycle.validate(FileBook(master), write=False)
    (bad,) = [f for f in result.detail if f.severity == "error"]
    assert "forecast_archive.parquet" in bad.where.file and "cannot be read" in bad.message
    assert "forecast_archive.parquet" in bad.fix and "history --snapshots" in bad.fix
    file.rename(master.parent / "damaged.parquet")  # as the fix says
    assert cycle.history(FileBook(master), snapshots=master.parent / "snapshots").ok
    assert len(FileBook(master).read_table(schema.FORECAST_ARCHIVE)) == len(archive)


def test_an_archive_that_cannot_be_written_is_a_message_and_the_file_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    from sop_xl.errors import InputFileError
    from sop_xl.io import external

    file = tmp_path / "forecast_archive.parquet"
    file.write_bytes(b"the archive as it was")
    source = external.Source(schema.FORECAST_ARCHIVE, file, "parquet", written=True)

    class Full:
        def register(self, *a):
            pass

        def execute(self, *a):
            raise duckdb.IOException("No space left on device")

        def close(self):
            pass

    monkeypatch.setattr(duckdb, "connect", lambda **kw: Full())
    with pytest.raises(InputFileError) as err:
        external.write_parquet(source, pd.DataFrame({"cycle": ["2026-11"]}))
    assert "No space left" in err.value.message and "nothing was changed" in err.value.message
    assert file.read_bytes() == b"the archive as it was"
    assert [p.name for p in tmp_path.iterdir()] == [file.name]  # no temporary file left


@pytest.mark.parametrize("name", ["../forecast_archive.parquet", "/etc/passwd", "..", "a\\b"])
def test_a_kept_copy_is_only_ever_read_from_the_snapshots_folder(name: str, tmp_path: Path) -> None:
    """A ledger is text: a record naming its archive copy outside the snapshots folder is
    reported, and the rebuild never reads such a file."""
    from sop_xl.io.external import frozen_copy
    from sop_xl.io.files import plain_name
    from sop_xl.plan.verify import VerifyReport, _check_sources

    assert not plain_name(name)
    record = {"external_sources": [{"table": "Forecast Archive", "copy": name, "sha256": "0"}]}
    assert frozen_copy(tmp_path, record, schema.FORECAST_ARCHIVE) is None
    rep = VerifyReport(tmp_path)
    _check_sources("SOP_Plan_2026-11_v01.xlsx", record, rep, tmp_path)
    assert rep.problems and "is not in its folder" in rep.problems[0]
