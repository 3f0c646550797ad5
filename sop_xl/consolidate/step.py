"""Regional submissions -> one validated, auditable consensus demand plan.

:func:`consolidate` is what the *Consolidate regional forecasts* button and ``sop-xl consolidate``
run:

1. **Collect** every file in the submission folder (and ``Forecast_<REGION>`` sheets inside a
   master file). Each file passes :func:`sop_xl.io.guard.check_workbook_file` before any reader
   touches it; a file that fails is reported and skipped. Macro-enabled files are read as data;
   nothing in them is ever run.
2. **Resolve** one submission per region: identical files (same SHA-256) count once; under the
   ``reject`` late policy late files are ignored; then the highest Submission Version wins, and
   for equal versions the later Submitted At. File modification time is used only when a file
   carries no Submitted At, and the report says so.
3. **Validate** the chosen submission of each region (rules below, each with an id, a message
   naming file, sheet and cell, and a fix). A region with any error is *rejected*: its previous
   consensus stays in the plan.
4. **Consolidate**: the Forecast = each accepted region's submission over the horizon months,
   plus the master's existing Forecast rows outside the horizon (frozen past months) and of every
   region not accepted.
5. **Write**, all or nothing in one ``book.write``: Forecast, Validation (every finding),
   Submissions (one row per file and per missing region) and the Consolidation audit trail (one
   row per region appended per run). ``dry_run`` writes only Validation and Submissions, or, with
   ``report_path``, only a standalone report workbook.

Rule ids are listed in :data:`RULES` and documented in ``docs/consolidation.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sop_xl.consolidate.candidate import collect, read, resolve, submission_files
from sop_xl.consolidate.demo import write_demo_submissions
from sop_xl.consolidate.outputs import (
    audit_rows,
    build_forecast,
    existing_audit,
    normalise_forecast,
    status_formats,
    submissions_frame,
    summary_line,
    write_report_workbook,
)
from sop_xl.consolidate.rules import RULES, Candidate, region_findings, validate
from sop_xl.consolidate.submission import load_master
from sop_xl.errors import Finding
from sop_xl.model.book import Book, user
from sop_xl.model.report import findings_frame, severity_formats
from sop_xl.model.schema import CONSOLIDATION, FORECAST, SUBMISSIONS, VALIDATION_REPORT
from sop_xl.model.sheets import GREEN_FILL, RED_FILL, SheetOutput


@dataclass
class ConsolidationResult:
    """What a consolidation run found and (unless dry run) wrote."""

    findings: list[Finding]
    submissions: pd.DataFrame  # the Submissions table
    accepted: dict[str, Candidate]  # region -> the accepted submission
    forecast: pd.DataFrame  # the consolidated Forecast, long
    audit: pd.DataFrame  # this run's audit rows (appended to the Consolidation table)
    outputs: list[SheetOutput]
    summary: str
    ok: bool
    dry_run: bool = False
    report_path: Path | None = None
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def validation(self) -> pd.DataFrame:
        return findings_frame(self.findings)


def consolidate(
    book: Book,
    folder: Path | None,
    *,
    dry_run: bool = False,
    received_by: str = "",
    now: dt.datetime | None = None,
    report_path: Path | None = None,
) -> ConsolidationResult:
    """Validate the regional submissions and consolidate them into the consensus Forecast.

    See the module docstring for the steps. Nothing is written when ``dry_run`` except the report;
    otherwise one ``book.write`` writes Forecast, Validation, Submissions and Consolidation, all
    or nothing. Input files are never modified.
    """
    now = (now or dt.datetime.now()).replace(microsecond=0, tzinfo=None)
    run_by = received_by or user()
    book.progress("Reading the master workbook", 0.02)
    m = load_master(book, history=False)
    settings, horizon = m.settings, m.horizon
    previous = normalise_forecast(m.forecast)
    cands = collect(book, folder, Path(report_path) if report_path else None)
    findings: list[Finding] = []
    n = max(len(cands), 1)
    for i, c in enumerate(cands):
        book.progress(f"Checking {c.name}", 0.05 + 0.45 * i / n)
        read(c, m, now)

    # --- duplicates, cutoff, versions ---------------------------------------------------------
    readable = [c for c in cands if c.sub is not None and c.status == ""]
    chosen = resolve(readable, settings)

    # --- validate the chosen ones -------------------------------------------------------------
    accepted: dict[str, Candidate] = {}
    prev_h = previous[previous["period"].isin(horizon)]
    prev_by_region = dict(tuple(prev_h.groupby("region", sort=False))) if len(prev_h) else {}
    for i, (region, c) in enumerate(sorted(chosen.items())):
        book.progress(f"Validating {region}", 0.5 + 0.3 * i / max(len(chosen), 1))
        validate(c, m, prev_by_region.get(region, prev_h.iloc[:0]))
        if c.errors:
            c.status = "rejected"
            c.reason = f"{c.errors} error(s); previous consensus kept"
        else:
            c.status, c.reason = "accepted", "late but accepted" if c.late else ""
            accepted[region] = c
    for c in readable:
        if c.status == "":  # pragma: no cover - every readable candidate got a status
            c.status = "rejected"
    for c in cands:
        findings.extend(c.findings)

    # --- region-level findings ----------------------------------------------------------------
    findings.extend(region_findings(m, accepted, chosen, previous))

    # --- consolidate --------------------------------------------------------------------------
    book.progress("Consolidating", 0.82)
    forecast = build_forecast(previous, accepted, horizon)
    submissions = submissions_frame(cands, m, previous, accepted)
    audit_new = audit_rows(book, m, previous, forecast, cands, chosen, accepted, now, run_by)
    ok = not any(f.severity == "error" for f in findings)
    report = findings_frame(findings)
    summary = summary_line(m, accepted, chosen, findings, previous, forecast, dry_run, cands)
    title = [
        f"Consolidation report — cycle {settings.cycle} — {now:%Y-%m-%d %H:%M} — {run_by}",
        summary,
    ]
    report_outputs = [
        SheetOutput(
            VALIDATION_REPORT,
            report,
            title=title,
            conditional_formats=severity_formats(),
            tab_color=RED_FILL if not ok else GREEN_FILL,
        ),
        SheetOutput(
            SUBMISSIONS, submissions, title=title[:1], conditional_formats=status_formats()
        ),
    ]
    outputs: list[SheetOutput] = []
    audit_all = existing_audit(book, audit_new, strict=not dry_run)
    audit_new = audit_all.tail(len(audit_new)).reset_index(drop=True)
    if not dry_run:
        if accepted:
            outputs.append(SheetOutput(FORECAST, forecast))
        outputs.extend(report_outputs)
        outputs.append(
            SheetOutput(CONSOLIDATION, audit_all, title=["Consolidation audit trail (append-only)"])
        )
    elif report_path is None:
        outputs.extend(report_outputs)
    if report_path is not None:
        book.progress(f"Writing report {Path(report_path).name}", 0.9)
        write_report_workbook(Path(report_path), report_outputs)
    if outputs:
        book.progress("Writing the master workbook", 0.92)
        book.write(outputs)
    book.progress("Done", 1.0)
    return ConsolidationResult(
        findings=findings,
        submissions=submissions,
        accepted=accepted,
        forecast=forecast,
        audit=audit_new,
        outputs=outputs,
        summary=summary,
        ok=ok,
        dry_run=dry_run,
        report_path=Path(report_path) if report_path else None,
        candidates=cands,
    )


__all__ = [
    "RULES",
    "Candidate",
    "ConsolidationResult",
    "build_forecast",
    "consolidate",
    "findings_frame",
    "submission_files",
    "validate",
    "write_demo_submissions",
    "write_report_workbook",
]
