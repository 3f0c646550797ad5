"""Fixed cost of a consolidate run on the demo master: an empty submission folder and a folder
with one regional file (issue 15: the user waits for this on every click).

Each run is a fresh Python process, as ``sop-xl consolidate`` is. It reports, separately:
third-party imports (pandas, numpy, pydantic, calamine: paid once per process, and once per
Excel session for the ribbon), our own imports, opening the master (the safety guard; the table
store remembers a master it already checked) and the ``consolidate`` call itself. "Ours" is our
imports + open + consolidate. Baseline: the same process importing only the third-party
packages (what any Python tool pays before it reads a cell).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RUN = r"""
import json, sys, time, datetime as dt
t0 = time.perf_counter()
import numpy, pandas, pydantic, python_calamine  # noqa: F401 third-party, timed apart
t1 = time.perf_counter()
from pathlib import Path
from sop_xl.consolidate.step import consolidate
from sop_xl.io.filebook import FileBook
t2 = time.perf_counter()
book = FileBook(Path(sys.argv[1]))
t3 = time.perf_counter()
res = consolidate(book, Path(sys.argv[2]), received_by="bench", now=dt.datetime(2026, 11, 9, 12))
t4 = time.perf_counter()
print(json.dumps({"third": t1 - t0, "imports": t2 - t1, "open": t3 - t2, "run": t4 - t3,
                  "summary": res.summary}))
"""


def _run(master: Path, folder: Path, cache: Path) -> dict:
    env = {**__import__("os").environ, "SOP_XL_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(master), str(folder)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(tmp: Path) -> tuple[Path, Path, Path]:
    """The demo master (standard workbook + demo company data, no cycle run), an empty folder
    and a folder with one valid regional file."""
    from sop_xl.consolidate.demo import write_demo_submissions
    from sop_xl.demo.company import make_demo
    from sop_xl.io.filebook import FileBook
    from sop_xl.io.template import build_standard_workbook
    from sop_xl.model.schema import SETTINGS
    from sop_xl.model.sheets import SheetOutput

    build_standard_workbook(tmp / "build")
    built = next(p for p in (tmp / "build").iterdir() if p.suffix in (".xlsm", ".xlsx"))
    master = tmp / built.name
    shutil.move(built, master)
    data = make_demo()
    book = FileBook(master)
    book.write(
        [SheetOutput(SETTINGS, data.settings_frame())]
        + [SheetOutput(table, df) for table, df in data.frames()]
    )
    empty, one = tmp / "empty", tmp / "one"
    empty.mkdir()
    regions = sorted(data.regional_submissions)
    good = {regions[0]: data.regional_submissions[regions[0]]}
    paths = write_demo_submissions(book, one, good, bad_region="(none)")
    for p in paths[1:]:
        p.unlink()
    return master, empty, one


def cases(quick: bool = False) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        master, empty, one = build(tmp)
        cache = tmp / "cache"
        for label, folder in (("empty folder", empty), ("one regional file", one)):
            copy = tmp / f"run{master.suffix}"
            shutil.copy(master, copy)
            _run(copy, folder, cache)  # first run: the guard checks the new master
            shutil.copy(master, copy)
            r = _run(copy, folder, cache)
            ours = r["imports"] + r["open"] + r["run"]
            rows.append(
                {
                    "case": f"consolidate fixed cost, {label}",
                    "size": f"demo master ({master.stat().st_size / 2**20:.1f} MB)",
                    "ours_s": ours,
                    "baseline": "import pandas, numpy, pydantic, calamine",
                    "baseline_s": r["third"],
                    "ratio": None,
                    "note": f"our imports {r['imports']:.2f} s, open {r['open']:.2f} s, "
                    f"consolidate {r['run']:.2f} s; {r['summary'][:90]}",
                }
            )
    return rows


if __name__ == "__main__":
    for row in cases(quick="--quick" in sys.argv):
        print(row)
