import numpy as np
import pytest
from ase import Atoms

from astray.labels import Level, ProgressStore, isolated_atom_energies, label_chunk, label_geometry
from astray.units import ANGSTROM_TO_BOHR, EV_TO_KCAL_PER_MOL, HARTREE_TO_EV

HF_SVP = Level("hf", "def2-svp")


def h2(distance, charge=0, **info):
    atoms = Atoms("H2", positions=[(0, 0, 0), (0, 0, distance)])
    atoms.info.update(charge=charge, multiplicity=1, geometry_id=f"H2@{distance}", **info)
    return atoms


def test_stretched_h2_breaks_spin_symmetry_and_dissociates_to_two_atoms():
    stretched = label_geometry(h2(3.0), HF_SVP)
    hydrogen = isolated_atom_energies(["H"], HF_SVP)["H"]
    assert stretched["broken_symmetry"]
    assert stretched["s2"] == pytest.approx(1.0, abs=0.05)  # a singlet coupling of two doublets
    # The restricted solution would sit ~100 kcal/mol above two H atoms; the labeler must not keep it.
    assert abs(stretched["energy"] - 2 * hydrogen) * EV_TO_KCAL_PER_MOL < 0.5


def test_equilibrium_h2_stays_restricted_and_bound():
    equilibrium = label_geometry(h2(0.74), HF_SVP)
    hydrogen = isolated_atom_energies(["H"], HF_SVP)["H"]
    assert not equilibrium["broken_symmetry"]
    assert equilibrium["s2"] == pytest.approx(0.0)
    binding = (2 * hydrogen - equilibrium["energy"]) * EV_TO_KCAL_PER_MOL
    assert 70 < binding < 95  # HF underbinds H2 (exact: 109.5 kcal/mol)


def test_forces_are_minus_the_energy_gradient():
    water = Atoms("OH2", positions=[(0, 0, 0.12), (0, 0.76, -0.47), (0, -0.72, -0.49)])
    water.info.update(charge=0, multiplicity=1)
    forces = np.array(label_geometry(water, HF_SVP)["forces"])
    step = 1e-3
    for atom, axis in [(0, 2), (1, 1)]:
        energies = []
        for sign in (1, -1):
            displaced = water.copy()
            displaced.positions[atom, axis] += sign * step
            energies.append(label_geometry(displaced, HF_SVP, forces=False)["energy"])
        finite_difference = -(energies[0] - energies[1]) / (2 * step)
        assert forces[atom, axis] == pytest.approx(finite_difference, abs=2e-3)


def test_two_bare_protons_are_exactly_coulomb():
    record = label_geometry(h2(1.3, charge=2), HF_SVP)
    coulomb_ev = HARTREE_TO_EV / (1.3 * ANGSTROM_TO_BOHR)
    # PySCF converts Å to Bohr with CODATA 2010, ASE (our eV/Å units) with CODATA 2014: ~1e-9 apart.
    assert record["energy"] == pytest.approx(coulomb_ev, rel=1e-8)
    assert np.array(record["forces"])[1, 2] == pytest.approx(coulomb_ev / 1.3, rel=1e-8)  # repulsive: +z


def test_atoms_use_ground_state_multiplicity():
    energies = isolated_atom_energies(["H", "O"], Level("hf", "sto-3g"))
    assert energies["H"] == pytest.approx(-0.46658185 * HARTREE_TO_EV, abs=1e-5)
    assert set(energies) == {"H", "O"}


def test_killed_chunk_resumes_without_recomputing(tmp_path, monkeypatch):
    geometries = [h2(r) for r in (0.7, 0.8, 0.9)]
    progress = tmp_path / "chunk.jsonl"
    first, _ = label_chunk(geometries[:2], HF_SVP, progress, log=lambda *_: None)

    import astray.labels

    calls = []
    real = astray.labels.label_geometry
    monkeypatch.setattr(astray.labels, "label_geometry", lambda a, lvl: calls.append(a) or real(a, lvl))
    with open(progress, "a") as handle:
        handle.write('{"key": "cut-off-by-a-kill", "geo')  # a torn last line must not break resuming
    resumed, quarantined = label_chunk(geometries, HF_SVP, progress, log=lambda *_: None)

    assert [a.info["geometry_id"] for a in calls] == ["H2@0.9"]
    assert not quarantined
    assert [a.get_potential_energy() for a in resumed[:2]] == [a.get_potential_energy() for a in first]
    assert len(ProgressStore(progress).finished) == 3


def test_failed_calculation_is_quarantined_not_labeled(tmp_path, monkeypatch):
    import astray.labels

    def non_finite(atoms, level):
        raise astray.labels.LabelFailure("non-finite energy or forces")

    monkeypatch.setattr(astray.labels, "label_geometry", non_finite)
    labeled, quarantined = label_chunk([h2(0.74)], HF_SVP, tmp_path / "p.jsonl", log=lambda *_: None)
    assert labeled == []
    assert quarantined == [{"geometry_id": "H2@0.74", "reason": "non-finite energy or forces"}]
