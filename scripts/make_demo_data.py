"""Write the demo company's tables as CSV files, for inspection.

Usage: ``python scripts/make_demo_data.py [--out DIR] [--seed N] [--cycle YYYY-MM]``.
One ``<Table>.csv`` per input table (engine column names), ``Settings.csv`` and one
``Submission_<REGION>.csv`` per regional forecast. ``sop-xl demo`` builds the filled workbook.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sop_xl.demo.company import make_demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo_csv"), help="output folder")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cycle", default="2026-11", help="planning month YYYY-MM")
    args = parser.parse_args(argv)
    demo = make_demo(seed=args.seed, cycle=args.cycle)
    args.out.mkdir(parents=True, exist_ok=True)
    demo.settings_frame().to_csv(args.out / "Settings.csv", index=False)
    for alias, df in demo.tables.items():
        df.to_csv(args.out / f"{alias}.csv", index=False, date_format="%Y-%m-%d")
    for region, df in demo.regional_submissions.items():
        df.to_csv(args.out / f"Submission_{region}.csv", index=False)
    print(f"wrote {len(demo.tables) + 1 + len(demo.regional_submissions)} CSV files to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
