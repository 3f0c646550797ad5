"""The =SOP_... worksheet functions, called with arguments shaped the way xlwings passes ranges:
a scalar for one cell, a flat list for a row or column, a list of lists for a block (or for any
range with ndim=2), None for blanks, '#N/A'-style text for Excel errors (err_to_str)."""

from __future__ import annotations

import datetime as dt
import inspect
import math

import pytest

from sop_xl.excel import udfs as u
from sop_xl.kpi.defs import OTHER_ENGINES
from sop_xl.kpi.table import KPIS

approx = pytest.approx
A = [10.0, 20.0, 30.0]
F = [12.0, 18.0, 33.0]


def col(xs):
    """A column range as xlwings passes it with ndim=2: [[x], [x], ...]."""
    return [[x] for x in xs]


def is_sop_error(v, name: str, *words: str) -> bool:
    return (
        isinstance(v, str)
        and v.startswith(f"#SOP! {name}:")
        and all(w in v for w in words)
        and "Traceback" not in v
    )


@pytest.mark.parametrize("shape", [list, col, lambda xs: [xs]])  # column, ndim=2 column, row
def test_forecast_kpis_known_answers_in_every_range_shape(shape):
    a, f = shape(A), shape(F)
    assert u.SOP_MAE(a, f) == approx(7 / 3)
    assert u.SOP_MAPE(a, f) == approx(0.4 / 3)
    assert u.SOP_WMAPE(a, f) == approx(7 / 60)
    assert u.SOP_FORECAST_ACCURACY(a, f) == approx(53 / 60)
    assert u.SOP_BIAS(a, f) == approx(3)
    assert u.SOP_BIAS_PCT(a, f) == approx(0.05)
    assert u.SOP_RMSE(a, f) == approx(math.sqrt(17 / 3))
    assert u.SOP_TRACKING_SIGNAL(a, f) == approx(9 / 7)


def test_a_2d_block_is_read_row_by_row():
    a = [[10.0, 20.0], [30.0, 40.0]]
    f = [[11.0, 20.0], [30.0, 44.0]]
    assert u.SOP_WMAPE(a, f) == approx(5 / 100)
    assert u.SOP_WMAPE(a, [11.0, 20.0, 30.0, 44.0]) == approx(5 / 100)  # same cells, as a column


def test_single_cells_and_numbers_stored_as_text():
    assert u.SOP_WMAPE(10.0, 12.0) == approx(0.2)
    assert u.SOP_BIAS(col(["10", "20"]), col([12.0, 18.0])) == approx(0)


def test_blank_cells_are_skipped_not_zero():
    a = col([10.0, None, 30.0, 5.0])
    f = col([12.0, 7.0, None, ""])
    assert u.SOP_MAE(a, f) == approx(2.0)
    assert u.SOP_WMAPE(a, f) == approx(0.2)


def test_zero_actuals_give_readable_reasons():
    assert is_sop_error(u.SOP_WMAPE(col([0.0, 0.0]), col([1.0, 2.0])), "WMAPE", "actuals sum to 0")
    assert is_sop_error(u.SOP_MAPE([0.0, 0.0], [1.0, 2.0]), "MAPE", "every actual is 0")
    assert is_sop_error(u.SOP_BIAS_PCT([0.0], [1.0]), "BIAS_PCT", "sum to 0")
    assert u.SOP_MAPE([0.0, 10.0], [5.0, 12.0]) == approx(0.2)  # zero actual skipped
    assert is_sop_error(u.SOP_WMAPE([None, None], [None, 1.0]), "WMAPE", "no pairs")
    assert is_sop_error(u.SOP_TRACKING_SIGNAL([1.0], [1.0]), "TRACKING_SIGNAL", "perfect")


def test_negative_quantities_returns():
    assert u.SOP_WMAPE([10.0, -5.0], [8.0, 0.0]) == approx(7 / 15)
    assert is_sop_error(u.SOP_BIAS_PCT([-5.0, 2.0], [0.0, 2.0]), "BIAS_PCT", "net returns")


def test_excel_errors_text_and_mismatched_sizes_are_reported():
    v = u.SOP_WMAPE(col([10.0, "#N/A", 3.0]), col([1.0, 2.0, 3.0]))
    assert is_sop_error(v, "WMAPE", "#N/A", "cell 2")
    v = u.SOP_FORECAST_ACCURACY(col(["Actual", 1.0]), col(["Forecast", 2.0]))
    assert is_sop_error(v, "FORECAST_ACCURACY", "text 'Actual'", "no header row")
    assert is_sop_error(u.SOP_RMSE([1.0, 2.0, 3.0], [1.0, 2.0]), "RMSE", "3 cells", "2")
    assert u.SOP_MAE([True, 2.0], [1.0, 2.0]) == 0.0  # TRUE reads as 1, as in the docs
    assert is_sop_error(u.SOP_MAE("#DIV/0!", 2.0), "MAE", "#DIV/0!")
    assert is_sop_error(u.SOP_MAE([dt.datetime(2026, 1, 1)], [1.0]), "MAE", "date")


def test_mase_and_fva():
    hist = list(range(14))
    assert u.SOP_MASE([10.0, 0.0], [12.0, 3.0], [float(h) for h in hist], 12) == approx(2.5 / 12)
    assert is_sop_error(u.SOP_MASE([1.0], [2.0], [1.0, 2.0], 12), "MASE", "history has 2")
    # naive = previous actual inside the range: A = 10, 12, 11; F = -, 11, 11
    assert u.SOP_FVA([10.0, 12.0, 11.0], [99.0, 11.0, 11.0]) == approx(2 / 23)
    # explicit benchmark range
    assert u.SOP_FVA([10.0, 10.0], [10.0, 12.0], [8.0, 8.0]) == approx((4 - 2) / 20)
    assert is_sop_error(u.SOP_FVA([1.0], [1.0], None, "x"), "FVA", "whole number")


def test_inventory_udfs():
    # COGS 100 + 120 over month-ends 300, 500, 700 (average 500)
    assert u.SOP_INVENTORY_TURNS([100.0, 120.0], [300.0, 500.0, 700.0]) == approx(220 / 500)
    assert u.SOP_INVENTORY_TURNS([100.0, 120.0], [300.0, 500.0, 700.0], True) == approx(2.64)
    assert is_sop_error(u.SOP_INVENTORY_TURNS([1.0], [0.0, 0.0]), "INVENTORY_TURNS", "is 0")
    assert u.SOP_DAYS_OF_SUPPLY(500.0, 100.0, 31) == approx(155)
    assert u.SOP_DAYS_OF_SUPPLY([300.0, 600.0], [30.0, 30.0], 60) == approx(600)
    assert is_sop_error(u.SOP_DAYS_OF_SUPPLY(5.0, 0.0), "DAYS_OF_SUPPLY", "does not run down")


def d(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)


def test_fill_rate_modes():
    o, s = col([5.0, 3.0, 4.0]), col([5.0, 2.0, 4.0])
    assert u.SOP_FILL_RATE(o, s) == approx(2 / 3)
    assert u.SOP_FILL_RATE(o, s, "unit") == approx(11 / 12)
    assert u.SOP_FILL_RATE(o, s, "ORDER", col(["O1", "O1", "O2"])) == approx(1 / 2)
    assert is_sop_error(u.SOP_FILL_RATE(o, s, "order"), "FILL_RATE", "order_ids")
    assert is_sop_error(u.SOP_FILL_RATE(o, s, "lines"), "FILL_RATE", "'line', 'order' or 'unit'")
    due = col([d("2026-01-10")] * 3)
    ship = col([d("2026-01-10"), d("2026-01-10"), d("2026-01-12")])
    # fill rate ignores timing (APICS; OTIF judges it): the third line is late but complete
    assert u.SOP_FILL_RATE(o, s, "line", None, due, ship) == approx(2 / 3)
    assert u.SOP_FILL_RATE(o, s, "line", None, due, ship, 2) == approx(2 / 3)
    unshipped = col([d("2026-01-10"), d("2026-01-10"), None])
    assert u.SOP_FILL_RATE(o, s, "line", None, due, unshipped) == approx(1 / 3)
    assert is_sop_error(u.SOP_FILL_RATE(o, s, "line", None, due), "FILL_RATE", "both")
    assert is_sop_error(u.SOP_FILL_RATE(o, col([1.0, 2.0])), "FILL_RATE", "differ in size")


def test_schedule_otif_needs_time_and_quantity():
    # P1 on time and complete; P2 on time but short (9 of 10); P3 complete but 3 days late
    due = col([d("2026-01-10")] * 3)
    done = col([d("2026-01-10"), d("2026-01-09"), d("2026-01-13")])
    planned, completed = col([10.0, 10.0, 10.0]), col([10.0, 9.0, 10.0])
    assert u.SOP_SCHEDULE_OTIF(planned, completed, due, done, 0) == approx(1 / 3)
    assert u.SOP_SCHEDULE_ADHERENCE(due, done, 0) == approx(2 / 3)  # quantity ignored


def test_otd_otif_with_dates_serials_and_blanks():
    due = [d("2026-01-10"), d("2026-01-10"), d("2026-01-10"), d("2026-01-10")]
    # 1 day early, on the day, 3 days early, not shipped; Excel serial 46032 = 2026-01-10
    ship = [d("2026-01-09"), 46032.0, d("2026-01-07"), None]
    assert u.SOP_OTD(due, ship) == approx(2 / 4)  # default window: 2 early, 0 late
    assert u.SOP_OTD(due, ship, 3, 0) == approx(3 / 4)
    assert u.SOP_OTIF(due, ship, [5.0, 5.0, 5.0, 5.0], [5.0, 4.0, 5.0, None]) == approx(1 / 4)
    assert is_sop_error(u.SOP_OTD(due, ship[:3]), "OTD", "differ in size")
    assert is_sop_error(u.SOP_OTD(due, ["#N/A", None, None, None]), "OTD", "#N/A")
    assert is_sop_error(u.SOP_OTD([], []), "OTD", "nothing is due")


def test_schedule_and_vendor_udfs():
    due = [d("2026-01-15"), d("2026-02-15")]
    done = [d("2026-01-16"), d("2026-02-20")]
    assert u.SOP_SCHEDULE_ATTAINMENT([10.0, 10.0], [12.0, 5.0], due, done) == approx(0.5)
    assert u.SOP_SCHEDULE_ATTAINMENT([10.0, 10.0], [12.0, 5.0], due, done, 2, False) == approx(0.6)
    assert u.SOP_SCHEDULE_ATTAINMENT([10.0, 10.0], [12.0, 5.0], due, done, 5) == approx(15 / 20)
    assert u.SOP_SCHEDULE_ADHERENCE(due, done) == approx(0.5)
    assert u.SOP_SCHEDULE_ADHERENCE(due, [None, None]) == 0.0
    prom = [d("2026-01-10"), d("2026-01-10"), d("2026-01-10")]
    rec = [d("2026-01-05"), d("2026-01-13"), None]
    assert u.SOP_VENDOR_OTD(prom, rec) == approx(1 / 3)  # window -5..+2
    assert u.SOP_VENDOR_OTD(prom, rec, 5, 3) == approx(2 / 3)
    assert u.SOP_VENDOR_QTY_COMPLETE([5.0, 5.0, 5.0], [5.0, 6.0, None]) == approx(2 / 3)


def test_variance_signs_by_account_type():
    assert u.SOP_VARIANCE(110.0, 100.0) == 10.0  # revenue above budget: favourable
    assert u.SOP_VARIANCE(110.0, 100.0, "Cost") == -10.0  # cost above budget: unfavourable
    assert u.SOP_VARIANCE(90.0, 100.0, "cost") == 10.0
    assert u.SOP_VARIANCE_PCT([50.0, 60.0], [50.0, 50.0], "Revenue") == approx(0.1)
    assert u.SOP_VARIANCE_PCT(90.0, 100.0, "Cost") == approx(0.1)
    assert u.SOP_VARIANCE_PCT(-90.0, -100.0, "Revenue") == approx(0.1)  # |budget|
    assert is_sop_error(u.SOP_VARIANCE_PCT(5.0, 0.0), "VARIANCE_PCT", "budget is 0")
    assert is_sop_error(u.SOP_VARIANCE(5.0, 1.0, "Asset"), "VARIANCE", "'Revenue' or 'Cost'")
    assert u.SOP_GROSS_MARGIN_PCT([200.0, 50.0], [100.0, 50.0]) == approx(0.4)
    # raw convention, as the Variance sheets show it: actual - budget for any account
    assert u.SOP_VARIANCE(110.0, 100.0, "Cost", "raw") == 10.0
    assert u.SOP_VARIANCE_PCT(90.0, 100.0, "Cost", "raw") == approx(-0.1)
    assert is_sop_error(u.SOP_VARIANCE(1.0, 1.0, "Cost", "net"), "VARIANCE", "'favourable'")


def test_kpi_info_and_list():
    assert u.SOP_KPI_INFO("WMAPE").startswith("Weighted MAPE (wmape): sum |F - A| / sum |A|")
    assert u.SOP_KPI_INFO("wmape", "unit") == "pct"
    assert u.SOP_KPI_INFO("bias", "direction") == "target"
    assert is_sop_error(u.SOP_KPI_INFO("nope"), "KPI_INFO", "unknown KPI")
    table = u.SOP_KPI_LIST()
    assert table[0][0] == "KPI ID" and len(table) == len(KPIS) + 1


def test_accuracy_table_is_a_spilled_grouped_table():
    keys = col(["a", "a", "b"])
    out = u.SOP_ACCURACY_TABLE(keys, col([1.0, 2.0, 0.0]), col([1.0, 3.0, 1.0]))
    assert out[0][:3] == ["Key", "n", "Actual"]
    assert out[1][:2] == ["a", 2] and out[1][out[0].index("WMAPE")] == approx(1 / 3)
    b = out[2]
    assert b[0] == "b" and b[out[0].index("WMAPE")] == ""  # undefined -> blank cell
    assert out[-1][0] == "Total" and out[-1][1] == 3 and isinstance(out[-1][1], int)
    # two key columns
    two = u.SOP_ACCURACY_TABLE([["a", "N"], ["a", "S"], ["a", "N"]], [1.0, 1.0, 1.0], [1.0] * 3)
    assert two[0][:2] == ["Key 1", "Key 2"] and len(two) == 4
    assert is_sop_error(u.SOP_ACCURACY_TABLE(col(["a"]), [1.0, 2.0], [1.0, 2.0]), "ACCURACY_TABLE")


def test_every_kpi_has_its_udf_and_every_udf_is_documented():
    names = {n for n in dir(u) if n.startswith("SOP_")}
    for d_ in KPIS.values():
        # KPIs other engines compute (action counts, supply projections) may have no function
        assert d_.udf in names or (not d_.udf and d_.family in OTHER_ENGINES), d_.id
    for n in names:
        fn = getattr(u, n)
        assert fn.__doc__ and len(fn.__doc__.split("\n\n")[0]) < 255, n
        params = inspect.signature(fn).parameters.values()
        assert all(p.annotation is inspect.Parameter.empty for p in params), n


def test_no_exception_escapes(monkeypatch):
    def boom(*a):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(u, "wmape_arrays", boom)
    assert u.SOP_WMAPE([1.0], [1.0]) == "#SOP! WMAPE: RuntimeError: disk on fire"


def test_docs_cover_every_kpi_and_every_function():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "kpis.md").read_text(encoding="utf-8")
    for d_ in KPIS.values():
        assert f"(`{d_.id}`)" in text, d_.id
    for n in (n for n in dir(u) if n.startswith("SOP_")):
        assert n in text, n


def test_accuracy_table_numeric_keys_read_as_excel_shows_them():
    out = u.SOP_ACCURACY_TABLE([[1001.0], [1001.0], [None]], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert [r[0] for r in out[1:]] == ["", "1001", "Total"]
    assert is_sop_error(u.SOP_MASE([1.0] * 5, [2.0] * 5), "MASE", "shorter season")


@pytest.fixture(scope="module")
def wrappers() -> list:
    """The UDFs as the build declares them to Excel (a child process: made once per module)."""
    from sop_xl.excel.build import udf_wrappers

    return udf_wrappers("sop_xl.excel.udfs", "SOP_Planning.xlsm")[1]


def test_kpi_functions_outside_the_registry_take_their_text_from_function_docs(wrappers):
    # SOP_VARIANCE and SOP_ACCURACY_TABLE computed no registry KPI and kept their own
    # docstrings, a second copy beside their native forms' comments (issue 19)
    from sop_xl.kpi.defs import EXCEL_DOC_LIMIT, FUNCTION_DOCS, udf_doc

    assert FUNCTION_DOCS
    described = {f.name: f.description for f in wrappers}
    for name, text in FUNCTION_DOCS.items():
        fn = getattr(u, name)
        assert fn.__doc__ == text == udf_doc(name), name
        assert fn.__wrapped__.__doc__ is None, f"{name} keeps a second copy of its definition"
        assert len(text) <= EXCEL_DOC_LIMIT, name
        assert described[name] == text, name


def test_argument_help_is_written_once_for_the_udf_and_its_native_form(wrappers):
    # issue 19: the Function Wizard's argument help (xw.arg docs in udfs.py) and the native
    # LAMBDA parameters (kpi/native.py) were two copies that had drifted ("default from
    # Settings" vs "default 2"; fill rate's days_late "kept for old formulas" vs "days after due")
    import ast
    import inspect

    from sop_xl.kpi.native import NATIVE

    described = {f.name: f.args for f in wrappers}
    tree = ast.parse(inspect.getsource(u))
    decorated = {
        n.name: [ast.unparse(d) for d in n.decorator_list]
        for n in tree.body
        if isinstance(n, ast.FunctionDef)
    }
    for name, nf in NATIVE.items():
        assert list(described[name]) == [p.doc for p in nf.params], name
        assert len(inspect.signature(getattr(u, name)).parameters) == len(nf.params), name
        assert not [d for d in decorated[name] if "doc=" in d], f"{name} has its own arg docs"


def test_every_kpi_functions_wizard_text_is_its_registry_definition(wrappers):
    # issue 14: each formula was written three times (registry, UDF docstring, engine); the
    # Excel description of a KPI function now comes from the registry only
    from sop_xl.kpi.defs import EXCEL_DOC_LIMIT, udf_doc

    registry_udfs = {d_.udf for d_ in KPIS.values() if d_.udf}
    assert registry_udfs <= {n for n in dir(u) if n.startswith("SOP_")}
    for name in registry_udfs:
        fn = getattr(u, name)
        assert fn.__doc__ == udf_doc(name), name
        assert fn.__wrapped__.__doc__ is None, f"{name} keeps a second copy of its definition"
        assert len(fn.__doc__) <= EXCEL_DOC_LIMIT, (name, len(fn.__doc__))
        first = next(d_ for d_ in KPIS.values() if d_.udf == name)
        assert fn.__doc__.startswith(f"{first.name}: {first.formula}"), name
    # what xlwings registers with Excel (MacroOptions Description), read the way the build does
    described = {f.name: f.description for f in wrappers}
    for name in registry_udfs:
        assert described[name] == udf_doc(name), name
