"""Physics of a diatomic energy curve, for models and references alike: well depth and position, minima,
force sign flips, monotonic repulsion, tortuosity, and errors averaged over distance, whole and in windows.

Diatomic benchmarks score every curve against one ideal (one minimum, one force flip); two bare protons
have neither, so each probe states what its exact curve has (`Probe.expected_*`). Small wiggles are
discretisation or round-off, not physics: energy changes below ENERGY_FLOOR and forces below FORCE_FLOOR
do not count as minima or flips.
"""

import numpy as np
from scipy import stats

# eV: a local minimum must be at least this deep on both sides to count.
ENERGY_FLOOR = 1e-3
# eV/Å: a force smaller than this has no sign worth counting.
FORCE_FLOOR = 1e-2
# Error windows in units of the probe's length scale (its equilibrium distance r_e), contiguous so that every
# distance is in one window. `breaking` is where bonds break and levels of theory differ most: for H2
# 1.11-2.22 Å, from about the inflection point of the exact curve (1.13 Å, where the bond's restoring force
# is largest) past the point where restricted and unrestricted Hartree-Fock part (about 1.2 Å) to where the
# exact curve has lost 93% of its depth (-0.34 eV at 2.22 Å); from 3 r_e on the atoms are almost free.
WINDOWS = {"wall": (0.0, 0.85), "well": (0.85, 1.5), "breaking": (1.5, 3.0), "tail": (3.0, np.inf)}


def curve_physics(distance, energy) -> dict:
    """Shape of one curve on a grid (distances in Å, energies in eV relative to the fragments).

    - well_depth: -E at the lowest interior point (eV), NaN without an interior minimum;
    - equilibrium_distance: r of the minimum refined by a parabola through it and its neighbours (Å);
    - n_minima: interior local minima deeper than ENERGY_FLOOR on both sides;
    - force_flips: sign changes of the bond force -dE/dr between neighbouring grid intervals;
    - repulsion_spearman: rank correlation of E with r inside the minimum (or over the whole curve when
      it has none); -1 is a monotonic repulsive wall;
    - tortuosity: total variation of E over the path down to the minimum and back up; 1 for a curve that
      only falls to its minimum and only rises after it, more for every wiggle.
    """
    r, e = _sorted(distance, energy)
    if not np.all(np.isfinite(e)):
        return dict.fromkeys(PHYSICS_UNITS, np.nan)
    lowest = int(np.argmin(e))
    interior = 0 < lowest < len(r) - 1
    inside = slice(0, lowest + 1) if interior else slice(None)
    total_variation = np.abs(np.diff(e)).sum()
    direct_path = (e[0] - e[lowest]) + (e[-1] - e[lowest])
    return {
        "well_depth": -e[lowest] if interior else np.nan,
        "equilibrium_distance": _parabola_minimum(r, e, lowest) if interior else np.nan,
        "n_minima": float(count_minima(e)),
        "force_flips": float(count_force_flips(r, e)),
        "repulsion_spearman": _spearman(r[inside], e[inside]),
        "tortuosity": total_variation / direct_path if direct_path > ENERGY_FLOOR else 1.0,
    }


PHYSICS_UNITS = {
    "well_depth": "eV",
    "equilibrium_distance": "angstrom",
    "n_minima": "1",
    "force_flips": "1",
    "repulsion_spearman": "1",
    "tortuosity": "1",
}


def count_minima(energy) -> int:
    e = np.asarray(energy)
    return int(np.sum((e[1:-1] < e[:-2] - ENERGY_FLOOR) & (e[1:-1] < e[2:] - ENERGY_FLOOR)))


def count_force_flips(distance, energy) -> int:
    """Sign changes of -dE/dr (finite differences between grid points), ignoring forces below FORCE_FLOOR."""
    force = -np.diff(energy) / np.diff(distance)
    signs = np.sign(force[np.abs(force) >= FORCE_FLOOR])
    return int(np.count_nonzero(signs[1:] != signs[:-1]))


def distance_average(distance, values, low: float = -np.inf, high: float = np.inf) -> float:
    """Mean of `values` over distance between `low` and `high`: the trapezoid integral of the piecewise-linear
    curve through the grid points, over the part of [low, high] the grid spans, divided by its length. A
    plain mean over the points would weigh the dense grid around a minimum more than the sparse tail. NaN
    where no grid point lies in the window or a value there (or at a neighbour the window reaches) is NaN."""
    r, v = _sorted(distance, values)
    start, end = max(low, r[0]), min(high, r[-1])
    inside = (r >= low) & (r < high) if np.isfinite(high) else r >= low
    if not inside.any() or end <= start:
        # One grid point alone in a window spans no distance: its value is the window's.
        return float(v[inside][0]) if inside.sum() == 1 else np.nan
    within = (r > start) & (r < end)
    points = np.concatenate([[start], r[within], [end]])
    curve = np.interp(points, r, v) if np.isfinite(v).all() else _interp_nan(points, r, v)
    return float(np.trapezoid(curve, points) / (end - start))


def _interp_nan(points, r, v):
    """Linear interpolation that is NaN wherever it touches a NaN value."""
    curve = np.interp(points, r, np.nan_to_num(v))
    bad = np.interp(points, r, (~np.isfinite(v)).astype(float)) > 0
    return np.where(bad, np.nan, curve)


def window_errors(distance, predicted, reference, length_scale: float) -> dict:
    """Distance-averaged absolute error (eV, `distance_average`) of predicted against reference inside each
    window; NaN for a window without grid points."""
    error = np.abs(np.asarray(predicted, dtype=float) - np.asarray(reference, dtype=float))
    return {
        name: distance_average(np.asarray(distance, dtype=float) / length_scale, error, low, high)
        for name, (low, high) in WINDOWS.items()
    }


def _sorted(distance, energy):
    order = np.argsort(distance)
    return np.asarray(distance, dtype=float)[order], np.asarray(energy, dtype=float)[order]


def _parabola_minimum(r, e, i) -> float:
    a, b, _ = np.polyfit(r[i - 1 : i + 2], e[i - 1 : i + 2], 2)
    return float(-b / (2 * a)) if a > 0 else float(r[i])


def _spearman(r, e) -> float:
    if len(r) < 3 or np.ptp(e) == 0:
        return np.nan
    return float(stats.spearmanr(r, e).statistic)
