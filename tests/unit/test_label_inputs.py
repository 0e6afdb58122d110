"""Inputs no engine can label stop before any calculation, with a message naming the geometry and field."""

import numpy as np
import pytest
from ase import Atoms

from astray.labels.labeling import LabelInputError, Level, check_labeling_inputs

HF_SVP = Level("hf", "def2-svp")


def molecule(symbols="OH2", positions=((0, 0, 0.12), (0, 0.76, -0.47), (0, -0.72, -0.49)), **info):
    atoms = Atoms(symbols, positions=positions)
    atoms.info.update({"geometry_id": "bad-one", "charge": 0, "multiplicity": 1, **info})
    return atoms


def untagged():
    """A geometry that reached labeling without its electronic state (no source would make one)."""
    atoms = molecule()
    del atoms.info["multiplicity"]
    return atoms


@pytest.mark.parametrize(
    "atoms, level, message",
    [
        (molecule(), Level("pbx", "def2-svp"), "labels.method: PySCF cannot do 'pbx'"),
        (molecule(), Level("wb97x-d", "def2-svp"), "use wb97x-d3bj"),
        (molecule(), Level("hf", "no-such-basis"), "labels.basis: PySCF has no basis 'no-such-basis'"),
        (molecule("XeH2"), Level("hf", "6-31g"), "for element Xe"),
        (molecule(multiplicity=2), HF_SVP, "field 'multiplicity' 2 is impossible with 10 electrons"),
        (untagged(), HF_SVP, "geometry 'bad-one': no 'multiplicity' in its info"),
        (molecule(charge=1), HF_SVP, "field 'multiplicity' 1 is impossible with 9 electrons"),
        (molecule(charge=11, multiplicity=1), HF_SVP, "field 'charge' 11 removes more electrons"),
        (molecule(multiplicity=0), HF_SVP, "field 'multiplicity' must be a positive integer"),
        (molecule(charge=0.5), HF_SVP, "field 'charge' must be an integer"),
        (molecule(positions=((0, 0, 0), (0, 0, 0.1), (0, 1, 0))), HF_SVP, "are 0.100 Å apart"),
        (molecule(positions=((0, 0, np.nan), (0, 0, 1), (0, 1, 0))), HF_SVP, "NaN or infinite coordinates"),
        (molecule(), Level("fci", "cc-pvtz"), "FCI in cc-pvtz needs"),
    ],
)
def test_bad_inputs_are_refused_before_any_calculation(atoms, level, message):
    with pytest.raises(LabelInputError) as refused:
        check_labeling_inputs([molecule(geometry_id="fine"), atoms], level)
    assert message in str(refused.value)
    if "field" in message:
        assert "geometry 'bad-one'" in str(refused.value)


def test_good_inputs_pass_including_ions_and_radicals():
    ions = [
        molecule("H3", ((0, 0, 0), (0.873, 0, 0), (0.4365, 0.756, 0)), charge=1),
        molecule("HeH", ((0, 0, 0), (0, 0, 0.77)), charge=1),
        molecule("H2", ((0, 0, 0), (0, 0, 1.06)), charge=1, multiplicity=2),
        molecule("OH", ((0, 0, 0), (0, 0, 0.97)), multiplicity=2),
        molecule("H2", ((0, 0, 0), (0, 0, 0.3)), charge=2),
    ]
    check_labeling_inputs(ions, Level("b3lyp-d3bj", "def2-svp"))


def test_a_chunk_read_alone_is_the_same_geometries_as_the_whole_pool_sliced(tmp_path):
    """Labeling jobs read only their chunk of the pool: the same frames, positions and info, in order."""
    from ase import Atoms

    from astray.io import read_chosen_frames, read_geometries, write_geometries

    pool = [Atoms("H2O", positions=[(0, 0, 0), (0.96 + 0.01 * i, 0, 0), (0, 0.96, 0)],
                  info={"geometry_id": f"water{i}", "charge": 0}) for i in range(12)]  # fmt: skip
    write_geometries(tmp_path / "pool.extxyz", pool)
    whole = read_geometries(tmp_path / "pool.extxyz")
    for first in (0, 5, 10):
        chunk = read_chosen_frames(tmp_path / "pool.extxyz", range(first, min(first + 5, 12)))
        assert [a.info["geometry_id"] for a in chunk] == [a.info["geometry_id"] for a in whole[first : first + 5]]
        assert all((a.positions == b.positions).all() for a, b in zip(chunk, whole[first : first + 5]))
