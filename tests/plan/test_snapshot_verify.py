"""Verification: every kind of tampering is detected and named; honest re-saves are not."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xml_prefix
from conftest import convert
from hypothesis import given, settings
from hypothesis import strategies as st
from test_snapshot import _sheet_part, _unzip, build_master, forecast_rows

from sop_xl.plan.content_hash import canonical_value, content_hash, values_hash
from sop_xl.plan.snapshot import FreezeResult, freeze, verify


@pytest.fixture
def two(tmp_path: Path) -> tuple[FreezeResult, FreezeResult]:
    """v01 and v02 of the same cycle, different forecasts."""
    m = build_master(tmp_path / "SOP_Master.xlsm")
    a = freeze(m, approved_by="CFO", password="pw")
    build_master(m, forecast=forecast_rows(scale=1.5))
    b = freeze(m, approved_by="CFO", password="pw")
    return a, b


def writable(path: Path) -> None:
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def rezip(path: Path, edit) -> None:
    """Rewrite a snapshot with ``edit(parts)`` applied (a tamperer with a zip tool)."""
    parts = _unzip(path.read_bytes())
    edit(parts)
    writable(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in parts.items():
            zf.writestr(n, d)
    path.write_bytes(buf.getvalue())


def ledger(folder: Path) -> Path:
    p = folder / "ledger.jsonl"
    writable(p)
    return p


def test_clean_folder_and_file_verify(two) -> None:
    a, b = two
    rep = verify(a.path.parent)
    assert rep.ok, rep.text()
    assert rep.checked == [a.path.name, b.path.name] and rep.records == 2
    assert rep.text().startswith("OK")
    assert f"ok     {a.path.name}" in rep.text()
    assert verify(b.path).ok
    assert verify(a.path.parent, expected_head=b.ledger_head).ok


def test_one_cell_edited(two) -> None:
    a, b = two

    def edit(parts):
        part = _sheet_part(parts, "Forecast")
        xml = parts[part].decode()
        new = xml.replace("<v>110</v>", "<v>111</v>", 1)
        assert new != xml
        parts[part] = new.encode()

    rezip(b.path, edit)
    rep = verify(b.path.parent)
    assert not rep.ok
    assert f"FAILED {b.path.name}" in rep.text() and f"ok     {a.path.name}" in rep.text()
    assert any(
        p.startswith(f"altered: {b.path.name} content hash differs") and "'Forecast'" in p
        for p in rep.problems
    ), rep.problems
    assert not any(a.path.name in p for p in rep.problems)  # v01 is fine


def test_protection_removed_by_editing_the_xml(two) -> None:
    a, _ = two

    def edit(parts):
        part = _sheet_part(parts, "Forecast")
        parts[part] = re.sub(rb"<sheetProtection [^>]*/>", b"", parts[part])
        parts["xl/workbook.xml"] = re.sub(
            rb"<workbookProtection [^>]*/>", b"", parts["xl/workbook.xml"]
        )

    rezip(a.path, edit)
    rep = verify(a.path)
    assert f"protection removed: sheet 'Forecast' of {a.path.name} is no longer protected." in (
        rep.problems
    )
    assert any("no longer locks the workbook structure" in p for p in rep.problems)
    assert not any("content hash differs" in p for p in rep.problems)  # values are intact


def test_formula_put_back_is_detected(two) -> None:
    a, _ = two

    def edit(parts):
        part = _sheet_part(parts, "Calc")
        parts[part] = parts[part].replace(b'<c r="B1"><v>4</v>', b'<c r="B1"><f>A1*2</f><v>4</v>')

    rezip(a.path, edit)
    assert any("now contains formulas" in p for p in verify(a.path).problems)


def test_ledger_line_deleted(two, tmp_path) -> None:
    _a, b = two
    m = tmp_path / "SOP_Master.xlsm"
    c = freeze(m, approved_by="CFO")
    p = ledger(c.path.parent)
    lines = p.read_text().splitlines()
    p.write_text("\n".join([lines[0], lines[2]]) + "\n")
    rep = verify(c.path.parent)
    assert any(x.startswith("removed: ledger record(s) #2 deleted") for x in rep.problems), rep
    assert f"added: {b.path.name} is not in the ledger (not a recorded snapshot)." in rep.problems


def test_first_ledger_line_deleted(two) -> None:
    a, _b = two
    p = ledger(a.path.parent)
    p.write_text(p.read_text().splitlines()[1] + "\n")
    rep = verify(a.path.parent)
    assert any("removed: ledger record(s) #1 deleted" in x for x in rep.problems), rep.problems
    assert f"added: {a.path.name} is not in the ledger (not a recorded snapshot)." in rep.problems


def test_ledger_lines_reordered(two) -> None:
    a, _ = two
    p = ledger(a.path.parent)
    lines = p.read_text().splitlines()
    p.write_text("\n".join(reversed(lines)) + "\n")
    rep = verify(a.path.parent)
    assert any(x.startswith("reordered:") for x in rep.problems), rep.problems


def test_ledger_line_edited(two) -> None:
    a, _ = two
    p = ledger(a.path.parent)
    lines = p.read_text().splitlines()
    rec = json.loads(lines[0])
    rec["approved_by"] = "Somebody else"
    p.write_text("\n".join([json.dumps(rec), lines[1]]) + "\n")
    rep = verify(a.path.parent)
    assert any(x.startswith("altered: ledger line 1") for x in rep.problems), rep.problems


def test_ledger_edit_with_recomputed_hash_breaks_the_chain(two) -> None:
    """A tamperer who recomputes the edited record's hash still breaks the next link."""
    from sop_xl.plan.ledger import record_hash

    a, _ = two
    p = ledger(a.path.parent)
    lines = p.read_text().splitlines()
    rec = json.loads(lines[0])
    rec["approved_by"] = "Somebody else"
    rec["record_hash"] = record_hash(rec)
    p.write_text("\n".join([json.dumps(rec), lines[1]]) + "\n")
    rep = verify(a.path.parent)
    assert any("ledger line 2" in x for x in rep.problems), rep.problems
    assert any(
        "Cover of" in x and "Approved by says 'CFO', ledger 'Somebody else'" in x
        for x in rep.problems
    ), rep.problems


def test_snapshot_replaced_by_an_older_one(two) -> None:
    a, b = two
    writable(b.path)
    shutil.copyfile(a.path, b.path)
    rep = verify(b.path.parent)
    assert any(
        x.startswith(f"replaced: {b.path.name} is a byte-for-byte copy of {a.path.name}")
        for x in rep.problems
    ), rep.problems


def test_snapshot_replaced_by_a_resaved_older_one(two) -> None:
    a, b = two
    writable(b.path)
    openpyxl.load_workbook(a.path).save(b.path)
    rep = verify(b.path.parent)
    assert any(
        x.startswith(f"replaced: {b.path.name} holds the content of {a.path.name}")
        for x in rep.problems
    ), rep.problems


def test_snapshot_removed_and_added(two) -> None:
    a, b = two
    writable(a.path)
    a.path.unlink()
    stray = b.path.parent / "SOP_Plan_2026-11_v07.xlsx"
    shutil.copyfile(b.path, stray)
    rep = verify(b.path.parent)
    assert f"removed: ledger record #1 lists {a.path.name}, which is missing." in rep.problems
    assert f"added: {stray.name} is not in the ledger (not a recorded snapshot)." in rep.problems


def test_ledger_missing(two) -> None:
    a, _ = two
    ledger(a.path.parent).unlink()
    rep = verify(a.path.parent)
    assert not rep.ok and any("no ledger.jsonl" in x for x in rep.problems)


def test_expected_head_catches_tail_truncation(two) -> None:
    a, b = two
    p = ledger(a.path.parent)
    p.write_text(p.read_text().splitlines()[0] + "\n")
    writable(b.path)
    b.path.unlink()  # newest record and its file both gone: only the anchor can tell
    assert verify(a.path.parent).ok
    rep = verify(a.path.parent, expected_head=b.ledger_head)
    assert any(b.ledger_head in x for x in rep.problems)


def test_cover_edited(two) -> None:
    a, _ = two

    def edit(parts):  # the Approved-by cell now reads CEO (its text is a shared string)
        part = _sheet_part(parts, "Cover")
        items = re.findall(rb"<si>(.*?)</si>", parts["xl/sharedStrings.xml"], re.S)
        i = items.index(b"<t>CFO</t>")
        new = re.sub(rb't="s"><v>%d</v>' % i, b't="inlineStr"><is><t>CEO</t></is>', parts[part])
        assert new != parts[part]
        parts[part] = new

    rezip(a.path, edit)
    rep = verify(a.path)
    assert any("Cover of" in x and "Approved by says 'CEO'" in x for x in rep.problems), rep


def test_openpyxl_resave_keeps_values_but_drops_the_read_only_recommendation(two) -> None:
    a, _ = two
    writable(a.path)
    # keeps sheet and structure protection, changes every byte, drops <fileSharing>
    openpyxl.load_workbook(a.path).save(a.path)
    rep = verify(a.path)
    assert len(rep.problems) == 1, rep.text()
    assert rep.problems[0].startswith("protection removed") and "fileSharing" in rep.problems[0]
    assert any("re-saved" in n for n in rep.notes)
    assert content_hash(a.path, skip_first=True).hexdigest == a.content_hash


@pytest.mark.libreoffice
def test_libreoffice_round_trip_keeps_the_content_hash(soffice: str, two, tmp_path) -> None:
    a, _ = two
    resaved = convert(soffice, a.path, "xlsx", tmp_path / "lo")
    assert resaved.read_bytes() != a.path.read_bytes()
    assert content_hash(resaved, skip_first=True).hexdigest == a.content_hash


def test_hash_ignores_compression_timestamps_and_attribute_order(two, tmp_path) -> None:
    a, _ = two
    parts = _unzip(a.path.read_bytes())
    for name in list(parts):  # swap the attribute order of every cell: <c t=".." r=".." s="..">
        if name.startswith("xl/worksheets/sheet"):
            parts[name] = re.sub(
                rb'<c r="([A-Z]+\d+)"((?: [a-z]+="[^"]*")*)>',
                lambda m: b"<c" + m.group(2) + b' r="' + m.group(1) + b'">',
                parts[name],
            )
    out = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for n in reversed(list(parts)):
            zf.writestr(zipfile.ZipInfo(n, (2001, 2, 3, 4, 5, 6)), parts[n])
    assert content_hash(out, skip_first=True).hexdigest == a.content_hash


# --- the canonical form ------------------------------------------------------------------------
def test_canonical_values() -> None:
    import datetime as dt

    assert canonical_value(4) == canonical_value(4.0) == "n:4"
    assert canonical_value(-0.0) == "n:0"
    # 15 significant digits, as spreadsheets save them (openpyxl and LibreOffice write 0.3)
    assert canonical_value(0.1 + 0.2) == canonical_value(0.3) == "n:0.3"
    assert canonical_value(1 / 3) == "n:0.333333333333333"
    assert canonical_value(1234567.891) == "n:1234567.891"
    assert canonical_value(0.3000000000001) != canonical_value(0.3)
    assert canonical_value(True) == "b:1" and canonical_value("1") == "s:1"
    assert canonical_value(dt.date(2026, 1, 31)) == "d:2026-01-31T00:00:00"
    assert canonical_value(dt.datetime(2026, 1, 31, 13, 30)) == "d:2026-01-31T13:30:00"
    assert canonical_value("") is None and canonical_value(None) is None


cell = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**12), 10**12),
    st.text(max_size=5),
    st.booleans(),
)
grid = st.lists(st.lists(cell, min_size=1, max_size=4), min_size=1, max_size=4)


@settings(max_examples=200, deadline=None)
@given(grid, st.data())
def test_any_value_change_changes_the_hash(rows, data) -> None:
    r = data.draw(st.integers(0, len(rows) - 1))
    c = data.draw(st.integers(0, len(rows[r]) - 1))
    new = data.draw(cell)
    if canonical_value(new) == canonical_value(rows[r][c]):
        return
    changed = [list(x) for x in rows]
    changed[r][c] = new
    assert values_hash([("S", rows)]).hexdigest != values_hash([("S", changed)]).hexdigest


@settings(max_examples=100, deadline=None)
@given(grid)
def test_hash_is_a_function_of_values_and_names(rows) -> None:
    assert (
        values_hash([("S", rows)]).hexdigest
        == values_hash([("S", [list(r) for r in rows])]).hexdigest
    )
    assert values_hash([("S", rows)]).hexdigest != values_hash([("T", rows)]).hexdigest
    # trailing empty cells and rows do not count
    padded = [[*r, "", None] for r in rows] + [["", ""]]
    assert values_hash([("S", rows)]).hexdigest == values_hash([("S", padded)]).hexdigest


def test_moving_a_value_changes_the_hash() -> None:
    assert values_hash([("S", [[1, ""]])]).hexdigest != values_hash([("S", [["", 1]])]).hexdigest
    assert (
        values_hash([("A", [[1]]), ("B", [[2]])]).hexdigest
        != values_hash([("B", [[2]]), ("A", [[1]])]).hexdigest
    )


def test_snapshot_overwritten_with_garbage(two) -> None:
    _, b = two
    writable(b.path)
    b.path.write_bytes(b"PK\x03\x04 not really a workbook")
    rep = verify(b.path)
    assert any(x.startswith(f"altered: {b.path.name} can no longer be read") for x in rep.problems)


@pytest.mark.parametrize("pre", ["a.b", "x-1", "é"])
def test_protection_is_seen_under_any_namespace_prefix(two, pre: str) -> None:
    """A snapshot re-saved with its workbook and sheets in a prefix ('.', '-', non-ASCII): still
    protected, and a protection removed is still named. Before, "protection removed" was
    reported for every sheet and the workbook of an intact file."""
    a, _ = two
    p = pre.encode()

    frozen = a.path.read_bytes()

    def edit(parts, drop: bool = False):
        forecast = _sheet_part(parts, "Forecast")
        for name in ["xl/workbook.xml", *(n for n in parts if n.startswith("xl/worksheets/"))]:
            parts[name] = xml_prefix.prefixed(parts[name], p)
            assert b"<" + p + b":" in parts[name]
        if drop:
            parts[forecast] = re.sub(rb"<[^:>]+:sheetProtection [^>]*/>", b"", parts[forecast])

    rezip(a.path, edit)
    rep = verify(a.path)
    assert not any(p.startswith("protection removed") for p in rep.problems), rep.problems
    a.path.write_bytes(frozen)
    rezip(a.path, lambda parts: edit(parts, drop=True))
    assert f"protection removed: sheet 'Forecast' of {a.path.name} is no longer protected." in (
        verify(a.path).problems
    )
