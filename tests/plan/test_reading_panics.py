"""A Rust panic inside python-calamine (pyo3 raises ``PanicException``, a BaseException that
``except Exception`` misses) while ``verify`` or ``diff`` reads a snapshot is a located, plain
finding or error naming the file, never a traceback; Ctrl+C still passes through. The reader's
own case is tests/io/test_reader_panics.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from test_snapshot import _sheet_part, build_master, forecast_rows
from test_snapshot_verify import rezip

from sop_xl import cli
from sop_xl.errors import InputFileError
from sop_xl.plan.snapshot import diff, freeze, verify


class PanicException(BaseException):  # pyo3's type has this name and base; it is not importable
    pass


@pytest.fixture
def two(tmp_path: Path):
    m = build_master(tmp_path / "SOP_Master.xlsm")
    a = freeze(m, approved_by="CFO")
    build_master(m, forecast=forecast_rows(scale=1.5))
    b = freeze(m, approved_by="CEO")
    return a, b


def _panic_on_sheets(monkeypatch, exc: BaseException | None = None):
    """Every calamine sheet read panics (the workbook itself still opens)."""
    exc = exc or PanicException("index out of bounds")

    def get(self, name):
        raise exc

    monkeypatch.setattr(CalamineWorkbook, "get_sheet_by_name", get)
    monkeypatch.setattr(CalamineWorkbook, "get_sheet_by_index", get)


def _panic_on_open(monkeypatch):
    def panic(*args, **kwargs):
        raise PanicException("chunk size must be non-zero")

    monkeypatch.setattr(CalamineWorkbook, "from_filelike", panic)
    monkeypatch.setattr(CalamineWorkbook, "from_path", panic)


def _edit_one_value(path: Path) -> None:
    def edit(parts):
        part = _sheet_part(parts, "Forecast")
        xml = parts[part].decode()
        parts[part] = xml.replace("<v>110</v>", "<v>111</v>", 1).encode()

    rezip(path, edit)


@pytest.mark.parametrize("panic", [_panic_on_sheets, _panic_on_open])
def test_verify_names_a_snapshot_calamine_panics_on(two, monkeypatch, panic) -> None:
    _, b = two
    _edit_one_value(b.path)  # an altered file: its values are read again
    panic(monkeypatch)
    rep = verify(b.path)
    assert not rep.ok
    assert any(b.path.name in p and "can no longer be read" in p for p in rep.problems), rep.text()


@pytest.mark.parametrize("panic", [_panic_on_sheets, _panic_on_open])
def test_verify_names_an_unaltered_snapshot_calamine_panics_on(two, monkeypatch, panic) -> None:
    a, _ = two
    panic(monkeypatch)  # byte-identical to the frozen file; only its Cover is read
    rep = verify(a.path)
    assert not rep.ok
    assert any(a.path.name in p and "can no longer be read" in p for p in rep.problems), rep.text()


@pytest.mark.parametrize("panic", [_panic_on_sheets, _panic_on_open])
def test_diff_names_the_file_calamine_panics_on(two, monkeypatch, tmp_path, panic) -> None:
    a, b = two
    panic(monkeypatch)
    with pytest.raises(InputFileError) as got:
        diff(a.path, b.path, tmp_path / "c.xlsx")
    assert got.value.where.file == str(a.path)
    assert "cannot be read" in got.value.message
    assert not (tmp_path / "c.xlsx").exists()


def test_the_cli_reports_a_panic_plainly(two, monkeypatch, tmp_path, capsys) -> None:
    a, b = two
    _edit_one_value(b.path)
    _panic_on_sheets(monkeypatch)
    code = cli.main(["verify", str(b.path)])
    out = capsys.readouterr()
    assert code == 1 and b.path.name in out.out and "can no longer be read" in out.out
    assert "Traceback" not in out.out + out.err
    code = cli.main(["diff", str(a.path), str(b.path), "--out", str(tmp_path / "c.xlsx")])
    out = capsys.readouterr()
    assert code == 2 and a.path.name in out.err and "cannot be read" in out.err
    assert "Traceback" not in out.out + out.err


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(3)])
def test_ctrl_c_is_not_taken_for_a_damaged_snapshot(two, monkeypatch, tmp_path, exc) -> None:
    a, b = two
    _edit_one_value(b.path)
    _panic_on_sheets(monkeypatch, exc)
    with pytest.raises(type(exc)):
        verify(b.path)
    with pytest.raises(type(exc)):
        diff(a.path, b.path, tmp_path / "c.xlsx")


def test_a_recalculated_copy_calamine_cannot_read_is_a_located_error(monkeypatch) -> None:
    """The freeze reads LibreOffice's recalculated copy with calamine too (formulas without
    saved values): a panic there names the master and says what to do."""
    import io

    import openpyxl

    from sop_xl.plan import freeze as fz

    _panic_on_sheets(monkeypatch)
    wb = openpyxl.Workbook()
    wb.active["A1"] = 1
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(fz.SopError) as err:
        fz._recalculated_values(buf.getvalue(), "SOP_Master.xlsm")
    assert err.value.where.file == "SOP_Master.xlsm" and "recalculated copy" in err.value.message
    assert "PanicException" in err.value.message and err.value.fix
    _panic_on_sheets(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        fz._recalculated_values(buf.getvalue(), "SOP_Master.xlsm")
