"""Consolidation's structural scans of a regional grid sheet (``guard.hidden_rows``,
``submission.external_cells``) against the previous way kept here as the baseline: every row
tag read in Python (``guard._hidden_rows_by_tags``, what ``hidden_rows`` still does on a sheet
that is not plain), and every cell matched and placed once a sheet has one external formula.

The sheet is a regional grid as Excel writes it: 5,000 item rows x 26 columns (130,000 cells,
4.5 MB of XML), in four variants: one hidden column (the ``hidden`` text is there, no hidden
row), 50 hidden rows, ``hidden="false"`` on every row (LibreOffice writes it so), and 20 cells
with an external formula (``='[1]Plan'!D5``). Both ways give the same answer (asserted). CPU
seconds in this process, best of 3 alternating runs.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sop_xl.io.xlsx.refs import col_letter  # noqa: E402

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def grid_sheet(items: int, *, cols: str = "", row_attrs=None, external: int = 0) -> bytes:
    """A regional grid: a title, a header on row 4, ``items`` rows of item, location,
    description and 23 months (shared-string keys, numbers), Excel's attributes."""
    letters = [col_letter(c) for c in range(1, 27)]
    every = max(items // external, 1) if external else 0
    out = [
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS}">'
        f'<dimension ref="A1:Z{items + 4}"/><sheetFormatPr defaultRowHeight="15"/>{cols}'
        '<sheetData><row r="1" spans="1:26"><c r="A1" s="1" t="s"><v>0</v></c></row>'
        '<row r="4" spans="1:26">'
        + "".join(f'<c r="{c}4" s="2" t="s"><v>{k + 1}</v></c>' for k, c in enumerate(letters))
        + "</row>"
    ]
    for i in range(items):
        r = i + 5
        extra = row_attrs(i) if row_attrs else ""
        cells = [
            f'<c r="A{r}" s="3" t="s"><v>{30 + i}</v></c>',
            f'<c r="B{r}" s="3" t="s"><v>{29}</v></c>',
            f'<c r="C{r}" s="4" t="s"><v>{30 + items + i}</v></c>',
        ]
        for k, c in enumerate(letters[3:]):
            if every and k == 0 and i % every == 0:
                cells.append(f'<c r="{c}{r}" s="5"><f>\'[1]Plan\'!{c}{r}</f><v>{i}</v></c>')
            else:
                cells.append(f'<c r="{c}{r}" s="5"><v>{(i * 7 + k) % 997}</v></c>')
        out.append(f'<row r="{r}" spans="1:26"{extra}>{"".join(cells)}</row>')
    out.append('</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
               'header="0.3" footer="0.3"/></worksheet>')  # fmt: skip
    return "".join(out).encode()


_CELL_RE = re.compile(rb"<(?:\w+:)?c\b([^>]*)(?<!/)>(.*?)</(?:\w+:)?c>", re.S)


def external_cells_before(data: bytes, limit: int = 10_000) -> list[str]:
    """``submission.external_cells`` before its fast path: every cell matched, every cell
    placed once one external formula is found."""
    from sop_xl.consolidate import submission as sub
    from sop_xl.io.guard import cell_places

    if not sub._EXT_REF_RE.search(data):
        return []
    out: list[str] = []
    shared: set[bytes] = set()
    places = None
    for m in _CELL_RE.finditer(data):
        f = sub._F_RE.search(m.group(2))
        if f is None:
            continue
        si = sub._SI_RE.search(f.group(1))
        text = f.group(2) or b""
        ext = bool(sub._EXT_REF_RE.search(text))
        if ext and si:
            shared.add(si.group(1))
        elif si and not text and si.group(1) in shared:
            ext = True
        if ext:
            places = cell_places(data) if places is None else places
            at = places.get(m.start(2))
            if at is not None:
                out.append(f"{sub.col_letter(at[1])}{at[0] + 1}")
                if len(out) >= limit:
                    break
    return out


def _cpu(fn, data: bytes) -> tuple[float, object]:
    t0 = time.process_time()
    got = fn(data)
    return time.process_time() - t0, got


def _compare(name: str, size: str, ours, base, data: bytes, runs: int) -> dict:
    best_ours = best_base = float("inf")
    for _ in range(runs):
        t, got_base = _cpu(base, data)
        best_base = min(best_base, t)
        t, got_ours = _cpu(ours, data)
        best_ours = min(best_ours, t)
        assert got_ours == got_base, name
    return {
        "case": name,
        "size": f"{size}, {len(data) / 1e6:.1f} MB",
        "ours_s": best_ours,
        "baseline": "the previous scan (every tag / every cell)",
        "baseline_s": best_base,
        "ratio": best_base / best_ours,
        "ours_cpu": best_ours,
        "baseline_cpu": best_base,
        "note": f"CPU s, best of {runs}; same answer ({len(got_ours)} found)",
    }


def cases(quick: bool = False) -> list[dict]:
    from sop_xl.consolidate.submission import external_cells
    from sop_xl.io import guard

    items = 500 if quick else 5_000
    size = f"{items:,} rows x 26 columns"
    hidden_col = '<cols><col min="3" max="3" width="30" hidden="1" customWidth="1"/></cols>'
    sheets = {
        "hidden rows: one hidden column, no hidden row": grid_sheet(items, cols=hidden_col),
        "hidden rows: 50 hidden rows": grid_sheet(
            items, row_attrs=lambda i: ' hidden="1"' if i % (items // 50) == 0 else ""
        ),
        'hidden rows: hidden="false" on every row (LibreOffice)': grid_sheet(
            items, row_attrs=lambda i: ' customFormat="false" ht="15" hidden="false"'
        ),
    }
    rows = [
        _compare(
            name,
            size,
            lambda d: guard.hidden_rows(d, 10_000),
            lambda d: guard._hidden_rows_by_tags(d, 10_000),
            data,
            3,
        )
        for name, data in sheets.items()
    ]
    data = grid_sheet(items, external=20)
    rows.append(
        _compare(
            "external cells: 20 external formulas",
            size,
            lambda d: external_cells(d, 10_000),
            external_cells_before,
            data,
            3,
        )
    )
    return rows


if __name__ == "__main__":
    for row in cases(quick="--quick" in sys.argv):
        print(row)
