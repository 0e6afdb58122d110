"""Plain tables from the cube, for the report and for readers without xarray: one row per training run
and probe, one per scaling fit, one per quarantine reason."""

import pandas as pd
import xarray as xr

RUN = ["model", "kind", "seed", "size"]
PROBE_COLUMNS = ["well_depth_error", "equilibrium_distance_error", "n_minima", "force_flips",
                 "repulsion_spearman", "tortuosity"]  # fmt: skip


def probe_metrics_table(cube: xr.Dataset) -> pd.DataFrame:
    """Per run and probe: MAE against each reference, window MAEs against the exact reference, the curve's
    physics beside what the exact curve has."""
    mae = cube.probe_mae.to_dataframe().probe_mae.unstack("reference").add_prefix("mae_vs_")
    windows = cube.probe_window_mae.sel(reference="exact", drop=True).to_dataframe().probe_window_mae
    windows = windows.unstack("window").add_prefix("exact_mae_")
    physics = cube[PROBE_COLUMNS].sel(reference="exact", drop=True).to_dataframe()[PROBE_COLUMNS]
    expected = cube[["expected_minima", "expected_force_flips"]].to_dataframe()
    table = mae.join(windows).join(physics).join(expected, on="probe")
    return table.dropna(subset=["mae_vs_label_method"]).round(4).reset_index()


def scaling_table(cube: xr.Dataset) -> pd.DataFrame:
    fits = cube[["scaling_exponent", "scaling_exponent_stderr", "scaling_floor", "scaling_points"]]
    return fits.to_dataframe().round(4).reset_index()


def quarantine_table(quarantine: dict) -> pd.DataFrame:
    rows = [{"reason": reason, "geometries": count} for reason, count in quarantine["count_by_reason"].items()]
    return pd.DataFrame(rows, columns=["reason", "geometries"])
