"""The content hash's fast computation gives the lines of its definition, cell for cell.

``sop_xl.plan.content_hash._sheet_text`` builds a sheet's canonical lines in bulk (numpy, one
code per distinct value). :func:`reference_sheet_text` below is the definition written as the
plain per-cell loop the hash was computed with before (issue 16): every frozen plan's ledger
holds hashes made that way, so the two must agree on every sheet, or old snapshots would no
longer verify.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.plan.content_hash import (
    _sheet_text,
    canonical_value,
    values_hash,
    workbook_values,
)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def reference_sheet_text(rows: Iterable[list[object]]) -> tuple[str, int]:
    """One line ``row,col=typed value`` per non-empty cell, row by row, as the definition says."""
    lines = []
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row, start=1):
            cv = canonical_value(v)
            if cv is not None:
                lines.append(f"{r},{c}={_escape(cv)}")
    return "".join(line + "\n" for line in lines), len(lines)


def reference_hash(sheets: Iterable[tuple[str, list[list[object]]]]) -> tuple[str, dict]:
    total, per_sheet = hashlib.sha256(), {}
    for name, rows in sheets:
        data = f"sheet={_escape(name)}\n".encode() + reference_sheet_text(rows)[0].encode()
        total.update(data)
        per_sheet[name] = hashlib.sha256(data).hexdigest()
    return total.hexdigest(), per_sheet


def test_known_answer() -> None:
    rows = [
        ["Item", "", None, True, 1, 1.0, -0.0, 0.1 + 0.2],
        [dt.date(2026, 1, 31), dt.time(13, 30), "a\\b\nc\rd", False, 0, "x"],
        [],
        [None, 2 / 3, dt.datetime(2026, 1, 31, 13, 30), dt.timedelta(hours=1)],
    ]
    text, n = _sheet_text(rows)
    assert text == (
        "1,1=s:Item\n1,4=b:1\n1,5=n:1\n1,6=n:1\n1,7=n:0\n1,8=n:0.3\n"
        "2,1=d:2026-01-31T00:00:00\n2,2=t:13:30:00\n2,3=s:a\\\\b\\nc\\rd\n2,4=b:0\n2,5=n:0\n"
        "2,6=s:x\n"
        "4,2=n:0.666666666666667\n4,3=d:2026-01-31T13:30:00\n4,4=p:3600.0\n"
    )
    assert n == 15
    assert _sheet_text([]) == ("", 0) and _sheet_text([[None, ""], []]) == ("", 0)


def test_booleans_are_not_numbers_whichever_comes_first() -> None:
    """``True == 1 == 1.0`` for a dict: the fast path must still tell ``b:1`` from ``n:1``."""
    for rows in ([[1.0, True, 1, False, 0.0]], [[True, 1.0, False, 0, -0.0]]):
        assert _sheet_text(rows) == reference_sheet_text(rows)


def test_equal_instants_of_two_time_zones_are_two_values() -> None:
    """12:00+01:00 == 11:00 UTC for a dict, but the canonical form is the wall clock."""
    cet = dt.timezone(dt.timedelta(hours=1))
    noon = dt.datetime(2026, 1, 31, 12, 0, tzinfo=cet)
    same = dt.datetime(2026, 1, 31, 11, 0, tzinfo=dt.UTC)
    t1, t2 = dt.time(12, 0, tzinfo=cet), dt.time(11, 0, tzinfo=dt.UTC)
    assert noon == same
    rows = [[noon, same, dt.datetime(2026, 1, 31, 12, 0), t1, t2, True, 1.0]]
    assert _sheet_text(rows) == reference_sheet_text(rows)
    assert _sheet_text(rows)[0].count("d:2026-01-31T12:00:00") == 2


CET = dt.timezone(dt.timedelta(hours=1))
cells = st.one_of(
    st.none(),
    st.just(""),
    st.floats(),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: float(f"{x:.17g}")),
    st.sampled_from([0.0, -0.0, 1.0, 0.01608751804299935, 57091.294503929246, math.inf]),
    st.integers(-(2**60), 2**60),
    st.sampled_from([0, 1, True, False]),
    st.text(alphabet=st.sampled_from("ab \\\n\r\t=,é€"), max_size=6),
    st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 31)),
    st.datetimes(dt.datetime(1900, 3, 1)),
    st.datetimes(dt.datetime(1900, 3, 1), timezones=st.sampled_from([dt.UTC, CET])),
    st.times(),
    st.times(timezones=st.sampled_from([dt.UTC, CET])),
    st.timedeltas(dt.timedelta(days=-5), dt.timedelta(days=5)),
)
#: rows that repeat values (as a table's columns do), of one width or ragged
sheets = st.lists(cells, min_size=1, max_size=12).flatmap(
    lambda pool: st.lists(
        st.lists(st.sampled_from(pool), max_size=7),
        max_size=9,
    )
)


@settings(max_examples=400, deadline=None)
@given(sheets)
def test_equal_to_the_definition_on_any_sheet(rows) -> None:
    assert _sheet_text(rows) == reference_sheet_text(rows)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(cells, min_size=3, max_size=3), max_size=12))
def test_equal_to_the_definition_on_rectangular_sheets(rows) -> None:
    assert _sheet_text(rows) == reference_sheet_text(rows)
    assert _sheet_text(tuple(tuple(r) for r in rows)) == reference_sheet_text(rows)


def test_equal_to_the_definition_on_the_demo_snapshot(demo_dir: Path) -> None:
    """The demo's frozen plan (2.3 M cells of text, numbers and dates): the fast hash is the one
    of the plain loop, and the one its ledger recorded at the freeze."""
    import json

    snapshots = demo_dir / "snapshots"
    record = json.loads((snapshots / "ledger.jsonl").read_text().splitlines()[-1])
    path = snapshots / record["file"]
    sheets = list(workbook_values(path, skip_first=True))
    assert sum(len(r) * len(r[0]) for _, r in sheets if r) > 1_000_000
    assert values_hash(sheets).hexdigest == record["content_hash"]  # content_hash's own read
    # the plain loop on every sheet's first 2,000 rows (every sheet, every type of value; the
    # whole 2.3 M cells took the loop 13 s of the suite's time)
    sample = [(name, rows[:2000]) for name, rows in sheets]
    digest, per_sheet = reference_hash(sample)
    fast = values_hash(sample)
    assert (fast.hexdigest, fast.sheets) == (digest, per_sheet)


def test_a_sheet_joined_in_chunks_is_the_same(monkeypatch) -> None:
    """Large sheets are joined a million cells at a time: chunk edges change nothing."""
    from sop_xl.plan import content_hash as module

    rows = [[f"r{r}", r * 0.1, None, True if r % 3 else "", r] for r in range(40)]
    ragged = [row[: r % 6] for r, row in enumerate(rows)]  # rows of 0 to 5 cells
    whole = [_sheet_text(rows), _sheet_text(ragged)]
    monkeypatch.setattr(module, "_CHUNK", 7)
    assert [_sheet_text(rows), _sheet_text(ragged)] == whole
    assert whole == [reference_sheet_text(rows), reference_sheet_text(ragged)]
