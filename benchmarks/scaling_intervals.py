"""What the scaling fits' intervals hold, measured on planted laws with the campaign's noise structure.

    .venv/bin/python benchmarks/scaling_intervals.py [--replications 400] \
        [--out benchmarks/results/scaling_intervals.json]

1. The data-scaling exponent on the default campaign's grid (5 sizes over 1.2 decades, 3 seeds): how often
   the cube's t-interval over per-seed exponents holds the planted b, beside the percentile bootstrap over
   seeds the cube stored before (its exact limit: every ordered draw of three seeds).
2. Floor identifiability (astray.evaluation.scaling.FLOOR_MINIMUM_DISTINCT, FLOOR_MINIMUM_DECADES): on grids of K
   sizes over D decades, a planted a·N^-0.5 + c with the floor a share of the error at the largest size
   (0: no floor), how often the law with floor's t-intervals hold b and c, and the median error of its floor.
Noise: astray.evaluation.planted.SeedNoise, at its defaults and at about twice them.
"""

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from astray.evaluation.planted import SeedNoise, planted_learning_curves  # noqa: E402
from astray.evaluation.scaling import fit_floor_law, fit_learning_curves, seed_interval  # noqa: E402

SEEDS, AMPLITUDE, EXPONENT = 3, 6.0, 0.5
NOISES = {"campaign": SeedNoise(), "doubled": SeedNoise(offset=0.1, walk=0.06, exponent=0.05)}
GRIDS = [(5, 1.2), (5, 1.5), (4, 2.0), (5, 2.0), (6, 2.5)]
FLOOR_SHARES = (0.0, 0.1, 0.3)


def holds(low, high, truth) -> bool:
    return bool(low <= truth <= high)


def exponent_intervals(replications: int) -> dict:
    sizes = np.array([32, 64, 128, 256, 512])
    results = {}
    for name, noise in NOISES.items():
        rng = np.random.default_rng(0)
        campaigns = planted_learning_curves(rng, sizes, SEEDS, AMPLITUDE, EXPONENT, noise=noise,
                                            replications=replications)  # fmt: skip
        t_hits, bootstrap_hits = [], []
        for runs in campaigns:
            fit = fit_learning_curves(sizes, runs)
            t_hits.append(holds(fit["exponent_ci_low"], fit["exponent_ci_high"], EXPONENT))
            per_seed = fit["exponent_per_seed"]
            means = [np.mean(per_seed[list(draw)]) for draw in itertools.product(range(SEEDS), repeat=SEEDS)]
            bootstrap_hits.append(holds(*np.percentile(means, [2.5, 97.5]), EXPONENT))
        results[name] = {"t_interval": float(np.mean(t_hits)), "bootstrap": float(np.mean(bootstrap_hits))}
    return results


def floor_identifiability(replications: int) -> list:
    rows = []
    for (count, decades), (name, noise), share in itertools.product(GRIDS, NOISES.items(), FLOOR_SHARES):
        sizes = 32 * np.logspace(0, decades, count)
        floor = share / (1 - share) * AMPLITUDE * sizes[-1] ** -EXPONENT
        rng = np.random.default_rng(0)
        campaigns = planted_learning_curves(rng, sizes, SEEDS, AMPLITUDE, EXPONENT, floor, noise, replications)
        exponent_hits, floor_hits, floor_errors = [], [], []
        for runs in campaigns:
            fits = [fit_floor_law(sizes, row) for row in runs]
            b = seed_interval([fit["exponent"] for fit in fits])
            c = seed_interval([fit["floor"] for fit in fits])
            exponent_hits.append(holds(b["ci_low"], b["ci_high"], EXPONENT))
            floor_hits.append(holds(c["ci_low"], c["ci_high"], floor))
            floor_errors.append(abs(c["mean"] - floor) / floor if floor else np.nan)
        rows.append({
            "sizes": count, "decades": decades, "noise": name, "floor_share": share,
            "exponent_coverage": float(np.mean(exponent_hits)), "floor_coverage": float(np.mean(floor_hits)),
            "median_floor_error": float(np.nanmedian(floor_errors)) if floor else None,
        })  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "scaling_intervals.json")
    args = parser.parse_args()
    exponents = exponent_intervals(2 * args.replications)
    print(exponents, flush=True)
    results = {"exponent_intervals": exponents, "floor_identifiability": floor_identifiability(args.replications)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
