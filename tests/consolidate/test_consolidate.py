"""Consolidation: resolution, cutoff, validation numbers, audit trail, report, dry run."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import openpyxl
import pandas as pd
import pytest
from test_consolidate_support import HORIZON, PAST, make_book, submission

from sop_xl.consolidate.step import consolidate
from sop_xl.consolidate.submission import write_regional_template

NOW = dt.datetime(2026, 11, 11, 9, 0)
ON_TIME = dt.datetime(2026, 11, 9, 12, 0)


def put(book, folder, region, value=110.0, *, name=None, version=1, at=ON_TIME, sub=None, by="x"):
    return write_regional_template(
        book,
        region,
        folder / (name or f"{region}_v{version}.xlsx"),
        forecast=submission(region, value) if sub is None else sub,
        submitted_by=by,
        version=version,
        submitted_at=at,
    )


def rules(res, severity=None):
    return [f.rule for f in res.findings if severity is None or f.severity == severity]


def region_total(df, region, periods=None):
    d = df[df["region"] == region]
    if periods is not None:
        d = d[d["period"].isin(periods)]
    return d["quantity"].sum()


def test_accepted_region_replaces_horizon_and_keeps_past_and_other_regions(tmp_path):
    book = make_book()
    put(book, tmp_path, "EU", 110.0)
    res = consolidate(book, tmp_path, now=NOW, received_by="lead")
    assert list(res.accepted) == ["EU"]
    f = res.forecast
    assert region_total(f, "EU", HORIZON) == 4 * 12 * 110  # submitted
    assert region_total(f, "EU", PAST) == 4 * 2 * 100  # frozen past kept
    assert region_total(f, "US") == 2 * 14 * 200  # not submitted: kept
    assert region_total(f, "APAC") == 1 * 14 * 300
    eu = f[f["region"] == "EU"]
    assert set(eu["source"]) == {"EU_v1.xlsx"} and set(eu["version"]) == {"1"}  # one per key
    assert len(f) == len(book.tables["tblForecast"])  # written
    assert [o.sheet for o in res.outputs] == [
        "Forecast",
        "Validation",
        "Submissions",
        "Consolidation",
    ]
    assert rules(res, "error") == [] and set(rules(res, "warning")) == {"region.missing"}
    assert not res.ok or res.ok  # warnings only -> ok
    assert res.ok
    assert "Consolidated 1 of 3 regions" in res.summary and "missing: APAC, US" in res.summary


def test_audit_trail_appends_one_row_per_region_per_run(tmp_path):
    book = make_book()
    put(book, tmp_path, "EU", 110.0)
    consolidate(book, tmp_path, now=NOW, received_by="lead")
    audit = book.tables["tblConsolidation"]
    eu = audit[audit["region"] == "EU"].iloc[0]
    assert eu["run"] == 1 and eu["run_by"] == "lead" and eu["status"] == "accepted"
    assert eu["total_before"] == 5600 and eu["total_after"] == 800 + 5280
    assert eu["changed_rows"] == 48 and len(eu["sha256"]) == 64
    assert audit.set_index("region").loc["US", "changed_rows"] == 0
    assert audit.set_index("region").loc["US", "status"] == "missing"
    # second run, EU version 2 with 120: totals before = after of run 1
    put(book, tmp_path, "EU", 120.0, version=2)
    res = consolidate(book, tmp_path, now=NOW + dt.timedelta(hours=1), received_by="lead")
    audit = book.tables["tblConsolidation"]
    assert audit["run"].tolist() == [1, 1, 1, 2, 2, 2]
    eu2 = audit[(audit["region"] == "EU") & (audit["run"] == 2)].iloc[0]
    assert eu2["total_before"] == 6080 and eu2["total_after"] == 800 + 48 * 120
    assert eu2["version"] == 2 and eu2["file"] == "EU_v2.xlsx"
    assert res.audit["run"].tolist() == [2, 2, 2]


def test_latest_version_wins_not_the_newest_file(tmp_path):
    book = make_book()
    v2 = put(book, tmp_path, "EU", 120.0, version=2, at=ON_TIME - dt.timedelta(days=1))
    v1 = put(book, tmp_path, "EU", 110.0, version=1, at=ON_TIME)
    os.utime(v2, (1_000_000_000, 1_000_000_000))  # the winning file is the OLDEST on disk
    res = consolidate(book, tmp_path, now=NOW)
    assert res.accepted["EU"].path == v2
    assert region_total(res.forecast, "EU", HORIZON) == 48 * 120
    sup = [f for f in res.findings if f.rule == "version.superseded"]
    assert len(sup) == 1 and "EU_v1.xlsx" in sup[0].where.file and "version 2" in sup[0].message
    st = res.submissions.set_index("file")["status"]
    assert st["EU_v2.xlsx"] == "accepted" and st[v1.name] == "superseded"


def test_equal_versions_resolved_by_submitted_at(tmp_path):
    book = make_book()
    put(book, tmp_path, "EU", 130.0, name="b.xlsx", version=2, at=ON_TIME - dt.timedelta(hours=2))
    put(book, tmp_path, "EU", 125.0, name="a.xlsx", version=2, at=ON_TIME)
    res = consolidate(book, tmp_path, now=NOW)
    assert res.accepted["EU"].path.name == "a.xlsx"
    assert region_total(res.forecast, "EU", HORIZON) == 48 * 125


def test_the_same_submission_twice_counts_once(tmp_path):
    book = make_book()
    p = put(book, tmp_path, "EU", 110.0)
    shutil.copy(p, tmp_path / "EU_v1 (copy).xlsx")
    res = consolidate(book, tmp_path, now=NOW)
    dup = [f for f in res.findings if f.rule == "file.duplicate"]
    assert len(dup) == 1 and dup[0].severity == "info" and "same SHA-256" in dup[0].message
    assert region_total(res.forecast, "EU", HORIZON) == 48 * 110  # not doubled
    assert sorted(res.submissions["status"].dropna()) == [
        "accepted",
        "duplicate",
        "missing",
        "missing",
    ]


@pytest.mark.parametrize("policy", ["accept", "reject"])
def test_cutoff_policy(tmp_path, policy):
    book = make_book(late_submission_policy=policy)
    put(book, tmp_path, "EU", 110.0, version=1)
    put(book, tmp_path, "EU", 150.0, version=2, at=dt.datetime(2026, 11, 10, 17, 1))  # 1 min late
    res = consolidate(book, tmp_path, now=NOW)
    late = [f for f in res.findings if f.rule == "cutoff.late"]
    assert len(late) == 1 and "EU_v2.xlsx" in late[0].where.file
    assert "2026-11-10 17:01 (from the stamp)" in late[0].message
    if policy == "accept":
        assert late[0].severity == "warning" and res.ok
        assert region_total(res.forecast, "EU", HORIZON) == 48 * 150
    else:
        assert late[0].severity == "error" and not res.ok
        assert region_total(res.forecast, "EU", HORIZON) == 48 * 110  # the on-time version
        assert "late (ignored)" in set(res.submissions["status"])


def test_received_at_falls_back_to_file_time_and_says_so(tmp_path):
    book = make_book()
    p = put(book, tmp_path, "EU", 110.0, at=None)
    t = dt.datetime(2026, 11, 12, 8, 0).timestamp()
    os.utime(p, (t, t))
    res = consolidate(book, tmp_path, now=NOW + dt.timedelta(days=2))
    row = res.submissions[res.submissions["file"] == p.name].iloc[0]
    assert row["received_from"] == "file time" and row["late"] == "yes"
    assert row["received_at"] == pd.Timestamp("2026-11-12 08:00")
    assert any("(from the file time)" in f.message for f in res.findings)


def test_change_review_threshold_and_completeness(tmp_path):
    book = make_book()  # threshold 25%
    sub = submission("EU", 100.0)
    sub.loc[0, "quantity"] = 130.0  # +30% -> flagged
    sub.loc[1, "quantity"] = 125.0  # +25% -> not flagged (not beyond)
    sub = sub.drop(index=[2, 3])  # two blank cells
    p = put(book, tmp_path, "EU", sub=sub)
    wb = openpyxl.load_workbook(p)
    wb["Forecast"].delete_rows(8)  # the I4 @ L-EU2 row: a whole assortment row missing
    wb.save(p)
    res = consolidate(book, tmp_path, now=NOW)
    ch = [f for f in res.findings if f.rule == "change.review"]
    assert len(ch) == 1 and ch[0].where.cell == "D5" and "+30%" in ch[0].message
    row = res.submissions[res.submissions["region"] == "EU"].iloc[0]
    assert row["completeness"] == pytest.approx(34 / 48)  # 3 rows x 12 - 2 blanks
    comp = next(f for f in res.findings if f.rule == "completeness")
    assert "34 of 48" in comp.message and comp.severity == "warning"
    miss = next(f for f in res.findings if f.rule == "completeness.missing_rows")
    assert "I4@L-EU2" in miss.message
    assert res.accepted["EU"]  # warnings do not reject


def test_rejected_region_keeps_previous_consensus(tmp_path):
    book = make_book()
    sub = submission("EU", 110.0)
    sub.loc[5, "quantity"] = -3.0
    put(book, tmp_path, "EU", sub=sub)
    put(book, tmp_path, "US", 210.0)
    before = book.tables["tblForecast"].copy()
    res = consolidate(book, tmp_path, now=NOW)
    assert not res.ok and list(res.accepted) == ["US"]
    eu_after = res.forecast[res.forecast["region"] == "EU"].reset_index(drop=True)
    eu_before = before[before["region"] == "EU"].reset_index(drop=True)
    assert eu_after["quantity"].tolist() == eu_before["quantity"].tolist()
    neg = next(f for f in res.findings if f.rule == "value.negative")
    assert neg.where.cell == "I5" and "-3" in neg.message
    rej = next(f for f in res.findings if f.rule == "region.rejected")
    assert "previous consensus is kept (56 rows, 5,600 units)" in rej.message
    assert res.submissions.set_index("region").loc["EU", "status"] == "rejected"


def test_dry_run_writes_only_the_report(tmp_path):
    book = make_book()
    put(book, tmp_path, "EU", 110.0)
    before = book.tables["tblForecast"].copy()
    res = consolidate(book, tmp_path, now=NOW, dry_run=True)
    assert [o.sheet for o in book.writes[0]] == ["Validation", "Submissions"]
    pd.testing.assert_frame_equal(book.tables["tblForecast"], before)
    assert "tblConsolidation" not in book.tables
    assert res.summary.startswith("Dry run: would consolidate 1 of 3")


def test_dry_run_with_report_path_writes_a_standalone_report_only(tmp_path):
    book = make_book()
    sub_dir = tmp_path / "in"
    sub_dir.mkdir()
    put(book, sub_dir, "EU", 110.0, by='=HYPERLINK("http://example.invalid","click")')
    (sub_dir / "notes.txt").write_text("not a workbook")
    rep = tmp_path / "report.xlsx"
    consolidate(book, sub_dir, now=NOW, dry_run=True, report_path=rep)
    assert book.writes == []
    wb = openpyxl.load_workbook(rep)
    assert wb.sheetnames == ["Validation", "Submissions"]
    ws = wb["Validation"]
    hdr = next(r for r in ws.iter_rows() if r[0].value == "Severity")
    assert [c.value for c in hdr] == [
        "Severity",
        "Rule",
        "File",
        "Sheet",
        "Cell",
        "Message",
        "Suggested Fix",
    ]
    vals = [[c.value for c in r] for r in ws.iter_rows(min_row=hdr[0].row + 1)]
    txt = next(v for v in vals if v[2] == "notes.txt")
    assert txt[0] == "error" and "not an Excel workbook" in txt[5]
    assert ws.conditional_formatting  # severity colours
    subs = wb["Submissions"]
    cells = [c.value for r in subs.iter_rows() for c in r]
    assert '=HYPERLINK("http://example.invalid","click")' in cells  # a string, not a formula
    import zipfile

    with zipfile.ZipFile(rep) as zf:
        assert all(b"<f>" not in zf.read(n) for n in zf.namelist() if "worksheets" in n)


def test_failed_write_changes_nothing(tmp_path):
    book = make_book()
    put(book, tmp_path, "EU", 110.0)
    before = {k: v.copy() for k, v in book.tables.items()}
    book.fail_write = True
    with pytest.raises(OSError):
        consolidate(book, tmp_path, now=NOW)
    assert set(book.tables) == set(before)
    for k in before:
        pd.testing.assert_frame_equal(book.tables[k], before[k])


def test_missing_folder_is_a_clear_error(tmp_path):
    from sop_xl.errors import StepError

    with pytest.raises(StepError, match=r"does not exist.*Fix: Create it"):
        consolidate(make_book(), tmp_path / "nope", now=NOW)


def test_changed_rows_count_removed_and_changed_cells(tmp_path):
    book = make_book()
    sub = submission("EU", 100.0)  # same as the previous consensus...
    sub.loc[0, "quantity"] = 101.0  # ...but one changed cell
    sub = sub.drop(index=[5, 6, 7])  # and three blank (removed) cells
    put(book, tmp_path, "EU", sub=sub)
    res = consolidate(book, tmp_path, now=NOW)
    eu = res.audit.set_index("region").loc["EU"]
    assert eu["changed_rows"] == 4
    assert eu["total_before"] - eu["total_after"] == 3 * 100 - 1


def test_version_tie_bad_version_and_future_time(tmp_path):
    book = make_book()
    put(book, tmp_path, "EU", 120.0, name="a.xlsx", version=2)
    put(book, tmp_path, "EU", 130.0, name="b.xlsx", version=2)
    p = put(book, tmp_path, "US", 210.0, at=dt.datetime(2030, 1, 1))
    wb = openpyxl.load_workbook(p)
    wb["Stamp"]["B13"] = "final"  # Submission Version
    wb.save(p)
    res = consolidate(book, tmp_path, now=NOW)
    tie = next(f for f in res.findings if f.rule == "version.tie")
    assert "a.xlsx" in tie.where.file and "b.xlsx was used" in tie.message
    assert res.accepted["EU"].path.name == "b.xlsx"
    v = next(f for f in res.findings if f.rule == "stamp.version")
    assert "'final' is not a whole number" in v.message
    fut = next(f for f in res.findings if f.rule == "stamp.submitted_at")
    assert "2030-01-01 00:00 is in the future" in fut.message
    row = res.submissions.set_index("region").loc["US"]
    assert row["received_from"] == "file time" and row["version"] == 0


def test_demo_submissions_show_every_planted_mistake(tmp_path):
    from sop_xl.consolidate.step import write_demo_submissions

    book = make_book()
    subs = {r: submission(r, 100.0) for r in ("APAC", "EU", "US")}
    paths = write_demo_submissions(book, tmp_path, subs, bad_region="EU")
    assert sorted(p.name for p in paths) == [
        "APAC_forecast_v1.xlsx",
        "APAC_forecast_v2.xlsx",
        "EU_forecast_v2.xlsx",
        "US_forecast_v2.xlsx",
    ]
    res = consolidate(book, tmp_path, now=NOW)
    eu = {f.rule for f in res.findings if f.where.file and "EU_" in f.where.file}
    assert {
        "value.text",
        "value.negative",
        "value.error",
        "row.unknown_item",
        "row.duplicate",
        "row.other_region_item",
        "row.blank_key",
    } <= eu
    texts = [f.message for f in res.findings if f.rule == "value.text"]
    assert any("12O" in t for t in texts) and any("HYPERLINK" in t for t in texts)
    assert set(res.accepted) == {"APAC", "US"}
    assert res.accepted["APAC"].version == 2
    st = res.submissions.set_index("file")["status"]
    assert st["APAC_forecast_v1.xlsx"] == "superseded" and st["EU_forecast_v2.xlsx"] == "rejected"


def test_report_in_the_submission_folder_is_not_read_as_a_submission(tmp_path):
    book = make_book()
    put(book, tmp_path, "EU", 110.0)
    rep = tmp_path / "report.xlsx"
    consolidate(book, tmp_path, now=NOW, dry_run=True, report_path=rep)
    res = consolidate(book, tmp_path, now=NOW, dry_run=True, report_path=rep)
    assert rep.exists() and "report.xlsx" not in set(res.submissions["file"].dropna())
