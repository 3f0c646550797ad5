"""Print the Scorecard of an S&OP master workbook to PDF and PNG (the board-pack page).

    .venv/bin/python scripts/render_scorecard.py demo/SOP_Planning.xlsm --png docs/scorecard.png

Computes the scorecard of MASTER (read only), writes it into a scratch copy of the standard
workbook with the Scorecard sheet first, and prints that page with LibreOffice headless.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from sop_xl import render, schema
from sop_xl.scorecard import run_scorecard
from sop_xl.workbook import FileBook

TEMPLATE = Path(__file__).resolve().parents[1] / "workbook" / "SOP_Planning.xlsx"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("master", type=Path)
    ap.add_argument("--pdf", type=Path, default=Path("scorecard.pdf"))
    ap.add_argument("--png", type=Path, default=None)
    ap.add_argument("--dpi", type=int, default=70)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scratch = work / "master.xlsm"
        shutil.copy(args.master, scratch)  # run_scorecard writes: never into the user's file
        result = run_scorecard(FileBook(scratch))
        page = work / "scorecard.xlsx"
        shutil.copy(TEMPLATE, page)
        keep = {schema.SCORECARD.sheet, schema.TRENDS.sheet}
        FileBook(page).write([o for o in result.outputs if o.sheet in keep])
        first = work / "Scorecard.xlsx"
        render.sheet_first(page, first, schema.SCORECARD.sheet)
        pdf = render.to_pdf(first, work, pages="1")
        args.pdf.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pdf, args.pdf)
        if args.png:
            render.pdf_page_png(pdf, args.png, dpi=args.dpi)
    print(f"{result.summary}\nPDF: {args.pdf}" + (f"\nPNG: {args.png}" if args.png else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
