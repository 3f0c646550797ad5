"""The change report between two plan versions, checked against hand-computed answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_snapshot import build_master, forecast_rows

from sop_xl import cycle
from sop_xl.errors import SopError
from sop_xl.model.schema import FORECAST, NUMBER_FORMATS, Dtype
from sop_xl.plan.diff import changed_cells, keyed_changes, totals, wide_long
from sop_xl.plan.snapshot import diff, freeze

#: B versus A (forecast_rows()): EU/1000/WH1 2026-11 100 -> 150; EU/1001/WH1 2027-01 60 -> blank;
#: US/1000/WH2 2027-01 220 -> 200; US/1001/WH2 2026-12 blank -> 30 (a new row).
B_ROWS = [
    ["EU", "1000", "WH1", None, None, 150.0, 110.0, 120.0],
    ["EU", "1001", "WH1", None, None, 50.0, 55.0, None],
    ["US", "1000", "WH2", None, None, 200.0, 210.0, 200.0],
    ["US", "1001", "WH2", None, None, None, 30.0, None],
]


@pytest.fixture
def versions(tmp_path: Path):
    m = build_master(tmp_path / "SOP_Master.xlsm")
    a = freeze(m, approved_by="CFO")
    build_master(m, forecast=B_ROWS)
    b = freeze(m, approved_by="CEO")
    return a, b


def rows_of(ws) -> list[tuple]:
    return [tuple(r) for r in ws.iter_rows(min_row=2, values_only=True)]


def test_forecast_changes_by_key(versions, tmp_path) -> None:
    a, b = versions
    res = diff(a.path, b.path, tmp_path / "changes.xlsx")
    wb = openpyxl.load_workbook(res.out)
    ws = wb["Forecast Changes"]
    head = [c.value for c in ws[1]]
    assert head == ["Region", "Item No.", "Location Code", "Item Family", "Period", "Old", "New",
                    "Delta", "Delta %", "Change"]  # fmt: skip
    got = rows_of(ws)
    assert got == [
        ("EU", "1000", "WH1", "CEREAL", "2026-11", 100, 150, 50, 0.5, "changed"),
        ("EU", "1001", "WH1", "OATS", "2027-01", 60, None, -60, -1, "removed"),
        ("US", "1000", "WH2", "CEREAL", "2027-01", 220, 200, -20, pytest.approx(-1 / 11),
         "changed"),
        ("US", "1001", "WH2", "OATS", "2026-12", None, 30, 30, None, "added"),
    ]  # fmt: skip
    assert res.forecast_changes == 4
    assert res.forecast_totals == (1125.0, 1125.0)
    qty = NUMBER_FORMATS[Dtype.QTY]
    assert ws["F2"].number_format == qty and ws["H2"].number_format == qty
    assert ws["I2"].number_format == NUMBER_FORMATS[Dtype.PCT]
    fills = {}
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            fills[(str(cf.sqref), rule.operator)] = rule.dxf.fill.fgColor.rgb
    assert fills[("H2:H5", "greaterThan")].endswith("C6EFCE")  # increase green
    assert fills[("H2:H5", "lessThan")].endswith("FFC7CE")  # decrease red


def test_totals_by_region_family_period(versions, tmp_path) -> None:
    a, b = versions
    wb = openpyxl.load_workbook(diff(a.path, b.path, tmp_path / "c.xlsx").out)
    region = rows_of(wb["By Region"])
    assert region[:2] == [("EU", 495, 485, -10, pytest.approx(-10 / 495)),
                          ("US", 630, 640, 10, pytest.approx(10 / 630))]  # fmt: skip
    assert region[2][:4] == ("Total", 1125, 1125, 0)
    family = rows_of(wb["By Family"])
    assert family[:2] == [("CEREAL", 960, 990, 30, pytest.approx(30 / 960)),
                          ("OATS", 165, 135, -30, pytest.approx(-30 / 165))]  # fmt: skip
    period = {r[0]: r[1:4] for r in rows_of(wb["By Period"])}
    assert period["2026-11"] == (350, 400, 50)
    assert period["2026-12"] == (375, 405, 30)
    assert period["2027-01"] == (400, 320, -80)


def test_changed_cells_and_summary(versions, tmp_path) -> None:
    a, b = versions
    res = diff(a.path, b.path, tmp_path / "c.xlsx")
    assert res.by_sheet["Forecast"] == 7  # F2, H3, H4 and A5, B5, C5, G5
    assert res.changed_cells == 7 and "Cover" not in res.by_sheet
    wb = openpyxl.load_workbook(res.out)
    cells = {(r[0], r[1]): r[2:] for r in rows_of(wb["Changed Cells"])}
    assert cells[("Forecast", "F2")] == (100, 150, 50)
    assert cells[("Forecast", "H3")] == (60, None, None)
    assert cells[("Forecast", "A5")] == (None, "US", None)
    summary = {r[0]: r[1:3] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Version"] == ("v01", "v02")
    assert summary["Approved by"] == ("CFO", "CEO")
    assert summary["Content hash (SHA-256)"] == (a.content_hash, b.content_hash)


def test_the_diff_step_names_the_report_once(versions, tmp_path) -> None:
    # 'sop-xl diff' printed the report's path twice ("written to X" and "Change report: X")
    a, b = versions
    out = tmp_path / "c.xlsx"
    text = cycle.diff(a.path, b.path, out).summary
    assert text.count(str(out)) == 1 and text.startswith("Change report written to")


def test_text_that_looks_like_a_formula_stays_text(tmp_path) -> None:
    a = build_master(tmp_path / "a.xlsx", macros=False)
    b = build_master(tmp_path / "b.xlsx", macros=False)
    wb = openpyxl.load_workbook(b)
    wb["Items"]["B2"] = '=HYPERLINK("http://x")'
    wb["Items"]["B2"].data_type = "s"
    wb.save(b)
    res = diff(a, b, tmp_path / "c.xlsx")  # masters work too (no cover)
    ws = openpyxl.load_workbook(res.out)["Changed Cells"]
    new = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "Items")[3]
    assert new.data_type == "s" and new.value == '=HYPERLINK("http://x")'


def test_identical_versions_and_refusal_to_overwrite(versions, tmp_path) -> None:
    a, _ = versions
    res = diff(a.path, a.path, tmp_path / "same.xlsx")
    assert res.changed_cells == 0 and res.forecast_changes == 0
    assert rows_of(openpyxl.load_workbook(res.out)["Forecast Changes"]) == []
    before = a.path.read_bytes()
    with pytest.raises(SopError, match="overwrite"):
        diff(a.path, tmp_path / "x.xlsx", a.path)
    assert a.path.read_bytes() == before
    assert not list(tmp_path.glob(".diff-*"))  # no temp file left behind


def test_pure_helpers() -> None:
    rows = [["Region", "Item No.", "Location Code", "Source", "Version", "2026-11", "2026-12"],
            ["EU", "1000", "WH1", "", "", 1.0, ""],
            ["EU", "1000", "WH1", "", "", 2.0, 5.0]]  # fmt: skip
    long = wide_long(rows, FORECAST)
    # a duplicated key is summed (and blank + blank stays blank)
    assert long.set_index("period")["value"].to_dict() == {"2026-11": 3.0, "2026-12": 5.0}
    m = keyed_changes(
        long, long.assign(value=long["value"] * 2), ["region", "item", "location", "period"]
    )
    assert m["delta"].tolist() == [3.0, 5.0] and set(m["change"]) == {"changed"}
    ch = changed_cells([[1, "a", True]], [[1.0, "a", 1, "new"]])
    assert ch[["row", "col"]].values.tolist() == [[1, 3], [1, 4]]  # True != 1 (a kind change)
    assert wide_long([["nothing here"]], FORECAST) is None
    assert forecast_rows()[0][5] == 100


key = st.tuples(
    st.sampled_from(["EU", "US"]),
    st.sampled_from(["1000", "1001", "1002"]),
    st.sampled_from(["WH1", "WH2"]),
    st.sampled_from(["2026-11", "2026-12"]),
)
grid = st.dictionaries(key, st.one_of(st.none(), st.floats(0, 1e6).map(round)), max_size=12)


def frame(d: dict) -> pd.DataFrame:
    rows = [(*k, np.nan if v is None else float(v)) for k, v in d.items()]
    return pd.DataFrame(rows, columns=["region", "item", "location", "period", "value"])


@settings(max_examples=100, deadline=None)
@given(grid, grid)
def test_deltas_add_up_to_the_total_change(old: dict, new: dict) -> None:
    keys = ["region", "item", "location", "period"]
    m = keyed_changes(frame(old), frame(new), keys)
    total_change = frame(new)["value"].sum() - frame(old)["value"].sum()
    assert m["delta"].sum() == pytest.approx(total_change)
    by_region = totals(m, "region")
    assert by_region["delta"].sum() == pytest.approx(total_change)
    # a key is reported as changed exactly when its old and new values differ
    changed = m[m["change"] != ""]
    for row in changed.itertuples():
        assert not (row.old == row.new or (np.isnan(row.old) and np.isnan(row.new)))
    assert len(m) == len(set(old) | set(new))
