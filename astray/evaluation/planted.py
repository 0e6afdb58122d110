"""Learning curves drawn from a known law with the campaign's noise structure, to check that the scaling fits
(astray.evaluation.scaling) estimate what they claim and that their intervals hold the truth as often as they say.

The structure is the campaign's: a seed's training sets are nested prefixes of one order and share one
initialisation, so its errors at different sizes are correlated (a seed-level offset, then a random walk in
log error as data are added), and seeds are independent. Each seed also learns at its own rate (its exponent
is the law's plus a perturbation), and in the joint law each capacity starts from its own initialisation.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SeedNoise:
    """Standard deviations, in natural-log units of the error (0.05: about 5%)."""

    # A seed's offset at every size: its initialisation and the luck of its first molecules.
    offset: float = 0.05
    # Each size's step of a random walk in log error: the molecules one size adds to the next.
    walk: float = 0.03
    # A seed's exponent around the law's: seeds that learn faster or slower.
    exponent: float = 0.03
    # Joint law only: a capacity's own offset within a seed (its own initialisation on the same data).
    capacity: float = 0.03


def planted_learning_curves(rng, sizes, seeds: int, amplitude: float, exponent: float, floor: float = 0.0,
                            noise: SeedNoise = SeedNoise(), replications: int = 1) -> np.ndarray:  # fmt: skip
    """Errors amplitude · N^-exponent + floor with per-seed noise; shape (replications, seeds, sizes)."""
    sizes = np.asarray(sizes, dtype=float)
    shape = (replications, seeds, 1)
    exponents = exponent + rng.normal(0.0, noise.exponent, shape)
    log_noise = rng.normal(0.0, noise.offset, shape) + _walk(rng, noise.walk, (replications, seeds, sizes.size))
    return (amplitude * sizes**-exponents + floor) * np.exp(log_noise)


def planted_joint_curves(rng, parameters, sizes, seeds: int, law: dict, noise: SeedNoise = SeedNoise(),
                         replications: int = 1) -> np.ndarray:  # fmt: skip
    """Errors of the joint law floor + capacity_amplitude · P^-capacity_exponent + data_amplitude ·
    N^-data_exponent (keys of `law`; floor optional) with per-seed noise; shape (replications, seeds,
    capacities, sizes). A seed's random walk over sizes is shared by its capacities: they train on one order."""
    parameters, sizes = np.asarray(parameters, dtype=float), np.asarray(sizes, dtype=float)
    shape = (replications, seeds, 1, 1)
    alpha = law["capacity_exponent"] + rng.normal(0.0, noise.exponent, shape)
    beta = law["data_exponent"] + rng.normal(0.0, noise.exponent, shape)
    capacity_term = law["capacity_amplitude"] * parameters[:, None] ** -alpha
    data_term = law["data_amplitude"] * sizes[None, :] ** -beta
    log_noise = (
        rng.normal(0.0, noise.offset, shape)
        + _walk(rng, noise.walk, (replications, seeds, 1, sizes.size))
        + rng.normal(0.0, noise.capacity, (replications, seeds, parameters.size, 1))
    )
    return (law.get("floor", 0.0) + capacity_term + data_term) * np.exp(log_noise)


def _walk(rng, step: float, shape) -> np.ndarray:
    return np.cumsum(rng.normal(0.0, step, shape), axis=-1)
