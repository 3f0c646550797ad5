"""Print the Scorecard page of a workbook (a frozen plan or a master) to PDF, and PNG.

    .venv/bin/python scripts/render_scorecard.py demo/snapshots/SOP_Plan_2026-11_v01.xlsx \
        --png docs/scorecard.png

LibreOffice headless prints a scratch copy with the Scorecard sheet moved first; the workbook
itself is only read.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from sop_xl.io import render
from sop_xl.model import schema


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("workbook", type=Path)
    ap.add_argument("--pdf", type=Path, default=None, help="write the PDF page here")
    ap.add_argument("--png", type=Path, default=None, help="write the page as PNG here")
    ap.add_argument("--dpi", type=int, default=80)
    args = ap.parse_args(argv)
    if args.pdf is None and args.png is None:
        ap.error("say where the page goes: --pdf FILE and/or --png FILE")
    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "Scorecard.xlsx"
        render.sheet_first(args.workbook, first, schema.SCORECARD.sheet)
        pdf = render.to_pdf(first, Path(tmp), pages="1")
        if args.pdf:  # only where asked: no stray scorecard.pdf in the current folder
            args.pdf.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(pdf, args.pdf)
        if args.png:
            render.pdf_page_png(pdf, args.png, dpi=args.dpi)
    print("\n".join(f"{k}: {v}" for k, v in (("PDF", args.pdf), ("PNG", args.png)) if v))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
