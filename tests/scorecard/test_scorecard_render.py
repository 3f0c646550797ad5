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
import zipfile
from pathlib import Path

import pytest
import test_scorecard_fixtures as fx
from ooxml_check import _trimmed_copy
from print_check import printed_charts

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


# --- the bottom charts were cut off at the page edge in the printed scorecard (issue 18) ---------
PLAN = "snapshots/SOP_Plan_2026-11_v01.xlsx"


def test_every_chart_of_the_printed_demo_scorecard_lies_on_page_one(demo_dir):
    """Computed as Excel prints the frozen plan's Scorecard: print area, column widths, row
    heights, paper, margins and fit-to-page scaling against each chart's anchor and size."""
    charts = printed_charts(demo_dir / PLAN, "Scorecard")
    assert len(charts) == 4
    for chart in charts:
        assert chart.inside_print_area, chart
        assert chart.pages == {(1, 1)}, chart


def test_the_page_check_catches_the_layout_that_cut_the_charts_off(demo_dir, tmp_path):
    """Before the fix the print area was whole columns A:K and the page fit only to width
    (fitToHeight=0): the same check then finds charts on page 2."""
    old = tmp_path / "old_layout.xlsx"
    with zipfile.ZipFile(demo_dir / PLAN) as zin, zipfile.ZipFile(old, "w") as zout:
        for info in zin.infolist():
            if info.file_size > 2_000_000:  # the big data sheets: not needed to place charts
                continue
            data = zin.read(info)
            if info.filename == "xl/workbook.xml":
                data = re.sub(rb"('Scorecard'!\$A)\$1(:\$K)\$\d+", rb"\1$1\2$1048576", data)
            elif info.filename.startswith("xl/worksheets/sheet"):  # the one-page sheets
                data = data.replace(b'fitToHeight="1"', b'fitToHeight="0"')
            zout.writestr(info, data)
    pages = set().union(*(c.pages for c in printed_charts(old, "Scorecard")))
    assert (1, 2) in pages


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_libreoffice_prints_all_four_demo_charts_whole_on_page_one(demo_dir, tmp_path):
    """An independent engine agrees: every chart's title and legend (the chart's lowest text)
    are drawn inside page 1's margins, and nothing of the charts flows onto page 2."""
    # the big data sheets cut to their first rows (LibreOffice loads the plan 3x faster; the
    # Scorecard and the Trends its charts read are whole)
    small = tmp_path / "plan.xlsx"
    small.write_bytes(_trimmed_copy(demo_dir / PLAN, keep=["Scorecard", "Trends"]))
    copy = tmp_path / "scorecard.xlsx"
    sheet_first(small, copy, "Scorecard")
    pdf = to_pdf(copy, tmp_path, pages="1-2")
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = bbox.split("<page ")[1:]
    assert len(pages) == 2
    height = float(re.search(r'height="([\d.]+)"', pages[0])[1])
    words = [
        [(w, float(y0), float(y1)) for y0, y1, w in re.findall(
            r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]+)</word>', page)]
        for page in pages
    ]  # fmt: skip
    legend = {"Accuracy", "Fill", "On-Time", "Revenue", "Budget", "Target"}
    bottom = height - 0.75 * 72  # the sheet's bottom margin
    low = [(w, y1) for w, _, y1 in words[0] if w in legend]
    assert {w for w, _ in low} == legend, "a chart legend is missing from page 1"
    assert max(y1 for _, y1 in low) <= bottom, low
    assert not legend & {w for w, _, _ in words[1]}, "the charts flow onto page 2"
