"""Plan history in the cycle: archive rebuilt from verified snapshots only, the scorecard at the
Settings lag, and the demo's history sheets read back with an independent reader."""

from __future__ import annotations

import io
import os
import re
import stat
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from sop_xl import cycle
from sop_xl.history import archive as arc
from sop_xl.history.lag import accuracy_at_lag, actuals_by_series
from sop_xl.model.schema import Settings
from sop_xl.plan.snapshot import freeze
from sop_xl.scorecard.step import kpi_values

sys.path.insert(0, str(Path(__file__).parents[1] / "plan"))
from test_snapshot import _sheet_part, _unzip, build_master, forecast_rows


def _two_cycles(tmp_path: Path) -> Path:
    """Snapshots of cycles 2026-10 and 2026-11 (the small master of the snapshot tests)."""
    m = tmp_path / "SOP_Master.xlsm"
    build_master(m, cycle="2026-10", forecast=forecast_rows(scale=2.0))
    freeze(m, approved_by="CFO")
    build_master(m, cycle="2026-11")
    freeze(m, approved_by="CFO")
    return tmp_path / "snapshots"


def _tamper(path: Path) -> None:
    """Change one forecast cell of a snapshot with a zip tool, as a tamperer would."""
    parts = _unzip(path.read_bytes())
    part = _sheet_part(parts, "Forecast")
    xml = parts[part].decode()
    new = re.sub(r"<v>200</v>", "<v>999</v>", xml, count=1)
    assert new != xml
    parts[part] = new.encode()
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in parts.items():
            zf.writestr(n, d)
    path.write_bytes(buf.getvalue())


def test_archive_rebuilt_from_verified_snapshots(tmp_path: Path) -> None:
    folder = _two_cycles(tmp_path)
    rebuilt = cycle.rebuild_archive(folder)
    assert rebuilt.cycles_used == ["2026-10", "2026-11"] and not rebuilt.findings
    a = rebuilt.archive.set_index(["cycle", "region", "item", "period"])
    # cycle 2026-10 locked forecast_rows(scale=2): EU 1000 WH1 2026-11 = 100 x 2, at lag 1
    assert a.loc[("2026-10", "EU", "1000", "2026-11"), "quantity"] == 200.0
    assert a.loc[("2026-10", "EU", "1000", "2026-11"), "lag"] == 1
    assert a.loc[("2026-11", "EU", "1000", "2026-11"), "quantity"] == 100.0
    assert (rebuilt.archive["stage"] == "Consensus").all()
    assert rebuilt.archive["evidence"].str.endswith("(verified)").all()


def test_tampered_snapshot_is_excluded_with_a_finding(tmp_path: Path) -> None:
    folder = _two_cycles(tmp_path)
    bad = folder / "SOP_Plan_2026-10_v01.xlsx"
    _tamper(bad)
    # the workbook's own archive still holds rows of the tampered cycle: they go too
    current = arc.stage_rows(
        pd.DataFrame({"region": "EU", "item": "1000", "location": "WH1",
                      "period": ["2026-11"], "quantity": [5.0]}),
        "2026-10", "Consensus", lags=3,
    )  # fmt: skip
    rebuilt = arc.rebuild(current, [], excluded_cycles=["2026-10"])
    assert rebuilt.archive.empty and rebuilt.cycles_excluded == ["2026-10"]
    rebuilt = cycle.rebuild_archive(folder)
    assert rebuilt.cycles_used == ["2026-11"]
    assert rebuilt.cycles_excluded == ["2026-10"]
    assert set(rebuilt.archive["cycle"]) == {"2026-11"}
    assert 999.0 not in set(rebuilt.archive["quantity"])
    (f,) = rebuilt.findings
    assert f.severity == "error" and f.rule == "history.snapshot_failed"
    assert "SOP_Plan_2026-10_v01.xlsx failed verification and was NOT used" in f.message
    assert "content hash differs" in f.message  # verify's own words, naming what changed
    assert f.where.file.endswith("SOP_Plan_2026-10_v01.xlsx")


def test_no_snapshot_is_used_when_the_ledger_chain_is_broken(tmp_path: Path) -> None:
    folder = _two_cycles(tmp_path)
    ledger = folder / "ledger.jsonl"
    os.chmod(ledger, stat.S_IRUSR | stat.S_IWUSR)
    lines = ledger.read_text().splitlines()
    ledger.write_text(lines[1] + "\n")  # the first record deleted
    rebuilt = cycle.rebuild_archive(folder)
    assert rebuilt.cycles_used == [] and rebuilt.archive.empty
    assert len(rebuilt.findings) == 2


def test_rebuild_needs_a_folder(tmp_path: Path) -> None:
    from sop_xl.errors import SopError

    with pytest.raises(SopError, match="not a folder of plan snapshots"):
        cycle.rebuild_archive(tmp_path / "nope")


# --- the scorecard at the Settings lag ------------------------------------------------------
def _tables() -> dict[str, pd.DataFrame]:
    months = ["2026-08", "2026-09", "2026-10"]
    forecast = pd.DataFrame(
        {"region": "R1", "item": "I1", "location": "L1", "period": months,
         "quantity": [100.0, 100.0, 100.0]}
    )  # fmt: skip
    sales = pd.DataFrame(
        {"customer": "C1", "item": "I1", "location": "L1", "period": months,
         "quantity": [90.0, 120.0, 100.0], "amount": 1.0, "cost": 1.0}
    )  # fmt: skip
    # lag 1: cycle 2026-08 said 150 for 2026-09, cycle 2026-09 said 80 for 2026-10
    lag1 = pd.DataFrame(
        {"region": "R1", "item": "I1", "location": "L1", "period": ["2026-09", "2026-10"],
         "quantity": [150.0, 80.0]}
    )  # fmt: skip
    archive = pd.concat(
        [
            arc.stage_rows(lag1.iloc[[0]], "2026-08", "Consensus", lags=3),
            arc.stage_rows(lag1.iloc[[1]], "2026-09", "Consensus", lags=3),
        ]
    )
    return {
        "Forecast": forecast,
        "SalesActuals": sales,
        "Customers": pd.DataFrame({"customer": ["C1"], "region": ["R1"]}),
        "Items": pd.DataFrame({"item": ["I1"], "family": ["F1"], "lead_time_days": [10]}),
        "ForecastArchive": archive,
    }


def _fa(values: pd.DataFrame, period: str) -> pd.Series:
    v = values[(values["kpi"] == "forecast_accuracy") & (values["level"] == "Total")]
    return v.set_index("period").loc[period]


def test_scorecard_forecast_accuracy_at_lag_one_by_default() -> None:
    tables = _tables()
    months = ["2026-09", "2026-10"]
    values = kpi_values(tables, Settings(cycle="2026-11"), months)
    # lag 1: 2026-09 |150 - 120| / 120 = 25% error; 2026-10 |80 - 100| / 100 = 20%
    assert _fa(values, "2026-09")["value"] == pytest.approx(0.75)
    assert _fa(values, "2026-10")["value"] == pytest.approx(0.80)
    assert "at lag 1" in _fa(values, "2026-10")["note"]
    actuals = actuals_by_series(tables["SalesActuals"], tables["Customers"])
    same = accuracy_at_lag(arc.normalise(tables["ForecastArchive"]), actuals, "2026-11", 1)
    assert same["forecast_accuracy"].tolist() == pytest.approx([0.75, 0.80])


def test_scorecard_lag_zero_and_no_archive_keep_todays_value() -> None:
    tables = _tables()
    lag0 = kpi_values(tables, Settings(cycle="2026-11", accuracy_lag=0), ["2026-09"])
    assert _fa(lag0, "2026-09")["value"] == pytest.approx(1 - 20 / 120)  # Forecast table
    tables["ForecastArchive"] = tables["ForecastArchive"].iloc[0:0]
    none = kpi_values(tables, Settings(cycle="2026-11"), ["2026-09"])
    assert _fa(none, "2026-09")["value"] == pytest.approx(1 - 20 / 120)
    assert "measured at lag 0: no forecast archive yet" in _fa(none, "2026-09")["note"]


def test_scorecard_month_without_archived_lag_has_no_value() -> None:
    values = kpi_values(_tables(), Settings(cycle="2026-11", accuracy_lag=2), ["2026-10"])
    row = _fa(values, "2026-10")  # the archive has no cycle 2026-08 forecast for 2026-10 at lag 2
    assert np.isnan(row["value"]) and "no forecast archived at lag 2" in row["note"]


# --- the demo, read back with calamine ------------------------------------------------------
def _sheet(book: CalamineWorkbook, name: str, header: str) -> pd.DataFrame:
    rows = book.get_sheet_by_name(name).to_python()
    i = next(k for k, r in enumerate(rows) if r and r[0] == header)
    return pd.DataFrame(rows[i + 1 :], columns=rows[i])


def test_demo_history_sheets_show_the_planted_story(demo_dir: Path) -> None:
    snap = next((demo_dir / "snapshots").glob("SOP_Plan_*.xlsx"))
    for path in (demo_dir / "SOP_Planning.xlsm", snap):  # the frozen plan shows them too
        book = CalamineWorkbook.from_path(str(path))
        lag = _sheet(book, "LagAccuracy", "Period")
        assert len(lag) == 12  # 12 past cycles: every closed month of the last year
        full = lag[lag["Accuracy Lag 3"] != ""]
        # accuracy falls with the lag, month by month on average
        means = [full[f"Accuracy Lag {k}"].astype(float).mean() for k in range(4)]
        assert means == sorted(means, reverse=True), means
        fva = _sheet(book, "FVADetail", "Scope Type")
        v = fva.set_index(["Scope Type", "Scope", "Stage"])
        assert v.loc[("Region", "EU", "Submission"), "Verdict"] == "hurts"
        assert v.loc[("Region", "EU", "Statistical"), "Verdict"] == "adds value"
        assert float(v.loc[("Region", "LATAM", "Submission"), "Bias %"]) > 0.15
        acts = _sheet(book, "ActionsCarried", "Flag")
        assert {"Overdue", "Reopened", "Missing", "Closed", "Carried"} <= set(acts["Flag"])
        stat_fc = _sheet(book, "StatForecast", "Region")
        assert stat_fc["Method"].str.startswith("Holt-Winters").all()
    with zipfile.ZipFile(demo_dir / "SOP_Planning.xlsm") as zf:
        charts = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/charts/chart")]
    assert any("Forecast accuracy by lag" in c for c in charts)
    assert any("Accuracy by forecasting step" in c for c in charts)
