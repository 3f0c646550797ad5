"""The regional submission workbook: write a region's template, read a submission back.

A demand planning lead sends each region a workbook made from the master
(:func:`write_regional_template`):

- ``Forecast`` sheet: a grid with one row per item x location of the region and one column per
  horizon month (``YYYY-MM``). Only the yellow quantity cells are unlocked; everything else is
  protected (sheet protection, no password: it prevents accidents, it is not security).
- ``History`` sheet: the region's posted sales of the 12 closed months before the cycle, for
  context (protected).
- ``Stamp`` sheet: region, cycle, horizon and template version (protected), plus the three cells
  the submitter fills: Submitted By, Submission Version and Submitted At. The same stamp is also
  written as custom document properties (File > Info > Properties in Excel).

:func:`read_submission` reads a returned file back *after*
:func:`sop_xl.io.guard.check_workbook_file`
has vetted it: the stamp, the grid as a long frame of raw cell values with their Excel cell
references, and the structural facts a reader would hide (error values such as ``#REF!``, merged
cells, hidden rows and columns), which it finds in the sheet XML with bounded regular-expression
scans. It never evaluates anything: formulas are not recalculated, macros are never run, and text
such as ``=HYPERLINK(...)`` stays text. The rules that judge a submission live in
:mod:`sop_xl.consolidate.step`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import posixpath
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from defusedxml.ElementTree import fromstring

from sop_xl.errors import Finding, Location, StepError
from sop_xl.io.filebook import save_new_workbook
from sop_xl.io.guard import (
    ANY_PREFIX,
    TAG_ATTRS,
    CellPlaces,
    FileInfo,
    check_workbook_file,
    hidden_rows,
)
from sop_xl.io.reader import error_cells, open_calamine, sheet_rows, sheet_xml
from sop_xl.io.xlsx import refs
from sop_xl.io.xlsx.parts import tag_attrs, tag_b
from sop_xl.model import schema
from sop_xl.model.book import Book
from sop_xl.model.periods import add_months, period_range, to_period
from sop_xl.model.schema import REGIONAL_HISTORY, REGIONAL_SUBMISSION, SUBMISSION_STAMP, Settings

GRID = REGIONAL_SUBMISSION
#: Title lines above each table of the submission workbook; the header is on this row.
HEADER_ROW = 4
#: How far down the reader looks for a moved header row.
HEADER_SCAN_ROWS = 40
HISTORY_MONTHS = 12

#: Stamp fields: engine key -> label in the Stamp sheet (and ``sop_xl.<key>`` doc property).
STAMP_FIELDS: dict[str, str] = {
    "region": "Region",
    "region_name": "Region Name",
    "cycle": "Cycle",
    "horizon_start": "Horizon Start",
    "horizon_months": "Horizon (months)",
    "template_version": "Template Version",
    "generated_at": "Generated At",
    "generated_from": "Generated From",
    "version": "Submission Version",
    "submitted_by": "Submitted By",
    "submitted_at": "Submitted At",
}
#: Stamp cells the submitter fills in (unlocked).
STAMP_INPUTS = ("version", "submitted_by", "submitted_at")

INPUT_FILL = "FFF2CC"  # light yellow: "type here"
HEADER_FILL = "1F4E78"
LOCKED_FILL = "F2F2F2"


# --------------------------------------------------------------------------------------------
# Master data the regional workflow needs
# --------------------------------------------------------------------------------------------
@dataclass
class MasterData:
    """What the regional workflow reads from the master workbook, once."""

    settings: Settings
    regions: pd.DataFrame  # region, name, planner
    items: pd.DataFrame  # item, description, ...
    locations: pd.DataFrame  # location, name, region
    forecast: pd.DataFrame  # long: region, item, location, source, version, period, quantity
    #: long SalesActuals, or None when the master has none / it was not read
    actuals: pd.DataFrame | None

    @cached_property
    def assortment(self) -> pd.DataFrame:
        """Region x item x location pairs each region plans (its assortment); computed on first
        use (an empty consolidation never needs it)."""
        return _assortment(self)

    @property
    def horizon(self) -> list[str]:
        return period_range(self.settings.cycle, self.settings.horizon_months)

    @property
    def history_periods(self) -> list[str]:
        return period_range(add_months(self.settings.cycle, -HISTORY_MONTHS), HISTORY_MONTHS)

    @property
    def region_codes(self) -> list[str]:
        return [str(r) for r in self.regions["region"]]

    def location_region(self) -> pd.Series:
        """location -> region (index: location code)."""
        loc = self.locations.dropna(subset=["location"])
        return pd.Series(loc["region"].astype(object).values, index=loc["location"].astype(str))

    def region_pairs(self, region: str) -> pd.DataFrame:
        """The item x location rows a region is expected to submit (sorted)."""
        a = self.assortment
        return (
            a.loc[a["region"] == region, ["item", "location"]]
            .sort_values(["item", "location"])
            .reset_index(drop=True)
        )


def text_codes(s: pd.Series) -> pd.Series:
    """Codes as clean text ('1000', not '1000.0'); missing stays None."""
    if len(s) and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        return s  # all text already (the reader strips and types text cells)
    return s.map(_code, na_action="ignore").astype(object)


def _code(v: object) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, float):
        if np.isnan(v):
            return None
        if v.is_integer():
            return str(int(v))
    return str(v).strip() or None


def load_master(book: Book, *, history: bool = True) -> MasterData:
    """Read Settings, Regions, Items, Locations, Forecast and, when ``history`` (or when a region
    has no Forecast rows to define its assortment), SalesActuals."""
    settings = book.read_settings()
    regions = book.read_table(schema.REGIONS)
    items = book.read_table(schema.ITEMS)
    locations = book.read_table(schema.LOCATIONS)
    for df, cols in ((regions, ["region"]), (items, ["item"]), (locations, ["location", "region"])):
        for c in cols:
            df[c] = text_codes(df[c])
    if book.has_table(schema.FORECAST):
        forecast = book.read_table(schema.FORECAST)
    else:
        forecast = pd.DataFrame(
            {c.name: pd.Series(dtype=object) for c in schema.FORECAST.long_columns}
        )
        forecast["quantity"] = forecast["quantity"].astype(float)
    for c in ("region", "item", "location"):
        forecast[c] = text_codes(forecast[c])
    needs_history = history or not set(regions["region"]) <= set(forecast["region"])
    actuals = (
        book.read_table(schema.SALES_ACTUALS)
        if needs_history and book.has_table(schema.SALES_ACTUALS)
        else None
    )
    if actuals is not None:
        for c in ("item", "location"):
            actuals[c] = text_codes(actuals[c])
    return MasterData(settings, regions, items, locations, forecast, actuals)


def _assortment(m: MasterData) -> pd.DataFrame:
    """Which item x location each region plans.

    A pair belongs to the region of its location (Locations table). A region's assortment is
    its pairs in the current consensus Forecast; a region with none there takes its pairs from
    the sales history, and a region with neither gets every item at each of its locations.
    """
    loc_region = m.location_region()
    items = set(m.items["item"].dropna())

    def pairs_of(df: pd.DataFrame) -> pd.DataFrame:
        p = df[["item", "location"]].dropna().drop_duplicates()
        p = p[p["item"].isin(items)]
        return p.assign(region=p["location"].map(loc_region)).dropna(subset=["region"])

    pairs = pairs_of(m.forecast)
    missing = set(m.region_codes) - set(pairs["region"])
    if missing and m.actuals is not None and len(m.actuals):
        hist = pairs_of(m.actuals)
        pairs = pd.concat([pairs, hist[hist["region"].isin(missing)]], ignore_index=True)
        missing -= set(hist["region"])
    if missing:
        locs = m.locations[m.locations["region"].isin(missing)][["location", "region"]]
        pairs = pd.concat(
            [pairs, m.items[["item"]].dropna().merge(locs, how="cross")], ignore_index=True
        )
    return pairs[["region", "item", "location"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Writing a template / submission
# --------------------------------------------------------------------------------------------
def _set_text(cell, value: object) -> None:
    """Write ``value`` as a text cell, never as a formula (``=HYPERLINK(...)`` stays text)."""
    cell.value = None if value is None else str(value)
    if cell.value is not None:
        cell.data_type = "s"


def write_regional_template(
    book: Book,
    region: str,
    out: Path,
    *,
    forecast: pd.DataFrame | None = None,
    submitted_by: str = "",
    version: int = 1,
    submitted_at: dt.datetime | None = None,
    master: MasterData | None = None,
) -> Path:
    """Write the submission workbook of one region from the master; return its path.

    Only the region's item x location rows (its assortment) and the horizon months (Settings:
    cycle, horizon) are in the grid; the History sheet shows the last 12 months of posted sales.
    ``forecast`` (long: item, location, period, quantity) prefills the grid (the demo uses it to
    create each region's submission). The file is written to a temp file and renamed, so a
    failure never leaves half a file.
    """
    from openpyxl import Workbook
    from openpyxl.packaging.custom import IntProperty, StringProperty

    m = master or load_master(book)
    region = str(region).strip()
    if region not in m.region_codes:
        raise StepError(
            f"unknown region {region!r}.",
            where=Location(file=book.name, sheet=schema.REGIONS.sheet),
            fix=f"Use one of: {', '.join(m.region_codes)}.",
        )
    out = Path(out)
    settings = m.settings
    horizon = m.horizon
    pairs = m.region_pairs(region)
    desc = m.items.set_index("item")["description"] if "description" in m.items else None
    if desc is not None:
        desc = desc[~desc.index.duplicated()]
        pairs["description"] = pairs["item"].map(desc).astype(object)
    else:
        pairs["description"] = None
    region_row = m.regions[m.regions["region"] == region].iloc[0]

    grid = pd.DataFrame(
        index=pd.MultiIndex.from_frame(pairs[["item", "location"]]), columns=horizon
    )
    grid = grid.astype(float)
    if forecast is not None and len(forecast):
        f = forecast.copy()
        for c in ("item", "location"):
            f[c] = text_codes(f[c])
        f = f[f["period"].isin(horizon)]
        wide = f.pivot_table(
            index=["item", "location"], columns="period", values="quantity", aggfunc="sum"
        )
        grid = grid.combine_first(wide).reindex(columns=horizon)
        extra = wide.index.difference(pd.MultiIndex.from_frame(pairs[["item", "location"]]))
        if len(extra):  # prefilled rows beyond the assortment (demo/tests) are kept
            add = extra.to_frame(index=False)
            add["description"] = add["item"].map(desc) if desc is not None else None
            pairs = pd.concat([pairs, add], ignore_index=True)
        grid = grid.reindex(pd.MultiIndex.from_frame(pairs[["item", "location"]]))

    wb = Workbook()
    ws = wb.active
    ws.title = GRID.sheet
    title = f"Regional forecast — {region} {region_row.get('name') or ''} — cycle {settings.cycle}"
    _grid_sheet(
        ws,
        title.replace("  ", " "),
        "Type units per month in the yellow cells only. Do not add, rename or move columns; "
        "leave a cell blank only if you have no forecast for it. Fill in the Stamp sheet, save "
        "as .xlsx and send the file back.",
        ["Item No.", "Location Code", "Description"],
        pairs[["item", "location", "description"]],
        horizon,
        grid.to_numpy(),
        editable=True,
        table_name=GRID.name,
    )
    # History for context
    hs = wb.create_sheet(REGIONAL_HISTORY.sheet)
    hist_periods = m.history_periods
    hist = pd.DataFrame(index=pd.MultiIndex.from_frame(pairs[["item", "location"]]))
    if m.actuals is not None and len(m.actuals):
        a = m.actuals[m.actuals["period"].isin(hist_periods)]
        wide = a.pivot_table(
            index=["item", "location"], columns="period", values="quantity", aggfunc="sum"
        )
        hist = hist.join(wide)
    hist = hist.reindex(columns=hist_periods).astype(float)
    _grid_sheet(
        hs,
        f"Sales history — {region} — {hist_periods[0]} to {hist_periods[-1]} (units, posted)",
        "For context only: this sheet is protected and is not read back.",
        ["Item No.", "Location Code"],
        pairs[["item", "location"]],
        hist_periods,
        hist.to_numpy(),
        editable=False,
        table_name=REGIONAL_HISTORY.name,
    )
    # Stamp
    stamp = {
        "region": region,
        "region_name": region_row.get("name") or "",
        "cycle": settings.cycle,
        "horizon_start": horizon[0],
        "horizon_months": settings.horizon_months,
        "template_version": schema.SUBMISSION_TEMPLATE_VERSION,
        "generated_at": dt.datetime.now().replace(microsecond=0),
        "generated_from": book.name,
        "version": int(version),
        "submitted_by": submitted_by or "",
        "submitted_at": submitted_at,
    }
    _stamp_sheet(wb.create_sheet(SUBMISSION_STAMP.sheet), stamp)
    for key in ("region", "cycle", "template_version"):
        wb.custom_doc_props.append(StringProperty(name=f"sop_xl.{key}", value=str(stamp[key])))
    wb.custom_doc_props.append(IntProperty(name="sop_xl.version", value=int(version)))
    wb.properties.title = title
    wb.properties.creator = "sop_xl"
    wb.active = 0
    save_new_workbook(wb, out)
    return out


def _grid_sheet(
    ws,
    title: str,
    note: str,
    id_headers: list[str],
    ids: pd.DataFrame,
    periods: list[str],
    values: np.ndarray,
    *,
    editable: bool,
    table_name: str,
) -> None:
    """A protected planning grid: title, note, header on HEADER_ROW, ids then periods across."""
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.table import Table as XlTable
    from openpyxl.worksheet.table import TableStyleInfo

    ws["A1"] = title
    ws["A1"].font = Font(bold=True, size=14)
    _set_text(ws["A2"], note)
    ws["A2"].font = Font(italic=True, color="595959")
    headers = [*id_headers, *periods]
    hfont, hfill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor=HEADER_FILL)
    for j, h in enumerate(headers, start=1):
        c = ws.cell(HEADER_ROW, j)
        _set_text(c, h)
        c.font, c.fill = hfont, hfill
        c.alignment = Alignment(horizontal="center")
    n, k = len(ids), len(id_headers)
    id_values = ids.to_numpy(dtype=object)
    unlocked = Protection(locked=False)
    in_fill = PatternFill("solid", fgColor=INPUT_FILL)
    lock_fill = PatternFill("solid", fgColor=LOCKED_FILL)
    for i in range(n):
        r = HEADER_ROW + 1 + i
        for j in range(k):
            c = ws.cell(r, j + 1)
            _set_text(c, _code(id_values[i, j]) if j < 2 else id_values[i, j])
            c.fill = lock_fill
        for j in range(len(periods)):
            v = values[i, j]
            c = ws.cell(r, k + 1 + j, None if np.isnan(v) else float(v))
            c.number_format = "#,##0"
            if editable:
                c.protection = unlocked
                c.fill = in_fill
    last_row = HEADER_ROW + max(n, 1)
    last_col = get_column_letter(len(headers))
    for j, h in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(j)].width = 30 if h == "Description" else 12
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, k + 1)
    t = XlTable(displayName=table_name, ref=f"A{HEADER_ROW}:{last_col}{last_row}")
    t.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
    ws.add_table(t)
    if editable and n and periods:
        first = get_column_letter(k + 1)
        dv = DataValidation(
            type="decimal",
            operator="greaterThanOrEqual",
            formula1="0",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Quantity",
            error="Type a quantity in units: a number, 0 or more.",
        )
        dv.add(f"{first}{HEADER_ROW + 1}:{last_col}{last_row}")
        ws.add_data_validation(dv)
    p = ws.protection
    p.sheet = True
    p.formatColumns = False  # allowed: widen columns
    p.formatRows = False
    p.autoFilter = False
    p.sort = False


def _stamp_sheet(ws, stamp: dict[str, object]) -> None:
    from openpyxl.styles import Font, PatternFill, Protection

    ws["A1"] = "Submission stamp"
    ws["A1"].font = Font(bold=True, size=14)
    _set_text(
        ws["A2"],
        "Fill in the yellow cells: your name, the submission version (raise it by 1 each time "
        "you resend) and the date and time you submit (yyyy-mm-dd hh:mm).",
    )
    ws["A2"].font = Font(italic=True, color="595959")
    for j, h in enumerate(SUBMISSION_STAMP.headers, start=1):
        c = ws.cell(HEADER_ROW, j)
        _set_text(c, h)
        c.font = Font(bold=True)
    for i, (key, label) in enumerate(STAMP_FIELDS.items()):
        r = HEADER_ROW + 1 + i
        _set_text(ws.cell(r, 1), label)
        v = stamp.get(key)
        c = ws.cell(r, 2)
        if isinstance(v, dt.datetime | int) and not isinstance(v, bool):
            c.value = v
            if isinstance(v, dt.datetime):
                c.number_format = "yyyy-mm-dd hh:mm"
        else:
            _set_text(c, v if v not in (None, "") else None)
        if key in STAMP_INPUTS:
            c.protection = Protection(locked=False)
            c.fill = PatternFill("solid", fgColor=INPUT_FILL)
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 34
    ws.protection.sheet = True


# --------------------------------------------------------------------------------------------
# Reading a submission back
# --------------------------------------------------------------------------------------------
@dataclass
class Submission:
    """One submitted grid, read but not yet judged (see :mod:`sop_xl.consolidate.step`)."""

    path: Path
    sheet: str
    info: FileInfo | None
    stamp: dict[str, object]  # raw stamp values by STAMP_FIELDS key
    #: long raw cells of the period columns: row (Excel), col (letter), item, location, period,
    #: header, value (raw python value from the reader; '' when blank)
    cells: pd.DataFrame
    #: one row per data row: row, item, location (raw codes as text, None when blank)
    rows: pd.DataFrame
    periods: list[str]  # period headers found, in sheet order
    #: (row, col letter) -> error value text ('#REF!'), from the sheet XML
    error_cells: dict[tuple[int, str], str] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)  # merged ranges touching the grid
    hidden_rows: list[int] = field(default_factory=list)
    hidden_cols: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # layout findings (columns, header)
    header_row: int | None = None
    #: A1 refs of grid cells whose formula reads another workbook ([1]Sheet!A1), sheet order
    external_cells: list[str] = field(default_factory=list)
    #: the other workbooks' names those links point to (from the link parts' relationships)
    external_files: list[str] = field(default_factory=list)
    #: A1 refs of cells written with two values (readers disagree which one they hold)
    two_values: list[str] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def sha256(self) -> str:
        return self.info.sha256 if self.info else ""


def _norm(text: object) -> str:
    return re.sub(r"[\s._]+", " ", str(text).lower()).strip()


_ID_HEADERS = {_norm(c.header): c.name for c in GRID.columns}
_ID_LABEL = {c.name: c.header for c in GRID.columns}


def col_letter(index0: int) -> str:
    """0-based column index -> Excel letters (0 -> 'A')."""
    return refs.col_letter(index0 + 1)


def read_submission(
    path: Path,
    *,
    info: FileInfo | None = None,
    sheet: str | None = None,
    stamp: dict[str, object] | None = None,
) -> Submission:
    """Read one submission workbook (or a ``Forecast_<REGION>`` sheet of the master).

    The file is vetted by :func:`check_workbook_file` first unless ``info`` says it already
    was; :class:`~sop_xl.errors.InputFileError` propagates. ``stamp`` overrides the Stamp sheet
    (used for regional sheets inside the master, which have none).
    """
    path = Path(path)
    if info is None:
        info = check_workbook_file(path)
    findings: list[Finding] = []
    wb = open_calamine(path)
    try:
        names = list(wb.sheet_names)
        sheet = sheet or GRID.sheet
        raw_stamp = dict(stamp) if stamp is not None else _read_stamp(wb, names, path, findings)
        if stamp is None and not raw_stamp.get("region"):
            raw_stamp.update({k: v for k, v in _custom_props(path).items() if k not in raw_stamp})
        if sheet not in names:
            alt = [n for n in names if _norm(n) == _norm(sheet)]
            if alt:
                sheet = alt[0]
            else:
                findings.append(
                    Finding(
                        "error",
                        f"the workbook has no '{sheet}' sheet (it has: {', '.join(names)}).",
                        Location(file=str(path)),
                        "Submit the regional template with its Forecast sheet; do not rename "
                        "or delete sheets.",
                        "sheet.missing",
                    )
                )
                return _empty(path, sheet, info, raw_stamp, findings)
        grid_rows = sheet_rows(wb, path, sheet)
        bound_texts(grid_rows, path, sheet, findings)
    finally:
        wb.close()
    sub = _parse_grid(path, sheet, info, raw_stamp, grid_rows, findings)
    _scan_sheet_xml(sub)
    return sub


def _empty(path, sheet, info, stamp, findings) -> Submission:
    cells = pd.DataFrame(
        {
            c: pd.Series(dtype=object)
            for c in ("row", "col", "item", "location", "period", "header", "value", "pcol")
        }
    )
    rows = pd.DataFrame({c: pd.Series(dtype=object) for c in ("row", "item", "location")})
    return Submission(path, sheet, info, stamp, cells, rows, [], findings=findings)


def bound_texts(rows: list[list], path: Path, sheet: str, findings: list[Finding]) -> None:
    """Cut, in place, every text of ``rows`` (a sheet from A1) longer than an Excel cell can
    hold (:data:`~sop_xl.model.schema.MAX_TEXT` characters); each cut cell is an error finding
    ``value.too_long`` (the first 25 one by one, then a count), so the file is rejected on its
    own and nothing longer ever reaches a report or the master."""
    cut: list[tuple[int, int, int]] = []
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if isinstance(v, str) and len(v) > schema.MAX_TEXT:
                r[j] = v[: schema.MAX_TEXT]
                cut.append((i + 1, j, len(v)))
    fix = "Shorten the text: an Excel cell holds at most 32,767 characters. Send the file again."
    for row, j, n in cut[:25]:
        findings.append(
            Finding(
                "error",
                f"the cell holds {n:,} characters, more than the {schema.MAX_TEXT:,} an Excel "
                "cell can hold; only the first ones were read.",
                Location(str(path), sheet, None, row, None, f"{col_letter(j)}{row}"),
                fix,
                "value.too_long",
            )
        )
    if len(cut) > 25:
        findings.append(
            Finding(
                "error",
                f"... and {len(cut) - 25:,} more cells with too long a text.",
                Location(str(path), sheet),
                fix,
                "value.too_long",
            )
        )


def _read_stamp(wb, names: Sequence[str], path: Path, findings: list[Finding]) -> dict[str, object]:
    if SUBMISSION_STAMP.sheet not in names:
        return {}
    rows = sheet_rows(wb, path, SUBMISSION_STAMP.sheet)
    bound_texts(rows, path, SUBMISSION_STAMP.sheet, findings)
    by_label = {_norm(v): k for k, v in STAMP_FIELDS.items()}
    out: dict[str, object] = {}
    for r in rows[:200]:
        for j, v in enumerate(r[:-1]):
            key = by_label.get(_norm(v)) if isinstance(v, str) and v else None
            if key and key not in out:
                out[key] = r[j + 1]
                break
    return {k: v for k, v in out.items() if v not in ("", None)}


def _custom_props(path: Path) -> dict[str, object]:
    """``sop_xl.*`` custom document properties (safe: the file passed the guard; defusedxml)."""
    try:
        with zipfile.ZipFile(path) as zf:
            if "docProps/custom.xml" not in zf.namelist():
                return {}
            info = zf.getinfo("docProps/custom.xml")
            if info.file_size > 1 << 20:
                return {}
            root = fromstring(zf.read(info))
    except Exception:
        return {}
    out: dict[str, object] = {}
    for prop in root:
        name = prop.get("name") or ""
        if name.startswith("sop_xl.") and len(prop):
            out[name.removeprefix("sop_xl.")] = prop[0].text and prop[0].text[: schema.MAX_TEXT]
    return out


def _parse_grid(path, sheet, info, stamp, grid_rows: list[list], findings: list[Finding]):
    where = Location(file=str(path), sheet=sheet)
    header_idx = None
    for i, r in enumerate(grid_rows[:HEADER_SCAN_ROWS]):
        normed = {_norm(v) for v in r if isinstance(v, str)}
        if _norm("Item No.") in normed or _norm("Location Code") in normed:
            header_idx = i
            break
        if sum(1 for v in r if to_period(v)) >= 2:
            header_idx = i
            break
    if header_idx is None:
        findings.append(
            Finding(
                "error",
                f"no header row with 'Item No.', 'Location Code' and month columns in the first "
                f"{HEADER_SCAN_ROWS} rows.",
                where,
                "Use the regional template: keep its header row (Item No., Location Code, "
                "Description, then one column per month, YYYY-MM).",
                "columns.header",
            )
        )
        return _empty(path, sheet, info, stamp, findings)
    header = list(grid_rows[header_idx])
    excel_header_row = header_idx + 1
    data = grid_rows[header_idx + 1 :]
    width = len(header)
    id_cols: dict[str, int] = {}
    period_cols: list[tuple[int, str, object]] = []  # (index, period, header as typed)
    unknown: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        if h in ("", None):
            continue
        cell = f"{col_letter(j)}{excel_header_row}"
        p = to_period(h)
        key = _ID_HEADERS.get(_norm(h)) if isinstance(h, str) else None
        label = key or p or str(h)
        if label in seen:
            findings.append(
                Finding(
                    "error",
                    f"column '{h}' appears twice (cells {col_letter(seen[label])}"
                    f"{excel_header_row} and {cell}); it is not clear which one counts.",
                    Location(str(path), sheet, GRID.name, excel_header_row, str(h), cell),
                    "Delete the duplicate column and keep one.",
                    "columns.duplicate",
                )
            )
            continue
        seen[label] = j
        if key:
            id_cols[key] = j
            if h != _ID_LABEL[key]:
                findings.append(
                    Finding(
                        "info",
                        f"header '{h}' read as '{_ID_LABEL[key]}'.",
                        Location(str(path), sheet, GRID.name, excel_header_row, str(h), cell),
                        f"Keep the template's header '{_ID_LABEL[key]}'.",
                        "columns.renamed",
                    )
                )
        elif p:
            period_cols.append((j, p, h))
        else:
            unknown.append((j, str(h)))
    # missing / renamed id columns
    for c in GRID.columns:
        if c.name in id_cols:
            continue
        guess = difflib.get_close_matches(
            _norm(c.header), [_norm(h) for _, h in unknown], n=1, cutoff=0.5
        )
        renamed = next((u for u in unknown if _norm(u[1]) in guess), None)
        if renamed is not None:
            j, h = renamed
            unknown.remove(renamed)
            findings.append(
                Finding(
                    "error" if c.required else "warning",
                    f"column '{h}' looks like '{c.header}' renamed; it was not read.",
                    Location(
                        str(path),
                        sheet,
                        GRID.name,
                        excel_header_row,
                        h,
                        f"{col_letter(j)}{excel_header_row}",
                    ),
                    f"Rename the header back to '{c.header}' (as in the template).",
                    "columns.renamed",
                )
            )
        elif c.required:
            findings.append(
                Finding(
                    "error",
                    f"required column '{c.header}' is missing.",
                    Location(str(path), sheet, GRID.name, excel_header_row, c.header),
                    f"Restore the '{c.header}' column from the template (do not delete or "
                    "move columns).",
                    "columns.missing",
                )
            )
    for j, h in unknown:
        findings.append(
            Finding(
                "warning",
                f"column '{h}' is not part of the template; it was ignored.",
                Location(
                    str(path),
                    sheet,
                    GRID.name,
                    excel_header_row,
                    h,
                    f"{col_letter(j)}{excel_header_row}",
                ),
                "Delete the column, or move notes to a separate sheet. Months must be headed "
                "YYYY-MM.",
                "columns.extra",
            )
        )
    # data block as a 2-D object array
    n = len(data)
    arr = np.empty((n, width), dtype=object)
    for i, r in enumerate(data):
        arr[i, : len(r)] = r[:width]
    arr[arr == None] = ""  # noqa: E711 - elementwise on an object array
    # values with no header: right of the header row, or under a blank header cell
    headless: set[int] = set()
    if n and any(len(r) > width for r in data):
        headless |= set(
            sorted({j for r in data for j, v in enumerate(r) if j >= width and v != ""})[:5]
        )
    if n:
        headless |= {j for j in range(width) if header[j] in ("", None) and (arr[:, j] != "").any()}
    for j in sorted(headless):
        findings.append(
            Finding(
                "warning",
                f"column {col_letter(j)} has values but no header; they were ignored.",
                Location(
                    str(path), sheet, GRID.name, excel_header_row, None,
                    f"{col_letter(j)}{excel_header_row}",
                ),
                "Remove values outside the grid, or give the month its YYYY-MM header.",
                "columns.extra",
            )
        )  # fmt: skip
    used = [id_cols[k] for k in ("item", "location") if k in id_cols] + [
        j for j, _, _ in period_cols
    ]
    keep = (arr[:, used] != "").any(axis=1) if n and used else np.zeros(n, dtype=bool)
    idx = np.flatnonzero(keep)
    excel_rows = idx + excel_header_row + 1

    def ids(key: str) -> np.ndarray:
        if key not in id_cols:
            return np.full(len(idx), None, dtype=object)
        return np.array([_code(v) for v in arr[idx, id_cols[key]]], dtype=object)

    item, location = ids("item"), ids("location")
    rows = pd.DataFrame({"row": excel_rows, "item": item, "location": location})
    p_idx = [j for j, _, _ in period_cols]
    k = len(p_idx)
    vals = arr[np.ix_(idx, p_idx)] if k else np.empty((len(idx), 0), dtype=object)
    cells = pd.DataFrame(
        {
            "row": np.repeat(excel_rows, k),
            "col": np.tile(np.array([col_letter(j) for j in p_idx], dtype=object), len(idx)),
            "item": np.repeat(item, k),
            "location": np.repeat(location, k),
            "period": np.tile(np.array([p for _, p, _ in period_cols], dtype=object), len(idx)),
            "header": np.tile(
                np.array([str(h) for _, _, h in period_cols], dtype=object), len(idx)
            ),
            "value": vals.reshape(-1),
            "pcol": np.tile(np.arange(k, dtype=np.int64), len(idx)),
        }
    )
    cells = cells.astype({"item": object, "location": object, "period": object, "col": object})
    return Submission(
        path,
        sheet,
        info,
        stamp,
        cells,
        rows,
        [p for _, p, _ in period_cols],
        findings=findings,
        header_row=excel_header_row,
    )


# --- structural facts from the sheet XML ----------------------------------------------------
#: A ``col`` / ``mergeCell`` tag under any prefix: its attributes (a value may hold ``>``)
_COL_RE = re.compile(rb"<" + ANY_PREFIX + rb"col(?=[\s/>])" + TAG_ATTRS)
_MERGE_RE = re.compile(rb"<" + ANY_PREFIX + rb"mergeCell(?=[\s/>])" + TAG_ATTRS)
_RANGE_RE = re.compile(r"[A-Za-z]{1,3}[1-9]\d*(?::[A-Za-z]{1,3}[1-9]\d*)?")
#: XML booleans (``xsd:boolean``)
_TRUE = ("1", "true")
#: scan at most this many error cells / hidden rows / merges per sheet (a report, not a dump)
MAX_STRUCT = 10_000


#: A cell with content: its attributes and what is inside it (an empty ``<c .../>`` is none: its
#: match would run on to the next cell's end and take that cell's formula); element names under
#: any namespace prefix (parts.tag_b: a.b:c, é:c), ending at a space, "/" or ">"
_C, _F = tag_b(rb"c"), tag_b(rb"f")
_CELL_RE = re.compile(rb"<" + _C + rb"(?=[\s/>])([^>]*)(?<!/)>(.*?)</" + _C + rb"\s*>", re.S)
_F_RE = re.compile(rb"<" + _F + rb"(?=[\s/>])([^>]*?)(?:/>|>([^<]*)</" + _F + rb"\s*>)", re.S)
#: A cell's value ended and another begun right after it (``<v>1</v><v>2</v>``, or an inline
#: string and a value): no program writes a cell so, and readers disagree which value it holds
#: (python-calamine and LibreOffice read the second, openpyxl the first).
_VALUE = rb"(?:" + tag_b(rb"v") + rb"|" + tag_b(rb"is") + rb")"
_TWO_VALUES_RE = re.compile(rb"</" + _VALUE + rb"\s*>\s*<" + _VALUE + rb"(?=[\s/>])")
#: What such a cell needs, each found at search speed (the pattern above costs about 12 ms a MB,
#: these together about 3): a value's end tag not right before its cell's, an inline string's
#: end tag, or a value tag with a prefix
_VALUE_NOT_LAST_RE = re.compile(rb"</v(?:>(?!</c>)|\s)")
_PREFIXED_VALUE_RE = re.compile(rb":(?:v|is)[\s>]")
_SI_RE = re.compile(rb'\bsi="(\d+)"')
_F_START_RE = re.compile(rb"<" + _F + rb"(?=[\s/>])")
_CELL_END_RE = re.compile(rb"</" + _C + rb"\s*>")
_EXT_REF_RE = re.compile(rb"\[\d+\]")
_TARGET_RE = re.compile(rb'\bTarget="([^"]*)"')


def external_cells(data: bytes, limit: int = MAX_STRUCT) -> list[str]:
    """A1 refs of the cells of a sheet part whose formula reads another workbook: the formula
    names an external link as ``[1]`` (``[1]Sheet1!A1``, ``'[2]Plan'!B4``), directly or as a
    shared formula whose first cell does. At most ``limit`` cells.

    In a plain sheet (:class:`CellPlaces`) only the cells holding a formula element are looked
    at (:func:`_formula_cells`) and only the external ones are placed: the cells a scan of every
    cell names, for a small part of its work on a large sheet."""
    if not _EXT_REF_RE.search(data) or not _F_START_RE.search(data):  # no [1], or no formula
        return []
    places = CellPlaces(data)
    plain = places.span is not None  # every '<' starts a tag: cells found from their formulas

    def external() -> Iterator[re.Match[bytes]]:
        shared: set[bytes] = set()
        for m in _formula_cells(data) if plain else _CELL_RE.finditer(data):
            f = _F_RE.search(m.group(2))
            if f is None:
                continue
            si = _SI_RE.search(f.group(1))
            text = f.group(2) or b""
            ext = bool(_EXT_REF_RE.search(text))
            if ext and si:
                shared.add(si.group(1))
            elif si and not text and si.group(1) in shared:
                ext = True
            if ext:
                yield m

    return _refs(places, external(), limit)


def _refs(places: CellPlaces, cells: Iterator[re.Match[bytes]], limit: int) -> list[str]:
    """A1 refs of ``cells`` (:data:`_CELL_RE` matches), each named where the reader places it
    (a cell may be written without ``r``); the first ``limit``."""
    out: list[str] = []
    for m in cells:
        at = places.at(m.start(), m.start(2))
        if at is not None:
            out.append(f"{col_letter(at[1])}{at[0] + 1}")
            if len(out) >= limit:
                break
    return out


def _formula_cells(data: bytes) -> Iterator[re.Match[bytes]]:
    """The :data:`_CELL_RE` matches holding a formula start (``<f``) that a scan of the whole
    sheet makes, in order, in a sheet whose every ``<`` starts a tag: a match ends at the first
    cell end tag after its start tag, and no start tag holds one, so no match spans a cell end
    tag; the scan from the last one before a formula makes the matches the scan from the start
    makes there."""
    last = -1  # the start of the last cell given
    for f_tag in _F_START_RE.finditer(data):
        at = back = f_tag.start()
        start = 0  # the end of the last cell end tag before the formula
        while (back := data.rfind(b"</", 0, back)) >= 0:
            end = _CELL_END_RE.match(data, back)
            if end is not None and end.end() <= at:
                start = end.end()
                break
        m = _CELL_RE.search(data, start)
        if m is not None and m.start() <= at < m.end() and m.start() > last:
            last = m.start()
            yield m


def two_value_cells(data: bytes, limit: int = MAX_STRUCT) -> list[str]:
    """A1 refs of the cells of a sheet part written with two values (:data:`_TWO_VALUES_RE`),
    each named where the reader places it; at most ``limit``. Three quick scans when there are
    none, as in every file a program wrote."""
    maybe = (
        _VALUE_NOT_LAST_RE.search(data) is not None
        or data.find(b"</is") >= 0
        or _PREFIXED_VALUE_RE.search(data) is not None
    )
    if not maybe or not _TWO_VALUES_RE.search(data):
        return []
    cells = (m for m in _CELL_RE.finditer(data) if _TWO_VALUES_RE.search(m.group(2)))
    return _refs(CellPlaces(data), cells, limit)


def _external_files(path: Path, parts: Sequence[str]) -> list[str]:
    """File names the external link parts point to (their relationships' targets)."""
    names: list[str] = []
    try:
        with zipfile.ZipFile(path) as zf:
            for part in parts[:20]:
                folder, leaf = posixpath.split(part)
                rels = f"{folder}/_rels/{leaf}.rels"
                if rels in zf.namelist():
                    for t in _TARGET_RE.findall(zf.read(rels)[: 1 << 16]):
                        names.append(posixpath.basename(t.decode("utf-8", "replace"))[:200])
    except (OSError, zipfile.BadZipFile, KeyError):
        return names
    return names


def _scan_sheet_xml(sub: Submission) -> None:
    """Error values, merged cells, hidden rows/columns of the grid sheet (bounded regex scans).

    Runs only on files that passed the guard (no DTDs, bounded sizes and extents).
    """
    data = sheet_xml(sub.path, sub.sheet)
    if data is None:
        return
    sub.error_cells.update(error_cells(data, MAX_STRUCT))
    sub.two_values = two_value_cells(data, MAX_STRUCT)
    if sub.info is not None and sub.info.external_links:
        sub.external_cells = external_cells(data, MAX_STRUCT)
        sub.external_files = _external_files(sub.path, sub.info.external_links)
    if b"hidden" in data:
        sub.hidden_rows.extend(hidden_rows(data, MAX_STRUCT))  # rows without r too
        cut = data.find(b"sheetData")  # the columns come before the cells
        for m in _COL_RE.finditer(data, 0, cut if cut >= 0 else 0):
            a = tag_attrs(m.group(1))
            lo, hi = a.get("min", "").strip(), a.get("max", "").strip()
            if a.get("hidden", "").strip() in _TRUE and lo.isdigit() and hi.isdigit():
                first, last = int(lo), min(int(hi), int(lo) + 50)
                sub.hidden_cols.extend(col_letter(j - 1) for j in range(first, last + 1))
    if b"mergeCell" in data:
        for k, m in enumerate(_MERGE_RE.finditer(data)):
            if k >= MAX_STRUCT:
                break
            ref = tag_attrs(m.group(1)).get("ref", "").strip()
            if _RANGE_RE.fullmatch(ref):
                sub.merged.append(ref.upper())
