"""The demo's scorecard tells the true story (issue 14): the supply-constrained family is not
green on inventory. Read from the demo master with python-calamine, an independent reader.

The demo plants one supply-constrained family (HEATING, made at DE-MAIN: thin stock, stock-outs,
late and short production orders). Backward days of supply with "lower is better" used to show
such a family green; forward days of supply judged against a band must not.
"""

from __future__ import annotations

import pandas as pd
from python_calamine import CalamineWorkbook

CONSTRAINED = "HEATING"  # sop_xl.demo.company.CONSTRAINED_FAMILY (not imported: read the output)


def _sheet(wb: CalamineWorkbook, name: str, first_header: str) -> pd.DataFrame:
    rows = wb.get_sheet_by_name(name).to_python()
    at = next(i for i, r in enumerate(rows) if str(r[0]).strip() == first_header)
    header = [str(h).strip() for h in rows[at]]
    body = [r for r in rows[at + 1 :] if any(v not in ("", None) for v in r)]
    return pd.DataFrame(body, columns=header)


def test_constrained_family_is_not_green_on_inventory(demo_dir):
    wb = CalamineWorkbook.from_path(str(demo_dir / "SOP_Planning.xlsm"))
    d = _sheet(wb, "ScorecardDetail", "Perspective")
    fam = d[(d["Level"] == "Family") & (d["KPI ID"] == "forward_days_of_supply")]
    fam = fam.set_index("Scope")
    assert CONSTRAINED in fam.index and len(fam) >= 4
    row = fam.loc[CONSTRAINED]
    assert row["Status"] in ("Red", "Amber"), row["Status"]
    # below the band's lower (green) end, and the thinnest cover of all families
    value = float(row["Actual (value)"])
    assert value < float(row["Green Threshold"])
    assert value == min(float(v) for v in fam["Actual (value)"] if v not in ("", None))
    # the other families are judged by the same band, so the test can tell them apart
    assert (fam.drop(index=CONSTRAINED)["Status"] != row["Status"]).any()
    # and it is red or amber on customer service too: the shortage reaches customers
    otif = d[(d["Level"] == "Family") & (d["KPI ID"] == "otif")].set_index("Scope")
    assert otif.loc[CONSTRAINED, "Status"] in ("Red", "Amber")
