"""Plain tables from the cube, for the report and for readers without xarray: one row per training run
and probe, one per scaling fit, one per quarantine reason."""

import pandas as pd
import xarray as xr

RUN = ["model", "kind", "seed", "size"]
PROBE_COLUMNS = ["well_depth_error", "equilibrium_distance_error", "n_minima", "force_flips",
                 "repulsion_spearman", "tortuosity"]  # fmt: skip


def probe_metrics_table(cube: xr.Dataset) -> pd.DataFrame:
    """Per run and probe: MAE against each reference, window MAEs against the label method (what a model can
    learn) and the exact reference (what transfers), the curve's physics beside what the exact curve has."""
    mae = cube.probe_mae.to_dataframe().probe_mae.unstack("reference").add_prefix("mae_vs_")
    table = mae
    for reference in ("label_method", "exact"):
        windows = cube.probe_window_mae.sel(reference=reference, drop=True).to_dataframe().probe_window_mae
        table = table.join(windows.unstack("window").add_prefix(f"{reference}_mae_"))
    physics = cube[PROBE_COLUMNS].sel(reference="exact", drop=True).to_dataframe()[PROBE_COLUMNS]
    expected = cube[["expected_minima", "expected_force_flips"]].to_dataframe()
    table = table.join(physics).join(expected, on="probe")
    return table.dropna(subset=["mae_vs_label_method"]).round(4).reset_index()


# One row per model, kind and fitted error: the power law's exponent with its interval over seeds, and the
# law with floor where the grid identifies one (else NaN, and the status says why).
SCALING_COLUMNS = ["scaling_exponent", "scaling_exponent_ci_low", "scaling_exponent_ci_high", "scaling_amplitude",
                   "scaling_seeds", "scaling_points", "scaling_floor_exponent", "scaling_floor_exponent_ci_low",
                   "scaling_floor_exponent_ci_high", "scaling_floor", "scaling_floor_status"]  # fmt: skip


def scaling_table(cube: xr.Dataset) -> pd.DataFrame:
    return cube[SCALING_COLUMNS].to_dataframe()[SCALING_COLUMNS].round(4).reset_index()


def quarantine_table(quarantine: dict) -> pd.DataFrame:
    rows = [{"reason": reason, "geometries": count} for reason, count in quarantine["count_by_reason"].items()]
    return pd.DataFrame(rows, columns=["reason", "geometries"])
