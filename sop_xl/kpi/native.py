"""Native Excel formulas of the KPIs: one source per ``=SOP_...`` function for users without Python.

Each scalar KPI function (:mod:`sop_xl.excel.udfs`) has here its formula in Excel's own formula
language, as a ``LET`` body over named parameters. The standard workbook carries each one as a
named ``LAMBDA`` function (``SOP.WMAPE`` for ``SOP_WMAPE``), so Excel 365 on Windows, Mac and the
web gives the same number with no add-in and no Python. LibreOffice (>= 24.8, which has ``LET``
but not ``LAMBDA``) evaluates the same bodies in the tests, with the arguments substituted.

Words are written once: a named function's description (its Name Manager comment) is the KPI
registry's text for the UDF (:func:`sop_xl.kpi.defs.udf_doc`), and each :class:`Param`'s ``doc``
is also the UDF argument's function wizard help (:mod:`sop_xl.excel.udfs` reads it from here).

The rules are the UDFs' rules:

- ranges are read row by row (``A2:A25`` and ``B2:Y2`` pair up cell by cell), so a row, a
  column or a block all work; sizes must match;
- a blank cell is *missing*: a pair with a blank side is skipped, never counted as 0;
- text that is not a number, and Excel errors, make the result an error.

What the user sees when there is no number (the UDF shows ``#SOP! <reason>`` text instead):
``#N/A`` = the ranges differ in size; ``#DIV/0!`` = the KPI is undefined for this input (the
registry's zero/empty policy, e.g. WMAPE when actuals sum to 0); ``#VALUE!`` = a bad option or
input (text in a number range, an unknown mode).

A KPI whose rules Excel's formula language cannot express exactly stays Python-only and says why
(:attr:`NativeFormula.python_only`). Optional parameters default as the UDF's do (the Settings
defaults are baked in when the workbook is built: the named functions cannot read the Python
``Settings``).

Layout of the formula text: Excel's display syntax (what a user types, English function names);
:func:`stored` turns it into the text Excel writes in the file (``_xlfn.LET``, ``_xlpm.x``).
By convention every parameter and ``LET`` name here is lower case and every function upper case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sop_xl.errors import ArgumentError
from sop_xl.model.schema import Settings

_S = Settings()

#: Functions newer than Excel 2007: the file stores them as ``_xlfn.NAME`` (ECMA-376 future
#: functions). Only those used here.
FUTURE_FUNCTIONS = frozenset({"LET", "LAMBDA", "SEQUENCE", "ISOMITTED"})

UNDEFINED = "#DIV/0!"  # the KPI has no value for this input
BAD_INPUT = "#VALUE!"  # an option or a cell that cannot be read
SIZE_MISMATCH = "NA()"  # ranges of different sizes


@dataclass(frozen=True)
class Param:
    """A parameter of a named function. ``doc``: its help, the same for the ``=SOP_...`` UDF's
    argument in that position. ``default`` is None for a required parameter; else the formula
    text used when it is omitted (what ``IF(ISOMITTED(p), default, p)`` gives)."""

    name: str
    doc: str
    default: str | None = None

    @property
    def optional(self) -> bool:
        return self.default is not None


@dataclass(frozen=True)
class NativeFormula:
    """The native Excel form of one ``=SOP_...`` function.

    ``body`` is a formula over the parameter names (display syntax, no leading ``=``); ``plain``
    is the formula for Excel without LET/LAMBDA (2016/2019) over single-column ranges ``A``
    (actuals) and ``F`` (forecasts) or as named in the text, where one exists; ``differs`` says
    where the native form and the UDF can disagree. ``python_only`` is the reason when there is no
    native form (then ``body`` is empty).
    """

    udf: str
    params: tuple[Param, ...]
    body: str
    plain: str = ""
    differs: str = ""
    python_only: str = ""

    @property
    def description(self) -> str:
        """The Name Manager's comment on the named function: the registry's text for the UDF
        (:func:`sop_xl.kpi.defs.udf_doc`), the same words the function wizard shows for
        ``=SOP_...``, so a definition is written once, in :mod:`sop_xl.kpi.defs`."""
        from sop_xl.kpi.defs import udf_doc

        return udf_doc(self.udf)

    @property
    def name(self) -> str:
        """The named function: ``SOP_WMAPE`` -> ``SOP.WMAPE``."""
        return "SOP." + self.udf.removeprefix("SOP_")

    def lambda_formula(self) -> str:
        """``LAMBDA(actuals, forecasts, [season], <body>)`` in display syntax."""
        ps = [f"[{p.name}]" if p.optional else p.name for p in self.params]
        return f"LAMBDA({', '.join(ps)}, {self.body})"

    def lambda_stored(self) -> str:
        """The LAMBDA as Excel stores it in ``workbook.xml`` (a defined name's text)."""
        optional = {p.name for p in self.params if p.optional}
        return stored(self.lambda_formula(), optional=optional)

    def call(self, **args: str) -> str:
        """The body with the arguments substituted (display syntax): what Excel evaluates for
        ``=SOP.X(args)``. An omitted optional parameter takes its default and its
        ``ISOMITTED(p)`` becomes TRUE. Used to evaluate the body where LAMBDA is unavailable."""
        unknown = set(args) - {p.name for p in self.params}
        if unknown:
            raise ArgumentError(f"{self.name} has no parameter(s) {sorted(unknown)}")
        values: dict[str, str] = {}
        text = self.body
        for p in self.params:
            given = p.name in args
            if not given and not p.optional:
                raise ArgumentError(f"{self.name}: parameter {p.name!r} is required")
            text = text.replace(f"ISOMITTED({p.name})", "FALSE" if given else "TRUE")
            values[p.name] = args[p.name] if given else _substitute(p.default, values)
        return _substitute(text, values)


# --- formula text helpers -------------------------------------------------------------------------
_TOKEN = re.compile(r'"(?:[^"]|"")*"|\[[A-Za-z_]\w*\]|[A-Za-z_][\w.]*\(?')


def _substitute(text: str, values: dict[str, str]) -> str:
    """Replace whole lower-case names (parameters) by ``values``; string literals untouched."""

    def repl(m: re.Match) -> str:
        tok = m.group(0)
        return values.get(tok, tok) if tok[0] != '"' else tok

    return _TOKEN.sub(repl, text)


def stored(formula: str, optional: frozenset[str] | set[str] = frozenset()) -> str:
    """Display syntax -> the text Excel writes in the file: ``_xlfn.`` before newer functions,
    ``_xlpm.`` before LAMBDA/LET names (``_xlop.`` where a LAMBDA declares an optional one, as
    Excel writes ``[p]``), no spaces after commas.
    """

    def repl(m: re.Match) -> str:
        tok = m.group(0)
        if tok[0] == '"':
            return tok
        if tok[0] == "[":
            return f"_xlop.{tok[1:-1]}"
        if tok.endswith("("):
            return f"_xlfn.{tok}" if tok[:-1] in FUTURE_FUNCTIONS else tok
        if tok[0].islower():
            return f"_xlpm.{tok}"
        return tok

    return _TOKEN.sub(repl, _compact(formula))


def _compact(formula: str) -> str:
    """Drop spaces outside string literals (no formula here uses the space operator)."""
    parts = re.split(r'("(?:[^"]|"")*")', formula)
    return "".join(p if p.startswith('"') else re.sub(r"\s+", "", p) for p in parts)


def _at(x: str, pos: str, of: str = "") -> str:
    """Cells of ``x`` (a range, or an array shaped as range ``of``) at 0-based positions
    ``pos``, reading row by row."""
    w = f"COLUMNS({of or x})"
    return f"INDEX({x}, 1 + INT(({pos}) / {w}), 1 + MOD({pos}, {w}))"


def _filled(x: str, pos: str) -> str:
    """1/0 per position: the cell of ``x`` is filled (not blank, not empty text)."""
    return _at("(" + x + ' <> "")', pos, of=x)


def _size(x: str) -> str:
    return f"ROWS({x}) * COLUMNS({x})"


def _ranges(names: list[str], inner: str, pos: str = "i") -> str:
    """One LET over same-size ranges: ``<name>_v`` (values, blank = 0) and ``<name>_k`` (1 =
    filled), flattened row by row. When the sizes differ the positions are #N/A, so is every
    name computed from them and the result. (One flat LET: LibreOffice cannot nest LETs.)"""
    first, *rest = names
    check = " + ".join(f"({_size(x)} <> n)" for x in rest) or "FALSE"
    defs = []
    for x in names:
        defs.append(f"{x}_k, {_filled(x, pos)} * 1")
        defs.append(f"{x}_v, {_at(x, pos)} * {x}_k")
    return (
        f"LET(n, {_size(first)}, {pos}, IF({check}, {SIZE_MISMATCH}, SEQUENCE(n) - 1), "
        f"{', '.join(defs)}, {inner})"
    )


def _pair(inner: str) -> str:
    """Actual/forecast pairs: ``a``, ``f``, ``ok`` (both filled), ``k`` (pairs), ``e = F - A``."""
    return _ranges(
        ["actuals", "forecasts"],
        "ok, actuals_k * forecasts_k, a, actuals_v * ok, f, forecasts_v * ok, "
        f"k, SUM(ok), e, f - a, {inner}",
    )


def _opt(p: str, default: str) -> str:
    return f"IF(ISOMITTED({p}), {default}, {p})"


def _whole(x: str) -> str:
    """A whole number 0 or more (else #VALUE!), as the UDFs' ``_int``."""
    return f"IF(OR({x} < 0, {x} <> INT({x})), {BAD_INPUT}, {x})"


_A = Param("actuals", "Actual quantities (or amounts), a row, column or block; blanks are skipped.")
_F = Param("forecasts", "Forecast (or budget) values, same size and order as actuals.")
#: the same two ranges read as one time series (tracking signal, MASE, FVA)
_SERIES = (
    Param("actuals", "Actuals of one series, in time order; blanks skipped."),
    Param("forecasts", "Forecasts of the same periods, same order."),
)


def _forecast(
    udf: str, inner: str, plain: str, differs: str = "", params: tuple[Param, ...] = (_A, _F)
) -> NativeFormula:
    return NativeFormula(udf, params, _pair(inner), plain, differs)


_WMAPE = f"IF(SUM(ABS(a)) = 0, {UNDEFINED}, SUM(ABS(e)) / SUM(ABS(a)))"
_K0 = f"IF(k = 0, {UNDEFINED}, "
_OK = '(A<>"")*(F<>"")'


def _scale(x: str, p: str) -> str:
    """LET names ``<p>sc``: mean |h_t - h_(t-s)| of the range ``x`` read row by row (pairs with
    a blank skipped); #DIV/0! when there is no pair or the history is constant (``s`` = season).
    """
    return (
        f"{p}m, {_size(x)}, {p}j, SEQUENCE(MAX(1, {p}m - s)) - 1, "
        f"{p}k, {_filled(x, p + 'j + s')} * {_filled(x, p + 'j')}, "
        f"{p}d, ABS({_at(x, p + 'j + s')} - {_at(x, p + 'j')}) * {p}k, "
        f"{p}sc, IF({p}m <= s, {UNDEFINED}, IF(SUM({p}k) = 0, {UNDEFINED}, "
        f"IF(SUM({p}d) = 0, {UNDEFINED}, SUM({p}d) / SUM({p}k))))"
    )


def _mase() -> NativeFormula:
    season = Param(
        "season", "Optional: seasonal lag in periods for the naive scale (default 12).", "12"
    )
    history = Param(
        "history", "Optional: earlier actuals of the series in time order (scale).", "0"
    )
    inner = (
        f"s, {_whole(_opt('season', '12'))}, "
        f"{_scale('actuals', 'ha')}, {_scale('history', 'hh')}, "
        f"sc, IF(s < 1, {BAD_INPUT}, IF(ISOMITTED(history), hasc, hhsc)), "
        f"IF(k = 0, {UNDEFINED}, SUM(ABS(e)) / k / sc)"
    )
    return NativeFormula(
        "SOP_MASE",
        (*_SERIES, history, season),
        _pair(inner),
        "=(SUMPRODUCT(ABS(F-A)*" + _OK + ")/SUMPRODUCT(" + _OK + "))"
        "/(SUMPRODUCT(ABS(H13:H24-H1:H12))/12) (history H1:H24, season 12)",
    )


def _fva() -> NativeFormula:
    naive = Param(
        "naive",
        "Optional: a benchmark forecast range, same size as actuals; default = the actual "
        "'season' periods earlier.",
        "0",
    )
    season = Param(
        "season", "Optional: lag of the naive forecast in periods (default 1; 12 = seasonal).", "1"
    )
    inner_shift = (
        f"s, {_whole(_opt('season', '1'))}, "
        "q, IF(i >= s, i - s, 0), "
        f"sk, (i >= s) * {_filled('actuals', 'q')}, "
        f"sv, {_at('actuals', 'q')} * sk, "
        "gk, IF(ISOMITTED(naive), sk, naive_k), "
        "gv, IF(ISOMITTED(naive), sv, naive_v), "
        "ok, actuals_k * forecasts_k * gk, "
        "a, actuals_v * ok, f, forecasts_v * ok, g, gv * ok, "
        f"IF(s < 1, {BAD_INPUT}, IF(SUM(ok) = 0, {UNDEFINED}, IF(SUM(ABS(a)) = 0, {UNDEFINED}, "
        "(SUM(ABS(g - a)) - SUM(ABS(f - a))) / SUM(ABS(a)))))"
    )
    body = _ranges(["actuals", "forecasts", "naive"], inner_shift)
    # Without a naive range, 'naive' is not a range: check and read only actuals and forecasts.
    body = body.replace(
        f"({_size('naive')} <> n)", f"IF(ISOMITTED(naive), 0, {_size('naive')} <> n)"
    )
    return NativeFormula(
        "SOP_FVA",
        (*_SERIES, naive, season),
        body,
        "=(SUMPRODUCT(ABS(A1:A23-A2:A24)*" + '(A1:A23<>"")*(A2:A24<>"")*(F2:F24<>"")'
        ")-SUMPRODUCT(ABS(F2:F24-A2:A24)*" + '(A1:A23<>"")*(A2:A24<>"")*(F2:F24<>"")'
        "))/SUMPRODUCT(ABS(A2:A24)*" + '(A1:A23<>"")*(A2:A24<>"")*(F2:F24<>"")'
        ") (periods A1:A24, season 1)",
    )


def _inventory_turns() -> NativeFormula:
    inner = (
        "ann, IF(ISOMITTED(annualise), FALSE, annualise), "
        f"IF(SUM(cogs_k) = 0, {UNDEFINED}, IF(SUM(inventory_k) = 0, {UNDEFINED}, "
        f"IF(SUM(inventory_v) / SUM(inventory_k) <= 0, {UNDEFINED}, "
        "SUM(cogs_v) / (SUM(inventory_v) / SUM(inventory_k)) * IF(ann, 12 / SUM(cogs_k), 1))))"
    )
    body = f"LET(nc, {_size('cogs')}, ni, {_size('inventory')}, " + (
        _two_sizes("cogs", "nc", "ic", "inventory", "ni", "ii", inner) + ")"
    )
    return NativeFormula(
        "SOP_INVENTORY_TURNS",
        (
            Param("cogs", "Cost of goods sold per period (one or more periods)."),
            Param("inventory", "Inventory values: opening then each period-end (averaged)."),
            Param(
                "annualise",
                "Optional TRUE: multiply by 12 / number of monthly COGS values.",
                "FALSE",
            ),
        ),
        body,
        "=SUM(C)/AVERAGE(I)*12/COUNT(C) (annualised; C = monthly COGS, I = inventory values)",
        "annualise takes TRUE/FALSE (or 1/0); the UDF also reads the texts 'yes'/'no'.",
    )


def _two_sizes(x: str, nx: str, ix: str, y: str, ny: str, iy: str, inner: str) -> str:
    """LET over two ranges of independent sizes: ``<x>_v``/``<x>_k`` and ``<y>_v``/``<y>_k``."""
    return (
        f"{ix}, SEQUENCE({nx}) - 1, {iy}, SEQUENCE({ny}) - 1, "
        f"{x}_k, {_filled(x, ix)} * 1, {x}_v, {_at(x, ix)} * {x}_k, "
        f"{y}_k, {_filled(y, iy)} * 1, {y}_v, {_at(y, iy)} * {y}_k, "
        f"{inner}"
    )


def _days_of_supply() -> NativeFormula:
    inner = (
        f"d, IF(ISOMITTED(days_covered), 30, days_covered), "
        f"p, MAX(inventory_k * (iv + 1)), "
        f"per_day, SUM(usage_v) / d, "
        f"IF(p = 0, {UNDEFINED}, IF(d <= 0, {BAD_INPUT}, IF(per_day <= 0, {UNDEFINED}, "
        f"{_at('inventory', 'p - 1')} / per_day)))"
    )
    body = f"LET(ni, {_size('inventory')}, nu, {_size('usage')}, " + (
        _two_sizes("inventory", "ni", "iv", "usage", "nu", "iu", inner) + ")"
    )
    return NativeFormula(
        "SOP_DAYS_OF_SUPPLY",
        (
            Param("inventory", "Closing inventory (value or units); a range uses its last value."),
            Param("usage", "Usage over the period in the same unit: COGS or demand (summed)."),
            Param("days_covered", "Optional: calendar days the usage covers (default 30).", "30"),
        ),
        body,
        '=LOOKUP(2,1/(I<>""),I)/(SUM(U)/30) (I = inventory, U = usage over 30 days)',
    )


def _sums(udf: str, names: tuple[Param, Param], inner: str, plain: str,
          extra: tuple[Param, ...] = (), differs: str = "") -> NativeFormula:  # fmt: skip
    x, y = names[0].name, names[1].name
    body = f"LET(nx, {_size(x)}, ny, {_size(y)}, " + (
        _two_sizes(x, "nx", "ix", y, "ny", "iy", inner) + ")"
    )
    return NativeFormula(udf, (*names, *extra), body, plain, differs)


def _sign(account: str = "account_type", mode: str = "sign_mode") -> str:
    """+1/-1 turning actual - budget into the chosen sign convention (UDF ``_sign_for``)."""
    return (
        f"acct, LOWER(TRIM({_opt(account, chr(34) + 'Revenue' + chr(34))})), "
        'acct_s, IF(OR(acct = "", acct = "revenue", acct = "income", acct = "sales", '
        'acct = "r"), 1, IF(OR(acct = "cost", acct = "expense", acct = "cogs", acct = "c"), -1, '
        f"{BAD_INPUT})), "
        f"md, LOWER(TRIM({_opt(mode, chr(34) + 'favourable' + chr(34))})), "
        'sg, IF(OR(md = "raw", md = "actual-budget", md = "actual - budget"), acct_s / acct_s, '
        f'IF(OR(md = "", md = "favourable", md = "favorable"), acct_s, {BAD_INPUT}))'
    )


_ACTUAL_BUDGET = (
    Param("actual", "Actual amount(s) (summed)."),
    Param("budget", "Budget amount(s) (summed)."),
)
_ACCOUNT = Param("account_type", "'Revenue' (default) or 'Cost'.", '"Revenue"')
_SIGN_MODE = Param(
    "sign_mode",
    "Optional: 'favourable' (default, positive = good) or 'raw' (actual - budget).",
    '"favourable"',
)


# --- dated lines: delivery, fill, production, vendors --------------------------------------------
def _window(due: str, done: str, early: str, late: str) -> str:
    """1 where ``done`` is filled and inside [due - early, due + late] (dates as serials)."""
    return f"{done}_k * ({done}_v <= {due}_v + {late}) * ({done}_v >= {due}_v - {early})"


def _window_days(early: int, late: int) -> str:
    """LET names ``early`` and ``late``: the optional parameters or the Settings defaults."""
    return (
        f"early, {_whole(_opt('days_early', str(early)))}, "
        f"late, {_whole(_opt('days_late', str(late)))}"
    )


def _days_param(name: str, what: str, default: int) -> Param:
    return Param(name, f"Optional: days {what} still on time (default {default}).", str(default))


_NOTHING_DUE = f"IF(SUM(due) = 0, {UNDEFINED}, "


def _on_time(
    udf: str,
    dates: tuple[Param, Param],
    window: tuple[int, int, str, str],
    plain: str,
    qty: tuple[Param, Param] | None = None,
) -> NativeFormula:
    """Lines done inside [due - days early, due + days late] (and, with ``qty``, complete) /
    lines due: ``dates`` = (due, done) parameters; ``window`` = the Settings defaults of days
    early and late and how their help words them ("before due", "after due")."""
    due, done = dates[0].name, dates[1].name
    early, late, early_what, late_what = window
    names = [due, done]
    is_due, complete = f"{due}_k", ""
    if qty:
        ordered, shipped = qty[0].name, qty[1].name
        names += [ordered, shipped]
        is_due += f" * {ordered}_k * ({ordered}_v > 0)"
        complete = f" * ({shipped}_v >= {ordered}_v)"
    inner = (
        f"{_window_days(early, late)}, "
        f"due, {is_due}, "
        f"ot, due * {_window(due, done, 'early', 'late')}{complete}, "
        f"{_NOTHING_DUE}SUM(ot) / SUM(due))"
    )
    params = (
        *dates,
        *(qty or ()),
        _days_param("days_early", early_what, early),
        _days_param("days_late", late_what, late),
    )
    return NativeFormula(udf, params, _ranges(names, inner), plain)


def _otd() -> NativeFormula:
    e, late = _S.customer_days_early, _S.customer_days_late
    return _on_time(
        "SOP_OTD",
        (
            Param("due_dates", "Due (promised or requested) date per order line."),
            Param("ship_dates", "Ship date per line; blank = not shipped (late)."),
        ),
        (e, late, "before due", "after due"),
        f'=SUMPRODUCT((D<>"")*(S<>"")*(S>=D-{e})*(S<=D+{late}))/COUNT(D) (D = due, S = ship dates)',
    )


def _otif() -> NativeFormula:
    e, late = _S.customer_days_early, _S.customer_days_late
    return _on_time(
        "SOP_OTIF",
        (
            Param("due_dates", "Due (promised or requested) date per order line."),
            Param("ship_dates", "Ship date per line; blank = not shipped."),
        ),
        (e, late, "before due", "after due"),
        f'=SUMPRODUCT((D<>"")*(O>0)*(S<>"")*(S>=D-{e})*(S<=D+{late})*(Q>=O))'
        '/SUMPRODUCT((D<>"")*(O>0)) (O = ordered, Q = shipped)',
        (
            Param("qty_ordered", "Ordered quantity per line."),
            Param("qty_shipped", "Shipped quantity per line."),
        ),
    )


def _vendor_otd() -> NativeFormula:
    e, late = _S.vendor_days_early, _S.vendor_days_late
    return _on_time(
        "SOP_VENDOR_OTD",
        (
            Param("promised_dates", "Promised receipt date per purchase line."),
            Param("received_dates", "Receipt date per line (blank = not received: late)."),
        ),
        (e, late, "early", "late"),
        f'=SUMPRODUCT((P<>"")*(R<>"")*(R>=P-{e})*(R<=P+{late}))/COUNT(P)',
    )


def _vendor_qty_complete() -> NativeFormula:
    inner = (
        "due, qty_ordered_k * (qty_ordered_v > 0), "
        f"{_NOTHING_DUE}SUM(due * (qty_received_v >= qty_ordered_v)) / SUM(due))"
    )
    return NativeFormula(
        "SOP_VENDOR_QTY_COMPLETE",
        (
            Param("qty_ordered", "Ordered quantity per purchase line."),
            Param("qty_received", "Received quantity per line (blank = none)."),
        ),
        _ranges(["qty_ordered", "qty_received"], inner),
        '=SUMPRODUCT((O>0)*(Q>=O))/COUNTIF(O,">0")',
    )


def _production(udf: str) -> NativeFormula:
    late = _S.production_days_late
    attainment = udf == "SOP_SCHEDULE_ATTAINMENT"
    names = ["planned_qty", "completed_qty"] if attainment else []
    names += ["due_dates", "completion_dates"]
    planned = "planned_qty_k * planned_qty_v" if attainment else "1"
    inner = (
        f"late, {_whole(_opt('days_late', str(late)))}, "
        f"pl, {planned}, due, due_dates_k * (pl > 0), "
        "ontime, due * completion_dates_k * (completion_dates_v <= due_dates_v + late), "
    )
    if attainment:
        inner += (
            "capped, IF(ISOMITTED(cap), TRUE, cap), "
            "got, IF(capped, IF(completed_qty_v < pl, completed_qty_v, pl), completed_qty_v), "
            f"IF(SUM(due * pl) = 0, {UNDEFINED}, SUM(ontime * got) / SUM(due * pl))"
        )
        params = (
            Param("planned_qty", "Planned quantity per released production order."),
            Param("completed_qty", "Finished quantity per order (blank = none)."),
            Param("due_dates", "Due date per order."),
            Param("completion_dates", "Finished date per order (blank = not finished)."),
            _days_param("days_late", "after due", late),
            Param(
                "cap", "Optional: FALSE lets over-production count above 100% per order.", "TRUE"
            ),
        )
        plain = (
            f'=SUMPRODUCT((D<>"")*(P>0)*(C<>"")*(C<=D+{late})*((Q<P)*Q+(Q>=P)*P))'
            '/SUMPRODUCT((D<>"")*(P>0)*P) (P = planned, Q = completed, C = completion dates)'
        )
    else:
        inner += f"{_NOTHING_DUE}SUM(ontime) / SUM(due))"
        params = (
            Param("due_dates", "Due date per released production order."),
            Param("completion_dates", "Finished date per order (blank = not finished)."),
            _days_param("days_late", "after due", late),
        )
        plain = f'=SUMPRODUCT((D<>"")*(C<>"")*(C<=D+{late}))/COUNT(D)'
    return NativeFormula(udf, params, _ranges(names, inner), plain)


def _schedule_otif() -> NativeFormula:
    """Production on time and complete (issue 14): adherence that also asks for the quantity."""
    late = _S.production_days_late
    names = ["planned_qty", "completed_qty", "due_dates", "completion_dates"]
    inner = (
        f"late, {_whole(_opt('days_late', str(late)))}, "
        "pl, planned_qty_k * planned_qty_v, due, due_dates_k * (pl > 0), "
        "ontime, due * completion_dates_k * (completion_dates_v <= due_dates_v + late), "
        "full, ontime * (completed_qty_k * completed_qty_v >= pl), "
        f"{_NOTHING_DUE}SUM(full) / SUM(due))"
    )
    params = (
        Param("planned_qty", "Planned quantity per released production order."),
        Param("completed_qty", "Finished quantity per order (blank = none)."),
        Param("due_dates", "Due date per order."),
        Param("completion_dates", "Finished date per order (blank = not finished)."),
        _days_param("days_late", "after due", late),
    )
    plain = (
        f'=SUMPRODUCT((D<>"")*(P>0)*(C<>"")*(C<=D+{late})*(Q>=P))/SUMPRODUCT((D<>"")*(P>0))'
        " (P = planned, Q = completed, C = completion dates)"
    )
    return NativeFormula("SOP_SCHEDULE_OTIF", params, _ranges(names, inner), plain)


def _fill_rate() -> NativeFormula:
    late = _S.customer_days_late
    inner = (
        f"md, LOWER(TRIM({_opt('fill_mode', chr(34) + 'line' + chr(34))})), "
        f"late, {_whole(_opt('days_late', str(late)))}, "
        f"dated, IF(ISOMITTED(due_dates), IF(ISOMITTED(ship_dates), 0, {BAD_INPUT}), "
        f"IF(ISOMITTED(ship_dates), {BAD_INPUT}, 1)), "
        "dk, IF(dated, due_dates_k, 1), dv, IF(dated, due_dates_v, 0), "
        "sk, IF(dated, ship_dates_k, 1), sv, IF(dated, ship_dates_v, 0), "
        "due, dk * qty_ordered_k * (qty_ordered_v > 0), "
        "bydue, sk, "  # APICS fill: complete whenever shipped (timing is OTIF's job)
        "filled, due * bydue * (qty_shipped_v >= qty_ordered_v), "
        "units, due * bydue * IF(qty_shipped_v < qty_ordered_v, qty_shipped_v, qty_ordered_v), "
        # orders: a due line is its order's first due line when no earlier due line has its id
        f'ids, IF(ISOMITTED(order_ids), 0, {_at("order_ids", "i")} & ""), '
        "same, EXACT(ids, TRANSPOSE(ids)) * (TRANSPOSE(i) < i), "
        "firsts, due * (MMULT(same * 1, due) = 0), "
        "sameall, EXACT(ids, TRANSPOSE(ids)) * 1, "
        "short, MMULT(sameall, due * (1 - filled)), "
        'IF(md = "line", IF(SUM(due) = 0, ' + UNDEFINED + ", SUM(filled) / SUM(due)), "
        'IF(md = "unit", IF(SUM(due * qty_ordered_v) = 0, ' + UNDEFINED + ", "
        "SUM(units) / SUM(due * qty_ordered_v)), "
        f'IF(md = "order", IF(ISOMITTED(order_ids), {BAD_INPUT}, IF(SUM(firsts) = 0, '
        f"{UNDEFINED}, SUM(firsts * (short = 0)) / SUM(firsts))), {BAD_INPUT})))"
    )
    body = _ranges(["qty_ordered", "qty_shipped", "order_ids", "due_dates", "ship_dates"], inner)
    for opt in ("order_ids", "due_dates", "ship_dates"):
        body = body.replace(f"({_size(opt)} <> n)", f"IF(ISOMITTED({opt}), 0, {_size(opt)} <> n)")
    return NativeFormula(
        "SOP_FILL_RATE",
        (
            Param("qty_ordered", "Ordered quantity per order line."),
            Param("qty_shipped", "Shipped quantity per line (blank = nothing shipped)."),
            Param("fill_mode", "Optional: 'line' (default), 'order' or 'unit'.", '"line"'),
            Param("order_ids", "Order number per line (needed for mode 'order').", "0"),
            Param(
                "due_dates", "Optional: due date per line (fill ignores timing; use SOP_OTIF).", "0"
            ),
            Param(
                "ship_dates", "Optional: ship date per line; blank = not shipped (not filled).", "0"
            ),
            Param(
                "days_late",
                "Optional, kept for old formulas: fill rate does not use it.",
                str(late),
            ),
        ),
        body,
        '=SUMPRODUCT((O>0)*(Q>=O))/COUNTIF(O,">0") (line fill, no dates)',
        "Order numbers compare as text, case-sensitively (as the UDF); mode 'order' compares "
        "every line with every other (slow beyond ~5,000 lines: use SOP_FILL_RATE or the KPIs "
        "sheet).",
    )


def _build() -> tuple[NativeFormula, ...]:
    return (
        _forecast(
            "SOP_MAE",
            f"{_K0}SUM(ABS(e)) / k)",
            f"=SUMPRODUCT(ABS(F-A)*{_OK})/SUMPRODUCT({_OK})",
        ),
        _forecast(
            "SOP_MAPE",
            f"nz, ok * (a <> 0), IF(SUM(nz) = 0, {UNDEFINED}, "
            "SUM(nz * ABS(e) / (ABS(a) + 1 - nz)) / SUM(nz))",
            f"=SUMPRODUCT((A<>0)*{_OK}*ABS(F-A)/(ABS(A)+(A=0)))/SUMPRODUCT((A<>0)*{_OK})",
        ),
        _forecast(
            "SOP_WMAPE",
            _WMAPE,
            f"=SUMPRODUCT(ABS(F-A)*{_OK})/SUMPRODUCT(ABS(A)*{_OK})",
        ),
        _forecast(
            "SOP_FORECAST_ACCURACY",
            f"MAX(0, 1 - {_WMAPE})",
            f"=MAX(0,1-SUMPRODUCT(ABS(F-A)*{_OK})/SUMPRODUCT(ABS(A)*{_OK}))",
        ),
        _forecast(
            "SOP_BIAS",
            f"{_K0}SUM(e))",
            f"=SUMPRODUCT((F-A)*{_OK})",
        ),
        _forecast(
            "SOP_BIAS_PCT",
            f"IF(OR(k = 0, SUM(a) <= 0), {UNDEFINED}, SUM(e) / SUM(a))",
            f"=SUMPRODUCT((F-A)*{_OK})/SUMPRODUCT(A*{_OK})",
        ),
        _forecast(
            "SOP_RMSE",
            f"{_K0}SQRT(SUM(e * e) / k))",
            f"=SQRT(SUMPRODUCT((F-A)^2*{_OK})/SUMPRODUCT({_OK}))",
        ),
        _forecast(
            "SOP_TRACKING_SIGNAL",
            f"{_K0}IF(SUM(ABS(e)) = 0, {UNDEFINED}, SUM(e) / (SUM(ABS(e)) / k)))",
            f"=SUMPRODUCT((F-A)*{_OK})/(SUMPRODUCT(ABS(F-A)*{_OK})/SUMPRODUCT({_OK}))",
            params=_SERIES,
        ),
        _mase(),
        _fva(),
        _inventory_turns(),
        _days_of_supply(),
        _fill_rate(),
        _otd(),
        _otif(),
        _production("SOP_SCHEDULE_ATTAINMENT"),
        _production("SOP_SCHEDULE_ADHERENCE"),
        _schedule_otif(),
        _vendor_otd(),
        _vendor_qty_complete(),
        _sums(
            "SOP_GROSS_MARGIN_PCT",
            (
                Param("revenue", "Sales amounts (summed)."),
                Param("cost", "Cost of sales amounts (summed)."),
            ),
            f"IF(SUM(revenue_v) <= 0, {UNDEFINED}, "
            "(SUM(revenue_v) - SUM(cost_v)) / SUM(revenue_v))",
            "=(SUM(R)-SUM(C))/SUM(R)",
        ),
        _sums(
            "SOP_VARIANCE",
            _ACTUAL_BUDGET,
            f"{_sign()}, sg * (SUM(actual_v) - SUM(budget_v))",
            "=SUM(A)-SUM(B) (revenue; cost: =SUM(B)-SUM(A))",
            (_ACCOUNT, _SIGN_MODE),
        ),
        _sums(
            "SOP_VARIANCE_PCT",
            _ACTUAL_BUDGET,
            f"{_sign()}, IF(SUM(budget_v) = 0, {UNDEFINED}, "
            "sg * (SUM(actual_v) - SUM(budget_v)) / ABS(SUM(budget_v)))",
            "=(SUM(A)-SUM(B))/ABS(SUM(B)) (revenue)",
            (_ACCOUNT, _SIGN_MODE),
        ),
    )


#: Functions that stay Python-only, with the reason.
_PYTHON_ONLY = (
    NativeFormula(
        "SOP_ACCURACY_TABLE",
        (
            Param(
                "keys", "Group key(s) per row: one column (e.g. item) or several (item, region)."
            ),
            Param("actuals", "Actual per row."),
            Param("forecasts", "Forecast per row."),
        ),
        "",
        python_only="a table grouped by any key columns, with counts and a Total row, is not "
        "one formula outside Excel 365's GROUPBY (which has no per-KPI zero policy); per group, "
        "point =SOP.WMAPE etc. at the group's rows, or read the KPIs sheet.",
    ),
)

#: UDF name -> native formula, for every scalar ``=SOP_...`` KPI function (and the reason for
#: the Python-only ones).
NATIVE: dict[str, NativeFormula] = {nf.udf: nf for nf in (*_build(), *_PYTHON_ONLY)}


def native_for(udf: str) -> NativeFormula | None:
    """The native formula of a UDF (``'SOP_WMAPE'``), or None."""
    return NATIVE.get(udf)


def docs_markdown() -> str:
    """The docs/kpis.md table: per KPI function, the three ways to call it."""
    from sop_xl.kpi.defs import KPIS

    ids: dict[str, list[str]] = {}
    for d in KPIS.values():
        ids.setdefault(d.udf, []).append(f"`{d.id}`")
    rows = [
        "| KPI | With the Python add-in (Windows) | Excel 365 on Windows, Mac, web: no add-in "
        "| Older Excel (2016/2019), single-column ranges |",
        "| --- | --- | --- | --- |",
    ]
    for nf in NATIVE.values():
        udf_args = ", ".join(f"[{p.name}]" if p.optional else p.name for p in nf.params)
        native = f"`={nf.name}({udf_args})`" if nf.body else f"Python only: {nf.python_only}"
        plain = nf.plain.replace("|", "\\|")
        if " (" in plain and plain.startswith("="):
            formula, _, note = plain.partition(" (")
            plain = f"`{formula}` ({note}"
        elif plain:
            plain = f"`{plain}`"
        kpis = ", ".join(ids.get(nf.udf, [])) or "-"
        rows.append(f"| {kpis} | `={nf.udf}(...)` | {native} | {plain} |")
    notes = [f"- `{nf.name}`: {nf.differs}" for nf in NATIVE.values() if nf.differs]
    return "\n".join(rows) + ("\n\nWhere the native function differs:\n\n" + "\n".join(notes))
