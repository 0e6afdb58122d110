"""Committee-chosen against random sets: errors against N, and what each set holds."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import csv

import xarray as xr

from astray.io import read_geometries, write_atomically
from astray.report.selection import composition_rows, plot_selection

sets = {tuple(run): read_geometries(path) for run, path in zip(snakemake.params.sets, snakemake.input.training_sets)}
rows = composition_rows(sets)
measured = sorted({key for row in rows for key in row} - {"kind", "seed", "size", "geometries"})
columns = ["kind", "seed", "size", "geometries", *measured]


def write_table(path):
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


write_atomically(snakemake.output.table, write_table)
plot_selection(xr.load_dataset(snakemake.input.cube), rows, snakemake.output.plot, dpi=snakemake.params.plots["dpi"])
