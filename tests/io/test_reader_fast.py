"""The array fast paths of :func:`sop_xl.io.reader.coerce` give exactly what the row-by-row,
cell-by-cell path gives: the same frame (dtypes, values, None vs NaN, order), the same findings
(messages, locations, order), the same bad-row count and Excel rows."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sop_xl.io import reader
from sop_xl.io.reader import ERROR_VALUES, ErrorValue, RawTable, coerce
from sop_xl.model import schema
from sop_xl.model.schema import MAX_TEXT, Dtype, col

TABLE = schema.Table(
    name="tblMixed",
    sheet="Mixed",
    title="Mixed",
    group="Demand",
    doc="every dtype",
    columns=(
        col("key", "Key"),
        col("stage", "Stage", choices=("Alpha", "Beta")),
        col("period", "Period", Dtype.PERIOD),
        col("lag", "Lag", Dtype.INT),
        col("qty", "Quantity", Dtype.QTY, min_value=0.0, required=False),
        col("amount", "Amount", Dtype.MONEY),
        col("when", "Date", Dtype.DATE, required=False),
        col("note", "Note", required=False),
    ),
    keys=("key", "stage", "period"),
)

BLANKS = st.sampled_from(["", None, "", None, float("nan"), pd.NaT])
ERRORS = st.sampled_from(ERROR_VALUES).flatmap(lambda e: st.sampled_from([ErrorValue(e), e]))
TEXTS = st.sampled_from(
    ["A1", " A1 ", "a1", "B2", "  ", "\xa0x", "alpha", " Beta", "BETA", "gamma", "1001",
     "1,234", " 12 ", "1 000", "-5", "2.5", "abc", "nan", "inf", "1e400", "2026-01",
     "2026-13", " 2026-02 ", "Jan 2026", "2026-03-15", "2026-03-15T00:00+01:00",
     "2026-03-16 08:00-05:00", "x" * (MAX_TEXT + 1)]
)  # fmt: skip
FLOATS = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 1001.0, 2.5, -3.0, 1e308, float("inf"), float("-inf")]),
    st.floats(-1e6, 1e6, allow_nan=False),
)
OTHERS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)),
    st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2100, 1, 1)),
)
#: a column is mostly one kind (what calamine hands over) or anything at all
KINDS = {
    "floats": st.one_of(FLOATS, FLOATS, BLANKS),
    "strings": st.one_of(TEXTS, TEXTS, TEXTS, BLANKS, ERRORS),
    "mixed": st.one_of(FLOATS, TEXTS, BLANKS, ERRORS, OTHERS),
    "dates": st.one_of(st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)), BLANKS),
}


@st.composite
def tables(draw, headers: list[str]):
    n = draw(st.integers(0, 12))
    columns = []
    for _ in headers:
        kind = draw(st.sampled_from(sorted(KINDS)))
        columns.append(draw(st.lists(KINDS[kind], min_size=n, max_size=n)))
    rows = [list(r) for r in zip(*columns, strict=True)] if headers else [[] for _ in range(n)]
    for i in draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=3)) if n else []:
        rows[i] = [draw(st.sampled_from(["", None]))] * len(headers)  # blank rows
    if n and draw(st.booleans()):  # duplicate keys: copy a whole row
        rows.append(list(rows[draw(st.integers(0, n - 1))]))
    if rows and draw(st.integers(0, 4)) == 0:  # ragged rows: short, or long with a value
        i = draw(st.integers(0, len(rows) - 1))
        rows[i] = rows[i][: draw(st.integers(0, len(headers)))]
        if draw(st.booleans()):
            rows[i] = rows[i] + [None] * (len(headers) - len(rows[i])) + ["overflow"]
    return rows


@contextmanager
def row_by_row():
    """The reference: the body stacked row by row and every column converted cell by cell."""
    with (
        mock.patch.object(reader, "_cells", reader._cells_by_row),
        mock.patch.object(reader, "_convert_fast", lambda *a: None),
    ):
        yield


def assert_same(got, want):
    pd.testing.assert_frame_equal(got.df, want.df, check_exact=True)
    for c in got.df.columns:  # None and NaN are different answers for an object column
        if got.df[c].dtype == object:
            assert [type(v) for v in got.df[c]] == [type(v) for v in want.df[c]], c
    assert got.findings == want.findings
    assert got.bad_rows == want.bad_rows
    assert got.excel_rows.tolist() == want.excel_rows.tolist()


def both(table, header, rows):
    def raw():
        return RawTable(list(header), [list(r) for r in rows], table.sheet, "m.xlsx", 3, 2)

    got = coerce(table, raw())
    with row_by_row():
        want = coerce(table, raw())
    return got, want


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fast_paths_equal_row_by_row(data):
    header = TABLE.headers
    if data.draw(st.integers(0, 5)) == 0:  # a column missing or blank headers: header paths
        header = [h if data.draw(st.booleans()) else "" for h in header]
    rows = data.draw(tables(header))
    got, want = both(TABLE, header, rows)
    assert_same(got, want)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_wide_grid_equals_row_by_row(data):
    header = [*schema.FORECAST.headers, "2026-01", "2026-02", "2026-03"]
    rows = data.draw(tables(header))
    got, want = both(schema.FORECAST, header, rows)
    assert_same(got, want)


def test_the_property_sees_every_path():
    """The cases above reach the fast paths and the findings they must reproduce."""
    header = TABLE.headers
    rows = [
        ["A1", "alpha", "2026-01", 1.0, "", 10.0, dt.date(2026, 1, 2), " n "],
        ["A1", "ALPHA", "2026-01", 2.5, -1.0, 5.0, "", None],
        [" B2", "gamma", "2026-13", ErrorValue("#REF!"), 3.0, float("inf"), None, "x" * 40000],
        ["", "", "", "", "", "", "", ""],
        ["C3", "Beta", "2026-02", 4.0, 1.0, 2.0, None, None],
    ]
    got, want = both(TABLE, header, rows)
    assert_same(got, want)
    rules = [f.rule for f in got.findings]
    for rule in (
        "value.not_int",
        "value.negative",
        "value.error",
        "value.not_allowed",
        "value.not_period",
        "value.out_of_range",
        "value.too_long",
        "key.duplicate",
    ):
        assert rule in rules, rule
    assert got.excel_rows.tolist() == [8]  # rows 4-5 duplicates, 6 bad, 7 blank, 8 kept
    assert got.df["note"].tolist() == [None]
    assert got.df["stage"].tolist() == ["Beta"]
    calls = []
    real = reader._convert_fast
    with mock.patch.object(reader, "_convert_fast", lambda *a: calls.append(r := real(*a)) or r):
        coerce(TABLE, RawTable(list(header), [list(r) for r in rows], "Mixed", "m.xlsx", 3, 2))
    assert sum(r is not None for r in calls) >= 6  # texts, choices, period, numbers: fast


def test_a_serial_beyond_pandas_dates_is_a_finding_not_a_crash():
    """Found by the property above: 106752.5 is inside Excel's date range (up to 2958465) but past
    what pandas can add to 1899-12-30, and reading it raised OutOfBoundsTimedelta."""
    good = ["A1", "Alpha", "2026-01", 1.0, 1.0, 1.0]
    rows = [[*good, 46023.0, None], [*good[:2], "2026-02", *good[3:], 106752.5, None]]
    got = coerce(TABLE, RawTable(TABLE.headers, rows, "Mixed", "m.xlsx", 1, 1))
    assert [(f.rule, f.where.cell) for f in got.errors] == [("value.not_date", "G3")]
    assert got.df["when"].tolist() == [pd.Timestamp("2026-01-01")]


KEY_VALUES = st.sampled_from(["a", "A", " a", "", None, float("nan"), 1.0, 1, True, 2.5])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(KEY_VALUES, KEY_VALUES, st.sampled_from([1.0, 2.0, np.nan])), max_size=30)
)
def test_duplicated_keys_as_pandas_finds_them(rows):
    df = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=object).astype({"c": float})
    keys = ["a", "b", "c"]
    want = (df.duplicated(subset=keys, keep=False) & df[keys].notna().all(axis=1)).to_numpy(bool)
    assert reader._duplicated(df, keys).tolist() == want.tolist()


def _to_datetime_by_cell(s: pd.Series) -> pd.Series:
    """The definition: each cell typed as a number is an Excel serial, any other is parsed."""
    is_num = s.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
    numeric = pd.to_numeric(s.where(is_num, None), errors="coerce")
    numeric = numeric.where((numeric > 0) & (numeric < reader._LAST_SERIAL))
    serial = reader.EXCEL_EPOCH + pd.to_timedelta(numeric, unit="D")
    text = pd.to_datetime(s.where(~is_num, None), errors="coerce", format="mixed")
    text = text.where((text >= pd.Timestamp.min) & (text <= pd.Timestamp.max))
    return text.astype("datetime64[ns]").fillna(serial)  # cells without time-zone offsets


NAIVE = TEXTS.filter(lambda t: ":" not in t)  # the reference knows no time-zone offsets
DATES = st.one_of(
    st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)),
    st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2100, 1, 1)),
)


@settings(max_examples=80, deadline=None)
@given(
    st.one_of(
        st.lists(st.one_of(DATES, st.none()), max_size=12),  # the usual column: no serials
        st.lists(st.one_of(DATES, st.none(), FLOATS, NAIVE, st.booleans()), max_size=12),
    )
)
def test_dates_equal_cell_by_cell(cells):
    s = pd.Series(cells, dtype=object)
    pd.testing.assert_series_equal(reader._to_datetime(s), _to_datetime_by_cell(s))


@pytest.mark.parametrize(
    "cell", ["3000-01-01", "1600-01-01", "-5", dt.date(3000, 1, 1), dt.datetime(1500, 5, 1)]
)
def test_a_date_pandas_cannot_hold_is_a_finding_not_a_crash(cell):
    """Found by the property above: a date before 1677 or after 2262 (typed, or as a date cell)
    parsed, then failed the cast to nanoseconds with OutOfBoundsDatetime."""
    good = ["A1", "Alpha", "2026-01", 1.0, 1.0, 1.0]
    rows = [[*good, 46023.0, None], [*good[:2], "2026-02", *good[3:], cell, None]]
    got = coerce(TABLE, RawTable(TABLE.headers, rows, "Mixed", "m.xlsx", 1, 1))
    assert [(f.rule, f.where.cell) for f in got.errors] == [("value.not_date", "G3")]
    assert got.df["when"].tolist() == [pd.Timestamp("2026-01-01")]


@pytest.mark.parametrize(
    "cells",
    [
        ["2026-01-05T00:00+01:00"],
        ["2026-01-05T00:00+01:00", "2026-01-06"],
        ["2026-01-05T00:00+01:00", "2026-01-06T00:00+02:00"],
        [dt.datetime(2026, 1, 5, tzinfo=dt.UTC), 46023.0],
    ],
)
def test_a_date_with_a_time_zone_offset_is_a_finding_not_a_crash(cells):
    """Found by the property above: one offset made the reader raise TypeError (no cast from an
    aware to a naive date), offsets mixed with others or with plain dates ValueError. Excel has no
    time zones, so the day meant is unsure: the cell is 'not a date', every other cell is read."""
    rows = [
        ["A1", "Alpha", f"2026-0{i + 1}", 1.0, 1.0, 1.0, cell, None] for i, cell in enumerate(cells)
    ]
    got = coerce(TABLE, RawTable(TABLE.headers, rows, "Mixed", "m.xlsx", 1, 1))
    offsets = [i for i, c in enumerate(cells) if isinstance(c, dt.datetime) or "+" in str(c)]
    assert [(f.rule, f.where.cell) for f in got.errors] == [
        ("value.not_date", f"G{i + 2}") for i in offsets
    ]
    assert len(got.df) == len(cells) - len(offsets)
    assert got.df["when"].notna().all()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_pandas_na_cell_reads_as_the_blank_none_is(data):
    # pd.NA raised "boolean value of NA is ambiguous" (or a header read '<NA>'); it is a blank
    table = data.draw(st.sampled_from([TABLE, schema.FORECAST]))
    header = list(table.headers) + (["2026-01", "2026-02"] if table is schema.FORECAST else [])
    header += [None] * data.draw(st.integers(0, 1))  # a column without a header
    rows = data.draw(tables(header))
    with_na = [[pd.NA if v is None and data.draw(st.booleans()) else v for v in r] for r in rows]
    na_header = [pd.NA if h is None else h for h in header]

    def raw(h, body):
        return RawTable(list(h), [list(r) for r in body], table.sheet, "m.xlsx", 3, 2)

    assert_same(coerce(table, raw(na_header, with_na)), coerce(table, raw(header, rows)))
