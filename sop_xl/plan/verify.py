"""Verify frozen snapshots: content hashes, file hashes, protection, cover and the ledger chain.

``verify(path)`` takes a snapshot file or a snapshots folder and reports *exactly* what is wrong:

- a ledger line edited (its ``record_hash`` no longer matches its content), deleted (a gap in
  ``seq`` / a broken link), inserted or reordered (``seq`` out of order, link to the wrong record);
- a snapshot whose values changed (content hash differs; the ledger's per-sheet hashes name the
  sheet), one replaced by an older snapshot (its content equals another record's), one missing
  (record without file) or one added (file without record);
- protection removed from a sheet or the workbook, formulas or macros put back in;
- a Cover sheet that no longer agrees with the ledger.

A snapshot whose bytes differ but whose values, protection and cover are unchanged (it was
re-saved) is reported as a *note*, not a problem: the plan is the same. ``ok`` means no problem.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sop_xl.errors import SopError, failure_text, reading_failure
from sop_xl.io.files import plain_name, sha256_file
from sop_xl.io.xlsx.calc import F_TAG, has_formula
from sop_xl.io.xlsx.parts import sheet_parts, tag_b
from sop_xl.plan.content_hash import content_hash
from sop_xl.plan.ledger import (
    GENESIS,
    LEDGER_NAME,
    SNAPSHOT_RE,
    read_ledger,
    record_hash,
)

#: Cover label per ledger field (the cover and the ledger must agree on these).
COVER_FIELDS: dict[str, str] = {
    "company": "Company",
    "cycle": "Cycle",
    "version": "Version",
    "file": "Snapshot file",
    "created_at": "Created at (UTC)",
    "created_by": "Created by",
    "approved_by": "Approved by",
    "source_file": "Source workbook",
    "source_sha256": "Source workbook SHA-256",
    "content_hash": "Content hash (SHA-256)",
    "previous_file": "Previous snapshot",
    "previous_content_hash": "Previous content hash",
}
_CHECKED_COVER = ("company", "cycle", "version", "created_at", "created_by", "approved_by",
                  "source_sha256", "content_hash")  # fmt: skip


@dataclass
class VerifyReport:
    """Outcome of :func:`verify`. ``problems`` are tampering; ``notes`` are worth knowing."""

    path: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # snapshot files checked
    records: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        """The plain-language report: OK or TAMPERING DETECTED, then one line per file."""
        head = (
            f"OK: {len(self.checked)} snapshot(s) and {self.records} ledger record(s) verified."
            if self.ok
            else f"TAMPERING DETECTED: {len(self.problems)} problem(s) in {self.path}."
        )
        lines = [head]
        for name in self.checked:
            bad = any(name in p for p in self.problems)
            lines.append(f"  {'FAILED' if bad else 'ok    '} {name}")
        lines += [f"  PROBLEM: {p}" for p in self.problems]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def text(self) -> str:
        """The same as :attr:`summary` (kept for callers of the earlier API)."""
        return self.summary

    def __str__(self) -> str:
        return self.summary


def verify(path: Path, *, expected_head: str | None = None) -> VerifyReport:
    """Verify a snapshot file (and the ledger of its folder) or a whole snapshots folder.

    ``expected_head``: a ``record_hash`` you kept from an earlier freeze; the ledger must still
    contain it (this catches deleting the newest records together with their files).
    """
    path = Path(path)
    fix = (
        "Give the snapshots folder next to the master workbook (sop-xl verify "
        "path/to/snapshots) or one SOP_Plan_<cycle>_v<NN>.xlsx file in it."
    )
    if path.is_dir():
        folder, only = path, None
        if not (folder / LEDGER_NAME).exists() and not any(
            SNAPSHOT_RE.match(p.name) for p in folder.iterdir()
        ):
            raise SopError(
                f"{path} is not a snapshot folder (no {LEDGER_NAME} and no frozen plan in it).",
                fix=fix,
            )
    elif path.is_file():
        folder, only = path.parent, path.name
        with open(path, "rb") as f:
            is_zip = f.read(4) == b"PK\x03\x04"
        # a file named like a snapshot is always checked: a damaged one is tampering
        if not SNAPSHOT_RE.match(path.name) and (not is_zip or not (folder / LEDGER_NAME).exists()):
            raise SopError(
                f"{path} is not a snapshot (not a frozen plan workbook in a snapshot folder).",
                fix=fix,
            )
    else:
        raise SopError(f"{path} does not exist, so it is not a snapshot folder.", fix=fix)
    rep = VerifyReport(path)
    lines = read_ledger(folder)
    if not lines:
        rep.problems.append(f"no {LEDGER_NAME} in {folder}: nothing proves these snapshots.")
    chain = _check_chain(lines, rep)
    rep.records = len(chain)
    if expected_head and expected_head not in {r.get("record_hash") for r in chain}:
        rep.problems.append(
            f"the ledger no longer contains record hash {expected_head}: records were removed "
            "from its end (or this is another ledger)."
        )
    by_file: dict[str, dict] = {}
    for rec in chain:
        name = str(rec.get("file", ""))
        if name in by_file:
            rep.problems.append(f"ledger lists {name} twice (seq {by_file[name].get('seq')} "
                                f"and {rec.get('seq')}).")  # fmt: skip
        by_file[name] = rec
    content_owner = {r.get("content_hash"): r for r in chain}
    file_owner = {r.get("file_sha256"): r for r in chain}
    # files on disk vs ledger
    on_disk = sorted(p.name for p in folder.iterdir() if SNAPSHOT_RE.match(p.name))
    if only is not None and not SNAPSHOT_RE.match(only):
        on_disk.append(only)
    for name in on_disk:
        if name not in by_file and (only is None or name == only):
            rep.problems.append(f"added: {name} is not in the ledger (not a recorded snapshot).")
    for name, rec in by_file.items():
        if only is not None and name != only:
            continue
        p = folder / name
        if not p.exists():
            rep.problems.append(
                f"removed: ledger record #{rec.get('seq')} lists {name}, which is missing."
            )
            continue
        _check_file(p, rec, rep, content_owner, file_owner)
        _check_sources(name, rec, rep, folder)
    return rep


def _check_sources(name: str, rec: dict, rep: VerifyReport, folder: Path) -> None:
    """Say whether the files a plan read tables from are still the data it was built from.

    A changed or missing source file is not tampering with the plan (extracts get refreshed),
    so it is a note, worded so nobody mistakes it for proof. A copy the plan keeps beside it
    (the forecast archive) is part of the plan: a changed or missing copy is a problem.
    """
    for src in rec.get("external_sources") or []:
        if src.get("copy"):
            copy = folder / str(src["copy"])
            what = f"{name}: its {src.get('table')} ({src['copy']})"
            if not plain_name(str(src["copy"])):
                rep.problems.append(f"altered: {what}, kept with the plan, is not in its folder.")
            elif not copy.is_file():
                rep.problems.append(f"removed: {what}, kept with the plan, is missing.")
            elif sha256_file(copy) != src.get("sha256"):
                rep.problems.append(f"altered: {what}, kept with the plan, was changed.")
            else:
                rep.notes.append(f"{what}, kept with the plan, is intact.")
            continue
        path = Path(str(src.get("path", "")))
        what = f"{name}: {src.get('table')} came from {src.get('file')}"
        if not path.is_file():
            rep.notes.append(f"{what}, which is no longer at {path}: cannot prove that data.")
        elif sha256_file(path) != src.get("sha256"):
            rep.notes.append(
                f"{what}, which has CHANGED since the freeze: the plan cannot be rebuilt from it."
            )
        else:
            digest = str(src.get("sha256", ""))[:16]
            rep.notes.append(f"{what}, unchanged since the freeze (sha256 {digest}...).")


def _check_chain(lines: list, rep: VerifyReport) -> list[dict]:
    """Check every line's own hash and its link; return the valid records in file order."""
    out: list[dict] = []
    prev_hash, prev_seq = GENESIS, 0
    known = {}
    for ln in lines:
        if ln.record is not None and isinstance(ln.record.get("record_hash"), str):
            known[ln.record["record_hash"]] = ln.record
    for ln in lines:
        where = f"ledger line {ln.line_no}"
        rec = ln.record
        if rec is None:
            rep.problems.append(f"{where} is {ln.error}: the ledger was edited.")
            continue
        seq = rec.get("seq")
        label = f"{where} (record #{seq}, {rec.get('file')})"
        if record_hash(rec) != rec.get("record_hash"):
            rep.problems.append(f"altered: {label} was edited: its record hash does not match.")
        link = rec.get("prev_record_hash")
        if isinstance(seq, int) and seq <= prev_seq:
            rep.problems.append(
                f"reordered: {label} comes after record #{prev_seq}; records are out of order."
            )
        elif link != prev_hash:
            if isinstance(seq, int) and seq > prev_seq + 1:
                missing = ", ".join(f"#{s}" for s in range(prev_seq + 1, seq))
                rep.problems.append(f"removed: ledger record(s) {missing} deleted before {label}.")
            elif link in known:
                rep.problems.append(
                    f"reordered: {label} should follow record #{known[link].get('seq')}."
                )
            else:
                rep.problems.append(
                    f"broken chain at {label}: it does not link to the record before it "
                    "(a record was deleted, inserted or edited)."
                )
        prev_hash = str(rec.get("record_hash"))
        prev_seq = seq if isinstance(seq, int) else prev_seq
        out.append(rec)
    return out


# under any namespace prefix (parts.tag_b): one missed reads as protection removed
_PROT_RE = re.compile(rb"<" + tag_b(rb"sheetProtection") + rb"(?=[\s/>])[^>]*>")
_SHARING_RE = re.compile(
    rb"<" + tag_b(rb"fileSharing") + rb"(?=[\s/>])[^>]*readOnlyRecommended=\"(?:1|true)\""
)
_WBPROT_RE = re.compile(
    rb"<" + tag_b(rb"workbookProtection") + rb"(?=[\s/>])[^>]*lockStructure=\"(?:1|true)\""
)


def _check_file(
    p: Path, rec: dict, rep: VerifyReport, content_owner: dict, file_owner: dict
) -> None:
    name = p.name
    rep.checked.append(name)
    digest = sha256_file(p)
    if digest == rec.get("file_sha256"):
        # byte-identical to what was frozen; the record itself must still agree with it
        _check_cover(name, p.read_bytes(), rec, rep)
        _check_readonly(p, rep)
        return
    other = file_owner.get(digest)
    if other is not None and other is not rec:
        rep.problems.append(
            f"replaced: {name} is a byte-for-byte copy of {other.get('file')} "
            f"(record #{other.get('seq')}), not the snapshot recorded as #{rec.get('seq')}."
        )
        return
    try:
        _guard(p)  # a modified file is untrusted input: sizes and extents before any reader
        data = p.read_bytes()
        _check_package(name, data, rep)
        ch = content_hash(data, skip_first=True)
    except (SopError, zipfile.BadZipFile, OSError) as exc:
        rep.problems.append(f"altered: {name} can no longer be read as a workbook ({exc}).")
        return
    if ch.hexdigest != rec.get("content_hash"):
        other = content_owner.get(ch.hexdigest)
        if other is not None and other is not rec:
            rep.problems.append(
                f"replaced: {name} holds the content of {other.get('file')} "
                f"(record #{other.get('seq')}, {other.get('created_at')}), not its own."
            )
            return
        recorded = rec.get("sheet_hashes") or {}
        changed = [s for s, h in ch.sheets.items() if recorded.get(s) != h]
        gone = [s for s in recorded if s not in ch.sheets]
        what = []
        if changed:
            what.append("values changed on sheet(s) " + ", ".join(f"'{s}'" for s in changed))
        if gone:
            what.append("sheet(s) removed: " + ", ".join(f"'{s}'" for s in gone))
        rep.problems.append(
            f"altered: {name} content hash differs from ledger record #{rec.get('seq')}"
            + (f" ({'; '.join(what)})" if what else "")
            + "."
        )
    else:
        rep.notes.append(
            f"{name}: the file's bytes differ from the frozen file but its values are unchanged "
            "(it was re-saved)."
        )
    _check_cover(name, data, rec, rep)
    _check_readonly(p, rep)


def _guard(p: Path) -> None:
    try:
        from sop_xl.io.guard import check_workbook_file
    except ImportError:  # pragma: no cover - the guard ships with the package
        return
    check_workbook_file(p)


def _check_package(name: str, data: bytes, rep: VerifyReport) -> None:
    """Protection still in place, no formulas, no macros."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            rep.problems.append(f"altered: {name} now contains macros (vbaProject.bin).")
        wb = zf.read("xl/workbook.xml") if "xl/workbook.xml" in names else b""
        if not _WBPROT_RE.search(wb):
            rep.problems.append(
                f"protection removed: {name} no longer locks the workbook structure."
            )
        if not _SHARING_RE.search(wb):
            rep.problems.append(
                f"protection removed: {name} no longer recommends opening read-only "
                "(its fileSharing setting was dropped)."
            )
        for sheet, part in sheet_parts(zf).items():
            if part not in names:
                continue
            xml = zf.read(part)
            if not _PROT_RE.search(xml):
                rep.problems.append(
                    f"protection removed: sheet '{sheet}' of {name} is no longer protected."
                )
            if part.startswith("xl/worksheets/") and _has_formula(xml):
                rep.problems.append(f"altered: sheet '{sheet}' of {name} now contains formulas.")


_F_ELEM_RE = re.compile(F_TAG + rb"\b[^>]*?(?:/>|>([^<]*)<)")
#: LibreOffice saves a boolean cell as ``<f>TRUE()</f><v>1</v>``: a constant, not a formula
_BOOLEAN_F = {b"TRUE()", b"FALSE()"}


def _has_formula(xml: bytes) -> bool:
    """True when a worksheet holds a real formula (LibreOffice's boolean constants are not)."""
    if not has_formula(xml):
        return False
    return any(m.group(1) not in _BOOLEAN_F for m in _F_ELEM_RE.finditer(xml))


def _check_cover(name: str, data: bytes, rec: dict, rep: VerifyReport) -> None:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except BaseException as exc:  # calamine's errors; a Rust panic is a BaseException
        if not reading_failure(exc):
            raise
        rep.problems.append(f"unreadable: {name} can no longer be read as a workbook "
                            f"({failure_text(exc)}).")  # fmt: skip
        return
    cover = {str(r[0]).strip(): str(r[1]).strip() for r in rows if len(r) >= 2 and r[0] != ""}
    expected = {k: str(rec.get(k, "")) for k in _CHECKED_COVER}
    expected["version"] = f"v{int(rec.get('version', 0)):02d}"
    bad = [
        f"{COVER_FIELDS[k]} says {cover.get(COVER_FIELDS[k])!r}, ledger {v!r}"
        for k, v in expected.items()
        if cover.get(COVER_FIELDS[k]) != v
    ]
    if bad:
        rep.problems.append(f"altered: the Cover of {name} disagrees with the ledger: "
                            + "; ".join(bad) + ".")  # fmt: skip


def _check_readonly(p: Path, rep: VerifyReport) -> None:
    if os.access(p, os.W_OK) and os.stat(p).st_mode & 0o222:
        rep.notes.append(f"{p.name} is writable on disk (snapshots are kept read-only).")
