"""sop_xl's own XML escaping (io.xlsx.parts: escape, quoteattr) is exactly the standard
library's xml.sax.saxutils, which it replaces because that module imports urllib, http and ssl
on every click."""

from __future__ import annotations

from xml.sax import saxutils

from hypothesis import given
from hypothesis import strategies as st

from sop_xl.io.xlsx.parts import escape, quoteattr

TEXT = st.text(alphabet=st.sampled_from("ab &<>\"'\n\r\t;#é\u00a0"), max_size=30) | st.text()


@given(TEXT)
def test_escape_and_quoteattr_equal_saxutils(text: str) -> None:
    assert escape(text) == saxutils.escape(text)
    assert quoteattr(text) == saxutils.quoteattr(text)


def test_known_answers() -> None:
    assert quoteattr('a "b" & <c>') == "'a \"b\" &amp; &lt;c&gt;'"
    assert quoteattr('it\'s "x"') == '"it\'s &quot;x&quot;"'
    assert quoteattr("l1\nl2\tx") == '"l1&#10;l2&#9;x"'
