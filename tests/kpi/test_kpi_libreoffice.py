"""Independent check of the KPI arithmetic: the textbook spreadsheet formulas, computed by
LibreOffice headless, give the same numbers as the =SOP_... functions."""

from __future__ import annotations

import openpyxl
import pytest
from conftest import convert

from sop_xl.excel import udfs as u

pytestmark = pytest.mark.libreoffice

# 24 months with a zero actual (month 5), a net return (month 9) and a promotion spike.
ACTUAL = [120, 95, 130, 110, 0, 140, 150, 160, -12, 105, 98, 300,
          125, 99, 128, 115, 7, 139, 151, 158, 20, 101, 97, 280]  # fmt: skip
FORECAST = [110, 100, 125, 120, 10, 130, 155, 150, 5, 110, 100, 250,
            120, 105, 130, 110, 5, 145, 150, 150, 15, 100, 100, 260]  # fmt: skip
COGS = [400.0, 380.0, 420.0]
INVENTORY = [1500.0, 1400.0, 1600.0, 1550.0]  # opening + three month-ends

FORMULAS = {
    "mae": "=SUMPRODUCT(ABS(B2:B25-A2:A25))/COUNT(A2:A25)",
    "wmape": "=SUMPRODUCT(ABS(B2:B25-A2:A25))/SUMPRODUCT(ABS(A2:A25))",
    "accuracy": "=MAX(0,1-SUMPRODUCT(ABS(B2:B25-A2:A25))/SUMPRODUCT(ABS(A2:A25)))",
    "mape": "=SUMPRODUCT((A2:A25<>0)*ABS(B2:B25-A2:A25)/(ABS(A2:A25)+(A2:A25=0)))"
    '/COUNTIF(A2:A25,"<>0")',
    "bias": "=SUM(B2:B25)-SUM(A2:A25)",
    "bias_pct": "=(SUM(B2:B25)-SUM(A2:A25))/SUM(A2:A25)",
    "rmse": "=SQRT(SUMXMY2(B2:B25,A2:A25)/COUNT(A2:A25))",
    "tracking_signal": "=(SUM(B2:B25)-SUM(A2:A25))/(SUMPRODUCT(ABS(B2:B25-A2:A25))/COUNT(A2:A25))",
    "mase": "=(SUMPRODUCT(ABS(B14:B25-A14:A25))/12)/(SUMPRODUCT(ABS(A14:A25-A2:A13))/12)",
    "turns": "=SUM(D2:D4)*12/COUNT(D2:D4)/AVERAGE(E2:E5)",
    "variance_pct_cost": "=(SUM(E2:E3)-SUM(D2:D3))/ABS(SUM(E2:E3))",
}


def test_textbook_formulas_in_libreoffice_match_the_udfs(soffice, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Actual", "Forecast", None, "COGS", "Inventory"])
    for i in range(24):
        ws.cell(row=i + 2, column=1, value=ACTUAL[i])
        ws.cell(row=i + 2, column=2, value=FORECAST[i])
    for i, v in enumerate(COGS):
        ws.cell(row=i + 2, column=4, value=v)
    for i, v in enumerate(INVENTORY):
        ws.cell(row=i + 2, column=5, value=v)
    for j, (name, formula) in enumerate(FORMULAS.items()):
        ws.cell(row=j + 2, column=7, value=name)
        ws.cell(row=j + 2, column=8, value=formula)
    src = tmp_path / "kpis.xlsx"
    wb.save(src)
    out = convert(soffice, src, "xlsx", tmp_path / "lo")
    calc = openpyxl.load_workbook(out, data_only=True).active
    lo = {calc.cell(row=j + 2, column=7).value: calc.cell(row=j + 2, column=8).value
          for j in range(len(FORMULAS))}  # fmt: skip
    assert all(isinstance(v, int | float) for v in lo.values()), lo

    a = [[float(x)] for x in ACTUAL]  # a column range as xlwings passes it
    f = [[float(x)] for x in FORECAST]
    ours = {
        "mae": u.SOP_MAE(a, f),
        "wmape": u.SOP_WMAPE(a, f),
        "accuracy": u.SOP_FORECAST_ACCURACY(a, f),
        "mape": u.SOP_MAPE(a, f),
        "bias": u.SOP_BIAS(a, f),
        "bias_pct": u.SOP_BIAS_PCT(a, f),
        "rmse": u.SOP_RMSE(a, f),
        "tracking_signal": u.SOP_TRACKING_SIGNAL(a, f),
        # MASE of the second year, scaled by the first-to-second year changes
        "mase": u.SOP_MASE(a[12:], f[12:], a, 12),
        "turns": u.SOP_INVENTORY_TURNS(COGS, INVENTORY, True),
        "variance_pct_cost": u.SOP_VARIANCE_PCT(COGS[:2], INVENTORY[:2], "Cost"),
    }
    for name, value in ours.items():
        assert value == pytest.approx(lo[name], rel=1e-9), name
