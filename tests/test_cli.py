"""The `sop-xl` command: plain messages and exit codes, never a traceback; the demo end to end."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from ooxml_check import load_trimmed
from python_calamine import CalamineWorkbook

from sop_xl import cli
from sop_xl.io.filebook import FileBook
from sop_xl.model import schema


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_missing_workbook_is_a_plain_message(capsys, tmp_path: Path):
    code, out, err = run(capsys, "validate", str(tmp_path / "nope.xlsm"))
    assert code == 2
    assert "nope.xlsm: file not found. Fix: Check the path" in err
    assert "Traceback" not in err + out


def test_a_csv_is_refused_with_the_fix(capsys, tmp_path: Path):
    bad = tmp_path / "plan.xlsx"
    bad.write_text("a,b\n1,2\n")
    code, _, err = run(capsys, "kpis", str(bad))
    assert code == 2 and "not an Excel workbook" in err and "Fix:" in err
    # every command reads through the guard: its fix is not a submitter's ("Submit the ...")
    assert "Fix: Give the Excel workbook itself (.xlsx or .xlsm), not an export of it" in err


def test_unexpected_errors_go_to_the_log_not_the_screen(capsys, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SOP_XL_LOG_DIR", str(tmp_path / "logs"))

    def boom(args):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(cli, "cmd_verify", boom)
    code, _, err = run(capsys, "verify", str(tmp_path))
    assert code == 2
    assert "unexpected error" in err and str(tmp_path / "logs") in err
    assert "internal detail" not in err and "Traceback" not in err
    assert "RuntimeError: internal detail" in (tmp_path / "logs" / "sop_xl.log").read_text()


def test_demo_refuses_to_overwrite_a_previous_demo(capsys, demo_dir: Path):
    before = sorted(p.name for p in demo_dir.rglob("*"))
    code, _, err = run(capsys, "demo", str(demo_dir))
    assert code == 2 and "already holds a demo" in err
    assert "sop-xl demo OTHER_DIR (or bash scripts/demo.sh OTHER_DIR)" in err  # README's command
    assert sorted(p.name for p in demo_dir.rglob("*")) == before


def test_demo_leaves_master_submissions_and_a_frozen_plan(demo_dir: Path):
    master = demo_dir / "SOP_Planning.xlsm"
    plan = demo_dir / "snapshots" / "SOP_Plan_2026-11_v01.xlsx"
    assert master.exists() and plan.exists()
    assert len(list((demo_dir / "submissions").glob("*.xlsx"))) >= 4
    # the master keeps its ribbon and macros after every step wrote into it
    with zipfile.ZipFile(master) as z:
        names = set(z.namelist())
        assert {"xl/vbaProject.bin", "customUI/customUI14.xml"} <= names
        assert b"ui/extensibility" in z.read("_rels/.rels")
    # every output sheet exists, read by an independent reader
    sheets = CalamineWorkbook.from_path(str(master)).sheet_names
    for table in schema.OUTPUT_TABLES:
        if table.name not in ("tblRegionalForecast", "tblRegionalHistory", "tblStamp"):
            assert table.sheet in sheets, table.sheet
    # the frozen plan: values only, no macros, protected (big data sheets cut: see load_trimmed)
    wb = load_trimmed(plan, rows=1)
    assert wb.sheetnames[0] == "Cover"
    assert all(ws.protection.sheet for ws in wb.worksheets)
    assert wb.security is not None and wb.security.lockStructure
    with zipfile.ZipFile(plan) as z:
        assert not any(
            n.endswith("vbaProject.bin") or n.startswith("customUI") for n in z.namelist()
        )
    ledger = [json.loads(line) for line in (demo_dir / "snapshots" / "ledger.jsonl").open()]
    assert [r["version"] for r in ledger] == [1]


def test_validate_and_verify_on_the_demo(capsys, demo_dir: Path, tmp_path: Path):
    copy = tmp_path / "master.xlsm"
    shutil.copy(demo_dir / "SOP_Planning.xlsm", copy)
    code, out, _ = run(capsys, "validate", str(copy))
    assert code == 0 and "Inputs valid" in out
    code, out, _ = run(capsys, "verify", str(demo_dir / "snapshots"))
    assert code == 0 and out.startswith("OK: 1 snapshot(s)")


def test_validate_writes_to_a_copy_and_never_touches_the_input(capsys, demo_dir, tmp_path):
    master = demo_dir / "SOP_Planning.xlsm"
    before = master.read_bytes()
    out = tmp_path / "checked.xlsm"
    code, _, _ = run(capsys, "validate", str(master), "--out", str(out))
    assert code == 0 and master.read_bytes() == before
    assert "Validation" in CalamineWorkbook.from_path(str(out)).sheet_names


def test_validation_errors_give_exit_code_1_and_a_located_report(capsys, demo_dir, tmp_path):
    from sop_xl.model.sheets import SheetOutput

    copy = tmp_path / "master.xlsm"
    shutil.copy(demo_dir / "SOP_Planning.xlsm", copy)
    book = FileBook(copy)
    items = book.read_table(schema.ITEMS)
    items.loc[0, "family"] = None  # a required value
    items = items.astype({"unit_cost": object})
    items.loc[1, "unit_cost"] = "12O"  # text in a money column, as a person might type it
    # our writer refuses text in a money column, so write the sheet as if typed by hand
    as_typed = schema.ITEMS.model_copy(
        update={"columns": tuple(
            c.model_copy(update={"dtype": schema.Dtype.TEXT}) if c.name == "unit_cost" else c
            for c in schema.ITEMS.columns
        )}
    )  # fmt: skip
    book.write([SheetOutput(as_typed, items)])
    code, out, _ = run(capsys, "validate", str(copy))
    assert code == 1 and "error(s)" in out
    report = FileBook(copy).read_table(schema.VALIDATION_REPORT)
    cells = set(report.loc[report["severity"] == "error", "cell"])
    assert {"C2", "E3"} <= cells
    assert (report["sheet"] == "Items").any()


@pytest.mark.parametrize("argv", [["--help"], ["freeze", "--help"]])
def test_help(argv):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 0


def test_sop_xl_alone_says_where_to_start(capsys):
    """A planner types 'sop-xl' and got 'error: the following arguments are required'."""
    code, out, err = run(capsys)
    assert code == 0 and "usage: sop-xl" in out and not err
    assert "new here? start with:" in out and "sop-xl demo" in out
    assert "Exit codes: 0 done, 1" in out


def test_a_mistyped_command_gets_the_close_one(capsys):
    code, out, err = run(capsys, "validat", "x.xlsm")
    assert code == 2 and not out
    assert err == (
        "sop-xl: 'validat' is not a command. Did you mean 'sop-xl validate'? "
        "Run 'sop-xl --help' for the list.\n"
    )
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "'frobnicate' is not a command. Run 'sop-xl --help'" in err


def test_help_and_usage_errors_load_no_engine() -> None:
    """`sop-xl --help` answers at once: parsing the command line imports neither pandas nor the
    cycle's engines (they load on the first step that needs them)."""
    import subprocess
    import sys

    code = (
        "import sys; from sop_xl import cli; cli.build_parser().parse_known_args(['kpis']); "
        "print(sorted(m for m in ('pandas', 'numpy', 'sop_xl.io.reader') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the first hour (issue 18) -------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]


def test_no_workbook_named_never_writes_into_the_package_template(capsys, monkeypatch):
    template = ROOT / "workbook" / "SOP_Planning.xlsm"
    before = template.read_bytes()
    monkeypatch.chdir(ROOT)  # the source checkout: no master here, only the template below
    code, _, err = run(capsys, "validate")
    assert code == 2 and "no workbook was named" in err and "Fix:" in err
    monkeypatch.chdir(ROOT / "workbook")  # even standing next to the template
    code, _, err = run(capsys, "kpis")
    assert code == 2 and "ships with sop_xl" in err
    assert template.read_bytes() == before


def test_no_workbook_named_uses_the_master_in_the_current_folder_and_says_so(
    capsys, monkeypatch, demo_dir: Path, tmp_path: Path
):
    shutil.copy(demo_dir / "SOP_Planning.xlsm", tmp_path / "SOP_Planning.xlsm")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "validate")
    assert code == 0 and "Inputs valid" in out
    assert f"using {tmp_path / 'SOP_Planning.xlsm'}" in err


def test_consolidate_defaults_to_the_submissions_folder_like_the_ribbon(
    capsys, demo_dir: Path, tmp_path: Path
):
    shutil.copy(demo_dir / "SOP_Planning.xlsm", tmp_path / "SOP_Planning.xlsm")
    shutil.copytree(demo_dir / "submissions", tmp_path / "submissions")
    code, out, _ = run(capsys, "consolidate", str(tmp_path / "SOP_Planning.xlsm"), "--dry-run")
    # the demo's four regional files, one bad on purpose: 3 of 4 accepted, errors -> exit 1
    assert code == 1 and "3 of 4 regions" in out, out


def test_verify_on_something_that_is_not_a_snapshot_says_so(capsys, tmp_path: Path):
    csv = tmp_path / "plan.csv"
    csv.write_text("a,b\n1,2\n")
    for target in (tmp_path / "no_such_folder", csv, tmp_path):
        code, out, err = run(capsys, "verify", str(target))
        assert code == 2, target
        assert "not a snapshot" in err and "TAMPERING" not in out + err, target


def test_verify_still_calls_a_damaged_snapshot_tampering(capsys, demo_dir: Path, tmp_path: Path):
    folder = tmp_path / "snapshots"
    shutil.copytree(demo_dir / "snapshots", folder)
    plan = folder / "SOP_Plan_2026-11_v01.xlsx"
    plan.chmod(0o644)
    plan.write_text("garbage")
    code, out, _ = run(capsys, "verify", str(plan))
    assert code == 1 and "TAMPERING DETECTED" in out


def test_validate_on_a_folder_says_it_is_a_folder(capsys, tmp_path: Path):
    code, _, err = run(capsys, "validate", str(tmp_path))
    assert code == 2 and "is a folder, not a workbook file" in err and "not found" not in err


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_freeze_refuses_a_blank_approver(capsys, demo_dir: Path, tmp_path: Path, name: str):
    master = tmp_path / "SOP_Planning.xlsm"
    shutil.copy(demo_dir / "SOP_Planning.xlsm", master)
    for command in ("freeze", "cycle"):
        code, _, err = run(capsys, command, str(master), "--approved-by", name)
        assert code == 2 and "approv" in err, (command, err)
    assert not (tmp_path / "snapshots").exists() or not any((tmp_path / "snapshots").iterdir())


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert re.fullmatch(r"sop-xl \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def test_readme_explains_the_demo_exit_code_time_and_lock():
    readme = (ROOT / "README.md").read_text()
    assert "exits 0 when it gets as far as the frozen plan" in readme
    assert "planted on purpose" in readme
    assert "the demo about 30 s" in readme and "test tools" in readme
    assert (
        "`snapshots/.lock` stays after a freeze, on purpose"
        in (ROOT / "docs" / "snapshots.md").read_text()
    )


def test_docs_are_self_contained():
    """docs/architecture.md linked a design file outside the repository (issue 18)."""
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text()
        assert "../shared" not in text and "DESIGN.md`" not in text, doc.name
        for target in re.findall(r"\]\(([^)#]+)\)", text):
            if "://" not in target:
                path = (doc.parent / target).resolve()
                assert path.is_relative_to(ROOT) and path.exists(), (doc.name, target)


# --- build-workbook: where it writes without --out (issue 18) ------------------------------------
@pytest.fixture
def fake_build(monkeypatch) -> list[Path]:
    """Record where build-workbook builds (writing two small files), without the 5 s build."""
    from sop_xl.io import template

    folders: list[Path] = []

    def build(out_dir: Path, *, make_xlsm=None) -> Path:
        folders.append(Path(out_dir))
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        for name in ("SOP_Planning.xlsx", "SOP_Planning.xlsm"):
            (Path(out_dir) / name).write_bytes(b"built")
        return Path(out_dir) / "SOP_Planning.xlsx"

    monkeypatch.setattr(template, "build_standard_workbook", build)
    return folders


def test_build_workbook_in_a_checkout_rebuilds_the_checkouts_template(
    capsys, monkeypatch, tmp_path: Path, fake_build: list[Path]
):
    from sop_xl import cycle

    template = tmp_path / "checkout" / "workbook"
    template.mkdir(parents=True)
    (template / "SOP_Planning.xlsm").write_bytes(b"old")  # the committed template: replaced
    monkeypatch.setattr(cycle, "package_template_dir", lambda: template)
    monkeypatch.setattr(cycle, "checkout_root", lambda: template.parent)
    monkeypatch.chdir(tmp_path)  # wherever the maintainer stands
    code, out, _ = run(capsys, "build-workbook")
    assert code == 0 and fake_build == [template]
    assert f"in {template} (no --out given: the checkout's own template folder)" in out
    assert not (tmp_path / "SOP_Planning.xlsx").exists()


def test_build_workbook_installed_writes_to_the_current_folder_and_says_which(
    capsys, monkeypatch, tmp_path: Path, fake_build: list[Path]
):
    from sop_xl import cycle

    monkeypatch.setattr(cycle, "checkout_root", lambda: None)  # as from the wheel
    here = tmp_path / "my plans"
    here.mkdir()
    monkeypatch.chdir(here)
    code, out, _ = run(capsys, "build-workbook")
    assert code == 0 and fake_build == [here]
    assert f"Built SOP_Planning.xlsm, SOP_Planning.xlsx in {here} (no --out given" in out
    assert "current folder" in out and "--out DIR" in out
    code, out, _ = run(capsys, "build-workbook", "--out", str(tmp_path / "new"))
    assert code == 0 and fake_build[-1] == tmp_path / "new" and "no --out" not in out


@pytest.mark.parametrize("name", ["SOP_Planning.xlsm", "SOP_Planning.xlsx"])
def test_build_workbook_never_replaces_a_master(
    capsys, monkeypatch, tmp_path: Path, fake_build: list[Path], name: str
):
    """A planner standing in their planning folder would have lost the filled-in master."""
    from sop_xl import cycle

    monkeypatch.setattr(cycle, "checkout_root", lambda: None)
    (tmp_path / name).write_bytes(b"a month of planning")
    monkeypatch.chdir(tmp_path)
    for argv in (["build-workbook"], ["build-workbook", "--out", str(tmp_path)]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and f"{tmp_path / name} already exists" in err and "Fix:" in err
    assert fake_build == [] and (tmp_path / name).read_bytes() == b"a month of planning"


def test_checkout_root_is_this_checkout():
    from sop_xl import cycle

    assert cycle.checkout_root() == ROOT


def test_help_lists_the_cycle_steps_in_the_order_the_cycle_runs_them():
    """`sop-xl --help` listed `history` after `repair`, out of the cycle's order (issue 18)."""
    from sop_xl.cli import build_parser

    steps = ["validate", "consolidate", "variances", "kpis", "supply", "scenarios", "outlook",
             "history", "scorecard", "summary", "freeze"]  # fmt: skip
    listed = [a.dest for a in build_parser()._subparsers._group_actions[0]._choices_actions]
    assert [c for c in listed if c in steps] == steps


# --- usage errors in plain language (issue 18, item 7) -------------------------------------------
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["freeze"],
            "sop-xl freeze: --approved-by (who approved the plan) is missing. "
            'Fix: sop-xl freeze --approved-by "Ana Lopez" (quotes around a name or path with '
            "spaces). 'sop-xl freeze --help' lists every option.\n",
        ),
        (
            ["regional-template"],
            "sop-xl regional-template: REGION (the region's code, e.g. EU) is missing. "
            "Fix: sop-xl regional-template EU",
        ),
        (
            ["diff", "a.xlsx"],
            "sop-xl diff: NEWER (the newer plan: a snapshot or workbook) is missing. Fix: sop-xl "
            "diff snapshots/SOP_Plan_2026-11_v01.xlsx",
        ),
        (
            ["freeze", "--approved-by"],
            "sop-xl freeze: --approved-by (who approved the plan) needs a value. "
            'Fix: sop-xl freeze --approved-by "Ana Lopez".',
        ),
        (
            ["kpis", "My", "Plan.xlsm"],
            "sop-xl kpis: did not expect 'Plan.xlsm'. Fix: check the spelling, and put quotes "
            "around a name or path with spaces",
        ),
        (["consolidate", "--dry-run=yes"], "--dry-run takes no value. Fix: write just --dry-run."),
        (["freeze", "--pass", "X"], "--pass could be any of --password-env, --password-prompt."),
        (["--debug"], "sop-xl: COMMAND (the step to run, e.g. demo) is missing. Fix: sop-xl demo"),
        (["--debug", "validat"], "'validat' is not a command. Did you mean 'sop-xl validate'?"),
    ],
)
def test_usage_errors_say_what_is_missing_and_the_fix(capsys, argv, expected):
    """argparse said 'error: the following arguments are required: --approved-by' after a usage
    block; a planner gets one sentence naming the option, what it is for, and what to type."""
    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse exits from inside parse_args
        code = e.code
    out = capsys.readouterr()
    assert code == 2 and not out.out
    assert expected in out.err, out.err
    assert "usage:" not in out.err and "the following arguments" not in out.err
    assert "error:" not in out.err and out.err.count("\n") == 1


def test_history_without_a_workbook_names_the_one_it_looks_for(capsys, monkeypatch, tmp_path):
    """`sop-xl history --snapshots` with no workbook crashed on Path(None) ('unexpected error')."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "history", "--snapshots")
    assert code == 2 and "unexpected error" not in err
    assert "SOP_Planning.xlsm" in err


def test_after_the_demo_the_next_commands_are_printed_as_they_run_here(monkeypatch, tmp_path):
    """The demo ended with where the files are, and a planner who never used a terminal did not
    know what to type next; now it prints the freeze, verify and diff commands, with the program
    as they called it (.venv/bin/sop-xl is not on the PATH) and quotes around paths with spaces."""
    import shlex

    folder = tmp_path / "my demo"
    (folder / "snapshots").mkdir(parents=True)
    (folder / "snapshots" / "SOP_Plan_2026-11_v01.xlsx").write_bytes(b"")
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "sop-xl").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", [str(venv_bin / "sop-xl"), "demo", str(folder)])
    monkeypatch.setenv("PATH", "/nonexistent")
    text = cli.demo_next_steps(folder)
    commands = [line.strip() for line in text.splitlines() if ".venv/bin/sop-xl" in line]
    assert len(commands) == 3, text
    parser = cli.build_parser()
    parsed = [parser.parse_args(shlex.split(c.split("    (")[0])[1:]) for c in commands]
    assert [p.command for p in parsed] == ["freeze", "verify", "diff"]
    assert parsed[0].workbook == str(folder / "SOP_Planning.xlsm")
    assert parsed[0].approved_by == "Your Name"
    assert parsed[1].path == str(folder / "snapshots")
    assert Path(parsed[2].a).name == "SOP_Plan_2026-11_v01.xlsx"
    assert Path(parsed[2].b).name == "SOP_Plan_2026-11_v02.xlsx"  # the freeze above makes it
    assert f'open "{folder / "SOP_Planning.xlsm"}" in Excel' in text


def test_no_workbook_in_the_checkout_names_the_demo_master_in_the_command_run(
    capsys, monkeypatch, tmp_path: Path
):
    """After `bash scripts/demo.sh` a planner is in the checkout; `sop-xl kpis` said 'e.g. sop-xl
    validate path/to/SOP_Planning.xlsm', another command and a made-up path."""
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "SOP_Planning.xlsm").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["sop-xl"])
    code, _, err = run(capsys, "kpis")
    assert code == 2
    assert f"there is no SOP_Planning.xlsm or SOP_Planning.xlsx in {tmp_path}" in err
    assert "Fix: Name the workbook after the command: sop-xl kpis demo/SOP_Planning.xlsm," in err
    (tmp_path / "demo" / "SOP_Planning.xlsm").unlink()
    code, _, err = run(capsys, "freeze", "--approved-by", "Ana")
    assert code == 2 and "sop-xl freeze path/to/SOP_Planning.xlsm," in err


def test_verify_with_no_folder_in_the_checkout_names_the_demo_snapshots(
    capsys, monkeypatch, tmp_path: Path
):
    """`sop-xl verify` in the checkout after the demo said 'snapshots does not exist'; the frozen
    plans are in demo/snapshots, and the message now names that folder in the command."""
    (tmp_path / "demo" / "snapshots").mkdir(parents=True)
    (tmp_path / "demo" / "snapshots" / "ledger.jsonl").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["sop-xl"])
    code, _, err = run(capsys, "verify")
    assert code == 2 and "Fix: Name the folder: sop-xl verify demo/snapshots" in err
    (tmp_path / "demo" / "snapshots" / "ledger.jsonl").unlink()
    code, _, err = run(capsys, "verify")  # nothing below either: the plain message
    assert code == 2 and "snapshots does not exist, so it is not a snapshot folder" in err


def test_excel_setup_says_which_python_and_what_to_do_next(capsys, monkeypatch, tmp_path: Path):
    """It said only 'Excel will run sop_xl with the Python set in <file>': which Python, and
    then what? A planner following docs/excel.md gets both."""
    monkeypatch.setenv("HOME", str(tmp_path))
    code, out, _ = run(capsys, "excel-setup", "--interpreter", "/opt/sop/python")
    conf = tmp_path / ".sop_xl" / "sop_xl.conf"
    assert code == 0 and conf.is_file() and '"/opt/sop/python"' in conf.read_text()
    assert f"Excel will run sop_xl with /opt/sop/python (written to {conf})." in out
    assert "Next: open SOP_Planning.xlsm (or install SOP.xlam) and enable its macros" in out


def test_the_command_ends_at_once_and_its_output_and_exit_code_survive(
    small_demo: Path, tmp_path: Path
) -> None:
    """``sop-xl`` ends with ``os._exit`` once the step is done (no interpreter teardown): what
    it printed reaches a pipe whole, and the exit code is the step's, both on success and on a
    step that could not run."""
    import subprocess
    import sys

    master = tmp_path / small_demo.name
    shutil.copyfile(small_demo, master)
    cmd = [sys.executable, "-m", "sop_xl.cli"]
    ok = subprocess.run([*cmd, "validate", str(master)], capture_output=True, text=True)
    assert ok.returncode == 0 and "Inputs valid" in ok.stdout, ok.stderr
    assert "Validation" in CalamineWorkbook.from_path(str(master)).sheet_names
    bad = subprocess.run(
        [*cmd, "validate", str(tmp_path / "none.xlsx")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "none.xlsx" in bad.stderr
