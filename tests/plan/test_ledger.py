"""sop_xl.plan.ledger.plan_status and sop_xl.cycle.plan_status_of: the plan status the scorecard's
title block shows is read from the snapshots ledger by the cycle, never by the scorecard."""

from __future__ import annotations

from pathlib import Path

import pytest

from sop_xl import cycle
from sop_xl.model.schema import Settings
from sop_xl.plan.ledger import append_record, plan_status

CYCLE = "2026-11"


def test_plan_status_from_the_snapshots_ledger(tmp_path: Path) -> None:
    snaps = tmp_path / "snapshots"
    assert plan_status(snaps, CYCLE) == "draft"  # no snapshots folder
    snaps.mkdir()
    append_record(snaps, {"cycle": "2026-10", "version": 1})
    assert plan_status(snaps, CYCLE) == "draft"  # only last month's plan is frozen
    append_record(snaps, {"cycle": CYCLE, "version": 2, "created_at": "2026-11-20T10:00:00+00:00"})
    assert plan_status(snaps, CYCLE) == "frozen v02 (2026-11-20)"


class _Book:
    name = "fake.xlsx"

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def read_settings(self) -> Settings:
        return Settings(cycle=CYCLE)


def test_cycle_asks_the_ledger_beside_the_workbook_file(tmp_path: Path) -> None:
    (tmp_path / "snapshots").mkdir()
    append_record(tmp_path / "snapshots", {"cycle": CYCLE, "version": 3})
    assert cycle.plan_status_of(_Book(tmp_path / "SOP_Planning.xlsm")) == "frozen v03"  # type: ignore[arg-type]
    assert cycle.plan_status_of(_Book(None)) == "draft"  # type: ignore[arg-type]  # no file


def test_scorecard_never_reads_the_ledger() -> None:
    """The scorecard package does not import the plan package: the status is passed in."""
    import ast

    import sop_xl.scorecard

    for path in Path(sop_xl.scorecard.__path__[0]).glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)] + [
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        ]
        assert not any(m.startswith("sop_xl.plan") for m in names), path.name


@pytest.mark.parametrize("bad", ["not json", "[1, 2]"])
def test_a_damaged_ledger_line_does_not_make_a_status(tmp_path: Path, bad: str) -> None:
    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    (snaps / "ledger.jsonl").write_text(bad + "\n", encoding="utf-8")
    assert plan_status(snaps, CYCLE) == "draft"
