"""Result cubes: references, per-model evaluations and their merge into one NetCDF file.

Each trained model's evaluation is its own small dataset with length-one model/kind/seed/size dimensions,
so adding a model evaluates only that model; the cube is their merge plus the reference curves.
"""

from datetime import datetime, timezone

import numpy as np
import xarray as xr

import astray
from astray.datasets.selection import drawn_from, strategy_of
from astray.evaluation.curve_metrics import PHYSICS_UNITS, WINDOWS, curve_physics, distance_average, window_errors
from astray.evaluation.scaling import capacity_scaling, data_scaling, joint_scaling
from astray.evaluation.uncertainty import uncertainty_fields
from astray.io import write_atomically

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
        "long_name": "probe mean absolute error, averaged over distance",
        "description": "integral of |predicted - reference| over the probe's distances (trapezoid rule) divided by "
        "their span, so the dense grid around the minimum does not outweigh the tail; against label_method: what a "
        "model could learn, against exact: what would transfer (floored by reference_probe_mae)",
    },
    "probe_rmse": {
        "units": "eV",
        "long_name": "probe root-mean-square error, averaged over distance",
        "description": "square root of the trapezoid integral of (predicted - reference)^2 over the probe's "
        "distances divided by their span",
    },
    "reference_probe_mae": {
        "units": "eV",
        "long_name": "reference curve's mean absolute error against the exact curve, averaged over distance",
        "description": "as probe_mae, of each reference curve against the exact one: label_method's is the floor "
        "of the probe's error against exact for a model that learned its labels perfectly (any model's MAE "
        "against exact is at least this minus its MAE against label_method); 0 for exact, NaN without an exact "
        "curve",
    },
    "reference_window_mae": {
        "units": "eV",
        "long_name": "reference curve's mean absolute error against the exact curve in a distance window",
        "description": "as probe_window_mae, of each reference curve against the exact one: the label level's "
        "floor in each window",
    },
    "test_reference_energy": {
        "units": "eV",
        "long_name": "holdout test atomization energy at the label level",
        "description": "label of each shared test geometry, as an atomization energy",
    },
    "test_predicted_energy": {
        "units": "eV",
        "long_name": "model-predicted holdout test atomization energy",
        "description": "each run's prediction of each test geometry (pretrained models after their per-element "
        "alignment): the parity plots' points",
    },
    "committee_test_spread": {
        "units": "eV",
        "long_name": "committee spread of the holdout prediction",
        "description": "standard deviation over seeds (the committee of a model, kind and size) of each test "
        "geometry's predicted atomization energy; NaN for pretrained models and single seeds",
    },
    "committee_test_error": {
        "units": "eV",
        "long_name": "committee mean's holdout absolute error",
        "description": "|mean over seeds of the prediction - label| per test geometry",
    },
    "committee_spread_error_spearman": {
        "units": "1",
        "long_name": "rank correlation of committee spread and error on the test set",
        "description": "Spearman's rho over the test geometries: near 1, the spread tells large errors from small",
    },
    "committee_within_1_spread": {
        "units": "1",
        "long_name": "fraction of holdout errors within one committee spread",
        "description": "calibrated like a Gaussian: 0.68 (noisy with three members)",
    },
    "committee_within_2_spread": {
        "units": "1",
        "long_name": "fraction of holdout errors within two committee spreads",
        "description": "calibrated like a Gaussian: 0.95 (noisy with three members)",
    },
    "committee_probe_spread": {
        "units": "eV",
        "long_name": "committee spread along the probe curve",
        "description": "standard deviation over seeds of the predicted probe energy at each distance",
    },
    "committee_probe_window_spread": {
        "units": "eV",
        "long_name": "committee spread averaged over a distance window",
        "description": "committee_probe_spread averaged over distance in each window, as probe_window_mae is",
    },
    "committee_probe_error": {
        "units": "eV",
        "long_name": "committee mean's error against the exact probe curve",
        "description": "|mean over seeds of the predicted probe energy - exact| at each distance",
    },
    "softening_slope": {
        "units": "1",
        "long_name": "softening: predicted over label energy change from equilibrium",
        "description": "least-squares slope through the origin of the predicted against the labels' energy "
        "change from each distorted test geometry's equilibrium geometry; below 1 the model is softer than its "
        "labels, above 1 stiffer",
    },
    "md_time_intact": {
        "units": "ps",
        "long_name": "NVE molecular dynamics: time the bond graph stayed intact",
        "description": "time of the first broken or new bond (astray.evaluation.dynamics), or the run's length if "
        "none; per test molecule run from its equilibrium geometry at evaluation.dynamics' temperature",
    },
    "md_intact": {
        "units": "1",
        "long_name": "NVE molecular dynamics: run ended with its bond graph intact",
        "description": "1 if no bond broke or formed and every energy stayed finite to the end, else 0",
    },
    "md_energy_drift": {
        "units": "meV/atom/ps",
        "long_name": "NVE molecular dynamics: total-energy drift",
        "description": "absolute least-squares slope of the total energy over the intact part of the run, per "
        "atom; NaN with fewer than three samples there",
    },
    "md_first_change": {
        "units": "1",
        "long_name": "NVE molecular dynamics: the first change of the bond graph",
        "description": "which bond broke or formed, at what distance; empty while intact",
    },
    "md_intact_fraction": {
        "units": "1",
        "long_name": "NVE molecular dynamics: fraction of the test molecules intact at the end",
    },
    "md_mean_time_intact": {
        "units": "ps",
        "long_name": "NVE molecular dynamics: mean time intact over the test molecules",
        "description": "mean of md_time_intact: a lower bound on the mean time to the first bond change, capped "
        "by the run's length",
    },
    "md_median_energy_drift": {
        "units": "meV/atom/ps",
        "long_name": "NVE molecular dynamics: median total-energy drift over the test molecules",
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
    "labels_spent": {
        "units": "1",
        "long_name": "reference calculations the training set's strategy needed: its geometries' and those "
        "quarantined on the way (a committee's: its first set's and every round's picks)",
    },
    "model_architecture": {"units": "1", "long_name": "architecture of the model specification"},
    "charge_aware": {
        "units": "1",
        "long_name": "model receives the total charge",
        "description": "1 if the model was given charge +2 on H2_2plus; 0 if it saw only the geometry",
    },
    "physics_prior": {
        "units": "1",
        "long_name": "physics built into the model",
        "description": "coulomb: exact nuclear repulsion plus a learned electronic energy that vanishes "
        "without electrons; none: the network alone",
    },
    "spin_aware": {
        "units": "1",
        "long_name": "model receives the spin multiplicity",
        "description": "1 if the model was given each probe's multiplicity (H2+ a doublet); 0 if not",
    },
    "training_data": {
        "units": "1",
        "long_name": "what the model was trained on",
        "description": "this campaign's training sets, or a pretrained model's data set and level of theory as "
        "its authors state them",
    },
    "energy_alignment": {
        "units": "1",
        "long_name": "how the model's energies are put on the campaign's scale",
        "description": "none for models trained on the campaign's atomization energies; for pretrained models the "
        "per-element shift behind their holdout errors (docs/pretrained.md)",
    },
    "probe_unavailable": {
        "units": "1",
        "long_name": "why the model has no prediction for a probe",
        "description": "empty where it has one; otherwise the model's own error (e.g. an element it was not "
        "trained on) and the probe's predictions are NaN",
    },
    "best_epoch": {
        "units": "1",
        "long_name": "epoch of the best validation error (NaN for a pretrained model or an external rung)",
    },
    "free_atom_energy_max": {
        "units": "eV",
        "long_name": "largest predicted energy of a free atom",
        "description": "max |predicted atomization energy| of each campaign element's neutral ground-state atom "
        "alone: 0 for a model whose isolated atoms are zero (isolated_atoms: zero), the per-atom shift otherwise",
    },
    "train_seconds": {
        "units": "s",
        "long_name": "training wall time",
        "description": "sum of the epochs' wall times (validation included; a resumed run's epochs too); NaN "
        "where the trainer does not report it",
    },
    "train_epochs": {"units": "1", "long_name": "epochs trained (early stopping included)"},
    "train_flops_per_epoch": {
        "units": "1",
        "long_name": "floating-point operations per training epoch",
        "description": "dense matrix-product FLOPs of one epoch's forward and backward passes as "
        "torch.utils.flop_counter counts them (element-wise operations not counted); NaN where not counted (NequIP)",
    },
    "train_flops": {
        "units": "1",
        "long_name": "floating-point operations of the training run",
        "description": "train_flops_per_epoch times train_epochs",
    },
    "test_force_mae": {
        "units": "eV/angstrom",
        "long_name": "holdout test force MAE",
        "description": "mean absolute force-component error on the test geometries that carry forces; "
        "model forces are minus the gradient of its energy",
    },
    "fragment_shift": {
        "units": "eV",
        "long_name": "isolated-atom shift of the probe",
        "description": "sum of neutral isolated-atom energies minus the energy of the probe's separated fragments "
        "at the label level; added to a model's atomization energy to put it on the probe's scale",
    },
    "length_scale": {"units": "angstrom", "long_name": "probe length scale (experimental r_e; H2's if unbound)"},
    "expected_minima": {"units": "1", "long_name": "minima of the exact probe curve"},
    "expected_force_flips": {"units": "1", "long_name": "force sign changes of the exact probe curve"},
    "limit_well_depth": {
        "units": "eV",
        "long_name": "true well depth D_e of the probe",
        "description": "exact Born-Oppenheimer (H2, H2+) or experimental D_e; compare reference_well_depth to see "
        "how close each reference comes (NaN for unbound probes)",
    },
    "probe_window_mae": {
        "units": "eV",
        "long_name": "probe mean absolute error in a distance window, averaged over distance",
        "description": "trapezoid integral of |predicted - reference| over the window divided by its span on the "
        "grid; windows in units of the probe length scale: wall r < 0.85, well 0.85-1.5, breaking 1.5-3 "
        "(1.11-2.22 Å for H2, where bonds break), tail r >= 3; NaN for a window without grid points",
    },
    "well_depth_error": {"units": "eV", "long_name": "predicted minus reference well depth D_e"},
    "equilibrium_distance_error": {"units": "angstrom", "long_name": "predicted minus reference r_e"},
}

PHYSICS_LONG_NAMES = {
    "well_depth": "well depth D_e (minus the lowest interior energy; NaN without a minimum)",
    "equilibrium_distance": "equilibrium distance r_e (parabola through the lowest grid point)",
    "n_minima": "number of interior local minima deeper than 1 meV",
    "force_flips": "sign changes of the bond force -dE/dr, forces below 0.01 eV/angstrom ignored",
    "repulsion_spearman": "Spearman rank correlation of energy with distance inside the minimum (ideal -1)",
    "tortuosity": "total variation of the curve over its direct path down to the minimum and up (ideal 1)",
}
for _name, _units in PHYSICS_UNITS.items():
    VARIABLE_ATTRS[_name] = {"units": _units, "long_name": "predicted curve: " + PHYSICS_LONG_NAMES[_name]}
    VARIABLE_ATTRS["reference_" + _name] = {
        "units": _units,
        "long_name": "reference curve: " + PHYSICS_LONG_NAMES[_name],
    }
for _name in ("well_depth", "equilibrium_distance"):
    VARIABLE_ATTRS["reference_" + _name]["long_name"] = "reference curve: " + PHYSICS_LONG_NAMES[_name].split(" (")[0]
    VARIABLE_ATTRS["reference_" + _name]["description"] = (
        "minimised on the reference curve itself (the exact curve's function, or the method's energies at any "
        "distance), not read off the probe grid; NaN without a minimum"
    )

COORD_ATTRS = {
    "distance": {"units": "angstrom", "long_name": "interatomic distance"},
    "size": {"units": "1", "long_name": "number of training geometries"},
    "test_geometry": {"long_name": "geometry id of a shared holdout test geometry"},
    "test_origin": {"long_name": "origin of the test geometry", "description": "equilibrium, or the distortion "
                    "that made it"},
    "test_molecule": {"long_name": "molecule of the test geometry"},
    "md_molecule": {"long_name": "geometry id of a test molecule run in NVE molecular dynamics"},
    "seed": {"units": "1", "long_name": "seed of the training-set order and model initialisation"},
    "kind": {"long_name": "dataset kind", "description": "equilibrium: equilibrium geometries only; "
             "with_distorted: equilibrium plus every distorted geometry and scan; <kind>-committee: the kind's "
             "geometries chosen by a committee (coordinates selection and drawn_from)"},
    "selection": {"long_name": "how the dataset's training sets were chosen", "description": "random: each seed's "
                  "nested prefixes of one seeded order; committee: one nested family for every seed, each size "
                  "adding what the committee trained on the previous size disagrees on most"},
    "drawn_from": {"long_name": "kind of geometries the dataset is drawn from"},
    "model": {"long_name": "model specification name (capacity ladder rung)"},
    "probe": {"long_name": "probe system"},
    "reference": {"long_name": "reference method", "description": "exact: the exact Born-Oppenheimer curve "
                  "(H2 from Pachucki 2010, H2+ solved exactly, Z1*Z2/r for bare nuclei; NaN where physics gives "
                  "none); fci: FCI in the evaluation basis (exact within it; NaN where not affordable); "
                  "label_method: the method that labeled the training data"},
    "window": {"long_name": "distance window of the probe curve", "description": "wall, well, breaking, tail "
               "(astray.evaluation.curve_metrics.WINDOWS, in units of the probe length scale)"},
    "compute_budget": {"units": "1", "long_name": "training compute budget (FLOPs of one run)"},
    "architecture": {"long_name": "model architecture (capacity-scaling fits)"},
}  # fmt: skip


def reference_dataset(distances, curves: dict, probe_facts: dict, minima: dict | None = None) -> xr.Dataset:
    """curves: {(reference, probe): energies (eV) on `distances`}; probe_facts: {name: {fragment_shift,
    length_scale, expected_minima, expected_force_flips, limit_well_depth}}; minima: {(reference, probe):
    (r_e in Å, D_e in eV)} found on the curves themselves. The physics of each reference curve is added,
    its well depth and r_e from `minima` where given (from the grid otherwise)."""
    references = sorted({r for r, _ in curves})
    probes = sorted({p for _, p in curves})
    values = np.array([[curves[(r, p)] for p in probes] for r in references])
    ds = xr.Dataset(
        {"reference_energy": (("reference", "probe", "distance"), values)},
        coords={"reference": references, "probe": probes, "distance": np.asarray(distances, dtype=float)},
    )
    for fact in ("fragment_shift", "length_scale", "expected_minima", "expected_force_flips", "limit_well_depth"):
        ds[fact] = ("probe", [probe_facts[p][fact] for p in probes])
    ds["reference_probe_mae"], ds["reference_window_mae"] = _reference_errors(ds)
    physics = _physics(ds.reference_energy)
    for (reference, probe), (r_e, d_e) in (minima or {}).items():
        physics.equilibrium_distance.loc[{"reference": reference, "probe": probe}] = r_e
        physics.well_depth.loc[{"reference": reference, "probe": probe}] = d_e
    for name in PHYSICS_UNITS:
        ds["reference_" + name] = physics[name]
    return annotate(ds)


def _reference_errors(references: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """Each reference curve's distance-averaged MAE against the exact curve, whole and per window: the label
    level's own error is the floor of what a model trained on its labels can reach against exact."""
    exact = references.reference_energy.sel(reference="exact", drop=True)
    error = np.abs(references.reference_energy - exact)
    whole = xr.apply_ufunc(lambda e: distance_average(references.distance.values, e), error,
                           input_core_dims=[["distance"]], vectorize=True)  # fmt: skip
    return whole, _window_errors(references.reference_energy, references, against=exact)


def _physics(energies: xr.DataArray) -> xr.Dataset:
    """curve_physics of every curve of `energies` (any dimensions, then distance), one variable each."""
    others = [dim for dim in energies.dims if dim != "distance"]
    curves = energies.transpose(*others, "distance").values.reshape(-1, energies.sizes["distance"])
    table = np.array([list(curve_physics(energies.distance.values, curve).values()) for curve in curves])
    shape = [energies.sizes[dim] for dim in others]
    return xr.Dataset(
        {name: (others, table[:, column].reshape(shape)) for column, name in enumerate(PHYSICS_UNITS)},
        coords={dim: energies[dim] for dim in others},
    )


def evaluation_dataset(
    model, kind, seed, size, predictions: dict, references, metrics: dict, model_info: dict, unavailable=None,
    holdout=None, dynamics=None,
):  # fmt: skip
    """One model's evaluation: probe predictions on the reference grid and its error metrics.

    `metrics` vary with the training run (kind, seed, size); `model_info` (n_parameters, charge_aware, physics_prior)
    describes the model specification alone; `unavailable` says, per probe, why the model gave no
    prediction ("" where it did); `holdout` (astray.evaluation.evaluate.holdout_energies) holds the test set's
    energies geometry by geometry; `dynamics` (astray.evaluation.dynamics.summaries) its molecular dynamics runs.
    """
    probes = list(references.probe.values)
    predicted = xr.DataArray(
        np.array([predictions[p] for p in probes]),
        dims=("probe", "distance"),
        coords={"probe": probes, "distance": references.distance},
    )
    error = predicted - references.reference_energy
    physics = _physics(predicted)
    ds = xr.Dataset(
        {
            "predicted_energy": predicted,
            "probe_mae": _distance_average(np.abs(error)),
            "probe_rmse": np.sqrt(_distance_average(error**2)),
            "probe_window_mae": _window_errors(predicted, references),
            "well_depth_error": physics["well_depth"] - references.reference_well_depth,
            "equilibrium_distance_error": physics["equilibrium_distance"] - references.reference_equilibrium_distance,
            **{name: physics[name] for name in PHYSICS_UNITS},
            **{name: ((), value) for name, value in metrics.items()},
        }
    )
    ds = ds.expand_dims(model=[model], kind=[kind], seed=[seed], size=[size])
    for name, value in model_info.items():
        ds[name] = ("model", [value])
    notes = unavailable or {}
    ds["probe_unavailable"] = (("model", "probe"), [[notes.get(p, "") for p in probes]])
    if holdout is not None:
        ds = ds.merge(_holdout_dataset(holdout, {"model": model, "kind": kind, "seed": seed, "size": size}))
    if dynamics is not None:
        ds = ds.merge(dynamics_dataset(dynamics).expand_dims(model=[model], kind=[kind], seed=[seed], size=[size]))
    return annotate(ds)


def dynamics_dataset(dynamics: dict) -> xr.Dataset:
    """One model's molecular dynamics runs on an `md_molecule` dimension, and their summary over molecules."""
    runs = xr.Dataset(
        {name: ("md_molecule", np.asarray(values)) for name, values in dynamics.items() if name != "md_molecule"},
        coords={"md_molecule": list(dynamics["md_molecule"])},
    )
    runs["md_intact_fraction"] = runs.md_intact.mean("md_molecule")
    runs["md_mean_time_intact"] = runs.md_time_intact.mean("md_molecule")
    runs["md_median_energy_drift"] = runs.md_energy_drift.median("md_molecule", skipna=True)
    return runs


def _holdout_dataset(holdout: dict, run: dict) -> xr.Dataset:
    """The test set's reference energies (one per geometry, the same in every evaluation) and this run's
    predictions of them, on a `test_geometry` dimension labelled by geometry id."""
    coords = {"test_geometry": holdout["test_geometry"]}
    for name in ("test_origin", "test_molecule"):
        if name in holdout:
            coords[name] = ("test_geometry", holdout[name])
    predicted = xr.DataArray(holdout["test_predicted_energy"], dims="test_geometry", coords=coords)
    return xr.Dataset(
        {
            "test_reference_energy": ("test_geometry", holdout["test_reference_energy"]),
            "test_predicted_energy": predicted.expand_dims({name: [value] for name, value in run.items()}),
        },
        coords=coords,
    )


def _distance_average(values: xr.DataArray) -> xr.DataArray:
    """astray.evaluation.curve_metrics.distance_average of every curve of `values` over its distance dimension."""
    return xr.apply_ufunc(lambda v: distance_average(values.distance.values, v), values,
                          input_core_dims=[["distance"]], vectorize=True)  # fmt: skip


def _window_errors(curves: xr.DataArray, references: xr.Dataset, against=None) -> xr.DataArray:
    """Distance-averaged absolute error in each window, per probe and reference: of `curves` (one per probe,
    or one per reference and probe) against each reference curve, or against `against` (one per probe)."""
    values = []
    for probe in references.probe.values:
        scale = float(references.length_scale.sel(probe=probe))
        row = []
        for reference in references.reference.values:
            curve = curves.sel(probe=probe)
            curve = curve.sel(reference=reference) if "reference" in curve.dims else curve
            target = (
                references.reference_energy.sel(probe=probe, reference=reference)
                if against is None
                else (against.sel(probe=probe))
            )
            row.append(list(window_errors(references.distance, curve, target, scale).values()))
        values.append(row)
    return xr.DataArray(
        np.array(values),
        dims=("probe", "reference", "window"),
        coords={"probe": references.probe, "reference": references.reference, "window": list(WINDOWS)},
    )


def labels_spent(records: dict) -> xr.DataArray:
    """The labels each training set spent, from {(kind, seed, size): its record}."""
    kinds, seeds, sizes = (sorted({key[axis] for key in records}) for axis in range(3))
    spent = np.full((len(kinds), len(seeds), len(sizes)), np.nan)
    for (kind, seed, size), record in records.items():
        spent[kinds.index(kind), seeds.index(seed), sizes.index(size)] = record["labels_spent"]
    return xr.DataArray(spent, dims=("kind", "seed", "size"), coords={"kind": kinds, "seed": seeds, "size": sizes},
                        name="labels_spent")  # fmt: skip


def assemble_cube(evaluations, references: xr.Dataset, attrs: dict, compute_budgets=(), set_records=None) -> xr.Dataset:
    """Merge per-model evaluations and references (and the training sets' labels spent, given their
    records), then fit the scaling laws and, at each compute budget (FLOPs of one training run), the joint
    law's compute-optimal allocation; runs that were not trained stay NaN in the cube."""
    spent = [labels_spent(set_records).to_dataset()] if set_records else []
    cube = xr.merge([references, *evaluations, *spent], combine_attrs="drop", join="outer", compat="no_conflicts")
    kinds = cube.kind.values
    cube = cube.assign_coords(
        selection=("kind", [strategy_of(kind) for kind in kinds]), drawn_from=("kind", [drawn_from(k) for k in kinds])
    )
    fits = [data_scaling(cube), capacity_scaling(cube), joint_scaling(cube, compute_budgets), uncertainty_fields(cube)]
    cube = xr.merge([cube, *fits], combine_attrs="drop_conflicts")
    cube.attrs.update(attrs)
    return annotate(cube)


def annotate(ds: xr.Dataset) -> xr.Dataset:
    for name, attrs in {**VARIABLE_ATTRS, **COORD_ATTRS}.items():
        if name in ds.variables:
            ds[name].attrs.update(attrs)
    return ds


def write_netcdf(ds: xr.Dataset, path, what: str) -> None:
    """Write with a new `history` line, to a temporary name first so readers never see half a file."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"[{stamp}] {what} - astray {astray.__version__}"
    history = ds.attrs.get("history", "")
    ds.attrs["history"] = f"{history}\n{line}" if history else line
    # Encodings read from the inputs (e.g. a fixed string width) must not truncate the merged values.
    write_atomically(path, lambda temporary: ds.drop_encoding().to_netcdf(temporary, engine="netcdf4"))
