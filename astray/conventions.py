"""What every model astray trains learns and how its training is paced, in one place with no heavy imports:
the trainers (SchNet's loop, NequIP's configuration, fine-tuning), evaluation and the benchmarks share it.
"""

# What every trained model predicts, recorded in its checkpoint or summary.
ENERGY_CONVENTION = "atomization energy (eV), relative to isolated atoms at the label level"


def atomization_energy(atoms, atom_energies: dict) -> float:
    """Energy (eV) of an ASE Atoms relative to its isolated atoms: the target the models learn."""
    return atoms.get_potential_energy() - sum(atom_energies[s] for s in atoms.get_chemical_symbols())


def plateau_patience(patience: int) -> int:
    """Epochs without a better validation error before the learning rate halves: a quarter of the early
    stopping patience, so the rate can halve about twice before training stops. Every trainer uses it."""
    return max(1, patience // 4)
