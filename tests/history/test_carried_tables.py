"""The tables the cycle carries from month to month (the forecast archive, the action log) are
validated with the inputs: a bad row stops the cycle at validation, before any step writes, with
a finding that names the sheet, the row and the column."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from sop_xl import cycle
from sop_xl.io.filebook import FileBook
from sop_xl.model import schema
from sop_xl.model.sheets import SheetOutput


def _archive_row(quantity: object) -> dict[str, object]:
    return {"cycle": "2026-10", "stage": "Consensus", "region": "EU", "item": "X1",
            "location": "DE01", "period": "2026-11", "lag": 1, "quantity": quantity,
            "evidence": ""}  # fmt: skip


def test_a_bad_archive_row_is_a_located_validation_error(small_demo: Path, tmp_path) -> None:
    master = tmp_path / small_demo.name
    shutil.copy(small_demo, master)
    rows = pd.DataFrame([_archive_row(120.0), _archive_row("12O")])
    rows.loc[1, "period"] = "2026-12"
    as_typed = schema.FORECAST_ARCHIVE.model_copy(  # text in a number column, as if typed
        update={"columns": tuple(
            c.model_copy(update={"dtype": schema.Dtype.TEXT}) if c.name == "quantity" else c
            for c in schema.FORECAST_ARCHIVE.columns
        )}
    )  # fmt: skip
    FileBook(master).write([SheetOutput(as_typed, rows)])
    before = master.read_bytes()
    result = cycle.run_cycle(master)
    assert not result.ok and "Stopped" in result.summary
    [validate] = result.detail
    bad = [f for f in validate.detail if f.severity == "error"]
    assert len(bad) == 1, bad
    where = bad[0].where
    assert (where.sheet, where.column) == ("ForecastArchive", "Quantity")
    assert where.row is not None and where.row > 1
    assert "12O" in bad[0].message
    # only the Validation sheet was written: no step ran on the bad archive
    book = FileBook(master)
    assert not book.has_table(schema.LAG_ACCURACY)
    assert master.read_bytes() != before  # the Validation sheet itself


def test_a_workbook_without_the_carried_tables_validates(small_demo: Path, tmp_path) -> None:
    master = tmp_path / small_demo.name
    shutil.copy(small_demo, master)
    book = FileBook(master)
    assert not book.has_table(schema.FORECAST_ARCHIVE)
    assert cycle.validate(book).ok
