"""A stand-in for ``sop_xl.excel.udfs`` in the build tests: three UDFs of the shapes xlwings
supports (plain, with argument docs and a category, optional and variable-length arguments)."""

import xlwings as xw


@xw.func
@xw.arg("actual", doc="Actual quantities (a range)")
@xw.arg("forecast", doc="Forecast quantities, same size as actual")
def SOP_WMAPE(actual, forecast):
    """Weighted MAPE: sum(|actual - forecast|) / sum(|actual|).

    Returns a reason text when every actual is zero.
    """
    num = sum(abs(a - f) for a, f in zip(actual, forecast, strict=True))
    den = sum(abs(a) for a in actual)
    return num / den if den else "#SOP! all actuals are zero"


@xw.func(category="S&OP Finance")
def SOP_VARIANCE_PCT(actual, budget, sign=1):
    """Variance % = sign × (actual − budget) / |budget| — "favourable" is positive."""
    return sign * (actual - budget) / abs(budget)


@xw.func
def SOP_TOTAL(*values):
    """Sum of every argument."""
    return sum(values)


def not_a_udf():
    """Plain helper: no wrapper expected."""
