"""Typed tables kept between clicks: each input table is parsed once per change, not per step.

Every ribbon button and every ``sop-xl`` command starts a fresh Python process, and each used to
parse the same input sheets again (about 1.5 s of a KPI click on the demo master). The store keeps
what :func:`sop_xl.io.reader.coerce` made of a table - the typed frame, its findings, the rows it
left out - in a per-user cache folder, under a key that changes whenever anything the result
depends on changes:

* the **raw bytes of the parts the table is read from**: its worksheet, the sheet's relationships
  and table parts (the part-level writer copies parts it does not write byte for byte, so
  writing an output sheet leaves the inputs' keys alone);
* the workbook's date system (1900 / 1904), the table's declared schema and sop_xl's version.

The **shared strings** (``xl/sharedStrings.xml``) are checked apart from the key: the writer only
appends to that table (:mod:`sop_xl.io.xlsx.sst`), so every write of an output sheet with a new
text changes its bytes. An entry records the digest of the string entries as they were when the
table was parsed, and is used only while the workbook's table still *starts with* exactly those
entries: the worksheet (in the key) refers to strings by index, and indices below that count
then name the same texts. Excel rewrites the table in its own order when it saves, which fails
the check, so the table is parsed again.

Cell *formats* are not part of the key: a table's values are typed by its schema, not by how the
cells are formatted. Entries are numpy ``.npz`` files read with ``allow_pickle=False`` (nothing in
the cache can execute code); a text column is kept as its distinct values and a code per row, so
loading it makes one string object per distinct value (the 109,440-row forecast archive loads in
0.07 s instead of 0.18 s). The folder is ``SOP_XL_CACHE_DIR`` when set (``off`` disables the
store), else the platform's cache folder; it keeps the newest :data:`MAX_ENTRIES` entries.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import struct
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from sop_xl.errors import Finding, Location, SopError
from sop_xl.io import guard
from sop_xl.io.files import atomic_path, cache_dir, sha256_file
from sop_xl.io.xlsx.parts import PREFIX_B, WORKBOOK, rel_targets, rels_name
from sop_xl.model.book import Coerced
from sop_xl.model.frames import typed_arrays
from sop_xl.model.schema import Dtype, Table

MAX_ENTRIES = 400
FORMAT = "3"  # bump when the entry layout changes
_DATE1904 = re.compile(rb"""\bdate1904\s*=\s*(["'])(?:1|true)\1""")


def _raw(f, info: zipfile.ZipInfo) -> bytes:
    """A member's stored (compressed) bytes, as the writer copies them."""
    f.seek(info.header_offset)
    head = f.read(30)
    n, m = struct.unpack("<2H", head[26:30])
    f.seek(info.header_offset + 30 + n + m)
    return f.read(info.compress_size)


def table_key(path: Path, sheet_part: str | None, table: Table) -> str | None:
    """The key of ``table`` as read from ``sheet_part`` of ``path`` (None: do not cache)."""
    if sheet_part is None:
        return None
    h = hashlib.sha256()
    h.update(f"{FORMAT}\0{_version()}\0{table.model_dump_json()}\0".encode())
    with zipfile.ZipFile(path) as zf, open(path, "rb") as f:
        infos = {i.filename: i for i in zf.infolist()}
        rels = rels_name(sheet_part)
        parts = [sheet_part, rels]
        if rels in infos:
            parts += rel_targets(zf.read(rels), sheet_part)
        for part in parts:
            info = infos.get(part)
            h.update(part.encode() + b"\0")
            if info is not None:
                h.update(_raw(f, info))
        h.update(b"1904" if _DATE1904.search(zf.read(WORKBOOK)) else b"1900")
    return h.hexdigest()


SST_PART = "xl/sharedStrings.xml"  # where Excel and calamine keep it
#: The table's start and end tags, in any namespace prefix (:data:`.parts.PREFIX_B`).
_SST_OPEN = re.compile(rb"<" + PREFIX_B + rb"sst(?=[\s/>])[^>]*>")
_SST_CLOSE = re.compile(rb"</" + PREFIX_B + rb"sst\s*>\s*$")


def shared_strings(path: Path) -> bytes:
    """The entries of the workbook's shared-strings table: the XML between ``<sst ...>`` and
    ``</sst>`` (the start tag, whose counts change on every append, is left out); ``b""`` when
    the workbook has none."""
    with zipfile.ZipFile(path) as zf:
        try:
            xml = zf.read(SST_PART)
        except KeyError:
            return b""
    start = _SST_OPEN.search(xml)
    if start is None or start.group().endswith(b"/>"):
        return b""
    # the end tag can only be the last "</" (nothing but spaces follow it): matched there, not
    # searched for through the whole table
    end = _SST_CLOSE.match(xml, max(start.end(), xml.rfind(b"</")))
    return xml[start.end() : end.start() if end else len(xml)]


def _strings_fit(strings: bytes, length: int, digest: str) -> bool:
    """True when ``strings`` starts with the ``length`` bytes of entries digested as
    ``digest`` (appended entries after them are fine: the indices an entry's sheet uses are all
    below their count)."""
    return len(strings) >= length and hashlib.sha256(strings[:length]).hexdigest() == digest


@functools.cache
def _version() -> str:
    """sop_xl's version and a digest of the code that decides what a table reads as (the guard,
    the reader, the schema, this store): a changed rule never meets an entry made without it."""
    from sop_xl.io import guard, reader
    from sop_xl.model import schema

    h = hashlib.sha256()
    for module in (guard, reader, schema, sys.modules[__name__]):
        h.update(Path(str(module.__file__)).read_bytes())
    try:
        from importlib.metadata import version

        h.update(version("sop-xl").encode())
    except Exception:  # running from a checkout that was never installed
        pass
    return h.hexdigest()


# --- the guard's verdict -----------------------------------------------------------------------
def checked(
    path: Path,
    limits: guard.Limits = guard.DEFAULT_LIMITS,
    before_scan: Callable[[], object] | None = None,
    share: guard.ShareScan | None = None,
) -> guard.FileInfo:
    """:func:`sop_xl.io.guard.check_workbook_file`, remembered by the file's exact bytes.

    The same bytes always get the same verdict, so a workbook that passed the guard and was not
    changed since is not decompressed and scanned again on the next click. A file that fails is
    never remembered: it is checked, and refused, every time. ``before_scan`` is called when the
    file is about to be scanned (its verdict is not kept): work that can start meanwhile;
    ``share``: a helper's share of the scan (:class:`sop_xl.io.guard.ScanShare`).
    """
    root = cache_dir()
    if root is None or not Path(path).is_file():
        return guard.check_workbook_file(path, limits)
    digest = sha256_file(Path(path))
    file = root / f"{_verdict_key(digest, limits)}.guard.json"
    try:
        info = _info(Path(path), digest, json.loads(file.read_text(encoding="utf-8")))
        info.frozen = guard.frozen_marks(path)  # not from the cache: the ledger next to it changes
        return info
    except (OSError, KeyError, ValueError, TypeError):
        pass
    if before_scan is not None:
        before_scan()
    parts = _PartVerdicts(root)
    info = guard.check_workbook_file(path, limits, parts, share)
    parts.save()  # only for a file that passed
    remember(info, limits)
    return info


#: How many large parts' guard verdicts are kept (each about 100 bytes of JSON).
MAX_PART_VERDICTS = 4096


class _PartVerdicts:
    """The guard's verdicts of large parts (:class:`sop_xl.io.guard.PartVerdicts`), for every
    workbook in one file, ``guard-parts.json``: after a user saves a workbook, the sheets they
    did not touch are stored byte for byte as before and are not scanned again."""

    def __init__(self, root: Path) -> None:
        self.file = root / "guard-parts.json"
        self.new: dict[str, list[int]] = {}
        self._known: dict[str, list[int]] | None = None

    def _load(self) -> dict[str, list[int]]:
        if self._known is None:
            try:
                data = json.loads(self.file.read_text(encoding="utf-8"))
                ok = isinstance(data, dict) and data.get("version") == _version()
                self._known = dict(data["parts"]) if ok else {}
            except (OSError, ValueError, KeyError, TypeError):
                self._known = {}
        return self._known

    def get(self, digest: str) -> list[int] | None:
        verdict = self._load().get(digest)
        if isinstance(verdict, list) and all(type(v) is int for v in verdict):
            return verdict
        return None

    def put(self, digest: str, verdict: list[int]) -> None:
        self.new[digest] = verdict

    def save(self) -> None:
        if not self.new:
            return
        self._known = None  # another process may have added verdicts since
        known = {k: v for k, v in self._load().items() if k not in self.new}
        keep = max(MAX_PART_VERDICTS - len(self.new), 0)
        parts = list(known.items())[len(known) - keep :] if keep else []
        parts += self.new.items()
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            _atomic_text(self.file, json.dumps({"version": _version(), "parts": dict(parts)}))
        except OSError:
            pass


def remember(info: guard.FileInfo, limits: guard.Limits = guard.DEFAULT_LIMITS) -> None:
    """Keep the verdict ``info`` for the file it describes, as it is on disk now.

    :func:`checked` calls it for a file the guard passed; :class:`~sop_xl.io.filebook.FileBook`
    calls it after its own atomic write, whose result is the guarded file with parts sop_xl
    generated itself, so the next step does not scan it again.
    """
    root = cache_dir()
    if root is None:
        return
    key = _verdict_key(info.sha256, limits)
    facts = {
        f.name: sorted(v) if isinstance(v := getattr(info, f.name), set) else v
        for f in dataclasses.fields(info)
        if f.name not in _OWN
    }
    try:
        root.mkdir(parents=True, exist_ok=True)
        _atomic_text(root / f"{key}.guard.json", json.dumps(facts))
    except OSError:
        pass


_OWN = ("path", "sha256")  # what the verdict key itself stands for


def _info(path: Path, digest: str, facts: dict) -> guard.FileInfo:
    """A verdict back from JSON: every field of FileInfo (a field the entry lacks is a miss)."""
    info = guard.FileInfo(path=path, sha256=digest, has_macros=False)
    for f in dataclasses.fields(info):
        if f.name in _OWN:
            continue
        value, kind = facts[f.name], getattr(info, f.name)
        if isinstance(kind, set):
            value = set(value)
        elif isinstance(kind, dict):
            value = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
        setattr(info, f.name, value)
    return info


def _verdict_key(file_sha256: str, limits: guard.Limits) -> str:
    return hashlib.sha256(f"{FORMAT}\0{_version()}\0{limits!r}\0{file_sha256}".encode()).hexdigest()


def _atomic_text(file: Path, text: str) -> None:
    with atomic_path(file, durable=False) as tmp:
        tmp.write_text(text, encoding="utf-8")


# --- entries ------------------------------------------------------------------------------
def load(key: str, table: Table, strings: bytes) -> Coerced | None:
    """The stored result for ``key``, or None (missing, damaged, from another layout, or parsed
    with shared strings the workbook's ``strings`` (:func:`shared_strings`) no longer start
    with)."""
    root = cache_dir()
    if root is None:
        return None
    file = root / f"{key}.npz"
    try:
        with np.load(file, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            if not _strings_fit(strings, int(meta["sst_len"]), str(meta["sst_sha256"])):
                return None
            data = {}
            for c in meta["columns"]:
                if f"c:{c}" in z.files:  # text: one str object per distinct value, None = -1
                    data[c] = np.append(z[f"u:{c}"].astype(object), None)[z[f"c:{c}"]]
                else:
                    data[c] = z[f"v:{c}"]
            rows = z["__rows__"]
        if any(len(column) != len(rows) for column in data.values()):
            return None  # damaged
    except (OSError, KeyError, ValueError):
        return None
    os.utime(file)  # recently used: kept longest
    findings = [
        Finding(f["severity"], f["message"], Location(**f["where"]), f["fix"], f["rule"])
        for f in meta["findings"]
    ]
    df = typed_arrays(table, data, len(rows))
    return Coerced(df, findings, int(meta["bad_rows"]), rows.astype(np.int64))


def stored(key: str) -> bool:
    """True when an entry is kept under ``key`` (complete: entries appear by an atomic rename)."""
    root = cache_dir()
    return root is not None and (root / f"{key}.npz").exists()


def save(key: str, table: Table, result: Coerced, strings: bytes) -> None:
    """Store ``result``, parsed with the shared strings ``strings``, under ``key`` (best effort:
    a full disk never stops a step)."""
    root = cache_dir()
    if root is None or result.source is not None:
        return
    arrays: dict[str, np.ndarray] = {}
    for c in result.df.columns:
        s = result.df[c]
        column = table.column(c) if c in table.names else None
        if column is not None and column.dtype in (Dtype.DATE, Dtype.DATETIME):
            arrays[f"v:{c}"] = s.to_numpy("datetime64[ns]")
        elif s.dtype == object:  # text: each distinct value once, and a code per row
            codes, uniques = pd.factorize(s.to_numpy(dtype=object))  # missing: -1
            texts = uniques.tolist()
            if not all(type(u) is str and not u.endswith("\x00") for u in texts):
                return  # numpy's text arrays drop trailing NULs: kept only if read back exactly
            arrays[f"c:{c}"] = codes.astype(np.int32)
            arrays[f"u:{c}"] = np.array(texts, dtype=str)
        else:
            arrays[f"v:{c}"] = s.to_numpy("float64", na_value=np.nan)
    meta = {
        "columns": list(result.df.columns),
        "bad_rows": result.bad_rows,
        "findings": [asdict(f) for f in result.findings],
        "sst_len": len(strings),
        "sst_sha256": hashlib.sha256(strings).hexdigest(),
    }
    arrays["__meta__"] = np.array(json.dumps(meta, default=str))
    arrays["__rows__"] = np.asarray(result.excel_rows, dtype=np.int64)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with atomic_path(root / f"{key}.npz", durable=False) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
        _prune(root)
    except (OSError, SopError):
        return


def _prune(root: Path) -> None:
    entries = sorted(
        [*root.glob("*.npz"), *root.glob("*.guard.json"), *root.glob("*.pending")],
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in entries[MAX_ENTRIES:]:
        old.unlink(missing_ok=True)


# --- computed results (the KPI rows...) ---------------------------------------------------------
class ResultStore:
    """Engine results kept between clicks (a :class:`sop_xl.model.book.ResultMemo`): e.g. the
    KPI rows the KPIs step computed, which the scorecard's click reuses instead of computing them
    again.

    The engine's key is a digest of the *content* of everything the result depends on (the
    input tables' values, the settings, the options); the store adds a digest of sop_xl's own
    source (:func:`_code_version`), so a changed rule never meets a result made without it. A
    frame is kept only when it reads back exactly equal (values, dtypes, index), so what a hit
    returns is what the engine would compute. Entries are ``.npz`` files read with
    ``allow_pickle=False``, in :func:`cache_dir` (none when the store is off).

    ``memory``: a dict shared by the stores of one process (:func:`sop_xl.cycle.results`
    passes one), where what was put is also kept, the newest :data:`RECENT_SIZE`, also when the
    store is off: the steps of one ``cycle`` run share results without going to disk. The same
    rule holds there: only a frame that reads back exactly equal is kept, and a hit is a copy.
    """

    def __init__(self, memory: dict[str, tuple[pd.DataFrame, str]] | None = None) -> None:
        self._memory = memory

    def _file(self, key: str) -> Path | None:
        root = cache_dir()
        if root is None:
            return None
        digest = hashlib.sha256(f"{FORMAT}\0{_code_version()}\0{key}".encode()).hexdigest()
        return root / f"{digest}.result.npz"

    def get(self, key: str) -> tuple[pd.DataFrame, dict] | None:
        """The result kept under ``key``, or None. When another process announced that it is
        computing it (:meth:`announce`), waits for it, at most until the announcement is
        :data:`PENDING_SECONDS` old."""
        kept = self._memory.get(key) if self._memory is not None else None
        if kept is not None:
            return kept[0].copy(), json.loads(kept[1])
        file = self._file(key)
        if file is None:
            return None
        got = self._load(file)
        if got is None and _wait_for(file, _pending(file)):
            got = self._load(file)
        return got

    def has(self, key: str) -> bool:
        """True when ``key``'s result is kept, or a process announced it (no waiting)."""
        if self._memory is not None and key in self._memory:
            return True
        file = self._file(key)
        if file is None:
            return False
        return file.exists() or _announced(_pending(file))

    def announce(self, key: str) -> Path | None:
        """Say that a process is computing the result of ``key`` (a :meth:`get` of it then
        waits): the marker file to remove when done, or None when the store is off."""
        file = self._file(key)
        if file is None:
            return None
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            _pending(file).write_text(str(os.getpid()))
        except OSError:
            return None
        return _pending(file)

    @staticmethod
    def _load(file: Path) -> tuple[pd.DataFrame, dict] | None:
        try:
            with np.load(file, allow_pickle=False) as z:
                meta = json.loads(str(z["__meta__"]))
                frame = _frame_from(z, meta["frame"])
        except (OSError, KeyError, ValueError, TypeError):
            return None
        os.utime(file)
        return frame, meta["facts"]

    def put(self, key: str, frame: pd.DataFrame, facts: dict) -> None:
        try:
            arrays, layout = _frame_arrays(frame)
            arrays["__meta__"] = np.array(json.dumps({"frame": layout, "facts": facts}))
            if not _round_trips(frame, arrays, layout):
                return
            if self._memory is not None:
                self._memory.pop(key, None)
                self._memory[key] = (frame.copy(), json.dumps(facts))
                while len(self._memory) > RECENT_SIZE:  # the oldest first
                    del self._memory[next(iter(self._memory))]
            file = self._file(key)
            if file is None:
                return
            file.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(file, durable=False) as tmp, open(tmp, "wb") as f:
                np.savez(f, **arrays)
            _prune(file.parent)
        except (OSError, SopError, TypeError, ValueError):
            return


#: How many results a :class:`ResultStore`'s memory keeps.
RECENT_SIZE = 32
#: How long (seconds) an announced result (:meth:`ResultStore.announce`) is waited for: past
#: that age its marker is stale (the process computing it died) and the caller computes it.
PENDING_SECONDS = 30.0


def _pending(file: Path) -> Path:
    return file.with_name(file.name.replace(".result.npz", ".pending"))


def _announced(marker: Path) -> bool:
    """True while ``marker`` exists and is younger than :data:`PENDING_SECONDS` (no marker:
    nothing announced, or the work ended; an older one: the process computing it died)."""
    try:
        return time.time() - marker.stat().st_mtime <= PENDING_SECONDS
    except OSError:
        return False


def _wait_for(file: Path, marker: Path) -> bool:
    """Wait while ``marker`` is announced and ``file`` is not there; True when ``file`` came."""
    while not file.exists():
        if not _announced(marker):
            return file.exists()
        time.sleep(0.05)
    return True


@functools.cache
def _code_version() -> str:
    """A digest of every source file of sop_xl (and its version): any change of any rule."""
    h = hashlib.sha256(_version().encode())
    root = Path(__file__).resolve().parents[1]
    for file in sorted(root.rglob("*.py")):
        h.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
    return h.hexdigest()


def _frame_arrays(df: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict]:
    """A frame as plain arrays: numpy columns as they are; text columns (object or pandas
    string) as str arrays with a mask per kind of missing value. Raises TypeError for anything
    else (the caller then does not store the frame)."""
    arrays: dict[str, np.ndarray] = {"__index__": df.index.to_numpy()}
    if arrays["__index__"].dtype.kind not in "iu":
        raise TypeError("only a plain integer index is kept")
    columns = []
    for i, c in enumerate(df.columns):
        s = df.iloc[:, i]
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf":
            arrays[f"v{i}"] = s.to_numpy()
            columns.append({"name": c, "kind": "numpy"})
            continue
        if isinstance(s.dtype, pd.StringDtype):
            kind = {"kind": "string", "storage": s.dtype.storage}
            kind["nan"] = s.dtype.na_value is np.nan
        elif s.dtype == object:
            kind = {"kind": "object"}
        else:
            raise TypeError(f"column {c!r}: {s.dtype} is not kept")
        values = s.to_numpy(dtype=object)
        missing = pd.isna(values)
        texts = values[~missing]
        if len(texts) and pd.api.types.infer_dtype(texts, skipna=False) != "string":
            raise TypeError(f"column {c!r} holds more than text")  # every one a str, in C
        none = _nones(values, missing)
        arrays[f"v{i}"] = np.array(np.where(missing, "", values).tolist(), dtype=str)
        arrays[f"none{i}"], arrays[f"nan{i}"] = none, missing & ~none
        columns.append({"name": c, **kind})
    return arrays, {"columns": columns}


def _nones(values: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Where an object array holds None (``missing``: its :func:`pandas.isna`, if known): only
    the missing values are looked at, one by one (NaN and pd.NA are missing and not None)."""
    at = np.flatnonzero(pd.isna(values) if missing is None else missing)
    none = np.zeros(len(values), dtype=bool)
    none[at] = [values[k] is None for k in at.tolist()]
    return none


def _frame_from(z, layout: dict) -> pd.DataFrame:
    index = pd.Index(z["__index__"])
    data = {}
    for i, col in enumerate(layout["columns"]):
        values = z[f"v{i}"]
        if col["kind"] == "numpy":
            data[i] = pd.Series(values, index=index, dtype=values.dtype)
            continue
        values = values.astype(object)
        values[z[f"nan{i}"]] = np.nan
        values[z[f"none{i}"]] = None
        if col["kind"] == "string":
            dtype = pd.StringDtype(col["storage"], na_value=np.nan if col["nan"] else pd.NA)
        else:
            dtype = object  # as stored: pandas would otherwise infer its string dtype
        data[i] = pd.Series(values, index=index, dtype=dtype)
    df = pd.DataFrame(data, index=index)
    df.columns = [c["name"] for c in layout["columns"]]
    return df


def _round_trips(df: pd.DataFrame, arrays: dict[str, np.ndarray], layout: dict) -> bool:
    """True when the stored arrays read back as exactly ``df`` (values, missing kinds, dtypes,
    index): a frame that would come back different is not kept."""
    try:
        back = _frame_from(arrays, layout)
        pd.testing.assert_frame_equal(back, df, check_exact=True)
    except (AssertionError, TypeError, ValueError):
        return False
    for i, c in enumerate(layout["columns"]):  # None and NaN are equal to assert_frame_equal
        if c["kind"] != "numpy":
            a, b = df.iloc[:, i].to_numpy(dtype=object), back.iloc[:, i].to_numpy(dtype=object)
            if not np.array_equal(_nones(a), _nones(b)):
                return False
    return True
