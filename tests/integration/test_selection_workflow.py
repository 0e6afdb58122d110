"""Committee-chosen training sets in the real workflow, at tiny scale: added to a finished random campaign,
they run only their own jobs; each round's picks are the candidates the committee disagrees on most, nested
on the random smallest set and never a holdout molecule; only what the datasets use is labeled
(labels.scope: datasets), the picks by their rounds' own jobs; the cube holds both selections with every
metric and the labels each set spent."""

import itertools
import json

import numpy as np
import pytest
import xarray as xr
import yaml
from test_workflow import TINY_CONFIG, planned_jobs, snakemake

from astray.datasets.selection import disagreement
from astray.io import read_geometries

pytestmark = pytest.mark.workflow

SIZES, SEEDS = [4, 8, 12], [0, 1]
COMMITTEE = "with_distorted-committee"


def selection_config(strategies) -> dict:
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["models"] = {"tiny_a": config["models"]["tiny_a"]}
    config["datasets"].update(kinds=["with_distorted"], sizes=SIZES, seeds=SEEDS)
    config["datasets"]["selection"] = {"strategies": strategies, "committee": {"model": "tiny_a"}}
    config["labels"]["scope"] = "datasets"
    config["evaluation"]["dynamics"]["steps"] = 0
    config["training"]["max_epochs"] = 5  # each round's members need only to differ, not to converge
    return config


@pytest.fixture(scope="module")
def selection_campaign(tmp_path_factory):
    """A random campaign, then the same with the committee strategy added: its dry run and its run."""
    workdir = tmp_path_factory.mktemp("selection")
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(selection_config(["random"])))
    result = snakemake(workdir, config_path, "results/cube.nc")  # the random runs' plots: the tiny campaign's test
    assert result.returncode == 0, result.stderr[-4000:]
    config_path.write_text(yaml.safe_dump(selection_config(["random", "committee"])))
    planned = snakemake(workdir, config_path, "-n")
    assert planned.returncode == 0, planned.stderr[-4000:]
    result = snakemake(workdir, config_path)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir, planned_jobs(planned)


def test_adding_the_committee_runs_only_its_rounds_and_their_models(selection_campaign):
    _, jobs = selection_campaign
    assert jobs["committee_set"] == len(SIZES)
    assert jobs["committee_predictions"] == len(SEEDS) * (len(SIZES) - 1)
    assert jobs["train"] == len(SEEDS) * len(SIZES)  # the committee's sets only: the random runs are done
    assert jobs["committee_picks"] == jobs["label_picks"] == len(SIZES) - 1  # picks of 4: one chunk a round
    assert not {"label_chunk", "merge_labels", "training_set", "holdout_sets"} & set(jobs)


def test_only_what_the_datasets_use_is_labeled_and_each_round_labels_its_own_picks(selection_campaign):
    workdir, _ = selection_campaign
    labeled = set(json.loads((workdir / "results/labels/labeled.json").read_text())["frames"])
    index = json.loads((workdir / "results/datasets/frame_index.json").read_text())
    candidates = set(member_predictions(workdir, SIZES[0], SEEDS[0])["frames"])
    assert candidates - labeled, "every candidate was labeled before the committee chose"
    assert len(labeled) < len(index["geometry_id"])
    for large in SIZES[1:]:
        picks = [pick["frame"] for pick in frames_of(workdir, large)["picks"]]
        chunk = workdir / f"results/labels/{COMMITTEE}/train_n{large}/picks_0.extxyz"
        by_round = {atoms.info["geometry_id"] for atoms in read_geometries(chunk)}
        # The round computed exactly its picks that nothing had labeled, and the set carries their labels.
        assert by_round == {index["geometry_id"][frame] for frame in picks if frame not in labeled}
        assert frames_of(workdir, large)["labeled_here"] == len(by_round)
        energies = {a.info["geometry_id"]: a.get_potential_energy() for a in committee_set(workdir, large)}
        for atoms in read_geometries(chunk):
            assert energies[atoms.info["geometry_id"]] == pytest.approx(atoms.get_potential_energy(), abs=1e-6)


def frames_of(workdir, size) -> dict:
    return json.loads((workdir / f"results/datasets/{COMMITTEE}/train_n{size}.json").read_text())


def committee_set(workdir, size) -> list:
    return read_geometries(workdir / f"results/datasets/{COMMITTEE}/train_n{size}.extxyz")


def member_predictions(workdir, size, seed) -> dict:
    return json.loads((workdir / f"results/datasets/{COMMITTEE}/n{size}/predictions_seed{seed}.json").read_text())


def test_committee_sets_are_nested_on_the_random_smallest_set_and_hold_no_holdout_molecule(selection_campaign):
    workdir, _ = selection_campaign
    ids = {size: [atoms.info["geometry_id"] for atoms in committee_set(workdir, size)] for size in SIZES}
    random_first = read_geometries(workdir / f"results/datasets/with_distorted/seed{SEEDS[0]}/train_n{SIZES[0]}.extxyz")
    assert ids[SIZES[0]] == [a.info["geometry_id"] for a in random_first]
    for small, large in itertools.pairwise(SIZES):
        assert len(ids[large]) == large and set(ids[small]) < set(ids[large])
    splits = json.loads((workdir / "results/datasets/splits.json").read_text())
    molecules = {
        a.info["molecule"] for a in read_geometries(workdir / f"results/datasets/{COMMITTEE}/train_n{SIZES[-1]}.extxyz")
    }
    assert {splits[molecule] for molecule in molecules} == {"train"}


def test_each_round_picks_what_the_committee_disagrees_on_most_one_geometry_per_molecule(selection_campaign):
    workdir, _ = selection_campaign
    for small, large in itertools.pairwise(SIZES):
        members = [member_predictions(workdir, small, seed) for seed in SEEDS]
        # Each member is the committee rung trained with its own seed on the previous set.
        assert [m["model"] for m in members] == [
            f"results/models/{COMMITTEE}/seed{s}/n{small}/tiny_a/model.pt" for s in SEEDS
        ]
        candidates = members[0]["frames"]
        assert not set(candidates) & set(frames_of(workdir, small)["frames"])
        scores = dict(zip(candidates, disagreement([m["energies"] for m in members], members[0]["atoms"])))
        picks = frames_of(workdir, large)["picks"]
        assert len(picks) == large - small
        picked_molecules = [pick["molecule"] for pick in picks]
        assert len(set(picked_molecules)) == len(picks)  # enough molecules here: the guard never relaxes
        lowest_pick = min(scores[pick["frame"]] for pick in picks)
        index = json.loads((workdir / "results/datasets/frame_index.json").read_text())
        for frame, score in scores.items():
            if score > lowest_pick and frame not in {pick["frame"] for pick in picks}:
                # Passed over only for a molecule this round already took.
                assert index["molecule"][frame] in picked_molecules


def test_the_cube_holds_both_selections_with_every_metric_and_fit(selection_campaign):
    workdir, _ = selection_campaign
    cube = xr.load_dataset(workdir / "results/cube.nc")
    assert list(cube.kind.values) == ["with_distorted", COMMITTEE]
    assert list(cube.selection.values) == ["random", "committee"]
    assert list(cube.drawn_from.values) == ["with_distorted", "with_distorted"]
    for kind in cube.kind.values:
        runs = cube.sel(model="tiny_a", kind=kind)
        assert np.isfinite(runs.test_mae).all() and np.isfinite(runs.probe_mae.sel(probe="H2", reference="exact")).all()
        assert np.isfinite(runs.scaling_exponent.sel(target="test_mae")), kind
    # Nothing was quarantined: every set spent as many calculations as it holds geometries.
    spent = cube.labels_spent.transpose("kind", "seed", "size").values
    np.testing.assert_array_equal(spent, np.broadcast_to(SIZES, spent.shape))
    assert cube.labels_spent.attrs["units"] == "1"
    assert (workdir / "results/plots/selection.png").stat().st_size > 10_000
    table = (workdir / "results/tables/selection.csv").read_text().splitlines()
    # Two random seeds' sets and the committee's one, at every size.
    assert len(table) == 1 + (len(SEEDS) + 1) * len(SIZES)
    equal_error = (workdir / "results/tables/selection_equal_error.csv").read_text().splitlines()
    header = equal_error[0].split(",")
    assert {"committee_labels_spent", "random_labels_at_equal_error", "labels_saved"} <= set(header)
    spent = [float(line.split(",")[header.index("committee_labels_spent")]) for line in equal_error[1:]]
    assert spent == [float(size) for size in SIZES] * 2  # test_mae and test_mae_equilibrium
