"""The Executive Summary step: read what the cycle wrote, write the one-page summary sheet."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sop_xl.model import schema
from sop_xl.model.book import Book, read_tables
from sop_xl.model.sheets import (
    AMBER_FILL,
    AMBER_FONT,
    GREEN_FILL,
    GREEN_FONT,
    RED_FILL,
    RED_FONT,
    CellRule,
    SheetOutput,
)
from sop_xl.summary.engine import summary

#: what the summary reads (each optional: a missing table gives a plain line instead)
READ = (
    schema.DECISIONS,
    schema.SCENARIO_RESULTS,
    schema.SCORECARD,
    schema.SUPPLY_PLAN,
    schema.CAPACITY_PLAN,
    schema.BACKLOG,
    schema.OUTLOOK,
    schema.OUTLOOK_BRIDGE,
    schema.ACTIONS_CARRIED,
    schema.ACTIONS,
)
RED_FLAGS = ("Red", "Short", "Overload", "Past due", "Gap", "Overdue")


@dataclass
class SummaryResult:
    rows: pd.DataFrame
    summary: str = ""
    outputs: list[SheetOutput] = field(default_factory=list)


def output(rows: pd.DataFrame, settings: schema.Settings) -> SheetOutput:
    n_dec = int((rows["flag"] == "Decide").sum())
    return SheetOutput(
        schema.EXEC_SUMMARY,
        rows,
        title=[
            f"Executive Summary - {settings.company}, S&OP cycle {settings.cycle}",
            f"{n_dec} decision(s) asked for; plan of record: scenario "
            f"{settings.chosen_scenario}. Red = needs attention. Details: ScenarioCompare, "
            "Scorecard, SupplyPlan, Capacity, Backlog, Outlook, ActionsCarried.",
        ],
        conditional_formats=[
            *(
                CellRule("flag", "equal", (f'"{f}"',), RED_FILL, RED_FONT, bold=True)
                for f in RED_FLAGS
            ),
            CellRule("flag", "equal", ('"Decide"',), AMBER_FILL, AMBER_FONT, bold=True),
            CellRule("flag", "equal", ('"Missing"',), AMBER_FILL, AMBER_FONT),
            CellRule("flag", "equal", ('"OK"',), GREEN_FILL, GREEN_FONT),
        ],
        column_widths={"section": 15, "item": 40, "detail": 80, "figure": 46, "owner": 16},
        tab_color="C00000",
        fit_to_height=True,
    )


def run_summary(book: Book) -> SummaryResult:
    """The step: read, summarise, write the Executive Summary sheet."""
    settings = book.read_settings()
    frames = read_tables(book, READ, share=len(READ) / (len(READ) + 1))
    rows = summary(frames, settings.cycle, settings.currency)
    out = output(rows, settings)
    book.write([out])
    book.progress("Executive Summary written", 1.0)
    counts = rows["flag"].value_counts()
    text = (
        f"Executive Summary: {counts.get('Decide', 0)} decision(s), "
        f"{counts.get('Red', 0)} red KPI(s), "
        f"{sum(counts.get(f, 0) for f in ('Short', 'Overload', 'Past due'))} supply risk(s), "
        f"{counts.get('Overdue', 0)} overdue action(s)."
    )
    return SummaryResult(rows, text, [out])
