"""Text cells as shared strings (``t="s"``, what sop_xl writes) vs inline strings
(``t="inlineStr"``, what it wrote before issue 20): the time to build the cells of the demo
master's tables and the deflated size of what lands in the file, on the same frames.

Only the text path differs between the two (:func:`sop_xl.io.xlsx.cells.body_rows` with or
without a :class:`~sop_xl.io.xlsx.sst.SharedStrings` table), so that is what is timed: every
cell of every table, plus writing the table part for the shared variant. Sizes are the sheet
XML (and the shared-strings part) deflated as :meth:`sop_xl.io.xlsx.parts.Package.save` does
(level 1 over 1 MB, else 6). "ours" is the shared variant, the baseline inline: a ratio below 1
is what shared strings cost in time.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from sop_xl.io.xlsx.cells import Layout, body_rows, display_frame
from sop_xl.io.xlsx.parts import Package
from sop_xl.io.xlsx.sst import SharedStrings
from sop_xl.model.schema import Dtype
from sop_xl.model.sheets import SheetOutput

ROOT = Path(__file__).resolve().parents[2]


def _deflated(data: bytes) -> int:
    comp = zlib.compressobj(1 if len(data) > 1 << 20 else 6, zlib.DEFLATED, -15)
    return len(comp.compress(data) + comp.flush())


def _layouts(quick: bool) -> list[Layout]:
    from sop_xl.demo.company import make_demo

    out = []
    for table, df in make_demo().frames():
        if quick:
            df = df.head(2_000)
        columns, frame = display_frame(SheetOutput(table, df))
        if any(c.dtype in (Dtype.TEXT, Dtype.PERIOD) for c in columns):
            out.append(Layout(SheetOutput(table, df), columns, frame))
    return out


def _build(layouts: list[Layout], pkg: Package | None) -> tuple[float, float, int]:
    """(wall s, CPU s, deflated bytes) of the body cells of every layout."""
    sizes = 0
    t0, c0 = time.perf_counter(), time.process_time()
    sst = SharedStrings(pkg, "xl/workbook.xml") if pkg is not None else None
    parts = []
    for lay in layouts:
        rows = body_rows(lay, [0] * len(lay.columns), sst)
        parts.append("".join(rows.tolist()).encode("utf-8"))
    if sst is not None:
        sst.finish()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    sizes = sum(_deflated(p) for p in parts)
    if sst is not None and sst.part:
        sizes += _deflated(pkg.read(sst.part))
    return wall, cpu, sizes


def cases(quick: bool = False) -> list[dict]:
    layouts = _layouts(quick)
    cells = sum(lay.n * len(lay.columns) for lay in layouts)
    text = sum(
        int(lay.frame.iloc[:, j].notna().sum())
        for lay in layouts
        for j, c in enumerate(lay.columns)
        if c.dtype in (Dtype.TEXT, Dtype.PERIOD)
    )
    best = {"shared": (np.inf, np.inf, 0), "inline": (np.inf, np.inf, 0)}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(3):
            copy = Path(tmp) / "template.xlsx"
            shutil.copyfile(ROOT / "workbook" / "SOP_Planning.xlsx", copy)
            with Package(copy) as pkg:
                got = _build(layouts, pkg)
            best["shared"] = min(best["shared"], got)
            best["inline"] = min(best["inline"], _build(layouts, None))
    (s_wall, s_cpu, s_size), (i_wall, i_cpu, i_size) = best["shared"], best["inline"]
    return [
        {
            "case": "text cells: shared strings vs inline",
            "size": f"{len(layouts)} demo tables, {cells:,} cells ({text:,} text)",
            "ours_s": s_wall,
            "ours_cpu": s_cpu,
            "baseline": "inline strings (t=inlineStr)",
            "baseline_s": i_wall,
            "baseline_cpu": i_cpu,
            "ratio": i_wall / s_wall,
            "note": f"deflated {s_size / 2**20:.2f} MiB shared vs {i_size / 2**20:.2f} MiB inline",
        }
    ]


if __name__ == "__main__":
    import sys

    for c in cases(quick="--quick" in sys.argv):
        print(c)
