"""Forecast-accuracy KPIs: hand-computed answers, policies and invariants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.kpi.defs import HISTORY_KPIS, OTHER_ENGINES, SUPPLY_KPIS, definitions_frame, kpi
from sop_xl.kpi.forecast import (
    KpiInputError,
    KpiUndefined,
    accuracy_arrays,
    bias_arrays,
    bias_pct_arrays,
    fva_arrays,
    mae_arrays,
    mape_arrays,
    mase_arrays,
    naive_scale,
    rmse_arrays,
    tracking_signal_arrays,
    wmape_arrays,
)
from sop_xl.kpi.table import KPIS, forecast_accuracy
from sop_xl.model.schema import OWNER_ROLES, PERSPECTIVES

approx = pytest.approx


def fa(actual, forecast, **kw) -> pd.Series:
    df = pd.DataFrame({"actual": actual, "forecast": forecast}, dtype=float)
    return forecast_accuracy(df, **kw).iloc[0]


# --- registry ---
REQUIRED = (
    *("mae", "mape", "wmape", "forecast_accuracy", "bias", "bias_pct", "rmse"),
    *("tracking_signal", "mase", "fva", "budget_accuracy", "inventory_turns"),
    *("days_of_supply", "line_fill_rate", "order_fill_rate", "unit_fill_rate", "otd", "otif"),
    *("schedule_attainment", "schedule_adherence", "vendor_otd", "vendor_qty_complete"),
    *("revenue_vs_budget_pct", "gross_margin_pct"),
    # issue 14 definitions and the action KPIs in the one registry (issue 19)
    *("otd_request", "schedule_otif", "inventory_turns_ttm", "forward_days_of_supply"),
    *("actions_closed_on_time", "actions_overdue", "oldest_open_action_days"),
    # the supply review's and the plan history's KPIs, merged into the one registry
    *("capacity_utilisation", "stockout_months", "past_due_backlog_value"),
    *("accuracy_by_lag", "fva_step", "statistical_baseline"),
)


def test_registry_has_every_required_kpi_with_a_complete_definition():
    assert set(REQUIRED) <= set(KPIS)
    for d in KPIS.values():
        assert d.unit in ("pct", "ratio", "days", "units", "money", "count")
        assert d.direction in ("higher", "lower", "target", "band")
        assert d.source.strip(), d.id  # APICS/ASCM or common practice, stated
        assert d.perspective in PERSPECTIVES and d.owner_role in OWNER_ROLES
        for text in (d.name, d.formula, d.numerator, d.denominator, d.zero_policy):
            assert text.strip(), d.id
        # only KPIs another engine computes (action counts, supply projections, the baseline
        # method) may lack a worksheet function
        assert d.source_tables and (d.udf.startswith("SOP_") or d.family in OTHER_ENGINES)
    assert kpi("WMAPE").id == "wmape"
    with pytest.raises(KeyError, match="known: mae"):
        kpi("nope")
    assert KPIS["bias"].direction == "target" and "over-forecast" in KPIS["bias"].sign_convention
    frame = definitions_frame()
    assert len(frame) == len(KPIS) and frame["source_tables"].str.len().gt(0).all()
    assert "Zero is best." in KPIS["bias"].describe()


def test_one_registry_holds_every_engines_kpis():
    # issue 14: SUPPLY_KPIS and HISTORY_KPIS lived apart, so kpi('capacity_utilisation') and
    # SOP_KPI_INFO raised KeyError for them
    for family in OTHER_ENGINES:
        ids = [k for k, d in KPIS.items() if d.family == family]
        assert ids, family
        for k in ids:
            assert kpi(k.upper()) is KPIS[k]
    assert {k: d for k, d in KPIS.items() if d.family == "supply"} == SUPPLY_KPIS
    assert {k: d for k, d in KPIS.items() if d.family == "history"} == HISTORY_KPIS
    assert set(definitions_frame()["id"]) == set(KPIS)
    # the baseline's stated method is the one the engine fits with
    from sop_xl.history import baseline

    assert baseline.FIT_MONTHS == 36 and f"up to {baseline.FIT_MONTHS} closed months" in (
        KPIS["statistical_baseline"].formula
    )


def test_docs_kpis_md_states_the_source_of_every_registry_entry():
    import re
    from pathlib import Path

    from sop_xl.kpi.defs import sources_markdown

    text = (Path(__file__).resolve().parents[2] / "docs" / "kpis.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- sources:begin[^>]*-->\n(.*)\n<!-- sources:end -->", text, re.S)
    assert m, "docs/kpis.md lost its sources section markers"
    assert m.group(1) == sources_markdown(), "regenerate with sop_xl.kpi.defs.sources_markdown()"
    for d in KPIS.values():
        assert f"(`{d.id}`)" in m.group(1) and d.source in m.group(1), d.id
        assert re.search(r"APICS|ASCM|SCOR|[Cc]ommon practice|Hyndman", d.source), d.id


def test_engine_docstrings_name_the_registry_instead_of_restating_formulas():
    # issue 19: each formula was written three times (registry, UDF docstring, engine
    # docstring: "``line_fill_rate`` = lines shipped complete ... / lines due", "WMAPE =
    # sum|F - A| / sum|A|"); the engines now point at the registry
    import ast
    import re
    from pathlib import Path

    pkg = Path(__file__).resolve().parents[2] / "sop_xl"
    engines = (
        "kpi",
        "variance",
        "scorecard",
        "supply",
        "scenario",
        "history",
        "summary",
        "outlook",
    )
    for path in sorted(p for e in engines for p in (pkg / e).rglob("*.py")):
        module = str(path.relative_to(pkg))
        if module == "kpi/defs.py":  # the registry itself
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]
        docs = {getattr(n, "name", module): ast.get_docstring(n) or "" for n in nodes}
        for name, doc in docs.items():
            for d in KPIS.values():
                for label in {d.id, d.id.replace("_", " "), d.name}:
                    said = re.search(rf"(``)?{re.escape(label)}(``)? =", doc, re.I)
                    assert not said, f"{module}:{name} restates {d.id}: {said.group(0)!r}"
        if module in ("kpi/ops.py", "kpi/forecast.py"):
            assert "sop_xl.kpi.defs.KPIS" in docs[module], module
            returned = [n for n in docs if n in ("fill_rates", "delivery", "forecast_accuracy")]
            for name in returned:
                assert "sop_xl.kpi.defs.KPIS" in docs[name], name


# --- known answers ---
def test_basic_known_answers():
    # A = 10, 20, 30; F = 12, 18, 33 -> e = +2, -2, +3
    r = fa([10, 20, 30], [12, 18, 33])
    assert r["n"] == 3 and r["zero_actuals_skipped"] == 0 and r["missing_skipped"] == 0
    assert r["mae"] == approx(7 / 3)
    assert r["mape"] == approx((0.2 + 0.1 + 0.1) / 3)
    assert r["wmape"] == approx(7 / 60)
    assert r["forecast_accuracy"] == approx(53 / 60)
    assert r["bias"] == approx(3)
    assert r["bias_pct"] == approx(3 / 60)
    assert r["rmse"] == approx(math.sqrt(17 / 3))
    assert r["tracking_signal"] == approx(3 / (7 / 3))  # rows are time points
    a, f = np.array([10, 20, 30.0]), np.array([12, 18, 33.0])
    assert mae_arrays(a, f) == approx(7 / 3)
    assert mape_arrays(a, f) == approx(0.4 / 3)
    assert wmape_arrays(a, f) == approx(7 / 60)
    assert accuracy_arrays(a, f) == approx(53 / 60)
    assert bias_arrays(a, f) == approx(3)
    assert bias_pct_arrays(a, f) == approx(0.05)
    assert rmse_arrays(a, f) == approx(math.sqrt(17 / 3))
    assert tracking_signal_arrays(a, f) == approx(9 / 7)


def test_zero_actuals_are_skipped_by_mape_and_counted():
    r = fa([0, 10], [5, 10])
    assert r["zero_actuals_skipped"] == 1
    assert r["mape"] == approx(0.0)  # only the non-zero cell, which is exact
    assert r["wmape"] == approx(0.5)  # the zero-actual cell still adds its error
    assert "MAPE skipped 1 zero-actual" in r["note"]
    assert mape_arrays(np.array([0, 10.0]), np.array([5, 10.0])) == 0.0


def test_all_zero_actuals_are_undefined_not_zero_or_infinite():
    r = fa([0, 0], [0, 3])
    assert np.isnan(r["mape"]) and np.isnan(r["wmape"]) and np.isnan(r["forecast_accuracy"])
    assert np.isnan(r["bias_pct"])
    assert r["mae"] == approx(1.5) and r["bias"] == approx(3)
    assert "actuals sum to 0" in r["note"]
    with pytest.raises(KpiUndefined, match="actuals sum to 0"):
        wmape_arrays(np.zeros(2), np.array([0, 3.0]))
    with pytest.raises(KpiUndefined, match="every actual is 0"):
        mape_arrays(np.zeros(2), np.array([0, 3.0]))
    # a perfect forecast of nothing: no tracking signal either
    perfect = fa([0, 0], [0, 0])
    assert np.isnan(perfect["tracking_signal"])
    assert "tracking signal undefined: every monthly error is 0" in perfect["note"]
    with pytest.raises(KpiUndefined, match="perfect"):
        tracking_signal_arrays(np.zeros(2), np.zeros(2))


def test_blank_cells_are_skipped_and_counted_never_zero_filled():
    r = fa([10, np.nan, 30], [12, 5, np.nan])
    assert r["n"] == 1 and r["missing_skipped"] == 2
    assert r["mae"] == approx(2) and r["wmape"] == approx(0.2)
    assert "2 cell(s) with a blank" in r["note"]
    assert wmape_arrays(np.array([10, np.nan, 30]), np.array([12, 5, np.nan])) == approx(0.2)


def test_negative_actuals_returns():
    # returns: A = 10, -5; F = 8, 0 -> e = -2, +5
    r = fa([10, -5], [8, 0])
    assert r["wmape"] == approx(7 / 15)  # |A| counts returns as volume
    assert r["mape"] == approx((0.2 + 1.0) / 2)
    assert r["bias"] == approx(3) and r["bias_pct"] == approx(3 / 5)
    # net returns: bias % has no meaningful denominator
    assert np.isnan(fa([-5, 2], [0, 2])["bias_pct"])
    with pytest.raises(KpiUndefined, match="below 0"):
        bias_pct_arrays(np.array([-5, 2.0]), np.array([0, 2.0]))


def test_single_period_and_accuracy_floor():
    r = fa([10], [12])
    assert r["mae"] == 2 and r["wmape"] == approx(0.2) and r["tracking_signal"] == approx(1)
    # error larger than volume: 0% accurate, not negative
    assert fa([10], [35])["forecast_accuracy"] == 0.0
    assert accuracy_arrays(np.array([10.0]), np.array([35.0])) == 0.0


def test_empty_input():
    r = fa([], [])
    assert r["n"] == 0 and np.isnan(r["mae"]) and np.isnan(r["wmape"])
    assert "no pairs" in r["note"]
    with pytest.raises(KpiUndefined, match="no pairs"):
        mae_arrays(np.array([]), np.array([]))
    out = forecast_accuracy(pd.DataFrame({"item": [], "actual": [], "forecast": []}), by=["item"])
    assert len(out) == 0 and "wmape" in out.columns


def test_mismatched_lengths_and_missing_columns_are_clear_errors():
    with pytest.raises(KpiInputError, match="actuals has 3 cells but forecasts has 2"):
        wmape_arrays(np.ones(3), np.ones(2))
    with pytest.raises(KpiInputError, match=r"column\(s\) \['fc'\] not in the data"):
        forecast_accuracy(pd.DataFrame({"actual": [1.0]}), forecast="fc")


def test_grouped_by_item_and_tracking_signal_on_monthly_totals():
    df = pd.DataFrame(
        {
            "item": ["a", "a", "b", "b"],
            "period": ["2026-01", "2026-02", "2026-01", "2026-02"],
            "actual": [10.0, 0, 5, np.nan],
            "forecast": [12.0, 3, 5, 1],
        }
    )
    g = forecast_accuracy(df, by=["item"]).set_index("item")
    assert g.loc["a", "mae"] == 2.5 and g.loc["a", "wmape"] == 0.5
    assert g.loc["a", "tracking_signal"] == approx(5 / 2.5)
    assert g.loc["b", "n"] == 1 and np.isnan(g.loc["b", "tracking_signal"])  # only error 0
    total = forecast_accuracy(df).iloc[0]
    # monthly totals: Jan E = 2 + 0, Feb E = 3 (the blank b cell is not a month of b)
    assert total["tracking_signal"] == approx(5 / 2.5)


def test_mase_and_fva_with_history():
    # item a: history 0..13 over 2025-01..2026-02 -> seasonal (12) change is always 12
    hist = pd.DataFrame(
        {
            "item": ["a"] * 14,
            "period": [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01", "2026-02"],
            "actual": np.arange(14.0),
        }
    )
    df = pd.DataFrame(
        {
            "item": ["a", "a"],
            "period": ["2026-01", "2026-02"],
            "actual": [10.0, 0.0],
            "forecast": [12.0, 3.0],
        }
    )
    r = forecast_accuracy(df, by=["item"], history=hist, season=12).iloc[0]
    assert r["mase"] == approx((2 / 12 + 3 / 12) / 2)
    # naive = actual 12 months earlier: 0 and 1 -> errors 10 and 1 vs forecast errors 2 and 3
    assert r["fva"] == approx((11 - 5) / 10)
    assert r["mase_n"] == 2 and r["fva_n"] == 2
    # too little history: undefined with a note
    short = forecast_accuracy(df, by=["item"], history=hist.tail(3), season=12).iloc[0]
    assert np.isnan(short["mase"]) and "MASE" in short["note"]
    # arrays
    assert naive_scale(np.arange(14.0), 12) == 12
    assert mase_arrays(np.array([10.0, 0]), np.array([12.0, 3]), np.arange(14.0), 12) == approx(
        2.5 / 12
    )
    with pytest.raises(KpiUndefined, match="constant"):
        naive_scale(np.ones(5), 1)
    # FVA with a last-value naive inside the range: A = 10, 12, 11; F = -, 11, 11
    a, f = np.array([10.0, 12, 11]), np.array([99.0, 11, 11])
    assert fva_arrays(a, f, season=1) == approx(((2 + 1) - (1 + 0)) / 23)


# --- properties ---
values = st.floats(min_value=-50, max_value=1000, allow_nan=False).map(lambda x: round(x, 3))
pairs = st.lists(st.tuples(values, values, st.sampled_from("xyz")), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(pairs, st.randoms())
def test_wmape_does_not_depend_on_row_order(rows, rnd):
    df = pd.DataFrame(rows, columns=["actual", "forecast", "g"])
    shuffled = df.sample(frac=1.0, random_state=rnd.randint(0, 10**6))
    a, b = fa(df["actual"], df["forecast"]), fa(shuffled["actual"], shuffled["forecast"])
    if np.isnan(a["wmape"]):
        assert np.isnan(b["wmape"])
    else:
        assert a["wmape"] == approx(b["wmape"])
        assert 0.0 <= a["forecast_accuracy"] <= 1.0


@settings(max_examples=60, deadline=None)
@given(pairs)
def test_bias_changes_sign_when_actual_and_forecast_swap(rows):
    df = pd.DataFrame(rows, columns=["actual", "forecast", "g"])
    r1 = fa(df["actual"], df["forecast"])
    r2 = fa(df["forecast"], df["actual"])
    assert r1["bias"] == approx(-r2["bias"], abs=1e-9)
    assert r1["mae"] == approx(r2["mae"])


@settings(max_examples=60, deadline=None)
@given(pairs)
def test_grouped_sums_add_up_to_the_total_and_match_the_array_path(rows):
    df = pd.DataFrame(rows, columns=["actual", "forecast", "g"])
    g = forecast_accuracy(df, by=["g"])
    t = forecast_accuracy(df).iloc[0]
    for c in ("n", "sum_abs_error", "sum_abs_actual", "bias", "zero_actuals_skipped"):
        assert g[c].sum() == approx(t[c], abs=1e-6)
    for _, row in g.iterrows():
        part = df[df["g"] == row["g"]]
        a, f = part["actual"].to_numpy(), part["forecast"].to_numpy()
        if np.abs(a).sum() > 0:
            assert row["wmape"] == approx(wmape_arrays(a, f))
        assert row["rmse"] == approx(rmse_arrays(a, f))
