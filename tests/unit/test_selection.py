"""Committee selection: the most disagreed-on candidates first, never one molecule's copies only, and the
names that keep a selected dataset beside its random kind."""

import numpy as np
import pytest

from astray.datasets.selection import (
    candidate_frames,
    committee_picks,
    disagreement,
    drawn_from,
    next_round,
    strategy_of,
    training_kinds,
)


def test_disagreement_is_the_members_spread_over_the_root_of_the_atom_count():
    members = [[1.0, 10.0], [3.0, 10.0], [2.0, 16.0]]
    np.testing.assert_allclose(disagreement(members, [1, 9]), [1.0, np.std([10, 10, 16], ddof=1) / 3])


def test_one_member_is_no_committee():
    with pytest.raises(ValueError, match="at least two members"):
        disagreement([[1.0, 2.0]], [1, 1])


def test_the_most_disagreed_on_candidates_are_picked_first():
    assert committee_picks([0.1, 0.9, 0.5, 0.7], ["a", "b", "c", "d"], 2, per_molecule=1) == [1, 3]


def test_the_diversity_guard_takes_one_copy_of_a_molecule_before_a_second():
    # Molecule a's three copies disagree most, but a round of three takes one of them and the next molecules.
    picks = committee_picks([0.9, 0.8, 0.7, 0.2, 0.1], ["a", "a", "a", "b", "c"], 3, per_molecule=1)
    assert picks == [0, 3, 4]


def test_the_guard_relaxes_only_when_too_few_molecules_are_left():
    picks = committee_picks([0.9, 0.8, 0.7, 0.2], ["a", "a", "a", "b"], 3, per_molecule=1)
    assert picks == [0, 3, 1]


def test_a_round_larger_than_the_candidates_is_refused():
    with pytest.raises(ValueError, match="only 2 candidates"):
        committee_picks([0.1, 0.2], ["a", "b"], 3, per_molecule=1)


def test_a_round_keeps_the_set_and_adds_its_picks_nested():
    chosen = [5, 2]
    candidates = candidate_frames(range(8), chosen)
    assert candidates == [0, 1, 3, 4, 6, 7]
    members = np.array([[0, 0, 0, 0, 0, 0], [0, 1, 0, 3, 0, 2.0]])
    record = next_round(chosen, candidates, members, [1] * 6, list("abcdef"), size=4, per_molecule=1)
    assert record["frames"] == [5, 2, 4, 7]  # the candidates the members disagree on most, after the set
    assert [pick["molecule"] for pick in record["picks"]] == ["d", "f"]


def test_a_quarantined_pick_gives_its_place_to_the_next_one_the_guard_allows():
    candidates = [10, 11, 12, 13, 14]
    members = np.array([[0, 0, 0, 0, 0], [5, 4, 3, 2, 1.0]])
    molecules = ["a", "a", "b", "c", "d"]
    first = next_round([1], candidates, members, [1] * 5, molecules, size=3, per_molecule=1)
    assert first["frames"] == [1, 10, 12]
    # Frame 12's calculation failed: b has no other copy, so c's takes the place, not a's second copy.
    again = next_round([1], candidates, members, [1] * 5, molecules, size=3, per_molecule=1, excluded={12})
    assert again["frames"] == [1, 10, 13]


def test_selected_datasets_are_named_after_their_kind():
    datasets = {"kinds": ["equilibrium", "with_distorted"], "selection": {"strategies": ["random", "committee"]}}
    kinds = training_kinds(datasets)
    assert kinds == ["equilibrium", "with_distorted", "equilibrium-committee", "with_distorted-committee"]
    assert [drawn_from(kind) for kind in kinds] == ["equilibrium", "with_distorted"] * 2
    assert [strategy_of(kind) for kind in kinds] == ["random", "random", "committee", "committee"]


def test_the_random_size_at_equal_error_is_interpolated_on_the_log_log_curve():
    from astray.report.selection import random_size_at_equal_error

    sizes, errors = [32, 64, 128], [1.0, 0.5, 0.25]  # error = 32/N exactly
    assert random_size_at_equal_error(sizes, errors, 0.4) == pytest.approx(80.0)
    assert np.isnan(random_size_at_equal_error(sizes, errors, 0.2))  # beyond the largest size
    assert np.isnan(random_size_at_equal_error(sizes, [1.0, 0.5, 0.6], 0.55))  # reached twice: neither
