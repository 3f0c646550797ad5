"""The variance step's result, in its own module: the step builds it and :mod:`.sheets` draws
it, and neither has to import the other for the type."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sop_xl.model.sheets import SheetOutput


@dataclass
class VarianceResult:
    """Everything the variance step computes, as DataFrames, plus the sheets to write.

    ``by_account``: G/L account x period (table VarianceSummary). ``totals``: by account type.
    ``mapped`` / ``unmapped``: the sales budget lines, split. ``reconciliation``: input = output
    lines and findings (table VarianceRecon). ``findings``: reconciliation findings.
    ``detail`` / ``rollups`` / ``pvm``: actual vs plan (filled by :func:`run_variances`);
    ``pvm``: price/volume/mix with the item as mix unit; ``pvm_levels``: the same per mix unit
    (``item``, ``region`` = region x item, ``customer`` = customer x item), line by line;
    ``pvm_by_customer``: the region and customer levels summed per region / customer and period
    (column ``level``: Region / Customer), the PVMByCustomer sheet.
    """

    by_account: pd.DataFrame
    totals: pd.DataFrame
    mapped: pd.DataFrame
    unmapped: pd.DataFrame
    reconciliation: pd.DataFrame
    findings: pd.DataFrame
    detail: pd.DataFrame = field(default_factory=pd.DataFrame)
    rollups: dict[str, pd.DataFrame] = field(default_factory=dict)
    pvm: pd.DataFrame = field(default_factory=pd.DataFrame)
    pvm_by_customer: pd.DataFrame = field(default_factory=pd.DataFrame)
    pvm_levels: dict[str, pd.DataFrame] = field(default_factory=dict)
    outputs: list[SheetOutput] = field(default_factory=list)
    summary: str = ""
