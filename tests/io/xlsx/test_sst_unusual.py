"""Shared-strings tables other programs write, valid but unlike Excel's (namespace prefixes with
'.', '-' or non-ASCII letters, rich text, phonetic runs, empty entries, CRLF, entities, a BOM,
wrong counts): a write appends after the entries that are really there, so every existing cell
keeps its text and every new one reads back as written; a table sop_xl cannot read for sure is
refused with a located error, the workbook untouched."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from sop_xl.errors import SopError
from sop_xl.io.filebook import save_new_workbook
from sop_xl.io.writer import write_sheets
from sop_xl.io.xlsx.parts import NS_MAIN
from sop_xl.model.schema import Table, col
from sop_xl.model.sheets import SheetOutput

SST = "xl/sharedStrings.xml"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

#: The table every case starts from: (``<si>`` body, the text Excel shows for it). Cell A<k+1>
#: of sheet Data refers to entry k.
ENTRIES: list[tuple[str, str]] = [
    ("<t>alpha</t>", "alpha"),
    ("<r><rPr><b/></rPr><t>bo</t></r><r><t>ld</t></r>", "bold"),
    ('<t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh><phoneticPr fontId="1"/>', "漢字"),
    ("", ""),  # <si/>: an empty entry still takes an index
    ('<t xml:space="preserve">  spaced  </t>', "  spaced  "),
    ("<t>a &amp; b&#10;c&#x41;</t>", "a & b\ncA"),
    ("<t>cr\r\nlf</t>", "cr\nlf"),  # XML reads a CRLF in text as LF
    ("<t>beta</t>", "beta"),
]

#: What a write adds: texts already in the table and new ones.
NEW = ["alpha", "zeta", "beta", "x < y & z", "bold", "  spaced  ", "漢字 2"]

OUT = Table(
    name="tblNewTexts",
    sheet="New",
    title="New texts",
    group="Outputs",
    doc="test",
    columns=(col("name", "Name"),),
    output=True,
)


def _sst(
    entries: list[tuple[str, str]] = ENTRIES,
    *,
    pre: str = "",
    sst_attrs: str = 'count="8" uniqueCount="8"',
    si_pre: str | None = None,
    si_attrs: str = "",
    gap: str = "",
    decl: str = DECL,
    close: str = "",
) -> str:
    """A shared-strings part: the ``<sst>`` element with prefix ``pre`` (declared on it), its
    entries with prefix ``si_pre`` (default: ``pre``) and attributes ``si_attrs``, ``gap``
    between entries, ``close`` before ``</sst>``."""
    si_pre = pre if si_pre is None else si_pre
    items = []
    for body, _ in entries:
        body = body.replace("<", "<" + si_pre).replace("<" + si_pre + "/", "</" + si_pre)
        if body:
            items.append(f"<{si_pre}si{si_attrs}>{body}</{si_pre}si>")
        else:
            items.append(f"<{si_pre}si{si_attrs}/>")
    ns = f'xmlns{":" + pre[:-1] if pre else ""}="{NS_MAIN}"'
    if si_pre != pre:
        ns += f' xmlns{":" + si_pre[:-1] if si_pre else ""}="{NS_MAIN}"'
    return f"{decl}<{pre}sst {ns} {sst_attrs}>{gap}{gap.join(items)}{gap}{close}</{pre}sst>"


def _workbook(tmp_path: Path, sst: str | bytes, entries: list[tuple[str, str]] = ENTRIES) -> Path:
    """A workbook whose sheet Data has A<k+1> -> entry k of the shared-strings part ``sst``."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    for k in range(max(1, len(entries))):
        ws.cell(k + 1, 1, f"p{k}")
    ws["B1"] = 1.5
    base = save_new_workbook(wb, tmp_path / "base.xlsx")
    with zipfile.ZipFile(base) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    items = "".join(f"<si><t>p{k}</t></si>" for k in range(max(1, len(entries))))
    assert f'uniqueCount="{max(1, len(entries))}">{items}</sst>' in parts[SST].decode()
    if not entries:  # no text cell: A1 a number
        sheet = "xl/worksheets/sheet1.xml"
        parts[sheet] = parts[sheet].replace(b' t="s"><v>0</v>', b"><v>0</v>")
    parts[SST] = sst if isinstance(sst, bytes) else sst.encode()
    src = tmp_path / "src.xlsx"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in parts.items():
            zf.writestr(n, d)
    return src


def _calamine(path: Path) -> dict[str, list[list[object]]]:
    book = CalamineWorkbook.from_path(str(path))
    return {n: book.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in book.sheet_names}


def _openpyxl(path: Path) -> dict[str, list[list[object]]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb}


def _write(src: Path, dst: Path) -> None:
    write_sheets(src, [SheetOutput(OUT, pd.DataFrame({"name": NEW}))], dst)


def _check(tmp_path: Path, sst: str | bytes, entries: list[tuple[str, str]] = ENTRIES) -> None:
    """Write NEW to a workbook holding ``sst``: every cell of Data reads the same before and
    after, in both readers, and is the text by hand; every cell of New is what was written."""
    src = _workbook(tmp_path, sst, entries)
    want, n = [e[1] for e in entries], len(entries)
    cal, opx = _calamine(src), _openpyxl(src)
    assert [r[0] for r in cal["Data"]][:n] == want  # the table means what the case says
    assert [r[0] for r in opx["Data"]][:n] == want
    dst = tmp_path / "out.xlsx"
    _write(src, dst)
    cal2, opx2 = _calamine(dst), _openpyxl(dst)
    assert cal2["Data"] == cal["Data"] and opx2["Data"] == opx["Data"]
    assert [r[0] for r in cal2["New"]] == ["Name", *NEW]
    assert [r[0] for r in opx2["New"]] == ["Name", *NEW]
    with zipfile.ZipFile(dst) as zf:
        assert zf.testzip() is None


PREFIXES = ["a.b:", "x-1:", "é:", "x·y:", "_9:", "x:"]


@pytest.mark.parametrize("pre", PREFIXES)
def test_a_prefixed_table_keeps_its_entries(tmp_path: Path, pre: str) -> None:
    """A prefix is any XML NCName: '.', '-', digits after the first character, non-ASCII."""
    _check(tmp_path, _sst(pre=pre))


@pytest.mark.parametrize("si_pre", ["a.b:", "x-1:", "é:"])
def test_entries_with_their_own_prefix_in_a_default_namespace_table(
    tmp_path: Path, si_pre: str
) -> None:
    """The worst case of a missed prefix: the <sst> tag is found, its entries are not, so new
    texts would be numbered from 0 over the existing ones."""
    _check(tmp_path, _sst(si_pre=si_pre))


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("default namespace redeclared on <sst>", {"pre": "x:", "si_pre": ""}),
        ("namespace declared on each <si>", {"si_attrs": f' xmlns="{NS_MAIN}"'}),
        ("prefix declared on each <si>", {"si_pre": "y.z:", "si_attrs": f' xmlns:y.z="{NS_MAIN}"'}),
        ("CRLF between entries", {"gap": "\r\n"}),
        ("pretty-printed", {"gap": "\n  "}),
        ("counts missing", {"sst_attrs": ""}),
        ("counts wrong", {"sst_attrs": 'count="2" uniqueCount="3"'}),
        ("counts too high", {"sst_attrs": 'count="80" uniqueCount="80"'}),
        ("counts single-quoted", {"sst_attrs": "count='8' uniqueCount = '8'"}),
        ("no XML declaration", {"decl": ""}),
        ("BOM", {"decl": "\ufeff" + DECL}),
    ],
)
def test_unusual_tables_keep_their_entries(tmp_path: Path, name: str, kw: dict) -> None:
    _check(tmp_path, _sst(**kw))


def test_whitespace_inside_entry_tags(tmp_path: Path) -> None:
    sst = _sst().replace("</si>", "</si\r\n>").replace("<si>", "<si >").replace("<si/>", "<si />")
    _check(tmp_path, sst)


def test_an_empty_table(tmp_path: Path) -> None:
    for sst in (_sst([]), _sst([]).replace("></sst>", "/>"), _sst([], pre="a.b:")):
        _check(tmp_path, sst, [])


@pytest.mark.parametrize(
    ("name", "sst"),
    [
        ("a comment between entries", _sst(gap="<!-- <si><t>x</t></si> -->")),
        ("a comment in a text", _sst([("<t>a<!-- </si> --></t>", "a"), *ENTRIES[1:]])),
        ("CDATA", _sst([("<t><![CDATA[</si><si>]]></t>", "</si><si>"), *ENTRIES[1:]])),
        ("an extension list", _sst(close='<extLst><ext uri="{x}"/></extLst>')),
        ("an unknown attribute on <si>", _sst(si_attrs=' foo="1"')),
        ("a processing instruction", _sst(close="<?pi <si/>?>")),
        ("UTF-16", _sst(decl=DECL.replace("UTF-8", "UTF-16")).encode("utf-16")),
    ],
)
def test_a_table_not_read_for_sure_is_refused(tmp_path: Path, name: str, sst: str | bytes) -> None:
    """Valid XML, but not what the fast reading recognises: a located error with a fix, and no
    file written, rather than a guess."""
    src = _workbook(tmp_path, sst)
    before = src.read_bytes()
    dst = tmp_path / "out.xlsx"
    with pytest.raises(SopError) as err:
        _write(src, dst)
    text = str(err.value)
    assert "src.xlsx" in text and SST in text and "save the workbook from Excel" in text
    assert not dst.exists() and src.read_bytes() == before


def _rewrite(src: Path, edit: Callable[[str], str]) -> None:
    with zipfile.ZipFile(src) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    parts[SST] = edit(parts[SST].decode()).encode()
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in parts.items():
            zf.writestr(n, d)


def test_two_writes_in_a_row_on_a_prefixed_table(tmp_path: Path) -> None:
    """The second write opens the table the first one saved (kept, not parsed again)."""
    src = _workbook(tmp_path, _sst(pre="a.b:", gap="\n"))
    cal = _calamine(src)
    _write(src, src)
    other = Table(**{**OUT.model_dump(), "name": "tblOther", "sheet": "Other"})
    write_sheets(src, [SheetOutput(other, pd.DataFrame({"name": ["omega", "zeta", "alpha"]}))])
    back = _calamine(src)
    assert back["Data"] == cal["Data"]
    assert [r[0] for r in back["New"]] == ["Name", *NEW]
    assert [r[0] for r in back["Other"]] == ["Name", "omega", "zeta", "alpha"]
