"""Snapshots: freezing a 500,000-cell master (10 sheets x 50,000 cells, a tenth of them formulas
with cached values) — target under 10 s with peak memory under 1.5 GB — next to a plain
openpyxl load + save of the same file; plus verifying the snapshot. Each run happens in its own
subprocess so peak memory (ru_maxrss) is that run's alone."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

COLS = 10


def make_master(path: Path, cells: int, sheets: int = 10) -> Path:
    """A master with a Settings table and ``sheets`` data sheets of ``cells / sheets`` cells."""
    import openpyxl

    from sop_xl.model.schema import Settings

    rows = max(cells // sheets // COLS, 1)
    wb = openpyxl.Workbook(write_only=True)
    st = wb.create_sheet("Settings")
    labels = Settings.labels()
    st.append(["Setting", "Value", "Description"])
    st.append([labels["company"], "Bench Co", ""])
    st.append([labels["cycle"], "2026-11", ""])
    for s in range(sheets):
        ws = wb.create_sheet(f"Data{s + 1}")
        ws.append([f"Col{c}" for c in range(COLS)])
        for r in range(rows - 1):
            ws.append(
                [f"I{r:06d}", *[float((r * 7 + c * 13) % 997) + 0.25 for c in range(1, COLS)]]
            )
    buf = io.BytesIO()
    wb.save(buf)
    # a tenth of the cells become formulas with a cached value, as Excel saves them
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/sheet") and info.filename != (
                "xl/worksheets/sheet1.xml"
            ):
                data = re.sub(
                    rb'<c r="J(\d+)" t="n"><v>([^<]*)</v></c>',
                    rb'<c r="J\1"><f>I\1*1</f><v>\2</v></c>',
                    data,
                )
            zout.writestr(info, data)
    path.write_bytes(out.getvalue())
    return path


_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
kind, master, snaps = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
t = time.perf_counter()
if kind == "freeze":
    from sop_xl.plan.snapshot import freeze
    res = freeze(master, snaps, approved_by="Bench CFO", password="bench")
    extra = res.path.name
elif kind == "verify":
    from sop_xl.plan.snapshot import verify
    rep = verify(snaps)
    extra = rep.ok
else:
    import openpyxl
    wb = openpyxl.load_workbook(master)
    wb.save(snaps / "openpyxl_copy.xlsx")
    extra = ""
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"s": dt, "rss_mb": ru.ru_maxrss / 1024, "cpu": ru.ru_utime + ru.ru_stime,
                  "extra": extra}}))
"""


def _run(kind: str, master: Path, snaps: Path) -> dict:
    code = _CHILD.format(root=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", code, kind, str(master), str(snaps)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cases(quick: bool = False) -> list[dict]:
    cells = 20_000 if quick else 500_000
    sheets = 2 if quick else 10
    with tempfile.TemporaryDirectory(prefix="sop_bench_snap_") as tmp:
        tmpdir = Path(tmp)
        master = make_master(tmpdir / "master.xlsx", cells, sheets)
        snaps = tmpdir / "snapshots"
        snaps.mkdir()
        ours = _run("freeze", master, snaps)
        base = _run("openpyxl", master, snaps)
        ver = _run("verify", master, snaps)
        size_mb = master.stat().st_size / 2**20
    return [
        {
            "case": "freeze master -> locked snapshot",
            "size": f"{cells:,} cells, {sheets} sheets ({size_mb:.1f} MB)",
            "ours_s": ours["s"],
            "baseline": "openpyxl load + save",
            "baseline_s": base["s"],
            "ratio": base["s"] / ours["s"],
            "note": f"peak RSS {ours['rss_mb']:.0f} MB (openpyxl {base['rss_mb']:.0f} MB); "
            f"CPU {ours['cpu']:.1f} s (openpyxl {base['cpu']:.1f} s); target < 10 s, < 1.5 GB",
        },
        {
            "case": "verify snapshot folder",
            "size": f"{cells:,} cells",
            "ours_s": ver["s"],
            "baseline": "",
            "baseline_s": None,
            "ratio": None,
            "note": f"peak RSS {ver['rss_mb']:.0f} MB; CPU {ver['cpu']:.1f} s; ok={ver['extra']}",
        },
    ]


if __name__ == "__main__":
    for row in cases(quick="--quick" in sys.argv):
        print(row)
