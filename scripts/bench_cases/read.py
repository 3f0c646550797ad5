"""Reading regional forecast workbooks: sop_xl's guarded calamine reader + typed validation vs
``pandas.read_excel(engine="openpyxl")`` (which neither guards nor validates)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.worksheet.table import Table as XlTable

from sop_xl.io import reader
from sop_xl.io.filebook import FileBook
from sop_xl.model import periods, schema


def make_forecast_file(path: Path, items: int, months: int, seed: int) -> None:
    """A wide Forecast grid (region, item, location, source, version + months) as an Excel Table."""
    rng = np.random.default_rng(seed)
    months_list = periods.period_range("2026-11", months)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Forecast")
    headers = [*schema.FORECAST.headers, *months_list]
    ws.append(headers)
    qty = rng.integers(0, 500, size=(items, months)).astype(float)
    for i in range(items):
        ws.append(["EU", f"IT{i:05d}", "EU-01", "bench", "v1", *qty[i].tolist()])
    last = reader.col_letter(len(schema.FORECAST.headers) + months)
    table = XlTable(displayName=schema.FORECAST.name, ref=f"A1:{last}{items + 1}")
    table._initialise_columns()  # write-only mode needs the column names set by hand
    for column, header in zip(table.tableColumns, headers, strict=True):
        column.name = header
    ws.add_table(table)
    wb.save(path)


def cases(quick: bool = False) -> list[dict]:
    files, items, months = (3, 200, 24) if quick else (12, 2000, 24)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"region_{i:02d}.xlsx" for i in range(files)]
        for i, p in enumerate(paths):
            make_forecast_file(p, items, months, seed=i)
        t0 = time.perf_counter()
        ours = 0
        for p in paths:
            book = FileBook(p)
            ours += len(book.read_table(schema.FORECAST))
        ours_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        base = 0
        for p in paths:
            base += pd.read_excel(p, sheet_name="Forecast", engine="openpyxl").size
        base_s = time.perf_counter() - t0
    return [
        {
            "case": "read regional forecast workbooks",
            "size": f"{files} files x {items:,} items x {months} months",
            "ours_s": ours_s,
            "baseline": "pandas.read_excel(openpyxl)",
            "baseline_s": base_s,
            "ratio": base_s / ours_s,
            "note": f"ours: guard + typed long frame ({ours:,} rows)",
        }
    ]
