"""The demo's tables are exactly what they were: one SHA-256 per Excel table of the demo master
(header and values as python-calamine reads them; run-time stamps left out, see
``scripts/golden.py``), compared with ``tests/demo/golden.json``. Uses the session demo."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import openpyxl
from openpyxl.worksheet.table import Table as XlTable

ROOT = Path(__file__).resolve().parents[2]


def _golden_module():
    spec = importlib.util.spec_from_file_location("golden", ROOT / "scripts" / "golden.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["golden"] = mod
    spec.loader.exec_module(mod)
    return mod


golden = _golden_module()


def test_demo_tables_match_the_golden_digests(demo_dir: Path) -> None:
    expected = json.loads(golden.GOLDEN.read_text(encoding="utf-8"))
    got = golden.digests(demo_dir)
    diff = golden.changed(expected, got)
    assert not diff, (
        f"demo tables changed: {', '.join(diff)}. If the change is intended, regenerate the "
        f"digests with `{golden.REGENERATE}` and say so in the commit message."
    )


def _workbook(path: Path, run_at: str, qty: float) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Run At", "Qty"])
    ws.append([run_at, qty])
    ws.add_table(XlTable(displayName="tblConsolidation", ref="A1:B2"))
    wb.save(path)
    return path


def test_digest_sees_a_changed_value_and_ignores_run_stamps(tmp_path: Path) -> None:
    """Any value changes the digest; a volatile column (when the step ran) does not."""
    base = golden.file_digests(_workbook(tmp_path / "a.xlsx", "2026-11-29 02:00", 1.0))
    later = golden.file_digests(_workbook(tmp_path / "b.xlsx", "2026-12-01 09:30", 1.0))
    other = golden.file_digests(_workbook(tmp_path / "c.xlsx", "2026-11-29 02:00", 1.0000001))
    assert list(base) == ["tblConsolidation"]
    assert base == later
    assert base != other
    assert golden.changed(base, other) == ["tblConsolidation"]
    assert golden.changed({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}) == ["b", "c"]
