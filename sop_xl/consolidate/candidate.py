"""Candidates: finding the submission files, reading their stamps, choosing one per region.

- :func:`collect` lists the files of the submission folder and the master's ``Forecast_<REGION>``
  sheets;
- :func:`read` guards and reads each one (:func:`sop_xl.io.guard.check_workbook_file` first) and
  :func:`identify` reads its stamp (rules ``stamp.*``);
- :func:`resolve` counts identical files once (``file.duplicate``), applies the cutoff
  (``cutoff.late``) and keeps the highest Submission Version of each region
  (``version.superseded``, ``version.tie``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from sop_xl.consolidate.rules import Candidate, add_finding, short
from sop_xl.consolidate.submission import MasterData, read_submission
from sop_xl.errors import Finding, InputFileError, Location, SopError, StepError
from sop_xl.io.guard import check_workbook_file
from sop_xl.model import schema
from sop_xl.model.book import Book
from sop_xl.model.schema import Settings


def submission_files(folder: Path, *, exclude: Iterable[Path] = ()) -> list[Path]:
    """Every regular file of ``folder`` (not recursive), sorted, without Excel lock files
    (``~$...``), hidden files and ``exclude`` (the master itself)."""
    skip = {Path(p).resolve() for p in exclude}
    out = []
    for p in sorted(Path(folder).iterdir()):
        if not p.is_file() or p.name.startswith((".", "~$")) or p.resolve() in skip:
            continue
        out.append(p)
    return out


def _as_int(v: object) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float) and not (isinstance(v, float) and np.isnan(v)):
        return int(v) if float(v).is_integer() else None
    if isinstance(v, str) and re.fullmatch(r"\s*v?\d+\s*", v, re.I):
        return int(v.strip().lstrip("vV"))
    return None


def _as_datetime(v: object) -> dt.datetime | None:
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, int | float) and not isinstance(v, bool) and 20000 < float(v) < 80000:
        return dt.datetime(1899, 12, 30) + dt.timedelta(days=float(v))  # Excel serial
    if isinstance(v, str) and v.strip():
        try:
            t = pd.Timestamp(v.strip())
        except (ValueError, TypeError):
            return None
        if pd.isna(t):
            return None
        return t.tz_localize(None).to_pydatetime() if t.tzinfo else t.to_pydatetime()
    return None


def identify(c: Candidate, m: MasterData, now: dt.datetime) -> None:
    """Region, version, submitter and received-at from the stamp (with findings)."""
    assert c.sub is not None
    st = c.sub.stamp
    fix_template = (
        "Use the regional template made for your region (sop-xl regional-template REGION) and "
        "copy your numbers into it; do not delete its Stamp sheet."
    )
    region = st.get("region")
    region = None if region in (None, "") else str(region).strip()
    if region is None:
        add_finding(
            c,
            "stamp.missing",
            "the workbook has no submission stamp, so its region is unknown.",
            fix_template,
            sheet=False,
        )
    elif region not in m.region_codes:
        add_finding(
            c,
            "stamp.region_unknown",
            f"the stamp names region '{short(region)}', which is not "
            f"in the Regions table ({', '.join(m.region_codes)}).",
            fix_template,
            sheet=False,
        )
    else:
        c.region = region
    cycle = st.get("cycle")
    if region is not None and cycle not in (None, "") and str(cycle).strip() != m.settings.cycle:
        add_finding(
            c,
            "stamp.cycle",
            f"this template is for cycle {short(cycle)}, but the current cycle "
            f"is {m.settings.cycle}.",
            "Download this cycle's template and enter the forecast in it.",
            sheet=False,
        )
    tv = st.get("template_version")
    if tv not in (None, "") and str(_as_int(tv) or tv) != schema.SUBMISSION_TEMPLATE_VERSION:
        add_finding(
            c,
            "stamp.template_version",
            f"template layout version {short(tv)} differs from the "
            f"current version {schema.SUBMISSION_TEMPLATE_VERSION}.",
            "Use the current template next time.",
            sheet=False,
        )
    v = st.get("version")
    version = _as_int(v)
    if v in (None, "") or version is None or version < 1:
        if region is not None:
            add_finding(
                c,
                "stamp.version",
                f"Submission Version '{'' if v in (None, '') else short(v)}'"
                " is not a whole number of 1 or more; it counts as version 0 (any numbered "
                "version wins over it).",
                "Type 1 for the first submission and raise it by 1 each time you resend.",
                sheet=False,
            )
        version = 0
    c.version = version
    by = st.get("submitted_by")
    c.submitted_by = "" if by in (None, "") else str(by).strip()
    if not c.submitted_by and region is not None:
        add_finding(
            c,
            "stamp.submitted_by",
            "Submitted By is blank.",
            "Type your name in the Stamp sheet so questions reach you.",
            sheet=False,
        )
    at_raw = st.get("submitted_at")
    at = _as_datetime(at_raw)
    mtime = dt.datetime.fromtimestamp(c.path.stat().st_mtime).replace(microsecond=0)
    if at is not None and at > now + dt.timedelta(days=1):
        add_finding(
            c,
            "stamp.submitted_at",
            f"Submitted At {at:%Y-%m-%d %H:%M} is in the future; the "
            f"file time {mtime:%Y-%m-%d %H:%M} is used instead.",
            "Type the real date and time you submit.",
            sheet=False,
        )
        at = None
    elif at is None and at_raw not in (None, ""):
        add_finding(
            c,
            "stamp.submitted_at",
            f"Submitted At '{short(at_raw)}' is not a date and time; "
            f"the file time {mtime:%Y-%m-%d %H:%M} is used instead.",
            "Type it as yyyy-mm-dd hh:mm.",
            sheet=False,
        )
    if at is not None:
        c.received_at, c.received_from = at, "stamp"
    else:
        c.received_at, c.received_from = mtime, "file time"


def collect(book: Book, folder: Path | None, report: Path | None = None) -> list[Candidate]:
    """Every submission file of ``folder`` (without the master and the report) and every
    ``Forecast_<REGION>`` sheet of the master, as candidates not read yet."""
    cands: list[Candidate] = []
    master_path = Path(book.path) if book.path is not None else None
    if folder is not None:
        folder = Path(folder)
        if not folder.is_dir():
            raise StepError(
                f"the submission folder {folder} does not exist.",
                where=Location(file=str(folder)),
                fix="Create it and put the regions' workbooks in it, or pass --folder.",
            )
        excl = [p for p in (master_path, report) if p is not None]
        cands.extend(Candidate(p) for p in submission_files(folder, exclude=excl))
    if master_path is not None and master_path.is_file():
        for s in book.sheet_names():
            mt = re.fullmatch(r"Forecast_(.+)", s)
            if mt:
                cands.append(Candidate(master_path, sheet=s, region=mt.group(1)))
    return cands


def read(c: Candidate, m: MasterData, now: dt.datetime) -> None:
    """Guard and read the file of ``c``, then identify it from its stamp; a file that cannot be
    read safely gets status *unreadable* and a ``file.unreadable`` finding."""
    try:
        info = check_workbook_file(c.path)
        c.sha256 = info.sha256
        if c.sheet:  # a regional sheet inside the master
            st = {"region": c.region, "cycle": m.settings.cycle, "version": 0, "submitted_at": None}
            c.region = None
            c.sub = read_submission(c.path, info=info, sheet=c.sheet, stamp=st)
        else:
            c.sub = read_submission(c.path, info=info)
    except InputFileError as exc:
        c.status, c.reason = "unreadable", exc.message
        c.findings.append(
            Finding(
                "error",
                exc.message,
                Location(file=str(c.path), sheet=exc.where.sheet if exc.where else None),
                exc.fix or "",
                "file.unreadable",
            )
        )
        return
    except SopError as exc:
        c.status, c.reason = "unreadable", exc.message
        c.findings.append(
            Finding("error", exc.message, exc.where, exc.fix or "", "file.unreadable")
        )
        return
    except Exception as exc:
        detail = " ".join(str(exc).split())[:120] or type(exc).__name__
        c.status, c.reason = "unreadable", f"the workbook is damaged and cannot be read ({detail})."
        c.findings.append(
            Finding(
                "error",
                c.reason,
                Location(file=str(c.path)),
                "Open it in Excel, save it as .xlsx and submit again.",
                "file.unreadable",
            )
        )
        return
    if info.has_macros:
        add_finding(
            c,
            "file.macros",
            "macro-enabled workbook: it was read as data only; its macros were not run.",
            "Save as 'Excel Workbook (*.xlsx)' next time.",
            sheet=False,
        )
    identify(c, m, now)
    if c.sheet:
        c.received_from = "master sheet"


def resolve(readable: list[Candidate], settings: Settings) -> dict[str, Candidate]:
    """Statuses *duplicate*, *late (ignored)*, *superseded* and *rejected* (region unknown) on the
    readable candidates; returns the chosen candidate of each region.

    Identical files (same SHA-256) count once; under the ``reject`` late policy files received
    after the cutoff are ignored; then the highest Submission Version wins, for equal versions
    the later Received At, then the file name.
    """
    by_hash: dict[str, Candidate] = {}
    for c in readable:
        if c.sheet or not c.sha256:
            continue
        first = by_hash.setdefault(c.sha256, c)
        if first is not c:
            c.status, c.reason = "duplicate", f"same content as {first.name}"
            add_finding(
                c,
                "file.duplicate",
                f"identical to {first.name} (same SHA-256 "
                f"{c.sha256[:12]}...); counted once, this copy was ignored.",
                "Nothing to do; send each version once.",
                sheet=False,
            )
    for c in readable:
        if c.status:
            continue
        if c.region is None:
            c.status, c.reason = "rejected", "region unknown (stamp)"
            continue
        c.late = c.received_at is not None and c.received_at > settings.forecast_cutoff
        if c.late:
            reject = settings.late_submission_policy == "reject"
            add_finding(
                c,
                "cutoff.late",
                f"received {c.received_at:%Y-%m-%d %H:%M} (from the "
                f"{c.received_from}), after the cutoff {settings.forecast_cutoff:%Y-%m-%d %H:%M}"
                + (
                    "; ignored under the late-submission policy 'reject'."
                    if reject
                    else "; accepted under the late-submission policy 'accept' and flagged."
                ),
                "Submit before the cutoff; the demand planning lead decides whether a late "
                "file counts (Settings: Late submission policy).",
                severity="error" if reject else "warning",
                sheet=False,
            )
            if reject:
                c.status, c.reason = "late (ignored)", "received after the cutoff"
    chosen: dict[str, Candidate] = {}
    for region in sorted({c.region for c in readable if c.region and not c.status}):
        group = [c for c in readable if c.region == region and not c.status]
        group.sort(key=lambda c: (c.version, c.received_at or dt.datetime.min, c.name))
        win = group[-1]
        chosen[region] = win
        for c in group[:-1]:
            c.status = "superseded"
            c.reason = f"superseded by {win.name} (version {win.version})"
            tie = c.version == win.version and c.received_at == win.received_at
            if tie:
                add_finding(
                    c,
                    "version.tie",
                    f"same Submission Version {c.version} and Submitted At as "
                    f"{win.name}; {win.name} was used (file name order).",
                    "Ask the region which file is final and have them resend it with a higher "
                    "Submission Version.",
                    sheet=False,
                )
            else:
                add_finding(
                    c,
                    "version.superseded",
                    f"version {c.version} received "
                    f"{c.received_at:%Y-%m-%d %H:%M} is superseded by {win.name} (version "
                    f"{win.version}, {win.received_at:%Y-%m-%d %H:%M}).",
                    "Nothing to do.",
                    sheet=False,
                )
    return chosen
