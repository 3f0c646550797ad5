"""What every workbook sop_xl saves through openpyxl gets: numbers that read back exactly."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from sop_xl.io.xlsx.openpyxl_fixes import save

#: openpyxl 3.1 writes these with "%.16g": 0.01133725592821145, 317789.3000000005, 0.1 + 0.2 as
#: 0.3000000000000000, each another double than the one in the cell
NEEDS_17_DIGITS = [
    0.011337255928211448,
    317789.30000000045,
    0.1 + 0.2,
    2.0**-1074,
    1.7976931348623157e308,
]


def _saved(tmp_path: Path, values: list[float]) -> Path:
    wb = openpyxl.Workbook()
    for i, v in enumerate(values, start=1):
        wb.active.cell(row=i, column=1, value=v)
    path = tmp_path / "n.xlsx"
    save(wb, path)
    return path


def test_numbers_that_need_17_digits_read_back_exactly(tmp_path: Path) -> None:
    path = _saved(tmp_path, NEEDS_17_DIGITS)
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert [float(v) for v in re.findall(r"<v>([^<]*)</v>", xml)] == NEEDS_17_DIGITS
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert [r[0] for r in rows] == NEEDS_17_DIGITS  # an independent reader
    assert [c.value for c in openpyxl.load_workbook(path).active["A"]] == NEEDS_17_DIGITS


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
def test_any_finite_double_round_trips(tmp_path_factory, values: list[float]) -> None:
    path = _saved(tmp_path_factory.mktemp("n"), values)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    got = [r[0] for r in rows]
    # -0.0 is 0 in a spreadsheet; calamine gives whole numbers as int
    assert [float(g) for g in got] == [v + 0.0 for v in values]
