"""sop_xl.io.xlsx.calc.has_formula: the one formula check on a worksheet's bytes, used by the
writer (is a recalculation on open needed?) and by verify (a frozen plan holds no formula)."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sop_xl.io.xlsx.calc import has_formula
from sop_xl.plan.verify import _has_formula as verify_has_formula

#: The element pattern written out by hand: ``<f`` after an optional prefix of XML name
#: characters (ASCII letters, digits, ``_ . -``, any non-ASCII byte), then a space, ``>`` or ``/``.
ELEMENT = re.compile(rb"<(?:[A-Za-z0-9_.\-\x80-\xff]+:)?f[ \t\r\n\f\v>/]")


@settings(max_examples=400, deadline=None)
@example(["<x:", "f", "/"])
@example(["<f", "\u00a0"])
@example(["<f", "o"])
@example(["<f", "<f", ">"])
@example(["<", "é:", "f", ">"])
@given(
    st.lists(
        st.sampled_from(
            ["<f", "<x:", "<", "f", ":", "x", " ", "\n", "\u00a0", ">", "/", "o", "é", ".", "-"]
        )
    )
)
def test_the_quick_check_is_the_element_pattern(pieces: list[str]) -> None:
    """The quick path (``bytes.find`` of ``<f``, when no ``:f`` is in the text) answers as the
    element pattern on any text, prefixed names included."""
    xml = "".join(pieces).encode("utf-8")
    assert has_formula(xml) == (ELEMENT.search(xml) is not None)


@pytest.mark.parametrize(
    ("xml", "found"),
    [
        ('<c r="A1"><f>B1*2</f><v>4</v></c>', True),
        ('<c r="A1"><f t="shared" si="0"/><v>7</v></c>', True),
        ('<c r="A1"><f\tt="array" ref="A1">SUM(B1:B2)</f></c>', True),
        ('<x:c r="A1"><x:f>B1</x:f></x:c>', True),
        ('<my-ns.2:c r="A1"><my-ns.2:f>B1</my-ns.2:f></my-ns.2:c>', True),  # - and . in a name
        ('<é:c r="A1"><é:f>B1</é:f></é:c>', True),  # a non-ASCII prefix
        ('<font/><formula1>A1&lt;5</formula1><c r="A1"><v>1</v></c>', False),  # other elements
        ('<x:font/><c r="A1" t="s"><v>0</v></c>', False),
        ("<c><is><t>&lt;f&gt; as text</t></is></c>", False),  # escaped: text, not a tag
        ("", False),
    ],
)
def test_known_answers(xml: str, found: bool) -> None:
    assert has_formula(xml.encode("utf-8")) is found


@pytest.mark.parametrize(
    ("cell", "formula"),
    [
        ('<c r="A1" t="b"><f>TRUE()</f><v>1</v></c>', False),  # LibreOffice's boolean constant
        ('<c r="A1" t="b"><x:f>FALSE()</x:f><v>0</v></c>', False),
        ('<c r="A1"><f>B1*2</f><v>4</v></c>', True),
        ('<c r="A1" t="b"><f>TRUE()</f><v>1</v></c><c r="B1"><f t="shared" si="0"/></c>', True),
        ('<c r="A1"><a.b:f>B1</a.b:f><v>4</v></c>', True),  # a prefix the check finds
        ('<c r="A1"><v>4</v></c>', False),
    ],
)
def test_verify_counts_every_formula_but_libreoffice_booleans(cell: str, formula: bool) -> None:
    assert verify_has_formula(f"<sheetData><row>{cell}</row></sheetData>".encode()) is formula
