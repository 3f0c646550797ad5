"""sop_xl.model.book: the one user() every audit trail records."""

from __future__ import annotations

import getpass

import pytest

from sop_xl.model import book


def test_user_is_the_login_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "mara")
    assert book.user() == "mara"


@pytest.mark.parametrize("exc", [OSError("no login"), KeyError("uid 1000")])
def test_user_without_a_login_name_is_unknown(monkeypatch: pytest.MonkeyPatch, exc) -> None:
    """Consolidation, freeze and the cycle used to answer '' or 'unknown'; now one answer."""

    def fail() -> str:
        raise exc

    monkeypatch.setattr(getpass, "getuser", fail)
    assert book.user() == "unknown"


class _Tables:
    """The part of a Book that read_tables uses: which tables it has, reads, progress."""

    def __init__(self, have: set[str]) -> None:
        self.have, self.reads, self.said = have, [], []

    def has_table(self, table) -> bool:
        return table.name in self.have

    def read_table(self, table):
        import pandas as pd

        self.reads.append(table.name)
        return pd.DataFrame({"sheet": [table.sheet]})

    def progress(self, message: str, fraction: float | None = None) -> None:
        self.said.append((message, fraction))


def test_read_tables_reads_each_present_table_once_with_progress() -> None:
    from sop_xl.model import schema

    fake = _Tables({schema.ITEMS.name, schema.SCENARIOS.name})
    asked = [schema.ITEMS, schema.SCENARIOS, schema.DECISIONS, schema.ITEMS]
    frames = book.read_tables(fake, asked, share=0.5)
    assert list(frames) == ["Items", "Scenarios"]  # Decisions absent, Items read once
    assert fake.reads == ["tblItems", "tblScenarios"]
    assert [f for _, f in fake.said] == [0.0, 0.5 / 3, 1.0 / 3]  # three tables over half the bar
    assert fake.said[0][0] == f"Reading {schema.ITEMS.title}"
    assert frames["Items"]["sheet"].tolist() == ["Items"]


def test_step_frames_have_one_key_the_alias() -> None:
    """Issue 19: one key for step frames, the alias (tblPvmByCustomer -> PvmByCustomer, whose
    sheet is PVMByCustomer: neither the table name nor the sheet)."""
    from sop_xl.model import schema

    pvm = schema.table("tblPvmByCustomer")
    assert pvm.alias == "PvmByCustomer" != pvm.sheet
    frames = book.read_tables(_Tables({pvm.name}), [pvm])
    assert list(frames) == ["PvmByCustomer"]
    assert schema.BY_ALIAS["PvmByCustomer"] is pvm and schema.table(pvm.alias) is pvm
