"""The scenarios step: read the book, run Base and every scenario of the Scenarios sheet
through the constrained supply plan (one LP each), write ScenarioCompare and ScenarioResults."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sop_xl.errors import Finding, ValidationError
from sop_xl.model import schema
from sop_xl.model.book import Book, read_tables
from sop_xl.model.periods import period_range
from sop_xl.model.schema import Settings
from sop_xl.model.sheets import (
    GREEN_FILL,
    GREEN_FONT,
    RED_FILL,
    RED_FONT,
    CellRule,
    ChartSpec,
    ConditionalFormat,
    FormulaRule,
    SheetOutput,
)
from sop_xl.scenario import drivers as drv
from sop_xl.scenario.compare import CHARTED, compare, wide
from sop_xl.scenario.runs import Run, run_each
from sop_xl.supply.step import READ as SUPPLY_READ
from sop_xl.supply.step import build_inputs


@dataclass
class ScenarioResult:
    compare: pd.DataFrame
    runs: list[Run]
    seconds: float
    findings: list[Finding]
    summary: str = ""
    outputs: list[SheetOutput] = field(default_factory=list)


def empty_drivers() -> pd.DataFrame:
    return pd.DataFrame(columns=schema.SCENARIOS.names)


def scenarios(frames: dict[str, pd.DataFrame], settings: Settings) -> ScenarioResult:
    """Base and every typed scenario, compared (frames by table alias)."""
    base = build_inputs(frames, settings)
    table = frames.get(schema.SCENARIOS.alias)
    table = empty_drivers() if table is None else table
    periods = period_range(settings.cycle, settings.horizon_months)
    families = set(frames[schema.ITEMS.alias]["family"].dropna())
    findings = drv.check(table, families, set(base.resources.index), periods, "")
    if any(f.severity == "error" for f in findings):
        raise ValidationError(findings)
    runs, seconds = run_each([drv.apply(base, n, table) for n in drv.names(table)])
    return ScenarioResult(compare(runs), runs, seconds, findings)


def compare_outputs(result: ScenarioResult, settings: Settings) -> list[SheetOutput]:
    """The ScenarioCompare sheet (one column per scenario, chart, best marked) and the
    ScenarioResults sheet (the same numbers, long, for code)."""
    names = [r.scenario.name for r in result.runs]
    table, _ = wide(result.compare, settings.currency)
    t = schema.scenario_compare_table(names)
    chosen = settings.chosen_scenario
    marks: list[ConditionalFormat] = [
        FormulaRule("best", '{best}<>""', GREEN_FILL, GREEN_FONT, bold=True)
    ]
    row = f"{{v0}}:{{v{len(names) - 1}}}"  # the scenario values of the row
    best = (
        f"AND(COUNT({row})>1,MAX({row})<>MIN({row}),"
        f'{{v}}=IF({{better}}="higher",MAX({row}),MIN({row})))'
    )
    for i in range(len(names)):  # the best value of each row, in its scenario's column
        rule = best.replace("{v}", f"{{v{i}}}")
        marks.append(FormulaRule(f"v{i}", rule, GREEN_FILL, GREEN_FONT, bold=True))
    for i in range(1, len(names)):  # a delta to Base: green when better, red when worse
        d = f"{{d{i}}}"
        up, down = f'AND({{better}}="higher",{d}>0)', f'AND({{better}}="lower",{d}<0)'
        worse_up, worse_down = up.replace(">0", "<0"), down.replace("<0", ">0")
        moved = f"ISNUMBER({d}),{d}<>0"
        marks.append(FormulaRule(f"d{i}", f"AND({moved},OR({up},{down}))", GREEN_FILL, GREEN_FONT))
        marks.append(
            FormulaRule(f"d{i}", f"AND({moved},OR({worse_up},{worse_down}))", RED_FILL, RED_FONT)
        )
    n_rows = len(table)
    compare_out = SheetOutput(
        t,
        table,
        title=[
            f"Scenario Comparison - {settings.company}, cycle {settings.cycle}",
            f"{len(names)} scenario(s) through the capacity-constrained supply plan over "
            f"{settings.horizon_months} months ({result.seconds:.2f} s). Chosen scenario (plan "
            f"of record): {chosen}. Percentages in % points; 'vs Base' = scenario - Base, green "
            "= better, red = worse; the best scenario of each row in green. docs/scenarios.md",
        ],
        conditional_formats=marks,
        charts=[
            ChartSpec(
                "column",
                f"Revenue, margin, unmet demand and closing inventory ({settings.currency})",
                schema.SCENARIO_COMPARE.sheet,
                "measure",
                tuple(f"v{i}" for i in range(len(names))),
                f"A{n_rows + 6}",
                width_cm=max(16.0, 4.0 + 2.2 * len(names)),
                height_cm=7.5,
                y_format="#,##0",
                rows=CHARTED,
            )
        ],
        tab_color="7030A0",
        fit_to_height=True,
    )
    results_out = SheetOutput(
        schema.SCENARIO_RESULTS,
        result.compare,
        title=[
            f"Scenario results - {settings.company}, cycle {settings.cycle}",
            "One row per measure and scenario (the ScenarioCompare sheet, long, for code). "
            "Deltas are to Base.",
        ],
        conditional_formats=[
            CellRule("best", "equal", ('"Best"',), GREEN_FILL, GREEN_FONT, bold=True)
        ],
        tab_color="7030A0",
    )
    return [compare_out, results_out]


def run_scenarios(book: Book) -> ScenarioResult:
    settings = book.read_settings()
    tables = (*SUPPLY_READ, schema.SCENARIOS)
    frames = read_tables(book, tables, share=len(tables) / (len(tables) + 2))
    book.progress("Planning every scenario", len(tables) / (len(tables) + 2))
    result = scenarios(frames, settings)
    names = [r.scenario.name for r in result.runs]
    result.outputs = compare_outputs(result, settings)
    c = result.compare.set_index(["measure", "scenario"])["value"]
    parts = [
        f"{n}: margin {c[('Gross margin', n)]:,.0f}, unmet {c[('Unmet demand (units)', n)]:,.0f}"
        for n in names
    ]
    result.summary = f"Scenarios ({settings.currency}): " + "; ".join(parts) + "."
    book.write(result.outputs)
    book.progress("Scenarios written", 1.0)
    return result
