"""Chart parts are written directly (io.xlsx.charts.chart_xml) as exactly the XML openpyxl's chart
model writes for the same chart: byte for byte, for every chart of the demo's cycle and for every
combination of the chart options (kind, stacking, hidden series, axis minimum, title and format
with quotes, ampersands and non-ASCII text, fewer rows)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_xl import cycle
from sop_xl.io import writer
from sop_xl.io.filebook import FileBook
from sop_xl.io.xlsx import charts
from sop_xl.io.xlsx.cells import Layout
from sop_xl.io.xlsx.parts import XML_DECL
from sop_xl.io.xlsx.refs import col_letter, sheet_ref
from sop_xl.model.schema import Dtype
from sop_xl.model.sheets import ChartSpec


def openpyxl_chart_xml(spec: ChartSpec, src: Layout) -> str:
    """The reference: the chart built with openpyxl's chart model (sop_xl before 2026-11-29)."""
    from openpyxl.chart import BarChart, LineChart, Series
    from openpyxl.chart.data_source import AxDataSource, NumRef, StrRef
    from openpyxl.chart.series import SeriesLabel
    from openpyxl.xml.functions import tostring

    sheet = sheet_ref(src.out.sheet)
    first, last = src.header_row + 1, src.last_row
    if spec.rows is not None:
        last = min(last, first + max(spec.rows, 1) - 1)

    def rng(c: int, r1: int, r2: int) -> str:
        return f"{sheet}!${col_letter(c)}${r1}:${col_letter(c)}${r2}"

    chart = LineChart() if spec.kind == "line" else BarChart()
    if spec.kind != "line":
        chart.type = "bar" if spec.kind == "bar" else "col"
    chart.title = spec.title
    if spec.stacked and spec.kind != "line":
        chart.grouping = "stacked"
        chart.overlap = 100
    xcol = src.col_index(spec.x)[0]
    xdtype = src.columns[xcol - src.first_col].dtype
    hidden: list[int] = []
    for name in spec.series:
        for c in src.col_index(name):
            s = Series(rng(c, first, last), title=None)
            if name in spec.hidden:
                s.graphicalProperties.noFill = True
                s.graphicalProperties.line.noFill = True
                hidden.append(len(chart.series))
            s.tx = SeriesLabel(strRef=StrRef(f"{sheet}!${col_letter(c)}${src.header_row}"))
            if xdtype in (Dtype.TEXT, Dtype.PERIOD):
                s.cat = AxDataSource(strRef=StrRef(rng(xcol, first, last)))
            else:
                s.cat = AxDataSource(numRef=NumRef(rng(xcol, first, last)))
            if spec.kind == "line":
                s.smooth = False
                s.marker.symbol = "circle"
            chart.series.append(s)
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    if spec.y_format:
        chart.y_axis.number_format = spec.y_format
    if spec.y_title:
        chart.y_axis.title = spec.y_title
    if spec.y_min is not None:
        chart.y_axis.scaling.min = spec.y_min
    chart.legend.position = "b"
    if hidden:
        from openpyxl.chart.legend import LegendEntry

        chart.legend.legendEntry = [LegendEntry(idx=i, delete=True) for i in hidden]
    return XML_DECL + tostring(chart._write()).decode("utf-8")


@pytest.fixture(scope="module")
def drawn(small_demo: Path, tmp_path_factory) -> list[tuple[ChartSpec, Layout]]:
    """Every (chart, source table layout) the cycle's steps draw on the small demo, each checked
    against the reference as it is written."""
    seen: list[tuple[ChartSpec, Layout]] = []
    real = writer.chart_xml

    def both(spec: ChartSpec, src: Layout) -> str:
        ours = real(spec, src)
        assert ours == openpyxl_chart_xml(spec, src), spec.title
        seen.append((spec, src))
        return ours

    master = tmp_path_factory.mktemp("charts") / small_demo.name
    shutil.copy(small_demo, master)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(writer, "chart_xml", both)
        book = FileBook(master)
        for step in (cycle.supply, cycle.scenarios, cycle.outlook, cycle.history, cycle.scorecard):
            step(book)
    return seen


def test_every_chart_of_the_cycle_is_openpyxls(drawn) -> None:
    kinds = {spec.kind for spec, _ in drawn}
    assert len(drawn) >= 8 and {"line", "column"} <= kinds
    assert any(spec.stacked and spec.hidden and spec.y_min is not None for spec, _ in drawn)


TEXT = st.text(alphabet=st.sampled_from("Ab 1&<>\"'%#,.€é"), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    st.data(),
    st.sampled_from(["line", "bar", "column"]),
    st.booleans(),
    TEXT,
    st.none() | TEXT,
    st.none() | st.sampled_from(["0%", "#,##0", '"€"#,##0.0', "0.0 &quot;h&quot;"]),
    st.none() | st.floats(-1e9, 1e9, allow_nan=False) | st.integers(-(10**9), 10**9),
    st.none() | st.integers(0, 30),
)
def test_every_option_is_written_as_openpyxl_writes_it(
    drawn, data, kind, stacked, title, y_title, y_format, y_min, rows
) -> None:
    spec, src = data.draw(st.sampled_from(drawn))
    hidden = tuple(data.draw(st.lists(st.sampled_from(spec.series), max_size=2, unique=True)))
    spec = dataclasses.replace(
        spec, kind=kind, stacked=stacked, title=title, y_title=y_title, y_format=y_format,
        y_min=y_min, rows=rows, hidden=hidden,
    )  # fmt: skip
    assert charts.chart_xml(spec, src) == openpyxl_chart_xml(spec, src)
