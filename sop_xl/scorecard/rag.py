"""Red / amber / green status of KPI values against thresholds, and trend arrows.

Pure, vectorised functions over pandas Series (scalars broadcast). They decide what the balanced
scorecard colours, so the rules are spelled out here once:

- **Green** when the actual is at or better than the green threshold, **Amber** when at or better
  than the amber threshold, else **Red**. "Better" follows the direction: ``higher`` compares with
  ``>=``, ``lower`` with ``<=``, ``target`` (zero is best, e.g. bias) compares ``|actual|`` with
  ``|threshold|`` as lower-is-better. Exactly on a threshold counts as reaching it (with a
  1e-9 relative tolerance, so 0.1 + 0.2 reaches a threshold of 0.3).
- ``band`` (e.g. forward days of supply): **Green** inside [green, green max], **Amber** inside
  [amber, amber max], else **Red**: too low and too high are both off track. A band row without
  its two maxima is **No target**.
- A missing actual is **No data** (grey): never green, whatever the thresholds say.
- A missing green or amber threshold (or direction) is **No target** (grey).
- Status codes for Excel icon sets: 3 green, 2 amber, 1 red, missing (blank) otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_xl.errors import ArgumentError

GREEN, AMBER, RED, NO_DATA, NO_TARGET = "Green", "Amber", "Red", "No data", "No target"
STATUSES = (GREEN, AMBER, RED, NO_DATA, NO_TARGET)
STATUS_CODES = {GREEN: 3, AMBER: 2, RED: 1}
DIRECTIONS = ("higher", "lower", "target", "band")
#: Months in each half of the trend comparison (last TREND_MONTHS vs the TREND_MONTHS before).
TREND_MONTHS = 3
#: Relative tolerance for "exactly on a threshold".
TOLERANCE = 1e-9
#: Trend arrows.
UP, DOWN, FLAT = "\u25b2", "\u25bc", "\u25b6"  # ▲ ▼ ▶
SPARK_CHARS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"  # ▁▂▃▄▅▆▇█


def _series(x: object, index: pd.Index | None, name: str) -> pd.Series:
    if isinstance(x, pd.Series):
        if index is not None and len(x) != len(index):
            raise ArgumentError(f"{name} has {len(x)} values, expected {len(index)}")
        return x if index is None else pd.Series(x.to_numpy(), index=index, name=name)
    if index is None:
        return pd.Series([x], name=name)
    if np.ndim(x) == 0:
        return pd.Series([x] * len(index), index=index, name=name)
    return pd.Series(list(x), index=index, name=name)  # type: ignore[arg-type]


def _index(*xs: object) -> pd.Index | None:
    for x in xs:
        if isinstance(x, pd.Series):
            return x.index
    for x in xs:
        if np.ndim(x) > 0:
            return pd.RangeIndex(len(x))  # type: ignore[arg-type]
    return None


def _floats(s: pd.Series) -> np.ndarray:
    return np.asarray(pd.to_numeric(s, errors="coerce").to_numpy(float, na_value=np.nan))


def _directions(direction: pd.Series) -> np.ndarray:
    text = direction.astype("string").str.strip().str.lower().fillna("").to_numpy(object)
    bad = ~np.isin(text, [*DIRECTIONS, ""])
    if bad.any():
        raise ArgumentError(
            f"direction must be one of {', '.join(DIRECTIONS)}; got {sorted(set(text[bad]))}",
            fix=f"Write one of {', '.join(DIRECTIONS)} in the Direction column.",
        )
    return text


def at_or_better(value: np.ndarray, threshold: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Elementwise: ``value`` reaches ``threshold`` for ``direction`` (NaN -> False)."""
    tol = TOLERANCE * np.maximum(1.0, np.abs(threshold))
    with np.errstate(invalid="ignore"):
        hi = value >= threshold - tol
        lo = value <= threshold + tol
    return np.where(direction == "higher", hi, lo) & ~np.isnan(value) & ~np.isnan(threshold)


def _inside(value: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Elementwise lo <= value <= hi with the threshold tolerance (NaN -> False)."""
    up = np.full(value.shape, "higher", dtype=object)
    down = np.full(value.shape, "lower", dtype=object)
    return at_or_better(value, lo, up) & at_or_better(value, hi, down)


def rag(
    actual: object,
    green: object,
    amber: object,
    direction: object,
    green_max: object = np.nan,
    amber_max: object = np.nan,
) -> pd.Series:
    """Status per row: 'Green', 'Amber', 'Red', 'No data' or 'No target' (see module doc).

    Arguments are Series (aligned by position, the first Series' index is kept) or scalars.
    Precedence: a missing actual is 'No data' even when the target is missing too.
    ``green_max`` / ``amber_max`` are the upper ends of the bands of 'band' rows.
    """
    index = _index(actual, green, amber, direction, green_max, amber_max)
    a = _floats(_series(actual, index, "actual"))
    g = _floats(_series(green, index, "green"))
    am = _floats(_series(amber, index, "amber"))
    d = _directions(_series(direction, index, "direction"))
    target = d == "target"
    a_eff = np.where(target, np.abs(a), a)
    g_eff = np.where(target, np.abs(g), g)
    am_eff = np.where(target, np.abs(am), am)
    out = np.where(
        at_or_better(a_eff, g_eff, d),
        GREEN,
        np.where(at_or_better(a_eff, am_eff, d), AMBER, RED),
    ).astype(object)
    band = d == "band"
    if band.any():
        gx = _floats(_series(green_max, index, "green_max"))
        ax = _floats(_series(amber_max, index, "amber_max"))
        in_g, in_a = _inside(a, g, gx), _inside(a, am, ax)
        out[band] = np.where(in_g, GREEN, np.where(in_a, AMBER, RED))[band]
        out[band & (np.isnan(gx) | np.isnan(ax))] = NO_TARGET
    out[np.isnan(g) | np.isnan(am) | (d == "")] = NO_TARGET
    out[np.isnan(a)] = NO_DATA
    return pd.Series(out, index=index if index is not None else None, name="status")


def status_code(status: pd.Series) -> pd.Series:
    """3 green, 2 amber, 1 red, <NA> for no data / no target (nullable Int64)."""
    return status.map(STATUS_CODES).astype("Int64").rename("signal")


def gap_to_target(
    actual: object,
    target: object,
    direction: object,
    band_lo: object = np.nan,
    band_hi: object = np.nan,
) -> pd.Series:
    """Actual minus target signed so that **positive = better than target**.

    higher: ``actual - target``; lower: ``target - actual``; target (zero best):
    ``|target| - |actual|``; band: ``min(actual - band_lo, band_hi - actual)``, the distance to
    the nearer edge of the green band (positive inside, negative outside). NaN when missing.
    """
    index = _index(actual, target, direction, band_lo, band_hi)
    a = _floats(_series(actual, index, "actual"))
    t = _floats(_series(target, index, "target"))
    d = _directions(_series(direction, index, "direction"))
    lo = _floats(_series(band_lo, index, "band_lo"))
    hi = _floats(_series(band_hi, index, "band_hi"))
    gap = np.select(
        [d == "higher", d == "lower", d == "target", d == "band"],
        [a - t, t - a, np.abs(t) - np.abs(a), np.minimum(a - lo, hi - a)],
        np.nan,
    )
    return pd.Series(gap, index=index, name="gap")


def fitted_change(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares change across each row's observed span, and the count of observed points.

    ``matrix``: rows x periods (oldest first), NaN = no value. The change is slope x (last
    observed position - first observed position), in the KPI's unit; NaN with fewer than 3 points.
    """
    m = np.asarray(matrix, dtype=float)
    ok = ~np.isnan(m)
    n = ok.sum(axis=1)
    x = np.broadcast_to(np.arange(m.shape[1], dtype=float), m.shape)
    y = np.where(ok, m, 0.0)
    xs = np.where(ok, x, 0.0)
    sx, sy = xs.sum(axis=1), y.sum(axis=1)
    sxx, sxy = (xs * xs).sum(axis=1), (xs * y).sum(axis=1)
    den = n * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(den > 0, (n * sxy - sx * sy) / np.where(den > 0, den, 1.0), np.nan)
    first = np.where(ok.any(axis=1), ok.argmax(axis=1), 0)
    last = m.shape[1] - 1 - np.where(ok.any(axis=1), ok[:, ::-1].argmax(axis=1), 0)
    change = np.where(n >= 3, slope * (last - first), np.nan)
    return change, n


def recent_change(matrix: np.ndarray, months: int = TREND_MONTHS) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the last ``months`` columns minus the mean of the ``months`` before, per row.

    ``matrix``: rows x periods (oldest first), NaN = no value. Each half needs at least
    ``months - 1`` values, else NaN (not enough data). Returns (change, values used).
    """
    m = np.asarray(matrix, dtype=float)
    if m.shape[1] < 2 * months:
        m = np.concatenate([np.full((m.shape[0], 2 * months - m.shape[1]), np.nan), m], axis=1)
    last, before = m[:, -months:], m[:, -2 * months : -months]
    n_last, n_before = (~np.isnan(last)).sum(axis=1), (~np.isnan(before)).sum(axis=1)
    with np.errstate(invalid="ignore"), _quiet():
        change = np.nanmean(last, axis=1) - np.nanmean(before, axis=1)
    need = max(months - 1, 1)
    change = np.where((n_last >= need) & (n_before >= need), change, np.nan)
    return change, n_last + n_before


def trend_text(
    matrix: np.ndarray, direction: object, unit: object, *, pct_flat: float = 0.005
) -> tuple[pd.Series, np.ndarray]:
    """Trend words per row: '▲ improving', '▼ worsening', '▶ stable' or 'not enough data'.

    The recent direction: the mean of the last 3 months minus the mean of the 3 months before
    (:func:`recent_change`), so four straight falls read as falling whatever happened a year
    ago. The arrow shows whether the value went up or down; the word says whether that is good
    for the KPI's direction (for 'target' KPIs: whether |value| shrank; for 'band' KPIs the word
    is 'rising' / 'falling', as only the band says what is good). Flat when the change is within
    0.5 percentage points for 'pct' KPIs, else within 1% of the mean absolute level. Fewer than
    2 values in either 3-month half: 'not enough data'. Returns (text, change).
    """
    m = np.asarray(matrix, dtype=float)
    rows = m.shape[0]
    idx = pd.RangeIndex(rows)
    d = _directions(_series(direction, idx, "direction"))
    u = _series(unit, idx, "unit").astype(str).to_numpy()
    change, _ = recent_change(m)
    abs_change, _ = recent_change(np.abs(m))
    with np.errstate(invalid="ignore"), _quiet():
        level = np.nanmean(np.abs(m), axis=1) if m.shape[1] else np.full(rows, np.nan)
    tol = np.where(u == "pct", pct_flat, 0.01 * np.nan_to_num(level, nan=0.0))
    tol = np.maximum(tol, 1e-12)
    up, down = change > tol, change < -tol
    good_move = np.where(d == "target", -abs_change, np.where(d == "lower", -change, change))
    improving = good_move > tol
    worsening = good_move < -tol
    arrow = np.where(up, UP, np.where(down, DOWN, FLAT))
    word = np.where(improving, "improving", np.where(worsening, "worsening", "stable"))
    word = np.where(d == "band", np.where(up, "rising", np.where(down, "falling", "stable")), word)
    text = np.char.add(np.char.add(arrow.astype(str), " "), word.astype(str)).astype(object)
    text[np.isnan(change)] = "not enough data"
    return pd.Series(text, name="trend"), change


def sparkline(matrix: np.ndarray) -> pd.Series:
    """One text sparkline per row (▁ lowest .. █ highest of that row, '·' for a missing month)."""
    m = np.asarray(matrix, dtype=float)
    rows, cols = m.shape
    if cols == 0:
        return pd.Series([""] * rows, dtype=object, name="sparkline")
    with np.errstate(invalid="ignore"), _quiet():
        lo = np.nanmin(m, axis=1, keepdims=True)
        hi = np.nanmax(m, axis=1, keepdims=True)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    level = np.where(hi - lo > 0, (m - lo) / span * (len(SPARK_CHARS) - 1), 3.0)
    level = np.clip(np.nan_to_num(level, nan=0.0).round().astype(int), 0, len(SPARK_CHARS) - 1)
    chars = np.array(list(SPARK_CHARS), dtype="<U1")[level]
    chars[np.isnan(m)] = "\u00b7"
    joined = np.ascontiguousarray(chars).view(f"<U{cols}").ravel()
    out = joined.astype(object)
    out[np.isnan(m).all(axis=1)] = ""
    return pd.Series(out, name="sparkline")


class _quiet:
    """Silence numpy's all-NaN-slice RuntimeWarning."""

    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(*exc)
