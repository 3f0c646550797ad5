"""A Rust panic inside python-calamine (pyo3 raises it as ``PanicException``, a BaseException)
becomes a located, plain-language InputFileError like calamine's other errors; Ctrl+C and exits
still pass through."""

from __future__ import annotations

import pytest

from sop_xl.errors import InputFileError
from sop_xl.io import reader


class PanicException(BaseException):  # pyo3's type has this name and base; it is not importable
    pass


def _raise(exc: BaseException):
    def fn():
        raise exc

    return fn


def test_a_calamine_panic_while_reading_a_sheet_is_a_located_input_error() -> None:
    with pytest.raises(InputFileError) as got:
        reader._calamine_call(_raise(PanicException("chunk size must be non-zero")), "a.xlsx", "S")
    assert got.value.where.sheet == "S" and got.value.where.file == "a.xlsx"
    assert "chunk size must be non-zero" in got.value.message


def test_a_calamine_panic_while_opening_is_an_input_error(monkeypatch, tmp_path) -> None:
    def panic(*args, **kwargs):
        raise PanicException("index out of bounds")

    monkeypatch.setattr(reader.pc.CalamineWorkbook, "from_path", panic)
    with pytest.raises(InputFileError, match="cannot be read"):
        reader.open_calamine(tmp_path / "x.xlsx")


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(3)])
def test_ctrl_c_and_exit_are_not_taken_for_a_damaged_file(exc: BaseException) -> None:
    with pytest.raises(type(exc)):
        reader._calamine_call(_raise(exc), "a.xlsx", "S")
