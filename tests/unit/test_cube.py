import numpy as np
import pytest
import xarray as xr

from astray.evaluation.cube import assemble_cube, evaluation_dataset, reference_dataset, write_netcdf
from astray.evaluation.planted import planted_joint_curves

DISTANCES = [0.5, 1.0, 2.0]
FACTS = {
    "H2": {
        "fragment_shift": 0.0,
        "length_scale": 0.741,
        "expected_minima": 1,
        "expected_force_flips": 1,
        "limit_well_depth": 4.748,
    },
    "H2_2plus": {
        "fragment_shift": -27.2,
        "length_scale": 0.741,
        "expected_minima": 0,
        "expected_force_flips": 0,
        "limit_well_depth": np.nan,
    },
}


def references():
    curves = {
        ("exact", "H2"): np.array([1.0, -4.0, -1.0]),
        ("label_method", "H2"): np.array([1.5, -3.5, -0.5]),
        ("exact", "H2_2plus"): np.array([28.8, 14.4, 7.2]),
        ("label_method", "H2_2plus"): np.array([28.8, 14.4, 7.2]),
    }
    return reference_dataset(DISTANCES, curves, FACTS)


def evaluation(model, kind, size, offset):
    predictions = {"H2": np.array([1.0, -4.0, -1.0]) + offset, "H2_2plus": np.array([-4.0, -4.0, -4.0])}
    metrics = {"test_mae": 0.1 * size, "test_rmse": 0.2, "test_mae_equilibrium": 0.05, "best_epoch": 3}
    info = {"n_parameters": 100 if model == "small" else 1000, "charge_aware": 0, "model_architecture": "schnet"}
    return evaluation_dataset(model, kind, 0, size, predictions, references(), metrics, info)


def small_cube():
    evaluations = [
        evaluation(model, kind, size, offset=0.1 * size)
        for model in ("small", "large")
        for kind in ("equilibrium", "with_distorted")
        for size in (4, 8, 16)
    ]
    return assemble_cube(evaluations, references(), {"config_sha256": "abc"}, compute_budgets=[1e14])


def test_cube_dimensions_and_coordinates():
    cube = small_cube()
    assert cube.predicted_energy.dims == ("model", "kind", "seed", "size", "probe", "distance")
    assert list(cube.kind.values) == ["equilibrium", "with_distorted"]
    assert list(cube["size"].values) == [4, 8, 16]
    assert cube.n_parameters.sel(model="large") == 1000


def test_probe_errors_are_computed_against_each_reference():
    cube = small_cube()
    h2 = cube.probe_mae.sel(model="small", kind="equilibrium", seed=0, size=8, probe="H2")
    assert h2.sel(reference="exact") == pytest.approx(0.8)
    assert h2.sel(reference="label_method") == pytest.approx(np.mean(np.abs([0.3, 0.3, 0.3])))
    protons = cube.probe_rmse.sel(model="small", kind="equilibrium", seed=0, size=4, probe="H2_2plus")
    # Averaged over distance, not over the points: the grid 0.5, 1, 2 Å weighs 1-2 Å twice as much as 0.5-1.
    squares = np.square([32.8, 18.4, 11.2])
    integral = 0.5 * (squares[0] + squares[1]) / 2 + 1.0 * (squares[1] + squares[2]) / 2
    assert protons.sel(reference="exact") == pytest.approx(np.sqrt(integral / 1.5))
    assert protons.sel(reference="exact") < np.sqrt(squares.mean())  # the largest error sits in the short interval


def test_the_label_levels_own_error_against_exact_is_stored_as_the_floor():
    cube = small_cube()
    floor = cube.reference_probe_mae.sel(probe="H2")
    assert floor.sel(reference="label_method") == pytest.approx(0.5) and floor.sel(reference="exact") == 0
    # A model's error against exact is at least the label level's minus its error against the labels.
    run = cube.probe_mae.sel(probe="H2")
    bound = floor.sel(reference="label_method") - run.sel(reference="label_method")
    assert (run.sel(reference="exact") >= bound - 1e-12).all()
    windows = cube.reference_window_mae.sel(reference="label_method", probe="H2")
    # 0.5 Å is in the wall, 1 Å in the well, 2 Å (2.7 r_e) where the bond breaks; nothing reaches the tail.
    assert windows.sel(window=["wall", "well", "breaking"]).values == pytest.approx([0.5] * 3)
    assert np.isnan(windows.sel(window="tail"))


def test_curve_physics_of_predictions_and_references_sit_side_by_side():
    cube = small_cube()
    run = dict(model="small", kind="equilibrium", seed=0, size=4)
    assert cube.reference_n_minima.sel(reference="exact", probe="H2") == cube.expected_minima.sel(probe="H2") == 1
    assert cube.reference_n_minima.sel(reference="exact", probe="H2_2plus") == 0
    assert cube.well_depth.sel(**run, probe="H2") == pytest.approx(4.0 - 0.4)  # offset 0.1 * size
    assert cube.well_depth_error.sel(**run, probe="H2", reference="exact") == pytest.approx(-0.4)
    assert cube.force_flips.sel(**run, probe="H2_2plus") == 0  # a flat line has no force at all
    assert list(cube.window.values) == ["wall", "well", "breaking", "tail"]


def test_scaling_exponents_are_fitted_per_model_and_kind():
    cube = small_cube()
    # test_mae = 0.1 * size grows linearly with the size: error = a N^-b with b = -1 and a = 0.1.
    fit = cube.sel(model="small", kind="equilibrium", target="test_mae")
    assert float(fit.scaling_exponent) == pytest.approx(-1.0, abs=1e-6)
    assert float(fit.scaling_amplitude) == pytest.approx(0.1, rel=1e-5) and fit.scaling_points == 3
    assert np.isnan(fit.scaling_exponent_ci_low) and fit.scaling_seeds == 1  # one seed: no interval
    assert str(fit.scaling_floor_status.values).startswith("not fitted: 3 distinct values")
    # The H2 error against the exact curve is 0.1 * size too (offset 0.1 * size on every point).
    assert float(cube.scaling_exponent.sel(model="large", kind="with_distorted", target="probe_mae/H2/exact")) == (
        pytest.approx(-1.0, abs=1e-6)
    )
    # Two capacities with the same errors: no trend with the parameter count; too few for the joint law.
    assert cube.capacity_scaling_exponent.sel(target="test_mae").values == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(cube.joint_scaling_data_exponent).all()
    assert (
        cube.joint_scaling_status == "not fitted: needs 3 capacities and 3 sizes with finite errors; has 2 and 3"
    ).all()
    assert (cube.compute_optimal_status.str.startswith("no joint law")).all()


def test_probe_errors_against_the_label_method_are_fitted_first():
    targets = list(small_cube().target.values)
    assert targets[:4] == ["test_mae", "test_mae_equilibrium", "probe_mae/H2/label_method",
                           "probe_mae/H2_2plus/label_method"]  # fmt: skip
    assert targets.index("probe_mae/H2/exact") > targets.index("probe_mae/H2_2plus/label_method")


# A campaign shaped like config/workstation.yaml's SchNet ladder, smaller: three capacities, five sizes,
# three seeds, one kind, errors from a planted joint law with the campaign's noise.
CAPACITIES = {"schnet_s": 13_793, "schnet_m": 68_033, "schnet_l": 310_913}
SIZES = [32, 64, 128, 256, 512]
LAW = {"capacity_amplitude": 30.0, "capacity_exponent": 0.35, "data_amplitude": 8.0, "data_exponent": 0.5}


def ladder_cube(compute_budgets=(1e12, 1e13)):
    errors = planted_joint_curves(np.random.default_rng(0), list(CAPACITIES.values()), SIZES, 3, LAW)[0]
    evaluations = []
    for seed in range(3):
        for m, (model, parameters) in enumerate(CAPACITIES.items()):
            for s, size in enumerate(SIZES):
                error = errors[seed, m, s]
                metrics = {"test_mae": error, "test_rmse": 1.2 * error, "test_mae_equilibrium": error, "best_epoch": 3,
                           "train_flops": 400.0 * parameters * size * 100}  # fmt: skip
                info = {"n_parameters": parameters, "charge_aware": 0, "model_architecture": "schnet"}
                predictions = {"H2": np.array([1.0, -4.0, -1.0]) + error, "H2_2plus": np.array([28.8, 14.4, 7.2])}
                evaluations.append(evaluation_dataset(model, "equilibrium", seed, size, predictions, references(),
                                                      metrics, info))  # fmt: skip
    return assemble_cube(evaluations, references(), {}, compute_budgets=compute_budgets), errors


def test_a_capacity_ladder_gets_capacity_and_joint_fits_with_intervals_and_a_compute_optimal_allocation():
    cube, errors = ladder_cube()
    data = cube.sel(model="schnet_l", kind="equilibrium", target="test_mae")
    # The cube's numbers are those of each seed's fit: the mean of the stored per-seed exponents, which
    # are the log-log slopes of each seed's runs.
    slopes = [-np.polyfit(np.log(SIZES), np.log(errors[seed, 2]), 1)[0] for seed in range(3)]
    assert data.scaling_exponent_per_seed.values == pytest.approx(slopes)
    assert float(data.scaling_exponent) == pytest.approx(np.mean(slopes))
    assert data.scaling_exponent_ci_low < data.scaling_exponent < data.scaling_exponent_ci_high
    capacity = cube.sel(architecture="schnet", kind="equilibrium", size=512, target="test_mae")
    assert 0 < capacity.capacity_scaling_exponent < 0.35 and capacity.capacity_scaling_seeds == 3
    assert np.isfinite(capacity.capacity_scaling_exponent_ci_high)
    joint = cube.sel(architecture="schnet", kind="equilibrium", target="test_mae")
    assert str(joint.joint_scaling_status.values) == "fitted" and joint.joint_scaling_points == 45
    for name in ("capacity_exponent", "data_exponent"):
        assert joint[f"joint_scaling_{name}_ci_low"] <= LAW[name] <= joint[f"joint_scaling_{name}_ci_high"], name
    assert str(joint.joint_scaling_floor_status.values).startswith("not fitted: 3 distinct values")
    # The cost model from train_flops, then the allocation: inside the grid at 1e12 FLOPs, beyond it at 1e13.
    assert float(cube.train_flops_parameter_exponent.sel(architecture="schnet", kind="equilibrium")) == pytest.approx(1)
    allocation = joint.sel(compute_budget=1e12)
    assert str(allocation.compute_optimal_status.values) == "inside the grid"
    assert allocation.compute_optimal_parameters_ci_low < allocation.compute_optimal_parameters
    assert allocation.compute_optimal_parameters < allocation.compute_optimal_parameters_ci_high
    assert 400 * 100 * allocation.compute_optimal_parameters * allocation.compute_optimal_size == pytest.approx(
        1e12, rel=0.01
    )
    assert str(joint.compute_optimal_status.sel(compute_budget=1e13).values).startswith("extrapolated: N* = 1.0")


def test_every_variable_has_units_and_long_name(tmp_path):
    path = tmp_path / "cube.nc"
    write_netcdf(small_cube(), path, "test write")
    cube = xr.load_dataset(path)
    for name in [*list(cube.data_vars), "distance"]:
        assert cube[name].attrs.get("units"), name
        assert cube[name].attrs.get("long_name"), name
    fitted = [name for name in ladder_cube()[0].data_vars if "scaling" in name or name.startswith("compute_optimal")]
    for name in [*fitted, "probe_mae", "probe_rmse", "probe_window_mae", "reference_probe_mae"]:
        assert cube[name].attrs.get("description"), name
    assert "test write" in cube.attrs["history"]
    assert cube.attrs["config_sha256"] == "abc"


def test_history_gains_a_line_per_write_and_no_temporary_file_is_left(tmp_path):
    path = tmp_path / "cube.nc"
    write_netcdf(small_cube(), path, "first")
    write_netcdf(xr.load_dataset(path), path, "second")
    history = xr.load_dataset(path).attrs["history"].splitlines()
    assert len(history) == 2 and history[1].endswith("second - astray 0.1.0")
    assert [p.name for p in tmp_path.iterdir()] == ["cube.nc"]


def test_long_string_coordinates_survive_merging_files(tmp_path):
    paths = []
    for kind in ("equilibrium", "with_distorted"):
        paths.append(tmp_path / f"{kind}.nc")
        write_netcdf(evaluation("small", kind, 4, 0.0), paths[-1], "evaluation")
    merged = assemble_cube([xr.load_dataset(p) for p in paths], references(), {})
    write_netcdf(merged, tmp_path / "cube.nc", "cube")
    assert list(xr.load_dataset(tmp_path / "cube.nc").kind.values) == ["equilibrium", "with_distorted"]


def test_reference_minima_found_on_the_curves_replace_the_grids():
    curves = {(r, p): references().reference_energy.sel(reference=r, probe=p).values
              for r in ("exact", "label_method") for p in ("H2", "H2_2plus")}  # fmt: skip
    refined = reference_dataset(DISTANCES, curves, FACTS, minima={("exact", "H2"): (0.7414, 4.7477)})
    exact = refined.sel(reference="exact", probe="H2")
    assert float(exact.reference_equilibrium_distance) == 0.7414 and float(exact.reference_well_depth) == 4.7477
    # Where no minimum was given, the grid's: -E at the lowest point.
    assert float(refined.reference_well_depth.sel(reference="label_method", probe="H2")) == 3.5
    predictions = {"H2": np.array([1.0, -4.0, -1.0]), "H2_2plus": np.array([-4.0, -4.0, -4.0])}
    metrics = {"test_mae": 0.1, "test_rmse": 0.2, "test_mae_equilibrium": 0.05, "best_epoch": 3}
    info = {"n_parameters": 100, "charge_aware": 0, "model_architecture": "schnet"}
    run = evaluation_dataset("small", "equilibrium", 0, 4, predictions, refined, metrics, info)
    assert float(run.well_depth_error.sel(probe="H2", reference="exact").squeeze()) == pytest.approx(4.0 - 4.7477)


def test_holdout_energies_are_kept_geometry_by_geometry_so_a_parity_plot_and_the_mae_agree():
    """Each run's predictions of the shared test set sit on one test_geometry axis beside the labels, which
    are stored once; the MAE taken from them is the run's test_mae."""
    labels = np.array([-20.0, -31.0, -12.5])
    runs = []
    for size, error in ((4, 0.8), (8, 0.3)):
        holdout = {
            "test_geometry": ["CCO", "CCO/bond0x1.25", "N#N"],
            "test_origin": ["equilibrium", "bond_scaled", "equilibrium"],
            "test_reference_energy": labels,
            "test_predicted_energy": labels + np.array([error, -error, error]),
        }
        metrics = {"test_mae": error, "test_rmse": error, "test_mae_equilibrium": error, "best_epoch": 3}
        info = {"n_parameters": 100, "charge_aware": 0, "model_architecture": "schnet"}
        predictions = {"H2": np.array([1.0, -4.0, -1.0]), "H2_2plus": np.array([28.8, 14.4, 7.2])}
        runs.append(evaluation_dataset("small", "equilibrium", 0, size, predictions, references(), metrics, info,
                                       holdout=holdout))  # fmt: skip
    cube = assemble_cube(runs, references(), {})
    assert cube.test_reference_energy.dims == ("test_geometry",)
    assert cube.test_predicted_energy.dims == ("model", "kind", "seed", "size", "test_geometry")
    assert list(cube.test_origin.sel(test_geometry=["CCO/bond0x1.25"]).values) == ["bond_scaled"]
    error = np.abs(cube.test_predicted_energy - cube.test_reference_energy).mean("test_geometry")
    assert error.sel(model="small", kind="equilibrium", seed=0).values == pytest.approx(cube.test_mae.squeeze())
    assert cube.test_predicted_energy.attrs["units"] == "eV"
