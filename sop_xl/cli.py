"""``sop-xl``: the S&OP cycle from a terminal or a scheduler, on Linux, macOS or Windows.

Every command runs the same :mod:`sop_xl.cycle` function as the matching ribbon button.
Exit codes: 0 done, 1 done but the inputs have errors (see the Validation sheet / report),
2 could not run (the message says why and what to do).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import importlib.util
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, NoReturn

from sop_xl import logs
from sop_xl.errors import SopError

if TYPE_CHECKING:
    from sop_xl.io.filebook import FileBook
    from sop_xl.io.standby import Standby


def _lazy(name: str) -> ModuleType:
    """Import ``name`` on first attribute access: ``sop-xl --help`` and usage errors answer at
    once, without loading pandas and the engines."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cycle = _lazy("sop_xl.cycle")
filebook = _lazy("sop_xl.io.filebook")


def terminal_progress(message: str, fraction: float | None = None) -> None:
    filebook.terminal_progress(message, fraction)


def _workbook(args: argparse.Namespace) -> Path:
    """The named workbook, else the master in the current folder (and say which one)."""
    if args.workbook:
        return Path(args.workbook)
    here = Path.cwd()
    if not any((here / name).is_file() for name in cycle.MASTER_NAMES):
        # after `bash scripts/demo.sh` a planner is in the checkout and the master is in demo/:
        # name the one a folder below (never the package's template) in the command they ran
        below = [
            p
            for name in cycle.MASTER_NAMES
            for p in sorted(here.glob(f"*/{name}"))
            if p.parent.resolve() != cycle.package_template_dir()
        ]
        example = below[0].relative_to(here) if below else Path("path", "to", "SOP_Planning.xlsm")
        raise SopError(
            f"no workbook was named, and there is no {' or '.join(cycle.MASTER_NAMES)} in {here}.",
            fix=f"Name the workbook after the command: {_program()} {args.command} "
            f"{_q(example)}, or run the command in the folder that holds it.",
        )
    found = cycle.default_workbook()
    print(f"sop-xl: no workbook named; using {found}", file=sys.stderr)
    return found


def _book(
    args: argparse.Namespace,
    workbook: Path | None = None,
    writes: bool = True,
    read_ahead: bool = False,
    helper: Standby | None = None,
) -> FileBook:
    """The command's workbook; one that ``writes`` into it refuses a frozen plan here, before
    any reading or computing (the planner hears it at once; FileBook.write checks again).
    ``read_ahead``: the command reads every input table, with ``helper`` if one was started
    (see :class:`FileBook`)."""
    book = filebook.FileBook(
        workbook or _workbook(args),
        out=getattr(args, "out", None),
        progress=terminal_progress,
        read_ahead=read_ahead,
        helper=helper,
    )
    if writes:
        filebook.guard.refuse_frozen(book.info.frozen, book.path)
    return book


def cmd_demo(args: argparse.Namespace) -> cycle.StepResult:
    lines = None
    if args.large is not None:
        from sop_xl.demo.large import LARGE_LINES

        lines = LARGE_LINES if args.large == "" else int(args.large)
    from sop_xl.excel.build import make_xlsm

    result = cycle.demo(
        Path(args.dir), progress=terminal_progress, large_lines=lines, make_xlsm=make_xlsm
    )
    if result.ok:
        result.summary += "\n\n" + demo_next_steps(Path(args.dir))
    return result


def _program() -> str:
    """How the user calls sop-xl: ``sop-xl`` when that is on the PATH, else the path they typed
    (``.venv/bin/sop-xl`` after ``bash scripts/demo.sh``), so the commands printed work."""
    import shutil

    typed = Path(sys.argv[0])
    if typed.stem != "sop-xl" or shutil.which("sop-xl") == str(typed.resolve()):
        return "sop-xl"
    try:
        return _q(typed.resolve().relative_to(Path.cwd()))
    except ValueError:
        return _q(typed)


def _q(path: Path | str) -> str:
    """``path`` as typed in a terminal (Windows' cmd too): in double quotes when it has spaces."""
    return f'"{path}"' if " " in str(path) else str(path)


def demo_next_steps(folder: Path) -> str:
    """What a planner does after the demo, as commands that work where they are."""
    sop = _program()
    snaps = folder / "snapshots"
    master = folder / "SOP_Planning.xlsm"
    lines = [
        "Next:",
        f"  open {_q(master)} in Excel (the S&OP ribbon: docs/excel.md) or in LibreOffice",
        f'  {sop} freeze {_q(master)} --approved-by "Your Name"    (freeze it again)',
        f"  {sop} verify {_q(snaps)}    (prove no frozen plan changed)",
    ]
    frozen = sorted(snaps.glob("SOP_Plan_*_v*.xlsx"))
    m = re.fullmatch(r"(.*_v)(\d+)\.xlsx", frozen[-1].name) if frozen else None
    if m:
        after = f"{m.group(1)}{int(m.group(2)) + 1:0{len(m.group(2))}d}.xlsx"
        lines.append(
            f"  {sop} diff {_q(frozen[-1])} {_q(snaps / after)} "
            f"--out {_q(folder / 'plan_changes.xlsx')}"
            "    (after the second freeze: what changed)"
        )
    return "\n".join(lines)


def cmd_build_workbook(args: argparse.Namespace) -> cycle.StepResult:
    from sop_xl.excel.build import make_xlsm

    return cycle.build_workbook(Path(args.out) if args.out else None, make_xlsm=make_xlsm)


def cmd_validate(args: argparse.Namespace) -> cycle.StepResult:
    from sop_xl.io import standby

    workbook = _workbook(args)
    # the read-ahead helper, started before the click's imports: it imports beside them
    helper = standby.start(workbook)
    return cycle.validate(_book(args, workbook, read_ahead=True, helper=helper))


def cmd_regional_template(args: argparse.Namespace) -> cycle.StepResult:
    out = Path(args.out or f"Forecast_{args.region}.xlsx")
    return cycle.regional_template(_book(args, writes=False), args.region, out)


def cmd_consolidate(args: argparse.Namespace) -> cycle.StepResult:
    folder = Path(args.folder) if args.folder else None
    report = Path(args.report) if args.report else None
    return cycle.consolidate(_book(args), folder, dry_run=args.dry_run, report_path=report)


def cmd_variances(args: argparse.Namespace) -> cycle.StepResult:
    return cycle.variances(_book(args))


def cmd_kpis(args: argparse.Namespace) -> cycle.StepResult:
    return cycle.kpis(_book(args))


def cmd_supply(args: argparse.Namespace) -> cycle.StepResult:
    return cycle.supply(_book(args))


def cmd_scenarios(args: argparse.Namespace) -> cycle.StepResult:
    return cycle.scenarios(_book(args))


def cmd_outlook(args: argparse.Namespace) -> cycle.StepResult:
    return cycle.outlook(_book(args))


def cmd_summary(args: argparse.Namespace) -> cycle.StepResult:
    return cycle.executive_summary(_book(args))


def cmd_scorecard(args: argparse.Namespace) -> cycle.StepResult:
    return cycle.scorecard(_book(args))


def cmd_freeze(args: argparse.Namespace) -> cycle.StepResult:
    from sop_xl.plan import hash_helper

    password = os.environ.get(args.password_env) if args.password_env else None
    if args.password_prompt:
        password = getpass.getpass("Protection password for the frozen plan: ") or None
    workbook = _workbook(args)
    # the freeze's second process, started before the freeze's imports: it loads beside them
    helper = hash_helper.start()
    return cycle.freeze(
        workbook,
        snapshots=Path(args.snapshots) if args.snapshots else None,
        approved_by=args.approved_by,
        password=password,
        progress=terminal_progress,
        helper=helper,
    )


def cmd_verify(args: argparse.Namespace) -> cycle.StepResult:
    path = Path(args.path or "snapshots")
    if args.path is None and not path.exists():
        # after `bash scripts/demo.sh` the frozen plans are in demo/snapshots: name that folder
        from sop_xl.plan.ledger import LEDGER_NAME

        below = sorted(p.parent for p in Path.cwd().glob(f"*/snapshots/{LEDGER_NAME}"))
        if below:
            raise SopError(
                f"there is no snapshots folder in {Path.cwd()}.",
                fix=f"Name the folder: {_program()} verify {_q(below[0].relative_to(Path.cwd()))}",
            )
    return cycle.verify(path, expected_head=args.head)


def cmd_diff(args: argparse.Namespace) -> cycle.StepResult:
    return cycle.diff(Path(args.a), Path(args.b), Path(args.out))


def cmd_history(args: argparse.Namespace) -> cycle.StepResult:
    workbook = _workbook(args)
    snapshots = args.snapshots
    if snapshots == "":  # --snapshots without a folder: the one next to the workbook
        snapshots = str(workbook.parent / "snapshots")
    return cycle.history(_book(args, workbook), snapshots=Path(snapshots) if snapshots else None)


def cmd_cycle(args: argparse.Namespace) -> cycle.StepResult:
    master = _workbook(args)
    folder = Path(args.folder) if args.folder else cycle.submissions_folder(master)
    return cycle.run_cycle(
        master,
        folder=folder if args.folder or folder.is_dir() else None,
        approved_by=args.approved_by,
        progress=terminal_progress,
    )


def cmd_excel_setup(args: argparse.Namespace) -> cycle.StepResult:
    from sop_xl.excel.config import write_user_config

    path = write_user_config(args.interpreter)
    python = args.interpreter or sys.executable
    return cycle.StepResult(
        "excel_setup",
        f"Excel will run sop_xl with {python} (written to {path}).\n"
        "Next: open SOP_Planning.xlsm (or install SOP.xlam) and enable its macros; the S&OP tab "
        "appears (docs/excel.md, Installing).",
    )


def cmd_lite(args: argparse.Namespace) -> cycle.StepResult:
    from sop_xl.excel.lite import write_lite

    paths = write_lite(Path(args.out))
    return cycle.StepResult(
        "lite",
        f"xlwings Lite build written: {', '.join(str(p) for p in paths)}. In Excel: xlwings Lite "
        "editor > paste main.py, then requirements.txt (docs/excel.md).",
    )


def cmd_doctor(args: argparse.Namespace) -> cycle.StepResult:
    from sop_xl.excel.doctor import doctor

    rep = doctor(Path(args.workbook))
    return cycle.StepResult("doctor", rep.text(), rep.ok, detail=rep)


def cmd_repair(args: argparse.Namespace) -> cycle.StepResult:
    from sop_xl.excel.doctor import doctor, repair

    out = repair(Path(args.workbook), Path(args.out) if args.out else None)
    rep = doctor(out)
    return cycle.StepResult(
        "repair",
        f"Reinstalled the ribbon, VBA project and functions in {out}.\n" + rep.text(),
        rep.ok,
        detail=rep,
    )


def version() -> str:
    """The installed sop_xl version."""
    from sop_xl import __version__

    return str(__version__)


#: The end of ``sop-xl --help``, and what ``sop-xl`` alone prints: where a new user starts.
START_HERE = """\
new here? start with:
  sop-xl demo              a sample company in ./demo, the whole monthly cycle run on it
                           (about a minute); then open demo/SOP_Planning.xlsm
  sop-xl COMMAND --help    what one command does and its options

Without a WORKBOOK, a command uses SOP_Planning.xlsm in the current folder.
Exit codes: 0 done, 1 done but the inputs have errors (see the Validation sheet),
2 could not run (the message says why and what to do)."""


def _unknown_command(first: str, commands: Sequence[str]) -> str | None:
    """'did you mean ...' for a mistyped command (argparse only lists every choice)."""
    import difflib

    if first.startswith("-") or first in commands:
        return None
    close = difflib.get_close_matches(first, commands, n=1)
    hint = f" Did you mean 'sop-xl {close[0]}'?" if close else ""
    return f"sop-xl: '{first}' is not a command.{hint} Run 'sop-xl --help' for the list."


#: What to type for an argument a user left out or got wrong (the ``Fix:`` of the message).
EXAMPLES = {
    "COMMAND": "demo",
    "--approved-by": '"Ana Lopez"',
    "REGION": "EU",
    "OLDER": "snapshots/SOP_Plan_2026-10_v01.xlsx",
    "NEWER": "snapshots/SOP_Plan_2026-11_v01.xlsx",
}


class _Parser(argparse.ArgumentParser):
    """argparse with plain-language usage errors: what is missing or wrong, in the words of the
    option's help, and the command line that fixes it; exit code 2, as for any error that stops a
    command. (argparse said "error: the following arguments are required: --approved-by".)"""

    #: the command being parsed (set by :func:`main`), for errors the top parser reports
    command: str | None = None

    def where(self) -> str:
        """``sop-xl freeze``: the subcommand's parser, or the top one naming the command."""
        return f"{self.prog} {self.command}" if self.command else self.prog

    def _action(self, name: str) -> argparse.Action | None:
        for action in self._actions:
            if name in action.option_strings or name in (action.metavar, action.dest):
                return action
        return None

    def _what(self, name: str) -> str:
        """``name`` with its help: "who approved the plan (--approved-by)"."""
        action = self._action(name)
        return f"{name} ({action.help})" if action and action.help else name

    def _typed(self, name: str) -> str:
        """What to type for ``name``: ``--approved-by "Ana Lopez"``, ``EU``."""
        action = self._action(name)
        value = EXAMPLES.get(name) or (action and (action.metavar or action.dest.upper()))
        return f"{name} {value}" if name.startswith("-") else value

    def plain(self, message: str) -> str:
        """argparse's ``message`` as a sentence with its fix."""
        more = f"'{self.where()} --help' lists every option."
        head, _, rest = message.partition(": ")
        if head == "the following arguments are required":
            names = [n.split("/")[0] for n in rest.split(", ")]
            missing = "; ".join(self._what(n) for n in names)
            typed = " ".join(self._typed(n) for n in names)
            verb = "is" if len(names) == 1 else "are"
            return (
                f"{missing} {verb} missing. Fix: {self.where()} {typed} (quotes around a name or "
                f"path with spaces). {more}"
            )
        if head == "unrecognized arguments":
            return (
                f"did not expect '{rest}'. Fix: check the spelling, and put quotes "
                f"around a name or path with spaces (one workbook per command). {more}"
            )
        m = re.fullmatch(r"argument (\S+): expected one argument", message)
        if m:
            name = m.group(1).split("/")[0]
            return (
                f"{self._what(name)} needs a value. Fix: {self.where()} {self._typed(name)}. {more}"
            )
        m = re.fullmatch(r"argument (\S+): invalid choice: '(.*)' \(choose from (.*)\)", message)
        if m:
            return f"'{m.group(2)}' is not one of {m.group(3)}. Fix: use one of those. {more}"
        m = re.fullmatch(r"argument (\S+): ignored explicit argument (.*)", message)
        if m:
            name = m.group(1).split("/")[0]
            return f"{name} takes no value. Fix: write just {name}. {more}"
        m = re.fullmatch(r"ambiguous option: (\S+?)(=\S*)? could match (.*)", message)
        if m:
            return (
                f"{m.group(1)} could be any of {m.group(3)}. Fix: type the option in full. {more}"
            )
        return f"{message}. {more}"

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.where()}: {self.plain(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="sop-xl",
        description="Spreadsheet-native S&OP on an S&OP workbook: validate, consolidate, "
        "variances, KPIs, supply review, scenarios, financial outlook, plan history, scorecard, "
        "executive summary and frozen plan snapshots.",
        epilog=START_HERE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--debug", action="store_true", help="show Python tracebacks")
    p.add_argument("--version", action="version", version=f"sop-xl {version()}")
    sub = p.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="the step to run, e.g. demo"
    )

    def add(name: str, fn: Callable, help: str, workbook: bool = True, out: bool = False):
        sp = sub.add_parser(name, help=help, description=help)
        if workbook:
            sp.add_argument(
                "workbook",
                nargs="?",
                default=None,
                help="the S&OP master workbook (default: SOP_Planning.xlsm in the current folder)",
            )
        if out:
            sp.add_argument("--out", help="write to this copy instead of the workbook itself")
        sp.set_defaults(func=fn)
        return sp

    sp = add("demo", cmd_demo, "build the demo company and run the whole cycle", workbook=False)
    sp.add_argument("dir", nargs="?", default="demo", help="output folder (default: demo)")
    sp.add_argument(
        "--large",
        nargs="?",
        const="",
        metavar="LINES",
        help="keep the sales outside the grid: LINES posted lines (default 5,000,000) in "
        "DIR/data/sales_actuals.parquet, read through the DataSources sheet",
    )
    sp = add("build-workbook", cmd_build_workbook, "build the standard workbook", workbook=False)
    sp.add_argument(
        "--out",
        help="output folder (default: the current folder; in a source checkout, its workbook/ "
        "folder). An existing SOP_Planning workbook there is never replaced.",
    )
    add("validate", cmd_validate, "check every input table; write the Validation sheet", out=True)
    sp = add("regional-template", cmd_regional_template, "write a region's submission workbook")
    sp.add_argument("region", metavar="REGION", help="the region's code, e.g. EU")
    sp.add_argument("--out", help="output file (default: Forecast_<REGION>.xlsx)")
    sp = add("consolidate", cmd_consolidate, "consolidate regional forecasts", out=True)
    sp.add_argument(
        "--folder",
        help="folder of submitted regional workbooks (default: submissions/ next to the "
        "workbook, as the ribbon button)",
    )
    sp.add_argument("--dry-run", action="store_true", help="write only the validation report")
    sp.add_argument("--report", help="also write the report as a standalone workbook")
    add("variances", cmd_variances, "budget vs budget, actual vs budget vs forecast", out=True)
    add("kpis", cmd_kpis, "compute every KPI by month; write the KPIs sheet", out=True)
    add(
        "supply",
        cmd_supply,
        "supply review: projected stock, capacity, backlog, constrained plan",
        out=True,
    )
    add("scenarios", cmd_scenarios, "compare the Scenarios sheet's options side by side", out=True)
    add(
        "outlook",
        cmd_outlook,
        "full-year financial outlook by G/L account vs budget, with its bridge",
        out=True,
    )
    sp = add(
        "history",
        cmd_history,
        "statistical baseline, accuracy by lag, FVA stairstep, actions carried",
        out=True,
    )
    sp.add_argument(
        "--snapshots",
        nargs="?",
        const="",
        default=None,
        help="rebuild the forecast archive from this folder of frozen plans, verified first "
        "(default folder: snapshots next to the workbook)",
    )
    add("scorecard", cmd_scorecard, "build the balanced scorecard", out=True)
    add(
        "summary",
        cmd_summary,
        "the one-page Executive Summary: decisions, red KPIs, supply risks, outlook, actions",
        out=True,
    )
    sp = add("freeze", cmd_freeze, "write the locked, versioned plan snapshot")
    sp.add_argument("--approved-by", required=True, help="who approved the plan")
    sp.add_argument("--snapshots", help="snapshot folder (default: <workbook folder>/snapshots)")
    sp.add_argument("--password-env", help="name of an environment variable holding a password")
    sp.add_argument("--password-prompt", action="store_true", help="ask for a password")
    sp = add("verify", cmd_verify, "verify snapshots and the ledger", workbook=False)
    sp.add_argument(
        "path", nargs="?", default=None, help="a snapshot file or folder (default: snapshots)"
    )
    sp.add_argument("--head", help="the last record hash you kept (e-mail, minutes) to check")
    sp = add("diff", cmd_diff, "what changed between two plan versions", workbook=False)
    sp.add_argument("a", metavar="OLDER", help="the older plan: a snapshot or workbook")
    sp.add_argument("b", metavar="NEWER", help="the newer plan: a snapshot or workbook")
    sp.add_argument("--out", default="plan_changes.xlsx", help="change report workbook")
    sp = add("excel-setup", cmd_excel_setup, "tell Excel which Python runs sop_xl", workbook=False)
    sp.add_argument("--interpreter", help="python executable (default: this one)")
    sp = add("lite", cmd_lite, "write main.py + requirements.txt for xlwings Lite", workbook=False)
    sp.add_argument("--out", default="lite", help="output folder (default: lite)")
    add("doctor", cmd_doctor, "report damage to the ribbon, VBA project, code names, tables")
    add("repair", cmd_repair, "reinstall the ribbon, VBA project and functions", out=True)
    sp = add("cycle", cmd_cycle, "run every step: validate ... freeze")
    sp.add_argument("--folder", help="folder of submitted regional workbooks")
    sp.add_argument("--approved-by", default=None, help="freeze when given")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:  # just 'sop-xl': what it is and where to start, not a usage error
        parser.print_help()
        return 0
    commands = next(a for a in parser._actions if a.dest == "command").choices or {}
    first = next((a for a in argv if not a.startswith("-")), argv[0])
    unknown = _unknown_command(first, list(commands))
    if unknown:
        print(unknown, file=sys.stderr)
        return 2
    parser.command = first if first in commands else None  # type: ignore[attr-defined]
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except SopError as exc:
        print(f"sop-xl: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "sop-xl: interrupted; no workbook was changed by the unfinished step.", file=sys.stderr
        )
        return 2
    except Exception:
        if args.debug:
            raise
        log = logs.write_traceback(traceback.format_exc())
        print(
            f"sop-xl: an unexpected error stopped '{args.command}'; no workbook was changed by "
            f"the unfinished step. Details: {log}",
            file=sys.stderr,
        )
        return 2
    print(result.summary)
    return 0 if result.ok else 1


def run() -> NoReturn:
    """The ``sop-xl`` command: :func:`main`, then out at once. When it returns, the step's work
    is done and written; what is left, the interpreter freeing its tables one object at a time
    and unloading its libraries, took 0.13-0.15 s of a first validation that nobody waits for.
    So the output is flushed and the process ends there (``os._exit``). Every file a step writes
    is closed (and synced) before it returns, and the only threads are daemons or joined."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nobody to tell
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
