"""Cells of a written sheet: where a SheetOutput's table lands (:class:`Layout`),
the display frame (wide grids pivoted), and vectorised conversion of DataFrame columns into
``<c>`` XML (numbers, Excel date serials, shared or inline strings, booleans).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop_xl.errors import SopError
from sop_xl.io.xlsx.refs import col_letter, range_ref
from sop_xl.io.xlsx.sst import SharedStrings
from sop_xl.model.schema import Column, Dtype
from sop_xl.model.sheets import SheetOutput

MAX_TEXT = 32767  # Excel's limit of characters in a cell
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"


# --- the display frame ----------------------------------------------------------------------------
@dataclass
class Layout:
    """Where and what one SheetOutput writes."""

    out: SheetOutput
    columns: list[Column]  # display columns, left to right
    frame: pd.DataFrame  # display values, one column per display column (positional)
    mode: str = "new"  # new | regen | input
    sheet_part: str | None = None
    table_part: str | None = None  # existing table part holding the table (input mode)
    header_row: int = 1
    first_col: int = 1

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def last_row(self) -> int:
        return self.header_row + max(self.n, 1)

    @property
    def last_col(self) -> int:
        return self.first_col + len(self.columns) - 1

    @property
    def ref(self) -> str:
        return range_ref(self.first_col, self.header_row, self.last_col, self.last_row)

    def col_index(self, name: str) -> list[int]:
        """Sheet column numbers of engine column ``name`` (all period columns for a wide value)."""
        t = self.out.table
        idx = [i for i, c in enumerate(self.columns) if c.name == name]
        if not idx and t.layout == "wide" and t.value is not None and name == t.value.name:
            idx = list(range(len(t.columns), len(self.columns)))
        if not idx:
            raise KeyError(name)
        return [self.first_col + i for i in idx]


def display_frame(out: SheetOutput) -> tuple[list[Column], pd.DataFrame]:
    """The columns and values as they appear on the sheet (wide tables pivoted)."""
    t = out.table
    df = out.df
    need = [c.name for c in t.long_columns]
    missing = [n for n in need if n not in df.columns]
    if missing:
        raise SopError(
            f"the data for table {t.name} lacks column(s) {', '.join(missing)}",
            fix="this is a bug in the step that produced the sheet; please report it",
        )
    if t.layout != "wide":
        frame = df[need].reset_index(drop=True)
        return list(t.columns), frame
    assert t.value is not None
    ids = t.names
    long = df[[*ids, "period", t.value.name]].reset_index(drop=True)
    keys = [k for k in (t.keys or tuple(ids)) if k in ids]
    if long.empty:
        wide = pd.DataFrame({c: pd.Series([], dtype=object) for c in ids})
        periods: list[str] = []
    else:
        # one hash pass for the rows, one for the periods, then a numpy scatter (no unstack)
        row = long.groupby(ids, sort=False, dropna=False).ngroup().to_numpy()
        pcode, uniq = pd.factorize(long["period"].astype(str), sort=True)
        periods = list(uniq)
        flat = row * len(periods) + pcode
        counts = np.bincount(flat, minlength=(row.max() + 1) * len(periods))
        if (counts > 1).any():
            first = long.iloc[int(np.flatnonzero(counts[flat] > 1)[0])]
            raise SopError(
                f"table {t.name} has {int((counts[flat] > 1).sum())} rows repeating the same "
                f"{', '.join(ids)} and period (first: {', '.join(str(first[i]) for i in ids)}, "
                f"{first['period']})",
                fix="aggregate the rows before writing",
            )
        grid = np.full(counts.size, np.nan)
        grid[flat] = pd.to_numeric(long[t.value.name], errors="coerce").to_numpy(float)
        grid = grid.reshape(-1, len(periods))
        _, first_rows = np.unique(row, return_index=True)
        wide = long.iloc[first_rows][ids].reset_index(drop=True)
        wide = pd.concat([wide, pd.DataFrame(grid, columns=periods)], axis=1)
        wide = wide.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)
    pcols = [
        Column(name=p, header=p, dtype=t.value.dtype, required=False, width=t.value.width)
        for p in periods
    ]
    return [*t.columns, *pcols], wide[[*ids, *periods]]


# --- cells ----------------------------------------------------------------------------------------
def _num_strings(arr: np.ndarray) -> np.ndarray:
    """Finite float array -> shortest decimal strings (integers without '.0')."""
    out = np.empty(arr.shape, dtype=object)
    if not len(arr):
        return out
    integral = (arr == np.trunc(arr)) & (np.abs(arr) < 1e15)
    # Python's str/repr give the shortest round-tripping text, ~2x faster than numpy's astype(str)
    out[integral] = list(map(str, arr[integral].astype(np.int64).tolist()))
    rest = ~integral
    if rest.any():
        out[rest] = list(map(repr, arr[rest].tolist()))
    return out


def _row_numbers(first: int, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = list(map(str, range(first, first + n)))
    return out


def _to_float(s: pd.Series, what: str) -> np.ndarray:
    try:
        num = pd.to_numeric(s, errors="raise")
    except (ValueError, TypeError):
        bad = pd.to_numeric(s, errors="coerce").isna() & s.notna()
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SopError(
            f"{what}: value {s.iloc[i]!r} in data row {i + 1} is not a number",
            fix="this is a bug in the step that produced the sheet; please report it",
        ) from None
    return np.asarray(num.to_numpy(dtype="float64", na_value=np.nan), dtype=float)


def _to_serial(s: pd.Series, what: str) -> np.ndarray:
    try:
        d = pd.to_datetime(s, errors="raise")
    except (ValueError, TypeError) as e:
        raise SopError(f"{what}: {e}", fix="give dates as datetime values") from None
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_localize(None)
    delta = (d - EXCEL_EPOCH) / pd.Timedelta(days=1)
    return np.asarray(delta.to_numpy(dtype="float64", na_value=np.nan), dtype=float)


_ILLEGAL_RE = re.compile(_ILLEGAL_XML)
_ILLEGAL_NO_NUL_RE = re.compile(_ILLEGAL_XML.replace("\\x00", "\\x01"))
# an escaped text starting/ending in whitespace; a CR is escaped as ``&#13;`` (issue 19's bug)
_EDGE_SPACE_RE = re.compile(r"(?:^|\x00)(?:\s|&#13;)|(?:\s|&#13;)(?:\x00|$)")
_XESC_RE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def _escape_texts(values: list[str]) -> list[str]:
    """XML-escape many texts at once: join on NUL (illegal in XML, so never in the output), run
    each replacement once over the big string in C, split back. Also strips characters illegal
    in XML 1.0, keeps carriage returns (``&#13;``) and protects literal ``_xHHHH_`` sequences,
    which Excel would otherwise decode as escaped characters."""
    if not values:
        return []
    big = "\x00".join(values)
    if big.count("\x00") != len(values) - 1:  # a value holds NUL itself: strip it first
        values = [v.replace("\x00", "") for v in values]
        big = "\x00".join(values)
    big = _ILLEGAL_NO_NUL_RE.sub("", big)
    big = big.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    big = big.replace("\r", "&#13;")
    if "_x" in big:
        big = _XESC_RE.sub("_x005F_", big)
    return big.split("\x00")


def _edge_space(esc: str) -> bool:
    """True when an ESCAPED text starts or ends in whitespace (``&#13;`` is an escaped CR), so its
    ``<t>`` needs ``xml:space="preserve"`` or a reader strips the whitespace."""
    return (
        esc[:1].isspace() or esc[-1:].isspace() or esc.startswith("&#13;") or esc.endswith("&#13;")
    )


def text_values(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(mask of non-empty cells, ``<t>`` XML for them). Each distinct text is escaped once (a
    long table repeats its items, locations and months down the rows)."""
    arr = s.to_numpy(dtype=object)
    mask = ~pd.isna(arr)
    texts = [v if isinstance(v, str) else str(v) for v in arr[mask].tolist()]
    codes, uniq = pd.factorize(np.array(texts, dtype=object))  # as texts: 1 and 1.0 differ
    raw = uniq.tolist()
    esc = np.empty(len(raw), dtype=object)
    esc[:] = _escape_texts(raw)
    keep = esc != ""
    if not keep.all():  # empty after stripping: no cell
        idx = np.flatnonzero(mask)
        mask[idx[~keep[codes]]] = False
        codes = codes[keep[codes]]
    if max((len(r) for r, k in zip(raw, keep.tolist(), strict=True) if k), default=0) > MAX_TEXT:
        raise ValueError(f"text longer than {MAX_TEXT} characters (Excel's cell limit)")
    if _EDGE_SPACE_RE.search("\x00".join(esc.tolist())):  # rare: text starting/ending in space
        space = np.fromiter(map(_edge_space, esc.tolist()), dtype=bool, count=len(esc))
        vals = np.where(
            space, '<t xml:space="preserve">' + esc + "</t>", "<t>" + esc + "</t>"
        ).astype(object)
    else:
        vals = "<t>" + esc + "</t>"
    return mask, vals[codes] if len(vals) else np.empty(0, dtype=object)


def column_cells(
    s: pd.Series,
    col: Column,
    letter: str,
    rows: np.ndarray,
    style: int,
    what: str,
    sst: SharedStrings | None = None,
) -> np.ndarray:
    """One object array of ``<c>`` XML per row ('' for an empty cell). Text goes to the shared
    strings table ``sst`` (``t="s"``), or inline (``t="inlineStr"``) without one."""
    n = len(s)
    out = np.full(n, "", dtype=object)
    if n == 0:
        return out
    pre = f'<c r="{letter}'
    if pd.api.types.is_bool_dtype(s.dtype):
        arr = s.to_numpy(dtype=object)
        mask = ~pd.isna(arr)
        v = np.where(arr[mask].astype(bool), "1", "0").astype(object)
        out[mask] = pre + rows[mask] + f'" s="{style}" t="b"><v>' + v + "</v></c>"
        return out
    if col.dtype in (Dtype.TEXT, Dtype.PERIOD):
        try:
            mask, v = text_values(s)
        except ValueError as e:
            raise SopError(f"{what}: {e}", fix="shorten the text") from None
        if sst is None:
            out[mask] = pre + rows[mask] + f'" s="{style}" t="inlineStr"><is>' + v + "</is></c>"
        else:
            out[mask] = pre + rows[mask] + f'" s="{style}" t="s"><v>' + sst.ids(v) + "</v></c>"
        return out
    arr = _to_serial(s, what) if col.dtype in (Dtype.DATE, Dtype.DATETIME) else _to_float(s, what)
    mask = np.isfinite(arr)
    out[mask] = pre + rows[mask] + f'" s="{style}"><v>' + _num_strings(arr[mask]) + "</v></c>"
    return out


def _text_cell(ref: str, text: str, style: int, sst: SharedStrings | None = None) -> str:
    esc = _escape_texts([text])[0]
    sp = ' xml:space="preserve"' if _edge_space(esc) else ""
    if sst is not None:
        return f'<c r="{ref}" s="{style}" t="s"><v>{sst.id(f"<t{sp}>{esc}</t>")}</v></c>'
    return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t{sp}>{esc}</t></is></c>'


def body_rows(lay: Layout, styles: list[int], sst: SharedStrings | None = None) -> np.ndarray:
    """Per data row: the concatenated ``<c>`` XML of the table's cells."""
    n = lay.n
    acc = np.full(n, "", dtype=object)
    if n == 0:
        return acc
    rows = _row_numbers(lay.header_row + 1, n)
    for j, col in enumerate(lay.columns):
        what = f"column '{col.header}'"  # the writer adds workbook, sheet and table
        acc = acc + column_cells(
            lay.frame.iloc[:, j], col, col_letter(lay.first_col + j), rows, styles[j], what, sst
        )
    return acc
