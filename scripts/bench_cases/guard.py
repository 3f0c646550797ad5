"""The safety guard's first sight of a workbook (``sop_xl.io.guard.check_workbook_file``, nothing
remembered): one streaming pass per sheet with one cheap gate per piece, against the previous
way kept here as the baseline (a first pass with the suspect-reference regex per 4 MB piece, then
two more passes over a suspect sheet for its columns and its long rows).

The workbook is built like the demo master's heavy sheets: an archive of 160,000 rows x 8
columns (rows of 6 digits: suspect, so measured), a 40-column plan grid (columns AA+) and a
26-column table of 60,000 rows. The hostile file is the same with one cell at XFD1048576 at the
end of the archive: both ways refuse it after reading the whole sheet. The second hostile file
ends its archive with a row of 20,000 cells without r (python-calamine places them in columns
A..ADCR) at row 700,000: the previous scans let it through, the guard places the cells with an
XML parser (a second pass over that sheet only) and refuses it. The third ends it with one row
of 600 cells without r written 40,000 times (24 million cells): the previous scans let it
through, the guard counts the cells in its first pass and refuses it without placing them.
CPU seconds, best of 3.
``SOP_XL_BENCH_MASTER=/path/to/SOP_Planning.xlsm`` adds a case on that file (e.g. a built demo).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sop_xl.io.xlsx.refs import col_letter  # noqa: E402

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _sheet(rows: int, cols: int, tail: str = "") -> bytes:
    letters = [col_letter(c) for c in range(1, cols + 1)]
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{NS}"><sheetData>']
    for r in range(1, rows + 1):
        row = "".join(
            f'<c r="{c}{r}" s="1"><v>{(r * 7 + i) % 997}</v></c>' for i, c in enumerate(letters)
        )
        out.append(f'<row r="{r}" spans="1:{cols}">{row}</row>')
    out.append(tail + "</sheetData></worksheet>")
    return "".join(out).encode()


#: 20,000 cells without r in one row and then a cell in row 700,000: python-calamine places the
#: run in columns A..ADCR and allocates 14 billion cells (the process aborts).
IMPLICIT = '<row r="700000">' + "<c><v>1</v></c>" * 20_000 + "</row>"
#: One row of 600 cells without r written 40,000 times (24 million cells, 96 MB; scaled): the
#: box stays 1 x 600, but a reader stores every cell; the guard counts the cell tags and refuses
#: the sheet before placing any (placing them cell by cell took minutes on a 1 GB sheet).
REPEATED_ROW, REPEATS = '<row r="1">' + "<c/>" * 600 + "</row>", 40_000


def make_book(path: Path, scale: float, hostile: bool | str = False) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Archive"
    for name in ("Plan", "Sales"):
        wb.create_sheet(name)
    base = path.with_suffix(".base.xlsx")
    wb.save(base)
    far = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>' if hostile else ""
    far = IMPLICIT if hostile == "implicit" else far
    far = REPEATED_ROW * int(REPEATS * scale) if hostile == "repeated" else far
    parts = {
        "xl/worksheets/sheet1.xml": _sheet(int(160_000 * scale), 8, far),
        "xl/worksheets/sheet2.xml": _sheet(int(3_000 * scale), 40),
        "xl/worksheets/sheet3.xml": _sheet(int(60_000 * scale), 26),
    }
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            zout.writestr(name, parts.get(name, zin.read(name)))
    base.unlink()
    return path


# --- the previous way (sop_xl/io/guard.py before the one-pass scan), sheets only --------------
_OLD_SUSPECT_RE = re.compile(rb'r="((?:[A-Z]{3}\d|[A-Z]{0,3}\d{6}|[A-Z]{2}\d{5}))')
_OLD_REF_COL_RE = re.compile(rb'r="([A-Z]{2,3})\d')


def _old_chunks(zf: zipfile.ZipFile, part: str):
    tail = b""
    with zf.open(part) as f:
        while True:
            chunk = f.read(1 << 22)
            data = tail + chunk
            cut = data.rfind(b"<") if chunk else len(data)
            if cut <= 0:
                cut = len(data)
            yield data[:cut]
            tail = data[cut:]
            if not chunk:
                return


def _old_extent(zf: zipfile.ZipFile, part: str) -> tuple[int, int]:
    from sop_xl.io.guard import DEFAULT_LIMITS as limits
    from sop_xl.io.xlsx.refs import col_number

    suspect = errors = False
    for head in _old_chunks(zf, part):
        if b"<!" in head and (b"<!DOCTYPE" in head or b"<!ENTITY" in head):
            raise ValueError("DTD")
        suspect = suspect or _OLD_SUSPECT_RE.search(head) is not None
        errors = errors or b't="e"' in head
    if not suspect:
        return (0, 0)
    letters = {m for head in _old_chunks(zf, part) for m in _OLD_REF_COL_RE.findall(head)}
    max_col = max((col_number(c.decode()) for c in letters), default=0) or 26
    allowed = min(limits.max_rows, limits.max_cells // max_col)
    long_rows = re.compile(rb'r="[A-Z]{0,3}(\d{%d,})"' % len(str(allowed)))
    rows = [int(m) for head in _old_chunks(zf, part) for m in long_rows.findall(head)]
    max_row = max(rows, default=0)
    if max_col > limits.max_columns or max_row > allowed:
        raise ValueError("far beyond any S&OP table")
    return (max_row, max_col)


def old_check(path: Path) -> str:
    """The previous guard's scans of every part (sizes and names are the same in both ways)."""
    from sop_xl.io.xlsx.parts import sheet_parts

    with zipfile.ZipFile(path) as zf:
        sheets = set(sheet_parts(zf).values())
        try:
            for info in zf.infolist():
                if info.filename in sheets:
                    _old_extent(zf, info.filename)
                elif info.filename.endswith((".xml", ".rels", ".vml")):
                    for head in _old_chunks(zf, info.filename):
                        if b"<!" in head and (b"<!DOCTYPE" in head or b"<!ENTITY" in head):
                            raise ValueError("DTD")
        except ValueError as exc:
            return f"refused ({exc})"
    return "passed"


def new_check(path: Path) -> str:
    from sop_xl.errors import InputFileError
    from sop_xl.io.guard import check_workbook_file

    try:
        check_workbook_file(path)
    except InputFileError as exc:
        return "refused (far beyond any S&OP table)" if "far beyond" in str(exc) else str(exc)
    return "passed"


def cpu(fn, path: Path, reps: int = 3) -> tuple[float, str]:
    best, got = float("inf"), ""
    for _ in range(reps):
        t = time.process_time()
        got = fn(path)
        best = min(best, time.process_time() - t)
    return best, got


def resight(path: Path, tmp: Path) -> dict:
    """A user changes one small part and saves: every sheet is stored byte for byte as before.
    Ours: the store's check (part verdicts kept from the first sight); baseline: the guard alone."""
    from sop_xl.io import guard, tablestore
    from sop_xl.io.xlsx.parts import Package

    edited = tmp / f"edited{path.suffix}"
    with Package(path) as pkg:
        app = "docProps/app.xml"
        data = pkg.read(app) if pkg.exists(app) else b"<Properties/>"
        pkg.write(app, data.replace(b"</Properties>", b"<!-- saved again --></Properties>"))
        with open(edited, "wb") as f:
            pkg.save(f)
    old = os.environ.get("SOP_XL_CACHE_DIR")
    os.environ["SOP_XL_CACHE_DIR"] = str(tmp / "store")
    try:
        tablestore.checked(path)  # the first sight keeps the part verdicts

        def ours(p: Path) -> str:
            for entry in (tmp / "store").glob("*.guard.json"):  # the edited file is new each time
                if (
                    tablestore._verdict_key(tablestore.sha256_file(p), guard.DEFAULT_LIMITS)
                    in entry.name
                ):
                    entry.unlink()
            tablestore.checked(p)
            return "passed"

        ours_s, _ = cpu(ours, edited)
        base_s, _ = cpu(new_check, edited)
    finally:
        if old is None:
            os.environ.pop("SOP_XL_CACHE_DIR", None)
        else:
            os.environ["SOP_XL_CACHE_DIR"] = old
    return {
        "case": "guard after a save that changed one small part",
        "size": f"{path.name}, every sheet byte for byte",
        "ours_s": ours_s,
        "baseline": "the guard's first sight (no part verdicts)",
        "baseline_s": base_s,
        "ratio": base_s / ours_s,
        "ours_cpu": ours_s,
        "baseline_cpu": base_s,
        "note": "ours: file hash, part digests, whole-file checks (CPU s, best of 3)",
    }


def cases(quick: bool = False) -> list[dict]:
    scale = 0.1 if quick else 1.0
    rows = []
    with tempfile.TemporaryDirectory(prefix="sop_bench_guard_") as tmp:
        books = [
            ("guard first sight, sane workbook", make_book(Path(tmp) / "sane.xlsx", scale)),
            (
                "guard first sight, hostile (XFD1048576 last)",
                make_book(Path(tmp) / "far.xlsx", scale, True),
            ),
            (
                "guard first sight, hostile (20,000 cells without r last)",
                make_book(Path(tmp) / "implicit.xlsx", scale, "implicit"),
            ),
            (
                "guard first sight, hostile (24 million cells without r in one row, repeated)",
                make_book(Path(tmp) / "repeated.xlsx", scale, "repeated"),
            ),
        ]
        if os.environ.get("SOP_XL_BENCH_MASTER"):
            books.append(
                ("guard first sight, given master", Path(os.environ["SOP_XL_BENCH_MASTER"]))
            )
        for case, path in books:
            with zipfile.ZipFile(path) as zf:
                mb = sum(i.file_size for i in zf.infolist()) / 2**20
            ours_s, ours = cpu(new_check, path)
            base_s, base = cpu(old_check, path)
            rows.append(
                {
                    "case": case,
                    "size": f"{mb:.0f} MB of XML ({path.stat().st_size / 2**20:.1f} MB file)",
                    "ours_s": ours_s,
                    "baseline": "previous guard scans (3 passes on a suspect sheet)",
                    "baseline_s": base_s,
                    "ratio": base_s / ours_s,
                    "ours_cpu": ours_s,
                    "baseline_cpu": base_s,
                    "note": f"ours {ours}, previous {base} (CPU s, best of 3)",
                }
            )
        master = os.environ.get("SOP_XL_BENCH_MASTER")
        rows.append(resight(books[-1][1] if master else books[0][1], Path(tmp)))
    return rows
