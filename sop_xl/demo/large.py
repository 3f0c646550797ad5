"""The demo company at the size that no longer fits a sheet: its sales as millions of posted lines
in a Parquet file next to the workbook (``sop-xl demo DIR --large``).

Each monthly sales row of the demo (customer x item x location x month) is split into ``k``
posted lines whose quantities (in thousandths) and amounts (in cents) add up exactly to the row,
so the cycle on the large demo reproduces the ordinary demo's figures: the reader sums the lines
back into the table's grain. The lines are generated and written by DuckDB straight to Parquet,
never held in pandas.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sop_xl.model.schema import DATA_SOURCES, SALES_ACTUALS
from sop_xl.model.sheets import SheetOutput

#: the large demo's default size: 5 million posted sales lines
LARGE_LINES = 5_000_000
SALES_FILE = Path("data") / "sales_actuals.parquet"


def split_sales_lines(sales: pd.DataFrame, lines: int, path: Path) -> int:
    """Write ``sales`` (typed Sales Actuals) as about ``lines`` posted lines to Parquet ``path``.

    Returns the number of lines written. Every row becomes ``k = ceil(lines / rows)`` lines; the
    parts of a value differ by at most one cent (or one thousandth of a unit), and sum to it.
    """
    import duckdb

    k = max(1, math.ceil(lines / max(len(sales), 1)))
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"autoload_known_extensions": False, "threads": 2})
    try:
        con.register("rows", sales)

        def part(col: str, scale: int) -> str:
            units = f"CAST(round(abs({col}) * {scale}) AS BIGINT)"
            share = f"({units} // {k} + CASE WHEN i < {units} % {k} THEN 1 ELSE 0 END)"
            return f"sign({col}) * {share} / {scale}.0"

        tmp = path.with_suffix(".tmp.parquet")
        con.execute(
            f"""COPY (
                SELECT customer AS "Customer No.", item AS "Item No.",
                       location AS "Location Code", period AS "Period",
                       {part("quantity", 1000)} AS "Quantity",
                       {part("amount", 100)} AS "Sales Amount",
                       {part("cost", 100)} AS "Cost Amount"
                FROM rows, range({k}) AS t(i)
                ORDER BY period, customer, item, location, i
            ) TO '{str(tmp).replace("'", "''")}' (FORMAT parquet)"""
        )
        tmp.replace(path)
    finally:
        con.close()
    return len(sales) * k


def externalize_sales(book, folder: Path, lines: int = LARGE_LINES) -> int:
    """Move the Sales Actuals of ``book`` (a FileBook in ``folder``) out of the grid into
    ``folder/data/sales_actuals.parquet`` as ``lines`` posted lines, and point DataSources to it.
    """
    sales = book.read_table(SALES_ACTUALS)
    written = split_sales_lines(sales, lines, folder / SALES_FILE)
    sources = pd.DataFrame(
        {
            "table": [SALES_ACTUALS.title],
            "file": [SALES_FILE.as_posix()],
            "format": ["parquet"],
            "source_table": [None],
            "note": [f"{written:,} posted lines of the demo company (sop-xl demo --large)"],
        },
        dtype=object,
    )
    empty = sales.iloc[0:0]
    book.write([SheetOutput(DATA_SOURCES, sources), SheetOutput(SALES_ACTUALS, empty)])
    return written
