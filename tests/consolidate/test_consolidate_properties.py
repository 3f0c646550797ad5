"""Property test and end-to-end run on a real workbook file (FileBook)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_consolidate_support import ASSORTMENT, HORIZON, REGIONS, make_book

from sop_xl.consolidate.step import Candidate, build_forecast, consolidate
from sop_xl.consolidate.submission import write_regional_template
from sop_xl.model import schema

NOW = dt.datetime(2026, 11, 11, 9, 0)


@st.composite
def plans(draw):
    """Previous consensus + accepted submissions with random quantities (blanks allowed)."""
    qty = st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False))
    prev_rows = []
    for r, pairs in ASSORTMENT.items():
        for i, loc in pairs:
            for p in ["2026-09", "2026-10", *HORIZON]:
                prev_rows.append((r, i, loc, "master", "", p, draw(qty)))
    prev = pd.DataFrame(
        prev_rows, columns=["region", "item", "location", "source", "version", "period", "quantity"]
    ).astype({"quantity": float})
    accepted = {}
    for r in draw(st.sets(st.sampled_from(REGIONS))):
        vals = [(i, loc, p, draw(qty)) for i, loc in ASSORTMENT[r] for p in HORIZON]
        c = Candidate(path=Path(f"{r}.xlsx"), region=r, version=2)
        c.values = pd.DataFrame(vals, columns=["item", "location", "period", "quantity"]).astype(
            {"quantity": float}
        )
        accepted[r] = c
    return prev, accepted


@given(plans())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_consolidated_total_equals_accepted_submissions_plus_kept_rows(plan):
    prev, accepted = plan
    out = build_forecast(prev, accepted, HORIZON)
    kept = prev[~(prev["region"].isin(accepted) & prev["period"].isin(HORIZON))]
    subs = pd.concat([c.values.assign(region=r) for r, c in accepted.items()] or [kept.iloc[:0]])
    expect = pd.concat([kept, subs]).groupby(["item", "period"])["quantity"].sum()
    got = out.groupby(["item", "period"])["quantity"].sum()
    pd.testing.assert_series_equal(
        got.sort_index(), expect.sort_index(), check_exact=False, rtol=1e-12
    )
    # one row per key and period, one Source/Version per key
    assert not out.duplicated(["region", "item", "location", "period"]).any()
    assert (
        (out.groupby(["region", "item", "location"])[["source", "version"]].nunique() == 1)
        .all()
        .all()
    )


@given(st.dictionaries(st.sampled_from(REGIONS), st.floats(0, 5000, allow_nan=False), min_size=1))
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_end_to_end_totals_per_item_and_period(tmp_path_factory, values):
    """Files written, read back and consolidated: per item and period, consolidated = the
    accepted submissions (horizon) + the previous consensus (past months and other regions)."""
    folder = tmp_path_factory.mktemp("subs")
    book = make_book()
    prev = book.tables["tblForecast"].copy()
    for r, v in values.items():
        sub = pd.DataFrame(
            [(i, loc, p, v) for i, loc in ASSORTMENT[r] for p in HORIZON],
            columns=["item", "location", "period", "quantity"],
        )
        write_regional_template(
            book,
            r,
            folder / f"{r}.xlsx",
            forecast=sub,
            submitted_by="x",
            version=1,
            submitted_at=NOW - dt.timedelta(days=2),
        )
    res = consolidate(book, folder, now=NOW)
    assert set(res.accepted) == set(values)
    got = res.forecast.groupby(["item", "period"])["quantity"].sum()
    p = prev.copy()
    mask = p["region"].isin(list(values)) & p["period"].isin(HORIZON)
    p.loc[mask, "quantity"] = p.loc[mask, "region"].map(values)
    expect = p.groupby(["item", "period"])["quantity"].sum()
    pd.testing.assert_series_equal(got.sort_index(), expect.sort_index(), check_exact=False)


# ------------------------------------------------------------------------------------------
# End to end on a real master file
# ------------------------------------------------------------------------------------------
@pytest.fixture()
def master(tmp_path):
    from sop_xl.io.filebook import FileBook
    from sop_xl.io.template import build_template
    from sop_xl.model import schema
    from sop_xl.model.sheets import SheetOutput

    fake = make_book()
    path = tmp_path / "master.xlsx"
    build_template(path, fake.settings)
    book = FileBook(path)
    rows = [
        (label, getattr(fake.settings, name), "")
        for name, label in type(fake.settings).labels().items()
    ]
    settings_df = pd.DataFrame(rows, columns=["setting", "value", "description"])
    settings_df["value"] = settings_df["value"].map(
        lambda v: v.strftime("%Y-%m-%d %H:%M") if isinstance(v, dt.datetime) else v
    )
    tables = [schema.REGIONS, schema.ITEMS, schema.LOCATIONS, schema.FORECAST]
    book.write(
        [SheetOutput(schema.SETTINGS, settings_df.astype(object))]
        + [SheetOutput(t, fake.tables[t.name]) for t in tables]
    )
    return FileBook(path)


def test_end_to_end_file_book(master, tmp_path):
    from sop_xl.io.filebook import FileBook
    from sop_xl.io.guard import sha256_file
    from sop_xl.model import schema

    folder = tmp_path / "subs"
    link = '=HYPERLINK("http://example.invalid","click")'
    for r, v in (("EU", 110.0), ("US", 220.0)):
        sub = pd.DataFrame(
            [(i, loc, p, v) for i, loc in ASSORTMENT[r] for p in HORIZON],
            columns=["item", "location", "period", "quantity"],
        )
        write_regional_template(
            master,
            r,
            folder / f"{r}.xlsx",
            forecast=sub,
            submitted_by=link if r == "EU" else "Sam",
            version=1,
            submitted_at=NOW - dt.timedelta(days=2),
        )
    bad = write_regional_template(
        master,
        "APAC",
        folder / "APAC.xlsx",
        submitted_by="Aiko",
        version=1,
        submitted_at=NOW - dt.timedelta(days=2),
    )
    wb = openpyxl.load_workbook(bad)
    wb["Forecast"]["D5"] = -1
    wb.save(bad)
    bad_hash = sha256_file(bad)
    res = consolidate(master, folder, now=NOW, received_by="lead")
    assert set(res.accepted) == {"EU", "US"} and not res.ok
    assert sha256_file(bad) == bad_hash
    # read back with an independent reader (openpyxl) and with the project reader
    book = FileBook(master.path)
    f = book.read_table(schema.FORECAST)
    tot = f.groupby("region")["quantity"].sum()
    assert tot["EU"] == 4 * 12 * 110 + 4 * 2 * 100
    assert tot["US"] == 2 * 12 * 220 + 2 * 2 * 200
    assert tot["APAC"] == 14 * 300  # rejected: previous consensus kept
    audit = book.read_table(schema.CONSOLIDATION)
    assert len(audit) == 3 and set(audit["run"]) == {1}
    wbm = openpyxl.load_workbook(master.path)
    assert {"Validation", "Submissions", "Consolidation"} <= set(wbm.sheetnames)
    subs = [c.value for row in wbm["Submissions"].iter_rows() for c in row]
    assert link in subs  # a string in the master...
    with zipfile.ZipFile(master.path) as zf:  # ...and never a formula
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                data = zf.read(name)
                assert b"<f>HYPERLINK" not in data and b"<f>=HYPERLINK" not in data, name
    val = [[c.value for c in r] for r in wbm["Validation"].iter_rows()]
    neg = next(r for r in val if r[1] == "value.negative")
    assert neg[0] == "error" and neg[2] == "APAC.xlsx" and neg[4] == "D5"
    # second run appends to the audit trail
    consolidate(FileBook(master.path), folder, now=NOW + dt.timedelta(hours=1))
    audit = FileBook(master.path).read_table(schema.CONSOLIDATION)
    assert sorted(set(audit["run"])) == [1, 2] and len(audit) == 6


def test_regional_sheet_inside_the_master(master):
    """A ``Forecast_EU`` sheet in the master (template layout) is a version-0 submission."""
    from sop_xl.io.filebook import FileBook
    from sop_xl.model import schema

    wb = openpyxl.load_workbook(master.path)
    ws = wb.create_sheet("Forecast_EU")
    ws.append(["EU forecast typed in the master"])
    ws.append([])
    ws.append(["Item No.", "Location Code", "Description", *HORIZON])
    for item, loc in ASSORTMENT["EU"]:
        ws.append([item, loc, "", *[150.0] * len(HORIZON)])
    wb.save(master.path)
    res = consolidate(FileBook(master.path), None, now=NOW)
    assert list(res.accepted) == ["EU"]
    c = res.accepted["EU"]
    assert c.name == "master.xlsx!Forecast_EU" and c.version == 0
    f = FileBook(master.path).read_table(schema.FORECAST)
    eu = f[(f["region"] == "EU") & f["period"].isin(HORIZON)]
    assert eu["quantity"].sum() == 4 * 12 * 150
    assert set(res.submissions["received_from"].dropna()) == {"master sheet"}


def _forecast_part(path) -> bytes:
    from sop_xl.io.xlsx.parts import sheet_parts

    with zipfile.ZipFile(path) as zf:
        return zf.read(sheet_parts(zf)["Forecast"])


def test_rejected_consolidation_leaves_the_forecast_sheet_byte_for_byte(master, tmp_path):
    from sop_xl.io.filebook import FileBook

    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "EU.csv").write_text("Item No.,Location Code\nI1,L-EU1\n")
    bad = write_regional_template(
        master,
        "US",
        folder / "US.xlsx",
        submitted_by="Sam",
        version=1,
        submitted_at=NOW - dt.timedelta(days=1),
    )
    wb = openpyxl.load_workbook(bad)
    wb["Forecast"]["D5"] = "n/a"
    wb.save(bad)
    before = _forecast_part(master.path)
    res = consolidate(master, folder, now=NOW)
    assert res.accepted == {} and not res.ok
    assert _forecast_part(master.path) == before  # Forecast not rewritten at all
    wbm = openpyxl.load_workbook(master.path)
    assert "Validation" in wbm.sheetnames and "Consolidation" in wbm.sheetnames
    audit = FileBook(master.path).read_table(schema.CONSOLIDATION)
    assert set(audit["status"]) == {"rejected", "missing"}
