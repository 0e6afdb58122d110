"""Training sets chosen by a committee, beside the random ones (datasets.selection).

A committee-selected family starts from the random strategy's smallest set of the first seed, and each
larger size adds the candidates that the committee trained on the previous set disagrees on most. The
committee is one rung's models of every seed trained on that set (independently initialised and shuffled).
Its disagreement on a candidate is the spread (standard deviation over members) of their predicted
energies divided by the square root of the candidate's atom count, as ANI's query by committee does (Smith
et al., J. Chem. Phys. 148, 241733 (2018)): a spread grows with a molecule's size, and a large molecule is
not more informative for being large. A diversity guard takes at most `per_molecule` new geometries of one
molecule in a round, relaxed only when too few molecules are left. Candidates are the kind's training
geometries not yet in the set, so the validation and test molecules (and the probes, kept out of the pool by
its leakage guard) never are.

Candidates need no labels: members predict them from the pool's geometries. Under labels.scope: datasets
only the picks are labeled, by each round's own jobs; a pick whose calculation is quarantined gives its place
to the next one the ranking and the guard allow. A set's labels spent are the calculations its strategy
needed: its first set's, then each round's picks, quarantined ones included.

The family is one set per size for all seeds: a seed's model trained on it is also a member of the
committee that picks the next round, so the rounds cost no training beyond the evaluated runs.
"""

from collections import Counter

import numpy as np

from astray.config_schema import with_defaults
from astray.io import read_json

STRATEGIES = ("random", "committee")
# A committee kind's name: its geometries' kind and its strategy, e.g. with_distorted-committee.
SEPARATOR = "-"
SCHEMA_POINTER = "properties/datasets/properties/selection"


def selection_settings(datasets: dict) -> dict:
    """`datasets.selection` completed with the schema's defaults (random only where it is left out)."""
    return with_defaults(datasets.get("selection") or {}, SCHEMA_POINTER)


def selected_kind(kind: str, strategy: str) -> str:
    """The dataset name of a kind's sets under a strategy (the random sets keep the kind's own name)."""
    return kind if strategy == "random" else f"{kind}{SEPARATOR}{strategy}"


def training_kinds(datasets: dict) -> list[str]:
    """Every dataset a campaign trains on: each kind under each strategy, random first."""
    strategies = selection_settings(datasets)["strategies"]
    return [selected_kind(kind, strategy) for strategy in STRATEGIES if strategy in strategies
            for kind in datasets["kinds"]]  # fmt: skip


def drawn_from(kind: str) -> str:
    """The kind of geometries a dataset is drawn from (with_distorted for with_distorted-committee)."""
    return kind.split(SEPARATOR)[0]


def strategy_of(kind: str) -> str:
    return kind.split(SEPARATOR)[1] if SEPARATOR in kind else "random"


def disagreement(member_energies, n_atoms) -> np.ndarray:
    """Per candidate: the members' spread in eV (sample standard deviation) over √(atoms)."""
    energies = np.asarray(member_energies, dtype=float)
    if energies.ndim != 2 or len(energies) < 2:
        raise ValueError(f"a committee needs at least two members' predictions, got an array of shape {energies.shape}")
    return energies.std(axis=0, ddof=1) / np.sqrt(np.asarray(n_atoms, dtype=float))


def committee_picks(scores, molecules, n_picks: int, per_molecule: int) -> list[int]:
    """Indices of the `n_picks` candidates to add: highest score first, at most `per_molecule` of one
    molecule; where that leaves too few, the cap rises by `per_molecule` until the round is full."""
    if n_picks > len(scores):
        raise ValueError(f"a round needs {n_picks} new geometries but only {len(scores)} candidates are left")
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    picked, taken, cap = {}, Counter(), per_molecule
    while len(picked) < n_picks:
        for index in order:
            if len(picked) == n_picks:
                break
            if index not in picked and taken[molecules[index]] < cap:
                picked[index] = None
                taken[molecules[index]] += 1
        cap += per_molecule
    return [int(index) for index in picked]


def candidate_frames(training_frames, chosen, failed=()) -> list[int]:
    """The kind's training frames neither chosen yet nor quarantined, in frame order (every member predicts
    the same list)."""
    left_out = {*chosen, *failed}
    return sorted(frame for frame in training_frames if frame not in left_out)


def member_predictions(paths) -> tuple[list[int], list[list[float]], list[int]]:
    """The candidates, each member's energies of them (eV) and their atom counts, from the members'
    prediction files; refused where two members predicted different candidates."""
    members = [read_json(path) for path in paths]
    for path, member in zip(paths, members):
        if member["frames"] != members[0]["frames"]:
            raise ValueError(f"{path}: predicts other candidates than {paths[0]}")
    return members[0]["frames"], [member["energies"] for member in members], members[0]["atoms"]


def next_round(chosen, candidates, member_energies, n_atoms, molecules, size: int, per_molecule: int,
               excluded=()) -> dict:  # fmt: skip
    """The set of `size` frames after one round: the chosen ones and the committee's picks among the
    candidates but the `excluded` frames (picks whose calculation was quarantined), with each pick's
    disagreement (eV/√atom) for the record."""
    excluded = set(excluded)
    keep = [i for i, frame in enumerate(candidates) if frame not in excluded]
    candidates, molecules = [candidates[i] for i in keep], [molecules[i] for i in keep]
    scores = disagreement(np.asarray(member_energies, dtype=float)[:, keep], np.asarray(n_atoms)[keep])
    picks = committee_picks(scores, molecules, size - len(chosen), per_molecule)
    return {
        "frames": [*chosen, *(candidates[i] for i in picks)],
        "picks": [{"frame": candidates[i], "molecule": molecules[i], "disagreement": float(scores[i])} for i in picks],
        "candidate_disagreement": {
            "median": float(np.median(scores)),
            "max": float(scores.max()),
            "candidates": len(candidates),
        },
    }
