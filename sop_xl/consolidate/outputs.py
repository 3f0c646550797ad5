"""The consolidation's outputs: the consolidated Forecast, the Submissions table, the
Consolidation audit trail, the summary line and the standalone report workbook."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sop_xl.consolidate.rules import Candidate
from sop_xl.consolidate.submission import MasterData, text_codes
from sop_xl.errors import Location, SopError, StepError
from sop_xl.io.filebook import save_new_workbook
from sop_xl.model import schema
from sop_xl.model.book import Book
from sop_xl.model.schema import CONSOLIDATION, FORECAST, SUBMISSIONS
from sop_xl.model.sheets import (
    AMBER_FILL,
    AMBER_FONT,
    GREEN_FILL,
    GREEN_FONT,
    GREY_FILL,
    GREY_FONT,
    RED_FILL,
    RED_FONT,
    CellRule,
    SheetOutput,
)


def normalise_forecast(f: pd.DataFrame) -> pd.DataFrame:
    """The master Forecast in engine columns with text ids and one source/version per key."""
    cols = [c.name for c in FORECAST.long_columns]
    f = f.reindex(columns=cols).copy()
    for c in ("region", "item", "location", "source", "version", "period"):
        f[c] = f[c].astype(object)
    f["source"] = f["source"].where(f["source"].notna(), "master")
    f["version"] = text_codes(f["version"])
    f["version"] = f["version"].where(f["version"].notna(), "")
    f["quantity"] = pd.to_numeric(f["quantity"], errors="coerce").astype(float)
    return f.reset_index(drop=True)


def _pair_key(df: pd.DataFrame, *cols: str) -> pd.Series:
    """One text key per row from id columns (fast, no multi-column factorisation)."""
    key = df[cols[0]].astype(str)
    for c in cols[1:]:
        key = key + "\x1f" + df[c].astype(str)
    return key


def build_forecast(
    previous: pd.DataFrame, accepted: dict[str, Candidate], horizon: list[str]
) -> pd.DataFrame:
    """Consolidated Forecast (long): accepted regions' submissions over the horizon, plus the
    previous rows outside the horizon and of regions not accepted.

    Each item x location key keeps one Source/Version: a key of an accepted region takes its
    submission's file name and version for all its months. Regions come in sorted order; the
    rows of a region not accepted keep their previous order, an accepted region's rows are
    sorted by item, location and period.
    """
    cols = [c.name for c in FORECAST.long_columns]
    groups = dict(tuple(previous.groupby("region", sort=False))) if len(previous) else {}
    parts = []
    for region in sorted(set(groups) | set(accepted)):
        prev = groups.get(region, previous.iloc[:0])
        c = accepted.get(region)
        if c is None:
            parts.append(prev[cols])
            continue
        past = prev[~prev["period"].isin(horizon)]
        v = (
            c.values
            if c.values is not None
            else previous.iloc[:0][["item", "location", "period", "quantity"]]
        )
        if len(past) and len(v):
            # one source/version per key: past months of re-submitted keys take the new stamp
            sel = _pair_key(past, "item", "location").isin(set(_pair_key(v, "item", "location")))
            past = past.assign(
                source=past["source"].where(~sel, c.name),
                version=past["version"].where(~sel, str(c.version)),
            )
        new = v.assign(region=region, source=c.name, version=str(c.version))[cols]
        both = pd.concat([past[cols], new], ignore_index=True)
        parts.append(both.sort_values(["item", "location", "period"], kind="stable"))
    if not parts:
        return previous.iloc[:0][cols].reset_index(drop=True)
    out = pd.concat(parts, ignore_index=True)
    out["quantity"] = out["quantity"].astype(float)
    return out


def submissions_frame(cands, m: MasterData, previous, accepted) -> pd.DataFrame:
    """The Submissions table: one row per candidate and per region that sent nothing."""
    horizon = m.horizon
    ph = previous[previous["period"].isin(horizon)].groupby("region")["quantity"].sum()
    recs = []
    seen = set()
    for c in cands:
        region = (
            c.region
            or (c.sub.stamp.get("region") if c.sub else None)
            or _guess_region(c.path, m.region_codes)
        )
        seen.add(c.region)
        total = c.stats.get("total") if c.stats else None
        cons = ph.get(c.region) if c.region else None
        recs.append(
            {
                "region": None if region is None else str(region),
                "status": c.status or "rejected",
                "reason": c.reason or None,
                "file": c.name,
                "submitted_by": c.submitted_by or None,
                "version": c.version if c.sub is not None else None,
                "received_at": c.received_at,
                "received_from": c.received_from or None,
                "late": ("yes" if c.late else "no") if c.received_at else None,
                "sha256": c.sha256 or None,
                "rows": c.stats.get("rows") if c.stats else None,
                "completeness": c.stats.get("completeness") if c.stats else None,
                "errors": c.errors,
                "warnings": c.warnings,
                "total_qty": total,
                "consensus_qty": cons,
                "change_pct": (total / cons - 1) if total is not None and cons else None,
            }
        )
    for region in m.region_codes:
        if region not in seen:
            recs.append(
                {
                    "region": region,
                    "status": "missing",
                    "reason": "no submission; previous consensus kept",
                    "consensus_qty": ph.get(region),
                    "errors": 0,
                    "warnings": 0,
                }
            )
    df = pd.DataFrame(recs, columns=SUBMISSIONS.names)
    df = df.astype(
        {
            c: object
            for c in (
                "region",
                "status",
                "reason",
                "file",
                "submitted_by",
                "received_from",
                "late",
                "sha256",
            )
        }
    )
    df["received_at"] = pd.to_datetime(df["received_at"])
    for c in ("version", "rows", "errors", "warnings"):
        df[c] = df[c].astype("Int64")
    for c in ("completeness", "total_qty", "consensus_qty", "change_pct"):
        df[c] = pd.to_numeric(df[c]).astype(float)
    return df.sort_values(["region", "status"], kind="stable", na_position="last").reset_index(
        drop=True
    )


def _guess_region(path: Path, codes: list[str]) -> str | None:
    tokens = {t.upper() for t in re.split(r"[^A-Za-z0-9]+", path.stem) if t}
    hits = [c for c in codes if c.upper() in tokens]
    return hits[0] if len(hits) == 1 else None


def audit_rows(book, m, previous, forecast, cands, chosen, accepted, now, run_by):
    """This run's rows of the Consolidation audit trail: one per region (run number 0)."""
    before = previous.groupby("region", sort=False)["quantity"].sum()
    after = forecast.groupby("region", sort=False)["quantity"].sum()
    # Only accepted regions change; validate() counted their changed cells.
    changed_by_region = {r: c.stats.get("changed", 0) for r, c in accepted.items()}
    recs = []
    regions = list(dict.fromkeys([*m.region_codes, *chosen]))
    for region in regions:
        c = accepted.get(region) or chosen.get(region)
        status = c.status if c else "missing"
        note = c.reason if c else "no submission"
        recs.append(
            {
                "run": 0,
                "run_at": now,
                "run_by": run_by or None,
                "cycle": m.settings.cycle,
                "region": region,
                "status": status,
                "file": c.name if c else None,
                "sha256": c.sha256 if c else None,
                "version": c.version if c else None,
                "submitted_by": (c.submitted_by or None) if c else None,
                "received_at": c.received_at if c else None,
                "total_before": float(before.get(region, 0.0)),
                "total_after": float(after.get(region, 0.0)),
                "changed_rows": int(changed_by_region.get(region, 0)),
                "note": note or None,
            }
        )
    df = pd.DataFrame(recs, columns=CONSOLIDATION.names)
    df["run_at"] = pd.to_datetime(df["run_at"])
    df["received_at"] = pd.to_datetime(df["received_at"])
    for c in ("run", "version", "changed_rows"):
        df[c] = df[c].astype("Int64")
    for c in ("run_by", "cycle", "region", "status", "file", "sha256", "submitted_by", "note"):
        df[c] = df[c].astype(object)
    return df


def existing_audit(book: Book, new: pd.DataFrame, *, strict: bool = True) -> pd.DataFrame:
    """Existing audit rows + this run's (numbered max(run) + 1). Never drops old rows: if the
    audit sheet exists but cannot be read, the step stops before writing anything."""
    old = None
    if book.has_table(CONSOLIDATION):
        try:
            old = book.read_table(CONSOLIDATION)
        except SopError as exc:
            if not strict:
                return new.assign(run=pd.array([1] * len(new), dtype="Int64"))
            raise StepError(
                f"the existing audit trail (sheet '{CONSOLIDATION.sheet}') cannot be read, so a "
                f"new run cannot be appended without losing it: {exc}",
                where=Location(file=book.name, sheet=CONSOLIDATION.sheet),
                fix="Restore the audit sheet from the last snapshot or fix the cell named above; "
                "nothing was written.",
            ) from exc
    run = 1
    if old is not None and len(old):
        run = int(pd.to_numeric(old["run"], errors="coerce").max() or 0) + 1
    new = new.assign(run=pd.array([run] * len(new), dtype="Int64"))
    if old is None or old.empty:
        return new
    old = old.reindex(columns=new.columns)
    return pd.concat([old.astype(new.dtypes.to_dict(), errors="ignore"), new], ignore_index=True)


#: Statuses of a file that did not make it into the plan, as the summary line names them.
_NOT_USED = {"rejected": "rejected", "unreadable": "rejected", "late (ignored)": "late"}


def summary_line(m, accepted, chosen, findings, previous, forecast, dry_run, cands=()) -> str:
    """The one-line result shown by the CLI and the ribbon: regions consolidated, then each file
    that was rejected (or ignored as late) with its region and its first error, then the regions
    that sent nothing, the counts and the new total.

    e.g. "Consolidated 1 of 2 regions; rejected EU_v2.xlsx (EU): 3 error(s), first: 'D5:
    '12O' is text, not a quantity ...'; missing: APAC; 4 error(s), 1 warning(s); forecast
    total 1,234 units (+2.0% vs previous)."
    """
    n_err = sum(f.severity == "error" for f in findings)
    n_warn = sum(f.severity == "warning" for f in findings)
    regions = m.region_codes
    parts = [
        f"{'Dry run: would consolidate' if dry_run else 'Consolidated'} "
        f"{len(accepted)} of {len(regions)} regions"
    ]
    sent: set[str] = set()
    named: set[str] = set()
    for c in cands:
        region = c.region or _guess_region(c.path, regions)
        if region:
            sent.add(region)
        word = _NOT_USED.get(c.status)
        if word is None or region in accepted:
            continue
        errors = [f for f in c.findings if f.severity == "error"]
        first = errors[0] if errors else None
        why = c.reason or "not used"
        if first is not None:
            cell = first.where.cell or (f"row {first.where.row}" if first.where.row else "")
            why = f"{len(errors)} error(s), first: '{(cell + ': ') if cell else ''}"
            why += _clip(first.message, 90) + "'"
        parts.append(f"{word} {c.name} ({region or 'region unknown'}): {why}")
        if region:
            named.add(region)
    rejected = sorted(r for r in chosen if r not in accepted and r not in named)
    if rejected:
        parts.append(f"rejected: {', '.join(rejected)}")
    missing = sorted(r for r in regions if r not in chosen and r not in sent)
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    before = previous["quantity"].sum()
    after = forecast["quantity"].sum()
    change = f" ({after / before - 1:+.1%} vs previous)" if before else ""
    parts.append(f"{n_err} error(s), {n_warn} warning(s)")
    parts.append(f"forecast total {after:,.0f} units{change}")
    return "; ".join(parts) + "."


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def status_formats() -> list:
    """Conditional formats of the Submissions table's Status column."""
    return [
        CellRule("status", "equal", ('"accepted"',), fill=GREEN_FILL, font=GREEN_FONT),
        CellRule("status", "equal", ('"rejected"',), fill=RED_FILL, font=RED_FONT, bold=True),
        CellRule("status", "equal", ('"unreadable"',), fill=RED_FILL, font=RED_FONT),
        CellRule("status", "equal", ('"missing"',), fill=AMBER_FILL, font=AMBER_FONT, bold=True),
        CellRule("status", "equal", ('"late (ignored)"',), fill=AMBER_FILL, font=AMBER_FONT),
        CellRule("status", "equal", ('"superseded"',), fill=GREY_FILL, font=GREY_FONT),
        CellRule("status", "equal", ('"duplicate"',), fill=GREY_FILL, font=GREY_FONT),
    ]


# --------------------------------------------------------------------------------------------
# Standalone report workbook
# --------------------------------------------------------------------------------------------
def write_report_workbook(path: Path, outputs: list[SheetOutput]) -> Path:
    """A standalone report (Validation + Submissions) written with openpyxl: text cells as text
    (never formulas), number formats from the schema, severity/status highlighted, temp file +
    atomic rename."""
    from openpyxl import Workbook
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table as XlTable
    from openpyxl.worksheet.table import TableStyleInfo

    wb = Workbook()
    wb.remove(wb.active)
    for out in outputs:
        ws = wb.create_sheet(out.sheet)
        for i, line in enumerate(out.title, start=1):
            c = ws.cell(i, 1)
            c.value, c.data_type = str(line), "s"
            c.font = Font(bold=(i == 1), size=14 if i == 1 else 11)
        hr = out.header_row
        cols = out.table.columns
        for j, col in enumerate(cols, start=1):
            c = ws.cell(hr, j)
            c.value, c.data_type = col.header, "s"
            c.font = Font(bold=True)
            ws.column_dimensions[get_column_letter(j)].width = (
                60 if col.name in ("message", "fix", "reason") else 16
            )
        df = out.df.reindex(columns=[c.name for c in cols])
        data = df.astype(object).where(df.notna(), None).to_numpy()
        for i, rec in enumerate(data, start=hr + 1):
            for j, (col, v) in enumerate(zip(cols, rec, strict=True), start=1):
                if v is None:
                    continue
                c = ws.cell(i, j)
                if col.dtype in (schema.Dtype.TEXT, schema.Dtype.PERIOD):
                    c.value, c.data_type = str(v), "s"
                else:
                    c.value = v.to_pydatetime() if isinstance(v, pd.Timestamp) else v
                    c.number_format = col.number_format
        last = hr + max(len(df), 1)
        ref = f"A{hr}:{get_column_letter(len(cols))}{last}"
        t = XlTable(displayName=out.table.name, ref=ref)
        t.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        ws.add_table(t)
        for rule in out.conditional_formats:
            if isinstance(rule, CellRule):
                j = [c.name for c in cols].index(rule.column) + 1
                letter = get_column_letter(j)
                ws.conditional_formatting.add(
                    f"{letter}{hr + 1}:{letter}{last}",
                    CellIsRule(
                        operator=rule.operator,
                        formula=list(rule.values),
                        fill=PatternFill("solid", fgColor=rule.fill) if rule.fill else None,
                        font=Font(color=rule.font, bold=rule.bold) if rule.font else None,
                    ),
                )
        ws.freeze_panes = ws.cell(hr + 1, 1)
    return save_new_workbook(wb, path)
