"""Where details go that a user should not have to read: one log file per user.

Windows: ``%LOCALAPPDATA%\\sop_xl\\logs\\sop_xl.log``; macOS: ``~/Library/Logs/sop_xl/sop_xl.log``;
elsewhere ``$XDG_STATE_HOME/sop_xl/sop_xl.log`` (default ``~/.local/state``). ``SOP_XL_LOG_DIR``
overrides all of them.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path


def log_dir() -> Path:
    if os.environ.get("SOP_XL_LOG_DIR"):
        return Path(os.environ["SOP_XL_LOG_DIR"])
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "sop_xl" / "logs"
    if sys.platform == "darwin":
        return home / "Library" / "Logs" / "sop_xl"
    return Path(os.environ.get("XDG_STATE_HOME", home / ".local" / "state")) / "sop_xl"


def log_path() -> Path:
    return log_dir() / "sop_xl.log"


def write_traceback(text: str, context: str = "") -> Path:
    """Append a timestamped traceback to the log; return the log's path."""
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"--- {stamp} {context}\n{text}\n")
    except OSError:
        pass
    return path
