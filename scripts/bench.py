"""Time every heavy operation next to the obvious baseline, in the same run, and print ratios.

    .venv/bin/python scripts/bench.py            # realistic sizes (several minutes)
    .venv/bin/python scripts/bench.py --quick    # small sizes, a smoke run
    .venv/bin/python scripts/bench.py --only read,kpi

Each module in scripts/bench_cases/ exposes ``cases(quick: bool) -> list[dict]`` with keys
case, size, ours_s, baseline, baseline_s, ratio (baseline_s / ours_s) and note, and optionally
ours_cpu / baseline_cpu: CPU seconds (user + system, child processes included), printed next to
the wall times because CPU time is what a machine shared with other work does not inflate.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent / "bench_cases"


def load_modules(only: set[str] | None):
    for path in sorted(HERE.glob("*.py")):
        if path.stem.startswith("_") or (only and path.stem not in only):
            continue
        spec = importlib.util.spec_from_file_location(f"bench_cases.{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield path.stem, module


def host_speed() -> float:
    """Seconds a fixed pure-Python loop takes: printed at the start and the end of a run, so two
    runs (or a run and a figure in docs/benchmarks.md) are compared only on a host as fast."""
    t0 = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i * i
    return time.perf_counter() - t0


def fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x * 1e6:.1f} us" if x < 1e-3 else f"{x:.3f} s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--only", help="comma-separated case modules, e.g. read,write")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    sys.path.insert(0, str(HERE.parent.parent))
    start_speed = host_speed()
    print(
        f"sop_xl benchmarks on {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, {'quick' if args.quick else 'full'} sizes; "
        f"host speed: a fixed Python loop took {start_speed:.2f} s\n"
    )
    rows = []
    for name, module in load_modules(only):
        t0 = time.perf_counter()
        try:
            got = module.cases(quick=args.quick)
        except Exception as exc:  # one broken case must not hide the others
            got = [
                {
                    "case": name,
                    "size": "-",
                    "ours_s": None,
                    "baseline": "-",
                    "baseline_s": None,
                    "ratio": None,
                    "note": f"FAILED: {exc!r}",
                }
            ]
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        rows.extend(got)
    headers = [
        "case",
        "size",
        "sop_xl",
        "sop_xl CPU",
        "baseline",
        "baseline time",
        "baseline CPU",
        "ratio",
        "note",
    ]
    table = [
        [
            r["case"],
            str(r["size"]),
            fmt_s(r["ours_s"]),
            fmt_s(r.get("ours_cpu")),
            r["baseline"],
            fmt_s(r["baseline_s"]),
            fmt_s(r.get("baseline_cpu")),
            "-" if r.get("ratio") is None else f"{r['ratio']:.1f}x",
            str(r.get("note", ""))[:200],
        ]
        for r in rows
    ]
    widths = [
        max(len(h), *(len(t[i]) for t in table)) if table else len(h) for i, h in enumerate(headers)
    ]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for t in table:
        print(" | ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)))
    print(
        f"\nhost speed: the same loop took {start_speed:.2f} s at the start and "
        f"{host_speed():.2f} s at the end (a host that slowed down in between inflates both "
        "sides of the later cases alike; across runs, compare only at equal speeds)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
