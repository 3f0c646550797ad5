"""The ForecastArchive sheet has one writer and one layout (consolidation, history, demo), and
the history step does not rewrite it when it already holds exactly the rows it would write."""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from sop_xl import cycle
from sop_xl.history import archive as arc
from sop_xl.io.filebook import FileBook
from sop_xl.io.xlsx.parts import sheet_parts
from sop_xl.model import schema
from sop_xl.model.book import Coerced

sys.path.insert(0, str(Path(__file__).parents[1] / "plan"))
from test_snapshot import build_master


def _archive() -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "region": ["EU", "EU", "US"],
            "item": ["1000", "1001", "1000"],
            "location": ["DC1", "DC1", "DC2"],
            "period": ["2026-11", "2026-12", "2027-01"],
            "quantity": [10.0, 20.5, 30.0],
        }
    )
    return arc.replace(arc.empty(), arc.stage_rows(rows, "2026-11", "Consensus", lags=3))


def _read_as(df: pd.DataFrame, first_row: int = 4) -> Coerced:
    """The lenient read of a sheet holding ``df`` right below a header on row first_row - 1."""
    return Coerced(df.copy(), [], 0, np.arange(first_row, first_row + len(df), dtype=np.int64))


def test_holds_only_the_same_rows_in_the_one_layout() -> None:
    a = _archive()
    assert arc.archive_output(a).header_row == 3  # the title line, a blank row, the header
    assert arc.holds(_read_as(a), a)
    # the reader's types (text as read, lag recomputed) compare as the written rows
    assert arc.holds(_read_as(a.assign(lag=0).astype({"quantity": "float32"})), a)
    changed = a.copy()
    changed.loc[1, "quantity"] = 20.25  # one cell
    assert not arc.holds(_read_as(changed), a)
    assert not arc.holds(_read_as(a.iloc[:-1]), a)  # a row fewer
    assert not arc.holds(_read_as(a, first_row=2), a)  # no title: another layout
    gap = _read_as(a)
    gap.excel_rows[-1] += 1  # a blank row inside the table
    assert not arc.holds(gap, a)
    dropped = _read_as(a)
    dropped.bad_rows = 1  # a bad row the rewrite would remove
    assert not arc.holds(dropped, a)
    assert not arc.holds(None, a)


def _part_digest(path: Path, sheet: str) -> str:
    with zipfile.ZipFile(path) as zf:
        return hashlib.sha256(zf.read(sheet_parts(zf)[sheet])).hexdigest()


def _header_row(path: Path) -> int:
    wb = openpyxl.load_workbook(path)
    ws = wb[schema.FORECAST_ARCHIVE.sheet]
    (ref,) = [t.ref for t in ws.tables.values()]
    return int("".join(ch for ch in ref.split(":")[0] if ch.isdigit()))


def _spy(monkeypatch) -> list[set[str]]:
    """The sheets of each write_sheets call."""
    from sop_xl.io import writer

    calls: list[set[str]] = []
    real = writer.write_sheets

    def spy(src, outputs, dst=None):
        calls.append({o.sheet for o in outputs})
        return real(src, outputs, dst)

    monkeypatch.setattr(writer, "write_sheets", spy)
    return calls


def test_history_skips_the_unchanged_archive_and_rewrites_a_changed_one(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "cache"))
    calls = _spy(monkeypatch)
    m = build_master(tmp_path / "SOP_Master.xlsm", macros=False)
    cycle.history(FileBook(m))
    assert "ForecastArchive" in calls[-1]
    first = _part_digest(m, "ForecastArchive")
    assert _header_row(m) == 3
    cycle.history(FileBook(m))  # same inputs: the archive is not written again
    assert "ForecastArchive" not in calls[-1] and "LagAccuracy" in calls[-1]
    assert _part_digest(m, "ForecastArchive") == first
    book = FileBook(m)
    fc = book.read_table(schema.FORECAST)
    book.write([schema_output(fc.assign(quantity=fc["quantity"] * 2))])
    cycle.history(FileBook(m))  # one input changed: the archive holds new consensus rows
    assert "ForecastArchive" in calls[-1]
    assert _part_digest(m, "ForecastArchive") != first
    back = FileBook(m).read_table(schema.FORECAST_ARCHIVE)
    cons = back[back["stage"] == "Consensus"]
    assert sorted(cons["quantity"]) == sorted(
        (fc["quantity"] * 2)[fc["quantity"].notna()].astype(float)
    )


def schema_output(df: pd.DataFrame):
    from sop_xl.model.sheets import SheetOutput

    return SheetOutput(schema.FORECAST, df)


def test_consolidation_writes_the_archive_in_the_history_layout(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "cache"))
    m = build_master(tmp_path / "SOP_Master.xlsm", macros=False)
    cycle.history(FileBook(m))
    book = FileBook(m)
    fc = book.read_table(schema.FORECAST)
    book.write([schema_output(fc.assign(source="EU_forecast.xlsx"))])
    cycle.archive_submissions(FileBook(m))  # consolidation's writer
    assert _header_row(m) == 3  # the history step's layout, title kept
    back = FileBook(m).read_table(schema.FORECAST_ARCHIVE)
    assert {"Consensus", "Submission"} <= set(back["stage"])
    calls = _spy(monkeypatch)
    cycle.archive_submissions(FileBook(m))  # the same submissions again: nothing to write
    assert calls == []
