"""The native Excel formulas (:mod:`sop_xl.kpi.native`) give the UDFs' numbers.

LibreOffice headless (an independent engine; >= 24.8 has LET, not LAMBDA) evaluates each LET body
with the arguments substituted, ONE workbook for every case, and each value must equal the
``=SOP_...`` function's to 1e-9; where the UDF says ``#SOP!`` the formula must give an error.
Data: the AirPassengers series (Box & Jenkins, monthly airline passengers 1949-1951, thousands)
with a zero, a net return, blanks, blocks and mismatched sizes, plus dated order lines.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import convert
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula

from sop_xl.excel import udfs as u
from sop_xl.kpi.defs import KPIS
from sop_xl.kpi.native import NATIVE, stored

# AirPassengers 1949-1951 (Box & Jenkins 1976, series G).
AIR = [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118,
       115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140,
       145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166]  # fmt: skip
# A planner's forecast: last year's month x 1.08, rounded; then edits below.
FC = [round(v * 1.08) for v in AIR[:24]]
ACT = AIR[12:]  # 1950-1951 actuals
ACT_Z = list(ACT)
ACT_Z[4] = 0  # a month with no sales
ACT_Z[9] = -12  # net returns
ACT_B = list(ACT_Z)
ACT_B[7] = None  # a month not yet closed (blank)
FC_B = list(FC)
FC_B[15] = None  # a forecast cell left blank
D0 = dt.date(2026, 3, 2)


def _d(days):
    return None if days is None else D0 + dt.timedelta(days=days)


# 10 order lines: due day offsets, ship day offsets (None = not shipped), qty ordered, shipped.
DUE = [_d(x) for x in (0, 0, 3, 5, 5, 9, 10, 12, None, 14)]
SHIP = [_d(x) for x in (-2, 1, 0, 4, None, 9, 13, -5, 2, 14)]
ORD = [10, 5, 8, 0, 4, 6, 7, 3, 2, 9]
SHP = [10, 5, 7, 1, None, 6, 7, 3, 2, 12]
ORDER_IDS = ["SO1", "SO1", "SO2", "SO2", "SO3", "SO3", "SO4", "so4", "SO5", "SO5"]


PAIR_UDFS = (
    "SOP_MAE",
    "SOP_MAPE",
    "SOP_WMAPE",
    "SOP_FORECAST_ACCURACY",
    "SOP_BIAS",
    "SOP_BIAS_PCT",
    "SOP_RMSE",
    "SOP_TRACKING_SIGNAL",
)


class Grid:
    """Places argument ranges on one sheet, column after column; keeps Python's view of them."""

    def __init__(self, ws):
        self.ws = ws
        self.col = 1

    def put(self, values, rows: int | None = None):
        """Write ``values`` as a column (rows=None), or as a block ``rows`` high filled row by
        row; return (A1 range, the argument as xlwings passes it)."""
        n = len(values)
        height = n if rows is None else rows
        width = 1 if rows is None else -(-n // rows)
        grid = [[None] * width for _ in range(height)]
        for k, v in enumerate(values):
            r, c = (k, 0) if rows is None else divmod(k, width)
            grid[r][c] = v
        for r in range(height):
            for c in range(width):
                if grid[r][c] is not None:
                    self.ws.cell(row=r + 1, column=self.col + c, value=grid[r][c])
        ref = f"{get_column_letter(self.col)}1:{get_column_letter(self.col + width - 1)}{height}"
        self.col += width + 1
        arg = [row[0] for row in grid] if width == 1 else grid
        return ref, arg


def _lit(v) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, str):
        return '"' + v.replace('"', '""') + '"'
    return repr(v)


def _cases():
    """(label, udf, {param: ('range', values[, rows]) | ('value', v)}) per check."""
    R = "range"
    pair = [
        ("air", {"actuals": (R, ACT), "forecasts": (R, FC)}),
        ("zeros", {"actuals": (R, ACT_Z), "forecasts": (R, FC)}),
        ("blanks", {"actuals": (R, ACT_B), "forecasts": (R, FC_B)}),
        ("block_vs_column", {"actuals": (R, ACT_B, 2), "forecasts": (R, FC_B)}),
        ("mismatch", {"actuals": (R, ACT[:23]), "forecasts": (R, FC)}),
        ("all_zero", {"actuals": (R, [0, 0, None]), "forecasts": (R, [1, 2, 3])}),
        ("perfect", {"actuals": (R, [5, 6]), "forecasts": (R, [5, 6])}),
        ("all_blank", {"actuals": (R, [None, 4]), "forecasts": (R, [3, None])}),
        ("text", {"actuals": (R, [5, "abc"]), "forecasts": (R, [4, 4])}),
        ("one_cell", {"actuals": (R, [120]), "forecasts": (R, [100])}),
    ]
    out = []
    for udf in PAIR_UDFS:
        out += [(f"{udf}:{label}", udf, args) for label, args in pair]
    air36 = {"actuals": (R, AIR)}
    out += [
        ("mase:own", "SOP_MASE", {**air36, "forecasts": (R, [round(v * 1.05) for v in AIR])}),
        ("mase:hist", "SOP_MASE", {"actuals": (R, ACT_B), "forecasts": (R, FC_B),
                                   "history": (R, AIR[:24]), "season": ("value", 12)}),
        ("mase:s1", "SOP_MASE", {"actuals": (R, ACT_Z), "forecasts": (R, FC),
                                 "season": ("value", 1)}),
        ("mase:short", "SOP_MASE", {"actuals": (R, ACT[:6]), "forecasts": (R, FC[:6])}),
        ("mase:const", "SOP_MASE", {"actuals": (R, [3, 3, 3]), "forecasts": (R, [1, 2, 3]),
                                    "season": ("value", 1)}),
        ("fva:s1", "SOP_FVA", {"actuals": (R, ACT_B), "forecasts": (R, FC_B)}),
        ("fva:s12", "SOP_FVA", {"actuals": (R, AIR), "forecasts": (R, FC + FC[12:]),
                                "season": ("value", 12)}),
        ("fva:naive", "SOP_FVA", {"actuals": (R, ACT_Z), "forecasts": (R, FC),
                                  "naive": (R, AIR[:24])}),
        ("fva:naive_mismatch", "SOP_FVA", {"actuals": (R, ACT_Z), "forecasts": (R, FC),
                                           "naive": (R, AIR[:20])}),
        ("turns", "SOP_INVENTORY_TURNS", {"cogs": (R, [400, 380, None, 420]),
                                          "inventory": (R, [1500, 1400, 1600, 1550])}),
        ("turns:ann", "SOP_INVENTORY_TURNS", {"cogs": (R, [400, 380, 420]),
                                              "inventory": (R, [1500, None, 1550], 1),
                                              "annualise": ("value", True)}),
        ("turns:zero", "SOP_INVENTORY_TURNS", {"cogs": (R, [400]), "inventory": (R, [0, 0])}),
        ("dos", "SOP_DAYS_OF_SUPPLY", {"inventory": (R, [900, 1000, None]),
                                       "usage": (R, [1200, 300])}),
        ("dos:days", "SOP_DAYS_OF_SUPPLY", {"inventory": (R, [1000]),
                                            "usage": (R, [1200]), "days_covered": ("value", 31)}),
        ("dos:zero", "SOP_DAYS_OF_SUPPLY", {"inventory": (R, [1000]), "usage": (R, [0])}),
        ("gm", "SOP_GROSS_MARGIN_PCT", {"revenue": (R, [1000, None, 250.5]),
                                        "cost": (R, [600, 120])}),
        ("gm:zero", "SOP_GROSS_MARGIN_PCT", {"revenue": (R, [0]), "cost": (R, [10])}),
    ]  # fmt: skip
    for udf in ("SOP_VARIANCE", "SOP_VARIANCE_PCT"):
        base = {"actual": (R, [1200, 300.25]), "budget": (R, [1000, None, 400])}
        out += [
            (f"{udf}:rev", udf, base),
            (f"{udf}:cost", udf, {**base, "account_type": ("value", "Cost")}),
            (f"{udf}:raw", udf, {**base, "account_type": ("value", "cost"),
                                 "sign_mode": ("value", "raw")}),
            (f"{udf}:bad", udf, {**base, "account_type": ("value", "Asset")}),
        ]  # fmt: skip
    out.append(("varpct:zero", "SOP_VARIANCE_PCT", {"actual": (R, [5]), "budget": (R, [0])}))
    lines = {"due_dates": (R, DUE), "ship_dates": (R, SHIP)}
    qty = {"qty_ordered": (R, ORD), "qty_shipped": (R, SHP)}
    out += [
        ("otd", "SOP_OTD", lines),
        ("otd:window", "SOP_OTD", {**lines, "days_early": ("value", 0),
                                   "days_late": ("value", 3)}),
        ("otd:mismatch", "SOP_OTD", {"due_dates": (R, DUE), "ship_dates": (R, SHIP[:9])}),
        ("otif", "SOP_OTIF", {**lines, **qty}),
        ("otif:window", "SOP_OTIF", {**lines, **qty, "days_late": ("value", 3)}),
        ("fill:line", "SOP_FILL_RATE", qty),
        ("fill:unit", "SOP_FILL_RATE", {**qty, "fill_mode": ("value", "unit")}),
        ("fill:order", "SOP_FILL_RATE", {**qty, "fill_mode": ("value", "Order"),
                                         "order_ids": (R, ORDER_IDS)}),
        ("fill:dated", "SOP_FILL_RATE", {**qty, **lines}),
        ("fill:dated_late", "SOP_FILL_RATE", {**qty, **lines, "days_late": ("value", 3)}),
        ("fill:order_dated", "SOP_FILL_RATE", {**qty, **lines, "fill_mode": ("value", "order"),
                                               "order_ids": (R, ORDER_IDS)}),
        ("fill:unit_dated", "SOP_FILL_RATE", {**qty, **lines, "fill_mode": ("value", "unit")}),
        ("fill:bad_mode", "SOP_FILL_RATE", {**qty, "fill_mode": ("value", "box")}),
        ("fill:one_date", "SOP_FILL_RATE", {**qty, "due_dates": (R, DUE)}),
        ("att", "SOP_SCHEDULE_ATTAINMENT", {"planned_qty": (R, ORD), "completed_qty": (R, SHP),
                                            "due_dates": (R, DUE),
                                            "completion_dates": (R, SHIP)}),
        ("att:nocap", "SOP_SCHEDULE_ATTAINMENT", {"planned_qty": (R, ORD),
                                                  "completed_qty": (R, SHP),
                                                  "due_dates": (R, DUE),
                                                  "completion_dates": (R, SHIP),
                                                  "days_late": ("value", 0),
                                                  "cap": ("value", False)}),
        ("adh", "SOP_SCHEDULE_ADHERENCE", {"due_dates": (R, DUE), "completion_dates": (R, SHIP)}),
        ("sched_otif", "SOP_SCHEDULE_OTIF", {"planned_qty": (R, ORD), "completed_qty": (R, SHP),
                                             "due_dates": (R, DUE),
                                             "completion_dates": (R, SHIP)}),
        ("sched_otif:late0", "SOP_SCHEDULE_OTIF", {"planned_qty": (R, ORD),
                                                   "completed_qty": (R, SHP),
                                                   "due_dates": (R, DUE),
                                                   "completion_dates": (R, SHIP),
                                                   "days_late": ("value", 0)}),
        ("vendor_otd", "SOP_VENDOR_OTD", {"promised_dates": (R, DUE),
                                          "received_dates": (R, SHIP)}),
        ("vendor_otd:nothing_due", "SOP_VENDOR_OTD", {"promised_dates": (R, [None]),
                                                      "received_dates": (R, [D0])}),
        ("vendor_qty", "SOP_VENDOR_QTY_COMPLETE", {"qty_ordered": (R, ORD),
                                                   "qty_received": (R, SHP)}),
    ]  # fmt: skip
    return out


# The UDF's parameter name where the named function renames one (a LET/LAMBDA name must not be
# a function name: MODE, SIGN, DAYS).
_UDF_PARAM = {"fill_mode": "mode", "sign_mode": "sign", "days_covered": "days"}


def _call_udf(udf: str, kwargs: dict):
    """Call a UDF as Excel does: positionally, omitted optional arguments at their default."""
    fn = getattr(u, udf)
    params = inspect.signature(fn).parameters
    assert set(kwargs) <= set(params), (udf, set(kwargs) - set(params))
    return fn(*[kwargs.get(name, p.default) for name, p in params.items()])


@pytest.mark.libreoffice
def test_every_native_formula_equals_the_udf_in_libreoffice(soffice, tmp_path):
    wb = openpyxl.Workbook()
    data = wb.active
    data.title = "Data"
    calc = wb.create_sheet("Calc")
    grid = Grid(data)
    expected = []
    for row, (label, udf, spec) in enumerate(_cases(), start=1):
        nf = NATIVE[udf]
        excel_args, py_args = {}, {}
        for name, (kind, *rest) in spec.items():
            if kind == "range":
                ref, arg = grid.put(*rest)
                excel_args[name] = f"Data!{ref.split(':')[0]}:{ref.split(':')[1]}"
                py_args[_UDF_PARAM.get(name, name)] = arg
            else:
                excel_args[name] = _lit(rest[0])
                py_args[_UDF_PARAM.get(name, name)] = rest[0]
        formula = "=" + stored(nf.call(**excel_args))
        calc.cell(row=row, column=1, value=label)
        calc.cell(row=row, column=2).value = ArrayFormula(f"B{row}", formula)
        expected.append((label, _call_udf(udf, py_args)))
    # The plain formulas for older Excel (no LET), on the same column data.
    row = len(expected)
    for label, act, fc in (("air", ACT, FC), ("zeros", ACT_Z, FC), ("blanks", ACT_B, FC_B)):
        (a_ref, a_arg), (f_ref, f_arg) = grid.put(act), grid.put(fc)
        for udf in PAIR_UDFS:
            row += 1
            plain = re.sub(r"(?<![\w\"])A(?![\w(])", "Data!" + a_ref, NATIVE[udf].plain)
            plain = re.sub(r"(?<![\w\"!:])F(?![\w(])", "Data!" + f_ref, plain)
            calc.cell(row=row, column=1, value=f"plain:{udf}:{label}")
            calc.cell(row=row, column=2).value = ArrayFormula(f"B{row}", plain)
            expected.append(
                (f"plain:{udf}:{label}", _call_udf(udf, {"actuals": a_arg, "forecasts": f_arg}))
            )
    covered = {udf for _, udf, _ in _cases()}
    with_formula = {udf for udf, nf in NATIVE.items() if nf.body}
    assert covered == with_formula, with_formula - covered
    src = tmp_path / "native.xlsx"
    wb.save(src)
    out = convert(soffice, src, "xlsx", tmp_path / "lo")
    got = openpyxl.load_workbook(out, data_only=True)["Calc"]
    failures = []
    for row, (label, want) in enumerate(expected, start=1):
        assert got.cell(row=row, column=1).value == label
        lo = got.cell(row=row, column=2).value
        if isinstance(want, str):  # '#SOP! ...': the formula must give an Excel error
            ok = isinstance(lo, str) and lo.startswith("#")
        else:
            ok = isinstance(lo, int | float) and lo == pytest.approx(want, rel=1e-9, abs=1e-12)
        if not ok:
            failures.append(f"{label}: UDF {want!r}, LibreOffice {lo!r}")
    assert not failures, "\n".join(failures)
    # The undefined and size-mismatch cases say which: #DIV/0! and #N/A.
    by_label = {label: got.cell(row=r, column=2).value for r, (label, _) in
                enumerate(expected, start=1)}  # fmt: skip
    assert by_label["SOP_WMAPE:all_zero"] == "#DIV/0!"
    assert by_label["SOP_WMAPE:mismatch"] == "#N/A"
    assert by_label["SOP_MAE:text"] == "#VALUE!"


def test_every_scalar_kpi_udf_has_a_native_formula_or_a_reason():
    for d in KPIS.values():
        if d.family == "history":  # spilled tables (SOP_ACCURACY_BY_LAG...): Python only
            assert d.native is None and d.udf in ("", *dir(u)), d.id
        elif d.udf:
            nf = NATIVE.get(d.udf)
            assert nf is not None, d.udf
            assert bool(nf.body) != bool(nf.python_only), d.udf
            assert d.native is nf
    for nf in NATIVE.values():
        assert hasattr(u, nf.udf), nf.udf
        assert len(nf.description) <= 255, nf.udf  # the Name Manager's limit
        assert len(nf.lambda_stored()) < 8192, nf.udf  # a defined name's limit


def test_native_descriptions_are_the_registrys_text_written_once():
    # issue 19: the Name Manager comment of each named LAMBDA was a second, hand-written copy
    # of the KPI's definition (e.g. SOP.WMAPE said "over filled pairs", the registry "volume-
    # weighted error"); it is now the registry's text, the same as the function wizard's
    import dataclasses

    from sop_xl.kpi.defs import EXCEL_DOC_LIMIT, FUNCTION_DOCS, udf_doc
    from sop_xl.kpi.native import NativeFormula

    assert "description" not in {f.name for f in dataclasses.fields(NativeFormula)}
    for nf in NATIVE.values():
        assert nf.description == udf_doc(nf.udf), nf.udf
        assert nf.description == getattr(u, nf.udf).__doc__, nf.udf  # = the function wizard's
        assert 0 < len(nf.description) <= EXCEL_DOC_LIMIT, nf.udf
        defs = [d for d in KPIS.values() if d.udf == nf.udf]
        if not defs:
            assert nf.description == FUNCTION_DOCS[nf.udf]
            continue
        first, *others = defs
        assert nf.description.startswith(f"{first.name}: {first.formula}"), nf.udf
        for d in others:  # every registry KPI of the function is named in its comment
            assert d.id in nf.description, (nf.udf, d.id)
    # every registry KPI whose function has a native form reaches its text through it
    for d in KPIS.values():
        nf = NATIVE.get(d.udf)
        if nf is not None and nf.body:
            assert d.id in nf.description or f"{d.name}: {d.formula}" in nf.description, d.id
    assert set(FUNCTION_DOCS) <= set(NATIVE), "a described function without a native entry"


def test_stored_form_has_the_prefixes_excel_writes():
    # LAMBDA(x,[y],IF(ISOMITTED(y),x,x+y)) as Excel stores it.
    from sop_xl.kpi.native import NativeFormula, Param

    nf = NativeFormula(
        "SOP_T", (Param("x", ""), Param("y", "", "0")), "IF(ISOMITTED(y), x, x + y)", ""
    )
    assert nf.name == "SOP.T"
    assert nf.lambda_stored() == (
        "_xlfn.LAMBDA(_xlpm.x,_xlop.y,IF(_xlfn.ISOMITTED(_xlpm.y),_xlpm.x,_xlpm.x+_xlpm.y))"
    )
    assert nf.call(x="A1") == "IF(TRUE, A1, A1 + 0)"
    assert nf.call(x="A1", y="B2") == "IF(FALSE, A1, A1 + B2)"
    assert stored('LET(a, "a b, c", a)') == '_xlfn.LET(_xlpm.a,"a b, c",_xlpm.a)'
    for nf in NATIVE.values():
        text = nf.lambda_stored()
        # every lower-case name is a parameter or LET name and carries a prefix
        bare = re.findall(r"(?<![\w.])[a-z][\w]*", re.sub(r'"(?:[^"]|"")*"', "", text))
        assert not bare, (nf.udf, bare[:5])


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["SOP_Planning.xlsx", "SOP_Planning.xlsm"])
def test_committed_workbooks_carry_the_named_lambdas_as_excel_writes_them(name):
    """Every native formula is a defined name in workbook.xml, well-formed, with a comment."""
    from defusedxml import ElementTree

    with zipfile.ZipFile(ROOT / "workbook" / name) as z:
        root = ElementTree.fromstring(z.read("xl/workbook.xml"))
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    names = {e.get("name"): e for e in root.iterfind("m:definedNames/m:definedName", ns)}
    for nf in NATIVE.values():
        if not nf.body:
            assert nf.name not in names
            continue
        el = names[nf.name]
        text = el.text
        assert re.fullmatch(r"SOP\.[A-Z_]+", nf.name)
        assert text == nf.lambda_stored(), f"{name}: {nf.name} is stale: rebuild the workbook"
        assert el.get("comment") == nf.description
        assert text.startswith("_xlfn.LAMBDA(") and text.count("(") == text.count(")")
        declared = [p.name for p in nf.params]
        head = ",".join(f"_xlop.{p.name}" if p.optional else f"_xlpm.{p.name}" for p in nf.params)
        assert text.startswith(f"_xlfn.LAMBDA({head},_xlfn.LET("), nf.name
        assert "[" not in text and " " not in re.sub(r'"(?:[^"]|"")*"', "", text)
        used = set(re.findall(r"_xlpm\.([a-z]\w*)", text))
        assert set(declared) <= used, (nf.name, set(declared) - used)
        for fn in ("LET", "SEQUENCE", "ISOMITTED", "LAMBDA"):
            assert not re.search(rf"(?<![\w.]){fn}\(", text), (nf.name, fn)


def test_definitions_sheet_shows_each_kpis_three_ways_to_call_it():
    from sop_xl.scorecard.step import definitions_frame

    df = definitions_frame().set_index("kpi")
    row = df.loc["wmape"]
    assert (row["udf"], row["native_function"]) == ("SOP_WMAPE", "SOP.WMAPE")
    assert row["native_formula"] == NATIVE["SOP_WMAPE"].lambda_formula()
    assert row["native_formula"].startswith("LAMBDA(actuals, forecasts, LET(")
    for kpi_id, d in KPIS.items():
        if d.udf and d.family != "history":
            assert df.loc[kpi_id, "native_function"] == NATIVE[d.udf].name, kpi_id


def test_docs_kpis_md_lists_every_function_three_ways():
    text = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    from sop_xl.kpi.native import docs_markdown

    m = re.search(r"<!-- native:begin[^>]*-->\n(.*)\n<!-- native:end -->", text, re.S)
    assert m, "docs/kpis.md lost its native section markers"
    assert m.group(1) == docs_markdown(), "regenerate with sop_xl.kpi.native.docs_markdown()"
