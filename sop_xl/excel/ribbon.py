"""The S&OP ribbon's macros: one per button, all reached through :func:`dispatch`.

Every button of the S&OP tab calls the VBA callback ``SOP_OnAction``, which runs
``sop_xl.excel.ribbon.dispatch(<the button's tag>)`` through xlwings' ``RunPython``. A macro is a
few lines: take the calling workbook, call the same :mod:`sop_xl.cycle` function the CLI calls,
and return the one-line summary shown to the planner. :func:`dispatch` does the rest for every
macro alike: status bar while it runs, a plain-language message at the end, and on any error a
message that says what went wrong and where the details are (the log file), never a traceback.

Log file (one per user, rotated at 1 MB): ``%LOCALAPPDATA%\\sop_xl\\logs\\sop_xl.log`` on
Windows, ``~/Library/Logs/sop_xl/sop_xl.log`` on macOS, ``~/.local/state/sop_xl/sop_xl.log``
elsewhere; ``SOP_XL_LOG_DIR`` overrides the folder.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import re
import subprocess
import sys
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sop_xl.errors import Location, MissingStep, SopError
from sop_xl.excel.xlbook import XlBook

if TYPE_CHECKING:
    from sop_xl.cycle import StepResult

Macro = Callable[[XlBook], str]

#: Ribbon tag -> macro. Every tag in sources/customUI14.xml has an entry, and vice versa.
MACROS: dict[str, Macro] = {}
#: Ribbon tag -> what the macro is doing, for the status bar and messages ("Computing KPIs").
DOING: dict[str, str] = {}

SNAPSHOT_GLOB = "SOP_Plan_*_v*.xlsx"
DOCS_FALLBACK = "docs/excel.md in the sop_xl source"


# --- seams the tests replace ----------------------------------------------------------------------
def _xlwings_caller() -> Any:
    import xlwings as xw

    return xw.Book.caller()


def _open_with_os(target: str) -> None:
    """Open a URL or a file with the user's default program."""
    if re.match(r"^[a-z]+://", target):
        webbrowser.open(target)
    elif sys.platform.startswith("win"):
        os.startfile(target)  # type: ignore[attr-defined]
    else:
        subprocess.Popen(["open" if sys.platform == "darwin" else "xdg-open", target])


def _alert_active_app(message: str) -> None:
    import xlwings as xw

    xw.apps.active.alert(message, title="S&OP", mode="critical")


#: Returns the xlwings Book that called the macro.
_caller: Callable[[], Any] = _xlwings_caller
#: Opens a URL or file (docs, log).
_open: Callable[[str], None] = _open_with_os


# --- log file -------------------------------------------------------------------------------------
def log_dir() -> Path:
    """Folder of the log file for this user and OS."""
    if os.environ.get("SOP_XL_LOG_DIR"):
        return Path(os.environ["SOP_XL_LOG_DIR"])
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "sop_xl" / "logs"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / "sop_xl"
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "sop_xl"


def log_path() -> Path:
    return log_dir() / "sop_xl.log"


def logger() -> logging.Logger:
    """The ``sop_xl.excel`` logger, writing to :func:`log_path` (re-pointed if that changed)."""
    log = logging.getLogger("sop_xl.excel")
    log.setLevel(logging.INFO)
    path = log_path()
    handlers = [h for h in log.handlers if getattr(h, "_sop_xl", False)]
    if handlers and Path(handlers[0].baseFilename) == path.resolve():  # type: ignore[attr-defined]
        return log
    for h in handlers:
        log.removeHandler(h)
        h.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler._sop_xl = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    return log


# --- dispatch -------------------------------------------------------------------------------------
#: How a user gets the sop_xl that matches a workbook (not on PyPI yet: ``pip install -U sop-xl``
#: fails), in the words of docs/excel.md's *Installing*.
REINSTALL = (
    "install sop_xl from the release folder this workbook came with, into the same venv "
    "(pip install sop_xl-<version>-py3-none-any.whl; docs/excel.md, Installing)"
)


def dispatch(tag: str) -> None:
    """Run the macro of the ribbon button whose tag is ``tag`` on the calling workbook."""
    try:
        book = XlBook(_caller())
    except Exception as exc:  # not called from a workbook, or Excel refused: still no traceback
        log = _safe_logger()
        if log:
            log.exception("%s: no calling workbook", tag)
        _alert_active_app(error_message("Finding the workbook", exc, log_path() if log else None))
        return
    macro = MACROS.get(tag)
    if macro is None:
        book.alert(
            f"This S&OP button ('{tag}') is not known to the installed sop_xl.\n\n"
            "The workbook and sop_xl are probably from different versions: "
            f"{REINSTALL}, or use the workbook that came with your sop_xl.",
            error=True,
        )
        return
    doing = DOING.get(tag, tag)
    log = _safe_logger()
    if log:
        log.info("%s: start on %s", tag, book.fullname)
    try:
        if tag in WRITES:
            refuse_frozen(book)
        book.progress(f"{doing}...")
        summary = macro(book)
    except Exception as exc:
        if log:
            log.exception("%s: failed on %s", tag, book.fullname)
        _quietly(book.clear_status)
        book.alert(error_message(doing, exc, log_path() if log else None), error=True)
        return
    _quietly(book.clear_status)
    if log:
        log.info("%s: done: %s", tag, summary)
    if summary:
        book.alert(summary)


def error_message(doing: str, exc: BaseException, log_file: Path | None) -> str:
    """The message box text for a failed macro: what, why, what next; never a traceback."""
    details = (
        f"Technical details are in the log file:\n{log_file}"
        if log_file
        else "No log file could be written."
    )
    if isinstance(exc, SopError):
        return f"{doing} stopped.\n\n{exc}\n\n{details}"
    if isinstance(exc, PermissionError):
        return (
            f"{doing} stopped: a file could not be written ({_first_line(exc)}).\n\n"
            "Close it in Excel or other programs, check you may write to its folder, "
            f"and try again.\n\n{details}"
        )
    return (
        f"{doing} stopped because of an unexpected problem "
        f"({type(exc).__name__}: {_first_line(exc)}).\n\n"
        "If a sheet looks incomplete, close the workbook without saving.\n\n"
        f"{details}\nPlease send the log file to whoever supports sop_xl."
    )


def _first_line(exc: BaseException) -> str:
    arg = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    text = arg.strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= 200 else line[:197] + "..."


def _safe_logger() -> logging.Logger | None:
    try:
        return logger()
    except OSError:  # no writable log folder: still run the step
        return None


def _quietly(fn: Callable[[], None]) -> None:
    # The status bar is cosmetic: never hide the real message behind a failure to reset it.
    with contextlib.suppress(Exception):
        fn()


#: Buttons that write into the calling workbook (or freeze it): refused on a frozen plan.
WRITES = frozenset({"validate", "consolidate", "variances", "kpis", "scorecard", "freeze"})


def refuse_frozen(book: XlBook) -> None:
    """Stop when the calling workbook is a frozen plan snapshot (the same test as the CLI's)."""
    from sop_xl.io.guard import frozen_marks
    from sop_xl.io.guard import refuse_frozen as refuse

    path = Path(book.fullname)
    marks = frozen_marks(path) if path.is_absolute() and path.is_file() else []
    refuse(marks, book.name, "write into it")


# --- helpers the macros share ---------------------------------------------------------------------
def macro(tag: str, doing: str) -> Callable[[Macro], Macro]:
    """Register a macro under its ribbon tag."""

    def register(fn: Macro) -> Macro:
        MACROS[tag] = fn
        DOING[tag] = doing
        return fn

    return register


def step(name: str) -> Callable[..., Any]:
    """The cycle function ``name``, imported now so a missing one gives a message, not a crash."""
    try:
        from sop_xl import cycle
    except ImportError as exc:
        raise MissingStep(
            f"sop_xl's cycle steps cannot be loaded ({exc}).",
            fix=f"{REINSTALL[0].upper()}{REINSTALL[1:]}.",
        ) from exc
    fn = getattr(cycle, name, None)
    if fn is None:
        raise MissingStep(
            f"this installation of sop_xl has no '{name}' step.",
            fix=f"{REINSTALL[0].upper()}{REINSTALL[1:]}.",
        )
    return fn


def summary(result: StepResult) -> str:
    """The plain-language line of a step result."""
    return result.summary or "Done."


def folder(book: XlBook) -> Path:
    """The saved workbook's folder; steps put their files next to the workbook."""
    full = Path(book.fullname)
    if not full.is_absolute() or not full.parent.is_dir():
        raise SopError(
            "this workbook has not been saved to a folder yet.",
            where=Location(file=book.name),
            fix="Save it (File > Save As) to a folder on your computer or a synced drive, "
            "then click the button again.",
        )
    return full.parent


def snapshots(book: XlBook) -> Path:
    return folder(book) / "snapshots"


def _plan_version(path: Path) -> tuple[str, int]:
    m = re.match(r"SOP_Plan_(.+)_v(\d+)$", path.stem)
    return (m.group(1), int(m.group(2))) if m else ("", -1)


def _safe_name(text: Any) -> str:
    return re.sub(r"[^\w.-]+", "_", str(text)).strip("._") or "region"


# --- the macros -----------------------------------------------------------------------------------
@macro("validate", "Validating the inputs")
def validate(book: XlBook) -> str:
    return summary(step("validate")(book))


@macro("consolidate", "Consolidating the regional forecasts")
def consolidate(book: XlBook) -> str:
    run = step("consolidate")
    folder(book)  # a saved workbook: its submissions folder sits next to it
    submissions = step("submissions_folder")(Path(book.fullname))  # the CLI's default too
    if not submissions.is_dir():
        submissions.mkdir(parents=True)
        raise SopError(
            f"there is no regional forecast file yet: the folder {submissions} was just created.",
            fix="Save the regional forecast files the regions sent you in that folder, "
            "then click Consolidate Forecasts again.",
        )
    return summary(run(book, submissions))


@macro("regional_template", "Creating the regional forecast templates")
def regional_template(book: XlBook) -> str:
    from sop_xl.model.schema import REGIONS

    make = step("regional_template")
    out_dir = folder(book) / "regional_templates"
    regions = [r for r in book.read_table(REGIONS)["region"].dropna().unique()]
    if not regions:
        raise SopError(
            "the Regions table is empty.",
            where=Location(file=book.name, sheet=REGIONS.sheet, table=REGIONS.name),
            fix="Add one row per sales region, then click the button again.",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    made, kept = [], []
    for i, region in enumerate(regions):
        out = out_dir / f"Forecast_{_safe_name(region)}.xlsx"
        if out.exists():  # never overwrite: a planner may already be filling it in
            kept.append(out.name)
            continue
        book.progress(f"Template for region {region}", i / len(regions))
        make(book, str(region), out)
        made.append(out.name)
    lines = [f"{len(made)} regional template(s) created in {out_dir}."]
    if made:
        lines.append("New: " + ", ".join(made))
    if kept:
        lines.append("Kept (already there, not overwritten): " + ", ".join(kept))
    return "\n".join(lines)


@macro("variances", "Computing the variances")
def variances(book: XlBook) -> str:
    return summary(step("variances")(book))


@macro("kpis", "Computing the KPIs")
def kpis(book: XlBook) -> str:
    return summary(step("kpis")(book))


@macro("supply", "Running the supply review")
def supply(book: XlBook) -> str:
    return summary(step("supply")(book))


@macro("history", "Plan history: baseline, accuracy by lag, FVA, actions")
def history(book: XlBook) -> str:
    return summary(step("history")(book))


@macro("scenarios", "Running the scenarios")
def scenarios(book: XlBook) -> str:
    return summary(step("scenarios")(book))


@macro("outlook", "Computing the financial outlook")
def outlook(book: XlBook) -> str:
    return summary(step("outlook")(book))


@macro("executive_summary", "Writing the Executive Summary")
def executive_summary(book: XlBook) -> str:
    return summary(step("executive_summary")(book))


@macro("scorecard", "Building the scorecard")
def scorecard(book: XlBook) -> str:
    return summary(step("scorecard")(book))


@macro("freeze", "Freezing the plan")
def freeze(book: XlBook) -> str:
    freeze_step = step("freeze")
    path = Path(book.fullname)
    folder(book)  # must be a saved file: the file is what gets frozen
    book.progress("Saving the workbook")
    book.save()
    result = freeze_step(path, approved_by=step("user")(), progress=book.progress)
    return summary(result)


@macro("diff", "Comparing the plan versions")
def diff(book: XlBook) -> str:
    compare = step("diff")
    snaps = snapshots(book)
    plans = sorted(snaps.glob(SNAPSHOT_GLOB), key=_plan_version) if snaps.is_dir() else []
    if len(plans) < 2:
        raise SopError(
            f"there are {len(plans)} frozen plan(s) in {snaps}; two are needed to compare.",
            fix="Freeze the plan (Freeze Plan button) after each S&OP meeting.",
        )
    a, b = plans[-2], plans[-1]
    out = snaps / f"Compare_{a.stem}_vs_{b.stem}.xlsx"
    return summary(compare(a, b, out))  # names the change report


@macro("verify", "Verifying the frozen plans")
def verify(book: XlBook) -> str:
    check = step("verify")
    snaps = snapshots(book)
    if not snaps.is_dir():
        raise SopError(
            f"there is no snapshots folder next to this workbook ({snaps}).",
            fix="Freeze the plan first (Freeze Plan button).",
        )
    return summary(check(snaps))


@macro("about", "About sop_xl")
def about(book: XlBook) -> str:
    import platform

    return "\n".join(
        [
            f"sop_xl {_version('sop-xl')} - open-source S&OP for Excel",
            f"xlwings {_version('xlwings')}, Python {platform.python_version()}",
            f"Python: {sys.executable}",
            f"Workbook: {book.fullname}",
            f"Log file: {log_path()}",
        ]
    )


@macro("docs", "Opening the documentation")
def docs(book: XlBook) -> str:
    url = docs_url()
    if url is None:
        return f"The user guide is {DOCS_FALLBACK} (docs/excel.md, docs/workbook.md)."
    _open(url)
    return ""


@macro("log", "Opening the log file")
def open_log(book: XlBook) -> str:
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
    _open(str(path))
    return ""


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def docs_url() -> str | None:
    """The documentation: the package's 'Documentation' URL, else docs/ next to the source."""
    from importlib import metadata

    try:
        for entry in metadata.metadata("sop-xl").get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            if label.strip().casefold() in ("documentation", "docs"):
                return url.strip()
    except metadata.PackageNotFoundError:
        pass
    local = Path(__file__).resolve().parents[2] / "docs" / "excel.md"
    return str(local) if local.is_file() else None
