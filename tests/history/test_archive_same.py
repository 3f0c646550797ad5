"""``archive.same_content`` (which lets the history step skip rewriting the ForecastArchive) says
"same" exactly when the content digests of the two frames agree, on random small archives and
random one-cell changes: NaN against NaN, -0.0 against 0.0, text, counts, a column's type."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl.history import archive as arc
from sop_xl.model.book import content_digest

values = st.one_of(st.just(np.nan), st.just(0.0), st.just(-0.0), st.floats(-5, 5, allow_nan=False))


@st.composite
def pairs(draw):
    n = draw(st.integers(1, 6))
    a = pd.DataFrame(
        {
            "cycle": draw(
                st.lists(st.sampled_from(["2026-01", "2026-02"]), min_size=n, max_size=n)
            ),
            "item": draw(st.lists(st.sampled_from(["A", "B", ""]), min_size=n, max_size=n)),
            "lag": np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))),
            "quantity": np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=float),
        }
    ).astype({"cycle": object, "item": object})
    b = a.copy()
    row = draw(st.integers(0, n - 1))
    change = draw(st.sampled_from(["none", "quantity", "item", "lag", "dtype", "row"]))
    if change == "quantity":
        b.loc[row, "quantity"] = draw(values)
    elif change == "item":
        b.loc[row, "item"] = draw(st.sampled_from(["A", "B", ""]))
    elif change == "lag":
        b.loc[row, "lag"] = draw(st.integers(0, 3))
    elif change == "dtype":
        b["lag"] = b["lag"].astype(float)
    elif change == "row":
        b = b.iloc[:-1]
    return a, b


@settings(max_examples=100, deadline=None)
@given(pairs())
def test_same_content_is_the_digest_comparison(pair) -> None:
    a, b = pair
    by_digest = content_digest({"archive": a}, "archive") == content_digest(
        {"archive": b}, "archive"
    )
    assert arc.same_content(a, b) == by_digest


def test_same_content_leaves_other_types_to_the_digest() -> None:
    a = pd.DataFrame({"lag": pd.array([1, None], dtype="Int64")})
    assert arc.same_content(a, a.copy()) is None
    mixed = pd.DataFrame({"item": np.array(["1", 1], dtype=object)})
    assert arc.same_content(mixed, mixed.copy()) is None
