"""Read declared tables fast (python-calamine) and turn raw cells into typed, validated frames.

Two steps, so the Excel adapter can reuse the second one:

1. :func:`read_raw` gets a table's header and body cells from a file, located by its Excel Table
   (ListObject) name, or by finding the header row on the sheet. Error cells (``#REF!``...) are
   recovered from the sheet XML because calamine reports them as blanks.
2. :func:`coerce` maps headers to the schema, converts each column vectorised, and returns the
   typed long DataFrame plus a :class:`~sop_xl.errors.Finding` for every problem, each naming
   file, sheet, cell, column and the fix. :func:`to_frame` is the strict form that raises.

Call :func:`sop_xl.io.guard.check_workbook_file` before :func:`read_raw` on untrusted files.
"""

from __future__ import annotations

import difflib
import io
import itertools
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import python_calamine as pc
from pandas.api.types import infer_dtype

from sop_xl.errors import (
    Finding,
    InputFileError,
    Location,
    SchemaError,
    ValidationError,
    failure_text,
    reading_failure,
)
from sop_xl.io.guard import ANY_PREFIX, error_places
from sop_xl.io.xlsx.parts import sheet_parts
from sop_xl.io.xlsx.refs import col_letter, col_number
from sop_xl.model import periods
from sop_xl.model.book import Coerced, RawTable
from sop_xl.model.frames import typed
from sop_xl.model.schema import MAX_TEXT, NUMERIC_DTYPES, Column, Dtype, Table

MAX_FINDINGS_PER_COLUMN = 25
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: serial numbers read as dates stay below this: Excel ends at 9999-12-31 (2958465), pandas'
#: time spans at 106,751 days (a serial in the year 2192)
_LAST_SERIAL = min(2958466, pd.Timedelta.max.days)
ERROR_VALUES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA")
ERROR_SET = frozenset(ERROR_VALUES)
#: a problem found in a column: bad-row mask, message template, fix, rule
_Problem = tuple[np.ndarray, str, str, str]


def norm_header(value: Any) -> str:
    """Header text as compared: case-, space- and NBSP-insensitive."""
    text = "" if value is None else str(value)
    return " ".join(text.replace("\xa0", " ").split()).casefold()


# --- step 1: raw cells ---------------------------------------------------------------------------
def open_calamine(path: str | Path, data: bytes | None = None) -> pc.CalamineWorkbook:
    """Open a workbook with python-calamine, turning its errors into clear messages. With
    ``data`` the workbook is those bytes (``path`` then only names it in messages)."""
    try:
        if data is not None:
            return pc.CalamineWorkbook.from_filelike(io.BytesIO(data), load_tables=True)
        return pc.CalamineWorkbook.from_path(str(path), load_tables=True)
    except pc.PasswordError:
        raise InputFileError(
            "the workbook is password-protected.",
            where=Location(file=str(path)),
            fix="Remove the password in Excel and save again.",
        ) from None
    except BaseException as exc:  # calamine raises several types for damaged files
        if not reading_failure(exc):
            raise
        raise InputFileError(
            f"the workbook cannot be read ({exc}).",
            where=Location(file=str(path)),
            fix="Open it in Excel, save it as .xlsx, and try again.",
        ) from None


def read_raw(
    path: str | Path,
    sheet: str,
    table: Table | None = None,
    *,
    workbook: pc.CalamineWorkbook | None = None,
    error_sheets: set[str] | None = None,
) -> RawTable:
    """Header and body cells of ``table`` (or of the used range of ``sheet``).

    The Excel Table named ``table.name`` is used when the file has one; otherwise the header row
    is the row among the first 30 that matches most of the declared headers. ``error_sheets``
    (from the safety guard) names the sheets that hold error cells; others skip that recovery.
    """
    wb = workbook or open_calamine(path)
    file = str(path)
    sheet = sheet_named(wb.sheet_names, sheet) or sheet
    if table is not None and table.name in wb.table_names:
        t = _calamine_call(lambda: wb.get_table_by_name(table.name), file, sheet)
        if t.sheet == sheet or sheet not in wb.sheet_names:
            header_row = t.start[0]  # calamine's start is the first body row, 0-based
            body = _calamine_call(lambda: t.to_python(), file, t.sheet)
            raw = RawTable(
                header=list(t.columns),
                rows=body,  # a fresh list of row lists: ours to keep and to patch
                sheet=t.sheet,
                file=file,
                header_row=header_row,
                first_col=t.start[1] + 1,
            )
            if error_sheets is None or raw.sheet in error_sheets:
                _restore_errors(path, raw)
            return raw
    if sheet not in wb.sheet_names:
        raise SchemaError(
            f"sheet '{sheet}' is missing (the workbook has: {', '.join(wb.sheet_names)}).",
            where=Location(file=file),
            fix=f"Add the sheet '{sheet}' from the standard template (sop-xl build-workbook).",
        )
    values = sheet_rows(wb, file, sheet)
    header_idx = _find_header(values, table)
    header = list(values[header_idx]) if values else []
    first = next((i for i, v in enumerate(header) if v not in ("", None)), 0)
    last = max((i for i, v in enumerate(header) if v not in ("", None)), default=-1) + 1
    raw = RawTable(
        header=header[first:last],
        rows=[list(r[first:last]) for r in values[header_idx + 1 :]],
        sheet=sheet,
        file=file,
        header_row=header_idx + 1,
        first_col=first + 1,
    )
    if error_sheets is None or raw.sheet in error_sheets:
        _restore_errors(path, raw)
    return raw


def sheet_named(names: Sequence[str], sheet: str) -> str | None:
    """The workbook's own spelling of ``sheet`` (Excel takes a sheet name in any letter case
    as one name: a planner may retype 'Items' as 'items'); None when it has no such sheet."""
    if sheet in names:
        return sheet
    low = sheet.lower()
    return next((name for name in names if name.lower() == low), None)


def sheet_rows(wb: pc.CalamineWorkbook, path: str | Path, sheet: str) -> list[list[Any]]:
    """Every row of ``sheet``'s used range from A1 (python values, '' for blanks). A sheet that
    calamine cannot parse raises :class:`InputFileError` naming the file and the sheet."""
    return _calamine_call(
        lambda: wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False), path, sheet
    )


def _calamine_call(fn, path: str | Path, sheet: str):
    """``fn()``, with any error calamine raises while parsing a sheet turned into a located,
    plain-language :class:`InputFileError` (calamine parses lazily, sheet by sheet)."""
    try:
        return fn()
    except BaseException as exc:  # XmlError, CalamineError, a panic (python-calamine's own)
        if not reading_failure(exc):
            raise
        raise InputFileError(
            f"sheet '{sheet}' cannot be read: its XML is damaged ({failure_text(exc)}).",
            where=Location(file=str(path), sheet=sheet),
            fix="Open the file in Excel (it may offer to repair it), save it as .xlsx, and "
            "try again.",
        ) from None


def _find_header(values: list[list[Any]], table: Table | None) -> int:
    if not values:
        return 0
    if table is None:
        return next((i for i, r in enumerate(values) if any(v not in ("", None) for v in r)), 0)
    wanted = {norm_header(h) for h in table.headers}
    best, best_score = 0, -1
    for i, row in enumerate(values[:30]):
        score = sum(1 for v in row if norm_header(v) in wanted)
        if score > best_score:
            best, best_score = i, score
    return best


#: The end of a cell (``</c>``, ``</x:c>``) and the value of an error cell (its error text).
_CELL_END_RE = re.compile(rb"</" + ANY_PREFIX + rb"c\s*+>")
_V_RE = re.compile(rb"<" + ANY_PREFIX + rb"v>([^<]{0,40})</" + ANY_PREFIX + rb"v\s*+>")


def error_cells(data: bytes, limit: int = 1_000_000) -> dict[tuple[int, str], str]:
    """(Excel row, column letters) -> error text ('#REF!') of the first ``limit`` error cells of
    a sheet part's XML (calamine reads error cells as blanks), each where python-calamine places
    it: a cell without a reference is placed by :func:`sop_xl.io.guard.error_places` as the
    reader does. A cell without a value is '#N/A'."""
    out: dict[tuple[int, str], str] = {}
    if b'"e"' not in data and b"'e'" not in data:
        return out
    for row, col, end, empty in error_places(data, limit):
        v = None
        if not empty:
            close = _CELL_END_RE.search(data, end)
            v = _V_RE.search(data, end, close.start() if close else len(data))
        out[(row + 1, col_letter(col + 1))] = v.group(1).decode("utf-8", "replace") if v else "#N/A"
    return out


def sheet_xml(path: str | Path, sheet: str) -> bytes | None:
    """The XML of ``sheet``'s part, or None when the sheet or the part is absent or the zip is
    unreadable (callers use it for facts calamine does not give: error values, hidden rows)."""
    try:
        with zipfile.ZipFile(path) as zf:
            part = sheet_parts(zf).get(sheet)
            return None if part is None else zf.read(part)
    except (OSError, zipfile.BadZipFile, KeyError, EOFError, ValueError):
        return None


def _restore_errors(path: str | Path, raw: RawTable) -> None:
    """calamine reads error cells as blanks: put '#REF!' etc. back from the sheet XML."""
    data = sheet_xml(path, raw.sheet)
    if data is None:
        return
    width = len(raw.header)
    for (row, letters), value in error_cells(data).items():
        r = row - raw.header_row - 1
        c = col_number(letters) - raw.first_col
        if 0 <= r < len(raw.rows) and 0 <= c < width:
            raw.rows[r][c] = ErrorValue(value)


class ErrorValue(str):
    """An Excel error value (``#REF!``) as a distinct string type."""


# --- step 2: typed frame -------------------------------------------------------------------------
def coerce(table: Table, raw: RawTable) -> Coerced:
    """Map headers to ``table``'s columns and convert every column; collect findings.

    The returned frame is long (wide grids are melted to ``period`` + value), has exactly the
    table's engine columns, and keeps only rows without errors. A ``pd.NA`` cell (the blank of
    a nullable pandas column) is a blank: the body is looked through for one only when a
    comparison met one (calamine and Excel never hand one over; no comparison can answer for
    one, ``NA == ''`` is NA, so one fails wherever a blank matters; where it does not fail,
    pandas counts it missing, a blank).
    """
    na = pd.NA
    if any(h is na for h in raw.header):  # a header is read as text: str(NA) is '<NA>'
        raw = replace(raw, header=[None if h is na else h for h in raw.header])
    try:
        return _coerce(table, raw)
    except TypeError:  # "boolean value of NA is ambiguous": a comparison met a pd.NA cell
        if not any(v is na for r in raw.rows for v in r):
            raise
        return _coerce(
            table, replace(raw, rows=[[None if v is na else v for v in r] for r in raw.rows])
        )


def _coerce(table: Table, raw: RawTable) -> Coerced:
    findings: list[Finding] = []
    where = Location(file=raw.file, sheet=raw.sheet, table=table.name)
    matrix, keep = _cells(raw.rows, len(raw.header))
    positions, period_positions = _map_headers(table, raw, where, findings, matrix)
    if any(f.severity == "error" for f in findings):
        return Coerced(_empty(table), findings, len(raw.rows))

    excel_rows = (raw.header_row + 1 + np.flatnonzero(keep)).astype(np.int64)
    if not keep.all():  # blank rows (no value in any cell) are not rows of the table
        matrix = matrix[keep]
    rows = matrix  # one per table row
    bad = np.zeros(len(rows), dtype=bool)
    data: dict[str, Any] = {}
    for column in table.columns:
        pos = positions.get(column.name)
        if pos is None:
            data[column.name] = pd.Series([None] * len(rows), dtype=object)
            continue
        values, col_bad = _convert(
            column,
            matrix[:, pos],
            excel_rows,
            raw.first_col + pos,
            where,
            findings,
        )
        data[column.name] = values
        bad |= col_bad
    if table.layout == "wide":
        assert table.value is not None
        fast = _numeric_block(table.value, matrix[:, list(period_positions.values())])
        if fast is not None:  # the usual grid: numbers and blanks only, all valid
            data.update(zip(period_positions, fast.T, strict=True))
            period_positions = {}
        for period, pos in period_positions.items():
            values, col_bad = _convert(
                table.value,
                matrix[:, pos],
                excel_rows,
                raw.first_col + pos,
                where,
                findings,
                header=period,
            )
            data[period] = values
            bad |= col_bad
    df = pd.DataFrame(data, index=range(len(rows)))
    df["_row"] = excel_rows
    bad |= _check_keys(table, df, where, findings)
    good = df.loc[~bad] if bad.any() else df
    if table.layout == "wide":
        good = _melt(table, good, [c for c in data if periods.is_period(c)])
    rows_out = good["_row"].to_numpy(np.int64)
    good = good.drop(columns="_row").reset_index(drop=True)
    return Coerced(typed(table, good), findings, int(bad.sum()), rows_out)


def coerce_raw(read_raw: Callable[[Table], RawTable]) -> Callable[[Table], Coerced]:
    """``read_raw`` then :func:`coerce`: how a table is read from a sheet."""
    return lambda table: coerce(table, read_raw(table))


def to_frame(table: Table, raw: RawTable) -> pd.DataFrame:
    """Strict :func:`coerce`: raise :class:`ValidationError` when any error finding exists."""
    result = coerce(table, raw)
    if result.errors:
        raise ValidationError(result.findings)
    return result.df


def _empty(table: Table) -> pd.DataFrame:
    return typed(table, pd.DataFrame({c.name: [] for c in table.long_columns}))


def _cells(rows: list[list[Any]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """The body as an object matrix ``width`` wide (short rows padded with None, long ones cut)
    and which rows hold a value (a cell other than '' or None)."""
    if not rows or set(map(len, rows)) != {width}:
        return _cells_by_row(rows, width)
    # the usual rectangular block: every cell in one pass (each cell one object, whatever it is)
    flat = itertools.chain.from_iterable(rows)
    matrix = np.fromiter(flat, dtype=object, count=len(rows) * width).reshape(len(rows), width)
    keep = np.ones(len(rows), dtype=bool)
    maybe = np.flatnonzero(_blank_cells(matrix[:, 0])) if width else np.arange(len(rows))
    if len(maybe):  # rows whose first cell is empty: are they empty throughout?
        keep[maybe] = ~_blank_cells(matrix[maybe]).all(axis=1)
    return matrix, keep


def _blank_cells(cells: np.ndarray) -> np.ndarray:
    """Which cells are '' or None (a blank cell as calamine or xlwings hand it over)."""
    return (cells == "") | (cells == None)  # noqa: E711 - elementwise on objects


def _cells_by_row(rows: list[list[Any]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_cells` row by row, for any rows (ragged, or cells numpy cannot stack)."""
    n = len(rows)
    matrix = np.empty((n, width), dtype=object)
    for i, r in enumerate(rows):
        matrix[i, :] = list(r[:width]) + [None] * (width - len(r))
    keep = np.array([any(v not in ("", None) for v in r) for r in rows], dtype=bool)
    return matrix, keep


def _map_headers(
    table: Table, raw: RawTable, where: Location, findings: list[Finding], matrix: np.ndarray
) -> tuple[dict[str, int], dict[str, int]]:
    by_norm = {norm_header(c.header): c for c in table.columns}
    positions: dict[str, int] = {}
    period_positions: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    for i, h in enumerate(raw.header):
        cell = f"{col_letter(raw.first_col + i)}{raw.header_row}"
        key = norm_header(h)
        if not key:
            if not _blank_cells(matrix[:, i]).all():
                findings.append(
                    Finding(
                        "warning",
                        "column has values but no header; it is ignored.",
                        _at(where, cell=cell),
                        "Give the column its header from the template, or delete it.",
                        "header.blank",
                    )
                )
            continue
        column = by_norm.get(key)
        if column is not None:
            if column.name in positions:
                findings.append(
                    Finding(
                        "error",
                        f"column '{column.header}' appears twice.",
                        _at(where, cell=cell, column=str(h)),
                        "Delete or rename the duplicate column.",
                        "header.duplicate",
                    )
                )
            positions[column.name] = i
            continue
        if table.layout == "wide":
            period = periods.to_period(h)
            if period is not None:
                if period in period_positions:
                    findings.append(
                        Finding(
                            "error",
                            f"period {period} appears twice.",
                            _at(where, cell=cell, column=str(h)),
                            "Delete the duplicate period column.",
                            "header.duplicate",
                        )
                    )
                period_positions[period] = i
                continue
        unknown.append((i, str(h)))
    missing = [c for c in table.columns if c.name not in positions]
    missing_headers = [c.header for c in missing]
    for i, h in unknown:
        cell = f"{col_letter(raw.first_col + i)}{raw.header_row}"
        guess = difflib.get_close_matches(h, missing_headers, n=1, cutoff=0.5)
        if guess:
            findings.append(
                Finding(
                    "error",
                    f"column '{h}' is not expected here; it looks like a renamed '{guess[0]}'.",
                    _at(where, cell=cell, column=h),
                    f"Rename the header back to '{guess[0]}' exactly as in the template.",
                    "header.renamed",
                )
            )
            missing_headers.remove(guess[0])
        else:
            findings.append(
                Finding(
                    "warning",
                    f"extra column '{h}' is not part of {table.title}; it is ignored.",
                    _at(where, cell=cell, column=h),
                    "Delete the column, or move notes to another sheet.",
                    "header.extra",
                )
            )
    for c in missing:
        if c.required and c.header in missing_headers:
            findings.append(
                Finding(
                    "error",
                    f"required column '{c.header}' is missing.",
                    _at(where, row=raw.header_row, column=c.header),
                    f"Add a column with the header '{c.header}' (see the template).",
                    "header.missing",
                )
            )
    if table.layout == "wide" and not period_positions:
        findings.append(
            Finding(
                "error",
                "no period columns (headers like 2026-11) were found.",
                _at(where, row=raw.header_row),
                "Keep the month columns of the template, with YYYY-MM headers.",
                "header.no_periods",
            )
        )
    return positions, period_positions


def _at(where: Location, **kw: Any) -> Location:
    return Location(**{**where.__dict__, **kw})


def _convert(
    column: Column,
    values: np.ndarray,
    excel_rows: np.ndarray,
    excel_col: int,
    where: Location,
    findings: list[Finding],
    header: str | None = None,
) -> tuple[pd.Series, np.ndarray]:
    """Convert one column; return values and a bad-row mask; append findings."""
    header = header or column.header
    done = _convert_fast(column, values)
    out, blank, problems = done if done is not None else _convert_cells(column, values)
    if column.required:
        missing = blank
        if missing.any():
            problems.append(
                (missing, "required value is missing.", f"Fill in '{header}'.", "value.missing")
            )
    bad = np.zeros(len(values), dtype=bool)
    for mask, template, fix, rule in problems:
        bad |= mask
        idx = np.flatnonzero(mask)
        for i in idx[:MAX_FINDINGS_PER_COLUMN]:
            row = int(excel_rows[i])
            findings.append(
                Finding(
                    "error",
                    template.format(value=_show(values[i])),
                    _at(where, row=row, column=header, cell=f"{col_letter(excel_col)}{row}"),
                    fix,
                    rule,
                )
            )
        if len(idx) > MAX_FINDINGS_PER_COLUMN:
            findings.append(
                Finding(
                    "error",
                    f"... and {len(idx) - MAX_FINDINGS_PER_COLUMN} more such cells in this column.",
                    _at(where, column=header),
                    fix,
                    rule,
                )
            )
    out = pd.Series(out).reset_index(drop=True)
    if bad.any():
        out = out.where(pd.Series(~bad), None if out.dtype == object else np.nan)
    return out, bad


#: The text of the problems both conversion paths (cell by cell, and the fast one) report:
#: message (``{value}`` stands for the cell's value) and fix, one copy for both.
_PROBLEM_TEXT = {
    "value.error": (
        "formula error {value} instead of a value.",
        "Fix the formula or type the value.",
    ),
    "value.not_period": ("'{value}' is not a month.", "Type the month as YYYY-MM."),
    "value.too_long": (
        f"the text is longer than Excel's {MAX_TEXT:,} characters per cell.",
        "Shorten the text: an Excel cell holds at most 32,767 characters.",
    ),
}


def _problem(mask: np.ndarray, rule: str) -> _Problem:
    message, fix = _PROBLEM_TEXT[rule]
    return mask, message, fix, rule


def _not_allowed(mask: np.ndarray, column: Column) -> _Problem:
    choices = ", ".join(column.choices or ())
    return (
        mask,
        f"'{{value}}' is not one of: {choices}.",
        "Pick a value from the drop-down list.",
        "value.not_allowed",
    )


def _convert_cells(column: Column, values: np.ndarray) -> tuple[Any, np.ndarray, list[_Problem]]:
    """Convert one column cell by cell (any mix of types): values, blank mask, problems."""
    s = pd.Series(values, dtype=object)
    blank = s.isna() | s.eq("")
    is_error = s.isin(ERROR_VALUES).to_numpy(bool)  # ErrorValue is a str: isin finds it
    problems: list[_Problem] = []
    if is_error.any():
        problems.append(_problem(is_error, "value.error"))
    ok = ~blank.to_numpy(bool) & ~is_error
    dtype = column.dtype
    if dtype in NUMERIC_DTYPES:
        num = pd.to_numeric(s.where(ok, None), errors="coerce")
        retry = ok & num.isna().to_numpy(bool)  # text such as "1,234" or " 12 ": clean, retry
        if retry.any():
            num[retry] = pd.to_numeric(s[retry].map(_num_text), errors="coerce")
        not_num = ok & num.isna().to_numpy(bool)
        if not_num.any():
            problems.append(
                (
                    not_num,
                    "'{value}' is text, a number was expected.",
                    "Type a number (no units or letters).",
                    "value.not_number",
                )
            )
        out = _number_rules(column, num, ok, not_num, problems)
    elif dtype in (Dtype.DATE, Dtype.DATETIME):
        out = _to_datetime(s.where(ok, None))
        not_date = ok & out.isna().to_numpy(bool)
        if not_date.any():
            problems.append(
                (
                    not_date,
                    "'{value}' is not a date.",
                    "Type a date as yyyy-mm-dd.",
                    "value.not_date",
                )
            )
    elif dtype == Dtype.PERIOD:
        uniques = {v: periods.to_period(v) for v in pd.unique(s[ok])}
        out = s.map(uniques.get).where(pd.Series(ok), None)
        not_period = ok & out.isna().to_numpy(bool)
        if not_period.any():
            problems.append(_problem(not_period, "value.not_period"))
    else:
        out = _texts(s).where(pd.Series(ok), None)
        # texts (or None) from here on: each rule runs once per distinct text
        codes, uniq = pd.factorize(out.to_numpy(dtype=object))
        texts = uniq.tolist()
        too_long = np.array([len(t) > MAX_TEXT for t in texts] + [False], dtype=bool)
        long = ok & too_long[codes]  # code -1 (None) picks the appended False
        if long.any():
            problems.append(_problem(long, "value.too_long"))
        if column.choices:
            canon = {c.casefold(): c for c in column.choices}
            chosen = np.array([canon.get(t.casefold()) for t in texts] + [None], dtype=object)
            mapped = pd.Series(chosen[codes], index=out.index, dtype=object)
            not_choice = ok & mapped.isna().to_numpy(bool)
            if not_choice.any():
                problems.append(_not_allowed(not_choice, column))
            out = mapped.where(pd.Series(ok), None)
    return out, blank.to_numpy(bool), problems


def _convert_fast(
    column: Column, values: np.ndarray
) -> tuple[Any, np.ndarray, list[_Problem]] | None:
    """:func:`_convert_cells` in a few array steps for the usual columns: numbers (floats and
    blanks, as calamine types them) and texts (strings and blanks, each distinct one checked
    once). None when the column holds anything else. Both give the same results."""
    if column.dtype in NUMERIC_DTYPES:
        return _fast_numbers(column, values)
    if column.dtype in (Dtype.DATE, Dtype.DATETIME):
        return None
    return _fast_texts(column, values)


def _fast_numbers(
    column: Column, values: np.ndarray
) -> tuple[Any, np.ndarray, list[_Problem]] | None:
    filled = ~_blank_cells(values)
    rest = values[filled]
    if infer_dtype(rest, skipna=True) not in ("floating", "empty"):  # text, bools, ints...
        return None
    num = np.full(len(values), np.nan)
    num[filled] = rest.astype(np.float64)
    blank = np.isnan(num)  # '', None and NaN, as in the cell path
    problems: list[_Problem] = []
    out = _number_rules(column, pd.Series(num), ~blank, np.zeros(len(num), bool), problems)
    return out, blank, problems


def _fast_texts(
    column: Column, values: np.ndarray
) -> tuple[Any, np.ndarray, list[_Problem]] | None:
    codes, uniq = pd.factorize(values)  # missing (None, NaN) -> -1, blank as in the cell path
    if infer_dtype(uniq, skipna=False) not in ("string", "empty"):  # numbers, dates...
        return None
    texts: list[str] = uniq.tolist()
    # one entry per distinct string, then one for code -1 (a missing cell: blank)
    blank = np.array([t == "" for t in texts] + [True], dtype=bool)
    error = np.array([t in ERROR_SET for t in texts] + [False], dtype=bool)
    ok = ~blank & ~error
    problems: list[_Problem] = []
    if error.any():
        problems.append(_problem(error[codes], "value.error"))
    if column.dtype == Dtype.PERIOD:
        got = [periods.to_period(t) if k else None for t, k in zip(texts, ok, strict=False)]
        not_period = ok & np.array([pd.isna(g) for g in got] + [False], dtype=bool)
        if not_period.any():
            problems.append(_problem(not_period[codes], "value.not_period"))
        out = np.array([*got, None], dtype=object)
    else:
        out = np.array([t.strip() for t in texts] + [None], dtype=object)
        too_long = ok & np.array([len(t) > MAX_TEXT for t in out[:-1]] + [False], dtype=bool)
        if too_long.any():
            problems.append(_problem(too_long[codes], "value.too_long"))
        if column.choices:
            canon = {c.casefold(): c for c in column.choices}
            out = np.array([canon.get(t.casefold()) for t in out[:-1]] + [None], dtype=object)
            not_choice = ok & np.array([c is None for c in out], dtype=bool)
            if not_choice.any():
                problems.append(_not_allowed(not_choice[codes], column))
    out[~ok] = None
    return pd.Series(out[codes], dtype=object), blank[codes], problems


def _number_rules(
    column: Column, num: pd.Series, ok: np.ndarray, not_num: np.ndarray, problems: list[_Problem]
) -> pd.Series:
    """Numbers as floats; appends the whole-number, bound and minimum problems."""
    out = num.astype("float64")
    if column.dtype == Dtype.INT:
        frac = ok & ~not_num & (np.abs(out - np.round(out)) > 1e-9).to_numpy(bool)
        if frac.any():
            problems.append(
                (
                    frac,
                    "{value} is not a whole number.",
                    "Type a whole number.",
                    "value.not_int",
                )
            )
    bound = column.bound
    if bound is not None:  # inf, NaN typed as text, 1E+308: never a plan figure
        absurd = ok & ~not_num & ~(np.abs(out) <= bound).to_numpy(bool)
        if absurd.any():
            problems.append(
                (
                    absurd,
                    f"{{value}} is not a finite number within +/-{bound:,.0f}.",
                    "Type the real value (infinity or a number this large is a typing "
                    "mistake or a broken formula).",
                    "value.out_of_range",
                )
            )
            not_num = not_num | absurd
    if column.min_value is not None:
        low = (out < column.min_value).to_numpy(bool) & ok & ~not_num
        if low.any():
            problems.append(
                (
                    low,
                    f"{{value}} is below the minimum {column.min_value:g}.",
                    "Negative values are not allowed here: enter 0 or a positive value.",
                    "value.negative",
                )
            )
    return out


def _numeric_block(column: Column, block: np.ndarray) -> np.ndarray | None:
    """A grid of numbers and blanks as floats in one step, or None when any cell needs the
    cell-by-cell path (text, an error value, a value below the column's minimum)."""
    if block.size == 0:
        return None
    block = block.copy()
    block[_blank_cells(block)] = np.nan
    try:
        out = block.astype(np.float64)
    except (TypeError, ValueError):
        return None
    if column.min_value is not None and (out < column.min_value).any():
        return None
    bound = column.bound
    if bound is not None and not (np.abs(out[~np.isnan(out)]) <= bound).all():
        return None  # inf or an absurd number: the cell-by-cell path names the cell
    return out


def _num_text(v: Any) -> Any:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        text = v.strip().replace(",", "").replace("\xa0", "").replace(" ", "")
        return text if text else None
    return v


def _texts(s: pd.Series) -> pd.Series:
    """Cells as text: strings stripped, whole numbers without '.0' (item 1001 -> '1001').
    Each distinct string is stripped once (a long table repeats its items and months)."""
    values = s.to_numpy(dtype=object)
    is_str = np.fromiter((type(v) is str for v in values), dtype=bool, count=len(values))
    out = values.copy()
    if is_str.any():
        codes, uniq = pd.factorize(values[is_str])  # strings only: equal means the same text
        out[is_str] = np.array([u.strip() for u in uniq.tolist()], dtype=object)[codes]
    if not is_str.all():
        out[~is_str] = [_text(v) for v in values[~is_str].tolist()]
    return pd.Series(out, index=s.index, dtype=object)


def _text(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v).strip()


def _show(v: Any) -> str:
    text = str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _to_datetime(s: pd.Series) -> pd.Series:
    """Dates from calamine (date/datetime), ISO text, or Excel serial numbers."""
    if infer_dtype(s, skipna=True) in ("date", "datetime", "empty"):  # no numbers: no serials
        is_num = pd.Series(False, index=s.index)
    else:
        is_num = s.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
    numeric = pd.to_numeric(s.where(is_num, None), errors="coerce")
    # Excel's date range, cut where pandas' time spans end: a larger serial is no date
    numeric = numeric.where((numeric > 0) & (numeric < _LAST_SERIAL))
    serial = EXCEL_EPOCH + pd.to_timedelta(numeric, unit="D")
    cells = s.where(~is_num, None)
    try:
        text = pd.to_datetime(cells, errors="coerce", format="mixed")
    except (ValueError, TypeError):  # time-zone offsets mixed with other offsets or none
        text = None
    if text is None or not isinstance(text.dtype, np.dtype):  # any offset: cell by cell
        text = pd.to_datetime(cells.map(_naive_date), errors="coerce")
    # only the dates pandas holds (1677 to 2262)
    inside = (text >= pd.Timestamp.min) & (text <= pd.Timestamp.max)
    return text.where(inside).astype("datetime64[ns]").fillna(serial)


def _naive_date(v: Any) -> pd.Timestamp | None:
    """One cell as :func:`_to_datetime` parses it, None when it is no date or carries a time-zone
    offset ('2026-01-05T00:00+01:00': Excel has no time zones, so which day is meant is unsure)."""
    if v is None:
        return None
    got = pd.to_datetime(pd.Series([v], dtype=object), errors="coerce", format="mixed")
    if not isinstance(got.dtype, np.dtype) or pd.isna(got.iloc[0]):
        return None
    return got.iloc[0]


def _check_keys(
    table: Table, df: pd.DataFrame, where: Location, findings: list[Finding]
) -> np.ndarray:
    keys = [k for k in table.keys if k in df.columns]
    if not keys or df.empty:
        return np.zeros(len(df), dtype=bool)
    mask = _duplicated(df, keys)
    if mask.any():
        dup = pd.Series(mask, index=df.index)
        first_rows = df.loc[dup].groupby(keys, dropna=False)["_row"].apply(list)
        for key, rows in list(first_rows.items())[:MAX_FINDINGS_PER_COLUMN]:
            key_text = " / ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
            findings.append(
                Finding(
                    "error",
                    f"duplicate {' x '.join(table.column(k).header for k in keys)} '{key_text}' "
                    f"in rows {', '.join(str(r) for r in rows)}.",
                    _at(where, row=rows[0]),
                    "Keep one row per key: delete or merge the duplicates.",
                    "key.duplicate",
                )
            )
    return mask


def _duplicated(df: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Rows whose keys are all filled and equal to another row's (what
    ``df.duplicated(keys, keep=False) & df[keys].notna().all(axis=1)`` gives), from one
    factorize per key column: a missing key is code -1."""
    group = np.zeros(len(df), dtype=np.int64)
    filled = np.ones(len(df), dtype=bool)
    for k in keys:
        codes, uniques = pd.factorize(df[k])
        filled &= codes >= 0
        group, _ = pd.factorize(group * (len(uniques) + 1) + (codes + 1))  # stays below len(df)
    return (np.bincount(group)[group] > 1) & filled


def _melt(table: Table, df: pd.DataFrame, period_cols: list[str]) -> pd.DataFrame:
    """Wide grid -> long rows (row-major: each grid row's periods in column order), blanks out."""
    assert table.value is not None
    n, k = len(df), len(period_cols)
    ids = {c: np.repeat(df[c].to_numpy(), k) for c in [*table.names, "_row"]}
    values = df[period_cols].to_numpy(dtype="float64", na_value=np.nan).ravel() if k else []
    long = pd.DataFrame(
        {**ids, "period": np.tile(np.array(period_cols, dtype=object), n), table.value.name: values}
    )
    return long[long[table.value.name].notna()]


# --- read once -----------------------------------------------------------------------------------
class TableCache:
    """The typed tables already read from one workbook: each table is parsed once per book.

    A whole cycle (validate, consolidate, variances, KPIs, scorecard) then reads every input once.
    Each caller gets its own copy of the frame, so no step can change what the next one reads;
    :meth:`forget` drops the tables of the sheets a write replaced.
    """

    def __init__(self) -> None:
        self._done: dict[tuple[str, str], Coerced] = {}  # (sheet, table) -> result

    def coerced(self, table: Table, read: Callable[[Table], Coerced]) -> Coerced:
        """Non-strict read (good rows + every finding), from the cache after the first time."""
        key = (table.sheet, table.name)
        done = self._done.get(key)
        if done is None:
            done = self._done[key] = read(table)
        return replace(done, df=done.df.copy(), findings=list(done.findings))

    def frame(self, table: Table, read: Callable[[Table], Coerced]) -> pd.DataFrame:
        """Strict read: the typed frame, or :class:`ValidationError` with every finding."""
        result = self.coerced(table, read)
        if result.errors:
            raise ValidationError(result.findings)
        return result.df

    def __contains__(self, table: Table) -> bool:
        """True when ``table`` was read and its sheet not written since."""
        return (table.sheet, table.name) in self._done

    def forget(self, sheets: set[str]) -> None:
        """Drop what was read from ``sheets`` (a write replaced them)."""
        self._done = {key: v for key, v in self._done.items() if key[0] not in sheets}
