"""Each rule's code param is the fingerprint of every astray module its script imports, however indirectly,
so no edit to code a job runs can leave its result stale."""

import shutil
from pathlib import Path

from astray.provenance import code_fingerprint, import_closure

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "astray"


def closure(script):
    return {str(path.relative_to(PACKAGE)) for path in import_closure([REPO / "workflow_scripts" / script], PACKAGE)}


def test_evaluation_hashes_the_cube_and_the_models_it_calls():
    """evaluate.py builds its dataset with astray.evaluation.cube and reads models through the registry: both are in."""
    modules = closure("evaluate.py")
    assert {"evaluation/cube.py", "evaluation/evaluate.py", "models/schnet.py", "models/registry.py"} <= modules
    assert "models/nequip.py" in modules  # imported inside the registry, only for NequIP models
    assert "evaluation/cube.py" in closure("reference_curves.py")


def test_engines_chosen_by_name_are_hashed_into_labeling():
    engines = {"labels/engines/pyscf_engine.py", "labels/engines/psi4_engine.py", "labels/labeling.py"}
    assert engines <= closure("label_chunk.py")


def test_every_rule_hashes_its_script_with_script_code():
    """No rule is left with a hand-written stage: every `script:` rule has `code=script_code(<its script>)`."""
    for rules in (REPO / "rules").glob("*.smk"):
        for block in rules.read_text().split("\nrule ")[1:]:
            if "workflow_scripts/" not in block:
                continue
            script = block.split("workflow_scripts/")[1].split('"')[0]
            assert f'code=script_code("{script}")' in block, f"{rules.name}: rule {block.split(':')[0]}"


def test_an_edit_changes_the_fingerprint_of_the_scripts_that_run_it_only(tmp_path):
    """astray.evaluation.uncertainty is the cube's (committee statistics), neither the plots' nor training's."""
    package = tmp_path / "astray"
    shutil.copytree(PACKAGE, package)
    scripts = REPO / "workflow_scripts"
    before = {s: code_fingerprint([scripts / s], package) for s in ("plot_model.py", "cube.py", "train.py")}
    with open(package / "evaluation" / "uncertainty.py", "a") as module:
        module.write("\n# a changed line\n")
    after = {s: code_fingerprint([scripts / s], package) for s in before}
    assert after["cube.py"] != before["cube.py"]
    assert after["plot_model.py"] == before["plot_model.py"] and after["train.py"] == before["train.py"]


def test_the_cube_hashes_what_it_runs_and_not_the_plots():
    """The cube's script imports astray.provenance, which reads imports itself: that is no dynamic import."""
    modules = closure("cube.py")
    assert {"evaluation/cube.py", "evaluation/scaling.py", "provenance.py"} <= modules
    assert not {"report/plots.py", "models/schnet_training.py", "labels/labeling.py"} & modules
