"""kpi.forecast._scale_and_naive's series keys on kpi.codes (sorted_key, SortedKey.find /
ranked) against the hand-built key it replaced, kept here verbatim as the reference: the same
naive scale and naive forecast per row (values bit for bit, NaN where unknown, dtypes) on random
data and histories with blank keys of every kind, mixed key types, duplicate rows, blank months
and no rows; and the key that passed int64 (MASE and FVA silently NaN) now ranked first."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sop_xl.kpi import codes as codes_module
from sop_xl.kpi import forecast as forecast_module
from sop_xl.kpi.codes import sorted_codes
from sop_xl.kpi.forecast import _period_index, _scale_and_naive, forecast_accuracy


# --- the code it replaced (as it was) -------------------------------------------------------------
def old_period_index(period):
    codes, uniq = pd.factorize(period)
    u = pd.Series(np.asarray(uniq, dtype=object)).astype(str)
    idx = (u.str.slice(0, 4).astype(int) * 12 + u.str.slice(5, 7).astype(int) - 1).to_numpy()
    return np.where(codes >= 0, idx[np.maximum(codes, 0)] if len(idx) else 0, -1)


def old_scale_and_naive(df, history, series, actual, period, season, d_p, cache=None):
    n_rows = len(df)
    h_ser = np.zeros(len(history), dtype=np.int64)
    d_ser = np.zeros(n_rows, dtype=np.int64)
    h_known = np.ones(len(history), dtype=bool)
    for c in series:
        dc, du = sorted_codes(df, c, cache)
        hc = pd.Index(du).get_indexer(history[c])
        h_known &= hc >= 0
        h_ser = h_ser * (len(du) + 1) + np.maximum(hc, 0)
        d_ser = d_ser * (len(du) + 1) + dc
    known = np.ones(n_rows, dtype=bool)
    h_p = np.where(h_known, old_period_index(history[period]), -1)
    ok_h = h_p >= 0
    if not ok_h.any():
        return np.full(n_rows, np.nan), np.full(n_rows, np.nan)
    p0 = int(min(h_p[ok_h].min(), d_p[d_p >= 0].min(initial=h_p[ok_h].min())))
    span = int(max(h_p.max(), d_p.max())) - p0 + 2 * season + 1
    h_key = h_ser[ok_h] * span + (h_p[ok_h] - p0 + season)
    hk, inv = np.unique(h_key, return_inverse=True)  # one actual per (series, month)
    hv = np.bincount(inv.reshape(-1), weights=history[actual].to_numpy(float)[ok_h])
    index = pd.Index(hk)
    lag = index.get_indexer(hk - season)
    has = lag >= 0
    h_series, s_inv = np.unique(hk[has] // span, return_inverse=True)
    diff = np.abs(hv[has] - hv[lag[has]])
    cnt = np.bincount(s_inv.reshape(-1), minlength=len(h_series))
    scale_of = np.bincount(s_inv.reshape(-1), weights=diff, minlength=len(h_series))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_of = scale_of / cnt
    pos = pd.Index(h_series).get_indexer(d_ser)
    sc = np.where(known & (pos >= 0), scale_of[np.maximum(pos, 0)] if len(h_series) else 0, np.nan)
    d_key = d_ser * span + (d_p - p0)  # the month `season` earlier, in history's key space
    at = index.get_indexer(d_key)
    nv = np.where(known & (d_p >= 0) & (at >= 0), hv[np.maximum(at, 0)], np.nan)
    return sc.astype(float), nv.astype(float)


# --- random data and history ----------------------------------------------------------------------
BLANKS = [None, np.nan, pd.NaT, pd.NA]
KEY = st.sampled_from(["a", "b", "", 1, 1.0, True, 2.5, *BLANKS])
MONTH = st.sampled_from(["2025-11", "2025-12", "2026-01", "2026-02", "2026-03", None, np.nan])
VALUE = st.sampled_from([0.0, 1.0, -2.5, 7.0, 1e16, np.nan])


def _column(values, dtype):
    s = pd.Series(values, dtype=object)
    if dtype == "float":  # a numeric key column (blanks NaN)
        return pd.to_numeric(s.where(s.map(lambda v: isinstance(v, float | int)), np.nan)).astype(
            float
        )
    if dtype == "string":
        return s.map(lambda v: v if isinstance(v, str) else None).astype("string")
    return s


@st.composite
def frame(draw, n_keys: int, dtypes: list[str]):
    n = draw(st.integers(0, 25))
    cols = {
        f"k{i}": _column(draw(st.lists(KEY, min_size=n, max_size=n)), dtypes[i])
        for i in range(n_keys)
    }
    cols["period"] = pd.Series(draw(st.lists(MONTH, min_size=n, max_size=n)), dtype=object)
    cols["actual"] = pd.Series(draw(st.lists(VALUE, min_size=n, max_size=n)), dtype=float)
    return pd.DataFrame(cols)


@st.composite
def cases(draw):
    n_keys = draw(st.integers(0, 3))
    dtypes = [draw(st.sampled_from(["object", "float", "string"])) for _ in range(n_keys)]
    df = draw(frame(n_keys, dtypes))
    hist = draw(frame(n_keys, [draw(st.sampled_from([d, "object"])) for d in dtypes]))
    if draw(st.booleans()) and len(df):  # history rows copying the data's keys: matches likely
        rows = draw(st.lists(st.integers(0, len(df) - 1), max_size=20))
        extra = draw(frame(n_keys, dtypes)).head(0)
        copied = df.iloc[rows].drop(columns=["period", "actual"]).reset_index(drop=True)
        copied["period"] = draw(st.lists(MONTH, min_size=len(rows), max_size=len(rows)))
        copied["actual"] = draw(st.lists(VALUE, min_size=len(rows), max_size=len(rows)))
        hist = pd.concat([hist, extra, copied.astype(hist.dtypes.to_dict())], ignore_index=True)
    series = draw(st.permutations([f"k{i}" for i in range(n_keys)]))
    return df, hist, list(series), draw(st.integers(1, 3))


def _outcome(f, *args):
    try:
        return "ok", f(*args)
    except Exception as e:  # the same failure is the same behaviour
        return "raised", type(e)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), tiny=st.booleans())
def test_scale_and_naive_is_the_copy_it_was(case, tiny):
    """The same scale and naive value per row, the key ranked after every column and before
    the months (``tiny``: a KEY_LIMIT of 4, so every renumbering path runs) or never."""
    df, hist, series, season = case
    d_p = old_period_index(df["period"])
    want = _outcome(old_scale_and_naive, df, hist, series, "actual", "period", season, d_p)
    limit = codes_module.KEY_LIMIT
    codes_module.KEY_LIMIT = forecast_module.KEY_LIMIT = 4 if tiny else limit
    try:
        got = _outcome(_scale_and_naive, df, hist, series, "actual", "period", season, d_p, {})
    finally:
        codes_module.KEY_LIMIT = forecast_module.KEY_LIMIT = limit
    assert got[0] == want[0], (got, want)
    if got[0] == "raised":
        assert got[1] is want[1]
        return
    for g, w in zip(got[1], want[1], strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)  # NaN where NaN, every value bit for bit


def test_naive_keys_past_int64_keep_mase_and_fva():
    """Five key columns of 4,700 series (an item and its name, a customer and its name, a
    location: the columns the data and the history share, forecast_accuracy's default series
    key): 4,701**5 ~ 2.3e18 key values, times the 6-month span, passed int64. The series key
    wrapped, no history series matched, and every MASE and FVA was silently NaN. Known answers:
    history 0, d, 2d (season 1): scale d, naive 2d."""
    n = 4700
    ids = np.arange(n)
    keys = {
        "item": [f"I{i}" for i in ids],
        "item_name": [f"item {i}" for i in ids],
        "customer": [f"C{i}" for i in ids],
        "customer_name": [f"customer {i}" for i in ids],
        "location": [f"L{i}" for i in ids],
    }
    d = 1.0 + ids % 7
    hist = pd.DataFrame({k: np.repeat(v, 3) for k, v in keys.items()})
    hist["period"] = np.tile(["2026-01", "2026-02", "2026-03"], n)
    hist["actual"] = (np.tile([0.0, 1.0, 2.0], n) * np.repeat(d, 3)).astype(float)
    df = pd.DataFrame(keys)
    df["period"] = "2026-04"
    df["actual"] = 10.0 * d
    df["forecast"] = 10.0 * d + 1.0
    assert np.prod([n + 1.0] * 5) * 6 > 2.0**63  # the old key's space, times the span
    got = forecast_accuracy(df, by=["item"], history=hist, season=1)
    item = pd.Index(keys["item"], name="item")
    mase = pd.Series(1.0 / d, index=item).sort_index()  # |F - A| = 1 over the scale d
    fva = pd.Series((8.0 * d - 1.0) / (10.0 * d), index=item).sort_index()  # naive 2d, A 10d
    np.testing.assert_allclose(got["mase"].to_numpy(), mase.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["fva"].to_numpy(), fva.to_numpy(), rtol=1e-12)
    old = old_scale_and_naive(
        df, hist, list(keys), "actual", "period", 1, _period_index(df["period"])
    )
    wrong = np.isnan(old[0]) | ~np.isclose(old[0], d)  # the bug, as it was
    assert wrong.sum() == np.isnan(old[0]).sum() == 1553
