"""The scenario inputs' cross-table rules, located by Excel row for the Validation sheet, and the
plan of record (the chosen scenario's supply data).

- a driver naming an unknown type, family, resource or month (:func:`drivers.check`);
- the *Chosen scenario* setting naming no scenario of the Scenarios sheet;
- a decision whose options name no scenario of the Scenarios sheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sop_xl.errors import Finding, Location, ValidationError
from sop_xl.model import schema
from sop_xl.model.schema import Settings
from sop_xl.scenario import drivers as drv

if TYPE_CHECKING:  # the supply step imports the LP solver: validation needs none of it
    from sop_xl.supply.step import Inputs

CHOSEN_LABEL = Settings.labels()["chosen_scenario"]


def _drivers(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    table = frames.get(schema.SCENARIOS.alias)
    return pd.DataFrame(columns=schema.SCENARIOS.names) if table is None else table


def options(text: object) -> list[str]:
    """The scenario names of a Decisions row's Options cell ('Base; Second shift DE')."""
    if not isinstance(text, str):
        return []
    return [o.strip() for o in text.replace(",", ";").split(";") if o.strip()]


def chosen_finding(
    chosen: str, known: list[str], book: str = "", row: int | None = None
) -> Finding | None:
    """An error when the Chosen scenario setting names no scenario."""
    if chosen in known:
        return None
    return Finding(
        "error",
        f"the chosen scenario '{chosen}' is not on the Scenarios sheet "
        f"(scenarios: {', '.join(known)}).",
        Location(book, schema.SETTINGS.sheet, schema.SETTINGS.name, row=row, column="Value"),
        f"Type one of {', '.join(known)} in the Value of '{CHOSEN_LABEL}' on the Settings "
        "sheet (Base = no change), or add the scenario's drivers to the Scenarios sheet.",
        "scenario.chosen",
    )


def check(
    frames: Mapping[str, pd.DataFrame],
    rows: Mapping[str, np.ndarray] | None = None,
    book: str = "",
    settings: Settings | None = None,
) -> list[Finding]:
    """Findings of the Scenarios and Decisions tables and the Chosen scenario setting."""
    rows = rows or {}
    table = _drivers(frames)
    known = drv.names(table)
    out: list[Finding] = []
    if settings is not None:
        label_rows = _setting_row(frames, rows)
        f = chosen_finding(settings.chosen_scenario, known, book, label_rows)
        if f is not None:
            out.append(f)
    decisions = frames.get(schema.DECISIONS.alias)
    if decisions is not None and len(decisions):
        excel = rows.get(schema.DECISIONS.alias)
        header = schema.DECISIONS.column("options").header
        for i, text in enumerate(decisions["options"]):
            row = int(excel[i]) if excel is not None and len(excel) > i else None
            named = options(text)
            unknown = [o for o in named if o not in known]
            if unknown or len(named) < 2:
                what = (
                    f"option(s) {', '.join(repr(o) for o in unknown)} name no scenario"
                    if unknown
                    else "a decision needs at least two options"
                )
                out.append(
                    Finding(
                        "error",
                        f"{what} (scenarios: {', '.join(known)}).",
                        Location(book, schema.DECISIONS.sheet, schema.DECISIONS.name, row, header),
                        "List two or more scenario names of the Scenarios sheet, separated by "
                        "';' (Base = no change).",
                        "decision.options",
                    )
                )
        rec_header = schema.DECISIONS.column("recommendation").header
        for i, (text, rec) in enumerate(
            zip(decisions["options"], decisions["recommendation"], strict=True)
        ):
            if isinstance(rec, str) and rec.strip() and rec.strip() not in options(text):
                row = int(excel[i]) if excel is not None and len(excel) > i else None
                out.append(
                    Finding(
                        "error",
                        f"the recommendation '{rec.strip()}' is not one of the options.",
                        Location(
                            book, schema.DECISIONS.sheet, schema.DECISIONS.name, row, rec_header
                        ),
                        "Recommend one of the options of the row, or leave it blank.",
                        "decision.recommendation",
                    )
                )
    return out


def _setting_row(frames: Mapping[str, pd.DataFrame], rows: Mapping[str, np.ndarray]) -> int | None:
    settings = frames.get(schema.SETTINGS.alias)
    excel = rows.get(schema.SETTINGS.alias)
    if settings is None or excel is None:
        return None
    labels = settings["setting"].astype(str).str.strip().str.casefold()
    hit = np.flatnonzero(labels.to_numpy() == CHOSEN_LABEL.casefold())
    return int(excel[hit[0]]) if len(hit) and len(excel) > hit[0] else None


def plan_of_record(base: Inputs, frames: Mapping[str, pd.DataFrame], settings: Settings) -> Inputs:
    """The supply data of the chosen scenario (Base: ``base`` itself); raises a located
    ValidationError when the setting names no scenario."""
    table = _drivers(frames)
    f = chosen_finding(settings.chosen_scenario, drv.names(table))
    if f is not None:
        raise ValidationError([f])
    if settings.chosen_scenario == drv.BASE:
        return base
    return drv.apply(base, settings.chosen_scenario, table).inputs
