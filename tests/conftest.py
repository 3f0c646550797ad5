"""Shared test fixtures: LibreOffice headless (an independent spreadsheet engine) and the demo."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="session")
def soffice() -> str:
    """Path of LibreOffice's soffice; skipped where missing, a failure under CI."""
    path = _soffice()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is missing under CI: .ci/run must install it")
        pytest.skip("LibreOffice not installed (bash .ci/run installs it)")
    return path


def convert(soffice: str, src: Path, fmt: str, outdir: Path, timeout: int = 180) -> Path:
    """Convert ``src`` with LibreOffice headless (private profile); return the output file."""
    outdir.mkdir(parents=True, exist_ok=True)
    profile = outdir / "lo_profile"
    cmd = [
        soffice,
        f"-env:UserInstallation=file://{profile.resolve()}",
        "--headless",
        "--norestore",
        "--convert-to",
        fmt,
        "--outdir",
        str(outdir),
        str(src),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = outdir / f"{src.stem}.{fmt.split(':')[0]}"
    assert out.exists(), f"LibreOffice did not convert {src.name}: {proc.stdout} {proc.stderr}"
    return out


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full demo (template, data, regional files, whole cycle, frozen plan), built once."""
    from sop_xl import cycle
    from sop_xl.excel.build import make_xlsm

    out = tmp_path_factory.mktemp("demo")
    cycle.demo(out, make_xlsm=make_xlsm)  # as `sop-xl demo` builds it
    return out


@pytest.fixture(scope="session", autouse=True)
def _table_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests never write into the user's cache folder: the table store lives in a temp folder."""
    folder = tmp_path_factory.mktemp("table_store")
    os.environ["SOP_XL_CACHE_DIR"] = str(folder)
    return folder
