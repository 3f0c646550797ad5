"""The history step: archive this cycle, score past cycles by lag and step, carry the actions.

:func:`run_history` reads the workbook, makes the statistical baseline for the horizon, records
this cycle's statistical and consensus forecasts into the archive, computes accuracy by lag, the
FVA stairstep and the actions carried from the last cycle, and writes its eight sheets in one
write. Given a :class:`~sop_xl.history.archive.Rebuilt` (from verified snapshots), it uses that
archive and action log instead of the workbook's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sop_xl.errors import Finding
from sop_xl.history import archive as arc
from sop_xl.history.baseline import statistical_baseline
from sop_xl.history.carry import carry_actions, update_log
from sop_xl.history.fva import fva_report
from sop_xl.history.lag import NO_FAMILY, actuals_by_series, keyed, lag_accuracy
from sop_xl.kpi.defs import BASELINE_DEFINITION
from sop_xl.model import schema
from sop_xl.model.book import Book, ResultMemo, content_digest, read_tables
from sop_xl.model.sheets import (
    AMBER_FILL,
    AMBER_FONT,
    GREEN_FILL,
    GREEN_FONT,
    RED_FILL,
    RED_FONT,
    CellRule,
    ChartSpec,
    SheetOutput,
)

READ = ("Forecast", "SalesActuals", "Customers", "Items", "Actions", "ForecastArchive", "ActionLog")


@dataclass
class HistoryResult:
    """What :func:`run_history` computed and wrote."""

    cycle: str
    archive: pd.DataFrame
    baseline: pd.DataFrame
    lag_accuracy: pd.DataFrame
    lag_detail: pd.DataFrame
    fva: pd.DataFrame
    fva_detail: pd.DataFrame
    actions: pd.DataFrame
    action_log: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    outputs: list[SheetOutput] = field(default_factory=list)
    summary: str = ""

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def _read(book: Book) -> dict[str, pd.DataFrame]:
    return read_tables(book, map(schema.table, READ), share=0.3)


def build_history(
    tables: dict[str, pd.DataFrame],
    settings: schema.Settings,
    *,
    rebuilt: arc.Rebuilt | None = None,
    progress=None,
    memo: ResultMemo | None = None,
) -> HistoryResult:
    """Everything :func:`run_history` writes, from tables keyed by alias (no I/O). ``memo``:
    where the statistical baseline of earlier clicks is kept (:func:`baseline_of`)."""
    cycle = settings.cycle
    items = tables.get("Items")
    lags = arc.max_lag(items)
    archive = (
        rebuilt.archive
        if rebuilt is not None
        else arc.normalise(tables["ForecastArchive"])
        if "ForecastArchive" in tables and len(tables["ForecastArchive"])
        else arc.empty()
    )
    actuals = _actuals(tables)
    # 1. statistical baseline for the horizon, fitted on closed months
    fit = _closed_months(actuals, items, cycle)
    baseline = baseline_of(fit, cycle, settings.horizon_months, progress=progress, memo=memo)
    # 2. this cycle into the archive: statistical and consensus (submissions: consolidation)
    new = [arc.stage_rows(baseline, cycle, "Statistical", lags=lags)]
    forecast = tables.get("Forecast")
    if forecast is not None and len(forecast):
        new.append(arc.stage_rows(forecast, cycle, "Consensus", lags=lags))
    archive = arc.replace(archive, pd.concat(new, ignore_index=True))
    # 3. accuracy by lag, FVA at the scorecard lag
    keys = keyed(archive, actuals)  # both on integer keys, made once
    lag_wide, lag_detail = lag_accuracy(archive, actuals, cycle, items=items, keys=keys)
    fva, fva_detail, _cells = fva_report(
        archive, actuals, cycle, settings.accuracy_lag, items=items, keys=keys
    )
    # 4. actions
    log = (
        rebuilt.action_log
        if rebuilt is not None and rebuilt.action_log is not None
        else (tables.get("ActionLog"))
    )
    carried, prev_cycle = carry_actions(tables.get("Actions"), log, cycle)
    log = update_log(log, tables.get("Actions"), cycle)
    findings = list(rebuilt.findings) if rebuilt is not None else []
    result = HistoryResult(
        cycle, archive, baseline, lag_wide, lag_detail, fva, fva_detail, carried, log, findings
    )
    result.outputs = history_outputs(result, settings, prev_cycle)
    result.summary = _summary(result, settings, prev_cycle)
    return result


def _actuals(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Posted sales quantity by series and month (empty without sales)."""
    sales = tables.get("SalesActuals")
    if sales is None or not len(sales):
        return pd.DataFrame(columns=[*arc.SERIES, "period", "quantity"])
    return actuals_by_series(sales, tables.get("Customers"))


def _closed_months(actuals: pd.DataFrame, items: pd.DataFrame | None, cycle: str) -> pd.DataFrame:
    """The sales the statistical baseline is fitted on: months before ``cycle``, with each
    item's family (the level the models are fitted at)."""
    fit = actuals[actuals["period"] < cycle]
    if items is not None and "family" in items:
        fam = items.drop_duplicates("item").set_index("item")["family"]
        return fit.assign(family=fit["item"].map(fam).fillna(NO_FAMILY).to_numpy())
    return fit.assign(family="")


def baseline_fit(
    tables: dict[str, pd.DataFrame], settings: schema.Settings
) -> tuple[pd.DataFrame, str | None]:
    """What the statistical baseline of ``tables`` is fitted on and the key
    :func:`baseline_of` keeps it under: so work started ahead of the history step (see
    :mod:`sop_xl.background`) finds the same key the step looks up."""
    fit = _closed_months(_actuals(tables), tables.get("Items"), settings.cycle)
    return fit, baseline_key(fit, settings.cycle, settings.horizon_months)


def baseline_key(fit: pd.DataFrame, cycle: str, horizon: int) -> str | None:
    """The memo key of the baseline of ``fit``: a digest of its content, the cycle, the horizon
    and the versions of the fitting libraries (None: cannot be kept)."""
    return content_digest({"fit": fit}, "baseline", cycle, str(horizon), *_fit_libraries())


def baseline_of(
    fit: pd.DataFrame,
    cycle: str,
    horizon: int,
    *,
    progress=None,
    memo: ResultMemo | None = None,
) -> pd.DataFrame:
    """:func:`statistical_baseline` of ``fit`` (closed months' sales by series and family),
    kept in ``memo`` under a digest of ``fit``'s content, the cycle, the horizon and the
    versions of the fitting libraries: the fits (and the statsmodels import) run once per
    month's actuals, not on every click."""
    key = None
    if memo is not None:
        key = baseline_key(fit, cycle, horizon)
        got = memo.get(key) if key else None
        if got is not None:
            return got[0]
    out = statistical_baseline(fit, cycle, horizon, progress=progress)
    if memo is not None and key:
        memo.put(key, out, {})
    return out


def _fit_libraries() -> list[str]:
    """Versions of the libraries a fit depends on (without importing them)."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("statsmodels", "scipy", "numpy"):
        try:
            out.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            out.append(f"{name}=?")
    return out


def _pct(x: object) -> str:
    return "n/a" if x is None or pd.isna(x) else f"{float(x):.1%}"


def _summary(r: HistoryResult, settings: schema.Settings, prev_cycle: str | None) -> str:
    cycles = r.archive["cycle"].nunique() if len(r.archive) else 0
    parts = [f"forecast archive: {cycles} cycle(s)"]
    d = r.lag_detail
    if len(d):
        tot = d[(d["scope_type"] == "Total") & (d["period"] == "")].set_index("lag")["accuracy"]
        parts.append(
            "accuracy lag 0/1/2/3: " + " / ".join(_pct(tot.get(str(x))) for x in arc.REPORT_LAGS)
        )
    if len(r.fva):
        hurts = r.fva_detail[(r.fva_detail["verdict"] == "hurts") & (r.fva_detail["step"] > 2)]
        names = sorted(
            {f"{s} {st.lower()}" for s, st in zip(hurts["scope"], hurts["stage"], strict=True) if s}
        )
        parts.append(
            f"FVA at lag {settings.accuracy_lag}: consensus {_pct(r.fva['accuracy'].iloc[-1])} "
            f"vs naive {_pct(r.fva['accuracy'].iloc[0])}"
            + (f"; overrides that hurt: {', '.join(names[:4])}" if names else "")
        )
    flags = r.actions["flag"].value_counts() if len(r.actions) else pd.Series(dtype=int)
    parts.append(
        f"actions vs {prev_cycle or 'no earlier cycle'}: "
        + (", ".join(f"{int(v)} {k.lower()}" for k, v in flags.items()) or "none open")
    )
    text = "; ".join(parts) + "."
    for f in r.findings:
        text += f"\n  {f.severity.upper()}: {f.message}"
    return text


def history_outputs(
    r: HistoryResult, settings: schema.Settings, prev_cycle: str | None
) -> list[SheetOutput]:
    """The eight history sheets, charts on LagAccuracy and FVA."""
    company = settings.company
    lag_title = [
        f"{company} \u2013 forecast accuracy by lag",
        "Accuracy = max(0, 1 - WMAPE) of the locked consensus, per closed month, at lag 0 "
        "(forecast made in the month) to 3 (made three cycles before) and at each item's lead "
        "time. Detail by region and family: LagDetail. Definitions: docs/history.md.",
    ]
    pct = "0%"
    lag_chart = ChartSpec(
        "line",
        "Forecast accuracy by lag (company)",
        "LagAccuracy",
        "period",
        ("accuracy_lag0", "accuracy_lag1", "accuracy_lag2", "accuracy_lag3", "accuracy_lead_time"),
        "I4",
        18.0,
        8.0,
        pct,
    )
    fva_title = [
        f"{company} \u2013 forecast value added (FVA) stairstep",
        f"Each step scored on the same cells and months at lag {settings.accuracy_lag} (the "
        "Settings lag). Value added = WMAPE of the previous step - WMAPE of this step: "
        "positive helps, negative hurts (red). By region and family: FVADetail.",
    ]
    fva_chart = ChartSpec(
        "column",
        "Accuracy by forecasting step",
        "FVA",
        "stage",
        ("accuracy",),
        "K4",
        14.0,
        7.5,
        pct,
    )
    value_added = [
        CellRule(c, "lessThan", ("-0.005",), RED_FILL, RED_FONT) for c in ("fva_step", "fva_naive")
    ] + [
        CellRule(c, "greaterThan", ("0.005",), GREEN_FILL, GREEN_FONT)
        for c in ("fva_step", "fva_naive")
    ]
    verdict = [
        CellRule("verdict", "equal", ('"hurts"',), RED_FILL, RED_FONT, bold=True),
        CellRule("verdict", "equal", ('"adds value"',), GREEN_FILL, GREEN_FONT),
    ]
    flag_rules = [
        CellRule("flag", "equal", ('"Overdue"',), RED_FILL, RED_FONT, bold=True),
        CellRule("flag", "equal", ('"Reopened"',), RED_FILL, RED_FONT, bold=True),
        CellRule("flag", "equal", ('"Missing"',), AMBER_FILL, AMBER_FONT, bold=True),
        CellRule("flag", "equal", ('"Closed"',), GREEN_FILL, GREEN_FONT),
    ]
    base = r.baseline[[*arc.SERIES, "method", "fit_months", "period", "quantity"]]
    return [
        SheetOutput(
            schema.LAG_ACCURACY,
            r.lag_accuracy,
            title=lag_title,
            charts=[lag_chart],
            tab_color="548235",
        ),
        SheetOutput(
            schema.LAG_DETAIL,
            r.lag_detail,
            title=[
                f"{company} \u2013 accuracy and bias by lag, region and family",
                "Blank period = all months (the months every lag 0-3 is scored in). Bias "
                "positive = over-forecast.",
            ],
            tab_color="548235",
        ),
        SheetOutput(
            schema.FVA,
            r.fva,
            title=fva_title,
            charts=[fva_chart],
            conditional_formats=value_added,
            tab_color="548235",
        ),
        SheetOutput(
            schema.FVA_DETAIL,
            r.fva_detail,
            title=[
                f"{company} \u2013 FVA stairstep by region and family",
                "Verdict per step: adds value / hurts (more than 0.5 pp) / no change.",
            ],
            conditional_formats=value_added + verdict,
            tab_color="548235",
        ),
        SheetOutput(
            schema.STAT_FORECAST,
            base,
            title=[f"{company} \u2013 statistical baseline, cycle {r.cycle}", BASELINE_DEFINITION],
            tab_color="548235",
        ),
        SheetOutput(
            schema.ACTIONS_CARRIED,
            r.actions,
            title=[
                f"{company} \u2013 actions carried into cycle {r.cycle}",
                f"Compared with the action log of cycle {prev_cycle}."
                if prev_cycle
                else "No earlier cycle in the action log: flags from the Actions sheet only.",
            ],
            conditional_formats=flag_rules,
            tab_color="548235",
        ),
        arc.archive_output(r.archive),
        action_log_output(r.action_log),
    ]


def action_log_output(log: pd.DataFrame) -> SheetOutput:
    """The ActionLog sheet as every writer writes it (the history step, the demo's past
    cycles): one layout, whichever wrote it last."""
    return SheetOutput(
        schema.ACTION_LOG,
        log,
        tab_color="A6A6A6",
        title=["Action log by cycle (written by sop_xl)"],
    )


def _to_write(book: Book, result: HistoryResult) -> list[SheetOutput]:
    """``result.outputs`` without the ForecastArchive when the workbook already holds exactly
    that archive (:func:`~sop_xl.history.archive.holds`): a second click with the same inputs
    does not rewrite the 100k-row sheet, and the table store keeps its parsed copy."""
    current = (
        book.read_coerced(schema.FORECAST_ARCHIVE)
        if book.has_table(schema.FORECAST_ARCHIVE)
        else None
    )
    if not arc.holds(current, result.archive):
        return result.outputs
    return [o for o in result.outputs if o.table.name != schema.FORECAST_ARCHIVE.name]


def run_history(
    book: Book, *, rebuilt: arc.Rebuilt | None = None, memo: ResultMemo | None = None
) -> HistoryResult:
    """The cycle step: read, compute, write every history sheet in one write. ``memo``: see
    :func:`baseline_of`."""
    settings = book.read_settings()
    tables = _read(book)
    book.progress("Statistical baseline", 0.35)
    result = build_history(tables, settings, rebuilt=rebuilt, progress=book.progress, memo=memo)
    book.progress("Writing the history sheets", 0.85)
    book.write(_to_write(book, result))
    book.progress("History written", 1.0)
    return result
