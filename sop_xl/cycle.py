"""The S&OP cycle steps as plain functions over a :class:`~sop_xl.model.book.Book`.

The ribbon (``sop_xl.excel.ribbon``) and the CLI (``sop_xl.cli``) both call these and nothing
else, so a button and a command produce the same tables. Each step reads what it needs, writes its
output sheets in one all-or-nothing write, and returns a :class:`StepResult` whose ``summary`` is
the plain-language line shown to the user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sop_xl.errors import Finding, Location, SopError, ValidationError
from sop_xl.io import reader
from sop_xl.model.book import Book, Coerced, Progress, ReadsAhead, ResultMemo, user
from sop_xl.model.report import validation_output
from sop_xl.model.schema import (
    BY_ALIAS,
    CARRIED_TABLES,
    INPUT_TABLES,
    Settings,
    Table,
)
from sop_xl.model.sheets import SheetOutput

if TYPE_CHECKING:
    import pandas as pd

    from sop_xl.io.template import MakeXlsm
    from sop_xl.plan.hash_helper import Helper as HashHelper


@dataclass
class StepResult:
    """What a step did, in one line for people and in detail for code."""

    step: str
    summary: str
    ok: bool = True
    outputs: list[SheetOutput] = field(default_factory=list)
    detail: Any = None  # the step module's own result object


# --- where things are by default: the CLI and the ribbon both ask here ---------------------------
#: File names of the master workbook a command looks for in the current folder when none is given.
MASTER_NAMES = ("SOP_Planning.xlsm", "SOP_Planning.xlsx")
#: The folder next to the master workbook where regional forecast files are collected.
SUBMISSIONS = "submissions"


def submissions_folder(master: Path) -> Path:
    """The regional submissions folder of the master workbook ``master``: ``submissions/`` next
    to it (the Consolidate button and ``sop-xl consolidate`` without ``--folder`` use it)."""
    return Path(master).parent / SUBMISSIONS


def package_template_dir() -> Path:
    """The folder of the standard workbook that ships with the source (never a working copy)."""
    return Path(__file__).resolve().parents[1] / "workbook"


def default_workbook(folder: Path | None = None) -> Path:
    """The master workbook a command uses when none is named: SOP_Planning.xlsm (or .xlsx) in
    ``folder`` (default: the current folder). Never the package's own template."""
    folder = Path.cwd() if folder is None else Path(folder)
    found = next((folder / n for n in MASTER_NAMES if (folder / n).is_file()), None)
    if found is None:
        raise SopError(
            f"no workbook was named, and there is no {' or '.join(MASTER_NAMES)} in {folder}.",
            fix="Name the workbook, e.g. sop-xl validate path/to/SOP_Planning.xlsm, or run the "
            "command in the folder that holds it.",
        )
    if found.resolve().parent == package_template_dir():
        raise SopError(
            f"{found} is the standard template that ships with sop_xl; commands never write "
            "into it.",
            fix="Copy it to a folder of your own, fill it in, and run the command there "
            "(or try: sop-xl demo).",
        )
    return found


# --- validate ------------------------------------------------------------------------------------
def check_references(tables: dict[str, Coerced], book_name: str) -> list[Finding]:
    """Every ``Column.ref`` value must exist in the referenced master table (``tables`` by
    alias, as every step's frames)."""
    findings: list[Finding] = []
    for table in INPUT_TABLES:
        result = tables.get(table.alias)
        if result is None or result.df.empty:
            continue
        for column in table.columns:
            if not column.ref:
                continue
            alias, key = column.ref.split(".")
            target = tables.get(alias)
            if target is None:
                continue
            values = result.df[column.name]
            unknown = values.notna() & ~values.isin(set(target.df[key].dropna()))
            idx = np.flatnonzero(unknown.to_numpy(bool))
            seen: set[object] = set()
            for i in idx:
                value = values.iloc[i]
                if value in seen:
                    continue
                seen.add(value)
                row = int(result.excel_rows[i]) if len(result.excel_rows) > i else None
                at = (result.source, None) if result.source else (book_name, table.sheet)
                findings.append(
                    Finding(
                        "error",
                        f"'{value}' is not in {BY_ALIAS[alias].title} "
                        f"({(unknown & values.eq(value)).sum()} row(s)).",
                        Location(*at, table.name, row=row, column=column.header),
                        f"Add '{value}' to the {BY_ALIAS[alias].sheet} sheet, or correct it.",
                        "ref.unknown",
                    )
                )
                if len(seen) >= reader.MAX_FINDINGS_PER_COLUMN:
                    break
    return findings


def validate(book: Book, *, write: bool = True) -> StepResult:
    """Validate every input table: types, required values, keys, references, settings; and the
    tables the cycle carries from month to month (:data:`~sop_xl.model.schema.CARRIED_TABLES`)
    when the workbook has them."""
    tables = (*INPUT_TABLES, *CARRIED_TABLES)
    order = book.read_ahead(tables) if isinstance(book, ReadsAhead) else tables
    read: dict[str, tuple[Coerced | None, list[Finding]]] = {}
    for i, table in enumerate(order):
        book.progress(f"Checking {table.title}", i / len(tables))
        read[table.name] = _check_table(book, table)
    findings: list[Finding] = []
    coerced: dict[str, Coerced] = {}
    for table in tables:  # findings in the tables' order, whatever the reading order
        result, found = read[table.name]
        if result is not None:
            coerced[table.alias] = result
        findings.extend(found)
    findings.extend(check_references(coerced, book.name))
    findings.extend(supply_findings(book, coerced))
    try:
        settings = book.read_settings()
    except SopError as exc:
        settings = None
        findings.extend(
            exc.findings
            if isinstance(exc, ValidationError)
            else [Finding("error", exc.message, exc.where)]
        )
    findings.extend(scenario_findings(book, coerced, settings))
    book.progress("Validation done", 1.0)
    errors = sum(f.severity == "error" for f in findings)
    if not errors and settings is not None:
        start_background({alias: c.df for alias, c in coerced.items()}, settings)
    warnings = sum(f.severity == "warning" for f in findings)
    output = validation_output(
        findings,
        [f"Validation of {book.name}", f"{errors} error(s), {warnings} warning(s)"],
    )
    if write:
        book.write([output])
    summary = (
        f"Inputs valid: {len(coerced)} tables checked, {warnings} warning(s)."
        if not errors
        else f"{errors} error(s) and {warnings} warning(s) in the inputs: see the Validation sheet."
    )
    return StepResult("validate", summary, errors == 0, [output], findings)


def _check_table(book: Book, table: Table) -> tuple[Coerced | None, list[Finding]]:
    """One table of :func:`validate`: what it reads as and its findings (None: not read)."""
    if not book.has_table(table):
        if table.optional or table in CARRIED_TABLES:  # e.g. built before they existed
            return None, []
        missing = Finding(
            "error",
            f"sheet '{table.sheet}' with table {table.name} is missing.",
            Location(book.name, table.sheet),
            "Rebuild the workbook from the standard template (sop-xl build-workbook).",
            "sheet.missing",
        )
        return None, [missing]
    try:
        result = read_coerced(book, table)
    except SopError as exc:
        return None, [Finding("error", exc.message, exc.where, exc.fix or "", "read")]
    return result, list(result.findings)


def start_background(tables: dict[str, pd.DataFrame], settings: Settings) -> None:
    """Start what later steps need and valid inputs already allow: the history step's
    statistical baseline (:mod:`sop_xl.background`). Best effort: a failure here only means the
    history step fits the baseline itself, so it never stops validation (details in the log)."""
    from sop_xl import background

    try:
        background.start_baseline(tables, settings, results())
    except Exception:  # nothing the user did: the history step fits it as before
        import traceback

        from sop_xl import logs

        logs.write_traceback(traceback.format_exc(), "starting the background baseline fit")


def supply_findings(book: Book, coerced: dict[str, Coerced]) -> list[Finding]:
    """The supply review's cross-table rules (unknown family or resource, demand without a
    routing), located by Excel row."""
    from sop_xl.model.periods import period_range
    from sop_xl.supply.rules import check

    try:
        settings = book.read_settings()
        horizon = period_range(settings.cycle, settings.horizon_months)
    except SopError:
        horizon = None
    frames = {name: c.df for name, c in coerced.items()}
    rows = {name: c.excel_rows for name, c in coerced.items()}
    return check(frames, rows, book.name, horizon)


def scenario_findings(book: Book, coerced: dict[str, Coerced], settings) -> list[Finding]:
    """The Scenarios drivers (unknown family, resource, month), the Chosen scenario setting and
    the Decisions' options, located by Excel row."""
    from sop_xl.model.periods import period_range
    from sop_xl.model.schema import ITEMS, RESOURCES, SCENARIOS
    from sop_xl.scenario import drivers as drv
    from sop_xl.scenario.rules import check

    frames = {name: c.df for name, c in coerced.items()}
    rows = {name: c.excel_rows for name, c in coerced.items()}
    found = check(frames, rows, book.name, settings)
    table = frames.get(SCENARIOS.alias)
    if table is not None and len(table) and settings is not None:
        families = set(frames[ITEMS.alias]["family"].dropna()) if ITEMS.alias in frames else set()
        resources = (
            set(frames[RESOURCES.alias]["resource"].dropna())
            if RESOURCES.alias in frames
            else set()
        )
        horizon = period_range(settings.cycle, settings.horizon_months)
        at = rows.get(SCENARIOS.alias)
        found += drv.check(table, families, resources, horizon, book.name, at)
    return found


def read_coerced(book: Book, table: Table) -> Coerced:
    """Non-strict read: typed good rows plus a finding for every bad cell."""
    return book.read_coerced(table)


# --- the other steps: thin, so the ribbon and the CLI share them ---------------------------------
def regional_template(book: Book, region: str, out: Path) -> StepResult:
    """Write one region's forecast submission workbook (never overwrites an existing file)."""
    from sop_xl.consolidate.submission import write_regional_template

    if out.exists():
        raise SopError(
            f"{out} already exists; a planner may be filling it in, so it was not overwritten.",
            fix="Move or rename it, or choose another --out file.",
        )
    path = write_regional_template(book, region, out, submitted_by="")
    return StepResult("regional_template", f"Regional template for {region}: {path}", True)


def consolidate(
    book: Book,
    folder: Path | None = None,
    *,
    dry_run: bool = False,
    report_path: Path | None = None,
) -> StepResult:
    """Validate regional submissions and write the consensus Forecast (all or nothing)."""
    from sop_xl.consolidate.step import consolidate as run

    path = book.path
    if folder is None and path is not None and submissions_folder(path).is_dir():
        folder = submissions_folder(path)
    r = run(book, folder, dry_run=dry_run, received_by=user(), report_path=report_path)
    if r.ok and not dry_run:
        archive_submissions(book)
    return StepResult("consolidate", r.summary, r.ok, r.outputs, r)


def variances(book: Book) -> StepResult:
    """Sales budget vs financial budget; actual vs budget vs forecast; price/volume/mix."""
    from sop_xl.variance.step import run_variances

    r = run_variances(book)
    return StepResult("variances", r.summary, True, r.outputs, r)


def kpis(book: Book) -> StepResult:
    """Every KPI by month, for the company, by region and by family."""
    from sop_xl.kpi.table import run_kpis

    r = run_kpis(book, memo=results())
    return StepResult("kpis", r.summary, True, r.outputs, r)


def supply(book: Book) -> StepResult:
    """Supply review: projected inventory, rough-cut capacity, backlog, constrained plan."""
    from sop_xl.model.schema import SCENARIOS
    from sop_xl.scenario.rules import plan_of_record
    from sop_xl.supply.step import run_supply

    r = run_supply(book, plan_of_record, (SCENARIOS,), memo=results())
    return StepResult("supply", r.summary, True, r.outputs, r)


def scenarios(book: Book) -> StepResult:
    """Base and every scenario through the constrained supply plan; the ScenarioCompare sheet."""
    from sop_xl.scenario.step import run_scenarios

    r = run_scenarios(book)
    return StepResult("scenarios", r.summary, True, r.outputs, r)


def outlook(book: Book) -> StepResult:
    """Full-year financial outlook by G/L account vs the budgets, and its bridge."""
    from sop_xl.outlook.step import run_outlook

    r = run_outlook(book)
    return StepResult("outlook", r.summary, True, r.outputs, r)


def scorecard(book: Book, *, plan_status: str | None = None) -> StepResult:
    """The balanced scorecard, its trends, detail and definitions.

    ``plan_status`` is the title block's status text; by default :func:`plan_status_of` the book.
    """
    from sop_xl.model.schema import SCENARIOS
    from sop_xl.scenario.rules import plan_of_record
    from sop_xl.scorecard.step import run_scorecard

    status = plan_status if plan_status is not None else plan_status_of(book)
    r = run_scorecard(
        book, plan_status=status, memo=results(), adjust=plan_of_record, extra=(SCENARIOS,)
    )
    return StepResult("scorecard", r.summary, r.ok, r.outputs, r)


def results() -> ResultMemo:
    """Where engines keep results between clicks (e.g. the KPI rows the scorecard reuses): the
    table store's folder, keyed by the content of the inputs
    (:class:`sop_xl.io.tablestore.ResultStore`), and this process's memory, so the steps of one
    :func:`run_cycle` share them without the disk (also with the store off)."""
    from sop_xl.io.tablestore import ResultStore

    return ResultStore(_RESULTS)


#: The results this process's steps kept (:func:`results`), by the engines' content keys.
_RESULTS: dict = {}


def plan_status_of(book: Book) -> str:
    """The plan status of the book's cycle from ``snapshots/`` beside the workbook file
    ('frozen v02 (2026-11-20)' or 'draft'); a book without a file (Excel, in memory) is 'draft'."""
    if book.path is None:
        return "draft"
    from sop_xl.plan.ledger import plan_status

    return plan_status(Path(book.path).parent / "snapshots", book.read_settings().cycle)


def executive_summary(book: Book) -> StepResult:
    """The one-page Executive Summary: decisions asked for, red KPIs, supply risks, the
    full-year outlook vs budget, open and overdue actions (first after the frozen plan's Cover)."""
    from sop_xl.summary.step import run_summary

    r = run_summary(book)
    return StepResult("executive_summary", r.summary, True, r.outputs, r)


# --- plan history (issue 13) --------------------------------------------------------------------
def archive_submissions(book: Book) -> None:
    """Record the regional submissions consolidation just accepted into the forecast archive
    (stage Submission of this cycle): Forecast rows taken from a submission file, months from the
    cycle on. Before the consensus meeting changes them, so FVA can score each step."""
    from sop_xl.history import archive as arc
    from sop_xl.model import schema

    if not book.has_table(schema.FORECAST):
        return
    settings = book.read_settings()
    fc = book.read_table(schema.FORECAST)
    source = fc["source"].astype("string").fillna("").str.strip()
    submitted = fc[(source != "") & (source.str.lower() != "master")]
    has = book.has_table(schema.FORECAST_ARCHIVE)
    old = book.read_table(schema.FORECAST_ARCHIVE) if has else arc.empty()
    items = book.read_table(schema.ITEMS) if book.has_table(schema.ITEMS) else None
    rows = arc.stage_rows(submitted, settings.cycle, "Submission", lags=arc.max_lag(items))
    new = arc.replace(old, rows)
    if arc.holds(book.read_coerced(schema.FORECAST_ARCHIVE) if has else None, new):
        return  # already recorded: the same rows in the same layout
    book.write([arc.archive_output(new)])


def rebuild_archive(folder: Path, current: Book | None = None):
    """The forecast archive rebuilt from the snapshots in ``folder``, verified first.

    A snapshot that fails verification is reported (a finding) and not used; when the ledger
    chain itself is broken, no snapshot can be trusted and none is used.
    """
    from sop_xl.history import archive as arc
    from sop_xl.io.external import frozen_copy, read_external
    from sop_xl.io.filebook import FileBook
    from sop_xl.model import schema
    from sop_xl.plan.ledger import SNAPSHOT_RE, records
    from sop_xl.plan.verify import verify as run_verify

    folder = Path(folder)
    if not folder.is_dir():
        raise SopError(
            f"{folder} is not a folder of plan snapshots.",
            fix="Give the snapshots folder next to the master workbook: --snapshots snapshots",
        )
    rep = run_verify(folder)
    records_by_file = {str(r.get("file")): r for r in records(folder)}
    names = sorted(p.name for p in folder.iterdir() if SNAPSHOT_RE.match(p.name))
    chain = [p for p in rep.problems if not any(n in p for n in names)]
    findings, snaps, excluded = [], [], set()
    for name in names:
        cycle_, version = SNAPSHOT_RE.match(name).groups()  # type: ignore[union-attr]
        bad = [p for p in rep.problems if name in p] or chain
        if bad:
            findings.append(arc.excluded_finding(folder.name, name, "; ".join(bad[:3])))
            excluded.add(cycle_)
            continue
        snap = FileBook(folder / name)
        forecast = snap.read_table(schema.FORECAST)
        kept = frozen_copy(folder, records_by_file.get(name, {}), schema.FORECAST_ARCHIVE)
        if kept is not None:  # the archive lived in a file: the plan keeps a copy beside it
            copy = read_external(kept)
            if copy.errors:
                raise ValidationError(copy.findings)
            own = copy.df
        elif snap.has_table(schema.FORECAST_ARCHIVE):
            own = snap.read_table(schema.FORECAST_ARCHIVE)
        else:
            own = None
        log = snap.read_table(schema.ACTION_LOG) if snap.has_table(schema.ACTION_LOG) else None
        snaps.append(arc.SnapshotTables(name, cycle_, int(version), forecast, own, log))
    cur_archive = cur_log = items = None
    if current is not None:
        if current.has_table(schema.FORECAST_ARCHIVE):
            cur_archive = current.read_table(schema.FORECAST_ARCHIVE)
        if current.has_table(schema.ACTION_LOG):
            cur_log = current.read_table(schema.ACTION_LOG)
        if current.has_table(schema.ITEMS):
            items = current.read_table(schema.ITEMS)
    rebuilt = arc.rebuild(
        cur_archive, snaps, excluded_cycles=excluded, lags=arc.max_lag(items), current_log=cur_log
    )
    rebuilt.findings = findings
    return rebuilt


def history(book: Book, *, snapshots: Path | None = None) -> StepResult:
    """Statistical baseline, forecast archive, accuracy by lag, FVA stairstep, actions carried.

    ``snapshots``: rebuild the archive from this folder of frozen plans (verified first).
    """
    from sop_xl.history.step import run_history

    rebuilt = rebuild_archive(Path(snapshots), book) if snapshots is not None else None
    r = run_history(book, rebuilt=rebuilt, memo=results())
    return StepResult("history", r.summary, r.ok, r.outputs, r)


def freeze(
    master: Path,
    *,
    snapshots: Path | None = None,
    approved_by: str | None = None,
    password: str | None = None,
    progress: Progress | None = None,
    helper: HashHelper | None = None,
) -> StepResult:
    """Write the next locked, versioned plan snapshot and its ledger record. ``helper``: a
    second process started as the click began (:func:`sop_xl.plan.hash_helper.start`: it
    shares the freezing and hashing of the sheets), ended here."""
    try:
        from sop_xl.io.external import fingerprint
        from sop_xl.io.filebook import FileBook
        from sop_xl.plan.snapshot import freeze as run

        sources = [fingerprint(s) for s in FileBook(master).sources().values()]
        r = run(
            Path(master),
            snapshots,
            approved_by=user() if approved_by is None else approved_by,  # blank: refused there
            created_by=user(),
            password=password,
            progress=progress,
            sources=sources,
            helper=helper,
        )
    finally:
        if helper is not None:
            helper.close()  # a freeze refused before it began leaves no process waiting
    return StepResult("freeze", r.summary, True, [], r)


def verify(path: Path, *, expected_head: str | None = None) -> StepResult:
    """Recompute content hashes and the ledger's hash chain."""
    from sop_xl.plan.snapshot import verify as run

    r = run(Path(path), expected_head=expected_head)
    return StepResult("verify", r.summary, r.ok, [], r)


def diff(a: Path, b: Path, out: Path) -> StepResult:
    """The 'what changed since the last plan' workbook."""
    from sop_xl.plan.snapshot import diff as run

    r = run(Path(a), Path(b), Path(out))
    return StepResult("diff", r.summary, True, [], r)  # the summary names the report's path


def checkout_root() -> Path | None:
    """The source checkout sop_xl runs from (pyproject.toml and workbook/ beside the package), or
    None for an installed sop_xl (a wheel has neither)."""
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and package_template_dir().is_dir():
        return root
    return None


def build_workbook(out_dir: Path | None = None, *, make_xlsm: MakeXlsm | None = None) -> StepResult:
    """Build the standard workbook (.xlsx, and with ``make_xlsm`` the macro-enabled .xlsm) from
    the schema. ``make_xlsm`` is :func:`sop_xl.excel.build.make_xlsm`, passed in by the CLI (the
    core never imports ``sop_xl.excel``).

    Without ``out_dir``: the checkout's own ``workbook/`` when sop_xl runs from a checkout (the
    committed template, rebuilt by maintainers), else the current folder, and the summary says
    which path was written. A workbook of the same name outside the checkout's template folder is
    never replaced: it may be a filled-in master, and a rebuild would empty it.
    """
    from sop_xl.io.template import build_standard_workbook

    named = out_dir is not None
    if out_dir is None:
        out_dir = package_template_dir() if checkout_root() else Path.cwd()
    out_dir = Path(out_dir).resolve()
    if out_dir != package_template_dir():
        there = [out_dir / n for n in MASTER_NAMES if (out_dir / n).exists()]
        if there:
            raise SopError(
                f"{there[0]} already exists; building the standard workbook would replace it "
                "with an empty one.",
                fix="Give an empty or new folder with --out (e.g. sop-xl build-workbook --out "
                "new_plan), or move that workbook away first.",
            )
    path = build_standard_workbook(out_dir, make_xlsm=make_xlsm)
    built = ", ".join(sorted(p.name for p in out_dir.glob("SOP_Planning.xls*")))
    how = ""
    if not named and out_dir == package_template_dir():
        how = " (no --out given: the checkout's own template folder)"
    elif not named:
        how = " (no --out given: the current folder; use --out DIR to build elsewhere)"
    return StepResult("build_workbook", f"Built {built} in {out_dir}{how}.", detail=path)


def run_cycle(
    master: Path,
    *,
    folder: Path | None = None,
    approved_by: str | None = None,
    progress: Progress | None = None,
) -> StepResult:
    """validate -> consolidate -> variances -> KPIs -> supply -> scenarios -> outlook -> history
    -> scorecard (-> freeze when approved).

    Stops at the first step that finds errors in the inputs; nothing later runs on bad data.
    """
    from sop_xl.io import guard
    from sop_xl.io.filebook import FileBook, quiet

    if approved_by is not None and not approved_by.strip():
        raise SopError(
            "the approver's name is blank; a frozen plan needs who approved it.",
            fix="Give the name, e.g. --approved-by 'Jane Doe, CEO', or leave --approved-by "
            "out to run the cycle without freezing.",
        )
    say = progress or quiet
    book = FileBook(master, progress=say, read_ahead=True)  # validation reads every table
    guard.refuse_frozen(book.info.frozen, book.path)  # at once, not after the first steps
    status = None
    if approved_by:  # the scorecard goes into the frozen plan: say which version it becomes
        from sop_xl.plan.ledger import next_version

        version = next_version(Path(master).parent / "snapshots", book.read_settings().cycle)
        status = f"approved by {approved_by}, frozen as v{version:02d}"
    lines: list[str] = []
    # One book for every step: a table is read once, and a table a step wrote (the SupplyPlan
    # the outlook and the summary read) is taken as written when reading it back would give
    # the same (FileBook._as_written).

    steps: list[tuple[str, Callable[[], StepResult]]] = [
        ("Validate inputs", lambda: validate(book)),
    ]
    if folder is not None:
        steps.append(("Consolidate regional forecasts", lambda: consolidate(book, folder)))
    steps += [
        ("Variances", lambda: variances(book)),
        ("KPIs", lambda: kpis(book)),
        ("Supply review", lambda: supply(book)),
        ("Trade-off scenarios", lambda: scenarios(book)),
        ("Financial outlook", lambda: outlook(book)),
        ("Plan history", lambda: history(book)),
        ("Scorecard", lambda: scorecard(book, plan_status=status)),
        ("Executive summary", lambda: executive_summary(book)),
    ]
    if approved_by:
        steps.append(("Freeze plan", lambda: freeze(master, approved_by=approved_by, progress=say)))
    results = []
    for i, (title, run) in enumerate(steps, 1):
        say(f"Step {i}/{len(steps)}: {title}", None)
        result = run()
        results.append(result)
        lines.append(f"{i}. {title}: {result.summary}")
        if not result.ok and result.step == "validate":
            lines.append("Stopped: fix the inputs listed on the Validation sheet, then run again.")
            return StepResult("cycle", "\n".join(lines), False, [], results)
    ok = all(r.ok for r in results)
    return StepResult("cycle", "\n".join(lines), ok, [], results)


def demo(
    out_dir: Path,
    *,
    progress: Progress | None = None,
    large_lines: int | None = None,
    make_xlsm: MakeXlsm | None = None,
) -> StepResult:
    """Build the demo company in ``out_dir`` and run the whole cycle on it, freeze included.

    Leaves ``SOP_Planning.xlsm`` (the master), ``submissions/`` (regional files, one with the
    mistakes real submitters make) and ``snapshots/SOP_Plan_<cycle>_v01.xlsx`` (the frozen plan).
    ``large_lines``: keep the sales actuals outside the grid, as that many posted lines in
    ``data/sales_actuals.parquet`` (see :mod:`sop_xl.demo.large`). ``make_xlsm``: the .xlsm
    build (:func:`sop_xl.excel.build.make_xlsm`, passed in by the CLI); without it the master is
    ``SOP_Planning.xlsx``.
    """
    from sop_xl.consolidate.step import write_demo_submissions
    from sop_xl.demo.company import make_demo
    from sop_xl.io.filebook import FileBook, quiet
    from sop_xl.io.template import build_standard_workbook
    from sop_xl.model.schema import SETTINGS

    say = progress or quiet
    out_dir = Path(out_dir)
    master = out_dir / "SOP_Planning.xlsm"
    if master.exists() or (out_dir / "snapshots").exists():
        raise SopError(
            f"{out_dir} already holds a demo; it was left as it is.",
            fix=f"Delete the folder {out_dir} or give another folder: sop-xl demo OTHER_DIR "
            "(or bash scripts/demo.sh OTHER_DIR).",
        )
    say("Building the standard workbook", None)
    build_dir = out_dir / ".build"
    build_standard_workbook(build_dir, make_xlsm=make_xlsm)
    built = build_dir / "SOP_Planning.xlsm"
    if not built.exists():
        built = build_dir / "SOP_Planning.xlsx"
        master = out_dir / built.name
    built.replace(master)
    for leftover in build_dir.iterdir():
        leftover.unlink()
    build_dir.rmdir()

    say("Generating the demo company", None)
    data = make_demo()
    book = FileBook(master, progress=say)
    say("Generating 12 past cycles (forecast archive, action log)", None)
    from sop_xl.demo.history import past_cycles
    from sop_xl.history import archive as arc
    from sop_xl.history.step import action_log_output

    past_frames = past_cycles(data)
    past = [
        arc.archive_output(past_frames["ForecastArchive"]),
        action_log_output(past_frames["ActionLog"]),
    ]
    book.write(
        [SheetOutput(SETTINGS, data.settings_frame())]
        + [SheetOutput(table, df) for table, df in data.frames()]
        + past
    )
    say("Writing the regional forecast submissions", None)
    regions = sorted(data.regional_submissions)
    bad = data.facts.get("bad_region", regions[-1])
    folder = out_dir / "submissions"
    folder.mkdir(exist_ok=True)
    write_demo_submissions(book, folder, data.regional_submissions, bad_region=str(bad))
    if large_lines:
        from sop_xl.demo.large import externalize_sales

        say(f"Writing {large_lines:,} sales lines to a Parquet file beside the workbook", None)
        externalize_sales(book, out_dir, large_lines)
    result = run_cycle(master, folder=folder, approved_by="Demo CEO", progress=say)
    snaps = sorted((out_dir / "snapshots").glob("SOP_Plan_*.xlsx"))
    where = [
        f"Master workbook:  {master}",
        f"Regional files:   {folder}",
        f"Frozen plan:      {snaps[-1] if snaps else '(not frozen: see above)'}",
    ]
    where.append(
        "The consolidation errors above are planted on purpose: one regional file holds the "
        "mistakes real submitters make, to show how they are reported and left out. The demo "
        "succeeded because the plan got frozen (exit code 0)."
    )
    # One regional file is bad on purpose: the demo succeeded when the plan got frozen.
    return StepResult("demo", result.summary + "\n\n" + "\n".join(where), bool(snaps), [], result)
