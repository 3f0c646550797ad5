"""The xlwings Lite build: ``main.py`` imports in a clean interpreter with no sop_xl installed and
no xlwings Windows parts (a stub ``xlwings`` with only ``func``/``arg``), and every ``=SOP_...``
function returns what the Windows UDF returns for the argument shapes Lite passes: scalars,
lists (one row or column), lists of lists (blocks), None for blank cells, dates as serials."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sop_xl.cli import main as cli_main
from sop_xl.excel import udfs as u
from sop_xl.excel.lite import MODULES

A = [120.0, 95.0, None, 110.0, 0.0, 140.0]
F = [110.0, 100.0, 125.0, None, 10.0, 130.0]
BLOCK_A = [[120.0, 95.0, None], [110.0, 0.0, 140.0]]
DUE = [46083.0, 46083.0, 46086.0, None, 46090.0]  # Excel serials (Lite passes dates as numbers)
SHIP = [46081.0, 46085.0, 46086.0, 46090.0, None]
ORD, SHP = [10.0, 5.0, 8.0, 4.0, 6.0], [10.0, 5.0, 7.0, None, 6.0]

CASES = [
    ("SOP_MAE", [A, F]),
    ("SOP_MAE", [BLOCK_A, F]),
    ("SOP_MAE", [5.0, 3.0]),
    ("SOP_MAE", [[[1.0], [None]], [[2.0], [3.0]]]),
    ("SOP_MAPE", [A, F]),
    ("SOP_WMAPE", [A, F]),
    ("SOP_WMAPE", [A, F[:5]]),
    ("SOP_WMAPE", [[0.0, None], [1.0, 2.0]]),
    ("SOP_FORECAST_ACCURACY", [BLOCK_A, F]),
    ("SOP_BIAS", [A, F]),
    ("SOP_BIAS_PCT", [A, F]),
    ("SOP_RMSE", [A, F]),
    ("SOP_TRACKING_SIGNAL", [A, F]),
    ("SOP_MASE", [A, F, None, 2]),
    ("SOP_MASE", [A[3:], F[3:], A, 1.0]),
    ("SOP_FVA", [A, F, None, 1]),
    ("SOP_FVA", [A, F, [100.0] * 6, None]),
    ("SOP_INVENTORY_TURNS", [[400.0, 380.0], [1500.0, None, 1550.0], True]),
    ("SOP_DAYS_OF_SUPPLY", [[900.0, 1000.0], 1200.0, 31.0]),
    ("SOP_DAYS_OF_SUPPLY", [1000.0, 0.0, None]),
    ("SOP_FILL_RATE", [ORD, SHP, "line", None, None, None, None]),
    ("SOP_FILL_RATE", [ORD, SHP, "order", ["A", "A", "B", "B", "C"], DUE, SHIP, 2.0]),
    ("SOP_FILL_RATE", [ORD, SHP, "unit", None, DUE, SHIP, None]),
    ("SOP_OTD", [DUE, SHIP, None, None]),
    ("SOP_OTIF", [DUE, SHIP, ORD, SHP, 0.0, 3.0]),
    ("SOP_SCHEDULE_ATTAINMENT", [ORD, SHP, DUE, SHIP, None, False]),
    ("SOP_SCHEDULE_ADHERENCE", [DUE, SHIP, 1.0]),
    ("SOP_SCHEDULE_OTIF", [ORD, SHP, DUE, SHIP, 1.0]),
    ("SOP_VENDOR_OTD", [DUE, SHIP, None, None]),
    ("SOP_VENDOR_QTY_COMPLETE", [ORD, SHP]),
    ("SOP_GROSS_MARGIN_PCT", [[1000.0, None], [600.0]]),
    ("SOP_VARIANCE", [[1200.0, 300.0], 1000.0, "Cost", "favourable"]),
    ("SOP_VARIANCE_PCT", [1200.0, [1000.0, None], "Revenue", "raw"]),
    ("SOP_VARIANCE_PCT", [1200.0, 0.0, "Revenue", None]),
    ("SOP_KPI_INFO", ["wmape", None]),
    ("SOP_KPI_INFO", ["wmape", "unit"]),
    ("SOP_KPI_LIST", []),
    ("SOP_ACCURACY_TABLE", [[["N"], ["N"], ["S"], ["S"], ["S"], ["E"]], A, F]),
    ("SOP_ACCURACY_BY_LAG", [A, [[f, a] for f, a in zip(F, A, strict=True)], 1]),
    ("SOP_FVA_TABLE", [A, F, [100.0] * 6, None, None]),
]

_RUN = """
import json, sys
sys.path[:0] = [{stub!r}, {lite!r}]
import main
cases = json.loads(sys.stdin.read())
out = [getattr(main, name)(*args) for name, args in cases]
names = sorted(n for n in dir(main) if n.startswith("SOP_"))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in
               ("python_calamine", "win32com", "pywintypes", "openpyxl", "defusedxml"))
origin = [m for m in sys.modules if m.startswith("sop_xl")
          and type(sys.modules[m].__spec__.loader).__name__ != "_SopXlFinder"]
print(json.dumps({{"out": out, "names": names, "heavy": heavy, "origin": origin}}))
"""


def test_lite_main_gives_the_udfs_results_in_a_clean_interpreter(tmp_path):
    out = tmp_path / "lite"
    assert cli_main(["lite", "--out", str(out)]) == 0
    assert (out / "requirements.txt").read_text().split() == ["numpy", "pandas", "pydantic"]
    stub = tmp_path / "stub" / "xlwings"
    stub.mkdir(parents=True)
    # Lite's decorators: register and return the function; any options accepted.
    (stub / "__init__.py").write_text(
        "def func(f=None, **kw):\n    return f if f is not None else (lambda g: g)\n"
        "def arg(*a, **kw):\n    return lambda g: g\n"
        "def ret(*a, **kw):\n    return lambda g: g\n"
    )
    code = _RUN.format(stub=str(stub.parent), lite=str(out))
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code],  # -I: no PYTHONPATH, no cwd: sop_xl only from main.py
        input=json.dumps(CASES),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout)
    assert res["heavy"] == [], res["heavy"]
    assert res["origin"] == [], res["origin"]  # every sop_xl module came from main.py
    udf_names = sorted(n for n in dir(u) if n.startswith("SOP_"))
    assert res["names"] == udf_names
    assert {name for name, _ in CASES} == set(udf_names)  # every function called
    for (name, args), lite in zip(CASES, res["out"], strict=True):
        ours = json.loads(json.dumps(getattr(u, name)(*args)))
        assert lite == ours, (name, args)
    assert any(isinstance(v, str) and v.startswith("#SOP!") for v in res["out"])
    assert sum(isinstance(v, float) for v in res["out"]) >= 25  # mostly real numbers
    assert set(MODULES) >= {"sop_xl.kpi.forecast", "sop_xl.kpi.ops", "sop_xl.model.schema"}


def test_a_changed_udf_module_is_a_build_error(monkeypatch):
    # issue 19: these were bare ValueErrors, outside SopError (the CLI would print a traceback)
    from sop_xl.errors import BuildError
    from sop_xl.excel import lite

    monkeypatch.setattr(lite, "_source", lambda module: "from __future__ import annotations\n")
    with pytest.raises(BuildError, match="_R argument options changed"):
        lite.lite_main()
    monkeypatch.setattr(lite, "_source", lambda module: "x = 1\n")
    with pytest.raises(BuildError, match="lost its __future__ import"):
        lite.lite_main()
