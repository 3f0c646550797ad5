"""The S&OP ribbon without Excel: its XML, its macros, dispatch and the xlwings seam (XlBook).

Excel is replaced by a small fake of the few xlwings calls XlBook makes, backed by an openpyxl
workbook, so what the ribbon path reads and writes can be compared with the file path (FileBook)
through the same cycle functions.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openpyxl
import pandas as pd
import pytest
from defusedxml import ElementTree as DET
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.table import Table as XlTable

from sop_xl import cycle
from sop_xl.errors import Location, SopError
from sop_xl.excel import ribbon
from sop_xl.excel.xlbook import XlBook, to_grid
from sop_xl.model import schema
from sop_xl.model.sheets import SheetOutput

ROOT = Path(__file__).resolve().parents[2]
RIBBON_XML = ROOT / "sop_xl" / "excel" / "sources" / "customUI14.xml"
RIBBON_BAS = ROOT / "sop_xl" / "excel" / "sources" / "vba" / "SOP_Ribbon.bas"
TEMPLATE = ROOT / "workbook" / "SOP_Planning.xlsx"
NS = "{http://schemas.microsoft.com/office/2009/07/customui}"


# --- a fake of the xlwings API subset XlBook uses, backed by openpyxl ----------------------------
class FakeRange:
    def __init__(self, ws: Any, r1: int, c1: int, r2: int | None = None, c2: int | None = None):
        self.ws, self.row, self.column = ws, r1, c1
        self.last_row, self.last_column = r2 or r1, c2 or c1
        self.font = SimpleNamespace(bold=False)

    def options(self, ndim: int = 2) -> FakeRange:
        return self

    @property
    def value(self) -> list[list[Any]]:
        """As Excel returns them: a text cell typed with the text-marker apostrophe ('-5)
        reads back without it (the apostrophe is a prefix, not part of the value)."""

        def read(v: Any) -> Any:
            return v[1:] if isinstance(v, str) and v.startswith("'") else v

        return [
            [read(self.ws.cell(r, c).value) for c in range(self.column, self.last_column + 1)]
            for r in range(self.row, self.last_row + 1)
        ]

    @value.setter
    def value(self, data: Any) -> None:
        rows = data if isinstance(data, list) else [[data]]
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                self.ws.cell(self.row + i, self.column + j).value = v

    def clear_contents(self) -> None:
        for r in range(self.row, self.last_row + 1):
            for c in range(self.column, self.last_column + 1):
                self.ws.cell(r, c).value = None

    @property
    def number_format(self) -> str:
        return self.ws.cell(self.row, self.column).number_format

    @number_format.setter
    def number_format(self, fmt: str) -> None:
        for r in range(self.row, self.last_row + 1):
            for c in range(self.column, self.last_column + 1):
                self.ws.cell(r, c).number_format = fmt

    @property
    def column_width(self) -> float | None:
        return self.ws.column_dimensions[get_column_letter(self.column)].width

    @column_width.setter
    def column_width(self, width: float) -> None:
        self.ws.column_dimensions[get_column_letter(self.column)].width = width

    @property
    def ref(self) -> str:
        a = f"{get_column_letter(self.column)}{self.row}"
        return f"{a}:{get_column_letter(self.last_column)}{self.last_row}"


class FakeTable:
    def __init__(self, ws: Any, table: XlTable):
        self.ws, self.table, self.name = ws, table, table.name

    @property
    def range(self) -> FakeRange:
        c1, r1, c2, r2 = range_boundaries(self.table.ref)
        return FakeRange(self.ws, r1, c1, r2, c2)

    def resize(self, rng: FakeRange) -> None:
        self.table.ref = rng.ref


class FakeTables:
    def __init__(self, ws: Any):
        self.ws = ws

    def __iter__(self):
        return iter([FakeTable(self.ws, self.ws.tables[name]) for name in self.ws.tables])

    def add(self, source: FakeRange, name: str) -> FakeTable:
        table = XlTable(displayName=name, ref=source.ref)
        self.ws.add_table(table)
        return FakeTable(self.ws, table)


class FakeSheet:
    def __init__(self, ws: Any):
        self.ws, self.name = ws, ws.title
        self.tables = FakeTables(ws)

    def range(self, a: tuple[int, int], b: tuple[int, int] | None = None) -> FakeRange:
        return FakeRange(self.ws, a[0], a[1], *(b or (None, None)))


class FakeSheets:
    def __init__(self, wb: Any):
        self.wb = wb

    def _all(self) -> list[FakeSheet]:
        return [FakeSheet(ws) for ws in self.wb.worksheets]

    def __iter__(self):
        return iter(self._all())

    def __len__(self) -> int:
        return len(self.wb.worksheets)

    def __getitem__(self, i: int) -> FakeSheet:
        return self._all()[i]

    def add(self, name: str, after: FakeSheet | None = None) -> FakeSheet:
        return FakeSheet(self.wb.create_sheet(name))


class FakeApp:
    def __init__(self) -> None:
        self.statuses: list[Any] = []
        self.alerts: list[dict[str, Any]] = []
        self.screen_updating = True
        self.calculation = "automatic"

    @property
    def status_bar(self) -> Any:
        return self.statuses[-1] if self.statuses else False

    @status_bar.setter
    def status_bar(self, value: Any) -> None:
        self.statuses.append(value)

    def alert(self, prompt: str, title: str | None = None, buttons: str = "ok", mode=None) -> None:
        self.alerts.append({"prompt": prompt, "title": title, "mode": mode})


class FakeBook:
    """An xlwings Book as far as XlBook and the macros use it."""

    def __init__(self, path: Path | None = None, *, fullname: str | None = None):
        self.wb = openpyxl.load_workbook(path) if path else openpyxl.Workbook()
        self.fullname = fullname if fullname is not None else str(path)
        self.name = Path(self.fullname).name
        self.app = FakeApp()
        self.sheets = FakeSheets(self.wb)
        self.saves = 0

    def save(self) -> None:
        self.saves += 1


@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "logs"
    monkeypatch.setenv("SOP_XL_LOG_DIR", str(folder))
    return folder


@pytest.fixture
def saved_book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: Path) -> FakeBook:
    """The standard template, 'open in Excel' from a folder, as the calling book."""
    path = tmp_path / "plan" / "SOP_Planning.xlsm"
    path.parent.mkdir()
    shutil.copyfile(TEMPLATE, path.with_suffix(".xlsx"))
    path.write_bytes(b"saved workbook")
    book = FakeBook(TEMPLATE, fullname=str(path))
    monkeypatch.setattr(ribbon, "_caller", lambda: book)
    return book


# --- the ribbon XML ------------------------------------------------------------------------
def _buttons() -> list[Any]:
    root = DET.parse(RIBBON_XML).getroot()
    return list(root.iter(f"{NS}button"))


def test_ribbon_xml_is_customui14_with_one_sop_tab() -> None:
    root = DET.parse(RIBBON_XML).getroot()
    assert root.tag == f"{NS}customUI"
    tabs = list(root.iter(f"{NS}tab"))
    assert [t.get("label") for t in tabs] == ["S&OP"]
    groups = [g.get("label") for g in root.iter(f"{NS}group")]
    assert groups == ["1 · Inputs", "2 · Review", "3 · Plan", "Help"]
    inputs = [b.get("tag") for b in tabs[0].find(f"{NS}group").iter(f"{NS}button")]
    assert inputs == ["validate", "consolidate", "regional_template"]


def test_every_button_is_complete_and_ids_unique() -> None:
    buttons = _buttons()
    ids = [b.get("id") for b in buttons]
    assert len(ids) == len(set(ids)) == len(ribbon.MACROS)
    for b in buttons:
        assert b.get("onAction") == "SOP_OnAction", b.get("id")
        assert b.get("imageMso") and b.get("screentip") and len(b.get("supertip")) > 40
        assert b.get("size") in ("large", "normal")
        # customUI14.xsd limits: strings 1..1024 characters, keytips 1..3 without spaces.
        for attr in ("label", "screentip", "supertip", "tag", "id", "imageMso"):
            assert 1 <= len(b.get(attr)) <= 1024, (b.get("id"), attr)
        assert re.fullmatch(r"[A-Z0-9]{1,3}", b.get("keytip")), b.get("id")
        assert re.fullmatch(r"[A-Za-z_][\w.-]*", b.get("id"))  # xsd:ID
    keytips = [b.get("keytip") for b in buttons]
    assert len(keytips) == len(set(keytips))
    main = [b for b in buttons if b.get("tag") not in ("about", "docs", "log")]
    assert {b.get("size") for b in main} == {"large"}


def test_tags_and_macros_match_both_ways() -> None:
    tags = [b.get("tag") for b in _buttons()]
    assert len(tags) == len(set(tags))
    assert set(tags) == set(ribbon.MACROS)
    assert set(ribbon.DOING) == set(ribbon.MACROS)


def test_every_callback_is_a_sub_in_the_vba_source() -> None:
    source = RIBBON_BAS.read_text(encoding="utf-8")
    subs = set(re.findall(r"^Public Sub (\w+)\(control As IRibbonControl\)", source, re.M))
    assert {b.get("onAction") for b in _buttons()} <= subs
    assert (
        """RunPython "import sop_xl.excel.ribbon as r; r.dispatch('" & control.Tag & "')\""""
        in source
    )


# --- dispatch ------------------------------------------------------------------------------------
def test_no_calling_workbook_still_gives_a_message(
    monkeypatch: pytest.MonkeyPatch, logs: Path
) -> None:
    shown: list[str] = []

    def no_caller() -> None:
        raise RuntimeError("Book.caller() is only available when called from Excel")

    monkeypatch.setattr(ribbon, "_caller", no_caller)
    monkeypatch.setattr(ribbon, "_alert_active_app", shown.append)
    ribbon.dispatch("kpis")
    assert shown[0].startswith("Finding the workbook stopped because of an unexpected problem")
    assert "Traceback" not in shown[0] and "Traceback" in (logs / "sop_xl.log").read_text()


def test_unknown_tag_gives_a_message(saved_book: FakeBook) -> None:
    ribbon.dispatch("launch_rockets")
    [alert] = saved_book.app.alerts
    assert "launch_rockets" in alert["prompt"] and "release folder" in alert["prompt"]
    assert "pip install -U sop-xl" not in alert["prompt"]  # not on PyPI: that command fails
    assert alert["mode"] == "critical"


def test_success_shows_progress_then_summary_and_clears_status(
    saved_book: FakeBook, monkeypatch: pytest.MonkeyPatch, logs: Path
) -> None:
    seen: list[Any] = []

    def fake_kpis(book: Any) -> cycle.StepResult:
        seen.append(book)
        book.progress("Forecast accuracy", 0.5)
        return cycle.StepResult("kpis", "12 KPIs computed for 2026-10.")

    monkeypatch.setattr(cycle, "kpis", fake_kpis, raising=False)
    ribbon.dispatch("kpis")
    assert isinstance(seen[0], XlBook) and seen[0].xl is saved_book
    assert saved_book.app.statuses == [
        "S&OP: Computing the KPIs...",
        "S&OP: Forecast accuracy (50%)",
        False,
    ]
    assert saved_book.app.alerts == [
        {"prompt": "12 KPIs computed for 2026-10.", "title": "S&OP", "mode": "info"}
    ]
    assert "kpis: done: 12 KPIs computed" in (logs / "sop_xl.log").read_text()


def test_failing_step_message_names_log_and_hides_traceback(
    saved_book: FakeBook, monkeypatch: pytest.MonkeyPatch, logs: Path
) -> None:
    def broken(book: Any) -> None:
        raise KeyError("gl_account\nsecond line with internals")

    monkeypatch.setattr(cycle, "variances", broken, raising=False)
    ribbon.dispatch("variances")
    [alert] = saved_book.app.alerts
    text = alert["prompt"]
    assert text.startswith("Computing the variances stopped because of an unexpected problem")
    assert "KeyError" in text and str(logs / "sop_xl.log") in text
    assert "Traceback" not in text and "second line" not in text and 'File "' not in text
    assert saved_book.app.statuses[-1] is False
    log = (logs / "sop_xl.log").read_text()
    assert "Traceback (most recent call last)" in log and "second line with internals" in log


def test_user_error_is_shown_with_where_and_fix(
    saved_book: FakeBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bad_input(book: Any) -> None:
        raise SopError(
            "'X9' is not in Items.",
            where=Location("SOP_Planning.xlsm", "Forecast", row=7, column="Item No."),
            fix="Add 'X9' to the Items sheet.",
        )

    monkeypatch.setattr(cycle, "scorecard", bad_input, raising=False)
    ribbon.dispatch("scorecard")
    text = saved_book.app.alerts[0]["prompt"]
    assert "Building the scorecard stopped." in text
    assert "sheet 'Forecast', row 7, column 'Item No.': 'X9' is not in Items." in text
    assert "Fix: Add 'X9' to the Items sheet." in text


def test_missing_cycle_step_is_a_message_not_a_crash(
    saved_book: FakeBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(cycle, "variances", raising=False)
    ribbon.dispatch("variances")
    text = saved_book.app.alerts[0]["prompt"]
    assert "no 'variances' step" in text and "Install sop_xl from the release folder" in text
    assert "pip install -U sop-xl" not in text  # not on PyPI: that command fails


def test_freeze_saves_the_book_before_freezing_the_file(
    saved_book: FakeBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []

    def fake_freeze(path: Path, *, approved_by: str, progress: Any, **kw: Any):
        calls.append((path, approved_by, saved_book.saves))
        return cycle.StepResult("freeze", "Plan frozen as SOP_Plan_2026-11_v1.xlsx.")

    monkeypatch.setattr(cycle, "freeze", fake_freeze, raising=False)
    monkeypatch.setattr(cycle, "user", lambda: "maria")
    ribbon.dispatch("freeze")
    assert calls == [(Path(saved_book.fullname), "maria", 1)]
    assert saved_book.app.alerts[0]["prompt"] == "Plan frozen as SOP_Plan_2026-11_v1.xlsx."


def test_freeze_of_a_never_saved_book_asks_to_save(
    monkeypatch: pytest.MonkeyPatch, logs: Path
) -> None:
    book = FakeBook(TEMPLATE, fullname="Book1")
    monkeypatch.setattr(ribbon, "_caller", lambda: book)
    monkeypatch.setattr(cycle, "freeze", lambda *a, **k: pytest.fail("must not run"), raising=False)
    ribbon.dispatch("freeze")
    assert "has not been saved to a folder yet" in book.app.alerts[0]["prompt"]
    assert book.saves == 0


def test_compare_versions_takes_the_two_newest_by_version_number(
    saved_book: FakeBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    snaps = Path(saved_book.fullname).parent / "snapshots"
    snaps.mkdir()
    for v in ("01", "02", "10", "09"):
        (snaps / f"SOP_Plan_2026-11_v{v}.xlsx").write_bytes(b"x")
    calls = []
    monkeypatch.setattr(
        cycle,
        "diff",
        lambda a, b, out: (
            calls.append((a.name, b.name, out.name))
            or cycle.StepResult("diff", f"3 changes.\nChange report: {out}")
        ),
        raising=False,
    )
    ribbon.dispatch("diff")
    assert calls == [
        (
            "SOP_Plan_2026-11_v09.xlsx",
            "SOP_Plan_2026-11_v10.xlsx",
            "Compare_SOP_Plan_2026-11_v09_vs_SOP_Plan_2026-11_v10.xlsx",
        )
    ]
    assert saved_book.app.alerts[0]["prompt"].startswith("3 changes.\nChange report: ")


def test_compare_with_one_snapshot_explains(
    saved_book: FakeBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cycle, "diff", lambda *a: pytest.fail("one plan"), raising=False)
    snaps = Path(saved_book.fullname).parent / "snapshots"
    snaps.mkdir()
    (snaps / "SOP_Plan_2026-11_v1.xlsx").write_bytes(b"x")
    ribbon.dispatch("diff")
    assert "there are 1 frozen plan(s)" in saved_book.app.alerts[0]["prompt"]


def test_consolidate_without_submissions_creates_the_folder_and_says_so(
    saved_book: FakeBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cycle, "consolidate", lambda *a: pytest.fail("no files"), raising=False)
    ribbon.dispatch("consolidate")
    folder = Path(saved_book.fullname).parent / "submissions"
    assert folder.is_dir() and str(folder) in saved_book.app.alerts[0]["prompt"]


def test_regional_templates_one_per_region_never_overwritten(
    saved_book: FakeBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    regions = pd.DataFrame({"region": ["EU", "NA/West", "EU"], "name": ["a", "b", "a"]})
    monkeypatch.setattr(XlBook, "read_table", lambda self, t: regions)
    out_dir = Path(saved_book.fullname).parent / "regional_templates"
    out_dir.mkdir()
    (out_dir / "Forecast_EU.xlsx").write_bytes(b"filled in by the EU planner")
    made = []

    def fake_template(book: Any, region: str, out: Path) -> None:
        made.append(region)
        out.write_bytes(b"template")

    monkeypatch.setattr(cycle, "regional_template", fake_template, raising=False)
    ribbon.dispatch("regional_template")
    assert made == ["NA/West"]
    assert (out_dir / "Forecast_EU.xlsx").read_bytes() == b"filled in by the EU planner"
    assert (out_dir / "Forecast_NA_West.xlsx").exists()
    text = saved_book.app.alerts[0]["prompt"]
    assert "1 regional template(s) created" in text and "Kept" in text


def test_about_docs_and_log(saved_book: FakeBook, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(ribbon, "_open", opened.append)
    ribbon.dispatch("about")
    assert "Log file: " in saved_book.app.alerts[-1]["prompt"]
    ribbon.dispatch("log")
    assert opened[-1] == str(ribbon.log_path()) and ribbon.log_path().exists()
    ribbon.dispatch("docs")
    url = ribbon.docs_url()
    assert url is None or opened[-1] == url


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        (
            "win32",
            {"LOCALAPPDATA": "C:/Users/m/AppData/Local"},
            "C:/Users/m/AppData/Local/sop_xl/logs",
        ),
        ("darwin", {}, "~/Library/Logs/sop_xl"),
        ("linux", {"XDG_STATE_HOME": ""}, "~/.local/state/sop_xl"),
    ],
)
def test_log_folder_per_os(
    monkeypatch: pytest.MonkeyPatch, platform: str, env: dict[str, str], expected: str
) -> None:
    monkeypatch.delenv("SOP_XL_LOG_DIR", raising=False)
    monkeypatch.setattr(sys, "platform", platform)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert ribbon.log_dir() == Path(expected).expanduser()


def test_permission_error_message() -> None:
    text = ribbon.error_message("Freezing the plan", PermissionError("[Errno 13] x.xlsx"), None)
    assert "could not be written" in text and "Close it" in text and "No log file" in text


# --- XlBook: the xlwings seam ---------------------------------------------------------------------
def _filled_template(tmp_path: Path) -> Path:
    """The template with a few rows typed in, one of them wrong."""
    wb = openpyxl.load_workbook(TEMPLATE)
    rows = {
        "Regions": [["EU", "Europe", "Ann"], ["NA", "North America", None]],
        "Items": [
            ["I1", "Widget", "Widgets", "FINISHED", 2.5, 4.0, 10],
            ["I2", "Gadget", "Gadgets", "FINISHED", "three", 9.0, 5],
        ],
        "Forecast": [["EU", "I1", "L1", "master", "v1", 10, 12]],
    }
    for sheet, data in rows.items():
        ws = wb[sheet]
        name = next(iter(ws.tables))
        c1, r1, c2, _ = range_boundaries(ws.tables[name].ref)
        for i, row in enumerate(data, start=r1 + 1):
            for j, v in enumerate(row, start=c1):
                ws.cell(i, j).value = v
        ws.tables[
            name
        ].ref = f"{ws.tables[name].ref.split(':')[0]}:{get_column_letter(c2)}{r1 + len(data)}"
    path = tmp_path / "filled.xlsx"
    wb.save(path)
    return path


def test_xlbook_reads_what_the_file_reader_reads(tmp_path: Path) -> None:
    from sop_xl.io.filebook import FileBook

    path = _filled_template(tmp_path)
    xl, fb = XlBook(FakeBook(path)), FileBook(path)
    for table in schema.INPUT_TABLES:
        assert xl.has_table(table) and fb.has_table(table)
        a, b = xl.read_raw(table), fb.read_raw(table)
        assert (a.header, a.header_row, a.first_col) == (b.header, b.header_row, b.first_col)
        assert [[None if v == "" else v for v in r] for r in a.rows] == [
            [None if v == "" else v for v in r] for r in b.rows
        ], table.name
    assert xl.read_settings() == fb.read_settings()
    items = xl.read_table(schema.REGIONS)
    assert items["region"].tolist() == ["EU", "NA"]


def test_ribbon_and_cli_validate_give_identical_tables(tmp_path: Path) -> None:
    from sop_xl.io.filebook import FileBook

    path = _filled_template(tmp_path)
    via_excel = cycle.validate(XlBook(FakeBook(path)), write=False)
    via_file = cycle.validate(FileBook(path), write=False)
    pd.testing.assert_frame_equal(via_excel.outputs[0].df, via_file.outputs[0].df)
    assert via_excel.summary == via_file.summary and not via_excel.ok
    assert any("three" in m for m in via_excel.outputs[0].df["message"])


def test_xlbook_write_pivots_formats_and_keeps_formula_text(tmp_path: Path) -> None:
    book = FakeBook(TEMPLATE)
    xl = XlBook(book)
    forecast = pd.DataFrame(
        {
            "region": ["EU", "EU", "NA"],
            "item": ["I1", "I1", "I2"],
            "location": ["L1", "L1", "L2"],
            "source": ['=HYPERLINK("http://x")', '=HYPERLINK("http://x")', None],
            "version": ["v1", "v1", "v1"],
            "period": ["2026-12", "2026-11", "2026-11"],
            "quantity": [5.0, 4.0, float("nan")],
        }
    )
    validation = SheetOutput(
        schema.VALIDATION_REPORT,
        pd.DataFrame(
            {
                "severity": ["error"],
                "rule": ["r"],
                "file": [None],
                "sheet": ["Items"],
                "cell": ["E3"],
                "message": ["-5 is negative"],
                "fix": ["Type 5"],
            }
        ),
        title=["Validation of SOP_Planning.xlsm", "1 error(s), 0 warning(s)"],
        column_widths={"message": 70},
    )
    xl.write([SheetOutput(schema.FORECAST, forecast), validation])
    assert book.app.screen_updating is True and book.app.calculation == "automatic"
    ws = book.wb["Forecast"]
    assert ws.tables["tblForecast"].ref == "A1:G3"
    assert [c.value for c in ws[1]][:7] == [*schema.FORECAST.headers, "2026-11", "2026-12"]
    assert [c.value for c in ws[2]][:7] == [
        "EU",
        "I1",
        "L1",
        '\'=HYPERLINK("http://x")',
        "v1",
        4.0,
        5.0,
    ]
    assert [c.value for c in ws[3]][:7] == ["NA", "I2", "L2", None, "v1", None, None]
    assert ws["F2"].number_format == schema.NUMBER_FORMATS[schema.Dtype.QTY]
    assert ws["A2"].number_format == "@"
    v = book.wb["Validation"]
    assert (
        v["A1"].value == "Validation of SOP_Planning.xlsm"
        and v["A2"].value == "1 error(s), 0 warning(s)"
    )
    assert v.tables["tblValidation"].ref == "A4:G5"
    assert v["F5"].value == "'-5 is negative"
    assert v.column_dimensions["F"].width == 70
    # Rewriting with fewer rows shrinks the table and leaves no stale rows behind.
    xl.write([SheetOutput(schema.FORECAST, forecast.iloc[:0])])
    assert ws.tables["tblForecast"].ref == "A1:E2"
    assert ws["A2"].value is None and ws["F2"].value is None


def test_to_grid_of_long_table_keeps_declared_order() -> None:
    names = schema.VALIDATION_REPORT.names
    df = pd.DataFrame({n: [None] for n in reversed(names)}).assign(
        message=["=1+1 looks like a formula"], severity=["info"]
    )
    columns, grid = to_grid(SheetOutput(schema.VALIDATION_REPORT, df))
    assert [c.name for c in columns] == names
    assert grid[0] == schema.VALIDATION_REPORT.headers
    assert grid[1] == ["info", None, None, None, None, "'=1+1 looks like a formula", None]


def test_existing_table_is_rewritten_where_it_is(tmp_path: Path) -> None:
    book = FakeBook(TEMPLATE)
    ws = book.wb.create_sheet("Validation")
    ws.add_table(XlTable(displayName="tblValidation", ref="B2:H9"))
    for r in range(2, 10):
        ws.cell(r, 2).value = f"old {r}"
    df = pd.DataFrame({n: ["x"] for n in schema.VALIDATION_REPORT.names})
    out = SheetOutput(schema.VALIDATION_REPORT, df, title=["A long title", "line 2", "line 3"])
    XlBook(book).write([out])
    assert ws.tables["tblValidation"].ref == "B2:H3"
    assert ws["B2"].value == "Severity" and ws["B3"].value == "x" and ws["B4"].value is None
    assert ws["B1"].value is None  # three title lines do not fit above row 2: not written


def test_progress_text() -> None:
    book = FakeBook(TEMPLATE)
    XlBook(book).progress("Reading Items", 0.25)
    XlBook(book).progress("Writing")
    assert book.app.statuses == ["S&OP: Reading Items (25%)", "S&OP: Writing"]


# --- the user's settings file ---------------------------------------------------------------
def test_user_config_is_written_where_the_vba_looks(tmp_path: Path) -> None:
    from sop_xl.excel import config

    win = config.write_user_config(
        r"C:\Users\m\sop\Scripts\python.exe", platform="win32", home=tmp_path
    )
    assert win == tmp_path / ".sop_xl" / "sop_xl.conf"
    # Another setting survives, the interpreter is replaced, xlwings' "KEY","value" format.
    config.write_user_config(
        r"D:\py\python.exe", platform="win32", home=tmp_path, extra={"SHOW CONSOLE": "False"}
    )
    assert win.read_text(encoding="cp1252").splitlines() == [
        r'"INTERPRETER_WIN","D:\py\python.exe"',
        '"SHOW CONSOLE","False"',
    ]
    mac = config.write_user_config("/opt/py/bin/python3", platform="darwin", home=tmp_path)
    assert mac == tmp_path / "Library/Containers/com.microsoft.Excel/Data/sop_xl.conf"
    assert config.read_user_config(mac) == {"INTERPRETER_MAC": "/opt/py/bin/python3"}
    with pytest.raises(ValueError, match="quotes"):
        config.write_user_config('C:\\"evil', platform="win32", home=tmp_path)


def test_config_file_name_matches_the_vba_project_name() -> None:
    from sop_xl.excel import build, config

    assert f"{build.PROJECT_NAME}.conf" == config.CONFIG_NAME


# --- ribbon path == CLI path on the demo workbook -------------------------------------------------
def test_ribbon_and_cli_give_identical_tables_on_the_demo(small_demo: Path, tmp_path: Path) -> None:
    """The same cycle functions through XlBook (Excel stand-in) and FileBook (the CLI's book):
    same summaries, same output frames, and the same cells in the written tables."""
    from sop_xl.io import reader
    from sop_xl.io.filebook import FileBook

    master = small_demo
    excel_book = FakeBook(master)
    via_xl = XlBook(excel_book)
    cli_out = tmp_path / "cli.xlsx"
    via_file = FileBook(master, out=cli_out)
    steps = ("validate", "variances", "kpis", "supply", "scenarios", "outlook", "scorecard")
    for name in (*steps, "executive_summary"):
        a, b = getattr(cycle, name)(via_xl), getattr(cycle, name)(via_file)
        assert a.summary == b.summary, name
        assert [o.table.name for o in a.outputs] == [o.table.name for o in b.outputs]
        assert a.outputs, name
        for x, y in zip(a.outputs, b.outputs, strict=True):
            pd.testing.assert_frame_equal(x.df, y.df, obj=x.table.name)
            # What the ribbon wrote into the open workbook = what the CLI wrote into the file.
            ws = excel_book.wb[x.sheet]
            written = [[c.value for c in row] for row in ws[ws.tables[x.table.name].ref]]
            raw = reader.read_raw(cli_out, x.sheet, x.table)
            assert _cells(written) == _cells([raw.header, *raw.rows]), x.table.name


def _cells(rows: list[list[Any]]) -> list[list[Any]]:
    """Cell values compared across writers: blanks as None, numbers as float, dates as
    Timestamps, Excel's text-marker apostrophe dropped; all-blank trailing rows ignored."""

    def one(v: Any) -> Any:
        if v is None or v == "":
            return None
        if isinstance(v, str):
            return v[1:] if v.startswith("'") else v
        if isinstance(v, bool):
            return v
        if isinstance(v, int | float):
            return round(float(v), 9)
        if isinstance(v, dt.date):
            return pd.Timestamp(v)
        return v

    out = [[one(v) for v in r] for r in rows]
    while len(out) > 2 and all(v is None for v in out[-1]):
        out.pop()
    return out


def test_the_excel_modules_import_without_excel_or_xlwings() -> None:
    """xlwings is imported only when a macro really runs in Excel (and by the build's child
    process): the ribbon, the seam and the build load anywhere, and never pull xlwings into
    the core."""
    import subprocess

    code = (
        "import sys; import sop_xl.excel.ribbon, sop_xl.excel.xlbook, sop_xl.excel.build, "
        "sop_xl.excel.config, sop_xl.cycle; print('xlwings' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_each_table_crosses_from_excel_once_and_each_output_in_one_transfer(
    small_demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """COM transfers are what a planner waits for in Excel: a whole cycle through XlBook reads
    each table with one 2-D transfer (once per macro run, not once per step), writes each output
    grid with one, titles with one, number formats with one per run of equal formats, and keeps
    screen updating and calculation off while writing (restored after)."""
    from sop_xl.excel.xlbook import format_runs

    reads: Counter[tuple[str, int, int]] = Counter()
    writes: list[tuple[str, int]] = []  # (sheet, rows written in one transfer)
    formats: list[str] = []
    get_value, set_value = FakeRange.value.fget, FakeRange.value.fset
    set_format = FakeRange.number_format.fset

    def read(self: FakeRange) -> Any:
        reads[(self.ws.title, self.row, self.column)] += 1
        return get_value(self)

    def write(self: FakeRange, data: Any) -> None:
        writes.append((self.ws.title, len(data) if isinstance(data, list) else 1))
        assert book.app.screen_updating is False and book.app.calculation == "manual"
        set_value(self, data)

    def fmt(self: FakeRange, value: str) -> None:
        formats.append(self.ws.title)
        set_format(self, value)

    monkeypatch.setattr(FakeRange, "value", property(read, write))
    monkeypatch.setattr(FakeRange, "number_format", property(FakeRange.number_format.fget, fmt))
    book = FakeBook(small_demo)
    xl = XlBook(book)
    outputs = []
    for name in ("validate", "variances", "kpis", "scorecard"):
        outputs += getattr(cycle, name)(xl).outputs
    # Inputs are never written by these steps, so each was read exactly once for all four steps.
    assert reads and max(reads.values()) == 1, reads.most_common(3)
    expected = sum(1 + (1 if out.title else 0) for out in outputs)
    assert len(writes) == expected
    runs = sum(len(format_runs([c.number_format for c in to_grid(o)[0]])) for o in outputs)
    assert len(formats) <= runs
    assert (book.app.screen_updating, book.app.calculation) == (True, "automatic")


def test_format_runs_groups_neighbouring_equal_formats() -> None:
    from sop_xl.excel.xlbook import format_runs

    assert format_runs(["@", "@", "0.0", "@"]) == [(0, 1, "@"), (2, 2, "0.0"), (3, 3, "@")]
    assert format_runs([]) == []


@pytest.mark.parametrize("tag", sorted(ribbon.WRITES))
def test_writing_buttons_refuse_a_frozen_plan(
    tag: str, demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: Path
) -> None:
    snaps = tmp_path / "snapshots"
    shutil.copytree(demo_dir / "snapshots", snaps)
    plan = snaps / "SOP_Plan_2026-11_v01.xlsx"
    plan.chmod(0o644)  # write permission is not what protects a frozen plan
    before = plan.read_bytes()
    book = FakeBook(None, fullname=str(plan))  # the check reads the file on disk, not the sheets
    monkeypatch.setattr(ribbon, "_caller", lambda: book)
    ran: list[str] = []
    monkeypatch.setitem(ribbon.MACROS, tag, lambda b: ran.append(tag) or "done")
    ribbon.dispatch(tag)
    assert ran == []  # the step never started
    text = book.app.alerts[0]["prompt"]
    assert "this is a frozen plan" in text and "Open the master workbook" in text
    assert plan.read_bytes() == before and book.saves == 0


def test_reading_buttons_still_work_on_a_frozen_plan(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch, logs: Path
) -> None:
    book = FakeBook(None, fullname=str(demo_dir / "snapshots" / "SOP_Plan_2026-11_v01.xlsx"))
    monkeypatch.setattr(ribbon, "_caller", lambda: book)
    ribbon.dispatch("about")
    assert book.app.alerts[0]["prompt"].startswith("sop_xl ")


def test_consolidate_button_and_command_share_the_submissions_default(saved_book) -> None:
    assert cycle.submissions_folder(Path(saved_book.fullname)) == (
        Path(saved_book.fullname).parent / "submissions"
    )


def test_ribbon_reads_a_table_from_its_data_source_as_the_cli_does(
    small_demo: Path, tmp_path: Path
) -> None:
    """A table that the DataSources sheet points to a file is read from that file in Excel too.
    Before, XlBook read the table's emptied sheet: on a master whose sales live in Parquet, the
    ribbon's validation found no sales and its KPIs and variances scored none, while the CLI
    scored them all."""
    from sop_xl.demo.large import externalize_sales
    from sop_xl.io.filebook import FileBook

    master = tmp_path / small_demo.name
    shutil.copyfile(small_demo, master)
    sales = FileBook(master).read_table(schema.SALES_ACTUALS)
    externalize_sales(FileBook(master), tmp_path, 2 * len(sales))
    via_xl = XlBook(FakeBook(master))
    via_file = FileBook(master, out=tmp_path / "cli.xlsx")
    assert via_xl.has_table(schema.SALES_ACTUALS)
    read = via_xl.read_table(schema.SALES_ACTUALS)
    assert len(read) == len(sales) > 1000
    pd.testing.assert_frame_equal(read, via_file.read_table(schema.SALES_ACTUALS))
    for name in ("validate", "kpis", "variances"):
        a, b = getattr(cycle, name)(via_xl), getattr(cycle, name)(via_file)
        assert a.summary == b.summary, name
        for x, y in zip(a.outputs, b.outputs, strict=True):
            pd.testing.assert_frame_equal(x.df, y.df, obj=x.table.name)


def test_a_data_source_of_a_never_saved_book_is_a_finding_not_a_guess(tmp_path: Path) -> None:
    """A book that was never saved has no folder, so a relative path on DataSources points
    nowhere: validation says so on the row (the table is then read from its sheet), instead of
    resolving the path against whatever folder Excel runs in."""
    path = _filled_template(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb[schema.DATA_SOURCES.sheet]
    c1, r1, c2, _ = range_boundaries(ws.tables[schema.DATA_SOURCES.name].ref)
    for j, v in enumerate(["Sales Actuals", "data/sales.parquet", "parquet"], start=c1):
        ws.cell(r1 + 1, j).value = v
    ws.tables[
        schema.DATA_SOURCES.name
    ].ref = f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{r1 + 1}"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sales.parquet").write_bytes(b"PAR1")
    wb.save(path)
    book = XlBook(FakeBook(path, fullname="Book1"))
    assert book.sources() == {}
    result = cycle.validate(book, write=False)
    (unsaved,) = [f for f in result.detail if f.rule == "source.unsaved"]
    assert unsaved.where.sheet == "DataSources" and unsaved.where.row == 2
    assert "Save" in unsaved.fix
