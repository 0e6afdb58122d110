import itertools
import json

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from astray.conventions import atomization_energy
from astray.datasets.splits import (
    holdout_test_set,
    split_molecules,
    training_order,
    training_set,
    validation_set,
)

MOLECULES = [f"M{i:02d}" for i in range(20)]


def labeled_pool():
    """Each molecule with one equilibrium and three distorted geometries, energies 0..N-1 eV."""
    pool = []
    for name in MOLECULES:
        for k, origin in enumerate(["equilibrium", "bond_scaled", "bond_scaled", "bond_scaled"]):
            atoms = Atoms("H2O", positions=np.eye(3) * (1.0 + 0.01 * k))
            atoms.info.update(molecule=name, origin=origin, geometry_id=f"{name}:{k}")
            atoms.calc = SinglePointCalculator(atoms, energy=float(len(pool)))
            pool.append(atoms)
    return pool


POOL = labeled_pool()
ASSIGNMENT = split_molecules([a.info["molecule"] for a in POOL], n_validation=3, n_test=4, split_seed=0)


def ids(atoms_list):
    return [a.info["geometry_id"] for a in atoms_list]


@pytest.mark.parametrize("kind", ["equilibrium", "with_distorted"])
def test_training_sets_are_strictly_nested(kind):
    sizes = [2, 5, 9, 13]
    sets = [ids(training_set(POOL, ASSIGNMENT, kind, seed=3, size=n)) for n in sizes]
    for smaller, larger in itertools.pairwise(sets):
        assert larger[: len(smaller)] == smaller


def test_splits_are_disjoint_by_molecule():
    molecules_of = lambda atoms_list: {a.info["molecule"] for a in atoms_list}  # noqa: E731
    train = molecules_of(training_order(POOL, ASSIGNMENT, "with_distorted", seed=0))
    validation = molecules_of(validation_set(POOL, ASSIGNMENT, "with_distorted"))
    test = molecules_of(holdout_test_set(POOL, ASSIGNMENT))
    assert not train & validation and not train & test and not validation & test
    assert (len(train), len(validation), len(test)) == (13, 3, 4)


def test_holdout_sets_do_not_depend_on_seed_or_size_and_test_is_shared_by_kinds():
    assert ids(holdout_test_set(POOL, ASSIGNMENT)) == ids(
        holdout_test_set(POOL, split_molecules(MOLECULES, 3, 4, split_seed=0))
    )
    equilibrium_val = validation_set(POOL, ASSIGNMENT, "equilibrium")
    assert {a.info["origin"] for a in equilibrium_val} == {"equilibrium"}
    assert {a.info["origin"] for a in holdout_test_set(POOL, ASSIGNMENT)} == {"equilibrium", "bond_scaled"}


def test_equilibrium_kind_never_sees_distorted_geometries():
    order = training_order(POOL, ASSIGNMENT, "equilibrium", seed=0)
    assert {a.info["origin"] for a in order} == {"equilibrium"}
    assert len(order) == 13


def test_same_seed_same_order_other_seed_other_order():
    assert ids(training_order(POOL, ASSIGNMENT, "with_distorted", 1)) == ids(
        training_order(POOL, ASSIGNMENT, "with_distorted", 1)
    )
    assert ids(training_order(POOL, ASSIGNMENT, "with_distorted", 1)) != ids(
        training_order(POOL, ASSIGNMENT, "with_distorted", 2)
    )


def test_size_beyond_pool_names_the_kind_and_count():
    with pytest.raises(ValueError, match="exceeds the 13 labeled training geometries of kind 'equilibrium'"):
        training_set(POOL, ASSIGNMENT, "equilibrium", seed=0, size=14)


def test_holdouts_that_leave_no_training_molecule_are_refused():
    with pytest.raises(ValueError, match="leave no training molecules"):
        split_molecules(MOLECULES, n_validation=10, n_test=10, split_seed=0)


def test_atomization_energy_subtracts_isolated_atoms():
    atoms = POOL[5]
    assert atomization_energy(atoms, {"H": -1.0, "O": -10.0}) == pytest.approx(5.0 + 12.0)


def test_same_seed_writes_identical_bytes_and_manifest_counts_origins(tmp_path):
    from astray.datasets.splits import manifest_entry
    from astray.io import write_geometries

    paths = [tmp_path / "a.extxyz", tmp_path / "b.extxyz"]
    for path in paths:
        write_geometries(path, training_set(labeled_pool(), ASSIGNMENT, "with_distorted", seed=4, size=10))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    subset = training_set(POOL, ASSIGNMENT, "with_distorted", seed=4, size=10)
    entry = manifest_entry(paths[0], subset)
    assert entry["geometries"] == 10 and sum(entry["origins"].values()) == 10
    assert entry["sha256"] == manifest_entry(paths[1], subset)["sha256"]


def test_a_training_set_read_from_the_frame_index_is_the_one_the_whole_pool_gives(tmp_path):
    """Training-set jobs read only their geometries, scattered over the labeled pool: the same file."""
    from astray.datasets.splits import frame_index, training_frames
    from astray.io import read_chosen_frames, read_geometries, write_geometries, write_json

    write_geometries(tmp_path / "labeled.extxyz", labeled_pool())
    write_json(tmp_path / "frame_index.json", frame_index(labeled_pool()))
    index = json.loads((tmp_path / "frame_index.json").read_text())
    for kind, size in (("equilibrium", 5), ("with_distorted", 30)):
        frames = training_frames(index, ASSIGNMENT, kind, seed=2, size=size)
        assert frames != sorted(frames), "the seeded order is not the pool's"
        write_geometries(tmp_path / "alone.extxyz", read_chosen_frames(tmp_path / "labeled.extxyz", frames))
        whole = read_geometries(tmp_path / "labeled.extxyz")
        write_geometries(tmp_path / "whole.extxyz", training_set(whole, ASSIGNMENT, kind, seed=2, size=size))
        assert (tmp_path / "alone.extxyz").read_bytes() == (tmp_path / "whole.extxyz").read_bytes()
    with pytest.raises(IndexError, match=r"labeled\.extxyz: has 80 frames, frame 80 was asked for"):
        read_chosen_frames(tmp_path / "labeled.extxyz", [3, 80])


def test_labeling_only_what_the_datasets_use_covers_the_holdouts_and_each_orders_first_geometries():
    from astray.datasets.splits import frame_index, holdout_frames, needed_frames, training_frames

    index = frame_index(POOL)
    needed = set(needed_frames(index, ASSIGNMENT, ["equilibrium", "with_distorted"], [0, 1], size=5))
    holdouts = holdout_frames(index, ASSIGNMENT)
    assert set(holdouts) <= needed
    assert {ASSIGNMENT[index["molecule"][frame]] for frame in holdouts} == {"validation", "test"}
    for kind in ("equilibrium", "with_distorted"):
        for seed in (0, 1):
            assert set(training_frames(index, ASSIGNMENT, kind, seed, size=5)) <= needed
    # 7 holdout molecules of 4 geometries each, and at most 4 sets of 5 training geometries.
    assert 28 < len(needed) <= 28 + 20 < len(POOL)


def test_a_quarantined_geometry_passes_its_place_to_the_next_in_the_order_and_still_counts_as_spent():
    from astray.datasets.splits import frame_index, labels_spent, needed_frames, training_frames

    index = frame_index(POOL)
    order = training_frames(index, ASSIGNMENT, "with_distorted", seed=0)
    failed = {order[2]}
    needed = needed_frames(index, ASSIGNMENT, ["with_distorted"], [0], size=4, failed=failed)
    assert order[4] in needed and order[5] not in needed  # the fifth takes the failed third's place
    labeled = set(needed) - failed
    assert training_frames(index, ASSIGNMENT, "with_distorted", 0, 4, labeled) == [*order[:2], *order[3:5]]
    assert labels_spent(index, ASSIGNMENT, "with_distorted", 0, 4, labeled) == 5
    assert labels_spent(index, ASSIGNMENT, "with_distorted", 0, 2, labeled) == 2
