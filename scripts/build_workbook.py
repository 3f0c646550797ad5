"""Build the standard S&OP planning workbook (``workbook/SOP_Planning.xlsx`` and the ``.xlsm``,
whose build is called here explicitly) from the schema.

Usage: ``python scripts/build_workbook.py [--out DIR] [--no-xlsm]``
(same as ``sop-xl build-workbook``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's sop_xl

from sop_xl.excel.build import make_xlsm  # noqa: E402
from sop_xl.io.template import build_standard_workbook  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "workbook", help="output folder (default: workbook/)"
    )
    parser.add_argument(
        "--no-xlsm", action="store_true", help="build only the .xlsx (no ribbon, no macros)"
    )
    args = parser.parse_args(argv)
    path = build_standard_workbook(args.out, make_xlsm=None if args.no_xlsm else make_xlsm)
    print(f"built {path}")
    xlsm = path.with_suffix(".xlsm")
    if xlsm.exists():
        print(f"built {xlsm}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
