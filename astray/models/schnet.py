"""SchNet from torch-geometric with a radius graph in plain PyTorch (pyg-lib, its default, is not on PyPI),
and two physics-informed variants: charge- and spin-aware, and anchored to the exact nuclear repulsion; and
a trained checkpoint's energies and forces for any molecules (`SchNetPredictor`)."""

import math
from dataclasses import dataclass

import numpy as np
import torch
from ase.data import atomic_numbers, chemical_symbols
from torch import nn
from torch_geometric.nn.models import SchNet

from astray.config_schema import model_spec
from astray.labels.states import ATOM_MULTIPLICITY, charge_and_multiplicity
from astray.models import build_model
from astray.units import BOHR_TO_ANGSTROM, HARTREE_TO_EV

# e^2 / (4 pi eps0) in eV Angstrom: Z1 Z2 / r Hartree with r in Bohr, as astray.evaluation.probes.coulomb_curve.
COULOMB_EV_ANGSTROM = HARTREE_TO_EV * BOHR_TO_ANGSTROM


class DenseRadiusGraph(nn.Module):
    """Edges between distinct atoms of the same molecule closer than `cutoff` (Å).

    A dense distance matrix is the fastest choice for molecules of tens of atoms; distances are recomputed
    from the selected pairs so that forces by autograd never see the zero distance of an atom to itself.
    """

    def __init__(self, cutoff: float):
        super().__init__()
        self.cutoff = cutoff

    def forward(self, pos: torch.Tensor, batch: torch.Tensor):
        with torch.no_grad():
            same_molecule = batch[:, None] == batch[None, :]
            close = torch.cdist(pos, pos) < self.cutoff
            close.fill_diagonal_(False)
            edge_index = (same_molecule & close).nonzero().t()
        edge_weight = (pos[edge_index[0]] - pos[edge_index[1]]).norm(dim=-1)
        return edge_index, edge_weight


class GraphSchNet(SchNet):
    """torch-geometric's SchNet (same modules, same checkpoints) that also accepts precomputed atom pairs.

    Training passes each batch's pairs i < j within the cutoff (`astray.models.packing`): the radius search is
    skipped, and each continuous filter, a function of the distance alone, is computed once per pair and
    used in both directions instead of once per directed edge; that halves the filter networks' work, the
    larger part of SchNet's cost. The result is the same function as torch-geometric's forward (a test
    checks it). Inference on new geometries passes no pairs and runs torch-geometric's forward unchanged.

    With `tabulate_filters` (energy-only training whose batches have more pairs than grid points), each filter
    is evaluated on a grid of distances and interpolated to the pairs: the same function to float32
    rounding (a test bounds the difference; the checkpoint records the largest seen on validation data).

    `charge` and `multiplicity` (one per molecule) are accepted by every variant and used by the
    charge-aware ones below.
    """

    # Whether an isolated atom's energy is exactly zero (`zero_isolated_atoms`); set by build_schnet.
    zero_isolated_atoms = False

    def forward(self, z, pos, batch=None, pairs=None, charge=None, multiplicity=None, tabulate_filters=False):
        batch = torch.zeros_like(z) if batch is None else batch
        energy = self._energy(z, pos, batch, pairs, charge, multiplicity, tabulate_filters)
        if not self.zero_isolated_atoms:
            return energy
        # Subtracted per atom, so it is exact: an atom with no neighbour within the cutoff adds nothing, and
        # every molecule dissociates to zero atomization energy once its atoms are a cutoff apart.
        n_molecules = energy.shape[0]
        return energy - self.readout(self.isolated_atom_energies()[z], batch, dim=0, dim_size=n_molecules)

    def isolated_atom_energies(self) -> torch.Tensor:
        """The per-atom output of a free neutral atom of every element (one row per atomic number, the
        embedding's rows): its embedding passed through interactions that receive no message."""
        elements = torch.arange(self.embedding.num_embeddings, device=self.embedding.weight.device)
        h = self.embed_isolated(elements)
        no_pairs = torch.zeros((2, 0), dtype=torch.long, device=h.device)
        no_filter = h.new_zeros((0, self.num_filters))
        for interaction in self.interactions:
            h = h + _interaction(interaction, h, no_pairs, no_filter)
        return self.lin2(self.act(self.lin1(h))) * self.std + self.mean

    def embed_isolated(self, elements):
        return self.embedding(elements)

    def _energy(self, z, pos, batch, pairs, charge, multiplicity, tabulate_filters):
        if pairs is None and type(self) is GraphSchNet:
            return super().forward(z, pos, batch)
        if pairs is None:
            pairs = radius_pairs(pos, batch, self.cutoff)
        # Written for this project's configuration: no dipole, no atomref, additive readout.
        distance = (pos[pairs[0]] - pos[pairs[1]]).norm(dim=-1)
        # The interpolant's slope jumps between grid cells, so forces always take the direct filters.
        if tabulate_filters and not pos.requires_grad:
            pair_filters = self._tabulated_filters(distance)
        else:
            expanded = self.distance_expansion(distance)
            pair_filters = [_continuous_filter(block.conv, expanded, distance) for block in self.interactions]
        h = self.embed(z, batch, charge, multiplicity)
        for interaction, pair_filter in zip(self.interactions, pair_filters):
            h = h + _interaction(interaction, h, pairs, pair_filter)
        h = self.lin2(self.act(self.lin1(h)))
        # The molecule count from `charge` (one per molecule) spares the readout a device-to-host sync.
        n_molecules = None if charge is None else charge.shape[0]
        return self.readout(h * self.std + self.mean, batch, dim=0, dim_size=n_molecules)

    def embed(self, z, batch, charge, multiplicity):
        return self.embedding(z)

    @property
    def filter_grid_spacing(self) -> float:
        """Å between the distances a tabulated filter is evaluated at: a tenth of the Gaussians' spacing
        (their width), where six-point interpolation errs by less than float32 rounding."""
        offsets = self.distance_expansion.offset
        return float(offsets[1] - offsets[0]) / FILTER_GRID_POINTS_PER_GAUSSIAN

    @property
    def filter_grid_size(self) -> int:
        # Two points below zero and five beyond the cutoff give every distance its six neighbours.
        return math.ceil(self.cutoff / self.filter_grid_spacing) + len(INTERPOLATION_NODES)

    def _tabulated_filters(self, distance) -> list:
        """Each interaction's filter evaluated on a fixed grid of distances, then interpolated to the pairs.

        A filter is a smooth function of the distance alone, so a batch with more pairs than grid points
        computes the filter networks (most of SchNet's arithmetic) fewer times this way.
        """
        spacing = self.filter_grid_spacing
        grid_index = torch.arange(self.filter_grid_size, device=distance.device, dtype=distance.dtype)
        grid = (grid_index + INTERPOLATION_NODES[0]) * spacing
        grid_expanded = self.distance_expansion(grid)
        cell = torch.floor(distance / spacing)
        weights = torch.cat(_lagrange_weights((distance / spacing - cell).unsqueeze(-1)), dim=-1)
        # A distance in cell i (between i and i + 1 spacings) takes grid points i - 2 .. i + 3, which sit at
        # grid indices i .. i + 5: one sparse row of six weights per pair. One sparse product interpolates
        # every interaction's filter at once: 2-6x faster on a CPU than six gathers, and 3-8% faster again
        # than one product per interaction (benchmarks/README.md).
        columns = cell.long().unsqueeze(-1) + torch.arange(len(INTERPOLATION_NODES), device=distance.device)
        rows = torch.arange(len(distance), device=distance.device).unsqueeze(-1).expand_as(columns)
        interpolation = torch.sparse_coo_tensor(
            torch.stack([rows.reshape(-1), columns.reshape(-1)]),
            weights.reshape(-1),
            size=(len(distance), len(grid)),
            is_coalesced=True,  # rows, then columns within a row, in increasing order
            check_invariants=False,
        )
        tables = [_continuous_filter(block.conv, grid_expanded, grid) for block in self.interactions]
        return (interpolation @ torch.cat(tables, dim=1)).split(self.num_filters, dim=1)


FILTER_GRID_POINTS_PER_GAUSSIAN = 10
# Grid points around a distance, in spacings from the start of its cell: six-point Lagrange interpolation,
# whose error falls as (spacing / width)^6. Four points at the same spacing err 60-80 times more, above float32
# rounding once weights grow (tests/unit/test_training.py).
INTERPOLATION_NODES = (-2, -1, 0, 1, 2, 3)


def _lagrange_weights(t):
    """Weight of each interpolation node for fractional positions t in [0, 1) of a cell."""
    weights = []
    for node in INTERPOLATION_NODES:
        weight = torch.ones_like(t)
        for other in INTERPOLATION_NODES:
            if other != node:
                weight = weight * (t - other) / (node - other)
        weights.append(weight)
    return weights


def _continuous_filter(conv, expanded, distance):
    """torch-geometric's CFConv filter: the filter network on the expanded distances, times the cosine
    cutoff envelope."""
    envelope = 0.5 * (torch.cos(distance * math.pi / conv.cutoff) + 1.0)
    return conv.nn(expanded) * envelope.unsqueeze(-1)


def _interaction(block, h, pairs, pair_filter):
    """torch-geometric's InteractionBlock with the filter computed per pair and shared by both directions."""
    conv = block.conv
    x = conv.lin1(h)
    # index_select and index_add rather than x[i] and scatter: their backward passes are the cheap ones.
    first, second = pairs
    aggregated = torch.zeros_like(x)
    aggregated.index_add_(0, second, x.index_select(0, first) * pair_filter)
    aggregated.index_add_(0, first, x.index_select(0, second) * pair_filter)
    return block.lin(block.act(conv.lin2(aggregated)))


def radius_pairs(pos, batch, cutoff):
    """Pairs i < j of the same molecule closer than `cutoff`, for geometries seen once (inference)."""
    edge_index, _ = DenseRadiusGraph(cutoff)(pos, batch)
    return edge_index[:, edge_index[0] < edge_index[1]]


# Per atomic number; 1 (a placeholder never read) where astray has no ground state for the element.
GROUND_STATE_MULTIPLICITY = [1] + [ATOM_MULTIPLICITY.get(chemical_symbols[z], 1) for z in range(1, 119)]
MAX_CHARGE = 4  # |total charge| a charge-aware model can be given
MAX_MULTIPLICITY = 6


class ChargeAwareSchNet(GraphSchNet):
    """SchNet told each molecule's total charge and spin multiplicity: a learned embedding of each is added
    to every atom's features before the interactions, as charge- and spin-aware MLIPs do. The same
    geometry at another charge is then another input, as it is another molecule (H2 and two protons)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.charge_embedding = nn.Embedding(2 * MAX_CHARGE + 1, self.hidden_channels)
        self.spin_embedding = nn.Embedding(MAX_MULTIPLICITY, self.hidden_channels)
        # On the model's device, so a forward pass copies nothing from the host; not saved, since it is a fact.
        multiplicity = torch.tensor(GROUND_STATE_MULTIPLICITY[: self.embedding.num_embeddings])
        self.register_buffer("ground_state_multiplicity", multiplicity, persistent=False)

    def embed(self, z, batch, charge, multiplicity):
        if charge is None or multiplicity is None:
            raise ValueError("a charge-aware model needs each molecule's charge and multiplicity")
        molecule = self.charge_embedding(charge + MAX_CHARGE) + self.spin_embedding(multiplicity - 1)
        return self.embedding(z) + molecule[batch]

    def embed_isolated(self, elements):
        """A free atom is neutral and in its ground-state multiplicity: what atomization energies count from."""
        spin = self.spin_embedding(self.ground_state_multiplicity[elements] - 1)
        return self.embedding(elements) + self.charge_embedding.weight[MAX_CHARGE] + spin


class CoulombAnchoredSchNet(ChargeAwareSchNet):
    """Atomization energy = exact nuclear repulsion sum_i<j Z_i Z_j / r_ij + an electronic energy that is
    zero, by construction, for a molecule with no electrons.

    Bare nuclei therefore get exactly their Coulomb energy (minus the isolated atoms' label energies that
    every atomization energy is measured from): two protons follow 1/r for any weights. With electrons, the
    electronic energy is a fixed screening term plus a learned charge-aware SchNet. The screening term,
    -sum Z_i Z_j / r_ij (1 - phi(r_ij / a_ij)) with Ziegler-Biersack-Littmark's universal screening
    function phi, is what the electrons of two neutral atoms do to their nuclei's repulsion: it cancels it
    beyond a few tenths of an angstrom and leaves it whole as r -> 0. Without it the network would have to
    learn to cancel hundreds of eV of 1/r repulsion itself (it cannot, from a few dozen molecules); with it,
    the network learns chemistry on top of a repulsive wall that is already there.
    """

    def __init__(self, atom_energies: dict, **kwargs):
        super().__init__(**kwargs)
        reference = torch.zeros(119, dtype=torch.float64)
        for symbol, energy in atom_energies.items():
            reference[atomic_numbers[symbol]] = energy
        self.register_buffer("atom_reference", reference)

    def forward(self, z, pos, batch=None, pairs=None, charge=None, multiplicity=None, tabulate_filters=False):
        batch = torch.zeros_like(z) if batch is None else batch
        learned = super().forward(z, pos, batch, pairs, charge, multiplicity, tabulate_filters).squeeze(-1)
        n_molecules = len(learned)
        electrons = _sum_per_molecule(z, batch, n_molecules) - charge
        repulsion = nuclear_repulsion(z, pos, batch, n_molecules)
        screened = nuclear_repulsion(z, pos, batch, n_molecules, screening=zbl_screening)
        with_electrons = screened - repulsion + learned
        # No electrons, no electronic energy: what is left of the isolated atoms' reference is minus itself.
        bare_nuclei = -_sum_per_molecule(self.atom_reference[z], batch, n_molecules).to(learned.dtype)
        return (repulsion + torch.where(electrons > 0, with_electrons, bare_nuclei)).unsqueeze(-1)


# Ziegler, Biersack & Littmark's universal screening function of the Coulomb repulsion of two atoms
# (The Stopping and Range of Ions in Solids, 1985): phi(x) = sum_k c_k exp(-d_k x), x = r / a with
# a = 0.8854 a0 / (Z1^0.23 + Z2^0.23).
ZBL_COEFFICIENTS = (0.18175, 0.50986, 0.28022, 0.02817)
ZBL_EXPONENTS = (3.19980, 0.94229, 0.40290, 0.20162)
ZBL_LENGTH_ANGSTROM = 0.8854 * BOHR_TO_ANGSTROM


def zbl_screening(z1, z2, distance):
    x = distance * (z1.to(distance.dtype) ** 0.23 + z2.to(distance.dtype) ** 0.23) / ZBL_LENGTH_ANGSTROM
    return sum(c * torch.exp(-d * x) for c, d in zip(ZBL_COEFFICIENTS, ZBL_EXPONENTS))


def _sum_per_molecule(values, batch, n_molecules: int):
    return torch.zeros(n_molecules, dtype=values.dtype, device=values.device).index_add_(0, batch, values)


def nuclear_repulsion(z, pos, batch, n_molecules: int | None = None, screening=None) -> torch.Tensor:
    """sum_i<j Z_i Z_j / r_ij in eV per molecule, over all pairs of each molecule (no cutoff); each term
    times `screening(Z_i, Z_j, r_ij)` when given."""
    n_molecules = int(batch.max()) + 1 if n_molecules is None else n_molecules
    first, second = all_pairs(batch)
    distance = (pos[first] - pos[second]).norm(dim=-1)
    energy = COULOMB_EV_ANGSTROM * (z[first] * z[second]).to(pos.dtype) / distance
    if screening is not None:
        energy = energy * screening(z[first], z[second], distance)
    return _sum_per_molecule(energy, batch[first], n_molecules)


def all_pairs(batch) -> torch.Tensor:
    """Every pair i < j of the same molecule, for atoms ordered molecule by molecule."""
    counts = torch.bincount(batch).tolist()
    first = 0
    blocks = []
    for count in counts:
        blocks.append(torch.triu_indices(count, count, 1, device=batch.device) + first)
        first += count
    return torch.cat(blocks, dim=1) if blocks else torch.zeros((2, 0), dtype=torch.long, device=batch.device)


def build_schnet(spec: dict, normalisation: dict) -> GraphSchNet:
    """SchNet whose per-atom outputs are scaled by the training set's per-atom energy scale
    (`astray.models.schnet_training.normalisation`), less those of the free atoms unless `isolated_atoms: mean_shift`.

    `charge_aware: true` adds charge and spin embeddings; `physics_prior: coulomb` anchors the model to the
    exact nuclear repulsion (and is charge-aware too: the number of electrons is an input).
    """
    settings = dict(
        hidden_channels=spec["hidden_channels"],
        num_filters=spec["num_filters"],
        num_interactions=spec["num_interactions"],
        num_gaussians=spec["num_gaussians"],
        cutoff=spec["cutoff"],
        interaction_graph=DenseRadiusGraph(spec["cutoff"]),
        readout="add",
        mean=normalisation["mean"],
        std=normalisation["std"],
    )
    if is_physics_anchored(spec):
        model = CoulombAnchoredSchNet(atom_energies=normalisation["atom_energies"], **settings)
    elif is_charge_aware(spec):
        model = ChargeAwareSchNet(**settings)
    else:
        model = GraphSchNet(**settings)
    model.zero_isolated_atoms = has_zero_isolated_atoms(spec)
    return model


def has_zero_isolated_atoms(spec: dict) -> bool:
    """`isolated_atoms: zero` (the default): a free atom's atomization energy is exactly zero. `mean_shift`
    is torch-geometric's SchNet as it comes, where every atom adds the training set's per-atom mean energy
    (-2 to -4 eV for each free H atom), kept to measure what that bookkeeping does to the tails."""
    return model_spec(spec)["isolated_atoms"] == "zero"


def is_physics_anchored(spec: dict) -> bool:
    return model_spec(spec)["physics_prior"] == "coulomb"


def is_charge_aware(spec: dict) -> bool:
    return model_spec(spec)["charge_aware"] or is_physics_anchored(spec)


# Inference: a trained checkpoint's energies and forces for any list of molecules.


@dataclass
class MoleculeBatch:
    """Molecules to predict for, flattened the way SchNet expects (atoms concatenated, a molecule index each)."""

    z: torch.Tensor
    pos: torch.Tensor
    batch: torch.Tensor
    charge: torch.Tensor  # per molecule; read by charge-aware models only
    multiplicity: torch.Tensor


def collate(atoms_list) -> MoleculeBatch:
    counts = [len(a) for a in atoms_list]
    return MoleculeBatch(
        z=torch.as_tensor(np.concatenate([a.numbers for a in atoms_list]), dtype=torch.long),
        pos=torch.as_tensor(np.concatenate([a.positions for a in atoms_list]), dtype=torch.float32),
        batch=torch.repeat_interleave(torch.arange(len(atoms_list)), torch.as_tensor(counts)),
        charge=torch.as_tensor([charge_and_multiplicity(a)[0] for a in atoms_list], dtype=torch.long),
        multiplicity=torch.as_tensor([charge_and_multiplicity(a)[1] for a in atoms_list], dtype=torch.long),
    )


def molecule_energies(model, batch, pairs=None, tabulate_filters=False) -> torch.Tensor:
    """One energy per molecule of a batch (packed for training, or collated for inference)."""
    charge, multiplicity = batch.charge, batch.multiplicity
    return model(batch.z, batch.pos, batch.batch, pairs, charge, multiplicity, tabulate_filters).squeeze(-1)


def load_model(path):
    """Rebuild a trained model from its checkpoint alone; returns (model in eval mode, checkpoint metadata)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    model = build_model(checkpoint["spec"], checkpoint["normalisation"])
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    return model, {k: v for k, v in checkpoint.items() if k != "state_dict"}


def predict_energies(model, atoms_list, batch_size: int = 256) -> np.ndarray:
    """Predicted atomization energies (eV) for a list of ASE Atoms."""
    predictions = []
    with torch.no_grad():
        for first in range(0, len(atoms_list), batch_size):
            batch = collate(atoms_list[first : first + batch_size])
            predictions.append(molecule_energies(model, batch).numpy())
    return np.concatenate(predictions) if predictions else np.zeros(0)


def predict_forces(model, atoms_list, batch_size: int = 256) -> list[np.ndarray]:
    """Forces (eV/Å) as minus the gradient of the predicted energy: conservative by construction."""
    return predict_energies_and_forces(model, atoms_list, batch_size)[1]


def predict_energies_and_forces(model, atoms_list, batch_size: int = 256) -> tuple[np.ndarray, list[np.ndarray]]:
    """Atomization energies (eV) and forces (eV/Å) from one pass over the model."""
    energies, forces = [], []
    for first in range(0, len(atoms_list), batch_size):
        chunk = atoms_list[first : first + batch_size]
        batch = collate(chunk)
        batch.pos.requires_grad_(True)
        energy = molecule_energies(model, batch)
        (gradient,) = torch.autograd.grad(energy.sum(), batch.pos)
        energies.append(energy.detach().numpy())
        forces += np.split(-gradient.numpy(), np.cumsum([len(a) for a in chunk])[:-1])
    return (np.concatenate(energies) if energies else np.zeros(0)), forces


class SchNetPredictor:
    """A trained SchNet checkpoint behind the predictor interface (astray.models.registry.load_predictor)."""

    def __init__(self, path):
        self.model, self.info = load_model(path)

    def energies(self, atoms_list):
        return predict_energies(self.model, atoms_list)

    def forces(self, atoms_list):
        return predict_forces(self.model, atoms_list)

    def energies_and_forces(self, atoms_list):
        return predict_energies_and_forces(self.model, atoms_list)
