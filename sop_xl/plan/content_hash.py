"""The content hash of a workbook: SHA-256 over its sheet names and cell values, canonically.

What it covers, in this order: for every sheet (workbook order) its name, then every non-empty
cell as ``row,column`` and a typed value:

- numbers (integers and decimals alike) to 15 significant digits, ``-0`` as ``0`` (``n:4``,
  ``n:0.1``, ``n:1234567.891``), by :func:`canonical_number`: the cell text is parsed to a
  double first (so ``1E-2``, ``0.010`` and ``0.01`` are one value, and Excel's 17 digits and
  openpyxl's shortest form of one double are one value), then rounded to 15 significant digits
  the way LibreOffice writes numbers: the double correctly rounded to 16 significant digits,
  that decimal rounded to 15 with ties away from zero. So 0.01608751804299935 (a double just
  below the decimal tie) is 0.0160875180429994, as LibreOffice saves it, where rounding the
  exact binary value once would give ...993 (measured: the rule reproduces all 6,006 numbers of
  a LibreOffice 25.2 re-save, see tests/plan/test_content_hash.py). LibreOffice does not
  follow any rule exactly near a 15-digit midpoint (533 of the demo plan's 862,675 numbers), so
  the freeze writes numbers at 15 digits already (``freeze.round_numbers``), far from every
  midpoint, and every writer's 15 digits of them are their canonical form. Fifteen digits is the
  precision of a spreadsheet: Excel shows and accepts 15. A hash over all 17 digits would call
  every honest re-save a tampering; a change beyond the 15th digit is caught by the file hash;
- booleans ``b:1`` / ``b:0``;
- dates and times in ISO 8601 (``d:2026-01-31T00:00:00``, ``t:13:30:00``), durations in seconds;
- text as is (``s:Forecast``); error values as their text (``#DIV/0!``);
- empty cells (and empty text) are skipped.

What it ignores, on purpose: zip timestamps and compression, XML attribute order and prefixes,
shared vs inline strings, styles, column widths, protection. So re-saving an unchanged workbook
(Excel, openpyxl, LibreOffice) gives the same hash, and changing any value gives another.

Values are read with python-calamine (fast, read-only, evaluates nothing). A snapshot's first
sheet is its Cover, which *contains* the content hash, so it is left out (``skip_first``); the
cover is checked against the ledger record instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context
from itertools import chain, repeat
from pathlib import Path

import numpy as np
from python_calamine import CalamineWorkbook

from sop_xl.errors import InputFileError, Location, SopError, failure_text, reading_failure
from sop_xl.io import spawn
from sop_xl.plan import hash_helper


@dataclass
class ContentHash:
    """The workbook content hash and one hash per sheet (to say *which* sheet changed)."""

    hexdigest: str
    sheets: dict[str, str] = field(default_factory=dict)
    cells: int = 0


_CTX15 = Context(prec=15, rounding=ROUND_HALF_UP)  # ROUND_HALF_UP: ties away from zero


def canonical_number(x: float) -> str:
    """A double as canonical text: 15 significant digits, by one defined rule.

    The rule (LibreOffice's, so its 15-digit re-save hashes the same as the original): take the
    double correctly rounded to 16 significant digits, round that decimal to 15 with ties away
    from zero (``0.01608751804299935`` -> 16 digits ``0.01608751804299935`` ->
    ``0.0160875180429994``; ``57091.294503929246`` -> ``57091.29450392925`` ->
    ``57091.2945039293``). Output is ``format(value, ".15g")`` of the rounded value, ``-0`` as
    ``0``; NaN and infinities as Python writes them.
    """
    if x == 0.0:
        return "0"
    s = f"{x:.15g}"
    if float(s) == x or math.isnan(x) or math.isinf(x):
        return s  # at most 15 digits already (the common case: no rounding at all)
    return f"{float(_CTX15.create_decimal(f'{x:.16g}')):.15g}"


def canonical_value(value: object) -> str | None:
    """One cell value as typed canonical text; None for an empty cell."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "b:1" if value else "b:0"
    if isinstance(value, int | float):
        x = float(value)
        if x == 0.0:
            x = 0.0  # -0.0 and 0.0 are the same value in a spreadsheet
        return "n:" + canonical_number(x)
    if isinstance(value, dt.datetime):
        return "d:" + value.replace(tzinfo=None).isoformat()
    if isinstance(value, dt.date):
        return "d:" + dt.datetime(value.year, value.month, value.day).isoformat()
    if isinstance(value, dt.time):
        return "t:" + value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"p:{value.total_seconds()!r}"
    return "s:" + str(value)


def _needs_escape(text: str) -> bool:
    return "\n" in text or "\r" in text or "\\" in text


def _escape(text: str) -> str:
    # a cell text may contain newlines; keep one record per line
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


#: Cell types a dict may key by value: equal values of two of them (``1 == 1.0``, ``-0.0 == 0``)
#: have one canonical form. Any other type is keyed by its type and time zone as well:
#: ``True == 1`` but ``b:1`` is not ``n:1``; 12:00+01:00 equals 11:00 UTC but their canonical
#: forms (the wall clock) differ.
_PLAIN_TYPES = frozenset({str, float, int, type(None), dt.date, dt.timedelta})


class _Codes(dict):
    """Value -> code, a new code (and the value appended to ``keys``) for each new value."""

    __slots__ = ("keys_",)

    def __init__(self, keys: list[object]) -> None:
        super().__init__()
        self.keys_ = keys

    def __missing__(self, key: object) -> int:
        code = self[key] = len(self.keys_)
        self.keys_.append(key)
        return code


def _typed(value: object) -> object:
    if type(value) in _PLAIN_TYPES:
        return value
    return (_Typed, value, type(value), getattr(value, "tzinfo", None))


class _Typed:
    """Marks a ``(_Typed, value, type, time zone)`` key made by :func:`_typed`."""


def _line_ends(keys: list[object]) -> list[str | None]:
    """``=typed value`` and a newline for each distinct cell value (None: an empty cell), numbers
    in bulk: almost every double has its 15-digit text already (a frozen plan's all do), so
    only the others take :func:`canonical_number`'s decimal rounding."""
    ends: list[str | None] = [None] * len(keys)
    at_float: list[int] = []
    for i, v in enumerate(keys):
        t = type(v)
        if t is str:
            if v:
                ends[i] = "=s:" + (_escape(v) if _needs_escape(v) else v) + "\n"
        elif t is float:
            at_float.append(i)
        elif v is not None:
            cv = canonical_value(v[1] if t is tuple and v[0] is _Typed else v)
            if cv is not None:
                ends[i] = "=" + _escape(cv) + "\n"
    if at_float:
        xs = [keys[i] for i in at_float]
        texts = list(map(format, xs, repeat(".15g")))
        x = np.array(xs, dtype=np.float64)
        back = np.fromiter(map(float, texts), np.float64, len(texts))
        # zeros ("-0"), and doubles of more than 15 digits, the one rule; nan and inf as written
        redo = np.flatnonzero((x == 0.0) | ((back != x) & np.isfinite(x)))
        for k in redo.tolist():
            texts[k] = canonical_number(xs[k])
        for i, text in zip(at_float, texts, strict=True):
            ends[i] = "=n:" + text + "\n"
    return ends


_LABELS: dict[str, np.ndarray] = {}
#: cells joined at a time
_CHUNK = 1 << 20


def _labels(n: int, end: str) -> np.ndarray:
    """``["1" + end, "2" + end, ...]``, at least ``n`` of them (kept for the next sheet)."""
    have = _LABELS.get(end)
    if have is None or len(have) < n:
        have = _LABELS[end] = np.array(
            [f"{i}{end}" for i in range(1, max(n, 1024) + 1)], dtype=object
        )
    return have


def _sheet_text(rows: Iterable[Sequence[object]]) -> tuple[str, int]:
    """The canonical lines of one sheet (``row,col=typed value``) and the cell count.

    Vectorised, as the sheets are large (the demo plan: 2.3 M cells): one dict pass gives each
    cell the code of its value, each distinct value's canonical form is computed once
    (:func:`_line_ends`), and numpy gathers row label, column label and canonical form of
    every non-empty cell in cell order for one join. tests/plan/test_content_hash_reference.py
    checks it against the plain per-cell loop.
    """
    rows = rows if isinstance(rows, list) else list(rows)
    lens = np.fromiter(map(len, rows), np.int64, len(rows))
    flat = list(chain.from_iterable(rows))
    if not flat:
        return "", 0
    if not set(map(type, flat)) <= _PLAIN_TYPES:
        flat = list(map(_typed, flat))
    keys: list[object] = []
    codes = np.fromiter(map(_Codes(keys).__getitem__, flat), np.int64, len(flat))
    ends = _line_ends(keys)
    present = np.fromiter((e is not None for e in ends), bool, len(ends))
    cells = np.flatnonzero(present[codes])
    if not len(cells):
        return "", 0
    width = int(lens.max())
    rectangular = bool((lens == width).all())
    starts = np.cumsum(lens) - lens  # each row's first cell
    row_labels, col_labels = _labels(len(rows), ","), _labels(width, "")
    forms = np.array(ends, dtype=object)
    texts = []
    for at in range(0, len(cells), _CHUNK):  # a bounded working set on a 20 M-cell sheet
        part = cells[at : at + _CHUNK]
        if rectangular:
            row0, col0 = np.divmod(part, width)
        else:  # ragged rows: each cell's row from the row starts
            row0 = np.searchsorted(starts, part, side="right") - 1
            col0 = part - starts[row0]
        pieces = np.empty(3 * len(part), dtype=object)
        pieces[0::3] = row_labels[row0]
        pieces[1::3] = col_labels[col0]
        pieces[2::3] = forms[codes[part]]
        texts.append("".join(pieces.tolist()))
    return texts[0] if len(texts) == 1 else "".join(texts), len(cells)


def _lines(rows: Iterable[Sequence[object]]) -> tuple[bytes, int]:
    text, count = _sheet_text(rows)
    return text.encode("utf-8"), count


def _digest(sheets: Iterable[tuple[str, bytes, int]]) -> ContentHash:
    """The hash of ``(sheet name, canonical lines as UTF-8, cell count)`` in workbook order."""
    total = hashlib.sha256()
    per_sheet: dict[str, str] = {}
    n = 0
    for name, data, count in sheets:
        head = f"sheet={_escape(name)}\n".encode()
        total.update(head)
        total.update(data)
        one = hashlib.sha256(head)
        one.update(data)
        per_sheet[name] = one.hexdigest()
        n += count
    return ContentHash(total.hexdigest(), per_sheet, n)


def values_hash(sheets: Iterable[tuple[str, Iterable[list[object]]]]) -> ContentHash:
    """Content hash of ``(sheet name, rows of values)`` pairs; rows start at A1."""
    return _digest((name, *_lines(rows)) for name, rows in sheets)


def _book(source: Path | bytes) -> CalamineWorkbook:
    if isinstance(source, bytes | bytearray):
        return CalamineWorkbook.from_filelike(io.BytesIO(source))
    return CalamineWorkbook.from_path(str(source))


def _rows(book: CalamineWorkbook, name: str) -> list[list[object]]:
    return book.get_sheet_by_name(name).to_python(skip_empty_area=False)


def workbook_values(
    source: Path | bytes, *, skip_first: bool = False
) -> Iterable[tuple[str, list[list[object]]]]:
    """``(sheet name, rows from A1)`` for every sheet, read with python-calamine (the one
    reading of every sheet's values: the hash, ``diff``, the freeze's recalculated copy). It
    raises what calamine raises; each caller says what could not be read."""
    book = _book(source)
    names = list(book.sheet_names)
    if skip_first:
        names = names[1:]
    for name in names:
        yield name, _rows(book, name)


def sheet_lines(
    source: Path | bytes, names: Sequence[str], take: Callable[[int], bool]
) -> Iterable[tuple[int, bytes, int]]:
    """``(position, canonical lines as UTF-8, cell count)`` of each sheet of ``names`` that
    ``take(position)`` gives this process: the work :mod:`sop_xl.plan.hash_helper` does in a
    second process (``take``: :meth:`sop_xl.io.spawn.Claims.take`)."""
    book = _book(source)
    for at, name in enumerate(names):
        if take(at):
            yield at, *_lines(_rows(book, name))


def _split_hash(
    source: Path | bytes, skip_first: bool, helper: hash_helper.Helper | None
) -> ContentHash:
    """The hash, the sheets shared with a helper process when it is worth one: both walk the
    sheets largest first and each does the ones it takes (:class:`sop_xl.io.spawn.Claims`), so
    they end about together; a sheet the helper did not answer for is done here."""
    claims: spawn.Claims | None = None
    order: list[str] = []
    try:
        if helper is not None or hash_helper.enabled():
            sizes = list(hash_helper.sheet_sizes(source).items())[1 if skip_first else 0 :]
            if hash_helper.worth_sharing([s for _, s in sizes], ready=helper is not None):
                helper = helper or hash_helper.start()
                claims = spawn.Claims.create() if helper is not None else None
                order = [name for name, _ in sorted(sizes, key=lambda ns: -ns[1])]  # largest first
            if claims is not None and not (helper and helper.send(source, order, claims)):
                claims.close()
                claims = None
        book = _book(source)  # the helper reads its own copy meanwhile
        names = list(book.sheet_names)[1 if skip_first else 0 :]
        if claims is None:  # one process: each sheet's lines hashed, then let go
            alone = _digest((name, *_lines(_rows(book, name))) for name in names)
            book.close()
            return alone
        done = {}
        for at, name in enumerate(order):  # one at a time: the helper takes the others
            if claims.take(at, unsure=True):
                done[name] = _lines(_rows(book, name))
        got = helper.result() if helper is not None else {}
        for name in names:  # a sheet the helper did not answer for is computed here, as always
            if name not in done:
                done[name] = got[name] if name in got else _lines(_rows(book, name))
        book.close()  # the file is free (a temporary copy can go, also on Windows)
    finally:
        if helper is not None:
            helper.close()
        if claims is not None:
            claims.close()
    return _digest((name, *done[name]) for name in names)


def content_hash(
    source: Path | bytes, *, skip_first: bool = False, helper: hash_helper.Helper | None = None
) -> ContentHash:
    """The content hash of a workbook file (or its bytes). See the module docstring.

    A large workbook's sheets are shared with a second process (:mod:`sop_xl.plan.hash_helper`;
    ``helper``: one started earlier, which this call ends); the hash is the same either way."""
    try:
        return _split_hash(source, skip_first, helper)
    except BaseException as exc:  # calamine's errors; a Rust panic is a BaseException
        if isinstance(exc, SopError) or not reading_failure(exc):
            raise
        name = source.name if isinstance(source, Path) else "(in memory)"
        raise InputFileError(
            f"cannot read the cell values ({failure_text(exc)}).",
            where=Location(file=name),
            fix="Check that the file is an intact .xlsx workbook.",
        ) from None
