"""Print a sheet the way an executive sees it: LibreOffice headless to PDF, poppler to PNG.

Used for the board-pack picture of the scorecard and by the tests that prove our files open and
draw in an independent spreadsheet engine. LibreOffice works on a *copy*; nothing it writes is
ever shipped (it drops workbook protection on save).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from sop_xl.errors import SopError


def soffice() -> str:
    """The LibreOffice executable, or a clear error saying how to install it."""
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if path is None:
        raise SopError(
            "LibreOffice is not installed, so nothing can be printed to PDF here.",
            fix="Install it: apt-get install --no-install-recommends libreoffice-calc-nogui "
            "poppler-utils",
        )
    return path


def sheet_first(src: Path, dst: Path, sheet: str) -> None:
    """Copy ``src`` to ``dst`` with ``sheet`` moved to the front (so it prints as page 1)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/workbook.xml":
                text = data.decode("utf-8")
                tags = re.findall(r"<sheet\s[^>]*/>", text)
                old = next(i for i, t in enumerate(tags) if f'name="{sheet}"' in t)
                text = text.replace(tags[old], "", 1).replace("<sheets>", "<sheets>" + tags[old], 1)
                text = re.sub(r'localSheetId="(\d+)"', partial(_moved, old=old), text)
                text = re.sub(r'\s(activeTab|firstSheet)="\d+"', "", text)
                data = text.encode("utf-8")
            zout.writestr(info, data)


def _moved(m: re.Match, old: int) -> str:
    """A sheet-scoped name follows its sheet when sheet ``old`` moves to the front."""
    i = int(m.group(1))
    return f'localSheetId="{0 if i == old else i + 1 if i < old else i}"'


@contextlib.contextmanager
def _profile() -> Iterator[str]:
    """LibreOffice's profile folder: ``SOP_XL_LO_PROFILE`` when set (kept: the next print skips
    the ~2 s profile set-up; one process at a time per folder), else a fresh temporary one."""
    keep = os.environ.get("SOP_XL_LO_PROFILE")
    if keep:
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="sop_xl_lo_") as profile:
        yield profile


def to_pdf(xlsx: Path, outdir: Path, pages: str = "1-2", timeout: int = 240) -> Path:
    """Print pages ``pages`` of ``xlsx`` to ``outdir/<stem>.pdf`` with a private LO profile."""
    outdir.mkdir(parents=True, exist_ok=True)
    with _profile() as profile:
        page_range = '{"PageRange":{"type":"string","value":"' + pages + '"}}'
        cmd = [
            soffice(),
            f"-env:UserInstallation={Path(profile).resolve().as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf:calc_pdf_Export:" + page_range,
            "--outdir",
            str(outdir),
            str(xlsx),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    pdf = outdir / f"{xlsx.stem}.pdf"
    if not pdf.exists():
        raise SopError(f"LibreOffice could not print {xlsx.name}: {proc.stdout} {proc.stderr}")
    return pdf


def pdf_page_png(pdf: Path, out: Path, page: int = 1, dpi: int = 60) -> Path:
    """Draw one page of ``pdf`` as ``out`` (PNG) with pdftoppm."""
    stem = out.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
         str(pdf), str(stem)],
        check=True,
        timeout=120,
    )  # fmt: skip
    png = stem.with_suffix(".png")
    if png != out:
        os.replace(png, out)
    return out
