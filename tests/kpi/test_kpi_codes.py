"""sop_xl/kpi/codes.py: the one factorisation of key columns (blanks last) against the copies it
replaced, kept here verbatim as references: the same codes (values and dtype), the same
distinct values (types included) in the same order, on random columns with blanks of every
kind (None, NaN, NaT, pd.NA), duplicates, mixed types and no rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.kpi.cells import column_codes
from sop_xl.kpi.codes import codes_of
from sop_xl.kpi.forecast import _factorize
from sop_xl.kpi.ops import _text_isin


# --- the copies codes_of replaced (as they were before it) ----------------------------------------
def old_archive_codes_of(values, sort=False):  # sop_xl/history/archive.py
    codes, uniq = pd.factorize(values, sort=sort)
    uniq = np.asarray(uniq, dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) and codes.min() < 0:
        codes = np.where(codes < 0, len(uniq), codes)
        uniq = np.append(uniq, np.array([np.nan], dtype=object))
    return codes, uniq


def old_column_codes(df, col):  # sop_xl/kpi/cells.py (without its cache)
    codes, uniq = pd.factorize(df[col].to_numpy(dtype=object))
    codes, uniq = codes.astype(np.int64), np.asarray(uniq, dtype=object)
    missing = codes < 0
    if missing.any():
        codes[missing] = len(uniq)
        uniq = np.append(uniq, np.nan)
    return codes, uniq


def old_factorize(df, c):  # sop_xl/kpi/forecast.py _factorize (without its cache)
    col = df[c]
    if col.dtype == object:
        codes, uniq = pd.factorize(col.to_numpy(), sort=True)
        missing = codes < 0
        if missing.any():
            codes = np.where(missing, len(uniq), codes)
            uniq = np.append(np.asarray(uniq, dtype=object), np.nan)
        return codes, uniq
    return pd.factorize(col, sort=True, use_na_sentinel=False)


def old_text_isin(s, values):  # sop_xl/kpi/ops.py
    codes, uniq = pd.factorize(s.to_numpy(dtype=object))
    text = pd.Series(np.append(np.asarray(uniq, dtype=object), np.nan), dtype=object)
    return text.astype(str).isin(values).to_numpy(dtype=bool)[codes]


# --- comparing ------------------------------------------------------------------------------------
def _typed(values) -> list[tuple[type, str]]:
    """Each value with its exact type (NaN, None, NaT and pd.NA told apart)."""
    return [(type(v), repr(v)) for v in np.asarray(values, dtype=object).tolist()]


def _outcome(f, *args, **kwargs):
    try:
        return "ok", f(*args, **kwargs)
    except Exception as e:  # the same failure is the same behaviour
        return "raised", type(e)


def assert_same(got, want) -> None:
    assert got[0] == want[0], (got, want)
    if got[0] == "raised":
        assert got[1] is want[1]
        return
    (gc, gu), (wc, wu) = got[1], want[1]
    assert gc.dtype == wc.dtype
    np.testing.assert_array_equal(gc, wc)
    assert np.asarray(gu).dtype == np.asarray(wu).dtype
    assert _typed(gu) == _typed(wu)


BLANKS = [None, np.nan, pd.NaT, pd.NA]
cell = st.one_of(
    st.sampled_from(["N", "S", "2024-01", "2024-02", "", " ", "nan", *BLANKS]),
    st.integers(-3, 3),
    st.floats(allow_nan=False, width=32),
    st.booleans(),
)
cells = st.lists(cell, max_size=40)
text_cells = st.lists(st.sampled_from(["b", "a", "c", "2024-01", "", *BLANKS]), max_size=40)
float_cells = st.lists(st.one_of(st.sampled_from([0.0, -0.0, 1.5, np.nan]), st.integers(-2, 2)))


def columns():
    """A column of one of several dtypes, or objects of mixed types."""
    return st.one_of(
        cells.map(lambda v: pd.Series(v, dtype=object)),
        text_cells.flatmap(
            lambda v: st.sampled_from([object, "str", "string", "category"]).map(
                lambda d: pd.Series([None if x is pd.NaT else x for x in v], dtype=d)
            )
        ),
        float_cells.flatmap(
            lambda v: st.sampled_from([float, "Float64", object]).map(
                lambda d: pd.Series(v, dtype=d)
            )
        ),
        st.lists(st.sampled_from(["2024-01-05", "2023-12-31", None]), max_size=20).map(
            lambda v: pd.to_datetime(pd.Series(v, dtype=object))
        ),
    )


@settings(max_examples=400, deadline=None)
@given(col=columns(), sort=st.booleans(), as_array=st.booleans())
def test_codes_of_is_the_archive_copy(col, sort, as_array):
    values = col.to_numpy() if as_array else col
    assert_same(_outcome(codes_of, values, sort=sort), _outcome(old_archive_codes_of, values, sort))


@settings(max_examples=300, deadline=None)
@given(col=columns())
def test_column_codes_is_the_copy_it_was(col):
    df = pd.DataFrame({"k": col})
    assert_same(_outcome(column_codes, df, "k"), _outcome(old_column_codes, df, "k"))
    cache: dict = {}
    first = column_codes(df, "k", cache)
    assert column_codes(df, "k", cache) is first  # once per frame and column


@settings(max_examples=300, deadline=None)
@given(col=columns())
def test_forecast_factorize_is_the_copy_it_was(col):
    df = pd.DataFrame({"k": col})
    assert_same(_outcome(_factorize, df, "k", None), _outcome(old_factorize, df, "k"))


@settings(max_examples=300, deadline=None)
@given(
    col=columns(),
    wanted=st.sets(st.sampled_from(["2024-01", "nan", "None", "<NA>", "NaT", "1", "1.0", "", "a"])),
)
def test_text_isin_is_the_copy_it_was(col, wanted):
    got, want = _outcome(_text_isin, col, wanted), _outcome(old_text_isin, col, wanted)
    assert got[0] == want[0]
    if got[0] == "ok":
        assert got[1].dtype == want[1].dtype
        np.testing.assert_array_equal(got[1], want[1])


def test_codes_of_by_hand():
    """Known answer: first-appearance codes, every blank one code, the last; sorted: blanks
    still last."""
    codes, uniq = codes_of(pd.Series(["b", None, "a", np.nan, "b"], dtype=object))
    assert codes.tolist() == [0, 2, 1, 2, 0]
    assert uniq[:2].tolist() == ["b", "a"] and len(uniq) == 3 and uniq[2] != uniq[2]
    codes, uniq = codes_of(np.array(["b", None, "a"], dtype=object), sort=True)
    assert codes.tolist() == [1, 2, 0] and uniq[:2].tolist() == ["a", "b"]
    codes, uniq = codes_of(np.array([], dtype=object))
    assert codes.dtype == np.int64 and len(codes) == 0 and len(uniq) == 0
