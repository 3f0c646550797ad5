"""The Scorecard sheet opens and draws in an independent spreadsheet engine (LibreOffice headless).

A copy of the standard workbook gets the scorecard sheets through ``FileBook.write``; a render copy
moves the Scorecard sheet to the front (so it is page 1), LibreOffice prints it to PDF, pdftoppm
draws page 1 as PNG and pdftotext reads the KPI names back.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import test_scorecard_fixtures as fx

from sop_xl.io.render import sheet_first, to_pdf
from sop_xl.scorecard.step import build_scorecard

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "workbook" / "SOP_Planning.xlsx"

pytestmark = pytest.mark.libreoffice


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_scorecard_renders_to_pdf_and_png(tmp_path):
    from sop_xl.io.filebook import FileBook

    book = tmp_path / "SOP_Planning.xlsx"
    book.write_bytes(TEMPLATE.read_bytes())
    result = build_scorecard(fx.tables(), fx.settings(), fx.kpis(), plan_status="frozen v2")
    FileBook(book).write(result.outputs)

    copy = tmp_path / "scorecard.xlsx"
    sheet_first(book, copy, "Scorecard")
    pdf = to_pdf(copy, tmp_path)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    pngs = sorted(tmp_path.glob("page*.png"))
    assert pngs, "pdftoppm drew nothing"
    assert pngs[0].stat().st_size > 15_000  # a page with a table and charts, not a blank page

    text = subprocess.run(
        ["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Fixture Ltd" in text and "S&OP balanced scorecard" in text
    assert "Plan status: frozen v2" in text
    for name in result.scorecard["name"]:
        assert name in text, f"KPI {name!r} missing from the rendered page"
    for status in ("Green", "Amber", "Red", "No data"):
        assert status in text
    assert "Forecast accuracy vs target" in text  # the first chart's title is drawn
    # the executive page is one page: the bottom charts' legends (below their plot areas) are
    # on page 1 too, not cut off onto page 2
    assert "Revenue Budget" in text and "On-Time Delivery Target" in text
    keep = os.environ.get("SOP_XL_KEEP_RENDER")
    if keep:  # e.g. SOP_XL_KEEP_RENDER=docs/scorecard.png to refresh the docs picture
        shutil.copyfile(pngs[0], keep)


def test_print_areas_are_bounded_ranges_openpyxl_accepts(tmp_path, recwarn):
    """openpyxl warned 'Print area cannot be set to ...!$A:$K' on every load (issue 18)."""
    import openpyxl

    from sop_xl.io.filebook import FileBook

    book = tmp_path / "SOP_Planning.xlsx"
    book.write_bytes(TEMPLATE.read_bytes())
    result = build_scorecard(fx.tables(), fx.settings(), fx.kpis(), plan_status="frozen v2")
    FileBook(book).write(result.outputs)
    ws = openpyxl.load_workbook(book)["Scorecard"]
    assert not [w for w in recwarn if "Print area" in str(w.message)]
    # A1 to the Owner column (K), down to the bottom edge of the lowest chart
    assert re.fullmatch(r"'Scorecard'!\$A\$1:\$K\$(\d+)", ws.print_area), ws.print_area
    last = int(ws.print_area.rsplit("$", 1)[1])
    assert last > len(result.scorecard) + 20  # charts sit below the table


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_render_script_leaves_no_stray_pdf(tmp_path, monkeypatch):
    import runpy

    from sop_xl.io.filebook import FileBook

    book = tmp_path / "SOP_Planning.xlsx"
    book.write_bytes(TEMPLATE.read_bytes())
    result = build_scorecard(fx.tables(), fx.settings(), fx.kpis(), plan_status="frozen v2")
    FileBook(book).write(result.outputs)
    work = tmp_path / "here"
    work.mkdir()
    monkeypatch.chdir(work)
    script = runpy.run_path(str(ROOT / "scripts" / "render_scorecard.py"))
    assert script["main"]([str(book), "--png", str(tmp_path / "page.png")]) == 0
    assert (tmp_path / "page.png").stat().st_size > 15_000
    assert list(work.iterdir()) == []  # nothing left in the current folder


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_the_printed_demo_scorecard_keeps_its_bottom_charts_on_the_page(demo_dir, tmp_path):
    plan = demo_dir / "snapshots" / "SOP_Plan_2026-11_v01.xlsx"
    copy = tmp_path / "scorecard.xlsx"
    sheet_first(plan, copy, "Scorecard")
    pdf = to_pdf(copy, tmp_path, pages="1")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    # the legends sit under the plot areas: on the page only if the charts are not cut off
    assert "Revenue Budget" in text and "On-Time Delivery Target" in text
