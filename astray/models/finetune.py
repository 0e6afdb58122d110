"""Fine-tuning a pretrained SevenNet on one nested training set: does pretraining plus data fix H2?

The pretrained network is trained further, every weight, on the campaign's atomization energies placed
on its own scale: target total energy = atomization energy + the sum of the *pretrained* model's free-atom
energies. Every prediction of the fine-tuned model is read relative to those same free atoms, so its
holdout errors need no alignment. The free atoms themselves are in every batch, held at their pretrained
energies (atomization energy zero, as at the label level): without them nothing in the data pins them,
and fine-tuning at a rate that fits the molecules moved H's by 0.8 eV and H2's tail by 1.7 eV. How far
they still move is measured, not hidden (the cube's `free_atom_energy_max`).

The loop is astray's own (MSE on energies, early stopping on validation MAE, learning rate halved on
plateaus), with a resume checkpoint like SchNet's: a job killed mid-training continues where it stopped.
"""

import math
import time
from pathlib import Path

import numpy as np
import torch

from astray.config_schema import training_settings
from astray.conventions import atomization_energy, plateau_patience
from astray.models.pretrained import PRETRAINED, CalculatorModel, PretrainedModelError
from astray.training import resumed_state, run_fingerprint, save_atomically, save_resume_point, select_device


def load_network(pretrained: str):
    """SevenNet's network with its pretrained weights, from the checkpoint inside its wheel."""
    import sevenn.util

    return sevenn.util.load_checkpoint(sevenn.util.pretrained_name_to_path(pretrained)).build_model()


def graph(atoms, cutoff: float, energy: float):
    """SevenNet's graph of one molecule (no periodicity), labeled with a total energy (eV)."""
    import sevenn._keys as KEY
    from sevenn.atom_graph_data import AtomGraphData
    from sevenn.train.dataload import unlabeled_atoms_to_graph

    data = unlabeled_atoms_to_graph(atoms, cutoff)
    data.pop(KEY.INFO, None)
    data[KEY.ENERGY] = np.array(energy)
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

    def labeled(atoms_list):
        return [
            graph(atoms, network.cutoff, atomization_energy(atoms, atom_energies)
                  + sum(reference[s] for s in atoms.get_chemical_symbols()))
            for atoms in atoms_list
        ]  # fmt: skip

    train_graphs, val_graphs = labeled(train_atoms), labeled(val_atoms)
    free_atoms = [graph(Atoms(symbol), network.cutoff, reference[symbol]) for symbol in elements]
    network.to(device)
    network.set_is_batch_data(True)
    optimizer = torch.optim.AdamW(network.parameters(), lr=settings["learning_rate"])
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=0.5, patience=plateau_patience(settings["patience"])
    )
    fingerprint = run_fingerprint(spec, settings, seed, train_atoms)
    resume_path = Path(output).with_name("resume.pt")
    state = resumed_state(resume_path, fingerprint, device, network, optimizer, scheduler, log)

    def energies(batch, train: bool):
        network.train(train)
        output = network(batch.to(device))
        return output[KEY.PRED_TOTAL_ENERGY], batch[KEY.ENERGY]

    while state["epoch"] < settings["max_epochs"]:
        start = time.perf_counter()
        # Seeded by the epoch, so a resumed run shuffles as an uninterrupted one would.
        generator = torch.Generator().manual_seed(seed * 100_003 + state["epoch"])
        order = torch.randperm(len(train_graphs), generator=generator).tolist()
        squared = 0.0
        for first in range(0, len(order), settings["batch_size"]):
            molecules = [train_graphs[i] for i in order[first : first + settings["batch_size"]]]
            predicted, target = energies(Batch.from_data_list(molecules + free_atoms), train=True)
            loss = torch.nn.functional.mse_loss(predicted, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            squared += float(((predicted - target)[: len(molecules)].detach() ** 2).sum())
        val_mae = _mean_absolute_error(energies, val_graphs)
        scheduler.step(val_mae)
        state["epoch"] += 1
        state["history"].append({
            "epoch": state["epoch"],
            "train_rmse_eV": math.sqrt(squared / len(train_graphs)),
            "val_mae_eV": val_mae,
            "learning_rate": optimizer.param_groups[0]["lr"],
            "seconds": time.perf_counter() - start,
        })  # fmt: skip
        if val_mae < state["best_val_mae"]:
            state.update(best_val_mae=val_mae, best_epoch=state["epoch"])
            state["best_state"] = {k: v.detach().clone() for k, v in network.state_dict().items()}
        log(f"epoch {state['epoch']}: train RMSE {state['history'][-1]['train_rmse_eV']:.4f} eV, "
            f"val MAE {val_mae:.4f} eV (best {state['best_val_mae']:.4f} at {state['best_epoch']})")  # fmt: skip
        if state["epoch"] - state["best_epoch"] >= settings["patience"]:
            log(f"early stop at epoch {state['epoch']}: no validation gain for {settings['patience']} epochs")
            break
        # Every epoch: a fine-tuning epoch costs far more than writing 10 MB.
        save_resume_point(resume_path, fingerprint, network, optimizer, scheduler, state)
    save_atomically(
        {
            "spec": spec,
            "state_dict": {k: v.cpu() for k, v in state["best_state"].items()},
            "free_atom_energies": reference,
            "n_parameters": sum(p.numel() for p in network.parameters() if p.requires_grad),
            "best_epoch": state["best_epoch"],
            "best_val_mae_eV": state["best_val_mae"],
            "epochs": state["epoch"],
            "training_seconds": sum(epoch["seconds"] for epoch in state["history"]),
        },
        output,
    )
    resume_path.unlink(missing_ok=True)
    return state["history"]


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
