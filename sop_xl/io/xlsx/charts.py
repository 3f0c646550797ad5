"""Native Excel charts of written sheets: chart parts (built with openpyxl's chart model) and the
drawing part that anchors them on the sheet.
"""

from __future__ import annotations

from sop_xl.io.xlsx.cells import Layout, _sheet_ref, col_letter, parse_cell
from sop_xl.io.xlsx.parts import NS_REL, XML_DECL
from sop_xl.model.schema import Dtype
from sop_xl.model.sheets import ChartSpec


# --- charts ---------------------------------------------------------------------------------------
def chart_xml(spec: ChartSpec, src: Layout) -> str:
    """Chart part XML (via openpyxl's chart model) over ``src``'s table."""
    from openpyxl.chart import BarChart, LineChart, Series
    from openpyxl.chart.data_source import AxDataSource, NumRef, StrRef
    from openpyxl.chart.series import SeriesLabel
    from openpyxl.xml.functions import tostring

    sheet = _sheet_ref(src.out.sheet)
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
                s.smooth = False  # a KPI's month-to-month line, not a curve through it
                s.marker.symbol = "circle"  # a point still shows when a neighbour is missing
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


def drawing_xml(anchors: list[tuple[str, float, float, str]]) -> str:
    """Drawing part with one chart frame per (anchor, width_cm, height_cm, rel id)."""
    parts = []
    for i, (anchor, w, h, rid) in enumerate(anchors, start=1):
        c, r = parse_cell(anchor)
        parts.append(
            f"<xdr:oneCellAnchor><xdr:from><xdr:col>{c - 1}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{r - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
            f'<xdr:ext cx="{round(w * 360000)}" cy="{round(h * 360000)}"/>'
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{i + 1}" '
            f'name="Chart {i}"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>'
            '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic>'
            '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
            '<c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
            f'r:id="{rid}"/></a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/>'
            "</xdr:oneCellAnchor>"
        )
    return (
        XML_DECL + '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/'
        'spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{NS_REL}">' + "".join(parts) + "</xdr:wsDr>"
    )
