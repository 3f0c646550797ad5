"""The whole cycle (``sop-xl cycle MASTER --folder SUBMISSIONS``, every step but freeze, one
process), step by step: CPU seconds of each step as the cycle's progress reports them, this
checkout against a baseline commit (``SOP_XL_BENCH_BASELINE``, default: main before the fifth
pass of issue 16), exported with ``git archive``, in the same run.

Pairs alternate (baseline, ours) on fresh copies of the demo master with fresh table stores;
the medians are reported. CPU time of the cycle's own process only (the background baseline
fit and the read-ahead helpers run in other processes). ``SOP_XL_BENCH_DEMO=DIR`` uses an
existing demo folder (SOP_Planning.xlsm and submissions/) instead of building one.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE = os.environ.get("SOP_XL_BENCH_BASELINE") or "3217ec0"

#: The child: run the cycle, print each step's CPU seconds as JSON.
CHILD = """
import json, sys, time
from pathlib import Path
from sop_xl import cycle
marks = []
def say(message, fraction=None):
    if message.startswith("Step "):
        marks.append((message.split(": ", 1)[1], time.process_time()))
master, folder = Path(sys.argv[1]), Path(sys.argv[2])
cycle.run_cycle(master, folder=folder, progress=say)
marks.append(("end", time.process_time()))
print(json.dumps([(a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:])]))
print(cycle.__file__, file=sys.stderr)
"""


def _tree(tmp: Path, commit: str) -> Path | None:
    out = tmp / commit
    out.mkdir()
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "sop_xl"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def _cycle(code: Path, demo: Path, work: Path) -> list[tuple[str, float]]:
    work.mkdir(parents=True)
    master, folder = work / "SOP_Planning.xlsm", work / "submissions"
    shutil.copyfile(demo / master.name, master)
    shutil.copytree(demo / folder.name, folder)
    env = {"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin", "HOME": str(work),
           "SOP_XL_CACHE_DIR": str(work / "store")}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(master), str(folder)],
        cwd=work,  # not the checkout: `python -c` imports from the current folder first
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    if not proc.stderr.strip().splitlines()[-1].startswith(str(code)):
        raise RuntimeError(f"the cycle ran sop_xl from {proc.stderr.strip()}, not from {code}")
    return [tuple(x) for x in json.loads(proc.stdout.splitlines()[-1])]


def cases(quick: bool) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="sop_bench_cycle_"))
    try:
        demo = Path(os.environ["SOP_XL_BENCH_DEMO"]) if "SOP_XL_BENCH_DEMO" in os.environ else None
        if demo is None:
            demo = tmp / "demo"
            subprocess.run([sys.executable, "-m", "sop_xl.cli", "demo", str(demo)], cwd=ROOT,
                           capture_output=True, check=True)  # fmt: skip
        sides = {"ours": ROOT}
        base = _tree(tmp, BASELINE)
        if base is not None:
            sides["base"] = base
        for side, code in sides.items():  # warm-up: compiled modules, file cache
            _cycle(code, demo, tmp / f"warm_{side}")
        runs: dict[str, list[list[tuple[str, float]]]] = {side: [] for side in sides}
        for i in range(1 if quick else 5):
            for side in reversed(list(sides)):  # baseline first, then ours
                runs[side].append(_cycle(sides[side], demo, tmp / f"{side}{i}"))

        def median(side: str, k: int) -> float:
            return statistics.median(r[k][1] for r in runs[side])

        def later(side: str) -> float:
            return statistics.median(sum(c for _, c in r[1:]) for r in runs[side])

        names = [n for n, _ in runs["ours"][0]]
        per_step = "; ".join(
            f"{n.split()[0]} {median('base', k):.2f}->{median('ours', k):.2f}"
            if "base" in runs
            else f"{n.split()[0]} {median('ours', k):.2f}"
            for k, n in enumerate(names)
        )
        return [
            {
                "case": "cycle: the steps after validation (CPU, median of pairs)",
                "size": "demo master",
                "ours_s": later("ours"),
                "baseline": f"same steps, sop_xl {BASELINE}" if "base" in runs else "-",
                "baseline_s": later("base") if "base" in runs else None,
                "ratio": later("base") / later("ours") if "base" in runs else None,
                "ours_cpu": later("ours"),
                "baseline_cpu": later("base") if "base" in runs else None,
                "note": f"{len(runs['ours'])} pairs; per step (s CPU): {per_step}",
            }
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
