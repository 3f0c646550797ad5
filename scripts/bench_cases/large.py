"""Transaction data beyond Excel's grid: the cycle's KPI and variance steps when the sales are
5,000,000 posted lines in a Parquet file (``sop-xl demo --large``), against the same steps with the
sales inside the workbook at the largest size the guard accepts in a sheet (750,000 rows).

Each side runs as ``sop-xl kpis`` then ``sop-xl variances`` in fresh processes (as clicks), with an
empty table store, and reports the wall time of both steps, their CPU time (DuckDB's threads
included) and the larger peak memory; the file side is then clicked again on a warm store.
The in-workbook side gets its rows by giving every demo customer clones (``C0001~2``),
added to the Customers table, so every row is a distinct customer x item x location x month.

A second row times the reading alone: checking the 5,000,000 lines and summing them into the
table's grain (:func:`sop_xl.io.external.read_external`, store off) against the full per-line
check, which the reader used for every file before and still uses when a rule is broken.

Building the demos takes minutes. ``SOP_XL_BENCH_DIR=/some/folder`` keeps them there and reuses
them on the next run (delete the folder after changing the demo); each run works on copies.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: the most sales rows the guard accepts in a sheet: the table spans 26 columns (A:Z) and a
#: sheet may hold 20,000,000 cells (guard.Limits.max_cells), so at most 769,230 rows
GRID_ROWS = 750_000

MAKE_GRID = r"""
import math, sys
import pandas as pd
from pathlib import Path
from sop_xl.io.filebook import FileBook
from sop_xl.model import schema
from sop_xl.model.sheets import SheetOutput
path, rows = Path(sys.argv[1]), int(sys.argv[2])
book = FileBook(path)
sales, customers = book.read_table(schema.SALES_ACTUALS), book.read_table(schema.CUSTOMERS)
k = math.ceil(rows / len(sales))
suffix = lambda i: "" if i == 0 else f"~{i}"
big = pd.concat([sales.assign(customer=sales["customer"] + suffix(i)) for i in range(k)])
cust = pd.concat([customers.assign(customer=customers["customer"] + suffix(i)) for i in range(k)])
book.write([SheetOutput(schema.CUSTOMERS, cust), SheetOutput(schema.SALES_ACTUALS, big.head(rows))])
"""

STEP = (
    "import json, resource, sys; from sop_xl.cli import main; rc = main(sys.argv[1:]); "
    "u = resource.getrusage(resource.RUSAGE_SELF); "
    "print(json.dumps({'rc': rc, 'mb': u.ru_maxrss / 1024, 'cpu': u.ru_utime + u.ru_stime}), "
    "file=sys.stderr)"
)

#: read the Parquet file of a built demo; argv: file, "fast" or "per-line"
READ = r"""
import json, resource, sys, time
from pathlib import Path
from sop_xl.io import external
from sop_xl.model.schema import SALES_ACTUALS
if sys.argv[2] == "per-line":
    external._summed_if_clean = lambda *a: None
t0, c0 = time.perf_counter(), time.process_time()
got = external.read_external(external.Source(SALES_ACTUALS, Path(sys.argv[1]), "parquet"))
took, cpu = time.perf_counter() - t0, time.process_time() - c0
assert not got.findings and len(got.df) > 0
mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"s": took, "cpu": cpu, "mb": mb, "rows": len(got.df)}), file=sys.stderr)
"""


def _env(store: str) -> dict[str, str]:
    return {**os.environ, "SOP_XL_CACHE_DIR": store, "PYTHONPATH": str(ROOT)}


def _tail(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stderr.strip().splitlines()[-1])


def _step(args: list[str], cwd: Path, store: Path) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (all threads, DuckDB's too) of one fresh
    ``sop-xl`` process."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", STEP, *args],
        cwd=cwd,
        env=_env(str(store)),
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - t0
    tail = _tail(proc)
    if tail["rc"] not in (0, 1):
        raise RuntimeError(proc.stderr[-400:])
    return took, float(tail["mb"]), float(tail["cpu"])


def _built(root: Path, lines: int, grid: int) -> Path:
    """``root`` with ``file-{lines}/`` (the large demo) and ``grid-{grid}/`` (sales in the sheet),
    each built unless an earlier run left it complete."""
    env = _env("off")
    run = [sys.executable, "-m", "sop_xl.cli", "demo"]
    file, sheet = root / f"file-{lines}", root / f"grid-{grid}"
    if not (file / ".built").exists():
        shutil.rmtree(file, ignore_errors=True)
        subprocess.run([*run, str(file), "--large", str(lines)], env=env, check=True,
                       capture_output=True)  # fmt: skip
        (file / ".built").touch()
    if not (sheet / ".built").exists():
        shutil.rmtree(sheet, ignore_errors=True)
        subprocess.run([*run, str(sheet)], env=env, check=True, capture_output=True)
        subprocess.run([sys.executable, "-c", MAKE_GRID, str(sheet / "SOP_Planning.xlsm"),
                        str(grid)], env=env, check=True, capture_output=True)  # fmt: skip
        (sheet / ".built").touch()
    return root


def _read(parquet: Path, how: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", READ, str(parquet), how],
        env=_env("off"),
        capture_output=True,
        text=True,
        check=True,
    )
    return _tail(proc)


def cases(quick: bool) -> list[dict]:
    lines = 200_000 if quick else 5_000_000
    grid = 100_000 if quick else GRID_ROWS
    keep = os.environ.get("SOP_XL_BENCH_DIR")
    tmp = Path(tempfile.mkdtemp(prefix="sop_bench_large_"))
    try:
        built = _built(Path(keep) if keep else tmp / "built", lines, grid)
        results: dict[str, tuple[float, float, float]] = {}
        refused = ""

        def both(side: str, run: str, store: Path) -> tuple[float, float, float]:
            work = tmp / run
            if not work.exists():
                shutil.copytree(built / side, work)
            book = str(work / "SOP_Planning.xlsm")
            k_s, k_mb, k_cpu = _step(["kpis", book], work, store)
            v_s, v_mb, v_cpu = _step(["variances", book], work, store)
            return k_s + v_s, max(k_mb, v_mb), k_cpu + v_cpu

        results["file"] = both(f"file-{lines}", "file", tmp / "store_file")
        warm = both(f"file-{lines}", "file", tmp / "store_file")
        print(f"    beyond the grid: {results['file']} (wall s, peak MB, CPU s)", file=sys.stderr)
        try:
            results["grid"] = both(f"grid-{grid}", "grid", tmp / "store_grid")
        except RuntimeError as exc:  # e.g. the guard refuses a sheet that large
            refused = " ".join(str(exc).split())[:160]
        parquet = built / f"file-{lines}" / "data" / "sales_actuals.parquet"
        fast, slow = _read(parquet, "fast"), _read(parquet, "per-line")
        ours, ours_mb, ours_cpu = results["file"]
        base, base_mb, base_cpu = results.get("grid", (None, None, None))
        return [
            {
                "case": "KPIs + variances, sales beyond the grid (DuckDB over Parquet)",
                "size": f"{lines:,} sales lines vs {grid:,} rows in the sheet",
                "ours_s": ours,
                "baseline": f"same steps, {grid:,} sales rows inside the workbook",
                "baseline_s": base,
                "ratio": base / ours if ours and base else None,
                "ours_cpu": ours_cpu,
                "baseline_cpu": base_cpu,
                "note": f"peak {ours_mb:,.0f} MB"
                + (f" vs {base_mb:,.0f} MB" if base_mb else "")
                + f"; next click (warm store) {warm[0]:.1f} s, {warm[2]:.1f} s CPU"
                + f"; goal < 15 s, < 2 GB; {math.ceil(lines / 55_690)} lines per monthly row"
                + (f"; in-grid side refused: {refused}" if refused else ""),
            },
            {
                "case": "read + check posted lines, summed into the grain (DuckDB)",
                "size": f"{lines:,} lines -> {fast['rows']:,} rows",
                "ours_s": fast["s"],
                "baseline": "every rule per line, then sum (the reader before 2026-11-29)",
                "baseline_s": slow["s"],
                "ratio": slow["s"] / fast["s"] if fast["s"] else None,
                "ours_cpu": fast["cpu"],
                "baseline_cpu": slow["cpu"],
                "note": f"peak {fast['mb']:,.0f} MB vs {slow['mb']:,.0f} MB (incl. imports)",
            },
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
