"""The table store: typed tables and guard verdicts kept between clicks, keyed by content."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xml_prefix
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.errors import InputFileError
from sop_xl.io import guard, reader, tablestore
from sop_xl.io.filebook import FileBook
from sop_xl.io.xlsx.parts import sheet_parts
from sop_xl.model import frames, schema
from sop_xl.model.sheets import SheetOutput


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "store"
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(folder))
    return folder


@pytest.fixture()
def master(small_demo: Path, tmp_path: Path) -> Path:
    """A copy of the demo company cut to 8 items: every input table, written as the demo is."""
    path = tmp_path / small_demo.name
    shutil.copyfile(small_demo, path)
    return path


def test_a_stored_table_reads_exactly_as_a_fresh_parse(store: Path, master: Path) -> None:
    first = FileBook(master)
    fresh = {t.name: first.read_coerced(t) for t in schema.INPUT_TABLES if first.has_table(t)}
    assert len(list(store.glob("*.npz"))) >= 17
    again = FileBook(master)  # a new process would see the same: nothing in memory is shared
    for table in schema.INPUT_TABLES:
        if table.name not in fresh or table is schema.DATA_SOURCES:  # depends on files: not kept
            continue
        key = tablestore.table_key(master, again._parts()[table.sheet], table)
        hit = tablestore.load(key, table, tablestore.shared_strings(master))
        assert hit is not None, table.name
        want = fresh[table.name]
        pd.testing.assert_frame_equal(hit.df, want.df, obj=table.name)
        assert hit.findings == want.findings and hit.bad_rows == want.bad_rows
        assert hit.excel_rows.tolist() == want.excel_rows.tolist()


def test_writing_an_output_keeps_input_keys_and_changing_an_input_does_not(
    store: Path, master: Path
) -> None:
    book = FileBook(master)
    parts = book._parts()
    key = tablestore.table_key(master, parts["SalesActuals"], schema.SALES_ACTUALS)
    regions = tablestore.table_key(master, parts["Regions"], schema.REGIONS)
    report = pd.DataFrame({c.name: [] for c in schema.VALIDATION_REPORT.long_columns})
    book.write([SheetOutput(schema.VALIDATION_REPORT, report)])
    assert tablestore.table_key(master, parts["SalesActuals"], schema.SALES_ACTUALS) == key
    changed = book.read_table(schema.REGIONS).assign(planner="Someone else")
    book.write([SheetOutput(schema.REGIONS, changed)])
    assert tablestore.table_key(master, book._parts()["Regions"], schema.REGIONS) != regions
    assert set(FileBook(master).read_table(schema.REGIONS)["planner"]) == {"Someone else"}


def test_the_guard_verdict_is_remembered_only_for_a_file_that_passed(
    store: Path, master: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tablestore.checked(master)
    calls = []
    real = guard.check_workbook_file
    monkeypatch.setattr(guard, "check_workbook_file", lambda *a, **k: calls.append(a) or real(*a))
    again = tablestore.checked(master)
    assert calls == [] and again == info  # every field of the verdict, not just some
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    for _ in range(2):  # refused both times: a failure is never remembered
        with pytest.raises(InputFileError):
            tablestore.checked(bad)
    assert len(calls) == 2


def test_a_verdict_keeps_every_field_of_the_guard(store: Path, tmp_path: Path) -> None:
    """A field the guard learns (external links, error sheets, extents) survives the store."""
    info = guard.FileInfo(
        path=tmp_path / "x.xlsx",
        sha256="0" * 64,
        has_macros=True,
        sheets=["A", "B"],
        extents={"A": (120000, 30)},
        error_sheets={"B"},
        external_links=["xl/externalLinks/externalLink1.xml"],
    )
    tablestore.remember(info)
    (entry,) = store.glob("*.guard.json")
    back = tablestore._info(info.path, info.sha256, json.loads(entry.read_text()))
    assert back == info


def test_a_damaged_entry_is_a_miss_and_off_stores_nothing(
    store: Path, master: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = FileBook(master)
    book.read_table(schema.ITEMS)
    for entry in store.glob("*.npz"):
        entry.write_bytes(b"garbage")
    got = FileBook(master).read_coerced(schema.ITEMS)
    assert len(got.df) == len(book.read_table(schema.ITEMS))
    off = store.parent / "off_store"
    monkeypatch.setenv("SOP_XL_CACHE_DIR", "off")
    assert tablestore.cache_dir() is None
    FileBook(master).read_table(schema.ITEMS)
    assert not off.exists()


def test_reader_rules_are_part_of_the_key(store: Path, master: Path, monkeypatch) -> None:
    with zipfile.ZipFile(master) as zf:
        part = sheet_parts(zf)[schema.REGIONS.sheet]
    before = tablestore.table_key(master, part, schema.REGIONS)
    tablestore._version.cache_clear()
    monkeypatch.setattr(reader, "__file__", guard.__file__)  # as if the reader's code changed
    try:
        after = tablestore.table_key(master, part, schema.REGIONS)
    finally:
        tablestore._version.cache_clear()
    assert before != after


def _rewrite_part(path: Path, part: str, edit) -> None:
    """Replace one part of the zip at ``path`` by ``edit(bytes)`` (as another program would)."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, edit(data) if info.filename == part else data)
    tmp.replace(path)


def test_appended_shared_strings_keep_entries_and_a_changed_string_does_not(
    store: Path, master: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer appends new texts to the shared strings: the input tables' entries stay usable.
    A text changed in place (the sheet's bytes unchanged, only the shared string differs) must be
    parsed again: an entry that ignored the shared strings would return the old text."""
    book = FileBook(master)
    planners = book.read_table(schema.REGIONS)
    before = tablestore.shared_strings(master)
    report = pd.DataFrame({c.name: [] for c in schema.VALIDATION_REPORT.long_columns})
    book.write([SheetOutput(schema.VALIDATION_REPORT, report, title=["A title never seen before"])])
    after = tablestore.shared_strings(master)
    assert after != before and after.startswith(before)  # appended, not rewritten
    parses = []
    real = reader.coerce
    monkeypatch.setattr(reader, "coerce", lambda *a, **k: parses.append(a[0].name) or real(*a))
    pd.testing.assert_frame_equal(FileBook(master).read_table(schema.REGIONS), planners)
    assert schema.REGIONS.name not in parses  # read from the store, not parsed again

    old = str(planners["planner"].dropna().iloc[0])
    assert f"<t>{old}</t>".encode() in before
    _rewrite_part(
        master,
        tablestore.SST_PART,
        lambda xml: xml.replace(f"<t>{old}</t>".encode(), b"<t>Renamed Planner</t>"),
    )
    got = FileBook(master).read_table(schema.REGIONS)
    assert schema.REGIONS.name in parses
    assert "Renamed Planner" in set(got["planner"]) and old not in set(got["planner"])


def test_a_result_reads_back_exactly_or_is_not_kept(store: Path) -> None:
    """Results (e.g. KPI rows) come back with the same values, dtypes, index and kinds of
    missing text (None is not NaN); a frame the store cannot give back exactly is not kept."""
    df = pd.DataFrame(
        {
            "kpi": pd.array(["wmape", "bias", None], dtype=pd.StringDtype("python", np.nan)),
            "value": [0.25, np.nan, -1.5],
            "n": np.array([3, 0, 7], dtype=np.int64),
            "ok": [True, False, True],
        },
        index=[4, 9, 2],
    )
    df.insert(1, "scope", pd.Series(["EU", None, np.nan], index=df.index, dtype=object))
    results = tablestore.ResultStore({})
    results.put("k1", df, {"skipped": ["inventory"]})
    for store in (results, tablestore.ResultStore()):  # from memory; without: the disk's copy
        frame, facts = store.get("k1")
        pd.testing.assert_frame_equal(frame, df, check_exact=True)
        assert [v is None for v in df["scope"]] == [False, True, False]
        assert [v is None for v in frame["scope"]] == [False, True, False]
        assert facts == {"skipped": ["inventory"]}
    assert results.get("k2") is None
    odd = pd.DataFrame({"when": pd.to_datetime(["2026-01-01"])})
    results.put("k3", odd, {})
    mixed = pd.DataFrame({"x": pd.Series(["a", 1], dtype=object)})
    results.put("k4", mixed, {})
    assert results.get("k3") is None and results.get("k4") is None


def test_results_are_shared_in_memory_within_a_process(monkeypatch) -> None:
    """The steps of one cycle share results in memory, also with the store off; a hit is a
    copy (a step changing it changes nothing kept) and another key is a miss."""
    monkeypatch.setenv("SOP_XL_CACHE_DIR", "off")
    memory: dict = {}
    results = tablestore.ResultStore(memory)
    df = pd.DataFrame({"kpi": ["a", "b"], "value": [1.0, 2.0]})
    results.put("plan-of-data-1", df, {"n": 2})
    frame, facts = results.get("plan-of-data-1")
    pd.testing.assert_frame_equal(frame, df, check_exact=True)
    assert facts == {"n": 2}
    frame.loc[0, "value"] = 99.0
    facts["n"] = 0
    again, facts2 = tablestore.ResultStore(memory).get("plan-of-data-1")  # the next step's
    assert again.loc[0, "value"] == 1.0 and facts2 == {"n": 2}
    assert tablestore.ResultStore().get("plan-of-data-1") is None  # store off: no disk copy
    assert results.get("plan-of-data-2") is None
    for i in range(tablestore.RECENT_SIZE):  # the newest RECENT_SIZE are kept
        results.put(f"other-{i}", df, {})
    assert results.get("plan-of-data-1") is None


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.just(np.nan), st.sampled_from(["", " a", "EU", "EU ", "1"]),
                  st.text(max_size=6)),
        max_size=40,
    )
)  # fmt: skip
def test_a_text_column_kept_as_distinct_values_and_codes_reads_back_exactly(values) -> None:
    """Text columns are kept as each distinct value once plus a code per row: what loads is the
    same texts, in the same rows, with every missing value (None or NaN) as None."""
    from tempfile import TemporaryDirectory

    df = pd.DataFrame({"note": pd.Series(values, dtype=object)})
    table = schema.ACTIONS.model_copy(
        update={"columns": (schema.col("note", "Note", required=False),), "keys": ()}
    )
    result = reader.Coerced(df, [], 0, np.arange(len(df), dtype=np.int64) + 2)
    with TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOP_XL_CACHE_DIR", folder)
        tablestore.save("k", table, result, b"")
        back = tablestore.load("k", table, b"")
    if any(isinstance(v, str) and v.endswith("\x00") for v in values):
        assert back is None  # not kept: numpy's text arrays would drop the NUL
        return
    assert back is not None
    expect = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values]
    assert back.df["note"].tolist() == expect
    assert back.excel_rows.tolist() == list(range(2, len(df) + 2))


@pytest.mark.parametrize("values", [["a\x00", "a"], ["\x00"], ["EU", 1]])
def test_a_text_column_that_would_not_read_back_exactly_is_not_kept(
    values, tmp_path, monkeypatch
) -> None:
    """Found by the property above: numpy's fixed-width text drops trailing NULs ("a\x00" read
    back as "a"), and a non-text value would come back as its text. Such a table is not kept
    (it is parsed each time); a workbook's cells never hold a NUL, so this costs nothing."""
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path))
    table = schema.ACTIONS.model_copy(
        update={"columns": (schema.col("note", "Note", required=False),), "keys": ()}
    )
    df = pd.DataFrame({"note": pd.Series(values, dtype=object)})
    tablestore.save("k", table, reader.Coerced(df, [], 0, np.arange(len(df)) + 2), b"")
    assert tablestore.load("k", table, b"") is None


@pytest.mark.parametrize("pre", ["a.b", "x-1", "é"])
def test_a_string_changed_in_a_prefixed_table_is_seen(
    store: Path, master: Path, monkeypatch: pytest.MonkeyPatch, pre: str
) -> None:
    """A namespace prefix is any XML NCName ('.', '-', non-ASCII): a prefix missed made the
    table's entries read as none, so a text changed in place came back stale from the store."""
    _rewrite_part(master, tablestore.SST_PART, lambda xml: xml_prefix.prefixed(xml, pre.encode()))
    strings = tablestore.shared_strings(master)
    assert strings.startswith(f"<{pre}:si><{pre}:t>".encode())
    assert strings.endswith(f"</{pre}:si>".encode())
    planners = FileBook(master).read_table(schema.REGIONS)
    old = str(planners["planner"].dropna().iloc[0])
    parses = []
    real = reader.coerce
    monkeypatch.setattr(reader, "coerce", lambda *a, **k: parses.append(a[0].name) or real(*a))
    pd.testing.assert_frame_equal(FileBook(master).read_table(schema.REGIONS), planners)
    assert schema.REGIONS.name not in parses  # kept: the store is in use
    text = f"<{pre}:t>{old}</{pre}:t>".encode()
    assert text in strings
    _rewrite_part(
        master,
        tablestore.SST_PART,
        lambda xml: xml.replace(text, f"<{pre}:t>Renamed Planner</{pre}:t>".encode()),
    )
    got = FileBook(master).read_table(schema.REGIONS)
    assert schema.REGIONS.name in parses
    assert "Renamed Planner" in set(got["planner"]) and old not in set(got["planner"])


def _package(path: Path, rels: str, table: str, workbook_pr: str = "") -> Path:
    """The parts a table's key is made of: a sheet, its relationships, their table, the
    workbook."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/workbook.xml", f"<workbook>{workbook_pr}</workbook>")
        zf.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
        zf.writestr("xl/worksheets/_rels/sheet1.xml.rels", rels)
        zf.writestr("xl/tables/table1.xml", table)
    return path


_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_TABLE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/table"


@pytest.mark.parametrize(
    "rels",
    [
        f'<Relationships xmlns="{_PKG_RELS}"><Relationship Id="rId1" Type="{_TABLE_REL}" '
        'Target="../tables/table1.xml"/></Relationships>',
        f"<Relationships xmlns='{_PKG_RELS}'><Relationship Id='rId1' Type='{_TABLE_REL}' "
        "Target='../tables/table1.xml'/></Relationships>",
        f'<pr:Relationships xmlns:pr="{_PKG_RELS}"><pr:Relationship Id="rId1" '
        f'Type="{_TABLE_REL}" Target="/xl/tables/table1.xml"/></pr:Relationships>',
    ],
    ids=["double quotes", "single quotes", "prefixed, absolute"],
)
def test_a_table_key_covers_the_sheets_related_parts_in_any_quoting_and_prefix(
    tmp_path: Path, rels: str
) -> None:
    """A changed table part (its ref, its columns) is another key: a key that missed it (single
    quotes, a prefix) gave the table as it was read before the change."""
    sheet = "xl/worksheets/sheet1.xml"
    one = tablestore.table_key(
        _package(tmp_path / "a.xlsx", rels, "<table ref='A1:B3'/>"), sheet, schema.ITEMS
    )
    two = tablestore.table_key(
        _package(tmp_path / "b.xlsx", rels, "<table ref='A1:B9'/>"), sheet, schema.ITEMS
    )
    assert one != two


@pytest.mark.parametrize("pr", ['<workbookPr date1904="1"/>', "<workbookPr date1904 = 'true'/>"])
def test_a_table_key_says_which_date_system_the_workbook_uses(tmp_path: Path, pr: str) -> None:
    sheet, rels = "xl/worksheets/sheet1.xml", f"<Relationships xmlns='{_PKG_RELS}'/>"
    plain = tablestore.table_key(_package(tmp_path / "a.xlsx", rels, ""), sheet, schema.ITEMS)
    dated = tablestore.table_key(_package(tmp_path / "b.xlsx", rels, "", pr), sheet, schema.ITEMS)
    assert plain != dated


_TYPED_COLUMNS = (
    schema.col("name", "Name", required=False),
    schema.col("units", "Units", schema.Dtype.INT, required=False),
    schema.col("qty", "Qty", schema.Dtype.QTY, required=False),
    schema.col("share", "Share", schema.Dtype.PCT, required=False),
    schema.col("day", "Day", schema.Dtype.DATE, required=False),
    schema.col("month", "Month", schema.Dtype.PERIOD, required=False),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.text(max_size=5).filter(lambda t: "\x00" not in t)),
            st.one_of(st.none(), st.integers(-(2**60), 2**60), st.floats(-1e6, 1e6)),
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            st.one_of(st.none(), st.floats(-2, 2)),
            st.one_of(st.none(), st.datetimes(min_value=dt.datetime(1900, 1, 1),
                                              max_value=dt.datetime(2200, 1, 1))),
            st.one_of(st.none(), st.sampled_from(["2026-01", "2026-12", ""])),
        ),
        max_size=30,
    )
)  # fmt: skip
def test_a_stored_table_of_every_type_loads_as_typed_as_a_fresh_parse(rows) -> None:
    """The store builds a loaded frame straight from its arrays (``model.frames.typed_arrays``), not
    by typing every column again: the frame is the one the reader's typing gives, column types
    included, for whole numbers beyond 2**53, infinities, blanks and empty tables alike."""
    from tempfile import TemporaryDirectory

    table = schema.ACTIONS.model_copy(update={"columns": _TYPED_COLUMNS, "keys": ()})
    names = [c.name for c in _TYPED_COLUMNS]
    raw = pd.DataFrame([list(r) for r in rows], columns=names, dtype=object)
    typed = frames.typed(table, raw)
    result = reader.Coerced(typed, [], 0, np.arange(len(typed), dtype=np.int64) + 2)
    with TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOP_XL_CACHE_DIR", folder)
        tablestore.save("k", table, result, b"")
        back = tablestore.load("k", table, b"")
    assert back is not None
    pd.testing.assert_frame_equal(back.df, typed)
