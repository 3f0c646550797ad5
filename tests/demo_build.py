"""Build the test run's shared demo (started by tests/conftest.py in the background).

    python tests/demo_build.py SHARED checkout|wheel

``checkout``: ``cycle.demo`` from this checkout, as ``sop-xl demo`` builds it.

``wheel``: as a user gets it. The package is built into a wheel from this working tree (every
file under sop_xl/, committed or not), installed with pip into a fresh venv (the dependencies
are borrowed from this interpreter through a ``.pth`` line: no download), and that venv's
``sop-xl demo demo`` runs in SHARED, outside the checkout, without PYTHONPATH. A build source
left out of the package (VBA modules, ribbon XML) then fails the demo, as it did for users
(issue 18). tests/test_release.py asks for this and checks it; the other tests share the same
demo, so a full run builds it once instead of twice.

Writes SHARED/demo (the demo), SHARED/demo.json (how it was built) and touches SHARED/demo.done,
or SHARED/demo.failed on any error (the output is in SHARED/demo.log).

Both ways keep a copy of the master as each step of the cycle starts, in SHARED/demo_steps
(``NN <step>.xlsm``: the master after step NN, ``00 inputs`` as the demo wrote it before the
cycle), for the fidelity checks of the master after each step (a file copy: milliseconds).
From the checkout the copy is taken in the cycle's progress callback, before the step runs;
from the wheel, when ``sop-xl demo`` prints the step's progress line (the step has only just
started: it writes the master at its end, seconds later).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


STEP = re.compile(r"Step (\d+)/\d+: (.+)")


class StepCopies:
    """Called with each progress message: on ``Step N/M: title`` it copies the master to
    ``demo_steps/NN-1 <previous title>.xlsm``."""

    def __init__(self, shared: Path):
        self.master = shared / "demo" / "SOP_Planning.xlsm"
        self.folder = shared / "demo_steps"
        self.done = "inputs"

    def __call__(self, message: str, fraction: float | None = None) -> None:
        m = STEP.match(message)
        if m and fraction is None:
            self.folder.mkdir(exist_ok=True)
            name = f"{int(m.group(1)) - 1:02d} {self.done}.xlsm"
            shutil.copyfile(self.master, self.folder / name)
            self.done = m.group(2).strip()


def from_checkout(shared: Path) -> dict:
    from sop_xl import cycle
    from sop_xl.excel.build import make_xlsm

    # as `sop-xl demo` builds it
    cycle.demo(shared / "demo", make_xlsm=make_xlsm, progress=StepCopies(shared))
    return {"via": "checkout"}


def build_wheel(shared: Path) -> Path:
    """A wheel of the working tree, built in a copy (setuptools writes build/ and egg-info)."""
    src = shared / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "sop_xl", src / "sop_xl", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    out = shared / "wheel"
    out.mkdir()
    code = "import sys; from setuptools import build_meta as b; b.build_wheel(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(out)], cwd=src, check=True)
    return next(out.glob("*.whl"))


def from_wheel(shared: Path) -> dict:
    wheel = build_wheel(shared)
    venv = shared / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # never the checkout
    # --ignore-installed: the borrowed site-packages hold the checkout's editable sop_xl, which
    # pip may otherwise take for this one ("already satisfied") and install nothing
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--ignore-installed", str(wheel)],
        cwd=shared, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if pip.returncode or not Path(purelib, "sop_xl", "__init__.py").is_file():
        raise SystemExit(f"pip did not install {wheel.name}:\n{pip.stdout}\n{pip.stderr}")
    probe = subprocess.run(
        [str(python), "-c", "import sop_xl; print(sop_xl.__file__)"],
        cwd=shared,
        env=env,
        capture_output=True,
        text=True,
    )
    if probe.returncode:
        raise SystemExit(f"the installed sop_xl does not import:\n{probe.stderr}")
    where = probe.stdout.strip()
    copies, err = StepCopies(shared), []
    with (shared / "demo.stdout").open("w+") as out:
        proc = subprocess.Popen(
            [str(python.with_name("sop-xl")), "demo", "demo"],
            cwd=shared,
            env=env,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        for line in proc.stderr:  # the progress lines, as sop-xl prints them
            err.append(line)
            copies(line.strip())
        returncode = proc.wait()
        out.seek(0)
        stdout, stderr = out.read(), "".join(err)
    print(stdout, stderr, sep="\n")
    if returncode:
        raise SystemExit(f"the installed sop-xl demo exited {returncode}")
    return {
        "via": "wheel",
        "wheel": str(wheel),
        "purelib": purelib,
        "sop_xl": where,
        "cwd": str(shared),
        "returncode": returncode,
        "stdout": stdout,
        "stderr": stderr,
    }


def main(shared: Path, via: str) -> None:
    try:
        how = from_wheel(shared) if via == "wheel" else from_checkout(shared)
        (shared / "demo.json").write_text(json.dumps(how, indent=1))
    except BaseException:
        (shared / "demo.failed").touch()
        raise
    (shared / "demo.done").touch()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
