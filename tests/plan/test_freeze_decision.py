"""The frozen plan of a decision: the Executive Summary right after the Cover (sheet-local
names follow it), and the Cover line naming the approved scenario, who approved it and when."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from openpyxl.worksheet.table import Table as XlTable
from python_calamine import CalamineWorkbook

from sop_xl.model.schema import SETTINGS, Settings
from sop_xl.plan.snapshot import freeze


def small_master(path: Path, chosen: str | None) -> Path:
    wb = openpyxl.Workbook()
    st = wb.active
    st.title = SETTINGS.sheet
    st.append(["Setting", "Value", "Description"])
    labels = Settings.labels()
    st.append([labels["company"], "Acme", ""])
    st.append([labels["cycle"], "2026-11", ""])
    n = 3
    if chosen is not None:
        st.append([labels["chosen_scenario"], chosen, ""])
        n += 1
    st.add_table(XlTable(displayName=SETTINGS.name, ref=f"A1:C{n}"))
    wb.create_sheet("Scorecard")["A1"] = "scorecard"
    ex = wb.create_sheet("ExecutiveSummary")
    ex["A1"] = "Executive Summary"
    ex["B7"] = 42
    ex.print_area = "A1:F20"
    wb.save(path)
    return path


def test_executive_summary_follows_the_cover_and_keeps_its_print_area(tmp_path) -> None:
    master = small_master(tmp_path / "m.xlsx", "Second shift DE")
    res = freeze(master, approved_by="Jane Doe, CEO")
    book = CalamineWorkbook.from_path(str(res.path))
    assert book.sheet_names == ["Cover", "ExecutiveSummary", "Settings", "Scorecard"]
    assert book.get_sheet_by_name("ExecutiveSummary").to_python()[0][0] == "Executive Summary"
    wb = openpyxl.load_workbook(res.path)
    assert "ExecutiveSummary" in str(wb["ExecutiveSummary"].print_area)
    assert not wb["Scorecard"].print_area  # the name moved with its sheet, not its index
    cover = {r[0]: r[1] for r in book.get_sheet_by_name("Cover").to_python() if len(r) > 1}
    day = res.created_at[:10] if hasattr(res, "created_at") else ""
    line = cover["Approved scenario"]
    assert line.startswith("Second shift DE, approved by Jane Doe, CEO on 20")
    assert not day or line.endswith(day)


def test_without_the_setting_the_cover_says_base(tmp_path) -> None:
    res = freeze(small_master(tmp_path / "m.xlsx", None), approved_by="CFO")
    cover = CalamineWorkbook.from_path(str(res.path)).get_sheet_by_name("Cover").to_python()
    line = {r[0]: r[1] for r in cover if len(r) > 1}["Approved scenario"]
    assert line.startswith("Base, approved by CFO on ")
