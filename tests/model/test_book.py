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
