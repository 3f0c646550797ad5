"""The statistical baseline fitted in the background (sop_xl.background): the same result as the
history step's own fit, found by the step under its key, waited for while it is being computed,
and never a reason for a step to hang or fail."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from sop_xl import background, cycle
from sop_xl.history.baseline import statistical_baseline
from sop_xl.history.step import baseline_fit, baseline_of
from sop_xl.io import tablestore
from sop_xl.io.filebook import FileBook
from sop_xl.io.tablestore import ResultStore
from sop_xl.model import schema
from sop_xl.model.book import read_tables


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "store"
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(folder))
    monkeypatch.setenv("SOP_XL_BACKGROUND", "on")
    return folder


@pytest.fixture(scope="module")
def inputs(small_demo: Path) -> tuple[dict[str, pd.DataFrame], schema.Settings]:
    book = FileBook(small_demo)
    tables = read_tables(book, map(schema.table, ("SalesActuals", "Customers", "Items")))
    return tables, book.read_settings()


def _wait(proc, seconds: float = 120) -> int:
    assert proc is not None, "no background process was started"
    return proc.wait(timeout=seconds)


def test_background_fit_equals_the_steps_own_fit_and_the_step_finds_it(inputs, store) -> None:
    tables, settings = inputs
    fit, key = baseline_fit(tables, settings)
    assert key is not None and len(fit)
    assert _wait(background.start_baseline(tables, settings, ResultStore())) == 0
    kept = ResultStore().get(key)
    assert kept is not None
    own = statistical_baseline(fit, settings.cycle, settings.horizon_months)
    pd.testing.assert_frame_equal(kept[0], own, check_exact=True)
    assert not list(store.glob("*.pending"))  # the marker is gone once the fit is kept
    # the history step's lookup is a hit: it never fits (a fit here would fail the test)
    boom = pytest.MonkeyPatch()
    boom.setattr("sop_xl.history.step.statistical_baseline", lambda *a, **k: 1 / 0)
    try:
        got = baseline_of(fit, settings.cycle, settings.horizon_months, memo=ResultStore())
    finally:
        boom.undo()
    pd.testing.assert_frame_equal(got, own, check_exact=True)
    # kept already: nothing more starts
    assert background.start_baseline(tables, settings, ResultStore()) is None


def test_nothing_starts_when_switched_off_or_without_a_store(inputs, store, monkeypatch) -> None:
    tables, settings = inputs
    monkeypatch.setenv("SOP_XL_BACKGROUND", "off")
    assert background.start_baseline(tables, settings, ResultStore()) is None
    monkeypatch.setenv("SOP_XL_BACKGROUND", "on")
    monkeypatch.setenv("SOP_XL_CACHE_DIR", "off")
    assert background.start_baseline(tables, settings, ResultStore()) is None
    assert not store.exists()


def test_a_get_waits_for_an_announced_result_and_not_for_a_stale_one(store) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    marker = ResultStore().announce("k")
    assert marker is not None and ResultStore().has("k")

    def later() -> None:
        time.sleep(0.4)
        ResultStore().put("k", frame, {"n": 1})
        marker.unlink()

    t0 = time.perf_counter()
    threading.Thread(target=later).start()
    got = ResultStore().get("k")
    assert time.perf_counter() - t0 >= 0.35  # it waited for the other process ...
    assert got is not None  # ... and got what that one kept
    pd.testing.assert_frame_equal(got[0], frame)
    # a marker older than PENDING_SECONDS is a process that died: no waiting, a plain miss
    stale = ResultStore().announce("j")
    old = time.time() - tablestore.PENDING_SECONDS - 1
    os.utime(stale, (old, old))
    t0 = time.perf_counter()
    assert ResultStore().get("j") is None
    assert time.perf_counter() - t0 < 0.3
    assert not ResultStore().has("j")


def test_a_bad_key_does_nothing_and_leaves_no_marker(store) -> None:
    assert background.main(["0" * 64]) == 1  # no input kept under it
    assert background.main([]) == 2
    assert not list(store.glob("*.pending"))


def test_validate_starts_the_fit_that_the_history_step_then_uses(
    small_demo, store, tmp_path, monkeypatch
) -> None:
    master = tmp_path / small_demo.name
    shutil.copy(small_demo, master)
    # this process's own results: another test's history step may hold this baseline already
    monkeypatch.setattr(cycle, "_RESULTS", {})
    started = []
    real = background.start_baseline
    monkeypatch.setattr(
        background, "start_baseline", lambda *a: started.append(real(*a)) or started[-1]
    )
    assert cycle.validate(FileBook(master)).ok
    assert len(started) == 1 and _wait(started[0]) == 0
    monkeypatch.setattr("sop_xl.history.step.statistical_baseline", lambda *a, **k: 1 / 0)
    result = cycle.history(FileBook(master))  # no fit of its own: it would divide by 0
    assert result.ok and len(result.detail.baseline)
