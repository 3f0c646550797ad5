"""A frozen plan's numbers have 15 significant digits, so any re-save keeps its content hash
(issue 20 item 1).

LibreOffice writes 15 significant digits but does not round them correctly: it errs by up to
about 0.1 unit of the 15th digit (measured on the demo snapshot: 0.011337255928211448 is saved
as 0.0113372559282114, where 16 digits then 15 half-up gives ...2115; 317789.30000000045 as
317789.300000001, where correct rounding gives ...000). So no rule applied to the parsed value
can match it for a double near a 15-digit midpoint. The freeze therefore writes each number as
the double nearest its 15-digit canonical decimal: that double is at most 0.111 unit of the 15th
digit from the decimal, so at least 0.388 unit from any midpoint, and every writer's 15 digits
are that decimal again.
"""

from __future__ import annotations

import math
import random
import re
import shutil
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from conftest import convert
from hypothesis import given
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook
from test_snapshot import _sheet_part, _unzip, _zip, build_master

from sop_xl.plan import freeze as freeze_mod
from sop_xl.plan.content_hash import canonical_number, content_hash
from sop_xl.plan.diff import diff
from sop_xl.plan.snapshot import freeze, verify

#: numbers of the demo snapshot that LibreOffice 25.2 saved with other 15 digits than the
#: content hash's rule gives for the unrounded double (measured, issue 20 item 1)
DEMO_NEAR_MIDPOINT = [
    0.011337255928211448,
    317789.30000000045,
    -0.00019299065420560747,
    -0.00015302325581395348,
    -0.16666290511871446,
    0.053478293110977446,
    0.41014137654310445,
    -0.015730558013455246,
    -0.24073504121913347,
    -0.10040268024554147,
]


def near_midpoints(n: int, seed: int) -> list[float]:
    """Doubles within a few ulps of a 15-digit rounding midpoint (16 digits ending in 5), of
    every magnitude and both signs: where a writer's 15 digits depend on its rounding."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        digits = f"{rnd.randint(10**14, 10**15 - 1)}5"  # 16 digits, a 15-digit midpoint
        x = float(f"{rnd.choice('+-')}{digits[0]}.{digits[1:]}e{rnd.randint(-6, 8)}")
        out.append(x + rnd.randint(-3, 3) * math.ulp(x))
    return out


def test_known_answers() -> None:
    xml = (
        b'<row r="1"><c r="A1"><v>0.011337255928211448</v></c>'
        b'<c r="B1" s="3" t="n"><v>317789.30000000045</v></c>'
        b'<c r="C1" t="str"><v>12345678901234567890</v></c>'  # text that looks like a number
        b'<c r="D1"><v>-0.000192990654205607</v></c>'  # 15 digits already: kept as written
        b'<c r="E1"><v>0.30000000000000004</v></c><c r="F1"><v>12</v></c>'
        b'<c r="G1" t="e"><v>#DIV/0!</v></c></row>'
    )
    assert freeze_mod.round_numbers(xml) == (
        b'<row r="1"><c r="A1"><v>0.0113372559282115</v></c>'
        b'<c r="B1" s="3" t="n"><v>317789.300000001</v></c>'
        b'<c r="C1" t="str"><v>12345678901234567890</v></c>'
        b'<c r="D1"><v>-0.000192990654205607</v></c>'
        b'<c r="E1"><v>0.3</v></c><c r="F1"><v>12</v></c>'
        b'<c r="G1" t="e"><v>#DIV/0!</v></c></row>'
    )
    for p in (b"x:", b"a.b:", "é:".encode()):  # any XML prefix: '.', '-', non-ASCII
        prefixed = xml.replace(b"<c ", b"<" + p + b"c ").replace(b"</c>", b"</" + p + b"c>")
        prefixed = prefixed.replace(b"<v>", b"<" + p + b"v>").replace(b"</v>", b"</" + p + b"v>")
        got = freeze_mod.round_numbers(prefixed)
        assert b"<" + p + b"v>0.0113372559282115</" + p + b"v>" in got, p
        assert b"<" + p + b"v>12345678901234567890</" + p + b"v>" in got, p
        assert b"<" + p + b"v>0.3</" + p + b"v>" in got, p


@given(
    st.floats(min_value=1e-300, max_value=1e300),  # a spreadsheet's range: normal doubles
    st.booleans(),
)
def test_a_frozen_number_is_far_from_every_midpoint(x: float, negative: bool) -> None:
    """The frozen double has the same canonical text as the original (so the content hash is
    unchanged) and lies within half an ulp of that text. An ulp is 2**-52 of the binade, below
    10**15 * 2**-52 = 0.222 unit of the 15th digit, so the double is within 0.111 unit of its
    15 digits and at least 0.388 unit from a midpoint: more than LibreOffice's error."""
    x = -x if negative else x
    c = canonical_number(x)
    y = float(c)
    assert canonical_number(y) == c
    with localcontext(prec=1000):  # exact: a double has at most 767 significant digits
        exact, dec = Decimal(y), Decimal(c)
        unit = Decimal(10) ** (dec.adjusted() - 14)  # one unit of the 15th significant digit
        assert abs(exact - dec) <= Decimal(10**15) / Decimal(2**53) * unit


def _sheet_numbers(master: Path, values: list[float]) -> Path:
    """A master whose Forecast holds ``values``, three a row, each written as its exact double
    (``repr``, as the demo's writer does; openpyxl writes 16 digits, another double for some)."""
    rows = [["EU", "1000", f"WH{i}", "", "", *values[i : i + 3]] for i in range(0, len(values), 3)]
    build_master(master, forecast=rows)
    parts = _unzip(master.read_bytes())
    part = _sheet_part(parts, "Forecast")
    exact = iter(values)
    parts[part] = re.sub(
        rb'(<c r="[F-H]\d+"[^>]*><v>)[^<]*(</v>)',
        lambda m: m.group(1) + repr(next(exact)).encode() + m.group(2),
        parts[part],
    )
    assert next(exact, None) is None
    master.write_bytes(_zip(parts))
    return master


@pytest.mark.libreoffice
def test_a_libreoffice_resave_keeps_every_number_of_a_frozen_plan(
    soffice: str, tmp_path: Path
) -> None:
    """Near-midpoint doubles (the demo's and constructed ones) and random doubles of a fixed
    seed, frozen, re-saved by LibreOffice: verify says protection removed, never values changed.
    Before the freeze rounded its numbers, LibreOffice's 15 digits differed for many of them."""
    rnd = random.Random(2026)
    values = DEMO_NEAR_MIDPOINT + near_midpoints(400, seed=20)
    values += [rnd.random() * 10 ** rnd.randint(-6, 9) for _ in range(300)]
    master = _sheet_numbers(tmp_path / "SOP_Master.xlsm", values)
    snap = freeze(master, approved_by="CFO")
    out = convert(soffice, snap.path, "xlsx", tmp_path / "lo")
    frozen = CalamineWorkbook.from_path(str(snap.path)).get_sheet_by_name("Forecast").to_python()
    resaved = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Forecast").to_python()
    got = [v for row in frozen[1:] for v in row[5:8] if v != ""]
    back = [v for row in resaved[1:] for v in row[5:8] if v != ""]
    assert len(got) == len(back) == len(values)
    # the frozen numbers are the 15-digit canonical values of the master's
    assert got == [float(canonical_number(v)) for v in values]
    # LibreOffice rewrote the numbers, and every one reads back as the same double
    assert out.read_bytes() != snap.path.read_bytes()
    assert back == got
    # the unrounded values would not have survived: LibreOffice's 15 digits of the master's
    # doubles are not what the hash's rule gives for some of them (what the freeze fixes)
    raw = convert(soffice, master, "xlsx", tmp_path / "raw")
    raw_back = CalamineWorkbook.from_path(str(raw)).get_sheet_by_name("Forecast").to_python()
    before = [v for row in raw_back[1:] for v in row[5:8] if v != ""]
    assert [c for c, v in zip(before, values, strict=True)
            if canonical_number(c) != canonical_number(v)]  # fmt: skip
    snap.path.chmod(0o644)
    shutil.copyfile(out, snap.path)
    rep = verify(snap.path)
    assert not any("values changed" in p or "content hash" in p for p in rep.problems), rep
    assert rep.problems and all(p.startswith("protection removed") for p in rep.problems), rep


def test_a_plan_frozen_before_rounding_still_verifies_and_hashes_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot frozen by the earlier code (17-digit numbers) keeps verifying against its
    ledger record, has the same content hash as a freeze of the same master today, and a
    diff of the two shows no changed cell (numbers compare at 15 significant digits)."""
    values = DEMO_NEAR_MIDPOINT + near_midpoints(30, seed=3)
    master = _sheet_numbers(tmp_path / "SOP_Master.xlsm", values)
    with monkeypatch.context() as m:
        m.setattr(freeze_mod, "round_numbers", lambda xml: xml)  # the freeze before this fix
        old = freeze(master, approved_by="CFO")
    new = freeze(master, approved_by="CFO")
    old_vals = CalamineWorkbook.from_path(str(old.path)).get_sheet_by_name("Forecast").to_python()
    assert 0.011337255928211448 in [v for row in old_vals for v in row]  # really unrounded
    assert old.content_hash == new.content_hash
    assert content_hash(old.path, skip_first=True).hexdigest == old.content_hash
    rep = verify(old.path.parent)
    assert rep.ok, rep
    d = diff(old.path, new.path, tmp_path / "changes.xlsx")
    assert d.changed_cells == 0 and d.forecast_changes == 0, d
