"""SchNet trained on atomization energies: its packed data, its loss (energies, and forces by autograd), its
filters tabulated where that saves arithmetic, and its checkpoint. The epochs, early stopping and resume
are astray.models.loop's, the one loop of everything astray trains itself.

The saved checkpoint holds everything needed to rebuild the model (spec, normalisation, species), so
evaluation never needs the config that trained it.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from astray.config_schema import model_spec, training_settings
from astray.conventions import ENERGY_CONVENTION, atomization_energy
from astray.models import build_model, count_parameters
from astray.models.loop import fit, run_fingerprint, save_atomically, select_device, training_cost
from astray.models.packing import PackedMolecules
from astray.models.schnet import (
    collate,
    has_zero_isolated_atoms,
    is_charge_aware,
    is_physics_anchored,
    molecule_energies,
    nuclear_repulsion,
    zbl_screening,
)


def learned_part(spec, atoms_list, energies) -> np.ndarray:
    """What the network itself must learn: the energies, less the screened nuclear repulsion when the model
    adds that by construction (`astray.models.schnet.CoulombAnchoredSchNet`)."""
    energies = np.asarray(energies, dtype=float)
    if not is_physics_anchored(spec):
        return energies
    batch = collate(atoms_list)
    screened = nuclear_repulsion(batch.z, batch.pos.double(), batch.batch, len(atoms_list), zbl_screening)
    return energies - screened.numpy()


def normalisation(atoms_list, energies, zero_isolated_atoms: bool = True) -> dict:
    """Scale (and shift) of the per-atom outputs, from the per-atom training targets, so every capacity
    starts at the right scale.

    A model whose free atoms are zero cannot use a shift (it cancels against the free atoms' own), so its
    outputs are scaled by the root mean square instead: the size of what the interactions must produce.
    Otherwise, as torch-geometric's SchNet, by the mean and the spread.
    """
    per_atom = np.asarray(energies) / np.array([len(a) for a in atoms_list])
    if zero_isolated_atoms:
        scale = float(np.sqrt(np.mean(per_atom**2)))
        return {"mean": 0.0, "std": scale if scale > 1e-6 else 1.0}
    spread = float(per_atom.std()) if len(per_atom) > 1 else 1.0
    return {"mean": float(per_atom.mean()), "std": spread if spread > 1e-6 else 1.0}


def train(train_atoms, val_atoms, atom_energies, spec, training, seed, output, log=print) -> dict:
    """Train one model; write its best checkpoint to `output` and return the loss history.

    The loss is the MSE of atomization energies (eV), plus `force_weight` times the MSE of force components
    (eV/Å, by autograd) when that weight is above zero. A checkpoint of the last epoch is kept beside
    `output` while training runs, so a killed job restarted with the same inputs continues from there.
    Energy-only training of SchNet tabulates its distance filters where that saves arithmetic
    (`tabulate_filters`, `astray.models.schnet.GraphSchNet`).
    """
    spec, training = model_spec(spec), training_settings(training)
    flush_subnormals()
    torch.manual_seed(seed)
    run = prepared_run(train_atoms, val_atoms, atom_energies, spec, training, select_device(training["device"]))

    def train_epoch(order, optimizer):
        losses = _train_epoch(run.model, optimizer, run.train_data.batches(training["batch_size"], order),
                              run.force_weight, run.tabulate)  # fmt: skip
        return {
            "train_rmse_eV": math.sqrt(losses["energy"] / run.train_data.n_molecules),
            "train_force_rmse_eV_per_A": math.sqrt(losses["forces"] / max(1, losses["force_components"])),
        }

    def write_model(state):
        save_atomically(checkpoint(run, spec, training, state, train_atoms, log), output)

    return fit(run.model, run.train_data.n_molecules, train_epoch,
               lambda: _mean_absolute_error(run.model, run.val_data, run.tabulate), training, seed,
               run_fingerprint(spec, training, seed, train_atoms), output, write_model, log)  # fmt: skip


def flush_subnormals() -> None:
    """Let the CPU flush float32 results below 1.2e-38 to zero, for the rest of the process.

    SchNet's Gaussian distance features fall into that subnormal range about 1.4 Å from each centre, and
    x86 arithmetic on subnormals is slow: the filter network's first layer on the filter grid ran 4x slower
    forward than on the same features with those entries zeroed, and its weight gradient 60x slower than
    with the flush, and a default-campaign SchNet job trains 1.77x faster flushed (benchmarks/README.md,
    "FLOP rate of a training run"). Values that small change no sum of float32 numbers near one, so the
    losses stay the same to the last bit (tested). A no-op where the CPU cannot (torch returns False).
    """
    torch.set_flush_denormal(True)


@dataclass
class PreparedRun:
    """What the epoch loop works on: the packed data, the model built for it and how its filters run."""

    train_data: PackedMolecules
    val_data: PackedMolecules
    normalisation: dict
    model: torch.nn.Module
    tabulate: bool
    force_weight: float


def prepared_run(train_atoms, val_atoms, atom_energies, spec, training, device) -> PreparedRun:
    """Targets (atomization energies, eV) packed on the device, their normalisation, and the model."""
    force_weight = training["force_weight"]
    train_energies = [atomization_energy(a, atom_energies) for a in train_atoms]
    val_energies = [atomization_energy(a, atom_energies) for a in val_atoms]
    train_data = PackedMolecules(train_atoms, train_energies, spec["cutoff"], force_weight > 0, device)
    val_data = PackedMolecules(val_atoms, val_energies, spec["cutoff"], device=device)
    norm = normalisation(train_atoms, learned_part(spec, train_atoms, train_energies), has_zero_isolated_atoms(spec))
    if is_physics_anchored(spec):  # the model's reference for bare nuclei, stored in its checkpoint
        species = {symbol for atoms in train_atoms for symbol in atoms.get_chemical_symbols()}
        norm["atom_energies"] = {symbol: atom_energies[symbol] for symbol in species}
    model = build_model(spec, norm).to(device)
    tabulate = _tabulates_filters(model, training, train_data)
    return PreparedRun(train_data, val_data, norm, model, tabulate, force_weight)


def checkpoint(run: PreparedRun, spec, training, state, train_atoms, log) -> dict:
    """The trained model's file: everything that rebuilds it (spec, normalisation, species), what it was
    trained on and how, and what training cost."""
    tabulation = None
    if run.tabulate:
        tabulation = {
            "grid_spacing_A": run.model.filter_grid_spacing,
            "max_deviation_on_validation_eV": _tabulation_deviation(run.model, run.val_data),
        }
        log(
            f"tabulated filters: validation energies within {tabulation['max_deviation_on_validation_eV']:.2g} eV "
            "of those from direct filters"
        )
    flops = epoch_flops(run.model, run.train_data, training["batch_size"], run.force_weight, run.tabulate)
    return {
        "architecture": spec["architecture"],
        "spec": spec,
        "normalisation": run.normalisation,
        "species": sorted({s for a in train_atoms for s in a.get_chemical_symbols()}),
        "energy_convention": ENERGY_CONVENTION,
        "charge_aware": is_charge_aware(spec),
        "physics_prior": spec["physics_prior"],
        "force_weight": run.force_weight,
        "filter_tabulation": tabulation,
        "n_parameters": count_parameters(run.model),
        "n_train": len(train_atoms),
        # Training cost, so error can be read against compute: epochs, their wall time, and the
        # matrix-product FLOPs of one epoch's forward and backward passes.
        **training_cost(state),
        "flops_per_epoch": flops,
        "state_dict": {k: v.cpu() for k, v in run.model.state_dict().items()},
    }


def _train_epoch(model, optimizer, batches, force_weight: float, tabulate: bool) -> dict:
    """One pass over the training batches; returns summed squared errors for the history.

    The sums stay on the device until the epoch ends: a `.item()` per batch would make a GPU wait for
    every step to finish before queuing the next.
    """
    model.train()
    energy_sum, force_sum, force_components = 0.0, 0.0, 0
    for batch in batches:
        loss, energy_loss, force_loss = _batch_loss(model, batch, force_weight, tabulate)
        energy_sum = energy_sum + energy_loss.detach() * len(batch.energy)
        if force_weight > 0:
            force_sum = force_sum + force_loss.detach() * batch.forces.numel()
            force_components += batch.forces.numel()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {"energy": float(energy_sum), "forces": float(force_sum), "force_components": force_components}


def _batch_loss(model, batch, force_weight: float, tabulate: bool):
    """(loss, energy MSE, force MSE or None) of one training batch."""
    pos = batch.pos.requires_grad_(force_weight > 0)
    energy = molecule_energies(model, batch, batch.pairs, tabulate)
    energy_loss = torch.nn.functional.mse_loss(energy, batch.energy)
    if force_weight == 0:
        return energy_loss, energy_loss, None
    # create_graph: the force error must itself be differentiable with respect to the weights.
    (gradient,) = torch.autograd.grad(energy.sum(), pos, create_graph=True)
    force_loss = torch.nn.functional.mse_loss(-gradient, batch.forces)
    return energy_loss + force_weight * force_loss, energy_loss, force_loss


def epoch_flops(model, data: PackedMolecules, batch_size: int, force_weight: float, tabulate: bool) -> int:
    """FLOPs of one training epoch's forward and backward passes, as torch counts them
    (`torch.utils.flop_counter`: dense matrix products, the bulk of a SchNet's arithmetic; element-wise
    operations and the sparse interpolation of tabulated filters are not counted). The weights are left
    untouched: gradients are computed and then cleared."""
    model.train()
    with MatmulFlops() as counter:
        for batch in data.batches(batch_size):
            _batch_loss(model, batch, force_weight, tabulate)[0].backward()
    model.zero_grad(set_to_none=True)
    model.eval()
    return int(counter.total)


class MatmulFlops(TorchDispatchMode):
    """The FLOPs torch's flop counter counts (its per-operator formulas, `flop_registry`), without its
    module tracking: FlopCounterMode's module hooks refuse torch.autograd.grad, which energy+force training
    calls for the forces. The same totals as FlopCounterMode where both run (a test compares them)."""

    def __init__(self):
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.total += count(*args, **kwargs, out_val=out)
        return out


def _tabulates_filters(model, training: dict, data: PackedMolecules) -> bool:
    """Whether this run evaluates SchNet's filters on a grid (`astray.models.schnet.GraphSchNet`).

    Only on energies alone, since forces move the atoms under the filters; and only where the average
    batch has more atom pairs than the grid has points, since below that the grid costs more than it saves.
    """
    if not training["tabulate_filters"] or training["force_weight"] > 0:
        return False
    pairs_per_batch = data.host_n_pairs.mean() * min(training["batch_size"], data.n_molecules)
    return pairs_per_batch > model.filter_grid_size


def _mean_absolute_error(model, data: PackedMolecules, tabulate: bool, batch_size: int = 1024) -> float:
    model.eval()
    total = 0.0
    with torch.no_grad():
        for batch in data.batches(batch_size):
            prediction = molecule_energies(model, batch, batch.pairs, tabulate)
            total += float((prediction - batch.energy).abs().sum())
    return total / data.n_molecules


def _tabulation_deviation(model, data: PackedMolecules, batch_size: int = 1024) -> float:
    """Largest difference (eV) between the energies from tabulated and from direct filters."""
    model.eval()
    largest = 0.0
    with torch.no_grad():
        for batch in data.batches(batch_size):
            tabulated = molecule_energies(model, batch, batch.pairs, tabulate_filters=True)
            direct = molecule_energies(model, batch, batch.pairs)
            largest = max(largest, float((tabulated - direct).abs().max()))
    return largest
