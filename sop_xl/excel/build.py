"""Build the macro-enabled S&OP workbook (.xlsm) and the S&OP add-in (.xlam), on any OS.

No Excel is needed: a plain ``.xlsx`` (the standard workbook written with openpyxl) becomes a
macro-enabled workbook by editing its zip package:

- ``customUI/customUI14.xml``: the S&OP ribbon tab (source ``sources/customUI14.xml`` next to
  this module), related
  from ``_rels/.rels`` with the Office 2010 extensibility relationship type;
- ``xl/vbaProject.bin``: a VBA project written with pyopenvba holding
  ``xlwings`` (xlwings' own VBA module from the installed package, with PROJECT_NAME ``sop_xl``
  and the workbook folder left off Python's path), ``Dictionary`` (xlwings' Mac stand-in for
  Scripting.Dictionary), ``SOP_Ribbon`` (the one ribbon callback, ``sources/vba/SOP_Ribbon.bas``),
  ``xlwings_udfs`` (a VBA wrapper for every ``@xw.func`` of the UDF module, written by xlwings'
  own generator), ``SOP_FunctionHelp`` (function wizard descriptions from the docstrings) and
  the ``ThisWorkbook`` code (``sop_xl/excel/sources/vba/ThisWorkbook.cls``);
- the workbook part's content type switched to the macro-enabled one and the project related
  from ``xl/_rels/workbook.xml.rels`` with an Override in ``[Content_Types].xml``.

The project is written in the form [MS-OVBA] asks of a writer: the ``_VBA_PROJECT`` stream is
``cc61ffff000100`` (version 0xFFFF, no performance cache), so Excel compiles the modules from
their source when it opens the file. xlwings' shipped quickstart files are in exactly this form.

The output is reproducible: the same sources give the same bytes (sorted zip entries, fixed
timestamps), provided the input ``.xlsx`` is itself reproducible.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sop_xl.errors import BuildError
from sop_xl.io.files import atomic_path

#: Where the ribbon XML and the VBA sources live: package data, so an installed sop_xl builds too.
SOURCES = Path(__file__).resolve().parent / "sources"

DEFAULT_UDF_MODULE = "sop_xl.excel.udfs"
#: VBA project name (shown in the VBA editor) and xlwings PROJECT_NAME (config sheet/file name).
PROJECT_NAME = "sop_xl"
UDF_CATEGORY = "S&OP"

RIBBON_PART = "customUI/customUI14.xml"
RIBBON_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
RIBBON_NS = "http://schemas.microsoft.com/office/2009/07/customui"
VBA_PART = "xl/vbaProject.bin"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
VBA_CONTENT = "application/vnd.ms-office.vbaProject"
SHEET_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
XLAM_MAIN = "application/vnd.ms-excel.addin.macroEnabled.main+xml"
#: [MS-OVBA] 2.3.4.1: Reserved1 0x61CC, Version 0xFFFF, Reserved2 0x00, Reserved3 0x0001 -
#: "no performance cache, compile from source".
VBA_PROJECT_STREAM = bytes.fromhex("cc61ffff000100")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

#: Module order in the project (the order the VBA editor lists them).
MODULE_ORDER = ("xlwings", "Dictionary", "SOP_Ribbon", "xlwings_udfs", "SOP_FunctionHelp")


# --- the modules that go into the VBA project ---------------------------------------------------
@dataclass(frozen=True)
class Udf:
    """What the function wizard shows for one ``=SOP_...`` function."""

    name: str
    description: str
    category: str
    args: tuple[str, ...] = ()


@dataclass
class VbaSources:
    """Every VBA module of a build: name -> source (CRLF line ends), and the UDFs declared."""

    modules: dict[str, str] = field(default_factory=dict)
    this_workbook: str = ""
    udfs: list[Udf] = field(default_factory=list)


def ribbon_xml(sources: Path = SOURCES) -> bytes:
    """The ribbon XML as it goes into the package (the source file, byte for byte)."""
    path = sources / "customUI14.xml"
    if not path.is_file():
        raise BuildError(f"ribbon source {path} is missing")
    return path.read_bytes()


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _xlwings_dir() -> Path:
    import xlwings  # only for the location of its shipped VBA; nothing runs

    return Path(xlwings.__file__).parent


def xlwings_module(*, addin: bool) -> str:
    """xlwings' own VBA module from the installed package, adapted for sop_xl.

    - ``PROJECT_NAME`` is ``sop_xl``: settings come from a ``sop_xl.conf`` sheet, a
      ``sop_xl.conf`` file next to the workbook, or ``%USERPROFILE%\\.sop_xl\\sop_xl.conf``
      (``~/Library/Containers/com.microsoft.Excel/Data/sop_xl.conf`` on macOS), written by
      :func:`sop_xl.excel.config.write_user_config`;
    - ``ADD_WORKBOOK_TO_PYTHONPATH`` defaults to false: sop_xl runs from its installed package,
      and a ``.py`` file that happens to sit in the workbook's folder is never imported.
    """
    name = "xlwings_custom_addin.bas" if addin else "xlwings.bas"
    path = _xlwings_dir() / name
    if not path.is_file():
        raise BuildError(f"xlwings' VBA module {path} is missing: reinstall xlwings")
    text = path.read_text(encoding="utf-8")
    text, n = re.subn(
        r'Public Const PROJECT_NAME As String = "\w+"',
        f'Public Const PROJECT_NAME As String = "{PROJECT_NAME}"',
        text,
    )
    text, m = re.subn(
        r'GetConfig\("ADD_WORKBOOK_TO_PYTHONPATH", "true"\)',
        'GetConfig("ADD_WORKBOOK_TO_PYTHONPATH", "false")',
        text,
    )
    if n != 1 or m < 1:
        raise BuildError(f"{path} changed shape (PROJECT_NAME / ADD_WORKBOOK_TO_PYTHONPATH)")
    if not text.startswith('Attribute VB_Name = "xlwings"'):
        raise BuildError(f"{path} does not start with its VB_Name attribute")
    return _crlf(text)


def dictionary_class() -> str:
    """xlwings' ``Dictionary`` class (VBA-Dictionary, MIT), which its module needs on macOS.

    xlwings ships it only inside its standalone quickstart workbook, so it is read from there.
    """
    from pyopenvba import ExcelFile

    path = _xlwings_dir() / "quickstart_standalone.xlsm"
    with ExcelFile(path) as book:
        modules = book.vba_modules()
    if "Dictionary" not in modules:
        raise BuildError(f"{path} has no Dictionary class module")
    return _crlf(modules["Dictionary"])


def _vba_text(text: str, limit: int = 255) -> str:
    """A VBA string literal's content: one line, cp1252, quotes doubled, at most ``limit``."""
    plain = {"—": "-", "–": "-", "×": "x", "≥": ">=", "≤": "<=", "…": "...", "’": "'", "‘": "'"}
    plain |= {"“": '"', "”": '"', "÷": "/", "Σ": "sum ", "∑": "sum ", "−": "-"}
    for k, v in plain.items():
        text = text.replace(k, v)
    text = " ".join(text.split())[:limit]
    text = text.encode("cp1252", errors="replace").decode("cp1252")
    return text.replace('"', '""')


def _first_paragraph(doc: str) -> str:
    parts = re.split(r"\n\s*\n", (doc or "").strip(), maxsplit=1)
    return parts[0] if parts else ""


def function_help_module(udfs: list[Udf]) -> str:
    """The ``SOP_FunctionHelp`` module: registers descriptions with ``Application.MacroOptions``.

    ``import_udfs`` does this through COM in a running Excel; with no Excel at build time, the
    workbook does it itself when it opens (``ThisWorkbook.Workbook_Open``).
    """
    lines = [
        'Attribute VB_Name = "SOP_FunctionHelp"',
        "' Autogenerated by sop_xl.excel.build from the UDF docstrings - changes are lost on",
        "' the next build. Gives Excel's function wizard (fx) a description of every =SOP_...",
        "' function and its arguments.",
        "Option Explicit",
        "",
        "Public Sub SOP_RegisterFunctionHelp()",
        "    Dim book As String",
        "    Dim args As Variant",
        '    book = "\'" & ThisWorkbook.Name & "\'!"',
        "    On Error Resume Next",
        "    ' The =SOP_ functions run on Windows only (xlwings UDFs).",
        "#If Not Mac Then",
    ]
    for u in udfs:
        call = (
            f'    Application.MacroOptions Macro:=book & "{u.name}", '
            f'Description:="{_vba_text(u.description)}", Category:="{_vba_text(u.category)}"'
        )
        if u.args:
            docs = ", _\n        ".join(f'"{_vba_text(a)}"' for a in u.args[:20])
            lines.append(f"    args = Array( _\n        {docs})")
            call += ", ArgumentDescriptions:=args"
        lines.append(call)
    lines += ["#End If", "End Sub", ""]
    return _crlf("\n".join(lines))


def _stub_win32() -> None:
    """Stand-ins for pywin32 so ``xlwings.udfs`` imports on Linux/macOS (build time only)."""
    import types

    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: None  # type: ignore[attr-defined]
    pywintypes = types.ModuleType("pywintypes")

    class com_error(Exception):
        pass

    pywintypes.com_error = com_error  # type: ignore[attr-defined]
    win32com = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")
    client.Dispatch = lambda *a, **k: None  # type: ignore[attr-defined]
    win32com.client = client  # type: ignore[attr-defined]
    for name, module in {
        "pythoncom": pythoncom,
        "pywintypes": pywintypes,
        "win32com": win32com,
        "win32com.client": client,
    }.items():
        sys.modules.setdefault(name, module)


def _generate_udfs_here(udf_module: str, workbook_name: str) -> dict:
    """In a throw-away process: import the UDF module with xlwings' real decorators and write
    the ``xlwings_udfs`` module with xlwings' own ``generate_vba_wrapper``."""
    import importlib
    import io
    import types

    if not sys.platform.startswith("win"):
        _stub_win32()
    import xlwings
    from xlwings import udfs

    # Off Windows, xw.func/arg/ret/sub are no-ops; give the module the real ones.
    xlwings.func, xlwings.arg, xlwings.ret = udfs.xlfunc, udfs.xlarg, udfs.xlret
    xlwings.sub = xlwings.script = udfs.xlsub
    try:
        module = importlib.import_module(udf_module)
    except ModuleNotFoundError as exc:
        if exc.name and udf_module.startswith(exc.name):  # the module itself, not a dependency
            return {"missing": True, "vba": "", "udfs": []}
        raise
    buf = io.StringIO()
    buf.write('Attribute VB_Name = "xlwings_udfs"\n')
    buf.write("'Autogenerated code by xlwings - changes will be lost with next import!\n")
    buf.write("""#Const App = "Microsoft Excel" 'Adjust when using outside of Excel\n""")
    udfs.generate_vba_wrapper(udf_module, module, buf, types.SimpleNamespace(Name=workbook_name))
    found = []
    for attr in sorted(dir(module)):
        xlfunc = getattr(getattr(module, attr), "__xlfunc__", None)
        if xlfunc is None:
            continue
        category = xlfunc["category"]
        found.append(
            {
                "name": xlfunc["name"],
                "description": _first_paragraph(xlfunc["ret"]["doc"]),
                "category": UDF_CATEGORY if category == "xlwings" else str(category),
                "args": [a["doc"] for a in xlfunc["args"] if not a["vba"]],
            }
        )
    return {"vba": buf.getvalue(), "udfs": found}


def udf_wrappers(udf_module: str, workbook_name: str) -> tuple[str, list[Udf]]:
    """The ``xlwings_udfs`` VBA module and the UDFs it declares, for ``udf_module``.

    Runs in a child process (same interpreter and ``sys.path``) so that the win32 stand-ins and
    xlwings' real decorators never leak into the caller.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    code = (
        "import json, sys; from sop_xl.excel.build import _generate_udfs_here; "
        "json.dump(_generate_udfs_here(sys.argv[1], sys.argv[2]), sys.stdout)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, udf_module, workbook_name],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise BuildError(f"cannot generate UDF wrappers from {udf_module}: {tail[0]}")
    data = json.loads(proc.stdout)
    if data.get("missing"):
        if udf_module != DEFAULT_UDF_MODULE:
            raise BuildError(f"UDF module {udf_module} not found")
        warnings.warn(
            f"{udf_module} does not exist yet: the workbook is built without =SOP_ functions",
            stacklevel=3,
        )
        return "", []
    udfs = [Udf(d["name"], d["description"], d["category"], tuple(d["args"])) for d in data["udfs"]]
    return _crlf(data["vba"]), udfs


def vba_sources(
    *, addin: bool, udf_module: str | None = DEFAULT_UDF_MODULE, sources: Path = SOURCES
) -> VbaSources:
    """Every module that goes into the VBA project, as text (what the tests compare)."""
    out = VbaSources()
    out.modules["xlwings"] = xlwings_module(addin=addin)
    out.modules["Dictionary"] = dictionary_class()
    ribbon = sources / "vba" / "SOP_Ribbon.bas"
    this_workbook = sources / "vba" / "ThisWorkbook.cls"
    for path in (ribbon, this_workbook):
        if not path.is_file():
            raise BuildError(f"VBA source {path} is missing")
    out.modules["SOP_Ribbon"] = _crlf(ribbon.read_text(encoding="utf-8"))
    if udf_module:
        vba, out.udfs = udf_wrappers(udf_module, "SOP.xlam" if addin else "SOP.xlsm")
        if vba:
            out.modules["xlwings_udfs"] = vba
    out.modules["SOP_FunctionHelp"] = function_help_module(out.udfs)
    out.this_workbook = _crlf(this_workbook.read_text(encoding="utf-8"))
    return out


# --- package editing ----------------------------------------------------------------------------
def _rel_ids(rels: str) -> set[str]:
    return set(re.findall(r'\bId="([^"]+)"', rels))


def _add_relationship(rels: str, rel_type: str, target: str) -> str:
    """``rels`` with one relationship of ``rel_type`` pointing at ``target`` (replacing any)."""
    rels = re.sub(rf'<Relationship\b[^>]*Type="{re.escape(rel_type)}"[^>]*/>', "", rels)
    ids, n = _rel_ids(rels), 1
    while f"rId{n}" in ids:
        n += 1
    new = f'<Relationship Id="rId{n}" Type="{rel_type}" Target="{target}"/>'
    return rels.replace("</Relationships>", new + "</Relationships>", 1)


def _content_types(types: str, main: str) -> str:
    """[Content_Types].xml with the macro-enabled main part and the VBA project Override."""
    types = re.sub(rf'<Default\b[^>]*ContentType="{re.escape(VBA_CONTENT)}"[^>]*/>', "", types)
    types = re.sub(r'<Override\b[^>]*PartName="/xl/vbaProject\.bin"[^>]*/>', "", types)
    main_override = re.search(r'<Override\b[^>]*PartName="/xl/workbook\.xml"[^>]*/>', types)
    if main_override is None:
        raise BuildError("[Content_Types].xml has no Override for /xl/workbook.xml")
    tag = re.sub(r'ContentType="[^"]*"', f'ContentType="{main}"', main_override.group())
    types = types.replace(main_override.group(), tag)
    override = f'<Override PartName="/{VBA_PART}" ContentType="{VBA_CONTENT}"/>'
    return types.replace("</Types>", override + "</Types>", 1)


def _spec_form(project: bytes) -> bytes:
    """The project with ``_VBA_PROJECT`` = cc61ffff000100 and no performance-cache streams."""
    from pyopenvba.cfb import CFB

    cfb = CFB.from_bytes(project)
    cfb.write_stream_in_storage("VBA", "_VBA_PROJECT", VBA_PROJECT_STREAM)
    with contextlib.suppress(KeyError):
        cfb.drop_streams_in_storage("VBA", lambda n: n.startswith("__SRP_"))
    return _renamed_project(cfb).to_bytes()


def _renamed_project(cfb):  # type: ignore[no-untyped-def]
    """Name the VBA project ``sop_xl`` (PROJECT stream and the dir stream's PROJECTNAME)."""
    from pyopenvba.vba import compress, decompress

    project = cfb.get_stream("PROJECT")
    project = re.sub(rb'\nName="[^"]*"', f'\nName="{PROJECT_NAME}"'.encode(), project, count=1)
    cfb.write_stream("PROJECT", project)
    raw = decompress(cfb.get_stream_in_storage("VBA", "dir"))
    # PROJECTNAME follows PROJECTSYSKIND, [PROJECTCOMPATVERSION], PROJECTLCID, PROJECTLCIDINVOKE
    # and PROJECTCODEPAGE, each Id (2 bytes) + Size (4 bytes) + data: walk the records.
    pos, at = 0, -1
    while pos + 6 <= len(raw):
        rid = int.from_bytes(raw[pos : pos + 2], "little")
        size = int.from_bytes(raw[pos + 2 : pos + 6], "little")
        if rid == 0x0004:
            at = pos
            break
        pos += 6 + size
    else:
        raise BuildError("VBA dir stream has no PROJECTNAME record")
    old = int.from_bytes(raw[at + 2 : at + 6], "little")
    name = PROJECT_NAME.encode("ascii")
    raw = raw[:at] + b"\x04\x00" + len(name).to_bytes(4, "little") + name + raw[at + 6 + old :]
    cfb.write_stream_in_storage("VBA", "dir", compress(raw))
    return cfb


def _write_vba_project(xlsx: Path, work: Path, vba: VbaSources) -> dict[str, bytes]:
    """The package parts after pyopenvba gave it a project: part name -> bytes."""
    from pyopenvba import ExcelFile, VBAModuleKind

    tmp = work / "book.xlsm"  # pyopenvba adds projects to .xlsm packages only
    shutil.copyfile(xlsx, tmp)
    saved = work / "saved.xlsm"
    with ExcelFile(tmp) as book:
        project = book.add_vba_project()
        book.set_module("ThisWorkbook", vba.this_workbook)
        for name in MODULE_ORDER:
            if name in vba.modules:
                kind = VBAModuleKind.other if name == "Dictionary" else VBAModuleKind.standard
                project.add_module(name, vba.modules[name], kind=kind)
        book.save(saved)
    with zipfile.ZipFile(saved) as z:
        return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}


def _write_zip(parts: dict[str, bytes], out: Path) -> None:
    """Write the package reproducibly (fixed order and timestamps), atomically."""
    first = ["[Content_Types].xml", "_rels/.rels"]
    order = [n for n in first if n in parts] + sorted(n for n in parts if n not in first)
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        atomic_path(out) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z,
    ):
        for name in order:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, parts[name])


def _build(xlsx: Path, out: Path, *, addin: bool, udf_module: str | None, sources: Path) -> None:
    xlsx, out = Path(xlsx), Path(out)
    if not zipfile.is_zipfile(xlsx):
        raise BuildError(f"{xlsx} is not an .xlsx package")
    with zipfile.ZipFile(xlsx) as z:
        names = set(z.namelist())
        if VBA_PART in names:
            raise BuildError(f"{xlsx} already has a VBA project; build from the plain .xlsx")
    vba = vba_sources(addin=addin, udf_module=udf_module, sources=sources)
    ribbon = ribbon_xml(sources)
    with tempfile.TemporaryDirectory(prefix="sop_xl_build_") as work:
        parts = _write_vba_project(xlsx, Path(work), vba)
    parts[VBA_PART] = _spec_form(parts[VBA_PART])
    parts[RIBBON_PART] = ribbon
    parts["_rels/.rels"] = _add_relationship(
        parts["_rels/.rels"].decode("utf-8"), RIBBON_REL, RIBBON_PART
    ).encode("utf-8")
    wb_rels = "xl/_rels/workbook.xml.rels"
    parts[wb_rels] = _add_relationship(
        parts[wb_rels].decode("utf-8"), VBA_REL, "vbaProject.bin"
    ).encode("utf-8")
    parts["[Content_Types].xml"] = _content_types(
        parts["[Content_Types].xml"].decode("utf-8"), XLAM_MAIN if addin else XLSM_MAIN
    ).encode("utf-8")
    _write_zip(parts, out)


def make_xlsm(
    xlsx: Path,
    out: Path,
    *,
    udf_module: str | None = DEFAULT_UDF_MODULE,
    sources: Path = SOURCES,
) -> None:
    """Write ``out`` (.xlsm): the workbook ``xlsx`` with the S&OP ribbon, macros and UDFs.

    ``udf_module`` is the Python module whose ``@xw.func`` functions get VBA wrappers (None: no
    UDFs). ``xlsx`` is only read; ``out`` is replaced atomically.
    """
    _build(Path(xlsx), Path(out), addin=False, udf_module=udf_module, sources=sources)


def addin_xlsx(path: Path) -> None:
    """The one-sheet workbook an add-in is built from (an add-in always has a hidden sheet)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "sop_xl"
    ws["A1"] = "sop_xl add-in: the S&OP ribbon tab and the =SOP_... functions for any workbook."
    wb.properties.creator = "sop_xl"
    from sop_xl.io.xlsx.openpyxl_fixes import save

    save(wb, path)
    _fix_core_dates(path)


def _fix_core_dates(path: Path) -> None:
    """Give docProps/core.xml fixed dates so the add-in builds byte-identical."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    core = parts.get("docProps/core.xml", b"").decode("utf-8")
    core = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*", r"\g<1>2026-01-01T00:00:00Z", core)
    parts["docProps/core.xml"] = core.encode("utf-8")
    _write_zip(parts, path)


def make_xlam(
    out: Path,
    *,
    udf_module: str | None = DEFAULT_UDF_MODULE,
    sources: Path = SOURCES,
) -> None:
    """Write the S&OP add-in ``out`` (.xlam): the ribbon and UDFs, serving any open workbook.

    Built from xlwings' custom add-in module, which works on the *active* workbook.
    """
    with tempfile.TemporaryDirectory(prefix="sop_xl_addin_") as work:
        base = Path(work) / "addin.xlsx"
        addin_xlsx(base)
        _build(base, Path(out), addin=True, udf_module=udf_module, sources=sources)


def main(argv: list[str] | None = None) -> int:
    """``python -m sop_xl.excel.build XLSX OUT.xlsm`` or ``... --addin OUT.xlam``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sop_xl.excel.build", description=__doc__)
    parser.add_argument("paths", nargs="+", help="XLSX OUT.xlsm, or OUT.xlam with --addin")
    parser.add_argument("--addin", action="store_true", help="build the .xlam add-in")
    parser.add_argument("--udf-module", default=DEFAULT_UDF_MODULE)
    parser.add_argument("--no-udfs", action="store_true")
    ns = parser.parse_args(argv)
    udf_module = None if ns.no_udfs else ns.udf_module
    if ns.addin:
        make_xlam(Path(ns.paths[-1]), udf_module=udf_module)
    else:
        if len(ns.paths) != 2:
            parser.error("give XLSX and OUT.xlsm")
        make_xlsm(Path(ns.paths[0]), Path(ns.paths[1]), udf_module=udf_module)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
