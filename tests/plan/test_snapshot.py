"""Freeze: values only, locked, versioned, marked final; the master is never modified."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import multiprocessing
import re
import shutil
import stat
import struct
import subprocess
import threading
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import convert
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill, Protection
from openpyxl.worksheet.table import Table as XlTable
from python_calamine import CalamineWorkbook

from sop_xl.errors import Location, SopError
from sop_xl.model.schema import FORECAST, ITEMS, SETTINGS, Settings
from sop_xl.plan.content_hash import canonical_number
from sop_xl.plan.freeze import MissingCachedValues
from sop_xl.plan.ledger import folder_lock, reserve
from sop_xl.plan.snapshot import FreezeResult, freeze, verify

CUSTOM_UI = (
    '<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui">'
    '<ribbon><tabs><tab id="sop" label="S&amp;OP"/></tabs></ribbon></customUI>'
)
REL_UI = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
CT_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CT_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def forecast_rows(scale: float = 1.0) -> list[list[object]]:
    """Region x item x location, three periods."""
    return [
        ["EU", "1000", "WH1", "", "", 100 * scale, 110.0, 120.0],
        ["EU", "1001", "WH1", "", "", 50.0, 55.0, 60.0],
        ["US", "1000", "WH2", "", "", 200.0, 210.0, 220.0 * scale],
    ]


def build_master(
    path: Path,
    *,
    cycle: str = "2026-11",
    company: str = "Acme Foods",
    forecast: list[list[object]] | None = None,
    formula_without_value: bool = False,
    hidden: bool = True,
    macros: bool = True,
) -> Path:
    """A small master: Settings, Items, Forecast (table, CF, chart), a hidden sheet, a formula
    with a cached value, an unlocked input cell, plus (by zip edit) a vbaProject.bin, a ribbon,
    an external-link defined name, the macro-enabled content type."""
    wb = openpyxl.Workbook()
    st = wb.active
    st.title = SETTINGS.sheet
    st.append(["Setting", "Value", "Description"])
    labels = Settings.labels()
    st.append([labels["company"], company, ""])
    st.append([labels["cycle"], cycle, ""])
    st.append([labels["currency"], "EUR", ""])
    st.add_table(XlTable(displayName=SETTINGS.name, ref="A1:C4"))
    it = wb.create_sheet(ITEMS.sheet)
    it.append(ITEMS.headers)
    it.append(["1000", "Muesli", "CEREAL", "FOOD", 1.5, 3.0, 7])
    it.append(["1001", "Oats", "OATS", "FOOD", 1.0, 2.0, 5])
    fc = wb.create_sheet(FORECAST.sheet)
    periods = ["2026-11", "2026-12", "2027-01"]
    fc.append([*FORECAST.headers, *periods])
    for row in forecast or forecast_rows():
        fc.append(row)
    fc.column_dimensions["A"].width = 17.5
    fc["F2"].fill = PatternFill("solid", start_color="FFFFFF00")
    fc["F2"].protection = Protection(locked=False)  # an input cell, unlocked in the master
    fc.conditional_formatting.add(
        "F2:H4",
        CellIsRule(
            operator="greaterThan",
            formula=["150"],
            fill=PatternFill("solid", start_color="FFC6EFCE"),
        ),
    )
    chart = BarChart()
    chart.add_data(Reference(fc, min_col=6, min_row=1, max_row=4), titles_from_data=True)
    fc.add_chart(chart, "J2")
    calc = wb.create_sheet("Calc")
    calc["A1"] = 2
    calc["B1"] = "=A1*2"  # cached value patched in below (or not)
    calc["C1"] = '=A1&"x"'
    calc["A2"] = 0.1 + 0.2  # 0.30000000000000004: full precision must survive
    calc["A3"] = 1 / 3
    calc["A4"] = dt.datetime(2026, 11, 30)
    calc["A5"] = True
    calc["A6"] = "=HYPERLINK(text)"
    calc["A6"].data_type = "s"  # text that looks like a formula stays text
    calc["A7"] = 1234567.891
    if hidden:
        hid = wb.create_sheet("Lists")
        hid["A1"] = "hidden but carrying data"
        hid.sheet_state = "hidden"
        empty = wb.create_sheet("Scratch")
        empty.sheet_state = "veryHidden"
    wb.create_sheet("_xlwings.conf")["A1"] = "INTERPRETER"
    from openpyxl.workbook.defined_name import DefinedName

    wb.defined_names["ExtRate"] = DefinedName("ExtRate", attr_text="[1]Rates!$A$1")
    wb.defined_names["PlanRange"] = DefinedName("PlanRange", attr_text="Forecast!$F$2:$H$4")
    buf = io.BytesIO()
    wb.save(buf)
    parts = _unzip(buf.getvalue())
    calc_part = _sheet_part(parts, "Calc")
    xml = parts[calc_part].decode()
    # openpyxl writes 0.3; put the full double back so precision is really tested
    xml = xml.replace('<c r="A2" t="n"><v>0.3</v>', '<c r="A2" t="n"><v>0.30000000000000004</v>')
    if not formula_without_value:
        xml = xml.replace("<f>A1*2</f><v></v>", "<f>A1*2</f><v>4</v>")
        xml = xml.replace(
            '<c r="C1"><f>A1&amp;"x"</f><v></v></c>',
            '<c r="C1" t="str"><f>A1&amp;"x"</f><v>2x</v></c>',
        )
    parts[calc_part] = xml.encode()
    if macros:
        parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0fake vba project"
        parts["customUI/customUI14.xml"] = CUSTOM_UI.encode()
        rels = parts["_rels/.rels"].decode()
        rels = rels.replace(
            "</Relationships>",
            f'<Relationship Id="rIdUI" Type="{REL_UI}" Target="customUI/customUI14.xml"/>'
            "</Relationships>",
        )
        parts["_rels/.rels"] = rels.encode()
        wrels = parts["xl/_rels/workbook.xml.rels"].decode()
        wrels = wrels.replace(
            "</Relationships>",
            f'<Relationship Id="rIdVBA" Type="{REL_VBA}" Target="vbaProject.bin"/></Relationships>',
        )
        parts["xl/_rels/workbook.xml.rels"] = wrels.encode()
        ct = parts["[Content_Types].xml"].decode().replace(CT_XLSX, CT_XLSM)
        ct = ct.replace(
            "<Default ",
            '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
            "<Default ",
            1,
        )
        parts["[Content_Types].xml"] = ct.encode()
    path.write_bytes(_zip(parts))
    return path


def _unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in parts.items():
            zf.writestr(n, d)
    return buf.getvalue()


def _sheet_part(parts: dict[str, bytes], name: str) -> str:
    wb = parts["xl/workbook.xml"].decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(name)}"[^>]*r:id="([^"]+)"', wb)
    if rid is None:
        rid = re.search(rf'<sheet [^>]*r:id="([^"]+)"[^>]*name="{re.escape(name)}"', wb)
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    m = re.search(rf'<Relationship [^>]*Id="{rid.group(1)}"[^>]*/>', rels)
    target = re.search(r'Target="([^"]+)"', m.group(0)).group(1)
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


# --- helpers for the tests ---------------------------------------------------------------------
def calamine_values(path: Path) -> dict[str, list[list[object]]]:
    book = CalamineWorkbook.from_path(str(path))
    return {n: book.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in book.sheet_names}


def sheet_xml(path: Path, sheet: str) -> str:
    parts = _unzip(path.read_bytes())
    return parts[_sheet_part(parts, sheet)].decode()


@pytest.fixture
def master(tmp_path: Path) -> Path:
    return build_master(tmp_path / "SOP_Master.xlsm")


@pytest.fixture
def frozen(master: Path) -> FreezeResult:
    return freeze(master, approved_by="Jane Doe, CFO", created_by="anna", password="s3cret")


# --- the snapshot file -------------------------------------------------------------------------
def test_snapshot_name_folder_and_readonly(master: Path, frozen: FreezeResult) -> None:
    assert frozen.path == master.parent / "snapshots" / "SOP_Plan_2026-11_v01.xlsx"
    assert (frozen.version, frozen.cycle, frozen.company) == (1, "2026-11", "Acme Foods")
    mode = frozen.path.stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_no_macros_ribbon_links_or_formulas(frozen: FreezeResult) -> None:
    parts = _unzip(frozen.path.read_bytes())
    names = set(parts)
    assert "xl/vbaProject.bin" not in names
    assert not any(n.startswith("customUI") for n in names)
    assert not any("externalLink" in n for n in names)
    assert "xl/calcChain.xml" not in names
    ct = parts["[Content_Types].xml"].decode()
    assert CT_XLSM not in ct and CT_XLSX in ct and "vbaProject" not in ct
    assert "extensibility" not in parts["_rels/.rels"].decode()
    assert "vbaProject" not in parts["xl/_rels/workbook.xml.rels"].decode()
    for name, data in parts.items():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            assert not re.search(rb"<f[ >/]", data), name
    wb = openpyxl.load_workbook(frozen.path)  # an independent reader: no formula anywhere
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", f"{ws.title}!{c.coordinate}"
    assert "ExtRate" not in wb.defined_names and "PlanRange" in wb.defined_names
    assert any("ExtRate" in n for n in frozen.dropped_names)


def test_summary_counts_removed_names_by_reason() -> None:
    # the demo's freeze printed 31 "name (holds a formula)" entries on one line; the summary now
    # gives one line per reason with a count and a few names (the Cover keeps the full list)
    from sop_xl.plan.snapshot import _names_removed

    dropped = [f"lst_{i} (holds a formula)" for i in range(6)] + ["Auto_Open (runs a macro)"]
    assert _names_removed(dropped) == [
        "  6 defined names removed (holds a formula): lst_0, lst_1, lst_2, lst_3 and 2 more",
        "  1 defined name removed (runs a macro): Auto_Open",
    ]
    assert _names_removed([]) == []


def test_values_equal_the_masters_cached_values(master: Path, frozen: FreezeResult) -> None:
    """The master's values, each number at 15 significant digits (what Excel shows and keeps;
    see tests/plan/test_frozen_numbers.py): 0.30000000000000004 is frozen as 0.3."""
    before, after = calamine_values(master), calamine_values(frozen.path)
    assert list(after) == ["Cover", "Settings", "Items", "Forecast", "Calc", "Lists"]

    def at15(v: object) -> object:
        return float(canonical_number(v)) if type(v) is float else v

    for sheet in ["Settings", "Items", "Forecast", "Calc", "Lists"]:
        assert after[sheet] == [[at15(v) for v in row] for row in before[sheet]], sheet
    calc = after["Calc"]
    assert calc[0][:3] == [2.0, 4.0, "2x"]  # formulas -> their cached values
    assert before["Calc"][1][0] == 0.30000000000000004 and calc[1][0] == 0.3
    assert before["Calc"][2][0] == 1 / 3 and calc[2][0] == 0.333333333333333
    assert calc[5][0] == "=HYPERLINK(text)"


def test_hidden_and_plumbing_sheets(frozen: FreezeResult) -> None:
    wb = openpyxl.load_workbook(frozen.path)
    assert all(ws.sheet_state == "visible" for ws in wb)
    assert frozen.unhidden == ["Lists"]
    dropped = " ".join(frozen.dropped_sheets)
    assert "Scratch" in dropped and "_xlwings.conf" in dropped
    assert "Scratch" not in wb.sheetnames and "_xlwings.conf" not in wb.sheetnames


def test_formats_widths_cf_chart_kept(frozen: FreezeResult) -> None:
    parts = _unzip(frozen.path.read_bytes())
    assert any(n.startswith("xl/charts/chart") for n in parts)
    wb = openpyxl.load_workbook(frozen.path)
    fc = wb["Forecast"]
    assert fc.column_dimensions["A"].width == 17.5
    assert fc["F2"].fill.start_color.rgb.endswith("FFFF00")
    rules = [r for cf in fc.conditional_formatting for r in cf.rules]
    assert len(rules) == 1 and rules[0].formula == ["150"]
    assert "<drawing " in sheet_xml(frozen.path, "Forecast")
    assert wb["Settings"].tables  # the Excel table survives


def test_every_sheet_protected_with_sha512_and_structure_locked(frozen: FreezeResult) -> None:
    parts = _unzip(frozen.path.read_bytes())
    wbxml = parts["xl/workbook.xml"].decode()
    wp = re.search(r"<workbookProtection [^>]*/>", wbxml).group(0)
    assert 'lockStructure="1"' in wp and 'workbookAlgorithmName="SHA-512"' in wp
    assert 'workbookSpinCount="100000"' in wp
    assert '<fileSharing readOnlyRecommended="1"/>' in wbxml
    wb = openpyxl.load_workbook(frozen.path)
    for ws in wb:
        xml = sheet_xml(frozen.path, ws.title)
        prot = re.search(r"<sheetProtection [^>]*/>", xml).group(0)
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', prot))
        assert attrs["algorithmName"] == "SHA-512" and attrs["spinCount"] == "100000"
        assert attrs["sheet"] == "1" and "password" not in attrs  # no legacy 16-bit hash
        salt = base64.b64decode(attrs["saltValue"])
        assert attrs["hashValue"] == independent_hash("s3cret", salt)
        assert ws.protection.sheet
    # the master's unlocked input cell is locked in the snapshot
    assert wb["Forecast"]["F2"].protection.locked


def independent_hash(password: str, salt: bytes) -> str:
    """MS-OFFCRYPTO 2.3.7.1 written out separately: H0 = H(salt|pw); Hn = H(Hn-1|n-1 LE32)."""
    h = hashlib.new("sha512")
    h.update(salt)
    h.update(password.encode("utf-16-le"))
    digest = h.digest()
    for n in range(100_000):
        digest = hashlib.new("sha512", digest + struct.pack("<I", n)).digest()
    return base64.b64encode(digest).decode()


def test_without_password_sheets_are_locked_without_hash(master: Path) -> None:
    res = freeze(master, approved_by="CFO")
    for sheet in ["Cover", "Forecast"]:
        prot = re.search(r"<sheetProtection [^>]*/>", sheet_xml(res.path, sheet)).group(0)
        assert 'sheet="1"' in prot and "hashValue" not in prot
    wbxml = _unzip(res.path.read_bytes())["xl/workbook.xml"].decode()
    assert re.search(r'<workbookProtection lockStructure="1"/>', wbxml)


def test_marked_final(frozen: FreezeResult) -> None:
    parts = _unzip(frozen.path.read_bytes())
    custom = parts["docProps/custom.xml"].decode()
    assert re.search(r'name="_MarkAsFinal"><vt:bool>true</vt:bool>', custom)
    assert "custom-properties+xml" in parts["[Content_Types].xml"].decode()
    assert "relationships/custom-properties" in parts["_rels/.rels"].decode()
    assert "<cp:contentStatus>Final</cp:contentStatus>" in parts["docProps/core.xml"].decode()


def test_cover_sheet(master: Path, frozen: FreezeResult) -> None:
    cover = calamine_values(frozen.path)["Cover"]
    fields = {r[0]: r[1] for r in cover[3:] if len(r) > 1}
    assert cover[0][0] == "Frozen S&OP plan - Acme Foods - cycle 2026-11"
    assert fields["Company"] == "Acme Foods" and fields["Cycle"] == "2026-11"
    assert fields["Version"] == "v01" and fields["Approved by"] == "Jane Doe, CFO"
    assert fields["Created by"] == "anna"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fields["Created at (UTC)"])
    assert fields["Source workbook SHA-256"] == hashlib.sha256(master.read_bytes()).hexdigest()
    assert fields["Content hash (SHA-256)"] == frozen.content_hash
    assert fields["Previous snapshot"].startswith("(none")
    assert "Lists" in fields["Hidden sheets made visible"]
    assert "VBA project" in fields["Removed from the master"]


def test_master_is_never_modified(master: Path) -> None:
    before = master.read_bytes()
    freeze(master, approved_by="CFO")
    assert master.read_bytes() == before


def test_versions_ledger_and_previous(master: Path) -> None:
    a = freeze(master, approved_by="CFO")
    b = freeze(master, approved_by="CFO")
    assert (a.version, b.version) == (1, 2)
    assert b.path.name == "SOP_Plan_2026-11_v02.xlsx"
    assert b.previous["file"] == a.path.name
    fields = {r[0]: r[1] for r in calamine_values(b.path)["Cover"][3:] if len(r) > 1}
    assert fields["Previous snapshot"] == a.path.name
    assert fields["Previous content hash"] == a.content_hash
    lines = (master.parent / "snapshots" / "ledger.jsonl").read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    assert [r["seq"] for r in recs] == [1, 2]
    assert recs[0]["prev_record_hash"] == "0" * 64
    assert recs[1]["prev_record_hash"] == recs[0]["record_hash"]
    for r in recs:  # record_hash = sha256 of the canonical JSON without record_hash
        body = {k: v for k, v in r.items() if k != "record_hash"}
        canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canon.encode()).hexdigest() == r["record_hash"]
    assert recs[1]["file_sha256"] == hashlib.sha256(b.path.read_bytes()).hexdigest()
    # a new cycle starts again at v01
    other = build_master(master.parent / "Dec.xlsx", cycle="2026-12", macros=False)
    c = freeze(other, master.parent / "snapshots", approved_by="CFO")
    assert c.path.name == "SOP_Plan_2026-12_v01.xlsx" and c.record["seq"] == 3


def test_never_overwrites_an_existing_file(master: Path) -> None:
    snaps = master.parent / "snapshots"
    snaps.mkdir()
    squatter = snaps / "SOP_Plan_2026-11_v01.xlsx"
    squatter.write_bytes(b"not ours")
    res = freeze(master, approved_by="CFO")
    assert res.version == 2 and squatter.read_bytes() == b"not ours"
    with pytest.raises(SopError, match="never overwritten"):
        reserve(squatter)


def _freeze_in_process(master: str, who: str) -> str:
    return freeze(Path(master), approved_by="CFO", created_by=who).path.name


def test_concurrent_freezes_get_distinct_versions(master: Path) -> None:
    barrier = threading.Barrier(2)
    names: list[str] = []

    def run(who: str) -> None:
        barrier.wait()
        names.append(freeze(master, approved_by="CFO", created_by=who).path.name)

    threads = [threading.Thread(target=run, args=(w,)) for w in ("t1", "t2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        names += list(pool.map(_freeze_in_process, [str(master)] * 2, ["p1", "p2"]))
    assert sorted(names) == [f"SOP_Plan_2026-11_v0{i}.xlsx" for i in (1, 2, 3, 4)]
    rep = verify(master.parent / "snapshots")
    assert rep.ok, rep.text()
    assert rep.records == 4


def test_lock_timeout_gives_a_clear_message(master: Path) -> None:
    snaps = master.parent / "snapshots"
    with (
        folder_lock(snaps, who="someone"),
        pytest.raises(SopError, match="another freeze is in progress"),
    ):
        freeze(master, approved_by="CFO", lock_timeout=0.2)


def test_approved_by_is_required(master: Path) -> None:
    with pytest.raises(SopError, match="approved"):
        freeze(master, approved_by="  ")


def test_bad_cycle_setting_names_the_sheet(tmp_path: Path) -> None:
    m = build_master(tmp_path / "m.xlsx", cycle="Nov 2026", macros=False)
    with pytest.raises(SopError) as err:
        freeze(m, approved_by="CFO")
    assert "sheet 'Settings'" in str(err.value) and "YYYY-MM" in str(err.value)


@pytest.mark.parametrize(
    "cycle", [dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 15), dt.date(2026, 11, 1)]
)
def test_cycle_stored_as_a_date_freezes_as_its_month(tmp_path: Path, cycle: object) -> None:
    """Typing 2026-11 (or Nov 2026) into Excel stores a date on the 1st. The one Settings parser
    reads a date-typed Cycle as its month (issue 19: freeze's own parser did, the steps' refused
    it); known answer: 2026-11."""
    m = build_master(tmp_path / "m.xlsx", cycle=cycle, macros=False)  # type: ignore[arg-type]
    r = freeze(m, approved_by="CFO")
    assert r.cycle == "2026-11" and r.path.name == "SOP_Plan_2026-11_v01.xlsx"
    assert r.record["cycle"] == "2026-11"


@pytest.mark.parametrize("company", ["", "   ", None])
def test_blank_company_is_refused_not_defaulted(tmp_path: Path, company: object) -> None:
    """The Settings model defaults a blank Company to 'Demo Company'; a frozen plan must not
    carry a made-up name on its cover and in the ledger, so freeze refuses it (issue 19)."""
    m = build_master(tmp_path / "m.xlsx", company=company, macros=False)  # type: ignore[arg-type]
    with pytest.raises(SopError) as err:
        freeze(m, approved_by="CFO")
    text = str(err.value)
    assert "Company setting is empty" in text and "sheet 'Settings'" in text
    assert "Demo Company" not in text
    assert not (tmp_path / "snapshots").exists() or not list(
        (tmp_path / "snapshots").glob("*.xlsx")
    )


def test_settings_parser_reads_a_date_cycle_as_its_month() -> None:
    from sop_xl.io.filebook import settings_from_frame

    where = Location("m.xlsx", "Settings")
    for value, month in [("2026-11-01", "2026-11"), ("2026-02-28 00:00:00", "2026-02"),
                         (dt.datetime(2027, 1, 1), "2027-01"), ("2026-11", "2026-11")]:  # fmt: skip
        df = pd.DataFrame({"setting": ["Cycle"], "value": [value]})
        assert settings_from_frame(df, where).cycle == month
    with pytest.raises(SopError, match="not a month as YYYY-MM"):
        settings_from_frame(pd.DataFrame({"setting": ["Cycle"], "value": ["2026-13-01"]}), where)


# --- formulas without cached values ------------------------------------------------------------
def test_missing_cached_values_clear_message(tmp_path: Path) -> None:
    m = build_master(tmp_path / "m.xlsm", formula_without_value=True)
    with pytest.raises(MissingCachedValues) as err:
        freeze(m, approved_by="CFO", recalc=False)
    text = str(err.value)
    assert "'Calc'!B1" in text and "'Calc'!C1" in text and "no saved (cached) value" in text
    assert "Open the master in Excel and save it" in text
    assert not list((tmp_path / "snapshots").glob("*.xlsx"))  # nothing written
    assert not (tmp_path / "snapshots" / "ledger.jsonl").exists()


def test_missing_cached_values_without_libreoffice(tmp_path: Path, monkeypatch) -> None:
    import sop_xl.plan.freeze as fz

    monkeypatch.setattr(fz, "soffice_path", lambda: None)
    m = build_master(tmp_path / "m.xlsm", formula_without_value=True)
    with pytest.raises(MissingCachedValues, match="install LibreOffice"):
        freeze(m, approved_by="CFO")


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_recalculates_through_libreoffice(tmp_path: Path) -> None:
    m = build_master(tmp_path / "m.xlsm", formula_without_value=True)
    res = freeze(m, approved_by="CFO")
    assert res.recalculated and res.recalculated.startswith("LibreOffice")
    calc = calamine_values(res.path)["Calc"]
    assert calc[0][1] == 4.0  # =A1*2 with A1 = 2
    assert calc[0][2] == "2x"
    fields = {r[0]: r[1] for r in calamine_values(res.path)["Cover"][3:] if len(r) > 1}
    assert "recalculated by LibreOffice" in fields["Values"]
    # same values as the copy Excel would have saved
    cached = freeze(build_master(tmp_path / "c.xlsm"), tmp_path / "s2", approved_by="CFO")
    assert cached.content_hash == res.content_hash


@pytest.mark.libreoffice
def test_snapshot_opens_in_libreoffice_and_converts_to_pdf(
    soffice: str, frozen: FreezeResult, tmp_path
) -> None:
    pdf = convert(soffice, frozen.path, "pdf", tmp_path / "pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True
        ).stdout
        assert "Frozen S&OP plan" in text and frozen.content_hash in text


# --- chartsheets, Excel 4 macro sheets, local names -------------------------------------------
def test_chartsheet_macrosheet_and_local_names(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    st = wb.active
    st.title = SETTINGS.sheet
    st.append(["Setting", "Value"])
    st.append([Settings.labels()["company"], "Acme"])
    st.append([Settings.labels()["cycle"], "2026-11"])
    data = wb.create_sheet("Data")
    for i in range(1, 5):
        data.append([i, i * i])
    data.print_area = "A1:B4"  # a local defined name (_xlnm.Print_Area, localSheetId)
    cs = wb.create_chartsheet("Chart")
    chart = BarChart()
    chart.add_data(Reference(data, min_col=2, min_row=1, max_row=4))
    cs.add_chart(chart)
    buf = io.BytesIO()
    wb.save(buf)
    parts = _unzip(buf.getvalue())
    # an Excel 4 macro sheet (XLM) placed first, with an Auto_Open name pointing into it
    parts["xl/macrosheets/sheet1.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8"?><xm:macrosheet '
        b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        b'<sheetData><row r="1"><c r="A1"><f>EXEC("calc")</f><v>0</v></c></row></sheetData>'
        b"</xm:macrosheet>"
    )
    rels = (
        parts["xl/_rels/workbook.xml.rels"]
        .decode()
        .replace(
            "</Relationships>",
            '<Relationship Id="rIdM" Type="http://schemas.microsoft.com/office/2006/relationships/'
            'xlMacrosheet" Target="/xl/macrosheets/sheet1.xml"/></Relationships>',
        )
    )
    parts["xl/_rels/workbook.xml.rels"] = rels.encode()
    wbxml = parts["xl/workbook.xml"].decode()
    wbxml = wbxml.replace(
        "<sheets>",
        '<sheets><sheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships" name="Macro1" sheetId="9" r:id="rIdM"/>',
    )
    wbxml = re.sub(
        r'localSheetId="(\d+)"', lambda m: f'localSheetId="{int(m.group(1)) + 1}"', wbxml
    )
    names = '<definedName name="Auto_Open">Macro1!$A$1</definedName>'
    wbxml = wbxml.replace("<definedNames>", "<definedNames>" + names)
    if "<definedNames>" not in wbxml:
        wbxml = wbxml.replace("</sheets>", f"</sheets><definedNames>{names}</definedNames>")
    parts["xl/workbook.xml"] = wbxml.encode()
    ct = (
        parts["[Content_Types].xml"]
        .decode()
        .replace(
            "</Types>",
            '<Override PartName="/xl/macrosheets/sheet1.xml" '
            'ContentType="application/vnd.ms-excel.macrosheet+xml"/></Types>',
        )
    )
    parts["[Content_Types].xml"] = ct.encode()
    master = tmp_path / "m.xlsm"
    master.write_bytes(_zip(parts))

    res = freeze(master, approved_by="CFO", password="pw")
    out = _unzip(res.path.read_bytes())
    assert not any(n.startswith("xl/macrosheets/") for n in out)
    assert "macrosheet" not in out["[Content_Types].xml"].decode()
    assert any("Macro1" in d for d in res.dropped_sheets)
    assert any(n.startswith("Auto_Open") for n in res.dropped_names)
    book = openpyxl.load_workbook(res.path)
    assert book.sheetnames == ["Cover", "Settings", "Data", "Chart"]
    # the print area still belongs to Data: Macro1 (index 0) left, the Cover came in first
    assert book["Data"].print_area == "'Data'!$A$1:$B$4"
    chart_xml = next(v for k, v in out.items() if k.startswith("xl/chartsheets/sheet"))
    prot = re.search(rb"<sheetProtection [^>]*/>", chart_xml).group(0)
    assert b'content="1"' in prot and b'algorithmName="SHA-512"' in prot
    assert verify(res.path).ok


# --- the byte-level fast path and the lxml path agree ------------------------------------------
def _cells(xml: bytes) -> dict[str, tuple[str | None, str]]:
    from lxml import etree

    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    out = {}
    for c in etree.fromstring(xml).iter(ns + "c"):
        assert c.find(ns + "f") is None
        v, t = c.find(ns + "v"), c.find(f"{ns}is/{ns}t")
        out[c.get("r")] = (
            c.get("t"),
            (v.text if v is not None else (t.text if t is not None else "")) or "",
        )
    return out


@pytest.mark.parametrize(
    "cell_xml, expected",
    [
        ('<c r="A1"><f>B1*2</f><v>4</v></c>', (None, "4")),
        ('<c r="A1" s="3" t="str"><f>"a"&amp;"b"</f><v>a&amp;b</v></c>', ("inlineStr", "a&b")),
        ('<c r="A1" t="str"><f>IF(1,"","x")</f><v></v></c>', ("inlineStr", "")),  # "" result
        ('<c r="A1" t="e"><f>1/0</f><v>#DIV/0!</v></c>', ("e", "#DIV/0!")),
        ('<c r="A1" t="b"><f>TRUE()</f><v>1</v></c>', ("b", "1")),
        ('<c r="A1"><f t="shared" si="0"/><v>7</v></c>', (None, "7")),
        ('<c r="A1"><f t="array" ref="A1">SUM(B1:B2)</f><v>3</v></c>', (None, "3")),
    ],
)
def test_fast_and_lxml_paths_agree(cell_xml: str, expected) -> None:
    from sop_xl.plan.freeze import transform_values

    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
        f'<sheetData><row r="1">{cell_xml}</row></sheetData></worksheet>'
    ).encode()
    kw = {"name": "S", "part": "p", "file": "f", "protection": {"sheet": "1"}, "values": None,
          "date1904": False}  # fmt: skip
    fast = transform_values(xml, fast=True, **kw)
    slow = transform_values(xml, fast=False, **kw)
    assert _cells(fast.data) == _cells(slow.data) == {"A1": expected}
    assert fast.formulas == slow.formulas == 1 and not fast.missing and not slow.missing
    for res in (fast, slow):
        assert b'<sheetProtection sheet="1"/>' in res.data and b"tabSelected" not in res.data


@pytest.mark.parametrize(
    "validations",
    [
        '<dataValidations count="2"><dataValidation type="list" sqref="A1:A9">'
        '<formula1>"a,b"</formula1></dataValidation><dataValidation type="decimal" '
        'operator="lessThan" sqref="B1:B9"><formula1>A1&lt;5</formula1></dataValidation>'
        "</dataValidations>",
        '<dataValidations count="0"/>',
    ],
)
def test_input_sheet_with_validations_takes_the_fast_path_and_agrees(validations: str) -> None:
    """An input sheet (data validations, no formula) is frozen at the byte level, not parsed
    with lxml (issue 16: the demo's 21 MB Forecast sheet); both paths give the same cells,
    drop the validations and keep what follows them."""
    from sop_xl.plan import freeze as fz

    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
        '<sheetData><row r="1"><c r="A1"><v>4</v></c><c r="B1" t="inlineStr"><is><t>x</t></is>'
        f"</c></row></sheetData>{validations}"
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        "</worksheet>"
    ).encode()
    kw = {"name": "S", "part": "p", "file": "f", "protection": {"sheet": "1"}, "values": None,
          "date1904": False}  # fmt: skip
    assert fz._fast_transform(xml, kw["protection"]) is not None
    fast = fz.transform_values(xml, fast=True, **kw)
    slow = fz.transform_values(xml, fast=False, **kw)
    assert _cells(fast.data) == _cells(slow.data) == {"A1": (None, "4"), "B1": ("inlineStr", "x")}
    for res in (fast, slow):
        assert b"dataValidation" not in res.data and b"<pageMargins" in res.data
        assert b'<sheetProtection sheet="1"/>' in res.data and res.has_data
    # two blocks (not a valid sheet): left to lxml
    assert fz._fast_transform(xml.replace(b"<pageMargins", validations.encode() + b"<pageMargins"),
                              kw["protection"]) is None  # fmt: skip


@pytest.mark.parametrize(
    "cell_xml", ['<c r="B2"><f>A1*2</f><v></v></c>', '<c r="B2"><f>A1*2</f></c>',
                 '<c r="B2" t="str"><f>A1</f></c>', '<c r="B2"><f>A1</f><v/></c>'],
)  # fmt: skip
def test_both_paths_find_missing_values(cell_xml: str) -> None:
    from sop_xl.plan.freeze import transform_values

    xml = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="2">{cell_xml}</row></sheetData></worksheet>'
    ).encode()
    kw = {"name": "S", "part": "p", "file": "f", "protection": {"sheet": "1"}, "values": None,
          "date1904": False}  # fmt: skip
    assert transform_values(xml, fast=True, **kw).missing == ["B2"]
    assert transform_values(xml, fast=False, **kw).missing == ["B2"]


def test_prefixed_worksheet_takes_the_lxml_path(tmp_path: Path) -> None:
    from sop_xl.plan.freeze import transform_values

    xml = (
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:sheetData><x:row r="1"><x:c r="A1"><x:f>1+1</x:f><x:v>2</x:v></x:c></x:row>'
        b"</x:sheetData></x:worksheet>"
    )
    res = transform_values(xml, name="S", part="p", file="f", protection={"sheet": "1"},
                              values=None, date1904=False)  # fmt: skip
    assert b"<x:f>" not in res.data and b"<x:v>2</x:v>" in res.data
    assert b"sheetProtection" in res.data and res.formulas == 1


def test_progress_is_reported(master: Path) -> None:
    seen: list[tuple[str, float | None]] = []
    freeze(master, approved_by="CFO", progress=lambda msg, frac: seen.append((msg, frac)))
    fracs = [f for _, f in seen if f is not None]
    assert fracs == sorted(fracs) and fracs[0] == 0.0 and fracs[-1] == 1.0
    assert any(msg.startswith("Freezing sheet Forecast") for msg, _ in seen)
    assert seen[-1][0] == "Frozen: SOP_Plan_2026-11_v01.xlsx"


@pytest.mark.parametrize(
    "sheet_data",
    [  # formulas between plain cells; a cell text that looks like markup; prefixed cells
        '<sheetData><row r="1"><c r="A1"><v>1</v></c><c r="B1"><f>A1+1</f><v>2</v></c>'
        '<c r="C1" t="inlineStr"><is><t>&lt;f&gt; AlternateContent</t></is></c></row>'
        '<row r="2"><c r="A2" t="str"><f>"x"</f><v>x</v></c><c r="B2"><v>5</v></c></row>'
        "</sheetData>",
        '<sheetData><row r="1"><x:c xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" r="A1"><x:f>1+1</x:f><x:v>2</x:v></x:c></row></sheetData>',
    ],
)
def test_fast_path_scans_only_what_it_must_and_agrees_with_lxml(sheet_data: str) -> None:
    """Issue 16: the fast path finds formula cells with ``find`` and searches the sheet-level
    blockers outside the cells only; a namespace declared among the cells sends the sheet to
    lxml. Both paths leave no formula and the same values."""
    from sop_xl.plan.freeze import _fast_transform, transform_values

    xml = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{sheet_data}</worksheet>"
    ).encode()
    kw = {"name": "S", "part": "p", "file": "f", "protection": {"sheet": "1"}, "values": None,
          "date1904": False}  # fmt: skip
    fast = transform_values(xml, fast=True, **kw)
    slow = transform_values(xml, fast=False, **kw)
    assert _cells(fast.data) == _cells(slow.data)
    assert b"<f>" not in fast.data and b":f>" not in fast.data and fast.formulas == slow.formulas
    assert (_fast_transform(xml, kw["protection"]) is None) == ("xmlns:x" in sheet_data)


def test_every_text_of_the_plan_is_a_shared_string(tmp_path: Path) -> None:
    """Issue 20: the frozen plan keeps text as Excel does. A text formula result, the master's
    inline strings (openpyxl writes every text inline) and the Cover all become entries of the
    one shared-strings table (content type and relationship declared, uniqueCount = entries);
    no cell is inline; every reader sees the same texts and the plan verifies."""
    m = build_master(tmp_path / "m.xlsx", macros=False)
    with zipfile.ZipFile(m) as zf:
        assert any(b"inlineStr" in zf.read(n) for n in zf.namelist() if "worksheets/" in n)
    wb = openpyxl.load_workbook(m)
    wb[ITEMS.sheet]["J2"] = '=" Muesli "&"& more"'  # a text result with edge spaces and a &
    wb.save(m)
    with zipfile.ZipFile(m) as zf:  # as Excel would save it: the formula with its cached text
        parts = {n: zf.read(n) for n in zf.namelist()}
    part = next(n for n in parts if "worksheets/sheet2" in n)
    parts[part] = re.sub(
        rb'<c r="J2"([^>]*)><f>(.*?)</f><v\s*/?>(?:</v>)?</c>',
        rb'<c r="J2"\1 t="str"><f>\2</f><v> Muesli &amp; more</v></c>',
        parts[part],
    )
    assert b't="str"' in parts[part]
    with zipfile.ZipFile(m, "w") as zf:
        for n, d in parts.items():
            zf.writestr(n, d)
    r = freeze(m, approved_by="CFO")
    with zipfile.ZipFile(r.path) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        assert sheets and not any(b"inlineStr" in zf.read(n) for n in sheets)
        sst = zf.read("xl/sharedStrings.xml")
        unique = int(re.search(rb'uniqueCount="(\d+)"', sst).group(1))
        assert unique == len(re.findall(rb"<si>", sst))
        ct = zf.read("[Content_Types].xml")
        assert ct.count(b'PartName="/xl/sharedStrings.xml"') == 1
        assert b"spreadsheetml.sharedStrings+xml" in ct
        rels = zf.read("xl/_rels/workbook.xml.rels")
        assert rels.count(b"relationships/sharedStrings") == 1
    book = openpyxl.load_workbook(r.path)
    assert book[ITEMS.sheet]["J2"].value == " Muesli & more"
    assert book["Cover"]["B8"].value == "CFO" or "CFO" in [c.value for c in book["Cover"]["B"]]
    cal = CalamineWorkbook.from_path(str(r.path)).get_sheet_by_name(ITEMS.sheet).to_python()
    assert cal[1][9] == " Muesli & more"
    assert verify(r.path).ok


@pytest.mark.parametrize("pre", ["x", "a.b", "x-1", "é", "_9"])
def test_a_main_namespace_prefix_declared_on_the_root_sends_the_sheet_to_lxml(pre: str) -> None:
    """Cells in a prefix the worksheet root declares for the main namespace: the fast path
    (which finds formulas as ``<f``) must not take the sheet. Before, a non-ASCII prefix (é:)
    was not seen: its formula stayed in the frozen plan."""
    from sop_xl.plan.freeze import _fast_transform, transform_values

    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    xml = (
        f'<worksheet xmlns="{ns}" xmlns:{pre}="{ns}"><sheetData><row r="1">'
        f'<{pre}:c r="A1"><{pre}:f>1+1</{pre}:f><{pre}:v>2</{pre}:v></{pre}:c>'
        '<c r="B1"><v>3</v></c></row></sheetData></worksheet>'
    ).encode()
    kw = {"name": "S", "part": "p", "file": "f", "protection": {"sheet": "1"}, "values": None,
          "date1904": False}  # fmt: skip
    assert _fast_transform(xml, kw["protection"]) is None
    res = transform_values(xml, fast=True, **kw)
    assert res.formulas == 1 and f"{pre}:f".encode() not in res.data
    assert _cells(res.data) == _cells(transform_values(xml, fast=False, **kw).data)


def test_a_master_sheet_named_cover_in_any_case_leaves_the_cover_its_own_name(
    tmp_path: Path,
) -> None:
    """Excel takes 'cover' and 'Cover' as one name, and the guard refuses a workbook with both:
    the frozen plan of a master with a sheet 'cover' must still open (its Cover goes by another
    name), or the history step could not read it."""
    from sop_xl.io import guard
    from sop_xl.plan.snapshot import freeze, verify

    master = build_master(tmp_path / "SOP_Master.xlsm")
    parts = _unzip(master.read_bytes())
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b'name="Lists"', b'name="cover"')
    master.write_bytes(_zip(parts))
    result = freeze(master, approved_by="Jane Doe, CFO", created_by="anna")
    sheets = guard.check_workbook_file(result.path).sheets
    assert sheets[0] == "Snapshot Cover" and "cover" in sheets
    assert verify(result.path.parent).ok
