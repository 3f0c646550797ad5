"""sop_xl.io.xlsx.parts.sheet_parts: the one sheet -> part lookup, checked against openpyxl."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl

from sop_xl.io.xlsx.parts import Package, sheet_part_sizes, sheet_parts

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
NS_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def _zip(workbook: str, rels: str | None) -> zipfile.ZipFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", workbook)
        if rels is not None:
            zf.writestr("xl/_rels/workbook.xml.rels", rels)
    return zipfile.ZipFile(buf)


def test_matches_openpyxl_on_a_real_workbook(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Start"
    for name in ("R&D <plan>", "Forecast", "Q'1"):
        wb.create_sheet(name)
    path = tmp_path / "w.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        got = sheet_parts(zf)
    with Package(path) as pkg:
        assert sheet_parts(pkg) == got  # a Package reads the same
    assert list(got) == ["Start", "R&D <plan>", "Forecast", "Q'1"]  # workbook order, unescaped
    assert got["Forecast"] == "xl/worksheets/sheet3.xml"
    assert all(p in zipfile.ZipFile(path).namelist() for p in got.values())


def test_prefixes_attribute_order_absolute_and_relative_targets() -> None:
    """Any attribute order, a prefixed main namespace, single quotes, '/xl/..' and '../' targets
    resolve to normalised part names; external and target-less relationships are left out."""
    wb = (
        f"<x:workbook {NS.replace('xmlns', 'xmlns:x')} {NS_R}><x:sheets>"
        '<x:sheet r:id="rId2" sheetId="1" name="B"/>'
        "<x:sheet name='A &amp; C' sheetId='2' r:id='rId1'/>"
        '<x:sheet name="D" sheetId="3" r:id="rId3"/>'
        '<x:sheet name="E" sheetId="4" r:id="rId9"/>'
        "</x:sheets></x:workbook>"
    )
    rels = (
        "<Relationships>"
        '<Relationship Id="rId1" Type="ws" Target="/xl/worksheets/a.xml"/>'
        '<Relationship Target="../xl/./worksheets/b.xml" Type="ws" Id="rId2"/>'
        '<Relationship Id="rId3" Type="ws" Target="http://x/y.xml" TargetMode="External"/>'
        "</Relationships>"
    )
    assert sheet_parts(_zip(wb, rels)) == {
        "B": "xl/worksheets/b.xml",
        "A & C": "xl/worksheets/a.xml",
    }


def test_missing_relationships_part_gives_nothing() -> None:
    sheet = '<sheet name="A" sheetId="1" r:id="rId1"/>'
    wb = f"<workbook {NS} {NS_R}><sheets>{sheet}</sheets></workbook>"
    assert sheet_parts(_zip(wb, None)) == {}


def _workbook_bytes(macro: bool = False) -> bytes:
    wb = openpyxl.Workbook()
    wb.active.title = "Settings"
    wb.active["A1"] = "kept"
    other = wb.create_sheet("Data")
    other["A1"] = "emptied"
    buf = io.BytesIO()
    wb.save(buf)
    if not macro:
        return buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zi, zipfile.ZipFile(out, "w") as zo:
        for info in zi.infolist():
            data = zi.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                ).replace(
                    b"</Types>",
                    b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                    b'<Override PartName="/xl/orphan.xml" ContentType="application/xml"/></Types>',
                )
            zo.writestr(info, data)
        zo.writestr("xl/orphan.xml", b"<x/>")  # no relationship reaches it
    return out.getvalue()


def test_sheet_part_sizes_are_the_uncompressed_bytes_in_workbook_order(tmp_path: Path) -> None:
    """The one sheet -> (part, size) map that the file book (tables read ahead) and the content
    hash (sheets for its helper) use: sizes of the XML as stored uncompressed, 0 for a part the
    zip lacks."""
    from sop_xl.plan.hash_helper import sheet_sizes

    sheets = "".join(
        f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate("BAC", 1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="ws" Target="worksheets/{p}.xml"/>'
        for i, p in enumerate(("s1", "s2", "gone"), 1)
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "xl/workbook.xml", f"<workbook {NS} {NS_R}><sheets>{sheets}</sheets></workbook>"
        )
        zf.writestr("xl/_rels/workbook.xml.rels", f"<Relationships>{rels}</Relationships>")
        zf.writestr("xl/worksheets/s1.xml", "x" * 1000)  # deflates to a few bytes
        zf.writestr("xl/worksheets/s2.xml", "<worksheet/>")
    want = {"B": ("xl/worksheets/s1.xml", 1000), "A": ("xl/worksheets/s2.xml", 12)}
    want["C"] = ("xl/worksheets/gone.xml", 0)
    got = sheet_part_sizes(zipfile.ZipFile(buf))
    assert got == want and list(got) == ["B", "A", "C"]
    assert sheet_sizes(buf.getvalue()) == {"B": 1000, "A": 12, "C": 0}
    path = tmp_path / "w.xlsx"
    path.write_bytes(buf.getvalue())
    assert sheet_sizes(path) == {"B": 1000, "A": 12, "C": 0}
    assert sheet_sizes(b"not a zip") == {}


def test_the_file_book_keeps_the_sheet_parts_and_their_sizes(tmp_path: Path) -> None:
    from sop_xl.io.filebook import FileBook

    wb = openpyxl.Workbook()
    wb.active.title = "Start"
    wb.create_sheet("Forecast")["A1"] = "Item"
    path = tmp_path / "w.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        want = sheet_part_sizes(zf)
        assert want["Forecast"] == (
            "xl/worksheets/sheet2.xml",
            zf.getinfo(want["Forecast"][0]).file_size,
        )
    book = FileBook(path)
    assert book._parts() == {"Start": "xl/worksheets/sheet1.xml", "Forecast": want["Forecast"][0]}
    assert book._part_sizes == dict(want.values())
    path.unlink()  # kept until the book writes: the file is not read again
    assert book._parts()["Forecast"] == "xl/worksheets/sheet2.xml"


def test_package_from_bytes_edits_content_types_and_prunes() -> None:
    """The package layer freeze uses (issue 19): open from bytes, retype the main part, drop a
    Default, prune unreachable parts with their overrides; untouched parts keep their bytes."""
    data = _workbook_bytes(macro=True)
    pkg = Package(data, name="m.xlsm")
    assert pkg.replace_content_type(
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    )
    assert not pkg.replace_content_type("no/such", "x/y")
    pkg.remove_default("application/vnd.ms-office.vbaProject")
    assert pkg.prune() == ["xl/orphan.xml"]
    out = pkg.to_bytes()
    with zipfile.ZipFile(io.BytesIO(out)) as zf, zipfile.ZipFile(io.BytesIO(data)) as src:
        ct = zf.read("[Content_Types].xml")
        assert b"macroEnabled" not in ct and b"vbaProject" not in ct and b"orphan" not in ct
        assert b"spreadsheetml.sheet.main+xml" in ct
        assert "xl/orphan.xml" not in zf.namelist()
        assert zf.read("xl/styles.xml") == src.read("xl/styles.xml")
    assert openpyxl.load_workbook(io.BytesIO(out))["Settings"]["A1"].value == "kept"


def test_sheets_only_empties_the_other_sheets_and_leaves_the_package() -> None:
    pkg = Package(_workbook_bytes())
    stub = openpyxl.load_workbook(io.BytesIO(pkg.sheets_only({"Settings"}).to_bytes()))
    assert stub.sheetnames == ["Settings", "Data"]
    assert stub["Settings"]["A1"].value == "kept" and stub["Data"]["A1"].value is None
    whole = openpyxl.load_workbook(io.BytesIO(pkg.to_bytes()))
    assert whole["Data"]["A1"].value == "emptied"


def test_damaged_bytes_are_a_clear_error() -> None:
    import pytest

    from sop_xl.errors import InputFileError

    with pytest.raises(InputFileError, match="damaged") as err:
        Package(b"PK\x03\x04 not a zip", name="m.xlsm")
    assert "m.xlsm" in str(err.value)


def test_relationships_are_read_again_after_a_write_or_delete() -> None:
    """Package.rels keeps each parsed .rels part until that part is written or deleted; a
    copy from sheets_only has its own (its deletions do not reach this package)."""
    pkg = Package(_workbook_bytes())
    wb = "xl/workbook.xml"
    first = pkg.rels(wb)
    assert pkg.rels(wb) == first and pkg.rels(wb) is not pkg.rels(wb)  # a list of its own
    rid = pkg.add_rel(wb, "urn:test", "xl/extra.xml")
    assert [r.id for r in pkg.rels(wb)] == [*(r.id for r in first), rid]
    assert pkg.rels(wb)[-1].part == "xl/extra.xml"
    pkg.remove_rels(wb, {rid})
    assert pkg.rels(wb) == first
    sheet = next(r.part for r in first if r.type.endswith("/worksheet") and r.part)
    pkg.write(
        "xl/worksheets/_rels/" + sheet.rsplit("/", 1)[1] + ".rels",
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="urn:t" Target="../x.xml"/></Relationships>',
    )
    assert [(r.id, r.part) for r in pkg.rels(sheet)] == [("rId1", "xl/x.xml")]
    other = pkg.sheets_only(set())
    assert other.rels(sheet) == []  # emptied there, with its relationships
    assert [r.id for r in pkg.rels(sheet)] == ["rId1"]
    pkg.delete("xl/_rels/workbook.xml.rels")
    assert pkg.rels(wb) == []


def _with_big_parts(monkeypatch) -> tuple[Package, dict[str, bytes]]:
    """A package with three changed parts over 1 MB (and small ones), of different sizes."""
    import random

    pkg = Package(_workbook_bytes())
    rng = random.Random(7)
    big = {}
    for k, size in enumerate((1_500_000, 3_000_000, 2_200_000)):
        text = "".join(f'<c r="A{i}"><v>{rng.random()}</v></c>' for i in range(size // 30))
        big[f"xl/big{k}.xml"] = text.encode()
        pkg.write(f"xl/big{k}.xml", big[f"xl/big{k}.xml"])
    pkg.write("xl/small.xml", b"<x/>")
    return pkg, big


def test_big_parts_deflated_on_several_cores_give_the_same_bytes(monkeypatch) -> None:
    """Package.save deflates the parts over 1 MB in threads: the file is byte for byte the one
    written one part at a time, and any zip reader reads the parts back."""
    import sop_xl.io.xlsx.parts as parts

    pkg, big = _with_big_parts(monkeypatch)
    monkeypatch.setattr(parts.os, "cpu_count", lambda: 1)
    assert pkg._deflate_big(1) == {}  # one core: one part at a time, in save's loop
    one_at_a_time = pkg.to_bytes()
    monkeypatch.setattr(parts.os, "cpu_count", lambda: 4)
    assert sorted(pkg._deflate_big(1)) == sorted(big)
    assert pkg.to_bytes() == one_at_a_time
    with zipfile.ZipFile(io.BytesIO(one_at_a_time)) as zf:
        assert zf.testzip() is None
        assert {n: zf.read(n) for n in big} == big
        assert zf.getinfo("xl/big1.xml").compress_size < len(big["xl/big1.xml"]) // 2


def test_stored_copy_is_uncompressed_and_reads_the_same(monkeypatch) -> None:
    """``stored``: the changed parts are written without compression (a copy read back at once,
    as the content hash of a freeze does); readers see the same parts."""
    pkg, big = _with_big_parts(monkeypatch)
    plain = pkg.to_bytes(stored=True)
    with (
        zipfile.ZipFile(io.BytesIO(plain)) as zf,
        zipfile.ZipFile(io.BytesIO(pkg.to_bytes())) as deflated,
    ):
        assert zf.testzip() is None
        assert zf.namelist() == deflated.namelist()
        for name in zf.namelist():
            assert zf.read(name) == deflated.read(name)
        for name in [*big, "xl/small.xml"]:
            assert zf.getinfo(name).compress_type == zipfile.ZIP_STORED
    assert openpyxl.load_workbook(io.BytesIO(plain))["Settings"]["A1"].value == "kept"
