"""Validation rules of a regional submission: pure functions, one per rule group.

Each rule has an id in :data:`RULES` (documented in ``docs/consolidation.md``), a severity
("error" rejects the region) and, for each finding, a message naming file, sheet and cell and a
fix. The rule groups, run in this order by :func:`validate`:

- :func:`check_structure` - merged cells, hidden rows and columns of the grid;
- :func:`check_periods` - month columns outside the horizon, missing horizon months;
- :func:`check_rows` - blank keys, unknown items/locations, rows of another region, duplicates;
- :func:`check_cells` - error values, text, numbers stored as text, negative quantities;
- :func:`check_completeness` - filled share of the region's expected cells; the valid values;
- :func:`check_change` - cells that moved more than the review threshold vs the consensus;

plus :func:`region_findings` (missing and rejected regions) after every region was judged.
This module imports only the model, the errors, numpy and pandas (the submission and master
types are for type hints only): it reads no file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sop_xl.errors import Finding, Location
from sop_xl.model.schema import REGIONAL_SUBMISSION

#: The quantity column of a submission grid (its sane bound is the schema's).
QUANTITY = REGIONAL_SUBMISSION.value

if TYPE_CHECKING:  # pragma: no cover - type hints only
    from collections.abc import Callable

    from sop_xl.consolidate.submission import MasterData, Submission


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
    "value.out_of_range": ("error", "Infinity, NaN or a number beyond the column's sane bound."),
    "value.too_long": ("error", "A text longer than an Excel cell holds (32,767 characters)."),
    "value.external_link": ("warning", "A value copied from another workbook (external link)."),
    "value.two_values": ("error", "A cell written with two values: programs read it differently."),
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


# --------------------------------------------------------------------------------------------
# Finding helpers
# --------------------------------------------------------------------------------------------
def location_of(c: Candidate, *, row=None, column=None, cell=None, sheet=True) -> Location:
    """Where a finding of ``c`` points: its file, its grid sheet (unless ``sheet=False``)."""
    return Location(
        file=str(c.path),
        sheet=(c.sub.sheet if c.sub else c.sheet) if sheet else None,
        table=None,
        row=None if row is None else int(row),
        column=column,
        cell=cell,
    )


def add_finding(
    c: Candidate, rule: str, message: str, fix: str, severity: str | None = None, **where
) -> None:
    """Append the finding of ``rule`` (its severity unless ``severity`` is given) to ``c``."""
    c.findings.append(
        Finding(severity or RULES[rule][0], message, location_of(c, **where), fix, rule)
    )


def short(v: object, n: int = 60) -> str:
    """``v`` as text of at most ``n`` characters (quoted in messages)."""
    text = str(v)
    return text if len(text) <= n else text[: n - 3] + "..."


def cell_findings(
    c: Candidate,
    bad: pd.DataFrame,
    rule: str,
    message: Callable[[dict], str],
    fix: str,
    severity: str | None = None,
    what: str = "cells",
) -> None:
    """One finding per bad cell (first MAX_PER_RULE), then one line counting the rest."""
    if bad.empty:
        return
    for rec in bad.head(MAX_PER_RULE).to_dict("records"):
        cell = f"{rec['col']}{rec['row']}" if rec.get("col") else None
        add_finding(
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
        add_finding(
            c,
            rule,
            f"... and {len(bad) - MAX_PER_RULE:,} more {what} with the same problem "
            f"({len(bad):,} in all).",
            fix,
            severity,
        )


# --------------------------------------------------------------------------------------------
# Validation of one submission
# --------------------------------------------------------------------------------------------
@dataclass
class CellKinds:
    """What each grid cell holds: the quantity read from it and its kind (masks on the cells)."""

    qty: pd.Series  # float: the number (or number-as-text); NaN otherwise
    is_err: pd.Series  # an error value (#REF!, ...)
    err_vals: pd.Series  # the error value's text, None elsewhere
    num_text: pd.Series  # a number stored as text
    bad_text: pd.Series  # text, a date, a TRUE/FALSE: not a quantity
    absurd: pd.Series  # inf or a number beyond the quantity column's bound
    has_value: pd.Series  # not blank (error values count)
    in_h: pd.Series  # the cell's month is in the horizon
    hcode: np.ndarray  # the cell's horizon month index (-1 outside)


def classify_cells(sub: Submission, horizon: list[str]) -> CellKinds:
    """Sort every grid cell of ``sub`` into number / number as text / text / error / blank."""
    cells = sub.cells
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
    # inf, 1E+308 (typed or as text): never a quantity; the bound is the schema's
    absurd = qty.notna() & ~(qty.abs() <= QUANTITY.bound)
    num_text &= ~absurd
    bad_text = (text & ~num_text & ~absurd) | (~is_num & ~is_str & ~blank & ~is_err)
    hpos = np.array([horizon.index(p) if p in horizon else -1 for p in sub.periods] or [-1])
    hcode = hpos[cells["pcol"].to_numpy(dtype=np.int64)] if len(cells) else np.empty(0, np.int64)
    return CellKinds(
        qty=qty.where(~absurd),
        absurd=absurd,
        is_err=is_err,
        err_vals=err_vals,
        num_text=num_text,
        bad_text=bad_text,
        has_value=~blank | is_err,
        in_h=pd.Series(hcode >= 0, index=cells.index),
        hcode=hcode,
    )


def check_structure(c: Candidate) -> None:
    """Rules ``grid.merged``, ``grid.hidden_rows``, ``grid.hidden_columns`` (warnings) and
    ``value.two_values`` (an error)."""
    sub = c.sub
    hr = sub.header_row or 0
    for ref in sub.two_values[:MAX_PER_RULE]:
        add_finding(
            c,
            "value.two_values",
            f"cell {ref} is written with two values, which no program does: Excel, LibreOffice "
            "and sop_xl may each show a different one, so this file was not used.",
            "Open the file in Excel, type the cell's value again, save it and submit it again.",
            cell=ref,
        )
    if len(sub.two_values) > MAX_PER_RULE:
        add_finding(
            c,
            "value.two_values",
            f"{len(sub.two_values) - MAX_PER_RULE} more cell(s) are written with two values.",
            "Save a clean copy from Excel and submit that.",
        )
    merged = [r for r in sub.merged if _range_rows(r)[1] >= hr]
    for rng in merged[:MAX_PER_RULE]:
        add_finding(
            c,
            "grid.merged",
            f"cells {rng} are merged; only the top-left cell's value is read.",
            "Unmerge the cells (Home > Merge & Center > Unmerge) and type a value in each.",
            cell=rng,
        )
    hidden = sorted(r for r in sub.hidden_rows if r > hr)
    if hidden:
        add_finding(
            c,
            "grid.hidden_rows",
            f"{len(hidden)} row(s) of the grid are hidden "
            f"({_ranges(hidden)}); their values were read and count.",
            "Unhide all rows (select all, right-click a row header > Unhide) and check them.",
            row=hidden[0],
        )
    hcols = sorted(set(sub.hidden_cols))
    if hcols:
        add_finding(
            c,
            "grid.hidden_columns",
            f"column(s) {', '.join(hcols[:10])} are hidden; their values were read and count.",
            "Unhide all columns and check them.",
        )


def check_periods(c: Candidate, horizon: list[str], k: CellKinds) -> None:
    """Rules ``period.outside_horizon`` (error when the column holds values) and
    ``period.missing``."""
    sub = c.sub
    cells, hr = sub.cells, sub.header_row or 0
    outside = cells[~k.in_h]
    for p, g in outside.groupby("period", sort=True):
        filled = k.has_value[g.index]
        col = g["col"].iloc[0]
        if filled.any():
            add_finding(
                c,
                "period.outside_horizon",
                f"month {p} (column {col}) is outside the horizon "
                f"{horizon[0]} to {horizon[-1]} and holds {int(filled.sum())} value(s).",
                "Delete this column's values; enter only the horizon months of this cycle.",
                cell=f"{col}{hr}",
                column=str(g["header"].iloc[0]),
            )
        else:
            add_finding(
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
        add_finding(
            c,
            "period.missing",
            f"horizon month(s) {', '.join(missing_p)} have no column; those months count as blank.",
            "Restore the month columns from the template.",
            row=hr,
        )


def check_rows(c: Candidate, m: MasterData, k: CellKinds) -> tuple[pd.DataFrame, pd.Series]:
    """Rules ``row.*``: blank keys, unknown items and locations, rows of another region, new
    item x location pairs, duplicate keys. Returns the rows (with ``has_value``) and the mask of
    rows whose values are not used."""
    sub, region = c.sub, c.region
    cells, rows = sub.cells, sub.rows
    key_cols_ok = not any(
        f.rule in ("columns.missing", "columns.renamed") and f.severity == "error"
        for f in sub.findings
    )
    row_has_value = k.has_value.groupby(cells["row"]).any() if len(cells) else pd.Series(dtype=bool)
    rows = rows.assign(has_value=rows["row"].map(row_has_value).fillna(False).astype(bool))
    bad_rows = pd.Series(False, index=rows.index)
    if not (key_cols_ok and len(rows)):
        return rows, bad_rows
    blank_key = rows["item"].isna() | rows["location"].isna()
    br = rows[blank_key & (rows["has_value"] | rows["item"].notna() | rows["location"].notna())]
    cell_findings(
        c,
        br.assign(col=None, header=None),
        "row.blank_key",
        lambda r: (
            f"row {r['row']} has "
            + ("no Item No." if r["item"] is None else "no Location Code")
            + f" ({short(r['item'] or r['location'] or '')}) but holds quantities."
        ),
        "Fill in the missing Item No. / Location Code, or delete the row.",
        what="rows",
    )
    bad_rows |= blank_key
    loc_region = m.location_region()
    known_items = set(m.items["item"].dropna())
    ok_key = ~blank_key
    unknown_item = ok_key & ~rows["item"].isin(known_items)
    cell_findings(
        c,
        rows[unknown_item].assign(col="A", header="Item No."),
        "row.unknown_item",
        lambda r: f"item '{short(r['item'])}' is not in the Items table.",
        "Check the item number (use the template's rows) or ask the demand planning lead "
        "to add the item to the master first.",
        what="rows",
    )
    known_loc = rows["location"].isin(loc_region.index)
    unknown_loc = ok_key & ~known_loc
    cell_findings(
        c,
        rows[unknown_loc].assign(col="B", header="Location Code"),
        "row.unknown_location",
        lambda r: f"location '{short(r['location'])}' is not in the Locations table.",
        "Use a location code of your region (see the template's rows).",
        what="rows",
    )
    row_region = rows["location"].map(loc_region)
    other = ok_key & known_loc & (row_region != region)
    cell_findings(
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
    cell_findings(
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
    cell_findings(
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
        cell_findings(
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
    return rows, bad_rows


def check_cells(c: Candidate, k: CellKinds) -> None:
    """Rules ``value.error``, ``value.text``, ``value.number_as_text``, ``value.negative``."""
    cells = c.sub.cells
    is_err, err_vals, bad_text, num_text, qty = k.is_err, k.err_vals, k.bad_text, k.num_text, k.qty
    ec = cells[is_err].assign(err=err_vals[is_err])
    cell_findings(
        c,
        ec,
        "value.error",
        lambda r: f"the cell holds the error value {r['err']} ({_ctx(r)}).",
        "Replace the formula by the number itself (Copy, Paste Special > Values) and fix what "
        "it referred to.",
    )
    bt = cells[bad_text]

    def text_msg(r) -> str:
        v = r["value"]
        if isinstance(v, str) and v.lstrip().startswith("="):
            return f"'{short(v)}' is text that looks like a formula, not a quantity ({_ctx(r)})."
        if isinstance(v, bool):
            return f"{v} is a TRUE/FALSE value, not a quantity ({_ctx(r)})."
        if isinstance(v, dt.date | dt.time | dt.timedelta):
            return f"{v} is a date or time, not a quantity ({_ctx(r)})."
        return f"'{short(v)}' is text, not a quantity ({_ctx(r)})."

    cell_findings(
        c,
        bt,
        "value.text",
        text_msg,
        "Type a number of units (digits only, e.g. 120), or leave the cell blank.",
    )
    cell_findings(
        c,
        cells[num_text],
        "value.number_as_text",
        lambda r: (
            f"'{short(r['value'])}' is a number stored as text; read as "
            f"{float(str(r['value']).replace(',', '')):,.0f} ({_ctx(r)})."
        ),
        "Nothing to do; to avoid the warning, format the cells as numbers.",
    )
    cell_findings(
        c,
        cells[k.absurd],
        "value.out_of_range",
        lambda r: (
            f"'{short(r['value'])}' is not a finite quantity within "
            f"{QUANTITY.bound:,.0f} units ({_ctx(r)})."
        ),
        "Type the real number of units; infinity or a number this large is a typing mistake or "
        "a broken formula.",
    )
    if c.sub.external_cells:
        ext = c.sub.external_cells
        files = ", ".join(dict.fromkeys(c.sub.external_files)) or "another workbook"
        add_finding(
            c,
            "value.external_link",
            f"{len(ext):,} cell(s) take their values from {short(files, 200)} through an "
            f"external link ({', '.join(ext[:10])}{', ...' if len(ext) > 10 else ''}): the "
            "numbers read are the values last copied from a file nobody sent.",
            "Replace the links by the numbers themselves (Copy, Paste Special > Values) and send "
            "the file again, or confirm with the region that the linked values are current.",
            cell=ext[0],
        )
    neg = qty < 0
    cell_findings(
        c,
        cells[neg].assign(q=qty[neg]),
        "value.negative",
        lambda r: f"{r['q']:,.0f} is negative ({_ctx(r)}); a forecast is 0 or more units.",
        "Type 0 or a positive quantity; returns are not forecast here.",
    )


def check_completeness(
    c: Candidate, m: MasterData, k: CellKinds, rows: pd.DataFrame, bad_rows: pd.Series
) -> tuple[pd.DataFrame, np.ndarray, pd.MultiIndex]:
    """Rules ``completeness``, ``completeness.empty``, ``completeness.missing_rows``; sets
    ``c.stats``. Returns the valid horizon values (item, location, period, row, quantity), their
    integer keys (Excel row x 1024 + horizon month index) and the rows' item x location index.

    Completeness = filled cells of the region's assortment rows / (assortment rows x horizon
    months); blank cells count as not filled.
    """
    cells, region, horizon = c.sub.cells, c.region, m.horizon
    in_h, qty, hcode = k.in_h, k.qty, k.hcode
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
        add_finding(
            c,
            "completeness.empty",
            f"the submission holds no quantities for the horizon {horizon[0]} to {horizon[-1]}.",
            "Fill in the yellow cells of the Forecast sheet and send the file again.",
        )
    elif completeness < 1:
        add_finding(
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
        add_finding(
            c,
            "completeness.missing_rows",
            f"{len(miss):,} item x location row(s) of "
            f"{region}'s assortment are not in the file ({shown}"
            f"{', ...' if len(miss) > 10 else ''}); they get no forecast for the horizon.",
            "Do not delete template rows; type 0 for items you expect no demand for.",
        )
    return values, vkey, rkey


def check_change(
    c: Candidate,
    m: MasterData,
    previous: pd.DataFrame,
    rows: pd.DataFrame,
    values: pd.DataFrame,
    vkey: np.ndarray,
    rkey: pd.MultiIndex,
) -> None:
    """Rule ``change.review``: a cell that moved more than *Forecast change review threshold*
    vs the previous consensus (relative change |new - old| / old; from 0 to more than 0 always
    counts). Sets ``c.stats["changed"]`` (cells changed, including removed ones)."""
    cells, region, horizon = c.sub.cells, c.region, m.horizon
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
        cell_findings(
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
                + f" for {_ctx(r)}: above the {thr:.0%} review threshold."
            ),
            "Review with the region: confirm the change (e.g. a promotion or a lost customer) "
            "before the consensus meeting.",
        )


def validate(c: Candidate, m: MasterData, previous: pd.DataFrame) -> None:
    """Judge the submission of region ``c.region``: every rule group in turn; fills
    ``c.findings``, ``c.values`` (the valid horizon values), ``c.stats``. ``previous`` is the
    master's consensus Forecast (long)."""
    sub = c.sub
    assert sub is not None and c.region is not None
    c.findings.extend(sub.findings)
    check_structure(c)
    k = classify_cells(sub, m.horizon)
    check_periods(c, m.horizon, k)
    rows, bad_rows = check_rows(c, m, k)
    check_cells(c, k)
    values, vkey, rkey = check_completeness(c, m, k, rows, bad_rows)
    check_change(c, m, previous, rows, values, vkey, rkey)
    c.values = values[["item", "location", "period", "quantity"]].reset_index(drop=True)


def _ctx(r: dict) -> str:
    """The item, location and month of a cell finding's record."""
    return f"item {r['item']}, {r['location']}, {r['period']}"


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


def region_findings(
    m: MasterData,
    accepted: dict[str, Candidate],
    chosen: dict[str, Candidate],
    previous: pd.DataFrame,
) -> list[Finding]:
    """Rules ``region.rejected`` (info) and ``region.missing`` (warning): one finding per region
    not accepted, stating the previous consensus kept (rows, units)."""
    out: list[Finding] = []
    prev_tot = previous.groupby("region")["quantity"].sum()
    prev_rows = previous.groupby("region").size()
    for region in m.region_codes:
        if region in accepted:
            continue
        kept = f"{int(prev_rows.get(region, 0)):,} rows, {prev_tot.get(region, 0.0):,.0f} units"
        if region in chosen:
            c = chosen[region]
            out.append(
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
            out.append(
                Finding(
                    "warning",
                    f"no usable submission from region {region}: its previous consensus "
                    f"is kept ({kept}).",
                    Location(),
                    f"Remind {region}'s planner of the cutoff "
                    f"{m.settings.forecast_cutoff:%Y-%m-%d %H:%M}.",
                    "region.missing",
                )
            )
    return out
