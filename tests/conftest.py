"""Shared test fixtures: LibreOffice headless (an independent spreadsheet engine) and the demo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example time limit: on a loaded two-core CI machine an example of a fast property can
# take longer than hypothesis' default 200 ms (a DeadlineExceeded that passes on every rerun);
# the suite's own time is watched as a whole instead.
settings.register_profile("sop_xl", deadline=None)
settings.load_profile("sop_xl")


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
    """Convert ``src`` with LibreOffice headless; return the output file.

    The profile is the test process's own (``SOP_XL_LO_PROFILE``, set below): LibreOffice builds
    a fresh profile in about 2 s, so the tests share one per worker instead of one per call."""
    outdir.mkdir(parents=True, exist_ok=True)
    profile = Path(os.environ.get("SOP_XL_LO_PROFILE") or outdir / "lo_profile")
    cmd = [
        soffice,
        f"-env:UserInstallation={profile.resolve().as_uri()}",
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


# --- the demo: built once per test run, in the background, shared by every xdist worker ---------
ROOT = Path(__file__).resolve().parents[1]
#: The builder (``python tests/demo_build.py SHARED checkout|wheel``) writes these into SHARED.
DEMO_FILES = ("demo", "demo.done", "demo.failed")


def _shared_dir(config: pytest.Config) -> Path:
    """A folder every process of this run sees: the run's base temp folder (the parent of each
    xdist worker's own), made on first use."""
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / "shared"
    folder.mkdir(exist_ok=True)
    return folder


def _start_demo_build(config: pytest.Config, via: str = "checkout") -> None:
    """Start building the demo in a subprocess, once per run (the first process to ask wins), so
    it builds on the other core while the tests that do not need it run. ``via="wheel"`` (when
    the run includes the release test, fixture ``installed_demo``): built by ``sop-xl demo`` of
    the wheel installed in a fresh venv, outside the checkout (tests/demo_build.py), so a full
    run builds the demo once, as a user gets it, for the release test and every other one."""
    shared = _shared_dir(config)
    try:
        fd = os.open(shared / "demo.started", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["SOP_XL_CACHE_DIR"] = str(shared / "demo_table_store")  # never the user's cache
    log = open(shared / "demo.log", "w")  # noqa: SIM115 (the child writes it until it ends)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "demo_build.py"), str(shared), via],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=shared,
    )  # fmt: skip
    config._sop_xl_demo_build = proc  # type: ignore[attr-defined]
    config._sop_xl_demo_log = log  # type: ignore[attr-defined]


#: pytest's cache key of each test's last call duration (seconds), by test id
DURATIONS = "sop_xl/durations"


@pytest.hookimpl(trylast=True)  # after -k / -m deselection: no build for a run that needs none
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests on the demo run last, so the demo builds in the background meanwhile; within each
    part, tests marked ``first`` and then the longest of the last run (pytest's cache) start
    first, so the test processes end together instead of one waiting on a long test at the end.
    Every xdist worker reads the same cache, so they all collect the same order."""
    names = [getattr(item, "fixturenames", ()) for item in items]
    if any("demo_dir" in n for n in names):
        _start_demo_build(
            config, "wheel" if any("installed_demo" in n for n in names) else "checkout"
        )
    cache = getattr(config, "cache", None)  # None under -p no:cacheprovider
    last = cache.get(DURATIONS, {}) if cache else {}
    items.sort(
        key=lambda item: (
            "demo_dir" in getattr(item, "fixturenames", ()),
            item.get_closest_marker("first") is None,
            -last.get(item.nodeid, 0.0),
        )
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember each test's call duration (in the xdist controller, which sees every report)."""
    if report.when == "call" and not os.environ.get("PYTEST_XDIST_WORKER"):
        _durations[report.nodeid] = round(report.duration, 2)


_durations: dict[str, float] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Wait for the build (another worker may still be using it); stop it only on Ctrl-C. Keep
    the durations of the tests that ran for the next run's order."""
    cache = getattr(session.config, "cache", None)
    if _durations and cache is not None:
        cache.set(DURATIONS, {**cache.get(DURATIONS, {}), **_durations})
    proc = getattr(session.config, "_sop_xl_demo_build", None)
    if proc is not None:
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            proc.kill()
        proc.wait()
        session.config._sop_xl_demo_log.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def demo_dir(pytestconfig: pytest.Config) -> Path:
    """The full demo (template, data, regional files, whole cycle, frozen plan), built once per
    test run (in the background, see ``_start_demo_build``) and shared by every worker. Tests
    must not change it: copy what they write to."""
    shared = _shared_dir(pytestconfig)
    _start_demo_build(pytestconfig)  # e.g. when a test asks for it unannounced
    out, done, failed = (shared / n for n in DEMO_FILES)
    log = shared / "demo.log"
    deadline = time.monotonic() + 1800
    while not done.exists():
        if failed.exists() or time.monotonic() > deadline:
            text = log.read_text() if log.exists() else ""
            pytest.fail(f"the demo build failed or timed out:\n{text[-4000:]}")
        time.sleep(0.5)
    return out


@pytest.fixture(scope="session")
def installed_demo(demo_dir: Path) -> dict:
    """How the shared demo was built when the release test is in the run: the wheel, the venv's
    ``purelib``, where ``sop_xl`` was imported from, the folder ``sop-xl demo`` ran in and its
    output (tests/demo_build.py)."""
    how = json.loads((demo_dir.parent / "demo.json").read_text())
    if how["via"] != "wheel":  # e.g. a test asked for it unannounced, after the build started
        pytest.fail("the shared demo was built from the checkout, not from the installed wheel")
    return how


@pytest.fixture(scope="session", autouse=True)
def _table_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests never write into the user's cache folder: the table store lives in a temp folder."""
    folder = tmp_path_factory.mktemp("table_store")
    os.environ["SOP_XL_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session", autouse=True)
def _no_background() -> None:
    """No background fits (sop_xl.background) from the many validations of the suite: each would
    start a process; tests/test_background.py switches them on. The demo build (its own
    process, started earlier) keeps them, as a user's cycle does."""
    os.environ["SOP_XL_BACKGROUND"] = "off"


@pytest.fixture(scope="session", autouse=True)
def _lo_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One LibreOffice profile per test process (``convert`` above, ``sop_xl.io.render``)."""
    folder = tmp_path_factory.getbasetemp() / "lo_profile"
    os.environ["SOP_XL_LO_PROFILE"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def demo_steps(demo_dir: Path) -> list[Path]:
    """The demo master after each step of its cycle (tests/demo_build.py), in step order."""
    return sorted((demo_dir.parent / "demo_steps").glob("*.xlsm"))


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo company cut down to 8 items (the full demo takes minutes to load in openpyxl),
    in the standard template, written by the file writer as `sop-xl demo` writes it. Built
    once per test process; tests must not change it: copy what they write to."""
    from sop_xl.demo.company import make_demo
    from sop_xl.io.filebook import FileBook
    from sop_xl.io.template import build_template
    from sop_xl.model import schema
    from sop_xl.model.sheets import SheetOutput
    from sop_xl.scenario.rules import options

    data = make_demo()
    items = sorted(data.tables["Items"]["item"])[:8]
    path = tmp_path_factory.mktemp("small_demo") / "SOP_Planning.xlsx"
    build_template(path)
    outputs = [SheetOutput(schema.SETTINGS, data.settings_frame())]
    families = set(data.tables["Items"].set_index("item").loc[items, "family"])
    scenarios = {"Base"}
    for table, df in data.frames():
        if table is schema.SCENARIOS:  # drivers on a family the cut-down book lacks are errors
            known = families | set(data.tables["Resources"]["resource"])
            df = df[df["target"].isna() | df["target"].isin(known)]
            scenarios |= set(df["scenario"])
        if table is schema.DECISIONS:  # ... and so are decisions between scenarios it lacks
            df = df[[set(options(o)) <= scenarios for o in df["options"]]]
        outputs.append(SheetOutput(table, df[df["item"].isin(items)] if "item" in df else df))
    FileBook(path).write(outputs)
    return path
