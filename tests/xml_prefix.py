"""A test helper: an XML part as some programs write it, every element in a namespace prefix."""

from __future__ import annotations

import re

#: an element's start or end tag not in a prefix yet
_UNPREFIXED = re.compile(rb"<(/?)(?![\w.-]+:)([A-Za-z])")


def prefixed(xml: bytes, pre: str | bytes) -> bytes:
    """``xml`` with its unprefixed elements in prefix ``pre`` (``"a.b"``, ``"é"``), declared
    instead of the default namespace: the same part to every XML reader."""
    p = pre.encode() if isinstance(pre, str) else pre
    xml = _UNPREFIXED.sub(lambda m: b"<" + m.group(1) + p + b":" + m.group(2), xml)
    return xml.replace(b'xmlns="', b"xmlns:" + p + b'="', 1)
