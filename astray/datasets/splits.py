"""Training, validation and test sets a scaling study can rely on.

Molecules, not geometries, are split into train/validation/test, so a distortion of a test molecule never
leaks into training. Training sets of every size are prefixes of one seeded permutation (strictly nested);
validation and test sets do not depend on the size or the seed, and the test set is shared by every kind.

The split and the orders are made on the geometry pool before any label exists (frames are the pool's), so
a campaign can label only what its datasets use (labels.scope: datasets): the holdout molecules and each
order's first geometries. A geometry whose calculation was quarantined is passed over, and the next one in
the order takes its place; the calculations a set needed, quarantined ones included, are its labels spent.
"""

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
from ase import Atoms

from astray.geometries.pool import EQUILIBRIUM, ORIGINS

# Which geometry origins each dataset kind draws on: with_distorted takes every distortion and scan.
KIND_ORIGINS = {
    "equilibrium": (EQUILIBRIUM,),
    "with_distorted": ORIGINS,
}


# Label fields that differ between two runs of the same calculation. They stay in the label files (a
# chemist wants to know where and how long), but datasets leave them out to be byte-for-byte reproducible.
RUN_DEPENDENT_INFO = ("wall_time_s", "host")


def without_run_details(atoms_list):
    """The same geometries with run-dependent fields removed from `info` (in place; returns the list)."""
    for atoms in atoms_list:
        for key in RUN_DEPENDENT_INFO:
            atoms.info.pop(key, None)
    return atoms_list


def split_molecules(molecules, n_validation: int, n_test: int, split_seed: int) -> dict:
    """Assign each molecule name to 'train', 'validation' or 'test', independent of kind and size."""
    names = sorted(set(molecules))
    if n_validation + n_test >= len(names):
        raise ValueError(
            f"datasets: validation_molecules ({n_validation}) + test_molecules ({n_test}) leave no training "
            f"molecules out of {len(names)} labeled molecules"
        )
    order = np.random.default_rng(split_seed).permutation(len(names))
    assignment = {}
    for rank, index in enumerate(order):
        split = "test" if rank < n_test else "validation" if rank < n_test + n_validation else "train"
        assignment[names[index]] = split
    return assignment


def select(pool, assignment: dict, split: str, origins) -> list[Atoms]:
    return [a for a in pool if assignment[a.info["molecule"]] == split and a.info["origin"] in origins]


# What a training set's order needs of each labeled geometry; the holdout job writes it once for the pool,
# so a training-set job parses only its own geometries, not the whole labeled pool.
FRAME_INDEX_KEYS = ("molecule", "origin", "geometry_id")


def frame_index(pool) -> dict:
    """Per key of FRAME_INDEX_KEYS, its value for every frame of the pool, in frame order."""
    return {key: [atoms.info[key] for atoms in pool] for key in FRAME_INDEX_KEYS}


def training_frames(
    index: dict, assignment: dict, kind: str, seed: int, size: int | None = None, labeled=None
) -> list[int]:
    """Frame numbers of a kind's training geometries in one seeded order (its first `size`, if given);
    every training set is a prefix of the same order. With `labeled` (the frames that have a label), the
    order passes over every other frame: a quarantined geometry's place goes to the next one."""
    origins = KIND_ORIGINS[kind]
    candidates = [
        frame
        for frame, (molecule, origin) in enumerate(zip(index["molecule"], index["origin"]))
        if assignment[molecule] == "train" and origin in origins
    ]
    candidates.sort(key=lambda frame: index["geometry_id"][frame])
    order = [candidates[i] for i in np.random.default_rng(seed).permutation(len(candidates))]
    if labeled is not None:
        order = [frame for frame in order if frame in labeled]
    if size is not None and size > len(order):
        raise ValueError(
            f"datasets.sizes: size {size} exceeds the {len(order)} labeled training geometries of kind '{kind}'"
        )
    return order[:size]


def labels_spent(index: dict, assignment: dict, kind: str, seed: int, size: int, labeled) -> int:
    """The calculations a random set of `size` needed: its order up to its last geometry, the quarantined
    ones it passed over included."""
    order = training_frames(index, assignment, kind, seed)
    last = training_frames(index, assignment, kind, seed, size, labeled)[-1]
    return order.index(last) + 1


def holdout_frames(index: dict, assignment: dict) -> list[int]:
    """Every frame of the validation and test molecules (their sets are made of all of them)."""
    return [frame for frame, molecule in enumerate(index["molecule"]) if assignment[molecule] != "train"]


def needed_frames(index: dict, assignment: dict, kinds, seeds, size: int, failed=frozenset()) -> list[int]:
    """The frames the random sets and the holdouts use, in pool order: every holdout geometry, and each kind's
    and seed's first `size` training geometries that are not among the `failed` (quarantined) ones."""
    needed = set(holdout_frames(index, assignment))
    for kind in kinds:
        for seed in seeds:
            order = [frame for frame in training_frames(index, assignment, kind, seed) if frame not in failed]
            needed.update(order[:size])
    return sorted(needed)


def training_order(pool, assignment: dict, kind: str, seed: int) -> list[Atoms]:
    """All training geometries of a kind in one seeded order; every training set is a prefix of it."""
    return [pool[frame] for frame in training_frames(frame_index(pool), assignment, kind, seed)]


def training_set(pool, assignment: dict, kind: str, seed: int, size: int) -> list[Atoms]:
    return [pool[frame] for frame in training_frames(frame_index(pool), assignment, kind, seed, size)]


def validation_set(pool, assignment: dict, kind: str) -> list[Atoms]:
    return select(pool, assignment, "validation", KIND_ORIGINS[kind])


def holdout_test_set(pool, assignment: dict) -> list[Atoms]:
    """Every geometry of the test molecules, equilibrium and distorted: one yardstick for all kinds."""
    return select(pool, assignment, "test", KIND_ORIGINS["with_distorted"])


def manifest_entry(path, atoms_list) -> dict:
    """What a dataset file holds: size, content hash and how many geometries of each origin."""
    return {
        "path": str(path),
        "geometries": len(atoms_list),
        "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        "origins": dict(sorted(Counter(a.info["origin"] for a in atoms_list).items())),
    }
