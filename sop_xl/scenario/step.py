"""The scenarios step: read the book, run Base and every scenario of the Scenarios sheet
through the constrained supply plan (one LP), write the ScenarioCompare sheet."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sop_xl.errors import Finding, ValidationError
from sop_xl.model import schema
from sop_xl.model.book import Book
from sop_xl.model.periods import period_range
from sop_xl.model.schema import Settings
from sop_xl.model.sheets import GREEN_FILL, GREEN_FONT, CellRule, SheetOutput
from sop_xl.scenario import drivers as drv
from sop_xl.scenario.compare import compare
from sop_xl.scenario.runs import Run, run_all
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
    """Base and every typed scenario, compared (frames by table name)."""
    base = build_inputs(frames, settings)
    table = frames.get(schema.SCENARIOS.name)
    table = empty_drivers() if table is None else table
    periods = period_range(settings.cycle, settings.horizon_months)
    families = set(frames[schema.ITEMS.name]["family"].dropna())
    findings = drv.check(table, families, set(base.resources.index), periods, "")
    if any(f.severity == "error" for f in findings):
        raise ValidationError(findings)
    runs, seconds = run_all([drv.apply(base, n, table) for n in drv.names(table)])
    return ScenarioResult(compare(runs), runs, seconds, findings)


def run_scenarios(book: Book) -> ScenarioResult:
    settings = book.read_settings()
    frames: dict[str, pd.DataFrame] = {}
    tables = (*SUPPLY_READ, schema.SCENARIOS)
    for i, table in enumerate(tables):
        book.progress(f"Reading {table.title}", i / (len(tables) + 2))
        if book.has_table(table):
            frames[table.name] = book.read_table(table)
    book.progress("Planning every scenario", len(tables) / (len(tables) + 2))
    result = scenarios(frames, settings)
    names = [r.scenario.name for r in result.runs]
    result.outputs = [
        SheetOutput(
            schema.SCENARIO_COMPARE,
            result.compare,
            title=[
                f"Scenario Comparison - {settings.company}, cycle {settings.cycle}",
                f"{len(names)} scenario(s): {', '.join(names)}; each through the capacity-"
                f"constrained supply plan (one LP, {result.seconds:.2f} s). Chosen: "
                f"{settings.chosen_scenario}. Deltas are to Base. docs/scenarios.md",
            ],
            conditional_formats=[
                CellRule("best", "equal", ('"Best"',), GREEN_FILL, GREEN_FONT, bold=True)
            ],
            tab_color="7030A0",
        )
    ]
    c = result.compare.set_index(["measure", "scenario"])["value"]
    parts = [
        f"{n}: margin {c[('Gross margin', n)]:,.0f}, unmet {c[('Unmet demand (units)', n)]:,.0f}"
        for n in names
    ]
    result.summary = f"Scenarios ({settings.currency}): " + "; ".join(parts) + "."
    book.write(result.outputs)
    book.progress("Scenarios written", 1.0)
    return result
