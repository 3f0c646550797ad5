"""variance.group.group_ids on kpi.codes.group_codes against the hand-built version it replaced,
kept here verbatim as the reference: the same group ids and group keys (values, dtypes, order) on
random key columns (objects of mixed types, integer codes of several widths, floats, duplicates,
no rows), the same error for no column; and a blank key (None, NaN, NaT, pd.NA), which the old one
labelled with another group's key (one column) or failed on with numpy's ValueError (several), is
an ArgumentError naming the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.errors import ArgumentError
from sop_xl.kpi import codes as codes_module
from sop_xl.variance.group import group_ids


# --- the code it replaced (as it was) -------------------------------------------------------------
def old_group_ids(columns):
    codes, uniques = [], []
    for col in columns:
        arr = np.asarray(col)
        if arr.dtype.kind not in "iu":  # integer codes hash fast; everything else as objects
            arr = arr.astype(object)
        c, u = pd.factorize(arr, sort=True)
        codes.append(c.astype(np.int64))
        uniques.append(np.asarray(u))
    if not codes:
        raise ArgumentError("group_ids needs at least one key column")
    n = len(codes[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64), [u[:0] for u in uniques]
    dims = tuple(max(len(u), 1) for u in uniques)
    combined = codes[0] if len(codes) == 1 else np.ravel_multi_index(codes, dims)
    gid, ucomb = pd.factorize(combined, sort=True)
    idx = (ucomb,) if len(codes) == 1 else np.unravel_index(ucomb, dims)
    return gid.astype(np.int64), [u[i] for u, i in zip(uniques, idx, strict=True)]


BLANKS = [None, np.nan, pd.NaT, pd.NA]
VALUE = st.one_of(
    st.sampled_from(["4000", "4010", "2026-01", "(blank)", "", " "]),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, -0.0, 2.5]),
    st.booleans(),
)


def _typed(values):
    return [(type(v), repr(v)) for v in np.asarray(values, dtype=object).tolist()]


@st.composite
def key_columns(draw, blanks: bool):
    n = draw(st.integers(0, 30))
    cols = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["objects", "ints", "floats", "text"]))
        if kind == "ints":
            dtype = draw(st.sampled_from([np.int64, np.int32, np.uint8, np.uint64]))
            cols.append(np.array(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), dtype))
            continue
        cell = VALUE if kind == "objects" else st.sampled_from(["b", "a", "c"])
        if kind == "floats":
            cell = st.sampled_from([0.5, 1.0, -0.0, 2.5])
        if blanks:
            cell = st.one_of(cell, st.sampled_from(BLANKS))
        values = draw(st.lists(cell, min_size=n, max_size=n))
        as_series = draw(st.booleans())
        col = pd.Series(values, dtype=object) if as_series else np.array(values, dtype=object)
        if kind == "floats" and not blanks:
            col = np.asarray(values, dtype=float)
        cols.append(col)
    return cols


def _outcome(f, *args):
    try:
        return "ok", f(*args)
    except Exception as e:  # the same failure is the same behaviour
        return "raised", type(e)


@settings(max_examples=500, deadline=None)
@given(cols=key_columns(blanks=False), tiny=st.booleans())
def test_group_ids_is_the_copy_it_was(cols, tiny):
    """No blank key: the same ids and keys, the key renumbered after every column (``tiny``:
    a KEY_LIMIT of 4) or never."""
    want = _outcome(old_group_ids, cols)
    limit = codes_module.KEY_LIMIT
    codes_module.KEY_LIMIT = 4 if tiny else limit
    try:
        got = _outcome(group_ids, cols)
    finally:
        codes_module.KEY_LIMIT = limit
    assert got[0] == want[0], (got, want)
    if got[0] == "raised":
        assert got[1] is want[1]
        return
    (g_gid, g_keys), (w_gid, w_keys) = got[1], want[1]
    assert g_gid.dtype == w_gid.dtype
    np.testing.assert_array_equal(g_gid, w_gid)
    assert len(g_keys) == len(w_keys)
    for g, w in zip(g_keys, w_keys, strict=True):
        assert g.dtype == w.dtype
        assert _typed(g) == _typed(w)


@settings(max_examples=300, deadline=None)
@given(cols=key_columns(blanks=True))
def test_a_blank_key_is_an_argument_error(cols):
    """Blanks: an ArgumentError naming the first column that has one; else as before."""
    blank = [i for i, c in enumerate(cols) if pd.isna(np.asarray(c, dtype=object)).any()]
    got = _outcome(group_ids, cols)
    if blank:
        assert got == ("raised", ArgumentError)
        with pytest.raises(ArgumentError, match=f"key column {blank[0] + 1} of {len(cols)}"):
            group_ids(cols)
    else:
        want = _outcome(old_group_ids, cols)
        assert got[0] == want[0]


def test_one_blank_key_column_was_labelled_with_another_groups_key():
    """Known answer: the old one put the blank row in group 0 labelled 'b' (the code -1 took
    the last key), beside the real 'b' group."""
    col = np.array(["b", None, "a"], dtype=object)
    gid, keys = old_group_ids([col])
    assert gid.tolist() == [2, 0, 1] and keys[0].tolist() == ["b", "a", "b"]  # the bug
    with pytest.raises(ArgumentError, match="blank"):
        group_ids([col])
    gid, keys = group_ids([np.array(["b", "(blank)", "a"], dtype=object)])
    assert gid.tolist() == [2, 0, 1] and keys[0].tolist() == ["(blank)", "a", "b"]
