import json
import math
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from ase import Atoms

from astray.io import write_geometries
from astray.labels.labeling import Level, ProgressStore, calculate, isolated_atom_energies, label_chunk, label_geometry
from astray.units import ANGSTROM_TO_BOHR, EV_TO_KCAL_PER_MOL, HARTREE_TO_EV

HF_SVP = Level("hf", "def2-svp")


def h2(distance, charge=0, multiplicity=1):
    atoms = Atoms("H2", positions=[(0, 0, 0), (0, 0, distance)])
    atoms.info.update(charge=charge, multiplicity=multiplicity, geometry_id=f"H2@{distance}")
    return atoms


def water(stretch=1.0):
    atoms = Atoms("OH2", positions=[(0, 0, 0.12), (0, 0.76 * stretch, -0.47 * stretch), (0, -0.72, -0.49)])
    atoms.info.update(charge=0, multiplicity=1, geometry_id=f"H2O/stretch{stretch:.2f}")
    return atoms


def silent(*_):
    pass


def test_stretched_h2_breaks_spin_symmetry_and_dissociates_to_two_atoms():
    stretched = label_geometry(h2(3.0), HF_SVP)
    hydrogen = isolated_atom_energies(["H"], HF_SVP)["H"]
    assert stretched["broken_symmetry"]
    assert stretched["reference"] == "uhf"
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
    forces = np.array(label_geometry(water(), HF_SVP)["forces"])
    step = 1e-3
    for atom, axis in [(0, 2), (1, 1)]:
        energies = []
        for sign in (1, -1):
            displaced = water()
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
    """Each free atom's energy is that of its lowest spin state, found here by computing every spin state
    the electron count allows (Hund's rule: C and O triplets, N a quartet, F a doublet), not read off the
    table the code uses."""
    level = Level("hf", "sto-3g")
    energies = isolated_atom_energies(["H", "C", "N", "O", "F"], level)
    assert energies["H"] == pytest.approx(-0.46658185 * HARTREE_TO_EV, abs=1e-5)  # STO-3G's H atom
    for symbol, electrons in {"C": 6, "N": 7, "O": 8, "F": 9}.items():
        # Every spin state whose alpha electrons fit STO-3G's five orbitals of a first-row atom.
        spins = [m for m in range(1 + electrons % 2, 7, 2) if (electrons + m - 1) // 2 <= 5]
        atom = {m: Atoms(symbol, info={"charge": 0, "multiplicity": m}) for m in spins}
        by_spin = {m: label_geometry(atom[m], level)["energy"] for m in spins}
        assert energies[symbol] == pytest.approx(min(by_spin.values()), abs=1e-6), (symbol, by_spin)


def test_charged_species_are_labeled_with_their_charge():
    h2_cation = h2(1.06, charge=1, multiplicity=2)
    one_electron = label_geometry(h2_cation, HF_SVP)
    # One electron: HF is exact in the basis; the exact H2+ energy at 2.0 Bohr is -0.6026 Eh.
    assert one_electron["s2"] == pytest.approx(0.75)
    assert one_electron["energy"] / HARTREE_TO_EV == pytest.approx(-0.6026, abs=3e-3)

    trihydrogen = Atoms(
        "H3", positions=[(0, 0, 0), (0.873, 0, 0), (0.4365, 0.756, 0)], info={"charge": 1, "multiplicity": 1}
    )
    proton = Atoms("H", info={"charge": 1, "multiplicity": 1})
    h3_plus = label_geometry(trihydrogen, HF_SVP)["energy"]
    h2_plus_proton = label_geometry(h2(0.74), HF_SVP)["energy"] + label_geometry(proton, HF_SVP)["energy"]
    # H3+ -> H2 + H+ costs about 4.4 eV (experiment); HF/def2-SVP lands within half an eV.
    assert 3.9 < h2_plus_proton - h3_plus < 5.0


def test_every_record_carries_its_provenance(tmp_path):
    [labeled], _ = label_chunk([h2(0.74)], HF_SVP, tmp_path / "p.jsonl", log=silent)
    info = labeled.info
    assert (info["engine"], info["method"], info["basis"]) == ("pyscf", "hf", "def2-svp")
    assert (info["charge"], info["multiplicity"], info["converged"]) == (0, 1, True)
    assert info["engine_version"] and info["host"] and info["scf_cycles"] > 0 and info["wall_time_s"] > 0
    assert info["reference"] == "rhf" and info["s2"] == 0.0


def test_failed_scf_is_quarantined_with_its_reason_and_never_labeled(tmp_path):
    starved = Level("hf", "def2-svp", max_scf_cycles=1)  # no rung of the retry ladder can converge in one cycle
    labeled, quarantined = label_chunk([water(), h2(0.74, charge=2)], starved, tmp_path / "p.jsonl", log=silent)
    assert [a.info["geometry_id"] for a in labeled] == ["H2@0.74"]  # bare protons need no SCF
    [entry] = quarantined
    assert entry["geometry_id"] == "H2O/stretch1.00"
    assert "SCF did not converge" in entry["reason"] and "second_order" in entry["reason"]
    write_geometries(tmp_path / "labeled.extxyz", labeled)
    assert "nan" not in (tmp_path / "labeled.extxyz").read_text().lower()


def test_warm_start_along_a_scan_saves_cycles_not_accuracy(tmp_path):
    scan = [water(stretch) for stretch in np.linspace(0.9, 1.3, 6)]
    cold, _ = label_chunk(scan, HF_SVP, tmp_path / "cold.jsonl", log=silent, warm_start=False)
    warm, _ = label_chunk(scan, HF_SVP, tmp_path / "warm.jsonl", log=silent, warm_start=True)
    assert sum(a.info["scf_cycles"] for a in warm) < sum(a.info["scf_cycles"] for a in cold)
    for w, c in zip(warm, cold):
        assert w.get_potential_energy() == pytest.approx(c.get_potential_energy(), abs=1e-6)
        assert w.info["broken_symmetry"] == c.info["broken_symmetry"]


def test_a_warm_start_that_cannot_converge_falls_back_to_a_cold_one(tmp_path):
    """Stretched OH (STO-3G) fails every rung from its compressed neighbour's density, none from PySCF's."""

    def hydroxyl(distance):
        atoms = Atoms("OH", positions=[(0, 0, 0), (0, 0, distance)])
        atoms.info.update(charge=0, multiplicity=2, geometry_id=f"OH@{distance}")
        return atoms

    minimal = Level("hf", "sto-3g")
    scan = [hydroxyl(0.88), hydroxyl(1.37)]
    cold, _ = label_chunk(scan, minimal, tmp_path / "cold.jsonl", log=silent, warm_start=False)
    warm, quarantined = label_chunk(scan, minimal, tmp_path / "warm.jsonl", log=silent, warm_start=True)
    assert quarantined == []
    assert warm[1].get_potential_energy() == pytest.approx(cold[1].get_potential_energy(), abs=1e-6)


KILLABLE_CHUNK = """
import numpy as np
from ase import Atoms
from astray.labels.labeling import Level, label_chunk
scan = []
for s in np.linspace(0.9, 1.5, {n}):
    atoms = Atoms("OH2", positions=[(0, 0, 0.12), (0, 0.76 * s, -0.47 * s), (0, -0.72, -0.49)])
    atoms.info.update(charge=0, multiplicity=1, geometry_id=f"H2O/stretch{{s:.2f}}")
    scan.append(atoms)
label_chunk(scan, Level("hf", "def2-svp"), {progress!r}, log=lambda *_: None)
"""


def test_chunk_killed_mid_way_resumes_without_recomputing(tmp_path):
    n = 8
    progress = tmp_path / "chunk.jsonl"
    script = KILLABLE_CHUNK.format(n=n, progress=str(progress))
    process = subprocess.Popen([sys.executable, "-c", script])
    while _lines(progress) < 3:
        assert process.poll() is None, "the chunk finished before it could be killed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_before_kill = _lines(progress)
    assert finished_before_kill < n

    messages = []
    scan = [water(s) for s in np.linspace(0.9, 1.5, n)]
    resumed, _ = label_chunk(scan, HF_SVP, progress, log=messages.append)
    computed = [m for m in messages if m.startswith("[")]
    assert len(computed) == n - finished_before_kill
    assert len(ProgressStore(progress).finished) == n

    uninterrupted, _ = label_chunk(scan, HF_SVP, tmp_path / "clean.jsonl", log=silent)
    # The warm-start chain survives the kill, so the resumed labels are the uninterrupted ones, bit for bit.
    assert [a.get_potential_energy() for a in resumed] == [a.get_potential_energy() for a in uninterrupted]
    assert all(np.array_equal(a.get_forces(), b.get_forces()) for a, b in zip(resumed, uninterrupted))


def _lines(path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def test_torn_last_line_of_a_progress_file_is_dropped(tmp_path):
    progress = tmp_path / "chunk.jsonl"
    label_chunk([h2(0.7)], HF_SVP, progress, log=silent)
    with open(progress, "a") as handle:
        handle.write('{"key": "cut-off-by-a-kill", "geo')
    messages = []
    labeled, _ = label_chunk([h2(0.7), h2(0.8)], HF_SVP, progress, log=messages.append)
    assert len(labeled) == 2 and sum(m.startswith("[") for m in messages) == 1
    assert all(json.loads(line) for line in progress.read_text().splitlines())


def test_energy_only_methods_leave_forces_out():
    record, _ = calculate(h2(0.74), Level("ccsd(t)", "sto-3g"))
    assert record["forces"] is None and math.isfinite(record["energy"])


def test_energy_only_labels_are_the_same_energies_kept_apart_from_labels_with_forces(tmp_path):
    """labels.forces false: the same energy without forces, under its own key, so a later run that asks
    for forces computes them instead of reusing a label that has none."""
    progress = tmp_path / "p.jsonl"
    [energy_only], _ = label_chunk([water()], HF_SVP, progress, log=silent, forces=False)
    messages = []
    [with_forces], _ = label_chunk([water()], HF_SVP, progress, log=messages.append, forces=True)
    assert "forces" not in energy_only.calc.results
    assert with_forces.get_forces().shape == (3, 3)
    assert energy_only.get_potential_energy() == pytest.approx(with_forces.get_potential_energy(), abs=1e-8)
    assert "1 computed now" in messages[-1]
