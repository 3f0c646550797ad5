"""Frozen plan snapshots: freeze, version, ledger, verify, diff.

After executive approval the plan is locked. :func:`freeze` writes
``snapshots/SOP_Plan_<cycle>_v<NN>.xlsx`` from the master workbook: values only, macros and
external links removed, every sheet protected, the structure locked, marked final, read-only on
disk, with a Cover sheet saying who froze it, who approved it, and the hashes that prove it has
not changed since. Each snapshot gets a record in the hash-chained ``snapshots/ledger.jsonl``.
:func:`verify` checks files, hashes, protection and the chain; :func:`diff` writes the
"what changed since last month's plan" workbook.

Public API::

    freeze(master, snapshots_dir=None, *, approved_by, created_by=None, password=None,
           recalc=True, progress=None) -> FreezeResult
    verify(path) -> VerifyReport            # a snapshot file or a snapshots folder
    diff(a, b, out) -> DiffResult           # imported on first use (openpyxl)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sop_xl.errors import ArgumentError, Location, SopError
from sop_xl.io.files import atomic_path
from sop_xl.io.xlsx.protection import PasswordHash, sheet_protection_attrs
from sop_xl.model.book import Progress, user
from sop_xl.model.schema import SETTINGS, Settings
from sop_xl.plan import hash_helper
from sop_xl.plan.content_hash import ContentHash, content_hash
from sop_xl.plan.freeze import (
    FrozenPackage,
    add_cover,
    add_cover_styles,
    cover_sheet_xml,
    freeze_package,
    set_properties,
)
from sop_xl.plan.ledger import (
    append_record,
    folder_lock,
    records,
    reserve,
    snapshot_name,
)
from sop_xl.plan.ledger import (
    next_version as _next_version,
)
from sop_xl.plan.verify import COVER_FIELDS, VerifyReport, verify

if TYPE_CHECKING:  # at run time: __getattr__ below, on first use
    from sop_xl.io.xlsx.parts import Package
    from sop_xl.plan.diff import DiffResult, diff

__all__ = [
    "COVER_FIELDS",
    "DiffResult",
    "FreezeResult",
    "VerifyReport",
    "diff",
    "freeze",
    "read_cycle_settings",
    "verify",
]

COVER_SHEET = "Cover"


def __getattr__(name: str) -> object:
    """``diff`` and ``DiffResult`` on first use: the change report's writer brings openpyxl
    (0.3 s of imports) that a freeze or a verify never needs."""
    if name in ("diff", "DiffResult"):
        from sop_xl.plan import diff as module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class FreezeResult:
    """What :func:`freeze` produced."""

    path: Path
    version: int
    cycle: str
    company: str
    content_hash: str
    source_sha256: str
    file_sha256: str
    record: dict
    previous: dict | None = None
    recalculated: str | None = None
    unhidden: list[str] = field(default_factory=list)
    dropped_sheets: list[str] = field(default_factory=list)
    dropped_names: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def ledger_head(self) -> str:
        """The new last ``record_hash``: keep it (e-mail, minutes) to anchor the chain."""
        return self.record["record_hash"]

    @property
    def summary(self) -> str:
        """The plain-language lines shown to the user."""
        lines = [
            f"Frozen {self.path.name}: {self.company}, cycle {self.cycle}, v{self.version:02d}.",
            f"  content hash {self.content_hash}",
            f"  ledger record #{self.record['seq']}, record hash {self.ledger_head}",
        ]
        if self.previous:
            lines.append(f"  previous snapshot {self.previous['file']}")
        if self.recalculated:
            lines.append(f"  formula values recalculated by {self.recalculated}")
        if self.unhidden:
            lines.append(f"  hidden sheets made visible: {', '.join(self.unhidden)}")
        if self.dropped_sheets:
            lines.append(f"  sheets left out: {', '.join(self.dropped_sheets)}")
        if self.removed:
            lines.append(f"  removed: {', '.join(self.removed)}")
        lines += _names_removed(self.dropped_names)
        return "\n".join(lines)


def _names_removed(dropped: list[str], shown: int = 4) -> list[str]:
    """One summary line per reason a defined name was removed, with a few of the names and a
    count (the full list is on the Cover): ``"lst_Items_item (holds a formula)"`` entries give
    ``"  31 defined names removed (they hold a formula): lst_Items_item, ... and 27 more"``."""
    by_reason: dict[str, list[str]] = {}
    for entry in dropped:
        name, _, why = entry.partition(" (")
        by_reason.setdefault(why.rstrip(")") or "removed", []).append(name)
    lines = []
    for why, names in by_reason.items():
        more = f" and {len(names) - shown} more" if len(names) > shown else ""
        what = "defined name" if len(names) == 1 else "defined names"
        lines.append(f"  {len(names)} {what} removed ({why}): {', '.join(names[:shown])}{more}")
    return lines


# --- settings ----------------------------------------------------------------------------------
def read_cycle_settings(frozen: FrozenPackage, file: str) -> tuple[str, str, str]:
    """(company, cycle, chosen scenario) of the frozen plan, read by the one Settings parser
    (:func:`sop_xl.io.filebook.settings_from_bytes`, which also turns a Cycle that Excel stored
    as a date into its month).

    Read from the frozen package, not the master: macro sheets (which the reader refuses) are
    gone and formulas are values by now. Only the Settings sheet is packed for the reader.
    A frozen plan carries the company's name on its cover and in the ledger, so a blank Company
    is refused here instead of taking the Settings model's default name.
    """
    from sop_xl.io.filebook import settings_from_bytes

    stub = frozen.package.sheets_only({SETTINGS.sheet}).to_bytes(stored=True)
    settings = settings_from_bytes(stub, file)
    company = settings.company.strip() if "company" in settings.model_fields_set else ""
    if not company:
        label = Settings.labels()["company"]
        raise SopError(
            f"the {label} setting is empty.",
            where=Location(file=file, sheet=SETTINGS.sheet, column="Value"),
            fix=f"Type the company name in the Value of '{label}' on the Settings sheet.",
        )
    scenario = settings.chosen_scenario.strip()
    return (
        company,
        settings.cycle,
        scenario or str(Settings.model_fields["chosen_scenario"].default),
    )


# --- freeze ------------------------------------------------------------------------------------
def _read_master(master: Path) -> bytes:
    from sop_xl.io.guard import refuse_frozen
    from sop_xl.io.tablestore import checked  # the guard, its verdict kept by the file's bytes

    refuse_frozen(checked(master).frozen, master, "freeze it again")
    return master.read_bytes()


def _cover_rows(
    *,
    company: str,
    cycle: str,
    version: int,
    file: str,
    created_at: str,
    created_by: str,
    approved_by: str,
    source_file: str,
    source_sha256: str,
    content: str,
    scenario: str = "Base",
    previous: dict | None,
    seq: int,
    prev_record_hash: str,
    password: bool,
    pkg: FrozenPackage,
) -> list[tuple[str, str]]:
    prev_file = previous["file"] if previous else "(none: first snapshot)"
    prev_hash = previous["content_hash"] if previous else "(none)"
    return [
        (COVER_FIELDS["company"], company),
        (COVER_FIELDS["cycle"], cycle),
        (COVER_FIELDS["version"], f"v{version:02d}"),
        (COVER_FIELDS["file"], file),
        (COVER_FIELDS["created_at"], created_at),
        (COVER_FIELDS["created_by"], created_by),
        (COVER_FIELDS["approved_by"], approved_by),
        ("Approved scenario", f"{scenario}, approved by {approved_by} on {created_at[:10]}"),
        (COVER_FIELDS["source_file"], source_file),
        (COVER_FIELDS["source_sha256"], source_sha256),
        (COVER_FIELDS["content_hash"], content),
        ("Content hash covers", "sheet names and cell values of every sheet after this Cover"),
        (COVER_FIELDS["previous_file"], prev_file),
        (COVER_FIELDS["previous_content_hash"], prev_hash),
        ("Ledger record", f"#{seq} in ledger.jsonl; previous record hash {prev_record_hash}"),
        (
            "Values",
            f"recalculated by {pkg.recalculated} (formulas had no saved values)"
            if pkg.recalculated
            else f"as last calculated and saved in the master ({pkg.formulas} formulas)",
        ),
        (
            "Protection",
            "every sheet and the workbook structure locked with a password "
            "(SHA-512, salted, 100,000 iterations)"
            if password
            else "every sheet and the workbook structure locked (no password)",
        ),
        ("Sheets", ", ".join(s.name for s in pkg.sheets)),
        ("Hidden sheets made visible", ", ".join(pkg.unhidden) or "none"),
        ("Sheets left out", ", ".join(pkg.dropped_sheets) or "none"),
        ("Removed from the master", ", ".join(pkg.removed) or "nothing"),
        ("Defined names removed", ", ".join(pkg.dropped_names) or "none"),
    ]


_NOTE = (
    "This is a frozen copy of the approved S&OP plan: values only, no formulas, no macros, no "
    "links; every sheet is locked. Sheet protection only deters edits. The proof that nothing "
    "changed is the content hash below and the hash chain of snapshots/ledger.jsonl: run "
    "'sop-xl verify' on this file or its folder."
)


def freeze(
    master: Path,
    snapshots_dir: Path | None = None,
    *,
    approved_by: str,
    created_by: str | None = None,
    password: str | None = None,
    recalc: bool = True,
    progress: Progress | None = None,
    hidden_sheets: str = "unhide",
    lock_timeout: float = 120.0,
    sources: Sequence[dict] = (),
    helper: hash_helper.Helper | None = None,
) -> FreezeResult:
    """Freeze the master workbook into the next ``SOP_Plan_<cycle>_v<NN>.xlsx``.

    ``approved_by`` (who signed the plan off) is required. ``created_by`` defaults to the login
    name. With ``password`` the sheets and structure are locked with Excel 2013+'s SHA-512 hash;
    without one they are locked without a password. ``recalc``: when formulas carry no saved
    values, recalculate a copy with LibreOffice (if installed) instead of failing.
    ``hidden_sheets``: ``"unhide"`` (hidden sheets with data become visible) or ``"drop"``.
    ``sources``: fingerprints of the files the master reads tables from
    (:func:`sop_xl.io.external.fingerprint`); the ledger record keeps them, so ``verify`` can say
    whether the data a plan was built from is still the same. ``helper``: a second process the
    caller started as the click began (:func:`sop_xl.plan.hash_helper.start`), ended here.

    The master is never modified. Raises :class:`SopError` with a fix on any problem.
    """
    try:
        master = Path(master)
        snapshots_dir = Path(snapshots_dir) if snapshots_dir else master.parent / "snapshots"
        approved_by = (approved_by or "").strip()
        if not approved_by:
            raise SopError(
                "a frozen plan needs the name of who approved it.",
                fix="Give approved_by (CLI: --approved-by 'Name, role').",
            )
        created_by = (created_by or "").strip() or user()
        if hidden_sheets not in ("unhide", "drop"):
            raise ArgumentError(
                f"hidden_sheets must be 'unhide' or 'drop', not {hidden_sheets!r}.",
                fix="Pass hidden_sheets='unhide' (keep their data, visible) or 'drop'.",
            )

        def report(msg: str, frac: float | None) -> None:
            if progress:
                progress(msg, frac)

        report(f"Reading {master.name}", 0.0)
        data = _read_master(master)
        # a second process that shares the sheets' freezing and the content hash
        helper = hash_helper.start_for(data, helper)
        return _freeze(
            master, data, snapshots_dir, helper, approved_by=approved_by, created_by=created_by,
            password=password, recalc=recalc, report=report, hidden_sheets=hidden_sheets,
            lock_timeout=lock_timeout, sources=sources,
        )  # fmt: skip
    finally:
        if helper is not None:
            helper.close()


def _frozen_content(package: Package, helper: hash_helper.Helper | None) -> ContentHash:
    """The content hash of the frozen sheets (before the cover goes in: the hash never covers
    the cover). Read from an uncompressed copy in a temporary file: no deflate to write or to
    read, calamine opens a file without copying it, and the helper process reads the same file.
    Where no temporary file can be written, from the copy's bytes in memory."""
    tmp = None
    try:
        fd, name = tempfile.mkstemp(prefix="sop-xl-frozen-", suffix=".xlsx")
        tmp = Path(name)
        with os.fdopen(fd, "wb") as fp:
            package.save(fp, stored=True)
        source: Path | bytes = tmp
    except OSError:  # no temporary folder, or no room in it
        source = package.to_bytes(stored=True)
    try:
        return content_hash(source, helper=helper)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def keep_copies(folder: Path, plan: str, sources: Sequence[dict]) -> list[dict]:
    """Copy each file sop_xl writes (``written`` in its fingerprint: the forecast archive in
    Parquet) into the snapshots ``folder`` beside the ``plan``, read-only and never overwriting
    (``SOP_Plan_2026-11_v01.forecast_archive.parquet``): the plan's memory of past cycles, which
    the file itself outgrows next cycle. The fingerprint then names the copy and gives its
    SHA-256 (the bytes the plan keeps), and ``verify`` checks it as part of the plan."""
    from sop_xl.io.external import kept_copy_name  # loaded already: the freeze read its sources

    kept, made = [], []
    try:
        for src in sources:
            if not src.get("written"):
                kept.append(dict(src))
                continue
            copy = folder / kept_copy_name(plan, str(src["table"]))
            data = Path(str(src["path"])).read_bytes()
            _write_new(copy, data)
            made.append(copy)
            entry = {k: v for k, v in src.items() if k != "written"}
            entry.update(copy=copy.name, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
            kept.append(entry)
    except BaseException:
        for copy in made:
            _remove_frozen(copy)
        raise
    return kept


def _write_new(path: Path, data: bytes) -> None:
    """Write a new read-only file of the snapshots folder: reserved first (``O_EXCL``: never
    overwrite, even if the folder lock were bypassed), written whole or not at all."""
    reserve(path)
    try:
        with atomic_path(path, mode=stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH) as tmp:
            tmp.write_bytes(data)
    except BaseException:
        if path.exists():  # the reservation: a failed freeze leaves no file
            _remove_frozen(path)
        raise


def _remove_frozen(path: Path) -> None:
    """Remove a read-only file this freeze wrote (a freeze that failed after it)."""
    os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
    os.unlink(path)


def _freeze(
    master: Path,
    data: bytes,
    snapshots_dir: Path,
    helper: hash_helper.Helper | None,
    *,
    approved_by: str,
    created_by: str,
    password: str | None,
    recalc: bool,
    report: Progress,
    hidden_sheets: str,
    lock_timeout: float,
    sources: Sequence[dict],
) -> FreezeResult:
    source_sha256 = hashlib.sha256(data).hexdigest()
    pw = PasswordHash.create(password) if password else None
    pkg = freeze_package(
        data,
        file=master.name,
        password=pw,
        recalc=recalc,
        hidden_sheets=hidden_sheets,
        progress=report,
        helper=helper,
    )
    company, cycle, scenario = read_cycle_settings(pkg, master.name)
    cover_name = COVER_SHEET
    names = {s.name.lower() for s in pkg.sheets}  # Excel compares sheet names in any case
    while cover_name.lower() in names:
        cover_name = "Snapshot " + cover_name
    styles = add_cover_styles(pkg.package, pkg.workbook_part, master.name)
    protection = sheet_protection_attrs(pw)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    created_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")

    report("Computing the content hash", 0.75)
    content = _frozen_content(pkg.package, helper)
    title = f"Frozen S&OP plan - {company} - cycle {cycle}"

    snapshots_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(snapshots_dir, timeout=lock_timeout, who=created_by):
        report("Allocating the version", 0.85)
        recs = records(snapshots_dir)
        version = _next_version(snapshots_dir, cycle)
        same_cycle = [r for r in recs if r.get("cycle") == cycle]
        previous = same_cycle[-1] if same_cycle else (recs[-1] if recs else None)
        file = snapshot_name(cycle, version)
        target = snapshots_dir / file
        seq = (int(recs[-1].get("seq", 0)) + 1) if recs else 1
        prev_record_hash = recs[-1].get("record_hash", "0" * 64) if recs else "0" * 64
        rows = _cover_rows(
            company=company, cycle=cycle, version=version, file=file, created_at=created_at,
            created_by=created_by, approved_by=approved_by, source_file=master.name,
            source_sha256=source_sha256, content=content.hexdigest, previous=previous, seq=seq,
            prev_record_hash=prev_record_hash, password=pw is not None, pkg=pkg,
            scenario=scenario,
        )  # fmt: skip
        props = {
            "SOP_Company": company,
            "SOP_Cycle": cycle,
            "SOP_Version": f"v{version:02d}",
            "SOP_ApprovedBy": approved_by,
            "SOP_ApprovedScenario": scenario,
            "SOP_CreatedBy": created_by,
            "SOP_CreatedAt": created_at,
            "SOP_SourceSHA256": source_sha256,
            "SOP_ContentHash": content.hexdigest,
        }
        report(f"Writing {file}", 0.9)
        add_cover(
            pkg, cover_name, cover_sheet_xml(title, rows, _NOTE, protection, styles), master.name
        )
        set_properties(
            pkg.package, props, title=title, author=created_by, when=created_at, file=master.name
        )
        payload = pkg.package.to_bytes()
        _write_new(target, payload)
        try:
            sources = keep_copies(snapshots_dir, file, sources)
        except BaseException:  # no plan without the archive it was built with
            _remove_frozen(target)
            raise
        record = append_record(
            snapshots_dir,
            {
                "file": file,
                "company": company,
                "cycle": cycle,
                "version": version,
                "created_at": created_at,
                "created_by": created_by,
                "approved_by": approved_by,
                "source_file": master.name,
                "source_sha256": source_sha256,
                "content_hash": content.hexdigest,
                "sheet_hashes": content.sheets,
                "file_sha256": hashlib.sha256(payload).hexdigest(),
                "password_protected": pw is not None,
                "previous_file": previous["file"] if previous else None,
                **({"external_sources": list(sources)} if sources else {}),
            },
        )
    report(f"Frozen: {file}", 1.0)
    return FreezeResult(
        path=target,
        version=version,
        cycle=cycle,
        company=company,
        content_hash=content.hexdigest,
        source_sha256=source_sha256,
        file_sha256=record["file_sha256"],
        record=record,
        previous=previous,
        recalculated=pkg.recalculated,
        unhidden=pkg.unhidden,
        dropped_sheets=pkg.dropped_sheets,
        dropped_names=pkg.dropped_names,
        removed=pkg.removed,
    )
