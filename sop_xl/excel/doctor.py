"""``sop-xl doctor WORKBOOK``: what another application (or time) did to a macro master.

Saving the master as ``.xlsm`` through LibreOffice keeps the ribbon but damages the VBA
project: the PROJECT stream loses ``Class=Dictionary`` (the class module becomes a standard
one), that module gains ``Option ClassModule`` (not VBA: it no longer compiles), and every
sheet's ``codeName`` is dropped. Excel then shows a compile error on the first ribbon click.

:func:`doctor` reports, each as one plain sentence:

- a macro workbook without a VBA project, or without the ribbon;
- class modules declared as standard modules; modules with ``Option ClassModule``;
- sheets (and the workbook) without a ``codeName``;
- a ribbon that differs from the installed sop_xl's (``sop_xl/excel/sources/customUI14.xml``), and a
  ``SOP_Ribbon`` macro module that differs from ``sop_xl/excel/sources/vba/SOP_Ribbon.bas``;
- an ``xlwings_udfs`` module (the VBA wrappers of the ``=SOP_`` functions) missing or different
  from the one the installed sop_xl generates (a wrapper missing = ``#NAME?`` in the cells);
- a frozen plan whose structure lock was removed (``workbookProtection lockStructure``: LibreOffice
  drops it on save): sheets can then be added, deleted or renamed;
- input tables of the schema that are missing;
- the ribbon pointing at macros that no longer compile (any VBA damage above).

It reads only; the repair is rebuilding the VBA project and ribbon from sources.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sop_xl.errors import InputFileError, Location
from sop_xl.excel.build import DEFAULT_UDF_MODULE
from sop_xl.io.guard import frozen_marks
from sop_xl.io.xlsx.parts import tag, tag_b

RIBBON_PART = "customUI/customUI14.xml"
VBA_PART = "xl/vbaProject.bin"
#: modules the build declares as class modules (MS-OVBA PROJECT stream ``Class=``)
CLASS_MODULES = ("Dictionary",)


@dataclass
class DoctorReport:
    """Findings of :func:`doctor`; ``ok`` when there are none."""

    path: Path
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        if self.ok:
            return f"OK: {self.path.name}: ribbon, VBA project, code names and tables are intact."
        lines = [f"{self.path.name}: {len(self.problems)} problem(s):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def _norm_vba(text: str) -> list[str]:
    """Module source without Attribute lines, blank lines and line-end differences."""
    return [
        ln.rstrip()
        for ln in text.replace("\r\n", "\n").split("\n")
        if ln.strip() and not ln.startswith("Attribute ")
    ]


def _project_lines(vba: bytes) -> list[str]:
    from pyopenvba.cfb import CFB

    return CFB.from_bytes(vba).get_stream("PROJECT").decode("latin-1").splitlines()


def _modules(path: Path) -> dict[str, str]:
    from pyopenvba import ExcelFile

    with ExcelFile(path) as book:
        return {n: book.get_module(n) for n in book.module_names()}


def doctor(
    path: Path, *, sources: Path | None = None, udf_module: str | None = DEFAULT_UDF_MODULE
) -> DoctorReport:
    """Check a macro master or a frozen plan (see the module docstring). Reads only.
    ``udf_module``: the Python module whose wrappers the workbook should carry (None: skip)."""
    from sop_xl.excel.build import SOURCES
    from sop_xl.model import schema

    path = Path(path)
    sources = SOURCES if sources is None else Path(sources)
    rep = DoctorReport(path)
    if not zipfile.is_zipfile(path):
        raise InputFileError(
            "not an Excel workbook (not a zip package).",
            where=Location(file=path.name),
            fix="Give the .xlsm master workbook.",
        )
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        parts = {n: zf.read(n) for n in names if not n.startswith("xl/worksheets/sheet")}
        heads = {}
        for n in names:
            if re.match(r"xl/worksheets/sheet\d+\.xml$", n):
                with zf.open(n) as fh:
                    heads[n] = fh.read(4096).decode("utf-8", errors="replace")
    p = rep.problems
    wb = parts.get("xl/workbook.xml", b"").decode("utf-8", errors="replace")
    if frozen_marks(path) and not _LOCK_RE.search(wb):
        p.append(
            "structure lock lost: this frozen plan no longer locks its workbook structure "
            "(sheets can be added, deleted or renamed); another application removed it on save. "
            "Restore the snapshot from its archive copy; `sop-xl verify` names what else changed."
        )
    macro = path.suffix.lower() in (".xlsm", ".xlam") or VBA_PART in parts
    if not macro:
        _check_tables(parts, p, schema)
        return rep
    vba_damaged = False
    if VBA_PART not in parts:
        p.append("the workbook has no VBA project: the ribbon buttons have no macros to run.")
        vba_damaged = True
    else:
        lines = _project_lines(parts[VBA_PART])
        modules = _modules(path)
        for cls in CLASS_MODULES:
            if cls in modules and f"Class={cls}" not in lines:
                p.append(
                    f"VBA module '{cls}' lost its class declaration (PROJECT stream has no "
                    f"'Class={cls}'): it is now a standard module and does not compile."
                )
                vba_damaged = True
        for name, src in modules.items():
            if re.search(r"(?im)^\s*Option\s+ClassModule\b", src):
                p.append(
                    f"VBA module '{name}' contains 'Option ClassModule', which is not VBA "
                    "(written by another application): it does not compile."
                )
                vba_damaged = True
        ribbon_src = sources / "vba" / "SOP_Ribbon.bas"
        if "SOP_Ribbon" not in modules:
            p.append("the VBA module 'SOP_Ribbon' (the ribbon's callback) is missing.")
            vba_damaged = True
        elif ribbon_src.exists() and _norm_vba(modules["SOP_Ribbon"]) != _norm_vba(
            ribbon_src.read_text(encoding="utf-8")
        ):
            p.append("the VBA module 'SOP_Ribbon' is out of date with the installed sop_xl.")
        p += _udf_problems(modules, addin=path.suffix.lower() == ".xlam", udf_module=udf_module)
    if RIBBON_PART not in parts:
        p.append("the S&OP ribbon tab is missing (customUI/customUI14.xml).")
    else:
        src = sources / "customUI14.xml"
        if src.exists() and parts[RIBBON_PART].strip() != src.read_bytes().strip():
            p.append("the S&OP ribbon is out of date with the installed sop_xl.")
        if vba_damaged:
            p.append(
                "the ribbon is still there but its buttons call macros that no longer compile: "
                "Excel shows a compile error on the first click."
            )
    if VBA_PART in parts and not _WB_CODE_NAME_RE.search(wb):
        p.append("the workbook has no code name (ThisWorkbook).")
    if VBA_PART in parts:
        missing = sorted(
            (int(re.search(r"(\d+)", n).group(1)) for n, h in heads.items()
             if not _SHEET_CODE_NAME_RE.search(h)),
        )  # fmt: skip
        if missing:
            p.append(
                f"{len(missing)} sheet(s) have no code name (sheet parts "
                + ", ".join(str(i) for i in missing[:10])
                + (" ..." if len(missing) > 10 else "")
                + "): the VBA project no longer knows them."
            )
    _check_tables(parts, p, schema)
    return rep


# element names under any namespace prefix (parts.tag / tag_b: a.b:, x-1:, é:)
_LOCK_RE = re.compile(rf"<{tag('workbookProtection')}(?=[\s/>])[^>]*lockStructure=\"(?:1|true)\"")
_WB_CODE_NAME_RE = re.compile(rf"<{tag('workbookPr')}(?=[\s/>])[^>]*codeName=")
_SHEET_CODE_NAME_RE = re.compile(rf"<{tag('sheetPr')}(?=[\s/>])[^>]*codeName=")
_TABLE_NAME_RE = re.compile(rb"<" + tag_b(rb"table") + rb'(?=[\s/>])[^>]*\bdisplayName="([^"]*)"')


def _check_tables(parts: dict[str, bytes], p: list[str], schema) -> None:
    tables = set()
    for n, data in parts.items():
        if n.startswith("xl/tables/") and n.endswith(".xml"):
            m = _TABLE_NAME_RE.search(data)
            if m:
                tables.add(m.group(1).decode().lower())
    for t in schema.INPUT_TABLES:
        if t.name.lower() not in tables:
            p.append(f"input table '{t.name}' (sheet '{t.sheet}') is missing.")


def _udf_problems(modules: dict[str, str], *, addin: bool, udf_module: str | None) -> list[str]:
    """The workbook's ``xlwings_udfs`` module against the one the installed sop_xl generates
    (the build names the workbook SOP.xlsm / SOP.xlam in the wrappers, whatever the file name)."""
    from sop_xl.errors import BuildError
    from sop_xl.excel.build import udf_wrappers

    if udf_module is None:
        return []
    try:
        want, _ = udf_wrappers(udf_module, "SOP.xlam" if addin else "SOP.xlsm")
    except BuildError as exc:
        return [f"cannot generate the installed sop_xl's function wrappers to compare: {exc}"]
    if not want:
        return []
    if "xlwings_udfs" not in modules:
        return [
            "the VBA module 'xlwings_udfs' (the =SOP_ function wrappers) is missing: "
            "the functions show #NAME? in Excel."
        ]
    have, need = _norm_vba(modules["xlwings_udfs"]), _norm_vba(want)
    if have == need:
        return []
    names = re.compile(r"(?i)^\s*(?:Public\s+)?Function\s+(\w+)")
    h = {m.group(1) for ln in have if (m := names.match(ln))}
    n = {m.group(1) for ln in need if (m := names.match(ln))}
    detail = ""
    if n - h:
        detail += " missing: " + ", ".join(sorted(n - h)[:10]) + ";"
    if h - n:
        detail += " no longer in sop_xl: " + ", ".join(sorted(h - n)[:10]) + ";"
    return [
        "the VBA module 'xlwings_udfs' (the =SOP_ function wrappers) is out of date with the "
        f"installed sop_xl;{detail or ' same functions, different wrappers;'} "
        "run `sop-xl repair` to reinstall them."
    ]


XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def repair(path: Path, out: Path | None = None) -> Path:
    """Reinstall the ribbon, the VBA project and the UDF wrappers from the installed sop_xl's
    sources, keeping every sheet part and all data as they are (sheets without a code name get
    one, as the build gives every sheet). Writes ``out`` (default: ``path`` itself, replaced
    atomically only when the rebuild succeeded)."""
    import shutil
    import tempfile

    from sop_xl.excel import build

    path = Path(path)
    out = path if out is None else Path(out)
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    rels_pat = r'<Relationship\b[^>]*Type="{}"[^>]*/>'
    parts.pop(VBA_PART, None)
    parts.pop(RIBBON_PART, None)
    for name in [n for n in parts if n.startswith("customUI/")]:
        parts.pop(name)
    wb_rels = "xl/_rels/workbook.xml.rels"
    parts[wb_rels] = re.sub(
        rels_pat.format(re.escape(build.VBA_REL)), "", parts[wb_rels].decode("utf-8")
    ).encode("utf-8")
    parts["_rels/.rels"] = re.sub(
        rels_pat.format(re.escape(build.RIBBON_REL)), "", parts["_rels/.rels"].decode("utf-8")
    ).encode("utf-8")
    ct = parts["[Content_Types].xml"].decode("utf-8")
    ct = re.sub(r'<Override\b[^>]*PartName="/xl/vbaProject\.bin"[^>]*/>', "", ct)
    ct = re.sub(r'<Override\b[^>]*PartName="/customUI/[^"]*"[^>]*/>', "", ct)
    ct = ct.replace(build.XLSM_MAIN, XLSX_MAIN)
    parts["[Content_Types].xml"] = ct.encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="sop_xl_repair_") as work:
        plain = Path(work) / "plain.xlsx"
        with zipfile.ZipFile(plain, "w", zipfile.ZIP_DEFLATED) as zo:
            for n, d in parts.items():
                zo.writestr(n, d)
        rebuilt = Path(work) / "rebuilt.xlsm"
        build.make_xlsm(plain, rebuilt)
        shutil.copyfile(rebuilt, out.with_name(out.name + ".repair.tmp"))
    out.with_name(out.name + ".repair.tmp").replace(out)
    return out
