"""sop_xl.io.writer: output sheets written into the workbook zip, everything else kept byte for
byte.

Checks use independent readers: openpyxl (values, formats, tables, CF, charts), python-calamine
(values) and LibreOffice headless (opens, converts, does not evaluate text as formulas).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xml_prefix
from conftest import convert
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table as XlTable
from python_calamine import CalamineWorkbook

from sop_xl.errors import SopError
from sop_xl.io import writer
from sop_xl.io.writer import write_sheets
from sop_xl.io.xlsx import cells, styles
from sop_xl.io.xlsx.parts import NS_MAIN, Package, sheet_parts
from sop_xl.io.xlsx.tables import table_problems
from sop_xl.model import schema
from sop_xl.model.schema import Dtype, Table, col
from sop_xl.model.sheets import CellRule, ChartSpec, DataBar, FormulaRule, IconRule, SheetOutput

UI_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
VBA_BYTES = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8  # an opaque OLE-like blob
CUSTOM_UI = (
    '<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui"><ribbon><tabs>'
    '<tab id="sop" label="S&amp;OP"><group id="g" label="Cycle"><button id="b" label="Run" '
    'tag="validate" onAction="SopDispatch"/></group></tab></tabs></ribbon></customUI>'
)
FORMULA_TEXT = '=HYPERLINK("http://example.com","click")'

OUT = Table(
    name="tblWriterTest",
    sheet="Report",
    title="Writer test",
    group="Outputs",
    doc="test",
    columns=(
        col("name", "Name"),
        col("qty", "Quantity", Dtype.QTY),
        col("amount", "Amount", Dtype.MONEY),
        col("share", "Share", Dtype.PCT),
        col("day", "Day", Dtype.DATE),
        col("count", "Count", Dtype.INT),
        col("period", "Period", Dtype.PERIOD),
    ),
    output=True,
)


# --- fixtures -------------------------------------------------------------------------------------
def _zip_edit(path: Path, changes: dict[str, bytes]) -> None:
    """Rewrite ``path`` with some parts replaced/added (plain zip editing)."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    parts.update(changes)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def make_master(path: Path, with_macros: bool = True) -> Path:
    """A small master workbook: a decorated input table (title row, validation, widths, CF),
    another sheet with a formula and a defined name, an old output sheet; as .xlsm with a
    vbaProject.bin and a ribbon (customUI14 + its relationship in _rels/.rels)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Items"
    ws["A1"] = "Item master - keep this title"
    ws.append([])
    ws.append(schema.ITEMS.headers)
    for i in range(5):
        ws.append([f"IT{i}", f"desc {i}", "FAM", "FG", 1.0 + i, 2.0 + i, 7])
    ws.add_table(XlTable(displayName="tblItems", ref="A3:G8"))
    dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0")
    dv.add("E4:E8")
    ws.add_data_validation(dv)
    dv2 = DataValidation(type="list", formula1='"FAM,OTHER"')
    dv2.add("C4:C8")
    ws.add_data_validation(dv2)
    ws.conditional_formatting.add(
        "F4:F8", CellIsRule(operator="lessThan", formula=["0"], fill=PatternFill(bgColor="FFC7CE"))
    )
    ws.column_dimensions["B"].width = 33
    ws.freeze_panes = "A4"
    ws["J2"] = "note beside the table"
    other = wb.create_sheet("Other")
    other["A1"], other["A2"], other["A3"] = 2, 3, "=A1*A2"
    wb.create_sheet("Report")["A1"] = "old report content"
    wb["Report"]["C9"] = "old cell"
    wb["Report"]["C9"].comment = Comment("a note on the old output", "someone")
    wb.defined_names["TheRate"] = openpyxl.workbook.defined_name.DefinedName(
        "TheRate", attr_text="Other!$A$1"
    )
    wb.save(path)
    if with_macros:
        with zipfile.ZipFile(path) as z:
            ct = z.read("[Content_Types].xml").decode()
            rels = z.read("_rels/.rels").decode()
            wb_rels = z.read("xl/_rels/workbook.xml.rels").decode()
        ct = ct.replace(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        ).replace(
            "</Types>",
            '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
        )
        rels = rels.replace(
            "</Relationships>",
            f'<Relationship Id="rIdUI" Type="{UI_REL}" Target="customUI/customUI14.xml"/>'
            "</Relationships>",
        )
        wb_rels = wb_rels.replace(
            "</Relationships>",
            '<Relationship Id="rIdVBA" Type="http://schemas.microsoft.com/office/2006/'
            'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>',
        )
        _zip_edit(
            path,
            {
                "[Content_Types].xml": ct.encode(),
                "_rels/.rels": rels.encode(),
                "xl/_rels/workbook.xml.rels": wb_rels.encode(),
                "xl/vbaProject.bin": VBA_BYTES,
                "customUI/customUI14.xml": CUSTOM_UI.encode(),
            },
        )
    return path


@pytest.fixture
def master(tmp_path: Path) -> Path:
    return make_master(tmp_path / "master.xlsm")


def report_df(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": [FORMULA_TEXT, "a & b <c>", "  padded ", None][:n] + ["x"] * max(0, n - 4),
            "qty": [1.0, -2.0, np.nan, 1234567.0][:n] + [1.0] * max(0, n - 4),
            "amount": [10.5, -3.25, 0.1, np.inf][:n] + [0.0] * max(0, n - 4),
            "share": [0.5, 0.125, None, 1.0][:n] + [0.0] * max(0, n - 4),
            "day": pd.to_datetime(["2026-01-31", None, "2026-11-05", "1999-12-31"][:n])
            .append(pd.DatetimeIndex(["2026-01-01"] * max(0, n - 4)))
            .to_series()
            .reset_index(drop=True),
            "count": pd.array([1, None, 3, 4][:n] + [0] * max(0, n - 4), dtype="Int64"),
            "period": [f"2026-0{i % 9 + 1}" for i in range(n)],
        }
    )


def report_output(df: pd.DataFrame | None = None, **kw) -> SheetOutput:
    return SheetOutput(
        OUT,
        report_df() if df is None else df,
        title=["Writer report", "generated by a test"],
        conditional_formats=[
            CellRule("qty", "lessThan", ("0",), fill="FFC7CE", font="9C0006"),
            FormulaRule("amount", "{amount}>{qty}", fill="C6EFCE", bold=True),
            IconRule("count", thresholds=(0, 2, 3)),
            DataBar("share"),
        ],
        **kw,
    )


def forecast_long() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": ["S", "N", "N", "S", "N"],
            "item": ["B", "A", "A", "B", "C"],
            "location": "L1",
            "source": "master",
            "version": "v1",
            "period": ["2026-12", "2026-12", "2026-11", "2026-11", "2027-01"],
            "quantity": [4.0, 2.0, 1.0, 3.0, 5.0],
        }
    )


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- preservation ---------------------------------------------------------------------------------
def test_untouched_parts_are_byte_for_byte_identical(master: Path, tmp_path: Path) -> None:
    before = parts(master)
    items = pd.DataFrame(
        {
            "item": [f"N{i}" for i in range(9)],
            "description": "d",
            "family": "FAM",
            "gen_prod_posting_group": "FG",
            "unit_cost": 1.0,
            "unit_price": 2.0,
            "lead_time_days": 3,
        }
    )
    outs = [
        report_output(charts=[ChartSpec("line", "Plan", "Forecast", "item", ("quantity",), "J3")]),
        SheetOutput(schema.FORECAST, forecast_long()),
        SheetOutput(schema.ITEMS, items),
    ]
    write_sheets(master, outs)
    after = parts(master)
    with Package(master) as pkg:
        sheet_parts = {}
        wb = pkg.text("xl/workbook.xml")
        for r in pkg.rels("xl/workbook.xml"):
            sheet_parts[r.id] = r.part
    owned_prefixes = ("xl/tables/", "xl/drawings/", "xl/charts/", "xl/comments")
    written = {"Items": "xl/worksheets/sheet1.xml", "Report": "xl/worksheets/sheet3.xml"}
    allowed = {
        "xl/styles.xml",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml",
        *written.values(),
        *(f"xl/worksheets/_rels/{Path(p).name}.rels" for p in written.values()),
    }
    untouched = [n for n in before if n not in allowed and not n.startswith(owned_prefixes)]
    assert "xl/vbaProject.bin" in untouched and "customUI/customUI14.xml" in untouched
    assert "_rels/.rels" in untouched and "xl/worksheets/sheet2.xml" in untouched
    for name in untouched:
        assert after[name] == before[name], name
    # the one new sheet went in with its own parts; the ribbon relationship is still there
    assert 'name="Forecast"' in wb
    assert UI_REL in after["_rels/.rels"].decode()
    assert after["xl/vbaProject.bin"] == VBA_BYTES
    # styles: existing entries keep their positions (appended only)
    old_styles, new_styles = before["xl/styles.xml"].decode(), after["xl/styles.xml"].decode()
    for sec in ("cellXfs", "fonts", "fills"):
        old_inner = old_styles.split(f"<{sec}")[1].split(">", 1)[1].split(f"</{sec}>")[0]
        new_inner = new_styles.split(f"<{sec}")[1].split(">", 1)[1].split(f"</{sec}>")[0]
        assert new_inner.startswith(old_inner)
    wbo = openpyxl.load_workbook(master, keep_vba=True)
    assert wbo.sheetnames == ["Items", "Other", "Report", "Forecast"]
    assert wbo["Other"]["A3"].value == "=A1*A2"
    assert "TheRate" in wbo.defined_names


def test_untouched_parts_are_copied_compressed_not_recompressed(master: Path, tmp_path: Path):
    dst = tmp_path / "copy.xlsm"
    write_sheets(master, [report_output()], dst)
    with zipfile.ZipFile(master) as a, zipfile.ZipFile(dst) as b:
        for name in ("xl/vbaProject.bin", "customUI/customUI14.xml", "xl/worksheets/sheet2.xml"):
            ia, ib = a.getinfo(name), b.getinfo(name)
            assert (ia.CRC, ia.compress_size, ia.compress_type) == (
                ib.CRC,
                ib.compress_size,
                ib.compress_type,
            )
        assert b.testzip() is None


# --- rendering ------------------------------------------------------------------------------------
def test_output_sheet_values_formats_table_cf_chart(master: Path) -> None:
    out = report_output(
        charts=[ChartSpec("column", "Qty by name", "Report", "period", ("qty", "amount"), "K2")],
        tab_color="1F4E78",
        column_widths={"name": 40},
    )
    write_sheets(master, [out])
    wb = openpyxl.load_workbook(master)
    ws = wb["Report"]
    assert ws["A1"].value == "Writer report" and ws["A1"].font.b and ws["A1"].font.sz == 14
    assert ws["A2"].value == "generated by a test"
    assert ws["C9"].value is None and ws["C9"].comment is None  # the old sheet was regenerated
    assert not [n for n in parts(master) if "comment" in n.lower()]
    assert [c.value for c in ws[4]] == [c.header for c in OUT.columns]
    assert ws["A4"].font.b and ws["A4"].fill.fgColor.rgb == "FF1F4E78"
    assert ws.tables["tblWriterTest"].ref == "A4:G8"
    assert ws.tables["tblWriterTest"].tableStyleInfo.name == "TableStyleMedium2"
    assert [c.name for c in ws.tables["tblWriterTest"].tableColumns] == OUT.headers
    row5 = [c.value for c in ws[5]]
    assert row5[:4] == [FORMULA_TEXT, 1, 10.5, 0.5]
    assert row5[4] == dt.datetime(2026, 1, 31) and row5[5:] == [1, "2026-01"]
    assert ws["A5"].data_type == "s"  # text, not a formula
    assert ws["A6"].value == "a & b <c>" and ws["A7"].value == "  padded "
    assert ws["A8"].value is None and ws["C8"].value is None  # None and inf -> empty
    assert ws["B6"].value == -2 and ws["B7"].value is None
    for cell, dtype in zip(ws[5], [c.dtype for c in OUT.columns], strict=True):
        assert cell.number_format == schema.NUMBER_FORMATS[dtype], cell.coordinate
    assert ws.freeze_panes == "A5"
    assert ws.column_dimensions["A"].width == 40
    assert ws.sheet_properties.tabColor.rgb == "FF1F4E78"
    rules = {str(cf.sqref): [r.type for r in cf.rules] for cf in ws.conditional_formatting}
    assert rules == {
        "B5:B8": ["cellIs"],
        "C5:C8": ["expression"],
        "F5:F8": ["iconSet"],
        "D5:D8": ["dataBar"],
    }
    expr = next(r for cf in ws.conditional_formatting for r in cf.rules if r.type == "expression")
    assert expr.formula == ["$C5>$B5"]
    assert expr.dxf.font.b and expr.dxf.fill.bgColor.rgb == "FFC6EFCE"
    icon = next(r for cf in ws.conditional_formatting for r in cf.rules if r.type == "iconSet")
    assert [(v.type, float(v.val)) for v in icon.iconSet.cfvo] == [
        ("num", 0),
        ("num", 2),
        ("num", 3),
    ]
    assert len(ws._charts) == 1
    chart = ws._charts[0]
    assert [s.val.numRef.f for s in chart.series] == ["'Report'!$B$5:$B$8", "'Report'!$C$5:$C$8"]
    assert chart.series[0].tx.strRef.f == "'Report'!$B$4"


def test_calamine_reads_the_values(master: Path) -> None:
    write_sheets(master, [report_output()])
    rows = CalamineWorkbook.from_path(master).get_sheet_by_name("Report").to_python()
    assert rows[3] == OUT.headers
    assert rows[4][:4] == [FORMULA_TEXT, 1.0, 10.5, 0.5]
    assert rows[4][4] == dt.date(2026, 1, 31)
    assert rows[5][0] == "a & b <c>"
    assert rows[7][0] == "" and rows[7][2] == ""
    assert rows[7][4] == dt.date(1999, 12, 31)


def test_empty_frame_gets_header_and_one_empty_body_row(master: Path) -> None:
    write_sheets(master, [report_output(report_df(0))])
    ws = openpyxl.load_workbook(master)["Report"]
    assert ws.tables["tblWriterTest"].ref == "A4:G5"
    assert all(c.value is None for c in ws[5])


def test_wide_table_is_pivoted_periods_across(master: Path) -> None:
    write_sheets(master, [SheetOutput(schema.FORECAST, forecast_long())])
    rows = CalamineWorkbook.from_path(master).get_sheet_by_name("Forecast").to_python()
    assert rows[0] == [*schema.FORECAST.headers, "2026-11", "2026-12", "2027-01"]
    assert rows[1:] == [
        ["N", "A", "L1", "master", "v1", 1.0, 2.0, ""],
        ["N", "C", "L1", "master", "v1", "", "", 5.0],
        ["S", "B", "L1", "master", "v1", 3.0, 4.0, ""],
    ]
    ws = openpyxl.load_workbook(master)["Forecast"]
    assert ws.tables["tblForecast"].ref == "A1:H4"
    assert ws["F1"].data_type == "s"  # '2026-11' stays text, not a date
    assert ws["F2"].number_format == schema.NUMBER_FORMATS[Dtype.QTY]


def test_wide_duplicates_are_an_error_naming_workbook_and_sheet(master: Path) -> None:
    before = digest(master)
    df = pd.concat([forecast_long(), forecast_long().iloc[:1]])
    with pytest.raises(SopError) as err:
        write_sheets(master, [SheetOutput(schema.FORECAST, df)])
    assert "master.xlsm" in str(err.value) and "'Forecast'" in str(err.value)
    assert digest(master) == before


def test_missing_column_error_names_sheet(master: Path) -> None:
    with pytest.raises(SopError, match=r"master\.xlsm.*'Report'.*lacks column\(s\) qty"):
        write_sheets(master, [report_output(report_df().drop(columns="qty"))])


# --- input tables ---------------------------------------------------------------------------------
def _items(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": [f"N{i}" for i in range(n)],
            "description": [f"new {i}" for i in range(n)],
            "family": "OTHER",
            "gen_prod_posting_group": "FG",
            "unit_cost": np.arange(n) + 0.5,
            "unit_price": 9.0,
            "lead_time_days": 4,
        }
    )


@pytest.mark.parametrize("n", [12, 2])
def test_input_table_rewrite_keeps_decoration_and_resizes(master: Path, n: int) -> None:
    write_sheets(master, [SheetOutput(schema.ITEMS, _items(n))])
    wb = openpyxl.load_workbook(master)
    ws = wb["Items"]
    last = 3 + n
    assert ws["A1"].value == "Item master - keep this title"
    assert ws["J2"].value == "note beside the table"
    assert ws.tables["tblItems"].ref == f"A3:G{last}"
    assert ws.tables["tblItems"].autoFilter.ref == f"A3:G{last}"
    assert [c.value for c in ws[3]][:7] == schema.ITEMS.headers
    assert [c.value for c in ws[4]][:7] == ["N0", "new 0", "OTHER", "FG", 0.5, 9, 4]
    assert ws[f"A{last}"].value == f"N{n - 1}" and ws[f"A{last + 1}"].value is None
    sq = sorted(str(d.sqref) for d in ws.data_validations.dataValidation)
    assert sq == [f"C4:C{last}", f"E4:E{last}"]
    assert [str(cf.sqref) for cf in ws.conditional_formatting] == [f"F4:F{last}"]
    assert ws.column_dimensions["B"].width == 33
    assert ws.freeze_panes == "A4"
    sheet_xml = parts(master)["xl/worksheets/sheet1.xml"].decode()
    assert f'<dimension ref="A1:J{last}"/>' in sheet_xml


def test_input_table_growth_would_overwrite_content_below(master: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(master, keep_vba=True)
    wb["Items"]["B12"] = "footnote"
    path = tmp_path / "foot.xlsm"
    wb.save(path)
    before = digest(path)
    with pytest.raises(SopError, match=r"would overwrite cell B12 next to it"):
        write_sheets(path, [SheetOutput(schema.ITEMS, _items(20))])
    assert digest(path) == before


def test_repeated_writes_do_not_grow_styles(master: Path) -> None:
    write_sheets(master, [report_output(), SheetOutput(schema.ITEMS, _items(3))])
    first = parts(master)
    write_sheets(master, [report_output(), SheetOutput(schema.ITEMS, _items(3))])
    second = parts(master)
    assert second["xl/styles.xml"] == first["xl/styles.xml"]
    assert second["xl/worksheets/sheet1.xml"] == first["xl/worksheets/sheet1.xml"]
    assert sorted(second) == sorted(first)


# --- safety ---------------------------------------------------------------------------------------
def test_failure_while_saving_leaves_original_and_no_temp(master: Path, monkeypatch) -> None:
    before = digest(master)
    original_save = Package.save

    def broken(self, fp, level=6):
        original_save(self, fp, level)  # a full temp file exists, then the disk "fails"
        raise OSError("disk full (injected)")

    monkeypatch.setattr(Package, "save", broken)
    with pytest.raises(OSError, match="injected"):
        write_sheets(master, [report_output()])
    assert digest(master) == before
    assert sorted(p.name for p in master.parent.iterdir()) == ["master.xlsm"]


def test_failure_in_a_later_sheet_writes_nothing(master: Path, monkeypatch) -> None:
    before = digest(master)
    calls = []
    real = writer.body_rows

    def flaky(lay, styles, *rest):
        calls.append(lay.out.sheet)
        if lay.out.sheet == "Forecast":
            raise RuntimeError("boom (injected)")
        return real(lay, styles)

    monkeypatch.setattr(writer, "body_rows", flaky)
    with pytest.raises(SopError, match=r"master\.xlsm.*'Forecast'.*boom"):
        write_sheets(master, [report_output(), SheetOutput(schema.FORECAST, forecast_long())])
    assert calls == ["Report", "Forecast"]
    assert digest(master) == before
    assert sorted(p.name for p in master.parent.iterdir()) == ["master.xlsm"]


def test_dst_differs_src_untouched_and_mode_kept(master: Path, tmp_path: Path) -> None:
    os.chmod(master, 0o640)
    before = digest(master)
    dst = tmp_path / "out.xlsm"
    write_sheets(master, [report_output()], dst)
    assert digest(master) == before
    assert openpyxl.load_workbook(dst)["Report"]["A5"].value == FORMULA_TEXT
    write_sheets(master, [report_output()])
    assert oct(master.stat().st_mode & 0o777) == "0o640"


# --- round trip -----------------------------------------------------------------------------------
RT = Table(
    name="tblRoundTrip",
    sheet="RoundTrip",
    title="rt",
    group="Outputs",
    doc="rt",
    columns=(
        col("text", "Text"),
        col("qty", "Qty", Dtype.QTY),
        col("money", "Money", Dtype.MONEY),
        col("day", "Day", Dtype.DATE),
    ),
    output=True,
)
_text = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(["_x0041_", "a\r\nb", " =SUM(A1:A2)", "@cmd", "_x005F_x0041_", "\t tab"]),
)
_rows = st.lists(
    st.tuples(
        st.one_of(st.none(), _text),
        st.one_of(st.none(), st.floats(-1e12, 1e12, allow_nan=False)),
        st.one_of(st.none(), st.floats(-1e9, 1e9, allow_nan=False).map(lambda x: round(x, 2))),
        st.one_of(st.none(), st.dates(dt.date(1900, 3, 1), dt.date(2100, 12, 31))),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_rows)
def test_round_trip_through_calamine(tmp_path: Path, rows: list[tuple]) -> None:
    path = tmp_path / "rt.xlsx"
    if not path.exists():
        make_master(path, with_macros=False)
    df = pd.DataFrame(rows, columns=RT.names)
    df["day"] = pd.to_datetime(df["day"])
    write_sheets(path, [SheetOutput(RT, df)])
    got = CalamineWorkbook.from_path(path).get_sheet_by_name("RoundTrip").to_python()
    assert got[0] == RT.headers
    body = got[1 : 1 + len(rows)]
    body += [[""] * 4] * (len(rows) - len(body))  # calamine drops trailing empty rows
    illegal = cells._ILLEGAL_XML
    for (text, qty, money, day), row in zip(rows, body, strict=True):
        exp_text = "" if text is None else pd.Series([text]).str.replace(illegal, "", regex=True)[0]
        if exp_text and not exp_text.strip("\r"):
            assert row[0] in ("", exp_text)  # calamine reads a cell of only CRs as empty
        else:
            assert row[0] == exp_text
        assert row[1] == ("" if qty is None else pytest.approx(qty, rel=1e-15, abs=0))
        assert row[2] == ("" if money is None else money)
        assert row[3] == ("" if day is None else day)


@pytest.mark.parametrize("text", ["0\r", "\rx", "a\r\n", " lead", "trail\t", "a \x01"])
def test_edge_whitespace_is_preserved(tmp_path: Path, text: str) -> None:
    """Regression (issue 19): a text ending in CR escapes to '...&#13;'; the whitespace test ran on
    the escaped text, so xml:space="preserve" was missing and readers dropped the CR. 'a \x01'
    loses its illegal control character, so its escaped text ends in a space and needs it too."""
    mask, vals = cells.text_values(pd.Series([text, "plain"]))
    assert mask.tolist() == [True, True]
    assert vals[0].startswith('<t xml:space="preserve">')
    assert vals[1] == "<t>plain</t>"
    assert 'xml:space="preserve"' in cells._text_cell("A1", text, 0)
    path = make_master(tmp_path / "edge.xlsx", with_macros=False)
    df = pd.DataFrame({"text": [text], "qty": [1.0], "money": [2.0], "day": [pd.NaT]})
    write_sheets(path, [SheetOutput(RT, df)])
    got = CalamineWorkbook.from_path(path).get_sheet_by_name("RoundTrip").to_python()
    assert got[1][0] == text.replace("\x01", "")


# --- LibreOffice ----------------------------------------------------------------------------------
@pytest.mark.libreoffice
def test_libreoffice_opens_converts_and_keeps_formula_text(
    master: Path, tmp_path: Path, soffice: str
) -> None:
    outs = [
        report_output(charts=[ChartSpec("line", "Plan", "Forecast", "item", ("quantity",), "J3")]),
        SheetOutput(schema.FORECAST, forecast_long()),
        SheetOutput(schema.ITEMS, _items(7)),
    ]
    xlsx = tmp_path / "written.xlsx"
    write_sheets(master, outs, xlsx)
    pdf = convert(soffice, xlsx, "pdf", tmp_path / "pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000
    back = convert(soffice, xlsx, "xlsx", tmp_path / "lo")
    wb = openpyxl.load_workbook(back)
    cell = wb["Report"]["A5"]
    assert cell.value == FORMULA_TEXT and cell.data_type == "s"  # not evaluated, not a formula
    assert wb["Report"]["C5"].value == 10.5
    assert wb["Forecast"]["F2"].value == 1
    assert wb["Items"]["A10"].value == "N6" and wb["Items"]["A1"].value.startswith("Item master")


# --- more input-sheet and package cases -----------------------------------------------------------
def test_notes_beside_the_table_rows_are_kept(master: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(master, keep_vba=True)
    wb["Items"]["J5"] = "beside row 5"
    wb["Items"]["J8"] = "beside the old last row"
    path = tmp_path / "beside.xlsm"
    wb.save(path)
    write_sheets(path, [SheetOutput(schema.ITEMS, _items(2))])
    ws = openpyxl.load_workbook(path)["Items"]
    assert ws["J5"].value == "beside row 5" and ws["A5"].value == "N1"
    assert ws["J8"].value == "beside the old last row" and ws["A8"].value is None
    assert ws.tables["tblItems"].ref == "A3:G5"


def test_standard_template_input_tables(tmp_path: Path) -> None:
    """The real template (openpyxl-built: column styles, 100,000-row validations, list names)."""
    from sop_xl.io.template import build_template

    path = tmp_path / "SOP_Planning.xlsx"
    build_template(path)
    before = parts(path)
    before_names = set(openpyxl.load_workbook(path).defined_names)
    assert before_names  # the template's list names (lst_Items_item, ...)
    fc = forecast_long()
    write_sheets(path, [SheetOutput(schema.ITEMS, _items(40)), SheetOutput(schema.FORECAST, fc)])
    wb = openpyxl.load_workbook(path)
    items = wb["Items"]
    assert items.tables["tblItems"].ref == "A1:G41"
    dv = sorted(str(d.sqref) for d in items.data_validations.dataValidation)
    assert dv == ["E2:E100001", "F2:F100001", "G2:G100001"]  # beyond the body: unchanged
    assert items["E2"].number_format == schema.NUMBER_FORMATS[Dtype.MONEY]
    forecast = wb["Forecast"]
    assert forecast.tables["tblForecast"].ref == "A1:H4"
    assert [c.name for c in forecast.tables["tblForecast"].tableColumns][5:] == [
        "2026-11",
        "2026-12",
        "2027-01",
    ]
    assert set(wb.defined_names) == set(
        openpyxl.load_workbook(tmp_path / "SOP_Planning.xlsx").defined_names
    )
    after = parts(path)
    assert after["xl/workbook.xml"] == before["xl/workbook.xml"]  # no sheet was added
    rows = CalamineWorkbook.from_path(path).get_sheet_by_name("Items").to_python()
    assert rows[40][:2] == ["N39", "new 39"]


FORMULA_ROW = '<row r="12"><c r="B12"><f>1+1</f><v>2</v></c></row></sheetData>'


def test_stale_calc_chain_is_dropped_when_a_formula_sheet_is_rewritten(master: Path) -> None:
    calc = (
        '<?xml version="1.0" encoding="UTF-8"?><calcChain xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><c r="B2" i="3"/></calcChain>'
    )
    with zipfile.ZipFile(master) as z:
        ct = z.read("[Content_Types].xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        sheet3 = z.read("xl/worksheets/sheet3.xml").decode()
    _zip_edit(
        master,
        {
            "xl/calcChain.xml": calc.encode(),
            "[Content_Types].xml": ct.replace(
                "</Types>",
                '<Override PartName="/xl/calcChain.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>',
            ).encode(),
            "xl/_rels/workbook.xml.rels": rels.replace(
                "</Relationships>",
                '<Relationship Id="rIdCC" Type="http://schemas.openxmlformats.org/officeDocument/'
                '2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>',
            ).encode(),
            "xl/worksheets/sheet3.xml": sheet3.replace("</sheetData>", FORMULA_ROW).encode(),
        },
    )
    write_sheets(master, [report_output()])
    after = parts(master)
    assert "xl/calcChain.xml" not in after
    assert b"calcChain" not in after["[Content_Types].xml"]
    assert b"calcChain" not in after["xl/_rels/workbook.xml.rels"]
    assert openpyxl.load_workbook(master)["Report"]["A5"].value == FORMULA_TEXT


def test_boolean_column_and_charts_on_input_sheet(master: Path) -> None:
    flags = Table(
        name="tblFlags",
        sheet="Flags",
        title="f",
        group="Outputs",
        doc="f",
        columns=(col("key", "Key"), col("ok", "OK")),
        output=True,
    )
    df = pd.DataFrame(
        {"key": ["a", "b", "c"], "ok": pd.array([True, False, None], dtype="boolean")}
    )
    write_sheets(master, [SheetOutput(flags, df)])
    ws = openpyxl.load_workbook(master)["Flags"]
    assert [ws["B2"].value, ws["B3"].value, ws["B4"].value] == [True, False, None]
    chart = ChartSpec("line", "x", "Items", "item", ("unit_cost",), "J2")
    with pytest.raises(SopError, match="charts cannot be added to input sheet 'Items'"):
        write_sheets(master, [SheetOutput(schema.ITEMS, _items(3), charts=[chart])])
    with pytest.raises(SopError, match="reads sheet 'Nowhere'"):
        bad = ChartSpec("bar", "x", "Nowhere", "name", ("qty",), "J2")
        write_sheets(master, [report_output(charts=[bad])])


# --- styles and zip details -----------------------------------------------------------------------
def test_styles_append_only_dedupe_and_missing_sections() -> None:
    xml = (
        '<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<x:fonts count="1"><x:font><x:sz val="11"/></x:font></x:fonts>'
        '<x:fills count="2"><x:fill><x:patternFill patternType="none"/></x:fill>'
        '<x:fill><x:patternFill patternType="gray125"/></x:fill></x:fills>'
        '<x:borders count="1"><x:border/></x:borders>'
        '<x:cellXfs count="1"><x:xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></x:cellXfs>'
        '<x:tableStyles count="0"/></x:styleSheet>'
    )
    st_ = styles.Styles(xml)
    money = st_.cell_style(schema.NUMBER_FORMATS[Dtype.MONEY])
    header = st_.cell_style(None, styles.HEADER_FONT, styles.HEADER_FILL)
    assert (money, header) == (1, 2)
    assert st_.cell_style(schema.NUMBER_FORMATS[Dtype.MONEY]) == money  # reused
    assert st_.numfmt("#,##0") == 3 and st_.numfmt("@") == 49  # built-in format ids
    assert st_.dxf(styles._dxf("FFC7CE", "9C0006", True)) == 0
    out = st_.render()
    again = styles.Styles(out)  # a second write finds everything it needs already there
    assert again.cell_style(schema.NUMBER_FORMATS[Dtype.MONEY]) == money
    assert again.dxf(styles._dxf("FFC7CE", "9C0006", True)) == 0 and not again.changed
    assert '<x:cellXfs count="3">' in out and '<x:fonts count="2">' in out
    assert out.index("<x:numFmts") < out.index("<x:fonts")  # sections in schema order
    assert out.index("<x:dxfs") < out.index("<x:tableStyles")
    assert '<x:numFmt numFmtId="164" formatCode="#,##0.00;[Red](#,##0.00)"/>' in out
    assert out.startswith(xml[: xml.index("<x:fonts")])


def test_package_copies_entries_written_with_data_descriptors(tmp_path: Path) -> None:
    class Stream:  # a non-seekable sink makes zipfile write data descriptors (flag bit 3)
        def __init__(self, f):
            self.f = f

        def write(self, b):
            return self.f.write(b)

        def flush(self):
            self.f.flush()

    src = tmp_path / "dd.zip"
    with open(src, "wb") as f, zipfile.ZipFile(Stream(f), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.xml", b"<a>" + b"x" * 5000 + b"</a>")
        z.writestr("b.bin", VBA_BYTES)
    with zipfile.ZipFile(src) as z:
        assert all(i.flag_bits & 0x08 for i in z.infolist())
    dst = tmp_path / "out.zip"
    with Package(src) as pkg, open(dst, "wb") as f:
        pkg.write("c.xml", "<c/>")
        pkg.save(f)
    with zipfile.ZipFile(dst) as z:
        assert z.testzip() is None
        assert z.read("a.xml") == b"<a>" + b"x" * 5000 + b"</a>" and z.read("b.bin") == VBA_BYTES
        assert [i.filename for i in z.infolist()] == ["a.xml", "b.bin", "c.xml"]


def _forecast_input(path: Path, note_cell: str) -> Path:
    """An input Forecast grid with two months (A1:G3) and a note at ``note_cell``."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Forecast"
    ws.append([*schema.FORECAST.headers, "2026-11", "2026-12"])
    ws.append(["N", "A", "L1", "m", "v1", 1, 2])
    ws.append(["S", "B", "L1", "m", "v1", 3, 4])
    ws.add_table(XlTable(displayName="tblForecast", ref="A1:G3"))
    ws[note_cell] = "planner note"
    wb.save(path)
    return path


def test_wider_input_grid_keeps_notes_beyond_and_refuses_to_cover_them(tmp_path: Path) -> None:
    ok = _forecast_input(tmp_path / "ok.xlsx", "K3")
    write_sheets(ok, [SheetOutput(schema.FORECAST, forecast_long())])  # 3 months: A1:H4
    ws = openpyxl.load_workbook(ok)["Forecast"]
    assert ws.tables["tblForecast"].ref == "A1:H4" and ws["K3"].value == "planner note"
    assert [ws["H1"].value, ws["H3"].value] == ["2027-01", 5]
    blocked = _forecast_input(tmp_path / "blocked.xlsx", "H2")
    before = digest(blocked)
    with pytest.raises(SopError, match=r"spans A1:H4 and would overwrite cell H2"):
        write_sheets(blocked, [SheetOutput(schema.FORECAST, forecast_long())])
    assert digest(blocked) == before


def test_same_input_gives_the_same_bytes(master: Path, tmp_path: Path) -> None:
    outs = [report_output(), SheetOutput(schema.FORECAST, forecast_long())]
    write_sheets(master, outs, tmp_path / "one.xlsm")
    write_sheets(master, outs, tmp_path / "two.xlsm")
    assert digest(tmp_path / "one.xlsm") == digest(tmp_path / "two.xlsm")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sizes=st.lists(st.integers(0, 30), min_size=1, max_size=4))
def test_input_table_follows_any_sequence_of_sizes(tmp_path: Path, sizes: list[int]) -> None:
    """Invariant: after each rewrite the table, its validations and highlights cover exactly
    the body (at least one row), the rows hold the new data, and the title and notes stay."""
    path = tmp_path / "seq.xlsx"
    make_master(path, with_macros=False)
    for n in sizes:
        write_sheets(path, [SheetOutput(schema.ITEMS, _items(n))])
        last = 3 + max(n, 1)
        ws = openpyxl.load_workbook(path)["Items"]
        assert ws.tables["tblItems"].ref == f"A3:G{last}"
        assert sorted(str(d.sqref) for d in ws.data_validations.dataValidation) == [
            f"C4:C{last}" if last > 4 else "C4",
            f"E4:E{last}" if last > 4 else "E4",
        ]
        assert [str(cf.sqref) for cf in ws.conditional_formatting] == [
            f"F4:F{last}" if last > 4 else "F4"
        ]
        rows = CalamineWorkbook.from_path(path).get_sheet_by_name("Items").to_python()
        assert (
            rows[0][0] == "Item master - keep this title" and rows[1][9] == "note beside the table"
        )
        assert [r[0] for r in rows[3 : 3 + n]] == [f"N{i}" for i in range(n)]
        assert all(r[0] == "" for r in rows[3 + n :])


def test_bad_value_error_names_workbook_sheet_table_and_column(master: Path) -> None:
    df = report_df()
    df["qty"] = df["qty"].astype(object)
    df.loc[2, "qty"] = "twelve"
    with pytest.raises(SopError) as err:
        write_sheets(master, [report_output(df)])
    assert str(err.value).startswith(
        "file master.xlsm, sheet 'Report', table tblWriterTest: column 'Quantity': "
        "value 'twelve' in data row 3 is not a number"
    )


def test_missing_destination_folder_is_a_clear_error(master: Path, tmp_path: Path) -> None:
    with pytest.raises(SopError, match=r"cannot create a file in folder .*nowhere.*Fix: check"):
        write_sheets(master, [report_output()], tmp_path / "nowhere" / "out.xlsm")


def test_shared_formula_cells_below_a_shrunk_table_become_values(master: Path) -> None:
    """G4 anchors a shared formula over G4:G10; the table (to row 8) shrinks to 2 rows, so the
    anchor goes and G9:G10 would point at nothing: they keep their values, without formula."""
    with zipfile.ZipFile(master) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    anchor = '<c r="G4" t="n"><f t="shared" ref="G4:G10" si="0">E4*2</f><v>2</v></c>'
    sheet = re.sub(r'<c r="G4"[^>]*?(?:/>|>.*?</c>)', anchor, sheet, count=1, flags=re.S)
    extra = "".join(
        f'<row r="{r}"><c r="G{r}"><f t="shared" si="0"/><v>{r}</v></c></row>' for r in (9, 10)
    )
    sheet = sheet.replace("</sheetData>", extra + "</sheetData>")
    _zip_edit(master, {"xl/worksheets/sheet1.xml": sheet.encode()})
    write_sheets(master, [SheetOutput(schema.ITEMS, _items(2))])
    xml = parts(master)["xl/worksheets/sheet1.xml"].decode()
    assert 't="shared"' not in xml
    ws = openpyxl.load_workbook(master)["Items"]
    assert [ws["G9"].value, ws["G10"].value] == [9, 10]
    assert ws.tables["tblItems"].ref == "A3:G5"


def test_text_goes_to_an_append_only_shared_strings_table(tmp_path: Path) -> None:
    """Issue 20: text cells are shared strings; the template's own entries keep their index
    (cells of sheets not rewritten still point at them), new texts are appended once."""
    import zipfile

    path = make_master(tmp_path / "sst.xlsx", with_macros=False)

    def sst(p: Path) -> list[str]:
        with zipfile.ZipFile(p) as zf:
            if "xl/sharedStrings.xml" not in zf.namelist():
                return []
            x = zf.read("xl/sharedStrings.xml").decode()
        return re.findall(r"<si>(.*?)</si>", x, flags=re.S)

    before = sst(path)
    df = pd.DataFrame({"text": ["x", "y", "x"], "qty": [1.0] * 3, "money": [2.0] * 3,
                       "day": [pd.NaT] * 3})  # fmt: skip
    write_sheets(path, [SheetOutput(RT, df)])
    after = sst(path)
    assert after[: len(before)] == before
    assert after.count("<t>x</t>") == 1 and after.count("<t>y</t>") == 1
    got = CalamineWorkbook.from_path(path).get_sheet_by_name("RoundTrip").to_python()
    assert [r[0] for r in got[1:4]] == ["x", "y", "x"]
    write_sheets(path, [SheetOutput(RT, df)])  # again: nothing appended
    assert sst(path) == after


@pytest.mark.parametrize("pre", ["a.b", "x-1", "é"])
@pytest.mark.parametrize("n", [12, 2])
def test_input_table_rewritten_on_a_prefixed_sheet(master: Path, pre: str, n: int) -> None:
    """A sheet (and its table part) whose elements carry a prefix with '.', '-' or a non-ASCII
    letter: the rows are replaced, notes beside them kept, kept rows not prefixed twice."""
    wb = openpyxl.load_workbook(master, keep_vba=True)
    wb["Items"]["J5"] = "beside row 5"
    wb.save(master)
    sheet, table = "xl/worksheets/sheet1.xml", "xl/tables/table1.xml"
    with zipfile.ZipFile(master) as z:
        edits = {name: xml_prefix.prefixed(z.read(name), pre) for name in (sheet, table)}
    assert f"<{pre}:sheetData>".encode() in edits[sheet]
    _zip_edit(master, edits)
    assert openpyxl.load_workbook(master)["Items"]["J5"].value == "beside row 5"
    write_sheets(master, [SheetOutput(schema.ITEMS, _items(n))])
    ws = openpyxl.load_workbook(master)["Items"]
    last = 3 + n
    assert ws["A1"].value == "Item master - keep this title"
    assert ws["J2"].value == "note beside the table" and ws["J5"].value == "beside row 5"
    assert ws.tables["tblItems"].ref == f"A3:G{last}"
    assert [c.value for c in ws[4]][:7] == ["N0", "new 0", "OTHER", "FG", 0.5, 9, 4]
    assert ws[f"A{last}"].value == f"N{n - 1}" and ws[f"A{last + 1}"].value is None
    sq = sorted(str(d.sqref) for d in ws.data_validations.dataValidation)
    assert sq == [f"C4:C{last}", f"E4:E{last}"]
    rows = CalamineWorkbook.from_path(str(master)).get_sheet_by_name("Items").to_python()
    assert rows[4][9] == "beside row 5" and rows[3][0] == "N0"
    xml = parts(master)[sheet].decode()
    assert f"{pre}:{pre}:" not in xml and f'<{pre}:dimension ref="A1:J{max(last, 8)}"/>' in xml


def _table_prefixed_by_element(xml: str, how: str) -> str:
    """The table part ``xml`` (``<table xmlns="main">``, unprefixed children) with its root in
    prefix ``a.b`` and its children not, or the reverse: the same table to every XML reader."""
    root, decl = "<table ", f'xmlns="{NS_MAIN}"'
    assert xml.count(root) == 1 and xml.count(decl) == 1 and xml.endswith("</table>")
    if how == "children only":
        xml = xml.replace(decl, f'{decl} xmlns:a.b="{NS_MAIN}"')
        return re.sub(r"<(/?)(?!table[\s>])([A-Za-z])", r"<\1a.b:\2", xml)
    xml = xml.replace(root, "<a.b:table ").replace("</table>", "</a.b:table>")
    if how == "root and default":  # both bound to main on the root
        return xml.replace(decl, f'{decl} xmlns:a.b="{NS_MAIN}"')
    # "root only": the root declares its prefix; each child declares the default namespace
    xml = xml.replace(decl, f'xmlns:a.b="{NS_MAIN}"')
    for child in ("autoFilter", "tableColumns"):
        xml = xml.replace(f"<{child} ", f"<{child} {decl} ", 1)
    return xml


@pytest.mark.parametrize("how", ["root only", "root and default", "children only"])
def test_input_table_rewritten_in_a_table_part_prefixed_by_element(
    master: Path, tmp_path: Path, how: str
) -> None:
    """A table part whose root is in prefix a.b and whose children are in the default
    namespace (declared on them, or both bound on the root), or the reverse: valid XML, the
    table every reader sees. Before: "table tblItems has no tableColumns" (the children were
    looked for under the root's prefix only)."""
    table = "xl/tables/table1.xml"
    with zipfile.ZipFile(master) as z:
        xml = _table_prefixed_by_element(z.read(table).decode(), how)
    _zip_edit(master, {table: xml.encode()})
    before = openpyxl.load_workbook(master)["Items"].tables["tblItems"]
    assert before.ref == "A3:G8" and [c.name for c in before.tableColumns] == schema.ITEMS.headers
    write_sheets(master, [SheetOutput(schema.ITEMS, _items(12))])
    ws = openpyxl.load_workbook(master)["Items"]
    t = ws.tables["tblItems"]
    assert (t.ref, t.autoFilter.ref) == ("A3:G15", "A3:G15")
    assert [c.name for c in t.tableColumns] == schema.ITEMS.headers
    assert [c.value for c in ws[4]][:7] == ["N0", "new 0", "OTHER", "FG", 0.5, 9, 4]
    ct = CalamineWorkbook.from_path(str(master), load_tables=True).get_table_by_name("tblItems")
    assert ct.columns == schema.ITEMS.headers
    assert (ct.start, ct.end) == ((3, 0), (14, 6))  # 0-based: the 12 data rows 4-15, A-G
    out = parts(master)[table].decode()
    assert table_problems(out, schema.ITEMS.headers) == []
    assert out.count("tableColumns") == 2 and out.count("autoFilter") == 1


@pytest.mark.parametrize("pre", ["", "a.b:", "x-1:", "é:"])
def test_a_regenerated_sheet_keeps_its_code_name_under_any_prefix(master: Path, pre: str):
    """A macro workbook's sheet is regenerated with its old VBA code name (its document module
    stays its own), and a new sheet gets a code name no other sheet has, whatever the prefix
    of the old sheets' ``<sheetPr>``. Before, an ``a.b:sheetPr`` was not seen: the Report got
    a new name, and the new sheet took Report's."""
    names = {"Items": "Sheet1", "Other": "Sheet4", "Report": "Sheet3"}
    with zipfile.ZipFile(master) as z:
        sheets = {part: (z.read(part).decode(), names[s]) for s, part in sheet_parts(z).items()}
    edits = {}
    for n, (xml, name) in sheets.items():
        xml = re.sub(r"<sheetPr\b[^>]*?(?:/>|>.*?</sheetPr>)", "", xml, flags=re.S)
        i = xml.index(">", xml.index("<worksheet")) + 1
        xml = xml[:i] + f'<{pre}sheetPr codeName="{name}"/>' + xml[i:]
        if pre:
            xml = xml.replace("<worksheet ", f'<worksheet xmlns:{pre[:-1]}="{NS_MAIN}" ', 1)
        edits[n] = xml.encode()
    assert len(edits) == 3
    _zip_edit(master, edits)
    other = Table(**{**OUT.model_dump(), "name": "tblOther", "sheet": "Other2"})
    write_sheets(master, [report_output(), SheetOutput(other, report_df())])
    got = {}
    with zipfile.ZipFile(master) as z:
        for sheet, part in sheet_parts(z).items():
            m = re.search(r'<(?:[^>: ]+:)?sheetPr\b[^>]*codeName="([^"]*)"', z.read(part).decode())
            got[sheet] = m.group(1) if m else None
    assert got == {**names, "Other2": "Sheet2"}  # Sheet1, Sheet3 and Sheet4 are taken


def test_an_output_sheet_renamed_in_another_letter_case_is_written_in_place(master: Path) -> None:
    """Excel takes 'report' and 'Report' as one name: a planner who retyped a sheet's name in
    lower case gets the output written there (it was 'cannot write the sheet: StopIteration'),
    under the name they gave it, and no second sheet."""
    with zipfile.ZipFile(master) as zf:
        workbook = zf.read("xl/workbook.xml")
    _zip_edit(master, {"xl/workbook.xml": workbook.replace(b'name="Report"', b'name="report"')})
    write_sheets(master, [report_output(print_columns=3)])
    wb = openpyxl.load_workbook(master)
    assert [n for n in wb.sheetnames if n.lower() == "report"] == ["report"]
    assert wb["report"]["A1"].value == "Writer report"
    area = wb["report"].print_area
    assert area == "'report'!$A$1:$C$8"
