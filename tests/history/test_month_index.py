"""``archive.month_index``: 'YYYY-MM' -> months since year 0; a blank is never a month (it was
the last month of the input before: ``pd.factorize`` gives it code -1, which indexed the last
parsed month), and its callers leave it out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.history import archive as arc

BLANKS = [None, np.nan, pd.NaT, pd.NA, "", "  ", np.datetime64("NaT")]


def test_months_by_hand():
    got = arc.month_index(["2026-01", "2025-12", "0001-01", "2026-01"])
    assert got.tolist() == [2026 * 12, 2025 * 12 + 11, 12, 2026 * 12]


@pytest.mark.parametrize("blank", BLANKS, ids=repr)
def test_a_blank_is_the_missing_marker_not_a_month(blank):
    got = arc.month_index(pd.Series(["2026-03", blank, "2026-01"], dtype=object))
    assert got[0] == 2026 * 12 + 2 and got[2] == 2026 * 12
    assert np.isnan(got[1])  # before: 2026 * 12, the last month given


def test_only_blanks_and_nothing():
    assert np.isnan(arc.month_index([None, ""])).all()
    assert arc.month_index([]).shape == (0,)


@settings(deadline=None)  # pandas per example; a loaded machine must not fail it
@given(st.lists(st.one_of(st.sampled_from(BLANKS), st.integers(0, 12 * 3000 - 1)), max_size=30))
def test_each_value_on_its_own(values):
    text = [f"{v // 12:04d}-{v % 12 + 1:02d}" if isinstance(v, int) else v for v in values]
    got = arc.month_index(pd.Series(text, dtype=object))
    want = [float(v) if isinstance(v, int) else np.nan for v in values]
    np.testing.assert_array_equal(got, np.array(want, dtype=float))


def test_stage_rows_leave_a_blank_period_out():
    forecast = pd.DataFrame(
        {
            "region": ["EU"] * 3,
            "item": ["A"] * 3,
            "location": ["L1"] * 3,
            "period": ["2026-02", None, "2026-03"],
            "quantity": [5.0, 7.0, 11.0],
        }
    )
    rows = arc.stage_rows(forecast, "2026-01", "Consensus", lags=3)
    assert rows["period"].tolist() == ["2026-02", "2026-03"]
    assert rows["lag"].tolist() == [1, 2] and rows["quantity"].tolist() == [5.0, 11.0]


def test_normalise_gives_a_blank_period_no_lag():
    a = arc.normalise(
        pd.DataFrame({"cycle": ["2026-01", "2026-01"], "period": ["2026-03", None], "lag": [2, 2]})
    )
    assert a["lag"].tolist() == [2, arc.NO_LAG] and len(a) == 2  # the row is kept, lag-less
    assert arc.NO_LAG not in range(13)  # no report's lag
