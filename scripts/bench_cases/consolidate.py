"""Regional forecast consolidation end to end: N regional submission workbooks (template layout,
items x 24 months each) read through the safety guard, validated and consolidated, and the
Forecast, Validation, Submissions and audit sheets written into the master in one atomic save.

Baseline: the same reads with ``pandas.read_excel(engine="openpyxl")`` (grid and stamp sheets, no
guard, no validation) and the same write with openpyxl (load the master, write the Forecast sheet
cells, save). Each side runs in its own fresh Python process so its peak memory
(``ru_maxrss``) can be reported.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

OURS = r"""
import json, resource, sys, time, datetime as dt
from pathlib import Path
from sop_xl.consolidate.step import consolidate
from sop_xl.io.filebook import FileBook
master, folder = Path(sys.argv[1]), Path(sys.argv[2])
t0 = time.perf_counter()
book = FileBook(master)
res = consolidate(book, folder, received_by="bench", now=dt.datetime(2026, 11, 10, 12))
s = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"s": s, "rss": rss, "rows": len(res.forecast), "ok": res.ok,
                  "accepted": len(res.accepted), "summary": res.summary}))
"""

BASELINE = r"""
import json, resource, sys, time
from pathlib import Path
import openpyxl, pandas as pd
master, folder = Path(sys.argv[1]), Path(sys.argv[2])
t0 = time.perf_counter()
frames = []
for p in sorted(folder.glob("*.xlsx")):
    g = pd.read_excel(p, sheet_name="Forecast", header=3, engine="openpyxl",
                      keep_default_na=False, na_values=[""])
    st = pd.read_excel(p, sheet_name="Stamp", header=3, engine="openpyxl", keep_default_na=False)
    region = st.set_index("Field").loc["Region", "Value"]
    frames.append(g.drop(columns=["Description"]).assign(Region=region))
wide = pd.concat(frames, ignore_index=True)
wb = openpyxl.load_workbook(master)
ws = wb["Forecast"]
ws.delete_rows(1, ws.max_row)
ids = ["Region", "Item No.", "Location Code"]
cols = ids + [c for c in wide.columns if c not in ids]
ws.append(cols)
for rec in wide[cols].itertuples(index=False):
    ws.append(list(rec))
wb.save(master)
s = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"s": s, "rss": rss, "rows": len(wide)}))
"""


def build(tmp: Path, regions: int, items: int, months: int = 24) -> tuple[Path, Path]:
    """A master (Regions, Items, Locations, previous Forecast) and one submission per region."""
    from sop_xl.consolidate.submission import load_master, write_regional_template
    from sop_xl.io.filebook import FileBook
    from sop_xl.io.template import build_template
    from sop_xl.model import schema
    from sop_xl.model.periods import period_range
    from sop_xl.model.schema import Settings
    from sop_xl.model.sheets import SheetOutput

    rng = np.random.default_rng(5)
    settings = Settings(
        cycle="2026-11", horizon_months=months, forecast_cutoff=dt.datetime(2026, 11, 10, 17)
    )
    horizon = period_range(settings.cycle, months)
    codes = [f"R{i:02d}" for i in range(regions)]
    item_codes = [f"IT{i:05d}" for i in range(items)]
    master = tmp / "master.xlsx"
    build_template(master, settings)
    book = FileBook(master)
    settings_rows = [
        (label, getattr(settings, name), "") for name, label in Settings.labels().items()
    ]
    sdf = pd.DataFrame(settings_rows, columns=["setting", "value", "description"]).astype(object)
    sdf["value"] = sdf["value"].map(
        lambda v: v.strftime("%Y-%m-%d %H:%M") if isinstance(v, dt.datetime) else v
    )
    n = regions * items * months
    fc = pd.DataFrame(
        {
            "region": np.repeat(codes, items * months),
            "item": np.tile(np.repeat(item_codes, months), regions),
            "location": np.repeat([f"{c}-DC" for c in codes], items * months),
            "source": "master",
            "version": "",
            "period": np.tile(horizon, regions * items),
            "quantity": rng.integers(50, 500, n).astype(float),
        }
    )
    book.write(
        [
            SheetOutput(schema.SETTINGS, sdf),
            SheetOutput(
                schema.REGIONS, pd.DataFrame({"region": codes, "name": codes, "planner": "bench"})
            ),
            SheetOutput(
                schema.ITEMS,
                pd.DataFrame(
                    {
                        "item": item_codes,
                        "description": item_codes,
                        "family": "F",
                        "gen_prod_posting_group": "RETAIL",
                        "unit_cost": 1.0,
                        "unit_price": 2.0,
                        "lead_time_days": 5,
                    }
                ),
            ),
            SheetOutput(
                schema.LOCATIONS,
                pd.DataFrame(
                    {"location": [f"{c}-DC" for c in codes], "name": codes, "region": codes}
                ),
            ),
            SheetOutput(schema.FORECAST, fc),
        ]
    )
    m = load_master(FileBook(master), history=False)
    folder = tmp / "submissions"
    for k, code in enumerate(codes):
        sub = fc[fc["region"] == code][["item", "location", "period", "quantity"]]
        sub = sub.assign(quantity=np.round(sub["quantity"] * rng.uniform(0.9, 1.1, len(sub))))
        write_regional_template(
            book,
            code,
            folder / f"{code}_forecast_v1.xlsx",
            forecast=sub,
            submitted_by="bench",
            version=1,
            submitted_at=settings.forecast_cutoff - dt.timedelta(hours=k + 1),
            master=m,
        )
    return master, folder


def _run(code: str, master: Path, folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, str(master), str(folder)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def cases(quick: bool = False) -> list[dict]:
    regions, items = (3, 200) if quick else (12, 2000)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        master, folder = build(tmp, regions, items)
        a, b = tmp / "ours.xlsx", tmp / "base.xlsx"
        shutil.copy(master, a)
        shutil.copy(master, b)
        ours = _run(OURS, a, folder)
        base = _run(BASELINE, b, folder)
    return [
        {
            "case": "consolidate regional forecasts end to end",
            "size": f"{regions} files x {items:,} items x 24 months",
            "ours_s": ours["s"],
            "baseline": "pandas.read_excel(openpyxl) + openpyxl write",
            "baseline_s": base["s"],
            "ratio": base["s"] / ours["s"],
            "note": f"peak RSS ours {ours['rss']:.0f} MB vs baseline {base['rss']:.0f} MB; "
            f"ours validates + writes 4 sheets ({ours['rows']:,} forecast rows); {ours['summary']}",
        }
    ]


if __name__ == "__main__":
    for row in cases(quick="--quick" in sys.argv):
        print(row)
