"""sop_xl.io.xlsx.parts.sheet_parts: the one sheet -> part lookup, checked against openpyxl."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl

from sop_xl.io.xlsx.parts import Package, sheet_parts

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
NS_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def _zip(workbook: str, rels: str | None) -> zipfile.ZipFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", workbook)
        if rels is not None:
            zf.writestr("xl/_rels/workbook.xml.rels", rels)
    return zipfile.ZipFile(buf)


def test_matches_openpyxl_on_a_real_workbook(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Start"
    for name in ("R&D <plan>", "Forecast", "Q'1"):
        wb.create_sheet(name)
    path = tmp_path / "w.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        got = sheet_parts(zf)
    with Package(path) as pkg:
        assert sheet_parts(pkg) == got  # a Package reads the same
    assert list(got) == ["Start", "R&D <plan>", "Forecast", "Q'1"]  # workbook order, unescaped
    assert got["Forecast"] == "xl/worksheets/sheet3.xml"
    assert all(p in zipfile.ZipFile(path).namelist() for p in got.values())


def test_prefixes_attribute_order_absolute_and_relative_targets() -> None:
    """Any attribute order, a prefixed main namespace, single quotes, '/xl/..' and '../' targets
    resolve to normalised part names; external and target-less relationships are left out."""
    wb = (
        f"<x:workbook {NS.replace('xmlns', 'xmlns:x')} {NS_R}><x:sheets>"
        '<x:sheet r:id="rId2" sheetId="1" name="B"/>'
        "<x:sheet name='A &amp; C' sheetId='2' r:id='rId1'/>"
        '<x:sheet name="D" sheetId="3" r:id="rId3"/>'
        '<x:sheet name="E" sheetId="4" r:id="rId9"/>'
        "</x:sheets></x:workbook>"
    )
    rels = (
        "<Relationships>"
        '<Relationship Id="rId1" Type="ws" Target="/xl/worksheets/a.xml"/>'
        '<Relationship Target="../xl/./worksheets/b.xml" Type="ws" Id="rId2"/>'
        '<Relationship Id="rId3" Type="ws" Target="http://x/y.xml" TargetMode="External"/>'
        "</Relationships>"
    )
    assert sheet_parts(_zip(wb, rels)) == {
        "B": "xl/worksheets/b.xml",
        "A & C": "xl/worksheets/a.xml",
    }


def test_missing_relationships_part_gives_nothing() -> None:
    sheet = '<sheet name="A" sheetId="1" r:id="rId1"/>'
    wb = f"<workbook {NS} {NS_R}><sheets>{sheet}</sheets></workbook>"
    assert sheet_parts(_zip(wb, None)) == {}
