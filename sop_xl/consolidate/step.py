"""Regional submissions -> one validated, auditable consensus demand plan.

:func:`consolidate` is what the *Consolidate regional forecasts* button and ``sop-xl consolidate``
run:

1. **Collect** every file in the submission folder (and ``Forecast_<REGION>`` sheets inside a
   master file). Each file passes :func:`sop_xl.io.guard.check_workbook_file` before any reader
   touches it; a file that fails is reported and skipped. Macro-enabled files are read as data;
   nothing in them is ever run.
2. **Resolve** one submission per region: identical files (same SHA-256) count once; under the
   ``reject`` late policy late files are ignored; then the highest Submission Version wins, and
   for equal versions the later Submitted At. File modification time is used only when a file
   carries no Submitted At, and the report says so.
3. **Validate** the chosen submission of each region (rules below, each with an id, a message
   naming file, sheet and cell, and a fix). A region with any error is *rejected*: its previous
   consensus stays in the plan.
4. **Consolidate**: the Forecast = each accepted region's submission over the horizon months,
   plus the master's existing Forecast rows outside the horizon (frozen past months) and of every
   region not accepted.
5. **Write**, all or nothing in one ``book.write``: Forecast, Validation (every finding),
   Submissions (one row per file and per missing region) and the Consolidation audit trail (one
   row per region appended per run). ``dry_run`` writes only Validation and Submissions, or, with
   ``report_path``, only a standalone report workbook.

Rule ids are listed in :data:`RULES` and documented in ``docs/consolidation.md``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sop_xl.consolidate.submission import (
    GRID,
    MasterData,
    Submission,
    load_master,
    read_submission,
    text_codes,
    write_regional_template,
)
from sop_xl.errors import Finding, InputFileError, Location, SopError, StepError
from sop_xl.io.filebook import save_new_workbook
from sop_xl.io.guard import check_workbook_file
from sop_xl.model import schema
from sop_xl.model.book import Book
from sop_xl.model.report import findings_frame, severity_formats
from sop_xl.model.schema import CONSOLIDATION, FORECAST, SUBMISSIONS, VALIDATION_REPORT
from sop_xl.model.sheets import (
    AMBER_FILL,
    AMBER_FONT,
    GREEN_FILL,
    GREEN_FONT,
    GREY_FILL,
    GREY_FONT,
    RED_FILL,
    RED_FONT,
    CellRule,
    SheetOutput,
)

#: Cell-level findings listed one by one per rule and file; the rest are counted in one line.
MAX_PER_RULE = 25
#: Every rule: id -> (severity, what it checks). Severity "error" rejects the region.
RULES: dict[str, tuple[str, str]] = {
    "file.unreadable": ("error", "The file is not a readable, safe Excel workbook."),
    "file.macros": ("info", "Macro-enabled workbook: read as data, macros never run."),
    "file.duplicate": ("info", "Same file content (SHA-256) as another submission: counted once."),
    "sheet.missing": ("error", "The workbook has no Forecast sheet."),
    "stamp.missing": ("error", "No submission stamp (Stamp sheet): region unknown."),
    "stamp.region_unknown": ("error", "Stamped region is not in the Regions table."),
    "stamp.cycle": ("error", "Template of another cycle."),
    "stamp.template_version": ("warning", "Template layout version differs from the current one."),
    "stamp.version": ("warning", "Submission Version is not a whole number >= 1."),
    "stamp.submitted_by": ("warning", "Submitted By is blank."),
    "stamp.submitted_at": ("warning", "Submitted At unreadable or in the future: file time used."),
    "version.superseded": ("info", "A newer submission of the same region was used."),
    "version.tie": ("warning", "Two submissions with the same version and time."),
    "cutoff.late": ("warning", "Received after the cutoff (error under the reject policy)."),
    "columns.header": ("error", "No header row found in the grid."),
    "columns.missing": ("error", "A required column (Item No., Location Code) is missing."),
    "columns.renamed": ("error", "A required column was renamed (info when only case/spacing)."),
    "columns.duplicate": ("error", "The same column appears twice."),
    "columns.extra": ("warning", "A column that is not part of the template: ignored."),
    "period.outside_horizon": ("error", "A month column outside the horizon holds values."),
    "period.missing": ("warning", "A horizon month column is missing."),
    "grid.merged": ("warning", "Merged cells in the grid."),
    "grid.hidden_rows": ("warning", "Hidden rows in the grid (their values are read)."),
    "grid.hidden_columns": ("warning", "Hidden columns in the grid (their values are read)."),
    "row.blank_key": ("error", "Item No. or Location Code blank on a row with quantities."),
    "row.unknown_item": ("error", "Item not in the Items table."),
    "row.unknown_location": ("error", "Location not in the Locations table."),
    "row.other_region": ("error", "Location belongs to another region."),
    "row.other_region_item": ("error", "Item is planned by other region(s), not this one."),
    "row.new_pair": ("warning", "Known item at own location, not in the region's assortment yet."),
    "row.duplicate": ("error", "The same item x location appears on several rows."),
    "value.error": ("error", "A formula error value (#REF!, #DIV/0!, ...) in a quantity cell."),
    "value.text": ("error", "Text (or a date/TRUE) in a quantity cell."),
    "value.number_as_text": ("warning", "A number stored as text: read as the number."),
    "value.negative": ("error", "A negative quantity."),
    "completeness": ("warning", "Share of expected item x location x month cells filled < 100%."),
    "completeness.missing_rows": ("warning", "Assortment rows absent from the submission."),
    "completeness.empty": ("error", "The submission holds no quantities."),
    "change.review": ("warning", "A cell moved more than the review threshold vs consensus."),
    "region.missing": ("warning", "No submission from a region: previous consensus kept."),
    "region.rejected": ("info", "Region rejected: previous consensus kept."),
}


@dataclass
class Candidate:
    """One submission file (or in-master sheet) and what we learned about it."""

    path: Path
    sheet: str | None = None
    sub: Submission | None = None
    region: str | None = None
    version: int = 0
    submitted_by: str = ""
    received_at: dt.datetime | None = None
    received_from: str = ""
    late: bool = False
    sha256: str = ""
    status: str = ""
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    values: pd.DataFrame | None = None  # item, location, period, quantity (horizon, valid)
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name if not self.sheet else f"{self.path.name}!{self.sheet}"

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)


@dataclass
class ConsolidationResult:
    """What a consolidation run found and (unless dry run) wrote."""

    findings: list[Finding]
    submissions: pd.DataFrame  # the Submissions table
    accepted: dict[str, Candidate]  # region -> the accepted submission
    forecast: pd.DataFrame  # the consolidated Forecast, long
    audit: pd.DataFrame  # this run's audit rows (appended to the Consolidation table)
    outputs: list[SheetOutput]
    summary: str
    ok: bool
    dry_run: bool = False
    report_path: Path | None = None
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def validation(self) -> pd.DataFrame:
        return findings_frame(self.findings)


# --------------------------------------------------------------------------------------------
# Finding helpers
# --------------------------------------------------------------------------------------------
def _where(c: Candidate, *, row=None, column=None, cell=None, sheet=True) -> Location:
    return Location(
        file=str(c.path),
        sheet=(c.sub.sheet if c.sub else c.sheet) if sheet else None,
        table=None,
        row=None if row is None else int(row),
        column=column,
        cell=cell,
    )


def _add(c: Candidate, rule: str, message: str, fix: str, severity: str | None = None, **where):
    c.findings.append(Finding(severity or RULES[rule][0], message, _where(c, **where), fix, rule))


def _short(v: object, n: int = 60) -> str:
    text = str(v)
    return text if len(text) <= n else text[: n - 3] + "..."


def _cell_findings(
    c: Candidate,
    bad: pd.DataFrame,
    rule: str,
    message: callable,
    fix: str,
    severity: str | None = None,
    what: str = "cells",
) -> None:
    """One finding per bad cell (first MAX_PER_RULE), then one line counting the rest."""
    if bad.empty:
        return
    for rec in bad.head(MAX_PER_RULE).to_dict("records"):
        cell = f"{rec['col']}{rec['row']}" if rec.get("col") else None
        _add(
            c,
            rule,
            message(rec),
            fix,
            severity,
            row=rec.get("row"),
            column=rec.get("header"),
            cell=cell,
        )
    if len(bad) > MAX_PER_RULE:
        _add(
            c,
            rule,
            f"... and {len(bad) - MAX_PER_RULE:,} more {what} with the same problem "
            f"({len(bad):,} in all).",
            fix,
            severity,
        )


# --------------------------------------------------------------------------------------------
# Collect and identify
# --------------------------------------------------------------------------------------------
def submission_files(folder: Path, *, exclude: Iterable[Path] = ()) -> list[Path]:
    """Every regular file of ``folder`` (not recursive), sorted, without Excel lock files
    (``~$...``), hidden files and ``exclude`` (the master itself)."""
    skip = {Path(p).resolve() for p in exclude}
    out = []
    for p in sorted(Path(folder).iterdir()):
        if not p.is_file() or p.name.startswith((".", "~$")) or p.resolve() in skip:
            continue
        out.append(p)
    return out


def _as_int(v: object) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float) and not (isinstance(v, float) and np.isnan(v)):
        return int(v) if float(v).is_integer() else None
    if isinstance(v, str) and re.fullmatch(r"\s*v?\d+\s*", v, re.I):
        return int(v.strip().lstrip("vV"))
    return None


def _as_datetime(v: object) -> dt.datetime | None:
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, int | float) and not isinstance(v, bool) and 20000 < float(v) < 80000:
        return dt.datetime(1899, 12, 30) + dt.timedelta(days=float(v))  # Excel serial
    if isinstance(v, str) and v.strip():
        try:
            t = pd.Timestamp(v.strip())
        except (ValueError, TypeError):
            return None
        if pd.isna(t):
            return None
        return t.tz_localize(None).to_pydatetime() if t.tzinfo else t.to_pydatetime()
    return None


def _identify(c: Candidate, m: MasterData, now: dt.datetime) -> None:
    """Region, version, submitter and received-at from the stamp (with findings)."""
    assert c.sub is not None
    st = c.sub.stamp
    fix_template = (
        "Use the regional template made for your region (sop-xl regional-template REGION) and "
        "copy your numbers into it; do not delete its Stamp sheet."
    )
    region = st.get("region")
    region = None if region in (None, "") else str(region).strip()
    if region is None:
        _add(
            c,
            "stamp.missing",
            "the workbook has no submission stamp, so its region is unknown.",
            fix_template,
            sheet=False,
        )
    elif region not in m.region_codes:
        _add(
            c,
            "stamp.region_unknown",
            f"the stamp names region '{_short(region)}', which is not "
            f"in the Regions table ({', '.join(m.region_codes)}).",
            fix_template,
            sheet=False,
        )
    else:
        c.region = region
    cycle = st.get("cycle")
    if region is not None and cycle not in (None, "") and str(cycle).strip() != m.settings.cycle:
        _add(
            c,
            "stamp.cycle",
            f"this template is for cycle {_short(cycle)}, but the current cycle "
            f"is {m.settings.cycle}.",
            "Download this cycle's template and enter the forecast in it.",
            sheet=False,
        )
    tv = st.get("template_version")
    if tv not in (None, "") and str(_as_int(tv) or tv) != schema.SUBMISSION_TEMPLATE_VERSION:
        _add(
            c,
            "stamp.template_version",
            f"template layout version {_short(tv)} differs from the "
            f"current version {schema.SUBMISSION_TEMPLATE_VERSION}.",
            "Use the current template next time.",
            sheet=False,
        )
    v = st.get("version")
    version = _as_int(v)
    if v in (None, "") or version is None or version < 1:
        if region is not None:
            _add(
                c,
                "stamp.version",
                f"Submission Version '{'' if v in (None, '') else _short(v)}'"
                " is not a whole number of 1 or more; it counts as version 0 (any numbered "
                "version wins over it).",
                "Type 1 for the first submission and raise it by 1 each time you resend.",
                sheet=False,
            )
        version = 0
    c.version = version
    by = st.get("submitted_by")
    c.submitted_by = "" if by in (None, "") else str(by).strip()
    if not c.submitted_by and region is not None:
        _add(
            c,
            "stamp.submitted_by",
            "Submitted By is blank.",
            "Type your name in the Stamp sheet so questions reach you.",
            sheet=False,
        )
    at_raw = st.get("submitted_at")
    at = _as_datetime(at_raw)
    mtime = dt.datetime.fromtimestamp(c.path.stat().st_mtime).replace(microsecond=0)
    if at is not None and at > now + dt.timedelta(days=1):
        _add(
            c,
            "stamp.submitted_at",
            f"Submitted At {at:%Y-%m-%d %H:%M} is in the future; the "
            f"file time {mtime:%Y-%m-%d %H:%M} is used instead.",
            "Type the real date and time you submit.",
            sheet=False,
        )
        at = None
    elif at is None and at_raw not in (None, ""):
        _add(
            c,
            "stamp.submitted_at",
            f"Submitted At '{_short(at_raw)}' is not a date and time; "
            f"the file time {mtime:%Y-%m-%d %H:%M} is used instead.",
            "Type it as yyyy-mm-dd hh:mm.",
            sheet=False,
        )
    if at is not None:
        c.received_at, c.received_from = at, "stamp"
    else:
        c.received_at, c.received_from = mtime, "file time"


# --------------------------------------------------------------------------------------------
# Validation of one submission
# --------------------------------------------------------------------------------------------
def validate(c: Candidate, m: MasterData, previous: pd.DataFrame) -> None:
    """Judge the submission of region ``c.region``; fills ``c.findings``, ``c.values``,
    ``c.stats``. ``previous`` is the master's consensus Forecast (long)."""
    sub = c.sub
    assert sub is not None and c.region is not None
    region, horizon = c.region, m.horizon
    c.findings.extend(sub.findings)
    cells, rows = sub.cells, sub.rows
    hr = sub.header_row or 0

    # --- structure ----------------------------------------------------------------------------
    merged = [r for r in sub.merged if _range_rows(r)[1] >= hr]
    for rng in merged[:MAX_PER_RULE]:
        _add(
            c,
            "grid.merged",
            f"cells {rng} are merged; only the top-left cell's value is read.",
            "Unmerge the cells (Home > Merge & Center > Unmerge) and type a value in each.",
            cell=rng,
        )
    hidden = sorted(r for r in sub.hidden_rows if r > hr)
    if hidden:
        _add(
            c,
            "grid.hidden_rows",
            f"{len(hidden)} row(s) of the grid are hidden "
            f"({_ranges(hidden)}); their values were read and count.",
            "Unhide all rows (select all, right-click a row header > Unhide) and check them.",
            row=hidden[0],
        )
    hcols = sorted(set(sub.hidden_cols))
    if hcols:
        _add(
            c,
            "grid.hidden_columns",
            f"column(s) {', '.join(hcols[:10])} are hidden; their values were read and count.",
            "Unhide all columns and check them.",
        )
    key_cols_ok = not any(
        f.rule in ("columns.missing", "columns.renamed") and f.severity == "error"
        for f in sub.findings
    )
    # --- periods ------------------------------------------------------------------------------
    vals = cells["value"]
    types = vals.map(type)
    err_map = sub.error_cells
    if err_map:
        keys = list(zip(cells["row"].astype(int), cells["col"], strict=True))
        err_vals = pd.Series([err_map.get(k) for k in keys], index=cells.index, dtype=object)
    else:
        err_vals = pd.Series(None, index=cells.index, dtype=object)
    is_err = err_vals.notna()
    is_str = types.isin([str]) & ~is_err
    blank = (is_str & (vals == "")) | vals.isna()
    is_num = types.isin([float, int]) & ~is_err
    qty = pd.Series(np.nan, index=cells.index)
    qty[is_num] = vals[is_num].astype(float)
    text = is_str & ~blank
    parsed = pd.to_numeric(
        vals[text].astype(str).str.strip().str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True),
        errors="coerce",
    )
    num_text = pd.Series(False, index=cells.index)
    num_text[parsed.index] = parsed.notna()
    qty[num_text] = parsed[parsed.notna()]
    bad_text = (text & ~num_text) | (~is_num & ~is_str & ~blank & ~is_err)
    hpos = np.array([horizon.index(p) if p in horizon else -1 for p in sub.periods] or [-1])
    hcode = hpos[cells["pcol"].to_numpy(dtype=np.int64)] if len(cells) else np.empty(0, np.int64)
    in_h = pd.Series(hcode >= 0, index=cells.index)
    has_value = ~blank | is_err

    outside = cells[~in_h]
    for p, g in outside.groupby("period", sort=True):
        filled = has_value[g.index]
        col = g["col"].iloc[0]
        if filled.any():
            _add(
                c,
                "period.outside_horizon",
                f"month {p} (column {col}) is outside the horizon "
                f"{horizon[0]} to {horizon[-1]} and holds {int(filled.sum())} value(s).",
                "Delete this column's values; enter only the horizon months of this cycle.",
                cell=f"{col}{hr}",
                column=str(g["header"].iloc[0]),
            )
        else:
            _add(
                c,
                "period.outside_horizon",
                f"month {p} (column {col}) is outside the horizon and empty; it was ignored.",
                "Delete the column.",
                severity="warning",
                cell=f"{col}{hr}",
                column=str(g["header"].iloc[0]),
            )
    missing_p = [p for p in horizon if p not in set(sub.periods)]
    if missing_p and sub.header_row:
        _add(
            c,
            "period.missing",
            f"horizon month(s) {', '.join(missing_p)} have no column; those months count as blank.",
            "Restore the month columns from the template.",
            row=hr,
        )

    # --- rows ---------------------------------------------------------------------------------
    row_has_value = has_value.groupby(cells["row"]).any() if len(cells) else pd.Series(dtype=bool)
    rows = rows.assign(has_value=rows["row"].map(row_has_value).fillna(False).astype(bool))
    bad_rows = pd.Series(False, index=rows.index)
    if key_cols_ok and len(rows):
        blank_key = rows["item"].isna() | rows["location"].isna()
        br = rows[blank_key & (rows["has_value"] | rows["item"].notna() | rows["location"].notna())]
        _cell_findings(
            c,
            br.assign(col=None, header=None),
            "row.blank_key",
            lambda r: (
                f"row {r['row']} has "
                + ("no Item No." if r["item"] is None else "no Location Code")
                + f" ({_short(r['item'] or r['location'] or '')}) but holds quantities."
            ),
            "Fill in the missing Item No. / Location Code, or delete the row.",
            what="rows",
        )
        bad_rows |= blank_key
        loc_region = m.location_region()
        known_items = set(m.items["item"].dropna())
        ok_key = ~blank_key
        unknown_item = ok_key & ~rows["item"].isin(known_items)
        _cell_findings(
            c,
            rows[unknown_item].assign(col="A", header="Item No."),
            "row.unknown_item",
            lambda r: f"item '{_short(r['item'])}' is not in the Items table.",
            "Check the item number (use the template's rows) or ask the demand planning lead "
            "to add the item to the master first.",
            what="rows",
        )
        known_loc = rows["location"].isin(loc_region.index)
        unknown_loc = ok_key & ~known_loc
        _cell_findings(
            c,
            rows[unknown_loc].assign(col="B", header="Location Code"),
            "row.unknown_location",
            lambda r: f"location '{_short(r['location'])}' is not in the Locations table.",
            "Use a location code of your region (see the template's rows).",
            what="rows",
        )
        row_region = rows["location"].map(loc_region)
        other = ok_key & known_loc & (row_region != region)
        _cell_findings(
            c,
            rows[other].assign(col="B", header="Location Code", owner=row_region[other]),
            "row.other_region",
            lambda r: (
                f"location '{r['location']}' (item {r['item']}) belongs to region "
                f"{r['owner']}, not {region}."
            ),
            f"Delete the row: region {region} submits only its own locations; the other "
            "region submits its own forecast.",
            what="rows",
        )
        a = m.assortment
        own = set(
            zip(
                a.loc[a["region"] == region, "item"],
                a.loc[a["region"] == region, "location"],
                strict=True,
            )
        )
        own_items = set(a.loc[a["region"] == region, "item"])
        pair_in = pd.Series(
            [p in own for p in zip(rows["item"], rows["location"], strict=True)],
            index=rows.index,
            dtype=bool,
        )
        cand = ok_key & ~unknown_item & known_loc & ~other & ~pair_in
        near = a[a["item"].isin(set(rows.loc[cand, "item"]))]  # few rows: only the candidates
        item_regions = near.groupby("item")["region"].agg(lambda s: ", ".join(sorted(set(s))))
        elsewhere = cand & ~rows["item"].isin(own_items) & rows["item"].isin(item_regions.index)
        _cell_findings(
            c,
            rows[elsewhere].assign(
                col="A", header="Item No.", owner=rows.loc[elsewhere, "item"].map(item_regions)
            ),
            "row.other_region_item",
            lambda r: f"item '{r['item']}' is planned by region {r['owner']}, not by {region}.",
            f"Delete the row. If {region} now sells this item, ask the demand planning lead to "
            "add it to your assortment and send a new template.",
            what="rows",
        )
        new_pair = cand & ~elsewhere
        _cell_findings(
            c,
            rows[new_pair].assign(col="A", header="Item No."),
            "row.new_pair",
            lambda r: (
                f"item '{r['item']}' at '{r['location']}' is not in {region}'s assortment "
                "yet; it was accepted as a new item x location."
            ),
            "Nothing to do if intended; otherwise delete the row.",
            what="rows",
        )
        dup = ok_key & rows.duplicated(["item", "location"], keep=False)
        if dup.any():
            d = rows[dup]
            first = d.groupby(["item", "location"])["row"].transform("min")
            later = d[d["row"] != first].assign(
                first=first[d["row"] != first], col="A", header="Item No."
            )
            _cell_findings(
                c,
                later,
                "row.duplicate",
                lambda r: (
                    f"item {r['item']} at {r['location']} appears again on row {r['row']} "
                    f"(first on row {r['first']}); it is not clear which one counts."
                ),
                "Keep one row per item and location; delete the other.",
                what="rows",
            )
        bad_rows |= unknown_item | unknown_loc | other | elsewhere | dup
    # --- cells --------------------------------------------------------------------------------
    ctx = lambda r: f"item {r['item']}, {r['location']}, {r['period']}"  # noqa: E731
    ec = cells[is_err].assign(err=err_vals[is_err])
    _cell_findings(
        c,
        ec,
        "value.error",
        lambda r: f"the cell holds the error value {r['err']} ({ctx(r)}).",
        "Replace the formula by the number itself (Copy, Paste Special > Values) and fix what "
        "it referred to.",
    )
    bt = cells[bad_text]

    def text_msg(r) -> str:
        v = r["value"]
        if isinstance(v, str) and v.lstrip().startswith("="):
            return f"'{_short(v)}' is text that looks like a formula, not a quantity ({ctx(r)})."
        if isinstance(v, bool):
            return f"{v} is a TRUE/FALSE value, not a quantity ({ctx(r)})."
        if isinstance(v, dt.date | dt.time | dt.timedelta):
            return f"{v} is a date or time, not a quantity ({ctx(r)})."
        return f"'{_short(v)}' is text, not a quantity ({ctx(r)})."

    _cell_findings(
        c,
        bt,
        "value.text",
        text_msg,
        "Type a number of units (digits only, e.g. 120), or leave the cell blank.",
    )
    _cell_findings(
        c,
        cells[num_text],
        "value.number_as_text",
        lambda r: (
            f"'{_short(r['value'])}' is a number stored as text; read as "
            f"{float(str(r['value']).replace(',', '')):,.0f} ({ctx(r)})."
        ),
        "Nothing to do; to avoid the warning, format the cells as numbers.",
    )
    neg = qty < 0
    _cell_findings(
        c,
        cells[neg].assign(q=qty[neg]),
        "value.negative",
        lambda r: f"{r['q']:,.0f} is negative ({ctx(r)}); a forecast is 0 or more units.",
        "Type 0 or a positive quantity; returns are not forecast here.",
    )
    # --- completeness and values --------------------------------------------------------------
    # Cells are keyed by integers (Excel row x horizon month index): no object-key merges.
    valid_row = rows.loc[~bad_rows, "row"] if len(rows) else pd.Series(dtype=int)
    ok_cells = in_h & cells["row"].isin(valid_row)
    values = cells.loc[ok_cells, ["item", "location", "period", "row"]].assign(
        quantity=qty[ok_cells].where(qty[ok_cells] >= 0)
    )
    values = values[values["item"].notna() & values["location"].notna()]
    vpos = cells.index.get_indexer(values.index)
    vkey = values["row"].to_numpy(dtype=np.int64) * 1024 + hcode[vpos]
    first = ~pd.Series(vkey).duplicated().to_numpy()  # a month column given twice: first wins
    values, vkey = values[first], vkey[first]
    pairs = m.region_pairs(region)
    expected = len(pairs) * len(horizon)
    rkey = pd.MultiIndex.from_arrays([rows["item"].astype(object), rows["location"].astype(object)])
    pkey = pd.MultiIndex.from_arrays(
        [pairs["item"].astype(object), pairs["location"].astype(object)]
    )
    expected_rows = set(rows.loc[rkey.isin(pkey), "row"])
    filled = int((values["row"].isin(expected_rows) & values["quantity"].notna()).sum())
    completeness = filled / expected if expected else (1.0 if len(values) else 0.0)
    total = float(values["quantity"].sum())
    c.stats = {
        "rows": len(rows),
        "filled": filled,
        "expected": expected,
        "completeness": completeness,
        "total": total,
    }
    if values["quantity"].notna().sum() == 0:
        _add(
            c,
            "completeness.empty",
            f"the submission holds no quantities for the horizon {horizon[0]} to {horizon[-1]}.",
            "Fill in the yellow cells of the Forecast sheet and send the file again.",
        )
    elif completeness < 1:
        _add(
            c,
            "completeness",
            f"{filled:,} of {expected:,} expected item x location x month "
            f"cells are filled ({completeness:.1%}); blank cells mean no forecast for that "
            "month in the consolidated plan.",
            "Fill in every yellow cell (type 0 when no demand is expected).",
        )
    miss = pairs[~pkey.isin(rkey)]
    if len(miss):
        shown = ", ".join(f"{i}@{loc}" for i, loc in miss.head(10).itertuples(index=False))
        _add(
            c,
            "completeness.missing_rows",
            f"{len(miss):,} item x location row(s) of "
            f"{region}'s assortment are not in the file ({shown}"
            f"{', ...' if len(miss) > 10 else ''}); they get no forecast for the horizon.",
            "Do not delete template rows; type 0 for items you expect no demand for.",
        )
    # --- change vs previous consensus ---------------------------------------------------------
    thr = m.settings.forecast_change_threshold_pct
    prev = previous[(previous["region"] == region) & previous["period"].isin(horizon)]
    prev = prev[prev["quantity"].notna()]
    uniq = ~rkey.duplicated()
    pos = rkey[uniq].get_indexer(
        pd.MultiIndex.from_arrays([prev["item"].astype(object), prev["location"].astype(object)])
    )
    prow = pd.Series(np.where(pos >= 0, rows["row"].to_numpy()[uniq][pos], -1), index=prev.index)
    prev = prev[(prow >= 0).to_numpy()]
    okey = prow[prow >= 0].to_numpy(dtype=np.int64) * 1024 + _codes(prev["period"], horizon)
    old_q = pd.Series(prev["quantity"].to_numpy(), index=okey)
    old_q = old_q[~old_q.index.duplicated()]
    cmp = values.assign(quantity_old=old_q.reindex(vkey).to_numpy())
    same = (cmp["quantity"] == cmp["quantity_old"]) | (
        cmp["quantity"].isna() & cmp["quantity_old"].isna()
    )
    removed = int((~pd.Index(okey).isin(vkey)).sum()) + int((prow < 0).sum())
    c.stats["changed"] = int((~same).sum()) + removed
    cmp = cmp[cmp["quantity"].notna() & cmp["quantity_old"].notna()]
    old, new = cmp["quantity_old"], cmp["quantity"]
    rel = (new - old).abs() / old.where(old > 0)
    flag = (rel > thr) | ((old == 0) & (new > 0))
    if flag.any():
        fl = cmp[flag].assign(delta=(new - old)[flag])
        fl = fl.iloc[np.argsort(-fl["delta"].abs().to_numpy(), kind="stable")]
        fl = fl.join(cells.loc[fl.index, ["col", "header"]])
        _cell_findings(
            c,
            fl,
            "change.review",
            lambda r: (
                f"{r['quantity']:,.0f} vs previous consensus {r['quantity_old']:,.0f} "
                + (
                    f"({r['delta'] / r['quantity_old']:+.0%})"
                    if r["quantity_old"] > 0
                    else "(was 0)"
                )
                + f" for {ctx(r)}: above the {thr:.0%} review threshold."
            ),
            "Review with the region: confirm the change (e.g. a promotion or a lost customer) "
            "before the consensus meeting.",
        )
    c.values = values[["item", "location", "period", "quantity"]].reset_index(drop=True)


def _codes(s: pd.Series, categories: list[str]) -> np.ndarray:
    """Position of each value in ``categories`` (-1 when absent), hash-based and vectorised."""
    return pd.Index(categories, dtype=object).get_indexer(s.astype(object)).astype(np.int64)


def _range_rows(ref: str) -> tuple[int, int]:
    nums = [int(x) for x in re.findall(r"\d+", ref)]
    return (min(nums), max(nums)) if nums else (0, 0)


def _ranges(rows: list[int], limit: int = 10) -> str:
    """[5, 6, 7, 9] -> 'rows 5-7, 9'."""
    out, start, prev = [], None, None
    for r in rows:
        if start is None:
            start = prev = r
        elif r == prev + 1:
            prev = r
        else:
            out.append(f"{start}-{prev}" if prev != start else str(start))
            start = prev = r
    if start is not None:
        out.append(f"{start}-{prev}" if prev != start else str(start))
    more = ", ..." if len(out) > limit else ""
    return "rows " + ", ".join(out[:limit]) + more


# --------------------------------------------------------------------------------------------
# The step
# --------------------------------------------------------------------------------------------
def _collect(book: Book, folder: Path | None, report: Path | None = None) -> list[Candidate]:
    cands: list[Candidate] = []
    master_path = getattr(book, "path", None)
    master_path = Path(master_path) if master_path else None
    if folder is not None:
        folder = Path(folder)
        if not folder.is_dir():
            raise StepError(
                f"the submission folder {folder} does not exist.",
                where=Location(file=str(folder)),
                fix="Create it and put the regions' workbooks in it, or pass --folder.",
            )
        excl = [p for p in (master_path, report) if p is not None]
        cands.extend(Candidate(p) for p in submission_files(folder, exclude=excl))
    if master_path is not None and master_path.is_file():
        info = getattr(book, "info", None)  # FileBook checked it when it opened it
        if info is None or Path(info.path) != master_path:
            try:
                info = check_workbook_file(master_path)
            except InputFileError:
                info = None
        if info is not None:
            for s in info.sheets:
                mt = re.fullmatch(r"Forecast_(.+)", s)
                if mt:
                    cands.append(Candidate(master_path, sheet=s, region=mt.group(1)))
    return cands


def _read(c: Candidate, m: MasterData, now: dt.datetime) -> None:
    try:
        info = check_workbook_file(c.path)
        c.sha256 = info.sha256
        if c.sheet:  # a regional sheet inside the master
            st = {"region": c.region, "cycle": m.settings.cycle, "version": 0, "submitted_at": None}
            c.region = None
            c.sub = read_submission(c.path, info=info, sheet=c.sheet, stamp=st)
        else:
            c.sub = read_submission(c.path, info=info)
    except InputFileError as exc:
        c.status, c.reason = "unreadable", exc.message
        c.findings.append(
            Finding(
                "error", exc.message, Location(file=str(c.path)), exc.fix or "", "file.unreadable"
            )
        )
        return
    except SopError as exc:
        c.status, c.reason = "unreadable", exc.message
        c.findings.append(
            Finding("error", exc.message, exc.where, exc.fix or "", "file.unreadable")
        )
        return
    except Exception as exc:
        c.status, c.reason = "unreadable", f"the workbook could not be read ({type(exc).__name__})."
        c.findings.append(
            Finding(
                "error",
                c.reason,
                Location(file=str(c.path)),
                "Open it in Excel, save it as .xlsx and submit again.",
                "file.unreadable",
            )
        )
        return
    if info.has_macros:
        _add(
            c,
            "file.macros",
            "macro-enabled workbook: it was read as data only; its macros were not run.",
            "Save as 'Excel Workbook (*.xlsx)' next time.",
            sheet=False,
        )
    _identify(c, m, now)
    if c.sheet:
        c.received_from = "master sheet"


def consolidate(
    book: Book,
    folder: Path | None,
    *,
    dry_run: bool = False,
    received_by: str = "",
    now: dt.datetime | None = None,
    report_path: Path | None = None,
) -> ConsolidationResult:
    """Validate the regional submissions and consolidate them into the consensus Forecast.

    See the module docstring for the steps. Nothing is written when ``dry_run`` except the report;
    otherwise one ``book.write`` writes Forecast, Validation, Submissions and Consolidation, all
    or nothing. Input files are never modified.
    """
    now = (now or dt.datetime.now()).replace(microsecond=0, tzinfo=None)
    run_by = received_by or _user()
    book.progress("Reading the master workbook", 0.02)
    m = load_master(book, history=False)
    settings, horizon = m.settings, m.horizon
    previous = _normalise_forecast(m.forecast)
    cands = _collect(book, folder, Path(report_path) if report_path else None)
    findings: list[Finding] = []
    n = max(len(cands), 1)
    for i, c in enumerate(cands):
        book.progress(f"Checking {c.name}", 0.05 + 0.45 * i / n)
        _read(c, m, now)

    # --- duplicates, cutoff, versions ---------------------------------------------------------
    readable = [c for c in cands if c.sub is not None and c.status == ""]
    by_hash: dict[str, Candidate] = {}
    for c in readable:
        if c.sheet or not c.sha256:
            continue
        first = by_hash.setdefault(c.sha256, c)
        if first is not c:
            c.status, c.reason = "duplicate", f"same content as {first.name}"
            _add(
                c,
                "file.duplicate",
                f"identical to {first.name} (same SHA-256 "
                f"{c.sha256[:12]}...); counted once, this copy was ignored.",
                "Nothing to do; send each version once.",
                sheet=False,
            )
    for c in readable:
        if c.status:
            continue
        if c.region is None:
            c.status, c.reason = "rejected", "region unknown (stamp)"
            continue
        c.late = c.received_at is not None and c.received_at > settings.forecast_cutoff
        if c.late:
            reject = settings.late_submission_policy == "reject"
            _add(
                c,
                "cutoff.late",
                f"received {c.received_at:%Y-%m-%d %H:%M} (from the "
                f"{c.received_from}), after the cutoff {settings.forecast_cutoff:%Y-%m-%d %H:%M}"
                + (
                    "; ignored under the late-submission policy 'reject'."
                    if reject
                    else "; accepted under the late-submission policy 'accept' and flagged."
                ),
                "Submit before the cutoff; the demand planning lead decides whether a late "
                "file counts (Settings: Late submission policy).",
                severity="error" if reject else "warning",
                sheet=False,
            )
            if reject:
                c.status, c.reason = "late (ignored)", "received after the cutoff"
    chosen: dict[str, Candidate] = {}
    for region in sorted({c.region for c in readable if c.region and not c.status}):
        group = [c for c in readable if c.region == region and not c.status]
        group.sort(key=lambda c: (c.version, c.received_at or dt.datetime.min, c.name))
        win = group[-1]
        chosen[region] = win
        for c in group[:-1]:
            c.status = "superseded"
            c.reason = f"superseded by {win.name} (version {win.version})"
            tie = c.version == win.version and c.received_at == win.received_at
            if tie:
                _add(
                    c,
                    "version.tie",
                    f"same Submission Version {c.version} and Submitted At as "
                    f"{win.name}; {win.name} was used (file name order).",
                    "Ask the region which file is final and have them resend it with a higher "
                    "Submission Version.",
                    sheet=False,
                )
            else:
                _add(
                    c,
                    "version.superseded",
                    f"version {c.version} received "
                    f"{c.received_at:%Y-%m-%d %H:%M} is superseded by {win.name} (version "
                    f"{win.version}, {win.received_at:%Y-%m-%d %H:%M}).",
                    "Nothing to do.",
                    sheet=False,
                )

    # --- validate the chosen ones -------------------------------------------------------------
    accepted: dict[str, Candidate] = {}
    prev_h = previous[previous["period"].isin(horizon)]
    prev_by_region = dict(tuple(prev_h.groupby("region", sort=False))) if len(prev_h) else {}
    for i, (region, c) in enumerate(sorted(chosen.items())):
        book.progress(f"Validating {region}", 0.5 + 0.3 * i / max(len(chosen), 1))
        validate(c, m, prev_by_region.get(region, prev_h.iloc[:0]))
        if c.errors:
            c.status = "rejected"
            c.reason = f"{c.errors} error(s); previous consensus kept"
        else:
            c.status, c.reason = "accepted", "late but accepted" if c.late else ""
            accepted[region] = c
    for c in readable:
        if c.status == "":  # pragma: no cover - every readable candidate got a status
            c.status = "rejected"
    for c in cands:
        findings.extend(c.findings)

    # --- region-level findings ----------------------------------------------------------------
    prev_tot = previous.groupby("region")["quantity"].sum()
    prev_rows = previous.groupby("region").size()
    for region in m.region_codes:
        if region in accepted:
            continue
        kept = f"{int(prev_rows.get(region, 0)):,} rows, {prev_tot.get(region, 0.0):,.0f} units"
        if region in chosen:
            c = chosen[region]
            findings.append(
                Finding(
                    "info",
                    f"region {region} rejected ({c.errors} error(s) in {c.name}): its "
                    f"previous consensus is kept ({kept}).",
                    Location(file=str(c.path)),
                    f"Send the Validation sheet to {region}'s planner; "
                    "consolidate again when the corrected file arrives.",
                    "region.rejected",
                )
            )
        else:
            findings.append(
                Finding(
                    "warning",
                    f"no usable submission from region {region}: its previous consensus "
                    f"is kept ({kept}).",
                    Location(),
                    f"Remind {region}'s planner of the cutoff "
                    f"{settings.forecast_cutoff:%Y-%m-%d %H:%M}.",
                    "region.missing",
                )
            )

    # --- consolidate --------------------------------------------------------------------------
    book.progress("Consolidating", 0.82)
    forecast = build_forecast(previous, accepted, horizon)
    submissions = _submissions_frame(cands, m, previous, accepted)
    audit_new = _audit_rows(book, m, previous, forecast, cands, chosen, accepted, now, run_by)
    ok = not any(f.severity == "error" for f in findings)
    report = findings_frame(findings)
    summary = _summary(m, accepted, chosen, findings, previous, forecast, dry_run)
    title = [
        f"Consolidation report — cycle {settings.cycle} — {now:%Y-%m-%d %H:%M} — {run_by}",
        summary,
    ]
    report_outputs = [
        SheetOutput(
            VALIDATION_REPORT,
            report,
            title=title,
            conditional_formats=severity_formats(),
            tab_color=RED_FILL if not ok else GREEN_FILL,
        ),
        SheetOutput(
            SUBMISSIONS, submissions, title=title[:1], conditional_formats=_status_formats()
        ),
    ]
    outputs: list[SheetOutput] = []
    audit_all = _existing_audit(book, audit_new, strict=not dry_run)
    audit_new = audit_all.tail(len(audit_new)).reset_index(drop=True)
    if not dry_run:
        if accepted:
            outputs.append(SheetOutput(FORECAST, forecast))
        outputs.extend(report_outputs)
        outputs.append(
            SheetOutput(CONSOLIDATION, audit_all, title=["Consolidation audit trail (append-only)"])
        )
    elif report_path is None:
        outputs.extend(report_outputs)
    if report_path is not None:
        book.progress(f"Writing report {Path(report_path).name}", 0.9)
        write_report_workbook(Path(report_path), report_outputs)
    if outputs:
        book.progress("Writing the master workbook", 0.92)
        book.write(outputs)
    book.progress("Done", 1.0)
    return ConsolidationResult(
        findings=findings,
        submissions=submissions,
        accepted=accepted,
        forecast=forecast,
        audit=audit_new,
        outputs=outputs,
        summary=summary,
        ok=ok,
        dry_run=dry_run,
        report_path=Path(report_path) if report_path else None,
        candidates=cands,
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""


def _normalise_forecast(f: pd.DataFrame) -> pd.DataFrame:
    """The master Forecast in engine columns with text ids and one source/version per key."""
    cols = [c.name for c in FORECAST.long_columns]
    f = f.reindex(columns=cols).copy()
    for c in ("region", "item", "location", "source", "version", "period"):
        f[c] = f[c].astype(object)
    f["source"] = f["source"].where(f["source"].notna(), "master")
    f["version"] = text_codes(f["version"])
    f["version"] = f["version"].where(f["version"].notna(), "")
    f["quantity"] = pd.to_numeric(f["quantity"], errors="coerce").astype(float)
    return f.reset_index(drop=True)


def _pair_key(df: pd.DataFrame, *cols: str) -> pd.Series:
    """One text key per row from id columns (fast, no multi-column factorisation)."""
    key = df[cols[0]].astype(str)
    for c in cols[1:]:
        key = key + "\x1f" + df[c].astype(str)
    return key


def build_forecast(
    previous: pd.DataFrame, accepted: dict[str, Candidate], horizon: list[str]
) -> pd.DataFrame:
    """Consolidated Forecast (long): accepted regions' submissions over the horizon, plus the
    previous rows outside the horizon and of regions not accepted.

    Each item x location key keeps one Source/Version: a key of an accepted region takes its
    submission's file name and version for all its months. Regions come in sorted order; the
    rows of a region not accepted keep their previous order, an accepted region's rows are
    sorted by item, location and period.
    """
    cols = [c.name for c in FORECAST.long_columns]
    groups = dict(tuple(previous.groupby("region", sort=False))) if len(previous) else {}
    parts = []
    for region in sorted(set(groups) | set(accepted)):
        prev = groups.get(region, previous.iloc[:0])
        c = accepted.get(region)
        if c is None:
            parts.append(prev[cols])
            continue
        past = prev[~prev["period"].isin(horizon)]
        v = (
            c.values
            if c.values is not None
            else previous.iloc[:0][["item", "location", "period", "quantity"]]
        )
        if len(past) and len(v):
            # one source/version per key: past months of re-submitted keys take the new stamp
            sel = _pair_key(past, "item", "location").isin(set(_pair_key(v, "item", "location")))
            past = past.assign(
                source=past["source"].where(~sel, c.name),
                version=past["version"].where(~sel, str(c.version)),
            )
        new = v.assign(region=region, source=c.name, version=str(c.version))[cols]
        both = pd.concat([past[cols], new], ignore_index=True)
        parts.append(both.sort_values(["item", "location", "period"], kind="stable"))
    if not parts:
        return previous.iloc[:0][cols].reset_index(drop=True)
    out = pd.concat(parts, ignore_index=True)
    out["quantity"] = out["quantity"].astype(float)
    return out


def _submissions_frame(cands, m: MasterData, previous, accepted) -> pd.DataFrame:
    horizon = m.horizon
    ph = previous[previous["period"].isin(horizon)].groupby("region")["quantity"].sum()
    recs = []
    seen = set()
    for c in cands:
        region = (
            c.region
            or (c.sub.stamp.get("region") if c.sub else None)
            or _guess_region(c.path, m.region_codes)
        )
        seen.add(c.region)
        total = c.stats.get("total") if c.stats else None
        cons = ph.get(c.region) if c.region else None
        recs.append(
            {
                "region": None if region is None else str(region),
                "status": c.status or "rejected",
                "reason": c.reason or None,
                "file": c.name,
                "submitted_by": c.submitted_by or None,
                "version": c.version if c.sub is not None else None,
                "received_at": c.received_at,
                "received_from": c.received_from or None,
                "late": ("yes" if c.late else "no") if c.received_at else None,
                "sha256": c.sha256 or None,
                "rows": c.stats.get("rows") if c.stats else None,
                "completeness": c.stats.get("completeness") if c.stats else None,
                "errors": c.errors,
                "warnings": c.warnings,
                "total_qty": total,
                "consensus_qty": cons,
                "change_pct": (total / cons - 1) if total is not None and cons else None,
            }
        )
    for region in m.region_codes:
        if region not in seen:
            recs.append(
                {
                    "region": region,
                    "status": "missing",
                    "reason": "no submission; previous consensus kept",
                    "consensus_qty": ph.get(region),
                    "errors": 0,
                    "warnings": 0,
                }
            )
    df = pd.DataFrame(recs, columns=SUBMISSIONS.names)
    df = df.astype(
        {
            c: object
            for c in (
                "region",
                "status",
                "reason",
                "file",
                "submitted_by",
                "received_from",
                "late",
                "sha256",
            )
        }
    )
    df["received_at"] = pd.to_datetime(df["received_at"])
    for c in ("version", "rows", "errors", "warnings"):
        df[c] = df[c].astype("Int64")
    for c in ("completeness", "total_qty", "consensus_qty", "change_pct"):
        df[c] = pd.to_numeric(df[c]).astype(float)
    return df.sort_values(["region", "status"], kind="stable", na_position="last").reset_index(
        drop=True
    )


def _guess_region(path: Path, codes: list[str]) -> str | None:
    tokens = {t.upper() for t in re.split(r"[^A-Za-z0-9]+", path.stem) if t}
    hits = [c for c in codes if c.upper() in tokens]
    return hits[0] if len(hits) == 1 else None


def _audit_rows(book, m, previous, forecast, cands, chosen, accepted, now, run_by):
    before = previous.groupby("region", sort=False)["quantity"].sum()
    after = forecast.groupby("region", sort=False)["quantity"].sum()
    # Only accepted regions change; validate() counted their changed cells.
    changed_by_region = {r: c.stats.get("changed", 0) for r, c in accepted.items()}
    recs = []
    regions = list(dict.fromkeys([*m.region_codes, *chosen]))
    for region in regions:
        c = accepted.get(region) or chosen.get(region)
        status = c.status if c else "missing"
        note = c.reason if c else "no submission"
        recs.append(
            {
                "run": 0,
                "run_at": now,
                "run_by": run_by or None,
                "cycle": m.settings.cycle,
                "region": region,
                "status": status,
                "file": c.name if c else None,
                "sha256": c.sha256 if c else None,
                "version": c.version if c else None,
                "submitted_by": (c.submitted_by or None) if c else None,
                "received_at": c.received_at if c else None,
                "total_before": float(before.get(region, 0.0)),
                "total_after": float(after.get(region, 0.0)),
                "changed_rows": int(changed_by_region.get(region, 0)),
                "note": note or None,
            }
        )
    df = pd.DataFrame(recs, columns=CONSOLIDATION.names)
    df["run_at"] = pd.to_datetime(df["run_at"])
    df["received_at"] = pd.to_datetime(df["received_at"])
    for c in ("run", "version", "changed_rows"):
        df[c] = df[c].astype("Int64")
    for c in ("run_by", "cycle", "region", "status", "file", "sha256", "submitted_by", "note"):
        df[c] = df[c].astype(object)
    return df


def _existing_audit(book: Book, new: pd.DataFrame, *, strict: bool = True) -> pd.DataFrame:
    """Existing audit rows + this run's (numbered max(run) + 1). Never drops old rows: if the
    audit sheet exists but cannot be read, the step stops before writing anything."""
    old = None
    if book.has_table(CONSOLIDATION):
        try:
            old = book.read_table(CONSOLIDATION)
        except SopError as exc:
            if not strict:
                return new.assign(run=pd.array([1] * len(new), dtype="Int64"))
            raise StepError(
                f"the existing audit trail (sheet '{CONSOLIDATION.sheet}') cannot be read, so a "
                f"new run cannot be appended without losing it: {exc}",
                where=Location(file=book.name, sheet=CONSOLIDATION.sheet),
                fix="Restore the audit sheet from the last snapshot or fix the cell named above; "
                "nothing was written.",
            ) from exc
    run = 1
    if old is not None and len(old):
        run = int(pd.to_numeric(old["run"], errors="coerce").max() or 0) + 1
    new = new.assign(run=pd.array([run] * len(new), dtype="Int64"))
    if old is None or old.empty:
        return new
    old = old.reindex(columns=new.columns)
    return pd.concat([old.astype(new.dtypes.to_dict(), errors="ignore"), new], ignore_index=True)


def _summary(m, accepted, chosen, findings, previous, forecast, dry_run) -> str:
    n_err = sum(f.severity == "error" for f in findings)
    n_warn = sum(f.severity == "warning" for f in findings)
    regions = m.region_codes
    rejected = sorted(r for r in chosen if r not in accepted)
    missing = sorted(r for r in regions if r not in chosen)
    before = previous["quantity"].sum()
    after = forecast["quantity"].sum()
    change = f" ({after / before - 1:+.1%} vs previous)" if before else ""
    parts = [
        f"{'Dry run: would consolidate' if dry_run else 'Consolidated'} "
        f"{len(accepted)} of {len(regions)} regions"
    ]
    if rejected:
        parts.append(f"rejected: {', '.join(rejected)}")
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    parts.append(f"{n_err} error(s), {n_warn} warning(s)")
    parts.append(f"forecast total {after:,.0f} units{change}")
    return "; ".join(parts) + "."


def _status_formats() -> list:
    return [
        CellRule("status", "equal", ('"accepted"',), fill=GREEN_FILL, font=GREEN_FONT),
        CellRule("status", "equal", ('"rejected"',), fill=RED_FILL, font=RED_FONT, bold=True),
        CellRule("status", "equal", ('"unreadable"',), fill=RED_FILL, font=RED_FONT),
        CellRule("status", "equal", ('"missing"',), fill=AMBER_FILL, font=AMBER_FONT, bold=True),
        CellRule("status", "equal", ('"late (ignored)"',), fill=AMBER_FILL, font=AMBER_FONT),
        CellRule("status", "equal", ('"superseded"',), fill=GREY_FILL, font=GREY_FONT),
        CellRule("status", "equal", ('"duplicate"',), fill=GREY_FILL, font=GREY_FONT),
    ]


# --------------------------------------------------------------------------------------------
# Standalone report workbook
# --------------------------------------------------------------------------------------------
def write_report_workbook(path: Path, outputs: list[SheetOutput]) -> Path:
    """A standalone report (Validation + Submissions) written with openpyxl: text cells as text
    (never formulas), number formats from the schema, severity/status highlighted, temp file +
    atomic rename."""
    from openpyxl import Workbook
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table as XlTable
    from openpyxl.worksheet.table import TableStyleInfo

    wb = Workbook()
    wb.remove(wb.active)
    for out in outputs:
        ws = wb.create_sheet(out.sheet)
        for i, line in enumerate(out.title, start=1):
            c = ws.cell(i, 1)
            c.value, c.data_type = str(line), "s"
            c.font = Font(bold=(i == 1), size=14 if i == 1 else 11)
        hr = out.header_row
        cols = out.table.columns
        for j, col in enumerate(cols, start=1):
            c = ws.cell(hr, j)
            c.value, c.data_type = col.header, "s"
            c.font = Font(bold=True)
            ws.column_dimensions[get_column_letter(j)].width = (
                60 if col.name in ("message", "fix", "reason") else 16
            )
        df = out.df.reindex(columns=[c.name for c in cols])
        data = df.astype(object).where(df.notna(), None).to_numpy()
        for i, rec in enumerate(data, start=hr + 1):
            for j, (col, v) in enumerate(zip(cols, rec, strict=True), start=1):
                if v is None:
                    continue
                c = ws.cell(i, j)
                if col.dtype in (schema.Dtype.TEXT, schema.Dtype.PERIOD):
                    c.value, c.data_type = str(v), "s"
                else:
                    c.value = v.to_pydatetime() if isinstance(v, pd.Timestamp) else v
                    c.number_format = col.number_format
        last = hr + max(len(df), 1)
        ref = f"A{hr}:{get_column_letter(len(cols))}{last}"
        t = XlTable(displayName=out.table.name, ref=ref)
        t.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        ws.add_table(t)
        for rule in out.conditional_formats:
            if isinstance(rule, CellRule):
                j = [c.name for c in cols].index(rule.column) + 1
                letter = get_column_letter(j)
                ws.conditional_formatting.add(
                    f"{letter}{hr + 1}:{letter}{last}",
                    CellIsRule(
                        operator=rule.operator,
                        formula=list(rule.values),
                        fill=PatternFill("solid", fgColor=rule.fill) if rule.fill else None,
                        font=Font(color=rule.font, bold=rule.bold) if rule.font else None,
                    ),
                )
        ws.freeze_panes = ws.cell(hr + 1, 1)
    return save_new_workbook(wb, path)


# --------------------------------------------------------------------------------------------
# Demo support
# --------------------------------------------------------------------------------------------
HYPERLINK_TEXT = '=HYPERLINK("http://example.invalid","click")'


def write_demo_submissions(
    book: Book,
    folder: Path,
    submissions: dict[str, pd.DataFrame],
    *,
    bad_region: str,
    version: int = 2,
) -> list[Path]:
    """One submission file per region (``<REGION>_forecast_v<N>.xlsx``), submitted before the
    cutoff, plus an older version 1 of the first good region's file (so version resolution shows)
    and, in ``bad_region``'s file, the mistakes real submitters make: text in a quantity cell,
    a negative quantity, an unknown item, a duplicate row, an item of another region, a ``#REF!``
    error value, ``=HYPERLINK(...)`` typed as text and a blank Location Code."""
    from openpyxl import load_workbook

    m = load_master(book)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = m.settings.forecast_cutoff
    planners = m.regions.set_index("region")["planner"].to_dict() if "planner" in m.regions else {}
    paths: list[Path] = []
    regions = sorted(submissions)
    for k, region in enumerate(regions):
        who = str(planners.get(region) or f"{region} planner")
        at = cutoff - dt.timedelta(hours=20 - k)
        p = folder / f"{region}_forecast_v{version}.xlsx"
        write_regional_template(
            book,
            region,
            p,
            forecast=submissions[region],
            submitted_by=who,
            version=version,
            submitted_at=at,
            master=m,
        )
        paths.append(p)
    good = [r for r in regions if r != bad_region]
    if good:
        r0 = good[0]
        older = submissions[r0].assign(quantity=submissions[r0]["quantity"] * 0.9)
        p = folder / f"{r0}_forecast_v1.xlsx"
        who = str(planners.get(r0) or f"{r0} planner")
        write_regional_template(
            book,
            r0,
            p,
            forecast=older,
            submitted_by=who,
            version=1,
            submitted_at=cutoff - dt.timedelta(days=3),
            master=m,
        )
        paths.append(p)
    if bad_region in submissions:
        bad = folder / f"{bad_region}_forecast_v{version}.xlsx"
        other_items = m.assortment[m.assortment["region"] != bad_region]
        own = set(m.assortment.loc[m.assortment["region"] == bad_region, "item"])
        foreign = other_items.loc[~other_items["item"].isin(own), "item"]
        wb = load_workbook(bad)
        ws = wb[GRID.sheet]
        hr = 4
        first, last = hr + 1, ws.max_row
        width = ws.max_column
        n = last - first + 1
        if n >= 1 and width >= 7:
            loc = ws.cell(first, 2).value
            dup = [ws.cell(first, j).value for j in range(1, width + 1)]
            ws.cell(first, 4).value = "12O"  # letter O instead of zero
            ws.cell(first + 1 % n, 5).value = -50
            ws.cell(first + 2 % n, 6).value = "#REF!"  # openpyxl writes an error value (t="e")
            c = ws.cell(first + 3 % n, 7)
            c.value, c.data_type = HYPERLINK_TEXT, "s"
            extra = [
                ["ZZ-UNKNOWN", loc, "Unknown item", *[10.0] * (width - 3)],
                dup,  # the first row again: a duplicate key
                [dup[0], None, dup[2], *dup[3:]],  # blank Location Code with quantities
            ]
            if len(foreign):  # an item only another region plans
                extra.append(
                    [str(foreign.iloc[0]), loc, "Another region's item", *[5.0] * (width - 3)]
                )
            elif len(other_items):  # every region plans every item: another region's location
                o = other_items.iloc[0]
                extra.append(
                    [
                        str(o["item"]),
                        str(o["location"]),
                        "Another region's location",
                        *[5.0] * (width - 3),
                    ]
                )
            for k, rec in enumerate(extra, start=last + 1):
                for j, v in enumerate(rec, start=1):
                    cell = ws.cell(k, j)
                    cell.value = v
                    if isinstance(v, str):
                        cell.data_type = "s"
            t = ws.tables[GRID.name]
            t.ref = f"A{hr}:{t.ref.split(':')[1].rstrip('0123456789')}{ws.max_row}"
        wb.save(bad)
    return paths


__all__ = [
    "RULES",
    "Candidate",
    "ConsolidationResult",
    "build_forecast",
    "consolidate",
    "findings_frame",
    "submission_files",
    "validate",
    "write_demo_submissions",
    "write_report_workbook",
]
