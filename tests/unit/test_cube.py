import numpy as np
import pytest
import xarray as xr

from astray.cube import assemble_cube, evaluation_dataset, reference_dataset, write_netcdf

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
    return assemble_cube(evaluations, references(), {"config_sha256": "abc"})


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
    assert protons.sel(reference="exact") == pytest.approx(np.sqrt(np.mean(np.square([32.8, 18.4, 11.2]))))


def test_curve_physics_of_predictions_and_references_sit_side_by_side():
    cube = small_cube()
    run = dict(model="small", kind="equilibrium", seed=0, size=4)
    assert cube.reference_n_minima.sel(reference="exact", probe="H2") == cube.expected_minima.sel(probe="H2") == 1
    assert cube.reference_n_minima.sel(reference="exact", probe="H2_2plus") == 0
    assert cube.well_depth.sel(**run, probe="H2") == pytest.approx(4.0 - 0.4)  # offset 0.1 * size
    assert cube.well_depth_error.sel(**run, probe="H2", reference="exact") == pytest.approx(-0.4)
    assert cube.force_flips.sel(**run, probe="H2_2plus") == 0  # a flat line has no force at all
    assert set(cube.window.values) == {"wall", "well", "tail"}


def test_scaling_exponents_are_fitted_per_model_and_kind():
    cube = small_cube()
    # test_mae = 0.1 * size grows linearly with the size: error = a N^-b with b = -1 and a = 0.1.
    fit = cube.sel(model="small", kind="equilibrium", target="test_mae")
    assert float(fit.scaling_exponent) == pytest.approx(-1.0, abs=1e-6)
    assert float(fit.scaling_amplitude) == pytest.approx(0.1, rel=1e-5) and fit.scaling_points == 3
    # The H2 error against the exact curve is 0.1 * size too (offset 0.1 * size on every point).
    assert float(cube.scaling_exponent.sel(model="large", kind="with_distorted", target="probe_mae/H2/exact")) == (
        pytest.approx(-1.0, abs=1e-6)
    )
    # Two models of one architecture are too few for a fit against parameter count.
    assert np.isnan(cube.capacity_scaling_exponent).all()


def test_every_variable_has_units_and_long_name(tmp_path):
    path = tmp_path / "cube.nc"
    write_netcdf(small_cube(), path, "test write")
    cube = xr.load_dataset(path)
    for name in [*list(cube.data_vars), "distance"]:
        assert cube[name].attrs.get("units"), name
        assert cube[name].attrs.get("long_name"), name
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
