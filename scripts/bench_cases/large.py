"""Transaction data beyond Excel's grid: the cycle's KPI and variance steps when the sales are
5,000,000 posted lines in a Parquet file (``sop-xl demo --large``), against the same steps with the
sales inside the workbook at the largest size a sheet holds (1,000,000 rows).

Each side runs as ``sop-xl kpis`` then ``sop-xl variances`` in fresh processes (as clicks), with an
empty table store, and reports the wall time of both steps and the larger peak memory.
The in-workbook side gets its million rows by giving every demo customer clones (``C0001~2``),
added to the Customers table, so every row is a distinct customer x item x location x month.
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
GRID_ROWS = 1_000_000

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


def _step(args: list[str], cwd: Path, store: Path) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (all threads, DuckDB's too) of one fresh
    ``sop-xl`` process."""
    env = {**os.environ, "SOP_XL_CACHE_DIR": str(store), "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", STEP, *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    took = time.perf_counter() - t0
    tail = json.loads(proc.stderr.strip().splitlines()[-1])
    if tail["rc"] not in (0, 1):
        raise RuntimeError(proc.stderr[-400:])
    return took, float(tail["mb"]), float(tail["cpu"])


def cases(quick: bool) -> list[dict]:
    lines = 200_000 if quick else 5_000_000
    grid = 100_000 if quick else GRID_ROWS
    tmp = Path(tempfile.mkdtemp(prefix="sop_bench_large_"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOP_XL_CACHE_DIR": "off"}
    try:
        run = [sys.executable, "-m", "sop_xl.cli", "demo"]
        subprocess.run([*run, str(tmp / "file"), "--large", str(lines)], env=env, check=True,
                       capture_output=True)  # fmt: skip
        results: dict[str, tuple[float, float, float]] = {}
        refused = ""

        def both(side: str) -> None:
            book = str(tmp / side / "SOP_Planning.xlsm")
            store = tmp / f"store_{side}"
            k_s, k_mb, k_cpu = _step(["kpis", book], tmp, store)
            v_s, v_mb, v_cpu = _step(["variances", book], tmp, store)
            results[side] = (k_s + v_s, max(k_mb, v_mb), k_cpu + v_cpu)

        both("file")
        print(f"    beyond the grid: {results['file']} (wall s, peak MB, CPU s)", file=sys.stderr)
        subprocess.run([*run, str(tmp / "grid")], env=env, check=True, capture_output=True)
        master = tmp / "grid" / "SOP_Planning.xlsm"
        subprocess.run([sys.executable, "-c", MAKE_GRID, str(master), str(grid)], env=env,
                       check=True, capture_output=True)  # fmt: skip
        try:
            both("grid")
        except RuntimeError as exc:  # e.g. the guard refuses a sheet that large
            refused = " ".join(str(exc).split())[:160]
        rows = []
        ours, ours_mb, ours_cpu = results["file"]
        base, base_mb, base_cpu = results.get("grid", (None, None, None))
        rows.append(
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
                + (f" vs {base_mb:,.0f} MB" if base_mb else f"; in-grid side refused: {refused}")
                + "; goal < 15 s, < 2 GB; "
                f"{math.ceil(lines / 55_690)} lines per monthly row",
            }
        )
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
