"""Freezing a master whose shared-strings table another program wrote (a namespace prefix with
'.' or '-', entries with their own prefix): the plan's texts are the master's, cell for cell, and
the texts freeze adds (the Cover, formula results) read back as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from test_snapshot import _unzip, _zip, build_master

from sop_xl.errors import SopError
from sop_xl.io.xlsx.parts import NS_MAIN
from sop_xl.io.xlsx.sst import share_strings
from sop_xl.plan.snapshot import freeze

SST = "xl/sharedStrings.xml"


def _values(path: Path) -> dict[str, list[list[object]]]:
    """Every cell by sheet; numbers to 15 significant digits (a plan freezes them so)."""
    book = CalamineWorkbook.from_path(str(path))
    return {
        n: [
            [float(f"{v:.15g}") if isinstance(v, float) else v for v in row]
            for row in book.get_sheet_by_name(n).to_python()
        ]
        for n in book.sheet_names
    }


def _master(tmp_path: Path, sst_pre: str, si_pre: str, gap: str = "") -> Path:
    """build_master with its texts in a shared-strings table (as Excel keeps them), the table
    then written with prefix ``sst_pre`` on <sst> and ``si_pre`` on its entries."""
    master = build_master(tmp_path / "SOP_Master.xlsm")
    share_strings(master)
    parts = _unzip(master.read_bytes())
    sst = parts[SST].decode()
    assert sst.count("<si>") > 20 and "<x" not in sst  # a real table, Excel's form
    head, rest = sst.split("<sst ", 1)
    decls = f'xmlns:{sst_pre[:-1]}="{NS_MAIN}"' if sst_pre else f'xmlns="{NS_MAIN}"'
    if si_pre and si_pre != sst_pre:
        decls += f' xmlns:{si_pre[:-1]}="{NS_MAIN}"'
    rest = rest.replace(f'xmlns="{NS_MAIN}"', decls, 1)
    rest = re.sub(r"<(/?)(si|t|r|rPr|b|sz|rFont)\b", lambda m: f"<{m[1]}{si_pre}{m[2]}", rest)
    rest = rest.replace("</sst>", f"</{sst_pre}sst>").replace("><", f">{gap}<")
    parts[SST] = f"{head}<{sst_pre}sst {rest}".encode()
    master.write_bytes(_zip(parts))
    return master


@pytest.mark.parametrize(
    ("sst_pre", "si_pre", "gap"),
    [("a.b:", "a.b:", ""), ("", "x-1:", ""), ("é:", "é:", "\r\n"), ("", "", "")],
)
def test_a_frozen_plan_keeps_the_masters_texts(
    tmp_path: Path, sst_pre: str, si_pre: str, gap: str
) -> None:
    master = _master(tmp_path, sst_pre, si_pre, gap)
    want = _values(master)
    assert want["Items"][1][:2] == ["1000", "Muesli"]
    res = freeze(master, approved_by="Jane Doe, CFO", created_by="anna")
    got = _values(res.path)
    kept = [n for n in want if n in got]
    assert {"Settings", "Items", "Forecast", "Calc"} <= set(kept)
    for name in kept:
        assert got[name] == want[name], name
    cover = [str(v) for row in got[next(iter(got))] for v in row]
    assert "Jane Doe, CFO" in cover and "Acme Foods" in " ".join(cover)
    assert got["Calc"][0][2] == "2x"  # a formula's text result, now a shared string too


def test_a_master_whose_table_cannot_be_read_for_sure_is_not_frozen(tmp_path: Path) -> None:
    master = _master(tmp_path, "", "")
    parts = _unzip(master.read_bytes())
    parts[SST] = parts[SST].replace(b"</si>", b"</si><!-- x -->", 1)
    master.write_bytes(_zip(parts))
    before = master.read_bytes()
    with pytest.raises(SopError) as err:
        freeze(master, approved_by="CFO")
    assert "SOP_Master.xlsm" in str(err.value) and SST in str(err.value)
    assert master.read_bytes() == before
    assert not list((tmp_path / "snapshots").glob("*.xlsx"))
