"""text_values escapes each distinct text once: the same XML as escaping every cell alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from sop_xl.io.xlsx import cells


def _one_by_one(values: list[object]) -> tuple[list[bool], list[str]]:
    """The reference: each cell escaped on its own, as the writer did before."""
    mask, out = [], []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            mask.append(False)
            continue
        esc = cells._escape_texts([v if isinstance(v, str) else str(v)])[0]
        if esc == "":
            mask.append(False)
            continue
        mask.append(True)
        sp = ' xml:space="preserve"' if cells._edge_space(esc) else ""
        out.append(f"<t{sp}>{esc}</t>")
    return mask, out


cell = st.one_of(
    st.none(),
    st.sampled_from(["A", "A", " A", "x&y", "\r", "\x01", "_x0041_", "1"]),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.text(max_size=6),
)


@given(st.lists(cell, max_size=40))
def test_text_values_match_escaping_each_cell(values: list[object]) -> None:
    mask, xml = cells.text_values(pd.Series(values, dtype=object))
    want_mask, want = _one_by_one(values)
    assert mask.tolist() == want_mask
    assert list(xml) == want


def test_one_and_one_point_zero_stay_different_texts() -> None:
    """Equal as numbers, different as text: distinct texts are taken after str()."""
    _, xml = cells.text_values(pd.Series([1, 1.0, True, "1"], dtype=object))
    assert list(xml) == ["<t>1</t>", "<t>1.0</t>", "<t>True</t>", "<t>1</t>"]
