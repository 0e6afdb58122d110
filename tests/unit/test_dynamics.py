"""NVE molecular dynamics (astray.evaluation.dynamics) checked against what mechanics says: a smooth potential conserves
energy to velocity Verlet's second order, a constant force moves atoms as r0 + F t²/2μ, and molecules
integrated side by side do not feel each other."""

import math

import numpy as np
import pytest
from ase import Atoms, units
from ase.data import atomic_masses, covalent_radii

from astray.evaluation.dynamics import BROKEN, FORMED, DynamicsSettings, choose_molecules, run_nve, summaries

# Morse parameters of H2 near its ground state (D_e 4.75 eV, a 1.94 /Å, r_e 0.741 Å).
MORSE = {"depth": 4.75, "width": 1.94, "r_e": 0.741}


def pair_model(pair_energy):
    """A model whose energy is a sum over atom pairs of pair_energy(r) -> (energy, dE/dr)."""

    def predict(atoms_list):
        energies, forces = [], []
        for atoms in atoms_list:
            energy, force = 0.0, np.zeros((len(atoms), 3))
            for i in range(len(atoms)):
                for j in range(i + 1, len(atoms)):
                    vector = atoms.positions[j] - atoms.positions[i]
                    r = np.linalg.norm(vector)
                    e, slope = pair_energy(r)
                    energy += e
                    force[i] += slope * vector / r
                    force[j] -= slope * vector / r
            energies.append(energy)
            forces.append(force)
        return np.array(energies), forces

    return predict


def morse(r):
    decay = math.exp(-MORSE["width"] * (r - MORSE["r_e"]))
    energy = MORSE["depth"] * (1 - decay) ** 2 - MORSE["depth"]
    return energy, 2 * MORSE["depth"] * MORSE["width"] * (1 - decay) * decay


def h2(distance=MORSE["r_e"], name="H2"):
    return Atoms("H2", positions=[[0, 0, 0], [0, 0, distance]], info={"geometry_id": name, "origin": "equilibrium"})


def settings(**changes):
    base = {"molecules": 8, "temperature": 1000.0, "timestep": 0.5, "steps": 400, "sample_every": 1, "seed": 0}
    return DynamicsSettings(**{**base, **changes})


def test_a_morse_molecule_conserves_energy_to_velocity_verlets_second_order():
    """Halving the timestep over the same time quarters the energy's excursion (O(dt²)); the molecule stays
    bonded and its energy does not drift."""
    excursions = []
    for timestep, steps in ((0.5, 400), (0.25, 800)):
        (run,) = run_nve([h2()], pair_model(morse), settings(timestep=timestep, steps=steps))
        assert run.intact and run.first_change == "" and run.time_intact == pytest.approx(0.2)
        excursions.append(run.energy_excursion)
        assert run.energy_drift < 1.0  # meV/atom/ps
    assert excursions[0] / excursions[1] == pytest.approx(4.0, rel=0.15)
    assert 1e-5 < excursions[1] < 1e-2  # eV: an integrator's error, not exact and not broken


@pytest.mark.parametrize(
    "start, push, change",
    [
        # A constant force of 1 eV/Å pushes the atoms apart from H2's bond length: a bond breaks...
        (MORSE["r_e"], 1.0, "broke"),
        # ...or pulls two atoms 2 Å apart together: a bond forms.
        (2.0, -1.0, "formed"),
    ],
)
def test_a_constant_force_changes_the_bond_graph_when_mechanics_says_it_does(start, push, change):
    """From rest, r(t) = r0 + (F/μ) t²/2; velocity Verlet is exact under a constant force, so the change is
    flagged at the first sample past the analytic time."""
    threshold = (BROKEN if change == "broke" else FORMED) * 2 * covalent_radii[1]
    acceleration = push / (atomic_masses[1] / 2)  # eV/Å/amu, on the H-H distance
    analytic_ps = math.sqrt(2 * (threshold - start) / acceleration) / units.fs / 1000.0
    # Velocities at 1e-9 K: at rest to within nothing a distance can resolve.
    (run,) = run_nve([h2(start)], pair_model(lambda r: (push * -r, -push)), settings(temperature=1e-9, sample_every=2))
    sample_ps = 2 * 0.5 / 1000.0
    assert not run.intact
    assert analytic_ps <= run.time_intact < analytic_ps + sample_ps
    assert run.first_change.startswith(f"bond H0-H1 {change}")


def test_molecules_run_side_by_side_do_not_feel_each_other():
    """A breaking molecule beside a bound one leaves the bound one's trajectory exactly as if run alone."""
    alone = run_nve([h2()], pair_model(morse), settings(seed=3))
    far = h2(name="far")
    repulsive = pair_model(lambda r: (-2.0 * r, -2.0))
    mixed = pair_model(morse)

    def both(atoms_list):
        bound, breaking = atoms_list
        e1, f1 = mixed([bound])
        e2, f2 = repulsive([breaking])
        return np.concatenate([e1, e2]), f1 + f2

    # The seed draws the first molecule's velocities first, so the bound H2 starts the same in both runs.
    together = run_nve([h2(), far], both, settings(seed=3))
    np.testing.assert_allclose(together[0].total_energies, alone[0].total_energies, rtol=0, atol=1e-12)
    assert together[0].intact and not together[1].intact


def test_a_model_that_stops_being_finite_is_flagged_not_carried():
    def nan_after_stretch(r):
        return (math.nan, math.nan) if r > 0.8 else morse(r)

    (run,) = run_nve([h2()], pair_model(nan_after_stretch), settings(temperature=3000.0))
    assert not run.intact and "finite" in run.first_change
    assert summaries([run])["md_intact"][0] == 0.0


def test_the_md_molecules_are_the_same_seeded_equilibrium_test_molecules_for_every_model():
    test = [h2(name=f"m{i}") for i in range(20)] + [Atoms("H", info={"geometry_id": "atom", "origin": "equilibrium"})]
    test[5].info["origin"] = "bond_scaling"
    picked = [a.info["geometry_id"] for a in choose_molecules(test, 6, seed=0)]
    assert picked == [a.info["geometry_id"] for a in choose_molecules(test, 6, seed=0)]
    assert len(set(picked)) == 6 and "m5" not in picked and "atom" not in picked
    assert picked != [a.info["geometry_id"] for a in choose_molecules(test, 6, seed=1)]
