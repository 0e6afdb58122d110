"""Result cubes: references, per-model evaluations and their merge into one NetCDF file.

Each trained model's evaluation is its own small dataset with length-one model/kind/seed/size dimensions,
so adding a model evaluates only that model; the cube is their merge plus the reference curves.
"""

import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

import astray

ENERGY_CONVENTION = "energy relative to the separated fragments (isolated atoms; bare nuclei for H2_2plus)"

VARIABLE_ATTRS = {
    "reference_energy": {
        "units": "eV",
        "long_name": "reference probe energy",
        "description": "probe curve from the label method and from an exact reference; " + ENERGY_CONVENTION,
    },
    "predicted_energy": {
        "units": "eV",
        "long_name": "model-predicted probe energy",
        "description": "model prediction on the probe geometry; " + ENERGY_CONVENTION,
    },
    "probe_mae": {
        "units": "eV",
        "long_name": "probe mean absolute error",
        "description": "mean |predicted - reference| over the probe's distance grid",
    },
    "probe_rmse": {
        "units": "eV",
        "long_name": "probe root-mean-square error",
        "description": "root-mean-square of predicted - reference over the probe's distance grid",
    },
    "test_mae": {
        "units": "eV",
        "long_name": "holdout test energy MAE",
        "description": "atomization energy MAE on the shared test set (equilibrium and distorted geometries)",
    },
    "test_rmse": {
        "units": "eV",
        "long_name": "holdout test energy RMSE",
        "description": "atomization energy RMSE on the shared test set (equilibrium and distorted geometries)",
    },
    "test_mae_equilibrium": {
        "units": "eV",
        "long_name": "holdout test energy MAE, equilibrium geometries",
        "description": "atomization energy MAE on the equilibrium geometries of the shared test set",
    },
    "n_parameters": {"units": "1", "long_name": "number of trainable parameters"},
    "charge_aware": {
        "units": "1",
        "long_name": "model receives the total charge",
        "description": "1 if the model was given charge +2 on H2_2plus; 0 if it saw only the geometry",
    },
    "best_epoch": {"units": "1", "long_name": "epoch of the best validation error"},
}

COORD_ATTRS = {
    "distance": {"units": "angstrom", "long_name": "interatomic distance"},
    "size": {"units": "1", "long_name": "number of training geometries"},
    "seed": {"units": "1", "long_name": "seed of the training-set order and model initialisation"},
    "kind": {"long_name": "dataset kind", "description": "equilibrium: equilibrium geometries only; "
             "with_distorted: equilibrium plus bond-scaled (compressed and stretched) geometries"},
    "model": {"long_name": "model specification name (capacity ladder rung)"},
    "probe": {"long_name": "probe system"},
    "reference": {"long_name": "reference method", "description": "label_method: the method that labeled the "
                  "training data; exact: FCI for H2, the Coulomb law 1/r for H2_2plus"},
}  # fmt: skip


def reference_dataset(distances, curves: dict) -> xr.Dataset:
    """curves: {(reference, probe): energies (eV) on `distances`}."""
    references = sorted({r for r, _ in curves})
    probes = sorted({p for _, p in curves})
    values = np.array([[curves[(r, p)] for p in probes] for r in references])
    return annotate(
        xr.Dataset(
            {"reference_energy": (("reference", "probe", "distance"), values)},
            coords={"reference": references, "probe": probes, "distance": np.asarray(distances, dtype=float)},
        )
    )


def evaluation_dataset(model, kind, seed, size, predictions: dict, references, metrics: dict, model_info: dict):
    """One trained model's evaluation: probe predictions on the reference grid and its error metrics.

    `metrics` vary with the training run (kind, seed, size); `model_info` (n_parameters, charge_aware)
    describes the model specification alone.
    """
    probes = list(references.probe.values)
    predicted = xr.DataArray(
        np.array([predictions[p] for p in probes]),
        dims=("probe", "distance"),
        coords={"probe": probes, "distance": references.distance},
    )
    error = predicted - references.reference_energy
    ds = xr.Dataset(
        {
            "predicted_energy": predicted,
            "probe_mae": np.abs(error).mean("distance"),
            "probe_rmse": np.sqrt((error**2).mean("distance")),
            **{name: ((), value) for name, value in metrics.items()},
        }
    )
    ds = ds.expand_dims(model=[model], kind=[kind], seed=[seed], size=[size])
    for name, value in model_info.items():
        ds[name] = ("model", [value])
    return annotate(ds)


def assemble_cube(evaluations, references: xr.Dataset, attrs: dict) -> xr.Dataset:
    """Merge per-model evaluations and references; runs that were not trained stay NaN in the cube."""
    cube = xr.merge([references, *evaluations], combine_attrs="drop", join="outer", compat="no_conflicts")
    cube.attrs.update(attrs)
    return annotate(cube)


def annotate(ds: xr.Dataset) -> xr.Dataset:
    for name, attrs in {**VARIABLE_ATTRS, **COORD_ATTRS}.items():
        if name in ds.variables:
            ds[name].attrs.update(attrs)
    return ds


def write_netcdf(ds: xr.Dataset, path, what: str) -> None:
    """Write with a new `history` line, to a temporary name first so readers never see half a file."""
    path = Path(path)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"[{stamp}] {what} - astray {astray.__version__}"
    history = ds.attrs.get("history", "")
    ds.attrs["history"] = f"{history}\n{line}" if history else line
    temporary = path.with_name(path.name + ".tmp")
    # Encodings read from the inputs (e.g. a fixed string width) must not truncate the merged values.
    ds.drop_encoding().to_netcdf(temporary, engine="netcdf4")
    os.replace(temporary, path)
