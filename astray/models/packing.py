"""Molecules packed into flat tensors with their neighbour graphs computed once.

Training geometries never move, so each molecule's neighbour pairs within the cutoff are fixed: they are
found once here instead of on every forward pass, each pair stored once (SchNet's filter depends on the
distance alone, so it is the same in both directions: `astray.models.schnet.GraphSchNet`), and a batch is
assembled by index arithmetic on tensors that can live on the GPU, with no per-molecule Python objects. This
is where most of astray's training speed over a `Data`-object `DataLoader` loop comes from
(benchmarks/training.py).
"""

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.distance import pdist

from astray.labels.states import charge_and_multiplicity


@dataclass
class Batch:
    z: torch.Tensor  # atomic numbers of all atoms in the batch
    pos: torch.Tensor  # Å
    batch: torch.Tensor  # molecule index of each atom
    pairs: torch.Tensor  # 2 x P: atom pairs i < j closer than the cutoff, as indices into the batch's atoms
    energy: torch.Tensor  # per molecule, eV
    forces: torch.Tensor | None  # per atom, eV/Å
    charge: torch.Tensor  # per molecule, elementary charges
    multiplicity: torch.Tensor  # per molecule, 2S + 1


class PackedMolecules:
    """A fixed set of molecules as flat tensors plus per-molecule offsets into them."""

    def __init__(self, atoms_list, energies, cutoff: float, with_forces: bool = False, device="cpu"):
        if not atoms_list:
            raise ValueError("no molecules to pack")
        n_atoms = np.array([len(a) for a in atoms_list])
        local_pairs = [_pairs_within(a.positions, cutoff) for a in atoms_list]
        n_pairs = np.array([p.shape[1] for p in local_pairs])
        as_long = lambda array: torch.as_tensor(array, dtype=torch.long, device=device)  # noqa: E731
        self.n_molecules = len(atoms_list)
        # Host copies of the sizes: batch sizes are summed here, so building a batch never waits for the GPU.
        self.host_n_atoms, self.host_n_pairs = n_atoms, n_pairs
        self.n_atoms = as_long(n_atoms)
        self.n_pairs = as_long(n_pairs)
        self.atom_start = as_long(np.cumsum(n_atoms) - n_atoms)
        self.pair_start = as_long(np.cumsum(n_pairs) - n_pairs)
        self.z = as_long(np.concatenate([a.numbers for a in atoms_list]))
        self.pos = torch.as_tensor(
            np.concatenate([a.positions for a in atoms_list]), dtype=torch.float32, device=device
        )
        self.local_pairs = as_long(np.concatenate(local_pairs, axis=1))
        self.energy = torch.as_tensor(np.asarray(energies), dtype=torch.float32, device=device)
        states = [charge_and_multiplicity(a) for a in atoms_list]
        self.charge = as_long([charge for charge, _ in states])
        self.multiplicity = as_long([multiplicity for _, multiplicity in states])
        self.forces = (
            torch.as_tensor(np.concatenate([a.get_forces() for a in atoms_list]), dtype=torch.float32, device=device)
            if with_forces
            else None
        )

    def batch(self, molecules: torch.Tensor, host_molecules: np.ndarray | None = None) -> Batch:
        """The molecules with these indices (on the data's device, and optionally the same on the host) as
        one batch, in this order."""
        host_molecules = molecules.cpu().numpy() if host_molecules is None else host_molecules
        n_atoms = int(self.host_n_atoms[host_molecules].sum())
        n_pairs = int(self.host_n_pairs[host_molecules].sum())
        counts = self.n_atoms[molecules]
        atoms = _segment_arange(self.atom_start[molecules], counts, n_atoms)
        pair_counts = self.n_pairs[molecules]
        pairs = _segment_arange(self.pair_start[molecules], pair_counts, n_pairs)
        first_atom_in_batch = torch.cumsum(counts, 0) - counts
        return Batch(
            z=self.z[atoms],
            pos=self.pos[atoms],
            batch=torch.repeat_interleave(
                torch.arange(len(molecules), device=counts.device), counts, output_size=n_atoms
            ),
            pairs=self.local_pairs[:, pairs]
            + torch.repeat_interleave(first_atom_in_batch, pair_counts, output_size=n_pairs),
            energy=self.energy[molecules],
            forces=None if self.forces is None else self.forces[atoms],
            charge=self.charge[molecules],
            multiplicity=self.multiplicity[molecules],
        )

    def batches(self, batch_size: int, order: torch.Tensor | None = None):
        """Batches in `order` (a CPU tensor of molecule indices; default: as packed)."""
        order = torch.arange(self.n_molecules) if order is None else order.cpu()
        on_device = order.to(self.n_atoms.device)  # one copy per pass, not one per batch
        host = order.numpy()
        for first in range(0, len(order), batch_size):
            last = first + batch_size
            yield self.batch(on_device[first:last], host[first:last])


def _pairs_within(positions: np.ndarray, cutoff: float) -> np.ndarray:
    """Pairs i < j of one molecule's atoms closer than `cutoff`, as a 2 x P index array."""
    i, j = np.triu_indices(len(positions), k=1)
    close = pdist(positions) < cutoff  # pdist orders pairs exactly as triu_indices does
    return np.stack([i[close], j[close]]).astype(np.int64)


def _segment_arange(starts: torch.Tensor, counts: torch.Tensor, total: int) -> torch.Tensor:
    """Concatenation of arange(start, start + count) for each pair (`total` = sum of counts, known on the
    host), without a Python loop and without a device-to-host copy."""
    offsets = torch.repeat_interleave(starts - (torch.cumsum(counts, 0) - counts), counts, output_size=total)
    return offsets + torch.arange(total, device=counts.device)
