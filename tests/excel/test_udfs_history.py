"""=SOP_ACCURACY_BY_LAG and =SOP_FVA_TABLE: known answers (the same hand-made history as
tests/history/test_history_engine.py) and readable reasons instead of errors."""

from __future__ import annotations

import pytest

from sop_xl.excel import udfs as u

approx = pytest.approx


def test_accuracy_by_lag_spills_one_row_per_lag() -> None:
    # months 2026-03 and 2026-04 of items I1, I2: actuals 100, 50, 80, 40
    actuals = [[100.0], [50.0], [80.0], [40.0]]
    # lag 0 forecasts: 105, 50, 80, 44; lag 1: 110, 40, 90, 30; lag 2: blank, blank, 60, 50
    fc = [[105.0, 110.0, None], [50.0, 40.0, None], [80.0, 90.0, 60.0], [44.0, 30.0, 50.0]]
    rows = u.SOP_ACCURACY_BY_LAG(actuals, fc)
    assert rows[0] == ["Lag", "Accuracy", "WMAPE", "Bias %", "Months"]
    lag0, lag1, lag2 = rows[1:]
    assert lag0[0] == 0 and lag0[2] == approx(9 / 270) and lag0[1] == approx(1 - 9 / 270)
    assert lag1[2] == approx(40 / 270) and lag1[3] == approx(0.0)  # +10 -10 +10 -10
    # lag 2 only where filled: |60-80| + |50-40| = 30 over 120; bias (-20 + 10) / 120
    assert lag2[2] == approx(30 / 120) and lag2[3] == approx(-10 / 120) and lag2[4] == 2
    shifted = u.SOP_ACCURACY_BY_LAG(actuals, [[r[1]] for r in fc], 1)
    assert shifted[1][0] == 1 and shifted[1][2] == approx(40 / 270)


def test_accuracy_by_lag_reasons_not_errors() -> None:
    rows = u.SOP_ACCURACY_BY_LAG([0.0, 0.0], [[1.0], [2.0]])
    assert rows[1][1].startswith("n/a: actuals sum to 0")
    bad = u.SOP_ACCURACY_BY_LAG([1.0, 2.0], [[1.0], [2.0], [3.0]])
    assert bad.startswith("#SOP! ACCURACY_BY_LAG:") and "differ in size" in bad


def test_fva_table_known_answer_stairstep() -> None:
    a = [100.0, 50.0, 80.0, 40.0]
    rows = u.SOP_FVA_TABLE(
        a,
        [100.0, 45.0, 85.0, 40.0],  # statistical
        [120.0, 45.0, 95.0, 35.0],  # submission
        [110.0, 40.0, 90.0, 30.0],  # consensus
        [90.0, 60.0, 70.0, 45.0],  # naive: last closed month's sales
    )
    assert [r[0] for r in rows] == ["Step", "Naive", "Statistical", "Submission", "Consensus"]
    wmape = {r[0]: r[2] for r in rows[1:]}
    assert wmape == approx(
        {"Naive": 35 / 270, "Statistical": 10 / 270, "Submission": 45 / 270,
         "Consensus": 40 / 270}
    )  # fmt: skip
    assert rows[3][3] == approx(-35 / 270)  # the submission hurt
    assert rows[4][4] == approx(-5 / 270)  # consensus vs naive
    assert rows[1][3] == "" and rows[1][4] == ""


def test_fva_table_default_naive_is_the_previous_actual() -> None:
    rows = u.SOP_FVA_TABLE([10.0, 20.0, 30.0], [None, 21.0, 29.0])
    # cells 2 and 3: naive 10, 20 -> |10-20| + |20-30| = 20 over 50; statistical 2 over 50
    assert rows[1][2] == approx(20 / 50) and rows[2][2] == approx(2 / 50)
    assert rows[2][3] == approx(18 / 50)
    assert u.SOP_FVA_TABLE([None], [1.0]).startswith("#SOP! FVA_TABLE: no cell has")
