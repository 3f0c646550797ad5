"""sop_xl.io.written.as_read: a table just written, as reading it back gives it (issue 16).

Every check writes the frame with the writer, reads the sheet back with the reader (calamine +
coerce, the path of every table read) and compares: whenever ``as_read`` answers, its frame is
the read frame exactly (values, missing cells, dtypes), and reading found nothing wrong.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sop_xl.io import reader
from sop_xl.io.writer import write_sheets
from sop_xl.io.written import as_read
from sop_xl.model import schema
from sop_xl.model.schema import Dtype, Table, col
from sop_xl.model.sheets import SheetOutput

T = Table(
    name="tblWritten",
    sheet="Written",
    title="written",
    group="Outputs",
    doc="written",
    columns=(
        col("item", "Item No."),
        col("period", "Period", Dtype.PERIOD),
        col("note", "Note", required=False),
        col("kind", "Kind", required=False, choices=("Make", "Buy")),
        col("qty", "Qty", Dtype.QTY),
        col("money", "Money", Dtype.MONEY, required=False),
        col("days", "Days", Dtype.NUMBER, required=False, min_value=0.0),
    ),
    keys=("item", "period"),
    output=True,
)

_clean_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=12
).filter(lambda t: t == t.strip() and "_x" not in t and t not in reader.ERROR_VALUES)
_any_text = st.one_of(
    _clean_text,
    st.sampled_from(["", " a", "a ", "a\nb", "_x0041_", "#N/A", "make", "x\x01", "2026-1"]),
    st.none(),
)
_number = st.one_of(  # within every column's bound (schema.MAX_ABS)
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.sampled_from([0.0, -0.0, 5e-324, 0.1 + 0.2, 123456789.12, 999999999.5]),
)
_any_number = st.one_of(
    _number, st.floats(min_value=-1e16, max_value=1e16), st.sampled_from([np.inf, 1e300])
)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("written") / "book.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "another sheet"
    wb.save(path)
    return path


def _read_back(book: Path, tmp: Path, df: pd.DataFrame, table: Table = T):
    path = tmp / "copy.xlsx"
    shutil.copy(book, path)
    write_sheets(path, [SheetOutput(table, df)])
    return reader.coerce(table, reader.read_raw(path, table.sheet, table))


def _frame(draw, text, number, n: int) -> pd.DataFrame:
    items = draw(st.lists(text, min_size=n, max_size=n))
    months = draw(st.lists(st.sampled_from(["2026-11", "2026-12", "2027-01"]), min_size=n))[:n]
    months += ["2026-11"] * (n - len(months))
    return pd.DataFrame(
        {
            "item": pd.array(items, dtype="str" if None not in items else object),
            "period": months,
            "note": draw(st.lists(st.one_of(text, st.none()), min_size=n, max_size=n)),
            "kind": draw(st.lists(st.sampled_from(["Make", "Buy", None]), min_size=n, max_size=n)),
            "qty": draw(st.lists(number, min_size=n, max_size=n)),
            "money": draw(st.lists(number, min_size=n, max_size=n)),
            "days": draw(st.lists(number.map(abs), min_size=n, max_size=n)),
        }
    )


@st.composite
def clean_frames(draw) -> pd.DataFrame:
    """Frames as a step writes them: stripped codes, YYYY-MM months, finite numbers."""
    n = draw(st.integers(1, 6))
    df = _frame(draw, _clean_text, _number, n)
    return df.drop_duplicates(["item", "period"]).reset_index(drop=True)


@st.composite
def any_frames(draw) -> pd.DataFrame:
    """Anything the writer accepts: blanks, edge spaces, escapes, error texts, infinities,
    numbers beyond the bound, duplicate keys, a choice in another case, an empty frame."""
    n = draw(st.integers(0, 6))
    df = _frame(draw, _any_text, _any_number, n)
    if n and draw(st.booleans()):
        df.loc[0, "kind"] = draw(st.sampled_from(["make", "Other", ""]))
    if n and draw(st.booleans()):
        df.loc[0, "days"] = -1.0
    return df


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(df=clean_frames())
def test_a_clean_frame_is_what_reading_it_back_gives(df, book, tmp_path) -> None:
    got = as_read(T, df)
    assert got is not None
    back = _read_back(book, tmp_path, df)
    assert not back.findings
    pd.testing.assert_frame_equal(got, back.df, check_exact=True)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(df=any_frames())
def test_whenever_it_answers_the_answer_is_what_reading_gives(df, book, tmp_path) -> None:
    got = as_read(T, df)
    if got is None:
        return
    back = _read_back(book, tmp_path, df)
    assert not back.findings
    pd.testing.assert_frame_equal(got, back.df, check_exact=True)


def test_what_reading_would_change_or_refuse_is_left_to_reading() -> None:
    ok = pd.DataFrame(
        {"item": ["A"], "period": ["2026-11"], "note": [None], "kind": ["Make"], "qty": [1.0],
         "money": [np.nan], "days": [2.0]}
    )  # fmt: skip
    assert as_read(T, ok) is not None
    for column, value in [
        ("item", " A"),  # read back stripped
        ("item", None),  # a required value missing
        ("item", "#N/A"),  # read as an error value
        ("note", "a_x0041_b"),  # Excel's escape
        ("note", "two\nlines"),  # control character
        ("kind", "make"),  # read as the declared spelling
        ("period", "2026-1"),  # read as 2026-01
        ("qty", np.inf),  # written as no cell: a required value missing
        ("days", -1.0),  # below the minimum
        ("money", 1e300),  # beyond the bound
    ]:
        bad = ok.copy()
        bad[column] = pd.Series([value], dtype=object if isinstance(value, str | None) else float)
        assert as_read(T, bad) is None, (column, value)
    assert as_read(T, pd.concat([ok, ok], ignore_index=True)) is None  # duplicate key
    assert as_read(T, ok.iloc[:0]) is None  # empty
    assert as_read(T, ok.drop(columns="days")) is None  # the writer would refuse it
    assert as_read(T, pd.concat([ok, ok[["qty"]]], axis=1)) is None  # a column twice
    assert as_read(schema.SALES_BUDGET, ok) is None  # a wide grid


def test_the_demo_supply_plan_is_what_reading_it_back_gives(demo_dir: Path, tmp_path) -> None:
    """The supply step's own frame (pandas strings, its float columns) on the demo master."""
    from sop_xl import cycle
    from sop_xl.io.filebook import FileBook

    master = tmp_path / "SOP_Planning.xlsm"
    shutil.copy(demo_dir / "SOP_Planning.xlsm", master)
    plan = cycle.supply(FileBook(master)).detail.supply_plan
    got = as_read(schema.SUPPLY_PLAN, plan)
    assert got is not None and len(got) > 1000
    back = FileBook(master).read_coerced(schema.SUPPLY_PLAN)
    assert not back.findings
    pd.testing.assert_frame_equal(got, back.df, check_exact=True)


# --- FileBook: a table it wrote is read as written, when that is certain ---------------------
def _written_book(book: Path, tmp: Path, df: pd.DataFrame):
    """A FileBook that has just written ``df`` to T under a two-line title (rows below row 4)."""
    from sop_xl.io.filebook import FileBook

    path = tmp / "as_written.xlsx"
    shutil.copy(book, path)
    fb = FileBook(path)
    fb.write([SheetOutput(T, df, title=["Written", "a note"])])
    return fb, path


def _clean() -> pd.DataFrame:
    return pd.DataFrame(
        {"item": ["A", "B", "C"], "period": ["2026-11", "2026-12", "2027-01"],
         "note": [None, "n", None], "kind": ["Make", None, "Buy"], "qty": [1.0, 2.5, -3.0],
         "money": [np.nan, 10.0, 0.0], "days": [2.0, 0.0, np.nan]}
    )  # fmt: skip


def test_a_table_the_book_wrote_is_read_as_written_without_parsing(
    book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sop_xl.io.filebook import FileBook

    monkeypatch.setenv("SOP_XL_CACHE_DIR", "off")  # no table store: a table is parsed or not
    df = _clean()
    fb, path = _written_book(book, tmp_path, df)
    fresh = FileBook(path).read_coerced(T)  # another book: parses the sheet
    assert not fresh.findings and list(fresh.excel_rows) == [5, 6, 7]
    monkeypatch.setattr(reader, "read_raw", lambda *a, **k: pytest.fail("the sheet was parsed"))
    df.loc[0, "qty"] = 99.0  # the caller changes its frame after the write: nothing changes
    got = fb.read_coerced(T)
    pd.testing.assert_frame_equal(got.df, fresh.df, check_exact=True)
    assert list(got.excel_rows) == list(fresh.excel_rows) and not got.findings
    assert fb.read_table(T)["qty"].tolist() == [1.0, 2.5, -3.0]


def test_a_table_reading_would_change_is_read_from_its_sheet(
    book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOP_XL_CACHE_DIR", "off")
    df = _clean()
    df.loc[1, "item"] = " B"  # read back stripped: not certain, so the sheet is read
    fb, _ = _written_book(book, tmp_path, df)
    parsed: list[str] = []
    real = reader.read_raw
    monkeypatch.setattr(
        reader,
        "read_raw",
        lambda path, sheet, *a, **k: parsed.append(sheet) or real(path, sheet, *a, **k),
    )
    got = fb.read_coerced(T)
    assert parsed == [T.sheet]
    assert got.df["item"].tolist() == ["A", "B", "C"] and list(got.excel_rows) == [5, 6, 7]
