"""Build the standard S&OP planning workbook from the schema alone.

``build_template(path)`` writes a fresh ``.xlsx`` with openpyxl:

* a ``Start`` sheet: what the workbook is, the monthly S&OP steps (who fills which sheet, which
  ribbon button / ``sop-xl`` command runs each step), a sheet index with links and a colour legend;
* one sheet per input table of :data:`sop_xl.model.schema.INPUT_TABLES`, in that order, each
holding one
  Excel Table (ListObject) named as declared, header in row 1, one empty body row, number formats
  per column type, data validation with plain-language input and error messages, frozen panes and
  a tab colour per group.

Lists from master data (``Column.ref``) use one workbook-level defined name per referenced column,
``lst_<Alias>_<column>`` (e.g. ``lst_Items_item``), and the validation refers to that name. The
name is a dynamic range from the first body row to the last filled row of the key column,
``Items!$A$2:INDEX(Items!$A:$A,MAX(2,COUNTA(Items!$A:$A)))``, so the drop-down lists exactly the
master data rows however many are pasted (a fixed ``$A$2:$A$5000`` would show blanks or miss rows
beyond its end). It is non-volatile and evaluates the same in Excel, LibreOffice and other
spreadsheet applications; a structured reference (``tblItems[Item No.]``) would be tidier in
Excel but LibreOffice drops such names when a header contains ``/`` ("G/L Account No.").

Output is deterministic: the same schema and settings give the same bytes (fixed zip timestamps
and document dates).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table as XlTable
from openpyxl.worksheet.table import TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from sop_xl.errors import SchemaError
from sop_xl.io.filebook import save_new_workbook
from sop_xl.io.xlsx.parts import PREFIX, escape, insert_before_close
from sop_xl.io.xlsx.tables import resize_table
from sop_xl.model import schema
from sop_xl.model.periods import period_range
from sop_xl.model.schema import DECIMAL_DTYPES, NUMBER_FORMATS, Column, Dtype, Settings, Table

START_SHEET = "Start"
TABLE_STYLE = "TableStyleMedium2"
#: Rows below the header that get validation (cheap: one range per rule, not per cell).
VALIDATION_ROWS = 100_000
#: Fixed document date, so that builds are reproducible byte for byte.
BUILD_STAMP = dt.datetime(2026, 1, 1, 0, 0, 0)

#: Tab colour per table group (Excel theme-like colours).
GROUP_COLORS: dict[str, str] = {
    "Start": "1F3864",
    "Settings": "7F7F7F",
    "Master data": "4472C4",
    "Budgets": "70AD47",
    "Demand": "ED7D31",
    "Operations": "FFC000",
    "Targets": "7030A0",
    "Outputs": "A5A5A5",
}

#: Input cells: blue font on a pale yellow fill (the finance modelling convention).
INPUT_FONT = Font(color="0000FF")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
CALC_FONT = Font(color="000000")
CALC_FILL = PatternFill("solid", fgColor="EDEDED")
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
TITLE_FONT = Font(bold=True, size=18, color="1F3864")
H2_FONT = Font(bold=True, size=13, color="1F3864")
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")

#: The S&OP monthly steps (seed 000): step, what happens, who, sheets, ribbon button, command.
SOP_STEPS: tuple[tuple[str, str, str, str, str, str], ...] = (
    (
        "1. Product / previous period review",
        "Review last month's performance against the plan and corporate targets (balanced "
        "scorecard) and follow up the actions agreed in the previous meeting.",
        "Demand planner, Operations leader",
        "Targets, Actions (outputs: KPIs, Scorecard)",
        "Compute variances & KPIs; Build scorecard",
        "sop-xl kpis BOOK; sop-xl scorecard BOOK",
    ),
    (
        "2. Demand review",
        "Collect the regional forecasts, check them and consolidate them into one demand plan; "
        "compare with sales actuals and the sales budget.",
        "Demand planner, Sales team, Sales and marketing leader",
        "Regions, Items, Customers, Forecast, SalesActuals, SalesBudget",
        "Validate inputs; Consolidate regional forecasts",
        "sop-xl validate BOOK; sop-xl consolidate BOOK FILES...",
    ),
    (
        "3. Supply review",
        "Check that the plan is feasible: inventory, production schedule attainment, vendor "
        "on-time delivery, customer fill rate and on-time delivery.",
        "Operations leader, Supply planning",
        "Locations, Vendors, Inventory, ProductionOrders, PurchaseReceipts, SalesOrderLines",
        "Compute variances & KPIs",
        "sop-xl kpis BOOK",
    ),
    (
        "4. Finance review",
        "Map the sales budget to G/L accounts through the General Posting Setup and compare it "
        "with the financial budget and with actuals; check the plan supports the financial goals.",
        "Finance",
        "GLAccounts, PostingSetup, FinancialBudget, SalesBudget",
        "Compute variances & KPIs",
        "sop-xl kpis BOOK",
    ),
    (
        "5. Pre-S&OP",
        "All functions agree the recommendations, open issues and decisions to escalate; update "
        "the Actions list.",
        "Demand planner, Operations leader, Finance",
        "Actions, Targets",
        "Build scorecard",
        "sop-xl scorecard BOOK",
    ),
    (
        "6. Executive S&OP",
        "Executives decide; the agreed plan is frozen as a read-only, versioned snapshot; later "
        "versions can be compared with it.",
        "Executive management",
        "(snapshot files in snapshots/)",
        "Freeze plan; Compare versions",
        "sop-xl freeze BOOK; sop-xl diff OLD NEW; sop-xl verify DIR",
    ),
)

#: Ribbon buttons (S&OP tab) and the equivalent terminal commands.
RIBBON_BUTTONS: tuple[tuple[str, str, str], ...] = (
    (
        "Validate inputs",
        "Checks every input table (types, required values, keys, master data) and lists the "
        "findings on the Validation sheet.",
        "sop-xl validate BOOK",
    ),
    (
        "Consolidate regional forecasts",
        "Reads the regional forecast workbooks, validates them and writes one consensus Forecast.",
        "sop-xl consolidate BOOK FILES...",
    ),
    (
        "Compute variances & KPIs",
        "Budget vs budget, actual vs budget and forecast, and every KPI of the cycle.",
        "sop-xl kpis BOOK",
    ),
    (
        "Build scorecard",
        "Balanced scorecard: each KPI against its target, red/amber/green, trend and owner.",
        "sop-xl scorecard BOOK",
    ),
    (
        "Freeze plan",
        "Saves a locked, values-only copy SOP_Plan_<cycle>_v<N>.xlsx and records it in the ledger.",
        "sop-xl freeze BOOK",
    ),
    (
        "Compare versions",
        "Lists what changed between two frozen plan versions.",
        "sop-xl diff OLD NEW",
    ),
)

#: Who fills each input group.
GROUP_OWNERS: dict[str, str] = {
    "Settings": "Demand planner (S&OP coordinator)",
    "Master data": "ERP export (master data owner)",
    "Budgets": "Finance",
    "Demand": "Demand planner / Sales team (actuals: ERP export)",
    "Operations": "Supply planning (ERP export)",
    "Targets": "Executive management / S&OP coordinator",
}

_DEFAULT_WIDTH: dict[Dtype, float] = {
    Dtype.TEXT: 14,
    Dtype.INT: 10,
    Dtype.QTY: 12,
    Dtype.MONEY: 14,
    Dtype.NUMBER: 12,
    Dtype.PCT: 10,
    Dtype.DATE: 12,
    Dtype.DATETIME: 17,
    Dtype.PERIOD: 10,
}

#: Data validation formula that accepts 'YYYY-MM' text only (``{c}`` = first body cell).
PERIOD_FORMULA = (
    'AND(LEN({c})=7,MID({c},5,1)="-",ISNUMBER(VALUE(LEFT({c},4))),'
    "ISNUMBER(VALUE(RIGHT({c},2))),VALUE(RIGHT({c},2))>=1,VALUE(RIGHT({c},2))<=12)"
)


# --- small helpers -----------------------------------------------------------------------------
def list_name(ref: str) -> str:
    """Defined name of a master-data list: ``'Items.item'`` -> ``'lst_Items_item'``."""
    alias, column = ref.split(".")
    return f"lst_{alias}_{column}"


def list_formula(ref: str) -> str:
    """Formula of the defined name behind a master-data list.

    ``'Items.item'`` -> ``Items!$A$2:INDEX(Items!$A:$A,MAX(2,COUNTA(Items!$A:$A)))``: from the
    first body row down to the last filled row of the key column, so the list grows and shrinks
    with the master data table and shows no blanks.
    """
    alias, column = ref.split(".")
    tbl = schema.table(alias)
    letter = get_column_letter(tbl.names.index(column) + 1)
    sheet = quote_sheetname(tbl.sheet)
    whole = f"{sheet}!${letter}:${letter}"
    return f"{sheet}!${letter}$2:INDEX({whole},MAX(2,COUNTA({whole})))"


def wide_periods(table: Table, settings: Settings) -> list[str]:
    """Period headers of a wide planning grid.

    Forecast: ``horizon_months`` months from the cycle on. Financial budget (and any other wide
    table): the 12 months of the fiscal year that contains the cycle.
    """
    if table.name == schema.FORECAST.name:
        return period_range(settings.cycle, settings.horizon_months)
    year, month = int(settings.cycle[:4]), int(settings.cycle[5:7])
    start = settings.fiscal_year_start_month
    fy_year = year if month >= start else year - 1
    return period_range(f"{fy_year:04d}-{start:02d}", 12)


def _width(column: Column) -> float:
    if column.width is not None:
        return column.width
    # +4: room for the table's filter button
    return float(min(50, max(_DEFAULT_WIDTH[column.dtype], len(column.header) + 4)))


def _trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rules_text(column: Column, *, with_kind: bool = True) -> str:
    """Plain-language rules of a column (input messages, docs).

    ``with_kind=False`` leaves out "Required."/"Optional." and the type sentence (the docs show
    them in their own columns).
    """
    parts: list[str] = []
    if with_kind:
        parts.append("Required." if column.required else "Optional.")
        parts.append(
            {
                Dtype.TEXT: "Text.",
                Dtype.INT: "Whole number.",
                Dtype.QTY: "Quantity in units.",
                Dtype.MONEY: "Amount.",
                Dtype.NUMBER: "Number.",
                Dtype.PCT: "Percentage (0.95 = 95%).",
                Dtype.DATE: "Date.",
                Dtype.DATETIME: "Date and time.",
                Dtype.PERIOD: "Month as YYYY-MM text, e.g. 2026-11.",
            }[column.dtype]
        )
    elif column.dtype == Dtype.PERIOD:
        parts.append("YYYY-MM text.")
    if column.min_value is not None:
        parts.append(f"Not below {column.min_value:g}.")
    if column.choices:
        parts.append("One of: " + ", ".join(column.choices) + ".")
    if column.ref:
        alias, name = column.ref.split(".")
        ref_table = schema.table(alias)
        parts.append(f"Must exist in {ref_table.sheet} ({ref_table.column(name).header}).")
    return " ".join(parts)


def _dv_for(column: Column, first_cell: str) -> DataValidation | None:
    """The data validation rule of a column (None for free text)."""
    title = _trim(column.header, 32)
    prompt = _trim(" ".join(p for p in (column.doc, rules_text(column)) if p), 255)
    if column.choices:
        choices = ",".join(column.choices)
        if any("," in c for c in column.choices) or len(choices) > 250:
            raise SchemaError(f"choices of {column.name} cannot be an inline list: {choices!r}")
        dv = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
        error = f"Pick one of: {', '.join(column.choices)}."
    elif column.ref:
        alias, name = column.ref.split(".")
        ref_table = schema.table(alias)
        dv = DataValidation(type="list", formula1=list_name(column.ref), allow_blank=True)
        error = (
            f"This {ref_table.column(name).header} is not on the {ref_table.sheet} sheet. "
            f"Add it there first, or pick one from the list."
        )
    elif column.dtype == Dtype.PERIOD:
        dv = DataValidation(
            type="custom", formula1=PERIOD_FORMULA.format(c=first_cell), allow_blank=True
        )
        error = "Type the month as text YYYY-MM, e.g. 2026-11."
    elif column.dtype in (Dtype.DATE, Dtype.DATETIME):
        dv = DataValidation(
            type="date",
            operator="between",
            formula1="DATE(1990,1,1)",
            formula2="DATE(2100,12,31)",
            allow_blank=True,
        )
        error = "Type a date, e.g. 2026-11-30."
    elif column.dtype == Dtype.INT:
        if column.min_value is not None:
            dv = DataValidation(
                type="whole",
                operator="greaterThanOrEqual",
                formula1=f"{column.min_value:g}",
                allow_blank=True,
            )
            error = f"Type a whole number of at least {column.min_value:g}."
        else:
            dv = DataValidation(
                type="whole",
                operator="between",
                formula1="-2147483648",
                formula2="2147483647",
                allow_blank=True,
            )
            error = "Type a whole number."
    elif column.dtype in DECIMAL_DTYPES:
        if column.min_value is not None:
            dv = DataValidation(
                type="decimal",
                operator="greaterThanOrEqual",
                formula1=f"{column.min_value:g}",
                allow_blank=True,
            )
            error = f"Type a number of at least {column.min_value:g} (no text, no negatives)."
        else:
            dv = DataValidation(
                type="decimal",
                operator="between",
                formula1="-1E+15",
                formula2="1E+15",
                allow_blank=True,
            )
            error = "Type a number (no text)."
    else:
        return None
    dv.promptTitle = title
    dv.prompt = prompt
    dv.showInputMessage = True
    dv.errorTitle = _trim(f"Invalid {column.header}", 32)
    dv.error = _trim(error, 225)
    dv.errorStyle = "stop"
    dv.showErrorMessage = True
    return dv


def _sheet_columns(table: Table, settings: Settings) -> list[Column]:
    """The Excel columns of a table: id columns, then one value column per period if wide."""
    if table.layout != "wide":
        return list(table.columns)
    assert table.value is not None
    periods = wide_periods(table, settings)
    value = table.value
    return [
        *table.columns,
        *(
            value.model_copy(update={"header": p, "doc": f"{value.doc or value.header}, {p}."})
            for p in periods
        ),
    ]


# --- sheets ------------------------------------------------------------------------------------
def _write_table_sheet(ws: Worksheet, table: Table, settings: Settings) -> None:
    """One input table: header row 1, one empty body row, formats, validation, panes."""
    columns = _sheet_columns(table, settings)
    ws.sheet_properties.tabColor = GROUP_COLORS.get(table.group, "A5A5A5")
    last = get_column_letter(len(columns))
    for j, column in enumerate(columns, start=1):
        letter = get_column_letter(j)
        head = ws.cell(row=1, column=j, value=column.header)
        head.data_type = "s"
        head.font = HEADER_FONT
        head.fill = HEADER_FILL
        head.alignment = Alignment(vertical="center")
        body = ws.cell(row=2, column=j)
        body.number_format = column.number_format
        body.font = INPUT_FONT
        # Column style: every new cell typed or pasted below gets the same format.
        dim = ws.column_dimensions[letter]
        dim.width = _width(column)
        dim.number_format = column.number_format
        dim.font = INPUT_FONT
        dv = _dv_for(column, f"{letter}2")
        if dv is not None:
            dv.add(f"{letter}2:{letter}{VALIDATION_ROWS + 1}")
            ws.add_data_validation(dv)
    ws.row_dimensions[1].height = 20
    xl = XlTable(displayName=table.name, name=table.name, ref=f"A1:{last}2")
    xl.tableStyleInfo = TableStyleInfo(
        name=TABLE_STYLE, showRowStripes=True, showColumnStripes=False
    )
    ws.add_table(xl)
    # Freeze the header; wide grids also keep their id columns in view.
    frozen = len(table.columns) + 1 if table.layout == "wide" else 1
    ws.freeze_panes = f"{get_column_letter(frozen)}2"


def _settings_rows(settings: Settings) -> list[tuple[str, object, str, str]]:
    """(label, value, description, number format) per Settings field."""
    labels = Settings.labels()
    rows = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, dt.datetime):
            fmt = NUMBER_FORMATS[Dtype.DATETIME]
        elif isinstance(value, bool | str):
            fmt = "@"
        elif isinstance(value, int):
            fmt = "0"
        elif name.endswith("_pct"):
            fmt = NUMBER_FORMATS[Dtype.PCT]
        elif isinstance(value, float):
            fmt = "#,##0.00"
        else:
            fmt = "General"
        rows.append((labels[name], value, field.description or "", fmt))
    return rows


def _settings_dv(name: str, cell: str) -> DataValidation | None:
    """Validation of one Settings value cell, derived from the pydantic field constraints."""
    field = Settings.model_fields[name]
    lo = hi = None
    pattern = None
    for m in field.metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
        pattern = getattr(m, "pattern", pattern)
    annotation = field.annotation
    choices = getattr(annotation, "__args__", None) if "Literal" in str(annotation) else None
    if choices:
        dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"')
        error = "Pick one of: " + ", ".join(choices) + "."
    elif pattern is not None:
        dv = DataValidation(type="custom", formula1=PERIOD_FORMULA.format(c=cell))
        error = "Type the month as text YYYY-MM, e.g. 2026-11."
    elif annotation is dt.datetime:
        dv = DataValidation(
            type="date", operator="between", formula1="DATE(1990,1,1)", formula2="DATE(2100,12,31)"
        )
        error = "Type a date and time, e.g. 2026-11-10 17:00."
    elif annotation in (int, float):
        kind = "whole" if annotation is int else "decimal"
        if lo is not None and hi is not None:
            dv = DataValidation(
                type=kind, operator="between", formula1=f"{lo:g}", formula2=f"{hi:g}"
            )
            error = f"Type a {'whole ' if kind == 'whole' else ''}number from {lo:g} to {hi:g}."
        elif lo is not None:
            dv = DataValidation(type=kind, operator="greaterThanOrEqual", formula1=f"{lo:g}")
            error = f"Type a {'whole ' if kind == 'whole' else ''}number of at least {lo:g}."
        else:
            return None
    else:
        return None
    dv.allow_blank = False
    dv.promptTitle = _trim(Settings.labels()[name], 32)
    dv.prompt = _trim(field.description or "", 255)
    dv.showInputMessage = True
    dv.errorTitle = "Invalid setting"
    dv.error = _trim(error, 225)
    dv.showErrorMessage = True
    dv.add(cell)
    return dv


def _write_settings_sheet(ws: Worksheet, settings: Settings) -> None:
    table = schema.SETTINGS
    _write_table_sheet(ws, table, settings)
    # The generic sheet formats Value as text; settings hold numbers and dates, so reset it.
    ws.column_dimensions["B"].number_format = "General"
    ws.column_dimensions["A"].width = 38
    ws.column_dimensions["B"].width = 20
    ws.column_dimensions["C"].width = 80
    ws.data_validations.dataValidation = []  # per-row rules instead of per-column ones
    rows = _settings_rows(settings)
    names = list(Settings.model_fields)
    for i, (label, value, description, fmt) in enumerate(rows, start=2):
        a = ws.cell(row=i, column=1, value=label)
        a.data_type = "s"
        a.font = CALC_FONT
        a.fill = CALC_FILL
        b = ws.cell(row=i, column=2, value=value)
        b.number_format = fmt
        b.font = INPUT_FONT
        b.fill = INPUT_FILL
        b.alignment = Alignment(horizontal="left")
        c = ws.cell(row=i, column=3, value=description)
        c.data_type = "s"
        c.font = CALC_FONT
        dv = _settings_dv(names[i - 2], f"B{i}")
        if dv is not None:
            ws.add_data_validation(dv)
    resize_table(ws, table.name, f"A1:C{len(rows) + 1}")


def _write_rows(ws: Worksheet, start: int, rows: Iterable[Iterable[object]], header: bool) -> int:
    """Write a small boxed grid; returns the next free row."""
    r = start
    for i, row in enumerate(rows):
        lines = 1
        for j, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=j, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
                width = ws.column_dimensions[get_column_letter(j)].width or 10
                lines = max(lines, math.ceil(len(value) * 1.1 / width))
            cell.alignment = WRAP
            cell.border = BOX
            if header and i == 0:
                cell.font = HEADER_FONT
                cell.fill = HEADER_FILL
        # wrapped text needs a row height: neither openpyxl nor every reader fits it on open
        ws.row_dimensions[r].height = 15 * lines + 2
        r += 1
    return r


def _write_start_sheet(ws: Worksheet, settings: Settings) -> None:
    """Cover and instructions."""
    ws.sheet_properties.tabColor = GROUP_COLORS["Start"]
    ws.sheet_view.showGridLines = False
    for letter, width in zip("ABCDEF", (34, 60, 30, 40, 30, 36), strict=True):
        ws.column_dimensions[letter].width = width
    ws["A1"] = f"{settings.company} — S&OP Planning Workbook"
    ws["A1"].font = TITLE_FONT
    ws["A2"] = (
        f"Cycle {settings.cycle} · horizon {settings.horizon_months} months · "
        f"amounts in {settings.currency}"
    )
    ws["A2"].font = Font(italic=True, color="595959")
    ws["A4"] = (
        "This workbook holds every input of the monthly Sales & Operations Planning (S&OP) cycle: "
        "master data, budgets, the consensus forecast, actuals, operations data, KPI targets and "
        "actions. Each input is an Excel Table on its own sheet. Paste ERP exports or type into "
        "the tables (they grow automatically); the S&OP ribbon tab, or the sop-xl command on a "
        "terminal, validates the inputs and writes variances, KPIs and the balanced scorecard to "
        "output sheets. Do not rename sheets, tables or column headers."
    )
    ws["A4"].alignment = WRAP
    ws.merge_cells("A4:F4")
    ws.row_dimensions[4].height = 62

    r = 6
    ws.cell(row=r, column=1, value="The monthly S&OP cycle").font = H2_FONT
    r = _write_rows(
        ws,
        r + 1,
        [
            ("Step", "What happens", "Who", "Sheets", "Ribbon button (S&OP tab)", "Command"),
            *SOP_STEPS,
        ],
        header=True,
    )

    r += 1
    ws.cell(row=r, column=1, value="Ribbon buttons and commands").font = H2_FONT
    r = _write_rows(
        ws,
        r + 1,
        [("Button", "What it does", "Command (terminal)"), *RIBBON_BUTTONS],
        header=True,
    )
    ws.cell(
        row=r,
        column=1,
        value=(
            "BOOK is this workbook's file; run `sop-xl --help` for every option. "
            "`sop-xl demo` builds a filled demo copy."
        ),
    ).font = Font(italic=True, color="595959")

    r += 2
    ws.cell(row=r, column=1, value="Sheets").font = H2_FONT
    rows = [("Sheet", "What it holds", "Filled by", "Group")]
    rows += [
        (t.sheet, f"{t.title}: {t.doc}", GROUP_OWNERS.get(t.group, ""), t.group)
        for t in schema.INPUT_TABLES
    ]
    first = r + 1
    r = _write_rows(ws, first, rows, header=True)
    for k, t in enumerate(schema.INPUT_TABLES, start=1):
        cell = ws.cell(row=first + k, column=1)
        cell.hyperlink = f"#{quote_sheetname(t.sheet)}!A1"
        cell.font = Font(color="0563C1", underline="single")
        group_cell = ws.cell(row=first + k, column=4)
        group_cell.fill = PatternFill("solid", fgColor=GROUP_COLORS.get(t.group, "A5A5A5"))
        group_cell.font = Font(bold=True, color="FFFFFF")

    r += 1
    ws.cell(row=r, column=1, value="Colour legend").font = H2_FONT
    legend = [
        ("Blue font on pale yellow", "Input: you type or paste it."),
        ("Black font on grey", "Label or calculated by sop_xl: do not type here."),
        ("Dark blue header", "Column header of an Excel Table: do not rename."),
        ("Green / amber / red cells", "KPI status against its target on output sheets."),
    ]
    r += 1
    for k, (sample, meaning) in enumerate(legend):
        a = ws.cell(row=r + k, column=1, value=sample)
        a.border = BOX
        ws.cell(row=r + k, column=2, value=meaning).border = BOX
        if k == 0:
            a.font, a.fill = INPUT_FONT, INPUT_FILL
        elif k == 1:
            a.font, a.fill = CALC_FONT, CALC_FILL
        elif k == 2:
            a.font, a.fill = HEADER_FONT, HEADER_FILL
        else:
            a.fill = PatternFill("solid", fgColor="C6EFCE")
    r += len(legend) + 1
    ws.cell(
        row=r,
        column=1,
        value=(
            "Tip: select a cell in any table to see what belongs there (input message); a "
            "drop-down lists the master data. Periods are text 'YYYY-MM'; dates are real dates."
        ),
    ).font = Font(italic=True, color="595959")
    ws.freeze_panes = "A3"


# --- workbook ----------------------------------------------------------------------------------
def _add_list_names(wb: Workbook) -> None:
    """One defined name per master-data column referenced by a ``ref`` column."""
    refs = sorted({c.ref for t in schema.INPUT_TABLES for c in t.columns if c.ref})
    for ref in refs:
        name = list_name(ref)
        wb.defined_names[name] = DefinedName(name, attr_text=list_formula(ref))


def _add_native_functions(wb: Workbook) -> None:
    """The KPI functions as named LAMBDAs (``SOP.WMAPE`` ...) with a Name Manager description:
    the same numbers as the ``=SOP_...`` functions in Excel 365 on Windows, Mac and the web,
    with no add-in (:mod:`sop_xl.kpi.native`)."""
    from sop_xl.kpi.native import NATIVE

    for nf in NATIVE.values():
        if nf.body:
            wb.defined_names[nf.name] = DefinedName(
                nf.name, comment=nf.description, attr_text=nf.lambda_stored()
            )


#: a ``<Company>`` element of ``docProps/app.xml`` under any prefix (group 1), empty or not
_COMPANY_RE = re.compile(rf"<({PREFIX})Company(?=[\s/>])[^>]*?(?:/>|>.*?</\1Company\s*>)", re.S)


def _set_company(app_xml: str, company: str) -> str:
    """``docProps/app.xml`` naming ``company``: its ``<Company>`` replaced, or one added in the
    root's prefix (``<ep:Properties>`` is valid OOXML)."""
    m = _COMPANY_RE.search(app_xml)
    if m is None:
        return insert_before_close(app_xml, "Properties", f"<Company>{escape(company)}</Company>")
    p = m.group(1)
    el = f"<{p}Company>{escape(company)}</{p}Company>"
    return app_xml[: m.start()] + el + app_xml[m.end() :]


def _normalise_zip(path: Path, company: str) -> None:
    """Fixed timestamps (reproducible bytes) and the Company document property, rewriting
    ``path`` in place (it is the temp file of an atomic save, never the user's file)."""
    stamp = BUILD_STAMP.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as zin:
        parts = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts:
            if name == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    lambda m: m.group(1) + stamp + m.group(3),
                    text,
                )
                data = text.encode("utf-8")
            elif name == "docProps/app.xml":
                data = _set_company(data.decode("utf-8"), company).encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=BUILD_STAMP.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zout.writestr(info, data)


#: The .xlsm build step: ``(xlsx, xlsm) -> None`` (:func:`sop_xl.excel.build.make_xlsm`).
MakeXlsm = Callable[[Path, Path], object]


def build_template(path: Path, settings: Settings | None = None) -> None:
    """Write the standard, empty S&OP planning workbook to ``path`` (atomically).

    Sheets: ``Start`` then one sheet per :data:`sop_xl.model.schema.INPUT_TABLES` entry, in order.
    ``settings`` (defaults: :class:`Settings`) fills the Settings table and fixes the period
    columns of the wide grids.
    """
    settings = settings or Settings()
    path = Path(path)
    wb = Workbook()
    start = wb.active
    start.title = START_SHEET
    _write_start_sheet(start, settings)
    for table in schema.INPUT_TABLES:
        ws = wb.create_sheet(table.sheet)
        if table.name == schema.SETTINGS.name:
            _write_settings_sheet(ws, settings)
        else:
            _write_table_sheet(ws, table, settings)
    _add_list_names(wb)
    _add_native_functions(wb)
    wb.active = 0
    props = wb.properties
    props.title = f"{settings.company} — S&OP Planning Workbook"
    props.subject = f"Sales & Operations Planning, cycle {settings.cycle}"
    props.creator = "sop_xl"
    props.lastModifiedBy = "sop_xl"
    props.keywords = "S&OP; sales and operations planning; sop_xl"
    props.category = "Planning"
    props.description = "Standard S&OP planning workbook generated by sop_xl from its schema."
    props.created = BUILD_STAMP
    props.modified = BUILD_STAMP

    save_new_workbook(wb, path, finish=lambda tmp: _normalise_zip(tmp, settings.company))


def build_standard_workbook(
    out_dir: Path = Path("workbook"), *, make_xlsm: MakeXlsm | None = None
) -> Path:
    """Build ``out_dir/SOP_Planning.xlsx`` and, with ``make_xlsm``, the ``.xlsm`` from it.

    ``make_xlsm(xlsx, xlsm)`` is :func:`sop_xl.excel.build.make_xlsm`, passed in by the caller
    (the CLI, ``scripts/build_workbook.py``): the core never imports ``sop_xl.excel``, and a
    missing Excel build is the caller's clear error, never a silently skipped file.

    All or nothing: both are built in a scratch folder inside ``out_dir`` and moved into place
    only when both succeeded, so a failed ``.xlsm`` build leaves no partial ``.xlsx`` behind (and
    earlier files as they were). Returns the path of the ``.xlsx``.
    """
    import shutil
    import tempfile

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".build-", dir=out_dir))
    try:
        staged = stage / "SOP_Planning.xlsx"
        build_template(staged)
        if make_xlsm is not None:
            make_xlsm(staged, stage / "SOP_Planning.xlsm")
        for built in sorted(stage.glob("SOP_Planning.xls*")):
            os.replace(built, out_dir / built.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out_dir / "SOP_Planning.xlsx"
