"""The one epoch loop of the models astray trains itself: SchNet (astray.models.schnet_training) and a
pretrained SevenNet fine-tuned (astray.models.finetune).

One shuffle, one early-stopping rule, one learning-rate schedule, one resume scheme and one place that
writes the history and the checkpoints; a trainer brings only how to train one epoch in a given order
and how to measure the validation error. Early stopping: no validation gain for `patience` epochs. The
learning rate halves when validation stalls for a quarter of that (astray.conventions.plateau_patience).
A resume point (model, optimizer, scheduler, RNG, history) beside the model file lets a killed job
continue where it stopped, and is used only by a run of the same spec, settings, seed and training set.
"""

import hashlib
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch

from astray.conventions import plateau_patience
from astray.io import write_atomically


def select_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def run_fingerprint(spec, training, seed, train_atoms) -> str:
    """Identity of a training run; a leftover resume checkpoint is used only if it matches."""
    payload = json.dumps([spec, training, seed, [a.info["geometry_id"] for a in train_atoms]], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def optimiser(model, training):
    """AdamW, and a scheduler that halves the learning rate when validation stalls (a quarter of the
    patience)."""
    # fused: one kernel updates every parameter, same update rule; a third of the default's time for SchNet.
    optimizer = torch.optim.AdamW(model.parameters(), lr=training["learning_rate"], fused=True)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=0.5, patience=plateau_patience(training["patience"])
    )
    return optimizer, scheduler


def fit(model, n_train: int, train_epoch: Callable, validate: Callable, training: dict, seed: int, fingerprint: str,
        output, write_model: Callable, log=print, checkpoint_every: int | None = None) -> list[dict]:  # fmt: skip
    """Train `model` epoch by epoch until max_epochs or early stopping, keep its best weights, and write it.

    `train_epoch(order, optimizer)` trains one epoch over the training molecules in `order` (a permutation
    of `n_train`), stepping `optimizer` (the loop's AdamW), and returns that epoch's training errors for the
    history; `validate()` returns the
    validation MAE (eV) that early stopping and the schedule follow. The model is left with its best
    weights, `write_model(state)` writes its file to `output` (state: best_epoch, best_val_mae, epoch,
    history), and only then is the resume point beside it removed. Returns the history, one row per epoch.
    """
    optimizer, scheduler = optimiser(model, training)
    resume_path = Path(output).with_name("resume.pt")
    device = next(model.parameters()).device
    state = resumed_state(resume_path, fingerprint, device, model, optimizer, scheduler, log)
    generator = torch.Generator().manual_seed(seed)
    # Draw past the epochs already done so a resumed run shuffles exactly as an uninterrupted one would.
    for _ in range(state["epoch"]):
        torch.randperm(n_train, generator=generator)
    while state["epoch"] < training["max_epochs"]:
        start = time.perf_counter()
        errors = train_epoch(torch.randperm(n_train, generator=generator), optimizer)
        val_mae = validate()
        scheduler.step(val_mae)
        record_epoch(state, model, errors, val_mae, optimizer.param_groups[0]["lr"], time.perf_counter() - start)
        if state["epoch"] % 10 == 0 or state["epoch"] == 1:
            log(
                f"epoch {state['epoch']}: train RMSE {state['history'][-1]['train_rmse_eV']:.4f} eV, "
                f"val MAE {val_mae:.4f} eV (best {state['best_val_mae']:.4f} at {state['best_epoch']})"
            )
        if state["epoch"] - state["best_epoch"] >= training["patience"]:
            log(f"early stop at epoch {state['epoch']}: no validation gain for {training['patience']} epochs")
            break
        if state["epoch"] % (checkpoint_every or training["checkpoint_every"]) == 0:
            save_resume_point(resume_path, fingerprint, model, optimizer, scheduler, state)
    model.load_state_dict(state["best_state"])
    write_model(state)
    resume_path.unlink(missing_ok=True)
    return state["history"]


def record_epoch(state, model, errors: dict, val_mae, learning_rate, seconds) -> None:
    """One epoch into the history; the weights kept if validation improved."""
    state["epoch"] += 1
    state["history"].append(
        {"epoch": state["epoch"], **errors, "val_mae_eV": val_mae, "learning_rate": learning_rate, "seconds": seconds}
    )
    if val_mae < state["best_val_mae"]:
        state.update(best_val_mae=val_mae, best_epoch=state["epoch"])
        # Kept on the device: a copy to the host at every improvement would stall a GPU each time.
        state["best_state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}


def training_cost(state) -> dict:
    """What a model file records of its training: its best epoch and validation MAE, epochs run, and every
    epoch's wall time summed (a resumed run's earlier epochs included)."""
    return {
        "best_epoch": state["best_epoch"],
        "best_val_mae_eV": state["best_val_mae"],
        "epochs": state["epoch"],
        "training_seconds": sum(epoch["seconds"] for epoch in state["history"]),
    }


def resumed_state(resume_path, fingerprint, device, model, optimizer, scheduler, log) -> dict:
    """The epoch loop's state where a killed run with the same fingerprint left it, with the model, optimizer,
    scheduler and RNG restored from `resume_path`; a fresh start otherwise (a leftover checkpoint of
    another config or training set is never resumed)."""
    state = {"epoch": 0, "best_val_mae": math.inf, "best_epoch": 0, "history": [], "best_state": None}
    if resume_path.exists():
        saved = torch.load(resume_path, weights_only=False, map_location=device)
        if saved["fingerprint"] == fingerprint:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            torch.set_rng_state(saved["rng"].cpu())
            state = saved["state"]
            log(f"resuming from epoch {state['epoch']} ({resume_path})")
    return state


def save_resume_point(resume_path, fingerprint, model, optimizer, scheduler, state) -> None:
    save_atomically(
        {
            "fingerprint": fingerprint,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": torch.get_rng_state(),
            "state": state,
        },
        resume_path,
    )


def save_atomically(obj, path) -> None:
    """Write to a temporary name and rename, so a kill never leaves a truncated checkpoint."""
    write_atomically(path, lambda temporary: torch.save(obj, temporary))


def run_training_job(job, trainer) -> None:
    """What a training rule's script does: `trainer` (`astray.models.schnet_training.train`, or
    `astray.models.finetune.finetune`) on the job's training and validation sets with its threads, seed and
    spec, the log on stderr (the script points stderr at the rule's log), the loss history to the job's CSV."""
    import sys
    from functools import partial

    import pandas as pd

    from astray.io import read_geometries, read_json

    torch.set_num_threads(job.threads)
    history = trainer(
        train_atoms=read_geometries(job.input.train),
        val_atoms=read_geometries(job.input.validation),
        atom_energies=read_json(job.input.atom_energies)["energies"],
        spec=job.params.spec,
        training=job.params.training,
        seed=int(job.wildcards.seed),
        output=job.output.model,
        log=partial(print, file=sys.stderr, flush=True),
    )
    pd.DataFrame(history).to_csv(job.output.history, index=False)
