"""Transaction tables beyond Excel's grid: Parquet, CSV or DuckDB files next to the workbook.

A mid-size company posts more than Excel's 1,048,576 sales or order lines a year. The
*DataSources* sheet (:data:`~sop_xl.model.schema.DATA_SOURCES`) points one of the transaction
tables (:data:`~sop_xl.model.schema.EXTERNAL_TABLES`) to a file;
:class:`~sop_xl.io.filebook.FileBook` then reads that table from the file instead of its sheet,
and every step works unchanged.

The file is read with DuckDB, in SQL, without loading it into Python first:

* **The same schema rules as a sheet** (:func:`read_external`): the file's columns are matched to
  the table's headers (``Item No.``) or engine names (``item``), case- and space-insensitive; each
  value is typed, and the rules of the column are checked in one pass over the file: required,
  number, whole number, finite, minimum, date, period (``YYYY-MM``), allowed choices, text no longer
  than an Excel cell. Each broken rule is one finding with its count and the first rows, naming
  the file, the row in the file and the column. Rows with errors are left out, as on a sheet.
* **Aggregated where the grain allows it**: *Sales Actuals* are posted lines, so several lines of
  the same customer x item x location x month are summed (in DuckDB) into the table's grain; a
  file of raw invoice lines may carry a ``Posting Date`` instead of a ``Period``. The other tables
  keep their keys unique (duplicate keys are findings, as on a sheet).
* **Safe by construction**: DuckDB runs with extension auto-loading off and with file access
  limited to the one file it reads; nothing in the file is executed.

Only the typed (and, for sales, aggregated) frame reaches pandas; only the KPI and variance
results land in the workbook. ``sha256`` of each file goes into the frozen plan's ledger record
(:func:`fingerprint`), so ``sop-xl verify`` can prove which data a plan was built from.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from sop_xl.errors import Finding, InputFileError, Location
from sop_xl.io import reader, tablestore
from sop_xl.io.files import atomic_path, plain_name, sha256_file
from sop_xl.io.reader import MAX_FINDINGS_PER_COLUMN, Coerced, norm_header
from sop_xl.model import schema
from sop_xl.model.frames import typed
from sop_xl.model.schema import (
    DATA_SOURCES,
    EXTERNAL_TABLES,
    NUMERIC_DTYPES,
    SALES_ACTUALS,
    WRITTEN_EXTERNAL_TABLES,
    Column,
    Dtype,
    Table,
)
from sop_xl.model.sheets import SheetOutput

#: Tables whose file rows are posted lines, summed into the table's grain (all measures add up).
ADDITIVE: frozenset[str] = frozenset({SALES_ACTUALS.name})
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".duckdb": "duckdb"}
MAX_TEXT = 32767  # Excel's limit of characters in a cell
EXAMPLES = 3  # rows quoted per broken rule
#: DuckDB types that hold numbers already: no text to parse, so no "is text" rule
_NUMBER_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "REAL",
    "DOUBLE",
    "DECIMAL",
)


@dataclass(frozen=True)
class Source:
    """One row of the DataSources table, resolved."""

    table: Table
    path: Path
    fmt: str  # parquet | csv | duckdb
    relation: str | None = None  # the table inside a .duckdb file
    #: sop_xl writes the table to the file (:data:`~sop_xl.model.schema.WRITTEN_EXTERNAL_TABLES`):
    #: until the first write the file need not exist, and the table is read from its sheet
    written: bool = False

    @property
    def pending(self) -> bool:
        """A file sop_xl writes that it has not created yet: the table is still read from its
        sheet, whose rows the first write moves to the file."""
        return self.written and not self.path.is_file()


def kept_copy_name(plan: str, table: str) -> str:
    """The name of the copy of ``table``'s file (by title) that the frozen ``plan`` keeps beside
    it: ``SOP_Plan_2026-11_v01.forecast_archive.parquet``."""
    return f"{Path(plan).stem}.{table.lower().replace(' ', '_')}.parquet"


# --- the DataSources table ------------------------------------------------------------------------
def sources(
    rows: pd.DataFrame, base: Path | None, book: str
) -> tuple[dict[str, Source], list[Finding]]:
    """Resolve the DataSources rows against the workbook's folder ``base`` (None: a workbook
    never saved, so it has no folder, and each row is a finding).

    Returns the usable sources by table name and a finding for each row that cannot be used (the
    table is then read from its sheet as usual). A table sop_xl writes (the forecast archive)
    must be kept in Parquet, and its file may not exist yet (:func:`readable`).
    """
    by_title = {t.title.casefold(): t for t in (*EXTERNAL_TABLES, *WRITTEN_EXTERNAL_TABLES)}
    titles = ", ".join(t.title for t in (*EXTERNAL_TABLES, *WRITTEN_EXTERNAL_TABLES))
    found: dict[str, Source] = {}
    findings: list[Finding] = []
    for i, row in enumerate(rows.itertuples(index=False), start=2):
        where = Location(book, DATA_SOURCES.sheet, DATA_SOURCES.name, row=i, column="File")
        table = by_title.get(str(row.table).strip().casefold())
        if table is None:
            findings.append(
                Finding(
                    "error",
                    f"'{row.table}' cannot be read from a file.",
                    Location(book, DATA_SOURCES.sheet, DATA_SOURCES.name, row=i, column="Table"),
                    f"Choose one of: {titles}.",
                    "source.table",
                )
            )
            continue
        path = Path(str(row.file).strip())
        if base is None and not path.is_absolute():
            findings.append(
                Finding(
                    "error",
                    f"the workbook has not been saved to a folder, so '{row.file}' for "
                    f"{table.title} cannot be found (its path is relative to the workbook's "
                    "folder); the table is read from its sheet.",
                    where,
                    "Save the workbook (File > Save As) to the folder that holds the file, "
                    "then run the step again.",
                    "source.unsaved",
                )
            )
            continue
        path = path if path.is_absolute() or base is None else base / path
        fmt = str(row.format).strip().casefold() if row.format else FORMATS.get(path.suffix.lower())
        if fmt not in ("parquet", "csv", "duckdb"):
            findings.append(
                Finding(
                    "error",
                    f"the format of '{row.file}' is unknown.",
                    where,
                    "Use a .parquet, .csv or .duckdb file, or fill in the Format column.",
                    "source.format",
                )
            )
            continue
        written = table in WRITTEN_EXTERNAL_TABLES
        if written and fmt != "parquet":
            findings.append(
                Finding(
                    "error",
                    f"sop_xl writes the {table.title} to its file every cycle, in Parquet; "
                    f"'{row.file}' is {fmt}.",
                    where,
                    "Name a .parquet file (e.g. data/forecast_archive.parquet): the next step "
                    "that writes the archive creates it.",
                    "source.format",
                )
            )
            continue
        if not path.is_file() and not written:
            findings.append(
                Finding(
                    "error",
                    f"the file '{row.file}' for {table.title} does not exist ({path}).",
                    where,
                    "Put the file next to the workbook, or correct the path on DataSources.",
                    "source.missing",
                )
            )
            continue
        relation = str(row.source_table).strip() if row.source_table else None
        found[table.name] = Source(table, path, fmt, relation or table.sheet, written)
    return found, findings


def readable(found: dict[str, Source]) -> dict[str, Source]:
    """The sources a table is read from now: all but a written table's file not created yet
    (that table is still read from its sheet, whose rows its first write moves to the file)."""
    return {name: s for name, s in found.items() if not s.pending}


def moving(found: dict[str, Source], table: Table, book: str) -> Finding | None:
    """The note on ``table`` read from its sheet while DataSources names a file sop_xl writes it
    to and that file does not exist yet: its rows move there at the next write (a note, so the
    table is never taken as already written where it belongs, and that write is not skipped)."""
    source = found.get(table.name)
    if source is None or not source.pending:
        return None
    return Finding(
        "info",
        f"the {table.title} is read from its sheet until the next step that writes it moves "
        f"its rows to {source.path.name} (the DataSources sheet names that file).",
        Location(book, table.sheet, table.name),
        "Nothing to do: Consolidate or Plan History moves them.",
        "source.moving",
    )


def write_files(outputs: Sequence[SheetOutput], found: dict[str, Source]) -> list[SheetOutput]:
    """Write each output whose table lives in a file it writes (:data:`Source.written`) to that
    file (Parquet, replaced atomically); returns the outputs for the workbook, in which such a
    table's sheet is left empty with a title line saying where its rows are. Callers write the
    files first, then the workbook: a failed workbook write leaves the newest rows in the file,
    which is then what every step reads."""
    out = []
    for o in outputs:
        source = found.get(o.table.name)
        if source is None or not source.written:
            out.append(o)
            continue
        write_parquet(source, o.df)
        title = (
            f"{o.table.title}: {len(o.df):,} rows, kept in {source.path.name} beside the workbook "
            "(the DataSources sheet names it); sop_xl writes it there."
        )
        out.append(replace(o, df=o.df.iloc[0:0], title=[title]))
    return out


def _refill(source: Source, export: str) -> str:
    """How to get a good file again: export it again, or for a file sop_xl writes (the forecast
    archive), take the copy the last frozen plan keeps or rebuild it from the plans."""
    if not source.written:
        return export
    return (
        "Put back the copy the last frozen plan keeps beside it (snapshots/"
        f"{kept_copy_name('SOP_Plan_<cycle>_<version>', source.table.title)}, saved as "
        f"{source.path.name}), or move the damaged file away and rebuild the archive from the "
        "frozen plans: sop-xl history --snapshots snapshots."
    )


def write_parquet(source: Source, frame: pd.DataFrame) -> None:
    """``frame`` (typed, engine names) to ``source.path`` as Parquet with the sheet's headers:
    written beside it under a temporary name, then put in its place in one step."""
    import duckdb

    headers = {c.name: c.header for c in source.table.columns}
    data = frame[[c for c in headers if c in frame]].rename(columns=headers)
    source.path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(source.path) as tmp:
        con = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        try:
            con.register("rows", data)
            target = str(tmp).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM rows) TO '{target}' (FORMAT parquet)")
        except duckdb.Error as exc:  # a full disk, a file another program holds
            raise InputFileError(
                f"the {source.table.title} could not be written to {source.path.name} "
                f"({_first_line(exc)}); nothing was changed.",
                where=Location(str(source.path), table=source.table.name),
                fix="Check that the folder has room and that no other program has the file "
                "open, then run the step again.",
            ) from None
        finally:
            con.close()


def fingerprint(source: Source) -> dict[str, object]:
    """What the ledger records of an external file: which table, which file, its exact bytes;
    ``written``: a file sop_xl writes (the forecast archive), which the freeze keeps a copy of
    (:func:`sop_xl.plan.snapshot.keep_copies`)."""
    return {
        "table": source.table.title,
        "file": source.path.name,
        "path": str(source.path),
        "bytes": source.path.stat().st_size,
        "sha256": sha256_file(source.path),
        **({"written": True} if source.written else {}),
    }


def frozen_copy(folder: Path, record: dict, table: Table) -> Source | None:
    """The copy of ``table``'s file that the frozen plan of ``record`` keeps in its ``folder``
    (:func:`fingerprint`), or None when the plan keeps none."""
    for src in record.get("external_sources") or []:
        name = str(src.get("copy") or "")
        if src.get("table") == table.title and plain_name(name):
            return Source(table, folder / name, "parquet")
    return None


# --- reading one file -----------------------------------------------------------------------------
def _connect(path: Path):
    import duckdb

    con = duckdb.connect(
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "threads": 2,
        }
    )
    con.execute("SET allowed_paths = ?", [[str(path), f"{path}.wal"]])  # a .duckdb's log
    con.execute("SET enable_external_access = false")
    return con


def _scan(source: Source) -> str:
    """SQL of the file's rows with ``_row``: the row number a person finds in the file."""
    p = str(source.path).replace("'", "''")
    if source.fmt == "parquet":  # row 1 = first data row
        return (
            f"SELECT *, file_row_number + 1 AS _row FROM read_parquet('{p}', file_row_number=true)"
        )
    if source.fmt == "csv":  # the line in a text editor: the header is line 1
        return (
            f"SELECT *, row_number() OVER () + 1 AS _row "
            f"FROM read_csv('{p}', header=true, all_varchar=true)"
        )
    rel = (source.relation or source.table.sheet).replace('"', '""')
    return f'SELECT *, row_number() OVER () AS _row FROM src."{rel}"'


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(col: str) -> str:
    return f"NULLIF(trim(CAST({col} AS VARCHAR)), '')"


def _typing(column: Column, raw: str, native: bool) -> str:
    """The SQL of ``column``'s typed value from ``raw``: its cleaned text (blank = NULL), or the
    file's own number when ``native``."""
    if column.dtype in NUMERIC_DTYPES:
        return (
            f"CAST({raw} AS DOUBLE)" if native else f"TRY_CAST(replace({raw}, ',', '') AS DOUBLE)"
        )
    if column.dtype in (Dtype.DATE, Dtype.DATETIME):
        return f"TRY_CAST({raw} AS TIMESTAMP)"
    if column.dtype == Dtype.PERIOD:  # a period as text (2026-11) or a date in that month
        return (
            f"CASE WHEN regexp_full_match({raw}, '\\d{{4}}-(0[1-9]|1[0-2])') THEN {raw} "
            f"ELSE strftime(TRY_CAST({raw} AS DATE), '%Y-%m') END"
        )
    return raw


def _rules(column: Column, raw: str, typed: str, native: bool) -> list[tuple[str, str, str, str]]:
    """The rules of one column as (bad-when SQL, message, fix, rule), over its cleaned text
    ``raw`` and typed value ``typed`` (see :func:`_typing`). Every bad-when is true or false,
    never NULL (a blank optional number is not bad)."""
    rules: list[tuple[str, str, str, str]] = []
    if column.dtype in NUMERIC_DTYPES:
        if not native:  # a number is never text
            rules.append(
                (f"{raw} IS NOT NULL AND {typed} IS NULL", "is text, a number was expected",
                 "Type a number (no units or letters).", "value.not_number"),
            )  # fmt: skip
        rules.append(
            (f"{typed} IS NOT NULL AND NOT isfinite({typed})", "is not a finite number",
             "Replace inf / NaN with the real value.", "value.not_finite"),
        )  # fmt: skip
        if column.dtype == Dtype.INT:
            rules.append(
                (f"isfinite({typed}) AND abs({typed} - round({typed})) > 1e-9",
                 "is not a whole number", "Type a whole number.", "value.not_int"),
            )  # fmt: skip
        if column.min_value is not None:
            rules.append(
                (f"{typed} < {column.min_value!r}", f"is below the minimum {column.min_value:g}",
                 "Enter 0 or a positive value.", "value.negative"),
            )  # fmt: skip
    elif column.dtype in (Dtype.DATE, Dtype.DATETIME):
        rules.append(
            (f"{raw} IS NOT NULL AND {typed} IS NULL", "is not a date",
             "Write dates as yyyy-mm-dd.", "value.not_date"),
        )  # fmt: skip
    elif column.dtype == Dtype.PERIOD:
        rules.append(
            (f"{raw} IS NOT NULL AND {typed} IS NULL", "is not a month (YYYY-MM)",
             "Write the month as YYYY-MM, e.g. 2026-11.", "value.not_period"),
        )  # fmt: skip
    else:
        rules.append(
            (f"length({raw}) > {MAX_TEXT}", f"is longer than {MAX_TEXT:,} characters",
             "Shorten the text: an Excel cell holds at most 32,767 characters.", "value.too_long"),
        )  # fmt: skip
        if column.choices:
            allowed = ", ".join("'" + c.replace("'", "''") + "'" for c in column.choices)
            rules.append(
                (f"{raw} IS NOT NULL AND {raw} NOT IN ({allowed})", "is not an allowed value",
                 "Use one of: " + ", ".join(column.choices) + ".", "value.choice"),
            )  # fmt: skip
    if column.required:
        rules.append(
            (f"{raw} IS NULL", "is blank", f"Fill in {column.header} in every row.",
             "value.required"),
        )  # fmt: skip
    return [(f"coalesce({bad}, false)", *rest) for bad, *rest in rules]


def _match_columns(
    table: Table, names: Iterable[str], where: Location
) -> tuple[dict[str, str], list[Finding]]:
    """File column for each table column (header or engine name); findings for missing ones."""
    by_norm = {norm_header(n): n for n in names if n != "_row"}
    found: dict[str, str] = {}
    findings: list[Finding] = []
    for c in table.columns:
        name = by_norm.get(norm_header(c.header)) or by_norm.get(norm_header(c.name))
        if name is None and c.dtype == Dtype.PERIOD and table.name in ADDITIVE:
            name = by_norm.get("posting date")  # raw invoice lines: the month of their date
        if name is not None:
            found[c.name] = name
        elif c.required:
            findings.append(
                Finding(
                    "error",
                    f"column '{c.header}' is missing (the file has: "
                    f"{', '.join(n for n in by_norm.values())}).",
                    Location(where.file, table=where.table, column=c.header),
                    f"Add a column headed '{c.header}' (or '{c.name}') to the file.",
                    "header.missing",
                )
            )
    return found, findings


def read_external(source: Source) -> Coerced:
    """Read, check and type ``source``'s table from its file (see the module docstring).

    The result is kept in the table store (:mod:`sop_xl.io.tablestore`) under the file's sha256,
    so the next step that reads the same bytes (variances after KPIs, the next click) does not
    scan the file again.
    """
    key = _store_key(source)
    hit = tablestore.load(key, source.table, b"") if key else None  # no shared strings
    if hit is not None:
        return replace(hit, source=str(source.path))
    result = _read_external(source)
    if key:
        tablestore.save(key, source.table, replace(result, source=None), b"")
    return result


def _store_key(source: Source) -> str | None:
    """The store key of ``source``: its file's exact bytes (and a .duckdb file's log), where it
    is (findings name the path), how it is read, and the code and schema that read it."""
    if tablestore.cache_dir() is None:
        return None
    h = hashlib.sha256(f"external\0{_code()}\0{source.table.model_dump_json()}\0".encode())
    h.update(f"{source.fmt}\0{source.relation}\0{source.path}\0".encode())
    for file in (source.path, source.path.with_name(source.path.name + ".wal")):
        h.update((sha256_file(file) if file.is_file() else "-").encode())
    return h.hexdigest()


@functools.cache
def _code() -> str:
    """A digest of the code that decides what a file reads as (a changed rule or a new DuckDB
    never meets an entry made without it)."""
    from importlib.metadata import version

    h = hashlib.sha256()
    for module in (reader, schema):
        h.update(Path(str(module.__file__)).read_bytes())
    h.update(Path(__file__).read_bytes())
    h.update(version("duckdb").encode())
    return h.hexdigest()


@dataclass(frozen=True)
class _Col:
    """A table column found in the file, as the SQL sees it: ``_c{i}`` is its cleaned text (or
    the file's own number), ``_t{i}`` its typed value."""

    column: Column
    i: int
    native: bool

    @property
    def raw(self) -> str:
        return f"_c{self.i}"

    @property
    def typed(self) -> str:
        return f"_t{self.i}"

    def typing(self) -> str:
        return _typing(self.column, self.raw, self.native)

    def rules(self) -> list[tuple[str, str, str, str]]:
        return _rules(self.column, self.raw, self.typed, self.native)


def _read_external(source: Source) -> Coerced:
    table = source.table
    where = Location(str(source.path), table=table.name)
    try:
        con = _connect(source.path)
        if source.fmt == "duckdb":
            p = str(source.path).replace("'", "''")
            con.execute(f"ATTACH '{p}' AS src (READ_ONLY)")
        con.execute(f"CREATE TEMP VIEW f AS {_scan(source)}")
        kinds = {r[0]: str(r[1]).upper() for r in con.execute("DESCRIBE f").fetchall()}
    except Exception as exc:  # duckdb raises IOException, InvalidInputException, ...
        raise InputFileError(
            f"the {source.fmt} file for {table.title} cannot be read ({_first_line(exc)}).",
            where=where,
            fix=_refill(
                source,
                "Export the table again (Parquet or CSV with a header row) and check the path.",
            ),
        ) from None
    mapping, findings = _match_columns(table, kinds, where)
    if any(f.severity == "error" for f in findings):
        con.close()
        return Coerced(typed(table, pd.DataFrame()), findings, 0)
    cols = {
        c.name: _Col(c, i, c.dtype in NUMERIC_DTYPES and kinds[name].startswith(_NUMBER_TYPES))
        for i, c in enumerate(table.columns)
        if (name := mapping.get(c.name)) is not None
    }
    try:
        # each value cleaned (v) and typed (w) once per line, however many rules read it
        clean = [
            f"{_q(mapping[n]) if c.native else _text(_q(mapping[n]))} AS {c.raw}"
            for n, c in cols.items()
        ]
        con.execute(f"CREATE TEMP VIEW v AS SELECT _row, {', '.join(clean)} FROM f")
        typing = ", ".join(f"{c.typing()} AS {c.typed}" for c in cols.values())
        con.execute(f"CREATE TEMP VIEW w AS SELECT *, {typing} FROM v")
        df = _summed_if_clean(con, table, cols)
        bad_rows = 0
        if df is None:
            df, bad_rows = _checked(con, table, cols, where, findings)
    except Exception as exc:
        raise InputFileError(
            f"the {source.fmt} file for {table.title} could not be checked ({_first_line(exc)}).",
            where=where,
            fix=_refill(source, "Export the table again (Parquet or CSV with a header row)."),
        ) from None
    finally:
        con.close()
    rows = df.pop("_row").to_numpy(np.int64)
    if table.name not in ADDITIVE:
        dup = _duplicates(table, df, rows, where, findings)
        df, rows = df.loc[~dup].reset_index(drop=True), rows[~dup]
        bad_rows += int(dup.sum())
    return Coerced(typed(table, df), findings, int(bad_rows), rows, source=str(source.path))


def _summed_if_clean(con, table: Table, cols: dict[str, _Col]) -> pd.DataFrame | None:
    """Posted lines summed into the table's grain in one pass over the file, or None when the
    table is not summed or any row breaks a rule (:func:`_checked` then counts and quotes them).

    The pass groups the lines by their keys *as written* and sums the measures, flagging groups
    that hold a line with a bad number; the rules of the keys, which depend only on the key's
    value, are then checked once per group instead of once per line, and the groups are summed
    again by the typed keys (``2026-11`` and a date in November are the same month).
    """
    keys = [cols.get(k) for k in table.keys]
    measures = [cols.get(c.name) for c in table.columns if c.name not in table.keys]
    if table.name not in ADDITIVE or None in keys or None in measures:
        return None
    keys_, measures_ = [k for k in keys if k], [m for m in measures if m]
    if any(m.column.dtype not in NUMERIC_DTYPES for m in measures_):
        return None
    row_bad = [bad for m in measures_ for bad, *_ in m.rules()] or ["false"]
    key_bad = [bad for k in keys_ for bad, *_ in k.rules()] or ["false"]
    sums = ", ".join(f"sum({m.typed}) AS _m{m.i}" for m in measures_)
    con.execute(
        f"CREATE TEMP TABLE g AS SELECT {', '.join(k.raw for k in keys_)}, "
        f"{' OR '.join(row_bad)} AS _bad, {sums}, min(_row) AS _row FROM w GROUP BY ALL"
    )
    typed = ", ".join(f"{k.typing()} AS {k.typed}" for k in keys_)
    con.execute(f"CREATE TEMP VIEW h AS SELECT *, {typed} FROM g")
    broken = con.execute(
        f"SELECT count(*) FILTER (WHERE _bad OR {' OR '.join(key_bad)}) FROM h"
    ).fetchone()
    if broken and broken[0]:
        return None
    out = ", ".join(f"{k.typed} AS {_q(k.column.name)}" for k in keys_)
    total = ", ".join(f"sum(_m{m.i}) AS {_q(m.column.name)}" for m in measures_)
    return con.execute(
        f"SELECT {out}, {total}, min(_row) AS _row FROM h GROUP BY ALL ORDER BY _row"
    ).df()


def _checked(
    con, table: Table, cols: dict[str, _Col], where: Location, findings: list[Finding]
) -> tuple[pd.DataFrame, int]:
    """Every rule counted over every row (a finding with examples for each broken one), and the
    good rows (summed into the grain for a table of posted lines); also the number of bad rows."""
    checks = [(c, *rule) for c in cols.values() for rule in c.rules()]
    bad_any = " OR ".join(f"({bad})" for _, bad, *_ in checks) or "false"
    tallies = [f"count(*) FILTER (WHERE {bad})" for _, bad, *_ in checks]
    tallies.append(f"count(*) FILTER (WHERE {bad_any})")
    *per_rule, bad_rows = con.execute(f"SELECT {', '.join(tallies)} FROM w").fetchone()
    for (c, bad, message, fix, rule), n in zip(checks, per_rule, strict=True):
        if n:
            examples = con.execute(
                f"SELECT _row, CAST({c.raw} AS VARCHAR) FROM w WHERE {bad} "
                f"ORDER BY _row LIMIT {EXAMPLES}"
            ).fetchall()
            findings.append(_finding(where, c.column, message, fix, rule, n, examples))
    select = ", ".join(
        f"{cols[c.name].typed if c.name in cols else 'NULL'} AS {_q(c.name)}" for c in table.columns
    )
    good = f"SELECT {select}, _row FROM w WHERE NOT ({bad_any})"
    if table.name in ADDITIVE:
        keys = ", ".join(_q(k) for k in table.keys)
        sums = ", ".join(
            f"sum({_q(c.name)}) AS {_q(c.name)}" for c in table.columns if c.name not in table.keys
        )
        query = f"SELECT {keys}, {sums}, min(_row) AS _row FROM ({good}) GROUP BY ALL"
    else:
        query = good
    return con.execute(f"{query} ORDER BY _row").df(), int(bad_rows)


def _finding(
    where: Location,
    column: Column,
    message: str,
    fix: str,
    rule: str,
    n: int,
    examples: list[tuple[int, object]],
) -> Finding:
    shown = ", ".join(f"row {r}" + ("" if v is None else f" '{str(v)[:40]}'") for r, v in examples)
    more = f" ({n:,} rows; first: {shown})" if n > 1 else f" ({shown})"
    return Finding(
        "error",
        f"{column.header} {message}{more}.",
        Location(where.file, table=where.table, row=int(examples[0][0]), column=column.header),
        fix,
        rule,
    )


def _duplicates(
    table: Table, df: pd.DataFrame, rows: np.ndarray, where: Location, findings: list[Finding]
) -> np.ndarray:
    keys = [k for k in table.keys if k in df.columns]
    if not keys or df.empty:
        return np.zeros(len(df), dtype=bool)
    dup = df.duplicated(subset=keys, keep=False).to_numpy(bool)
    if dup.any():
        first = pd.Series(rows[dup]).groupby([df.loc[dup, k].to_numpy() for k in keys]).apply(list)
        for key, rs in list(first.items())[:MAX_FINDINGS_PER_COLUMN]:
            text = " / ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
            findings.append(
                Finding(
                    "error",
                    f"duplicate {' x '.join(table.column(k).header for k in keys)} '{text}' "
                    f"in rows {', '.join(str(r) for r in rs[:10])}.",
                    Location(where.file, table=where.table, row=int(rs[0])),
                    "Keep one row per key in the file: delete or merge the duplicates.",
                    "key.duplicate",
                )
            )
    return dup


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
