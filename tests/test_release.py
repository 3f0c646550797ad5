"""A release a user can install: scripts/release.py builds the wheel, the sdist, the workbooks and
the add-in, checked; a wheel of this tree installed into a fresh venv runs ``sop-xl demo`` from
another folder.

The fresh venv borrows the dependencies of the test interpreter through a ``.pth`` line (no
download), but sop_xl itself comes only from the wheel: a build source left out of the package
(VBA modules, ribbon XML) makes the installed demo fail here, as it did for users (issue 18).
That demo is the run's shared one (tests/demo_build.py), so the suite builds it once.
"""

from __future__ import annotations

import importlib.util
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("release", ROOT / "scripts" / "release.py")
RELEASE = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(RELEASE)  # type: ignore[union-attr]


@pytest.mark.first  # about 20 s on its own, without the demo: start it early
@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git checkout"
)
def test_release_builds_every_file_checked_with_normal_permissions(tmp_path: Path):
    dist = tmp_path / "dist"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "release.py"), str(dist)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = {p.name: p for p in dist.iterdir()}
    wheel = next(p for n, p in files.items() if n.endswith(".whl"))
    assert any(n.endswith(".tar.gz") for n in files)
    assert {"SOP_Planning.xlsx", "SOP_Planning.xlsm", "SOP.xlam"} <= set(files)
    # normal permissions, not mkstemp's 0600: a user (or a web server) can read the download
    assert {stat.S_IMODE(p.stat().st_mode) for p in files.values()} == {0o644}
    assert "openpyxl = calamine" in proc.stdout and "VBA modules" in proc.stdout
    assert set(RELEASE.PACKAGE_DATA) <= set(zipfile.ZipFile(wheel).namelist())


def test_the_installed_wheel_ran_the_demo_from_another_folder(installed_demo: dict, demo_dir):
    """The run's shared demo was built by ``sop-xl demo`` of a wheel of this tree, installed by
    pip into a fresh venv, run outside the checkout without PYTHONPATH (tests/demo_build.py):
    one demo build per run serves this test and every other test on the demo."""
    how = installed_demo
    assert how["sop_xl"].startswith(how["purelib"]), how["sop_xl"]  # the wheel's copy
    assert not Path(how["cwd"]).resolve().is_relative_to(ROOT)  # another folder
    assert how["returncode"] == 0, how["stdout"] + how["stderr"]
    assert "is missing" not in how["stderr"]
    # the wheel holds every build source the release checks for (the same list)
    assert set(RELEASE.PACKAGE_DATA) <= set(zipfile.ZipFile(how["wheel"]).namelist())
    assert demo_dir == Path(how["cwd"]) / "demo"
    with zipfile.ZipFile(demo_dir / "SOP_Planning.xlsm") as z:
        assert {"xl/vbaProject.bin", "customUI/customUI14.xml"} <= set(z.namelist())
    assert (demo_dir / "snapshots" / "SOP_Plan_2026-11_v01.xlsx").is_file()
    assert "Frozen plan:" in how["stdout"] and "Next:" in how["stdout"]


def test_pyproject_uses_the_spdx_license_string_and_ships_the_build_sources():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"  # not the deprecated {text = ...} table
    assert (ROOT / "LICENSE").is_file()
    data = project["tool"]["setuptools"]["package-data"]["sop_xl"]
    assert "excel/sources/vba/*" in data and "excel/sources/*.xml" in data


def test_install_steps_name_the_wheel_the_release_builds_and_its_xlwings():
    """README and docs/excel.md told Windows and Mac users to `pip install sop-xl` (not on PyPI)
    and to run `xlwings addin install`, which a Command Prompt does not find outside the venv."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wheel = f"sop_xl-{project['version']}-py3-none-any.whl"  # setuptools' name for it
    xlwings = next(d for d in project["dependencies"] if d.startswith("xlwings=="))
    readme = (ROOT / "README.md").read_text()
    excel = (ROOT / "docs" / "excel.md").read_text()
    assert wheel in readme and "docs/excel.md#installing" in readme
    assert "## Installing" in excel
    for venv in (r"%LOCALAPPDATA%\sop_xl\venv\Scripts", "~/sop_xl_venv/bin"):  # Windows, macOS
        for command in (f"pip install {wheel}", "sop-xl excel-setup", "sop-xl demo"):
            assert f"{venv}\\{command}" in excel or f"{venv}/{command}" in excel, (venv, command)
    assert xlwings.split("==")[1] in excel
    blocks = "\n".join(re.findall(r"```(?:bat|sh)\n(.*?)```", excel, re.S))
    assert "pip install sop-xl" not in blocks
    # every xlwings command to type is the venv's own: a bare `xlwings` is not on the PATH
    assert not re.findall(r"(?m)^ *xlwings ", blocks) and "run `xlwings" not in excel
    assert "SOP_Planning.xlsx" in readme and "Excel on the web" in excel


def test_setup_without_the_venv_module_says_what_to_install_and_leaves_no_half_venv(tmp_path):
    """On Debian/Ubuntu without python3-venv, `python3 -m venv .venv` makes .venv/bin/python and
    then fails (no ensurepip); the next run skipped the half-made .venv and failed on 'No module
    named pip'. Now setup removes it, says what to install and exits 2, every time."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    (root / "pyproject.toml").write_text("")
    fake = tmp_path / "python3"  # the real Python, except that `-m venv` fails as on Debian
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; '
        f'ln -s {sys.executable} "$3/bin/python"; '
        'echo "ensurepip is not available" >&2; exit 1; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    fake.chmod(0o755)
    for _ in range(2):  # the second run meets what the first left
        proc = subprocess.run(
            ["bash", str(root / "scripts" / "setup.sh")],
            env={"PATH": "/usr/bin:/bin", "PYTHON": str(fake)},
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "sudo apt install python3-venv" in proc.stderr
        assert "No module named pip" not in proc.stderr
        assert not (root / ".venv").exists()
