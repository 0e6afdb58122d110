"""The results page's job time per rule, from Snakemake's benchmark files: each training file timed is
counted to the rule that made it, MACE's and an external rung's calculator.json told apart by their runs."""

from astray.report.summary import stage_seconds


def test_each_benchmark_counts_to_the_rule_that_made_its_file(tmp_path):
    results = tmp_path / "results"
    timed = {
        "labels/chunk_0.extxyz.tsv": 5.0,
        "models/equilibrium/seed0/n6/schnet/model.pt.tsv": 3.0,
        "models/equilibrium/seed0/n6/mace/calculator.json.tsv": 7.0,
        "models/equilibrium/seed0/n6/cli/calculator.json.tsv": 11.0,
        "models/equilibrium/seed0/n6/nequip/best.ckpt.tsv": 13.0,
    }
    for relative, seconds in timed.items():
        path = results / "benchmarks" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"s\th:m:s\n{seconds}\t0:00:{seconds:02.0f}\n")
    (results / "models/equilibrium/seed0/n6/cli/external").mkdir(parents=True)
    assert stage_seconds(results / "benchmarks") == {
        "label_chunk": 5.0, "train": 3.0, "train_mace": 7.0, "train_external": 11.0, "train_nequip": 13.0,
    }  # fmt: skip
