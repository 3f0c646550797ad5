"""The standard workbook template, checked with independent readers (openpyxl, python-calamine,
LibreOffice) and with sop_xl's own reader."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import convert
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from sop_xl.io.template import (
    GROUP_COLORS,
    RIBBON_BUTTONS,
    SOP_STEPS,
    START_SHEET,
    build_template,
    list_formula,
    list_name,
    wide_periods,
)
from sop_xl.model import schema
from sop_xl.model.periods import period_range
from sop_xl.model.schema import Dtype, Settings


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "SOP_Planning.xlsx"
    build_template(path)
    return path


@pytest.fixture(scope="module")
def wb(built: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(built)


def expected_headers(table: schema.Table, settings: Settings | None = None) -> list[str]:
    settings = settings or Settings()
    if table.layout == "wide":
        return [*table.headers, *wide_periods(table, settings)]
    return table.headers


def _dv_at(ws, cell: str):
    """The data validations covering ``cell``."""
    return [dv for dv in ws.data_validations.dataValidation if cell in dv.sqref]


def test_sheet_order_is_start_then_input_tables(wb):
    assert wb.sheetnames == [START_SHEET, *(t.sheet for t in schema.INPUT_TABLES)]
    assert wb.active.title == START_SHEET


@pytest.mark.parametrize("table", schema.INPUT_TABLES, ids=lambda t: t.name)
def test_every_input_table_is_an_excel_table_with_declared_headers(wb, table):
    ws = wb[table.sheet]
    assert list(ws.tables) == [table.name]
    xl = ws.tables[table.name]
    headers = expected_headers(table)
    rows = 1 + len(Settings.model_fields) if table is schema.SETTINGS else 2
    assert xl.ref == f"A1:{get_column_letter(len(headers))}{rows}"
    assert [ws.cell(row=1, column=j).value for j in range(1, len(headers) + 1)] == headers
    assert xl.tableStyleInfo.name == "TableStyleMedium2"
    assert ws.sheet_properties.tabColor.rgb.endswith(GROUP_COLORS[table.group])
    frozen = f"{get_column_letter(len(table.columns) + 1)}2" if table.layout == "wide" else "A2"
    assert ws.freeze_panes == frozen


@pytest.mark.parametrize(
    "table", [t for t in schema.INPUT_TABLES if t is not schema.SETTINGS], ids=lambda t: t.name
)
def test_number_formats_and_validation_per_column(wb, table):
    ws = wb[table.sheet]
    columns = list(table.columns)
    if table.layout == "wide":
        columns += [table.value] * len(wide_periods(table, Settings()))
    for j, column in enumerate(columns, start=1):
        letter = get_column_letter(j)
        assert ws[f"{letter}2"].number_format == column.number_format, (table.name, letter)
        assert ws.column_dimensions[letter].number_format == column.number_format
        assert ws.column_dimensions[letter].width >= len(column.header)
        dvs = _dv_at(ws, f"{letter}2")
        deep = _dv_at(ws, f"{letter}5000")
        if column.ref or column.choices or column.min_value is not None:
            assert len(dvs) == 1 and len(deep) == 1, (table.name, column.name)
            dv = dvs[0]
            assert dv.showErrorMessage and dv.error and dv.showInputMessage and dv.prompt
            if column.ref:
                assert dv.type == "list"
                assert dv.formula1 == list_name(column.ref)
            elif column.choices:
                assert dv.type == "list"
                assert dv.formula1 == '"' + ",".join(column.choices) + '"'
            else:
                assert dv.type in ("decimal", "whole")
                assert dv.operator == "greaterThanOrEqual"
                assert float(dv.formula1) == column.min_value
        if column.dtype in (Dtype.DATE, Dtype.DATETIME):
            assert dvs and dvs[0].type == "date"
        if column.dtype == Dtype.PERIOD:
            assert dvs and dvs[0].type == "custom" and "LEN(" in dvs[0].formula1


def test_master_data_lists_are_defined_names_over_the_key_column(wb):
    refs = {c.ref for t in schema.INPUT_TABLES for c in t.columns if c.ref}
    assert refs == {
        "Items.item",
        "Customers.customer",
        "Locations.location",
        "Regions.region",
        "Vendors.vendor",
        "GLAccounts.gl_account",
        "Resources.resource",
    }
    for ref in refs:
        dn = wb.defined_names[list_name(ref)]
        assert dn.attr_text == list_formula(ref)
    assert list_formula("Items.item") == (
        "'Items'!$A$2:INDEX('Items'!$A:$A,MAX(2,COUNTA('Items'!$A:$A)))"
    )


def test_settings_table_holds_defaults_as_typed_values(wb):
    ws = wb["Settings"]
    labels = Settings.labels()
    defaults = Settings()
    for i, (name, field) in enumerate(Settings.model_fields.items(), start=2):
        assert ws.cell(row=i, column=1).value == labels[name]
        value = ws.cell(row=i, column=2).value
        assert value == getattr(defaults, name), name
        assert ws.cell(row=i, column=3).value == (field.description or "")
    cutoff_row = 2 + list(Settings.model_fields).index("forecast_cutoff")
    assert isinstance(ws.cell(row=cutoff_row, column=2).value, dt.datetime)
    assert ws.cell(row=cutoff_row, column=2).number_format == "yyyy-mm-dd hh:mm"
    pct_row = 2 + list(Settings.model_fields).index("variance_threshold_pct")
    assert ws.cell(row=pct_row, column=2).number_format == "0.0%;[Red]-0.0%"
    horizon_row = 2 + list(Settings.model_fields).index("horizon_months")
    (dv,) = _dv_at(ws, f"B{horizon_row}")
    assert (dv.type, dv.formula1, dv.formula2) == ("whole", "1", "60")
    policy_row = 2 + list(Settings.model_fields).index("late_submission_policy")
    (dv,) = _dv_at(ws, f"B{policy_row}")
    assert dv.formula1 == '"accept,reject"'


def test_wide_grid_periods_follow_the_settings(tmp_path):
    settings = Settings(cycle="2026-02", horizon_months=18, fiscal_year_start_month=4)
    assert wide_periods(schema.FORECAST, settings) == period_range("2026-02", 18)
    # fiscal year April..March containing February 2026
    assert wide_periods(schema.FINANCIAL_BUDGET, settings) == period_range("2025-04", 12)
    path = tmp_path / "t.xlsx"
    build_template(path, settings)
    wb = openpyxl.load_workbook(path)
    ws = wb["Forecast"]
    assert [c.value for c in ws[1]][5:] == period_range("2026-02", 18)
    assert ws.tables["tblForecast"].ref == "A1:W2"
    ws = wb["FinancialBudget"]
    assert [c.value for c in ws[1]] == ["G/L Account No.", *period_range("2025-04", 12)]
    assert wb["Settings"]["B4"].value == "2026-02"


def test_start_sheet_explains_steps_buttons_sheets_and_colours(wb):
    ws = wb[START_SHEET]
    text = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    joined = "\n".join(text)
    for step in (
        "Product",
        "Demand review",
        "Supply review",
        "Finance review",
        "Pre-S&OP",
        "Executive S&OP",
    ):
        assert step in joined
    for step in SOP_STEPS:
        assert step[0] in text
    for button, _, command in RIBBON_BUTTONS:
        assert button in text and command in text
    links = {
        c.value: c.hyperlink.location or c.hyperlink.target
        for row in ws.iter_rows()
        for c in row
        if c.hyperlink is not None
    }
    for t in schema.INPUT_TABLES:
        assert t.sheet in links and t.sheet in links[t.sheet]
    assert "Colour legend" in text
    assert wb.properties.title.endswith("S&OP Planning Workbook")


def test_build_is_deterministic_and_atomic(tmp_path, built):
    again = tmp_path / "again.xlsx"
    build_template(again)
    assert again.read_bytes() == built.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.xlsx"]  # no temp file left


def test_committed_workbook_is_current(built):
    committed = Path(__file__).resolve().parents[2] / "workbook" / "SOP_Planning.xlsx"
    assert committed.read_bytes() == built.read_bytes(), (
        "workbook/SOP_Planning.xlsx is stale: run python scripts/build_workbook.py"
    )


def test_calamine_reads_every_sheet(built):
    book = CalamineWorkbook.from_path(str(built))
    assert book.sheet_names == [START_SHEET, *(t.sheet for t in schema.INPUT_TABLES)]
    for table in schema.INPUT_TABLES:
        rows = book.get_sheet_by_name(table.sheet).to_python()
        assert [str(v) for v in rows[0]] == expected_headers(table)
    settings_rows = book.get_sheet_by_name("Settings").to_python()
    assert settings_rows[1][:2] == ["Company", "Demo Company"]


def test_sop_xl_reader_reads_the_empty_template(built):
    from sop_xl.io.filebook import open_book

    book = open_book(built)
    assert book.read_settings() == Settings()
    for table in schema.INPUT_TABLES[1:]:
        df = book.read_table(table)
        assert len(df) == 0
        assert list(df.columns) == [c.name for c in table.long_columns]


@pytest.mark.libreoffice
def test_libreoffice_opens_it_and_the_lists_grow_with_master_data(soffice, built, tmp_path):
    wb = openpyxl.load_workbook(built)
    items = wb["Items"]
    for i, code in enumerate(("HT-1001", "HT-1002", "CL-1001"), start=2):
        items.cell(row=i, column=1, value=code)
    items.tables["tblItems"].ref = "A1:G4"
    probe = wb["Start"]
    probe["H1"] = "=ROWS(lst_Items_item)"
    probe["H2"] = "=INDEX(lst_Items_item,3)"
    probe["H3"] = "=ROWS(lst_GLAccounts_gl_account)"
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    out = convert(soffice, filled, "xlsx", tmp_path / "lo")
    values = openpyxl.load_workbook(out, data_only=True)
    assert values["Start"]["H1"].value == 3
    assert values["Start"]["H2"].value == "CL-1001"
    assert values["Start"]["H3"].value == 1  # empty list: just the first body row
    back = openpyxl.load_workbook(out)
    for table in schema.INPUT_TABLES:
        assert table.name in back[table.sheet].tables
        assert [c.value for c in back[table.sheet][1]] == expected_headers(table)


def test_committed_docs_match_the_schema():
    from sop_xl.docgen import DOC_PATH, workbook_markdown

    text = workbook_markdown()
    assert DOC_PATH.read_text(encoding="utf-8") == text, (
        "docs/workbook.md is stale: run python -m sop_xl.docgen --write"
    )


def test_docs_cover_every_table_column_and_setting():
    from sop_xl.docgen import workbook_markdown

    text = workbook_markdown()
    for table in (*schema.INPUT_TABLES, *schema.OUTPUT_TABLES):
        assert f"`{table.name}`" in text
        for c in table.columns:
            assert f"`{c.name}`" in text and c.header in text, (table.name, c.name)
    for name, label in Settings.labels().items():
        assert f"| {label} | `{name}` |" in text
    # a column row carries its rules: Items' Unit Cost is a non-negative amount
    assert "| Unit Cost | `unit_cost` | amount | yes | Not below 0. |" in text
    assert "| Region | `region` | text | yes | Must exist in Regions (Region). |" in text


def test_committed_macro_workbook_is_built_from_the_committed_template(tmp_path):
    from sop_xl.excel.build import make_xlsm
    from sop_xl.io.template import build_standard_workbook

    committed = Path(__file__).resolve().parents[2] / "workbook"
    path = build_standard_workbook(tmp_path, make_xlsm=make_xlsm)
    assert path == tmp_path / "SOP_Planning.xlsx"
    assert path.read_bytes() == (committed / "SOP_Planning.xlsx").read_bytes()
    xlsm = tmp_path / "SOP_Planning.xlsm"
    assert xlsm.exists()
    assert xlsm.read_bytes() == (committed / "SOP_Planning.xlsm").read_bytes(), (
        "workbook/SOP_Planning.xlsm is stale: run python scripts/build_workbook.py"
    )
    # the macro workbook holds the same tables, and the ribbon
    wb = openpyxl.load_workbook(xlsm, keep_vba=True)
    assert wb.sheetnames == [START_SHEET, *(t.sheet for t in schema.INPUT_TABLES)]
    names = zipfile.ZipFile(xlsm).namelist()
    assert "xl/vbaProject.bin" in names and "customUI/customUI14.xml" in names


def test_a_failed_xlsm_build_leaves_no_partial_workbook(tmp_path):
    """build-workbook left a partial SOP_Planning.xlsx behind when the .xlsm failed (issue 18)."""
    from sop_xl.excel import build
    from sop_xl.io.template import build_standard_workbook

    def broken(xlsx, out, **kw):
        raise build.BuildError("VBA source SOP_Ribbon.bas is missing")

    (tmp_path / "SOP_Planning.xlsx").write_bytes(b"the previous build")
    with pytest.raises(build.BuildError):
        build_standard_workbook(tmp_path, make_xlsm=broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SOP_Planning.xlsx"]
    assert (tmp_path / "SOP_Planning.xlsx").read_bytes() == b"the previous build"


_EP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"


@pytest.mark.parametrize(
    "app",
    [
        f'<ep:Properties xmlns:ep="{_EP}"><ep:Application>x</ep:Application></ep:Properties>',
        f'<a.b:Properties xmlns:a.b="{_EP}"/>',
        f'<Properties xmlns="{_EP}"><Company>Old &amp; Co</Company><AppVersion>3.1</AppVersion>'
        "</Properties>",
        f'<Properties xmlns="{_EP}"><Company/></Properties>',
    ],
    ids=["prefixed", "prefixed-empty", "has-company", "empty-company"],
)
def test_company_property_set_once_in_any_app_part(tmp_path: Path, app: str) -> None:
    """The Company document property is the one given, exactly once, whatever the prefix of
    docProps/app.xml (valid OOXML) and whether it already names a company. Before: nothing set
    in a prefixed part (the literal '</Properties>' was replaced), a second Company after an
    existing one."""
    from defusedxml.ElementTree import fromstring

    from sop_xl.io.template import _normalise_zip

    path = tmp_path / "w.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("docProps/app.xml", '<?xml version="1.0"?>\n' + app)
    _normalise_zip(path, "A&B <Foods>")
    with zipfile.ZipFile(path) as zf:
        root = fromstring(zf.read("docProps/app.xml"))
    assert root.tag == f"{{{_EP}}}Properties"
    # one Company, a child of the root, in the part's namespace (not an unprefixed one in none)
    companies = [(c.tag, c.text) for c in root.iter() if c.tag.endswith("Company")]
    assert companies == [(f"{{{_EP}}}Company", "A&B <Foods>")]
    assert root.find(f"{{{_EP}}}Company") is not None
    other = [c.tag for c in fromstring(app) if not c.tag.endswith("Company")]
    assert [c.tag for c in root if not c.tag.endswith("Company")] == other  # kept
