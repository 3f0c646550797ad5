"""The import rules of sop_xl, checked on the source with ``ast`` (rules 1-3: nothing is
imported):

1. no import loop between modules at module level (``if TYPE_CHECKING:`` blocks count: a loop
   kept only for type hints is still a loop);
2. the engines (kpi, variance, scorecard, supply, scenario, history, summary, consolidate's
   rules) never import ``sop_xl.io``, ``sop_xl.excel``, ``sop_xl.cycle`` or ``sop_xl.cli`` - not
   even inside a function;
3. only ``sop_xl/excel/`` imports xlwings;
4. the freeze's helper process and the guard load no pandas (checked by importing them).

The checker itself is tested on small planted trees, so a green run means something.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINES = (
    "sop_xl.kpi",
    "sop_xl.variance",
    "sop_xl.scorecard",
    "sop_xl.supply",
    "sop_xl.scenario",
    "sop_xl.history",
    "sop_xl.summary",
    "sop_xl.outlook",
    "sop_xl.consolidate.rules",
)
ABOVE_ENGINES = ("sop_xl.io", "sop_xl.excel", "sop_xl.cycle", "sop_xl.cli")


# --- the checker ---------------------------------------------------------------------------------
def modules(root: Path, package: str = "sop_xl") -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of ``root/package``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _module_level(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements that run at import: the body, into if/try/with blocks and class bodies, but
    not into functions (a lazy import inside a function runs later and cannot loop)."""
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            todo.extend(getattr(node, field, []))


def _targets(node: ast.stmt, name: str, is_package: bool, known: set[str]) -> list[str]:
    """Modules an import statement in module ``name`` imports (only names found in ``known``
    for ``from x import y`` where ``x.y`` is a module; else ``x``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        pkg = name.split(".") if is_package else name.split(".")[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join([*pkg, base] if base else pkg)
    subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
    return subs or [base]


def imports(root: Path, package: str = "sop_xl", *, everywhere: bool = False) -> dict[str, set]:
    """Module -> the modules it imports (module level only unless ``everywhere``)."""
    mods = modules(root, package)
    known = set(mods)
    out: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        nodes = ast.walk(tree) if everywhere else _module_level(tree)
        is_pkg = path.name == "__init__.py"
        out[name] = {t for n in nodes for t in _targets(n, name, is_pkg, known)}  # type: ignore[arg-type]
    return out


def import_loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (or a module importing itself),
    each sorted (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start] & graph.keys())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child] & graph.keys()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    group.append(m)
                    if m == node:
                        break
                if len(group) > 1 or node in graph[node]:
                    loops.append(sorted(group))
    return sorted(loops)


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def engine_violations(graph_everywhere: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{m} imports {t}"
        for m, targets in graph_everywhere.items()
        if _under(m, ENGINES)
        for t in targets
        if _under(t, ABOVE_ENGINES)
    )


def xlwings_outside_excel(graph_everywhere: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{m} imports {t}"
        for m, targets in graph_everywhere.items()
        if not _under(m, ("sop_xl.excel",))
        for t in targets
        if _under(t, ("xlwings",))
    )


# --- the rules, on sop_xl ------------------------------------------------------------------------
def test_no_import_loops() -> None:
    loops = import_loops(imports(ROOT))
    assert loops == [], "import loops (break them with a module both sides import): " + str(loops)


def test_engines_import_no_layer_above_them() -> None:
    graph = imports(ROOT, everywhere=True)
    assert any(_under(m, ENGINES) for m in graph)  # the rule has something to check
    assert engine_violations(graph) == []


def test_only_the_excel_package_imports_xlwings() -> None:
    graph = imports(ROOT, everywhere=True)
    assert any(_under(t, ("xlwings",)) for t in graph["sop_xl.excel.udfs"])  # it does see them
    assert xlwings_outside_excel(graph) == []


# --- the checker catches what it should ----------------------------------------------------------
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return tmp_path


def test_checker_finds_a_planted_loop_even_a_type_hint_one(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "sop_xl/__init__.py": "",
            "sop_xl/a.py": "from sop_xl import b\n",
            "sop_xl/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from sop_xl.c import C\n",
            "sop_xl/c.py": "from .a import x\n",  # relative import closes the loop
            "sop_xl/d.py": "def f():\n    from sop_xl import a\n",  # lazy: no loop
            "sop_xl/e.py": "import sop_xl.d\n",
        },
    )
    assert import_loops(imports(root)) == [["sop_xl.a", "sop_xl.b", "sop_xl.c"]]


def test_checker_finds_an_engine_reaching_up_and_stray_xlwings(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "sop_xl/__init__.py": "",
            "sop_xl/io/__init__.py": "",
            "sop_xl/io/reader.py": "import xlwings as xw\n",
            "sop_xl/kpi/__init__.py": "",
            "sop_xl/kpi/ops.py": "def f():\n    from sop_xl.io import reader\n",
            "sop_xl/consolidate/__init__.py": "",
            "sop_xl/consolidate/rules.py": "from ..cycle import validate\n",
            "sop_xl/consolidate/step.py": "from sop_xl.io import reader\n",  # not an engine
            "sop_xl/excel/__init__.py": "",
            "sop_xl/excel/udfs.py": "import xlwings\n",
        },
    )
    graph = imports(root, everywhere=True)
    assert engine_violations(graph) == [
        "sop_xl.consolidate.rules imports sop_xl.cycle",
        "sop_xl.kpi.ops imports sop_xl.io.reader",
    ]
    assert xlwings_outside_excel(graph) == ["sop_xl.io.reader imports xlwings"]


@pytest.mark.parametrize(
    ("graph", "loops"),
    [
        ({"a": {"a"}}, [["a"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
    ],
)
def test_loop_finder_known_answers(graph: dict[str, set[str]], loops: list[list[str]]) -> None:
    assert import_loops(graph) == loops


@pytest.mark.parametrize(
    "module", ["sop_xl.plan.freeze", "sop_xl.plan.hash_helper", "sop_xl.io.guard"]
)
def test_what_the_freezes_helper_and_the_guard_load_needs_no_pandas(module: str) -> None:
    """The freeze's helper process freezes sheets and hashes them; it starts as the click
    starts, and its imports compete with the click's own: pandas (0.3 s) and pydantic stay
    out of it (and of the guard, which scans a file before anything is parsed)."""
    import subprocess
    import sys

    code = f"import sys, {module}; print(sorted({{'pandas', 'pydantic'}} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
