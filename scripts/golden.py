"""Golden digests of the demo's tables: one SHA-256 per Excel table of the demo master workbook,
over its header and cell values as python-calamine reads them (an independent reader).

Cells that legitimately change from run to run (when and by whom a step ran, file times, the
folder the demo was built in) are left out, column by column, in :data:`VOLATILE`; everything
else must be byte-for-byte the same for the same code. ``tests/demo/test_golden.py`` compares the
session demo against ``tests/demo/golden.json``.

Usage::

    python scripts/golden.py                 # build a demo in a temp folder, print the digests
    python scripts/golden.py DEMO_DIR        # digests of an existing demo folder
    python scripts/golden.py --write         # rebuild tests/demo/golden.json (after an intended
                                             # change of outputs; say so in the commit message)
    python scripts/golden.py --compare A B   # which tables differ between two demo folders
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's sop_xl

import python_calamine as pc

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "demo" / "golden.json"
REGENERATE = "python scripts/golden.py --write"
MASTER = "SOP_Planning.xlsm"

#: table -> headers whose values change from run to run by design (left out of the digest)
VOLATILE: dict[str, tuple[str, ...]] = {
    # when and by whom consolidation ran; the regional files' SHA-256 covers the creation time
    # openpyxl stamps into each new workbook (docProps/core.xml), so it changes every run
    "tblConsolidation": ("Run At", "Run By", "File SHA-256"),
    "tblSubmissions": ("File SHA-256",),
}


def _plain(value: object) -> object:
    """JSON of a value json cannot write itself (``json.dumps(default=...)``): dates and times
    as ISO text, durations in seconds. Called only for those cells, not for every cell."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"a cell value of type {type(value).__name__} has no JSON form")


def table_values(path: Path) -> dict[str, dict[str, list]]:
    """Table name -> {"columns": headers, "rows": cell values}, volatile columns blanked; dates
    and times as python-calamine gives them (:func:`file_digests` writes them by :func:`_plain`)."""
    wb = pc.CalamineWorkbook.from_path(str(path), load_tables=True)
    out = {}
    for name in wb.table_names:
        t = wb.get_table_by_name(name)
        columns = [str(c) for c in t.columns]
        skip = {i for i, c in enumerate(columns) if c in VOLATILE.get(name, ())}
        rows = t.to_python()
        if skip:
            rows = [[None if i in skip else v for i, v in enumerate(row)] for row in rows]
        out[name] = {"sheet": t.sheet, "columns": columns, "rows": rows}
    return out


def digests(demo_dir: Path) -> dict[str, str]:
    """Table name -> SHA-256 of the demo master's tables (see :func:`file_digests`)."""
    return file_digests(Path(demo_dir) / MASTER)


def file_digests(path: Path) -> dict[str, str]:
    """Table name -> SHA-256 (hex) of its canonical JSON (sorted by table name)."""
    values = table_values(path)
    return {
        name: hashlib.sha256(
            json.dumps(
                v, sort_keys=True, ensure_ascii=False, allow_nan=True, default=_plain
            ).encode()
        ).hexdigest()
        for name, v in sorted(values.items())
    }


def changed(expected: dict[str, str], got: dict[str, str]) -> list[str]:
    """Names of the tables whose digest differs, is new or is gone."""
    return sorted(n for n in expected.keys() | got.keys() if expected.get(n) != got.get(n))


def _build_demo(folder: Path) -> Path:
    from sop_xl import cycle
    from sop_xl.excel.build import make_xlsm

    cycle.demo(folder, make_xlsm=make_xlsm)
    return folder


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("demo_dir", nargs="?", type=Path, help="an existing demo folder")
    p.add_argument("--write", action="store_true", help=f"write {GOLDEN.name}")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    args = p.parse_args(argv)
    if args.compare:
        a, b = (digests(d) for d in args.compare)
        diff = changed(a, b)
        print(f"{len(a)} tables; differ: {', '.join(diff) if diff else 'none'}")
        return 1 if diff else 0
    with tempfile.TemporaryDirectory() as tmp:
        demo = args.demo_dir or _build_demo(Path(tmp) / "demo")
        got = digests(demo)
    text = json.dumps(got, indent=1, sort_keys=True) + "\n"
    if args.write:
        GOLDEN.write_text(text, encoding="utf-8")
        print(f"wrote {GOLDEN} ({len(got)} tables)")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
