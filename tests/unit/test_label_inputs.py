"""Inputs no engine can label stop before any calculation, with a message naming the geometry and field."""

import numpy as np
import pytest
from ase import Atoms

from astray.labels import LabelInputError, Level, check_labeling_inputs

HF_SVP = Level("hf", "def2-svp")


def molecule(symbols="OH2", positions=((0, 0, 0.12), (0, 0.76, -0.47), (0, -0.72, -0.49)), **info):
    atoms = Atoms(symbols, positions=positions)
    atoms.info.update({"geometry_id": "bad-one", **info})
    return atoms


@pytest.mark.parametrize(
    "atoms, level, message",
    [
        (molecule(), Level("pbx", "def2-svp"), "labels.method: PySCF cannot do 'pbx'"),
        (molecule(), Level("wb97x-d", "def2-svp"), "use wb97x-d3bj"),
        (molecule(), Level("hf", "no-such-basis"), "labels.basis: PySCF has no basis 'no-such-basis'"),
        (molecule("XeH2"), Level("hf", "6-31g"), "for element Xe"),
        (molecule(multiplicity=2), HF_SVP, "field 'multiplicity' 2 is impossible with 10 electrons"),
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
