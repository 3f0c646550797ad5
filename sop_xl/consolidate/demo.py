"""Demo support: regional submission files with the mistakes real submitters make."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from sop_xl.consolidate.submission import GRID, load_master, write_regional_template
from sop_xl.model.book import Book

HYPERLINK_TEXT = '=HYPERLINK("http://example.invalid","click")'


def write_demo_submissions(
    book: Book,
    folder: Path,
    submissions: dict[str, pd.DataFrame],
    *,
    bad_region: str,
    version: int = 2,
) -> list[Path]:
    """One submission file per region (``<REGION>_forecast_v<N>.xlsx``), submitted before the
    cutoff, plus an older version 1 of the first good region's file (so version resolution shows)
    and, in ``bad_region``'s file, the mistakes real submitters make: text in a quantity cell,
    a negative quantity, an unknown item, a duplicate row, an item of another region, a ``#REF!``
    error value, ``=HYPERLINK(...)`` typed as text and a blank Location Code."""
    from openpyxl import load_workbook

    from sop_xl.io.filebook import save_new_workbook
    from sop_xl.io.xlsx.tables import resize_table

    m = load_master(book)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = m.settings.forecast_cutoff
    planners = m.regions.set_index("region")["planner"].to_dict() if "planner" in m.regions else {}
    paths: list[Path] = []
    regions = sorted(submissions)
    for k, region in enumerate(regions):
        who = str(planners.get(region) or f"{region} planner")
        at = cutoff - dt.timedelta(hours=20 - k)
        p = folder / f"{region}_forecast_v{version}.xlsx"
        write_regional_template(
            book,
            region,
            p,
            forecast=submissions[region],
            submitted_by=who,
            version=version,
            submitted_at=at,
            master=m,
        )
        paths.append(p)
    good = [r for r in regions if r != bad_region]
    if good:
        r0 = good[0]
        older = submissions[r0].assign(quantity=submissions[r0]["quantity"] * 0.9)
        p = folder / f"{r0}_forecast_v1.xlsx"
        who = str(planners.get(r0) or f"{r0} planner")
        write_regional_template(
            book,
            r0,
            p,
            forecast=older,
            submitted_by=who,
            version=1,
            submitted_at=cutoff - dt.timedelta(days=3),
            master=m,
        )
        paths.append(p)
    if bad_region in submissions:
        bad = folder / f"{bad_region}_forecast_v{version}.xlsx"
        other_items = m.assortment[m.assortment["region"] != bad_region]
        own = set(m.assortment.loc[m.assortment["region"] == bad_region, "item"])
        foreign = other_items.loc[~other_items["item"].isin(own), "item"]
        wb = load_workbook(bad)
        ws = wb[GRID.sheet]
        hr = 4
        first, last = hr + 1, ws.max_row
        width = ws.max_column
        n = last - first + 1
        if n >= 1 and width >= 7:
            loc = ws.cell(first, 2).value
            dup = [ws.cell(first, j).value for j in range(1, width + 1)]
            ws.cell(first, 4).value = "12O"  # letter O instead of zero
            ws.cell(first + 1 % n, 5).value = -50
            ws.cell(first + 2 % n, 6).value = "#REF!"  # openpyxl writes an error value (t="e")
            c = ws.cell(first + 3 % n, 7)
            c.value, c.data_type = HYPERLINK_TEXT, "s"
            extra = [
                ["ZZ-UNKNOWN", loc, "Unknown item", *[10.0] * (width - 3)],
                dup,  # the first row again: a duplicate key
                [dup[0], None, dup[2], *dup[3:]],  # blank Location Code with quantities
            ]
            if len(foreign):  # an item only another region plans
                extra.append(
                    [str(foreign.iloc[0]), loc, "Another region's item", *[5.0] * (width - 3)]
                )
            elif len(other_items):  # every region plans every item: another region's location
                o = other_items.iloc[0]
                extra.append(
                    [
                        str(o["item"]),
                        str(o["location"]),
                        "Another region's location",
                        *[5.0] * (width - 3),
                    ]
                )
            for k, rec in enumerate(extra, start=last + 1):
                for j, v in enumerate(rec, start=1):
                    cell = ws.cell(k, j)
                    cell.value = v
                    if isinstance(v, str):
                        cell.data_type = "s"
            last_col = ws.tables[GRID.name].ref.split(":")[1].rstrip("0123456789")
            resize_table(ws, GRID.name, f"A{hr}:{last_col}{ws.max_row}")
        save_new_workbook(wb, bad)
    return paths
