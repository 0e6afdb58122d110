"""Pretrained potentials: SevenNet-0 from its wheel, any ASE calculator from a factory, and the ways asking
one can fail."""

import math
import subprocess
import sys

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from astray.evaluation.evaluate import holdout_errors
from astray.evaluation.probes import PROBES, probe_geometry
from astray.models.pretrained import (
    PRETRAINED,
    CalculatorModel,
    PretrainedModelError,
    PretrainedPredictions,
    check_factory_module,
    predict,
    resolve,
)

NEUTRAL_SINGLET = {"charge": 0, "multiplicity": 1}  # the electronic state every source tags

DISTANCES = [0.3, 0.5, 0.6, 0.7, 0.74, 0.8, 0.9, 1.2, 2.0, 4.0]
# Lennard-Jones through ASE's own calculator: a factory that needs no weights, with a known minimum.
SIGMA, EPSILON = 0.8, 3.0
LENNARD_JONES = {
    "architecture": "pretrained",
    "factory": "ase.calculators.lj:LennardJones",
    "kwargs": {"sigma": SIGMA, "epsilon": EPSILON, "rc": 6.0, "smooth": False},
    "trained_on": "nothing: a Lennard-Jones pair potential",
}


def curves(*names):
    return {name: [probe_geometry(PROBES[name], r) for r in DISTANCES] for name in names}


def curve(table, probe):
    return np.array([table["probes"][probe]["energies"][f"{probe}@{r:g}"] for r in DISTANCES])


@pytest.fixture(scope="module")
def sevennet():
    return predict("sevennet", resolve("sevennet", {"architecture": "pretrained", "name": "7net-0"}), [],
                   curves("H2", "H2_2plus"), ["H"])  # fmt: skip


def test_sevennet_0_from_its_wheel_has_h2s_repulsive_wall_and_well(sevennet):
    h2 = curve(sevennet, "H2")
    # Above two free H atoms when squeezed to 0.3 Å, bound near the true r_e = 0.741 Å by about the true
    # D_e = 4.75 eV, and back towards zero when stretched.
    assert h2[0] > 0 and h2.argmin() in (DISTANCES.index(0.74), DISTANCES.index(0.8))
    assert -h2.min() == pytest.approx(4.75, abs=0.3)
    assert abs(h2[-1]) < 0.2
    assert sevennet["n_parameters"] == trained_in_the_shipped_checkpoint()


def trained_in_the_shipped_checkpoint() -> int:
    """SevenNet-0's trainable parameters by a source independent of astray's count: the Adam moments its
    authors' optimizer kept, one per trained number, in the checkpoint the wheel ships (842,440)."""
    import sevenn.util
    import torch

    checkpoint = torch.load(sevenn.util.pretrained_name_to_path("7net-0"), map_location="cpu", weights_only=False)
    return sum(state["exp_avg"].numel() for state in checkpoint["optimizer_state_dict"]["state"].values())


def test_a_model_without_a_charge_input_takes_two_protons_for_h2(sevennet):
    np.testing.assert_allclose(curve(sevennet, "H2_2plus"), curve(sevennet, "H2"), atol=1e-5)
    info = PretrainedPredictions("sevennet.json", table=sevennet).info
    assert not info["charge_aware"] and not info["spin_aware"]
    assert "PBE" in info["training_data"] and info["model_family"] == "pretrained:7net-0"


def test_molecules_packed_into_one_call_are_predicted_as_each_alone():
    """SevenNet-0 is local (5 Å cutoff): molecules PACKING_GAP apart in one call get the energies and forces
    each gets on its own, to float32 rounding."""
    import torch
    from ase.build import molecule

    from astray.models import default_dtype

    molecules = [molecule(name) for name in ("H2O", "CH4", "HCN", "C2H6", "NH3")]
    for atoms in molecules:
        atoms.info.update(NEUTRAL_SINGLET)
    # As astray.models.pretrained.predict runs it: SevenNet's float32 checkpoint, whatever an earlier test set.
    with default_dtype(torch.float32):
        model = CalculatorModel("sevennet", PRETRAINED["7net-0"])
        energies, forces = model.energies_and_forces(molecules)
        alone = [model.energy_and_forces(atoms) for atoms in molecules]
    assert model._packable()
    for (alone_energy, alone_forces), energy, force in zip(alone, energies, forces):
        assert energy == pytest.approx(alone_energy, abs=1e-4)
        np.testing.assert_allclose(force, alone_forces, atol=1e-4)


def test_any_ase_calculator_is_a_rung_through_its_factory():
    table = predict("lj", resolve("lj", LENNARD_JONES), [], curves("H2"), ["H"])
    h2 = curve(table, "H2")
    # Lennard-Jones: minimum -epsilon at 2^(1/6) sigma = 0.898 Å, nearest the grid point 0.9 Å; a free atom
    # is zero. (ASE shifts the pair energy by its value at rc, -7e-5 eV here.)
    lennard_jones = 4 * EPSILON * ((SIGMA / np.array(DISTANCES)) ** 12 - (SIGMA / np.array(DISTANCES)) ** 6)
    assert h2.argmin() == DISTANCES.index(0.9)
    np.testing.assert_allclose(h2, lennard_jones, atol=1e-4)
    assert table["free_atom_energies"] == {"H": 0.0} and math.isnan(table["n_parameters"])


def test_a_charge_key_hands_the_calculator_the_charge_and_a_model_without_one_sees_none():
    seen = {}

    class Recorder(SinglePointCalculator):
        def get_potential_energy(self, atoms=None, force_consistent=False):
            seen["info"] = dict(atoms.info)
            seen["held"] = (getattr(self, "charge", None), getattr(self, "mult", None))
            return 0.0

    model = CalculatorModel("recorder", {"charge_key": "charge", "spin_key": "spin"}, Recorder(Atoms("H"), energy=0.0))
    model.total_energy(probe_geometry(PROBES["H2_plus"], 1.0))
    assert seen["info"] == {"charge": 1, "spin": 2}
    model.recipe = {}
    model.total_energy(probe_geometry(PROBES["H2_plus"], 1.0))
    assert seen["info"] == {} and seen["held"] == (None, None)
    # AIMNet2's calculator holds them as attributes instead.
    model.recipe = {"charge_attribute": "charge", "spin_attribute": "mult"}
    model.total_energy(probe_geometry(PROBES["H2_2plus"], 1.0))
    assert seen["info"] == {} and seen["held"] == (2, 1)


def test_a_probe_with_an_element_the_model_lacks_is_nan_with_the_reason_and_the_rest_stands():
    # ASE's EMT has parameters for H, C, N, O and some metals, none for F.
    emt = {"architecture": "pretrained", "factory": "ase.calculators.emt:EMT", "trained_on": "EMT parameters"}
    table = predict("emt", resolve("emt", emt), [], curves("H2", "HF"), ["H", "F"])
    assert np.isfinite(curve(table, "H2")).all() and table["probes"]["H2"]["unavailable"] == ""
    assert np.isnan(curve(table, "HF")).all()
    assert "No EMT-potential for F" in table["probes"]["HF"]["unavailable"]


def test_a_holdout_geometry_the_model_cannot_take_is_an_error_naming_it():
    emt = {"architecture": "pretrained", "factory": "ase.calculators.emt:EMT", "trained_on": "EMT parameters"}
    hf = Atoms("HF", positions=[(0, 0, 0), (0, 0, 0.92)], info={"geometry_id": "HF:test", **NEUTRAL_SINGLET})
    with pytest.raises(PretrainedModelError, match=r"models.emt: cannot predict geometry 'HF:test' .*for F"):
        predict("emt", resolve("emt", emt), [hf], {}, ["H", "F"])


def test_a_calculator_returning_nan_is_refused_never_recorded():
    broken = {**LENNARD_JONES, "kwargs": {**LENNARD_JONES["kwargs"], "epsilon": float("nan")}}
    h2 = Atoms("H2", positions=[(0, 0, 0), (0, 0, 0.9)], info={"geometry_id": "H2:test", **NEUTRAL_SINGLET})
    with pytest.raises(PretrainedModelError, match=r"'H2:test'.*returned nan"):
        predict("broken", resolve("broken", broken), [h2], {}, ["H"])
    table = predict("broken", resolve("broken", broken), [], curves("H2"), ["H"])
    assert np.isnan(curve(table, "H2")).all() and "returned nan" in table["probes"]["H2"]["unavailable"]


def test_unknown_names_and_factories_that_cannot_be_imported_are_refused_by_name():
    with pytest.raises(PretrainedModelError, match=r"models.big.name: unknown pretrained model 'uma-s-1'.*7net-0"):
        resolve("big", {"architecture": "pretrained", "name": "uma-s-1"})
    uma = {"architecture": "pretrained", "factory": "fairchem_not_here.core:uma", "trained_on": "OMol25"}
    missing = resolve("uma", uma)
    with pytest.raises(PretrainedModelError, match=r"models.uma.factory: cannot import 'fairchem_not_here.core'"):
        check_factory_module("uma", missing)
    no_function = resolve("lj", {**LENNARD_JONES, "factory": "ase.calculators.lj:NoSuchCalculator"})
    with pytest.raises(PretrainedModelError, match="has no callable 'NoSuchCalculator'"):
        predict("lj", no_function, [], {}, ["H"])


def test_planning_finds_a_factory_module_without_importing_its_package():
    """Every plan checks SevenNet's factory; importing sevenn.calculator to find it costs 1.8 s (torch)."""
    script = (
        "import sys\n"
        "from astray.models.pretrained import PRETRAINED, PretrainedModelError, check_factory_module\n"
        "check_factory_module('sevennet_0', PRETRAINED['7net-0'])\n"
        "try:\n"
        "    check_factory_module('x', {'factory': 'sevenn.no_such_module:f'})\n"
        "except PretrainedModelError as error:\n"
        "    print(error)\n"
        "print('torch' in sys.modules, 'sevenn' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == [
        "models.x.factory: cannot import 'sevenn.no_such_module': install the package that provides it in this "
        "environment, or run the rule in its own conda environment (docs/pretrained.md)",
        "False False",
    ]


def test_weights_out_of_reach_say_the_node_may_be_offline():
    # A factory whose download is refused (nothing listens on port 9): an error that says so, at once.
    fetching = {"architecture": "pretrained", "factory": "urllib.request:urlopen", "trained_on": "unknown",
                "kwargs": {"url": "http://127.0.0.1:9/weights.pt"}}  # fmt: skip
    with pytest.raises(PretrainedModelError, match=r"could not load its weights.*this node may be offline"):
        predict("remote", resolve("remote", fetching), [], {}, ["H"])


def labeled(symbols, positions, energy, geometry_id):
    atoms = Atoms(
        symbols, positions=positions, info={"geometry_id": geometry_id, "origin": "equilibrium", **NEUTRAL_SINGLET}
    )
    atoms.calc = SinglePointCalculator(atoms, energy=energy)
    return atoms


def test_the_alignment_recovers_a_per_element_offset_between_levels():
    """Campaign labels that differ from the model's by 0.3 eV per H and -1.2 eV per O are matched exactly
    once aligned; the probes, relative to the model's own atoms, are left alone."""
    atom_energies = {"H": -13.0, "O": -2000.0}
    positions = {"H2": [(0, 0, 0), (0, 0, 0.74)], "OH": [(0, 0, 0), (0, 0, 0.97)],
                 "H2O": [(0, 0, 0), (0, 0.76, 0.59), (0, -0.76, 0.59)], "O2": [(0, 0, 0), (0, 0, 1.21)]}  # fmt: skip
    model_atomization = {"H2": -4.0, "OH": -3.5, "H2O": -8.0, "O2": -5.0}
    molecules = []
    for formula, model_value in model_atomization.items():
        atoms = Atoms(formula, positions=positions[formula])
        counts = {s: atoms.get_chemical_symbols().count(s) for s in atom_energies}
        campaign = model_value + 0.3 * counts["H"] - 1.2 * counts["O"]
        total = campaign + sum(atom_energies[s] * n for s, n in counts.items())
        molecules.append(labeled(formula, positions[formula], total, formula))
    table = {
        "recipe": {"factory": "x:y", "trained_on": "synthetic", "architecture": "pretrained"},
        "n_parameters": 1,
        "atomization_energies": model_atomization,
        "forces": {},
        "probes": {"H2": {"energies": {"H2@0.74": -4.0}, "unavailable": ""}},
    }
    raw = PretrainedPredictions("table.json", table=table)
    aligned = raw.aligned_to(molecules[:3], atom_energies)
    assert aligned.shifts == pytest.approx({"H": 0.3, "O": -1.2})
    assert holdout_errors(aligned, molecules[3:], atom_energies)["test_mae"] == pytest.approx(0.0, abs=1e-9)
    assert holdout_errors(raw, molecules[3:], atom_energies)["test_mae"] == pytest.approx(2.4)
    assert raw.energies([probe_geometry(PROBES["H2"], 0.74)]) == pytest.approx([-4.0])


class Killed(BaseException):
    """Stands for SIGKILL: nothing catches it."""


def test_a_killed_prediction_run_resumes_without_predicting_again(tmp_path, monkeypatch):
    from ase.calculators.lj import LennardJones

    dimers = [
        Atoms("H2", positions=[(0, 0, 0), (0, 0, 0.8 + 0.001 * i)], info={"geometry_id": f"d{i}", **NEUTRAL_SINGLET})
        for i in range(700)
    ]
    calls = []
    calculate = LennardJones.calculate

    def counted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 600:
            raise Killed
        return calculate(self, *args, **kwargs)

    monkeypatch.setattr(LennardJones, "calculate", counted)
    checkpoint = tmp_path / "predictions.partial.json"
    with pytest.raises(Killed):
        predict("lj", resolve("lj", LENNARD_JONES), dimers, {}, ["H"], checkpoint=checkpoint)
    calls.clear()
    table = predict("lj", resolve("lj", LENNARD_JONES), dimers, {}, ["H"], checkpoint=checkpoint)
    # Saved at the 500th geometry: the rerun predicts the free H atom and the 201 after it, not 700.
    assert len(calls) == 1 + 201 and len(table["atomization_energies"]) == 700
    monkeypatch.setattr(LennardJones, "calculate", calculate)
    fresh = predict("lj", resolve("lj", LENNARD_JONES), dimers, {}, ["H"])
    assert table["atomization_energies"] == pytest.approx(fresh["atomization_energies"])
