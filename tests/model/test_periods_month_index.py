"""model.periods.month_index: the one 'YYYY-MM' -> month-number parser, against the two it
replaced, kept here verbatim as references: history.archive.month_index (a blank is NaN) and
kpi.forecast._period_index (a blank is -1), each caller keeping its blank policy in one line.
The same numbers, dtypes and order on random columns (months, blanks of every kind, duplicates,
datetimes, object / str / string / category dtypes, no rows), or the same error for text that is
not a month."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.history import archive as arc
from sop_xl.kpi.forecast import _period_index
from sop_xl.model.periods import month_index


# --- the two parsers it replaced (as they were) ---------------------------------------------------
def old_archive_month_index(period):  # sop_xl/history/archive.py
    codes, uniq = pd.factorize(np.asarray(period, dtype=object))  # a missing value: code -1
    u = pd.Series(np.asarray(uniq, dtype=object), dtype=object).astype(str).str.strip()
    filled = (u != "").to_numpy()
    idx = np.full(len(u) + 1, np.nan)  # the last one: for code -1
    f = u[filled]
    idx[:-1][filled] = (
        f.str.slice(0, 4).astype(int) * 12 + f.str.slice(5, 7).astype(int) - 1
    ).to_numpy()
    return idx[codes]


def old_period_index(period):  # sop_xl/kpi/forecast.py
    codes, uniq = pd.factorize(period)
    u = pd.Series(np.asarray(uniq, dtype=object)).astype(str)
    idx = (u.str.slice(0, 4).astype(int) * 12 + u.str.slice(5, 7).astype(int) - 1).to_numpy()
    return np.where(codes >= 0, idx[np.maximum(codes, 0)] if len(idx) else 0, -1)


def _outcome(f, *args):
    try:
        return "ok", f(*args)
    except Exception as e:  # the same failure is the same behaviour
        return "raised", type(e)


def assert_same(got, want) -> None:
    assert got[0] == want[0], (got, want)
    if got[0] == "ok":
        assert got[1].dtype == want[1].dtype
        np.testing.assert_array_equal(got[1], want[1])  # NaN where NaN
    else:
        assert got[1] is want[1]


MONTHS = ["2026-01", "2025-12", "0001-01", "9999-12", "2026-1", "2026-01-15"]
BLANKS = [None, np.nan, pd.NaT, pd.NA]
TEXT = st.sampled_from([*MONTHS, "", "  ", "2026-01 ", "abc"])
DATES = [pd.Timestamp("2026-03-05"), pd.Period("2026-04", "M")]


def columns(blank_text: bool):
    """A column of months (and blanks, and ``blank_text``: text the KPI parser raised on) in
    one of several containers and dtypes."""
    text = TEXT if blank_text else st.sampled_from([*MONTHS, "abc"])
    objects = st.lists(st.one_of(text, st.sampled_from(BLANKS + DATES)), max_size=30)
    strings = st.lists(st.one_of(text, st.sampled_from(BLANKS)), max_size=30)
    return st.one_of(
        objects.map(lambda v: pd.Series(v, dtype=object)),
        objects.map(lambda v: np.array(v, dtype=object)),
        objects,
        strings.flatmap(
            lambda v: st.sampled_from(["str", "string", "category"]).map(
                lambda d: pd.Series([None if x is pd.NaT else x for x in v], dtype=d)
            )
        ),
        st.lists(st.sampled_from(["2024-01-05", "2023-12-31", None]), max_size=20).map(
            lambda v: pd.to_datetime(pd.Series(v, dtype=object))
        ),
    )


@settings(max_examples=500, deadline=None)
@given(col=columns(blank_text=True))
def test_month_index_is_the_archive_copy(col):
    assert_same(_outcome(month_index, col), _outcome(old_archive_month_index, col))
    assert arc.month_index is month_index  # the history engine's policy: NaN


@settings(max_examples=500, deadline=None)
@given(col=columns(blank_text=False))
def test_period_index_is_the_kpi_copy(col):
    """Wherever the KPI parser returned: the same int64 numbers, -1 for a blank."""
    if not isinstance(col, pd.Series):
        col = pd.Series(col, dtype=object)  # what the KPI engine passes: a frame's column
    assert_same(_outcome(_period_index, col), _outcome(old_period_index, col))


def test_blank_text_is_missing_for_the_kpi_engine_too():
    """Known answers where the two parsers differed: '' and spaces are blanks (the KPI parser
    raised ValueError on them) and spaces around a month are ignored (it read ' 2026-01' as
    month 0 of year 202, '6-' ... or raised)."""
    col = pd.Series(["2026-01", "", "  ", " 2026-02", None], dtype=object)
    assert _period_index(col).tolist() == [2026 * 12, -1, -1, 2026 * 12 + 1, -1]
    assert _period_index(col).dtype == np.int64
    assert _outcome(old_period_index, col)[0] == "raised"
