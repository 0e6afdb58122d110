"""Committee-chosen against random sets: errors against N, and what each set holds."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import csv

import xarray as xr

from astray.io import read_geometries, write_atomically
from astray.report.selection import composition_rows, equal_error_rows, plot_selection

sets = {tuple(run): read_geometries(path) for run, path in zip(snakemake.params.sets, snakemake.input.training_sets)}
cube = xr.load_dataset(snakemake.input.cube)
rows = composition_rows(sets)
measured = sorted({key for row in rows for key in row} - {"kind", "seed", "size", "geometries"})


def write_table(path, rows, columns):
    def write(temporary):
        with open(temporary, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)

    write_atomically(path, write)


write_table(snakemake.output.table, rows, ["kind", "seed", "size", "geometries", *measured])
savings = equal_error_rows(cube)
write_table(snakemake.output.equal_error, savings, list(savings[0]))
plot_selection(cube, rows, snakemake.output.plot, dpi=snakemake.params.plots["dpi"])
