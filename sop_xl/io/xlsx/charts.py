"""Native Excel charts of written sheets: chart parts (the XML openpyxl's chart model writes,
written directly) and the drawing part that anchors them on the sheet.
"""

from __future__ import annotations

from sop_xl.io.xlsx.cells import Layout
from sop_xl.io.xlsx.parts import NS_REL, XML_DECL, escape
from sop_xl.io.xlsx.refs import col_letter, parse_cell, sheet_ref
from sop_xl.model.schema import Dtype
from sop_xl.model.sheets import ChartSpec

# --- charts ---------------------------------------------------------------------------------------
#: DrawingML's main namespace, declared on each element that uses it (as openpyxl writes it).
_A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
_LINE = f'<a:ln {_A}><a:prstDash val="solid"/></a:ln>'
_NO_FILL = f'<a:noFill {_A}/><a:ln {_A}><a:noFill/><a:prstDash val="solid"/></a:ln>'
_SMOOTH = '<smooth val="0"/>'
_OVERLAP = '<overlap val="100"/>'
_AXES = (
    '<catAx><axId val="10"/><scaling><orientation val="minMax"/></scaling><delete val="0"/>'
    '<axPos val="l"/><majorTickMark val="none"/><minorTickMark val="none"/><crossAx val="100"/>'
    '<lblOffset val="100"/></catAx>'
)


def attr(value: str) -> str:
    """An attribute value as openpyxl's serializer writes it, always in double quotes."""
    return escape(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")


def _number(x: float) -> str:
    """A number attribute as openpyxl writes it (``%.16g``: 90000000, 0.5, -1e-07)."""
    return f"{x:.16g}"


def _rich(text: str) -> str:
    stripped = text.strip()  # openpyxl keeps edge spaces of a text that has more than them
    space = ' xml:space="preserve"' if stripped and stripped != text else ""
    return (
        f"<tx><rich><a:bodyPr {_A}/><a:p {_A}><a:pPr><a:defRPr/></a:pPr><a:r><a:t{space}>"
        f"{escape(text)}</a:t></a:r></a:p></rich></tx>"
    )


def chart_xml(spec: ChartSpec, src: Layout) -> str:
    """Chart part XML over ``src``'s table: the chart openpyxl's chart model writes for
    ``spec`` (tests/io/xlsx/test_charts.py proves it byte for byte), written directly because
    importing openpyxl costs a quarter of a second on every click that draws a chart."""
    sheet = sheet_ref(src.out.sheet)
    first, last = src.header_row + 1, src.last_row
    if spec.rows is not None:
        last = min(last, first + max(spec.rows, 1) - 1)

    def rng(c: int, r1: int, r2: int, *, collapse: bool = False) -> str:
        """A column's cells; ``collapse``: one cell as ``$C$5``, not ``$C$5:$C$5`` (openpyxl
        normalises a series' values so)."""
        if collapse and r1 == r2:
            return escape(f"{sheet}!${col_letter(c)}${r1}")
        return escape(f"{sheet}!${col_letter(c)}${r1}:${col_letter(c)}${r2}")

    line = spec.kind == "line"
    xcol = src.col_index(spec.x)[0]
    text_x = src.columns[xcol - src.first_col].dtype in (Dtype.TEXT, Dtype.PERIOD)
    ref = "strRef" if text_x else "numRef"
    cat = f"<cat><{ref}><f>{rng(xcol, first, last)}</f></{ref}></cat>"
    series, hidden = [], []
    for name in spec.series:
        for c in src.col_index(name):
            i = len(series)
            if name in spec.hidden:
                hidden.append(i)
            label = escape(f"{sheet}!${col_letter(c)}${src.header_row}")
            fill = _NO_FILL if name in spec.hidden else _LINE
            marker = f'<marker><symbol val="circle"/><spPr>{_LINE}</spPr></marker>' if line else ""
            series.append(
                f'<ser><idx val="{i}"/><order val="{i}"/><tx><strRef><f>{label}</f></strRef></tx>'
                f"<spPr>{fill}</spPr>{marker}{cat}<val><numRef>"
                f"<f>{rng(c, first, last, collapse=True)}</f></numRef></val>"
                f"{_SMOOTH if line else ''}</ser>"
            )
    axes_ids = '<axId val="10"/><axId val="100"/>'
    if line:
        plot = f'<lineChart><grouping val="standard"/>{"".join(series)}{axes_ids}</lineChart>'
    else:
        stacked = spec.stacked
        plot = (
            f'<barChart><barDir val="{"bar" if spec.kind == "bar" else "col"}"/>'
            f'<grouping val="{"stacked" if stacked else "clustered"}"/>{"".join(series)}'
            f'<gapWidth val="150"/>{_OVERLAP if stacked else ""}{axes_ids}'
            "</barChart>"
        )
    minimum = "" if spec.y_min is None else f'<min val="{_number(spec.y_min)}"/>'
    value_axis = (
        f'<valAx><axId val="100"/><scaling><orientation val="minMax"/>{minimum}</scaling>'
        '<delete val="0"/><axPos val="l"/><majorGridlines/>'
        + (f"<title>{_rich(spec.y_title)}</title>" if spec.y_title else "")
        + (
            f'<numFmt formatCode="{attr(spec.y_format)}" sourceLinked="0"/>'
            if spec.y_format
            else ""
        )
        + '<majorTickMark val="none"/><minorTickMark val="none"/><crossAx val="10"/></valAx>'
    )
    entries = "".join(
        f'<legendEntry><idx val="{i}"/><delete val="1"/></legendEntry>' for i in hidden
    )
    return (
        XML_DECL + '<chartSpace xmlns="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        f"<chart><title>{_rich(spec.title)}</title><plotArea>{plot}{_AXES}{value_axis}</plotArea>"
        f'<legend><legendPos val="b"/>{entries}</legend><plotVisOnly val="1"/>'
        '<dispBlanksAs val="gap"/></chart></chartSpace>'
    )


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
