"""Resize an Excel table (a ``<table>`` part) so that Excel opens it without a repair prompt.

Excel repairs (and tells the user so) a table whose parts disagree. A resized table must keep
four things consistent (ECMA-376 Part 1, 18.5.1.2 ``table``, 18.3.1.2 ``autoFilter``,
18.5.1.4 ``tableColumns``):

- the table's ``ref``;
- its ``autoFilter ref``: the same range (a filter over fewer rows than the table is what
  ``write_demo_submissions`` once wrote: ``ref="A4:O188"`` with ``autoFilter ref="A4:O184"``);
- ``tableColumns``: one ``tableColumn`` per column of ``ref``, ``count`` equal to that number,
  unique ids and names;
- the header cells: each ``tableColumn name`` equals the text of its header cell.

:func:`resize_table_xml` is the one function that does it, on the part's XML text (the part-level
writer uses it directly); :func:`resize_table` applies it to an openpyxl worksheet's table.
:func:`table_problems` checks a table part against these rules (used by the file checker in the
tests). A sort state is dropped on resize (it names the old range).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sop_xl.errors import SopError
from sop_xl.io.xlsx.parts import NS_MAIN, PREFIX, ns_prefixes, quoteattr
from sop_xl.io.xlsx.refs import attr, parse_range, set_attr, unescape_attr

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

_TABLE_RE = re.compile(rf"<({PREFIX})table(?=[\s/>])[^>]*>")


def _main(tx: str, root_prefix: str) -> str:
    """A pattern for the prefix of the table's elements: any the part binds to the main
    namespace (the root may be in ``x:`` and its children in the default namespace, as valid
    XML allows, each element under its own), the root's when the part declares none."""
    prefixes = ns_prefixes(tx, NS_MAIN) or [root_prefix]
    return "(?:" + "|".join(map(re.escape, prefixes)) + ")"


def _open_tag(el: str) -> str:
    return el[: el.index(">") + 1]


def _width(ref: str) -> int:
    c1, _, c2, _ = parse_range(ref)
    return c2 - c1 + 1


def resize_table_xml(tx: str, ref: str, headers: Sequence[str]) -> str:
    """The table part ``tx`` resized to ``ref`` with column names ``headers`` (the header cells'
    texts, left to right). Existing columns keep their id (and formulas, formats) by name; new
    ones get fresh ids. Raises :class:`SopError` for a table with a total row (its totals would
    point at the old range) or headers that do not fit ``ref``."""
    m = _TABLE_RE.search(tx)
    if m is None:
        raise SopError("not a table part (no <table> element)", fix="rebuild the workbook")
    pre = _main(tx, m.group(1) or "")
    name = unescape_attr(attr(m.group(0), "displayName") or attr(m.group(0), "name") or "?")
    if (attr(m.group(0), "totalsRowCount") or "0") != "0":
        raise SopError(
            f"table {name} has a total row, which sop_xl cannot resize",
            fix="turn off the Total Row of the table (Table Design > Total Row)",
        )
    if len(headers) != _width(ref):
        raise SopError(
            f"table {name}: {len(headers)} header(s) for the {_width(ref)} column(s) of {ref}"
        )
    if len(set(headers)) != len(headers) or any(not h for h in headers):
        raise SopError(
            f"table {name}: header cells must be unique and not blank ({list(headers)})",
            fix="give every column of the table its own header text",
        )
    tx = tx[: m.start()] + set_attr(m.group(0), "ref", ref) + tx[m.end() :]
    tx = re.sub(
        rf"<{pre}autoFilter\b[^>]*>", lambda a: set_attr(a.group(0), "ref", ref), tx, count=1
    )
    tx = re.sub(rf"<{pre}sortState\b[^>]*/>", "", tx)
    tx = re.sub(rf"<({pre})sortState\b.*?</\1sortState>", "", tx, flags=re.S)
    cm = re.search(
        rf"<({pre})tableColumns\b([^>]*?)(?:/>|>(.*?)</\1tableColumns\s*>)", tx, flags=re.S
    )
    if cm is None:
        raise SopError(f"table {name} has no tableColumns", fix="rebuild the workbook")
    cp = cm.group(1)  # new columns in their container's prefix, as it is declared there
    old = [
        e.group(0)
        for e in re.finditer(
            rf"<({pre})tableColumn\b(?:[^>]*?/>|[^>]*>.*?</\1tableColumn\s*>)",
            cm.group(3) or "",
            flags=re.S,
        )
    ]
    by_name = {unescape_attr(attr(_open_tag(e), "name") or ""): e for e in old}
    next_id = max([0, *(int(attr(_open_tag(e), "id") or 0) for e in old)]) + 1
    cols = []
    for h in headers:
        if h in by_name:
            cols.append(by_name[h])
        else:
            cols.append(f"<{cp}tableColumn id={quoteattr(str(next_id))} name={quoteattr(h)}/>")
            next_id += 1
    # its start tag kept (a namespace declared there is what its columns are in)
    start = set_attr(f"<{cp}tableColumns{cm.group(2)}>", "count", str(len(cols)))
    block = f"{start}{''.join(cols)}</{cp}tableColumns>"
    return tx[: cm.start()] + block + tx[cm.end() :]


def resize_table(ws: Worksheet, name: str, ref: str) -> None:
    """Resize the openpyxl table ``name`` of ``ws`` to ``ref`` through :func:`resize_table_xml`;
    the column names are read from the header cells (the first row of ``ref``)."""
    from openpyxl.worksheet.table import Table
    from openpyxl.xml.functions import fromstring, tostring

    table: Any = ws.tables[name]
    c1, r1, c2, _ = parse_range(ref)
    headers = [ws.cell(r1, c).value for c in range(c1, c2 + 1)]
    texts = ["" if h is None else str(h) for h in headers]
    for c, h in zip(range(c1, c2 + 1), texts, strict=True):
        ws.cell(r1, c).value = h  # header cells are text (Excel repairs numeric headers)
        ws.cell(r1, c).data_type = "s"
    if not table.tableColumns:  # a table openpyxl has not initialised yet (added, not saved)
        table.ref = ref
        table._initialise_columns()
        for col, h in zip(table.tableColumns, texts, strict=True):
            col.name = h
    xml = tostring(table.to_tree()).decode()
    new = Table.from_tree(fromstring(resize_table_xml(xml, ref, texts)))
    ws.tables[name] = new


def table_problems(tx: str, header_texts: Sequence[str] | None = None) -> list[str]:
    """What is inconsistent in one table part (empty when Excel would open it unrepaired)."""
    m = _TABLE_RE.search(tx)
    if m is None:
        return ["no <table> element"]
    tp = _main(tx, m.group(1) or "")
    ref = attr(m.group(0), "ref") or ""
    out: list[str] = []
    af = re.search(rf"<{tp}autoFilter\b[^>]*>", tx)
    if af is not None and attr(af.group(0), "ref") != ref:
        out.append(f"autoFilter ref {attr(af.group(0), 'ref')} != table ref {ref}")
    cm = re.search(rf"<{tp}tableColumns\b[^>]*>", tx)
    cols = [_open_tag(e) for e in re.findall(rf"<{tp}tableColumn\b[^>]*>", tx)]
    names = [unescape_attr(attr(c, "name") or "") for c in cols]
    ids = [attr(c, "id") for c in cols]
    if cm is None or attr(cm.group(0), "count") != str(len(cols)):
        out.append(f"tableColumns count != {len(cols)} columns")
    if ref and len(cols) != _width(ref):
        out.append(f"{len(cols)} tableColumn(s) for the {_width(ref)} column(s) of {ref}")
    if len(set(ids)) != len(ids) or len(set(n.lower() for n in names)) != len(names):
        out.append("duplicate tableColumn ids or names")
    if header_texts is not None and list(header_texts) != names:
        out.append(f"header cells {list(header_texts)} != column names {names}")
    return out
