"""Writing an output sheet into a master workbook: sop_xl's in-place part writer vs openpyxl
``load_workbook`` + cell writes + ``save`` (which also rewrites every other sheet)."""

from __future__ import annotations

import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.table import Table as XlTable

from sop_xl.io.writer import col_letter, write_sheets
from sop_xl.model.schema import SALES_ACTUALS, Dtype, Table, col
from sop_xl.model.sheets import SheetOutput

_KINDS = (Dtype.TEXT, Dtype.QTY, Dtype.MONEY, Dtype.DATE)

#: A throwaway 30-column output table (text, qty, money, date mix).
BENCH_TABLE = Table(
    name="tblBenchOut",
    sheet="BenchOut",
    title="Bench output",
    group="Outputs",
    doc="Benchmark only.",
    columns=tuple(col(f"c{i:02d}", f"Column {i:02d}", _KINDS[i % 4]) for i in range(30)),
    output=True,
)


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {}
    for c in BENCH_TABLE.columns:
        if c.dtype == Dtype.TEXT:
            data[c.name] = pd.Series(rng.integers(0, 5000, rows)).map("ITEM-{:05d}".format)
        elif c.dtype == Dtype.QTY:
            data[c.name] = rng.integers(0, 10000, rows).astype(float)
        elif c.dtype == Dtype.MONEY:
            data[c.name] = np.round(rng.normal(1000, 400, rows), 2)
        else:
            data[c.name] = pd.Timestamp("2026-01-01") + pd.to_timedelta(
                rng.integers(0, 365, rows), unit="D"
            )
    return pd.DataFrame(data)


def make_master(path: Path, rows: int) -> None:
    """A master workbook with a few input sheets (one sizeable) and Excel tables."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Settings"
    ws.append(["Setting", "Value"])
    for i in range(15):
        ws.append([f"Setting {i}", i])
    ws.add_table(XlTable(displayName="tblSettings", ref="A1:B16"))
    ws = wb.create_sheet("SalesActuals")
    ws.append(["Customer No.", "Item No.", "Period", "Quantity", "Sales Amount"])
    rng = np.random.default_rng(1)
    for i in range(rows):
        ws.append([f"C{i % 300:04d}", f"IT{i % 900:05d}", "2026-05", float(i % 97), i * 1.5])
    ws.add_table(XlTable(displayName="tblSalesActuals", ref=f"A1:E{rows + 1}"))
    ws = wb.create_sheet("Items")
    ws.append(["Item No.", "Unit Cost"])
    for i in range(500):
        ws.append([f"IT{i:05d}", float(rng.integers(1, 90))])
    wb.save(path)


def openpyxl_write(path: Path, df: pd.DataFrame) -> None:
    wb = load_workbook(path)
    ws = wb.create_sheet(BENCH_TABLE.sheet)
    ws.append(BENCH_TABLE.headers)
    for row in df.itertuples(index=False):
        ws.append(list(row))
    last = col_letter(len(BENCH_TABLE.columns))
    ws.add_table(XlTable(displayName=BENCH_TABLE.name, ref=f"A1:{last}{len(df) + 1}"))
    wb.save(path)


def actuals_frame(rows: int) -> pd.DataFrame:
    i = np.arange(rows)
    return pd.DataFrame(
        {
            "customer": pd.Series(i % 300).map("C{:04d}".format),
            "item": pd.Series(i % 900).map("IT{:05d}".format),
            "location": "L1",
            "period": "2026-06",
            "quantity": (i % 97).astype(float),
            "amount": i * 1.75,
            "cost": i * 1.25,
        }
    )


def openpyxl_rewrite_table(path: Path, df: pd.DataFrame) -> None:
    """The openpyxl way to replace an input table's rows: load, clear, write, resize, save."""
    wb = load_workbook(path)
    ws = wb["SalesActuals"]
    ws.delete_rows(2, ws.max_row)
    for row in df.itertuples(index=False):
        ws.append(list(row))
    ws.tables["tblSalesActuals"].ref = f"A1:G{len(df) + 1}"
    wb.save(path)


def input_case(quick: bool) -> dict:
    rows = 2_000 if quick else 24_000
    df = actuals_frame(rows)
    with tempfile.TemporaryDirectory() as tmp:
        master = Path(tmp) / "master.xlsx"
        make_master(master, rows=rows)
        wb = load_workbook(master)  # give the SalesActuals table the declared 7 columns
        ws = wb["SalesActuals"]
        ws.delete_rows(1, ws.max_row)
        ws.append(SALES_ACTUALS.headers)
        for row in actuals_frame(rows // 2).itertuples(index=False):
            ws.append(list(row))
        del ws.tables["tblSalesActuals"]
        ws.add_table(XlTable(displayName="tblSalesActuals", ref=f"A1:G{rows // 2 + 1}"))
        wb.save(master)
        ours_path, base_path = Path(tmp) / "ours.xlsx", Path(tmp) / "base.xlsx"
        shutil.copy(master, ours_path)
        shutil.copy(master, base_path)
        t0 = time.perf_counter()
        write_sheets(ours_path, [SheetOutput(SALES_ACTUALS, df)])
        ours_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        openpyxl_rewrite_table(base_path, df)
        base_s = time.perf_counter() - t0
    return {
        "case": "rewrite an input table in place",
        "size": f"{rows // 2:,} -> {rows:,} rows x 7 columns",
        "ours_s": ours_s,
        "baseline": "openpyxl load + clear + append + save",
        "baseline_s": base_s,
        "ratio": base_s / ours_s,
        "note": "keeps validation, widths, notes; resizes the table",
    }


def cases(quick: bool = False) -> list[dict]:
    return [output_case(quick), input_case(quick)]


def output_case(quick: bool) -> dict:
    rows = 2_000 if quick else 24_000
    df = make_frame(rows)
    with tempfile.TemporaryDirectory() as tmp:
        master = Path(tmp) / "master.xlsx"
        make_master(master, rows=500 if quick else 10_000)
        ours_path, base_path = Path(tmp) / "ours.xlsx", Path(tmp) / "base.xlsx"
        shutil.copy(master, ours_path)
        shutil.copy(master, base_path)
        t0 = time.perf_counter()
        write_sheets(ours_path, [SheetOutput(BENCH_TABLE, df)])
        ours_s = time.perf_counter() - t0
        shutil.copy(master, ours_path)
        tracemalloc.start()  # memory in a second, untimed run (tracemalloc slows Python down)
        write_sheets(ours_path, [SheetOutput(BENCH_TABLE, df)])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        t0 = time.perf_counter()
        openpyxl_write(base_path, df)
        base_s = time.perf_counter() - t0
    return {
        "case": "write output sheet into master workbook",
        "size": f"{rows:,} rows x 30 columns",
        "ours_s": ours_s,
        "baseline": "openpyxl load + append + save",
        "baseline_s": base_s,
        "ratio": base_s / ours_s,
        "note": f"ours peak {peak / 2**20:.0f} MiB (tracemalloc)",
    }


if __name__ == "__main__":
    import sys

    for c in cases(quick="--quick" in sys.argv):
        print(c)
