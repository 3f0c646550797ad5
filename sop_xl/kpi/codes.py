"""Integer codes of key columns, shared by the KPI and history engines.

- :func:`codes_of`: the one factorisation of a column with its blanks (None, NaN, NaT, pd.NA)
  as one more distinct value, the last: what pandas' ``factorize(use_na_sentinel=False)``
  gives, without its separate pass over every row to find the missing values (the hash table
  already marks them -1);
- :func:`sorted_key`: one int64 per row that orders the rows as their values of some columns
  sorted (each column sorted, blanks last), renumbered before it could overflow;
- :func:`group_codes`: the groups of those columns, sorted by key (a groupby's ``sort=True``,
  ``dropna=False``), one factorisation per column and one ``np.unique`` or ``np.bincount``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: A combined key's space (product of the columns' code counts) at or above this is renumbered
#: (ranked) before the next column is added, so the int64 key never overflows.
KEY_LIMIT = 1 << 62
#: Sorted factorisations by column name (:func:`sorted_codes`), for one frame.
Factorized = dict[str, tuple[np.ndarray, object]]


def codes_of(
    values: pd.Series | pd.Index | np.ndarray, sort: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(int64 code per value, the distinct values as objects): codes in the order of first
    appearance (``sort=True``: of the sorted values); a missing value is one more distinct
    value, NaN, the last."""
    codes, uniq = pd.factorize(values, sort=sort)
    codes = np.asarray(codes, dtype=np.int64)  # a new array of factorize's: changed in place
    uniq = np.asarray(uniq, dtype=object)
    missing = codes < 0
    if missing.any():
        codes[missing] = len(uniq)
        uniq = np.append(uniq, np.array([np.nan], dtype=object))
    return codes, uniq


def sorted_codes(
    df: pd.DataFrame, c: str, cache: Factorized | None = None
) -> tuple[np.ndarray, object]:
    """Sorted factorisation of ``df[c]`` (missing values one key, the last), memoised in
    ``cache``."""
    if cache is not None and c in cache:
        return cache[c]
    col = df[c]
    if col.dtype == object:  # missing values found by the hash table, not a separate isna pass
        out = codes_of(col.to_numpy(), sort=True)
    else:
        out = pd.factorize(col, sort=True, use_na_sentinel=False)
    if cache is not None:
        cache[c] = out
    return out


def compact(codes: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct codes and each row's index into them (O(n) when the key space is small)."""
    if space <= max(4 * len(codes), 1 << 16):
        present = np.bincount(codes, minlength=space) > 0
        keys = np.flatnonzero(present)
        remap = np.cumsum(present) - 1
        return keys, remap[codes]
    keys, inv = np.unique(codes, return_inverse=True)
    return keys, inv.reshape(-1)


@dataclass(frozen=True)
class SortedKey:
    """One int64 per row, ordered as the rows' values of some columns (:func:`sorted_key`).

    ``layout`` says how a key is made, first step first: ``(column, its sorted distinct
    values)`` multiplies the key so far by the values' count + 1 and adds the column's code; an
    array renumbers the keys so far (each becomes its rank among that array's sorted keys)."""

    codes: np.ndarray
    space: int  # every key is below this
    layout: list[tuple[str, object] | np.ndarray]

    def columns(self, keys: np.ndarray, typed: bool = False) -> dict[str, np.ndarray]:
        """The column values of each key in ``keys`` (objects, or with ``typed`` of the dtype
        of the column's distinct values, e.g. int64 for an integer column; ``[]`` for a column
        without values)."""
        cols: dict[str, np.ndarray] = {}
        for step in reversed(self.layout):
            if isinstance(step, np.ndarray):
                keys = step[keys]
                continue
            c, uniq = step
            base = len(uniq) + 1
            values = np.asarray(uniq, dtype=None if typed else object)
            cols[c] = values[keys % base] if len(uniq) else []
            keys = keys // base
        return cols

    def ranked(self) -> SortedKey:
        """The same order, each key replaced by its rank among the keys the rows hold (a space
        no larger than the rows): what keeps a key extended further inside int64."""
        seen, rank = compact(self.codes, self.space)
        return SortedKey(rank.astype(np.int64), max(len(seen), 1), [*self.layout, seen])

    def find(self, other: pd.DataFrame) -> np.ndarray:
        """The key of each row of ``other`` (which has the key's columns) in this key's space,
        -1 where the row's values are no row's of the frame the key was made of: a value not
        among its column's (matched as ``pd.Index.get_indexer`` matches, so a None is not the
        NaN that stands for the blanks), or, past a renumbering, leading values no row held."""
        key = np.zeros(len(other), dtype=np.int64)
        found = np.ones(len(other), dtype=bool)
        for step in self.layout:
            if isinstance(step, np.ndarray):  # the rank among the sorted keys, if one of them
                rank = np.minimum(np.searchsorted(step, key), max(len(step) - 1, 0))
                found &= step[rank] == key if len(step) else False
                key = rank.astype(np.int64)
                continue
            c, uniq = step
            code = pd.Index(uniq).get_indexer(other[c])
            found &= code >= 0
            key = key * (len(uniq) + 1) + np.maximum(code, 0)
        return np.where(found, key, -1)


def sorted_key(df: pd.DataFrame, by: Sequence[str], cache: Factorized | None = None) -> SortedKey:
    """Per row, one int64 that sorts as the rows' values of ``by`` (column by column, each
    sorted, blanks last): rows with the same values have the same key. Renumbered (ranked)
    whenever the next column could take it past :data:`KEY_LIMIT`, which keeps the order."""
    key = SortedKey(np.zeros(len(df), dtype=np.int64), 1, [])
    for c in by:
        codes, uniq = sorted_codes(df, c, cache)
        base = len(uniq) + 1
        if key.space * base >= KEY_LIMIT:  # rank the keys so far: the same order, a small space
            key = key.ranked()
        key = SortedKey(key.codes * base + codes, key.space * base, [*key.layout, (c, uniq)])
    return key


def group_codes(
    df: pd.DataFrame, by: Sequence[str], cache: Factorized | None = None, typed: bool = False
) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer group code per row (0..G-1, groups sorted by key) and the G group keys (objects;
    ``typed``: an integer column's keys stay integers, see :meth:`SortedKey.columns`).

    One factorisation per column and one ``np.unique``: much faster than a pandas groupby on
    text keys, and the sums then are ``np.bincount`` calls. Missing keys form their own group.
    """
    by = list(by)
    if not by:
        return np.zeros(len(df), dtype=np.intp), pd.DataFrame(index=pd.RangeIndex(1))
    key = sorted_key(df, by, cache)
    keys, inv = compact(key.codes, key.space)
    cols = key.columns(keys, typed)
    return inv.reshape(-1), pd.DataFrame({c: cols[c] for c in by})
