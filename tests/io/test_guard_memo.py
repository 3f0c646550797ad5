"""The guard's verdicts of single parts: a part stored byte for byte as before is not scanned
again; any other part is, even one made to look the same to a cheaper key (same name, same size,
same CRC-32)."""

from __future__ import annotations

import json
import zipfile
import zlib

import pytest
import test_guard
from test_guard import rezip, sheet_xml

from sop_xl.errors import InputFileError
from sop_xl.io import guard, tablestore
from sop_xl.io.guard import check_workbook_file

SHEET = "xl/worksheets/sheet1.xml"
good = test_guard.good  # the fixture: a small valid workbook


class Memo(dict):
    def put(self, digest: str, verdict: list[int]) -> None:
        self[digest] = verdict


@pytest.fixture()
def scans(monkeypatch):
    """The sheet parts the guard scanned, in order; every part is large enough to be kept."""
    monkeypatch.setattr(guard, "MEMO_MIN_BYTES", 0)
    seen: list[str] = []
    real = guard._check_extent

    def spy(zf, part, *args):
        seen.append(part)
        return real(zf, part, *args)

    monkeypatch.setattr(guard, "_check_extent", spy)
    return seen


def big_sheet(errors: bool = False) -> bytes:
    rows = "".join(
        f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="AD{r}"><v>2</v></c></row>'
        for r in range(1, 12_001)
    )
    if errors:
        rows += '<row r="12001"><c r="A12001" t="e"><v>#N/A</v></c></row>'
    return sheet_xml(rows)


def test_an_unchanged_part_is_not_scanned_again(tmp_path, good, scans):
    first = rezip(good, tmp_path / "a.xlsx", {SHEET: big_sheet(errors=True)})
    memo = Memo()
    info = check_workbook_file(first, memo=memo)
    assert scans == [SHEET] and info.extents == {"Data": (0, 30)} and info.error_sheets == {"Data"}
    # the user changes another part (here: the document properties) and saves
    second = rezip(first, tmp_path / "b.xlsx", {"docProps/app.xml": b"<Properties/>"})
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        assert a.read(SHEET) == b.read(SHEET)
    again = check_workbook_file(second, memo=memo)
    assert scans == [SHEET]  # not scanned again
    assert again.extents == info.extents and again.error_sheets == info.error_sheets
    assert again.sha256 != info.sha256


def test_a_changed_part_is_scanned_and_refused(tmp_path, good, scans):
    memo = Memo()
    check_workbook_file(rezip(good, tmp_path / "a.xlsx", {SHEET: big_sheet()}), memo=memo)
    hostile = big_sheet().replace(
        b"</sheetData>", b'<row r="1"><c r="XFD1048576"/></row></sheetData>'
    )
    bad = rezip(good, tmp_path / "b.xlsx", {SHEET: hostile})
    with pytest.raises(InputFileError, match="far beyond any"):
        check_workbook_file(bad, memo=memo)
    assert scans == [SHEET, SHEET]


def forge_crc(data: bytes, pos: int, target: int) -> bytes:
    """``data`` with its 4 bytes at ``pos`` chosen so that its CRC-32 is ``target`` (CRC-32 is
    affine in the input bits: solve 32 linear equations over GF(2))."""
    blank = bytearray(data)
    blank[pos : pos + 4] = bytes(4)
    zero = zlib.crc32(bytes(len(data)))
    basis: list[tuple[int, int]] = []  # (vector, which of the 32 bits make it), distinct top bits
    for bit in range(32):
        unit = bytearray(len(data))
        unit[pos + bit // 8] = 1 << (bit % 8)
        vec, mask = zlib.crc32(bytes(unit)) ^ zero, 1 << bit
        for b_vec, b_mask in basis:
            if vec ^ b_vec < vec:
                vec, mask = vec ^ b_vec, mask ^ b_mask
        if vec:
            basis.append((vec, mask))
            basis.sort(reverse=True)
    want, mask = target ^ zlib.crc32(bytes(blank)), 0
    for b_vec, b_mask in basis:
        if want ^ b_vec < want:
            want, mask = want ^ b_vec, mask ^ b_mask
    assert want == 0
    blank[pos : pos + 4] = mask.to_bytes(4, "little")
    assert zlib.crc32(bytes(blank)) == target
    return bytes(blank)


def with_stored_sheet(src, dst, data: bytes):
    """``src`` with its sheet part replaced by ``data`` stored uncompressed, at a fixed time: two
    such files differ in nothing but the part's bytes (local header and directory included)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            if name == SHEET:
                info = zipfile.ZipInfo(SHEET, date_time=(2026, 1, 1, 0, 0, 0))
                zout.writestr(info, data, compress_type=zipfile.ZIP_STORED)
            else:
                zout.writestr(zin.getinfo(name), zin.read(name))
    return dst


def test_same_name_size_and_crc_is_not_the_same_part(tmp_path, good, scans):
    sane = big_sheet()
    memo = Memo()
    check_workbook_file(with_stored_sheet(good, tmp_path / "a.xlsx", sane), memo=memo)
    far = sheet_xml('<row r="1"><c r="A1"><v>1</v></c><c r="XFD1048576"><v>2</v></c></row>')
    pad = len(sane) - len(far) - len(b"<!--XXXX-->")
    hostile = far[:-12] + b"<!--" + b"x" * pad + b"XXXX-->" + far[-12:]
    assert len(hostile) == len(sane)
    hostile = forge_crc(hostile, len(far) - 12 + 4 + pad, zlib.crc32(sane))
    bad = with_stored_sheet(good, tmp_path / "b.xlsx", hostile)
    with zipfile.ZipFile(tmp_path / "a.xlsx") as a, zipfile.ZipFile(bad) as b:
        x, y = a.getinfo(SHEET), b.getinfo(SHEET)
        fields = ("CRC", "file_size", "compress_size", "flag_bits", "date_time", "extra")
        assert [getattr(x, f) for f in fields] == [getattr(y, f) for f in fields]
    with pytest.raises(InputFileError, match="far beyond any"):  # only the bytes differ
        check_workbook_file(bad, memo=memo)


def test_the_store_keeps_part_verdicts_only_for_files_that_passed(
    tmp_path, good, scans, monkeypatch
):
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "cache"))
    bad = rezip(
        good, tmp_path / "bad.xlsx", {SHEET: sheet_xml('<row r="1"><c r="A1048577"/></row>')}
    )
    with pytest.raises(InputFileError):
        tablestore.checked(bad)
    assert not (tmp_path / "cache" / "guard-parts.json").exists()
    first = rezip(good, tmp_path / "a.xlsx", {SHEET: big_sheet()})
    assert tablestore.checked(first).extents == {"Data": (0, 30)}
    kept = json.loads((tmp_path / "cache" / "guard-parts.json").read_text())
    assert [0, 30, 0] in kept["parts"].values()
    second = rezip(first, tmp_path / "b.xlsx", {"docProps/app.xml": b"<Properties/>"})
    scans.clear()
    assert tablestore.checked(second).extents == {"Data": (0, 30)}
    assert scans == []  # a new file, but its sheet was seen


def test_a_verdict_from_another_guard_version_is_not_used(tmp_path, good, scans, monkeypatch):
    monkeypatch.setenv("SOP_XL_CACHE_DIR", str(tmp_path / "cache"))
    first = rezip(good, tmp_path / "a.xlsx", {SHEET: big_sheet()})
    tablestore.checked(first)
    file = tmp_path / "cache" / "guard-parts.json"
    kept = json.loads(file.read_text())
    file.write_text(json.dumps({**kept, "version": "older"}))
    second = rezip(first, tmp_path / "b.xlsx", {"docProps/app.xml": b"<Properties/>"})
    scans.clear()
    tablestore.checked(second)
    assert scans == [SHEET]


def test_an_encrypted_or_unknown_compression_part_is_damaged_not_a_crash(tmp_path, good):
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo(SHEET)
    method = data
    method[info.header_offset + 8 : info.header_offset + 10] = (99).to_bytes(2, "little")
    for entry in _central_entries(bytes(method), SHEET):
        method[entry + 10 : entry + 12] = (99).to_bytes(2, "little")
    path = tmp_path / "method.xlsx"
    path.write_bytes(bytes(method))
    with pytest.raises(InputFileError, match="damaged"):
        check_workbook_file(path)


def _central_entries(data: bytes, name: str) -> list[int]:
    found, at = [], data.find(b"PK\x01\x02")
    while at >= 0:
        n = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + n] == name.encode():
            found.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    return found
