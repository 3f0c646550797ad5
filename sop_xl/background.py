"""Work started ahead of the click that needs it, in a background process.

The statistical baseline of the history step fits a Holt-Winters model per region x family on
the closed months' sales. Those change once a month, when new actuals come in, and the fit with
its statsmodels import costs about 2 s: the history click (and the cycle) used to pay it on the
first run of each month. Validation has every table the fit needs, so once the inputs are valid
:func:`start_baseline` hands the fit's input to a background Python process
(``python -m sop_xl.background KEY``) and returns at once. That process fits the baseline at low
priority and keeps it in the result store under the key the history step looks up
(:func:`sop_xl.history.step.baseline_fit`); a history step that comes before it is done waits for
it (:meth:`sop_xl.io.tablestore.ResultStore.announce`), at most
:data:`~sop_xl.io.tablestore.PENDING_SECONDS`, then fits on its own.

The background process never opens the workbook: the fit's input travels through the result store
(so the master stays free for the next click's write, also on Windows, and the Excel path works
the same). Nothing starts when the store is off (``SOP_XL_CACHE_DIR=off``), when
``SOP_XL_BACKGROUND=off`` (:func:`sop_xl.io.spawn.enabled`), when the baseline is already kept,
or where processes cannot be started (Excel on the web); the history step then fits as before.
The result is the same either way: the key is a digest of the fit's input, the settings and the
library versions.
"""

from __future__ import annotations

import subprocess
import sys
import traceback

import pandas as pd

from sop_xl import logs
from sop_xl.io import spawn
from sop_xl.io.tablestore import ResultStore
from sop_xl.model.schema import Settings

#: The result-store key prefix under which the fit's input waits for the background process.
INPUT = "baseline-input:"


def start_baseline(
    tables: dict[str, pd.DataFrame], settings: Settings, store: ResultStore
) -> subprocess.Popen | None:
    """Start fitting the statistical baseline of ``tables`` (by alias) in the background; the
    process, or None when nothing was started (see the module docstring)."""
    from sop_xl.history.step import baseline_fit

    if not spawn.enabled():
        return None
    fit, key = baseline_fit(tables, settings)
    if key is None or store.has(key):  # kept already, or another process is fitting it
        return None
    facts = {"cycle": settings.cycle, "horizon": settings.horizon_months}
    store.put(INPUT + key, fit, facts)
    marker = store.announce(key)
    if marker is None:
        return None
    process = spawn.start("sop_xl.background", [key], low_priority=True)
    if process is None:
        marker.unlink(missing_ok=True)
    return process


def fit_baseline(key: str, store: ResultStore) -> bool:
    """The background process's work: fit the baseline whose input was kept under ``key``;
    True when the result is in the store."""
    from sop_xl.history.baseline import statistical_baseline
    from sop_xl.history.step import baseline_key

    marker = store.announce(key)
    try:
        got = store.get(INPUT + key)
        if got is None:
            return False
        fit, facts = got
        cycle, horizon = str(facts["cycle"]), int(facts["horizon"])
        if baseline_key(fit, cycle, horizon) != key:  # not what was announced: do nothing
            return False
        store.put(key, statistical_baseline(fit, cycle, horizon), {})
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)
    return store.has(key)


def main(argv: list[str] | None = None) -> int:
    """``python -m sop_xl.background KEY``: quiet; the exit code says whether it worked."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        return 2
    try:
        return 0 if fit_baseline(args[0], ResultStore()) else 1
    except Exception:  # nobody sees this process: the details go to the log, the step fits
        logs.write_traceback(traceback.format_exc(), "background baseline fit")
        return 1


if __name__ == "__main__":
    sys.exit(main())
