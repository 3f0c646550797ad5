"""The ``=SOP_...`` worksheet functions: every S&OP KPI in any cell, through xlwings.

Each function converts the Excel ranges once (numpy; no pandas on the scalar forecast KPIs, so a
call costs microseconds) and calls the same KPI definitions as the cycle (:mod:`sop_xl.kpi.table`).

What Excel passes, and what we do with it:

- a single cell is a scalar, a row or column is a list, a block is a list of lists: all are
  flattened row by row, so ``A2:A25`` and ``B2:M2`` both work;
- blank cells (``None``, ``""``) are *missing*: a pair with a blank side is skipped (a month
  not yet closed), never counted as 0;
- numbers stored as text ("12") are read as numbers, TRUE/FALSE as 1/0;
- other text, and Excel errors (``#N/A`` ... arrive as text, or as blanks with older xlwings
  options), make the result a readable ``#SOP! <FUNCTION>: <reason>`` text. A KPI over a range
  holding an error is not a number anyone should present.

Nothing here raises into Excel: :func:`sop_udf` turns every exception into ``#SOP! ...`` text.
A KPI function has no docstring of its own: :func:`sop_udf` gives it
:func:`sop_xl.kpi.defs.udf_doc` (the KPI's name and formula), which is what Excel's function
wizard shows and what the Name Manager shows for its native form (:mod:`sop_xl.kpi.native`),
so each formula is written once, in :mod:`sop_xl.kpi.defs`.
Parameters carry no type hints on purpose: xlwings reads hints as converters.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import math

import numpy as np
import pandas as pd
import xlwings as xw

from sop_xl.errors import BuildError, SopError
from sop_xl.kpi.defs import FUNCTION_DOCS, KPIS, kpi, udf_doc
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
    rmse_arrays,
    tracking_signal_arrays,
    wmape_arrays,
)
from sop_xl.kpi.native import NATIVE
from sop_xl.model.schema import Settings

EXCEL_ERRORS = frozenset(
    {
        "#N/A",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#NULL!",
        "#SPILL!",
        "#CALC!",
        "#GETTING_DATA",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
    }
)
_DEFAULTS = Settings()
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
# Each range argument: errors arrive as '#N/A' text (not as blanks), so they can be reported.
_R = {"err_to_str": True}
#: Functions whose Excel description comes from the registry (:func:`udf_doc`): those that
#: compute a registry KPI, and the other KPI functions of :data:`FUNCTION_DOCS`.
_REGISTRY_UDFS = frozenset(d.udf for d in KPIS.values() if d.udf) | frozenset(FUNCTION_DOCS)


def sop_udf(label):
    """Decorator: any exception -> ``'#SOP! <label>: <message>'``; NaN/inf -> readable text.

    A KPI function (named by a ``KpiDef.udf`` or in ``FUNCTION_DOCS``) gets the registry's
    text, :func:`udf_doc`, as its docstring; it must be the innermost decorator, below
    ``@xw.arg`` and :func:`_documented` (xlwings reads ``__doc__`` at the first ``@xw.arg``)."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args):
            try:
                out = fn(*args)
            except SopError as e:
                text = e.message + (f" Fix: {e.fix}" if e.fix else "")
                return f"#SOP! {label}: {text}"
            except Exception as e:  # never a traceback in a cell
                return f"#SOP! {label}: {type(e).__name__}: {e}"
            if isinstance(out, float) and not math.isfinite(out):
                return f"#SOP! {label}: result is undefined for this input"
            return out

        if fn.__name__ in _REGISTRY_UDFS:
            wrapper.__doc__ = udf_doc(fn.__name__)
        return wrapper

    return deco


def _documented(**options):
    """Decorator, between ``@xw.func`` and ``@sop_udf``: each argument's Function Wizard help is
    the parameter text of the function's native form (:data:`sop_xl.kpi.native.NATIVE`, matched
    by position: ``mode`` of SOP_FILL_RATE is ``fill_mode`` there, as ``MODE`` is an Excel
    function), so an argument is described once, for both forms. ``options``: xlwings argument
    options by argument name (``_R``, ``{"ndim": 2}``)."""

    def deco(fn):
        names = list(inspect.signature(fn).parameters)
        params = NATIVE[fn.__name__].params
        unknown = set(options) - set(names)
        if len(names) != len(params) or unknown:
            raise BuildError(
                f"{fn.__name__}: arguments {names} do not match its native form's "
                f"{[p.name for p in params]} (or unknown options {sorted(unknown)})"
            )
        for name, p in zip(names, params, strict=True):
            fn = xw.arg(name, doc=p.doc, **options.get(name, {}))(fn)
        return fn

    return deco


# --- conversion of what Excel passes ---
def _where(i: int, x) -> str:
    """'cell 3 of the range' (flattened row by row)."""
    return f"cell {i + 1} of the range"


def _slow_numbers(x, name: str) -> np.ndarray:
    """Element-wise conversion with a precise message for the first bad cell."""
    flat = _flatten(x)
    out = np.empty(len(flat), dtype=float)
    for i, v in enumerate(flat):
        if v is None or (isinstance(v, str) and not v.strip()):
            out[i] = np.nan
        elif isinstance(v, int | float | np.number):  # TRUE/FALSE read as 1/0, as numpy does
            out[i] = float(v)
        elif isinstance(v, str):
            t = v.strip()
            if t.upper() in EXCEL_ERRORS:
                raise KpiInputError(
                    f"{name} contains the Excel error {t} ({_where(i, x)})",
                    fix="correct or exclude that cell",
                )
            try:
                out[i] = float(t)
            except ValueError:
                raise KpiInputError(
                    f"{name} has text {t[:30]!r} in {_where(i, x)}; expected a number",
                    fix="select only the numbers (no header row)",
                ) from None
        elif isinstance(v, dt.date):
            raise KpiInputError(f"{name} has a date in {_where(i, x)}; expected a number")
        else:
            raise KpiInputError(f"{name} has {type(v).__name__} in {_where(i, x)}")
    return out


def _flatten(x) -> list:
    if isinstance(x, list | tuple):
        out: list = []
        for v in x:
            if isinstance(v, list | tuple):
                out.extend(v)
            else:
                out.append(v)
        return out
    return [x]


def numbers(x, name: str = "range") -> np.ndarray:
    """An Excel argument (scalar, row, column or block) -> flat float array, blanks NaN."""
    if isinstance(x, list):
        try:
            return np.asarray(x, dtype=float).ravel()
        except (ValueError, TypeError):
            return _slow_numbers(x, name)
    if x is None:
        return np.array([np.nan])
    if isinstance(x, int | float) and not isinstance(x, bool):
        return np.array([float(x)])
    return _slow_numbers(x, name)


def dates(x, name: str = "dates") -> np.ndarray:
    """An Excel argument of dates -> flat datetime64[D] array (blanks NaT).

    Accepts date/datetime values and Excel serial numbers (a date cell formatted as General).
    """
    flat = _flatten(x)
    if all(v is None or isinstance(v, dt.date) for v in flat):  # the usual case: real dates
        return np.asarray(flat, dtype="datetime64[D]")
    out = np.empty(len(flat), dtype="datetime64[D]")
    for i, v in enumerate(flat):
        if v is None or (isinstance(v, str) and not v.strip()):
            out[i] = np.datetime64("NaT")
        elif isinstance(v, dt.date):
            out[i] = np.datetime64(v, "D") if not isinstance(v, dt.datetime) else v.date()
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out[i] = _EXCEL_EPOCH + np.timedelta64(int(v), "D")
        elif isinstance(v, str) and v.strip().upper() in EXCEL_ERRORS:
            raise KpiInputError(f"{name} contains the Excel error {v.strip()} (cell {i + 1})")
        else:
            try:
                out[i] = np.datetime64(pd.Timestamp(str(v)).date(), "D")
            except ValueError:
                raise KpiInputError(
                    f"{name} has {str(v)[:30]!r} in cell {i + 1}; expected a date"
                ) from None
    return out


def _texts(x) -> np.ndarray:
    flat = _flatten(x)
    return np.array(["" if v is None else str(v).strip() for v in flat], dtype=object)


def _same_length(**arrays: np.ndarray) -> int:
    sizes = {k: len(v) for k, v in arrays.items()}
    if len(set(sizes.values())) > 1:
        desc = ", ".join(f"{k} has {v}" for k, v in sizes.items())
        raise KpiInputError(f"ranges differ in size: {desc}", fix="select ranges of the same size")
    return next(iter(sizes.values()))


def _int(x, name: str, default: int) -> int:
    if x is None or x == "":
        return default
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise KpiInputError(f"{name} must be a whole number, got {x!r}") from None
    if v != int(v) or v < 0:
        raise KpiInputError(f"{name} must be a whole number 0 or more, got {x!r}")
    return int(v)


def _bool(x, default: bool) -> bool:
    if x is None or x == "":
        return default
    if isinstance(x, str):
        return x.strip().upper() in ("TRUE", "YES", "1", "Y")
    return bool(x)


# --- forecast accuracy ---
@xw.func
@_documented(actuals=_R, forecasts=_R)
@sop_udf("MAE")
def SOP_MAE(actuals, forecasts):
    return mae_arrays(numbers(actuals, "actuals"), numbers(forecasts, "forecasts"))


@xw.func
@_documented(actuals=_R, forecasts=_R)
@sop_udf("MAPE")
def SOP_MAPE(actuals, forecasts):
    return mape_arrays(numbers(actuals, "actuals"), numbers(forecasts, "forecasts"))


@xw.func
@_documented(actuals=_R, forecasts=_R)
@sop_udf("WMAPE")
def SOP_WMAPE(actuals, forecasts):
    return wmape_arrays(numbers(actuals, "actuals"), numbers(forecasts, "forecasts"))


@xw.func
@_documented(actuals=_R, forecasts=_R)
@sop_udf("FORECAST_ACCURACY")
def SOP_FORECAST_ACCURACY(actuals, forecasts):
    return accuracy_arrays(numbers(actuals, "actuals"), numbers(forecasts, "forecasts"))


@xw.func
@_documented(actuals=_R, forecasts=_R)
@sop_udf("BIAS")
def SOP_BIAS(actuals, forecasts):
    return bias_arrays(numbers(actuals, "actuals"), numbers(forecasts, "forecasts"))


@xw.func
@_documented(actuals=_R, forecasts=_R)
@sop_udf("BIAS_PCT")
def SOP_BIAS_PCT(actuals, forecasts):
    return bias_pct_arrays(numbers(actuals, "actuals"), numbers(forecasts, "forecasts"))


@xw.func
@_documented(actuals=_R, forecasts=_R)
@sop_udf("RMSE")
def SOP_RMSE(actuals, forecasts):
    return rmse_arrays(numbers(actuals, "actuals"), numbers(forecasts, "forecasts"))


@xw.func
@_documented(actuals=_R, forecasts=_R)
@sop_udf("TRACKING_SIGNAL")
def SOP_TRACKING_SIGNAL(actuals, forecasts):
    return tracking_signal_arrays(numbers(actuals, "actuals"), numbers(forecasts, "forecasts"))


@xw.func
@_documented(actuals=_R, forecasts=_R, history=_R)
@sop_udf("MASE")
def SOP_MASE(actuals, forecasts, history=None, season=12):
    h = None if history is None else numbers(history, "history")
    return mase_arrays(
        numbers(actuals, "actuals"),
        numbers(forecasts, "forecasts"),
        h,
        _int(season, "season", 12),
    )


@xw.func
@_documented(actuals=_R, forecasts=_R, naive=_R)
@sop_udf("FVA")
def SOP_FVA(actuals, forecasts, naive=None, season=1):
    nv = None if naive is None else numbers(naive, "naive")
    return fva_arrays(
        numbers(actuals, "actuals"), numbers(forecasts, "forecasts"), nv, _int(season, "season", 1)
    )


# --- inventory ---
@xw.func
@_documented(cogs=_R, inventory=_R)
@sop_udf("INVENTORY_TURNS")
def SOP_INVENTORY_TURNS(cogs, inventory, annualise=False):
    c = numbers(cogs, "cogs")
    c = c[~np.isnan(c)]
    inv = numbers(inventory, "inventory")
    inv = inv[~np.isnan(inv)]
    if len(c) == 0:
        raise KpiUndefined("no COGS values")
    if len(inv) == 0:
        raise KpiUndefined("no inventory values")
    avg = inv.mean()
    if avg <= 0:
        raise KpiUndefined("average inventory is 0")
    factor = 12.0 / len(c) if _bool(annualise, False) else 1.0
    return float(c.sum() / avg * factor)


@xw.func
@_documented(inventory=_R, usage=_R)
@sop_udf("DAYS_OF_SUPPLY")
def SOP_DAYS_OF_SUPPLY(inventory, usage, days=30):
    inv = numbers(inventory, "inventory")
    inv = inv[~np.isnan(inv)]
    u = numbers(usage, "usage")
    u = u[~np.isnan(u)]
    if len(inv) == 0:
        raise KpiUndefined("no inventory value")
    d = float(days) if days not in (None, "") else 30.0
    if d <= 0:
        raise KpiInputError("days must be above 0")
    per_day = u.sum() / d
    if per_day <= 0:
        raise KpiUndefined("usage is 0, so stock does not run down")
    return float(inv[-1] / per_day)


# --- customer service, production, vendors (same code as the cycle, via kpi_ops) ---
def _frame_or_error(**cols) -> pd.DataFrame:
    _same_length(**cols)
    return pd.DataFrame(cols)


def _value(result: pd.DataFrame, kpi_id: str) -> float:
    den = float(result[f"{kpi_id}_den"].iloc[0])
    if not den > 0:
        raise KpiUndefined("nothing is due in the ranges given")
    return float(result[kpi_id].iloc[0])


@xw.func
@_documented(qty_ordered=_R, qty_shipped=_R, order_ids=_R)
@sop_udf("FILL_RATE")
def SOP_FILL_RATE(
    qty_ordered,
    qty_shipped,
    mode="line",
    order_ids=None,
    due_dates=None,
    ship_dates=None,
    days_late=None,
):
    mode = (mode or "line").strip().lower() if isinstance(mode, str) else "line"
    if mode not in ("line", "order", "unit"):
        raise KpiInputError(f"mode must be 'line', 'order' or 'unit', got {mode!r}")
    ordered = numbers(qty_ordered, "qty_ordered")
    shipped = numbers(qty_shipped, "qty_shipped")
    n = len(ordered)
    if due_dates is None and ship_dates is None:
        due = ship = np.full(n, np.datetime64("2000-01-01", "D"))  # no dates: completeness only
    elif due_dates is None or ship_dates is None:
        raise KpiInputError("give both due_dates and ship_dates, or neither")
    else:
        due, ship = dates(due_dates, "due_dates"), dates(ship_dates, "ship_dates")
    if mode == "order" and order_ids is None:
        raise KpiInputError("mode 'order' needs order_ids (the order number of each line)")
    ids = _texts(order_ids) if order_ids is not None else np.arange(n).astype(str)
    lines = _frame_or_error(
        order=ids,
        requested_date=due,
        qty_ordered=ordered,
        qty_shipped=shipped,
        ship_date=ship,
    )
    settings = _DEFAULTS.model_copy(
        update={"customer_days_late": _int(days_late, "days_late", _DEFAULTS.customer_days_late)}
    )
    from sop_xl.kpi.ops import fill_rates

    res = fill_rates(lines, settings, basis="requested")
    return _value(res, f"{mode}_fill_rate")


@xw.func
@_documented()
@sop_udf("OTD")
def SOP_OTD(due_dates, ship_dates, days_early=None, days_late=None):
    due, ship = dates(due_dates, "due_dates"), dates(ship_dates, "ship_dates")
    n = _same_length(due_dates=due, ship_dates=ship)
    return _delivery(due, ship, np.ones(n), np.ones(n), days_early, days_late, "otd")


@xw.func
@_documented(qty_ordered=_R, qty_shipped=_R)
@sop_udf("OTIF")
def SOP_OTIF(due_dates, ship_dates, qty_ordered, qty_shipped, days_early=None, days_late=None):
    due, ship = dates(due_dates, "due_dates"), dates(ship_dates, "ship_dates")
    o, s = numbers(qty_ordered, "qty_ordered"), numbers(qty_shipped, "qty_shipped")
    return _delivery(due, ship, o, s, days_early, days_late, "otif")


def _delivery(due, ship, ordered, shipped, days_early, days_late, kpi_id) -> float:
    from sop_xl.kpi.ops import delivery

    lines = _frame_or_error(
        requested_date=due, ship_date=ship, qty_ordered=ordered, qty_shipped=shipped
    )
    settings = _DEFAULTS.model_copy(
        update={
            "customer_days_early": _int(days_early, "days_early", _DEFAULTS.customer_days_early),
            "customer_days_late": _int(days_late, "days_late", _DEFAULTS.customer_days_late),
        }
    )
    return _value(delivery(lines, settings, basis="requested"), kpi_id)


@xw.func
@_documented(planned_qty=_R, completed_qty=_R)
@sop_udf("SCHEDULE_ATTAINMENT")
def SOP_SCHEDULE_ATTAINMENT(
    planned_qty, completed_qty, due_dates, completion_dates, days_late=None, cap=True
):
    return _production(
        planned_qty,
        completed_qty,
        due_dates,
        completion_dates,
        days_late,
        cap,
        "schedule_attainment",
    )


@xw.func
@_documented()
@sop_udf("SCHEDULE_ADHERENCE")
def SOP_SCHEDULE_ADHERENCE(due_dates, completion_dates, days_late=None):
    n = len(_flatten(due_dates))
    return _production(
        [1.0] * n, [1.0] * n, due_dates, completion_dates, days_late, True, "schedule_adherence"
    )


@xw.func
@_documented(planned_qty=_R, completed_qty=_R)
@sop_udf("SCHEDULE_OTIF")
def SOP_SCHEDULE_OTIF(planned_qty, completed_qty, due_dates, completion_dates, days_late=None):
    return _production(
        planned_qty, completed_qty, due_dates, completion_dates, days_late, True, "schedule_otif"
    )


def _production(planned, completed, due_dates, completion_dates, days_late, cap, kpi_id):
    from sop_xl.kpi.ops import schedule_attainment

    p = numbers(planned, "planned_qty")
    orders = _frame_or_error(
        status=np.full(len(p), "Released", dtype=object),
        planned_qty=p,
        due_date=dates(due_dates, "due_dates"),
        completed_qty=numbers(completed, "completed_qty"),
        completion_date=dates(completion_dates, "completion_dates"),
    )
    settings = _DEFAULTS.model_copy(
        update={
            "production_days_late": _int(days_late, "days_late", _DEFAULTS.production_days_late)
        }
    )
    res = schedule_attainment(orders, settings, cap=_bool(cap, True))
    return _value(res, kpi_id)


@xw.func
@_documented()
@sop_udf("VENDOR_OTD")
def SOP_VENDOR_OTD(promised_dates, received_dates, days_early=None, days_late=None):
    pr, rc = dates(promised_dates, "promised_dates"), dates(received_dates, "received_dates")
    n = _same_length(promised_dates=pr, received_dates=rc)
    return _vendor(pr, rc, np.ones(n), np.ones(n), days_early, days_late, "vendor_otd")


@xw.func
@_documented(qty_ordered=_R, qty_received=_R)
@sop_udf("VENDOR_QTY_COMPLETE")
def SOP_VENDOR_QTY_COMPLETE(qty_ordered, qty_received):
    o, r = numbers(qty_ordered, "qty_ordered"), numbers(qty_received, "qty_received")
    n = _same_length(qty_ordered=o, qty_received=r)
    day = np.full(n, np.datetime64("2000-01-01", "D"))
    return _vendor(day, day, o, r, None, None, "vendor_qty_complete")


def _vendor(promised, received, ordered, got, days_early, days_late, kpi_id):
    from sop_xl.kpi.ops import vendor_performance

    rec = _frame_or_error(
        promised_date=promised, received_date=received, qty_ordered=ordered, qty_received=got
    )
    settings = _DEFAULTS.model_copy(
        update={
            "vendor_days_early": _int(days_early, "days_early", _DEFAULTS.vendor_days_early),
            "vendor_days_late": _int(days_late, "days_late", _DEFAULTS.vendor_days_late),
        }
    )
    return _value(vendor_performance(rec, settings), kpi_id)


# --- finance ---
@xw.func
@_documented(revenue=_R, cost=_R)
@sop_udf("GROSS_MARGIN_PCT")
def SOP_GROSS_MARGIN_PCT(revenue, cost):
    r = np.nansum(numbers(revenue, "revenue"))
    c = np.nansum(numbers(cost, "cost"))
    if r <= 0:
        raise KpiUndefined("revenue is 0 or below")
    return float((r - c) / r)


def _account_sign(account_type) -> float:
    t = str(account_type or "Revenue").strip().lower()
    if t in ("revenue", "income", "sales", "r"):
        return 1.0
    if t in ("cost", "expense", "cogs", "c"):
        return -1.0
    raise KpiInputError(
        f"account_type must be 'Revenue' or 'Cost', got {account_type!r}",
        fix="use the Account Type of the G/L account",
    )


def _sign_for(account_type, sign) -> float:
    """+1/-1 that turns actual - budget into the requested convention."""
    mode = str(sign or "favourable").strip().lower()
    if mode in ("raw", "actual-budget", "actual - budget"):
        _account_sign(account_type)  # still validate the account type
        return 1.0
    if mode not in ("favourable", "favorable"):
        raise KpiInputError(f"sign must be 'favourable' or 'raw', got {sign!r}")
    return _account_sign(account_type)


@xw.func
@_documented(actual=_R, budget=_R)
@sop_udf("VARIANCE")
def SOP_VARIANCE(actual, budget, account_type="Revenue", sign="favourable"):
    a = np.nansum(numbers(actual, "actual"))
    b = np.nansum(numbers(budget, "budget"))
    return float(_sign_for(account_type, sign) * (a - b))


@xw.func
@_documented(actual=_R, budget=_R)
@sop_udf("VARIANCE_PCT")
def SOP_VARIANCE_PCT(actual, budget, account_type="Revenue", sign="favourable"):
    a = np.nansum(numbers(actual, "actual"))
    b = np.nansum(numbers(budget, "budget"))
    k = _sign_for(account_type, sign)
    if b == 0:
        raise KpiUndefined("budget is 0")
    return float(k * (a - b) / abs(b))


# --- registry and tables ---
@xw.func
@xw.arg("kpi_id", doc="KPI id, e.g. 'wmape' (see SOP_KPI_LIST).")
@xw.arg("field", doc="Optional: name, formula, unit, direction, zero_policy, ... (default: all).")
@sop_udf("KPI_INFO")
def SOP_KPI_INFO(kpi_id, field=None):
    """The definition of a KPI: formula, unit, direction, zero policy and sign, as text."""
    try:
        d = kpi(str(kpi_id or ""))
    except KeyError as e:
        raise KpiInputError(str(e.args[0])) from None
    if field in (None, ""):
        return d.describe()
    name = str(field).strip().lower()
    if not hasattr(d, name):
        raise KpiInputError(f"unknown field {field!r}")
    value = getattr(d, name)
    return ", ".join(value) if isinstance(value, tuple) else str(value)


@xw.func
@sop_udf("KPI_LIST")
def SOP_KPI_LIST():
    """Every KPI id with its name, unit, direction and formula, as a spilled table."""
    rows = [["KPI ID", "Name", "Unit", "Better", "Formula", "Function"]]
    rows += [[d.id, d.name, d.unit, d.direction, d.formula, d.udf] for d in KPIS.values()]
    return rows


#: SOP_ACCURACY_TABLE's columns: forecast_accuracy's column -> the header shown
_TABLE_COLUMNS = {
    "n": "n",
    "sum_actual": "Actual",
    "sum_forecast": "Forecast",
    "mae": "MAE",
    "mape": "MAPE",
    "wmape": "WMAPE",
    "forecast_accuracy": "Accuracy",
    "bias": "Bias",
    "bias_pct": "Bias %",
    "rmse": "RMSE",
    "zero_actuals_skipped": "Zero actuals skipped",
}


@xw.func
@_documented(keys={"ndim": 2}, actuals=_R, forecasts=_R)
@sop_udf("ACCURACY_TABLE")
def SOP_ACCURACY_TABLE(keys, actuals, forecasts):
    # one formula instead of thousands; its description: FUNCTION_DOCS
    from sop_xl.kpi.forecast import forecast_accuracy

    a, f = numbers(actuals, "actuals"), numbers(forecasts, "forecasts")
    n = _same_length(actuals=a, forecasts=f)
    if isinstance(keys, list) and keys and isinstance(keys[0], list):
        if len(keys) == 1 and len(keys[0]) == n and n > 1:  # one row of keys, across
            keys = [[v] for v in keys[0]]
        width = len(keys[0])
        cols = {f"Key {j + 1}": [r[j] for r in keys] for j in range(width)}
        if width == 1:
            cols = {"Key": cols["Key 1"]}
    else:
        cols = {"Key": _flatten(keys)}
    for c, v in cols.items():
        if len(v) != n:
            raise KpiInputError(f"keys has {len(v)} rows but actuals has {n}")
        cols[c] = [_key_text(x) for x in v]
    df = pd.DataFrame({**cols, "actual": a, "forecast": f})
    by = list(cols)
    groups = forecast_accuracy(df, by=by)
    total = forecast_accuracy(df)
    fields = list(_TABLE_COLUMNS)
    rows = [[*by, *_TABLE_COLUMNS.values()]]
    for rec in groups[[*by, *fields]].itertuples(index=False):
        rows.append([_cell(v) for v in rec])
    rows.append(["Total"] + [""] * (len(by) - 1) + [_cell(total[c].iloc[0]) for c in fields])
    return rows


def _key_text(v) -> str:
    """A key cell as text: blank -> '', 1001.0 -> '1001' (Excel passes numbers as floats)."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _cell(v):
    """A value Excel can show: NaN -> blank, numpy scalars -> Python."""
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return "" if not math.isfinite(float(v)) else float(v)
    return v


# --- plan history (issue 13) ---
def _columns(x, name: str) -> list[np.ndarray]:
    """A block as its columns (a single row or column is one column)."""
    if isinstance(x, list) and x and isinstance(x[0], list):
        width = len(x[0])
        if any(len(r) != width for r in x):
            raise KpiInputError(f"{name} is not a rectangular range")
        return [numbers([r[j] for r in x], name) for j in range(width)]
    return [numbers(x, name)]


def _or_reason(fn, *arrays):
    """The KPI value, or its plain reason as text inside a spilled table."""
    try:
        return fn(*arrays)
    except KpiUndefined as e:
        return f"n/a: {e.message}"


@xw.func
@xw.arg("actuals", doc="Actuals of the months scored, one per row, in time order.", **_R)
@xw.arg(
    "forecasts",
    doc="Forecasts of the same months, one column per lag (first column = first_lag): the "
    "forecast each month had 0, 1, 2... cycles before it.",
    ndim=2,
    **_R,
)
@xw.arg("first_lag", doc="Optional: lag of the first forecast column (default 0).")
@sop_udf("ACCURACY_BY_LAG")
def SOP_ACCURACY_BY_LAG(actuals, forecasts, first_lag=0):
    a = numbers(actuals, "actuals")
    cols = _columns(forecasts, "forecasts")
    lag0 = _int(first_lag, "first_lag", 0)
    rows = [["Lag", "Accuracy", "WMAPE", "Bias %", "Months"]]
    for j, f in enumerate(cols):
        _same_length(actuals=a, forecasts=f)
        n = int((~np.isnan(a + f)).sum())
        rows.append(
            [
                lag0 + j,
                _or_reason(accuracy_arrays, a, f),
                _or_reason(wmape_arrays, a, f),
                _or_reason(bias_pct_arrays, a, f),
                n,
            ]
        )
    return rows


@xw.func
@xw.arg("actuals", doc="Actuals of the months (or cells) scored.", **_R)
@xw.arg("statistical", doc="The statistical baseline of the same cells.", **_R)
@xw.arg("submission", doc="Optional: the regional submissions of the same cells.", **_R)
@xw.arg("consensus", doc="Optional: the consensus of the same cells.", **_R)
@xw.arg(
    "naive",
    doc="Optional: the naive forecast; default = the previous actual in the range (the first "
    "cell is history only).",
    **_R,
)
@sop_udf("FVA_TABLE")
def SOP_FVA_TABLE(actuals, statistical, submission=None, consensus=None, naive=None):
    a = numbers(actuals, "actuals")
    if naive in (None, ""):
        nv = np.concatenate([[np.nan], a[:-1]]) if len(a) else a
    else:
        nv = numbers(naive, "naive")
    steps = [("Naive", nv), ("Statistical", numbers(statistical, "statistical"))]
    for name, x in (("Submission", submission), ("Consensus", consensus)):
        if x not in (None, ""):
            steps.append((name, numbers(x, name.lower())))
    _same_length(actuals=a, **{n.lower(): v for n, v in steps})
    ok = ~np.isnan(a)
    for _, v in steps:
        ok &= ~np.isnan(v)
    if not ok.any():
        raise KpiUndefined("no cell has an actual and a value for every step")
    rows = [["Step", "Accuracy", "WMAPE", "Value added vs previous", "Value added vs naive"]]
    errs = [_or_reason(wmape_arrays, a[ok], v[ok]) for _, v in steps]
    for i, (name, v) in enumerate(steps):
        w = errs[i]
        prev = errs[i - 1] if i else None
        num = isinstance(w, float)
        rows.append(
            [
                name,
                _or_reason(accuracy_arrays, a[ok], v[ok]),
                w,
                prev - w if i and num and isinstance(prev, float) else "",
                errs[0] - w if i and num and isinstance(errs[0], float) else "",
            ]
        )
    return rows
