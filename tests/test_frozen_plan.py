"""A frozen plan never changes: every writing command and ribbon button refuses it (issue 18).

A snapshot is recognised by what it is (the snapshot stamp, marked final, the Cover sheet, its
ledger record), never by file permissions: root and Windows ignore read-only. So the copies here
are made writable on purpose, and the test asserts the bytes are unchanged after each command.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest

from sop_xl import cli
from sop_xl.errors import FrozenPlanError
from sop_xl.io.filebook import FileBook
from sop_xl.io.guard import frozen_marks
from sop_xl.model import schema
from sop_xl.model.sheets import SheetOutput

PLAN = "SOP_Plan_2026-11_v01.xlsx"


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()
    }


@pytest.fixture
def snapshots(demo_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of the demo's snapshots folder (frozen plan + ledger)."""
    folder = tmp_path / "snapshots"
    shutil.copytree(demo_dir / "snapshots", folder)
    for p in folder.iterdir():
        os.chmod(p, stat.S_IRUSR | stat.S_IWUSR)  # permissions must not be what protects it
    return folder


WRITING_COMMANDS = [
    ["validate"],
    ["validate", "--out", "{tmp}/copy.xlsx"],
    ["consolidate"],
    ["consolidate", "--dry-run"],
    ["consolidate", "--folder", "{demo}/submissions"],
    ["variances"],
    ["kpis"],
    ["scorecard"],
    ["freeze", "--approved-by", "Jane Doe"],
    ["cycle"],
    ["cycle", "--approved-by", "Jane Doe"],
]


@pytest.mark.parametrize("argv", WRITING_COMMANDS, ids=" ".join)
def test_every_writing_command_refuses_a_frozen_plan(
    argv, snapshots: Path, demo_dir: Path, tmp_path: Path, capsys
):
    plan = snapshots / PLAN
    before = _digest(snapshots)
    args = [a.format(tmp=tmp_path, demo=demo_dir) for a in argv]
    code = cli.main([args[0], str(plan), *args[1:]])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "this is a frozen plan" in err and "Open the master workbook" in err
    assert _digest(snapshots) == before  # not one byte changed, no file added
    assert not (tmp_path / "copy.xlsx").exists()


def test_a_lone_copy_without_its_ledger_is_still_recognised(snapshots: Path, tmp_path: Path):
    lone = tmp_path / "mailed" / "plan.xlsx"
    lone.parent.mkdir()
    shutil.copy(snapshots / PLAN, lone)
    marks = frozen_marks(lone)
    assert any("snapshot stamp" in m for m in marks) and any("final" in m for m in marks)
    assert any("Cover" in m for m in marks)
    book = FileBook(lone)
    before = lone.read_bytes()
    with pytest.raises(FrozenPlanError):
        book.write([SheetOutput(schema.KPIS_TABLE, book.read_table(schema.KPIS_TABLE))])
    assert lone.read_bytes() == before


def test_the_ledger_alone_marks_a_plan_frozen(snapshots: Path):
    assert any("ledger.jsonl" in m for m in frozen_marks(snapshots / PLAN))


def test_the_master_workbook_is_not_frozen(demo_dir: Path):
    assert frozen_marks(demo_dir / "SOP_Planning.xlsm") == []
    assert FileBook(demo_dir / "SOP_Planning.xlsm").info.frozen == []


def test_the_snapshot_verifies_after_every_refusal(snapshots: Path, capsys):
    for argv in (["validate"], ["kpis"]):
        assert cli.main([argv[0], str(snapshots / PLAN)]) == 2
    capsys.readouterr()
    assert cli.main(["verify", str(snapshots)]) == 0
    assert capsys.readouterr().out.startswith("OK: 1 snapshot(s)")
