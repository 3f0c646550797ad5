"""The demo's decisions for the executive meeting (issue 12): two trade-offs a planner puts on the
Decisions sheet, each between scenarios of the Scenarios sheet, plus the one scenario the second
decision needs (the upside with the extra shift)."""

from __future__ import annotations

import pandas as pd

from sop_xl.model import schema


def decision_inputs(
    scenarios: pd.DataFrame, cycle: str, tight_resource: str, family: str
) -> dict[str, pd.DataFrame]:
    """The Scenarios table with 'Upside + second shift' added, and the Decisions table.

    ``tight_resource`` / ``family``: the constrained assembly line and its family (the demo's
    'Second shift DE' and 'Winter upside' scenarios act on them, Nov-Feb)."""
    shift = scenarios[scenarios["scenario"] == "Second shift DE"]
    upside = scenarios[scenarios["scenario"] == "Winter upside"]
    both = pd.concat([upside, shift], ignore_index=True).assign(
        scenario="Upside + second shift", note="winter upside with the second shift"
    )
    meeting = pd.Timestamp(f"{cycle}-20")
    decisions = pd.DataFrame(
        [
            (
                f"Add a second {family} shift ({tight_resource}) Nov-Feb, or let part of the "
                "winter demand go unmet?",
                "Base; Second shift DE",
                "Second shift DE",
                "COO",
                meeting,
                "The line runs short every winter month; the shift costs overtime, unmet demand "
                "costs margin and service (see ScenarioCompare).",
            ),
            (
                f"Accept the regions' winter upside (+10 % {family}) into the plan, or hold "
                "the consensus?",
                "Base; Winter upside; Upside + second shift",
                "Upside + second shift",
                "CEO",
                meeting + pd.Timedelta(days=7),
                "Without the second shift the upside mostly turns into unmet demand.",
            ),
        ],
        columns=schema.DECISIONS.names,
    )
    return {
        "Scenarios": pd.concat([scenarios, both], ignore_index=True),
        "Decisions": decisions,
    }
