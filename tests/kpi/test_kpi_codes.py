"""sop_xl/kpi/codes.py: the one factorisation of key columns (blanks last) against the copies it
replaced, kept here verbatim as references: the same codes (values and dtype), the same
distinct values (types included) in the same order, on random columns with blanks of every
kind (None, NaN, NaT, pd.NA), duplicates, mixed types and no rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.history.archive import _order
from sop_xl.kpi import codes as codes_module
from sop_xl.kpi.cells import column_codes
from sop_xl.kpi.codes import codes_of, group_codes, sorted_codes, sorted_key
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


def old_factorize(df, c):  # sop_xl/kpi/forecast.py _factorize, now codes.sorted_codes (no cache)
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
    assert_same(_outcome(sorted_codes, df, "k", None), _outcome(old_factorize, df, "k"))


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


# --- group_codes and the archive's sort order (kpi.codes.sorted_key) ------------------------------
def old_compact(codes, space):  # sop_xl/kpi/forecast.py _compact
    if space <= max(4 * len(codes), 1 << 16):
        present = np.bincount(codes, minlength=space) > 0
        keys = np.flatnonzero(present)
        remap = np.cumsum(present) - 1
        return keys, remap[codes]
    keys, inv = np.unique(codes, return_inverse=True)
    return keys, inv.reshape(-1)


def old_group_codes(df, by):  # sop_xl/kpi/forecast.py group_codes (no cache, no overflow guard)
    by = list(by)
    if not by:
        return np.zeros(len(df), dtype=np.intp), pd.DataFrame(index=pd.RangeIndex(1))
    combined = np.zeros(len(df), dtype=np.int64)
    uniques = []
    space = 1
    for c in by:
        codes, uniq = old_factorize(df, c)
        combined = combined * (len(uniq) + 1) + codes
        space *= len(uniq) + 1
        uniques.append(uniq)
    keys, inv = old_compact(combined, space)
    cols = {}
    for c, uniq in zip(reversed(by), reversed(uniques), strict=True):
        base = len(uniq) + 1
        cols[c] = np.asarray(uniq, dtype=object)[keys % base] if len(uniq) else []
        keys = keys // base
    groups = pd.DataFrame({c: cols[c] for c in by})
    return inv.reshape(-1), groups


def old_order(frame, by):  # sop_xl/history/archive.py _order
    key = np.zeros(len(frame), dtype=np.int64)
    space = 1
    for c in by:
        codes, uniq = old_archive_codes_of(frame[c], sort=True)
        if space * (len(uniq) + 1) >= 2**62:  # keep the combined key in int64: re-rank it
            _, key = np.unique(key, return_inverse=True)
            key, space = key.reshape(-1).astype(np.int64), int(key.max(initial=0)) + 1
        key = key * (len(uniq) + 1) + codes
        space *= len(uniq) + 1
    return np.argsort(key, kind="stable")


def frames(dtypes: bool):
    """A frame of 0-4 key columns of one length (duplicate rows likely), objects of mixed types
    or (``dtypes``) any of :func:`columns`' dtypes."""
    n = st.integers(0, 30)
    col = columns() if dtypes else cells.map(lambda v: pd.Series(v, dtype=object))
    return st.tuples(n, st.lists(col, max_size=4)).map(
        lambda t: pd.DataFrame(
            {f"c{i}": c.iloc[: t[0]].reset_index(drop=True) for i, c in enumerate(t[1])}
        ).iloc[: min([t[0], *(len(c) for c in t[1])])]
    )


def assert_same_groups(got, want) -> None:
    assert got[0] == want[0], (got, want)
    if got[0] == "raised":
        assert got[1] is want[1]
        return
    (g_inv, g_groups), (w_inv, w_groups) = got[1], want[1]
    assert g_inv.dtype == w_inv.dtype
    np.testing.assert_array_equal(g_inv, w_inv)
    pd.testing.assert_frame_equal(g_groups, w_groups, check_exact=True)
    for c in w_groups.columns:
        assert _typed(g_groups[c]) == _typed(w_groups[c]), c


@settings(max_examples=400, deadline=None)
@given(df=frames(dtypes=True), tiny=st.booleans(), data=st.data())
def test_group_codes_is_the_copy_it_was(df, tiny, data):
    """The same group codes and group keys, with the key renumbered after every column
    (``tiny``: a KEY_LIMIT of 4) or never; any subset of the columns, in any order."""
    by = data.draw(
        st.permutations(list(df.columns)).flatmap(
            lambda p: st.sampled_from([p[:i] for i in range(len(p) + 1)])
        )
    )
    limit = codes_module.KEY_LIMIT
    codes_module.KEY_LIMIT = 4 if tiny else limit
    try:
        got = _outcome(group_codes, df, by)
    finally:
        codes_module.KEY_LIMIT = limit
    assert_same_groups(got, _outcome(old_group_codes, df, by))


@settings(max_examples=400, deadline=None)
@given(df=frames(dtypes=False), tiny=st.booleans())
def test_archive_order_is_the_copy_it_was(df, tiny):
    """archive._order on object columns (what :func:`normalise` makes of the archive's text
    columns): the same permutation, renumbered often or never."""
    limit = codes_module.KEY_LIMIT
    codes_module.KEY_LIMIT = 4 if tiny else limit
    try:
        got = _outcome(_order, df, list(df.columns))
    finally:
        codes_module.KEY_LIMIT = limit
    want = _outcome(old_order, df, list(df.columns))
    assert got[0] == want[0]
    if got[0] == "ok":
        assert got[1].dtype == want[1].dtype
        np.testing.assert_array_equal(got[1], want[1])


def test_group_codes_beyond_int64_keys_equal_the_pandas_groupby():
    """45 two-valued columns: 3**45 combined keys, far past int64. Before the overflow guard
    the key wrapped and decoding the groups failed (IndexError); now the groups are pandas'
    (sort=True, dropna=False), each row's keys its own values."""
    rng = np.random.default_rng(0)
    values = np.array(["a", "b", None], dtype=object)
    df = pd.DataFrame({f"c{i}": values[rng.integers(0, 3, 60)] for i in range(45)}, dtype=object)
    by = list(df.columns)
    inv, groups = group_codes(df, by)
    want = df.groupby(by, sort=True, dropna=False).ngroup().to_numpy()
    np.testing.assert_array_equal(inv, want)
    assert len(groups) == len(df.drop_duplicates())
    got = groups.to_numpy(dtype=object)[inv]
    assert pd.DataFrame(got).equals(pd.DataFrame(df.to_numpy(dtype=object)))


def test_sorted_key_renumbers_only_what_would_overflow():
    """Known answer: a sorts x=0, y=1, z=2, blank=3 (4 codes: base 5), b sorts p=0, q=1,
    blank=2 (base 4); key = code(a) * 4 + code(b), space 5 * 4, nothing renumbered."""
    df = pd.DataFrame({"a": ["y", None, "x", "z"], "b": ["q", "p", None, "p"]}, dtype=object)
    key = sorted_key(df, ["a", "b"])
    assert key.codes.tolist() == [1 * 4 + 1, 3 * 4 + 0, 0 * 4 + 2, 2 * 4 + 0]
    assert key.space == 5 * 4 and not any(isinstance(s, np.ndarray) for s in key.layout)
