"""The Executive Summary: each section from hand-made tables (known answers), the plain line when
a source is missing, and the page printed by LibreOffice is one landscape page."""

from __future__ import annotations

import re
import shutil
import subprocess

import openpyxl
import pandas as pd
import pytest

from sop_xl.model import schema
from sop_xl.model.schema import Settings
from sop_xl.summary.engine import summary
from sop_xl.summary.step import output

DAY = pd.Timestamp


def frames(outlook: bool = True) -> dict[str, pd.DataFrame]:
    f: dict[str, pd.DataFrame] = {}
    f[schema.DECISIONS.alias] = pd.DataFrame(
        [
            ("Add a second HEATING shift Dec-Feb?", "Base; Second shift", "Second shift", "COO",
             DAY("2026-11-20"), None),
        ],
        columns=schema.DECISIONS.names,
    )  # fmt: skip
    f[schema.SCENARIO_RESULTS.alias] = pd.DataFrame(
        [
            ("Gross margin", "money", "higher", "Base", 1000.0, 0.0, 0.0, ""),
            ("Gross margin", "money", "higher", "Second shift", 1250.0, 250.0, 0.25, "Best"),
            ("Unmet demand (units)", "units", "lower", "Base", 40.0, 0.0, 0.0, ""),
            ("Unmet demand (units)", "units", "lower", "Second shift", 10.0, -30.0, -0.75, "Best"),
        ],
        columns=schema.SCENARIO_RESULTS.names,
    )
    sc = pd.DataFrame({c: [None, None] for c in schema.SCORECARD.names})
    sc["perspective"] = ["Customer", "Internal"]
    sc["name"] = ["OTIF", "Forecast accuracy"]
    sc["status"] = ["Red", "Green"]
    sc["actual_text"] = ["81.0%", "72.0%"]
    sc["target_text"] = ["95.0%", "70.0%"]
    sc["gap_text"] = ["-14.0 pp", "+2.0 pp"]
    sc["owner_role"] = ["Supply Chain", "Demand"]
    f[schema.SCORECARD.alias] = sc
    f[schema.SUPPLY_PLAN.alias] = pd.DataFrame(
        {
            "family": ["HEATING", "HEATING", "COOLING", "PUMPS"],
            "period": ["2026-12", "2027-01", "2026-12", "2026-12"],
            "unmet_qty": [10.0, 20.0, 5.0, 0.0],
            "unmet_value": [1000.0, 2000.0, 4000.0, 0.0],
        }
    )
    f[schema.CAPACITY_PLAN.alias] = pd.DataFrame(
        {
            "resource": ["HEAT", "HEAT", "HEAT", "COOL"],
            "period": ["2026-12", "2027-01", "2027-02", "2026-12"],
            "utilisation": [1.2, 1.35, 0.8, 0.95],
            "flag": ["Overload", "Overload", "OK", "Tight"],
        }
    )
    f[schema.BACKLOG.alias] = pd.DataFrame(
        {"status": ["Past due", "Past due", "Future"], "lines": [3, 2, 9],
         "open_value": [1500.0, 500.0, 9e9]}
    )  # fmt: skip
    if outlook:
        f[schema.OUTLOOK.alias] = pd.DataFrame(
            {
                "account_type": ["Revenue", "Revenue", "Cost"],
                "actual_ytd": [800.0, 200.0, 600.0],
                "plan_rest": [150.0, 50.0, 100.0],
                "outlook": [950.0, 250.0, 700.0],
                "financial_budget": [1000.0, 300.0, 650.0],
            }
        )
        f[schema.OUTLOOK_BRIDGE.alias] = pd.DataFrame(
            {"step": ["Sales budget", "Volume", "Price", "Mix", "Full-year outlook"],
             "amount": [1250.0, -30.0, -10.0, -10.0, 1200.0]}
        )  # fmt: skip
    f[schema.ACTIONS.alias] = pd.DataFrame(
        {
            "action_id": ["A1", "A2", "A3"],
            "decision": ["Qualify 2nd supplier", "Review safety stock", "Close old"],
            "owner_role": ["Procurement", "Supply Chain", "Finance"],
            "owner": ["Kim", "", "Lee"],
            "due_date": [DAY("2026-12-15"), DAY("2026-10-31"), DAY("2026-09-01")],
            "status": ["Open", "In progress", "Closed"],
        }
    )
    return f


def test_each_section_by_hand() -> None:
    s = summary(frames(), "2026-11", "EUR")
    assert list(dict.fromkeys(s["section"])) == [
        "Decisions", "Scorecard: red", "Supply risks", "Full-year outlook", "Actions",
    ]  # fmt: skip
    dec = s[s["section"] == "Decisions"].iloc[0]
    assert dec["flag"] == "Decide" and dec["owner"] == "COO"
    assert dec["figure"] == "Second shift vs Base: margin +250 EUR, unmet -30 units"
    assert "Options: Base | Second shift. Recommended: Second shift." in dec["detail"]
    red = s[s["section"] == "Scorecard: red"]
    assert list(red["item"]) == ["OTIF"]  # the green KPI is not listed
    risks = s[s["section"] == "Supply risks"]
    # families by unmet value: COOLING 4000, HEATING 3000 (10 + 20 units, Dec to Jan)
    assert list(risks["item"]) == [
        "Shortfall COOLING", "Shortfall HEATING", "Overload HEAT", "Past-due backlog",
    ]  # fmt: skip
    heat = risks.iloc[1]
    assert heat["figure"] == "3.00 k EUR" and "30 units" in heat["detail"]
    assert "2026-12 to 2027-01" in heat["detail"]
    assert risks.iloc[2]["figure"] == "peak 135%" and "2 month(s)" in risks.iloc[2]["detail"]
    assert (
        risks.iloc[3]["figure"] == "2.00 k EUR"
        and "5 open order line(s)" in risks.iloc[3]["detail"]
    )
    out = s[s["section"] == "Full-year outlook"]
    # revenue 950 + 250 = 1200 vs 1300: gap -100 (-7.7%); cost 700 vs 650: gap +50 (worse)
    assert out.iloc[0]["figure"] == "gap -100 EUR (-7.7%)" and out.iloc[0]["flag"] == "Gap"
    assert out.iloc[1]["figure"] == "gap +50 EUR (+7.7%)" and out.iloc[1]["flag"] == "Gap"
    assert out.iloc[2]["detail"].startswith("Volume -30 EUR; Price -10 EUR; Mix -10 EUR")
    act = s[s["section"] == "Actions"]
    # A2 due 2026-10-31 < cycle start 2026-11-01 and open: overdue first; A3 closed: not listed
    assert list(act["item"]) == ["A2: Review safety stock", "A1: Qualify 2nd supplier"]
    assert list(act["flag"]) == ["Overdue", "Open"]
    assert act.iloc[0]["owner"] == "Supply Chain"  # no name: the role


def test_without_the_outlook_a_plain_line_says_to_run_it() -> None:
    s = summary(frames(outlook=False), "2026-11", "EUR")
    line = s[s["section"] == "Full-year outlook"]
    assert len(line) == 1 and line.iloc[0]["item"] == "Run the financial outlook"
    assert "sop-xl outlook" in line.iloc[0]["detail"] and line.iloc[0]["flag"] == "Missing"
    empty = summary({}, "2026-11", "EUR")
    assert len(empty) == 5  # one plain line per section, nothing invented


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils not installed")
def test_the_page_prints_on_one_landscape_page(tmp_path, soffice) -> None:
    from sop_xl.io.render import to_pdf
    from sop_xl.io.writer import write_sheets

    book = tmp_path / "summary.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = schema.EXEC_SUMMARY.sheet
    wb.save(book)
    rows = summary(frames(), "2026-11", "EUR")
    write_sheets(book, [output(rows, Settings(company="Acme"))])
    pdf = to_pdf(book, tmp_path / "pdf", pages="1-9")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    width, height = map(float, info.split("Page size:")[1].split("pts")[0].split(" x "))
    assert width > height  # landscape
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True)
    assert "Executive Summary - Acme" in text.stdout and "Overload HEAT" in text.stdout


def test_the_demo_plan_opens_with_the_summary_and_names_the_approved_scenario(demo_dir) -> None:
    from python_calamine import CalamineWorkbook

    plan = CalamineWorkbook.from_path(str(demo_dir / "snapshots" / "SOP_Plan_2026-11_v01.xlsx"))
    assert plan.sheet_names[:2] == ["Cover", "ExecutiveSummary"]
    assert {"ScenarioCompare", "ScenarioResults"} <= set(plan.sheet_names)
    cover = {r[0]: r[1] for r in plan.get_sheet_by_name("Cover").to_python() if len(r) > 1}
    assert cover["Approved scenario"].startswith("Base, approved by Demo CEO on 20")
    rows = plan.get_sheet_by_name("ExecutiveSummary").to_python()
    header = next(i for i, r in enumerate(rows) if r[:2] == ["Section", "Item"])
    body = [r for r in rows[header + 1 :] if r[0]]
    decide = [r for r in body if r[6] == "Decide"]
    assert len(decide) == 2 and "second HEATING shift" in decide[0][1]
    # the recommended scenario's numbers are on the line: fewer backorders than Base (with
    # backorders both ship all demand by the horizon's end; the second shift ships it sooner)
    assert "Second shift DE vs Base: margin " in decide[0][3] and "backorders -" in decide[0][3]
    sections = [r[0] for r in body]
    assert sections.index("Decisions") < sections.index("Supply risks") < sections.index("Actions")
    assert any(r[1].startswith("Shortfall HEATING") for r in body)
