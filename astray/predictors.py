"""One interface to every model, trained or pretrained: energies, and forces, for a list of ASE Atoms.

Evaluation asks `load_predictor` for the model behind a file and never needs to know its architecture.
A predictor has `info` (architecture, n_parameters, charge_aware, best_epoch, ...), `energies(atoms_list)`
(atomization energies, eV) and `forces(atoms_list)` (eV/Å, minus the gradient of the energy).
"""

from pathlib import Path


def load_predictor(path):
    """The predictor for a model file: a SchNet checkpoint (.pt), a NequIP model (.nequip.*), a fine-tuned
    SevenNet (.sevennet.pt) or a pretrained model's predictions (.json, `astray.models.pretrained.predict`)."""
    if ".sevennet." in Path(path).name:
        from astray.models.finetune import FinetunedPredictor

        return FinetunedPredictor(path)
    if Path(path).suffix == ".json":
        from astray.models.pretrained import PretrainedPredictions

        return PretrainedPredictions(path)
    if ".nequip." in Path(path).name:
        from astray.models.nequip import NequIPPredictor  # imports nequip only when a NequIP model is read

        return NequIPPredictor(path)
    from astray.models.schnet import SchNetPredictor

    return SchNetPredictor(path)
