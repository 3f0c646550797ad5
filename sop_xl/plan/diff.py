"""Compare two plan versions: the "what changed since last month's plan" workbook.

``diff(a, b, out)`` reads both workbooks' values (python-calamine; snapshots or masters) and
writes a new report workbook ``out`` (openpyxl, written to a temp file then renamed):

- **Summary**: both versions (cycle, version, created, approved by, content hash), changed cells
  per sheet, sheets added/removed, forecast totals old/new/delta;
- **Forecast Changes**: the Forecast grid compared by key (region, item, location, period):
  old, new, delta = new - old, delta % = delta / old (blank when old is 0 or blank);
- **By Region**, **By Family**, **By Period**: forecast totals old, new, delta, delta %
  (family from the Items sheet of B, else A);
- **Budget Changes**: the FinancialBudget grid by G/L account and period, when both have it;
- **Changed Cells**: every changed cell (sheet, cell, old, new, delta when both are numbers).

Numbers compare at 15 significant digits, as the content hash counts them (a plan frozen before
the freeze wrote 15 digits and a newer one of the same values differ in no cell).

A blank forecast cell is no demand: it counts as 0 units in deltas and totals, and the Change
column says ``added`` (blank -> value) or ``removed`` (value -> blank). Increases are green,
decreases red (conditional formats, so they follow any filter or sort).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from sop_xl.errors import InputFileError, Location, SopError, failure_text, reading_failure
from sop_xl.io.filebook import save_new_workbook
from sop_xl.model.schema import FINANCIAL_BUDGET, FORECAST, ITEMS, NUMBER_FORMATS, Dtype, Table
from sop_xl.plan.content_hash import canonical_number, workbook_values

MAX_CELL_ROWS = 100_000
COVER_TITLE = "Frozen S&OP plan"
_PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
QTY_FMT = NUMBER_FORMATS[Dtype.QTY]
MONEY_FMT = NUMBER_FORMATS[Dtype.MONEY]
PCT_FMT = NUMBER_FORMATS[Dtype.PCT]
GREEN = PatternFill("solid", start_color="FFC6EFCE", end_color="FFC6EFCE")
RED = PatternFill("solid", start_color="FFFFC7CE", end_color="FFFFC7CE")
HEADER_FILL = PatternFill("solid", start_color="FF1F4E79", end_color="FF1F4E79")


@dataclass
class DiffResult:
    """What :func:`diff` found and wrote."""

    out: Path
    changed_cells: int
    by_sheet: dict[str, int] = field(default_factory=dict)
    added_sheets: list[str] = field(default_factory=list)
    removed_sheets: list[str] = field(default_factory=list)
    forecast_changes: int = 0
    forecast_totals: tuple[float, float] | None = None  # (old, new)
    truncated: bool = False

    @property
    def summary(self) -> str:
        """The plain-language lines shown to the user."""
        lines = [f"Change report written to {self.out}: {self.changed_cells} changed cell(s)."]
        lines += [f"  {s}: {n}" for s, n in self.by_sheet.items() if n]
        if self.added_sheets:
            lines.append(f"  sheets added: {', '.join(self.added_sheets)}")
        if self.removed_sheets:
            lines.append(f"  sheets removed: {', '.join(self.removed_sheets)}")
        if self.forecast_totals:
            old, new = self.forecast_totals
            lines.append(
                f"  forecast: {self.forecast_changes} changed key(s); total {old:,.0f} -> "
                f"{new:,.0f} ({new - old:+,.0f})"
            )
        return "\n".join(lines)


# --- reading -----------------------------------------------------------------------------------
@dataclass
class _Book:
    path: Path
    sheets: dict[str, list[list[object]]]
    cover: dict[str, str]


def _read(path: Path) -> _Book:
    path = Path(path)
    try:
        from sop_xl.io.guard import check_workbook_file

        check_workbook_file(path)
    except ImportError:  # pragma: no cover
        pass
    try:
        sheets = dict(workbook_values(path.read_bytes()))
    except BaseException as exc:  # calamine's errors; a Rust panic is a BaseException
        if not reading_failure(exc):
            raise
        raise InputFileError(
            f"the workbook cannot be read ({failure_text(exc)}).",
            where=Location(file=str(path)),
            fix="Give an intact .xlsx snapshot or workbook (open it in Excel, save it as .xlsx).",
        ) from None
    cover: dict[str, str] = {}
    if sheets:
        first = next(iter(sheets))
        rows = sheets[first]
        if rows and rows[0] and str(rows[0][0]).startswith(COVER_TITLE):
            cover = {str(r[0]): str(r[1]) for r in rows[3:] if len(r) >= 2 and r[0] != ""}
            del sheets[first]
    return _Book(path, sheets, cover)


def _grid(rows: list[list[object]], shape: tuple[int, int]) -> np.ndarray:
    out = np.full(shape, "", dtype=object)
    for r, row in enumerate(rows):
        if row:
            out[r, : len(row)] = row
    return out


def changed_cells(a: list[list[object]], b: list[list[object]]) -> pd.DataFrame:
    """Cells whose values differ: row, col (1-based), old, new. Empty is ''."""
    shape = (
        max(len(a), len(b)),
        max(max((len(r) for r in a), default=0), max((len(r) for r in b), default=0)),
    )
    ga, gb = _grid(a, shape), _grid(b, shape)
    # same value and same kind (1 == 1.0 == True in Python, so compare the kind too)
    if not (shape[0] and shape[1]):
        return pd.DataFrame(columns=["row", "col", "old", "new"])
    kind = np.frompyfunc(_kind, 1, 1)
    same = ((ga == gb) & (kind(ga) == kind(gb))).astype(bool)
    rr, cc = np.nonzero(~same)
    old, new = ga[rr, cc], gb[rr, cc]
    real = [not _same_number(o, n) for o, n in zip(old.tolist(), new.tolist(), strict=True)]
    rr, cc, old, new = rr[real], cc[real], old[real], new[real]
    return pd.DataFrame({"row": rr + 1, "col": cc + 1, "old": old, "new": new})


def _same_number(a: object, b: object) -> bool:
    """Two numbers that are one value to 15 significant digits, as the content hash counts them
    (a plan frozen before numbers were frozen at 15 digits, a master, a re-saved copy)."""
    return (
        _kind(a) == "n" == _kind(b) and canonical_number(float(a)) == canonical_number(float(b))  # type: ignore[arg-type]
    )


def _kind(v: object) -> str:
    if isinstance(v, bool):
        return "b"
    if isinstance(v, int | float):
        return "n"
    if isinstance(v, str):
        return "s"
    return type(v).__name__


def _header_row(rows: list[list[object]], headers: list[str]) -> tuple[int, list[str]] | None:
    for r, row in enumerate(rows[:30]):
        texts = [_header_text(v) for v in row]
        if all(h in texts for h in headers):
            return r, texts
    return None


def _header_text(v: object) -> str:
    if isinstance(v, dt.date):
        return f"{v.year:04d}-{v.month:02d}"
    return str(v).strip()


def wide_long(rows: list[list[object]], table: Table) -> pd.DataFrame | None:
    """A wide planning grid (id columns + YYYY-MM columns) as a long frame, or None if absent.

    Columns: the table's key column names, ``period``, ``value`` (float; NaN = blank).
    """
    keys = [table.column(k) for k in table.keys]
    found = _header_row(rows, [c.header for c in keys])
    if found is None:
        return None
    r0, texts = found
    key_idx = [texts.index(c.header) for c in keys]
    per_idx = [(i, t) for i, t in enumerate(texts) if _PERIOD_RE.match(t)]
    body = rows[r0 + 1 :]
    width = len(texts)
    grid = _grid(body, (len(body), width))
    ids = pd.DataFrame({c.name: grid[:, i].astype(str) for c, i in zip(keys, key_idx, strict=True)})
    keep = (ids != "").any(axis=1).to_numpy()
    ids = ids[keep].reset_index(drop=True)
    if not per_idx:
        return pd.DataFrame(columns=[*table.keys, "period", "value"])
    vals = grid[keep][:, [i for i, _ in per_idx]]
    num = pd.DataFrame(vals, columns=[t for _, t in per_idx]).apply(
        lambda s: pd.to_numeric(s.replace("", np.nan), errors="coerce")
    )
    wide = pd.concat([ids, num], axis=1)
    long = wide.melt(id_vars=list(table.keys), var_name="period", value_name="value")
    return long.groupby([*table.keys, "period"], as_index=False, sort=True)["value"].sum(
        min_count=1
    )


def keyed_changes(old: pd.DataFrame, new: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Outer join on keys: old, new, delta, delta_pct, change (for every key in either)."""
    m = old.rename(columns={"value": "old"}).merge(
        new.rename(columns={"value": "new"}), on=keys, how="outer"
    )
    m["old"] = pd.to_numeric(m["old"], errors="coerce").astype("float64")
    m["new"] = pd.to_numeric(m["new"], errors="coerce").astype("float64")
    o, n = m["old"], m["new"]
    m["delta"] = n.fillna(0.0) - o.fillna(0.0)  # blank = no demand (documented)
    m["delta_pct"] = (m["delta"] / o).where(o.notna() & (o != 0))
    moved = (o.notna() & n.notna() & (o != n)).to_numpy(copy=True)
    if moved.any():  # a change beyond the 15th significant digit is no change (content hash)
        moved[moved] = [
            canonical_number(x) != canonical_number(y)
            for x, y in zip(o[moved].tolist(), n[moved].tolist(), strict=True)
        ]
    m["change"] = np.select(
        [o.isna() & n.notna(), o.notna() & n.isna(), moved],
        ["added", "removed", "changed"],
        default="",
    )
    return m.sort_values(keys, kind="stable").reset_index(drop=True)


def totals(m: pd.DataFrame, by: str) -> pd.DataFrame:
    g = m.groupby(by, as_index=False, sort=True)[["old", "new"]].sum(min_count=0)
    g["delta"] = g["new"] - g["old"]
    g["delta_pct"] = (g["delta"] / g["old"]).where(g["old"] != 0)
    return g


def _families(book: _Book) -> dict[str, str]:
    rows = book.sheets.get(ITEMS.sheet)
    if not rows:
        return {}
    item_h, fam_h = ITEMS.column("item").header, ITEMS.column("family").header
    found = _header_row(rows, [item_h, fam_h])
    if found is None:
        return {}
    r0, texts = found
    i, f = texts.index(item_h), texts.index(fam_h)
    return {str(r[i]): str(r[f]) for r in rows[r0 + 1 :] if len(r) > max(i, f) and str(r[i]) != ""}


# --- writing -----------------------------------------------------------------------------------
def _put(ws, row: int, col: int, value: object, fmt: str | None = None):
    if (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str) and value == ""):
        value = None
    if isinstance(value, np.generic):
        value = value.item()
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text stays text, even '=HYPERLINK(...)'
    if fmt:
        cell.number_format = fmt
    return cell


def _table(ws, top: int, headers: list[str], rows, formats: list[str | None], widths=None) -> int:
    for j, h in enumerate(headers, start=1):
        c = _put(ws, top, j, h)
        c.font = Font(bold=True, color="FFFFFFFF")
        c.fill = HEADER_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top")
    r = top
    for r, row in enumerate(rows, start=top + 1):
        for j, (v, fmt) in enumerate(zip(row, formats, strict=True), start=1):
            _put(ws, r, j, v, fmt)
    for j, h in enumerate(headers, start=1):
        w = (widths or {}).get(h, max(12, min(40, len(h) + 4)))
        ws.column_dimensions[get_column_letter(j)].width = w
    return r


def _color(ws, col: int, first: int, last: int) -> None:
    if last < first:
        return
    rng = f"{get_column_letter(col)}{first}:{get_column_letter(col)}{last}"
    ws.conditional_formatting.add(
        rng, CellIsRule(operator="greaterThan", formula=["0"], fill=GREEN)
    )
    ws.conditional_formatting.add(rng, CellIsRule(operator="lessThan", formula=["0"], fill=RED))


def _total_sheet(wb: Workbook, title: str, label: str, t: pd.DataFrame, by: str, fmt: str) -> None:
    ws = wb.create_sheet(title)
    rows = t[[by, "old", "new", "delta", "delta_pct"]].itertuples(index=False, name=None)
    last = _table(
        ws, 1, [label, "Old", "New", "Delta", "Delta %"], rows, [None, fmt, fmt, fmt, PCT_FMT]
    )
    o, n = float(t["old"].sum()), float(t["new"].sum())
    tot = last + 1
    for j, v in enumerate(["Total", o, n, n - o, (n - o) / o if o else None], start=1):
        c = _put(ws, tot, j, v, [None, fmt, fmt, fmt, PCT_FMT][j - 1])
        c.font = Font(bold=True)
    _color(ws, 4, 2, tot)
    _color(ws, 5, 2, tot)
    ws.freeze_panes = "B2"


def diff(a: Path, b: Path, out: Path) -> DiffResult:
    """Write the change report from version ``a`` (old) to version ``b`` (new) to ``out``."""
    a, b, out = Path(a), Path(b), Path(out)
    if out.resolve() in (a.resolve(), b.resolve()):
        raise SopError(
            "the change report would overwrite one of the compared workbooks.",
            where=Location(file=str(out)),
            fix="Give another output file name.",
        )
    A, B = _read(a), _read(b)
    common = [s for s in B.sheets if s in A.sheets]
    added = [s for s in B.sheets if s not in A.sheets]
    removed = [s for s in A.sheets if s not in B.sheets]
    cells = []
    by_sheet: dict[str, int] = {}
    for s in common:
        ch = changed_cells(A.sheets[s], B.sheets[s])
        by_sheet[s] = len(ch)
        if len(ch):
            ch.insert(0, "sheet", s)
            cells.append(ch)
    allcells = pd.concat(cells, ignore_index=True) if cells else pd.DataFrame()
    result = DiffResult(out, int(sum(by_sheet.values())), by_sheet, added, removed)

    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    _put(ws, 1, 1, "What changed between two plan versions").font = Font(bold=True, size=14)
    meta = [
        ("", "Old (A)", "New (B)"),
        ("File", a.name, b.name),
        *[
            (k, A.cover.get(k, ""), B.cover.get(k, ""))
            for k in ("Company", "Cycle", "Version", "Created at (UTC)", "Approved by",
                      "Content hash (SHA-256)")
        ],
    ]  # fmt: skip
    for i, row in enumerate(meta, start=3):
        for j, v in enumerate(row, start=1):
            c = _put(ws, i, j, v)
            if i == 3 or j == 1:
                c.font = Font(bold=True)
    r = 3 + len(meta) + 1
    _put(ws, r, 1, "Changed cells per sheet").font = Font(bold=True)
    r = _table(ws, r + 1, ["Sheet", "Changed cells"], list(by_sheet.items()), [None, "#,##0"])
    if added or removed:
        r += 2
        _put(ws, r, 1, "Sheets added").font = Font(bold=True)
        _put(ws, r, 2, ", ".join(added) or "none")
        _put(ws, r + 1, 1, "Sheets removed").font = Font(bold=True)
        _put(ws, r + 1, 2, ", ".join(removed) or "none")
        r += 1
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 70
    ws.column_dimensions["C"].width = 70

    # forecast by key
    fa = wide_long(A.sheets.get(FORECAST.sheet, []), FORECAST)
    fb = wide_long(B.sheets.get(FORECAST.sheet, []), FORECAST)
    if fa is not None and fb is not None:
        keys = [*FORECAST.keys, "period"]
        m = keyed_changes(fa, fb, keys)
        fam = {**_families(A), **_families(B)}
        m["family"] = m["item"].map(fam).fillna("(no family)")
        chg = m[m["change"] != ""]
        result.forecast_changes = len(chg)
        result.forecast_totals = (float(m["old"].sum()), float(m["new"].sum()))
        fs = wb.create_sheet("Forecast Changes")
        heads = [FORECAST.column(k).header for k in FORECAST.keys]
        cols = [*FORECAST.keys, "family", "period", "old", "new", "delta", "delta_pct", "change"]
        last = _table(
            fs,
            1,
            [*heads, ITEMS.column("family").header, "Period", "Old", "New", "Delta", "Delta %",
             "Change"],
            chg[cols].itertuples(index=False, name=None),
            [None, None, None, None, None, QTY_FMT, QTY_FMT, QTY_FMT, PCT_FMT, None],
        )  # fmt: skip
        _color(fs, 8, 2, last)
        _color(fs, 9, 2, last)
        fs.freeze_panes = "A2"
        fs.auto_filter.ref = f"A1:J{max(last, 1)}"
        _total_sheet(
            wb,
            "By Region",
            FORECAST.column("region").header,
            totals(m, "region"),
            "region",
            QTY_FMT,
        )
        _total_sheet(
            wb, "By Family", ITEMS.column("family").header, totals(m, "family"), "family", QTY_FMT
        )
        _total_sheet(wb, "By Period", "Period", totals(m, "period"), "period", QTY_FMT)
        o, n = result.forecast_totals
        r += 2
        _put(ws, r, 1, "Forecast total (units)").font = Font(bold=True)
        for j, (lab, v) in enumerate((("Old", o), ("New", n), ("Delta", n - o)), start=0):
            _put(ws, r + 1 + j, 1, lab)
            _put(ws, r + 1 + j, 2, v, QTY_FMT)
        _color(ws, 2, r + 3, r + 3)
        _put(ws, r + 4, 1, "Changed forecast keys")
        _put(ws, r + 4, 2, len(chg), "#,##0")

    ba = wide_long(A.sheets.get(FINANCIAL_BUDGET.sheet, []), FINANCIAL_BUDGET)
    bb = wide_long(B.sheets.get(FINANCIAL_BUDGET.sheet, []), FINANCIAL_BUDGET)
    if ba is not None and bb is not None:
        mb = keyed_changes(ba, bb, [*FINANCIAL_BUDGET.keys, "period"])
        mb = mb[mb["change"] != ""]
        bs = wb.create_sheet("Budget Changes")
        last = _table(
            bs,
            1,
            [FINANCIAL_BUDGET.column("gl_account").header, "Period", "Old", "New", "Delta",
             "Delta %", "Change"],
            mb[["gl_account", "period", "old", "new", "delta", "delta_pct", "change"]].itertuples(
                index=False, name=None),
            [None, None, MONEY_FMT, MONEY_FMT, MONEY_FMT, PCT_FMT, None],
        )  # fmt: skip
        _color(bs, 5, 2, last)
        _color(bs, 6, 2, last)
        bs.freeze_panes = "A2"

    cs = wb.create_sheet("Changed Cells")
    if len(allcells) > MAX_CELL_ROWS:
        result.truncated = True
        allcells = allcells.iloc[:MAX_CELL_ROWS]
    if len(allcells):
        ref = [
            f"{get_column_letter(c)}{r}"
            for r, c in zip(allcells["row"], allcells["col"], strict=True)
        ]
        num_old = pd.to_numeric(
            allcells["old"].where(allcells["old"].map(_kind) == "n"), errors="coerce"
        )
        num_new = pd.to_numeric(
            allcells["new"].where(allcells["new"].map(_kind) == "n"), errors="coerce"
        )
        delta = num_new - num_old
        rows = zip(allcells["sheet"], ref, allcells["old"], allcells["new"], delta, strict=True)
    else:
        rows = iter(())
    last = _table(
        cs,
        1,
        ["Sheet", "Cell", "Old", "New", "Delta"],
        rows,
        [None, None, None, None, "#,##0.00;[Red]-#,##0.00"],
    )
    _color(cs, 5, 2, last)
    cs.freeze_panes = "A2"
    cs.auto_filter.ref = f"A1:E{max(last, 1)}"
    if result.truncated:
        _put(ws, r + 7, 1, f"Changed Cells lists the first {MAX_CELL_ROWS:,} changes only.")

    for sheet in wb.worksheets:  # print each sheet one page wide, landscape
        sheet.page_setup.orientation = "landscape"
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
    save_new_workbook(wb, out)
    return result
