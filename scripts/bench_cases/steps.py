"""What a planner feels: each ribbon step on the demo master, as ``sop-xl STEP`` (one fresh
Python process per click, as the ribbon's RunPython starts one), plus the whole cycle.

Ours: this checkout. Baseline: the same commands run by sop_xl as it was before the latency work
(commit ``BASELINE_COMMIT``, exported with ``git archive`` into a temporary folder and run with the
same interpreter), in the same run. Each side clicks through the steps in order on its own copy of
the demo master (with its own table store, empty at the start); the whole cycle runs on a fresh
copy. Both sides' bytecode is compiled first, as an installed package has it (else the first click
that imports a module pays its compilation). Each click waits until the background work of the
clicks before it has ended (:func:`_settle`), as a planner reading the results would. CPU time is
printed too: it is what a busy machine does not inflate.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: sop_xl before issue 16 (latency); its figures are also kept in docs/benchmarks.md. Another
#: commit to compare with: SOP_XL_BENCH_BASELINE=<commit> (e.g. the start of a piece of work).
BASELINE_COMMIT = os.environ.get("SOP_XL_BENCH_BASELINE") or "d740dfe"

#: Every ribbon button of the cycle, in the cycle's order (so the scorecard's click comes after
#: the KPIs click whose rows it reuses), then the freeze and the whole cycle on a fresh copy.
STEPS: list[tuple[str, list[str]]] = [
    ("--help", ["--help"]),
    ("validate", ["validate", "{master}"]),
    ("consolidate", ["consolidate", "{master}", "--folder", "{folder}"]),
    ("variances", ["variances", "{master}"]),
    ("kpis", ["kpis", "{master}"]),
    ("supply", ["supply", "{master}"]),
    ("scenarios", ["scenarios", "{master}"]),
    ("outlook", ["outlook", "{master}"]),
    ("history", ["history", "{master}"]),
    ("scorecard", ["scorecard", "{master}"]),
    ("summary", ["summary", "{master}"]),
    ("freeze", ["freeze", "{master}", "--approved-by", "Bench"]),
    ("cycle (every step but freeze)", ["cycle", "{master}", "--folder", "{folder}"]),
]


def _baseline_tree(tmp: Path) -> Path | None:
    """The baseline sources, or None outside a git checkout."""
    try:
        blob = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BASELINE_COMMIT, "sop_xl"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    out = tmp / "baseline"
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(out, filter="data")
    return out


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(
    code_root: Path, args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh ``sop-xl`` process (CPU time is what load does not
    inflate: quote it when the machine is busy; it includes the helper processes)."""
    cpu0 = _cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sop_xl.cli", *args],
        cwd=cwd,
        env={
            "PYTHONPATH": str(code_root),
            "PATH": "/usr/bin:/bin",
            "HOME": str(cwd),
            "SOP_XL_CACHE_DIR": str(cwd / "store"),  # each side its own, empty at the start
            **(env or {}),
        },
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{args[0]} failed: {proc.stderr[-400:]}")
    return took, _cpu() - cpu0


def _settle(tmp: Path, timeout: float = 30.0) -> None:
    """Wait until no background work of an earlier click is left (the statistical baseline that
    validation starts fitting: its store holds a ``.pending`` marker until it is done), at most
    ``timeout`` seconds. Without it, the click timed next, on either side, shares the machine with
    a fit it did not start (the baseline's validation ran beside ours' fit)."""
    deadline = time.monotonic() + timeout

    def pending() -> bool:  # a marker older than the timeout is one a dead process left
        for marker in tmp.rglob("*.pending"):
            try:
                if time.time() - marker.stat().st_mtime < timeout:
                    return True
            except OSError:  # removed meanwhile: done
                pass
        return False

    while pending() and time.monotonic() < deadline:
        time.sleep(0.05)


def _fresh(demo: Path, work: Path) -> tuple[Path, Path]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    master = work / "SOP_Planning.xlsm"
    shutil.copyfile(demo / "SOP_Planning.xlsm", master)
    shutil.copytree(demo / "submissions", work / "submissions")
    return master, work / "submissions"


def cases(quick: bool) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="sop_bench_steps_"))
    try:
        demo = tmp / "demo"
        subprocess.run(
            [sys.executable, "-m", "sop_xl.cli", "demo", str(demo)],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        base = _baseline_tree(tmp)
        sides = {"ours": ROOT, "base": base} if base else {"ours": ROOT}
        for code in sides.values():  # as installed: bytecode compiled, not on the first click
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(code / "sop_xl")],
                capture_output=True,
                env={"PATH": "/usr/bin:/bin"},
            )
        # The steps in order on one master per side, as a planner clicks through the cycle;
        # the whole cycle on a fresh copy (and a fresh table store) of its own.
        books = {side: _fresh(demo, tmp / side) for side in sides}
        rows = []
        failed: dict[str, str] = {}
        for name, template in STEPS if not quick else STEPS[:3]:
            times, cpu = {}, {}
            for side, code in sides.items():
                master, folder = books[side]
                if name.startswith("cycle"):
                    master, folder = _fresh(demo, tmp / f"{side}_cycle")
                args = [a.format(master=master, folder=folder) for a in template]
                _settle(tmp)
                try:
                    times[side], cpu[side] = _run(code, args, master.parent)
                except RuntimeError as exc:
                    if side == "ours":
                        raise
                    # the old code may refuse today's demo (e.g. a band target it predates)
                    failed[name] = " ".join(str(exc).split())[:160]
            rows.append(
                {
                    "case": f"ribbon step on the demo master: {name}",
                    "size": "55,690 sales lines",
                    "ours_s": times["ours"],
                    "baseline": f"same step, sop_xl {BASELINE_COMMIT}" if base else "-",
                    "baseline_s": times.get("base"),
                    "ratio": times["base"] / times["ours"] if "base" in times else None,
                    "ours_cpu": cpu["ours"],
                    "baseline_cpu": cpu.get("base"),
                    "note": "one fresh process, as a click"
                    + (f"; CPU ratio {cpu['base'] / cpu['ours']:.1f}x" if "base" in cpu else "")
                    + (f"; baseline failed: {failed[name]}" if name in failed else ""),
                }
            )
        if not quick:
            rows.append(_read_ahead_row(demo, tmp))
            rows += _archive_rows(demo, tmp)
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _read_ahead_row(demo: Path, tmp: Path, pairs: int = 3) -> dict:
    """The first validation of the demo master with the read-ahead helper (sop_xl.io.prefetch)
    and in one process (``SOP_XL_BACKGROUND=off``), same code, alternating, each on a fresh copy
    and an empty store; the medians."""
    sides = {"helper": {}, "alone": {"SOP_XL_BACKGROUND": "off"}}
    got: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    for i in range(pairs):
        for side, env in sides.items():
            master, _ = _fresh(demo, tmp / f"ahead_{side}_{i}")
            _settle(tmp)
            got[side].append(_run(ROOT, ["validate", str(master)], master.parent, env))
    wall = {side: sorted(w for w, _ in runs)[len(runs) // 2] for side, runs in got.items()}
    cpu = {side: sorted(c for _, c in runs)[len(runs) // 2] for side, runs in got.items()}
    return {
        "case": "first validation of the demo master, read ahead by a helper process",
        "size": f"{os.cpu_count()} cores",
        "ours_s": wall["helper"],
        "baseline": "same code in one process (SOP_XL_BACKGROUND=off)",
        "baseline_s": wall["alone"],
        "ratio": wall["alone"] / wall["helper"],
        "ours_cpu": cpu["helper"],
        "baseline_cpu": cpu["alone"],
        "note": f"median of {pairs} alternating pairs; CPU includes the helper",
    }


#: Moves the forecast archive of a master to data/forecast_archive.parquet as a planner does (a
#: DataSources row; the next write of the archive moves it). argv: the master.
MOVE_ARCHIVE = r"""
import sys
import pandas as pd
from sop_xl.history.archive import archive_output
from sop_xl.io.filebook import FileBook
from sop_xl.model import schema
from sop_xl.model.sheets import SheetOutput
book = FileBook(sys.argv[1])
rows = pd.DataFrame({"table": ["Forecast Archive"], "file": ["data/forecast_archive.parquet"]})
rows = rows.assign(format=None, source_table=None, note=None)
book.write([SheetOutput(schema.DATA_SOURCES, rows)])
book.write([archive_output(book.read_table(schema.FORECAST_ARCHIVE))])
"""


def _archive_rows(demo: Path, tmp: Path, pairs: int = 3) -> list[dict]:
    """The first validation and the freeze of the demo master with its forecast archive
    (109,440 rows) in a Parquet file beside it, against the same clicks with the archive in its
    sheet; same code, alternating, each on a fresh copy and an empty store; the medians."""
    got: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for i in range(pairs):
        for side in ("file", "sheet"):
            master, _ = _fresh(demo, tmp / f"archive_{side}_{i}")
            if side == "file":
                env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp)}
                env["SOP_XL_CACHE_DIR"] = "off"
                subprocess.run(
                    [sys.executable, "-c", MOVE_ARCHIVE, str(master)], check=True, env=env
                )
            for step, args in (
                ("validate", ["validate", str(master)]),
                ("freeze", ["freeze", str(master), "--approved-by", "Bench"]),
            ):
                _settle(tmp)
                got.setdefault((step, side), []).append(_run(ROOT, args, master.parent))
    rows = []
    for step in ("validate", "freeze"):
        wall = {s: sorted(w for w, _ in got[(step, s)])[pairs // 2] for s in ("file", "sheet")}
        cpu = {s: sorted(c for _, c in got[(step, s)])[pairs // 2] for s in ("file", "sheet")}
        rows.append(
            {
                "case": f"{step} of the demo master, the forecast archive in Parquet",
                "size": "109,440 archive rows",
                "ours_s": wall["file"],
                "baseline": "same click, the archive in its sheet",
                "baseline_s": wall["sheet"],
                "ratio": wall["sheet"] / wall["file"],
                "ours_cpu": cpu["file"],
                "baseline_cpu": cpu["sheet"],
                "note": f"median of {pairs} alternating pairs, fresh copy and store each",
            }
        )
    return rows
