"""Rough-cut capacity: hours of load per resource and month, and the capacity grid."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Utilisation above this share of capacity is flagged Tight; above 1, Overload.
TIGHT = 0.9


def load(hours: sp.spmatrix, quantity: np.ndarray) -> np.ndarray:
    """Load (K, T) in hours = hours per unit (K, R) @ quantity (R, T)."""
    return np.asarray(sp.csr_matrix(hours) @ quantity)


def utilisation(load_hours: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Load / capacity; NaN where capacity is 0 (blank on the sheet, never infinite)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(capacity > 0, load_hours / np.where(capacity > 0, capacity, 1.0), np.nan)


def flags(load_hours: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Overload (load > capacity), Tight (load > 90% of capacity) or OK, per resource-month."""
    eps = 1e-6
    return np.select(
        [load_hours > capacity + eps, load_hours > TIGHT * capacity + eps],
        ["Overload", "Tight"],
        "OK",
    )
