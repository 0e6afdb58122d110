"""The cost model behind `python -m astray.plan`: basis-set sizes, power laws, model sizes."""

import math

import pytest

from astray.campaign.costs import along, basis_functions, fit_timing_law, label_seconds, model_size, training_seconds
from astray.labels.levels import Level

CALIBRATION = {
    "labels": {"hf": {"seconds_at_100": 10.0, "exponent": 3.0, "n_basis_range": [24, 114], "unrestricted_factor": 3.0}},
    "training": {"schnet": {"points": [[1_000, 1e-4], [101_000, 3e-4]], "seconds_per_run": 5.0}},
}


def test_basis_functions_add_up_over_atoms():
    # def2-SVP: O has 3s2p1d (14 functions), H 2s1p (5); STO-3G: one per orbital of a minimal basis.
    assert basis_functions("H2O", "def2-svp") == 14 + 2 * 5
    assert basis_functions("CH4", "sto-3g") == 5 + 4 * 1


def test_a_power_law_is_recovered_from_its_own_points():
    sizes = [20, 40, 80, 160]
    law = fit_timing_law(sizes, [3.0 * (n / 100) ** 2.7 for n in sizes])
    assert law["seconds_at_100"] == pytest.approx(3.0) and law["exponent"] == pytest.approx(2.7)
    assert law["n_basis_range"] == [20, 160]


def test_labeling_cost_grows_with_the_basis_and_fci_is_not_guessed():
    svp = label_seconds(["H2O", "H2O"], [False, False], Level("hf", "def2-svp"), CALIBRATION)
    assert svp == pytest.approx(2 * 10.0 * 0.24**3)
    assert label_seconds(["H2O"], [False], Level("hf", "def2-tzvp"), CALIBRATION) > svp / 2
    stretched = label_seconds(["H2O", "H2O"], [False, True], Level("hf", "def2-svp"), CALIBRATION)
    assert stretched == pytest.approx(svp * (1 + 3.0) / 2)
    assert label_seconds(["H2"], [False], Level("fci", "sto-3g"), CALIBRATION) is None


def test_training_cost_follows_the_measured_line_and_the_epochs():
    assert along([[1_000, 1e-4], [101_000, 3e-4]], 51_000) == pytest.approx(2e-4)
    assert along([[1_000, 1e-4], [101_000, 3e-4]], 10) == pytest.approx(1e-4)  # never below the smaller
    spec = {"architecture": "schnet", "hidden_channels": 64, "num_filters": 64, "num_interactions": 3,
            "num_gaussians": 50, "cutoff": 5.0}  # fmt: skip
    one = training_seconds(spec, 1000, 100, CALIBRATION)
    two = training_seconds(spec, 1000, 200, CALIBRATION)
    assert two - 5.0 == pytest.approx(2 * (one - 5.0))


def test_model_sizes_rise_along_a_capacity_ladder():
    small = {"architecture": "schnet", "hidden_channels": 32, "num_filters": 32, "num_interactions": 2,
             "num_gaussians": 25, "cutoff": 5.0}  # fmt: skip
    large = {**small, "hidden_channels": 128, "num_filters": 128, "num_interactions": 6}
    assert model_size(large) > 10 * model_size(small) > 0
    nequip = {"architecture": "nequip", "num_layers": 2, "num_features": 16, "l_max": 1, "cutoff": 5.0}
    assert model_size({**nequip, "l_max": 2}) == pytest.approx(model_size(nequip) * 9 / 4)
    assert math.isfinite(model_size(nequip))


def test_the_plan_prices_only_the_geometries_astray_labels_and_counts_those_labeled_by_their_files():
    from astray.campaign.costs import load_calibration
    from astray.campaign.pool_plan import PoolSummary
    from astray.plan import estimate, report

    calibration = load_calibration()  # the shipped one
    config = {
        "labels": {"method": "hf", "basis": "sto-3g", "engine": "pyscf", "density_fit": False, "scope": "pool"},
        "datasets": {"sizes": [1], "kinds": ["equilibrium"], "seeds": [0]},
        "training": {"max_epochs": 1},
        "models": {},
    }
    pool = PoolSummary(
        molecules=["a", "a", "b", "b"], origins=["equilibrium", "rattled"] * 2, formulas=["CH4", "CH4", "H2O", "H2O"],
        unrestricted=[False] * 4, elements=["C", "H", "O"], provided=[True, False, True, False],
    )  # fmt: skip
    alone = PoolSummary(**{**pool.__dict__, "provided": [False] * 4})
    costs, everything = estimate(config, pool, calibration), estimate(config, alone, calibration)
    assert (costs["geometries"], costs["from_files"]) == (2, 2)
    assert costs["label_seconds"] == pytest.approx(everything["label_seconds"] / 2)
    text = report({"label_chunk": 1}, 1.0, "mine.yaml", costs, calibration)
    assert "labeling   2 geometries" in text and "2 more labeled by their files (audited, not computed)" in text


def test_closed_shells_that_may_break_spin_symmetry_are_priced_on_the_unrestricted_path():
    """The stability analysis alone knows; the estimate prices unsaturated formulas and stretched bonds as
    unstable (on the default pool: 36 of 37 unstable equilibrium molecules were unsaturated)."""
    from ase.build import molecule

    from astray.geometries.distortions import scale_bond
    from astray.labels.states import may_break_spin_symmetry

    assert [may_break_spin_symmetry(molecule(name)) for name in ("C2H4", "HCN", "C6H6", "CH3CHO")] == [True] * 4
    assert [may_break_spin_symmetry(molecule(name)) for name in ("C2H6", "H2O", "CH3OH", "CH3Cl")] == [False] * 4
    stretched = scale_bond(molecule("H2O"), 0, 1, 1.6)
    stretched.info["scale_factor"] = 1.6
    assert may_break_spin_symmetry(stretched)
