"""How a click shares work with its helper processes (sop_xl.io.spawn.share): known answers
and the invariants every sharing keeps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.io import spawn

MB = 1 << 20


def test_no_helper_or_little_work_shares_nothing() -> None:
    assert spawn.share([40 * MB, 30 * MB], helpers=0) == []
    assert spawn.share([MB] * 15, helpers=3) == []  # 15 MB: less than one helper's worth


def test_the_demo_masters_tables_with_one_helper_started_already() -> None:
    # like the demo master: the archive (40 MB) last, actuals 16, budget 5, two of 4, two small
    sizes = [1 * MB, 5 * MB, 16 * MB, 4 * MB, 4 * MB, MB // 2, 40 * MB]
    # largest first to the least loaded: archive -> click (a tie, 0 = 0: the click);
    # 16, 5, 4, 4 -> helper (16, 21, 25, 29); 1 -> helper (29 < 40): 30; 0.5 -> helper: 30.5
    assert spawn.share(sizes, helpers=1, ready=1) == [[0, 1, 2, 3, 4, 5]]


def test_a_helper_still_to_start_counts_its_start_as_work() -> None:
    sizes = [1 * MB, 5 * MB, 16 * MB, 4 * MB, 4 * MB, MB // 2, 40 * MB]
    # the helper starts at 12 MB: 16, 5, 4, 4 -> helper (28, 33, 37, 41); 1 -> click (40 < 41);
    # 0.5 -> click (41 = 41, a tie: the click)
    assert spawn.share(sizes, helpers=1) == [[1, 2, 3, 4]]


def test_a_ready_helper_is_used_for_less_than_a_new_one() -> None:
    """A helper started already costs only handing its tables over: the demo master's sheets
    with the forecast archive in a file (31.7 MB, 16.4 MB of it one sheet) go 16.4 MB to the
    click and 15.3 MB to the ready helper; a helper still to start is not worth it."""
    sizes = [16_388_008, 5_046_402, 4_106_783, 3_841_063, 822_990, 719_649, 574_816, 51_638]
    (helper,) = spawn.share(sizes, helpers=1, ready=1)
    assert helper == [1, 2, 3, 4, 5, 6, 7]
    assert spawn.share(sizes, helpers=1) == []
    assert spawn.share([3 * MB, 4 * MB], helpers=1, ready=1) == []  # 3 MB: not worth it


def test_a_helper_with_too_little_to_do_is_not_used() -> None:
    # three helpers allowed, 60 MB in all: one helper is worth it, the others would idle
    assert len(spawn.share([20 * MB, 20 * MB, 10 * MB, 10 * MB], helpers=3)) == 1
    assert spawn.share([1, 1, 1, 97 * MB], helpers=1, ready=1) == []  # one piece is the work


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 80 * MB), max_size=30), st.integers(0, 8), st.integers(0, 8))
def test_every_piece_is_done_by_exactly_one_process(sizes, helpers: int, ready: int) -> None:
    shares = spawn.share(sizes, helpers, ready)
    given_out = [i for share in shares for i in share]
    assert len(given_out) == len(set(given_out)) and set(given_out) <= set(range(len(sizes)))
    assert len(shares) <= helpers
    for share in shares:
        assert share == sorted(share)
        assert sum(sizes[i] for i in share) >= spawn.READY_SHARE_BYTES


def test_closing_the_claims_leaves_no_folder_while_a_helper_still_takes_pieces(
    monkeypatch,
) -> None:
    """A helper may take a piece while the click removes the claims folder: its new file made
    the folder's removal fail, and the folder stayed in the temporary folder (24 of them after
    a day's clicks and tests). The folder is now renamed first, so the helper's take finds no
    folder (the piece is then the click's) and nothing is left."""
    import os
    import shutil
    from pathlib import Path

    claims = spawn.Claims.create()
    assert claims is not None and claims.take(0, unsure=False)
    helper = spawn.Claims(claims.folder)

    def racing(path, ignore_errors=False):  # rmtree, with the helper taking a piece midway
        for file in list(Path(path).iterdir()):
            file.unlink()
        helper.take(1, unsure=False)
        try:
            os.rmdir(path)
        except OSError:
            if not ignore_errors:
                raise

    monkeypatch.setattr(shutil, "rmtree", racing)
    claims.close()
    assert not claims.folder.exists()
    assert not list(claims.folder.parent.glob(claims.folder.name + "*"))
