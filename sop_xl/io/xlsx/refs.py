"""A1 references and start-tag attributes, as text: the small helpers every part reader and
writer shares. Nothing here imports pandas or the schema, so a process that only transforms
sheets (the freeze's helper) or scans them (the guard) loads in a fraction of a second."""

from __future__ import annotations

import functools
import re

from sop_xl.io.xlsx.parts import quoteattr


def col_letter(n: int) -> str:
    """1 -> A, 27 -> AA."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def col_number(letters: str) -> int:
    """A -> 1, AA -> 27."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


_CELL_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")


def parse_cell(ref: str) -> tuple[int, int]:
    """'B7' -> (column 2, row 7)."""
    m = _CELL_RE.fullmatch(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return col_number(m.group(1)), int(m.group(2))


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """'A1:C9' -> (c1, r1, c2, r2)."""
    a, _, b = ref.partition(":")
    c1, r1 = parse_cell(a)
    c2, r2 = parse_cell(b) if b else (c1, r1)
    return c1, r1, c2, r2


def range_ref(c1: int, r1: int, c2: int, r2: int) -> str:
    """(1, 1, 3, 9) -> 'A1:C9'."""
    return f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"


def sheet_ref(sheet: str) -> str:
    """A sheet name as a formula writes it: ``'Sales ''24'``."""
    return "'" + sheet.replace("'", "''") + "'"


@functools.cache
def _attr_re(name: str) -> re.Pattern[str]:
    return re.compile(r"\s" + name + r"\s*=\s*([\"'])(.*?)\1", flags=re.S)


def attr(tag_text: str, name: str) -> str | None:
    """The value of attribute ``name`` in a start tag's text (entities as written), or None."""
    m = _attr_re(name).search(tag_text)
    return m.group(2) if m else None


def set_attr(tag_text: str, name: str, value: str) -> str:
    """The start tag's text with attribute ``name`` set to ``value`` (escaped), added if absent."""
    pat = r"(\s" + name + r"\s*=\s*)([\"'])(.*?)\2"
    if re.search(pat, tag_text, flags=re.S):
        return re.sub(
            pat, lambda m: f"{m.group(1)}{quoteattr(value)}", tag_text, count=1, flags=re.S
        )
    end = tag_text.rstrip().endswith("/>")
    cut = len(tag_text.rstrip()) - (2 if end else 1)
    return f"{tag_text[:cut]} {name}={quoteattr(value)}{tag_text[cut:]}"


def unescape_attr(v: str) -> str:
    """An attribute value as written (``&quot;`` ...) as text."""
    return v.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
