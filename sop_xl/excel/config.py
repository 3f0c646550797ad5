"""Tell the S&OP workbook and add-in which Python to run (one small file per user).

The workbook's VBA (xlwings' module, PROJECT_NAME ``sop_xl``) looks for its settings in this
order: a ``sop_xl.conf`` sheet in the workbook, a ``sop_xl.conf`` file next to the workbook, then
the user's file written here:

- Windows: ``%USERPROFILE%\\.sop_xl\\sop_xl.conf``
- macOS: ``~/Library/Containers/com.microsoft.Excel/Data/sop_xl.conf`` (Excel's sandbox)

The file has xlwings' format, one ``"KEY","value"`` line per setting (``INTERPRETER_WIN`` /
``INTERPRETER_MAC``: the Python that has sop_xl installed; see xlwings' docs for the others).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sop_xl.errors import ArgumentError, Location
from sop_xl.io.files import atomic_path

CONFIG_NAME = "sop_xl.conf"


def user_config_path(platform: str | None = None, home: Path | None = None) -> Path:
    """Where the workbook's VBA looks for this user's settings."""
    platform = platform or sys.platform
    home = home or Path.home()
    if platform == "darwin":
        return home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / CONFIG_NAME
    return home / ".sop_xl" / CONFIG_NAME


def read_user_config(path: Path) -> dict[str, str]:
    """The settings in an xlwings-format config file (missing file: none)."""
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition(",")
        if sep:
            out[key.strip().strip('"')] = value.strip().strip('"')
    return out


def write_user_config(
    interpreter: str | None = None,
    *,
    platform: str | None = None,
    home: Path | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """Record ``interpreter`` (default: this Python) for Excel; keeps other settings there.

    Run it from the Python that has sop_xl installed (``sop-xl excel-setup``). Returns the path.
    """
    platform = platform or sys.platform
    path = user_config_path(platform, home)
    key = "INTERPRETER_MAC" if platform == "darwin" else "INTERPRETER_WIN"
    settings = read_user_config(path)
    settings[key] = interpreter or sys.executable
    settings.update(extra or {})
    for k, v in settings.items():
        if '"' in k or '"' in v or "\n" in v:
            raise ArgumentError(
                f"setting {k!r} cannot contain quotes or line breaks.",
                where=Location(file=str(path)),
                fix="Give the value without double quotes or line breaks.",
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    # VBA reads the file as ANSI on Windows (as xlwings' own config file is written).
    encoding = "cp1252" if platform.startswith("win") else "utf-8"
    with atomic_path(path) as tmp:
        tmp.write_text("".join(f'"{k}","{v}"\n' for k, v in settings.items()), encoding=encoding)
    return path
