"""The forecast archive: what each past cycle forecast, per stage, read back by later cycles.

**Design (documented in docs/history.md).** The archive is the ``ForecastArchive`` table of the
master workbook (long: cycle, stage, region, item, location, period, lag, quantity, evidence). It
is filled two ways, and both end in the same rows:

1. *Appended as the cycle runs*: consolidation records the accepted regional submissions
   (stage ``Submission``); the history step records the statistical baseline and the consensus
   of the current cycle. The freeze then locks the workbook, archive included, into the snapshot.
2. *Rebuilt from the snapshots* (``sop-xl history --snapshots DIR``): the snapshots folder is
   verified first (content hashes and the ledger chain, :func:`sop_xl.plan.verify.verify`); a
   snapshot that fails is reported as a finding and **not used**, and its cycle is dropped from
   the archive (its numbers cannot be trusted). For each cycle the newest verified version is
   used: its locked ``Forecast`` sheet gives the consensus, its own archive rows of that cycle the
   statistical and submission stages. Cycles no snapshot covers keep their workbook rows.

Lag = months from the cycle to the month forecast (0: the forecast made in the month itself).
Only lags 0 to ``max_lag`` are kept (the longest of 3 and the items' lead times), which is what
accuracy by lag and the FVA report need.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sop_xl.errors import ArgumentError, Finding, Location
from sop_xl.kpi.codes import codes_of, sorted_key
from sop_xl.model.book import Coerced, content_digest
from sop_xl.model.periods import month_index  # NaN for a blank: the archive's policy
from sop_xl.model.schema import ARCHIVED_STAGES, FORECAST_ARCHIVE
from sop_xl.model.sheets import SheetOutput

#: Lags every report shows; the archive keeps at least these.
REPORT_LAGS = (0, 1, 2, 3)
#: The lag :func:`normalise` gives a row whose period or cycle is blank (validation keeps such
#: rows out of the archive sheet): no lag a report asks for, so every report excludes it.
NO_LAG = -1
DAYS_PER_MONTH = 30
SERIES = ["region", "item", "location"]
COLUMNS = FORECAST_ARCHIVE.names
WORKBOOK = "workbook"
#: The ForecastArchive sheet's title line and tab colour (:func:`archive_output`).
TITLE = "Forecast archive (written by sop_xl; rebuild: sop-xl history --snapshots)"
TAB_COLOR = "A6A6A6"


def lead_time_lag(lead_time_days: pd.Series | np.ndarray) -> np.ndarray:
    """Item lead time in whole months, rounded up (0 days -> lag 0; 31 days -> lag 2)."""
    d = np.nan_to_num(np.asarray(lead_time_days, dtype=float), nan=0.0)
    return np.ceil(np.maximum(d, 0.0) / DAYS_PER_MONTH).astype(np.int64)


def max_lag(items: pd.DataFrame | None) -> int:
    """Longest lag to archive: 3, or the longest item lead time in months (at most 12)."""
    if items is None or "lead_time_days" not in items or items.empty:
        return max(REPORT_LAGS)
    return int(min(12, max(max(REPORT_LAGS), lead_time_lag(items["lead_time_days"]).max())))


def empty() -> pd.DataFrame:
    """An archive with no rows (the table's columns)."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})


def stage_rows(
    forecast: pd.DataFrame,
    cycle: str,
    stage: str,
    *,
    lags: int,
    evidence: str = WORKBOOK,
    value: str = "quantity",
) -> pd.DataFrame:
    """Archive rows of one cycle and stage from a long forecast (region, item, location, period,
    ``value``): months from ``cycle`` to ``cycle + lags``; blank quantities are dropped."""
    if stage not in ARCHIVED_STAGES:
        raise ArgumentError(f"stage {stage!r} is not one of {ARCHIVED_STAGES}")
    f = forecast[[*SERIES, "period", value]].rename(columns={value: "quantity"})
    lag = month_index(f["period"]) - month_index([cycle])[0]  # NaN: a blank period
    keep = ~np.isnan(lag) & (lag >= 0) & (lag <= lags) & f["quantity"].notna().to_numpy()
    f = f[keep].copy()
    f["quantity"] = f["quantity"].astype(float)
    f.insert(0, "stage", stage)
    f.insert(0, "cycle", cycle)
    f["lag"] = lag[keep].astype(np.int64)
    f["evidence"] = evidence
    f = f.groupby([*COLUMNS[:6], "lag", "evidence"], sort=False, as_index=False)["quantity"].sum()
    return f[COLUMNS].reset_index(drop=True)


def replace(archive: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``archive`` with every (cycle, stage) present in ``new`` replaced by ``new``'s rows."""
    if archive is None or archive.empty:
        out = new.copy()
    elif new.empty:
        out = archive.copy()
    else:
        pairs = pd.MultiIndex.from_frame(new[["cycle", "stage"]].astype(str)).unique()
        out = pd.concat([archive[~_pair_in(archive, pairs)], new], ignore_index=True)
    out = normalise(out)
    return out.take(_order(out, ["cycle", "stage", *SERIES, "period"])).reset_index(drop=True)


def _pair_in(archive: pd.DataFrame, pairs: pd.MultiIndex) -> np.ndarray:
    """Rows whose (cycle, stage), as text, is one of ``pairs``: the test runs on the distinct
    pairs only (a handful), each row then looks its pair up."""
    cyc, u_cyc = codes_of(archive["cycle"])
    stg, u_stg = codes_of(archive["stage"])
    row_pair, distinct = pd.factorize(cyc * max(len(u_stg), 1) + stg)
    both = pd.DataFrame(
        {
            "cycle": u_cyc[distinct // max(len(u_stg), 1)],
            "stage": u_stg[distinct % max(len(u_stg), 1)],
        },
        dtype=object,
    ).astype(str)
    return pd.MultiIndex.from_frame(both).isin(pairs)[row_pair]


def _order(frame: pd.DataFrame, by: list[str]) -> np.ndarray:
    """The stable sort order of ``frame`` by text columns ``by`` (what
    ``sort_values(by, kind="stable")`` gives: blanks last), from sorted codes of each column."""
    return np.argsort(sorted_key(frame, by).codes, kind="stable")


def normalise(archive: pd.DataFrame) -> pd.DataFrame:
    """Typed archive columns (as the reader gives them, or as built here)."""
    a = archive.copy(deep=False)  # copy on write: the caller's frame is never changed
    for c in ("cycle", "stage", "region", "item", "location", "period", "evidence"):
        if c not in a:
            a[c] = ""
        elif not _is_text(a[c]):
            a[c] = a[c].astype("string").fillna("").astype(object)
    a["quantity"] = pd.to_numeric(a.get("quantity"), errors="coerce").astype(float)
    lag = month_index(a["period"]) - month_index(a["cycle"])
    # a blank period or cycle has no lag: NO_LAG, which no report's lag (0 to 12) matches
    a["lag"] = np.where(np.isnan(lag), NO_LAG, lag).astype(np.int64)
    return a[COLUMNS]


def _is_text(col: pd.Series) -> bool:
    """True when ``col`` already is what :func:`normalise` makes of it: objects, every one a
    text, none blank (then converting it would give the same column)."""
    return col.dtype == object and pd.api.types.infer_dtype(col, skipna=False) in ("string",)


# --- the ForecastArchive sheet ------------------------------------------------------------------
def archive_output(archive: pd.DataFrame) -> SheetOutput:
    """The ForecastArchive sheet as every writer writes it (consolidation's submissions, the
    history step, the demo's past cycles): one title line, grey tab. One layout, whichever step
    wrote it last."""
    return SheetOutput(FORECAST_ARCHIVE, archive, title=[TITLE], tab_color=TAB_COLOR)


def holds(current: Coerced | None, archive: pd.DataFrame) -> bool:
    """True when the workbook's archive as read (``current``: the table's lenient read) already
    is exactly ``archive`` (a :func:`replace` / :func:`normalise` result) in
    :func:`archive_output`'s layout, so writing it would change nothing: the same content
    (a :func:`~sop_xl.model.book.content_digest` of both, normalised), every row read (no
    finding, no row left out) and the rows right below the header, one after the other, with no
    blank row between. Rewriting the 100k-row sheet is then skipped."""
    if current is None or current.findings or current.bad_rows or not len(archive):
        return False
    first = archive_output(archive).header_row + 1
    rows = np.asarray(current.excel_rows, dtype=np.int64)
    if len(rows) != len(archive) or not np.array_equal(rows, np.arange(first, first + len(rows))):
        return False
    now = normalise(current.df)
    same = same_content(now, archive)
    if same is not None:
        return same
    digest = content_digest({"archive": now}, "archive")
    return digest is not None and digest == content_digest({"archive": archive}, "archive")


def same_content(a: pd.DataFrame, b: pd.DataFrame) -> bool | None:
    """Whether ``a`` and ``b`` have the same :func:`~sop_xl.model.book.content_digest` (the same
    columns, dtypes and values; NaN equals NaN and -0.0 equals 0.0, as the digest's hashing has
    it), compared value by value instead of hashing both; None when a column holds a type this
    does not compare (then compare the digests)."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    if [str(t) for t in a.dtypes] != [str(t) for t in b.dtypes]:
        return False
    for c in range(a.shape[1]):
        x, y = a.iloc[:, c], b.iloc[:, c]
        if not isinstance(x.dtype, np.dtype):  # extension types: the digest decides
            return None
        u, v = x.to_numpy(), y.to_numpy()
        if x.dtype.kind == "f":
            equal = bool(((u == v) | (np.isnan(u) & np.isnan(v))).all())
        elif x.dtype.kind in "iub" or (
            x.dtype == object
            and all(pd.api.types.infer_dtype(z, skipna=False) == "string" for z in (x, y))
        ):
            equal = np.array_equal(u, v)
        else:
            return None
        if not equal:
            return False
    return True


# --- rebuilding from snapshots ----------------------------------------------------------------
@dataclass
class SnapshotTables:
    """What one verified snapshot gives the archive (read by the cycle layer)."""

    file: str
    cycle: str
    version: int
    forecast: pd.DataFrame  # its locked consensus (Forecast table, long)
    archive: pd.DataFrame | None = None  # its own ForecastArchive rows (any cycles)
    action_log: pd.DataFrame | None = None  # its ActionLog rows
    actions: pd.DataFrame | None = None  # its Actions table


@dataclass
class Rebuilt:
    """The archive rebuilt from a snapshots folder, and what was not used and why."""

    archive: pd.DataFrame
    action_log: pd.DataFrame | None
    cycles_used: list[str] = field(default_factory=list)
    cycles_excluded: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def excluded_finding(folder: str, file: str, problem: str) -> Finding:
    """The finding for a snapshot that failed verification and so was not used."""
    return Finding(
        "error",
        f"snapshot {file} failed verification and was NOT used for the forecast archive: {problem}",
        Location(file=f"{folder}/{file}"),
        "Restore the snapshot from a backup (sop-xl verify names what changed); until then its "
        "cycle is left out of accuracy by lag and FVA.",
        "history.snapshot_failed",
    )


def rebuild(
    current: pd.DataFrame | None,
    snapshots: Iterable[SnapshotTables],
    *,
    excluded_cycles: Iterable[str] = (),
    lags: int = max(REPORT_LAGS),
    current_log: pd.DataFrame | None = None,
) -> Rebuilt:
    """The archive from verified snapshots (newest version per cycle) plus the workbook rows of
    cycles no snapshot covers; cycles in ``excluded_cycles`` (a snapshot of them failed
    verification and no verified one exists) are dropped."""
    newest: dict[str, SnapshotTables] = {}
    for s in snapshots:
        if s.cycle not in newest or s.version > newest[s.cycle].version:
            newest[s.cycle] = s
    excluded = sorted(set(excluded_cycles) - set(newest))
    parts = []
    logs = []
    for cycle in sorted(newest):
        s = newest[cycle]
        evidence = f"snapshot {s.file} (verified)"
        parts.append(stage_rows(s.forecast, cycle, "Consensus", lags=lags, evidence=evidence))
        if s.archive is not None and len(s.archive):
            own = normalise(s.archive)
            own = own[(own["cycle"] == cycle) & own["stage"].isin(["Statistical", "Submission"])]
            own = own[own["lag"] <= lags].assign(evidence=evidence)
            parts.append(own)
        if s.action_log is not None and len(s.action_log):
            log = s.action_log[s.action_log["cycle"].astype(str) == cycle]
            logs.append(log.assign(evidence=evidence))
    base = normalise(current) if current is not None and len(current) else empty()
    drop = set(newest) | set(excluded)
    base = base[~base["cycle"].isin(drop)]
    archive = replace(base, pd.concat(parts, ignore_index=True) if parts else empty())
    action_log = None
    if current_log is not None or logs:
        cur = current_log if current_log is not None else pd.DataFrame(columns=["cycle"])
        cur = cur[~cur["cycle"].astype(str).isin(drop)]
        action_log = pd.concat([cur, *logs], ignore_index=True)
    return Rebuilt(archive, action_log, sorted(newest), excluded)
