"""sop_xl's own helper processes: one switch, one way to start them.

Three kinds of work run in a second Python process: input tables read while the click reads the
others (:mod:`sop_xl.io.prefetch`; the click waits for them), half the sheets of a freeze's
content hash (:mod:`sop_xl.plan.hash_helper`; the freeze waits for them) and the statistical
baseline fitted ahead of the history step (:mod:`sop_xl.background`; nobody waits). Both start
``python -m <module> <args>`` here, quietly (no console window, no output), and both are switched
off together by ``SOP_XL_BACKGROUND=off`` (the test suite, a scheduler that wants one process):
the work is then done in the click's own process, with the same result.
"""

from __future__ import annotations

import os
import subprocess
import sys


def enabled() -> bool:
    """False when ``SOP_XL_BACKGROUND=off``, or where there is no interpreter to start."""
    switch = os.environ.get("SOP_XL_BACKGROUND", "").strip().lower()
    return switch != "off" and bool(sys.executable)


def start(
    module: str,
    args: list[str],
    *,
    low_priority: bool = False,
    pipe: bool = False,
    output: bool = False,
) -> subprocess.Popen | None:
    """Start ``python -m module *args``; None when helpers are off or no process can be
    started (Excel on the web). ``low_priority``: below the user's clicks, and not ended with
    the process that started it (work nobody waits for). ``pipe``: its standard input is a pipe
    (the work is written to it later). ``output``: its standard output is a pipe too (the
    answer is read from it)."""
    if not enabled():
        return None
    options: dict = {}
    if sys.platform == "win32":
        flags = subprocess.CREATE_NO_WINDOW
        if low_priority:
            flags |= subprocess.BELOW_NORMAL_PRIORITY_CLASS
        options["creationflags"] = flags
    elif low_priority:
        options.update(start_new_session=True, preexec_fn=lambda: os.nice(10))
    try:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE if pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE if output else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            **options,
        )
    except (OSError, ValueError):
        return None
