"""Build a release a user can download, into dist/, and check it with independent readers.

    bash scripts/release.sh [DIST]          # = .venv/bin/python scripts/release.py [DIST]

Builds, from the files git tracks (so nothing untracked slips in):

- ``sop_xl-<version>-py3-none-any.whl`` and ``sop_xl-<version>.tar.gz`` (pip installs either);
- ``SOP_Planning.xlsx`` and ``SOP_Planning.xlsm`` (the standard workbook, with the S&OP ribbon);
- ``SOP.xlam`` (the add-in: the ribbon and the functions in every workbook).

Then checks them: the wheel and the sdist hold every build source the installed commands need
(ribbon XML, VBA modules), openpyxl and python-calamine open the workbooks, oletools reads the
VBA project, and every file is a normal 0644 file. Everything is built in a scratch folder first,
so a failed build leaves the previous dist/ as it was.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What the installed ``sop-xl demo`` and ``build-workbook`` read besides Python modules.
PACKAGE_DATA = (
    "sop_xl/py.typed",
    "sop_xl/excel/sources/customUI14.xml",
    "sop_xl/excel/sources/vba/SOP_Ribbon.bas",
    "sop_xl/excel/sources/vba/ThisWorkbook.cls",
)
WORKBOOKS = ("SOP_Planning.xlsx", "SOP_Planning.xlsm", "SOP.xlam")


class ReleaseError(Exception):
    """A built file is missing something or does not open."""


def tracked_tree(dst: Path) -> Path:
    """Copy the files git tracks to ``dst`` (the sdist must not pick up local clutter)."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        src = ROOT / name
        if src.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    return dst


def build_python(src: Path, out: Path) -> tuple[Path, Path]:
    """The wheel and the sdist, through setuptools' PEP 517 hooks (no download, no isolation)."""
    # build_meta rewrites sys.argv, so the folder is read once; the names go to a file because
    # setuptools logs on stdout
    code = (
        "import sys, pathlib; from setuptools import build_meta as b; out = sys.argv[1]; "
        "names = [b.build_sdist(out), b.build_wheel(out)]; "
        "pathlib.Path(out, 'names.txt').write_text(chr(10).join(names))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=src, capture_output=True, text=True
    )
    if proc.returncode:
        raise ReleaseError(f"the Python package did not build:\n{proc.stdout}\n{proc.stderr}")
    names = out / "names.txt"
    sdist, wheel = names.read_text().splitlines()
    names.unlink()
    return out / wheel, out / sdist


def build_workbooks(out: Path) -> None:
    from sop_xl.excel.build import make_xlam, make_xlsm
    from sop_xl.io.template import build_standard_workbook

    build_standard_workbook(out, make_xlsm=make_xlsm)  # the .xlsm is built only when passed in
    make_xlam(out / "SOP.xlam")


def check(out: Path, wheel: Path, sdist: Path) -> list[str]:
    """Open every built file with an independent reader; return what was checked."""
    import openpyxl
    from oletools.olevba import VBA_Parser
    from python_calamine import CalamineWorkbook

    done = []
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [p for p in PACKAGE_DATA if p not in names]
    if missing:
        raise ReleaseError(f"{wheel.name} lacks {', '.join(missing)}")
    done.append(f"{wheel.name}: {len(names)} files, build sources included")
    with tarfile.open(sdist) as tar:
        members = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
    missing = [p for p in (*PACKAGE_DATA, "pyproject.toml", "README.md") if p not in members]
    if missing:
        raise ReleaseError(f"{sdist.name} lacks {', '.join(missing)}")
    done.append(f"{sdist.name}: {len(members)} files, build sources included")
    for name in WORKBOOKS:
        path = out / name
        with zipfile.ZipFile(path) as z:
            parts = set(z.namelist())
        if (
            name != "SOP_Planning.xlsx"
            and not {
                "xl/vbaProject.bin",
                "customUI/customUI14.xml",
            }
            <= parts
        ):
            raise ReleaseError(f"{name} has no VBA project or no ribbon")
        if name.endswith(".xlam"):
            vba = VBA_Parser(str(path))
            modules = {m[2] for m in vba.extract_macros()}
            vba.close()
            if "SOP_Ribbon" not in " ".join(modules):
                raise ReleaseError(f"{name}: oletools finds no SOP_Ribbon module ({modules})")
            done.append(f"{name}: VBA modules {', '.join(sorted(modules))}")
            continue
        sheets = openpyxl.load_workbook(path, keep_vba=True, read_only=True).sheetnames
        if CalamineWorkbook.from_path(str(path)).sheet_names != sheets or "Settings" not in sheets:
            raise ReleaseError(f"{name}: openpyxl and calamine disagree or no Settings sheet")
        done.append(f"{name}: {len(sheets)} sheets (openpyxl = calamine)")
    return done


def release(dist: Path) -> list[str]:
    """Build and check everything in a scratch folder, then move it into ``dist``."""
    dist = Path(dist)
    with tempfile.TemporaryDirectory(prefix="sop_xl_release_") as tmp:
        stage = Path(tmp) / "dist"
        stage.mkdir()
        wheel, sdist = build_python(tracked_tree(Path(tmp) / "src"), stage)
        build_workbooks(stage)
        done = check(stage, wheel, sdist)
        dist.mkdir(parents=True, exist_ok=True)
        for f in sorted(stage.iterdir()):
            os.chmod(f, 0o644)  # a normal file anyone may read, not mkstemp's 0600
            shutil.move(f, dist / f.name)
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dist", nargs="?", default=str(ROOT / "dist"), help="output folder")
    args = ap.parse_args(argv)
    try:
        done = release(Path(args.dist))
    except (ReleaseError, subprocess.CalledProcessError) as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 2
    print("\n".join([f"Release in {args.dist}:", *(f"  {line}" for line in done)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
