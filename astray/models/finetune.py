"""Fine-tuning a pretrained SevenNet on one nested training set: does pretraining plus data fix H2?

The pretrained network is trained further, every weight, on the campaign's atomization energies placed
on its own scale: target total energy = atomization energy + the sum of the *pretrained* model's free-atom
energies. Every prediction of the fine-tuned model is read relative to those same free atoms, so its
holdout errors need no alignment. The free atoms themselves are in every batch, held at their pretrained
energies (atomization energy zero, as at the label level): without them nothing in the data pins them,
and fine-tuning at a rate that fits the molecules moved H's by 0.8 eV and H2's tail by 1.7 eV. How far
they still move is measured, not hidden (the cube's `free_atom_energy_max`).

The loop is SchNet's (astray.models.loop: MSE on energies, early stopping on validation MAE, learning rate
halved on plateaus, the same shuffle and resume point): a job killed mid-training continues where it stopped.
"""

import math

import numpy as np
import torch

from astray.config_schema import training_settings
from astray.conventions import atomization_energy
from astray.models import default_dtype
from astray.models.loop import fit, run_fingerprint, save_atomically, select_device, training_cost
from astray.models.pretrained import PRETRAINED, CalculatorModel, PretrainedModelError


def load_network(pretrained: str):
    """SevenNet's network with its pretrained weights, from the checkpoint inside its wheel.

    Built in float32, its weights' dtype, whatever the process's default: SevenNet's patch of an old
    checkpoint compares its float32 tensors with new ones made at the default dtype, and fails where a
    NequIP model loaded earlier in the process left that at float64 (nequip's global state).
    """
    import sevenn.util

    with default_dtype(torch.float32):
        return sevenn.util.load_checkpoint(sevenn.util.pretrained_name_to_path(pretrained)).build_model()


def graph(atoms, cutoff: float, energy: float, forces=None):
    """SevenNet's graph of one molecule (no periodicity), labeled with a total energy (eV) and, where
    given, forces (eV/Å)."""
    import sevenn._keys as KEY
    from sevenn.atom_graph_data import AtomGraphData
    from sevenn.train.dataload import unlabeled_atoms_to_graph

    data = unlabeled_atoms_to_graph(atoms, cutoff)
    data.pop(KEY.INFO, None)
    data[KEY.ENERGY] = np.array(energy)
    if forces is not None:
        data[KEY.FORCE] = np.asarray(forces, dtype=float)
    return AtomGraphData.from_numpy_dict(data)


def free_atom_energies(network, elements) -> dict:
    """The network's total energy (eV) of each element's neutral ground-state atom."""
    from sevenn.calculator import SevenNetCalculator

    model = CalculatorModel("sevennet", {}, SevenNetCalculator(model=network, device="cpu"))
    energies, missing = model.free_atom_energies(elements)
    if missing:
        raise PretrainedModelError("; ".join(missing.values()))
    network.set_is_batch_data(True)
    return energies


def finetune(train_atoms, val_atoms, atom_energies, spec, training, seed, output, log=print) -> list:
    """Fine-tune `spec['from']` on `train_atoms`; write the best weights to `output`, return the history.

    The spec's own learning_rate, max_epochs, patience and batch_size override the campaign's `training`:
    fine-tuning has a best step of its own (config/workstation.yaml says how it was measured).
    """
    import sevenn._keys as KEY
    from ase import Atoms
    from torch_geometric.data import Batch

    overrides = {k: spec[k] for k in ("learning_rate", "max_epochs", "patience", "batch_size") if k in spec}
    settings = training_settings({**training, **overrides})
    torch.manual_seed(seed)
    device = select_device(settings["device"])
    network = load_network(spec["from"])
    elements = sorted({s for atoms in [*train_atoms, *val_atoms] for s in atoms.get_chemical_symbols()})
    reference = free_atom_energies(network, elements)

    # Forces are the same on the pretrained model's scale: the free atoms' energies are a constant shift.
    force_weight = settings["force_weight"]

    def labeled(atoms_list):
        return [
            graph(atoms, network.cutoff, atomization_energy(atoms, atom_energies)
                  + sum(reference[s] for s in atoms.get_chemical_symbols()),
                  atoms.get_forces() if force_weight > 0 else None)
            for atoms in atoms_list
        ]  # fmt: skip

    train_graphs, val_graphs = labeled(train_atoms), labeled(val_atoms)
    # Free atoms feel no force: zero where the molecules' forces are trained on.
    at_rest = np.zeros((1, 3)) if force_weight > 0 else None
    free_atoms = [graph(Atoms(symbol), network.cutoff, reference[symbol], at_rest) for symbol in elements]
    network.to(device)
    network.set_is_batch_data(True)

    def predicted(batch, train: bool):
        network.train(train)
        return network(batch.to(device))

    def energies(batch, train: bool):
        return predicted(batch, train)[KEY.PRED_TOTAL_ENERGY], batch[KEY.ENERGY]

    def train_epoch(order, optimizer):
        energy_squared, force_squared, force_components = 0.0, 0.0, 0
        for first in range(0, len(order), settings["batch_size"]):
            molecules = [train_graphs[i] for i in order[first : first + settings["batch_size"]].tolist()]
            batch = Batch.from_data_list(molecules + free_atoms)
            output = predicted(batch, train=True)
            energy, target = output[KEY.PRED_TOTAL_ENERGY], batch[KEY.ENERGY]
            loss = torch.nn.functional.mse_loss(energy, target)
            if force_weight > 0:
                force_error = output[KEY.PRED_FORCE] - batch[KEY.FORCE]
                loss = loss + force_weight * (force_error**2).mean()
                in_molecules = batch.batch < len(molecules)  # the free atoms' zero forces are not scored
                force_squared += float((force_error[in_molecules].detach() ** 2).sum())
                force_components += int(in_molecules.sum()) * 3
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            energy_squared += float(((energy - target)[: len(molecules)].detach() ** 2).sum())
        errors = {"train_rmse_eV": math.sqrt(energy_squared / len(train_graphs))}
        if force_weight > 0:
            errors["train_force_rmse_eV_per_A"] = math.sqrt(force_squared / force_components)
        return errors

    def write_model(state):
        record = {
            "spec": spec,
            "state_dict": {k: v.cpu() for k, v in network.state_dict().items()},
            "free_atom_energies": reference,
            "force_weight": force_weight,
            "n_parameters": sum(p.numel() for p in network.parameters() if p.requires_grad),
            **training_cost(state),
        }
        save_atomically(record, output)

    # A resume point every epoch: a fine-tuning epoch costs far more than writing 10 MB.
    return fit(network, len(train_graphs), train_epoch, lambda: _mean_absolute_error(energies, val_graphs),
               settings, seed, run_fingerprint(spec, settings, seed, train_atoms), output, write_model, log,
               checkpoint_every=1)  # fmt: skip


def _mean_absolute_error(energies, graphs, batch_size: int = 64) -> float:
    from torch_geometric.loader import DataLoader

    total = 0.0
    for batch in DataLoader(graphs, batch_size=batch_size):
        # No torch.no_grad(): SevenNet's forces (computed in every forward) need the graph's gradients.
        predicted, target = energies(batch, train=False)
        total += float((predicted.detach() - target).abs().sum())
    return total / len(graphs)


class FinetunedPredictor:
    """A fine-tuned SevenNet for evaluation: atomization energies relative to the pretrained model's free
    atoms, the reference its targets were built on."""

    def __init__(self, path):
        from sevenn.calculator import SevenNetCalculator

        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
        spec = checkpoint["spec"]
        network = load_network(spec["from"])
        network.load_state_dict(checkpoint["state_dict"])
        self.model = CalculatorModel(spec["from"], {}, SevenNetCalculator(model=network, device="cpu"))
        self.reference = checkpoint["free_atom_energies"]
        self.info = {
            "spec": spec,
            "model_family": f"finetuned:{spec['from']}",
            "n_parameters": checkpoint["n_parameters"],
            "charge_aware": False,
            "spin_aware": False,
            "physics_prior": "none",
            "best_epoch": checkpoint["best_epoch"],
            "epochs": checkpoint["epochs"],
            "training_seconds": checkpoint["training_seconds"],
            "training_data": f"{PRETRAINED[spec['from']]['trained_on']}; then fine-tuned on the run's training set",
            "energy_alignment": "fine-tuned on atomization energies plus the pretrained model's free-atom energies; "
            "energies relative to those free atoms",
        }

    def energies(self, atoms_list) -> np.ndarray:
        return np.array([
            self.model.total_energy(atoms) - sum(self.reference.get(s, np.nan) for s in atoms.get_chemical_symbols())
            for atoms in atoms_list
        ])  # fmt: skip

    def forces(self, atoms_list):
        return [self.model.energy_and_forces(atoms)[1] for atoms in atoms_list]
