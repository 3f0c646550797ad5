"""RAG status, gap and trend rules: known answers at the edges, and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sop_xl.scorecard.rag import (
    AMBER,
    GREEN,
    NO_DATA,
    NO_TARGET,
    RED,
    fitted_change,
    gap_to_target,
    rag,
    sparkline,
    status_code,
    trend_text,
)


def statuses(actual, green, amber, direction) -> list[str]:
    return rag(pd.Series(actual, dtype=float), green, amber, direction).tolist()


def test_higher_is_better_edges():
    # green 0.95, amber 0.90: exactly on a threshold reaches it
    got = statuses([0.95, 0.9500001, 0.9499999, 0.90, 0.8999999, 0.5], 0.95, 0.90, "higher")
    assert got == [GREEN, GREEN, AMBER, AMBER, RED, RED]


def test_lower_is_better_edges():
    # days of supply: green at or below 45, amber at or below 60
    got = statuses([30, 45, 45.01, 60, 60.01], 45, 60, "lower")
    assert got == [GREEN, GREEN, AMBER, AMBER, RED]


def test_float_noise_on_threshold_counts_as_reaching_it():
    assert statuses([0.1 + 0.2], 0.3, 0.2, "higher") == [GREEN]  # 0.30000000000000004
    assert statuses([0.7 - 0.4], 0.3, 0.4, "lower") == [GREEN]  # 0.29999999999999993


def test_missing_actual_is_no_data_never_green():
    # thresholds every value would reach, and a missing target too: still "No data"
    got = rag(pd.Series([np.nan, None, np.nan]), [-1e9, -1e9, np.nan], -1e9, "higher")
    assert got.tolist() == [NO_DATA, NO_DATA, NO_DATA]
    assert status_code(got).isna().all()


def test_missing_threshold_or_direction_is_no_target():
    got = rag(
        pd.Series([0.9, 0.9, 0.9]),
        pd.Series([np.nan, 0.95, 0.95]),
        pd.Series([0.9, np.nan, 0.9]),
        pd.Series(["higher", "higher", None]),
    )
    assert got.tolist() == [NO_TARGET, NO_TARGET, NO_TARGET]


def test_zero_is_best_judges_absolute_value():
    # bias: -12% is as bad as +12% even though it is "lower"
    got = statuses([-0.04, 0.05, -0.08, -0.12, 0.12], 0.05, 0.10, "target")
    assert got == [GREEN, GREEN, AMBER, RED, RED]


def test_vectorised_thresholds_and_directions_per_row():
    actual = pd.Series([0.96, 50.0, 0.85], index=["otd", "dos", "fill"])
    got = rag(
        actual,
        pd.Series([0.95, 45.0, 0.95]),
        pd.Series([0.9, 60.0, 0.9]),
        pd.Series(["higher", "lower", "higher"]),
    )
    assert got.to_dict() == {"otd": GREEN, "dos": AMBER, "fill": RED}


def test_status_codes_for_icon_sets():
    s = pd.Series([GREEN, AMBER, RED, NO_DATA, NO_TARGET])
    assert status_code(s).tolist() == [3, 2, 1, pd.NA, pd.NA]


def test_unknown_direction_is_an_error():
    with pytest.raises(ValueError, match="direction"):
        rag(pd.Series([1.0]), 1, 1, "up")


def test_gap_positive_means_better():
    got = gap_to_target(
        pd.Series([0.97, 40.0, -0.03]),
        pd.Series([0.95, 45.0, 0.0]),
        pd.Series(["higher", "lower", "target"]),
    )
    assert got.round(10).tolist() == [0.02, 5.0, -0.03]
    assert np.isnan(gap_to_target(pd.Series([np.nan]), 1.0, "higher").iloc[0])


def test_trend_arrow_and_words_respect_direction():
    up = np.arange(12, dtype=float) / 100 + 0.8
    m = np.vstack([up, up, up[::-1], np.full(12, 0.9), [np.nan] * 10 + [0.8, 0.9]])
    text, change = trend_text(m, ["higher", "lower", "lower", "higher", "higher"], "pct")
    assert text.tolist() == [
        "\u25b2 improving",
        "\u25b2 worsening",
        "\u25bc improving",
        "\u25b6 stable",
        "not enough data",
    ]
    # last 3 months (0.89, 0.90, 0.91) vs the 3 before (0.86, 0.87, 0.88): +0.03
    assert change[0] == pytest.approx(0.03)
    assert np.isnan(change[4])


def test_trend_zero_is_best_uses_distance_from_zero():
    m = np.array([[-0.10, -0.08, -0.06, -0.04, -0.02]])  # rising towards 0: improving
    text, _ = trend_text(m, ["target"], "pct")
    assert text.tolist() == ["\u25b2 improving"]


def test_sparkline_known():
    m = np.array([[1, 2, 3, 4, 5, 6, 7, 8], [5, 5, 5, 5, np.nan, 5, 5, 5], [np.nan] * 8])
    assert sparkline(m).tolist() == [
        "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588",
        "\u2584\u2584\u2584\u2584\u00b7\u2584\u2584\u2584",
        "",
    ]


finite = st.floats(-1e6, 1e6, allow_nan=False)
RANK = {RED: 0, AMBER: 1, GREEN: 2}


@given(st.lists(finite, min_size=1, max_size=30), finite, finite)
def test_mirror_lower_equals_higher_of_negatives(values, g, a):
    s = pd.Series(values)
    assert rag(s, g, a, "lower").tolist() == rag(-s, -g, -a, "higher").tolist()


@given(finite, finite, st.floats(0, 1e6), st.sampled_from(["higher", "lower"]))
def test_moving_in_the_better_direction_never_worsens(x, g, step, direction):
    amber = g - 10 if direction == "higher" else g + 10
    better = x + step if direction == "higher" else x - step
    before, after = rag(pd.Series([x, better]), g, amber, direction).tolist()
    assert RANK[after] >= RANK[before]


@given(st.lists(st.one_of(finite, st.just(np.nan)), min_size=1, max_size=30), finite, finite)
def test_green_only_with_an_actual(values, g, a):
    s = pd.Series(values, dtype=float)
    got = rag(s, g, a, "higher")
    assert not (got.eq(GREEN) & s.isna()).any()
    assert got[s.isna()].eq(NO_DATA).all()


def test_trend_is_the_last_three_months_against_the_three_before():
    # Issue 14: a year of rise then four straight falls. A fitted 12-month line still says
    # "improving"; the recent direction says worsening: (0.80+0.78+0.76)/3 - (0.90+0.86+0.82)/3
    # = 0.78 - 0.86 = -0.08.
    m = np.array([[0.60, 0.64, 0.68, 0.72, 0.76, 0.80, 0.84, 0.88, 0.90, 0.86, 0.82, 0.78]])
    m[0, -3:] = [0.80, 0.78, 0.76]
    m[0, -6:-3] = [0.90, 0.86, 0.82]
    text, change = trend_text(m, ["higher"], "pct")
    assert text.tolist() == ["\u25bc worsening"] and change[0] == pytest.approx(-0.08)
    assert fitted_change(m)[0][0] > 0  # the old 12-month fit would have said improving
    # one value in a half is not enough to speak of a direction
    thin = np.array([[np.nan, np.nan, 0.5, np.nan, np.nan, 0.6]])
    assert trend_text(thin, ["higher"], "pct")[0].tolist() == ["not enough data"]


def test_band_rule_both_sides_are_off_track():
    # green 30..60 days, amber 20..90; 5 days (stocked out) and 120 days (overstock) are red
    actual = pd.Series([5.0, 25.0, 30.0, 45.0, 60.0, 75.0, 120.0, np.nan, 45.0])
    gmax = pd.Series([60.0] * 8 + [np.nan])
    got = rag(actual, 30.0, 20.0, "band", gmax, 90.0).tolist()
    assert got == [
        "Red",
        "Amber",
        "Green",
        "Green",
        "Green",
        "Amber",
        "Red",
        "No data",
        "No target",
    ]
    # gap: distance to the nearer edge of the green band, positive inside
    gap = gap_to_target(actual, 45.0, "band", 30.0, 60.0)
    assert gap.iloc[:7].tolist() == [-25.0, -5.0, 0.0, 15.0, 0.0, -15.0, -60.0]
