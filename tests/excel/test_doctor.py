"""``sop-xl doctor`` on a master that LibreOffice saved as .xlsm (issue 20, item 6)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sop_xl.cli import main
from sop_xl.excel.doctor import doctor

ROOT = Path(__file__).resolve().parents[2]
MASTER = ROOT / "workbook" / "SOP_Planning.xlsm"


def test_the_built_master_is_healthy() -> None:
    rep = doctor(MASTER)
    assert rep.ok, rep.text()


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_saved_master_is_diagnosed(tmp_path: Path, capsys) -> None:
    src = tmp_path / "SOP_Master.xlsm"
    shutil.copyfile(MASTER, src)
    subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'p').as_uri()}", "--headless",
         "--convert-to", "xlsm:Calc MS Excel 2007 VBA XML", "--outdir", str(tmp_path / "lo"),
         str(src)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    saved = tmp_path / "lo" / src.name
    rep = doctor(saved)
    text = rep.text()
    assert not rep.ok
    assert "'Class=Dictionary'" in text
    assert "Option ClassModule" in text
    assert "no code name" in text and "sheet(s) have no code name" in text
    assert "buttons call macros that no longer compile" in text
    assert main(["doctor", str(saved)]) == 1
    assert "problem(s)" in capsys.readouterr().out

    # repair: ribbon, VBA project and functions reinstalled; every sheet part kept byte for
    # byte apart from the code name the build gives each sheet
    fixed = tmp_path / "fixed.xlsm"
    assert main(["repair", str(saved), "--out", str(fixed)]) == 0
    assert doctor(fixed).ok, doctor(fixed).text()
    import re
    import zipfile

    with zipfile.ZipFile(saved) as a, zipfile.ZipFile(fixed) as b:
        sheets = [n for n in a.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        for n in sheets:
            assert re.sub(rb' codeName="[^"]*"', b"", b.read(n)) == a.read(n), n
        for n in a.namelist():
            if n.startswith(("xl/tables/", "xl/sharedStrings", "xl/styles")):
                assert a.read(n) == b.read(n), n


def test_missing_tables_and_ribbon_are_named(tmp_path: Path) -> None:
    import zipfile

    bad = tmp_path / "bad.xlsm"
    with zipfile.ZipFile(MASTER) as zi, zipfile.ZipFile(bad, "w") as zo:
        for n in zi.namelist():
            if n != "customUI/customUI14.xml":
                data = zi.read(n)
                if n.startswith("xl/tables/") and b'displayName="tblItems"' in data:
                    data = data.replace(b'displayName="tblItems"', b'displayName="tblOther"')
                zo.writestr(n, data)
    text = doctor(bad).text()
    assert "ribbon tab is missing" in text
    assert "input table 'tblItems'" in text
