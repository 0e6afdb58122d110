"""Does a potential hold a molecule together in NVE molecular dynamics, and conserve its energy?

Each of a fixed, seeded set of test molecules starts at its equilibrium geometry with Maxwell-Boltzmann
velocities at the set temperature (no net momentum or rotation) and runs ASE's velocity Verlet. The
molecules are integrated side by side as one ASE Atoms whose calculator predicts every molecule on its own,
in one batched call per step: they never interact, so each trajectory is exactly its own run, at the cost
of one model call per step for all of them.

Per trajectory, from samples every `sample_every` steps:
- the bond graph: at the start, atom pairs closer than BONDED times the sum of their covalent radii are
  bonds. The graph has changed when a bond stretches beyond BROKEN times that sum (an atom or fragment
  leaves) or two unbonded atoms come within FORMED times theirs (a new bond): the gap between the
  thresholds is a hysteresis, so thermal vibration never counts as a change;
- `time_intact` (ps): when the graph first changed, or the whole run if it never did; `intact`: it never
  did and every energy stayed finite;
- `energy_drift` (meV/atom/ps): the absolute least-squares slope of the total energy over the intact part
  of the run, per atom. Velocity Verlet conserves a shadow energy, so a smooth potential drifts by little
  more than the noise of float32 forces; a potential whose forces are not its energy's gradient, or one
  that is rough, drifts.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator, all_changes
from ase.data import chemical_symbols, covalent_radii
from ase.md.velocitydistribution import Stationary, ZeroRotation, thermalize_momenta
from ase.md.verlet import VelocityVerlet

# Multiples of the sum of two atoms' covalent radii (ASE's, Cordero et al. 2008): bonded at the start below
# BONDED (covers every bond of H, C, N, O, F molecules, F2's 1.25 included), broken beyond BROKEN (C-H
# stretched by 0.6 Å), formed below FORMED (geminal H...H at 0.68 Å, far below their 1.78 Å).
BONDED, BROKEN, FORMED = 1.3, 1.6, 1.1


@dataclass(frozen=True)
class DynamicsSettings:
    """evaluation.dynamics of the config: `molecules` test molecules, at `temperature` K, `steps` steps of
    `timestep` fs, sampled every `sample_every` steps, velocities and the molecules drawn with `seed`."""

    molecules: int
    temperature: float
    timestep: float
    steps: int
    sample_every: int
    seed: int

    @property
    def duration(self) -> float:
        """Length of a run, ps."""
        return self.steps * self.timestep / 1000.0

    @classmethod
    def from_config(cls, section: dict) -> "DynamicsSettings":
        return cls(**{name: section[name] for name in cls.__dataclass_fields__})


@dataclass
class Trajectory:
    """One molecule's run: its sampled times (ps) and total energies (eV), and what became of its bonds."""

    molecule: str
    n_atoms: int
    times: np.ndarray
    total_energies: np.ndarray
    time_intact: float
    intact: bool
    first_change: str  # "" while intact, else e.g. "bond C0-H3 broke (1.83 Å)"

    @property
    def energy_drift(self) -> float:
        """|dE/dt| per atom over the intact part, meV/atom/ps; NaN with fewer than three samples there."""
        kept = (self.times <= self.time_intact) & np.isfinite(self.total_energies)
        if kept.sum() < 3:
            return np.nan
        slope = np.polyfit(self.times[kept], self.total_energies[kept], 1)[0]
        return float(abs(slope) / self.n_atoms * 1000.0)

    @property
    def energy_excursion(self) -> float:
        """Largest |E(t) - E(0)| over the intact part (eV): velocity Verlet's error, O(timestep²)."""
        kept = (self.times <= self.time_intact) & np.isfinite(self.total_energies)
        return float(np.abs(self.total_energies[kept] - self.total_energies[0]).max())


def choose_molecules(test_atoms, count: int, seed: int) -> list[Atoms]:
    """`count` equilibrium test geometries of at least two atoms, drawn with `seed`, in the test set's order:
    the same molecules for every model of a campaign."""
    equilibrium = [atoms for atoms in test_atoms if atoms.info.get("origin") == "equilibrium" and len(atoms) >= 2]
    picked = np.random.default_rng(seed).choice(len(equilibrium), size=min(count, len(equilibrium)), replace=False)
    return [equilibrium[i] for i in sorted(picked)]


def energies_and_forces_of(model):
    """The model's `energies_and_forces(atoms_list)` (one pass for both, where it has one), else its energies
    and forces asked for separately."""
    if hasattr(model, "energies_and_forces"):
        return model.energies_and_forces
    return lambda atoms_list: (model.energies(atoms_list), model.forces(atoms_list))


class MoleculesCalculator(Calculator):
    """Several molecules held in one Atoms, each predicted on its own: `predict(list of Atoms)` returns their
    energies (eV) and forces (eV/Å). A molecule whose prediction is not finite gets zero forces and a NaN
    energy, so it cannot poison the others' trajectories."""

    implemented_properties: ClassVar = ["energy", "forces"]

    def __init__(self, predict, molecules):
        super().__init__()
        self.predict = predict
        self.molecules = [molecule.copy() for molecule in molecules]
        ends = np.cumsum([len(molecule) for molecule in molecules])
        self.slices = [slice(end - len(molecule), end) for end, molecule in zip(ends, molecules)]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        for molecule, part in zip(self.molecules, self.slices):
            molecule.positions = self.atoms.positions[part]
        energies, forces = self.predict(self.molecules)
        energies = np.asarray(energies, dtype=float)
        forces = [np.asarray(f, dtype=float) for f in forces]
        finite = np.isfinite(energies) & np.array([np.isfinite(f).all() for f in forces])
        self.results = {
            "energy": float(energies[finite].sum()),
            "forces": np.concatenate([f if ok else np.zeros_like(f) for f, ok in zip(forces, finite)]),
            "molecule_energies": np.where(finite, energies, np.nan),
        }


def run_nve(molecules, predict, settings: DynamicsSettings) -> list[Trajectory]:
    """NVE runs of `molecules` under `predict` (see MoleculesCalculator); every molecule is run to the end
    unless all of them have changed their bond graph, which ends the run early."""
    rng = np.random.default_rng(settings.seed)
    system = Atoms()
    for molecule in molecules:
        system += _thermalised(molecule, settings.temperature, rng)
    calculator = MoleculesCalculator(predict, molecules)
    system.calc = calculator
    graphs = [BondGraph(molecule) for molecule in molecules]
    samples = []
    dynamics = VelocityVerlet(system, timestep=settings.timestep * units.fs)
    sample_times = (
        np.arange(settings.steps // settings.sample_every + 1) * settings.sample_every * settings.timestep / 1000.0
    )
    for sample, time in enumerate(sample_times):
        if sample:
            dynamics.run(settings.sample_every)
        system.get_potential_energy()
        kinetic = _kinetic_energies(system, calculator.slices)
        samples.append(calculator.results["molecule_energies"] + kinetic)
        for graph, part in zip(graphs, calculator.slices):
            graph.observe(system.positions[part], time)
        if all(graph.changed_at is not None for graph in graphs):
            break
    energies = np.array(samples)
    times = sample_times[: len(samples)]
    return [
        _trajectory(molecule, graph, times, energies[:, i], times[-1])
        for i, (molecule, graph) in enumerate(zip(molecules, graphs))
    ]


def _thermalised(molecule, temperature: float, rng) -> Atoms:
    bare = Atoms(molecule.numbers, positions=molecule.positions)
    thermalize_momenta(bare, temperature_K=temperature, exact_temperature=True, rng=rng)
    Stationary(bare, preserve_temperature=True)
    # A linear molecule has a zero moment of inertia, which ASE skips after dividing by it.
    with np.errstate(invalid="ignore", divide="ignore"):
        ZeroRotation(bare, preserve_temperature=True)
    return bare


def _kinetic_energies(system, slices) -> np.ndarray:
    per_atom = 0.5 * system.get_masses() * (system.get_velocities() ** 2).sum(axis=1)
    return np.array([per_atom[part].sum() for part in slices])


def _trajectory(molecule, graph, times, total_energies, end: float) -> Trajectory:
    finite = np.isfinite(total_energies)
    non_finite_at = times[~finite][0] if not finite.all() else None
    changed_at = min((t for t in (graph.changed_at, non_finite_at) if t is not None), default=None)
    change = graph.change if changed_at == graph.changed_at else "the model's energy or forces stopped being finite"
    return Trajectory(
        molecule=molecule.info.get("geometry_id", molecule.get_chemical_formula()),
        n_atoms=len(molecule),
        times=times,
        total_energies=total_energies,
        time_intact=end if changed_at is None else float(changed_at),
        intact=changed_at is None,
        first_change="" if changed_at is None else change,
    )


class BondGraph:
    """A molecule's bonds at the start, and the first time and way they changed (see the module's notes)."""

    def __init__(self, molecule):
        self.symbols = [chemical_symbols[z] for z in molecule.numbers]
        radii = covalent_radii[molecule.numbers]
        self.radius_sums = radii[:, None] + radii[None, :]
        self.bonded = _distances(molecule.positions) < BONDED * self.radius_sums
        self.changed_at = None
        self.change = ""

    def observe(self, positions, time: float) -> None:
        if self.changed_at is not None:
            return
        distances = _distances(positions)
        broken = self.bonded & (distances > BROKEN * self.radius_sums)
        formed = ~self.bonded & (distances < FORMED * self.radius_sums)
        np.fill_diagonal(formed, False)
        for pairs, what in ((broken, "broke"), (formed, "formed")):
            i, j = np.argwhere(np.triu(pairs))[0] if np.triu(pairs).any() else (None, None)
            if i is not None:
                self.changed_at = time
                self.change = f"bond {self.symbols[i]}{i}-{self.symbols[j]}{j} {what} ({distances[i, j]:.2f} Å)"
                return


def _distances(positions) -> np.ndarray:
    return np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)


def summaries(trajectories) -> dict:
    """Per trajectory, what the cube keeps: molecule, time intact (ps), intact (1/0), energy drift."""
    return {
        "md_molecule": [t.molecule for t in trajectories],
        "md_time_intact": np.array([t.time_intact for t in trajectories]),
        "md_intact": np.array([float(t.intact) for t in trajectories]),
        "md_energy_drift": np.array([t.energy_drift for t in trajectories]),
        "md_first_change": [t.first_change for t in trajectories],
    }


def model_dynamics(model, test_atoms, settings: DynamicsSettings | None) -> dict | None:
    """The summaries of a predictor's NVE runs on the campaign's MD molecules: run here for a model astray
    trained, read from its predictions for a pretrained one (run once, in its prediction job); None with
    molecular dynamics turned off (no settings, or 0 steps)."""
    if settings is None or settings.steps == 0:
        return None
    if hasattr(model, "dynamics"):  # a pretrained model's predictions: run once, or not at all
        return model.dynamics
    molecules = choose_molecules(test_atoms, settings.molecules, settings.seed)
    return summaries(run_nve(molecules, energies_and_forces_of(model), settings))
