"""Reading regional forecast workbooks: sop_xl's guarded calamine reader + typed validation vs
``pandas.read_excel(engine="openpyxl")`` (which neither guards nor validates); and the typing
of a long table's cells (:func:`sop_xl.io.reader.coerce`, a first parse) vs the same coercion row
by row and cell by cell (how the reader worked before issue 16; same frame and findings)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.worksheet.table import Table as XlTable

from sop_xl.io import reader
from sop_xl.io.filebook import FileBook
from sop_xl.model import periods, schema
from sop_xl.model.book import RawTable


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


def archive_cells(rows: int, seed: int) -> RawTable:
    """Forecast-archive cells as calamine hands them over: texts, floats, '' for blanks."""
    rng = np.random.default_rng(seed)
    months = periods.period_range("2024-01", 36)
    stages = schema.ARCHIVED_STAGES
    body = []
    for k in range(rows):
        cycle = months[k % 24]
        lag = float(rng.integers(0, 6))
        qty = float(rng.integers(0, 900)) if rng.random() > 0.05 else ""
        body.append(
            [cycle, stages[(k // 24) % 3], ("EU", "NA", "APAC", "LATAM")[(k // 72) % 4],
             f"IT-{(k // 288) % 400:04d}", f"LOC-{(k // 115200) % 8}", months[int(24 + lag) % 36],
             lag, qty, "demo history"]
        )  # fmt: skip
    return RawTable(list(schema.FORECAST_ARCHIVE.headers), body, "ForecastArchive", "bench", 3)


def best_cpu(fn, reps: int = 3) -> float:
    best = float("inf")
    for _ in range(reps):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def coerce_case(quick: bool) -> dict:
    rows = 10_000 if quick else 110_000
    raw = archive_cells(rows, seed=7)
    table = schema.FORECAST_ARCHIVE
    ours_s = best_cpu(lambda: reader.coerce(table, raw))
    with (
        mock.patch.object(reader, "_cells", reader._cells_by_row),
        mock.patch.object(reader, "_convert_fast", lambda *a: None),
    ):
        base_s = best_cpu(lambda: reader.coerce(table, raw))
    return {
        "case": "type a long table's cells (first parse)",
        "size": f"{rows:,} rows x {len(raw.header)} columns (forecast archive)",
        "ours_s": ours_s,
        "baseline": "the same coercion row by row, cell by cell",
        "baseline_s": base_s,
        "ratio": base_s / ours_s,
        "ours_cpu": ours_s,
        "baseline_cpu": base_s,
        "note": "CPU s, best of 3; same frame and findings (tests/io/test_reader_fast.py)",
    }


def cases(quick: bool = False) -> list[dict]:
    out = [coerce_case(quick)]
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
        *out,
        {
            "case": "read regional forecast workbooks",
            "size": f"{files} files x {items:,} items x {months} months",
            "ours_s": ours_s,
            "baseline": "pandas.read_excel(openpyxl)",
            "baseline_s": base_s,
            "ratio": base_s / ours_s,
            "note": f"ours: guard + typed long frame ({ours:,} rows)",
        },
    ]
